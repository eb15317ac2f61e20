"""The book's repository, set in one place: `repository.url` in _config.yml.

Every launch button (Binder, Colab), the repository and issue buttons, the
citation, the README and the notebooks' Colab set-up cell take the repository
from there. This script changes it everywhere at once, and (re)writes the
set-up cell at the top of every chapter notebook:

    .venv/bin/python scripts/set_repository.py OWNER/NAME   # move the book to
    github.com/OWNER/NAME .venv/bin/python scripts/set_repository.py
    # only refresh the set-up cells

After a change, re-execute the notebooks (their first cell changed) before
committing.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "_config.yml"
# Files that name the repository, besides _config.yml and the notebooks' set-up
# cells.
DERIVED = ["CITATION.cff", "README.md", "pyproject.toml"]
SETUP_CELL_ID = "colab-setup"
_URL = re.compile(
    r"^(repository:\n  url: )https://github\.com/([\w.-]+/[\w.-]+)\s*$", re.M
)
_BRANCH = re.compile(r"^repository:\n(?:  .*\n)*?  branch: (\S+)", re.M)


def repository(config: Path = CONFIG) -> str:
    """OWNER/NAME, as `repository.url` in _config.yml gives it."""
    m = _URL.search(config.read_text())
    if not m:
        raise ValueError(
            f"{config}: no `repository:` block whose `url:` is https://github.com/OWNER/NAME"
        )
    return m.group(2)


def branch(config: Path = CONFIG) -> str:
    m = _BRANCH.search(config.read_text())
    return m.group(1) if m else "main"


def setup_cell_source(repo: str, ref: str = "main") -> str:
    """The first cell of every chapter: install vjplib where it is missing
    (Colab), else nothing.
    """
    return f"""\
# Set-up for Colab or any fresh machine: install vjplib and the book's
# helpers from the book's repository when they are missing. Where the
# book is installed (Binder, a local clone, the book's own build), this
# cell does nothing.
import importlib
import importlib.util
import sys

BOOK = "git+https://github.com/{repo}@{ref}"
if importlib.util.find_spec("vjplib") is None:
    %pip install --quiet "vjplib[widgets,plot] @ {{BOOK}}"
    importlib.invalidate_caches()
if "google.colab" in sys.modules:  # Colab draws ipywidgets 8 only when asked
    from google.colab import output
    output.enable_custom_widget_manager()"""


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted((root / "chapters").glob("*.ipynb"))


def write_setup_cells(root: Path = ROOT) -> list[Path]:
    """
    Put the set-up cell first in every chapter notebook; return the notebooks
    changed.
    """
    repo, ref = repository(root / "_config.yml"), branch(root / "_config.yml")
    source, changed = setup_cell_source(repo, ref), []
    for path in notebooks(root):
        nb = nbformat.read(path, as_version=4)
        first = nb.cells[0] if nb.cells else None
        if first is not None and first.get("id") == SETUP_CELL_ID:
            if first.source == source:
                continue
            first.source = source
        else:
            cell = nbformat.v4.new_code_cell(source)
            cell.id = SETUP_CELL_ID
            cell.metadata["tags"] = ["remove-cell"]
            nb.cells.insert(0, cell)
        nbformat.write(nb, path)
        changed.append(path)
    return changed


def set_repository(new: str, root: Path = ROOT) -> None:
    """Point every button, link, citation and set-up cell at
    github.com/<new>."""
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", new):
        raise ValueError(
            f"set_repository: {new!r} is not OWNER/NAME (e.g. vjplib/vjp-book)"
        )
    config = root / "_config.yml"
    old = repository(config)
    config.write_text(
        _URL.sub(
            lambda m: m.group(1) + "https://github.com/" + new,
            config.read_text(),
        )
    )
    (old_owner, old_name), (owner, name) = old.split("/"), new.split("/")
    for rel in DERIVED:
        path = root / rel
        text = path.read_text()
        text = text.replace(f"github.com/{old}", f"github.com/{new}")
        text = text.replace(
            f"{old_owner}.github.io/{old_name}", f"{owner}.github.io/{name}"
        )
        text = text.replace(f"gh/{old}/", f"gh/{new}/")
        path.write_text(text)
    write_setup_cells(root)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    if len(sys.argv) == 2:
        set_repository(sys.argv[1])
    changed = write_setup_cells()
    print(
        f"repository: github.com/{repository()}; set-up cells changed in "
        f"{len(changed)} notebook(s)"
        + (": re-execute them" if changed else "")
    )
