// Small conveniences only; every page reads and every form posts without this script.
document.addEventListener("change", function (e) {
  // Follow-up forms: show the amount/date fields for 已签约 and the reason for 未成功 only.
  var select = e.target.closest("select[name=stage]");
  if (!select) return;
  var form = select.form;
  form.querySelectorAll("[data-for]").forEach(function (el) {
    el.hidden = el.getAttribute("data-for").split(" ").indexOf(select.value) < 0;
  });
});
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("select[name=stage]").forEach(function (s) { s.dispatchEvent(new Event("change", {bubbles: true})); });
});
