"""Step toggles: a derivation shown one step at a time, every step checked by
code.

A `StepToggle` is HTML and CSS with no script (`booktools.html`'s radio
stepper), so the same output works in three places:

* in the rendered book, where no kernel runs (the CSS is in
  _assets/book.css, which every page loads);
* in JupyterLab and Colab (the notebook's first widget carries the CSS,
  `booktools.html.style_once`);
* in a plain-text context (nbval, a terminal), where its repr is short and
  stable.

Layout of one toggle::

    div.step-toggle
    ├── p.step-title           the optional title
    ├── div.step-jump          one radio per step (labels 1 … n) and the
    │                          "All steps" checkbox
    ├── ol.step-pages          one li.step-page per step: the formula
    │                          (display math), its note, and its navigation
    │                          labels Start over · Back · Step k of n · Next
    └── div.step-live          "Step k of n." for screen readers

The CSS shows the page of the checked radio; "Next" on page k is a label of
radio k+1, so a click steps. "All steps" shows every page at once (the same
typeset formulas, no second copy); so do print and browsers without
``:has()``.

Every step carries a numerical check (``checks=``), run when the toggle is
built: the TeX and the code that verifies it sit side by side, so a derivation
step cannot go unchecked by accident.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

import torch

from booktools.html import (
    COLOURS,
    DARK_COLOURS,
    MAX_STEPS,
    escape_math,
    inline_math,
    radio,
    step_nav,
    style_once,
    uid,
)

__all__ = [
    "StepToggle",
    "hl",
    "COLOURS",
    "DARK_COLOURS",
    "MAX_STEPS",
]


def hl(tex: str, colour: str = "amber") -> str:
    r"""Highlight LaTeX ``tex``: ``hl(r"X^{-1}")`` →
    ``\class{hl-amber}{X^{-1}}``.

    ``colour`` is a key of `COLOURS` ("amber": what changed in this step,
    "rose": a substitution, "grey": de-emphasised). The colour itself comes
    from CSS, so it can differ between the light and the dark theme and keep
    its contrast on both.
    """
    if colour not in COLOURS:
        raise ValueError(
            f"hl: unknown colour {colour!r}; use one of {sorted(COLOURS)} "
            "(the book's derivation colours, see the notation page)"
        )
    return r"\class{hl-" + colour + "}{" + tex + "}"


def _as_tensor(value, where: str) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.detach().to(torch.float64)
    try:
        return torch.as_tensor(value, dtype=torch.float64)
    except (TypeError, ValueError, RuntimeError):
        raise TypeError(
            f"{where} returned {type(value).__name__}; a step check returns a "
            "tensor or a "
            "number (the value of the step's expression), a pair (a, b) for "
            "an equation "
            "a = b, or, instead of a function, a string saying why the step "
            "has no numbers"
        ) from None


class StepToggle:
    r"""A derivation revealed one step at a time, with Start over / Back / Next
    and jump buttons.

    Parameters ---------- steps: LaTeX of each step, without ``$$``; step k is
    shown as display math ``lhs + steps[k]``. lhs: An optional left-hand side
    kept fixed on every step, e.g. ``r"dz = "``. notes: Optional short notes,
    one per step (``None`` for none); they may hold inline ``$…$`` math. title:
    Optional title shown above the steps. checks: One entry per step: how the
    step is checked numerically, run when the toggle is built.

        * a function ``f(*inputs)`` returning a tensor or number: the value of
          the step's expression. Every such *value step* must equal
          ``reference(*inputs)`` (when given) and the value step before it;
        * a function returning a pair ``(a, b)``: an equation that holds at
          this step, a ≈ b;
        * a string instead of a function: the step has no numeric content (a
          definition, a pure restatement), and the string says why. inputs: The
          (seeded, float64) values every check function is called with.
          reference: Optional ``f(*inputs)``: an independent value (say from
          ``torch.func.jvp``) that every value step must equal, usually the
          value of ``lhs``. rtol, atol: Tolerances of every comparison (float64
          rounding, not approximation).

    >>> StepToggle([r"a", r"b"], lhs="x = ", title="demo")
    StepToggle(steps=2, step=1, checked=0/2, title='demo')
    """

    def __init__(
        self,
        steps: Sequence[str],
        *,
        lhs: str | None = None,
        notes: Sequence[str | None] | None = None,
        title: str | None = None,
        checks: Sequence[Callable | str] | None = None,
        inputs: Sequence = (),
        reference: Callable | None = None,
        rtol: float = 1e-9,
        atol: float = 1e-12,
    ):
        steps = list(steps)
        if not steps or not all(isinstance(s, str) for s in steps):
            raise TypeError(
                "StepToggle: steps must be a non-empty list of LaTeX strings, "
                f"got {type(steps).__name__} of "
                f"{[type(s).__name__ for s in steps]}"
            )
        if len(steps) > MAX_STEPS:
            raise ValueError(
                f"StepToggle: {len(steps)} steps, more than MAX_STEPS = "
                f"{MAX_STEPS} (the book's stylesheet has a rule per step); "
                "split the derivation into two toggles"
            )
        if notes is None:
            notes = [None] * len(steps)
        notes = list(notes)
        if len(notes) != len(steps):
            raise ValueError(
                f"StepToggle: got {len(steps)} steps but {len(notes)} notes; "
                "pass one note per step (None where a step has none)"
            )
        if checks is not None and len(checks) != len(steps):
            raise ValueError(
                f"StepToggle: got {len(steps)} steps but {len(checks)} "
                "checks; pass one "
                "check per step (a string saying why where a step has no "
                "numbers)"
            )
        self.steps, self.notes, self.lhs, self.title = (
            steps,
            notes,
            lhs or "",
            title,
        )
        self.checks, self.reference = list(checks or []), reference
        self.rtol, self.atol = rtol, atol
        #: per step: "value", "equation", "stated: <why>", or None (unchecked)
        self.check_report: list[str | None] = [None] * len(steps)
        if checks is not None:
            self.check_report = self.check(*inputs)
        #: the id of the HTML: a hash of the content (`booktools.html.uid`)
        self.uid = uid("st", self.lhs, steps, notes, title)
        self._step = 0

    # -- checks
    # ----------------------------------------------------------------------
    def check(self, *inputs) -> list[str | None]:
        """
        Run every step's check on ``inputs``; raise AssertionError at the first
        that fails.
        """
        if not self.checks:
            raise ValueError(
                "StepToggle.check: this toggle has no checks; pass "
                "checks=[...] when building it"
            )
        ref = None
        if self.reference is not None:
            ref = _as_tensor(self.reference(*inputs), "reference")
        report: list[str | None] = []
        previous = None  # (step index, value) of the last value step
        for k, check in enumerate(self.checks):
            if isinstance(check, str):
                if not check.strip():
                    raise ValueError(
                        f"{self._where(k)}: an empty string; say why the step "
                        "has no numbers"
                    )
                report.append("stated: " + check)
                continue
            if not callable(check):
                raise TypeError(
                    f"{self._where(k)}: a check is a function of the inputs "
                    "or a string, "
                    f"got {type(check).__name__}"
                )
            out = check(*inputs)
            if isinstance(out, tuple):
                if len(out) != 2:
                    raise TypeError(
                        f"{self._where(k)}: an equation check returns a pair "
                        "(a, b), "
                        f"got a tuple of {len(out)}"
                    )
                a = _as_tensor(out[0], self._where(k))
                b = _as_tensor(out[1], self._where(k))
                self._assert_close(
                    k, a, b, "the two sides of the step's equation"
                )
                report.append("equation")
                continue
            value = _as_tensor(out, self._where(k))
            compared = False
            if ref is not None:
                self._assert_close(k, value, ref, "the reference value")
                compared = True
            if previous is not None:
                self._assert_close(
                    k,
                    value,
                    previous[1],
                    f"the value of step {previous[0] + 1}",
                )
                compared = True
            if not compared and not self._has_later_value(k):
                raise ValueError(
                    f"{self._where(k)}: its value has nothing to be compared "
                    "with; give "
                    "reference= (an independent value of the left-hand side) "
                    "or check "
                    "the step as an equation, returning (a, b)"
                )
            previous = (k, value)
            report.append("value")
        return report

    def _has_later_value(self, k: int) -> bool:
        """
        Whether a later step is a value step (which will be compared with step
        k's chain).
        """
        return any(callable(c) for c in self.checks[k + 1 :])

    def _where(self, k: int) -> str:
        name = f"{self.title!r}" if self.title else "StepToggle"
        return f"{name}, step {k + 1} ({self.lhs}{self.steps[k]})"

    def _assert_close(self, k, a, b, what):
        if a.shape != b.shape:
            raise AssertionError(
                f"{self._where(k)}: shape {tuple(a.shape)} does not match the "
                "shape "
                f"{tuple(b.shape)} of {what}"
            )
        if not torch.allclose(a, b, rtol=self.rtol, atol=self.atol):
            diff = (a - b).abs().max().item() if a.numel() else 0.0
            raise AssertionError(
                f"{self._where(k)} does not match {what}: largest difference "
                f"{diff:.3e} (rtol={self.rtol}, atol={self.atol})"
            )

    @property
    def checked(self) -> int:
        """How many steps are checked (numerically, or stated as having no
        numbers).
        """
        return sum(r is not None for r in self.check_report)

    # -- the step shown first, set from Python (the page steps by itself)
    @property
    def step(self) -> int:
        """The index (0-based) of the step shown first."""
        return self._step

    @step.setter
    def step(self, k: int) -> None:
        n = len(self.steps)
        if not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(
                f"StepToggle.step: {k!r} is not a step index in 0 … {n - 1}"
            )
        self._step = k

    def next(self) -> None:
        """Show the next step (stays on the last)."""
        self.step = min(self.step + 1, len(self.steps) - 1)

    def back(self) -> None:
        """Show the previous step (stays on the first)."""
        self.step = max(self.step - 1, 0)

    def reset(self) -> None:
        """Start over from step 1."""
        self.step = 0

    # -- the HTML: radios, labels and CSS, no script
    def to_html(self) -> str:
        r"""The toggle as HTML that steps with no script (module doc).

        One radio input per step (the jump row "Step 1 2 … n"); the CSS
        (`booktools.html`) shows the page of the checked one. "Next",
        "Back" and "Start over" on each page are labels of the neighbouring
        radios, so a click steps; by keyboard, the arrow keys move through
        the radios. "All steps", a checkbox, shows every page. TeX stays in
        ``\(…\)`` and ``\[…\]`` for the book's build-time typesetter and
        JupyterLab's MathJax.
        """
        n, group = len(self.steps), self.uid
        jump = "".join(
            radio(
                group,
                k,
                n,
                checked=k == self.step + 1,
                cls="step-radio",
                label='<span class="vjp-visually-hidden">Step </span>'
                f'{k}<span class="vjp-visually-hidden"> of {n}</span>',
            )
            for k in range(1, n + 1)
        )
        every = (
            f'<input type="checkbox" class="step-all" id="{group}-all">'
            f'<label for="{group}-all">All steps</label>'
        )
        pages = "".join(self._page(k) for k in range(1, n + 1))
        said = "".join(
            f'<span data-k="{k}">Step {k} of {n}.</span>'
            for k in range(1, n + 1)
        )
        title = (
            f'<p class="step-title">{html.escape(self.title)}</p>'
            if self.title
            else ""
        )
        group_name = "Steps" + (
            f": {html.escape(self.title)}" if self.title else ""
        )
        return (
            f'<div class="step-toggle mathjax_process" id="{group}">{title}'
            f'<div class="step-jump"><span role="radiogroup" '
            f'aria-label="{group_name}" class="step-radios">'
            f'<span aria-hidden="true">Step</span>{jump}</span>{every}</div>'
            f'<ol class="step-pages step-toggle-all">{pages}</ol>'
            '<div class="step-live vjp-visually-hidden" role="status" '
            f'aria-live="polite" aria-atomic="true">{said}</div></div>'
        )

    def _page(self, k: int) -> str:
        """Page k (1-based): formula, note, and the labels that step."""
        n, note = len(self.steps), self.notes[k - 1]
        nav = step_nav(self.uid, k, n, position=True)
        return (
            f'<li class="step-page" data-k="{k}" value="{k}">'
            '<div class="step-math">'
            + escape_math(rf"\[{self.lhs}{self.steps[k - 1]}\]")
            + "</div>"
            + (
                '<div class="step-note">'
                f"{inline_math(escape_math(note))}</div>"
                if note
                else ""
            )
            + f'<div class="step-nav">{nav}</div></li>'
        )

    def _repr_html_(self) -> str:
        """The HTML for Jupyter and the book, with the CSS the first time a
        process shows a widget (`booktools.html.style_once`)."""
        return style_once() + self.to_html()

    def __repr__(self) -> str:
        # The title goes last: it may be long.
        n = len(self.steps)
        title = f", title={self.title!r}" if self.title else ""
        return (
            f"StepToggle(steps={n}, step={self.step + 1}, "
            f"checked={self.checked}/{n}{title})"
        )


# -- the stylesheet of the book's pages --------------------------------------
BOOK_CSS = "_assets/book.css"
CSS_BEGIN = (
    "/* BEGIN generated by `python -m booktools.widgets`: do not edit */"
)
CSS_END = "/* END generated */"


def book_css_block() -> str:
    """The generated part of _assets/book.css: the widget kit's stylesheet
    (`booktools.html.base_css` and `booktools.explore.generated_css`)."""
    from booktools import explore
    from booktools.html import base_css

    css = base_css() + explore.generated_css()
    return f"{CSS_BEGIN}\n{css}{CSS_END}\n"


def write_book_css(path: str | None = None) -> bool:
    """Put `book_css_block` into the stylesheet (between its markers, or at
    the end); return whether the file changed."""
    from pathlib import Path

    target = Path(path or Path(__file__).resolve().parent.parent / BOOK_CSS)
    text = target.read_text(encoding="utf-8")
    if CSS_BEGIN in text:
        head, rest = text.split(CSS_BEGIN, 1)
        tail = rest.split(CSS_END, 1)[1].lstrip("\n")
    else:
        head, tail = text.rstrip("\n") + "\n\n", ""
    new = head + book_css_block() + tail
    if new != text:
        target.write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    changed = write_book_css()
    print(f"{BOOK_CSS}: " + ("updated" if changed else "up to date"))
