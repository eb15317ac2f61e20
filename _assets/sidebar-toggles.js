/*
 * Make the sidebar buttons (☰ site navigation, contents) open their drawers.
 *
 * pydata-sphinx-theme >= 0.17 hooks its "open the drawer" handler to the
 * FIRST .primary-toggle / .secondary-toggle of the page, and so does
 * sphinx-book-theme's wide-screen "collapse the sidebar" handler. On a
 * sphinx-book-theme page the first ones sit in pydata's header, which the book
 * theme hides; the buttons a reader sees are later ones, with no handler, so
 * on a phone the navigation cannot be opened (pydata-sphinx-theme issue
 * #2451). Here a click on any other toggle is handed to the first one of its
 * kind, so both themes' handlers run exactly as they were written. Should
 * upstream bind every toggle, the hand-over still opens the drawer once: the
 * click on the visible button is stopped before any handler of its own runs.
 * Focus stays on the button the reader pressed, so closing the drawer (Esc)
 * returns there.
 */
(function () {
  "use strict";

  function forward(selector) {
    var all = document.querySelectorAll(selector);
    if (all.length < 2) {
      return;
    }
    var first = all[0];
    Array.prototype.slice.call(all, 1).forEach(function (button) {
      button.addEventListener(
        "click",
        function (event) {
          event.preventDefault();
          event.stopImmediatePropagation();
          first.click();
        },
        true
      );
    });
  }

  function setup() {
    forward(".primary-toggle");
    forward(".secondary-toggle");
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
