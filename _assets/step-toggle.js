/*
 * Step toggles (booktools.widgets.StepToggle) for every reader of the static
 * book: by keyboard, with a screen reader, and on paper.
 *
 * The toggle is made of plain ipywidgets; its Stack draws only the page of
 * the step shown, and draws a new page at every step change. So:
 *
 * - Focus: pressing Next (Enter or Space) removed the focused button with its
 *   page, and focus fell back to the document. When a navigation button is
 *   pressed, focus moves to the same kind of button on the new page (Next
 *   after Next; Back after Back), or the nearest one there is (Back on the
 *   last step, Next on the first).
 * - Names: ToggleButtons carry their tooltip as `title` only; the jump
 *   buttons were named "1" … "n". Each button gets its tooltip as
 *   aria-label ("Next: go to step 3 of 6", "Go to step 3 of 6"), the button
 *   of the step shown gets aria-current="step".
 * - Announcement: a polite live region (role=status), visually hidden, in
 *   each toggle says "Step k of n." and the step's note at every change (not
 *   on page load). Math in the note is given as MathML, which screen readers
 *   read; MathJax keeps a copy of it next to every typeset formula.
 * - Print: before printing, every folded "All steps" view
 *   (details.step-toggle-all) is opened, and closed again afterwards.
 *
 * Loaded on the pages that hold widgets (nb_ipywidgets_js in _config.yml).
 */
(function () {
  "use strict";

  var STEP = /Step (\d+) of (\d+)/;
  var TARGET = /go to step (\d+) of \d+/i;

  function stepOf(page) {
    // a page knows its step: its "Step k of n" button is the active one
    var active = page && page.querySelector(".step-nav button.mod-active");
    var m = active && STEP.exec(active.textContent);
    return m ? { k: +m[1], n: +m[2] } : null;
  }

  function currentPage(toggle) {
    // the page of the step shown; while the Stack swaps pages, the newest
    var pages = toggle.querySelectorAll(".step-stack .step-page");
    for (var i = pages.length - 1; i >= 0; i--) {
      if (stepOf(pages[i])) {
        return pages[i];
      }
    }
    return null;
  }

  function name(toggle) {
    toggle.querySelectorAll("button[title]").forEach(function (button) {
      var tip = button.getAttribute("title");
      if (tip && button.getAttribute("aria-label") !== tip) {
        button.setAttribute("aria-label", tip);
      }
      var on = button.classList.contains("mod-active");
      if (on && button.getAttribute("aria-current") !== "step") {
        button.setAttribute("aria-current", "step");
      } else if (!on && button.hasAttribute("aria-current")) {
        button.removeAttribute("aria-current");
      }
    });
  }

  function liveRegion(toggle) {
    var region = toggle.querySelector(":scope > .step-live");
    if (!region) {
      region = document.createElement("div");
      region.className = "step-live vjp-visually-hidden";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      region.setAttribute("aria-atomic", "true");
      toggle.appendChild(region);
    }
    return region;
  }

  function typesetDone() {
    // mathjax-widgets.js chains every widget typesetting; wait for the chain
    return window.vjpbookTypeset
      ? window.vjpbookTypeset(document.createElement("div"))
      : Promise.resolve();
  }

  function noteContent(page) {
    // the note with each formula as MathML (MathJax's assistive copy)
    var note = page.querySelector(".step-note");
    var frag = document.createDocumentFragment();
    if (!note) {
      return frag;
    }
    var copy = note.cloneNode(true);
    copy.querySelectorAll("mjx-container").forEach(function (mjx) {
      var math = mjx.querySelector("mjx-assistive-mml math");
      mjx.replaceWith(math ? math.cloneNode(true) : mjx.textContent);
    });
    copy.querySelectorAll("style, script").forEach(function (n) {
      n.remove();
    });
    while (copy.firstChild) {
      frag.appendChild(copy.firstChild);
    }
    return frag;
  }

  function announce(toggle, state, tries) {
    var page = currentPage(toggle);
    var step = stepOf(page);
    if (!step || step.k !== state.shown) {
      return; // the reader moved on; the newer change announces itself
    }
    var note = page.querySelector(".step-note");
    if (note && /\\\(|\\\[/.test(note.textContent) && tries < 20) {
      // the note is not typeset yet
      setTimeout(function () {
        typesetDone().then(function () {
          announce(toggle, state, tries + 1);
        });
      }, 50);
      return;
    }
    var region = liveRegion(toggle);
    region.textContent = "Step " + step.k + " of " + step.n + ". ";
    region.appendChild(noteContent(page));
  }

  function placeFocus(toggle, state) {
    var want = state.pending;
    var page = currentPage(toggle);
    var step = stepOf(page);
    if (!want || !step || step.k !== want.step) {
      return;
    }
    var order =
      want.kind === "Back"
        ? ["Back:", "Next:"]
        : ["Next:", "Back:", "Step "];
    var buttons = page.querySelectorAll(".step-nav button");
    for (var i = 0; i < order.length; i++) {
      for (var j = 0; j < buttons.length; j++) {
        var b = buttons[j];
        var tip = b.getAttribute("title") || "";
        if (tip.indexOf(order[i]) === 0 && b.offsetParent !== null) {
          state.pending = null;
          b.focus();
          return;
        }
      }
    }
  }

  function update(toggle, state) {
    name(toggle);
    var step = stepOf(currentPage(toggle));
    if (!step) {
      return;
    }
    placeFocus(toggle, state);
    if (state.shown === null) {
      state.shown = step.k; // first drawing: nothing to announce
      liveRegion(toggle);
    } else if (step.k !== state.shown) {
      state.shown = step.k;
      typesetDone().then(function () {
        announce(toggle, state, 0);
      });
    }
  }

  function watch(toggle) {
    if (toggle.dataset.vjpWatched) {
      return;
    }
    toggle.dataset.vjpWatched = "1";
    var state = { shown: null, pending: null };
    toggle.addEventListener(
      "click",
      function (event) {
        var button = event.target.closest(".step-nav button");
        var m = button && TARGET.exec(button.getAttribute("title") || "");
        if (!m) {
          return;
        }
        var kind = (button.getAttribute("title") || "").split(":")[0];
        var focused = document.activeElement === button;
        // keyboard activation (Enter/Space) always has the button focused;
        // a mouse click focuses it too, except in Safari
        state.pending = focused ? { kind: kind, step: +m[1] } : null;
      },
      true
    );
    new MutationObserver(function () {
      update(toggle, state);
    }).observe(toggle, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["class"],
    });
    update(toggle, state);
  }

  function watchAll() {
    document.querySelectorAll(".step-toggle").forEach(watch);
  }

  function setup() {
    watchAll();
    // the HTML manager draws the widgets after the page has loaded
    new MutationObserver(watchAll).observe(document.body, {
      childList: true,
      subtree: true,
    });
  }

  var opened = [];
  window.addEventListener("beforeprint", function () {
    document
      .querySelectorAll("details.step-toggle-all:not([open])")
      .forEach(function (details) {
        details.open = true;
        opened.push(details);
      });
  });
  window.addEventListener("afterprint", function () {
    opened.splice(0).forEach(function (details) {
      details.open = false;
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setup);
  } else {
    setup();
  }
})();
