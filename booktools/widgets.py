"""Step toggles: a derivation shown one step at a time, every step checked by
code.

A `StepToggle` is built only from standard ipywidgets joined by front-end links
(`jslink`), so it works in three places with the same code:

* live in JupyterLab or Binder, with a kernel;
* in the static rendered book, where no kernel runs: the links live in the
  page's JavaScript;
* in a plain-text context (nbval, a terminal), where its repr is short and
  stable.

Layout of one toggle (the outermost box carries the CSS class
``step-toggle``)::

    StepToggle (VBox)
    ├── HTML            a <style> block and the optional title
    ├── ToggleButtons   "jump": one button per step, 1 … n
    ├── Stack           shows one page at a time
    │   └── page k (VBox)
    │       ├── HTMLMath   the formula of step k, display math
    │       ├── HTMLMath   the note of step k (optional)
    │       └── ToggleButtons "nav k": Start over · Back · Step k of n · Next
    └── HTMLMath        "All steps": the whole derivation as one aligned
                        display, folded (a <details class="step-toggle-all">,
                        open when printed)

The trick that makes Back/Next work without a kernel: every navigation row has
one button per step (button j selects step j), and all rows, the jump row and
the Stack's ``selected_index`` are linked in the front end. Row k labels button
k-1 "Back", button k+1 "Next" and button 0 "Start over"; the CSS in the style
block hides its other buttons. Clicking "Next" on page k selects index k+1
everywhere, so the Stack shows page k+1.

Every step carries a numerical check (``checks=``), run when the toggle is
built: the TeX and the code that verifies it sit side by side, so a derivation
step cannot go unchecked by accident.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Sequence

import ipywidgets as widgets
import torch

__all__ = [
    "StepToggle",
    "hl",
    "COLOURS",
    "DARK_COLOURS",
    "MAX_STEPS",
    "static_css",
]

#: The highlight colours of the book's derivations (see the notation page), on
#: a light background.
#: Each also reaches 4.5:1 on the light panel (#CED6DD) that
#: pydata-sphinx-theme draws behind widget output in its dark mode.
COLOURS = {
    "amber": "#92400E",  # what changed in this step
    "rose": "#9F1239",  # a substitution or an annotation
    "grey": "#4B5563",  # de-emphasised text
}
#: The same roles on a dark background (each at least 4.5:1 against the dark
#: theme).
DARK_COLOURS = {"amber": "#FBBF24", "rose": "#FB7185", "grey": "#9CA3AF"}

_HIDDEN_PREFIX = "step "  # labels of navigation buttons that the CSS hides

#: The most steps one toggle may have: the book's stylesheet (`static_css`,
#: in _assets/book.css) holds one rule per step number.
MAX_STEPS = 20

_SEEN: dict[str, int] = {}  # how many objects of each content were built


def _uid(prefix: str, *content) -> str:
    """A deterministic id for the static HTML of one object: a hash of its
    content, and, for a second object of the same content in this process, a
    count (two equal toggles on one page must not share their radios).

    Random or memory-based ids would differ between runs, and nbval compares
    the text/html output of every cell with the saved one.
    """
    digest = hashlib.sha1(
        json.dumps(content, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:8]
    key = f"{prefix}-{digest}"
    _SEEN[key] = _SEEN.get(key, 0) + 1
    return key if _SEEN[key] == 1 else f"{key}-{_SEEN[key]}"


_FOCUS_LIGHT, _FOCUS_DARK = "#1D4ED8", "#93C5FD"
_DARK = 'html[data-theme="dark"]'


def static_css() -> str:
    """The CSS of the static step toggles and the highlight colours: radio
    inputs and ``:checked``/``:has()``, no script (module doc).

    It lives in _assets/book.css, which every page of the book loads;
    ``python -m booktools.widgets`` writes it there and a test checks that
    the file is up to date.
    """
    t = ".step-toggle"
    shown = ",".join(
        f'{t}:has(.step-radio[data-k="{k}"]:checked) .step-page[data-k="{k}"]'
        for k in range(1, MAX_STEPS + 1)
    )
    said = ",".join(
        f'{t}:has(.step-radio[data-k="{k}"]:checked) .step-live>[data-k="{k}"]'
        for k in range(1, MAX_STEPS + 1)
    )
    light = "".join(f".hl-{k}{{color:{v}}}" for k, v in COLOURS.items())
    dark = "".join(
        f"{_DARK} .hl-{k}{{color:{v}}}" for k, v in DARK_COLOURS.items()
    )
    # pydata-sphinx-theme puts HTML output on a light panel in its dark
    # mode; the toggles and explorers have dark-mode colours of their own
    panel = (
        f"{_DARK} .bd-content div.cell_output div.output.text_html:has(>{t},"
        ">.jacobian-explorer){background-color:transparent;color:inherit;"
        "padding:0}"
    )
    return f"""{panel}
{t}{{--st-accent:#92400E;--st-on:#FFFFFF;--st-line:#6B7280;
 --st-muted:#4B5563;--st-focus:{_FOCUS_LIGHT};border-left:3px solid #B45309;
 padding:.25em 0 .25em .75em;margin:.5em 0;max-width:100%}}
{_DARK} {t}{{--st-accent:#FBBF24;--st-on:#111111;--st-line:#9CA3AF;
 --st-muted:#9CA3AF;--st-focus:{_FOCUS_DARK}}}
{t} .step-title{{font-weight:600;margin:0 0 .25em}}
{t} .step-jump,{t} .step-nav{{display:flex;flex-wrap:wrap;align-items:center;
 gap:.4em;margin:.35em 0;position:relative}}
{t} .step-radio{{position:absolute;left:0;top:0;width:1px;height:1px;
 margin:0;opacity:0;pointer-events:none}}
{t} .step-jump label,{t} .step-nav label{{display:inline-block;
 min-width:2.2em;padding:.1em .6em;border:1px solid var(--st-line);
 border-radius:.25em;text-align:center;line-height:1.6;cursor:pointer;
 user-select:none}}
{t} .step-radio:checked+label{{background:var(--st-accent);
 border-color:var(--st-accent);color:var(--st-on);font-weight:600}}
{t} .step-radio:focus-visible+label,{t} .step-nav label:focus-visible{{
 outline:2px solid var(--st-focus);outline-offset:2px}}
{t} .step-page{{display:none}}
{shown}{{display:block}}
@supports not selector(:has(*)){{{t} .step-page{{display:block}}}}
{t} .step-math,{t} .step-toggle-all{{overflow-x:auto}}
{t} .step-note{{color:var(--st-muted);font-size:.95em}}
{t} .step-pos{{font-weight:600}}
{t} .step-back::before{{content:"\\25C0\\A0"/""}}
{t} .step-next::after{{content:"\\A0\\25B6"/""}}
{t} .step-start::before{{content:"\\27F2\\A0"/""}}
{t} .step-live>span{{display:none}}
{said}{{display:inline}}
{t} .step-toggle-all summary{{cursor:pointer;font-weight:600}}
{t} .step-toggle-all ol{{font-size:.95em;margin-top:0}}
@media print{{{t} .step-jump,{t} .step-pages{{display:none!important}}
 {t} details.step-toggle-all::details-content{{content-visibility:visible;
 display:contents}}
 {t} details.step-toggle-all>summary{{list-style:none}}}}
{light}
{dark}
"""


def _colour_css() -> str:
    light = " ".join(f".hl-{k} {{ color: {v}; }}" for k, v in COLOURS.items())
    dark = " ".join(
        f'html[data-theme="dark"] .hl-{k}, '
        f'body[data-jp-theme-light="false"] .hl-{k} {{ color: {v}; }}'
        for k, v in DARK_COLOURS.items()
    )
    return light + "\n" + dark


_CSS = (
    """
.step-toggle { border-left: 3px solid #B45309; padding: 0.25em 0 0.25em 0.75em;
  margin: 0.5em 0; max-width: 100%; }
.step-toggle .step-title { font-weight: 600; }
.step-toggle .step-nav button[data-value^="step%20"] { display: none; }
.step-toggle .step-jump { display: flex; flex-direction: row; flex-wrap: wrap;
  align-items: center; gap: 0.5em; }
.step-toggle .step-jump .widget-toggle-button { min-width: 2.2em; }
.step-toggle .step-math, .step-toggle .step-toggle-all { overflow-x: auto; }
.step-toggle .step-note { color: #4B5563; font-size: 0.95em; }
.step-toggle .step-toggle-all summary { cursor: pointer; font-weight: 600; }
.step-toggle .step-toggle-all ol { font-size: 0.95em; margin-top: 0; }
@media print {
  .step-toggle .step-jump, .step-toggle .step-stack {
    display: none !important; }
  .step-toggle details.step-toggle-all::details-content {
    content-visibility: visible; display: contents; }
  .step-toggle details.step-toggle-all > summary { list-style: none; }
}
.step-toggle button:focus-visible { outline: 2px solid #1D4ED8;
  outline-offset: 2px; }
"""
    + _colour_css()
    + "\n"
    + " ".join(
        # the book's dark mode keeps widget output on a light panel (see
        # COLOURS)
        f'html[data-theme="dark"] .widget-subarea .hl-{k} {{ color: {v}; }}'
        for k, v in COLOURS.items()
    )
)


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


_INLINE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)")


def _inline_math(text: str) -> str:
    r"""
    Turn ``$x$`` into ``\(x\)``: the static book's MathJax only looks for ``\(
    \)`` delimiters.
    """
    return _INLINE_DOLLAR.sub(lambda m: r"\(" + m.group(1) + r"\)", text)


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


class StepToggle(widgets.VBox):
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
        n = len(steps)
        #: the id of the static HTML: a hash of the content (see `_uid`)
        self.uid = _uid("st", self.lhs, steps, notes, title)

        header = widgets.HTML(
            f"<style>{_CSS}</style>"
            + (
                f'<div class="step-title">{html.escape(title)}</div>'
                if title
                else ""
            )
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
        self.all_steps = widgets.HTMLMath(self._all_steps_html())
        self.all_steps.add_class("mathjax_process")
        # Everything below runs in the browser: no kernel needed to step
        # through.
        self.links = [
            widgets.jslink(
                (self.jump, "index"), (self.stack, "selected_index")
            )
        ]
        self.links += [
            widgets.jslink((page.nav, "index"), (self.jump, "index"))
            for page in self.pages
        ]
        super().__init__([header, self.jump, self.stack, self.all_steps])
        self.add_class("step-toggle")

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

    # -- the pages
    # ----------------------------------------------------------------------
    def _page(self, k: int) -> widgets.VBox:
        """
        Page k: the formula, its note and a navigation row that can only go to
        k-1, k+1 or 0.
        """
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
                labels.append(
                    f"Step {k + 1} of {n}" + (" ∎" if k == n - 1 else "")
                )
                tips.append(f"Step {k + 1} of {n} is shown")
            elif j == k + 1:
                labels.append("Next ▶")
                tips.append(f"Next: go to step {j + 1} of {n}")
            elif j == k - 1:
                labels.append("◀ Back")
                tips.append(f"Back: go to step {j + 1} of {n}")
            elif j == 0:
                labels.append("⟲ Start over")
                tips.append(f"Start over: go to step 1 of {n}")
            else:
                labels.append(f"{_HIDDEN_PREFIX}{j + 1}")  # hidden by the CSS
                tips.append(f"Go to step {j + 1} of {n}")
        nav = widgets.ToggleButtons(
            options=list(zip(labels, range(n))),
            # every linked index holds the step shown; page k is visible only
            # when it is k
            index=0,
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

    def _all_steps_html(self) -> str:
        r"""Every step in one aligned display, numbered, with the notes as a
        numbered list.

        With a left-hand side ``dz = `` the rows read ``dz &= s_1 \\ &= s_2
        …``; without one, each step is a statement of its own and the rows read
        ``& s_1 \\ \Rightarrow\ & s_2 …``.
        """
        lhs = self.lhs.strip()
        if lhs.endswith("="):
            first, rest = lhs[:-1].rstrip() + " &= ", "&= "
        elif lhs:
            first, rest = lhs + " & ", "& "
        else:
            first, rest = "& ", r"\Rightarrow\ & "
        rows = [
            (first if k == 0 else rest)
            + step
            + r" && \class{hl-grey}{("
            + str(k + 1)
            + ")}"
            for k, step in enumerate(self.steps)
        ]
        display = html.escape(
            r"\[\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}\]",
            quote=False,
        )
        notes = "".join(
            f'<li value="{k + 1}">'
            f"{_inline_math(html.escape(note, quote=False))}</li>"
            for k, note in enumerate(self.notes)
            if note
        )
        summary = "All steps" + (
            f": {html.escape(self.title)}" if self.title else ""
        )
        return (
            '<details class="step-toggle-all">'
            f"<summary>{summary}</summary>{display}"
            + (f"<ol>{notes}</ol>" if notes else "")
            + "</details>"
        )

    # -- the same navigation from Python, for a live kernel and for tests
    # ---------------------
    @property
    def step(self) -> int:
        """The index (0-based) of the step shown."""
        return self.jump.index

    @step.setter
    def step(self, k: int) -> None:
        n = len(self.steps)
        if not isinstance(k, int) or not 0 <= k < n:
            raise ValueError(
                f"StepToggle.step: {k!r} is not a step index in 0 … {n - 1}"
            )
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

    # -- the static page: HTML and CSS, no script
    # ---------------------------------------------------------------
    def static_html(self) -> str:
        r"""The toggle as HTML that steps with no script (module doc).

        One radio input per step (the jump row "Step 1 2 … n"); the CSS in
        _assets/book.css (`static_css`) shows the page of the checked one.
        "Next", "Back" and "Start over" on each page are labels of the
        neighbouring radios, so a click steps; by keyboard, the arrow keys
        move through the radios. TeX stays in ``\(…\)`` and ``\[…\]``
        for the book's build-time typesetter.
        """
        n, uid = len(self.steps), self.uid
        jump = "".join(
            f'<input type="radio" class="step-radio" name="{uid}" '
            f'id="{uid}-{k}" value="{k}" data-k="{k}"'
            + (" checked" if k == self.step + 1 else "")
            + f'><label for="{uid}-{k}"><span class="vjp-visually-hidden">'
            f'Step </span>{k}<span class="vjp-visually-hidden"> of {n}'
            "</span></label>"
            for k in range(1, n + 1)
        )
        pages = "".join(self._static_page(k) for k in range(1, n + 1))
        said = "".join(
            f'<span data-k="{k}">Step {k} of {n}.</span>'
            for k in range(1, n + 1)
        )
        title = (
            f'<p class="step-title">{html.escape(self.title)}</p>'
            if self.title
            else ""
        )
        group = "Steps" + (
            f": {html.escape(self.title)}" if self.title else ""
        )
        return (
            f'<div class="step-toggle mathjax_process" id="{uid}">{title}'
            f'<div class="step-jump" role="radiogroup" '
            f'aria-label="{group}"><span aria-hidden="true">Step</span>'
            f'{jump}</div><div class="step-pages">{pages}</div>'
            '<div class="step-live vjp-visually-hidden" role="status" '
            f'aria-live="polite" aria-atomic="true">{said}</div>'
            f"{self._all_steps_html()}</div>"
        )

    def _static_page(self, k: int) -> str:
        """Page k (1-based): formula, note, and the labels that step."""
        n, uid = len(self.steps), self.uid
        note = self.notes[k - 1]
        nav = []
        if k >= 3:
            nav.append(
                f'<label for="{uid}-1" class="step-start">Start over</label>'
            )
        if k >= 2:
            nav.append(
                f'<label for="{uid}-{k - 1}" class="step-back">Back</label>'
            )
        nav.append(
            f'<span class="step-pos">Step {k} of {n}'
            + (" ∎" if k == n else "")
            + "</span>"
        )
        if k < n:
            nav.append(
                f'<label for="{uid}-{k + 1}" class="step-next">Next</label>'
            )
        return (
            f'<div class="step-page" data-k="{k}">'
            '<div class="step-math">'
            + html.escape(rf"\[{self.lhs}{self.steps[k - 1]}\]", quote=False)
            + "</div>"
            + (
                '<div class="step-note">'
                f"{_inline_math(html.escape(note, quote=False))}</div>"
                if note
                else ""
            )
            + f'<div class="step-nav">{"".join(nav)}</div></div>'
        )

    def _repr_mimebundle_(self, **kwargs):
        """The live widget for Jupyter, the static HTML for the book (which
        prefers text/html: nb_mime_priority_overrides in _config.yml) and the
        short repr as plain text (nbval, a terminal)."""
        bundle = super()._repr_mimebundle_(**kwargs) or {}
        bundle["text/html"] = self.static_html()
        return bundle

    def __repr__(self) -> str:
        # The title goes last: ipywidgets cuts a widget's plain-text repr at
        # 110 characters.
        n = len(self.steps)
        title = f", title={self.title!r}" if self.title else ""
        return (
            f"StepToggle(steps={n}, step={self.step + 1}, "
            f"checked={self.checked}/{n}{title})"
        )


# -- the stylesheet of the static page ----------------------------------------
BOOK_CSS = "_assets/book.css"
CSS_BEGIN = (
    "/* BEGIN generated by `python -m booktools.widgets`: do not edit */"
)
CSS_END = "/* END generated */"


def book_css_block() -> str:
    """The generated part of _assets/book.css: the static step toggles'
    and explorers' CSS (`static_css`, `booktools.explore.static_css`)."""
    from booktools import explore

    return f"{CSS_BEGIN}\n{static_css()}{explore.static_css()}{CSS_END}\n"


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
