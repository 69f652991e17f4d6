// Every page: the language menu switches on change (its button shows only without JS), and on a phone the
// navigation folds behind a "Menu" button (without JS it stays open, wrapped).
(function () {
  "use strict";
  var switcher = document.getElementById("language-switcher");
  if (switcher) {
    var select = switcher.querySelector("select");
    if (select) { select.addEventListener("change", function () { switcher.submit(); }); }
  }
  var toggle = document.querySelector(".menu-toggle");
  var header = document.querySelector(".site-header");
  if (toggle && header) {
    header.classList.add("has-menu");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    });
  }
})();
