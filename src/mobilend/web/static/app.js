// Small behaviours of the pages, kept in a file because the Content-Security-Policy runs
// scripts from this site only (no inline handlers).
"use strict";

// A money-moving form is sent once: its submit button is disabled as it goes.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form instanceof HTMLFormElement && form.hasAttribute("data-disable-on-submit")) {
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
  }
});

// Typing an amount chooses the option it belongs to.
document.addEventListener("focusin", (event) => {
  const input = event.target;
  if (input instanceof HTMLElement && input.hasAttribute("data-selects-choice")) {
    const label = input.closest("label");
    const radio = label ? label.querySelector("input[type=radio]") : null;
    if (radio) radio.checked = true;
  }
});
