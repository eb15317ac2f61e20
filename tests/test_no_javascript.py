"""Every chapter with JavaScript turned off: the math is typeset, every step
toggle steps (by mouse and by keyboard) and unfolds "All steps", every
Jacobian explorer answers hover and focus with its ∂ readout.

The pages are read with a browser context that runs no page script
(``java_script_enabled=False``): what a reader with scripts blocked gets,
and what a slow phone shows before its scripts arrive. Playwright's own
queries still run (they do not go through the page's scripts).

Reads the built book in BOOK_HTML (default _build/html; see conftest.py).
"""

from __future__ import annotations

import re

import pytest

from conftest import HTML, LAPTOP, PHONE, raw_tex_in

CHAPTERS = sorted(
    str(p.relative_to(HTML))
    for p in (HTML / "chapters").glob("*.html")
    if p.is_file()
)

#: the ∂ readout of the cell hovered or focused: its ::after content
AFTER = "el => getComputedStyle(el, '::after').content"


@pytest.fixture
def no_js(browser, server):
    """no_js(path, width): a page of the book, loaded with no JavaScript."""
    contexts = []

    def open_page(path, width=LAPTOP["width"]):
        context = browser.new_context(
            java_script_enabled=False,
            viewport={"width": width, "height": PHONE["height"]},
        )
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{server}/{path}", wait_until="load")
        return page

    yield open_page
    for context in contexts:
        context.close()


def test_chapters_are_built():
    assert len(CHAPTERS) >= 8, (
        f"only {len(CHAPTERS)} chapter pages in {HTML}/chapters: build the "
        "book first (scripts/build.sh), or point BOOK_HTML at a build"
    )


@pytest.mark.parametrize("path", CHAPTERS)
def test_no_raw_tex_without_javascript(no_js, path):
    page = no_js(path)
    found = raw_tex_in(page.locator(".bd-article"))
    assert not found, (
        f"{path}: {len(found)} lines of raw TeX with JavaScript off "
        f"(the math must be typeset at build time), e.g. {found[:3]}"
    )


def _shown_step(toggle) -> int:
    """The step (1-based) whose page the CSS shows."""
    shown = [
        int(page.get_attribute("data-k"))
        for page in toggle.locator(".step-page").all()
        if page.is_visible()
    ]
    assert len(shown) == 1, f"pages shown: {shown}"
    return shown[0]


def _said(toggle) -> str:
    return " ".join(
        span.inner_text().strip()
        for span in toggle.locator(".step-live > span").all()
        if span.is_visible()
    )


@pytest.mark.parametrize("path", CHAPTERS)
def test_step_toggles_work_without_javascript(no_js, path):
    page = no_js(path)
    toggles = page.locator(".step-toggle")
    for t in range(toggles.count()):
        toggle = toggles.nth(t)
        toggle.scroll_into_view_if_needed()
        n = toggle.locator(".step-radio").count()
        where = f"{path}, toggle {t + 1}"
        assert n >= 1 and _shown_step(toggle) == 1, where
        assert _said(toggle) == f"Step 1 of {n}.", where
        # mouse: the "Next" control of the page shown, to the last step
        for k in range(1, n):
            shown = toggle.locator(f'.step-page[data-k="{k}"]')
            nexts = shown.get_by_text(re.compile(r"^Next"))
            assert nexts.count() == 1, f"{where}, step {k}: no Next control"
            nexts.click()
            assert _shown_step(toggle) == k + 1, f"{where}: Next from {k}"
            assert _said(toggle) == f"Step {k + 1} of {n}.", where
        # "Start over" (from step 3 on) or "Back" leads back
        last = toggle.locator(f'.step-page[data-k="{n}"]')
        if n >= 3:
            last.get_by_text("Start over", exact=True).click()
            assert _shown_step(toggle) == 1, f"{where}: Start over"
        elif n == 2:
            last.get_by_text("Back", exact=True).click()
            assert _shown_step(toggle) == 1, f"{where}: Back"
        # keyboard: the radio group is one tab stop; the arrows step
        radio = toggle.locator(".step-radio:checked")
        radio.focus()
        if n >= 2:
            page.keyboard.press("ArrowRight")
            assert _shown_step(toggle) == 2, f"{where}: ArrowRight"
            assert page.evaluate(
                "() => document.activeElement.classList.contains('step-radio')"
            ), f"{where}: focus left the radio group"
            page.keyboard.press("ArrowLeft")
            assert _shown_step(toggle) == 1, f"{where}: ArrowLeft"
        # "All steps" opens, and shows every step
        toggle.locator(".step-jump").get_by_text("All steps").click()
        pages = toggle.locator(".step-page")
        assert all(p.is_visible() for p in pages.all()), (
            f"{where}: All steps does not show every step"
        )
        toggle.locator(".step-jump").get_by_text("All steps").click()
        assert _shown_step(toggle) == 1, f"{where}: All steps off"


@pytest.mark.parametrize("path", CHAPTERS)
def test_print_shows_every_derivation_without_javascript(no_js, path):
    page = no_js(path)
    page.emulate_media(media="print")
    for step in page.locator(".step-toggle .step-page").all():
        assert step.is_visible(), f"{path}: a step is hidden in print"


def _explorer_pages() -> list[str]:
    return [
        p
        for p in CHAPTERS
        if 'class="jacobian-explorer"'
        in (HTML / p).read_text(encoding="utf-8")
    ]


def test_some_chapters_have_explorers():
    assert len(_explorer_pages()) >= 2, _explorer_pages()


@pytest.mark.parametrize("width", [LAPTOP["width"], PHONE["width"]])
@pytest.mark.parametrize("path", _explorer_pages())
def test_explorers_answer_hover_and_focus_without_javascript(
    no_js, path, width
):
    page = no_js(path, width)
    explorers = page.locator(".jacobian-explorer")
    assert explorers.count() >= 1
    for x in range(explorers.count()):
        explorer = explorers.nth(x)
        explorer.scroll_into_view_if_needed()
        where = f"{path} at {width} px, explorer {x + 1}"
        grids = [g for g in explorer.locator(".jx-g").all() if g.is_visible()]
        assert len(grids) == 1, f"{where}: {len(grids)} heatmaps shown"
        cells = grids[0].locator("i")
        first, last = cells.first, cells.nth(cells.count() - 1)
        first.hover()
        assert "∂" in first.evaluate(AFTER), f"{where}: hover shows no ∂"
        page.mouse.move(0, 0)
        last.focus()
        readout = last.evaluate(AFTER)
        assert "∂" in readout, f"{where}: focus shows no ∂"
        assert readout.strip('"').startswith("∂")
        # switching op (or n) with the radio labels shows another heatmap
        labels = explorer.locator(".jx-ctl:not([hidden]) label")
        before = (
            grids[0].get_attribute("data-op"),
            grids[0].get_attribute("data-n"),
        )
        switched = False
        for label in labels.all():
            label.click()
            now = [
                (g.get_attribute("data-op"), g.get_attribute("data-n"))
                for g in explorer.locator(".jx-g").all()
                if g.is_visible()
            ]
            assert len(now) == 1, f"{where}: {now} shown after a switch"
            switched |= now[0] != before
        assert switched or labels.count() <= 3, (
            f"{where}: the op/n controls change nothing"
        )
