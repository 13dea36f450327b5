// ingestion console: live run progress. Written for this project (Apache-2.0), no dependencies.
// An element with data-live="URL" is refreshed from URL (a server-rendered fragment) every
// second until the fragment says data-state="done", without reloading the page. It stops when
// the session has ended (the fragment's request is sent to the sign-in page).
(function () {
  "use strict";
  var box = document.querySelector("[data-live]");
  if (!box) { return; }
  var url = box.getAttribute("data-live");
  var done = function () {
    var state = box.querySelector("[data-state]");
    return state !== null && state.getAttribute("data-state") === "done";
  };
  var tick = function () {
    if (done()) { return; }
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        // Sent to the sign-in page: the session ended; reloading shows why.
        if (response.redirected) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        if (html === null) { return; }
        box.innerHTML = html;
        setTimeout(tick, 1000);
      })
      // A network error or a server error: try again, less often.
      .catch(function () { setTimeout(tick, 5000); });
  };
  setTimeout(tick, 1000);
})();
