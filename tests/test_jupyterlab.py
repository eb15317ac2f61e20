"""The step toggle live in JupyterLab (what a Binder reader gets): typeset and
clickable.

Starts JupyterLab from this environment on a loopback port, opens a small
notebook that shows a StepToggle, runs it with a real kernel in headless
Chromium, then clicks Next to the last step and checks that each step's formula
is typeset by JupyterLab's MathJax. The output is the same HTML as the
book's pages, with the widget kit's CSS in a <style> element.
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


STEPPER_CELL = """import torch, vjplib
from booktools.stepper import backward_stepper

def twice(x):
    a = 3 * x
    return a + a

backward_stepper(twice, torch.tensor(0.7, dtype=torch.float64))"""


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
    stepper = nbformat.v4.new_notebook(metadata=nb.metadata)
    stepper.cells = [nbformat.v4.new_code_cell(STEPPER_CELL)]
    nbformat.write(stepper, root / "stepper.ipynb")
    with jupyterlab(root) as url:
        yield url


def test_step_toggle_is_typeset_and_clickable_in_jupyterlab(lab, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab}/lab/tree/toggle.ipynb?reset", wait_until="load")
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
    toggle = _run_first_cell(page, ".step-toggle")
    # HTML and CSS only: the radios step it, JupyterLab's MathJax typesets
    n = len(STEPS)
    assert toggle.locator(".step-radio").count() == n
    for k in range(1, n + 1):
        step = toggle.locator(f'.step-page[data-k="{k}"]')
        step.wait_for(state="visible", timeout=10_000)
        step.locator(".step-math mjx-container").first.wait_for(timeout=20_000)
        assert not raw_tex_in(step), (
            f"step {k}: raw TeX in JupyterLab: {step.inner_text()!r}"
        )
        pos = step.locator(".step-pos").inner_text().strip()
        assert pos.startswith(f"Step {k} of {n}"), pos
        assert toggle.locator(".step-page:visible").count() == 1
        if k < n:
            step.locator("label.step-next").click()
    assert toggle.locator(f'.step-page[data-k="{n}"] .step-note').count() == (
        0
    ), "the last step has no note"
    # "All steps" shows every page
    toggle.get_by_text("All steps", exact=True).click()
    assert toggle.locator(".step-page:visible").count() == n


def _run_first_cell(page, wait_for):
    """Run the notebook's first cell with the kernel (Shift+Enter in its
    editor, retried while the kernel connects); return what it shows."""
    editor = page.locator(".jp-Cell:visible .jp-InputArea-editor").first
    editor.wait_for(timeout=60_000)
    page.get_by_text("Python 3 (ipykernel) | Idle").first.wait_for(
        timeout=60_000
    )
    target = page.locator(wait_for)
    for _ in range(12):
        try:
            editor.click(timeout=5_000)
            page.keyboard.press("Shift+Enter")
            target.wait_for(timeout=5_000)
            break
        except playwright_api.TimeoutError:
            continue
    target.wait_for(timeout=30_000)
    return target


def test_backward_stepper_steps_in_jupyterlab(lab, browser):
    """The stepper's output is HTML and CSS only: once its cell has run (the
    output is then trusted), JupyterLab shows it with its style, and Next
    and Back step it, with the status line following."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{lab}/lab/tree/stepper.ipynb?reset", wait_until="load")
    stepper = _run_first_cell(page, ".backward-stepper")
    status = stepper.locator(".bs-status")
    first = status.inner_text().strip()
    assert first.startswith("Step 1 of "), first
    n = int(first.split(" of ")[1].split()[0])
    for k in range(2, n + 1):
        stepper.locator("label.step-next:visible").first.click()
        assert status.inner_text().strip().startswith(f"Step {k} of {n}")
    assert stepper.locator("label.step-next:visible").count() == 0
    stepper.locator("label.step-back:visible").first.click()
    assert status.inner_text().strip().startswith(f"Step {n - 1} of {n}")
    page.close()
    assert not errors, f"JavaScript errors in JupyterLab: {errors}"
