/* mobilend borrower app: small progressive enhancements. Every page works without them;
   no inline scripts or styles anywhere, so a strict Content-Security-Policy holds. */
(function () {
  "use strict";

  /* A resend button waits out the cool-down the server told us about. */
  function countDown(button) {
    var left = parseInt(button.getAttribute("data-wait") || "0", 10);
    if (!(left > 0)) { return; }
    var label = button.getAttribute("data-label") || button.textContent;
    var pattern = button.getAttribute("data-wait-text") || "{s}";
    button.disabled = true;
    function tick() {
      if (left <= 0) {
        button.disabled = false;
        button.textContent = label;
        return;
      }
      button.textContent = pattern.replace("{s}", String(left));
      left -= 1;
      window.setTimeout(tick, 1000);
    }
    tick();
  }

  /* Forms that move money or sign: one tap sends once. */
  function sendOnce(form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      if (button) { window.setTimeout(function () { button.disabled = true; }, 0); }
    });
  }

  /* Typing into an option's own field chooses that option. */
  function selectsOption(input) {
    input.addEventListener("focus", function () {
      var radio = input.closest("label") && input.closest("label").querySelector("input[type=radio]");
      if (radio) { radio.checked = true; }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-wait]"), countDown);
    Array.prototype.forEach.call(document.querySelectorAll("form[data-once]"), sendOnce);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-selects-option]"), selectsOption);
  });
})();

/* Pages that still mark their forms and options the earlier way. */
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form instanceof HTMLFormElement && form.hasAttribute("data-disable-on-submit")) {
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; }
  }
});
document.addEventListener("focusin", function (event) {
  var input = event.target;
  if (input instanceof HTMLElement && input.hasAttribute("data-selects-choice")) {
    var label = input.closest("label");
    var radio = label ? label.querySelector("input[type=radio]") : null;
    if (radio) { radio.checked = true; }
  }
});
