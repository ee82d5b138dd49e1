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

// htmx swaps no error answer in (responseHandling in base.html), so without this a failed
// step or filter would look as if nothing happened. The server answers an htmx request's error
// with a short message (templates/errors/_error.html); it is shown above the part that asked.
document.addEventListener("htmx:responseError", function (event) {
  var xhr = event.detail.xhr;
  var parsed = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
  var message = parsed.querySelector("[data-htmx-error]");
  if (message) {
    message = document.importNode(message, true);
  } else {
    message = document.createElement("p");
    message.className = "flash flash-error";
    message.setAttribute("role", "alert");
    message.setAttribute("data-htmx-error", "");
    message.textContent = xhr.status + " " + xhr.statusText;
  }
  document.querySelectorAll("[data-htmx-error]").forEach(function (old) {
    old.remove();
  });
  var anchor = event.detail.target || document.getElementById("main");
  if (anchor && anchor.parentNode) {
    anchor.parentNode.insertBefore(message, anchor);
  }
});
document.addEventListener("htmx:beforeRequest", function () {
  document.querySelectorAll("[data-htmx-error]").forEach(function (old) {
    old.remove();
  });
});
