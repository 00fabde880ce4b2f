/* The overview map (一张图): county boundaries, then every site coloured by its mark.
   Data comes from the JSON API and is polled every data-refresh seconds. */
(function () {
  "use strict";
  var body = document.body;
  var lang = body.dataset.lang || "zh";
  var refresh = Math.max(5, parseInt(body.dataset.refresh || "60", 10)) * 1000;
  var text = JSON.parse(document.getElementById("i18n").textContent);
  var el = document.getElementById("map");
  var chart = echarts.init(el, null, { renderer: "canvas" });
  window.bishuiMap = chart;  // for tests and for later pages that add layers
  var LAYERS = [
    { key: "air", kinds: ["air"], symbol: "circle", size: 14 },
    { key: "water", kinds: ["water"], symbol: "triangle", size: 14 },
    { key: "source", kinds: ["source_gas", "source_water"], symbol: "rect", size: 9 },
    // grid micro-stations and construction-dust monitors (diamonds): docs/grid.md
    { key: "grid", kinds: ["grid", "dust"], symbol: "diamond", size: 8 }
  ];

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error(url + " " + r.status); } return r.json(); });
  }

  function esc(s) {
    return String(s == null ? "—" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function series(features) {
    return LAYERS.map(function (layer) {
      return {
        id: layer.key, name: text[layer.key], type: "scatter", coordinateSystem: "geo",
        symbol: layer.symbol, symbolSize: layer.size,
        itemStyle: { borderColor: "#333", borderWidth: 0.8 },
        // every layer labelled; a label that would overlap one already drawn is hidden
        // (ECharts' collision hiding), so zooming in reveals more names
        label: { show: true, formatter: "{b}", position: "right", fontSize: layer.key === "source" ? 10 : 11, color: "#1d2733" },
        labelLayout: { hideOverlap: true },
        data: features.filter(function (f) { return layer.kinds.indexOf(f.kind) >= 0 && f.lon != null; })
          .map(function (f) {
            return { name: f.name, value: [f.lon, f.lat], id: f.id, mark: f.mark,
                     itemStyle: { color: f.mark.color } };
          })
      };
    });
  }

  function draw(data) {
    chart.setOption({ series: series(data.features) });
    document.getElementById("updated").textContent = data.time.replace("T", " ").slice(0, 16);
    var coloured = data.features.filter(function (f) { return f.mark.level !== "nodata"; }).length;
    body.dataset.features = String(data.features.length);
    body.dataset.coloured = String(coloured);
    body.dataset.mapReady = "1";
  }

  /* A latest value as published (static/js/display.js): ambient air and water to their
     decimals with the unit, a source reading to its HJ 212 data type. */
  function shown(site, r) {
    var D = window.bishuiDisplay;
    if (!D || r.value == null) { return r.value; }
    if (String(site.kind).indexOf("source") === 0) { return D.plain(r.value, "src:" + r.parameter); }
    var u = D.unit(r.parameter);
    return D.num(r.value, r.parameter) + (u ? " " + u : "");
  }

  function showDetail(id, mark) {
    getJSON("/api/v1/sites/" + encodeURIComponent(id)).then(function (d) {
      var s = d.site;
      var html = "<h3>" + esc(s.name) + " <small>" + esc(s.id) + "</small></h3>";
      html += "<p><i class='swatch' style='background:" + esc(mark.color) + "'></i>" + esc(mark.label) +
        (mark.value != null ? " (" + esc(mark.value) + ")" : "") + "</p>";
      html += "<p class='note'>" + esc(text.basis) + "：" + esc(mark.basis) + "</p>";
      html += "<h4>" + esc(text.latest) + "</h4><table class='data'><tr><th>" + esc(text.parameter) +
        "</th><th>" + esc(text.value) + "</th><th>" + esc(text.flag) + "</th><th>" + esc(text.time) + "</th></tr>";
      d.latest.forEach(function (r) {
        var pname = text.params[r.parameter] || r.parameter;
        html += "<tr><td>" + esc(pname) + "</td><td>" + esc(shown(s, r)) + "</td><td>" + esc(r.flag) +
          "</td><td>" + esc((r.label || r.ts || "").slice(5, 16).replace("T", " ")) + "</td></tr>";
      });
      html += "</table>";
      if (d.devices) {
        html += "<h4>" + esc(text.devices) + "</h4><ul>";
        d.devices.forEach(function (dev) { html += "<li>MN " + esc(dev.mn) + " · ST " + esc(dev.st) + "</li>"; });
        html += "</ul>";
      }
      document.getElementById("detail").innerHTML = html;
    }).catch(function () { /* a site may vanish from scope between polls */ });
  }

  function poll() {
    getJSON("/api/v1/overview?lang=" + lang).then(draw).catch(function (e) { body.dataset.mapError = String(e); });
  }

  getJSON("/api/v1/geo/counties?lang=" + lang).then(function (geo) {
    echarts.registerMap("counties", geo.geojson);
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: getComputedStyle(body).fontFamily },
      tooltip: { trigger: "item", formatter: function (p) {
        return p.data && p.data.mark ? esc(p.name) + "<br>" + esc(p.data.mark.label) : esc(p.name);
      } },
      geo: { map: "counties", roam: true, layoutCenter: ["50%", "50%"], layoutSize: "95%", label: { show: true, color: "#5f6b7a", fontSize: 12 },
             itemStyle: { areaColor: "#eef3f8", borderColor: "#8aa0b8" },
             emphasis: { itemStyle: { areaColor: "#dde8f3" } } },
      // every chart exports to PNG (ECharts draws the download itself, no server round trip)
      toolbox: { right: 12, top: 8, feature: { saveAsImage: { name: "bishui-overview", pixelRatio: 2 } } },
      // click a layer's name to hide or show it
      legend: { top: 8, left: 8, orient: "vertical", backgroundColor: "rgba(255,255,255,0.8)",
                data: LAYERS.map(function (l) { return { name: text[l.key], itemStyle: { color: "#8aa0b8" } }; }) },
      series: []
    });
    chart.on("click", function (p) { if (p.data && p.data.id) { showDetail(p.data.id, p.data.mark); } });
    poll();
    window.setInterval(poll, refresh);
  }).catch(function (e) { body.dataset.mapError = String(e); });

  window.addEventListener("resize", function () { chart.resize(); });
})();
