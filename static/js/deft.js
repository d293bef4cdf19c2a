// Live fragments poll only while the tab is visible: a hidden tab stops asking, a visible one resumes.
document.addEventListener("htmx:beforeRequest", function (evt) {
  if (document.hidden && evt.detail.requestConfig && evt.detail.requestConfig.triggeringEvent &&
      evt.detail.requestConfig.triggeringEvent.type === "every") {
    evt.preventDefault();
  }
});
