// Adds a copy button to every code block of a lesson. Labels come from data attributes (translated).
(function () {
  "use strict";
  var prose = document.querySelector(".prose[data-copy-label]");
  if (!prose || !navigator.clipboard) { return; }
  var label = prose.getAttribute("data-copy-label");
  var done = prose.getAttribute("data-copied-label");
  prose.querySelectorAll("pre").forEach(function (pre) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "copy-button";
    button.textContent = label;
    button.addEventListener("click", function () {
      var code = pre.querySelector("code");
      navigator.clipboard.writeText(code ? code.innerText : pre.innerText).then(function () {
        button.textContent = done;
        setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
    pre.classList.add("has-copy");
    pre.appendChild(button);
  });
})();
