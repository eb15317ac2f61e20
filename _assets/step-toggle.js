/*
 * Step toggles (booktools.widgets.StepToggle, static HTML): an optional
 * enhancement. Everything works without it: the toggle is radio inputs and
 * labels, and _assets/book.css shows the page of the checked radio; "Next",
 * "Back" and "Start over" are labels of the neighbouring radios, the arrow
 * keys step through the radios, and the live region's text follows the
 * checked radio by CSS.
 *
 * With JavaScript, this script adds:
 *
 * - Keyboard buttons: "Next", "Back" and "Start over" become tab stops
 *   (role=button, tabindex=0, named "Next: go to step 3 of 6"); Enter or
 *   Space steps, and focus moves to the same kind of button on the new page
 *   (Next after Next; Back after Back), or the nearest one there is.
 * - Announcement: the live region says "Step k of n." and the step's note,
 *   its math as MathML (the typeset copy that screen readers read), at every
 *   change (not on page load).
 * - Print: every folded "All steps" view (details.step-toggle-all) is opened
 *   before printing, and closed again afterwards (the CSS also unfolds it
 *   where the browser supports ::details-content).
 *
 * Loaded on every page by _ext/book_html.py.
 */
(function () {
  "use strict";

  var KINDS = ["step-next", "step-back", "step-start"];

  function kindOf(label) {
    for (var i = 0; i < KINDS.length; i++) {
      if (label.classList.contains(KINDS[i])) {
        return KINDS[i];
      }
    }
    return null;
  }

  function checked(toggle) {
    return toggle.querySelector(".step-radio:checked");
  }

  function noteContent(page) {
    // the note with each typeset formula as MathML (its assistive copy)
    var frag = document.createDocumentFragment();
    var note = page && page.querySelector(".step-note");
    if (!note) {
      return frag;
    }
    var copy = note.cloneNode(true);
    copy.querySelectorAll("mjx-container").forEach(function (mjx) {
      var math = mjx.querySelector("math");
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

  function announce(toggle) {
    var radio = checked(toggle);
    var region = toggle.querySelector(".step-live");
    if (!radio || !region) {
      return;
    }
    var k = radio.getAttribute("data-k");
    var n = toggle.querySelectorAll(".step-radio").length;
    region.textContent = "Step " + k + " of " + n + ". ";
    region.appendChild(
      noteContent(toggle.querySelector('.step-page[data-k="' + k + '"]'))
    );
  }

  function placeFocus(toggle, kind) {
    var radio = checked(toggle);
    if (!radio) {
      return;
    }
    var page = toggle.querySelector(
      '.step-page[data-k="' + radio.getAttribute("data-k") + '"]'
    );
    var order =
      kind === "step-back"
        ? ["step-back", "step-next"]
        : ["step-next", "step-back", "step-start"];
    for (var i = 0; i < order.length; i++) {
      var label = page && page.querySelector("label." + order[i]);
      if (label) {
        label.focus();
        return;
      }
    }
    radio.focus(); // a one-step toggle: the radio itself
  }

  function enhance(toggle) {
    if (toggle.dataset.vjpEnhanced || !toggle.querySelector(".step-radio")) {
      return;
    }
    toggle.dataset.vjpEnhanced = "1";
    var n = toggle.querySelectorAll(".step-radio").length;
    toggle.querySelectorAll(".step-nav label").forEach(function (label) {
      var kind = kindOf(label);
      var target = document.getElementById(label.htmlFor);
      if (!kind || !target) {
        return;
      }
      label.setAttribute("role", "button");
      label.setAttribute("tabindex", "0");
      label.setAttribute(
        "aria-label",
        label.textContent.trim() +
          ": go to step " +
          target.getAttribute("data-k") +
          " of " +
          n
      );
      label.addEventListener("keydown", function (event) {
        if (event.key !== "Enter" && event.key !== " ") {
          return;
        }
        event.preventDefault();
        target.checked = true;
        target.dispatchEvent(new Event("change", { bubbles: true }));
        placeFocus(toggle, kind);
      });
    });
    toggle.addEventListener("change", function (event) {
      if (event.target.classList.contains("step-radio")) {
        announce(toggle);
      }
    });
  }

  function setup() {
    document.querySelectorAll(".step-toggle").forEach(enhance);
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
