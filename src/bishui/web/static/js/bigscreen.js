/* The big screen (大屏): the city's key figures on one dark full-screen page, refreshed every
   data-refresh seconds from the same JSON API as the other pages. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var COLOURS = ["#44C5F0", "#1E90FF", "#00B050", "#F2D500", "#FF8C00", "#E0202A"];
  var TEXT = { color: "#cfe3ff" };
  var charts = {};

  function chart(id) {
    if (!charts[id]) {
      charts[id] = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
      charts[id].setOption({ animation: false });
      window.addEventListener("resize", function () { charts[id].resize(); });
      B.charts[id] = charts[id];
    }
    return charts[id];
  }

  function kpi(id, value) { document.querySelector("#" + id + " b").textContent = value == null ? "—" : value; }

  function air() {
    return B.getJSON("/api/v1/air/realtime").then(function (j) {
      var city = j.rows.filter(function (r) { return r.scope === "city"; })[0];
      if (city) {
        kpi("kpi-aqi", city.aqi);
        document.querySelector("#kpi-aqi span").textContent = "AQI · " + (city.category || "—");
        document.querySelector("#kpi-aqi b").style.color = city.colour || "#fff";
      }
      var st = j.rows.filter(function (r) { return r.scope === "station" && r.aqi != null; });
      chart("bs-stations").setOption({
        grid: { left: 35, right: 10, top: 10, bottom: 60 },
        xAxis: { type: "category", data: st.map(function (r) { return r.name; }), axisLabel: { rotate: 40, interval: 0, color: TEXT.color } },
        yAxis: { type: "value", axisLabel: TEXT, splitLine: { lineStyle: { color: "#1f4d88" } } },
        series: [{ type: "bar", data: st.map(function (r) { return { value: r.aqi, itemStyle: { color: r.colour } }; }),
                   label: { show: true, position: "top", color: "#fff" } }]
      });
      document.getElementById("bs-stations").dataset.ready = "1";
    });
  }

  function water() {
    return B.getJSON("/api/v1/water/cwqi?period=" + cfg.month).then(function (j) {
      var c = j.city || {};
      kpi("kpi-water", c.targets ? c.attained + "/" + c.targets : null);
      chart("bs-water").setOption({
        tooltip: { trigger: "item" },
        legend: { bottom: 0, textStyle: TEXT },
        series: [{ type: "pie", radius: ["35%", "62%"], label: { color: "#fff", formatter: "{b} {c}" },
                   data: (c.by_class || []).map(function (n, i) { return { name: cfg.classes[i], value: n, itemStyle: { color: COLOURS[i] } }; })
                     .filter(function (d) { return d.value > 0; }) }]
      });
    });
  }

  function ranking() {
    return B.getJSON("/api/v1/air/ranking?period=" + cfg.year).then(function (j) {
      B.table(document.getElementById("bs-rank-card"), cfg.rank_cols, j.rows, "air-ranking-" + cfg.year);
    });
  }

  function goodDays() {
    return B.getJSON("/api/v1/air/assessment?scope=city&period=" + cfg.year).then(function (j) {
      var r = j.rows[0];
      kpi("kpi-good", r && r.good_ratio != null ? r.good_ratio + "%" : null);
    });
  }

  function tasks() {
    return B.getJSON("/api/v1/tasks?limit=1&state=assigned").then(function (j) { kpi("kpi-tasks", j.total); })
      .catch(function () { kpi("kpi-tasks", null); });
  }

  function map() {
    return Promise.all([B.getJSON("/api/v1/geo/counties?lang=" + B.lang), B.getJSON("/api/v1/overview?lang=" + B.lang)]).then(function (res) {
      if (!echarts.getMap("bishui-bs")) { echarts.registerMap("bishui-bs", res[0].geojson); }
      var f = res[1].features.filter(function (x) { return x.lon != null; });
      var layer = function (kinds, symbol, size) {
        return { type: "scatter", coordinateSystem: "geo", symbol: symbol, symbolSize: size,
                 data: f.filter(function (x) { return kinds.indexOf(x.kind) >= 0; }).map(function (x) {
                   return { name: x.name, value: [x.lon, x.lat], itemStyle: { color: x.mark.color } }; }) };
      };
      chart("bs-map").setOption({
        tooltip: { trigger: "item", formatter: "{b}" },
        geo: { map: "bishui-bs", roam: true, itemStyle: { areaColor: "#0d2c57", borderColor: "#3f83d6" },
               label: { show: true, color: "#9fc4f5", fontSize: 11 }, emphasis: { itemStyle: { areaColor: "#174785" } } },
        series: [layer(["source_gas", "source_water"], "rect", 6), layer(["water"], "triangle", 12), layer(["air"], "circle", 13)]
      });
      document.getElementById("bs-map").dataset.ready = "1";
    });
  }

  function refresh() {
    var jobs = [air(), water(), ranking(), goodDays(), tasks(), map()].map(function (p) { return p.catch(function () { return null; }); });
    Promise.all(jobs).then(function () {
      document.getElementById("bs-updated").textContent = new Date().toLocaleTimeString(B.lang === "zh" ? "zh-CN" : "en-GB");
      document.body.dataset.loaded = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    refresh();
    setInterval(refresh, B.refreshMs);
  });
})();
