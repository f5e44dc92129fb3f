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
      // Tooltips drawn on the canvas: ECharts' HTML tooltips carry inline style attributes, which the
      // Content-Security-Policy (style-src 'self') blocks, leaving them unstyled and logging errors.
      var option = kind === "pie"
        ? { tooltip: { trigger: "item", renderMode: "richText" },
            series: [{ type: "pie", radius: ["35%", "70%"], data: series }] }
        : { tooltip: { renderMode: "richText" }, grid: { left: 10, right: 10, top: 20, bottom: 10, containLabel: true },
            // Long labels (English, or a phone's narrow chart) wrap within their column instead of overlapping.
            xAxis: { type: "category", data: series.map(function (d) { return d.name; }),
                     axisLabel: { interval: 0, overflow: "break",
                                  width: Math.max(40, (el.clientWidth - 60) / Math.max(series.length, 1) - 6) } },
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

  // A filter form that pushes its query into the address bar (hx-push-url) is not part of what htmx swaps,
  // so after Back/Forward its fields would still show the last query, not the one the rows belong to.
  function syncFiltersWithUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[hx-push-url]").forEach(function (form) {
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || ["hidden", "submit", "button", "checkbox", "radio"].indexOf(el.type) >= 0) { return; }
        el.value = params.get(el.name) || "";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); });
  document.addEventListener("htmx:historyRestore", syncFiltersWithUrl);
  document.addEventListener("htmx:afterSwap", function (e) { renderCharts(e.target); });
})();
