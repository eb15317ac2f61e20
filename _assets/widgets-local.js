/*
 * Serve the ipywidgets HTML manager's own files (the icon fonts it loads) from the book.
 *
 * The HTML manager finds its files through require.js, under the module name
 * "@jupyter-widgets/html-manager/dist"; by default that name resolves next to the page, where
 * nothing is. Map it to the copy the book ships in _static/html-manager (see scripts/vendor_js.py).
 */
(function () {
  "use strict";
  var root = document.documentElement.dataset.content_root || "";
  if (window.require && window.require.config) {
    window.require.config({
      paths: { "@jupyter-widgets/html-manager/dist": root + "_static/html-manager" },
    });
  } else {
    console.error("widgets-local: require.js is not loaded; widgets cannot be drawn");
  }
})();
