/* Compensation statements: the list (a county sees the statements it is a party to), one
   statement traced back to its data (the computation in words, every evidence value) and,
   for a county official, acknowledge / dispute through the API (CSRF header). */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var L = cfg.labels;
  var D = window.bishuiDisplay;
  var current = null;  /* the statement row shown */

  /* Flatten the evidence object into key → value rows (a.b.c → value); a list of data flags
     in words (flagNames: the API's flag_names — HJ 212 flags by name), any other list joined. */
  var flagNames = {};
  function listText(v) {
    return v.map(function (x) {
      if (typeof x === "string") { return flagNames[x] || x; }
      return x && typeof x === "object" ? JSON.stringify(x) : String(x);
    }).join("；");
  }
  function flatten(obj, prefix, out) {
    Object.keys(obj || {}).forEach(function (k) {
      var v = obj[k], key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v)) { flatten(v, key, out); }
      else { out.push({ key: key, value: Array.isArray(v) ? listText(v) : v }); }
    });
    return out;
  }

  function show(id, row) {
    var title = (row && row.agreement_name) || null;
    var card = document.getElementById("comp-detail");
    var msg = document.getElementById("comp-msg");
    B.getJSON("/api/v1/compensation/statements/" + id.split("/").map(encodeURIComponent).join("/")).then(function (j) {
      var st = j.statement;
      flagNames = j.flag_names || {};
      card.dataset.statement = j.id;
      card.querySelector("h2").textContent = (title || st.agreement_id) + " · " + st.period;
      card.querySelector(".summary").innerHTML = "<dl>" +
        [[L.state, D.name("statement_status", j.confirmation.state)], [L.period, st.period], [L.agreement, title || st.agreement_id]].map(function (x) {
          return "<dt>" + B.esc(x[0]) + "</dt><dd>" + B.esc(x[1]) + "</dd>";
        }).join("") + "</dl>" +
        '<p><a target="_blank" rel="noopener" href="/api/v1/compensation/statements/' + B.esc(j.id) + '/print">' + B.esc(L.print) + "</a></p>";
      document.getElementById("comp-explain").textContent = typeof j.explain === "string" ? j.explain : JSON.stringify(j.explain, null, 2);
      B.table(card, cfg.evidence_cols, flatten(st.evidence, "", []), "statement-evidence");
      var actions = document.getElementById("comp-actions");
      if (actions) { actions.hidden = false; }
    }).catch(function (e) { msg.textContent = e.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("comp-list");
    var rows = [];
    B.getJSON("/api/v1/compensation/statements?limit=500").then(function (j) {
      rows = j.items;
      B.table(card, cfg.cols, rows, "compensation-statements");
    }).catch(function (e) { B.fail(card, e); });
    card.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-row]");
      if (!tr || !card._rows) { return; }
      card.querySelectorAll("tr.selected").forEach(function (x) { x.classList.remove("selected"); });
      tr.classList.add("selected");
      var r = card._rows[parseInt(tr.dataset.row, 10)];
      current = r;
      show(r.id, r);
    });
    document.querySelectorAll("#comp-actions form").forEach(function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var id = document.getElementById("comp-detail").dataset.statement;
        var msg = document.getElementById("comp-msg");
        if (!id) { return; }
        var body = form.dataset.action === "dispute" ? { reason: form.elements.reason.value } : {};
        B.postJSON("/api/v1/compensation/statements/" + id.split("/").map(encodeURIComponent).join("/") + "/" + form.dataset.action, body)
          .then(function () { msg.textContent = L.done; show(id, current); })
          .catch(function (e) { msg.textContent = e.message; });
      });
    });
    // the ledger's columns depend on what the API returns: build them from the first row
    var ledger = document.getElementById("comp-ledger");
    B.getJSON(ledger.dataset.ledger).then(function (j) {
      var items = j.items || [];
      B.table(ledger, cfg.ledger_cols, items, "compensation-ledger");
    }).catch(function (e) { B.fail(ledger, e); });
  });
})();
