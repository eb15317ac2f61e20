"""The step toggle live in JupyterLab (what a Binder reader gets): typeset and
clickable.

Starts JupyterLab from this environment on a loopback port, opens a small
notebook that shows a StepToggle, runs it with a real kernel in headless
Chromium, then clicks Next to the last step and checks that each step's formula
is typeset by JupyterLab's MathJax. The cell's output also carries the
static text/html of the book's pages; JupyterLab must show the live widget.
A missing browser fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from conftest import jupyterlab, playwright_api, raw_tex_in

STEPS = [
    r"\langle \frac{Y}{z}, dY \rangle",
    r"\frac{1}{z}\operatorname{tr}(Y^\top dY)",
    r"-\frac{1}{z}\operatorname{tr}(Y^\top X^{-1} dX X^{-1})",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from booktools.widgets import StepToggle\n"
            f"StepToggle({STEPS!r}, lhs='dz = ', notes=['from $z^2 = "
            "\\\\langle Y, Y \\\\rangle$', None, None])"
        )
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "toggle.ipynb")
    with jupyterlab(root) as url:
        yield url


def test_step_toggle_is_typeset_and_clickable_in_jupyterlab(lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab}/lab/tree/toggle.ipynb", wait_until="load")
    try:
        _run_and_click_through(page)
    except Exception as exc:
        page.screenshot(
            path=str(
                tmp_shot := Path(os.environ.get("TMPDIR", "/tmp"))
                / "jupyterlab-failure.png"
            )
        )
        raise AssertionError(
            f"{exc}\nsee the screenshot {tmp_shot}; JavaScript errors: "
            f"{errors}"
        ) from exc
    page.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"


def _run_and_click_through(page):
    page.locator(".jp-Notebook .jp-Cell .jp-InputArea-editor").first.wait_for(
        timeout=60_000
    )
    # the kernel is up when the status bar says so
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(
        timeout=60_000
    )
    # Run the cell with the kernel (the toolbar's run button; retried while the
    # kernel connects).
    toggle = page.locator(".step-toggle")
    for _ in range(12):
        page.locator(".jp-Cell").first.click()
        page.locator(
            '[data-command="notebook:run-cell-and-select-next"]'
        ).first.click()
        try:
            toggle.wait_for(timeout=5_000)
            break
        except playwright_api.TimeoutError:
            continue
    toggle.wait_for(timeout=30_000)
    # the live widget (its view outranks the static text/html in Jupyter)
    assert "widget-vbox" in (toggle.get_attribute("class") or ""), (
        "JupyterLab shows the static HTML, not the live widget"
    )
    assert toggle.locator(".step-radio").count() == 0
    n = len(STEPS)
    for k in range(n):
        step = toggle.locator(".step-page")
        step.locator(".step-math mjx-container").first.wait_for(timeout=20_000)
        assert not raw_tex_in(step), (
            f"step {k + 1}: raw TeX in JupyterLab: {step.inner_text()!r}"
        )
        active = (
            step.locator(".step-nav button.mod-active").inner_text().strip()
        )
        assert active.startswith(f"Step {k + 1} of {n}"), active
        if k < n - 1:
            step.get_by_role("button", name="Next ▶").click()
            page.wait_for_function(
                "k => document.querySelector('.step-toggle .step-nav "
                "button.mod-active')"
                "?.innerText.startsWith(`Step ${k} of`)",
                arg=k + 2,
                timeout=10_000,
            )
    assert toggle.locator(".step-page .step-note").count() == 0, (
        "the last step has no note"
    )
