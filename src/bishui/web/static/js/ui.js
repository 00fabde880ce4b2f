/* Shared helpers of bishui's pages: JSON fetches, tables with CSV / Excel export, charts with
   PNG export (each headed by the title, place, period, units, source and the notice). A card `<section class="card" data-src="/api/…" data-items="rows"
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

  /* The lines above an exported table or chart (bishui.export_header.header_rows, whose words
     the page carries in <script id="export-header">): title; place and period; units; source;
     the synthetic-data notice. info: {title, place, period, units}. */
  var hEl = document.getElementById("export-header");
  B.exportHeader = hEl ? JSON.parse(hEl.textContent) : {};
  B.headerLines = function (info) {
    var H = B.exportHeader;
    var place = info.place == null ? (H.default_place || "") : info.place;
    var lines = [info.title || ""];
    var where = [];
    if (place) { where.push(H.place + place); }
    if (info.period) { where.push(H.period + info.period); }
    if (where.length) { lines.push(where.join(H.sep)); }
    if (info.units) { lines.push(H.units + info.units); }
    if (H.source_name) { lines.push(H.source + H.source_name); }
    if (H.synthetic) { lines.push(H.notice); }
    return lines;
  };

  /* A card's title, place, period (data-place, data-period) and the units of its columns. */
  function cardInfo(card, cols) {
    var h = card.querySelector("h2");
    var D = window.bishuiDisplay;
    var units = card.dataset.units || "";
    if (!units && cols && D) {
      var seen = [];
      cols.forEach(function (c) {
        var m = /^num:([^@].*)$/.exec(c[2] || "");
        var u = m ? D.unit(m[1]) : "";
        if (u && seen.indexOf(u) < 0) { seen.push(u); }
      });
      units = seen.join(B.lang === "zh" ? "、" : ", ");
    }
    return {
      title: h ? h.textContent.trim() : "",
      place: card.dataset.place == null ? null : card.dataset.place,
      period: card.dataset.period || "",
      units: units
    };
  }
  B.cardInfo = cardInfo;

  /* A table as CSV or Excel: the server writes it (POST /export.{fmt}, formulas neutralised),
     the header rows first. */
  B.exportTable = function (fmt, name, header, rows, info) {
    info = info || {};
    var place = info.place == null ? (B.exportHeader.default_place || "") : info.place;
    return fetch("/export." + fmt, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": B.csrf() },
      body: JSON.stringify({ name: name, header: header, rows: rows, title: info.title || null,
                             place: place || null, period: info.period || null, units: info.units || null })
    }).then(function (r) {
      if (!r.ok) { throw new Error("export " + r.status); }
      return r.blob();
    }).then(function (blob) { download(blob, name + "." + fmt); });
  };
  B.exportCSV = function (name, header, rows, info) { return B.exportTable("csv", name, header, rows, info); };
  B.exportXLSX = function (name, header, rows, info) { return B.exportTable("xlsx", name, header, rows, info); };

  /* A chart as PNG: ECharts' picture (white, 2× pixels) under the header lines, composed on a
     canvas. Resolves with {lines, width, height, chartWidth, chartHeight} (kept in
     B.lastExport for the tests). */
  B.exportPNG = function (chart, name, info) {
    var ratio = 2;
    var lines = B.headerLines(info);
    var src = chart.getDataURL({ type: "png", pixelRatio: ratio, backgroundColor: "#fff" });
    var font = (window.bishuiDisplay && window.bishuiDisplay.fontFamily) || "sans-serif";
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onerror = reject;
      img.onload = function () {
        var c = document.createElement("canvas");
        var ctx = c.getContext("2d");
        var pad = 10 * ratio, width = img.width, max = width - 2 * pad;
        var notice = B.exportHeader.synthetic ? lines.length - 1 : -1;
        function fontOf(i) { return (i === 0 ? "bold " + 15 * ratio : 11 * ratio) + "px " + font; }
        function lead(i) { return Math.round((i === 0 ? 15 : 11) * ratio * 1.45); }
        var rows = [];  // the lines wrapped to the picture's width, character by character
        lines.forEach(function (text, i) {
          ctx.font = fontOf(i);
          var cur = "";
          Array.from(text).forEach(function (ch) {
            if (cur && ctx.measureText(cur + ch).width > max) { rows.push([i, cur]); cur = ""; }
            cur += ch;
          });
          rows.push([i, cur]);
        });
        var head = pad + rows.reduce(function (h, r) { return h + lead(r[0]); }, 0) + pad / 2;
        c.width = width;
        c.height = head + img.height;
        ctx.fillStyle = "#fff";
        ctx.fillRect(0, 0, c.width, c.height);
        ctx.textBaseline = "top";
        var y = pad;
        rows.forEach(function (r) {
          ctx.font = fontOf(r[0]);
          ctx.fillStyle = r[0] === notice ? "#c00000" : "#111";
          ctx.fillText(r[1], pad, y);
          y += lead(r[0]);
        });
        ctx.drawImage(img, 0, head);
        c.toBlob(function (blob) {
          B.lastExport = { lines: lines, width: c.width, height: c.height, chartWidth: img.width, chartHeight: img.height };
          download(blob, name + ".png");
          resolve(B.lastExport);
        }, "image/png");
      };
      img.src = src;
    });
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
    button(bar, "CSV", "export-csv", function () { B.exportCSV(file, header, data(), cardInfo(card, cols)); });
    button(bar, "Excel", "export-xlsx", function () { B.exportXLSX(file, header, data(), cardInfo(card, cols)); });
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

  /* An ECharts chart in card's .chart element, with a PNG button. info: {place, period,
     units} of the picture (the place defaults to the page's, the title is the card's). */
  B.chart = function (card, option, name, info) {
    var el = card.querySelector(".chart");
    var chart = echarts.getInstanceByDom(el) || echarts.init(el, null, { renderer: "canvas" });
    if (option.animation === undefined) { option.animation = false; }  // steady pictures, PNGs
    var font = window.bishuiDisplay && window.bishuiDisplay.fontFamily;
    if (!option.textStyle && font) { option.textStyle = { fontFamily: font }; }  // Ⅴ on a canvas
    chart.setOption(option, true);
    B.charts[name] = chart;
    el.dataset.ready = "1";
    card._chartExport = { chart: chart, name: name, info: info || {} };  // the newest drawing
    button(toolbar(card), "PNG", "export-png", function () {
      var ex = card._chartExport, base = cardInfo(card, null), extra = ex.info;
      B.exportPNG(ex.chart, ex.name, {
        title: base.title,
        place: extra.place != null ? extra.place : base.place,
        period: extra.period || base.period,
        units: extra.units || base.units
      });
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
