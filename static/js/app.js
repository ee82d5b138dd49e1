// Progressive enhancement only: every page works without this file.
// After htmx swaps in a new quiz step, move keyboard and screen-reader focus to its question.
document.addEventListener("htmx:afterSettle", function () {
  var target = document.querySelector("[data-focus]");
  if (target) {
    target.focus({ preventScroll: false });
  }
});
