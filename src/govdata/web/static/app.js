// govdata shell behaviour; no inline scripts, so the Content-Security-Policy can forbid them.
(function () {
  "use strict";

  // Charts: <div class="chart" data-chart="KIND" data-series="JSON" …>, drawn by ECharts.
  //   pie, bar:  data-series = [{name, value}, …]; bar takes an optional data-max (the value axis' maximum).
  //   hbar:      the same as bar, laid sideways (long names, e.g. departments); the chart grows with the rows.
  //   line:      data-x = [category, …], data-series = [{name, data: [value, …]}, …]; optional data-max.
  // Tooltips are drawn on the canvas: ECharts' HTML tooltips carry inline style attributes, which the
  // Content-Security-Policy (style-src 'self') blocks, leaving them unstyled and logging errors.
  function chartOption(el, kind, series) {
    var max = el.dataset.max ? Number(el.dataset.max) : undefined;
    if (kind === "pie") {
      // Labels wrap rather than being cut to "无条…" when three charts share a row.
      return { tooltip: { trigger: "item", renderMode: "richText" },
               series: [{ type: "pie", radius: ["32%", "62%"], data: series,
                          label: { overflow: "break", lineHeight: 14 }, labelLine: { length: 8, length2: 8 } }] };
    }
    if (kind === "line") {
      var x = JSON.parse(el.dataset.x || "[]");
      return { tooltip: { trigger: "axis", renderMode: "richText" },
               legend: { type: "scroll", top: 0 },
               grid: { left: 10, right: 16, top: 36, bottom: 10, containLabel: true },
               xAxis: { type: "category", data: x, boundaryGap: false },
               yAxis: { type: "value", min: 0, max: max },
               series: series.map(function (s) {
                 return { type: "line", name: s.name, data: s.data, connectNulls: true, symbolSize: 6 };
               }) };
    }
    var names = series.map(function (d) { return d.name; });
    var values = series.map(function (d) { return d.value; });
    if (kind === "hbar") {
      return { tooltip: { renderMode: "richText" }, grid: { left: 10, right: 30, top: 10, bottom: 10, containLabel: true },
               xAxis: { type: "value", min: 0, max: max },
               // The first row (rank 1) on top; long names wrap within a third of the chart.
               yAxis: { type: "category", data: names, inverse: true,
                        axisLabel: { overflow: "break", width: Math.max(60, el.clientWidth / 3) } },
               series: [{ type: "bar", data: values, barMaxWidth: 24, label: { show: true, position: "right" } }] };
    }
    return { tooltip: { renderMode: "richText" }, grid: { left: 10, right: 10, top: 20, bottom: 10, containLabel: true },
             // Long labels (English, or a phone's narrow chart) wrap within their column instead of overlapping.
             xAxis: { type: "category", data: names,
                      axisLabel: { interval: 0, overflow: "break",
                                   width: Math.max(40, (el.clientWidth - 60) / Math.max(series.length, 1) - 6) } },
             yAxis: { type: "value", minInterval: max ? 0 : 1, max: max },
             series: [{ type: "bar", data: values }] };
  }

  function renderCharts(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      var series = JSON.parse(el.dataset.series || "[]");
      var kind = el.dataset.chart;
      if (kind === "hbar") {  // a row per entry (set through the CSSOM, which the CSP allows)
        el.style.height = Math.max(200, series.length * 32 + 40) + "px";
      }
      var chart = window.echarts.init(el);
      chart.setOption(chartOption(el, kind, series));
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

  // Catalog registration form: the items table. Rows are named items-<n>-<field>; adding clones the row in
  // <template data-item-template> and every change renumbers the rows, so the server reads them in order.
  function renumberItems(tbody) {
    Array.prototype.forEach.call(tbody.rows, function (row, i) {
      row.querySelectorAll("[name^='items-']").forEach(function (el) {
        el.name = el.name.replace(/^items-[^-]+-/, "items-" + i + "-");
      });
      var no = row.querySelector(".row-no");
      if (no) { no.textContent = String(i + 1); }
    });
  }

  function itemsTable(el) {
    var fieldset = el.closest("fieldset");
    return fieldset && fieldset.querySelector("tbody[data-items]");
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-item]");
    if (add) {
      var tbody = itemsTable(add);
      var template = add.closest("fieldset").querySelector("template[data-item-template]");
      if (!tbody || !template) { return; }
      var row = template.content.firstElementChild.cloneNode(true);
      tbody.appendChild(row);
      renumberItems(tbody);
      var first = row.querySelector("input");
      if (first) { first.focus(); }
      return;
    }
    var remove = event.target.closest("[data-remove-item]");
    if (remove) {
      var body = itemsTable(remove);
      var tr = remove.closest("tr");
      if (!body || !tr) { return; }
      if (body.rows.length > 1) {
        tr.remove();
      } else {  // keep one (empty) row to type into
        tr.querySelectorAll("input, select").forEach(function (el) {
          if (el.type === "checkbox") { el.checked = false; } else { el.value = el.tagName === "SELECT" ? el.options[0].value : ""; }
        });
      }
      renumberItems(body);
    }
  });

  // Choosing a data element fills in its type and length (and the name, if still empty): they must agree.
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (!select.matches || !select.matches("select[data-element-select]")) { return; }
    var option = select.options[select.selectedIndex];
    var row = select.closest("tr");
    if (!option || !option.value || !row) { return; }
    var type = row.querySelector("select[name$='-data_type']");
    var length = row.querySelector("input[name$='-length']");
    var name = row.querySelector("input[name$='-name']");
    if (type && option.dataset.type) { type.value = option.dataset.type; }
    if (length) { length.value = option.dataset.length || ""; }
    if (name && !name.value) { name.value = option.dataset.name || ""; }
  });

  // Facet links act as checkboxes (role="checkbox"): Space toggles them like Enter does.
  document.addEventListener("keydown", function (event) {
    var el = event.target;
    if (event.key === " " && el.matches && el.matches("a[role='checkbox']")) {
      event.preventDefault();
      el.click();
    }
  });

  // On a phone the facet groups start folded so the results are in view.
  function foldOnNarrowScreens(root) {
    if (!window.matchMedia("(max-width: 767px)").matches) { return; }
    root.querySelectorAll("details[data-collapse-narrow]").forEach(function (d) {
      if (!d.querySelector("[aria-checked='true']")) { d.removeAttribute("open"); }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { renderCharts(document); foldOnNarrowScreens(document); });
  document.addEventListener("htmx:historyRestore", syncFiltersWithUrl);
  document.addEventListener("htmx:afterSwap", function (e) { renderCharts(e.target); foldOnNarrowScreens(e.target); });
})();
