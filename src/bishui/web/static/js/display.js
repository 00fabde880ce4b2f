/* Display rules of every page (bishui.web.display, read from <script id="display-rules">):
   codes shown by their names, figures rounded as published (GB/T 8170 half-even on the written
   decimal) with their units. ui.js asks D.plain(value, fmt, row) for a column's fmt:

     name:<table>   a code (or a list of codes) by its name: name:task_state, name:region …
     num:<code>     a figure of <code> (an HJ 212 code, an air key, AQI) to its decimals
     num:@<field>   the same, the code read from the row's <field> (a "value" beside "parameter")
     src:@<field>   a pollution-source reading, to its HJ 212-2017 Appendix B data-type decimals
     d<N>           a figure to N decimals (a published statistic: d1 percentages, d2 indices)
     assignee       team:420882 → the county's team, a person by name
     items          {code: value} as "name value; …" (permitted quantities, concentrations)
     audit          an audit payload in words (its keys and coded values named)
     path:<table>   a dotted key in words, segment by segment (a statement's evidence)

   A code not in its table is shown as it is (a new code is visible, never hidden). */
(function () {
  "use strict";
  var el = document.getElementById("display-rules");
  var R = el ? JSON.parse(el.textContent) : { names: {}, digits: {}, units: {} };
  var N = R.names || {};
  var lang = document.body ? document.body.dataset.lang || "zh" : "zh";
  var D = { rules: R };
  window.bishuiDisplay = D;

  /* Charts draw on a canvas, which takes no CSS: give ECharts the page's font list with the
     Roman-numeral face first (ui.js reads bishui.fontFamily), and load that face now, since a
     canvas never asks for it. */
  D.fontFamily = '"bishui-roman", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif';
  if (document.fonts && document.fonts.load) { document.fonts.load('12px "bishui-roman"', "Ⅴ").catch(function () {}); }

  D.name = function (table, code) {
    if (code == null || code === "") { return code; }
    var t = N[table] || {};
    if (Array.isArray(code)) { return code.map(function (c) { return D.name(table, c); }).join("、"); }
    var k = String(code);
    return Object.prototype.hasOwnProperty.call(t, k) ? t[k] : k;
  };

  D.digits = function (code) {
    if (code == null) { return null; }
    var d = R.digits || {};
    if (Object.prototype.hasOwnProperty.call(d, code)) { return d[code]; }
    var key = String(code).split("_")[0];
    return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : null;
  };

  D.unit = function (code) {
    var u = R.units || {};
    return (code != null && u[code]) || (code != null && u[String(code).split("_")[0]]) || "";
  };

  /* GB/T 8170 round half to even of the number as written (its shortest decimal form). */
  D.round = function (v, digits) {
    var x = typeof v === "number" ? v : Number(v);
    if (v === null || v === "" || !isFinite(x)) { return null; }
    var s = String(typeof v === "string" ? v.trim() : x);
    if (/e/i.test(s)) { return x.toFixed(digits); }
    var neg = s.charAt(0) === "-";
    if (neg || s.charAt(0) === "+") { s = s.slice(1); }
    var parts = s.split(".");
    var ip = parts[0] || "0", fp = parts[1] || "";
    if (fp.length <= digits) {
      fp = fp + new Array(digits - fp.length + 1).join("0");
      return (neg && Number(ip + fp) !== 0 ? "-" : "") + ip + (digits ? "." + fp : "");
    }
    var keep = ip + fp.slice(0, digits);          // the digits kept, as an integer string
    var rest = fp.slice(digits);
    var first = rest.charAt(0), tail = rest.slice(1).replace(/0+$/, "");
    var up = first > "5" || (first === "5" && (tail !== "" || Number(keep.charAt(keep.length - 1)) % 2 === 1));
    var digitsArr = keep.split("").map(Number);
    if (up) {
      var i = digitsArr.length - 1;
      while (i >= 0) { if (digitsArr[i] === 9) { digitsArr[i] = 0; i -= 1; } else { digitsArr[i] += 1; break; } }
      if (i < 0) { digitsArr.unshift(1); }
    }
    var all = digitsArr.join("");
    var intLen = all.length - digits;
    var out = all.slice(0, intLen).replace(/^0+(?=\d)/, "") + (digits ? "." + all.slice(intLen) : "");
    if (out.charAt(0) === ".") { out = "0" + out; }
    return (neg && Number(out) !== 0 ? "-" : "") + out;
  };

  D.num = function (v, code) {
    var d = D.digits(code);
    if (d == null) { d = 2; }
    return D.round(v, d);
  };

  D.assignee = function (a) {
    if (!a) { return a; }
    var m = /^team:(.+)$/.exec(String(a));
    if (!m) { return a; }
    var region = D.name("region", m[1]);
    return lang === "zh" ? region + "执法队" : region + " team";
  };

  D.items = function (obj, table) {
    if (!obj || typeof obj !== "object") { return obj; }
    return Object.keys(obj).map(function (k) {
      var v = obj[k];
      return D.name(table || "pollutant", k) + " " + (typeof v === "number" || /^-?\d/.test(String(v)) ? v : JSON.stringify(v));
    }).join("；");
  };

  /* Coded values inside an audit payload, by the key they sit under. */
  var PAYLOAD_TABLES = { kind: "disposal", severity: "severity", state: "task_state", subject_kind: "subject_kind" };

  /* An instant with its offset (the phone's fix time, UTC) in Beijing time, to the minute. */
  function beijing(v) {
    var d = new Date(v);
    if (isNaN(d.getTime())) { return v; }
    return d.toLocaleString("sv-SE", { timeZone: "Asia/Shanghai", hour12: false }).slice(0, 16);
  }

  /* A file (or other record) inside a payload: its name and hash, else its id. */
  function thing(x) {
    if (x == null || typeof x !== "object") { return x; }
    var n = x.name || x.id;
    if (n == null) { return Object.keys(x).map(function (k) { return D.name("audit_field", k) + " " + x[k]; }).join("，"); }
    return n + (x.sha256 ? "（SHA-256 " + x.sha256 + "）" : "");
  }

  D.audit = function (p) {
    if (p == null || typeof p !== "object") { return p; }
    return Object.keys(p).filter(function (k) { return p[k] != null && p[k] !== "" && !(Array.isArray(p[k]) && !p[k].length); }).map(function (k) {
      var v = p[k];
      if (k === "assignee") { v = D.assignee(v); }
      else if (k === "kind" && N.assignee_kind && N.assignee_kind[v]) { v = D.name("assignee_kind", v); }
      else if (PAYLOAD_TABLES[k]) { v = D.name(PAYLOAD_TABLES[k], v); }
      else if (k === "accepted" || typeof v === "boolean") { v = v ? (lang === "zh" ? "是" : "yes") : (lang === "zh" ? "否" : "no"); }
      else if (k === "deadline" || k === "due" || k === "at") { v = String(v).replace("T", " ").slice(0, 16); }
      else if (k === "fixed_at") { v = beijing(v); }
      else if (Array.isArray(v)) { v = v.map(thing).join("、"); }
      else if (typeof v === "object") { v = thing(v); }
      return D.name("audit_field", k) + "：" + v;
    }).join("；");
  };

  /* A dotted key ("inputs.points.WS09.indicators.w01018.value") in words, segment by segment:
     the table's name, else a pollutant's or a region's, else the segment as it is. */
  D.path = function (key, table) {
    if (key == null) { return key; }
    return String(key).split(".").map(function (seg) {
      var t = N[table || "evidence"] || {};
      if (Object.prototype.hasOwnProperty.call(t, seg)) { return t[seg]; }
      if ((N.pollutant || {})[seg]) { return N.pollutant[seg]; }
      if ((N.region || {})[seg]) { return N.region[seg]; }
      return seg;
    }).join(" · ");
  };

  /* The plain text of a cell for *fmt*; undefined when fmt is not a display format. */
  D.plain = function (v, fmt, row) {
    if (!fmt) { return undefined; }
    var i = fmt.indexOf(":");
    var kind = i < 0 ? fmt : fmt.slice(0, i), arg = i < 0 ? "" : fmt.slice(i + 1);
    if (kind === "name") { return D.name(arg, v); }
    if (kind === "num") {
      var code = arg.charAt(0) === "@" ? (row || {})[arg.slice(1)] : arg;
      return D.num(v, code);
    }
    if (kind === "src") {  // a pollution-source reading: HJ 212 Appendix B data type decimals
      var sc = arg.charAt(0) === "@" ? (row || {})[arg.slice(1)] : arg;
      var sd = (R.source_digits || {})[sc];
      return D.round(v, sd == null ? 2 : sd);
    }
    if (/^d\d$/.test(kind)) { return D.round(v, Number(kind.slice(1))); }
    if (kind === "assignee") { return D.assignee(v); }
    if (kind === "path") { return D.path(v, arg); }
    if (kind === "items") { return D.items(v, arg || "pollutant"); }
    if (kind === "audit") { return D.audit(v); }
    return undefined;
  };

  /* The unit a num: column's header carries (empty when the code has none or is read per row). */
  D.headerUnit = function (fmt) {
    if (!fmt || fmt.indexOf("num:") !== 0 || fmt.charAt(4) === "@") { return ""; }
    return D.unit(fmt.slice(4));
  };
})();
