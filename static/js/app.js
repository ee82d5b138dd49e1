// Progressive enhancement only: every page works without this file.
// After htmx swaps in a new quiz step, move keyboard and screen-reader focus to its question.
document.addEventListener("htmx:afterSettle", function () {
  var target = document.querySelector("[data-focus]");
  if (target) {
    target.focus({ preventScroll: false });
  }
});

// A range question sends its number field; with JavaScript a slider appears beside it and the
// two stay in step. Runs on page load and on every htmx swap.
function enhanceRanges(root) {
  root.querySelectorAll("input[data-range-for]").forEach(function (slider) {
    var number = document.getElementById(slider.getAttribute("data-range-for"));
    if (!number || slider.dataset.enhanced) {
      return;
    }
    slider.dataset.enhanced = "1";
    slider.hidden = false;
    if (number.value !== "") {
      slider.value = number.value;
    }
    slider.addEventListener("input", function () {
      number.value = slider.value;
    });
    number.addEventListener("input", function () {
      if (number.value !== "") {
        slider.value = number.value;
      }
    });
  });
}
document.addEventListener("DOMContentLoaded", function () {
  enhanceRanges(document);
});
document.addEventListener("htmx:load", function (event) {
  enhanceRanges(event.target);
});

// htmx swaps no 4xx answer, so "too many attempts" (429) would go unseen: show its message
// above the part of the page that asked, as text, and replace any earlier one.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  if (!xhr || xhr.status !== 429) {
    return;
  }
  var holder = document.createElement("template");
  holder.innerHTML = xhr.responseText;
  var note = document.getElementById("too-many") || document.createElement("p");
  note.id = "too-many";
  note.className = "flash flash-error";
  note.setAttribute("role", "alert");
  note.textContent = holder.content.textContent.trim();
  var target = event.detail.target || document.getElementById("main");
  if (target && target.parentNode) {
    target.parentNode.insertBefore(note, target);
  }
});
