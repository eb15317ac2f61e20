"""Step toggles: a derivation shown one step at a time.

A `StepToggle` is built only from standard ipywidgets joined by front-end links (`jslink`), so it
works in three places with the same code:

* live in JupyterLab or Binder, with a kernel;
* in the static rendered book, where no kernel runs: the links live in the page's JavaScript;
* in a plain-text context (nbval, a terminal), where its repr is short and stable.

Layout of one toggle (the outermost box carries the CSS class ``step-toggle``)::

    StepToggle (VBox)
    ├── HTML            a <style> block and the optional title
    ├── ToggleButtons   "jump": one button per step, 1 … n
    └── Stack           shows one page at a time
        └── page k (VBox)
            ├── HTMLMath   the formula of step k, display math
            ├── HTMLMath   the note of step k (optional)
            └── ToggleButtons "nav k": Start over · Back · Step k of n · Next

The trick that makes Back/Next work without a kernel: every navigation row has one button per step
(button j selects step j), and all rows, the jump row and the Stack's ``selected_index`` are linked
in the front end. Row k labels button k-1 "Back", button k+1 "Next" and button 0 "Start over"; the
CSS in the style block hides its other buttons. Clicking "Next" on page k selects index k+1
everywhere, so the Stack shows page k+1.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import ipywidgets as widgets

__all__ = ["StepToggle", "hl", "COLOURS"]

#: The highlight colours of the book's derivations (see the notation page).
COLOURS = {
    "amber": "#B45309",  # what changed in this step
    "rose": "#BE123C",  # a substitution or an annotation
    "grey": "#6B7280",  # de-emphasised text
}

_HIDDEN_PREFIX = "step "  # labels of navigation buttons that the CSS hides

_CSS = """
.step-toggle { border-left: 3px solid #B45309; padding: 0.25em 0 0.25em 0.75em; margin: 0.5em 0; }
.step-toggle .step-title { font-weight: 600; }
.step-toggle .step-nav button[data-value^="step%20"] { display: none; }
.step-toggle .step-jump { display: flex; flex-direction: row; align-items: center; gap: 0.5em; }
.step-toggle .step-jump .widget-toggle-button { min-width: 2.2em; }
.step-toggle .step-math { overflow-x: auto; }
.step-toggle .step-note { color: #4B5563; font-size: 0.95em; }
"""


def hl(tex: str, colour: str = "amber") -> str:
    r"""Wrap LaTeX ``tex`` in a highlight colour, e.g. ``hl(r"X^{-1}")`` → ``{\color{#B45309}{X^{-1}}}``.

    ``colour`` is a key of `COLOURS` ("amber": what changed in this step, "rose": a substitution).
    """
    if colour not in COLOURS:
        raise ValueError(
            f"hl: unknown colour {colour!r}; use one of {sorted(COLOURS)} "
            "(the book's derivation colours, see the notation page)"
        )
    return r"{\color{" + COLOURS[colour] + "}{" + tex + "}}"


_INLINE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)")


def _inline_math(text: str) -> str:
    r"""Turn ``$x$`` into ``\(x\)``: the static book's MathJax only looks for ``\( \)`` delimiters."""
    return _INLINE_DOLLAR.sub(lambda m: r"\(" + m.group(1) + r"\)", text)


class StepToggle(widgets.VBox):
    r"""A derivation revealed one step at a time, with Start over / Back / Next and jump buttons.

    Parameters
    ----------
    steps:
        LaTeX of each step, without ``$$``; step k is shown as display math ``lhs + steps[k]``.
    lhs:
        An optional left-hand side kept fixed on every step, e.g. ``r"dz = "``.
    notes:
        Optional short notes, one per step (``None`` for none); they may hold inline ``$…$`` math.
    title:
        Optional title shown above the steps.

    >>> StepToggle([r"a", r"b"], lhs="x = ", title="demo")
    StepToggle(title='demo', steps=2, step=1)
    """

    def __init__(
        self,
        steps: Sequence[str],
        *,
        lhs: str | None = None,
        notes: Sequence[str | None] | None = None,
        title: str | None = None,
    ):
        steps = list(steps)
        if not steps or not all(isinstance(s, str) for s in steps):
            raise TypeError(
                "StepToggle: steps must be a non-empty list of LaTeX strings, "
                f"got {type(steps).__name__} of {[type(s).__name__ for s in steps]}"
            )
        if notes is None:
            notes = [None] * len(steps)
        notes = list(notes)
        if len(notes) != len(steps):
            raise ValueError(
                f"StepToggle: got {len(steps)} steps but {len(notes)} notes; "
                "pass one note per step (None where a step has none)"
            )
        self.steps, self.notes, self.lhs, self.title = steps, notes, lhs or "", title
        n = len(steps)

        header = widgets.HTML(
            f"<style>{_CSS}</style>"
            + (f'<div class="step-title">{html.escape(title)}</div>' if title else "")
        )
        self.jump = widgets.ToggleButtons(
            options=[(str(k + 1), k) for k in range(n)],
            index=0,
            tooltips=[f"Go to step {k + 1} of {n}" for k in range(n)],
            description="Step",
            style={"button_width": "2.4em", "description_width": "3em"},
        )
        self.jump.add_class("step-jump")
        self.pages = [self._page(k) for k in range(n)]
        self.stack = widgets.Stack(self.pages, selected_index=0)
        self.stack.add_class("step-stack")
        # Everything below runs in the browser: no kernel needed to step through.
        self.links = [widgets.jslink((self.jump, "index"), (self.stack, "selected_index"))]
        self.links += [widgets.jslink((page.nav, "index"), (self.jump, "index")) for page in self.pages]
        super().__init__([header, self.jump, self.stack])
        self.add_class("step-toggle")

    def _page(self, k: int) -> widgets.VBox:
        """Page k: the formula, its note and a navigation row that can only go to k-1, k+1 or 0."""
        n = len(self.steps)
        math = widgets.HTMLMath(r"\[" + self.lhs + self.steps[k] + r"\]")
        math.add_class("step-math")
        children: list[widgets.Widget] = [math]
        if self.notes[k]:
            note = widgets.HTMLMath(_inline_math(self.notes[k]))
            note.add_class("step-note")
            children.append(note)
        labels, tips = [], []
        for j in range(n):
            if j == k:
                labels.append(f"Step {k + 1} of {n}" + (" ∎" if k == n - 1 else ""))
                tips.append("The step shown")
            elif j == k + 1:
                labels.append("Next ▶")
                tips.append(f"Show step {j + 1}")
            elif j == k - 1:
                labels.append("◀ Back")
                tips.append(f"Back to step {j + 1}")
            elif j == 0:
                labels.append("⟲ Start over")
                tips.append("Back to step 1")
            else:
                labels.append(f"{_HIDDEN_PREFIX}{j + 1}")  # hidden by the CSS
                tips.append(f"Go to step {j + 1}")
        nav = widgets.ToggleButtons(
            options=list(zip(labels, range(n))),
            index=0,  # every linked index holds the step shown; page k is visible only when it is k
            tooltips=tips,
            style={"button_width": "auto"},
        )
        nav.add_class("step-nav")
        page = widgets.VBox(children + [nav])
        page.add_class("step-page")
        page.nav = nav
        for w in children:
            w.add_class("mathjax_process")
        return page

    # -- the same navigation from Python, for a live kernel and for tests ---------------------
    @property
    def step(self) -> int:
        """The index (0-based) of the step shown."""
        return self.jump.index

    @step.setter
    def step(self, k: int) -> None:
        n = len(self.steps)
        if not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(f"StepToggle.step: {k!r} is not a step index in 0 … {n - 1}")
        # jslink only propagates in the browser, so set every linked end here.
        self.jump.index = k
        self.stack.selected_index = k
        for page in self.pages:
            page.nav.index = k

    def next(self) -> None:
        """Show the next step (stays on the last)."""
        self.step = min(self.step + 1, len(self.steps) - 1)

    def back(self) -> None:
        """Show the previous step (stays on the first)."""
        self.step = max(self.step - 1, 0)

    def reset(self) -> None:
        """Start over from step 1."""
        self.step = 0

    def __repr__(self) -> str:
        title = f"title={self.title!r}, " if self.title else ""
        return f"StepToggle({title}steps={len(self.steps)}, step={self.step + 1})"
