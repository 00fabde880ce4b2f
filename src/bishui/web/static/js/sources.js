/* The sources page: outlets with their compliance state (the overview's marks, scoped by the
   API), and for a chosen outlet its latest hourly values beside its permit limits. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var permits = null;

  function permitLimits(site) {
    if (!permits) { return {}; }
    var out = {};
    permits.forEach(function (p) {
      if (p.uscc !== site.enterprise) { return; }
      (p.outlets || []).forEach(function (o) {
        if (o.outlet_id !== site.outlet) { return; }
        (o.limits || []).forEach(function (l) { out[l.pollutant] = l; });
      });
    });
    return out;
  }

  function detail(id) {
    var card = document.getElementById("src-detail");
    B.getJSON("/api/v1/sites/" + encodeURIComponent(id)).then(function (j) {
      var limits = permitLimits(j.site);
      var rows = (j.latest || []).map(function (r) {
        var l = limits[r.parameter] || {};
        return { parameter: r.parameter, name: cfg.params[r.parameter] || r.parameter, value: r.value, ts: r.ts,
                 flag: r.flag, limit: l.value == null ? null : (l.lower != null ? l.lower + "–" + l.value : l.value),
                 unit: l.unit, standard: l.standard_name || l.standard };
      });
      card.querySelector("h2").textContent = j.site.name;
      B.table(card, cfg.limit_cols, rows, "sources-outlet-" + id);
    }).catch(function (e) { B.fail(card, e); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("src-outlets");
    B.getJSON("/api/v1/permits?limit=500").then(function (j) { permits = j.items; }).catch(function () { permits = []; });
    B.getJSON("/api/v1/overview?lang=" + B.lang).then(function (j) {
      var rows = j.features.filter(function (f) { return f.kind.indexOf("source") === 0; });
      B.table(card, cfg.cols, rows, "sources-outlets");
      card.addEventListener("click", function (ev) {
        var tr = ev.target.closest("tr[data-row]");
        if (!tr) { return; }
        card.querySelectorAll("tr.selected").forEach(function (x) { x.classList.remove("selected"); });
        tr.classList.add("selected");
        detail(rows[parseInt(tr.dataset.row, 10)].id);
      });
    }).catch(function (e) { B.fail(card, e); });
  });
})();
