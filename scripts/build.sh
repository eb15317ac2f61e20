#!/usr/bin/env bash
# Set up (scripts/setup.sh), fetch the pages' JavaScript, and build the book into _build/html.
# Every notebook is executed during the build; a cell error or any Sphinx warning fails it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/vendor_js.py
# --all: re-read (and so re-execute) every notebook, even one whose file did not change, so the
# book always shows what the current vjplib computes.
.venv/bin/jupyter-book build --all . -W -n --keep-going
echo
echo "The book is built: open $(pwd)/_build/html/index.html in a browser"
echo "(or serve it: .venv/bin/python -m http.server -d _build/html 8000, then http://localhost:8000)."
