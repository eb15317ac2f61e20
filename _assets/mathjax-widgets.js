/*
 * Typeset ipywidgets' HTMLMath on the static pages of the book.
 *
 * ipywidgets' HTML manager (the script that renders saved widget state
 * without a kernel) typesets an HTMLMath widget with the MathJax 2 call
 * MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]). The book loads
 * MathJax 3, which has no `Hub`, so without help that call throws and the
 * step toggles show raw LaTeX. This script gives every object that becomes
 * `window.MathJax` a small `Hub` whose `Queue` typesets the element with
 * MathJax 3's `typesetPromise`, once MathJax has started. Calls are chained,
 * as MathJax 3 asks, so typesetting never overlaps.
 */
(function () {
  "use strict";

  var chain = Promise.resolve();

  function mathJaxStarted() {
    return new Promise(function (resolve) {
      (function check() {
        var mj = window.MathJax;
        if (mj && mj.startup && mj.startup.promise && mj.typesetPromise) {
          mj.startup.promise.then(resolve);
        } else {
          setTimeout(check, 25);
        }
      })();
    });
  }

  function typeset(element) {
    chain = chain
      .then(mathJaxStarted)
      .then(function () {
        return window.MathJax.typesetPromise([element]);
      })
      .catch(function (err) {
        console.error("mathjax-widgets: typesetting a widget failed:", err);
      });
    return chain;
  }

  var hub = {
    Queue: function (command) {
      // command is ["Typeset", MathJax.Hub, element], the only form
      // ipywidgets uses.
      if (Array.isArray(command) && command[0] === "Typeset" && command[2]) {
        typeset(command[2]);
      }
    },
  };

  function addHub(mj) {
    if (mj && typeof mj === "object" && !mj.Hub) {
      // Not enumerable: MathJax copies its configuration object and must
      // not see it.
      Object.defineProperty(mj, "Hub", {
        value: hub,
        enumerable: false,
        configurable: true,
      });
    }
    return mj;
  }

  // MathJax replaces window.MathJax while it starts (configuration object
  // → MathJax itself): catch every assignment and add the Hub to whatever
  // object lands there.
  var current = addHub(window.MathJax);
  Object.defineProperty(window, "MathJax", {
    configurable: true,
    enumerable: true,
    get: function () {
      return current;
    },
    set: function (value) {
      current = addHub(value);
    },
  });

  // for step-toggle.js, the browser test and debugging
  window.vjpbookTypeset = typeset;
})();
