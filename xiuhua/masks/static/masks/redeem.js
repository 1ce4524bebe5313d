// A barcode scanner types the voucher number and presses Enter: move on to the identity number
// instead of submitting the half-filled form.
document.addEventListener("DOMContentLoaded", function () {
  var number = document.getElementById("id_number"), documentNumber = document.getElementById("id_id_number");
  if (!number || !documentNumber) return;
  number.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !documentNumber.value) { e.preventDefault(); documentNumber.focus(); }
  });
});
