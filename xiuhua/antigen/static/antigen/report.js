// The household's antigen page: a tap on a result sends it to the page's JSON endpoint and
// updates the member's row; with a photo chosen (or without JavaScript) the form posts as usual.
(function () {
  "use strict";
  var page = document.getElementById("antigen-report");
  if (!page || !window.fetch) { return; }
  var note = document.getElementById("report-note");
  var doneCount = document.getElementById("done-count");

  function say(text) { note.textContent = text; }

  page.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-result]");
    if (!button) { return; }
    var form = button.form;
    var file = form.querySelector("input[type=file]");
    if (file && file.files && file.files.length) { return; }  // the photo goes with the form post
    event.preventDefault();
    var section = form.closest("[data-member]");
    var member = Number(section.getAttribute("data-member"));
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(page.getAttribute("data-json"), {
      method: "POST", credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": token},
      body: JSON.stringify({reports: [{member: member, result: button.getAttribute("data-result")}]})
    }).then(function (response) {
      if (!response.ok) { throw new Error(String(response.status)); }
      return response.json();
    }).then(function (answer) {
      var shown = section.querySelector(".result");
      var wasReported = shown.hasAttribute("data-reported") || section.getAttribute("data-done") === "1";
      shown.textContent = button.textContent;
      shown.classList.toggle("r-positive", button.getAttribute("data-result") === "positive");
      shown.setAttribute("data-reported", "1");
      section.setAttribute("data-done", "1");
      if (!wasReported && answer.new) { doneCount.textContent = String(Number(doneCount.textContent) + answer.new); }
      say(answer.positive ? page.getAttribute("data-positive") : page.getAttribute("data-saved"));
    }).catch(function () {
      say(page.getAttribute("data-failed"));
    }).finally(function () {
      buttons.forEach(function (b) { b.disabled = false; });
    });
  });
}());
