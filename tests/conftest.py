"""Shared by the browser tests: one headless Chromium for the session, a local
server for the built book (`server`), `PageVisit`/`visit` to open a page and
record its console errors and failed requests, and what counts as raw TeX."""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import os
import re
import shutil
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The built book the browser tests read (scripts/test.sh builds it there).
HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RAW_TEX = re.compile(
    r"\$\$|\\frac|\\langle|\\operatorname|\\mathrm|\\begin\{|\\\(|\\\["
)

# Imported, not importorskip'ed: a missing Playwright fails the run instead
# of skipping it.
import playwright.sync_api as playwright_api  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists() or shutil.which(CHROMIUM), (
        f"Chromium not found at {CHROMIUM}: install it with "
        "`apt-get install -y chromium` (scripts/test.sh does) or set CHROMIUM "
        "to its path"
    )
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


PROSE_TEXT = """el => {
    // the reader-visible text of el without code (code may legitimately
    // hold TeX in strings)
    const copy = el.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container,'
                          + ' .cell_input, .highlight')
        .forEach(n => n.remove());
    return copy.textContent;
}"""


def raw_tex_in(locator) -> list[str]:
    """Lines of reader-visible prose (not code) under locator that still hold
    raw TeX."""
    found = []
    for i in range(locator.count()):
        text = locator.nth(i).evaluate(PROSE_TEXT)
        found += [
            line.strip() for line in text.splitlines() if RAW_TEX.search(line)
        ]
    return found


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest's output readable
        pass


@pytest.fixture(scope="session")
def server():
    """The built book (BOOK_HTML, default _build/html) on a loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


#: Viewports the browser tests read the book at: a laptop and a phone.
LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class PageVisit:
    """Open one page, recording console errors and every request that did not
    succeed, and what the page transferred.

    ``width``/``height``: the viewport; ``theme``: "light" or "dark" (the
    colour mode pydata-sphinx-theme reads from localStorage); ``wait``:
    wait until the saved widgets are drawn and all math is typeset.
    """

    def __init__(
        self,
        browser,
        server: str,
        path: str,
        *,
        width: int = 1280,
        height: int = 900,
        theme: str = "light",
        wait: bool = True,
    ):
        if theme not in ("light", "dark"):
            raise ValueError(
                f"PageVisit: theme {theme!r} is not 'light' or 'dark'"
            )
        self.origin, self.path, self.theme = server, path, theme
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.responses: list = []
        self.context = browser.new_context(
            viewport={"width": width, "height": height},
            color_scheme=theme,
        )
        self.context.add_init_script(
            f"localStorage.setItem('mode', '{theme}');"
            f"localStorage.setItem('theme', '{theme}');"
        )
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on(
            "pageerror", lambda exc: self.errors.append(f"uncaught: {exc}")
        )
        self.page.on(
            "requestfailed",
            lambda r: self.failed.append(f"{r.url} ({r.failure})"),
        )
        self.page.on("response", self._response)
        self.page.route("**/*", self._only_local)
        start = time.perf_counter()
        self.page.goto(f"{server}/{path}", wait_until="load")
        if wait:
            self.wait_for_widgets_and_math()
        #: seconds from navigation until every widget is drawn and typeset
        self.ready_seconds = time.perf_counter() - start

    def _console(self, msg):
        if msg.type == "error":
            self.errors.append(msg.text)

    def _response(self, response):
        self.responses.append(response)
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def _only_local(self, route):
        url = route.request.url
        if url.startswith(self.origin) or url.startswith("data:"):
            route.continue_()
        else:  # the published book must not need the network
            self.failed.append(f"{url} (not served by the book)")
            route.abort()

    def wait_for_widgets_and_math(self):
        # The HTML manager draws each saved view into a div.widget-subarea
        # just before its <script type="application/vnd.jupyter.widget-view
        # +json">: wait until every view is drawn.
        self.page.wait_for_function(
            """() => [...document.querySelectorAll(
                  'script[type="application/vnd.jupyter.widget-view+json"]')]
                .every(s => s.previousElementSibling?.classList
                                .contains('widget-subarea')
                            && s.previousElementSibling.childElementCount)""",
            timeout=20_000,
        )
        self.settle()

    def settle(self):
        """Wait until the page's fonts (MathJax's among them) have loaded,
        so what is measured is laid out as the reader sees it. The math is
        typeset when the book is built (_ext/typeset_math.py): there is no
        typesetting to wait for."""
        self.page.evaluate("() => document.fonts.ready.then(() => true)")

    def weight(self) -> tuple[int, int, dict[str, int]]:
        """Bytes the page transferred: (uncompressed, gzipped, by URL).

        The test server sends files as they are; the gzipped size is what a
        web server that compresses (as GitHub Pages does) would send."""
        raw = packed = 0
        by_url: dict[str, int] = {}
        for response in self.responses:
            try:
                body = response.body()
            except Exception:  # a redirect or an aborted request: no body
                continue
            raw += len(body)
            packed += len(gzip.compress(body, compresslevel=6))
            by_url[response.url] = len(body)
        return raw, packed, by_url

    def close(self):
        self.context.close()


@pytest.fixture
def visit(browser, server):
    """visit(path, **PageVisit options): a fresh page, closed after the
    test."""
    opened = []

    def _visit(path, **options):
        v = PageVisit(browser, server, path, **options)
        opened.append(v)
        return v

    yield _visit
    for v in opened:
        v.close()


# -- JupyterLab, live (what a Binder reader gets)
# -------------------------------------------------


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def jupyterlab(root: Path):
    """Run JupyterLab from this environment on a loopback port, serving `root`;
    yield its URL.
    """
    import subprocess
    import sys
    import time
    import urllib.request

    port = _free_port()
    jupyter = Path(sys.executable).with_name("jupyter")
    env = dict(
        os.environ,
        JUPYTER_CONFIG_DIR=str(root / ".config"),
        JUPYTER_RUNTIME_DIR=str(root / ".run"),
    )
    with open(root / "lab.log", "w") as log:
        proc = subprocess.Popen(
            [
                str(jupyter),
                "lab",
                "--no-browser",
                f"--port={port}",
                "--ip=127.0.0.1",
                "--allow-root",
                "--IdentityProvider.token=",
                "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True",
                f"--ServerApp.root_dir={root}",
                "--LabApp.news_url=None",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    proc.kill()
                    tail = (root / "lab.log").read_text()[-2000:]
                    pytest.fail(
                        f"JupyterLab did not start on {url} "
                        f"(exit code {proc.poll()}):\n{tail}"
                    )
                time.sleep(0.5)
        try:
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(autouse=True)
def _default_dtype_left_alone():
    """A test that sets torch's default dtype (float64, as the chapters do)
    must put it back: later tests check dtype errors against float32."""
    import torch

    yield
    assert torch.get_default_dtype() == torch.float32, (
        "this test changed torch's default dtype and did not restore it; "
        "use a fixture that sets it and puts the old one back"
    )
