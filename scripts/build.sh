#!/usr/bin/env bash
# Set up (scripts/setup.sh), install what the build runs in Node (MathJax, which typesets every
# page's math at build time: scripts/vendor_js.py), build the book into _build/html, then print
# it as one PDF into _build/pdf/book.pdf (scripts/make_pdf.py, in headless Chromium, installed
# here if missing), which is also copied to _build/html/book.pdf for the site to publish.
# Every notebook is executed during the build (or taken from the execution cache when neither it
# nor anything it imports has changed); a cell error or any Sphinx warning fails the build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python scripts/vendor_js.py

# The execution cache (_build/.jupyter_cache) knows when a notebook's code changed, not when the
# code it imports did: drop it whenever vjplib, booktools or the requirements change, so the book
# always shows what the current code computes. --all re-reads every page (cheap: unchanged
# notebooks come from the cache), so a change to _ext or _assets reaches every page too.
deps=$(find vjplib booktools -type f \( -name '*.py' -o -name '*.css' \) | LC_ALL=C sort \
       | xargs cat requirements.txt binder/requirements.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat _build/.deps-hash 2>/dev/null)" != "$deps" ]; then
  rm -rf _build/.jupyter_cache
fi
mkdir -p _build
.venv/bin/jupyter-book build --all . -W -n --keep-going
echo "$deps" > _build/.deps-hash

# The book as one PDF, printed by Chromium (Debian's package; $CHROMIUM names another one)
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "build: installing Chromium (Debian package) to print the book as a PDF"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi
.venv/bin/python scripts/make_pdf.py
echo
echo "The book is built: open $(pwd)/_build/html/index.html in a browser"
echo "(the whole book as one PDF: $(pwd)/_build/pdf/book.pdf)"
echo "(or serve it: .venv/bin/python -m http.server -d _build/html 8000, then http://localhost:8000)."
