// The submission page: check each number's check digit as it is typed (the server checks
// again), and send each form only once, so a double tap cannot submit twice.
(function () {
  "use strict";
  // The hints come translated from the page (#mynumber-hints), in the person's language.
  var hints = document.getElementById("mynumber-hints");
  var text = hints ? hints.dataset : { ok: "", bad: "", short: "", chars: "" };

  function normalize(value) {
    return value.normalize("NFKC").replace(/[\s\-‐‑‒–—―−ー－]/g, "");
  }
  function checkDigit(first11) {
    var total = 0;
    for (var n = 1; n <= 11; n++) {
      var digit = parseInt(first11.charAt(11 - n), 10);
      total += digit * (n <= 6 ? n + 1 : n - 5);
    }
    var remainder = total % 11;
    return remainder <= 1 ? 0 : 11 - remainder;
  }
  document.querySelectorAll("[data-mynumber]").forEach(function (input) {
    var out = document.getElementById(input.id + "-check");
    input.addEventListener("input", function () {
      var value = normalize(input.value);
      var message = "", valid = null;
      if (value === "") { message = ""; }
      else if (!/^[0-9]+$/.test(value)) { message = text.chars; valid = false; }
      else if (value.length < 12) { message = text.short.replace("{n}", String(12 - value.length)); }
      else if (value.length > 12) { message = text.bad; valid = false; }
      else { valid = checkDigit(value.slice(0, 11)) === parseInt(value.charAt(11), 10); message = valid ? text.ok : text.bad; }
      out.textContent = message;
      out.className = "check-result" + (valid === true ? " ok" : valid === false ? " bad" : "");
      if (valid === false) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    });
  });
  document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
      form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-disabled", "true"); b.classList.add("busy"); });
    });
  });
  var errors = document.getElementById("form-errors");
  if (errors) errors.focus();
})();
