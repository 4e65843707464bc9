// llmpulse UI: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Whole table rows open their link, unless the click was on a link, a box or its label, or
  // text was selected. One listener on the document: rows added later (the live traces
  // table, daily.js) behave the same.
  function rowClicks() {
    document.addEventListener("click", function (ev) {
      var row = ev.target.closest && ev.target.closest("tr[data-href]");
      if (!row) { return; }
      if (ev.target.closest("a, input, label") || String(window.getSelection())) { return; }
      if (ev.metaKey || ev.ctrlKey) { window.open(row.dataset.href, "_blank"); return; }
      window.location.assign(row.dataset.href);
    });
  }

  // j/k (or arrow keys) move through the span tree on the trace page.
  function treeKeys() {
    var rows = Array.prototype.slice.call(document.querySelectorAll(".tree-row"));
    if (!rows.length) { return; }
    document.addEventListener("keydown", function (ev) {
      if (ev.target.closest("input, select, textarea")) { return; }
      var step = { j: 1, ArrowDown: 1, k: -1, ArrowUp: -1 }[ev.key];
      if (!step) { return; }
      var at = rows.findIndex(function (r) { return r.classList.contains("selected"); });
      var next = rows[Math.min(Math.max(at + step, 0), rows.length - 1)];
      if (next && next !== rows[at]) { ev.preventDefault(); window.location.assign(next.href); }
    });
  }

  // Empty form fields are left out of the query string, so URLs stay short and readable.
  function tidyForms() {
    var forms = document.querySelectorAll("form.filters");
    forms.forEach(function (form) {
      form.addEventListener("submit", function () {
        form.querySelectorAll("input, select").forEach(function (el) {
          if (!el.value && el.name) { el.disabled = true; }
        });
      });
    });
    // Coming back through the history cache must not leave fields disabled.
    window.addEventListener("pageshow", function () {
      document.querySelectorAll("form.filters [disabled]").forEach(function (el) {
        el.disabled = false;
      });
    });
  }

  // Chart points show their value in a small tooltip (the SVG <title> stays for no-JS).
  // Listening on the document also covers charts that a live dashboard redraws.
  function chartTips() {
    var tip = null;
    document.addEventListener("mouseover", function (ev) {
      var onChart = ev.target.closest && ev.target.closest("svg.linechart");
      var title = onChart && ev.target.tagName === "circle" && ev.target.querySelector("title");
      if (!title) { if (tip) { tip.hidden = true; } return; }
      if (!tip) {
        tip = document.createElement("div");
        tip.className = "chart-tip";
        document.body.appendChild(tip);
      }
      tip.textContent = title.textContent;
      tip.style.left = (ev.clientX + 12) + "px";
      tip.style.top = (ev.clientY - 28) + "px";
      tip.hidden = false;
    });
  }

  // A banner under the top bar when /readyz reports the server not ready (full disk, a
  // store that cannot commit, dead decode workers) or has warnings (a damaged log replayed).
  function serverStatus() {
    var box = document.getElementById("server-status");
    if (!box || !window.fetch) { return; }
    fetch("/readyz", { headers: { accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        var notes = (s.reasons || []).concat(s.warnings || []);
        if (!notes.length) { return; }
        box.className = "server-status " + (s.ready ? "warn" : "down");
        var head = document.createElement("strong");
        head.textContent = s.ready ? "Server warning" : "Server not ready";
        var list = document.createElement("ul");
        notes.forEach(function (n) {
          var item = document.createElement("li");
          item.textContent = n;
          list.appendChild(item);
        });
        box.replaceChildren(head, list);
        box.hidden = false;
      })
      .catch(function () { /* the page itself still works */ });
  }

  // The traces table's "tick every row" box (bulk annotation).
  function tickAll() {
    var all = document.getElementById("select-all");
    if (!all) { return; }
    all.addEventListener("change", function () {
      document.querySelectorAll("input.row-select").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    rowClicks();
    tickAll();
    treeKeys();
    tidyForms();
    chartTips();
    serverStatus();
  });
})();
