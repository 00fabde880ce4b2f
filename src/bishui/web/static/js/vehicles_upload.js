/* A station's file (JSON Lines) sent to POST /api/v1/vehicles/uploads in one request: inspection
   records, and lines with "kind": "selfcheck" (daily equipment self-checks) as "selfchecks". The
   API checks everything before it stores anything; a refused file lists the row in error (its
   line in the file: the API numbers the self-checks on after the records) with the field's name
   (its code in the cell's title). */
(function () {
  "use strict";
  var B = window.bishui;
  var U = JSON.parse(document.getElementById("page-config").textContent);
  var MAX = 500;
  function fieldName(code) {
    if (code == null || code === "—") { return { text: "—", code: "" }; }
    var c = String(code).replace(/^body\./, "");
    var parts = c.split(".");
    var name = U.fields[parts[0]];
    if (!name) { return { text: c, code: c }; }
    return { text: parts.length > 1 ? name + " · " + parts.slice(1).join(".") : name, code: c };
  }
  document.addEventListener("DOMContentLoaded", function () {
    var file = document.getElementById("veh-upload-file");
    var status = document.getElementById("veh-upload-status");
    var box = document.getElementById("veh-upload-errors");
    var body = box.querySelector("tbody");
    function show(errors) {
      body.innerHTML = errors.map(function (e) {
        var f = fieldName(e.field);
        return "<tr><td>" + B.esc(e.row) + "</td><td title=\"" + B.esc(f.code) + "\">" +
          B.esc(f.text) + "</td><td>" + B.esc(e.rule) + "</td><td>" + B.esc(e.value) + "</td></tr>";
      }).join("");
      box.hidden = errors.length === 0;
    }
    function post(url, payload, lines) {
      return fetch(url, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
        body: JSON.stringify(payload)
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (r.ok) { return j; }
          // the API's row is the record's position; the file's line is shown
          var row = j.row != null ? lines[j.row - 1] : "—";
          show([{ row: row, field: j.field || "—", rule: j.message || j.rule || r.status, value: j.value }]);
          return null;
        });
      });
    }
    document.getElementById("veh-upload-send").addEventListener("click", function () {
      show([]); status.textContent = "";
      var f = file.files && file.files[0];
      if (!f) { return; }
      f.text().then(function (text) {
        var rows = [], lines = [], checks = [], checkLines = [], errors = [];
        text.split(/\r?\n/).forEach(function (line, i) {
          if (!line.trim()) { return; }
          try {
            var d = JSON.parse(line);
            if (d && typeof d === "object" && !Array.isArray(d)) {
              var kind = d.kind; delete d.kind;
              if (kind === "selfcheck") { checks.push(d); checkLines.push(i + 1); }
              else { rows.push(d); lines.push(i + 1); }
            } else { errors.push({ row: i + 1, field: "—", rule: U.bad_json, value: line.slice(0, 40) }); }
          } catch (e) { errors.push({ row: i + 1, field: "—", rule: U.bad_json, value: line.slice(0, 40) }); }
        });
        if (!errors.length && !rows.length && !checks.length) { errors.push({ row: "—", field: "—", rule: U.empty, value: "" }); }
        if (rows.length > MAX || checks.length > MAX) { errors.push({ row: "—", field: "—", rule: U.too_many, value: Math.max(rows.length, checks.length) }); }
        if (errors.length) { show(errors); return null; }
        return post("/api/v1/vehicles/uploads", { inspections: rows, selfchecks: checks },
                    lines.concat(checkLines)).then(function (j) {
          if (!j) { return; }
          var done = [];
          if (rows.length) { done.push(U.stored + j.inspections); }
          if (checks.length) { done.push(U.stored_checks + j.selfchecks); }
          status.textContent = done.join(" · ");
        });
      }).catch(function (e) { status.textContent = String(e.message || e); });
    });
  });
})();
