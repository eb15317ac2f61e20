"""Small fixes to the HTML the book's Sphinx extensions produce (a local Sphinx extension).

* sphinx-thebe 0.3 registers its inline configuration script once per read of the sources, and a
  Jupyter Book build reads them twice, so every page declared ``const THEBE_JS_URL`` twice: a
  JavaScript error on every page (one copy has filename None, the other ""). Drop duplicate
  scripts from each page.
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
