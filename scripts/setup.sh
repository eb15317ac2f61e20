#!/usr/bin/env bash
# Set up everything the book and its tests need, on a fresh machine or an old one (idempotent):
#   - a virtual environment in .venv with everything in requirements.txt (vjplib editable),
#   - Node.js/npm, to fetch the JavaScript the rendered pages load (scripts/vendor_js.py).
# requirements.txt also serves Binder: its one --extra-index-url line (PyTorch's CPU-only wheels)
# is for Binder and is left out here, where `torch==2.13.0+cpu` is found locally and an index
# this machine cannot reach would cost seconds of retries for every package.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Node.js and npm (Debian packages)"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
grep -v '^--extra-index-url' requirements.txt > .venv/requirements-local.txt
echo "setup: installing requirements.txt into .venv"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r .venv/requirements-local.txt
