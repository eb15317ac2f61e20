"""The backward-pass steppers on the built book (BOOK_HTML, default
_build/html), in headless Chromium: every stepper on every page steps
forward to the end and back by mouse and by keyboard, at 1280 px and 390 px,
with JavaScript on and off; each step shows one caption, one "Step k of n"
and a highlighted node; the phone page does not scroll sideways; print shows
every caption."""

from __future__ import annotations

import pytest

from conftest import HTML, LAPTOP, PHONE

STEPPER = 'class="backward-stepper"'


def _pages() -> list[str]:
    return sorted(
        str(p.relative_to(HTML))
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts
        and STEPPER in p.read_text(encoding="utf-8")
    )


PAGES = _pages() if HTML.exists() else []


def test_steppers_are_on_at_least_two_chapter_pages():
    assert HTML.exists(), f"no built book at {HTML}: build it first"
    chapters = [p for p in PAGES if p.startswith("chapters/")]
    assert len(chapters) >= 2, (
        f"backward steppers on {chapters}; the book promises them on at "
        "least two chapter pages (issue 20)"
    )


def _open(browser, server, path, viewport, js):
    context = browser.new_context(
        viewport=viewport, java_script_enabled=js, color_scheme="light"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on(
        "console",
        lambda m: errors.append(m.text) if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server}/{path}", wait_until="load")
    return context, page, errors


def _state(stepper) -> tuple[str, int, int]:
    """The visible "Step k of n", and how many captions and highlighted
    nodes show (the highlight is a 3 px stroke)."""
    status = stepper.locator(".bs-status > span:visible")
    assert status.count() == 1, "one 'Step k of n' at a time"
    captions = stepper.locator(".bs-cap:visible").count()
    highlighted = stepper.locator(".bs-node rect").evaluate_all(
        "rs => rs.filter(r => getComputedStyle(r).strokeWidth === '3px')"
        ".length"
    )
    return status.inner_text(), captions, highlighted


def _check_step(stepper, k, n):
    text, captions, highlighted = _state(stepper)
    assert text == f"Step {k} of {n}"
    assert captions == 1, f"step {k}: {captions} captions shown"
    assert highlighted >= 1, f"step {k}: no node highlighted"
    alt = stepper.locator(".bs-alt")
    shown = alt.evaluate_all(
        "ps => ps.filter(p => getComputedStyle(p).display !== 'none')"
        ".map(p => p.textContent)"
    )
    assert len(shown) == 1 and f"step {k} of {n}" in shown[0]


def _steps(stepper) -> int:
    return stepper.locator(".bs-radio").count()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize(
    "viewport", [LAPTOP, PHONE], ids=lambda v: f"{v['width']}px"
)
@pytest.mark.parametrize("path", PAGES)
def test_every_stepper_steps_by_mouse(browser, server, path, viewport, js):
    context, page, errors = _open(browser, server, path, viewport, js)
    try:
        steppers = page.locator(".backward-stepper")
        assert steppers.count() >= 1
        for i in range(steppers.count()):
            s = steppers.nth(i)
            s.scroll_into_view_if_needed()
            n = _steps(s)
            assert n >= 3
            _check_step(s, 1, n)
            assert s.locator(".step-back:visible").get_attribute(
                "aria-disabled"
            )
            for k in range(2, n + 1):
                nxt = s.locator(".step-next:visible")
                assert nxt.inner_text().startswith("Next")
                nxt.click()
                _check_step(s, k, n)
            assert s.locator(".step-next:visible").get_attribute(
                "aria-disabled"
            )
            for k in range(n - 1, 0, -1):
                back = s.locator(".step-back:visible")
                assert back.inner_text().startswith("Back")
                back.click()
                _check_step(s, k, n)
            box = s.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= (
                viewport["width"] + 1
            )
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - window.innerWidth"
        )
        assert overflow <= 1, f"the page scrolls sideways by {overflow}px"
        assert not [e for e in errors if "stepper" in e.lower()], errors
    finally:
        context.close()


@pytest.mark.parametrize("js", [True, False], ids=["js-on", "js-off"])
@pytest.mark.parametrize(
    "viewport", [LAPTOP, PHONE], ids=lambda v: f"{v['width']}px"
)
@pytest.mark.parametrize("path", PAGES)
def test_every_stepper_steps_by_keyboard(browser, server, path, viewport, js):
    context, page, _ = _open(browser, server, path, viewport, js)
    try:
        steppers = page.locator(".backward-stepper")
        for i in range(steppers.count()):
            s = steppers.nth(i)
            n = _steps(s)
            s.locator(".bs-radio:checked").focus()
            # the focused radio group shows a focus ring around the controls
            ring = s.locator(".bs-controls").evaluate(
                "c => getComputedStyle(c).outlineStyle"
            )
            assert ring == "solid"
            for k in range(2, n + 1):
                page.keyboard.press("ArrowRight")
                _check_step(s, k, n)
            for k in range(n - 1, 0, -1):
                page.keyboard.press("ArrowLeft")
                _check_step(s, k, n)
            focused = page.evaluate(
                "document.activeElement.classList.contains('bs-radio')"
            )
            assert focused, "focus left the stepper while stepping"
    finally:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_print_shows_every_caption_and_the_final_graph(browser, server, path):
    context, page, _ = _open(browser, server, path, LAPTOP, False)
    try:
        page.emulate_media(media="print")
        for i in range(page.locator(".backward-stepper").count()):
            s = page.locator(".backward-stepper").nth(i)
            n = _steps(s)
            assert s.locator(".bs-cap:visible").count() == n
            assert s.locator(".bs-controls").is_hidden()
            hidden = s.locator("svg text").evaluate_all(
                "ts => ts.filter(t => getComputedStyle(t).visibility"
                " === 'hidden').length"
            )
            assert hidden == 0, "print shows the graph's final state"
    finally:
        context.close()


CONTRAST = """el => {
    // contrast of el's text colour (SVG fill or CSS colour) against the
    // first opaque background behind it
    const rgb = c => c.match(/[\\d.]+/g).slice(0, 4).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map(v => v / 255).map(
        v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
        .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const style = getComputedStyle(el);
    const fg = rgb(el instanceof SVGElement ? style.fill : style.color);
    let n = el, bg = [255, 255, 255];
    while (n && n.nodeType === 1) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length < 4 || c[3] > 0.5) {
            if (n.tagName !== "HTML" || c.length < 4 || c[3] > 0) {
                bg = c; break;
            }
        }
        n = n.parentElement;
    }
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    return (a + 0.05) / (b + 0.05);
}"""


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_text_has_contrast_in_both_themes(browser, server, theme):
    if not PAGES:
        pytest.skip("no page with a stepper")
    context = browser.new_context(viewport=PHONE, color_scheme=theme)
    context.add_init_script(
        f"localStorage.setItem('mode', '{theme}');"
        f"localStorage.setItem('theme', '{theme}');"
    )
    page = context.new_page()
    try:
        page.goto(f"{server}/{PAGES[0]}", wait_until="load")
        s = page.locator(".backward-stepper").first
        for _ in range(_steps(s) - 1):  # the last step shows every label
            s.locator(".step-next:visible").click()
        for what in (".bs-cap:visible", ".bs-status > span:visible"):
            ratio = s.locator(what).evaluate(CONTRAST)
            assert ratio >= 4.5, f"{theme}: {what} contrast {ratio:.2f}"
        for what in ("svg .bs-expr", "svg .bs-bar", "svg .bs-elabel"):
            # SVG text sits on its node's fill or the output's background
            ratio = s.locator(what).first.evaluate(CONTRAST)
            assert ratio >= 4.5, f"{theme}: {what} contrast {ratio:.2f}"
    finally:
        context.close()
