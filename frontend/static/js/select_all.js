// A header checkbox that checks or clears every checkbox of its name on the page.
(function () {
  "use strict";
  document.querySelectorAll("[data-select-all]").forEach(function (toggle) {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="' + toggle.getAttribute("data-select-all") + '"]');
    var sync = function () {
      var checked = Array.prototype.filter.call(boxes, function (box) { return box.checked; }).length;
      toggle.checked = boxes.length > 0 && checked === boxes.length;
      toggle.indeterminate = checked > 0 && checked < boxes.length;
    };
    toggle.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = toggle.checked; });
    });
    boxes.forEach(function (box) { box.addEventListener("change", sync); });
    sync();
  });
})();
