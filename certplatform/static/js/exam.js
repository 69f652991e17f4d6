// Exam pages: live grading status (polling), the attempt's countdown and its warnings, the hand-in question,
// and Tab in the plain code textarea (static/editor/editor.js replaces it with CodeMirror when it loads).
(function () {
  "use strict";
  var names = document.getElementById("status-names");
  function label(status) {
    var key = "data-" + status.replace(/_/g, "-");
    return names && names.hasAttribute(key) ? names.getAttribute(key) : status;
  }
  function text(el, value) { if (el) { el.textContent = value; } }

  function render(article, data) {
    var status = article.querySelector('[data-field="status"]');
    text(status, label(data.status));
    if (status) { status.className = "status status-" + data.status; }
    text(article.querySelector('[data-field="score"]'), data.score === null ? "" : "· " + Math.round(data.score * 100) + "%");
    text(article.querySelector('[data-field="message"]'), data.message);
    text(article.querySelector('[data-field="queue"]'), data.queue || "");
    var table = article.querySelector('[data-field="tests"]');
    if (table) {
      table.textContent = "";
      data.tests.forEach(function (t) {
        var row = table.insertRow();
        row.className = t.passed ? "test-pass" : "test-fail";
        text(row.insertCell(), t.passed ? "\u2713" : "\u2717");
        var code = document.createElement("code");
        code.textContent = t.name;
        row.insertCell().appendChild(code);
        text(row.insertCell(), t.message);
      });
    }
    var output = article.querySelector('[data-field="output"]');
    if (output && (data.stdout || data.stderr)) {
      output.hidden = false;
      text(article.querySelector('[data-field="stdout"]'), data.stdout);
      text(article.querySelector('[data-field="stderr"]'), data.stderr);
    }
    if (data.final) {
      var bar = article.querySelector("progress.working");
      if (bar) { bar.remove(); }
    }
  }

  // A pooled grade takes about as long as its tests, often under a second: the first looks come soon after the
  // submission and each waits a quarter longer than the one before, up to 2 s, so a result shows at most about a
  // fifth of its wait later than it was stored (a fixed 2 s could add 2 s to a 1 s grade), for about eleven
  // requests in the first eight seconds instead of four.
  var FIRST_LOOK_MS = 250, MAX_LOOK_MS = 2000;
  function poll(article, delay) {
    var url = article.getAttribute("data-poll");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (data) {
        render(article, data);
        if (!data.final) {
          setTimeout(function () { poll(article, Math.min(delay * 1.25, MAX_LOOK_MS)); }, delay);
        }
      })
      .catch(function () { setTimeout(function () { poll(article, MAX_LOOK_MS); }, 5000); });
  }
  document.querySelectorAll("[data-poll]").forEach(function (article) { poll(article, FIRST_LOOK_MS); });

  // The banner shown while the grading image is being built: its percentage follows /healthz, and it goes
  // away once the build is no longer under way.
  var banner = document.querySelector("[data-sandbox-poll]");
  function watchSandbox() {
    fetch(banner.getAttribute("data-sandbox-poll"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (health) {
        var build = health.sandbox_build;
        if (!build || build.state !== "building") { banner.remove(); return; }
        text(banner.querySelector('[data-field="sandbox-percent"]'), build.percent + "%");
        setTimeout(watchSandbox, 3000);
      })
      .catch(function () { setTimeout(watchSandbox, 10000); });
  }
  if (banner) { setTimeout(watchSandbox, 3000); }

  // The countdown; a warning is announced (role=alert) at 10 and at 1 minute left. At the end the page reloads:
  // the server hands the attempt in as it stands, whatever this script does.
  var clock = document.querySelector(".countdown[data-deadline]");
  var warning = document.querySelector(".timer-warning");
  function warn(level) {
    if (!warning || warning.getAttribute("data-shown") === level) { return; }
    warning.setAttribute("data-shown", level);
    warning.className = "timer-warning timer-warning-" + level;
    warning.textContent = warning.getAttribute("data-warn-" + level);
    warning.hidden = false;
  }
  if (clock) {
    var deadline = Date.parse(clock.getAttribute("data-deadline") + (clock.getAttribute("data-deadline").match(/[zZ]|[+-]\d\d:?\d\d$/) ? "" : "Z"));
    var tick = function () {
      var left = Math.max(0, Math.floor((deadline - Date.now()) / 1000));
      if (left === 0) {
        clock.textContent = clock.getAttribute("data-expired-label");
        warn("0");
        setTimeout(function () { window.location.reload(); }, 3000);
        return;
      }
      if (left <= 60) { warn("1"); } else if (left <= 600) { warn("10"); }
      var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      clock.textContent = (h ? h + ":" : "") + String(m).padStart(2, "0") + ":" + String(s).padStart(2, "0");
      setTimeout(tick, 1000);
    };
    tick();
  }

  var handIn = document.querySelector("form.hand-in[data-confirm]");
  if (handIn) {
    handIn.addEventListener("submit", function (e) {
      if (!window.confirm(handIn.getAttribute("data-confirm"))) { e.preventDefault(); return; }
      handIn.elements.confirmed.value = "yes";  // answered here: the server need not ask again
    });
  }

  var editor = document.querySelector("textarea.code-editor");
  if (editor) {
    editor.addEventListener("keydown", function (e) {
      if (e.key !== "Tab" || editor.hidden || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) { return; }
      e.preventDefault();
      var start = editor.selectionStart, end = editor.selectionEnd;
      editor.value = editor.value.slice(0, start) + "    " + editor.value.slice(end);
      editor.selectionStart = editor.selectionEnd = start + 4;
    });
  }
})();
