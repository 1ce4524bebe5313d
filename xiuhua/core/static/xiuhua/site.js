// Behaviour the pages ask for with data- attributes, so that no template needs inline script
// (the Content-Security-Policy allows scripts from our own static files only).
//   <select data-autosubmit>      submits its form when changed (a <noscript> button does it without JS)
//   <form data-confirm="...">     asks before submitting
//   <form data-submit-once>       disables its submit button once sent, so a double tap sends once
document.addEventListener("change", function (event) {
  var field = event.target;
  if (field.matches && field.matches("select[data-autosubmit]") && field.form) {
    field.form.submit();
  }
});

document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
    return;
  }
  if (form.hasAttribute("data-submit-once")) {
    var button = form.querySelector("button[type=submit]");
    if (button) {
      button.disabled = true;
    }
  }
});
