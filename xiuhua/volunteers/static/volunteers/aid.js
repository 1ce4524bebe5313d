// The open mutual-aid requests, kept current without reloading: every few seconds the page asks
// the JSON endpoint and, only when the set of open requests changed, rebuilds the list (a request
// claimed elsewhere disappears, a new one appears). Text is set with textContent, never as HTML.
(function () {
  "use strict";
  var list = document.getElementById("aid-open");
  if (!list) { return; }
  var empty = document.getElementById("aid-open-empty");
  var template = document.getElementById("aid-item-template");
  var words = document.getElementById("aid-words").dataset.people;
  var csrf = document.querySelector("#aid-csrf input[name=csrfmiddlewaretoken]").value;

  function shown() {
    return Array.prototype.map.call(list.querySelectorAll("li.aid-item"), function (li) { return li.dataset.id; }).join(",");
  }

  function item(row) {
    var li = template.content.firstElementChild.cloneNode(true);
    li.dataset.id = String(row.id);
    var link = li.querySelector("a.what");
    link.textContent = row.what;
    link.href = list.dataset.detail.replace("/0/", "/" + row.id + "/");
    li.querySelector(".where").textContent = row.committee + (row.where ? " · " + row.where : "");
    li.querySelector(".when").textContent = words.replace("%(n)s", row.people).replace("%(by)s", row.needed_by) + " · " + row.ring;
    var form = li.querySelector("form");
    form.action = list.dataset.claim.replace("/0/", "/" + row.id + "/");
    form.querySelector("input[name=csrfmiddlewaretoken]").value = csrf;
    form.querySelector("button").id = "claim-" + row.id;
    return li;
  }

  function refresh() {
    fetch(list.dataset.poll, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var ids = data.open.map(function (row) { return String(row.id); }).join(",");
        if (ids === shown()) { return; }
        list.replaceChildren.apply(list, data.open.map(item));
        empty.hidden = data.open.length > 0;
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ });
  }

  window.setInterval(refresh, 4000);
}());
