// The resident's reservation form, sent by fetch so that a busy server does not lose it.
//
// Past capacity the server answers 503 at once with Retry-After (core/admission.py), and a dropped
// connection says nothing either way. Both are tried again with the same form data: the
// reservation is one per person and round, so a repeat that finds the first one just shows it
// again ("您本轮已预约"), never a second one. Waits grow exponentially (1 s, 2 s, 4 s … at most
// 30 s) with full jitter, never shorter than Retry-After, so that thousands of phones refused in
// the same second do not all come back in the same second. Any other answer (the status page
// after a redirect, the form with its errors, 429) replaces the page as a normal submit would.
// Without JavaScript the form posts as usual and a 503 shows the busy page.
(function () {
  "use strict";
  var MAX_TRIES = 8, BASE_MS = 1000, CAP_MS = 30000;

  function delayMs(attempt, retryAfterSeconds) {
    var ceiling = Math.min(CAP_MS, BASE_MS * Math.pow(2, attempt));
    var floor = retryAfterSeconds * 1000;
    return floor + Math.random() * Math.max(ceiling - floor, BASE_MS);
  }

  function nonceOfPage() {
    var style = document.querySelector("style");
    return style ? style.nonce : "";
  }

  function showPage(response, html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var nonce = nonceOfPage();
    // The new page's style blocks carry its own nonce; this page's policy knows only ours.
    doc.querySelectorAll("style").forEach(function (s) { s.nonce = nonce; });
    document.title = doc.title;
    document.body.replaceWith(document.adoptNode(doc.body));
    if (response.redirected) history.replaceState(null, "", response.url);
    window.scrollTo(0, 0);
    bind();
  }

  function progress(form, text) {
    var line = document.getElementById("reserve-progress");
    if (!line) {
      line = document.createElement("p");
      line.id = "reserve-progress";
      line.className = "card";
      line.setAttribute("role", "status");
      form.insertBefore(line, form.firstChild);
    }
    line.textContent = text;
  }

  function send(form, body, attempt) {
    var button = form.querySelector("button[type=submit]");
    var retry = function (retryAfter, response, html) {
      if (attempt + 1 >= MAX_TRIES) {
        if (response) { showPage(response, html); return; }
        progress(form, form.dataset.failedMessage);
        if (button) button.disabled = false;
        return;
      }
      var wait = delayMs(attempt, retryAfter);
      progress(form, form.dataset.retryMessage.replace("%(seconds)s", String(Math.ceil(wait / 1000))));
      setTimeout(function () { send(form, body, attempt + 1); }, wait);
    };
    fetch(form.getAttribute("action") || window.location.href, {
      method: "POST", body: body, credentials: "same-origin",
      headers: {"Content-Type": "application/x-www-form-urlencoded"},
    }).then(function (response) {
      return response.text().then(function (html) {
        if (response.status === 503) {
          retry(parseInt(response.headers.get("Retry-After"), 10) || 1, response, html);
        } else {
          showPage(response, html);
        }
      });
    }, function () { retry(1, null, ""); });
  }

  function bind() {
    var form = document.getElementById("reserve-form");
    if (!form || form.dataset.bound) return;
    form.dataset.bound = "1";
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      if (button) button.disabled = true;
      // One body for every try: the same reservation each time.
      send(form, new URLSearchParams(new FormData(form)).toString(), 0);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bind);
  else bind();
})();
