// Live fragments poll only while the tab is visible: a hidden tab stops asking, a visible one resumes.
document.addEventListener("htmx:beforeRequest", function (evt) {
  if (document.hidden && evt.detail.requestConfig && evt.detail.requestConfig.triggeringEvent &&
      evt.detail.requestConfig.triggeringEvent.type === "every") {
    evt.preventDefault();
  }
});

// Coming back to a hidden tab: live parts that listen for `deft:visible` refresh at once instead of waiting a poll.
document.addEventListener("visibilitychange", function () {
  if (!document.hidden) {
    document.body.dispatchEvent(new CustomEvent("deft:visible"));
  }
});
