/* The police page's forms: each <form class="police-form" data-post="/api/v1/police/…"> is sent
   as JSON (lists from comma-separated fields, targets / team / findings from lines); on success
   the page reloads, on refusal the API's message (field, rule, value) is shown. */
(function () {
  "use strict";
  var B = window.bishui;
  function lines(v) { return v.split(/\r?\n/).map(function (s) { return s.trim(); }).filter(Boolean); }
  function pair(s) { var i = s.indexOf(","); return i < 0 ? [s, ""] : [s.slice(0, i).trim(), s.slice(i + 1).trim()]; }
  function payload(form) {
    var out = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name) { return; }
      var v = el.value;
      if (el.dataset.list) { out[el.name] = v.split(/[,，、\s]+/).filter(Boolean); }
      else if (el.dataset.targets) {
        out[el.name] = lines(v).map(function (s) { return /^[0-9A-Z]{18}$/.test(s) ? { uscc: s } : { site: s }; });
      } else if (el.dataset.team) {
        out[el.name] = lines(v).map(function (s) { var p = pair(s); return { name: p[0], agency: p[1] }; });
      } else if (el.dataset.findings) {
        out[el.name] = lines(v).map(function (s) { var p = pair(s); return { severity: p[0], description: p[1] }; });
      } else if (v !== "") { out[el.name] = v; }
    });
    return out;
  }
  document.addEventListener("DOMContentLoaded", function () {
    var status = document.getElementById("police-status");
    Array.prototype.forEach.call(document.querySelectorAll("form.police-form"), function (form) {
      form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        status.textContent = "";
        B.postJSON(form.dataset.post, payload(form)).then(function () { window.location.reload(); })
          .catch(function (e) { status.textContent = String(e.message || e); });
      });
    });
  });
})();
