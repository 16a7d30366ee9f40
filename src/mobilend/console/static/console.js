// The console's page behaviour (no inline scripts anywhere: the CSP forbids them).
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  // Every HTMX request carries the CSRF token the server checks.
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.content; }
  });
  // The funder change form posts to the chosen funder's address.
  var funder = document.getElementById("funder-code");
  var form = document.getElementById("funder-change");
  if (funder && form) {
    var aim = function () {
      form.action = funder.dataset.actionTemplate.replace("CODE", encodeURIComponent(funder.value));
    };
    funder.addEventListener("change", aim);
    aim();
  }
})();
