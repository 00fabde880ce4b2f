/* The task inbox and workflow: the list (scoped by the API), a task's details and its
   allowed actions, each a small form posted to /api/v1/tasks/{id}/{action} with the CSRF
   header. Built for a phone: one column below 700 px, large touch targets. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var L = cfg.labels;
  /* The fields each action takes (bishui.enforcement.tasks guards). */
  var FIELDS = {
    assign: [["assignee", "text", cfg.user || ""], ["kind", ["inspector", "team"]]],
    visit: [["note", "textarea"]],
    add_evidence: [["files", "text", "photo-1.jpg"], ["note", "text"]],
    dispose: [["kind", ["rectification_order", "false_alarm", "penalty"]], ["due", "date"], ["reason", "text"],
              ["article", "text"], ["amount", "text"]],
    submit_rectification: [["note", "textarea"]],
    verify_rectification: [["note", "text"]],
    close: [],
    escalate: [],
    reopen: [["reason", "text"]]
  };
  /* A drinking-water source task has no enterprise: no penalty (the server refuses it too). */
  var WATER_DISPOSE = [["kind", ["rectification_order", "false_alarm"]], ["due", "date"], ["reason", "text"]];

  function list() {
    var card = document.getElementById("task-list");
    var state = document.getElementById("task-state").value;
    return B.getJSON("/api/v1/tasks?limit=200" + (state ? "&state=" + encodeURIComponent(state) : "")).then(function (j) {
      B.table(card, cfg.cols, j.items, "tasks");
    }).catch(function (e) { B.fail(card, e); });
  }

  function field(form, spec) {
    var name = spec[0], type = spec[1], el;
    if (Array.isArray(type)) {
      el = document.createElement("select");
      type.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; el.appendChild(o); });
    } else if (type === "textarea") {
      el = document.createElement("textarea"); el.rows = 2;
    } else {
      el = document.createElement("input"); el.type = type;
      if (spec[2]) { el.value = spec[2]; }
    }
    el.name = name;
    el.placeholder = L[name] || name;
    el.setAttribute("aria-label", L[name] || name);
    form.appendChild(el);
  }

  function payload(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") { return; }
      out[el.name] = el.name === "files" ? el.value.split(",").map(function (s) { return s.trim(); }) : el.value;
    });
    return out;
  }

  function show(id) {
    var card = document.getElementById("task-detail");
    var msg = document.getElementById("task-msg");
    return B.getJSON("/api/v1/tasks/" + encodeURIComponent(id)).then(function (j) {
      var t = j.task;
      card.dataset.task = t.id;
      card.dataset.state = t.state;
      card.querySelector("h2").textContent = t.id + " · " + t.title;
      card.querySelector(".summary").innerHTML = "<dl>" +
        [[L.subject, (cfg.subjects || {})[t.subject_kind || "outlet"] + " " + t.site_code],
         [L.state, t.state], [L.severity, t.severity], [L.assignee, t.assignee], [L.deadline, String(t.deadline).replace("T", " ")],
         [L.article, t.suggested_article]].map(function (x) { return "<dt>" + B.esc(x[0]) + "</dt><dd>" + B.esc(x[1]) + "</dd>"; }).join("") + "</dl>";
      var box = document.getElementById("task-actions");
      box.innerHTML = "";
      if (cfg.actor) {
        (t.allowed_actions || []).forEach(function (a) {
          var form = document.createElement("form");
          form.dataset.action = a;
          var spec = a === "dispose" && t.subject_kind === "water_source" ? WATER_DISPOSE : FIELDS[a];
          (spec || [["note", "text"]]).forEach(function (f) { field(form, f); });
          var b = document.createElement("button"); b.type = "submit"; b.textContent = (cfg.actions || {})[a] || a; b.className = "action-" + a;
          form.appendChild(b);
          form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            msg.textContent = "…";
            B.postJSON("/api/v1/tasks/" + encodeURIComponent(t.id) + "/" + a, payload(form)).then(function (r) {
              msg.textContent = L.done + ": " + r.event.action + " → " + r.event.to;
              return show(t.id).then(list);
            }).catch(function (e) { msg.textContent = e.message; });
          });
          box.appendChild(form);
        });
      }
      B.table(card, cfg.event_cols, j.events, "task-" + t.id + "-events");
    }).catch(function (e) { msg.textContent = e.message; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("task-list");
    document.getElementById("task-state").addEventListener("change", list);
    card.addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr[data-row]");
      if (!tr || !card._rows) { return; }
      card.querySelectorAll("tr.selected").forEach(function (x) { x.classList.remove("selected"); });
      tr.classList.add("selected");
      show(card._rows[parseInt(tr.dataset.row, 10)].id);
      if (window.innerWidth < 700) { document.getElementById("task-detail").scrollIntoView(); }
    });
    list();
    // /tasks#T20261122-0001 (a link from the water page's alerts) opens that task.
    var wanted = decodeURIComponent(window.location.hash.slice(1));
    if (/^T\d{8}-\d{4}$/.test(wanted)) { show(wanted); }
    setInterval(function () { list(); }, B.refreshMs);
  });
})();
