"""The step toggle's structure and front-end links (the browser test clicks the rendered result)."""

from __future__ import annotations

import re
import urllib.parse

import ipywidgets as widgets
import pytest
from ipywidgets.embed import embed_data
from ipywidgets.widgets.widget_link import Link

from vjplib.widgets import COLOURS, StepToggle, _CSS, _HIDDEN_PREFIX, hl

STEPS = [r"\langle Y/z, dY \rangle", r"\frac{1}{z}\operatorname{tr}(Y^T dY)", r"a", r"b", r"c"]


@pytest.fixture
def toggle():
    return StepToggle(STEPS, lhs="dz = ", notes=["from $z^2 = \\langle Y, Y\\rangle$", None, None, None, "done"], title="dz")


def test_outermost_element_carries_the_css_class(toggle):
    assert "step-toggle" in toggle._dom_classes
    header, jump, stack = toggle.children
    assert isinstance(header, widgets.HTML) and "<style>" in header.value
    assert isinstance(jump, widgets.ToggleButtons) and "step-jump" in jump._dom_classes
    assert isinstance(stack, widgets.Stack) and len(stack.children) == len(STEPS)


def test_each_page_shows_its_formula_as_display_math(toggle):
    for k, page in enumerate(toggle.pages):
        math = page.children[0]
        assert isinstance(math, widgets.HTMLMath)
        assert math.value == r"\[dz = " + STEPS[k] + r"\]"
        assert "mathjax_process" in math._dom_classes  # the static book's MathJax only looks there


def test_notes_use_the_delimiters_the_static_book_typesets(toggle):
    note = toggle.pages[0].children[1]
    assert note.value == r"from \(z^2 = \langle Y, Y\rangle\)"
    assert len(toggle.pages[1].children) == 2  # no note: formula and navigation only


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
            assert label.startswith(_HIDDEN_PREFIX) == (j not in visible), (k, j, label)
    assert labels[-1].endswith("∎")


def test_the_css_hides_exactly_the_hidden_buttons():
    # the browser encodes each label into data-value with encodeURIComponent
    encoded = urllib.parse.quote(_HIDDEN_PREFIX)
    assert f'.step-nav button[data-value^="{encoded}"] {{ display: none; }}' in _CSS
    assert not any(label.startswith(_HIDDEN_PREFIX) for label in ("Next ▶", "◀ Back", "⟲ Start over"))


def test_every_index_is_linked_in_the_front_end(toggle):
    pairs = {(l.source[0].model_id, l.source[1], l.target[0].model_id, l.target[1]) for l in toggle.links}
    assert all(isinstance(l, Link) for l in toggle.links), "links must be jslink (front end)"
    assert (toggle.jump.model_id, "index", toggle.stack.model_id, "selected_index") in pairs
    for page in toggle.pages:
        assert (page.nav.model_id, "index", toggle.jump.model_id, "index") in pairs
    assert len(pairs) == len(STEPS) + 1


def test_linked_values_agree_at_start(toggle):
    # jslink copies source to target when the page loads: any disagreement would move the toggle.
    assert toggle.stack.selected_index == toggle.jump.index == 0
    assert {page.nav.index for page in toggle.pages} == {0}


def test_saved_widget_state_holds_the_links_for_a_kernel_free_page(toggle):
    # A notebook saves the state of every widget the kernel knows (nbclient does the same).
    state = embed_data(views=[toggle])["manager_state"]["state"]
    ours = {w.model_id for w in [toggle.jump, toggle.stack] + [p.nav for p in toggle.pages]}
    links = [
        m["state"]
        for m in state.values()
        if m["model_name"] == "LinkModel" and m["state"]["target"][0].removeprefix("IPY_MODEL_") in ours
    ]
    assert len(links) == len(STEPS) + 1
    ids = set(state)
    for link in links:
        for end in ("source", "target"):
            model_ref, trait = link[end]
            assert model_ref.removeprefix("IPY_MODEL_") in ids and trait in ("index", "selected_index")
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
    assert repr(toggle) == "StepToggle(title='dz', steps=5, step=1)"
    toggle.next()
    assert repr(toggle) == "StepToggle(title='dz', steps=5, step=2)"
    bundle = toggle._repr_mimebundle_()
    assert bundle["text/plain"] == repr(toggle)
    assert not re.search(r"0x[0-9a-f]+|[0-9a-f]{32}", repr(toggle))


def test_bad_input_gets_a_clear_error():
    with pytest.raises(TypeError, match="non-empty list of LaTeX strings"):
        StepToggle([])
    with pytest.raises(TypeError, match="LaTeX strings"):
        StepToggle([1, 2])
    with pytest.raises(ValueError, match="2 steps but 1 notes"):
        StepToggle(["a", "b"], notes=["x"])


def test_hl_wraps_in_a_book_colour():
    assert hl("X", "amber") == r"{\color{" + COLOURS["amber"] + "}{X}}"
    assert hl("X", "rose") == r"{\color{" + COLOURS["rose"] + "}{X}}"
    with pytest.raises(ValueError, match="unknown colour 'blue'"):
        hl("X", "blue")
