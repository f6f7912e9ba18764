// The progress of work the worker does (an optimiser run, a big import or approval), on the
// page that follows it (templates/macros/progress.html). It asks the page's progress address
// every few seconds and shows the answer; when the work's status changes (it has started, or
// it is over) it reloads the page, which then shows the result. A script served by the app,
// not a <meta> refresh: that would reload the page under whoever is reading it. Without
// JavaScript, the page's "Refresh this page" link does the same by hand.
(function () {
  "use strict";
  var box = document.querySelector("[data-progress-url]");
  if (!box || !window.fetch) { return; }
  var bar = box.querySelector("progress");
  var text = box.querySelector("[aria-live]");
  var note = box.querySelector(".app-progress__updates");
  var manual = box.querySelector(".app-progress__manual");
  if (note) { note.hidden = false; }
  if (manual) { manual.hidden = true; }

  function poll() {
    fetch(box.getAttribute("data-progress-url"), {
      headers: {"Accept": "application/json"}, credentials: "same-origin"
    })
      .then(function (response) {
        // Signed out meanwhile (sent to the sign-in page): reloading shows that.
        if (response.redirected) { window.location.reload(); return null; }
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        if (data === null) { return; }
        if (data.status !== box.getAttribute("data-status")) {
          window.location.reload();
          return;
        }
        bar.value = data.progress;
        bar.textContent = Math.round(data.progress * 100) + "%";
        // Only a new sentence is written, so that screen readers announce it once.
        if (text.textContent.trim() !== data.text) { text.textContent = data.text; }
        window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1500);
})();
