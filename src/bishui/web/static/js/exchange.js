/* The exchange page (/exchange): the accounts and their holdings from /api/v1/exchange/accounts,
   the forms of transfer, surrender and retirement (each posts to the account's route and shows
   the registry's answer — on a refusal, each failed check in words), then reloads the tables.
   The log and the hash-chain check are plain data-src cards (ui.js). */
(function () {
  "use strict";
  var B = window.bishui;
  var cfgEl = document.getElementById("page-config");
  if (!B || !cfgEl) { return; }
  var CFG = JSON.parse(cfgEl.textContent);
  var zh = B.lang === "zh";

  function flatten(accounts) {
    var out = [];
    accounts.forEach(function (a) { (a.holdings || []).forEach(function (h) { out.push(h); }); });
    return out;
  }

  function fillSelects(accounts) {
    var mine = accounts.filter(function (a) { return a.represented_by_me && a.state !== "closed"; });
    Array.prototype.forEach.call(document.querySelectorAll("select.ex-mine"), function (sel) {
      sel.innerHTML = mine.map(function (a) {
        return '<option value="' + B.esc(a.id) + '">' + B.esc(a.id + " · " + a.holder_name) + "</option>";
      }).join("");
    });
    var none = document.getElementById("ex-no-account");
    if (none) { none.hidden = mine.length > 0; }
    Array.prototype.forEach.call(document.querySelectorAll("form.ex-form button"), function (b) {
      b.disabled = mine.length === 0;
    });
  }

  function loadAccounts() {
    return B.getJSON("/api/v1/exchange/accounts").then(function (j) {
      var accounts = j.items || [];
      var holdings = document.getElementById("ex-holdings");
      if (holdings) {
        var mineIds = accounts.filter(function (a) { return a.represented_by_me || CFG.config.enterprise; })
          .map(function (a) { return a.id; });
        B.table(holdings, CFG.holding_cols, flatten(accounts).filter(function (h) {
          return mineIds.indexOf(h.account) >= 0;
        }));
      }
      var acc = document.getElementById("ex-accounts");
      if (acc) { B.table(acc, CFG.account_cols, accounts); }
      var all = document.getElementById("ex-all-holdings");
      if (all) { B.table(all, CFG.holding_cols, flatten(accounts)); }
      fillSelects(accounts);
      return accounts;
    }).catch(function (e) {
      ["ex-holdings", "ex-accounts", "ex-all-holdings"].forEach(function (id) {
        var c = document.getElementById(id);
        if (c) { B.fail(c, e); }
      });
    });
  }

  /* The answer in words: on a refusal, each failed check's reason (in Chinese the code's
     message; the English detail names serials and counts, so it goes to the tooltip). */
  function refusalText(j, msg) {
    var reasons = (j.refusals || []).map(function (r) { return zh ? r.reason_zh : r.message; });
    msg.title = (j.refusals || []).map(function (r) { return r.message; }).join("\n");
    return [j.message || ""].concat(reasons).filter(Boolean).join(zh ? "：" : ": ");
  }

  function submit(form) {
    var data = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") { return; }
      data[el.name] = (el.name === "vintage" || el.name === "compliance_year") ? parseInt(el.value, 10) : el.value;
    });
    var account = data.account;
    delete data.account;
    var msg = form.nextElementSibling;
    msg.textContent = "";
    msg.title = "";
    msg.classList.remove("error");
    fetch("/api/v1/exchange/accounts/" + encodeURIComponent(account) + "/" + form.dataset.action, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          msg.classList.add("error");
          msg.textContent = refusalText(j, msg);
          return;
        }
        msg.textContent = CFG.done.replace("{kind}", j.kind_name || "").replace("{quantity}", j.quantity)
          .replace("{unit}", j.unit_name || "");
        loadAccounts();
        var log = document.getElementById("ex-log");
        if (log) { B.load(log); }
      });
    }).catch(function (e) { msg.classList.add("error"); msg.textContent = String(e); });
  }

  /* The services' forms (bid, transfer steps, announce, close, settle, approve, pay): the
     fields named in the form's data-url template go into the path, the others into the JSON
     body; the answer or each refusal in words, then every table reloads. */
  function post(form) {
    var data = {};
    var url = form.dataset.url;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.value === "") { return; }
      if (el.dataset.rows) {  /* one object a line: comma-separated values of data-rows' keys */
        var keys = el.dataset.rows.split(",");
        data[el.name] = el.value.split("\n").map(function (l) { return l.trim(); })
          .filter(Boolean).map(function (l) {
            var parts = l.split(/\s*[,，]\s*/), o = {};
            keys.forEach(function (k, i) { o[k] = parts[i] || ""; });
            return o;
          });
        return;
      }
      var slot = "{" + el.name + "}";
      if (url.indexOf(slot) >= 0) { url = url.replace(slot, encodeURIComponent(el.value)); }
      else { data[el.name] = el.value; }
    });
    var msg = form.nextElementSibling;
    msg.textContent = "";
    msg.title = "";
    msg.classList.remove("error");
    fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify(data)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          msg.classList.add("error");
          msg.textContent = refusalText(j, msg);
          return;
        }
        var it = (j.items || [])[0] || {};
        msg.textContent = CFG.acted + (it.state_name ? "：" + it.state_name : "");
        loadAccounts();
        Array.prototype.forEach.call(document.querySelectorAll("section.card[data-src]"), function (c) {
          B.load(c);
        });
      });
    }).catch(function (e) { msg.classList.add("error"); msg.textContent = String(e); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.ex-post"), function (f) {
      f.addEventListener("submit", function (ev) { ev.preventDefault(); post(f); });
    });
    Array.prototype.forEach.call(document.querySelectorAll("form.ex-form"), function (f) {
      f.addEventListener("submit", function (ev) { ev.preventDefault(); submit(f); });
    });
    loadAccounts();
  });
})();
