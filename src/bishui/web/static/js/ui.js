/* Shared helpers of bishui's pages: JSON fetches, tables with CSV / Excel export, charts with
   PNG export. A card `<section class="card" data-src="/api/…" data-items="rows"
   data-cols='[["key/path", "label", "fmt"], …]' data-name="file-name">` is filled from the API
   when the page loads (and again every data-refresh seconds if the card says data-live).
   No inline script anywhere: configuration travels in data- attributes and JSON blocks. */
(function () {
  "use strict";
  var body = document.body;
  var lang = body.dataset.lang || "zh";
  var i18nEl = document.getElementById("ui-i18n");
  var T = i18nEl ? JSON.parse(i18nEl.textContent) : {};
  var B = {};
  window.bishui = B;
  B.lang = lang;
  B.T = T;
  B.charts = {};

  B.csrf = function () {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  };

  B.getJSON = function (url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) {
          if (!r.ok) { var e = new Error(j.message || (url + " " + r.status)); e.status = r.status; throw e; }
          return j;
        });
      });
  };

  B.postJSON = function (url, data) {
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify(data || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.message || (url + " " + r.status)); e.status = r.status; throw e; }
        return j;
      });
    });
  };

  B.esc = function (s) {
    return String(s == null ? "—" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  };

  B.get = function (obj, path) {
    if (!path) { return obj; }
    return path.split("/").reduce(function (o, k) { return o == null ? undefined : o[k]; }, obj);
  };

  /* The plain value of a cell (what the exports carry). */
  function plain(row, col) {
    var v = B.get(row, col[0]);
    var fmt = col[2] || "";
    if (v == null) { return null; }
    var shown = window.bishuiDisplay && window.bishuiDisplay.plain(v, fmt, row);  // display.js
    if (shown !== undefined) { return shown; }
    if (fmt === "list") { return Array.isArray(v) ? v.join("、") : v; }
    if (fmt === "pct") { return typeof v === "number" ? Math.round(v * 1000) / 10 : v; }
    if (fmt === "bool") { return v ? (T.yes || "是") : (T.no || "否"); }
    if (fmt === "json") { return JSON.stringify(v); }
    if (fmt === "time") { return String(v).replace("T", " ").slice(0, 16); }
    if (typeof v === "object") { return JSON.stringify(v); }
    return v;
  }

  function cellHTML(row, col) {
    var v = plain(row, col);
    var fmt = col[2] || "";
    if (fmt === "aqi" && v != null) {
      var colour = row.colour || row.color || "#ccc";
      return '<i class="swatch" style="background:' + B.esc(colour) + '"></i>' + B.esc(v);
    }
    if (fmt === "task" && v != null) {  // a task id: its page (tasks.js opens the #id)
      return '<a href="/tasks#' + encodeURIComponent(v) + '">' + B.esc(v) + "</a>";
    }
    if (fmt === "class" && v != null) {
      return '<span class="klass k' + B.esc(row["class"]) + '">' + B.esc(v) + "</span>";
    }
    return B.esc(v);
  }

  function download(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }

  function csvCell(v) {
    if (v == null) { return ""; }
    var s = String(v);
    if (/^[=+\-@]/.test(s) && isNaN(Number(s))) { s = "'" + s; }  // never a formula
    return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
  }

  B.exportCSV = function (name, header, rows) {
    var lines = [header.map(csvCell).join(",")].concat(rows.map(function (r) { return r.map(csvCell).join(","); }));
    download(new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" }), name + ".csv");
  };

  B.exportXLSX = function (name, header, rows) {
    return fetch("/export.xlsx", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify({ name: name, header: header, rows: rows })
    }).then(function (r) {
      if (!r.ok) { throw new Error("export " + r.status); }
      return r.blob();
    }).then(function (blob) { download(blob, name + ".xlsx"); });
  };

  function toolbar(card) {
    var bar = card.querySelector(".tools");
    if (!bar) {
      bar = document.createElement("div");
      bar.className = "tools";
      var h = card.querySelector("h2");
      if (h) { h.after(bar); } else { card.prepend(bar); }
    }
    return bar;
  }

  function button(bar, label, cls, fn) {
    var b = bar.querySelector("." + cls);
    if (b) { return b; }
    b = document.createElement("button");
    b.type = "button";
    b.className = "small " + cls;
    b.textContent = label;
    b.addEventListener("click", fn);
    bar.appendChild(b);
    return b;
  }

  /* Render *rows* with *cols* into *card*; adds the export buttons once. */
  B.table = function (card, cols, rows, name) {
    var box = card.querySelector(".table-box") || card;
    var head = "<thead><tr>" + cols.map(function (c) { return "<th>" + B.esc(c[1]) + "</th>"; }).join("") + "</tr></thead>";
    var bodyRows = rows.length ? rows.map(function (r, i) {
      return '<tr data-row="' + i + '">' + cols.map(function (c) { return "<td>" + cellHTML(r, c) + "</td>"; }).join("") + "</tr>";
    }).join("") : '<tr><td colspan="' + cols.length + '" class="note">' + B.esc(T.empty || "无数据") + "</td></tr>";
    box.innerHTML = '<table class="data">' + head + "<tbody>" + bodyRows + "</tbody></table>";
    card.dataset.count = String(rows.length);
    card._rows = rows;
    var header = cols.map(function (c) { return c[1]; });
    var bar = toolbar(card);
    var file = name || card.dataset.name || "bishui-table";
    var data = function () { return (card._exportRows || card._rows || []).map(function (r) { return cols.map(function (c) { return plain(r, c); }); }); };
    button(bar, "CSV", "export-csv", function () { B.exportCSV(file, header, data()); });
    button(bar, "Excel", "export-xlsx", function () { B.exportXLSX(file, header, data()); });
  };

  B.plain = plain;

  B.fail = function (card, err) {
    var box = card.querySelector(".table-box") || card.querySelector(".chart") || card;
    var msg = err && err.status === 404 ? (T.unavailable || "暂无此数据") : (err && err.message) || String(err);
    box.innerHTML = '<p class="note unavailable">' + B.esc(msg) + "</p>";
  };

  /* Fill a data-src card; resolves with the JSON (or null when the API refused). */
  B.load = function (card) {
    var cols = JSON.parse(card.dataset.cols || "[]");
    return B.getJSON(card.dataset.src).then(function (j) {
      var rows = B.get(j, card.dataset.items || "items") || [];
      if (!Array.isArray(rows)) { rows = [rows]; }
      if (cols.length) { B.table(card, cols, rows); }
      return j;
    }).catch(function (e) { B.fail(card, e); return null; });
  };

  /* An ECharts chart in card's .chart element, with a PNG button. */
  B.chart = function (card, option, name) {
    var el = card.querySelector(".chart");
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
    if (option.animation === undefined) { option.animation = false; }  // steady pictures, PNGs
    var font = window.bishuiDisplay && window.bishuiDisplay.fontFamily;
    if (!option.textStyle && font) { option.textStyle = { fontFamily: font }; }  // Ⅴ on a canvas
    chart.setOption(option, true);
    B.charts[name] = chart;
    el.dataset.ready = "1";
    button(toolbar(card), "PNG", "export-png", function () {
      var a = document.createElement("a");
      a.href = chart.getDataURL({ type: "png", pixelRatio: 2, backgroundColor: "#fff" });
      a.download = name + ".png";
      document.body.appendChild(a);
      a.click();
      a.remove();
    });
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  };

  B.refreshMs = Math.max(5, parseInt(body.dataset.refresh || "60", 10)) * 1000;

  B.start = function () {
    var cards = Array.prototype.slice.call(document.querySelectorAll("[data-src]"));
    cards.forEach(function (c) {
      B.load(c);
      if (c.hasAttribute("data-live")) { setInterval(function () { B.load(c); }, B.refreshMs); }
    });
  };

  document.addEventListener("DOMContentLoaded", B.start);
})();
