// Draws the API reference (ReDoc, vendored) from the OpenAPI document the page names.
(function () {
  "use strict";
  var element = document.getElementById("redoc");
  if (!element) { return; }
  var url = element.getAttribute("data-spec-url");
  /* global init, Redoc */
  if (typeof init === "function") {
    init(url, {}, element);
  } else if (window.Redoc) {
    window.Redoc.init(url, {}, element);
  }
})();
