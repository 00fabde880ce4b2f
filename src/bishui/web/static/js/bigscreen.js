/* The big screen (大屏): the city's key figures on one dark full-screen page, refreshed every
   data-refresh seconds from the same JSON API as the other pages. A display, not a workbench:
   no export buttons; its clock is Beijing time (Asia/Shanghai) whatever the browser's zone. */
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

  /* Beijing time (UTC+8, no daylight saving) of a Date, "YYYY-MM-DD HH:MM:SS". */
  function beijing(d) {
    return new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 19).replace("T", " ");
  }

  function tick() { document.getElementById("bs-clock").textContent = beijing(new Date()); }

  function kpi(id, value) { document.querySelector("#" + id + " b").textContent = value == null ? "—" : value; }

  function air() {
    return B.getJSON("/api/v1/air/realtime").then(function (j) {
      var city = j.rows.filter(function (r) { return r.scope === "city"; })[0];
      if (city) {
        kpi("kpi-aqi", city.aqi);
        // the report's hour by its end label (the data of 13:00–14:00 is "14时")
        var h = parseInt(String(j.time).slice(11, 13), 10);
        var label = B.lang === "zh" ? h + "时" : String(j.time).slice(11, 16);
        document.querySelector("#kpi-aqi span").textContent = "AQI · " + (city.category || "—") + " · " + label;
        document.getElementById("kpi-aqi").dataset.hour = String(j.time).slice(0, 16);
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
      // a plain table: the big screen offers no exports (the air page does)
      var head = "<tr>" + cfg.rank_cols.map(function (c) { return "<th>" + B.esc(c[1]) + "</th>"; }).join("") + "</tr>";
      var body = j.rows.map(function (r) {
        return "<tr>" + cfg.rank_cols.map(function (c) { return "<td>" + B.esc(r[c[0]] == null ? "—" : r[c[0]]) + "</td>"; }).join("") + "</tr>";
      }).join("");
      document.getElementById("bs-ranking").innerHTML = '<table class="data"><thead>' + head + "</thead><tbody>" + body + "</tbody></table>";
      document.getElementById("bs-rank-card").dataset.count = String(j.rows.length);
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
      document.getElementById("bs-updated").textContent = beijing(new Date()).slice(11);
      document.body.dataset.loaded = "1";
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
    refresh();
    setInterval(refresh, B.refreshMs);
  });
})();
