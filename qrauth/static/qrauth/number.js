/* qrauth: the number field of the approve page says, in the page's own
 * words (data-qrauth-invalid), what it wants, where the browser would say
 * "Please match the requested format." No inline script (works under a
 * strict CSP). */
(function () {
  "use strict";

  var field = document.querySelector("[data-qrauth-invalid]");
  if (!field) return;
  var wanted = field.getAttribute("data-qrauth-invalid");

  field.addEventListener("invalid", function () {
    field.setCustomValidity(wanted);
  });
  field.addEventListener("input", function () {
    field.setCustomValidity("");
  });
})();
