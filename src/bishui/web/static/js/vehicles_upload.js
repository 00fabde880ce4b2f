/* A station's inspection-record file (JSON Lines) sent to POST /api/v1/vehicles/uploads: all or
   nothing; a refused file lists the row in error (its line in the file). */
(function () {
  "use strict";
  var B = window.bishui;
  var U = JSON.parse(document.getElementById("page-config").textContent);
  var MAX = 500;
  document.addEventListener("DOMContentLoaded", function () {
    var file = document.getElementById("veh-upload-file");
    var status = document.getElementById("veh-upload-status");
    var box = document.getElementById("veh-upload-errors");
    var body = box.querySelector("tbody");
    function show(errors) {
      body.innerHTML = errors.map(function (e) {
        return "<tr><td>" + B.esc(e.row) + "</td><td>" + B.esc(e.field) + "</td><td>" +
          B.esc(e.rule) + "</td><td>" + B.esc(e.value) + "</td></tr>";
      }).join("");
      box.hidden = errors.length === 0;
    }
    document.getElementById("veh-upload-send").addEventListener("click", function () {
      show([]); status.textContent = "";
      var f = file.files && file.files[0];
      if (!f) { return; }
      f.text().then(function (text) {
        var rows = [], lines = [], errors = [];
        text.split(/\r?\n/).forEach(function (line, i) {
          if (!line.trim()) { return; }
          try {
            var d = JSON.parse(line);
            if (d && typeof d === "object" && !Array.isArray(d)) {
              delete d.kind; rows.push(d); lines.push(i + 1);
            } else { errors.push({ row: i + 1, field: "—", rule: U.bad_json, value: line.slice(0, 40) }); }
          } catch (e) { errors.push({ row: i + 1, field: "—", rule: U.bad_json, value: line.slice(0, 40) }); }
        });
        if (!errors.length && !rows.length) { errors.push({ row: "—", field: "—", rule: U.empty, value: "" }); }
        if (rows.length > MAX) { errors.push({ row: "—", field: "—", rule: U.too_many, value: rows.length }); }
        if (errors.length) { show(errors); return null; }
        return fetch("/api/v1/vehicles/uploads", {
          method: "POST", credentials: "same-origin",
          headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
          body: JSON.stringify({ inspections: rows })
        }).then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (j) {
            if (r.ok) { status.textContent = U.stored + j.inspections; return; }
            // the API's row is the record's position; the file's line is shown
            var row = j.row != null ? lines[j.row - 1] : "—";
            show([{ row: row, field: j.field || "—", rule: j.message || j.rule || r.status, value: j.value }]);
          });
        });
      }).catch(function (e) { status.textContent = String(e.message || e); });
    });
  });
})();
