// Upload progress for large files (the filings upload, frontend/templates/filings/
// _upload_form.html). Progressive enhancement: without this script the form posts as usual.
// With it, the form is sent by XMLHttpRequest so its <progress> shows how much has been
// sent; the server answers JSON {location} when the file was taken (the browser then opens
// that page), or the page again with its error, whose <main> replaces this one. The texts
// come from the page (data-upload-*, translated there): the script holds none of its own.
(function () {
  "use strict";
  if (!window.XMLHttpRequest || !window.FormData || !window.DOMParser) return;

  function fill(template, values) {
    return (template || "").replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? values[key] : match;
    });
  }

  function replaceMain(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var fresh = doc.getElementById("main");
    var main = document.getElementById("main");
    if (!fresh || !main) return false;
    main.replaceWith(document.importNode(fresh, true));
    if (doc.title) document.title = doc.title;
    bindAll(document.getElementById("main"));
    var alert = document.querySelector("#main [role=alert]");
    if (alert) {
      alert.setAttribute("tabindex", "-1");
      alert.focus();
    }
    return true;
  }

  function bind(form) {
    var box = document.getElementById(form.getAttribute("data-upload-progress"));
    if (!box) return;
    var bar = box.querySelector("progress");
    var text = box.querySelector("[data-upload-text]");
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      // No file chosen: the server says so, as without the script.
      if (!input || !input.files || !input.files.length) return;
      event.preventDefault();
      if (form.dataset.sending) return;
      form.dataset.sending = "1";
      var buttons = form.querySelectorAll("button[type=submit]");
      buttons.forEach(function (b) { b.disabled = true; });
      function failed() {
        text.textContent = box.dataset.uploadFailed;
        delete form.dataset.sending;
        buttons.forEach(function (b) { b.disabled = false; });
      }
      var stale = document.getElementById("upload-error");
      if (stale) stale.hidden = true; // the last file's refusal is not this one's
      box.hidden = false;
      bar.value = 0;
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action || window.location.href);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.floor((e.loaded * 100) / e.total);
        bar.value = percent;
        text.textContent = fill(box.dataset.uploadSending, { percent: percent + "%" });
      });
      xhr.upload.addEventListener("load", function () {
        bar.removeAttribute("value"); // indeterminate while the server reads the file
        text.textContent = box.dataset.uploadChecking;
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status === 200 && type.indexOf("application/json") === 0) {
          var body = JSON.parse(xhr.responseText);
          window.location.assign(body.location);
        } else if (!replaceMain(xhr.responseText)) {
          failed();
        }
      });
      xhr.addEventListener("error", failed);
      xhr.addEventListener("abort", failed);
      xhr.send(new FormData(form));
    });
  }

  function bindAll(root) {
    root.querySelectorAll("form[data-upload-progress]").forEach(bind);
  }

  bindAll(document);
})();
