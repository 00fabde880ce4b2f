/* The vehicle-inspection page's charts: the stations' risk scores (bars) and each analyser's
   standard-gas relative error over time (lines). Data from the page (#page-config). */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  document.addEventListener("DOMContentLoaded", function () {
    var rank = document.getElementById("veh-ranking-chart");
    var gas = document.getElementById("veh-gas-chart");
    var rows = cfg.ranking || [];
    B.chart(rank, {
      tooltip: { trigger: "axis" }, grid: { left: 150, right: 40, top: 10, bottom: 30 },
      xAxis: { type: "value", name: cfg.score },
      yAxis: { type: "category", inverse: true, data: rows.map(function (r) { return r.name; }) },
      series: [{ type: "bar", data: rows.map(function (r) { return r.score; }), itemStyle: { color: "#C8321E" },
                 label: { show: true, position: "right" } }]
    }, rank.dataset.chart);
    var names = Object.keys(cfg.drift || {});
    var seen = {};
    names.forEach(function (n) { cfg.drift[n].forEach(function (p) { seen[p[0]] = 1; }); });
    var xs = Object.keys(seen).sort();
    B.chart(gas, {
      tooltip: { trigger: "axis" }, legend: { bottom: 0, type: "scroll" },
      grid: { left: 60, right: 30, top: 30, bottom: 60 },
      xAxis: { type: "category", boundaryGap: false, data: xs },
      yAxis: { type: "value", name: cfg.pct },
      series: names.map(function (n) {
        var m = {};
        cfg.drift[n].forEach(function (p) { m[p[0]] = p[1]; });
        return { type: "line", name: n, connectNulls: true,
                 data: xs.map(function (x) { return x in m ? m[x] : null; }) };
      })
    }, gas.dataset.chart);
  });
})();
