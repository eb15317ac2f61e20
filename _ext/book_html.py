"""Small fixes to the HTML the book's Sphinx extensions produce (a local Sphinx
extension).

* sphinx-thebe 0.3 registers its inline configuration script once per read of
  the sources, and a Jupyter Book build reads them twice, so every page
  declared ``const THEBE_JS_URL`` twice: a JavaScript error on every page
  (one copy has filename None, the other ""). Drop duplicate scripts.
* Titles in plain text: a heading may hold math, which the build typesets, but
  a browser tab and the search results show text only, so ``\\(\\Vert
  X^{-1}\\Vert_F\\)`` became raw TeX there. `tex_to_text` turns the math of
  the page title (``<title>``) and of the titles in ``searchindex.js`` into
  Unicode text: ``‖X⁻¹‖_F``. A safety net; headings should hold no TeX.
* Phone navigation: ``sidebar-toggles.js`` (in _assets) makes the ☰ and
  contents buttons open their drawers (pydata-sphinx-theme issue #2451).
* Keyboard: ``scroll-regions.js`` puts each display equation that scrolls
  sideways (wider than the column) in the tab order, and only those.
* Weight: pydata-sphinx-theme loads ``fontawesome.js`` (1.5 MB) on every
  page "so that users can add custom icons"; the book adds none, and the
  theme's own icons come from its CSS web font. The script tag is dropped.
* First paint: `lighten` inlines documentation_options.js, defers the
  head's other scripts, drops the search, thebe and sphinx-design files a
  page does not use, and gives cell-output images their size in
  pixels, fetched last (tests/test_lighthouse.py measures what this buys).
* Names: two buttons whose accessible name hid their visible text (see
  `_FIXES`) lose the aria-label that did it.
* Icons: pydata-sphinx-theme's Font Awesome web fonts (275 KB of icons,
  fetched by every page at the highest priority, beside the fonts of the
  first screen's math) are cut down to the icons the pages use (`subset_
  icons`), a few KB; and the MathJax fonts almost every first screen uses
  are preloaded (`preload_math_fonts`), so a phone fetches them with the
  stylesheets, not after its first layout (tests/test_lighthouse.py).
* One stylesheet, cut: a page's local stylesheets become one file
  (`bundle_stylesheets`), and that file loses the rules no page can use
  (`purge_css`: selectors naming a class or id found in no page and no
  script), 70 KB gzipped of render-blocking CSS down to about 32 KB.
* Math fonts, cut: MathJax's fonts keep only the characters the book's
  math draws (`subset_math_fonts`), 120 KB of a chapter's first fonts
  down to about 50 KB.
* The PDF: every page links the whole book as one PDF, ``book.pdf`` at the
  root of the site (``scripts/make_pdf.py`` prints it from the built pages
  and puts it there): a "PDF" button among the article's header buttons
  and a "Download PDF" line in the footer; plain links, no script.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


# myst-nb writes a notebook's saved widget state into its page; the book's
# widgets also carry text/html, which the pages show (nb_mime_priority_
# overrides in _config.yml), so the state is dead weight and is dropped.
_WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (script.filename or "", tuple(sorted(script.attributes.items())))
        if script.attributes.get("type") == _WIDGET_STATE:
            continue  # saved widget state: the pages show text/html instead
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


# -- plain-text titles ---------------------------------------------------
_SYMBOLS = {
    "Vert": "‖",
    "|": "‖",
    "vert": "|",
    "lVert": "‖",
    "rVert": "‖",
    "nabla": "∇",
    "partial": "∂",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "times": "×",
    "otimes": "⊗",
    "odot": "⊙",
    "circ": "∘",
    "to": "→",
    "mapsto": "↦",
    "rightarrow": "→",
    "Rightarrow": "⇒",
    "in": "∈",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "approx": "≈",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "neq": "≠",
    "infty": "∞",
    "langle": "⟨",
    "rangle": "⟩",
    "top": "⊤",
    "mathbb": "",
    "quad": "\0",
    "qquad": "\0",
    ",": "\0",
    ";": "\0",
    "!": "",
    " ": "\0",
    "star": "⋆",
    "ast": "∗",
    "pm": "±",
    "mp": "∓",
    "sqrt": "√",
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigl": "",
    "bigr": "",
}
_GREEK = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu "
    "xi pi rho sigma tau upsilon phi chi psi omega"
).split()
for _i, _name in enumerate(_GREEK):
    _SYMBOLS[_name] = "αβγδεζηθικλμνξπρστυφχψω"[_i]
for _name, _char in zip(
    "Gamma Delta Theta Lambda Xi Pi Sigma Phi Psi Omega".split(), "ΓΔΘΛΞΠΣΦΨΩ"
):
    _SYMBOLS[_name] = _char
_SYMBOLS.update(varepsilon="ε", varphi="φ", vartheta="θ")
# accents: \dot{x} -> x with a combining dot above
_ACCENTS = {
    "dot": "\u0307",
    "ddot": "\u0308",
    "bar": "\u0304",
    "overline": "\u0305",
    "hat": "\u0302",
    "widehat": "\u0302",
    "tilde": "\u0303",
    "widetilde": "\u0303",
    "vec": "\u20d7",
}
_SUPER = dict(zip("0123456789+-−=()niT", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵀ"))
_SUPER["⊤"] = "ᵀ"
_SUB = dict(
    zip("0123456789+-−=()aeoxhklmnpst", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜ")
)
_MATH = re.compile(
    r"\\\((.+?)\\\)|\\\[(.+?)\\\]|\$\$(.+?)\$\$|\$(.+?)\$", re.S
)
_GROUP = r"\{((?:[^{}]|\{[^{}]*\})*)\}"  # one level of nested braces


def _script(body: str, table: dict, mark: str) -> str:
    if body and all(c in table for c in body):
        return "".join(table[c] for c in body)
    return mark + (body if len(body) == 1 else "(" + body + ")")


def _frac(m) -> str:
    num, den = (
        g if re.fullmatch(r"\w*\\?\w*", g) else "(" + g + ")"
        for g in (m.group(1), m.group(2))
    )
    return num + "/" + den


def _tex(tex: str) -> str:
    """TeX math as Unicode text; spaces as TeX sets them (around =, ⊗ …)."""
    s = re.sub(
        r"\\(?:text|textrm|mbox)\s*" + _GROUP,
        lambda m: m.group(1).replace(" ", "\0"),
        tex,
    )
    s = re.sub(
        r"\\(?:mathrm|operatorname|mathbf|mathit|mathsf"
        r"|boldsymbol|bm|mathcal|class\{[^{}]*\})\s*" + _GROUP,
        r"\1",
        s,
    )
    s = re.sub(r"\\frac\s*" + _GROUP + r"\s*" + _GROUP, _frac, s)
    s = re.sub(
        r"\\(" + "|".join(_ACCENTS) + r")\s*(?:" + _GROUP + r"|(\\?[A-Za-z]))",
        lambda m: (m.group(2) or m.group(3)) + _ACCENTS[m.group(1)],
        s,
    )
    s = re.sub(
        r"\\([A-Za-z]+)\s*|\\([|,;! ])",
        lambda m: _SYMBOLS.get(
            m.group(1) or m.group(2), m.group(1) or m.group(2)
        ),
        s,
    )
    s = re.sub(r"\s+", "", s).replace("\0", " ")
    for mark, table in (("^", _SUPER), ("_", _SUB)):
        s = re.sub(
            re.escape(mark) + r"(?:" + _GROUP + r"|(.))",
            lambda m, t=table, k=mark: _script(
                m.group(1) if m.group(1) is not None else m.group(2), t, k
            ),
            s,
        )
    s = s.replace("{", "").replace("}", "").replace("&", "")
    s = re.sub(r"\s*([=+⊗×→↦≤≥≈≠∈⇒])\s*", r" \1 ", s)
    s = re.sub(r"([,;])(?=\S)", r"\1 ", s)
    return re.sub(r"\s+", " ", s).strip()


def tex_to_text(title: str) -> str:
    """A title (HTML, possibly with TeX math) as plain Unicode text.

    >>> tex_to_text(r'The gradient of \\(\\Vert X^{-1}\\Vert_F\\) by hand')
    'The gradient of ‖X⁻¹‖_F by hand'
    """
    text = html.unescape(re.sub(r"<[^>]+>", "", title))
    text = _MATH.sub(lambda m: _tex(next(g for g in m.groups() if g)), text)
    return re.sub(r"\s+", " ", text).strip()


def _plain_title(app, pagename, templatename, context, doctree):
    if context.get("title"):
        context["title"] = tex_to_text(context["title"])


def _plain_search_titles(app, exception):
    """Rewrite the page and section titles of searchindex.js as plain text."""
    if exception is not None or app.builder.format != "html":
        return
    path = Path(app.outdir) / "searchindex.js"
    if not path.exists():
        return
    text = path.read_text(encoding="utf-8")
    match = re.fullmatch(r"(Search\.setIndex\()(.*)(\)\s*)", text, re.S)
    if not match:
        logger.warning(
            "book_html: searchindex.js is not Search.setIndex("
            "{...}); its titles were not made plain text"
        )
        return
    index = json.loads(match.group(2))
    index["titles"] = [tex_to_text(t) for t in index.get("titles", [])]
    titles: dict = {}
    for key, where in index.get("alltitles", {}).items():
        titles.setdefault(tex_to_text(key), []).extend(where)
    index["alltitles"] = titles
    body = json.dumps(index, ensure_ascii=False, separators=(",", ":"))
    path.write_text(match.group(1) + body + match.group(3), encoding="utf-8")


# -- weight and names, fixed in the written pages ------------------------
_FIXES = [
    # the theme preloads its two deferred scripts, which makes them compete
    # at high priority with the stylesheets and fonts of the first screen;
    # deferred, they arrive in time without it
    (
        re.compile(
            r'[ \t]*<link rel="preload" as="script" href="[^"]*_static/'
            r'scripts/[^"]*"\s*/?>\n?'
        ),
        "",
    ),
    # fontawesome.js: 1.5 MB of icons the book does not use (see above)
    (
        re.compile(
            r'[ \t]*<script defer src="[^"]*_static/scripts/'
            r'fontawesome\.js[^"]*"></script>\n?'
        ),
        "",
    ),
    # myst-nb names a folded cell's <summary> "Toggle hidden content", a
    # name that hides its visible text ("Show code cell source"): WCAG
    # 2.5.3, label in name (axe: label-content-name-mismatch). Without the
    # aria-label the visible text is the name.
    (re.compile(r'<summary aria-label="Toggle hidden content">'), "<summary>"),
    # pydata-sphinx-theme names its search field button "Search" while it
    # shows "Search Ctrl+K": the same WCAG 2.5.3 failure; its text is name
    # enough.
    (
        re.compile(
            r'(<button class="btn search-button-field[^"]*"[^>]*?)'
            r' aria-label="[^"]*"'
        ),
        r"\1",
    ),
]


# -- first paint: what the head makes the browser wait for ----------------
# Lighthouse (tests/test_lighthouse.py) found every classic <script src> in
# the head holding up the first paint of a phone on slow 4G, one round trip
# each, and every image of the page competing with it for bandwidth. So:
# * documentation_options.js (13 lines) is written into the page;
# * every other script of the head is deferred: it runs, in the same order,
#   once the page is parsed (Sphinx's, the theme's and myst-nb's scripts
#   all wait for DOMContentLoaded anyway);
# * Sphinx's search scripts and search index (searchtools.js, language_
#   data.js, searchindex.js), which pydata-sphinx-theme puts on every page
#   for its search-as-you-type, are dropped from the pages that do not use
#   it (search_as_you_type is off: the search box opens search.html, which
#   loads them itself);
# * thebe and sphinx-design, which Jupyter Book adds to every page, are
#   dropped from pages that use neither (no thebe button, no sd- class);
# * content images are fetched after what the first screen needs
#   (fetchpriority="low", decoding="async"; not loading="lazy":
#   tests/test_browser.py wants every image loaded without scrolling) and
#   carry their size in pixels, so the page does not move when they arrive;
# * a <style> in the page's body whose CSS the page loads already goes: the
#   first widget of a notebook carries the widget kit's stylesheet for
#   JupyterLab and Colab (booktools.html.style_once), which _assets/book.css
#   holds too (booktools.widgets.book_css_block); parsed mid-page it made the
#   phone restyle what was already on screen (18 KB twice over in ch. 3);
# * in highlighted code, the spans of the token kinds that the book's
#   Pygments styles draw in the code block's own colour (names,
#   punctuation, whitespace: `PLAIN_TOKENS`) become plain text, and
#   book.css gives the block's text that colour (`.highlight pre`): the same
#   code in the same colours with fewer elements to style and lay out (on
#   chapter 3, 2,000 of 15,000; a phone's blocking time is mostly that).
_HEAD_SCRIPT = re.compile(r'<script src="([^"]+)"></script>')
_SEARCH_SCRIPTS = re.compile(
    r'[ \t]*<script src="[^"]*(?:_static/searchtools|_static/language_data|'
    r'searchindex)\.js"></script>\n?'
)
_THEBE = re.compile(
    r'[ \t]*(?:<link rel="stylesheet" type="text/css" href="[^"]*_static/'
    r'sphinx-thebe\.css[^"]*"\s*/?>|<script async="async" src="[^"]*_static/'
    r'sphinx-thebe\.js[^"]*"></script>|<script>const THEBE_JS_URL[^<]*'
    r"</script>)\n?"
)
_DESIGN = re.compile(
    r'[ \t]*(?:<link rel="stylesheet" type="text/css" href="[^"]*_static/'
    r'sphinx-design\.min\.css[^"]*"\s*/?>|<script [^>]*src="[^"]*_static/'
    r'design-tabs\.js[^"]*"></script>)\n?'
)
_BODY_STYLE = re.compile(r"<style>(.*?)</style>", re.S)
#: Pygments' classes of names, punctuation and whitespace: each style the
#: book uses (pydata-sphinx-theme's a11y-high-contrast light and dark)
#: colours them as its `.highlight` block (tests/test_site.py checks it)
PLAIN_TOKENS = ("n", "p", "w", "nn")
_CODE = re.compile(r'(<div class="highlight"><pre>)(.*?)(</pre>)', re.S)
_PLAIN_SPAN = re.compile(
    rf'<span class="(?:{"|".join(PLAIN_TOKENS)})">([^<]*)</span>'
)
_IMG = re.compile(
    r"<img (?![^>]*\b(?:loading|fetchpriority)=)"
    r'([^>]*?src="([^"]+\.png)"[^>]*?)\s*(/?)>'
)


def _png_size(path: Path) -> tuple[int, int] | None:
    head = path.read_bytes()[:24] if path.is_file() else b""
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(
        head[20:24], "big"
    )


def lighten(
    page: str, where: Path, options: str | None, loaded_css: str = ""
) -> str:
    """The page's HTML with less for the browser to wait for (see above).

    `where` is the page's folder (to read its images' sizes); `options` is
    the text of _static/documentation_options.js (None: leave it);
    `loaded_css` the text of the stylesheet every page links (book.css): a
    ``<style>`` in the body whose text is part of it is dropped.
    """
    head, sep, body = page.partition("</head>")
    if not sep:
        return page
    if "DOCUMENTATION_OPTIONS.pagename = 'search'" in head:
        return page  # the search page needs its search scripts, in order
    if "search_as_you_type = false" in head:
        head = _SEARCH_SCRIPTS.sub("", head)
    if "thebe-launch-button" not in body:
        head = _THEBE.sub("", head)
    if 'class="sd-' not in body and " sd-" not in body:
        head = _DESIGN.sub("", head)

    def script(m):
        if options is not None and "documentation_options.js" in m.group(1):
            return "<script>" + options.strip() + "</script>"
        return f'<script defer src="{m.group(1)}"></script>'

    head = _HEAD_SCRIPT.sub(script, head)

    def image(m):
        attrs, src = m.group(1), m.group(2)
        extra = ' fetchpriority="low" decoding="async"'
        size = None
        if not re.search(r"\b(?:width|height)=", attrs) and "://" not in src:
            size = _png_size(where / html.unescape(src))
        if size:
            extra += f' width="{size[0]}" height="{size[1]}"'
        return f"<img {attrs}{extra}{m.group(3)}>"

    body = _BODY_STYLE.sub(
        lambda m: "" if m.group(1).strip() in loaded_css else m.group(0), body
    )
    body = _CODE.sub(
        lambda m: m.group(1) + _PLAIN_SPAN.sub(r"\1", m.group(2)) + m.group(3),
        body,
    )
    # the logos of the launch buttons sit in the header: left as they are
    body = _IMG.sub(
        lambda m: m.group(0) if "_static/images/" in m.group(2) else image(m),
        body,
    )
    return head + sep + body


# -- the link to the whole book as one PDF (scripts/make_pdf.py) ---------
PDF_NAME = "book.pdf"
_HEADER_BUTTONS = '<div class="article-header-buttons">'
_FOOTER = '<div class="bd-footer-content__inner container">'


def link_pdf(page: str, depth: int) -> str:
    """The page with its two links to the book's PDF; `depth`: how many
    folders below the site's root the page is."""
    if "vjp-pdf-link" in page:
        return page
    href = "../" * depth + PDF_NAME
    button = (
        f'<a href="{href}" class="btn btn-sm vjp-pdf-link" '
        'title="Download the whole book as one PDF" '
        'aria-label="Download PDF"><i class="fas fa-file-pdf" '
        'aria-hidden="true"></i> PDF</a>'
    )
    footer = (
        f'<p class="vjp-pdf-link"><a href="{href}">Download PDF</a>: the '
        "whole book in one file, every derivation with all its steps.</p>"
    )
    page = page.replace(_HEADER_BUTTONS, _HEADER_BUTTONS + button, 1)
    return page.replace(_FOOTER, _FOOTER + footer, 1)


# -- icons and math fonts: what a phone's first screen waits for ----------
_FA_RULE = re.compile(
    r"([^{}]+)\{content:\s*\"\\(f[0-9a-f]{3}|e[0-9a-f]{3})\"\}"
)
_FA_FACE = re.compile(
    r"url\((\.\./vendor/fontawesome/webfonts/(fa-[a-z]+-\d+))\.woff2\)"
    r' format\("woff2"\),url\([^)]*\.ttf\) format\("truetype"\)'
)
_FA_MAPPING = re.compile(
    r'((?:\.fa-[a-z0-9-]+:(?:before|after),?)+)\{content:"[^"]*"\}'
)
_FA_NAME = re.compile(r"\bfa-([a-z0-9-]+)")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")


def icon_codepoints(css: str, used: set[str]) -> set[int]:
    """The icon characters the site can show: those of the ``.fa-NAME``
    classes in `used`, and every other one its stylesheets name (icons put
    in by CSS: admonitions, the contents' chevron ...)."""
    found = set()
    for rule in _FA_RULE.finditer(css):
        selectors = [s.strip() for s in rule.group(1).split(",")]
        names = {
            m.group(1)
            for s in selectors
            if (m := re.fullmatch(r"\.fa-([a-z0-9-]+):(?:before|after)", s))
        }
        if len(names) < len(selectors) or names & used:
            found.add(int(rule.group(2), 16))
    mapping = re.sub(
        r"\.fa-[a-z0-9-]+:(?:before|after)[^{}]*\{[^{}]*\}", "", css
    )
    found |= {ord(c) for c in _PRIVATE_USE.findall(mapping)}
    found |= {int(h, 16) for h in re.findall(r"\\(f[0-9a-f]{3})", mapping)}
    return found


def subset_icons(outdir: Path) -> None:
    """Cut the theme's Font Awesome fonts down to the icons used."""
    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    static = outdir / "_static"
    theme_css = static / "styles" / "pydata-sphinx-theme.css"
    fonts = static / "vendor" / "fontawesome" / "webfonts"
    if not theme_css.exists() or not fonts.exists():
        return
    css = theme_css.read_text(encoding="utf-8")
    if not _FA_FACE.search(css):
        return  # already done (or a theme that loads its icons otherwise)
    used = set()
    for page in list(outdir.rglob("*.html")) + list(static.rglob("*.js")):
        if page.name != "fontawesome.js":
            used |= set(_FA_NAME.findall(page.read_text(encoding="utf-8")))
    css_all = css + "".join(
        f.read_text(encoding="utf-8")
        for f in static.rglob("*.css")
        if f != theme_css
    )
    codepoints = icon_codepoints(css_all, used)
    # the rules of the icons no page uses (about 2,000 of them: a third of
    # the theme's stylesheet) go too
    css = _FA_MAPPING.sub(
        lambda m: (
            m.group(0)
            if set(re.findall(r"\.fa-([a-z0-9-]+):", m.group(1))) & used
            else ""
        ),
        css,
    )

    def face(m):
        stem = m.group(2)
        source = fonts / f"{stem}.ttf"
        font = TTFont(source)
        options = ft_subset.Options()
        options.flavor = "woff"  # zlib: no brotli needed for woff2
        options.layout_features = ["*"]
        subsetter = ft_subset.Subsetter(options)
        keep = codepoints & set(font.getBestCmap())
        subsetter.populate(unicodes=keep or {0x20})
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(fonts / f"{stem}.subset.woff")
        return f'url({m.group(1)}.subset.woff) format("woff")'

    theme_css.write_text(_FA_FACE.sub(face, css), encoding="utf-8")


# -- MathJax's fonts cut to the characters the book shows -----------------
# MathJax's CommonHTML draws every character with a CSS rule
# (mjx-c.mjx-cXXXX::before { content: "…" }) in one of its TeX fonts, and
# typeset.mjs writes the rules of every character the book uses into
# _static/mathjax/chtml.css. A page fetches each font its math needs at
# the highest priority, whole: 34 KB for the upright one, 41 KB for the
# AMS one (of which the book shows 35 characters). Cut to the characters
# of any rule in chtml.css (the same set for every font, a superset of
# what each font shows), a page's first fonts weigh about half as much.
_CONTENT = re.compile(r'content:\s*"((?:[^"\\]|\\.)*)"')
_CSS_ESCAPE = re.compile(r"\\([0-9A-Fa-f]{1,6}) ?|\\(.)|(.)", re.S)


def math_codepoints(css: str) -> set[int]:
    """Every character MathJax's stylesheet draws (its content strings)."""
    found = set()
    for text in _CONTENT.findall(css):
        for hexa, escaped, plain in _CSS_ESCAPE.findall(text):
            found.add(int(hexa, 16) if hexa else ord(escaped or plain))
    return found


def subset_math_fonts(outdir: Path) -> None:
    """Cut MathJax's fonts in _static/mathjax/woff-v2 to the characters of
    chtml.css (in place: the names, the stylesheet and preloads stay)."""
    import logging as std_logging

    from fontTools import subset as ft_subset
    from fontTools.ttLib import TTFont

    # fontTools reports every glyph it keeps, at INFO: not for the build log
    std_logging.getLogger("fontTools").setLevel(std_logging.WARNING)
    static = outdir / "_static" / "mathjax"
    css = static / "chtml.css"
    if not css.exists():
        return
    codepoints = math_codepoints(css.read_text(encoding="utf-8"))
    for path in sorted((static / "woff-v2").glob("MathJax_*.woff")):
        if path.stem == "MathJax_Zero":  # the zero-width font: 1 KB
            continue
        font = TTFont(path)
        keep = codepoints & set(font.getBestCmap())
        if len(keep) == len(font.getBestCmap()):
            continue  # nothing to cut (or cut already)
        options = ft_subset.Options()
        options.flavor = "woff"
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.drop_tables += ["FFTM"]
        subsetter = ft_subset.Subsetter(options)
        subsetter.populate(unicodes=keep or {0x20})
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(path)


#: MathJax's fonts nearly every formula uses: the zero-width one, the
#: upright and the italic TeX fonts
MATH_FONTS = ("MathJax_Zero", "MathJax_Main-Regular", "MathJax_Math-Italic")


def preload_math_fonts(page: str) -> str:
    """Preload the common MathJax fonts on a page that shows math (after
    its stylesheet link, which typeset.mjs adds)."""
    link = re.search(
        r'<link rel="stylesheet" href="([^"]*)mathjax/chtml\.css"[^>]*>', page
    )
    if not link or 'MathJax_Zero.woff" as=' in page:
        return page
    preloads = "".join(
        f'<link rel="preload" href="{link.group(1)}mathjax/woff-v2/{name}'
        '.woff" as="font" type="font/woff" crossorigin="anonymous" />'
        for name in MATH_FONTS
    )
    return page[: link.start()] + preloads + page[link.start() :]


# -- one stylesheet: what a phone's first screen waits for ----------------
_STYLESHEET = re.compile(r"<link\b[^>]*>")
_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
_CSS_IMPORT = re.compile(r'@import\s+(?:url\()?["\']([^"\']+)["\']\)?\s*;')


def _css_text(path: Path, static: Path) -> str:
    """A stylesheet's text, its imports inlined and its url()s made
    relative to `static` (where the bundle is written)."""
    text = path.read_text(encoding="utf-8")
    text = _CSS_IMPORT.sub(
        lambda m: _css_text((path.parent / m.group(1)).resolve(), static), text
    )

    def rebase(m):
        url = m.group(2)
        if re.match(r"[a-z]+:|/|#", url):
            return m.group(0)
        target = os.path.relpath((path.parent / url).resolve(), static)
        return f'url("{Path(target).as_posix()}")'

    return _CSS_URL.sub(rebase, text)


def bundle_stylesheets(
    page: str, where: Path, static: Path, made: dict | None = None
) -> str:
    """The page with its local stylesheets in one file, _static/bundle-
    HASH.css, HASH that of its content (one request instead of ten: on a
    phone's slow network each costs a round trip before the first paint).
    `made` remembers the bundles written in this build."""
    made = {} if made is None else made
    head, sep, body = page.partition("</head>")
    links = []
    for m in _STYLESHEET.finditer(head):
        tag = m.group(0)
        href = re.search(r'href="([^"]+)"', tag)
        if 'rel="stylesheet"' not in tag or not href or "media=" in tag:
            continue
        url = html.unescape(href.group(1)).split("?")[0]
        if "://" in url:
            continue
        links.append((m, (where / url).resolve()))
    if len(links) < 2 or not all(path.exists() for _, path in links):
        return page
    names = tuple(path.relative_to(static).as_posix() for _, path in links)
    if names not in made:
        text = "\n".join(
            f"/* {name} */\n" + _css_text(path, static)
            for name, (_, path) in zip(names, links)
        )
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        made[names] = static / f"bundle-{digest}.css"
        made[names].write_text(text, encoding="utf-8")
    bundle = made[names]
    rel = Path(os.path.relpath(bundle, where)).as_posix()
    out, last = [], 0
    for i, (m, _) in enumerate(links):
        out.append(head[last : m.start()])
        if i == 0:
            out.append(f'<link rel="stylesheet" href="{rel}" />')
        last = m.end()
    out.append(head[last:])
    return "".join(out) + sep + body


# -- the stylesheet cut to what the book uses ------------------------------
# pydata-sphinx-theme's stylesheet (Bootstrap included) is 311 KB, 45 KB
# gzipped, most of the bundle a phone must fetch before its first paint
# (Lighthouse: render-blocking, 70 KB gzipped in all). Most of its rules
# name classes no page of the book carries. `purge_css` drops a selector
# when it names a class or id that appears in no page and in no script of
# the site (a script may add a class: any word of a script counts as
# used), and a rule when none of its selectors is left. What a selector
# names inside a functional pseudo-class (:not(.x), :is(.x, .y)) is not
# required, so :not(.unused) keeps its rule. Everything else (@font-face,
# @keyframes, custom properties, element and attribute selectors) stays.
_SELECTOR_NAME = re.compile(r"([.#])((?:[\w-]|\\.)+)")
_PSEUDO_ARGS = re.compile(r":[\w-]+\((?:[^()]|\([^()]*\))*\)")
_GROUPS = {"media", "supports", "layer", "container", "document"}


def used_names(outdir: Path) -> set[str]:
    """Every class and id of the site's pages, and every word of its
    scripts (a script may add a class by name)."""
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        for m in re.finditer(r'\b(?:class|id)="([^"]*)"', text):
            names.update(m.group(1).split())
    for script in (outdir / "_static").rglob("*.js"):
        names.update(
            re.findall(r"[A-Za-z_][\w-]*", script.read_text(errors="replace"))
        )
    return names


def _selector_used(selector: str, names: set[str]) -> bool:
    plain = _PSEUDO_ARGS.sub("", selector)
    plain = re.sub(r"\[[^\]]*\]", "", plain)  # attribute values
    return all(
        name.replace("\\", "") in names
        for _, name in _SELECTOR_NAME.findall(plain)
    )


def purge_css(css: str, names: set[str]) -> str:
    """`css` without the rules whose every selector names a class or id
    outside `names` (see above)."""
    import tinycss2

    def cut(rules) -> str:
        out = []
        for rule in rules:
            if rule.type == "comment" and re.fullmatch(r" \S+ ", rule.value):
                out.append(f"/*{rule.value}*/")  # a bundle's "/* a.css */"
            elif rule.type == "qualified-rule":
                selectors = tinycss2.serialize(rule.prelude).strip()
                kept = [
                    s
                    for s in _split_selectors(selectors)
                    if _selector_used(s, names)
                ]
                if kept:
                    body = tinycss2.serialize(rule.content)
                    out.append(f"{','.join(kept)}{{{body}}}")
            elif rule.type == "at-rule":
                prelude = tinycss2.serialize(rule.prelude)
                if rule.content is None:
                    out.append(f"@{rule.at_keyword}{prelude};")
                elif rule.lower_at_keyword in _GROUPS:
                    inner = cut(
                        tinycss2.parse_rule_list(
                            rule.content,
                            skip_comments=True,
                            skip_whitespace=True,
                        )
                    )
                    if inner:
                        out.append(f"@{rule.at_keyword}{prelude}{{{inner}}}")
                else:
                    body = tinycss2.serialize(rule.content)
                    out.append(f"@{rule.at_keyword}{prelude}{{{body}}}")
        return "\n".join(out)

    rules = tinycss2.parse_stylesheet(
        css, skip_comments=False, skip_whitespace=True
    )
    return cut(rules) + "\n"


def _split_selectors(selectors: str) -> list[str]:
    """A selector list split at its top-level commas."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(selectors):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(selectors[start:i].strip())
            start = i + 1
    parts.append(selectors[start:].strip())
    return [p for p in parts if p]


def _light_fonts(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    subset_icons(outdir)
    subset_math_fonts(outdir)
    bundles: dict = {}
    linked = set()
    for page in outdir.rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = page.read_text(encoding="utf-8")
        fixed = preload_math_fonts(text)
        fixed = bundle_stylesheets(
            fixed, page.parent, outdir / "_static", bundles
        )
        linked |= set(re.findall(r"_static/(bundle-\w+\.css)", fixed))
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")
    # bundles of earlier builds that no page links any more
    for old in (outdir / "_static").glob("bundle-*.css"):
        if old.name not in linked:
            old.unlink()
    # the bundles cut to the rules the book's pages can use (see above)
    names = used_names(outdir)
    for bundle in bundles.values():
        bundle.write_text(
            purge_css(bundle.read_text(encoding="utf-8"), names),
            encoding="utf-8",
        )


def _fix_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    options_js = Path(app.outdir) / "_static" / "documentation_options.js"
    options = (
        options_js.read_text(encoding="utf-8") if options_js.exists() else None
    )
    book_css = Path(app.outdir) / "_static" / "book.css"
    loaded = book_css.read_text(encoding="utf-8") if book_css.exists() else ""
    for page in Path(app.outdir).rglob("*.html"):
        if "_static" in page.parts:
            continue
        text = fixed = page.read_text(encoding="utf-8")
        for pattern, replacement in _FIXES:
            fixed = pattern.sub(replacement, fixed)
        fixed = lighten(fixed, page.parent, options, loaded)
        depth = len(page.relative_to(app.outdir).parts) - 1
        fixed = link_pdf(fixed, depth)
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts, priority=900)
    app.connect("html-page-context", _plain_title)
    app.connect("build-finished", _plain_search_titles)
    app.connect("build-finished", _fix_pages)
    # after typeset_math (800): the math's stylesheet link is on the pages
    app.connect("build-finished", _light_fonts, priority=900)
    # on every page: makes the theme's sidebar toggles work (see the file)
    app.add_js_file("sidebar-toggles.js", loading_method="defer")
    app.add_js_file("scroll-regions.js", loading_method="defer")
    # optional: keyboard buttons and announcements for the step toggles
    app.add_js_file("step-toggle.js", loading_method="defer")
    app.add_css_file("book.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
