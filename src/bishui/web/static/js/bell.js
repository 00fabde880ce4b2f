/* The bell in the page header: the caller's unread in-app messages (/api/v1/inbox), polled
   every data-refresh seconds; opening it lists the latest and marks them seen. Standalone:
   pages without ui.js carry it too. */
(function () {
  "use strict";
  var bell = document.getElementById("bell");
  if (!bell) { return; }
  var count = document.getElementById("bell-count");
  var list = document.getElementById("bell-list");
  var i18n = document.getElementById("ui-i18n");
  var T = i18n ? JSON.parse(i18n.textContent) : {};
  var every = parseInt(document.body.dataset.refresh || "60", 10) * 1000;
  var items = [];

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  function refresh() {
    return fetch("/api/v1/inbox?limit=10", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) { return; }
        items = j.items;
        count.hidden = !j.unread;
        count.textContent = j.unread > 99 ? "99+" : String(j.unread);
      }).catch(function () { /* keep the last count */ });
  }

  function show() {
    list.innerHTML = items.length ? items.map(function (n) {
      var link = n.task_id ? "/tasks#" + encodeURIComponent(n.task_id) : "/alerts";
      return '<a class="' + (n.unread ? "unread" : "") + '" href="' + link + '"><b>' + esc(n.subject) + "</b><small>" +
        esc(String(n.created).replace("T", " ").slice(0, 16)) + "</small></a>";
    }).join("") : '<span class="note">' + esc(T["bell.none"] || "暂无通知") + "</span>";
    list.hidden = false;
    bell.setAttribute("aria-expanded", "true");
    if (items.length && items[0].unread) {
      fetch("/api/v1/inbox/seen", { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
        body: JSON.stringify({ upto: items[0].id }) }).then(refresh);
    }
  }

  bell.addEventListener("click", function (ev) {
    ev.stopPropagation();
    if (list.hidden) { show(); } else { list.hidden = true; bell.setAttribute("aria-expanded", "false"); }
  });
  document.addEventListener("click", function (ev) {
    if (!list.hidden && !list.contains(ev.target)) { list.hidden = true; bell.setAttribute("aria-expanded", "false"); }
  });
  refresh();
  setInterval(refresh, every);
})();
