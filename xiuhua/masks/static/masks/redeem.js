// A barcode scanner types the number and presses Enter: move on to the last four digits
// instead of submitting the half-filled form.
document.addEventListener("DOMContentLoaded", function () {
  var number = document.getElementById("id_number"), last4 = document.getElementById("id_id_last4");
  if (!number || !last4) return;
  number.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !last4.value) { e.preventDefault(); last4.focus(); }
  });
});
