// The mentor's review page: clicking a line of the code that counts opens a small box under that line; what the
// mentor writes there is added to the line comments field as "task:line: text", the form every browser can use.
(function () {
  "use strict";
  var form = document.getElementById("decision-form");
  var field = form && form.querySelector("textarea[name=line_comments]");
  var strings = document.getElementById("line-comment-strings");
  if (!field || !strings) { return; }
  var hint = form.querySelector("[data-line-comment-hint]");
  if (hint) { hint.hidden = false; }

  function say(name, line) { return strings.getAttribute("data-" + name).replace("{line}", line); }

  // The clicked line: climb to the child of <pre>, then back to the anchor that starts its line (id "<task>-L-<n>").
  function lineAnchor(target, pre) {
    var node = target;
    while (node && node.parentNode !== pre) { node = node.parentNode; }
    for (; node; node = node.previousSibling) {
      if (node.nodeType === 1 && node.tagName === "A" && /-L-\d+$/.test(node.id)) { return node; }
    }
    return null;
  }

  // Where a box or a note for a line goes: before the anchor of the next line, so it sits under the clicked one.
  function after(anchor) {
    for (var node = anchor.nextSibling; node; node = node.nextSibling) {
      if (node.nodeType === 1 && node.tagName === "A" && node.id) { return node; }
    }
    return null;
  }

  function closeBox() {
    var open = document.querySelector(".line-comment-box");
    if (open) { open.remove(); }
  }

  function addComment(task, line, text, pre, place) {
    var entry = task + ":" + line + ": " + text;
    field.value = field.value.replace(/\s+$/, "") + (field.value.trim() ? "\n" : "") + entry + "\n";
    var note = document.createElement("span");
    note.className = "line-comment-note";
    note.textContent = say("note", line) + " " + text;
    pre.insertBefore(note, place);
  }

  function openBox(task, line, pre, place) {
    closeBox();
    var box = document.createElement("span");
    box.className = "line-comment-box";
    var label = document.createElement("label");
    var input = document.createElement("input");
    input.type = "text";
    input.id = "line-comment-input";
    label.htmlFor = input.id;
    label.textContent = say("label", line);
    var add = document.createElement("button");
    add.type = "button";
    add.className = "button-small";
    add.textContent = say("add", line);
    var cancel = document.createElement("button");
    cancel.type = "button";
    cancel.className = "link-button";
    cancel.textContent = say("cancel", line);
    function submit() {
      var text = input.value.trim();
      if (text) { addComment(task, line, text, pre, box); }
      closeBox();
    }
    add.addEventListener("click", submit);
    cancel.addEventListener("click", closeBox);
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); submit(); }
      if (event.key === "Escape") { closeBox(); }
    });
    box.append(label, input, add, " ", cancel);
    box.addEventListener("click", function (event) { event.stopPropagation(); });
    pre.insertBefore(box, place);
    input.focus();
  }

  document.querySelectorAll("[data-line-comments]").forEach(function (code) {
    var task = code.getAttribute("data-line-comments");
    code.addEventListener("click", function (event) {
      var pre = code.querySelector("pre");
      var anchor = pre && lineAnchor(event.target, pre);
      if (!anchor) { return; }
      event.preventDefault();
      var line = anchor.id.match(/-L-(\d+)$/)[1];
      openBox(task, line, pre, after(anchor));
    });
  });
})();
