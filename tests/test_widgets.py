"""The step toggle's HTML, its CSS and its checks (the browser tests click
the rendered result).
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

from booktools import html as kit
from booktools.widgets import (
    BOOK_CSS,
    COLOURS,
    CSS_BEGIN,
    DARK_COLOURS,
    MAX_STEPS,
    StepToggle,
    book_css_block,
    hl,
    write_book_css,
)

STEPS = [
    r"\langle Y/z, dY \rangle",
    r"\frac{1}{z}\operatorname{tr}(Y^T dY)",
    r"a",
    r"b",
    r"c",
]


@pytest.fixture
def toggle():
    return StepToggle(
        STEPS,
        lhs="dz = ",
        notes=["from $z^2 = \\langle Y, Y\\rangle$", None, None, None, "done"],
        title="dz",
    )


def test_repr_is_short_and_stable(toggle):
    assert (
        repr(toggle) == "StepToggle(steps=5, step=1, checked=0/5, title='dz')"
    )
    toggle.next()
    assert (
        repr(toggle) == "StepToggle(steps=5, step=2, checked=0/5, title='dz')"
    )
    # the check count comes before a long title
    long = StepToggle(["a", "b"], title="a title much longer than a line " * 4)
    assert repr(long).index("checked=0/2") < repr(long).index("title")
    assert not re.search(r"0x[0-9a-f]+|[0-9a-f]{32}", repr(toggle))


def test_bad_input_gets_a_clear_error():
    with pytest.raises(TypeError, match="non-empty list of LaTeX strings"):
        StepToggle([])
    with pytest.raises(TypeError, match="LaTeX strings"):
        StepToggle([1, 2])
    with pytest.raises(ValueError, match="2 steps but 1 notes"):
        StepToggle(["a", "b"], notes=["x"])


def test_hl_wraps_in_a_book_colour_class():
    assert hl("X", "amber") == r"\class{hl-amber}{X}"
    assert hl("X", "rose") == r"\class{hl-rose}{X}"
    # the class gets its colour from the kit's palette variables, which
    # hold COLOURS (light) and DARK_COLOURS (dark themes)
    css = kit.KIT_CSS
    light = css[css.index(":root{") : css.index("}")]
    dark_at = css.index('html[data-theme="dark"],body[data-jp-theme-light')
    dark = css[dark_at : css.index("}", dark_at)]
    for name in COLOURS:
        assert f".hl-{name}{{color:var(--vjp-{name})}}" in css
        assert f"--vjp-{name}:{COLOURS[name]}" in light
        assert f"--vjp-{name}:{DARK_COLOURS[name]}" in dark
    with pytest.raises(ValueError, match="unknown colour 'blue'"):
        hl("X", "blue")


def _contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #RRGGBB colours (an independent formula, WCAG
    2.1 §1.4.3).
    """

    def luminance(hex_colour):
        rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
            for c in rgb
        ]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted(
        [luminance(foreground), luminance(background)], reverse=True
    )
    return (hi + 0.05) / (lo + 0.05)


def test_highlight_colours_reach_aa_contrast_on_both_themes():
    for colour in COLOURS.values():
        assert _contrast(colour, "#FFFFFF") >= 4.5, colour
    for colour in DARK_COLOURS.values():
        assert _contrast(colour, "#121212") >= 4.5, colour


# -- the static "All steps" view
# -----------------------------------------------------------------


def test_all_steps_shows_the_same_pages_not_a_copy(toggle):
    text = toggle.to_html()
    tree = _Tree(text)
    (every,) = tree.find("input", "step-all")
    assert every[1]["type"] == "checkbox"
    assert tree.find("label", for_=every[1]["id"])[0][2] == "All steps"
    # each formula is in the HTML once: "All steps" shows the pages
    for step in STEPS:
        math = html.escape(rf"\[dz = {step}\]", quote=False)
        assert text.count(math) == 1, step
    css = kit.base_css()
    assert ".step-toggle:has(.step-all:checked) .step-page{display:block" in (
        css
    )


def test_print_shows_every_page_and_no_buttons():
    css = kit.KIT_CSS
    print_css = css[css.index("@media print{.step-toggle") :]
    print_css = print_css[: print_css.index("}}") + 2]
    assert ".step-toggle .step-jump,.step-toggle .step-nav{display:none}" in (
        print_css
    )
    assert ".step-toggle .step-page{display:block!important" in print_css


# -- every step checked
# --------------------------------------------------------------------------


def _inverse_inputs():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 4, dtype=torch.float64, generator=g) + 4 * torch.eye(
        4, dtype=torch.float64
    )
    X_dot = torch.randn(4, 4, dtype=torch.float64, generator=g)
    return X, X_dot


def _dY_toggle(steps_checks, **kw):
    steps = [s for s, _ in steps_checks]
    checks = [c for _, c in steps_checks]
    return StepToggle(
        steps,
        lhs="dY = ",
        checks=checks,
        inputs=_inverse_inputs(),
        title="dY",
        **kw,
    )


def _jvp_of_inverse(X, X_dot):
    return torch.func.jvp(torch.linalg.inv, (X,), (X_dot,))[1]


GOOD = [
    (
        r"-X^{-1}(dX)X^{-1}",
        lambda X, dX: -torch.linalg.inv(X) @ dX @ torch.linalg.inv(X),
    ),
    (
        r"-Y(dX)Y",
        lambda X, dX: -torch.linalg.solve(X, dX) @ torch.linalg.inv(X),
    ),
]


def test_value_steps_are_checked_against_the_reference_and_each_other():
    t = _dY_toggle(GOOD, reference=_jvp_of_inverse)
    assert t.check_report == ["value", "value"] and t.checked == 2
    assert repr(t) == "StepToggle(steps=2, step=1, checked=2/2, title='dY')"


def test_a_wrong_step_fails_and_names_the_step():
    wrong = GOOD + [
        (
            r"-Y^2 dX",
            lambda X, dX: -torch.linalg.inv(X) @ torch.linalg.inv(X) @ dX,
        )
    ]
    with pytest.raises(
        AssertionError, match=r"'dY', step 3 \(dY = -Y\^2 dX\) does not match"
    ):
        _dY_toggle(wrong)
    # a sign error against the reference, even in the first step
    flipped = [
        (
            r"X^{-1}(dX)X^{-1}",
            lambda X, dX: torch.linalg.inv(X) @ dX @ torch.linalg.inv(X),
        )
    ]
    with pytest.raises(
        AssertionError, match="step 1 .* does not match the reference value"
    ):
        _dY_toggle(flipped, reference=_jvp_of_inverse)


def test_equation_steps_and_stated_steps():
    t = StepToggle(
        ["XY = I", "d(XY) = 0", r"\text{definition}"],
        checks=[
            lambda X, dX: (
                X @ torch.linalg.inv(X),
                torch.eye(4, dtype=torch.float64),
            ),
            lambda X, dX: (
                dX @ torch.linalg.inv(X) + X @ _jvp_of_inverse(X, dX),
                0 * X,
            ),
            "a definition: no numbers to check",
        ],
        inputs=_inverse_inputs(),
    )
    assert t.check_report == [
        "equation",
        "equation",
        "stated: a definition: no numbers to check",
    ]
    assert t.checked == 3
    # a sign slip in the product rule is caught
    with pytest.raises(
        AssertionError, match="step 1 .* two sides of the step's equation"
    ):
        StepToggle(
            ["(dX)Y - X(dY) = 0"],
            checks=[
                lambda X, dX: (
                    dX @ torch.linalg.inv(X) - X @ _jvp_of_inverse(X, dX),
                    0 * X,
                )
            ],
            inputs=_inverse_inputs(),
        )


def test_check_errors_say_what_to_do():
    with pytest.raises(ValueError, match="2 steps but 1 checks"):
        StepToggle(["a", "b"], checks=["x"])
    with pytest.raises(
        ValueError, match="nothing to be compared with; give reference="
    ):
        StepToggle(["a"], checks=[lambda: 1.0])
    with pytest.raises(ValueError, match="say why"):
        StepToggle(["a"], checks=[" "])
    with pytest.raises(TypeError, match="returns a tensor or a number"):
        StepToggle(["a", "b"], checks=[lambda: "x", lambda: 1.0])
    with pytest.raises(
        AssertionError, match=r"shape \(2,\) does not match the shape \(3,\)"
    ):
        StepToggle(
            ["a", "b"], checks=[lambda: torch.zeros(3), lambda: torch.zeros(2)]
        )
    with pytest.raises(ValueError, match="has no checks"):
        StepToggle(["a"]).check()


# -- the static page: text/html, radio inputs and CSS, no script
# ------------------------------------------------------------------


class _Tree(HTMLParser):
    """Every start tag of an HTML fragment as (tag, attrs, text after it)."""

    def __init__(self, text):
        super().__init__()
        self.tags, self.stack = [], []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append([tag, dict(attrs), ""])
        if tag not in ("input", "br"):
            self.stack.append(self.tags[-1])

    def handle_endtag(self, tag):
        assert self.stack and self.stack[-1][0] == tag, (tag, self.stack[-1:])
        self.stack.pop()

    def handle_data(self, data):
        for open_tag in self.stack:
            open_tag[2] += data

    def find(self, tag=None, cls=None, **attrs):
        return [
            (t, a, x)
            for t, a, x in self.tags
            if (tag is None or t == tag)
            and (cls is None or cls in a.get("class", "").split())
            and all(
                a.get(k.rstrip("_").replace("_", "-")) == v
                for k, v in attrs.items()
            )
        ]


def test_html_repr_carries_the_css_once(toggle, monkeypatch):
    monkeypatch.setattr(kit, "_SHOWN", {})
    first = toggle._repr_html_()
    assert first.startswith("<style>") and kit.KIT_CSS in first
    assert first.endswith(toggle.to_html())
    assert toggle._repr_html_() == toggle.to_html()  # the CSS only once


def test_static_html_is_well_formed_and_keeps_the_root_class(toggle):
    tree = _Tree(toggle.to_html())
    assert not tree.stack, "unclosed elements"
    root = tree.tags[0]
    assert root[0] == "div" and "step-toggle" in root[1]["class"].split()
    ids = [a["id"] for _, a, _ in tree.tags if "id" in a]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert "<script" not in toggle.to_html()
    assert "<style" not in toggle.to_html()  # the CSS: _repr_html_, book.css


def test_static_html_steps_with_radios_and_labels(toggle):
    n = len(STEPS)
    tree = _Tree(toggle.to_html())
    radios = tree.find("input", "step-radio")
    assert len(radios) == n
    assert {a["type"] for _, a, _ in radios} == {"radio"}
    assert len({a["name"] for _, a, _ in radios}) == 1, "one radio group"
    assert [a["data-k"] for _, a, _ in radios] == [
        str(k) for k in range(1, n + 1)
    ]
    assert ["checked" in a for _, a, _ in radios] == [True] + [False] * (n - 1)
    step_of = {a["id"]: int(a["data-k"]) for _, a, _ in radios}
    # the jump row: a label per radio, named "Step k of n"
    for k in range(1, n + 1):
        (label,) = tree.find("label", for_=f"{toggle.uid}-{k}")[:1]
        assert label[2] == f"Step {k} of {n}"
    pages = tree.find("li", "step-page")
    assert [a["data-k"] for _, a, _ in pages] == [
        str(k) for k in range(1, n + 1)
    ]
    for k in range(1, n + 1):
        page = toggle._page(k)
        nav = {x: step_of[a["for"]] for _, a, x in _Tree(page).find("label")}
        want = {}
        if k >= 3:
            want["Start over"] = 1
        if k >= 2:
            want["Back"] = k - 1
        if k < n:
            want["Next"] = k + 1
        assert nav == want, (k, nav)
        assert f"Step {k} of {n}" in page
        assert html.escape(rf"\[dz = {STEPS[k - 1]}\]", quote=False) in page
    # the live region says the step, one span per step (CSS shows one)
    (live,) = tree.find("div", "step-live")
    assert live[1]["role"] == "status" and live[1]["aria-live"] == "polite"
    spans = [x for t, a, x in tree.find("span") if "data-k" in a]
    assert spans == [f"Step {k} of {n}." for k in range(1, n + 1)]
    # the pages are one ordered list (print and "All steps" show it all)
    (pages_list,) = tree.find("ol", "step-pages")
    assert tree.find("p", "step-title")[0][2] == "dz"


def test_static_html_shows_the_step_set_from_python(toggle):
    toggle.step = 2
    radios = _Tree(toggle.to_html()).find("input", "step-radio")
    assert ["checked" in a for _, a, _ in radios].index(True) == 2


def test_notes_are_escaped_and_keep_inline_math():
    t = StepToggle(["a < b", "c"], notes=["if $x < y$ & more", None])
    page = t._page(1)
    assert r"\[a &lt; b\]" in page
    assert r"if \(x &lt; y\) &amp; more" in page
    assert not _Tree(t.to_html()).stack


def test_ids_are_deterministic_across_processes_and_unique_in_one():
    code = (
        "from booktools.widgets import StepToggle\n"
        "a = StepToggle(['x', 'y'], title='t')\n"
        "b = StepToggle(['x', 'y'], title='t')\n"
        "print(a.uid, b.uid, a.to_html() == b.to_html())"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent.parent,
        ).stdout
        for _ in range(2)
    }
    assert len(runs) == 1, runs  # the same ids on every run
    first, second, same = runs.pop().split()
    assert re.fullmatch(r"st-[0-9a-f]{8}", first)
    assert second == first + "-2" and same == "False"
    other = StepToggle(["x", "z"], title="t")
    assert other.uid.split("-")[1] != first.split("-")[1]


def test_too_many_steps_say_what_to_do():
    with pytest.raises(ValueError, match="split the derivation"):
        StepToggle(["a"] * (MAX_STEPS + 1))
    StepToggle(["a"] * MAX_STEPS)


def test_css_has_a_rule_per_step():
    css = kit.step_css()
    for k in (1, MAX_STEPS):
        assert (
            f'.step-toggle:has(.step-radio[data-k="{k}"]:checked) '
            f'.step-page[data-k="{k}"]'
        ) in css
        assert f'.step-live>[data-k="{k}"]' in css
    assert f'data-k="{MAX_STEPS + 1}"' not in css


def test_one_dark_mode_rule_and_no_colour_outside_the_palette():
    css = kit.KIT_CSS
    assert css.count("data-theme=") == 2  # the palette and the panel rule
    assert css.count("data-jp-theme-light") == 1
    body = css[css.index("/* the frame */") :]
    for colour in [*COLOURS.values(), DARK_COLOURS["amber"]]:
        assert colour not in body, colour


def test_the_stylesheet_is_packaged():
    text = (
        Path(__file__).resolve().parent.parent / "pyproject.toml"
    ).read_text()
    assert 'booktools = ["*.css"]' in text


def test_book_css_holds_the_generated_css():
    text = (Path(__file__).resolve().parent.parent / BOOK_CSS).read_text()
    assert book_css_block() in text, (
        "_assets/book.css is out of date: run `python -m booktools.widgets`"
    )


def test_write_book_css_replaces_only_its_block(tmp_path):
    css = tmp_path / "book.css"
    css.write_text("a{color:red}\n")
    assert write_book_css(str(css)) is True
    assert write_book_css(str(css)) is False  # idempotent
    text = css.read_text()
    assert text.startswith("a{color:red}\n") and text.count(CSS_BEGIN) == 1


def test_the_css_comes_again_when_its_cell_runs_again(toggle, monkeypatch):
    monkeypatch.setattr(kit, "_SHOWN", {})
    cells = iter(["first", "second", "first"])
    monkeypatch.setattr(kit, "_cell", lambda: next(cells))
    assert toggle._repr_html_().startswith("<style>")  # the first cell
    assert not toggle._repr_html_().startswith("<style>")  # a later one
    # the first cell again (re-run): its new output replaces the old one,
    # so it carries the CSS again
    assert toggle._repr_html_().startswith("<style>")
