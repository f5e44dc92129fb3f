// govdata shell behaviour; no inline scripts, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";

  function renderCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var series = JSON.parse(el.dataset.series || "[]");
      var chart = window.echarts.init(el);
      var kind = el.dataset.chart;
      var option = kind === "pie"
        ? { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "70%"], data: series }] }
        : { tooltip: {}, grid: { left: 40, right: 10, bottom: 40 },
            xAxis: { type: "category", data: series.map(function (d) { return d.name; }), axisLabel: { interval: 0 } },
            yAxis: { type: "value", minInterval: 1 },
            series: [{ type: "bar", data: series.map(function (d) { return d.value; }) }] };
      chart.setOption(option);
      window.addEventListener("resize", function () { chart.resize(); });
      el.dataset.rendered = "1";
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset && form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
      event.preventDefault();
    }
  }, true);

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:afterSwap", function (e) { renderCharts(e.target); });
})();
