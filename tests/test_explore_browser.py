"""The Jacobian explorers of the built book, in headless Chromium, no kernel.

For every built page that holds a Jacobian explorer (`.jacobian-explorer`),
at 1280 px (mouse: hover) and at 390 px (a phone: touch, tap):

* the explorer fits the width;
* hovering or tapping an entry shows "∂Y[1,0]/∂X[0,2] = −0.213": the indices
  are checked against numpy's row-major unravelling of the cell's position,
  the value against J from torch.func.jacrev of a plain torch function at the
  explorer's seeded input (not against vjplib);
* every op button redraws the heatmap (a different op, a different picture),
  every n button draws a heatmap of the right size;
* in row (column) mode a hover leaves only the entry's row (column) opaque;
* no console error and no failed request.

And the same explorer live in JupyterLab, with a kernel: hover, op, n.

The bytes the explorers add to each page (their HTML) are printed.
The book must be built first; BOOK_HTML points elsewhere (as for
tests/test_browser.py). Fewer than three pages with an explorer is a failure,
not a skip.
"""

from __future__ import annotations

import functools
import gzip
import math
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
from test_explore import REFERENCE

from booktools.explore import OPS
from conftest import HTML, jupyterlab, playwright_api

ROOT = Path(__file__).resolve().parent.parent
SHOTS = HTML.parent / "screenshots"
MIN_PAGES = 3
WIDTHS = (1280, 390)
STATE = re.compile(
    r'<script type="application/vnd\.jupyter\.widget-state'
    r'\+json">(.*?)</script>',
    re.S,
)
MINUS = "\u2212"
#: a switch on the static page: the label of a radio input
CONTROL = "label"
SHOWN = ":not([hidden])"  # the static page hides a one-choice group


def explorer_pages() -> list[str]:
    if not HTML.is_dir():
        return []
    return sorted(
        p.relative_to(HTML).as_posix()
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts
        and 'class="jacobian-explorer"' in p.read_text(encoding="utf-8")
    )


PAGES = explorer_pages()


def test_explorers_are_on_three_pages():
    assert (HTML / "index.html").exists(), (
        f"no built book at {HTML}: build it first (scripts/build.sh) or "
        "point BOOK_HTML at one"
    )
    assert len(PAGES) >= MIN_PAGES, (
        f"only {len(PAGES)} built page(s) hold a Jacobian explorer "
        f"({PAGES}); chapters 2, 3 and 7 should each call "
        "booktools.explore.jacobian_explorer"
    )


# ---------------------------------------------------------------------------
# the bytes an explorer adds to a page
# ---------------------------------------------------------------------------


def explorer_html(text: str) -> list[str]:
    """The HTML of every explorer on a page (each its root div)."""
    found = []
    for m in re.finditer(r'<div class="jacobian-explorer"', text):
        depth, pos = 0, m.start()
        for tag in re.finditer(r"<(/?)div\b", text[pos:]):
            depth += -1 if tag.group(1) else 1
            if depth == 0:
                found.append(text[pos : pos + tag.end() + 1])
                break
    return found


@pytest.mark.parametrize("path", PAGES)
def test_bytes_explorers_add_to_the_page(path):
    text = (HTML / path).read_text(encoding="utf-8")
    assert not STATE.search(text), f"{path}: saved widget state on the page"
    parts = explorer_html(text)
    assert parts and all(p.endswith("</div>") for p in parts), path
    part = "".join(parts).encode()
    page = text.encode()
    print(
        f"\n{path}: {len(parts)} explorer(s), {len(part):,} bytes of HTML "
        f"({len(gzip.compress(part)):,} gzipped); the page is "
        f"{len(page):,} bytes ({len(gzip.compress(page)):,} gzipped)"
    )
    assert len(gzip.compress(part)) < 60_000, (
        f"{path}: the explorers add more than 60 kB (gzipped) to the page; "
        "pass fewer ops or smaller sizes"
    )


# ---------------------------------------------------------------------------
# a local server and a page that records errors
# ---------------------------------------------------------------------------


class Visit:
    """One page at one width; a phone-sized one gets touch."""

    def __init__(self, browser, origin: str, path: str, width: int):
        self.phone = width < 600
        self.context = browser.new_context(
            viewport={"width": width, "height": 844 if self.phone else 900},
            is_mobile=self.phone,
            has_touch=self.phone,
        )
        self.page = self.context.new_page()
        self.errors, self.failed = [], []
        self.page.on(
            "console",
            lambda msg: msg.type == "error" and self.errors.append(msg.text),
        )
        self.page.on("pageerror", lambda e: self.errors.append(f"{e}"))
        self.page.on(
            "requestfailed",
            lambda r: self.failed.append(f"{r.url} {r.failure}"),
        )
        self.page.on(
            "response",
            lambda r: (
                r.status >= 400
                and self.failed.append(f"{r.url} HTTP {r.status}")
            ),
        )

        def only_local(route):
            url = route.request.url
            if url.startswith(origin) or url.startswith("data:"):
                route.continue_()
            else:
                self.failed.append(f"{url} (not served by the book)")
                route.abort()

        self.page.route("**/*", only_local)
        # the explorers are HTML and CSS: drawn when the page has loaded
        self.page.goto(f"{origin}/{path}", wait_until="load")

    def close(self):
        self.context.close()


# ---------------------------------------------------------------------------
# what a cell should say, from torch
# ---------------------------------------------------------------------------


@functools.cache
def reference(op: str, n: int):
    """(J as a matrix, out shape, in shape) from torch.func.jacrev."""
    _, x, ctx = OPS[op].setup(n)
    J = torch.func.jacrev(REFERENCE[op](x, ctx))(x)
    in_shape = tuple(x.shape)
    out_shape = tuple(J.shape[: J.ndim - len(in_shape)])
    M = J.reshape(math.prod(out_shape), math.prod(in_shape)).numpy()
    return M, out_shape, in_shape


def _name(name, shape, flat):
    if not shape:
        return name
    return (
        name
        + "["
        + ",".join(str(int(i)) for i in np.unravel_index(flat, shape))
        + "]"
    )


AFTER = "el => getComputedStyle(el, '::after').content"


def shown_text(cell) -> str:
    """The text of the readout box (a cell's ::after), '' when none."""
    content = cell.evaluate(AFTER)
    if content in ("none", "normal", ""):
        return ""
    # one or more CSS strings, a newline written "\a "
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', content)
    assert parts, f"readout content is not a string: {content!r}"
    return "".join(CSS_ESCAPE.sub(_unescape, part) for part in parts)


CSS_ESCAPE = re.compile(r"\\(?:([0-9a-fA-F]{1,6}) ?|(.))", re.S)


def _unescape(m) -> str:
    return chr(int(m.group(1), 16)) if m.group(1) else m.group(2)


def point_at(phone: bool, cell):
    cell.scroll_into_view_if_needed()
    if phone:
        cell.tap()
    else:
        cell.hover()


def check_readout(phone: bool, grid, r: int, c: int, where: str) -> str:
    """Point at cell (r, c) (tap on a phone); check the readout against J."""
    op, n = grid.get_attribute("data-op"), int(grid.get_attribute("data-n"))
    M, out_shape, in_shape = reference(op, n)
    cell = grid.locator(f"i.r{r}.c{c}")
    point_at(phone, cell)
    text = shown_text(cell)
    assert text, f"{where}: pointing at cell ({r}, {c}) shows no readout"
    head = text.split("\n")[0].strip()
    spec = OPS[op]
    m = re.fullmatch(r"∂(\S+)/∂(\S+) = (\S+)", head)
    assert m, f"{where}: readout {head!r} is not '∂out[..]/∂in[..] = value'"
    assert m.group(1) == _name(spec.out_name, out_shape, r), (where, head)
    assert m.group(2) == _name(spec.in_name, in_shape, c), (where, head)
    value = float(m.group(3).replace(MINUS, "-"))
    expected = M[r, c]
    assert math.isclose(value, expected, rel_tol=5e-3, abs_tol=1e-15), (
        f"{where}: {head!r} but J[{r}, {c}] = {expected!r}"
    )
    assert (expected < 0) == m.group(3).startswith(MINUS), head
    assert len(text.split("\n")) >= 2, f"{where}: no formula in {text!r}"
    assert text.replace("\n", "").startswith(
        cell.get_attribute("aria-label").replace("\n", "")
    ), f"{where}: the readout is not the cell's accessible name"
    return text


def visible_grid(explorer):
    grids = explorer.locator(".jx-g:visible")
    assert grids.count() == 1, f"{grids.count()} heatmaps visible at once"
    return grids.first


def picture(grid) -> tuple:
    """What the heatmap looks like: op, n and every cell's classes."""
    return (
        grid.get_attribute("data-op"),
        grid.get_attribute("data-n"),
        tuple(grid.evaluate("g => [...g.children].map(i => i.className)")),
    )


def opaque_cells(grid) -> list[str]:
    return grid.evaluate(
        """g => [...g.children]
             .filter(i => +getComputedStyle(i).opacity > 0.5)
             .map(i => i.className)"""
    )


def sample_cells(rows: int, cols: int, M) -> list[tuple[int, int]]:
    picks = {(0, 0), (rows - 1, cols - 1), (rows // 2, cols // 2)}
    zeros = np.argwhere(M == 0)
    if len(zeros):
        picks.add(tuple(int(i) for i in zeros[len(zeros) // 2]))
    return sorted(picks)


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", PAGES)
def test_explorer_works_without_a_kernel(browser, server, path, width):
    v = Visit(browser, server, path, width)
    try:
        _exercise(v, path, width)
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        v.page.locator(".jacobian-explorer").first.screenshot(
            path=str(SHOTS / f"{path.replace('/', '_')}-explorer-{width}.png")
        )
        v.close()
    assert not v.errors, f"{path} at {width} px: console errors {v.errors}"
    assert not v.failed, f"{path} at {width} px: failed requests {v.failed}"


def _exercise(v: Visit, path: str, width: int):
    explorers = v.page.locator(".jacobian-explorer")
    assert explorers.count() >= 1, f"{path}: no explorer was drawn"
    for e in range(explorers.count()):
        ex = explorers.nth(e)
        where = f"{path} at {width} px, explorer {e}"
        ex.scroll_into_view_if_needed()
        box = ex.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (
            f"{where}: wider than the page: {box}"
        )
        grid = visible_grid(ex)
        assert grid.bounding_box()["width"] <= width, where
        # 1. the readout, on the op and n shown first
        rows = int(grid.get_attribute("data-rows"))
        cols = int(grid.get_attribute("data-cols"))
        M = reference(
            grid.get_attribute("data-op"), int(grid.get_attribute("data-n"))
        )[0]
        assert M.shape == (rows, cols), where
        assert grid.locator("i").count() == rows * cols, where
        for r, c in sample_cells(rows, cols, M):
            check_readout(v.phone, grid, r, c, where)
        # 2. every op redraws
        pictures = [picture(grid)]
        op_buttons = ex.locator(f".jx-op{SHOWN} {CONTROL}")
        for k in range(1, op_buttons.count()):
            op_buttons.nth(k).click()
            ex.page.wait_for_timeout(50)
            grid = visible_grid(ex)
            now = picture(grid)
            assert now[0] not in [p[0] for p in pictures], (
                f"{where}: op button {k} did not switch the op ({now[0]})"
            )
            assert now[2] not in [p[2] for p in pictures], (
                f"{where}: op button {k} drew the same picture"
            )
            pictures.append(now)
            rows = int(grid.get_attribute("data-rows"))
            cols = int(grid.get_attribute("data-cols"))
            check_readout(
                v.phone, grid, rows // 2, cols - 1, f"{where}, {now[0]}"
            )
        # 3. every n draws a heatmap of its size
        n_buttons = ex.locator(f".jx-n{SHOWN} {CONTROL}")
        for k in range(n_buttons.count()):
            n_buttons.nth(k).click()
            grid = visible_grid(ex)
            n = int(n_buttons.nth(k).inner_text().strip())
            assert grid.get_attribute("data-n") == str(n), where
            M = reference(grid.get_attribute("data-op"), n)[0]
            assert grid.locator("i").count() == M.size, (
                f"{where}: n = {n} drew {grid.locator('i').count()} cells, "
                f"J has {M.size}"
            )
            check_readout(
                v.phone, grid, M.shape[0] - 1, 0, f"{where}, n = {n}"
            )
        # 4. rows and columns: the VJP / JVP of a basis vector
        grid = visible_grid(ex)
        rows = int(grid.get_attribute("data-rows"))
        cols = int(grid.get_attribute("data-cols"))
        r, c = rows - 1, cols // 2
        modes = ex.locator(f".jx-mode {CONTROL}")
        for label, key, _expect in (
            ("row", f"r{r}", rows > 1),
            ("column", f"c{c}", cols > 1),
        ):
            modes.filter(has_text=label).click()
            text = check_readout(v.phone, grid, r, c, f"{where}, {label} mode")
            assert ("VJP" if label == "row" else "JVP") in text, text
            opaque = opaque_cells(grid)
            assert opaque and all(key in cls.split() for cls in opaque), (
                f"{where}: in {label} mode, cells outside {key} stay opaque"
            )
            assert len(opaque) == (cols if label == "row" else rows), where
        modes.filter(has_text="entry").click()
        check_readout(v.phone, grid, r, c, f"{where}, entry mode")
        assert len(opaque_cells(grid)) == rows * cols, where


# ---------------------------------------------------------------------------
# live in JupyterLab (what a Binder reader gets), with a kernel
# ---------------------------------------------------------------------------

LAB_CALL = 'jacobian_explorer(["inv", "log"], sizes=[2, 3])'


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab-explorer")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            f"from booktools.explore import jacobian_explorer\n{LAB_CALL}"
        )
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "language": "python",
        "display_name": "Python 3",
    }
    nbformat.write(nb, root / "explorer.ipynb")
    with jupyterlab(root) as url:
        yield url


def test_explorer_live_in_jupyterlab(lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab}/lab/tree/explorer.ipynb", wait_until="load")
    try:
        page.locator(
            ".jp-Notebook .jp-Cell .jp-InputArea-editor"
        ).first.wait_for(timeout=60_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(
            timeout=60_000
        )
        ex = page.locator(".jacobian-explorer")
        for _ in range(12):  # retried while the kernel connects
            page.locator(".jp-Cell").first.click()
            page.locator(
                '[data-command="notebook:run-cell-and-select-next"]'
            ).first.click()
            try:
                ex.wait_for(timeout=5_000)
                break
            except playwright_api.TimeoutError:
                continue
        ex.wait_for(timeout=30_000)
        grid = visible_grid(ex)
        assert grid.get_attribute("data-op") == "inv"
        check_readout(False, grid, 1, 2, "JupyterLab, inv")
        before = picture(grid)
        # the explorer is HTML and CSS: its switches are radio labels
        ex.locator(f".jx-op{SHOWN} {CONTROL}").nth(1).click()  # log
        grid = visible_grid(ex)
        assert grid.get_attribute("data-op") == "log"
        assert picture(grid) != before
        check_readout(False, grid, 0, 0, "JupyterLab, log")
        ex.locator(f".jx-n{SHOWN} {CONTROL}").nth(1).click()  # n = 3
        grid = visible_grid(ex)
        assert grid.get_attribute("data-n") == "3"
        assert grid.locator("i").count() == 9
        check_readout(False, grid, 2, 1, "JupyterLab, log, n = 3")
    except Exception as exc:
        shot = Path(os.environ.get("TMPDIR", "/tmp")) / "lab-explorer.png"
        page.screenshot(path=str(shot))
        raise AssertionError(
            f"{exc}\nscreenshot: {shot}; JavaScript errors: {errors}"
        ) from exc
    finally:
        page.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"
