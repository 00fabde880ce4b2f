/* The water page's charts: sections by class (pie) and the counties' CWQI (bars). */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var LABELS = B.lang === "zh" ? ["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"] : ["I", "II", "III", "IV", "V", "worse than V"];
  var COLOURS = ["#44C5F0", "#1E90FF", "#00B050", "#F2D500", "#FF8C00", "#E0202A"];
  document.addEventListener("DOMContentLoaded", function () {
    var pie = document.getElementById("water-classes");
    var bars = document.getElementById("water-cwqi-chart");
    B.getJSON("/api/v1/water/cwqi?period=" + encodeURIComponent(cfg.month)).then(function (j) {
      var counts = (j.city && j.city.by_class) || [];
      B.chart(pie, {
        tooltip: { trigger: "item" }, legend: { bottom: 0 },
        /* room for the labels inside the card: a smaller ring, short label lines */
        series: [{ type: "pie", radius: ["28%", "52%"], center: ["50%", "45%"], avoidLabelOverlap: true,
                   label: { formatter: "{b} {c}", overflow: "none" }, labelLine: { length: 8, length2: 8 },
                   data: counts.map(function (n, i) { return { name: LABELS[i], value: n, itemStyle: { color: COLOURS[i] } }; })
                     .filter(function (d) { return d.value > 0; }) }]
      }, "water-classes-" + cfg.month, { period: cfg.month });
      var counties = (j.counties || []).filter(function (c) { return c.cwqi != null; });
      B.chart(bars, {
        tooltip: { trigger: "axis" }, grid: { left: 90, right: 30, top: 10, bottom: 25 },
        xAxis: { type: "value", name: "CWQI" },
        yAxis: { type: "category", inverse: true, data: counties.map(function (c) { return c.name; }) },
        series: [{ type: "bar", data: counties.map(function (c) { return c.cwqi; }), itemStyle: { color: "#1E64C8" },
                   label: { show: true, position: "right" } }]
      }, "water-cwqi-" + cfg.month, { period: cfg.month });
    }).catch(function (e) { B.fail(pie, e); B.fail(bars, e); });
  });
})();
