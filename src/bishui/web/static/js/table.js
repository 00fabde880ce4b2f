/* Sorting, search and paging for every table bishui.table (ui.js) draws.

   Wraps bishui.table: the rows given are kept whole (card._tv); the table shows the rows that
   match the search box, in the order of the header last clicked (click again: reversed), one
   page at a time (PAGE rows). Click handlers of the pages keep working: card._rows is the page
   shown, so a row's data-row indexes it; the CSV / Excel exports take every matching row
   (card._exportRows). A column's header carries the unit of its figures (display.js). */
(function () {
  "use strict";
  var B = window.bishui;
  if (!B || !B.table) { return; }
  var D = window.bishuiDisplay;
  var draw = B.table;
  var PAGE = 20;
  var zh = (B.lang || "zh") === "zh";
  var TXT = zh
    ? { search: "搜索…", prev: "上一页", next: "下一页", page: function (p, n, t) { return "第 " + p + " / " + n + " 页，共 " + t + " 条"; }, sort: "点击排序" }
    : { search: "Search…", prev: "Previous", next: "Next", page: function (p, n, t) { return "page " + p + " of " + n + ", " + t + " rows"; }, sort: "Click to sort" };

  function withUnits(cols) {
    return cols.map(function (c) {
      var u = D ? D.headerUnit(c[2]) : "";
      if (!u || String(c[1]).indexOf(u) >= 0) { return c; }
      return [c[0], c[1] + " " + u].concat(c.slice(2));
    });
  }

  function text(row, col) {
    var v = B.plain(row, col);
    return v == null ? "" : String(v);
  }

  function compare(a, b) {
    var na = Number(a), nb = Number(b);
    if (a !== "" && b !== "" && !isNaN(na) && !isNaN(nb)) { return na - nb; }
    if (a === "") { return b === "" ? 0 : 1; }
    if (b === "") { return -1; }
    return a.localeCompare(b, zh ? "zh-Hans-CN" : "en");
  }

  function view(st) {
    var q = st.q.trim().toLowerCase();
    var rows = st.rows;
    if (q) {
      rows = rows.filter(function (r) {
        return st.cols.some(function (c) { return text(r, c).toLowerCase().indexOf(q) >= 0; });
      });
    }
    if (st.sort != null && st.cols[st.sort]) {
      var col = st.cols[st.sort];
      rows = rows.map(function (r, i) { return [text(r, col), i, r]; })
        .sort(function (x, y) { return compare(x[0], y[0]) * st.dir || x[1] - y[1]; })
        .map(function (x) { return x[2]; });
    }
    return rows;
  }

  function render(card) {
    var st = card._tv;
    if (st.server) { return renderServer(card, st); }
    var rows = view(st);
    var pages = Math.max(1, Math.ceil(rows.length / PAGE));
    st.page = Math.min(st.page, pages - 1);
    var shown = rows.slice(st.page * PAGE, (st.page + 1) * PAGE);
    draw(card, st.cols, shown, st.name);
    card._exportRows = rows;
    card.dataset.total = String(st.rows.length);
    card.dataset.matching = String(rows.length);
    var box = card.querySelector(".table-box") || card;
    box.querySelectorAll("thead th").forEach(function (th, i) {
      th.classList.add("sortable");
      th.title = TXT.sort;
      th.setAttribute("aria-sort", st.sort === i ? (st.dir > 0 ? "ascending" : "descending") : "none");
      if (st.sort === i) { th.textContent += st.dir > 0 ? " ▲" : " ▼"; }
      th.addEventListener("click", function () {
        if (st.sort === i) { st.dir = -st.dir; } else { st.sort = i; st.dir = 1; }
        st.page = 0;
        render(card);
      });
    });
    searchBox(card, st);
    pager(card, st, pages, rows.length);
  }

  function renderServer(card, st) {
    draw(card, st.cols, st.rows, st.name);
    card._exportRows = st.rows;
    card.dataset.total = String(st.total);
    card.dataset.matching = String(st.total);
    card.dataset.page = String(st.page);
    var pages = Math.max(1, Math.ceil(st.total / PAGE));
    pager(card, st, pages, st.total);
  }

  function searchBox(card, st) {
    var bar = card.querySelector(".tools");
    if (!bar || bar.querySelector(".table-search")) { return; }
    var input = document.createElement("input");
    input.type = "search";
    input.className = "table-search";
    input.placeholder = TXT.search;
    input.setAttribute("aria-label", TXT.search);
    input.value = st.q;
    input.addEventListener("input", function () { st.q = input.value; st.page = 0; render(card); });
    bar.prepend(input);
  }

  function pager(card, st, pages, total) {
    var box = card.querySelector(".table-box") || card;
    var el = card.querySelector(".pager");
    if (!el) {
      el = document.createElement("div");
      el.className = "pager";
      box.after(el);
    }
    el.hidden = pages <= 1;
    el.innerHTML = "";
    if (pages <= 1) { return; }
    var prev = document.createElement("button"), next = document.createElement("button");
    prev.type = next.type = "button";
    prev.className = "small pager-prev"; next.className = "small pager-next";
    prev.textContent = TXT.prev; next.textContent = TXT.next;
    prev.disabled = st.page === 0; next.disabled = st.page >= pages - 1;
    var go = function (delta) { st.page += delta; if (st.server) { B.load(card); } else { render(card); } };
    prev.addEventListener("click", function () { go(-1); });
    next.addEventListener("click", function () { go(1); });
    var info = document.createElement("span");
    info.className = "note pager-info";
    info.textContent = TXT.page(st.page + 1, pages, total);
    el.appendChild(prev); el.appendChild(info); el.appendChild(next);
  }

  /* A card with data-paged pages on the server: the API's limit / offset, its total; the rows
     of one page are fetched at a time (no search or sorting across pages, so none offered). */
  var load = B.load;
  B.load = function (card) {
    if (!card.hasAttribute("data-paged")) { return load(card); }
    var st = card._tv || (card._tv = { sort: null, dir: 1, q: "", page: 0, server: true });
    var cols = JSON.parse(card.dataset.cols || "[]");
    var src = card.dataset.src;
    var url = src + (src.indexOf("?") < 0 ? "?" : "&") + "limit=" + PAGE + "&offset=" + st.page * PAGE;
    return B.getJSON(url).then(function (j) {
      var rows = B.get(j, card.dataset.items || "items") || [];
      st.total = j.total || rows.length;
      st.cols = withUnits(cols);
      st.rows = rows;
      st.name = card.dataset.name;
      render(card);
      return j;
    }).catch(function (e) { B.fail(card, e); return null; });
  };

  B.table = function (card, cols, rows, name) {
    var st = card._tv || (card._tv = { sort: null, dir: 1, q: "", page: 0 });
    st.cols = withUnits(cols);
    st.rows = rows || [];
    st.name = name;
    render(card);
  };
})();
