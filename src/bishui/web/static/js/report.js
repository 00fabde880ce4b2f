/* The public report form's map (templates/report.html): click the county map to fill the
   latitude and longitude fields; typing them moves the marker. Without script the fields
   work alone. The photo's size is checked here too, to spare a refused upload. */
(function () {
  "use strict";
  var box = document.getElementById("report-map");
  var lat = document.getElementById("report-lat");
  var lon = document.getElementById("report-lon");
  var photo = document.getElementById("report-photo");
  var lang = document.body.dataset.lang || "zh";
  if (photo) {
    photo.addEventListener("change", function () {
      var max = Number(photo.dataset.max || 0);
      var f = photo.files && photo.files[0];
      photo.setCustomValidity(f && max && f.size > max ? (lang === "zh" ? "照片过大" : "photo too large") : "");
    });
  }
  if (!box || typeof echarts === "undefined") { return; }
  var chart = echarts.init(box);
  function within(v, lo, hi) { return isFinite(v) && v >= lo && v <= hi; }
  function mark() {
    var y = parseFloat(lat.value), x = parseFloat(lon.value);
    var ok = within(y, Number(box.dataset.latMin), Number(box.dataset.latMax)) &&
             within(x, Number(box.dataset.lonMin), Number(box.dataset.lonMax));
    chart.setOption({ series: [{ type: "scatter", coordinateSystem: "geo", symbolSize: 14,
      itemStyle: { color: "#c0392b" }, data: ok ? [[x, y]] : [] }] });
  }
  fetch("/api/v1/geo/counties?lang=" + lang, { headers: { Accept: "application/json" } })
    .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
    .then(function (geo) {
      echarts.registerMap("report-counties", geo.geojson);
      chart.setOption({
        animation: false,
        geo: { map: "report-counties", roam: true, layoutCenter: ["50%", "50%"], layoutSize: "95%",
               label: { show: true, color: "#5f6b7a", fontSize: 12 },
               itemStyle: { areaColor: "#eef3f8", borderColor: "#8aa0b8" } },
        series: [{ type: "scatter", coordinateSystem: "geo", data: [] }]
      });
      chart.getZr().on("click", function (e) {
        var p = chart.convertFromPixel("geo", [e.offsetX, e.offsetY]);
        if (!p) { return; }
        lon.value = p[0].toFixed(6);
        lat.value = p[1].toFixed(6);
        mark();
      });
      mark();
      box.dataset.ready = "1";
    })
    .catch(function (e) { box.dataset.mapError = String(e); });
  lat.addEventListener("change", mark);
  lon.addEventListener("change", mark);
  window.addEventListener("resize", function () { chart.resize(); });
})();
