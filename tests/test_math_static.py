"""The math is typeset when the book is built (_ext/typeset_math.py, which
runs MathJax 3 in Node: scripts/web/typeset.mjs), so no page loads a
typesetting script and the math is there with JavaScript off.

* the typesetter itself, on a small page made here: prose, display math, the
  book's highlight classes, ``\\bbox``, ``aligned`` and ``\\underbrace``
  typeset; TeX in code, ``<pre>`` and scripts left alone; a formula MathJax
  cannot typeset reported with its page and its TeX; every other byte of the
  page kept;
* the built book (BOOK_HTML, default _build/html; see conftest.py): no page
  loads MathJax or configures it; every Sphinx math element holds a
  typeset formula with MathML beside it for screen readers; every page with
  math links the one shared stylesheet, whose fonts are served by the book;
* in Chromium with JavaScript off: no raw TeX in the visible text of any
  page, the formulas have their size, MathJax's fonts load, and the
  highlight colours apply, in the light and the dark theme.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from conftest import HTML, LAPTOP, PHONE, RAW_TEX, ROOT, raw_tex_in

sys.path.insert(0, str(ROOT / "_ext"))
import typeset_math  # noqa: E402

PAGES = sorted(
    str(p.relative_to(HTML))
    for p in HTML.glob("**/*.html")
    if "_static" not in p.parts
    and "_sources" not in p.parts
    # index.html only redirects to the first page
    and not p.read_text(encoding="utf-8").startswith("<meta http-equiv")
)
CHAPTERS = [p for p in PAGES if p.startswith("chapters/")]

# -- the typesetter, on a page made here -------------------------------

SAMPLE = r"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>t</title></head>
<body>
<p>Inline <span class="math notranslate nohighlight">\(\class{hl-amber}{\dot x}
 = J\,\dot u\)</span> &amp; text &lt;kept&gt;.</p>
<div class="math notranslate nohighlight">
\[\begin{aligned} \bar u &amp;= J^\top \bar y \\
 &amp;= \underbrace{\bbox[2px]{\bar y}}_{\text{cotangent}} \end{aligned}\]
</div>
<div class="output text_html"><div class="step">\(\class{hl-rose}{y}\)</div>
</div>
<pre>\(not math\)</pre><p><code>"\[x\]"</code></p>
<script>var s = "\\(x\\) </p>";</script>
<textarea>\(x\)</textarea>
</body></html>
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    out = tmp_path_factory.mktemp("typeset")
    (out / "sub").mkdir()
    (out / "sub" / "page.html").write_text(SAMPLE, encoding="utf-8")
    (out / "bad.html").write_text(
        SAMPLE.replace(r"\class{hl-rose}{y}", r"\nosuchmacro{y}").replace(
            "</body>", r"<p>\(\frac{1}{\)</p></body>"
        ),
        encoding="utf-8",
    )
    summary = typeset_math.typeset(out)
    return out, summary


def test_typesetter_typesets_prose_display_and_outputs(sample):
    out, summary = sample
    html = (out / "sub" / "page.html").read_text(encoding="utf-8")
    assert summary["formulas"] == 6, summary  # 3 on each page
    assert html.count("<mjx-container") == 3
    assert html.count('display="true"') >= 1
    for cls in ("hl-amber", "hl-rose"):
        assert re.search(rf'<mjx-\w+ class="[^"]*\b{cls}\b', html), cls
    assert "mjx-munder" in html  # \underbrace
    assert "mjx-mtable" in html  # aligned
    assert "<math " in html and "<mjx-assistive-mml" in html
    # the math and only the math became MathJax's
    text = re.sub(r"<mjx-container.*?</mjx-container>", "", html, flags=re.S)
    assert not re.search(r"\\\(\\class|\\\[\\begin|\\\(\\class{hl-rose", text)
    for kept in (
        r"<pre>\(not math\)</pre>",
        r'<code>"\[x\]"</code>',
        r'<script>var s = "\\(x\\) </p>";</script>',
        r"<textarea>\(x\)</textarea>",
        "&amp; text &lt;kept&gt;.",
    ):
        assert kept in html, kept
    rel = '<link rel="stylesheet" href="../_static/mathjax/chtml.css"'
    assert html.count(rel) == 1


def test_typesetter_reports_what_it_cannot_typeset(sample):
    out, summary = sample
    errors = summary["errors"]
    assert [e["page"] for e in errors] == ["bad.html", "bad.html"], errors
    assert errors[0]["tex"] == r"\nosuchmacro{y}", errors
    assert "nosuchmacro" in errors[0]["message"], errors
    assert errors[1]["tex"] == r"\(\frac{1}{\)", errors
    assert "closing delimiter" in errors[1]["message"], errors


def test_the_build_warns_about_them(sample):
    # _ext/typeset_math.py turns each into a Sphinx warning (-W fails)
    out, _ = sample

    class App:
        outdir = str(out)

        class builder:
            format = "html"

    warned = []
    typeset_math.logger.warning = lambda *a, **k: warned.append(a)
    try:
        typeset_math._typeset_pages(App, None)
    finally:
        del typeset_math.logger.warning
    # typeset before: the failed formula is MathJax's error box now, and
    # still an error; the unclosed one is still TeX
    assert len(warned) == 2, warned
    assert "nosuchmacro" in str(warned[0]), warned
    assert "earlier build" in str(warned[0]), warned


def test_typesetter_writes_one_stylesheet_and_the_fonts(sample):
    out, _ = sample
    css = (out / "_static" / "mathjax" / "chtml.css").read_text()
    fonts = re.findall(r'url\("(woff-v2/[^"]+)"\)', css)
    assert fonts and all(
        (out / "_static" / "mathjax" / f).exists() for f in fonts
    ), fonts
    # the characters the pages used (x with a dot, the overbar) have rules
    assert "mjx-c1D465" in css and "mjx-c" in css


def test_brace_glyphs_keep_their_rules(tmp_path):
    # the rules of the glyphs "{" and "}" hold a brace in a string
    # (content: "{"); a stylesheet reader that stops at it drops them, and
    # \{x\} draws as x alone
    page = SAMPLE.replace(r"\(\class{hl-rose}{y}\)", r"\(\{x\}\)")
    (tmp_path / "page.html").write_text(page, encoding="utf-8")
    typeset_math.typeset(tmp_path)
    css = (tmp_path / "_static" / "mathjax" / "chtml.css").read_text()
    for code, char in (("7B", "{"), ("7D", "}")):
        rule = re.search(rf"mjx-c\.mjx-c{code}::before \{{([^\n]*)\}}", css)
        assert rule and f'content: "{char}"' in rule.group(1), code
    # and a selector that quotes keeps its rule whole
    block = 'mjx-container[jax="CHTML"][display="true"] {display: block;'
    assert block in css


def test_typesetting_twice_changes_nothing(sample, tmp_path):
    out, _ = sample
    again = tmp_path / "again"
    shutil.copytree(out, again)
    before = (again / "sub" / "page.html").read_text()
    summary = typeset_math.typeset(again)
    assert summary["formulas"] == 0
    assert (again / "sub" / "page.html").read_text() == before


def test_typesetter_fails_on_a_missing_book():
    done = subprocess.run(
        ["node", str(typeset_math.SCRIPT), "/nonexistent/book"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1
    assert "no such built book" in done.stderr


# -- the built book ----------------------------------------------------


def test_book_is_built():
    assert len(CHAPTERS) >= 8, (
        f"only {len(CHAPTERS)} chapter pages in {HTML}: build the book "
        "(scripts/build.sh) or point BOOK_HTML at a build"
    )


@pytest.mark.parametrize("path", PAGES)
def test_no_page_loads_a_typesetting_script(path):
    html = (HTML / path).read_text(encoding="utf-8")
    scripts = re.findall(r"<script\b[^>]*>.*?</script>", html, re.S)
    mathjax = [
        s[:160]
        for s in scripts
        if re.search(r"mathjax|katex|MathJax\s*=|MathJax\.", s, re.I)
    ]
    assert not mathjax, f"{path} loads or configures a math script: {mathjax}"


def _math_elements(html: str) -> list[str]:
    """The contents of Sphinx's math elements (span.math, div.math)."""
    found = []
    for m in re.finditer(r'<(span|div) class="math[ "]', html):
        tag = m.group(1)
        start = html.index(">", m.end()) + 1
        depth, i = 1, start
        pattern = re.compile(rf"<(/?){tag}\b")
        while depth:
            n = pattern.search(html, i)
            depth += -1 if n.group(1) else 1
            i = n.end()
        found.append(html[start:i])
    return found


@pytest.mark.parametrize("path", PAGES)
def test_math_is_typeset_with_mathml_beside_it(path):
    html = (HTML / path).read_text(encoding="utf-8")
    untypeset = [
        m[:120] for m in _math_elements(html) if "<mjx-container" not in m
    ]
    assert not untypeset, f"{path}: math left as TeX: {untypeset[:3]}"
    containers = html.count("<mjx-container")
    mathml = len(re.findall(r"<mjx-assistive-mml[^>]*><math\b", html))
    hidden = len(re.findall(r'<mjx-math\b[^>]*aria-hidden="true"', html))
    assert mathml == containers == hidden, (
        f"{path}: {containers} formulas, {mathml} with MathML for screen "
        f"readers, {hidden} with the visual rendering aria-hidden"
    )
    sheet = html.count("_static/mathjax/chtml.css") + sum(
        "/* mathjax/chtml.css */" in (HTML / "_static" / name).read_text()
        for name in re.findall(r'href="[^"]*_static/(bundle-\w+\.css)"', html)
    )
    assert sheet == (1 if containers else 0), (
        f"{path}: {containers} formulas, links the math stylesheet "
        f"{sheet} times"
    )


def test_every_chapter_has_typeset_math():
    for path in CHAPTERS:
        html = (HTML / path).read_text(encoding="utf-8")
        assert "<mjx-container" in html, f"{path}: no typeset math"


def test_stylesheet_fonts_are_in_the_book():
    css_path = HTML / "_static" / "mathjax" / "chtml.css"
    assert css_path.exists(), f"{css_path} is missing"
    css = css_path.read_text()
    fonts = re.findall(r'url\("([^"]+)"\)', css)
    assert fonts, "chtml.css names no font"
    assert all(not f.startswith(("http:", "https:", "//")) for f in fonts)
    missing = [f for f in fonts if not (css_path.parent / f).exists()]
    assert not missing, f"fonts named by chtml.css but not shipped: {missing}"
    # every character placed on any page has its rule: a glyph without one
    # is drawn as nothing
    used = set()
    for path in PAGES:
        used |= set(
            re.findall(
                r'<mjx-c class="(mjx-c[0-9A-F]+(?: TEX-\w+)?)"',
                (HTML / path).read_text(encoding="utf-8"),
            )
        )
    rules = set(re.findall(r"mjx-c\.(mjx-c[0-9A-F]+(?:\.TEX-\w+)?)", css))
    lacking = sorted(c for c in used if c.replace(" ", ".") not in rules)
    assert used and not lacking, f"characters with no CSS rule: {lacking}"


def test_cut_fonts_keep_every_character_the_math_draws():
    # _ext/book_html.py cuts MathJax's fonts to the characters of
    # chtml.css: each shipped font must still hold every one of those
    # characters that MathJax's own font (in scripts/web) holds
    from fontTools.ttLib import TTFont

    sys.path.insert(0, str(ROOT / "_ext"))
    from book_html import math_codepoints

    static = HTML / "_static" / "mathjax"
    drawn = math_codepoints((static / "chtml.css").read_text())
    source = typeset_math.WEB / "node_modules" / "mathjax-full" / "es5"
    source = source / "output" / "chtml" / "fonts" / "woff-v2"
    shipped = sorted((static / "woff-v2").glob("MathJax_*.woff"))
    assert len(shipped) >= 20, shipped
    lost = {}
    for path in shipped:
        full = set(TTFont(source / path.name).getBestCmap())
        cut = set(TTFont(path).getBestCmap())
        if (full & drawn) - cut:
            lost[path.name] = sorted(map(hex, (full & drawn) - cut))
    assert not lost, f"characters the math draws, cut from its fonts: {lost}"
    main = static / "woff-v2" / "MathJax_Main-Regular.woff"
    assert main.stat().st_size < (source / main.name).stat().st_size


# -- in the browser, JavaScript off ----------------------------------------


@pytest.fixture
def no_js(browser, server):
    """no_js(path, width, theme): a page loaded with no JavaScript; also
    returns the URLs of the fonts the page fetched."""
    contexts = []

    def open_page(path, width=LAPTOP["width"], theme="light"):
        context = browser.new_context(
            java_script_enabled=False,
            viewport={"width": width, "height": PHONE["height"]},
            color_scheme=theme,
        )
        contexts.append(context)
        page = context.new_page()
        fonts = []
        page.on(
            "response",
            lambda r: (
                fonts.append((r.url, r.status))
                if "/woff-v2/" in r.url
                else None
            ),
        )
        page.goto(f"{server}/{path}", wait_until="load")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        return page, fonts

    yield open_page
    for context in contexts:
        context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_raw_tex_in_the_text_with_javascript_off(no_js, path):
    page, fonts = no_js(path)
    found = raw_tex_in(page.locator("body"))
    # the tab title too
    if RAW_TEX.search(page.title()):
        found.append(page.title())
    assert not found, f"{path}: raw TeX with JavaScript off: {found[:3]}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_typeset_math_shows_with_javascript_off(no_js, path):
    page, fonts = no_js(path, width=PHONE["width"], theme="dark")
    # every formula laid out, as a reader who scrolls to each sees it
    # (book.css lays a block out only when it comes near the screen)
    page.evaluate(
        "() => document.head.insertAdjacentHTML('beforeend',"
        " '<style>* {content-visibility: visible !important}</style>')"
    )
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('.bd-article mjx-container')]
            .filter(m => m.checkVisibility())
            .map(m => { const r = m.getBoundingClientRect();
                        return [r.width, r.height]; })"""
    )
    assert sizes, f"{path}: no visible typeset formula"
    flat = [s for s in sizes if s[0] < 1 or s[1] < 5]
    assert not flat, f"{path}: {len(flat)} formulas drawn with no size"
    assert fonts and all(status == 200 for _, status in fonts), (
        f"{path}: MathJax's fonts did not load: {fonts}"
    )
    loaded = page.evaluate(
        """() => [...document.fonts].filter(f => f.status === 'loaded')
                    .map(f => f.family)"""
    )
    assert any("MJXTEX" in f for f in loaded), loaded


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_highlight_colours_apply_in_typeset_math(no_js, theme):
    # the step toggles' \class{hl-…}: MathJax puts the class on one of its
    # elements; the book's CSS colours it, differently in each theme. Each
    # colour is looked for on the first chapter whose math uses it.
    found = []
    for cls in ("hl-amber", "hl-rose", "hl-grey"):
        path = next(
            (
                p.relative_to(HTML).as_posix()
                for p in sorted((HTML / "chapters").glob("*.html"))
                if f'class="{cls}"' in p.read_text(encoding="utf-8")
            ),
            None,
        )
        assert path, f"no chapter's typeset math uses .{cls}"
        page, _ = no_js(path, theme=theme)
        found.append(
            page.evaluate(
                """c => {
                const el = document.querySelector('mjx-container .' + c);
                if (!el) return [c, null, null];
                const glyph = el.querySelector('mjx-c');
                const around = el.closest('mjx-container').parentElement;
                return [c, getComputedStyle(glyph).color,
                        getComputedStyle(around).color];
            }""",
                cls,
            )
            + [path]
        )
    for cls, colour, text, path in found:
        assert colour is not None, f"{path}: no .{cls} in typeset math"
        assert colour != text, (
            f"{path} ({theme}): .{cls} is drawn in the text colour {text}"
        )


def test_summary_of_the_build_is_json(tmp_path):
    # what _ext/typeset_math.py reads: one JSON line, even for no pages
    (tmp_path / "empty.html").write_text("<html><body>x</body></html>")
    summary = typeset_math.typeset(tmp_path)
    assert json.loads(json.dumps(summary)) == {
        "pages": 1,
        "typeset": 0,
        "formulas": 0,
        "errors": [],
    }
