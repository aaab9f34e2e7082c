// Live progress of background work: poll each job's status and reload the page when one
// finishes, so its download link appears. The state lives on the server: a reload loses
// nothing.
(function () {
  "use strict";
  var bars = document.querySelectorAll("[data-job-status]");
  if (!bars.length) return;
  function poll() {
    bars.forEach(function (bar) {
      fetch(bar.getAttribute("data-job-status"), { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (job) {
          bar.value = job.percent;
          var text = bar.parentNode.querySelector("[data-job-text]");
          if (text) text.textContent = job.firms_done + " / " + job.firms_total;
          if (job.status === "done" || job.status === "failed") window.location.reload();
        })
        .catch(function () {});
    });
  }
  setInterval(poll, 2000);
})();
