"""booktools has no import circle, and each of its modules imports alone.

The graph is read from the source with ``ast`` (module-level imports only:
an import inside a function runs when the function does, not when the module
loads); each module is then imported in a fresh interpreter.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "booktools"
MODULES = sorted(p.stem for p in PACKAGE.glob("*.py") if p.stem != "__main__")


def _imports(name: str) -> set[str]:
    """The booktools modules `name` imports at module level."""
    tree = ast.parse((PACKAGE / f"{name}.py").read_text(encoding="utf-8"))
    found = set()
    for sub in _loaded(tree.body):
        if isinstance(sub, ast.ImportFrom) and sub.module:
            if sub.module == "booktools":
                found |= {a.name for a in sub.names}
            elif sub.module.startswith("booktools."):
                found.add(sub.module.split(".")[1])
        elif isinstance(sub, ast.Import):
            for a in sub.names:
                if a.name.startswith("booktools."):
                    found.add(a.name.split(".")[1])
    return found & set(MODULES)


def _loaded(body):
    """The statements that run when the module loads: not function bodies
    (they run when called), not ``if TYPE_CHECKING:`` blocks."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(
            node.test
        ):
            continue
        yield node
        for field in ("body", "orelse", "finalbody", "handlers"):
            yield from _loaded(getattr(node, field, []) or [])


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of the graph as a list of modules, or None."""
    state: dict[str, int] = {}  # 1: on the path, 2: done

    def visit(v, path):
        state[v] = 1
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                return path[path.index(w) :] + [w]
            if w not in state:
                found = visit(w, path + [w])
                if found:
                    return found
        state[v] = 2
        return None

    for v in sorted(graph):
        if v not in state:
            found = visit(v, [v])
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_circle():
    assert _cycle({"a": {"b"}, "b": {"a"}}) == ["a", "b", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_circle_in_booktools():
    graph = {m: _imports(m) for m in MODULES}
    assert "html" in graph and graph["html"] == set(), graph["html"]
    assert "widgets" not in graph["explore"]
    assert _cycle(graph) is None, f"import circle: {_cycle(graph)}"


@pytest.mark.parametrize("name", MODULES)
def test_each_module_imports_alone(name):
    done = subprocess.run(
        [sys.executable, "-c", f"import booktools.{name}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
