// Live progress of background work (config.progress, frontend/templates/progress_bar.html).
// Every element with data-progress-url polls its job's JSON status and fills its <progress>
// and its [data-progress-text] from the page's own translated templates (data-progress-*:
// placeholders {done}, {total}, {eta}); the script holds no text of its own. When a job
// ends (done or failed) the page reloads and the server shows the result. The state lives
// on the server: a reload mid-job shows the same figures.
(function () {
  "use strict";
  var jobs = Array.prototype.slice.call(document.querySelectorAll("[data-progress-url]"));
  if (!jobs.length) return;
  var INTERVAL = 2000;
  var MAX_FAILURES = 5;
  var lang = document.documentElement.lang || undefined;

  function number(value) {
    return Number(value).toLocaleString(lang);
  }

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : match;
    });
  }

  // The same choice as config.progress.progress_text.
  function text(job, figures) {
    var data = job.dataset;
    var minutesFrom = Number(data.progressMinutesFrom || 120);
    var eta = figures.eta_seconds;
    var values = { done: number(figures.done), total: number(figures.total) };
    if (figures.status === "queued") return fill(data.progressQueued, values);
    if (figures.status === "running" && figures.total && figures.done >= figures.total) {
      return fill(data.progressFinishing, values);
    }
    if (eta === null || eta === undefined) return fill(data.progressPending, values);
    if (eta >= minutesFrom) {
      values.eta = number(Math.ceil(eta / 60));
      return fill(data.progressMinutes, values);
    }
    values.eta = number(eta);
    return fill(data.progressSeconds, values);
  }

  function show(job, figures) {
    var bar = job.querySelector("progress");
    if (bar) {
      bar.value = figures.percent;
      bar.textContent = figures.percent + "%";
    }
    var line = job.querySelector("[data-progress-text]");
    if (line) line.textContent = text(job, figures);
  }

  function poll(job) {
    return fetch(job.getAttribute("data-progress-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (figures) {
        job.failures = 0;
        show(job, figures);
        return figures.status === "done" || figures.status === "failed";
      })
      .catch(function () {
        job.failures = (job.failures || 0) + 1;
        return false;
      });
  }

  function tick() {
    var live = jobs.filter(function (job) { return (job.failures || 0) < MAX_FAILURES; });
    if (!live.length) return;
    Promise.all(live.map(poll)).then(function (ended) {
      if (ended.some(Boolean)) {
        window.location.reload();
      } else {
        window.setTimeout(tick, INTERVAL);
      }
    });
  }

  window.setTimeout(tick, INTERVAL);
})();
