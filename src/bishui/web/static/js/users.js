/* User management (administrators): the accounts with their actions, a creation form, and
   the audit of account changes. Every write goes to /api/v1/users… with the CSRF header. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var T = JSON.parse(document.getElementById("users-text").textContent);
  var box = document.getElementById("users-table");
  var status = document.getElementById("users-status");
  var auditCard = document.getElementById("users-audit");

  function send(method, url, data) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify(data || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { throw new Error(j.message || String(r.status)); }
        return j;
      });
    });
  }

  function done(p) {
    return p.then(function () { status.textContent = T.done; load(); })
      .catch(function (e) { status.textContent = e.message; });
  }

  function roleSelect(value) {
    return '<select class="role">' + Object.keys(cfg.roles).map(function (r) {
      return '<option value="' + B.esc(r) + '"' + (r === value ? " selected" : "") + ">" + B.esc(cfg.roles[r]) + "</option>";
    }).join("") + "</select>";
  }

  function render(items) {
    var head = [T.username, T.display_name, T.role, T.region, T.enterprise, T.active, T.actions];
    var rows = items.map(function (u) {
      var self = u.username === cfg.me;
      return '<tr data-user="' + B.esc(u.username) + '"><td>' + B.esc(u.username) + "</td><td>" + B.esc(u.display_name) +
        "</td><td>" + roleSelect(u.role) + '</td><td><input class="region" size="8" maxlength="20" value="' + B.esc(u.region || "") +
        '"></td><td><input class="enterprise" size="18" maxlength="18" value="' + B.esc(u.enterprise || "") + '"></td><td>' +
        B.esc(u.active ? T.enabled : T.disabled) + '</td><td class="actions">' +
        '<button type="button" class="small change">' + B.esc(T.change) + "</button> " +
        (self ? "" : '<button type="button" class="small toggle">' + B.esc(u.active ? T.disable : T.enable) + "</button> ") +
        '<button type="button" class="small reset">' + B.esc(T.reset) + "</button></td></tr>";
    }).join("");
    box.innerHTML = '<table class="data" id="users-list"><thead><tr>' + head.map(function (h) { return "<th>" + B.esc(h) + "</th>"; }).join("") +
      "</tr></thead><tbody>" + rows + "</tbody></table>";
    Array.prototype.forEach.call(box.querySelectorAll("tr[data-user]"), function (tr) {
      var name = tr.dataset.user;
      var url = "/api/v1/users/" + encodeURIComponent(name);
      var u = items.filter(function (x) { return x.username === name; })[0];
      tr.querySelector(".change").addEventListener("click", function () {
        done(send("PATCH", url, {
          role: tr.querySelector(".role").value,
          region: tr.querySelector(".region").value || null,
          enterprise: tr.querySelector(".enterprise").value || null
        }));
      });
      var toggle = tr.querySelector(".toggle");
      if (toggle) {
        toggle.addEventListener("click", function () { done(send("POST", url + (u.active ? "/disable" : "/enable"))); });
      }
      tr.querySelector(".reset").addEventListener("click", function () {
        var pw = window.prompt(T.new_password + "（" + name + "）");
        if (pw) { done(send("POST", url + "/password", { password: pw })); }
      });
    });
  }

  function loadAudit() {
    var cols = JSON.parse(auditCard.dataset.cols);
    B.getJSON("/api/v1/users/audit").then(function (j) {
      var rows = (j.items || []).map(function (r) {
        r.action_name = cfg.actions[r.action] || r.action;
        var d = r.detail || {};
        var parts = [];
        if (d.to) { parts.push((cfg.roles[d.from.role] || d.from.role) + " → " + (cfg.roles[d.to.role] || d.to.role) + (d.to.region ? " " + d.to.region : "") + (d.to.enterprise ? " " + d.to.enterprise : "")); }
        else if (d.role) { parts.push((cfg.roles[d.role] || d.role) + (d.region ? " " + d.region : "") + (d.enterprise ? " " + d.enterprise : "")); }
        if (d.cleared != null) { parts.push(String(d.cleared)); }
        r.detail_text = parts.join("；");
        return r;
      });
      B.table(auditCard, cols, rows, "account-audit");
    }).catch(function (e) { B.fail(auditCard, e); });
  }

  function load() {
    B.getJSON("/api/v1/users").then(function (j) { render(j.items || []); }).catch(function (e) { B.fail(box, e); });
    loadAudit();
  }

  document.getElementById("create-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var data = { username: f.username.value, password: f.password.value, role: f.role.value };
    if (f.display_name.value) { data.display_name = f.display_name.value; }
    if (f.region.value) { data.region = f.region.value; }
    if (f.enterprise.value) { data.enterprise = f.enterprise.value; }
    done(send("POST", "/api/v1/users", data).then(function () { f.reset(); }));
  });

  load();
})();
