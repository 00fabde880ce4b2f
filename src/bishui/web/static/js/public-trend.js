/* The public page's 24-hour trend of one station: AQI bars in their category colours and the
   primary pollutant of each hour, from /api/v1/air/trend; hours labelled by their end. */
(function () {
  "use strict";
  var B = window.bishui;
  var card = document.getElementById("public-trend");
  if (!card) { return; }
  var T = JSON.parse(document.getElementById("trend-text").textContent);
  var select = document.getElementById("trend-site");
  var tip = document.getElementById("trend-advice");

  function label(t) { return String(t).slice(11, 16); }  // "2026-11-22T10:00:00" → "10:00"

  function draw(j) {
    var hours = j.hours || [];
    var option = {
      title: { text: j.name, left: "center", textStyle: { fontSize: 14 } },
      tooltip: {
        trigger: "axis",
        formatter: function (ps) {
          var h = hours[ps[0].dataIndex];
          return B.esc(String(h.time).replace("T", " ").slice(0, 16)) + "<br>AQI " + B.esc(h.aqi) +
            (h.category ? " · " + B.esc(h.category) : "") +
            (h.primary && h.primary.length ? "<br>" + B.esc(T.primary) + "：" + B.esc(h.primary.join("、")) : "");
        }
      },
      grid: { left: 40, right: 16, top: 40, bottom: 56 },
      xAxis: { type: "category", data: hours.map(function (h) { return label(h.time); }), axisLabel: { interval: 2 } },
      yAxis: { type: "value", name: T.aqi, minInterval: 1 },
      series: [{
        type: "bar",
        data: hours.map(function (h) {
          return { value: h.aqi, itemStyle: { color: h.colour || "#ccc", borderColor: "#888", borderWidth: h.colour === "#FFFF00" ? 1 : 0 } };
        }),
        label: {
          show: true, position: "top", fontSize: 10,
          formatter: function (p) { var h = hours[p.dataIndex]; return h.primary && h.primary.length ? h.primary.join("/") : ""; }
        }
      }]
    };
    var when = function (h) { return h ? String(h.time).replace("T", " ").slice(0, 16) : ""; };
    B.chart(card, option, "trend-" + j.code, {
      place: j.name, period: hours.length ? when(hours[0]) + " – " + when(hours[hours.length - 1]) : ""
    });
    var a = j.advice;
    if (a) {
      var groups = Object.keys(a.sensitive_groups || {}).map(function (k) { return k + "：" + a.sensitive_groups[k]; });
      tip.textContent = T.advice + "（" + a.category + "，" + a.citation + "）：" + a.health_effect + "。" +
        T.measures + "：" + a.measures + "。" + (groups.length ? T.sensitive + "：" + groups.join("；") + "。" : "");
    } else {
      tip.textContent = "";
    }
  }

  function load() {
    B.getJSON("/api/v1/air/trend?hours=24&code=" + encodeURIComponent(select.value))
      .then(draw).catch(function (e) { B.fail(card, e); });
  }

  select.addEventListener("change", load);
  load();
})();
