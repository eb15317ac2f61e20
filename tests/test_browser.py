"""The rendered book in a real browser: Debian's Chromium, headless, driven by Playwright.

What a reader would see, checked page by page on the built book (`_build/html`):

* every page loads with no console error and no failed or blocked request (the machine reaches no
  CDN, so anything not served from the book itself shows up here as a failure);
* math is typeset: every math element holds MathJax output and no raw TeX is left on the page;
* every step toggle (`.step-toggle`) renders without a kernel and can be clicked through to its last
  step, each step showing typeset math;
* every image loads.

The book must be built first (`scripts/test.sh` does it). A missing build, browser or script is a
failure, never a skip. Screenshots of each toggle's last step go to `_build/screenshots/`.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest
from conftest import raw_tex_in

ROOT = Path(__file__).resolve().parent.parent
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
SHOTS = HTML.parent / "screenshots"
# Pages Sphinx makes for itself, not chapters of the book.
NOT_CHAPTERS = {"genindex.html", "search.html"}




def book_pages() -> list[str]:
    if not (HTML / "index.html").exists():
        return []
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if p.name not in NOT_CHAPTERS and "_static" not in p.parts
    )


PAGES = book_pages()


def test_book_is_built():
    assert (HTML / "index.html").exists(), (
        f"no built book at {HTML}: run `jupyter-book build . -W -n --keep-going` first "
        "(scripts/test.sh does)"
    )
    assert any(p.startswith("chapters/") for p in PAGES), f"the build has no chapter pages: {PAGES}"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def server():
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


class PageVisit:
    """Open one page, recording console errors and every request that did not succeed."""

    def __init__(self, browser, server: str, path: str):
        self.origin = server
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.page = browser.new_page(viewport={"width": 1280, "height": 900})
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", self._response)
        self.page.route("**/*", self._only_local)
        self.page.goto(f"{server}/{path}", wait_until="load")
        self.wait_for_widgets_and_math()

    def _console(self, msg):
        if msg.type == "error":
            self.errors.append(msg.text)

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def _only_local(self, route):
        if route.request.url.startswith(self.origin) or route.request.url.startswith("data:"):
            route.continue_()
        else:  # the published book must not need the network
            self.failed.append(f"{route.request.url} (not served by the book)")
            route.abort()

    def wait_for_widgets_and_math(self):
        # The HTML manager draws each saved view into a div.widget-subarea just before its
        # <script type="application/vnd.jupyter.widget-view+json">: wait until every view is drawn.
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]')]
                .every(s => s.previousElementSibling?.classList.contains('widget-subarea')
                            && s.previousElementSibling.childElementCount > 0)""",
            timeout=20_000,
        )
        self.page.wait_for_function(
            "() => window.MathJax && MathJax.startup && MathJax.startup.promise"
            " && MathJax.typesetPromise !== undefined",
            timeout=20_000,
        )
        self.page.evaluate("() => MathJax.startup.promise")
        self.settle()

    def settle(self):
        """Wait until every typesetting request, the page's and the widgets', has finished."""
        self.page.evaluate(
            "() => Promise.all([MathJax.startup.promise,"
            " window.vjpbookTypeset ? window.vjpbookTypeset(document.createElement('div')) : null])"
        )

    def close(self):
        self.page.close()


@pytest.fixture
def visit(browser, server):
    opened = []

    def _visit(path):
        v = PageVisit(browser, server, path)
        opened.append(v)
        return v

    yield _visit
    for v in opened:
        v.close()


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_cleanly(visit, path):
    v = visit(path)
    assert not v.errors, f"{path}: console errors: {v.errors}"
    assert not v.failed, f"{path}: failed requests: {v.failed}"


@pytest.mark.parametrize("path", PAGES)
def test_math_is_typeset(visit, path):
    v = visit(path)
    math = v.page.locator("div.math, span.math")
    for i in range(math.count()):
        el = math.nth(i)
        assert el.locator("mjx-container").count() > 0, (
            f"{path}: math element {i} was not typeset: {el.inner_text()[:120]!r}"
        )
    body = v.page.locator("article.bd-article")
    raw = raw_tex_in(body)
    assert not raw, f"{path}: raw TeX left on the page: {[t[:200] for t in raw]}"


@pytest.mark.parametrize("path", PAGES)
def test_images_load(visit, path):
    v = visit(path)
    broken = v.page.evaluate(
        "() => Array.from(document.images)"
        ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src)"
    )
    assert not broken, f"{path}: images that did not load: {broken}"


def _toggle_pages() -> list[str]:
    pages = []
    for path in PAGES:
        text = (HTML / path).read_text(encoding="utf-8")
        if "application/vnd.jupyter.widget-view+json" in text:
            pages.append(path)
    return pages


def test_some_page_has_step_toggles():
    assert _toggle_pages(), "no built page holds a widget: the step toggles are missing from the book"


@pytest.mark.parametrize("path", _toggle_pages())
def test_step_toggles_click_through(visit, path):
    v = visit(path)
    toggles = v.page.locator(".step-toggle")
    n_toggles = toggles.count()
    assert n_toggles > 0, f"{path}: widgets are embedded but no .step-toggle rendered"
    SHOTS.mkdir(parents=True, exist_ok=True)
    for t in range(n_toggles):
        toggle = toggles.nth(t)
        toggle.scroll_into_view_if_needed()
        n_steps = toggle.locator(".step-jump button").count()
        assert n_steps >= 1, f"{path}: toggle {t} has no jump buttons"
        seen = []
        for k in range(n_steps):
            v.settle()
            page = toggle.locator(".step-page")
            assert page.count() == 1, f"{path}: toggle {t} shows {page.count()} pages at step {k + 1}"
            active = page.locator(".step-nav button.mod-active").inner_text().strip()
            assert active.startswith(f"Step {k + 1} of {n_steps}"), (
                f"{path}: toggle {t} should show step {k + 1} of {n_steps}, shows {active!r}"
            )
            math = page.locator(".step-math")
            assert math.locator("mjx-container").count() > 0, (
                f"{path}: toggle {t}, step {k + 1}: the formula is not typeset: {math.inner_text()[:200]!r}"
            )
            raw = raw_tex_in(page)
            assert not raw, f"{path}: toggle {t}, step {k + 1}: raw TeX visible: {raw}"
            seen.append(math.inner_html())
            if k < n_steps - 1:
                visible = [b.strip() for b in page.locator(".step-nav button:visible").all_inner_texts()]
                assert "Next ▶" in visible, f"{path}: toggle {t}, step {k + 1}: no Next button in {visible}"
                if k >= 1:
                    assert "◀ Back" in visible, f"{path}: toggle {t}, step {k + 1}: no Back button in {visible}"
                page.get_by_role("button", name="Next ▶").click()
        assert len(set(seen)) == n_steps, f"{path}: toggle {t}: some steps showed the same formula"
        toggle.screenshot(path=str(SHOTS / f"{path.replace('/', '_')}-toggle{t}-last.png"))
        # start over, jump to the last step with the jump row, then go back one step
        def shown():
            return toggle.locator(".step-page .step-nav button.mod-active").inner_text().strip()

        if n_steps > 2:
            toggle.locator(".step-page").get_by_role("button", name="⟲ Start over").click()
            assert shown().startswith("Step 1 of"), f"{path}: Start over went to {shown()!r}"
            toggle.locator(".step-jump button").nth(n_steps - 1).click()
            assert shown().startswith(f"Step {n_steps} of"), f"{path}: the jump row went to {shown()!r}"
        if n_steps > 1:
            toggle.locator(".step-page").get_by_role("button", name="◀ Back").click()
            assert shown().startswith(f"Step {n_steps - 1} of"), f"{path}: Back went to {shown()!r}"
    v.settle()
    assert not v.errors, f"{path}: console errors while clicking: {v.errors}"
    assert not v.failed, f"{path}: failed requests while clicking: {v.failed}"
