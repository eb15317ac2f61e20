#!/usr/bin/env bash
# Set up, build the book, then run every test with one pytest command from the repository root:
# the library's unit tests, nbval on every chapter notebook (strict: stored outputs must match)
# and the browser test of the built pages in headless Chromium (installed here if missing; the
# build prints the book's PDF with it too).
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  echo "test: installing Chromium (Debian package) for the browser test"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium
fi

bash scripts/build.sh
.venv/bin/python -m pytest "$@"
