"""What the committed chapter notebooks show a reader, checked without running
them.

* every code line the rendered page shows (or unfolds) fits the column: at most
  79 characters;
* no visible cell builds a step toggle: the widget is the content, its TeX
  source is not;
* every step toggle in the saved outputs has every step checked
  (``checked=n/n`` in its repr, which `booktools.widgets.StepToggle` writes
  from the checks it ran);
* every figure has alt text that says what it shows, not a file name;
* no heading holds TeX (it would reach the browser tab title and the search
  results raw).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CHAPTERS = Path(__file__).resolve().parent.parent / "chapters"
NOTEBOOKS = sorted(p for p in CHAPTERS.glob("*.ipynb"))
REMOVED = {"remove-input", "remove-cell"}
MAX_LINE = 79
TOGGLE_REPR = re.compile(
    r"StepToggle\(steps=(\d+), step=\d+, checked=(\d+)/(\d+)"
)


def cells(nb_path: Path):
    return json.loads(nb_path.read_text())["cells"]


def tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def source(cell) -> str:
    return "".join(cell["source"])


def visible_code_cells(nb_path: Path):
    for i, cell in enumerate(cells(nb_path)):
        if cell["cell_type"] == "code" and not tags(cell) & REMOVED:
            yield i, cell


def test_there_are_chapters():
    assert len(NOTEBOOKS) >= 8, f"expected the book's chapters in {CHAPTERS}"


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_visible_code_lines_fit_the_column(nb):
    wide = [
        f"cell {i}, line {j + 1}: {len(line)} characters"
        for i, cell in visible_code_cells(nb)
        for j, line in enumerate(source(cell).splitlines())
        if len(line) > MAX_LINE
    ]
    assert not wide, (
        f"{nb.name}: code lines over {MAX_LINE} characters:\n"
        + "\n".join(wide)
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_visible_cell_builds_a_step_toggle(nb):
    shown = [
        i
        for i, cell in visible_code_cells(nb)
        if "StepToggle(" in source(cell)
    ]
    assert not shown, (
        f"{nb.name}: cells {shown} build a StepToggle and are shown on the page; "
        "tag them remove-input (the widget is the content)"
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_step_of_every_derivation_is_checked(nb):
    built = 0
    for i, cell in enumerate(cells(nb)):
        if cell["cell_type"] != "code" or "StepToggle(" not in source(cell):
            continue
        built += 1
        reprs = [
            out["data"]["text/plain"]
            for out in cell.get("outputs", [])
            if "text/plain" in out.get("data", {})
        ]
        found = [TOGGLE_REPR.search("".join(r)) for r in reprs]
        found = [m for m in found if m]
        assert found, (
            f"{nb.name}, cell {i}: builds a StepToggle but shows none"
        )
        for m in found:
            steps, checked, total = (int(g) for g in m.groups())
            assert steps == total and checked == steps, (
                f"{nb.name}, cell {i}: {m.group(0)}: give every step a check "
                "(checks=[...]; a string says why a step has no numbers)"
            )


def _alt(cell) -> str | None:
    return (
        cell.get("metadata", {}).get("mystnb", {}).get("image", {}).get("alt")
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_figure_has_real_alt_text(nb):
    bad = []
    for i, cell in enumerate(cells(nb)):
        if cell["cell_type"] != "code":
            continue
        if not any(
            "image/png" in o.get("data", {}) for o in cell.get("outputs", [])
        ):
            continue
        alt = _alt(cell)
        if (
            not alt
            or len(alt) < 20
            or re.search(r"\.(png|svg|jpg)\b|^_build", alt)
        ):
            bad.append(f"cell {i}: alt {alt!r}")
    assert not bad, (
        f"{nb.name}: figures without alt text that says what they show "
        '(metadata {"mystnb": {"image": {"alt": "..."}}}):\n' + "\n".join(bad)
    )


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_headings_hold_no_tex(nb):
    bad = [
        f"cell {i}: {line}"
        for i, cell in enumerate(cells(nb))
        if cell["cell_type"] == "markdown"
        for line in source(cell).splitlines()
        if line.startswith("#") and re.search(r"\$|\\[a-zA-Z]", line)
    ]
    assert not bad, (
        f"{nb.name}: headings with TeX (tab titles show it raw):\n"
        + "\n".join(bad)
    )
