"""Install the JavaScript the book's build and tests use, from npm at the
versions pinned in scripts/web/package-lock.json (``npm ci``).

The pages load no library: MathJax 3 (npm ``mathjax-full``) runs in Node
when the book is built (``_ext/typeset_math.py`` runs
``scripts/web/typeset.mjs``, which copies MathJax's fonts into the built
site), and the step toggles and explorers are HTML and CSS on the page
(their text/html output), so nothing draws saved widget state.

The browser test (tests/test_browser.py) also injects axe-core, the
accessibility checker, into each page. It goes to ``_vendor/.browser-test``:
Sphinx skips dot-directories when it publishes _vendor (html_static_path), so
the book does not ship it.

Run from anywhere: ``python scripts/vendor_js.py``. Exits non-zero, naming the
file, when something is missing, so a build never silently ships a page
with its math untypeset.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "scripts" / "web"
VENDOR = ROOT / "_vendor"
STAMP = VENDOR / ".stamp"

# (source below node_modules, target below _vendor, files that must be there)
COPIES = [
    (
        "axe-core/axe.min.js",
        ".browser-test/axe.min.js",
        [".browser-test/axe.min.js"],
    ),
]
#: axe-core, for tests/test_browser.py (not published with the book)
AXE = VENDOR / ".browser-test" / "axe.min.js"
#: what the build runs in Node (_ext/typeset_math.py), used where it is
INSTALLED = [
    WEB
    / "node_modules"
    / "mathjax-full"
    / "es5"
    / "output"
    / "chtml"
    / "fonts"
    / "woff-v2",
    WEB / "node_modules" / "mathjax-full" / "js" / "mathjax.js",
]


def lock_hash() -> str:
    return hashlib.sha256((WEB / "package-lock.json").read_bytes()).hexdigest()


def required() -> list[Path]:
    return [VENDOR / f for _, _, files in COPIES for f in files] + INSTALLED


def up_to_date() -> bool:
    return (
        STAMP.exists()
        and STAMP.read_text() == lock_hash()
        and all(p.exists() for p in required())
    )


def _npm_ci() -> None:
    subprocess.run(
        [
            "npm",
            "ci",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--loglevel=error",
        ],
        cwd=WEB,
        check=True,
    )


def main() -> int:
    if up_to_date():
        print(f"vendor_js: {VENDOR.relative_to(ROOT)} is up to date")
        return 0
    modules = WEB / "node_modules"
    linked = modules.is_symlink() and all(p.exists() for p in INSTALLED)
    if linked:
        # npm ci empties node_modules before it installs: through a link to
        # another checkout's folder it would empty that one. Use it as is.
        print(f"vendor_js: using the linked {modules} as it is (no npm ci)")
    elif shutil.which("npm") is None:
        print(
            "vendor_js: npm is not installed; install Node.js and npm "
            "(Debian: apt-get install -y npm)"
        )
        return 1
    if not linked:
        _npm_ci()
    shutil.rmtree(VENDOR, ignore_errors=True)
    for source, target, _ in COPIES:
        src, dst = WEB / "node_modules" / source, VENDOR / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.map"))
        else:
            shutil.copy2(src, dst)
    missing = [str(p.relative_to(ROOT)) for p in required() if not p.exists()]
    if missing:
        print(f"vendor_js: after copying, these are still missing: {missing}")
        return 1
    STAMP.write_text(lock_hash())
    print(
        "vendor_js: installed MathJax (for the build) in "
        f"{WEB.relative_to(ROOT)} and copied axe-core into "
        f"{VENDOR.relative_to(ROOT)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
