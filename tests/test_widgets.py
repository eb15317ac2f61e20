"""The step toggle's structure and front-end links (the browser test clicks the
rendered result).
"""

from __future__ import annotations

import re
import urllib.parse

import ipywidgets as widgets
import pytest
import torch
from ipywidgets.embed import embed_data
from ipywidgets.widgets.widget_link import Link

from booktools.widgets import (
    _CSS,
    _HIDDEN_PREFIX,
    COLOURS,
    DARK_COLOURS,
    StepToggle,
    hl,
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


def test_outermost_element_carries_the_css_class(toggle):
    assert "step-toggle" in toggle._dom_classes
    header, jump, stack, all_steps = toggle.children
    assert isinstance(header, widgets.HTML) and "<style>" in header.value
    assert (
        isinstance(jump, widgets.ToggleButtons)
        and "step-jump" in jump._dom_classes
    )
    assert isinstance(stack, widgets.Stack) and len(stack.children) == len(
        STEPS
    )
    assert isinstance(all_steps, widgets.HTMLMath)
    assert 'class="step-toggle-all"' in all_steps.value


def test_each_page_shows_its_formula_as_display_math(toggle):
    for k, page in enumerate(toggle.pages):
        math = page.children[0]
        assert isinstance(math, widgets.HTMLMath)
        assert math.value == r"\[dz = " + STEPS[k] + r"\]"
        assert (
            "mathjax_process" in math._dom_classes
        )  # the static book's MathJax only looks there


def test_notes_use_the_delimiters_the_static_book_typesets(toggle):
    note = toggle.pages[0].children[1]
    assert note.value == r"from \(z^2 = \langle Y, Y\rangle\)"
    assert (
        len(toggle.pages[1].children) == 2
    )  # no note: formula and navigation only


def test_navigation_rows_offer_back_next_and_start_over(toggle):
    n = len(STEPS)
    for k, page in enumerate(toggle.pages):
        labels = page.nav._options_labels
        assert len(labels) == n, "button j of every row must select step j"
        assert labels[k].startswith(f"Step {k + 1} of {n}")
        assert (labels[k + 1] == "Next ▶") if k + 1 < n else True
        assert (labels[k - 1] == "◀ Back") if k >= 1 else True
        if k >= 2:
            assert labels[0] == "⟲ Start over"
        visible = {k - 1, k, k + 1} | ({0} if k >= 2 else set())
        for j, label in enumerate(labels):
            assert label.startswith(_HIDDEN_PREFIX) == (j not in visible), (
                k,
                j,
                label,
            )
    assert labels[-1].endswith("∎")


def test_the_css_hides_exactly_the_hidden_buttons():
    # the browser encodes each label into data-value with encodeURIComponent
    encoded = urllib.parse.quote(_HIDDEN_PREFIX)
    assert (
        f'.step-nav button[data-value^="{encoded}"] {{ display: none; }}'
        in _CSS
    )
    assert not any(
        label.startswith(_HIDDEN_PREFIX)
        for label in ("Next ▶", "◀ Back", "⟲ Start over")
    )


def test_every_index_is_linked_in_the_front_end(toggle):
    pairs = {
        (l.source[0].model_id, l.source[1], l.target[0].model_id, l.target[1])
        for l in toggle.links
    }
    assert all(isinstance(l, Link) for l in toggle.links), (
        "links must be jslink (front end)"
    )
    assert (
        toggle.jump.model_id,
        "index",
        toggle.stack.model_id,
        "selected_index",
    ) in pairs
    for page in toggle.pages:
        assert (
            page.nav.model_id,
            "index",
            toggle.jump.model_id,
            "index",
        ) in pairs
    assert len(pairs) == len(STEPS) + 1


def test_linked_values_agree_at_start(toggle):
    # jslink copies source to target when the page loads: any disagreement
    # would move the toggle.
    assert toggle.stack.selected_index == toggle.jump.index == 0
    assert {page.nav.index for page in toggle.pages} == {0}


def test_saved_widget_state_holds_the_links_for_a_kernel_free_page(toggle):
    # A notebook saves the state of every widget the kernel knows (nbclient
    # does the same).
    state = embed_data(views=[toggle])["manager_state"]["state"]
    ours = {
        w.model_id
        for w in [toggle.jump, toggle.stack] + [p.nav for p in toggle.pages]
    }
    links = [
        m["state"]
        for m in state.values()
        if m["model_name"] == "LinkModel"
        and m["state"]["target"][0].removeprefix("IPY_MODEL_") in ours
    ]
    assert len(links) == len(STEPS) + 1
    ids = set(state)
    for link in links:
        for end in ("source", "target"):
            model_ref, trait = link[end]
            assert model_ref.removeprefix("IPY_MODEL_") in ids and trait in (
                "index",
                "selected_index",
            )
    assert any(m["model_name"] == "StackModel" for m in state.values())


def test_python_side_navigation_moves_every_linked_end(toggle):
    toggle.next()
    toggle.next()
    assert toggle.step == 2 and toggle.stack.selected_index == 2
    assert {page.nav.index for page in toggle.pages} == {2}
    toggle.back()
    assert toggle.step == 1
    toggle.reset()
    assert toggle.step == 0
    toggle.back()
    assert toggle.step == 0  # stays on the first
    toggle.step = len(STEPS) - 1
    toggle.next()
    assert toggle.step == len(STEPS) - 1  # stays on the last
    with pytest.raises(ValueError, match="not a step index"):
        toggle.step = len(STEPS)


def test_repr_is_short_and_stable(toggle):
    assert (
        repr(toggle) == "StepToggle(steps=5, step=1, checked=0/5, title='dz')"
    )
    toggle.next()
    assert (
        repr(toggle) == "StepToggle(steps=5, step=2, checked=0/5, title='dz')"
    )
    bundle = toggle._repr_mimebundle_()
    assert bundle["text/plain"] == repr(toggle)
    # ipywidgets cuts the plain-text repr at 110 characters: the check count
    # comes first
    long = StepToggle(["a", "b"], title="a title much longer than a line " * 4)
    assert "checked=0/2" in long._repr_mimebundle_()["text/plain"]
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
    # the class gets its colour from the widget's CSS, on both themes
    for name, colour in COLOURS.items():
        assert f".hl-{name} {{ color: {colour}; }}" in _CSS
    for name, colour in DARK_COLOURS.items():
        assert f'html[data-theme="dark"] .hl-{name}' in _CSS
        assert f"color: {colour}; }}" in _CSS
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


def test_all_steps_view_is_the_same_steps_in_one_aligned_display(toggle):
    value = toggle.all_steps.value
    assert value.startswith('<details class="step-toggle-all">')
    assert value.count(r"\\") == len(STEPS) - 1  # one row per step
    for k, step in enumerate(STEPS):
        assert step in value
        assert r"\class{hl-grey}{(" + str(k + 1) + ")}" in value
    assert (
        r"dz &= " + STEPS[0] in value
    )  # the left-hand side once, then "&= step"
    assert value.count("&= ") == len(STEPS)
    # notes become a numbered list keeping their step numbers
    assert (
        '<li value="1">from \\(z^2' in value
        and '<li value="5">done</li>' in value
    )


def test_all_steps_without_lhs_reads_as_implications():
    value = StepToggle(["a = b", "c = d"]).all_steps.value
    assert r"& a = b" in value and r"\Rightarrow\ & c = d" in value
    assert "<ol>" not in value  # no notes, no list


def test_print_css_unfolds_the_static_view():
    assert "@media print" in _CSS
    print_css = _CSS[_CSS.index("@media print") :]
    assert "step-toggle-all::details-content" in print_css
    assert ".step-stack { display: none" in print_css.replace(
        ".step-toggle .step-jump, .step-toggle ", "."
    )


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
