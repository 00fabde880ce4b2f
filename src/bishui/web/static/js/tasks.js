/* The task inbox and workflow: the list (scoped by the API), a task's details, its evidence
   files and its allowed actions, each a small form posted to /api/v1/tasks/{id}/{action} with
   the CSRF header. Evidence is uploaded first (POST /api/v1/tasks/{id}/files, the file as the
   body); the actions that cite files offer the task's files as checkboxes and send their ids.
   Built for a phone: one column below 700 px, large touch targets. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var L = cfg.labels;
  var D = window.bishuiDisplay;
  /* The select options' names (display.js tables), per field and action. */
  var OPTION_TABLES = { assign: { kind: "assignee_kind" }, dispose: { kind: "disposal" } };
  /* Actions that work on evidence files: the upload control is offered with them only. */
  var FILE_ACTIONS = ["visit", "add_evidence", "submit_rectification"];
  /* The fields each action takes (bishui.enforcement.tasks guards). */
  var FIELDS = {
    assign: [["assignee", "text", cfg.user || ""], ["kind", ["inspector", "team"]]],
    visit: [["note", "textarea"], ["files", "files", false]],
    add_evidence: [["files", "files", true], ["note", "text"]],
    dispose: [["kind", ["rectification_order", "false_alarm", "penalty"]], ["due", "date"], ["requirement", "textarea"], ["reason", "text"],
              ["article", "text"], ["amount", "text"]],
    submit_rectification: [["files", "files", true], ["note", "textarea"]],
    verify_rectification: [["note", "text"]],
    close: [],
    escalate: [],
    reopen: [["reason", "text"]],
    approve: [["note", "text"]],
    reject: [["reason", "text"]]
  };
  /* A drinking-water source task has no enterprise: no penalty (the server refuses it too). */
  var WATER_DISPOSE = [["kind", ["rectification_order", "false_alarm"]], ["due", "date"], ["requirement", "textarea"], ["reason", "text"]];

  function list() {
    var card = document.getElementById("task-list");
    var state = document.getElementById("task-state").value;
    return B.getJSON("/api/v1/tasks?limit=200" + (state ? "&state=" + encodeURIComponent(state) : "")).then(function (j) {
      B.table(card, cfg.cols, j.items, "tasks");
    }).catch(function (e) { B.fail(card, e); });
  }

  var files = [];  /* the shown task's evidence files (GET /api/v1/tasks/{id}/files) */

  /* One checkbox per uploaded file; *fresh*: those no transition cites yet start ticked. */
  function filePicker(form, fresh) {
    var box = document.createElement("fieldset");
    box.className = "files";
    var legend = document.createElement("legend");
    legend.textContent = L.files;
    box.appendChild(legend);
    if (!files.length) {
      var none = document.createElement("span"); none.className = "note"; none.textContent = L.none;
      box.appendChild(none);
    }
    files.forEach(function (f) {
      var label = document.createElement("label");
      var cb = document.createElement("input");
      cb.type = "checkbox"; cb.name = "files"; cb.value = f.id; cb.checked = fresh && !f.cited;
      label.appendChild(cb);
      label.appendChild(document.createTextNode(" " + f.name));
      box.appendChild(label);
    });
    form.appendChild(box);
  }

  function field(form, spec, action) {
    var name = spec[0], type = spec[1], el;
    var table = (OPTION_TABLES[action] || {})[name];
    if (type === "files") { filePicker(form, spec[2]); return; }
    if (Array.isArray(type)) {
      el = document.createElement("select");
      type.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = table ? D.name(table, v) : v; el.appendChild(o); });
    } else if (type === "textarea") {
      el = document.createElement("textarea"); el.rows = 2;
    } else {
      el = document.createElement("input"); el.type = type;
      if (spec[2]) { el.value = spec[2]; }
    }
    el.name = name;
    var label = L[name] || D.name("audit_field", name);
    el.placeholder = label;
    el.setAttribute("aria-label", label);
    form.appendChild(el);
  }

  function payload(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") { return; }
      if (el.type === "checkbox") {
        if (el.checked) { (out[el.name] = out[el.name] || []).push(el.value); }
        return;
      }
      out[el.name] = el.value;
    });
    return out;
  }

  function size(n) {
    return n >= 1048576 ? (n / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(n / 1024)) + " KB";
  }

  /* The files as a table, each name a download link (the API sends it as an attachment). */
  function showFiles(id) {
    var box = document.getElementById("task-files");
    if (!files.length) { box.innerHTML = '<p class="note">' + B.esc(L.none) + "</p>"; return; }
    var head = "<thead><tr>" + cfg.file_cols.map(function (c) { return "<th>" + B.esc(c[1]) + "</th>"; }).join("") + "</tr></thead>";
    var rows = files.map(function (f) {
      var href = "/api/v1/tasks/" + encodeURIComponent(id) + "/files/" + encodeURIComponent(f.id);
      return "<tr>" + cfg.file_cols.map(function (c) {
        var v = f[c[0]];
        if (c[2] === "file") { return '<td><a href="' + B.esc(href) + '" download title="' + B.esc(L.download + " · sha256 " + f.sha256) + '">' + B.esc(v) + "</a></td>"; }
        if (c[2] === "time") { v = String(v).replace("T", " ").slice(0, 16); }
        if (c[0] === "media_type") { v = String(v).split("/")[0] === "image" ? (B.lang === "zh" ? "图片" : "image") : v === "application/pdf" ? "PDF" : v === "video/mp4" ? (B.lang === "zh" ? "视频" : "video") : v; }
        if (c[0] === "size") { v = size(v); }
        if (c[0] === "cited") { v = v ? L.yes : L.no; }
        return "<td>" + B.esc(v) + "</td>";
      }).join("") + "</tr>";
    }).join("");
    /* not a .table-box: B.table fills the card's first one (the audit trail) */
    box.innerHTML = '<div class="files-box"><table class="data files">' + head + "<tbody>" + rows + "</tbody></table></div>";
  }

  /* One file as the request body, its type as Content-Type; the server checks it again. */
  function upload(id, file) {
    if (file.size > cfg.evidence_limit) { return Promise.reject(new Error(L.too_large + ": " + file.name)); }
    var url = "/api/v1/tasks/" + encodeURIComponent(id) + "/files?name=" + encodeURIComponent(file.name);
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: file,
      headers: { "Content-Type": file.type || "application/octet-stream", Accept: "application/json", "X-CSRF-Token": B.csrf() }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(file.name + ": " + (j.message || r.status)); }
        return j;
      });
    });
  }

  function show(id) {
    var card = document.getElementById("task-detail");
    var msg = document.getElementById("task-msg");
    var base = "/api/v1/tasks/" + encodeURIComponent(id);
    return Promise.all([B.getJSON(base), B.getJSON(base + "/files")]).then(function (both) {
      var j = both[0], t = j.task;
      files = both[1].items || [];
      showFiles(t.id);
      var acts = t.allowed_actions || [];
      var up = document.getElementById("evidence-upload");
      if (up) { up.hidden = !FILE_ACTIONS.some(function (a) { return acts.indexOf(a) >= 0; }); }
      document.getElementById("task-chosen").hidden = false;
      document.getElementById("task-none").hidden = true;
      card.dataset.task = t.id;
      card.dataset.state = t.state;
      card.querySelector("h2").textContent = t.id + " · " + (t.title_display || t.title);
      card.querySelector(".summary").innerHTML = "<dl>" +
        [[L.subject, (cfg.subjects || {})[t.subject_kind || "outlet"] + " " + (t.enterprise_name ? t.enterprise_name + " " : "") + t.site_code],
         [L.state, D.name("task_state", t.state)], [L.severity, D.name("severity", t.severity)], [L.assignee, D.assignee(t.assignee)],
         [L.deadline, String(t.deadline).replace("T", " ").slice(0, 16)],
         [L.article, t.suggested_article],
         /* the disposal, when the caller may see it (an enterprise: an order, or the decision at closure) */
         [L.disposal, t.disposal ? [D.name("disposal", t.disposal.kind), t.disposal.due, t.disposal.article, t.disposal.amount].filter(Boolean).join(" · ") : null],
         [L.requirement, t.disposal ? t.disposal.requirement : null]].map(function (x) { return "<dt>" + B.esc(x[0]) + "</dt><dd>" + B.esc(x[1]) + "</dd>"; }).join("") + "</dl>";
      var box = document.getElementById("task-actions");
      box.innerHTML = "";
      if (cfg.actor) {
        (t.allowed_actions || []).forEach(function (a) {
          if (a === "check_in") { return; }  /* inspector.js: the check-in button */
          var form = document.createElement("form");
          form.dataset.action = a;
          var spec = a === "dispose" && t.subject_kind === "water_source" ? WATER_DISPOSE : FIELDS[a];
          (spec || [["note", "text"]]).forEach(function (f) { field(form, f, a); });
          var b = document.createElement("button"); b.type = "submit"; b.textContent = (cfg.actions || {})[a] || a; b.className = "action-" + a;
          form.appendChild(b);
          form.addEventListener("submit", function (ev) {
            ev.preventDefault();
            msg.textContent = "…";
            B.postJSON("/api/v1/tasks/" + encodeURIComponent(t.id) + "/" + a, payload(form)).then(function (r) {
              msg.textContent = L.done + "：" + D.name("task_action", r.event.action) + " → " + D.name("task_state", r.event.to);
              return show(t.id).then(list);
            }).catch(function (e) { msg.textContent = e.message; });
          });
          box.appendChild(form);
        });
      }
      // Events first: their toolbar sits under the card's heading, before the alerts' own.
      /* the audit log keeps the title as written (codes); the trail shows the task's name */
      var events = (j.events || []).map(function (e) {
        if (!e.payload || e.payload.title !== t.title || !t.title_display) { return e; }
        return Object.assign({}, e, { payload: Object.assign({}, e.payload, { title: t.title_display }) });
      });
      B.table(card, cfg.event_cols, events, "task-" + t.id + "-events");
      B.table(document.getElementById("task-alerts"), cfg.alert_cols, j.alerts || [], "task-" + t.id + "-alerts");
    }).catch(function (e) { msg.textContent = e.message; });
  }

  function bindUpload() {
    var form = document.getElementById("evidence-upload");
    if (!form) { return; }
    var msg = document.getElementById("task-msg");
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var id = document.getElementById("task-detail").dataset.task;
      var input = form.querySelector("input[type=file]");
      var chosen = Array.prototype.slice.call(input.files || []);
      if (!id || !chosen.length) { return; }
      msg.textContent = "…";
      chosen.reduce(function (p, f) { return p.then(function () { return upload(id, f); }); }, Promise.resolve())
        .then(function () {
          msg.textContent = L.uploaded + ": " + chosen.map(function (f) { return f.name; }).join("、");
          input.value = "";
          return show(id);
        })
        .catch(function (e) { msg.textContent = e.message; show(id); });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindUpload();
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
