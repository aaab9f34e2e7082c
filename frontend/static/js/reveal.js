// Hide a revealed number after a few seconds: replace it with the mask and drop it from the
// DOM, so it cannot be read off the screen or from the page later.
(function () {
  "use strict";
  var box = document.querySelector("[data-reveal-seconds]");
  if (!box) return;
  var left = parseInt(box.getAttribute("data-reveal-seconds"), 10) || 30;
  var number = document.getElementById("revealed-number");
  var countdown = document.getElementById("reveal-countdown");
  var timer = setInterval(function () {
    left -= 1;
    if (countdown) countdown.textContent = countdown.textContent.replace(/\d+/, String(Math.max(left, 0)));
    if (left <= 0) {
      clearInterval(timer);
      number.textContent = box.getAttribute("data-mask");
      number.classList.remove("revealed");
      number.classList.add("masked");
      if (countdown) countdown.hidden = true;
    }
  }, 1000);
})();
