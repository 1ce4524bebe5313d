// Desk entry: suggestions for the household field as staff type (building, room, compound or the
// head's family name), from the scoped search endpoint. The field is a plain text input with a
// <datalist>, so arrow keys and Enter pick a suggestion; without JavaScript the exact text
// "小区 楼号 室号" is typed and checked by the server.
document.addEventListener("DOMContentLoaded", function () {
  var script = document.getElementById("household-search-script");
  var input = document.querySelector("input[data-household-search]");
  var list = document.getElementById("household-options");
  if (!script || !input || !list) return;
  var form = input.form, url = script.getAttribute("data-url"), timer = null, asked = "";
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  function ask() {
    var q = input.value.trim();
    if (!q || q === asked) return;
    asked = q;
    var body = new FormData();
    body.append("q", q);
    fetch(url, {method: "POST", body: body, headers: {"X-CSRFToken": token}, credentials: "same-origin"})
      .then(function (r) { return r.ok ? r.json() : {results: []}; })
      .then(function (data) {
        if (asked !== q) return;  // a later answer is on its way
        list.textContent = "";
        data.results.forEach(function (h) {
          var option = document.createElement("option");
          option.value = h.label;
          option.label = h.head ? h.label + " · 户主 " + h.head : h.label;
          list.appendChild(option);
        });
        input.setAttribute("data-results", String(data.results.length));
      });
  }
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 200); });
});
