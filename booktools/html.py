"""What every widget of the book shares: ids, the palette, inline math and
the one stylesheet. It imports no other booktools module.

The widgets (`booktools.widgets.StepToggle`, `booktools.explore`'s
explorer, `booktools.stepper`'s backward-pass stepper) are HTML and CSS with
no script: radio inputs, labels and ``:checked``/``:has()`` rules in the
stylesheet ``booktools/kit.css`` (`KIT_CSS`), plus the few rules generated
per step (`base_css`) and the explorer's (`booktools.explore.generated_css`).
It reaches a page two ways:

* the built book: ``python -m booktools.widgets`` writes all of it into
  the generated block of ``_assets/book.css``, which every page loads (a test
  checks the block is up to date);
* JupyterLab and Colab: the first widget a kernel shows carries it in a
  ``<style>`` element (`style_once`), the later ones don't.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from pathlib import Path

#: The book's highlight colours on a light background (see the notation
#: page); each also reaches 4.5:1 on pydata-sphinx-theme's light panel. The
#: stylesheet holds them as the variables --vjp-amber, --vjp-rose, --vjp-grey.
COLOURS = {
    "amber": "#92400E",  # what changed in this step
    "rose": "#9F1239",  # a substitution or an annotation
    "grey": "#4B5563",  # de-emphasised text
}
#: The same roles on a dark background (each at least 4.5:1 on it).
DARK_COLOURS = {"amber": "#FBBF24", "rose": "#FB7185", "grey": "#9CA3AF"}

#: The most steps one step toggle may have (a rule per step number).
MAX_STEPS = 20

KIT_CSS_FILE = Path(__file__).with_name("kit.css")
KIT_CSS = KIT_CSS_FILE.read_text(encoding="utf-8")

_SEEN: dict[str, int] = {}  # how many objects of each content were built


def uid(prefix: str, *content) -> str:
    """A deterministic id for the HTML of one object: a hash of its content
    and, for a second object of the same content in this process, a count
    (two equal widgets on one page must not share their radios).

    Random or memory-based ids would differ between runs, and nbval compares
    the text/html output of every cell with the saved one.
    """
    digest = hashlib.sha1(
        json.dumps(content, ensure_ascii=False, default=str).encode()
    ).hexdigest()[:8]
    key = f"{prefix}-{digest}"
    _SEEN[key] = _SEEN.get(key, 0) + 1
    return key if _SEEN[key] == 1 else f"{key}-{_SEEN[key]}"


_INLINE_DOLLAR = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<![\\$])\$(?!\$)")


def inline_math(text: str) -> str:
    r"""Turn ``$x$`` into ``\(x\)``: the book's typesetter and JupyterLab's
    MathJax look for ``\( \)`` in HTML."""
    return _INLINE_DOLLAR.sub(lambda m: r"\(" + m.group(1) + r"\)", text)


def escape_math(tex: str) -> str:
    """TeX for a text node: ``<``, ``>`` and ``&`` escaped, quotes kept."""
    return html.escape(tex, quote=False)


def step_css() -> str:
    """The rules generated per step number: the step toggle shows the page
    (and says the status) of its checked radio."""
    t = ".step-toggle"
    shown = ",".join(
        f'{t}:has(.step-radio[data-k="{k}"]:checked) .step-page[data-k="{k}"]'
        for k in range(1, MAX_STEPS + 1)
    )
    said = ",".join(
        f'{t}:has(.step-radio[data-k="{k}"]:checked) .step-live>[data-k="{k}"]'
        for k in range(1, MAX_STEPS + 1)
    )
    return f"{shown}{{display:block}}\n{said}{{display:inline}}\n"


def base_css() -> str:
    """`KIT_CSS` and the step rules: what every widget needs."""
    return KIT_CSS + step_css()


_SHOWN: dict[str, object] = {}  # widget kind -> the cell that showed it


def _cell() -> object:
    """The notebook cell running now (its id, which JupyterLab and
    nbclient send with each execution), or None outside one."""
    try:
        from IPython import get_ipython  # noqa: PLC0415

        kernel = getattr(get_ipython(), "kernel", None)
        return kernel.get_parent()["metadata"].get("cellId")
    except Exception:  # no IPython, no kernel, no cell id
        return None


def style_once(name: str = "", extra=None) -> str:
    """``<style>`` with `base_css` (and the rules `extra()` of the widget
    kind `name`) for the first widget a kernel shows, and again whenever
    that same cell runs again; "" for the others: a notebook's first widget
    carries the CSS for the later ones."""
    cell, css = _cell(), ""
    for kind, rules in [("", base_css)] + ([(name, extra)] if name else []):
        if kind not in _SHOWN or (cell is not None and _SHOWN[kind] == cell):
            _SHOWN[kind] = cell
            css += rules() if rules else ""
    return f"<style>{css}</style>" if css else ""


# -- the radio stepper: the step toggle's and the backward stepper's --------
def radio(
    group: str,
    k: int,
    n: int,
    *,
    checked: bool,
    cls: str,
    label: str | None = None,
) -> str:
    """Radio input k (1-based) of the group `group` (id ``{group}-{k}``),
    with a visible label `label` or, without one, an aria-label
    "Step k of n". The arrow keys move between a group's radios."""
    rid = f"{group}-{k}"
    aria = "" if label else f' aria-label="Step {k} of {n}"'
    box = (
        f'<input type="radio" class="{cls}" name="{group}" id="{rid}" '
        f'value="{k}" data-k="{k}"{aria}'
        + (" checked" if checked else "")
        + ">"
    )
    return box + (f'<label for="{rid}">{label}</label>' if label else "")


def step_nav(
    group: str,
    k: int,
    n: int,
    *,
    button: str = "",
    position: bool = False,
    keep_place: bool = False,
) -> str:
    """The labels that step from step k of n of the radios `group`:
    "Start over" (from step 3 on), "Back", optionally "Step k of n", and
    "Next". A label clicks the neighbouring radio, so it steps with no
    script. keep_place: at the ends, "Back"/"Next" stay as disabled text
    (the buttons don't move); `button`: extra classes of every label."""
    b = f"{button} " if button else ""

    def to(j: int, cls: str, word: str) -> str:
        if 1 <= j <= n:
            return f'<label class="{b}{cls}" for="{group}-{j}">{word}</label>'
        if keep_place:
            return (
                f'<span class="{b}{cls} bs-off" aria-disabled="true">'
                f"{word}</span>"
            )
        return ""

    parts = [to(1, "step-start", "Start over") if k >= 3 else ""]
    parts.append(to(k - 1, "step-back", "Back"))
    if position:
        parts.append(
            f'<span class="step-pos">Step {k} of {n}'
            + (" ∎" if k == n else "")
            + "</span>"
        )
    parts.append(to(k + 1, "step-next", "Next"))
    return "".join(p for p in parts if p)
