/* The alerts page: alerts grouped by site, rule and day, paged by the server
   (/api/v1/alerts/groups), a group's alerts, acknowledgement; for the admin the routing rules
   and the outside channels' messages. Names, not codes: rules, severities, states, regions. */
(function () {
  "use strict";
  var B = window.bishui;
  var T = B.T;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var PAGE = 50;
  var offset = 0;
  var total = 0;
  var groups = [];

  function fmt(s, vals) { return String(s).replace(/\{(\w+)\}/g, function (_, k) { return vals[k]; }); }
  function sev(s) { return T["sev." + s] || s; }
  function ruleName(r) { return cfg.rules[r] || r; }
  function param(c) { return cfg.params[c] || c; }
  function time(v) { return v ? String(v).replace("T", " ").slice(0, 16) : "—"; }
  function cell(v) { return "<td>" + B.esc(v) + "</td>"; }
  function who(r) {  // role:admin → 系统管理员; user:… → the account; tel:… → the number
    var kind = r.split(":")[0], rest = r.slice(kind.length + 1);
    if (kind === "role") { return cfg.roles[rest] || rest; }
    return rest || r;
  }

  function query() {
    var form = document.getElementById("alert-filter");
    var q = new URLSearchParams();
    new FormData(form).forEach(function (v, k) { if (v !== "") { q.set(k, v); } });
    return q;
  }

  function table(box, head, rows) {
    box.innerHTML = rows.length
      ? '<table class="data"><thead><tr>' + head.map(function (h) { return "<th>" + B.esc(h) + "</th>"; }).join("") +
        "</tr></thead><tbody>" + rows.join("") + "</tbody></table>"
      : '<p class="note">' + B.esc(T.empty || "无数据") + "</p>";
  }

  function loadGroups() {
    var card = document.getElementById("alert-groups");
    var q = query();
    q.set("limit", PAGE);
    q.set("offset", offset);
    B.getJSON("/api/v1/alerts/groups?" + q.toString()).then(function (j) {
      groups = j.items;
      total = j.total;
      var pages = Math.max(1, Math.ceil(total / PAGE));
      card.querySelector(".pager-info").textContent = fmt(T["al.total"], { n: total }) + " · " +
        fmt(T["al.page"], { p: Math.floor(offset / PAGE) + 1, q: pages });
      card.querySelector(".prev").disabled = offset === 0;
      card.querySelector(".next").disabled = offset + PAGE >= total;
      var head = [T["al.day"], T["al.site"], T.region, T["al.rule"], T["al.severity"], T["al.count"],
                  T["al.new"], T["al.unacked"], T["al.period"], T["al.task"], ""];
      table(card.querySelector(".table-box"), head, groups.map(function (g, i) {
        var act = '<button type="button" class="details" data-i="' + i + '">' + B.esc(T["al.details"]) + "</button>";
        if (cfg.can_ack && g.n_unacked > 0) {
          act += ' <button type="button" class="ack" data-i="' + i + '">' + B.esc(T["al.ack"]) + "</button>";
        }
        var task = g.task_id ? '<a href="/tasks#' + encodeURIComponent(g.task_id) + '">' + B.esc(g.task_id) + "</a>" : "—";
        return '<tr class="sev-' + B.esc(g.severity) + '">' + cell(g.day) + cell(g.site_name) + cell(g.region_name || g.region) +
          cell(ruleName(g.rule_id)) + cell(sev(g.severity)) + cell(g.n) + cell(g.n_new) + cell(g.n_unacked) +
          cell(time(g.first_start) + " – " + time(g.last_end)) + "<td>" + task + "</td><td>" + act + "</td></tr>";
      }));
    }).catch(function (e) { B.fail(card, e); });
  }

  function loadItems(g) {
    var card = document.getElementById("alert-items");
    card.hidden = false;
    card.querySelector("h2").textContent = g.site_name + " · " + ruleName(g.rule_id) + " · " + g.day;
    var q = new URLSearchParams({ site: g.site_code, rule: g.rule_id, start: g.day, end: g.day, limit: 500 });
    B.getJSON("/api/v1/alerts/items?" + q.toString()).then(function (j) {
      var head = [T["al.period"], T["al.pollutant"], T["al.severity"], T["al.state"], T["al.task"],
                  T["al.acked_by"], T["al.acked_at"]];
      table(card.querySelector(".table-box"), head, j.items.filter(function (a) { return a.rule_id === g.rule_id; }).map(function (a) {
        return "<tr>" + cell(time(a.start_ts) + " – " + time(a.end_ts)) + cell(param(a.pollutant)) + cell(sev(a.severity)) +
          cell(T["astate." + a.state] || a.state) + cell(a.task_id) + cell(a.ack_by) + cell(time(a.ack_at)) + "</tr>";
      }));
    }).catch(function (e) { B.fail(card, e); });
  }

  function ack(g, button) {
    button.disabled = true;
    B.postJSON("/api/v1/alerts/acknowledge", { site_code: g.site_code, rule_id: g.rule_id, day: g.day })
      .then(function (j) { button.textContent = fmt(T["al.done"], { n: j.count }); loadGroups(); })
      .catch(function (e) { button.disabled = false; window.alert(e.message); });
  }

  function regions() {
    return B.getJSON("/api/v1/regions").then(function (j) {
      document.querySelectorAll('select[name="region"]').forEach(function (sel) {
        j.items.forEach(function (r) {
          var o = document.createElement("option");
          o.value = r.code;
          o.textContent = B.lang === "en" && r.name_en ? r.name_en : r.name;
          sel.appendChild(o);
        });
      });
      return j.items;
    }).catch(function () { return []; });
  }

  // ---------------------------------------------------------------- admin: routes, outbox
  var regionNames = {};
  var routes = [];
  var editRoute = function () {};  // set by admin(): fills the rule form for a PUT

  function toggleRoute(r) {  // replace the rule with enabled flipped (PUT: the whole rule)
    var body = { name: r.name, min_severity: r.min_severity, rule_prefix: r.rule_prefix, subject_kind: r.subject_kind,
                 region: r.region, recipients: r.recipients, channels: r.channels, enabled: !r.enabled };
    return fetch("/api/v1/alert-routes/" + r.id, { method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify(body) }).then(loadRoutes);
  }

  function loadRoutes() {
    var card = document.getElementById("alert-routes");
    B.getJSON("/api/v1/alert-routes").then(function (j) {
      routes = j.items;
      var head = [T["rt.name"], T["rt.match"], T["rt.recipients"], T["rt.channels"], T["rt.enabled"], T["rt.by"], ""];
      table(card.querySelector(".table-box"), head, j.items.map(function (r) {
        var match = [r.rule_prefix ? ruleName(r.rule_prefix) : T["rt.any"], r.subject_kind ? T["kind." + r.subject_kind] : "",
                     r.region ? (regionNames[r.region] || r.region) : "", "≥ " + sev(r.min_severity)].filter(Boolean).join(" · ");
        return "<tr>" + cell(r.name) + cell(match) + cell(r.recipients.map(who).join("、")) +
          cell(r.channels.map(function (c) { return T["chan." + c] || c; }).join("、")) + cell(r.enabled ? T.yes : T.no) +
          cell(r.updated_by + " " + time(r.updated)) + '<td><button type="button" class="toggle" data-i="' + routes.indexOf(r) + '">' +
          B.esc(r.enabled ? T["rt.disable"] : T["rt.enable"]) + '</button> <button type="button" class="edit" data-i="' + routes.indexOf(r) + '">' +
          B.esc(T["rt.edit"]) + '</button> <button type="button" class="del" data-id="' + r.id + '">' +
          B.esc(T["rt.delete"]) + "</button></td></tr>";
      }));
    }).catch(function (e) { B.fail(card, e); });
  }

  function loadDeliveries() {
    var card = document.getElementById("alert-deliveries");
    B.getJSON("/api/v1/deliveries?limit=100").then(function (j) {
      var head = [T["dl.created"], T["dl.channel"], T["dl.recipient"], T["dl.subject"], T["dl.status"], T["dl.attempts"], T["dl.error"], ""];
      table(card.querySelector(".table-box"), head, j.items.map(function (d) {
        var act = d.status === "failed" ? '<button type="button" class="retry" data-id="' + d.id + '">' + B.esc(T["dl.retry"]) + "</button>" : "";
        return "<tr>" + cell(time(d.created)) + cell(T["chan." + d.channel] || d.channel) + cell(d.recipient === "group" ? "—" : who(d.recipient)) + cell(d.subject) +
          cell(T["dstate." + d.status] || d.status) + cell(d.attempts) + cell(d.last_error) + "<td>" + act + "</td></tr>";
      }));
    }).catch(function (e) { B.fail(card, e); });
  }

  function admin() {
    var card = document.getElementById("alert-routes");
    card.addEventListener("click", function (ev) {
      var t = ev.target.closest("button.toggle");
      if (t) { toggleRoute(routes[parseInt(t.dataset.i, 10)]); return; }
      var e = ev.target.closest("button.edit");
      if (e) { editRoute(routes[parseInt(e.dataset.i, 10)]); return; }
      var b = ev.target.closest("button.del");
      if (!b) { return; }
      fetch("/api/v1/alert-routes/" + b.dataset.id, { method: "DELETE", credentials: "same-origin",
        headers: { "X-CSRF-Token": B.csrf(), Accept: "application/json" } }).then(loadRoutes);
    });
    var form = document.getElementById("route-form");
    var title = form.querySelector(".form-title"), addTitle = title.textContent;
    var cancel = form.querySelector(".cancel-edit");
    var editing = null;  // the rule being edited (PUT replaces it whole), or null: a new rule
    function stopEditing() {
      editing = null;
      form.reset();
      title.textContent = addTitle;
      cancel.hidden = true;
    }
    editRoute = function (r) {  // the rule's fields into the form; submitting saves them (PUT)
      editing = r;
      form.elements.name.value = r.name;
      form.elements.min_severity.value = r.min_severity;
      form.elements.rule_prefix.value = r.rule_prefix || "";
      form.elements.region.value = r.region || "";
      form.elements.recipients.value = r.recipients.join(", ");
      form.querySelectorAll('input[name="channels"]').forEach(function (c) { c.checked = r.channels.indexOf(c.value) >= 0; });
      title.textContent = T["rt.editing"].replace("{name}", r.name);
      cancel.hidden = false;
      form.querySelector(".form-msg").textContent = "";
      form.scrollIntoView({ block: "nearest" });
    };
    cancel.addEventListener("click", stopEditing);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var fd = new FormData(form);
      var body = {
        name: fd.get("name"), min_severity: fd.get("min_severity"), rule_prefix: fd.get("rule_prefix"),
        region: fd.get("region"), channels: fd.getAll("channels"),
        recipients: String(fd.get("recipients")).split(/[,，、\s]+/).filter(Boolean)
      };
      var msg = form.querySelector(".form-msg");
      var sent;
      if (editing) {  // what the form does not show is kept as it was
        body.subject_kind = editing.subject_kind || "";
        body.enabled = editing.enabled;
        sent = fetch("/api/v1/alert-routes/" + editing.id, { method: "PUT", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
          body: JSON.stringify(body) }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            if (!r.ok) { throw new Error(j.message || String(r.status)); }
            return j;
          });
        });
      } else {
        sent = B.postJSON("/api/v1/alert-routes", body);
      }
      sent.then(function () { msg.textContent = T.done; stopEditing(); loadRoutes(); })
        .catch(function (e) { msg.textContent = e.message; });
    });
    document.getElementById("alert-deliveries").addEventListener("click", function (ev) {
      var b = ev.target.closest("button.retry");
      if (b) { B.postJSON("/api/v1/deliveries/" + b.dataset.id + "/retry", {}).then(loadDeliveries); }
    });
    loadRoutes();
    loadDeliveries();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var card = document.getElementById("alert-groups");
    card.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) { return; }
      if (b.classList.contains("prev")) { offset = Math.max(0, offset - PAGE); loadGroups(); return; }
      if (b.classList.contains("next")) { offset += PAGE; loadGroups(); return; }
      var g = groups[parseInt(b.dataset.i, 10)];
      if (b.classList.contains("details")) { loadItems(g); }
      if (b.classList.contains("ack")) { ack(g, b); }
    });
    document.getElementById("alert-filter").addEventListener("submit", function (ev) {
      ev.preventDefault();
      offset = 0;
      loadGroups();
    });
    regions().then(function (items) {
      items.forEach(function (r) { regionNames[r.code] = B.lang === "en" && r.name_en ? r.name_en : r.name; });
      if (cfg.admin) { admin(); }
    });
    loadGroups();
  });
})();
