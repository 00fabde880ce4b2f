/* The air page's charts: real-time AQI by station, the daily AQI calendar of the year, and
   hourly pollutant series of one station. Tables are filled by ui.js. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var COLOURS = ["#00E400", "#FFFF00", "#FF7E00", "#FF0000", "#99004C", "#7E0023"];

  function realtime() {
    var card = document.getElementById("air-realtime-chart");
    return B.getJSON("/api/v1/air/realtime?scope=station").then(function (j) {
      var rows = j.rows.filter(function (r) { return r.aqi != null; });
      B.chart(card, {
        grid: { left: 40, right: 10, top: 20, bottom: 70 },
        tooltip: { trigger: "axis" },
        xAxis: { type: "category", data: rows.map(function (r) { return r.name; }), axisLabel: { rotate: 40, interval: 0 } },
        yAxis: { type: "value", name: "AQI" },
        series: [{ type: "bar", name: "AQI", data: rows.map(function (r) { return { value: r.aqi, itemStyle: { color: r.colour || "#888" } }; }),
                   label: { show: true, position: "top" } }]
      }, "air-realtime", { period: rows.length ? B.plain(rows[0], ["time", "", "time"]) : "" });
      var sel = document.getElementById("series-site");
      if (!sel.options.length) {
        j.rows.forEach(function (r) {
          var o = document.createElement("option"); o.value = r.code; o.textContent = r.name; sel.appendChild(o);
        });
        sel.addEventListener("change", series);
        series();
      }
    }).catch(function (e) { B.fail(card, e); });
  }

  function calendar() {
    var card = document.getElementById("air-calendar");
    B.getJSON("/api/v1/air/calendar?year=" + cfg.year).then(function (j) {
      var data = j.days.map(function (d, i) { return [d, j.aqi[i]]; }).filter(function (x) { return x[1] != null; });
      var pieces = [[0, 50], [51, 100], [101, 150], [151, 200], [201, 300], [301, 500]].map(function (r, i) {
        return { min: r[0], max: r[1], color: COLOURS[i], label: cfg.levels[i] };
      });
      card.dataset.days = String(data.length);
      B.chart(card, {
        tooltip: { formatter: function (p) { return p.value[0] + "<br>AQI " + p.value[1]; } },
        visualMap: { type: "piecewise", pieces: pieces, orient: "horizontal", left: "center", bottom: 0, itemWidth: 12, textStyle: { fontSize: 11 } },
        calendar: { range: String(cfg.year), top: 30, left: 30, right: 10, cellSize: ["auto", 13],
                    dayLabel: { nameMap: B.lang === "zh" ? "ZH" : "EN", fontSize: 10 },
                    monthLabel: { nameMap: B.lang === "zh" ? "ZH" : "EN" }, yearLabel: { show: false } },
        series: [{ type: "heatmap", coordinateSystem: "calendar", data: data }]
      }, "air-calendar-" + cfg.year, { period: String(cfg.year) });
    }).catch(function (e) { B.fail(card, e); });
  }

  function series() {
    var card = document.getElementById("air-series");
    var sel = document.getElementById("series-site");
    var site = sel.value;
    if (!site || !/^[A-Za-z0-9_-]+$/.test(site)) { return; }
    var codes = Object.keys(cfg.params);
    // complete hours only (the hour in progress is never published), each shown at the end of
    // its hour, as every page labels an hour (bishui.timeutil.hour_label)
    var end = new Date(Math.floor(Date.now() / 3600e3) * 3600e3);
    var start = new Date(end.getTime() - 7 * 86400e3);
    var iso = function (d) { return d.toISOString().slice(0, 13) + ":00Z"; };
    var beijing = function (d) { return new Date(d.getTime() + 8 * 3600e3).toISOString().slice(0, 16).replace("T", " "); };
    Promise.all(codes.map(function (c) {
      return B.getJSON("/api/v1/measurements?site=" + encodeURIComponent(site) + "&parameter=" + c +
                       "&period=hour&start=" + encodeURIComponent(iso(start)) + "&end=" + encodeURIComponent(iso(end)))
        .catch(function () { return null; });
    })).then(function (all) {
      var s = all.map(function (j, i) {
        var pts = j ? j.ts.map(function (t, k) { return [Date.parse(t) + 3600e3, j.value[k]]; }) : [];
        return { type: "line", name: cfg.params[codes[i]], showSymbol: false, data: pts };
      });
      B.chart(card, {
        tooltip: { trigger: "axis" }, legend: { top: 0 },
        grid: { left: 45, right: 15, top: 30, bottom: 30 },
        xAxis: { type: "time" }, yAxis: { type: "value", name: "μg/m³" }, series: s
      }, "air-series-" + site, {
        place: sel.options[sel.selectedIndex] ? sel.options[sel.selectedIndex].textContent : site,
        period: beijing(start) + " – " + beijing(end), units: "μg/m³"
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    realtime();
    calendar();
    setInterval(realtime, B.refreshMs);
  });
})();
