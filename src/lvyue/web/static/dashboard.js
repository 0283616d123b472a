/* The dashboard: draws the charts (Apache ECharts, SVG) from the JSON next to each chart,
   redraws them after a live refresh, and asks for fresh figures when order events arrive
   (app.js fires "orders-changed"), at most once every two seconds, never dropping the last. */
(function () {
  "use strict";

  var MIN_INTERVAL = 2000;
  var charts = [];

  function options(data) {
    var horizontal = data.kind === "hbar";
    var twoAxes = data.series.some(function (s) { return s.axis === 1; });
    var category = { type: "category", data: data.categories, axisLabel: { hideOverlap: true } };
    var values = [{ type: "value", minInterval: 1 }];
    if (twoAxes) values.push({ type: "value", splitLine: { show: false } });
    return {
      animation: false,
      color: ["#0f6e5f", "#e0a100", "#3538cd"],
      grid: { left: 8, right: twoAxes ? 16 : 28, top: 28, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: data.series.length > 1 ? { top: 0 } : undefined,
      xAxis: horizontal ? values[0] : category,
      yAxis: horizontal ? category : values,
      series: data.series.map(function (s) {
        return {
          name: s.name,
          type: s.type || "bar",
          yAxisIndex: horizontal ? 0 : (s.axis || 0),
          data: s.values,
          barMaxWidth: 28,
          showSymbol: false,
        };
      }),
    };
  }

  function draw() {
    if (!window.echarts) return;
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var source = document.getElementById(el.dataset.chart);
      if (!source) return;
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(options(JSON.parse(source.textContent)));
      charts.push(chart);
    });
  }

  var last = 0;
  var timer = null;
  function refresh() {
    var figures = document.getElementById("figures");
    if (!figures || figures.dataset.live !== "on" || timer) return;
    timer = setTimeout(function () {
      timer = null;
      last = Date.now();
      document.body.dispatchEvent(new CustomEvent("dashboard-refresh", { bubbles: true }));
    }, Math.max(0, last + MIN_INTERVAL - Date.now()));
  }

  document.addEventListener("DOMContentLoaded", function () {
    draw();
    document.body.addEventListener("orders-changed", refresh);
  });
  document.addEventListener("htmx:afterSettle", function (evt) {
    if (evt.target && evt.target.id === "figures") draw();
  });
  window.addEventListener("resize", function () {
    charts.forEach(function (c) { c.resize(); });
  });
})();
