/*
 * Display math wider than the column scrolls inside its own box (book.css).
 * A box that scrolls must be reachable by keyboard, or a keyboard user cannot
 * read its hidden part (WCAG 2.1.1; axe's "scrollable-region-focusable"). So
 * every display equation that overflows gets tabindex="0" (and
 * data-scrolls); one that fits stays out of the tab order. The equations
 * are typeset when the book is built (_ext/typeset_math.py), so they are
 * on the page from the start, but whether one overflows depends on the
 * window's width and on what is shown (a step toggle's step, an opened
 * <details>), so the marking is redone after each change, at most every
 * 200 ms. Without JavaScript a wide equation still scrolls by mouse and
 * touch.
 */
(function () {
  "use strict";

  var SELECTOR = '.bd-article mjx-container[display="true"]';

  // Equations are measured a few at a time, one short task each, so a
  // long chapter never holds the page still while it is being read (Total
  // Blocking Time); within a batch every width is read before any
  // attribute is written: a write between two reads would make the
  // browser lay the page out again for each equation.
  var BATCH = 25;
  function markFrom(all, start) {
    var batch = all.slice(start, start + BATCH);
    var scrolls = batch.map(function (m) {
      return m.clientWidth > 0 && m.scrollWidth > m.clientWidth + 1;
    });
    batch.forEach(function (m, i) {
      if (scrolls[i] && !m.hasAttribute("data-scrolls")) {
        m.setAttribute("data-scrolls", "");
        m.tabIndex = 0;
      } else if (!scrolls[i] && m.hasAttribute("data-scrolls")) {
        m.removeAttribute("data-scrolls");
        m.removeAttribute("tabindex");
      }
    });
    if (start + BATCH < all.length) {
      setTimeout(function () { markFrom(all, start + BATCH); }, 0);
    }
  }

  function mark() {
    markFrom(Array.prototype.slice.call(document.querySelectorAll(SELECTOR)),
             0);
  }

  var pending = null;
  function later() {
    if (pending === null) {
      pending = setTimeout(function () {
        pending = null;
        mark();
      }, 200);
    }
  }

  function setup() {
    new MutationObserver(later).observe(document.body,
                                        {childList: true, subtree: true});
    window.addEventListener("resize", later);
    document.addEventListener("toggle", later, true);  // <details> opened
    later();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
