"""Shared by the browser tests: one headless Chromium for the whole session, and what counts as raw TeX."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
RAW_TEX = re.compile(r"\$\$|\\frac|\\langle|\\operatorname|\\mathrm|\\begin\{|\\\(|\\\[")

# Imported, not importorskip'ed: a missing Playwright fails the run instead of skipping it.
import playwright.sync_api as playwright_api  # noqa: E402


@pytest.fixture(scope="session")
def browser():
    assert Path(CHROMIUM).exists() or shutil.which(CHROMIUM), (
        f"Chromium not found at {CHROMIUM}: install it with `apt-get install -y chromium` "
        "(scripts/test.sh does) or set CHROMIUM to its path"
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
    // the reader-visible text of el without code (code may legitimately hold TeX in strings)
    const copy = el.cloneNode(true);
    copy.querySelectorAll('pre, code, script, style, mjx-container, .cell_input, .highlight')
        .forEach(n => n.remove());
    return copy.textContent;
}"""


def raw_tex_in(locator) -> list[str]:
    """Lines of reader-visible prose (not code) under locator that still hold raw TeX."""
    found = []
    for i in range(locator.count()):
        text = locator.nth(i).evaluate(PROSE_TEXT)
        found += [line.strip() for line in text.splitlines() if RAW_TEX.search(line)]
    return found
