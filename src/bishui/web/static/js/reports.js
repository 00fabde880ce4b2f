/* The reports page's generation form (administrators and analysts): checks the period's form
   for the chosen kind, calls POST /api/v1/reports with the page's CSRF token, shows a refusal
   in the page's language and reloads the list with the new report marked (?new=<id>). */
(function () {
  "use strict";
  var form = document.getElementById("report-form");
  if (!form) { return; }
  var T = JSON.parse(document.getElementById("reports-text").textContent);
  var kind = document.getElementById("report-kind");
  var period = document.getElementById("report-period");
  var status = document.getElementById("report-status");
  var submit = document.getElementById("report-submit");
  var FORMS = { day: /^\d{4}-\d{2}-\d{2}$/, month: /^\d{4}-\d{2}$/, year: /^\d{4}$/ };

  function chosen() { return kind.options[kind.selectedIndex]; }

  /* The period is of the kind's form and a real day, month or year in 2000–2100 (what the
     server checks first); a period the server still refuses has not ended or begun. */
  function valid(f, v) {
    if (!FORMS[f].test(v)) { return false; }
    var y = Number(v.slice(0, 4));
    if (y < 2000 || y > 2100) { return false; }
    if (f === "year") { return true; }
    var m = Number(v.slice(5, 7));
    if (m < 1 || m > 12) { return false; }
    if (f === "month") { return true; }
    var d = new Date(v + "T00:00:00Z");
    return !isNaN(d.getTime()) && d.toISOString().slice(0, 10) === v;
  }

  function say(text, bad) {
    status.textContent = text;
    status.classList.toggle("error", !!bad);
  }

  kind.addEventListener("change", function () {
    var o = chosen();
    period.value = o.dataset.default;
    period.placeholder = o.dataset.default;
    say("");
  });

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var o = chosen();
    var value = period.value.trim();
    var f = o.dataset.form;
    if (!valid(f, value)) {
      say(T["form_" + f].replace("{example}", o.dataset.default), true);
      return;
    }
    var meta = document.querySelector('meta[name="csrf-token"]');
    submit.disabled = true;
    say(T.generating);
    fetch("/api/v1/reports", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json",
                 "X-CSRF-Token": meta ? meta.getAttribute("content") : "" },
      body: JSON.stringify({ kind: o.value, period: value })
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (r.ok && j.report) {
          say(T.generated + "：" + j.report.id);
          window.location.assign("/reports?new=" + encodeURIComponent(j.report.id));
          return;
        }
        submit.disabled = false;
        if (r.status === 403) { say(T.forbidden, true); return; }
        if (r.status === 422) { say(T["form_" + f].replace("{example}", o.dataset.default), true); return; }
        if (r.status === 400 && j.field === "period") { say(T.not_closed, true); return; }
        say(T.failed.replace("{message}", j.message || String(r.status)), true);
      });
    }).catch(function (e) {
      submit.disabled = false;
      say(T.failed.replace("{message}", String(e && e.message || e)), true);
    });
  });
})();
