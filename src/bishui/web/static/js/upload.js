/* The upload page: preview a data file (every row checked, nothing stored), then commit it
   (all rows or none). The file travels as the request body to POST /api/v1/uploads. */
(function () {
  "use strict";
  var B = window.bishui;
  var cfg = JSON.parse(document.getElementById("page-config").textContent);
  var T = JSON.parse(document.getElementById("upload-text").textContent);
  var input = document.getElementById("upload-file");
  var previewBtn = document.getElementById("upload-preview");
  var commitBtn = document.getElementById("upload-commit");
  var status = document.getElementById("upload-status");
  var errBox = document.getElementById("upload-errors");
  var errBody = document.querySelector("#upload-error-table tbody");
  var prevBox = document.getElementById("upload-preview-box");
  var logCard = document.getElementById("upload-log");

  function send(commit, file) {
    var f = file || (input.files && input.files[0]);
    if (!f) { return Promise.resolve(null); }
    if (f.size > cfg.limit) {
      status.textContent = T.too_big + "（" + f.size + " > " + cfg.limit + " B）";
      return Promise.resolve(null);
    }
    var url = "/api/v1/uploads?name=" + encodeURIComponent(f.name) + "&commit=" + (commit ? "true" : "false");
    return fetch(url, {
      method: "POST", credentials: "same-origin", body: f,
      headers: { "Content-Type": "application/octet-stream", Accept: "application/json", "X-CSRF-Token": B.csrf() }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { j._status = r.status; return j; });
    });
  }

  function showErrors(errors) {
    errBody.innerHTML = (errors || []).map(function (e) {
      return '<tr><td>' + B.esc(e.row) + "</td><td>" + B.esc(cfg.fields[e.field] || e.field) +
        "</td><td>" + B.esc(B.lang === "zh" ? (e.rule_zh || e.rule) : e.rule) + "</td><td>" + B.esc(e.value) + "</td></tr>";
    }).join("");
    errBox.hidden = !(errors && errors.length);
  }

  function showPreview(rows) {
    prevBox.hidden = !(rows && rows.length);
    if (!rows || !rows.length) { return; }
    rows.forEach(function (r) { r.period = cfg.periods[r.period] || r.period; });
    B.table(prevBox, [["site", cfg.fields.site], ["parameter", cfg.fields.parameter], ["time", cfg.fields.time, "time"],
      ["value", cfg.fields.value], ["flag", cfg.fields.flag], ["period", cfg.fields.period]], rows, "upload-preview");
  }

  function fileError(j) {  // a file-level refusal: one error of the whole file
    if (j.field) {
      showErrors([{ row: j.row == null ? "—" : j.row, field: j.field, rule: j.rule, rule_zh: j.message, value: j.value }]);
    }
    status.textContent = j.message || String(j._status);
  }

  previewBtn.addEventListener("click", function () {
    commitBtn.disabled = true;
    showErrors([]); showPreview([]);
    send(false).then(function (j) {
      if (!j) { return; }
      if (j._status !== 200) { fileError(j); return; }
      showErrors(j.errors);
      showPreview(j.preview);
      status.textContent = T.ok_rows + j.rows + (j.errors.length ? "；" + T.nothing : "");
      commitBtn.disabled = j.errors.length > 0;
    });
  });

  commitBtn.addEventListener("click", function () {
    commitBtn.disabled = true;
    send(true).then(function (j) {
      if (!j) { return; }
      if (j._status === 201) {
        showErrors([]);
        status.textContent = T.stored + " " + j.rows + " · " + j.source + (j.duplicate_of_previous ? " " + T.duplicate : "");
      } else if (j.errors) {
        showErrors(j.errors);
        status.textContent = T.nothing;
      } else {
        fileError(j);
      }
      loadLog();
    });
  });

  /* A value entered by hand travels as a one-row CSV file: the same checks, the same log. */
  function csvCell(v) { v = String(v == null ? "" : v); return /[",\r\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v; }
  document.getElementById("manual-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var f = ev.target;
    var names = Array.prototype.map.call(f.querySelectorAll("input[name]"), function (i) { return i.name; });
    var csv = names.join(",") + "\r\n" + names.map(function (n) { return csvCell(f[n].value.trim()); }).join(",") + "\r\n";
    var stamp = new Date().toISOString().replace(/[^0-9]/g, "").slice(0, 14);
    var file = new File(["\ufeff" + csv], "manual-" + stamp + ".csv", { type: "text/csv" });
    showErrors([]); showPreview([]);
    send(true, file).then(function (j) {
      if (!j) { return; }
      if (j._status === 201) { status.textContent = T.stored + " " + j.rows + " · " + j.source; f.reset(); }
      else if (j.errors) { showErrors(j.errors); status.textContent = T.nothing; }
      else { fileError(j); }
      loadLog();
    });
  });

  input.addEventListener("change", function () { commitBtn.disabled = true; status.textContent = ""; });

  function loadLog() {
    var cols = JSON.parse(logCard.dataset.cols);
    B.getJSON("/api/v1/uploads").then(function (j) {
      var rows = (j.items || []).map(function (r) { r.outcome_name = cfg.outcomes[r.outcome] || r.outcome; return r; });
      B.table(logCard, cols, rows, "upload-log");
    }).catch(function (e) { B.fail(logCard, e); });
  }
  loadLog();
})();
