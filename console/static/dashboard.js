// Draws the dashboard's charts with Chart.js from the figures the page carries as JSON
// (<script type="application/json" id="chart-data">, which is data, never run).
(function () {
  "use strict";
  var palette = ["#b91c1c", "#d97706", "#2563eb", "#059669", "#7c3aed", "#0891b2", "#be185d", "#4b5563"];

  function series(values) {
    return Object.keys(values).map(function (name, index) {
      return { label: name, data: values[name], backgroundColor: palette[index % palette.length],
               borderColor: palette[index % palette.length] };
    });
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      new window.Chart(canvas, config);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var holder = document.getElementById("chart-data");
    if (!holder || !window.Chart) {
      return;
    }
    var d = JSON.parse(holder.textContent);
    var stacked = { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } };
    draw("chart-priority", { type: "bar", data: { labels: d.slices, datasets: series(d.by_priority) }, options: stacked });
    draw("chart-category", { type: "bar", data: { labels: d.slices, datasets: series(d.by_category) }, options: stacked });
    draw("chart-times", { type: "line", data: { labels: d.slices, datasets: series({ MTTA: d.mtta_hours, MTTR: d.mttr_hours }) } });
    draw("chart-sla", { type: "bar", data: { labels: d.sla_priorities,
      datasets: series({ response: d.response_sla, resolution: d.resolution_sla }) },
      options: { scales: { y: { min: 0, max: 100 } } } });
    draw("chart-backlog", { type: "bar", data: { labels: Object.keys(d.backlog),
      datasets: [{ label: "open incidents", data: Object.values(d.backlog), backgroundColor: palette[2] }] } });
    draw("chart-reopen", { type: "line", data: { labels: d.slices, datasets: series({ "reopen rate": d.reopen_rate }) } });
    draw("chart-survey", { type: "bar", data: { labels: d.slices, datasets: series({ "mean score": d.survey_mean }) },
      options: { scales: { y: { min: 0, max: 5 } } } });
    document.body.setAttribute("data-charts-drawn", "true");
  });
})();
