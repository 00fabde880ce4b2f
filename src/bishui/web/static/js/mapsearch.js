/* The map's search box (issue 16 item 7): enterprise name, credit code, site name or code →
   GET /api/v1/search (scoped like the map) → a short list; choosing a hit centres the map on
   it, highlights it and shows its tooltip. */
(function () {
  "use strict";
  var form = document.getElementById("map-search");
  if (!form) { return; }
  var input = form.querySelector("input[name=q]");
  var list = document.getElementById("map-hits");
  var timer = null, seq = 0;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function locate(hit) {
    var chart = window.bishuiMap;
    document.body.dataset.searchHit = hit.id;
    if (!chart || hit.lon == null) { return; }
    chart.setOption({ geo: { center: [hit.lon, hit.lat], zoom: 6 } });
    (chart.getOption().series || []).forEach(function (s, si) {
      (s.data || []).forEach(function (d, di) {
        if (d && d.id === hit.id) {
          chart.dispatchAction({ type: "highlight", seriesIndex: si, dataIndex: di });
          chart.dispatchAction({ type: "showTip", seriesIndex: si, dataIndex: di });
        }
      });
    });
  }

  function show(items) {
    if (!items.length) { list.innerHTML = '<li class="note">' + esc(form.dataset.none) + "</li>"; return; }
    list.innerHTML = items.map(function (h, i) {
      var sub = [h.enterprise, h.uscc, h.region_name].filter(Boolean).join(" · ");
      return '<li><button type="button" data-i="' + i + '">' + esc(h.name) + "</button>" +
        (sub ? '<small class="note">' + esc(sub) + "</small>" : "") + "</li>";
    }).join("");
    list.querySelectorAll("button").forEach(function (b) {
      b.addEventListener("click", function () { locate(items[parseInt(b.dataset.i, 10)]); });
    });
  }

  function run() {
    var q = input.value.trim();
    var mine = ++seq;
    if (!q) { list.innerHTML = ""; return; }
    fetch("/api/v1/search?q=" + encodeURIComponent(q.slice(0, 60)), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { items: [] }; })
      .then(function (j) { if (mine === seq) { show(j.items || []); } })
      .catch(function () { if (mine === seq) { show([]); } });
  }

  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(run, 250); });
  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    clearTimeout(timer);
    run();
    var first = list.querySelector("button");
    if (first) { first.click(); }
  });
})();
