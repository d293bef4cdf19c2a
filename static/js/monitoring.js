// Charts of the monitoring page: events done and failures by class over the last 24 h, from the samples.
(function () {
  const box = document.getElementById("charts");
  if (!box || !window.Chart) return;
  const colours = { software: "#c62828", site: "#b26a00", service: "#f9a825", resource: "#7e57c2", user: "#78909c", unknown: "#455a64" };
  let events = null, failures = null;

  function draw(data) {
    if (!events) {
      events = new Chart(document.getElementById("chart-events"), {
        type: "line", data: { labels: [], datasets: [{ label: "events done", data: [], borderColor: "#2e7d32", pointRadius: 0, fill: false }] },
        options: { animation: false, scales: { y: { beginAtZero: true } } },
      });
      failures = new Chart(document.getElementById("chart-failures"), {
        type: "bar", data: { labels: [], datasets: [] },
        options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
      });
    }
    events.data.labels = data.labels;
    events.data.datasets[0].data = data.events_done;
    events.update();
    failures.data.labels = data.labels;
    failures.data.datasets = Object.entries(data.failures).map(([cls, values]) => ({ label: cls, data: values, backgroundColor: colours[cls] || "#90a4ae" }));
    failures.update();
  }

  function refresh() {
    if (document.hidden) return;  // a hidden tab does not ask
    fetch(box.dataset.url, { headers: { Accept: "application/json" } }).then((r) => r.ok ? r.json() : null).then((d) => d && draw(d));
  }
  refresh();
  setInterval(refresh, 60000);  // samples are written once a minute
  document.addEventListener("visibilitychange", refresh);
})();
