// llmpulse UI, the daily workflow (issue 12): drag a chart to zoom, live refresh of the traces
// table and the dashboard, keyboard navigation in tables. Every page works without this file.
(function () {
  "use strict";

  var LIVE_MS = 3000;  // how often a live page polls
  var LIVE_LIMIT = "500";  // rows asked for per poll (the newest first)

  // "2024-05-01T12:00:03.250": UTC to the millisecond, as the time-range inputs show it.
  function utcText(ms) { return new Date(ms).toISOString().slice(0, 23); }

  function go(params) {
    var url = new URL(window.location.href);
    ["window", "cursor", "since"].forEach(function (k) { url.searchParams.delete(k); });
    Object.keys(params).forEach(function (k) { url.searchParams.set(k, params[k]); });
    window.location.assign(url.toString());
  }

  // Drag across a time chart: the page reloads with start/end set to the dragged span.
  function zoomable(svg) {
    if (svg.dataset.zoom) { return; }
    svg.dataset.zoom = "1";
    var t0 = Date.parse(svg.dataset.tLeft), t1 = Date.parse(svg.dataset.tRight);
    var x0 = Number(svg.dataset.xLeft), x1 = Number(svg.dataset.xRight);
    if (!(t1 > t0) || !(x1 > x0)) { return; }
    var from = null, band = null, dragged = false;
    function xOf(ev) {
      var pt = svg.createSVGPoint();
      pt.x = ev.clientX; pt.y = ev.clientY;
      var x = pt.matrixTransform(svg.getScreenCTM().inverse()).x;
      return Math.min(Math.max(x, x0), x1);
    }
    function timeOf(x) { return t0 + (x - x0) / (x1 - x0) * (t1 - t0); }
    svg.addEventListener("mousedown", function (ev) {
      if (ev.button !== 0) { return; }
      from = xOf(ev);
      dragged = false;
      ev.preventDefault();  // no text selection while dragging
    });
    window.addEventListener("mousemove", function (ev) {
      if (from === null) { return; }
      var x = xOf(ev);
      if (Math.abs(x - from) < 4) { return; }
      dragged = true;
      if (!band) {
        band = document.createElementNS("http://www.w3.org/2000/svg", "rect");
        band.setAttribute("class", "zoom-band");
        band.setAttribute("y", "0");
        band.setAttribute("height", String(svg.viewBox.baseVal.height));
        svg.appendChild(band);
      }
      band.setAttribute("x", String(Math.min(x, from)));
      band.setAttribute("width", String(Math.abs(x - from)));
    });
    window.addEventListener("mouseup", function (ev) {
      if (from === null) { return; }
      var x = xOf(ev), start = from;
      from = null;
      if (!dragged) { return; }
      var a = timeOf(Math.min(start, x)), b = timeOf(Math.max(start, x));
      go({ start: utcText(Math.floor(a)), end: utcText(Math.ceil(b)) });
    });
    // A drag that ends on a point must not also follow the point's link.
    svg.addEventListener("click", function (ev) {
      if (dragged) { ev.preventDefault(); ev.stopPropagation(); dragged = false; }
    }, true);
  }

  function charts(root) { root.querySelectorAll("svg.linechart").forEach(zoomable); }

  function fetchDoc(url) {
    return fetch(url.toString(), { headers: { accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) {
        return html === null ? null : new DOMParser().parseFromString(html, "text/html");
      });
  }

  function openRow(row) {
    var href = row.dataset.href || (row.querySelector("a[href]") || {}).href;
    if (href) { window.location.assign(href); }
  }

  // The traces table: rows newer than the newest shown go on top; what the reader was looking
  // at stays where it was on the screen (unless they are at the very top, to watch rows come).
  function pollTable() {
    var table = document.getElementById("traces");
    var url = new URL(window.location.href);
    ["cursor", "live"].forEach(function (k) { url.searchParams.delete(k); });
    url.searchParams.set("limit", LIVE_LIMIT);
    if (table && table.dataset.newest) { url.searchParams.set("since", table.dataset.newest); }
    return fetchDoc(url).then(function (doc) {
      var fresh = doc && doc.getElementById("traces");
      if (!fresh) { return; }
      if (!table) { window.location.reload(); return; }
      var body = table.tBodies[0];
      var seen = {};
      Array.prototype.forEach.call(body.rows, function (r) { seen[r.dataset.href] = true; });
      var added = Array.prototype.filter.call(fresh.tBodies[0].rows, function (r) {
        return !seen[r.dataset.href];
      });
      if (!added.length) { return; }
      // The browser's own scroll anchoring may move the page as well: one mechanism only.
      document.documentElement.style.overflowAnchor = "none";
      var anchor = body.rows[0];
      var before = anchor ? anchor.getBoundingClientRect().top : 0;
      var atTop = window.scrollY === 0;
      added.forEach(function (r) {
        var row = document.importNode(r, true);
        row.classList.add("new-row");  // app.js opens it on a click, as the others
        body.insertBefore(row, anchor);
      });
      if (anchor && !atTop) {
        window.scrollBy(0, anchor.getBoundingClientRect().top - before);
      }
      table.dataset.newest = fresh.dataset.newest || table.dataset.newest;
      var count = document.querySelector("#match-count strong");
      if (count) { count.textContent = String(Number(count.textContent) + added.length); }
    });
  }

  // The dashboard: the charts are redrawn from the same URL (the window follows new data).
  function pollDashboard() {
    var url = new URL(window.location.href);
    url.searchParams.delete("live");
    return fetchDoc(url).then(function (doc) {
      if (!doc) { return; }
      ["window-facts", "range-resolved"].forEach(function (id) {
        var old = document.getElementById(id), now = doc.getElementById(id);
        if (old && now) { old.replaceWith(now); }
      });
      document.querySelectorAll("figure.dash-chart").forEach(function (fig) {
        var now = doc.getElementById(fig.id);
        if (now) { fig.replaceWith(now); charts(now); }
      });
    });
  }

  function live() {
    var toggle = document.getElementById("live-toggle");
    if (!toggle || !window.fetch) { return; }
    var poll = toggle.dataset.live === "dashboard" ? pollDashboard : pollTable;
    var timer = null, busy = false;
    function tick() {
      if (busy) { return; }
      busy = true;
      poll().catch(function () { /* try again next tick */ })
        .then(function () { busy = false; });
    }
    function apply() {
      var url = new URL(window.location.href);
      if (toggle.checked) { url.searchParams.set("live", "1"); } else { url.searchParams.delete("live"); }
      window.history.replaceState(null, "", url.toString());
      if (timer) { window.clearInterval(timer); timer = null; }
      if (toggle.checked) { timer = window.setInterval(tick, LIVE_MS); }
    }
    toggle.checked = new URL(window.location.href).searchParams.get("live") === "1";
    toggle.addEventListener("change", apply);
    apply();
  }

  // j/k move the selection through a table's rows, enter opens it, esc clears it; on a trace
  // page (whose span tree has its own j/k) esc goes back to the list.
  function tableKeys() {
    document.addEventListener("keydown", function (ev) {
      if (ev.metaKey || ev.ctrlKey || ev.altKey) { return; }
      if (ev.target.closest && ev.target.closest("input, select, textarea, button")) { return; }
      var onTrace = document.querySelector(".tree-row") !== null;
      if (onTrace) {
        if (ev.key === "Escape") { ev.preventDefault(); back(); }
        return;
      }
      var table = Array.prototype.find.call(document.querySelectorAll("table.grid"), function (t) {
        return t.tBodies.length && t.tBodies[0].querySelector("a[href]");
      });
      if (!table) { return; }
      var rows = Array.prototype.slice.call(table.tBodies[0].rows);
      var at = rows.findIndex(function (r) { return r.classList.contains("kb-selected"); });
      if (ev.key === "j" || ev.key === "k") {
        ev.preventDefault();
        var next = at < 0 ? 0 : Math.min(Math.max(at + (ev.key === "j" ? 1 : -1), 0), rows.length - 1);
        if (at >= 0) { rows[at].classList.remove("kb-selected"); rows[at].removeAttribute("aria-selected"); }
        rows[next].classList.add("kb-selected");
        rows[next].setAttribute("aria-selected", "true");
        rows[next].scrollIntoView({ block: "nearest" });
      } else if (ev.key === "Enter" && at >= 0) {
        ev.preventDefault();
        openRow(rows[at]);
      } else if (ev.key === "Escape" && at >= 0) {
        rows[at].classList.remove("kb-selected");
        rows[at].removeAttribute("aria-selected");
      }
    });
  }

  function back() {
    var ref = document.referrer;
    if (ref && new URL(ref).origin === window.location.origin && window.history.length > 1) {
      window.history.back();
      return;
    }
    var list = document.querySelector(".crumbs a:nth-of-type(2)");
    window.location.assign(list ? list.href : "/ui/projects");
  }

  document.addEventListener("DOMContentLoaded", function () {
    charts(document);
    live();
    tableKeys();
  });
})();
