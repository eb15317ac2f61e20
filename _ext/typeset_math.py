"""Math typeset when the book is built, so no page loads a typesetting
script (a local Sphinx extension).

Sphinx keeps writing math as TeX, ``<span class="math">\\(…\\)</span>`` and
``<div class="math">\\[…\\]</div>``, but through a math renderer of our own,
``typeset``, so `sphinx.ext.mathjax` adds no MathJax script or configuration
to any page. When the build has finished, ``scripts/web/typeset.mjs`` runs
MathJax 3 in Node over every written page: the prose's math and the TeX in
cell outputs (the step toggles' and explorers' HTML, glued values) become
MathJax's CommonHTML, with MathML for screen readers, one shared stylesheet
``_static/mathjax/chtml.css`` and MathJax's TeX fonts in
``_static/mathjax/woff-v2``. A formula MathJax cannot typeset is a warning
(so a ``-W`` build fails) naming the page and the TeX.

It needs Node.js and ``scripts/web/node_modules`` (``npm ci`` there;
``scripts/vendor_js.py``, which ``scripts/build.sh`` runs, does it).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sphinx.errors import ExtensionError
from sphinx.ext.mathjax import html_visit_displaymath, html_visit_math
from sphinx.util import logging

logger = logging.getLogger(__name__)

WEB = Path(__file__).resolve().parent.parent / "scripts" / "web"
SCRIPT = WEB / "typeset.mjs"
MATHJAX = WEB / "node_modules" / "mathjax-full" / "package.json"


def _use_our_renderer(app, config):
    config.html_math_renderer = "typeset"


def typeset(outdir: Path) -> dict:
    """Typeset every page below ``outdir`` in place; MathJax's summary."""
    node = shutil.which("node")
    if node is None:
        raise ExtensionError(
            "typeset_math: Node.js is not installed, so the math cannot be "
            "typeset; install it (Debian: apt-get install -y nodejs npm) or "
            "run scripts/build.sh, which does"
        )
    if not MATHJAX.exists():
        raise ExtensionError(
            f"typeset_math: {MATHJAX.parent} is missing; install the pinned "
            "MathJax with `python scripts/vendor_js.py` (npm ci in "
            "scripts/web)"
        )
    done = subprocess.run(
        [node, str(SCRIPT), str(outdir)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ExtensionError(
            f"typeset_math: {SCRIPT.name} failed (exit {done.returncode}):"
            f"\n{done.stderr[-3000:]}"
        )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _typeset_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    summary = typeset(Path(app.outdir))
    for error in summary["errors"]:
        logger.warning(
            "typeset_math: MathJax cannot typeset %r on %s: %s",
            error["tex"],
            error["page"],
            error["message"],
            type="typeset_math",
        )
    logger.info(
        "typeset_math: %d formulas typeset on %d pages",
        summary["formulas"],
        summary["typeset"],
    )


def setup(app):
    # Sphinx's own HTML for math (mathjax's visitors: TeX in span.math and
    # div.math, equation numbers), under a renderer that loads nothing.
    app.add_html_math_renderer(
        "typeset",
        (html_visit_math, None),
        (html_visit_displaymath, None),
    )
    app.connect("config-inited", _use_our_renderer)
    # after book_html's page fixes (priority 500): they match the HTML
    # exactly as Sphinx wrote it
    app.connect("build-finished", _typeset_pages, priority=800)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
