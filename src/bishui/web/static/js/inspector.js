/* The inspector's day on the task page (issue 16 item 9): the task's enterprise (address,
   legal representative, contact), the check-in with the phone's location (Geolocation API →
   POST /api/v1/tasks/{id}/check_in; a refused or unavailable location is said, nothing is
   sent), the check-ins with their distance from the registered location, links to the two
   printable records, and the approval notice. It follows the detail card: whenever tasks.js
   shows a task (data-task / data-state on #task-detail), this block is rebuilt. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("inspector-config").textContent);
  var L = cfg.labels;
  var shown = "";

  function metres(v) { return v === null || v === undefined ? "" : Math.round(v) + " " + L.metres; }

  function dl(rows) {
    return "<dl>" + rows.filter(function (r) { return r[1]; }).map(function (r) {
      return "<dt>" + B.esc(r[0]) + "</dt><dd>" + B.esc(r[1]) + "</dd>";
    }).join("") + "</dl>";
  }

  function render(box, id, state, j) {
    var p = j.party || {};
    var html = "<h3>" + B.esc(L.party) + (j.synthetic ? ' <small class="note">（' + B.esc(L.synthetic) + "）</small>" : "") + "</h3>" +
      dl([[L.party, p.name], [L.address, (p.address || "") + (p.region ? "（" + p.region + "）" : "")],
          [L.legal_rep, p.legal_rep], [L.contact, [p.contact, p.phone].filter(Boolean).join(" ")]]);
    if (state === "awaiting_approval") { html += '<p class="note awaiting">' + B.esc(L.awaiting) + "</p>"; }
    if (state === "awaiting_closure") { html += '<p class="note awaiting">' + B.esc(L.awaiting_closure) + "</p>"; }
    html += "<h3>" + B.esc(L.checkins) + "</h3>";
    var c = j.checkins || [];
    html += c.length ? "<ul class=\"checkins\">" + c.map(function (x) {
      return "<li>" + B.esc(String(x.at || "").replace("T", " ").slice(0, 16)) + " · " + B.esc(x.by || "") + " · " +
        B.esc(Number(x.lat).toFixed(5) + ", " + Number(x.lon).toFixed(5)) +
        (x.accuracy !== undefined && x.accuracy !== null ? " · " + B.esc(L.accuracy + " " + metres(x.accuracy)) : "") +
        (x.distance_m !== undefined ? " · <strong>" + B.esc(L.distance + " " + metres(x.distance_m)) + "</strong>" : "") + "</li>";
    }).join("") + "</ul>" : '<p class="note">' + B.esc(L.none) + "</p>";
    if (cfg.check_in && (state === "assigned" || state === "in_progress")) {
      html += '<p><button type="button" class="action-check_in" id="check-in">' + B.esc(cfg.check_in_label) + '</button> <span id="check-in-msg" role="status"></span></p>';
    }
    if (cfg.records) {
      var base = "/api/v1/tasks/" + encodeURIComponent(id) + "/records/";
      html += "<h3>" + B.esc(L.records) + '</h3><p class="records">' +
        '<a href="' + base + 'inspection" target="_blank" rel="noopener">' + B.esc(L["record.inspection"]) + "</a> · " +
        '<a href="' + base + 'inquiry" target="_blank" rel="noopener">' + B.esc(L["record.inquiry"]) + "</a></p>";
    }
    box.innerHTML = html;
    box.hidden = false;
    var btn = document.getElementById("check-in");
    if (btn) { btn.addEventListener("click", function () { checkIn(id, btn); }); }
  }

  function checkIn(id, btn) {
    var msg = document.getElementById("check-in-msg");
    if (!window.isSecureContext) { msg.textContent = L.insecure; return; }
    if (!navigator.geolocation) { msg.textContent = L.unavailable; return; }
    btn.disabled = true;
    msg.textContent = L.locating;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var body = { lat: pos.coords.latitude, lon: pos.coords.longitude, accuracy: pos.coords.accuracy,
                   fixed_at: new Date(pos.timestamp).toISOString() };
      B.postJSON("/api/v1/tasks/" + encodeURIComponent(id) + "/check_in", body).then(function () {
        shown = "";
        return follow();
      }).catch(function (e) { msg.textContent = e.message; btn.disabled = false; });
    }, function (err) {
      /* PERMISSION_DENIED = 1; POSITION_UNAVAILABLE = 2; TIMEOUT = 3 */
      msg.textContent = err && err.code === 1 ? L.denied : L.unavailable;
      btn.disabled = false;
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  }

  function follow() {
    var card = document.getElementById("task-detail");
    var box = document.getElementById("task-inspector");
    var id = card.dataset.task, state = card.dataset.state;
    if (!id || !box) { return Promise.resolve(); }
    var key = id + "|" + state;
    if (key === shown) { return Promise.resolve(); }
    shown = key;
    return B.getJSON("/api/v1/tasks/" + encodeURIComponent(id) + "/party").then(function (j) {
      render(box, id, state, j);
      box.dataset.task = id;  /* which task the card shows (tests wait for it) */
    }).catch(function (e) { box.hidden = false; box.textContent = e.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("task-detail");
    new MutationObserver(follow).observe(card, { attributes: true, attributeFilter: ["data-task", "data-state"] });
    follow();
  });
})();
