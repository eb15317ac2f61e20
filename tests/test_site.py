"""The book's own Sphinx extension (_ext/book_html.py), without a browser:
plain-text titles for browser tabs and search results."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "_ext"))
from book_html import tex_to_text  # noqa: E402


@pytest.mark.parametrize(
    "title, text",
    [
        # the chapter 1 heading as Sphinx renders it into the page title
        (
            '1. The gradient of <span class="math notranslate nohighlight">'
            r"\(\Vert X^{-1}\Vert_F\)</span> by hand",
            "1. The gradient of ‖X⁻¹‖_F by hand",
        ),
        (
            r"Naive Jacobians: building \(J_1\) and \(J_2\)",
            "Naive Jacobians: building J₁ and J₂",
        ),
        (
            r"Tangent \(\dot{x}\), cotangent \(\bar y\), \(J^\top\)",
            "Tangent x\u0307, cotangent y\u0304, Jᵀ",
        ),
        (
            r"\(\operatorname{tr}(A^{T} B)\) and \(\frac{1}{2}\|x\|^2\)",
            "tr(AᵀB) and 1/2‖x‖²",
        ),
        (r"\(A \otimes B\) &amp; \(x_{ij}\)", "A ⊗ B & x_(ij)"),
        (r"\(\text{for all } i\)", "for all i"),
        ("No math at all", "No math at all"),
    ],
)
def test_tex_becomes_plain_text(title, text):
    assert tex_to_text(title) == text


def test_no_backslash_or_brace_survives():
    out = tex_to_text(r"\(\sum_{i=1}^{n} \alpha_i \nabla f(\mathbf{x})\)")
    assert not set(out) & set("\\{}$"), out
    assert "∑" in out and "α" in out and "∇" in out


# -- what _ext/book_html.py does to the written pages ---------------------
from book_html import (  # noqa: E402
    PLAIN_TOKENS,
    bundle_stylesheets,
    icon_codepoints,
    lighten,
    link_pdf,
    math_codepoints,
    preload_math_fonts,
    purge_css,
)

PAGE = (
    '<html><head><link rel="stylesheet" href="../_static/a.css?v=1">'
    '<link href="../_static/styles/b.css" rel="stylesheet">'
    '<link rel="stylesheet" href="../_static/mathjax/chtml.css" '
    'type="text/css" /></head><body>'
    '<div class="article-header-buttons"><a>x</a></div>'
    '<div class="bd-footer-content__inner container"></div></body></html>'
)


def test_every_page_links_the_pdf_from_its_folder():
    page = link_pdf(PAGE, depth=1)
    assert page.count('href="../book.pdf"') == 2
    assert 'aria-label="Download PDF"' in page
    assert ">Download PDF</a>" in page
    assert link_pdf(page, depth=1) == page  # once
    assert link_pdf(PAGE, depth=0).count('href="book.pdf"') == 2


def test_icons_kept_are_those_used_and_those_css_draws():
    css = (
        '.fa-rocket:before{content:"\\f135"}'
        '.fa-unused:before,.fa-gone:before{content:"\\f000"}'
        '.fa-a:before,.fa-github:before{content:"\\f09b"}'
        '.onthispage:after{content:"\\f107"}'
        ':root{--pst-icon-bell:"\uf0f3"}'
    )
    kept = icon_codepoints(css, {"rocket", "github"})
    assert kept == {0xF135, 0xF09B, 0xF107, 0xF0F3}


def test_math_fonts_are_preloaded_once_where_there_is_math():
    page = preload_math_fonts(PAGE)
    assert page.count('rel="preload"') == 3
    assert '"../_static/mathjax/woff-v2/MathJax_Main-Regular.woff"' in page
    assert page.index('rel="preload"') < page.index("mathjax/chtml.css")
    assert preload_math_fonts(page) == page
    no_math = PAGE.replace("mathjax/chtml.css", "other.css")
    assert preload_math_fonts(no_math) == no_math


def test_math_codepoints_reads_every_content_string():
    css = (
        'mjx-c.mjx-c1D465.TEX-I::before {padding: 0; content: "x"}\n'
        'mjx-c.mjx-c2212::before {content: "\\2212"}\n'
        'mjx-c.mjx-c22::before {content: "\\""}\n'
        'mjx-c.mjx-c2192.mjx-c338::before {content: "\\2192 \\338"}\n'
        "mjx-container {font-size: 120%}"
    )
    assert math_codepoints(css) == {ord("x"), 0x2212, ord('"'), 0x2192, 0x338}


def test_purge_keeps_what_the_pages_can_use():
    css = (
        ".a{color:red}.zz{color:blue}.a .zz,.b{x:1}"
        "@media (max-width:5px){.zz{y:2}.a:not(.zz){z:3}}"
        "@media print{.zz{y:3}}"
        "@font-face{font-family:F;src:url(x.woff)}p{q:1}"
        '[data-x=".zz"]{k:1}#id1{m:1}#nope{m:2}:root{--v:1}'
        ".sm\\:b{w:1}@keyframes k{from{opacity:0}}"
        "/* b.css */\n/* a licence, and more */"
    )
    out = purge_css(css, {"a", "b", "id1", "sm:b"})
    for kept in (
        ".a{color:red}",
        ".b{x:1}",  # the used half of a selector list
        "@media (max-width:5px){.a:not(.zz){z:3}}",
        "@font-face{font-family:F;src:url(x.woff)}",
        "p{q:1}",
        '[data-x=".zz"]{k:1}',
        "#id1{m:1}",
        ":root{--v:1}",
        ".sm\\:b{w:1}",
        "@keyframes k{from{opacity:0}}",
        "/* b.css */",  # a bundle's part names stay, other comments go
    ):
        assert kept in out, (kept, out)
    # an unused class or id drops its selector; an emptied group goes
    assert ".zz" not in out.replace(":not(.zz)", "").replace('".zz"', "")
    assert "#nope" not in out and "@media print" not in out
    assert "licence" not in out


def test_stylesheets_become_one_bundle(tmp_path):
    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "mathjax").mkdir()
    (tmp_path / "chapters").mkdir()
    (static / "a.css").write_text("p{color:red}")
    (static / "base.css").write_text("h1{margin:0}")
    (static / "styles" / "b.css").write_text(
        '@import "../base.css";\n'
        "i{background:url(../vendor/x.woff2)}"
        'b{background:url("data:image/svg+xml;utf8,<svg/>")}'
    )
    (static / "mathjax" / "chtml.css").write_text(
        '@font-face{src:url("woff-v2/M.woff")}'
    )
    made: dict = {}
    page = bundle_stylesheets(PAGE, tmp_path / "chapters", static, made)
    links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)
    assert len(links) == 1 and links[0].startswith("../_static/bundle-")
    bundle = (tmp_path / "chapters" / links[0]).resolve().read_text()
    assert bundle.index("p{color:red}") < bundle.index("h1{margin:0}")
    assert bundle.index("h1{margin:0}") < bundle.index("i{background")
    assert 'url("vendor/x.woff2")' in bundle
    assert 'url("mathjax/woff-v2/M.woff")' in bundle
    assert 'url("data:image/svg+xml;utf8,<svg/>")' in bundle
    assert "@import" not in bundle
    # the same stylesheets: the same bundle; a page with one: left alone
    again = bundle_stylesheets(PAGE, tmp_path / "chapters", static, made)
    assert again == page and len(made) == 1
    assert bundle_stylesheets(page, tmp_path, static, made) == page


def test_a_body_style_the_page_loads_already_goes():
    kit, own = ".a{color:red}", ".b{color:blue}"
    page = (
        "<html><head></head><body>"
        f"<div><style>{kit}</style><p>x</p><style>{own}</style></div>"
        "</body></html>"
    )
    out = lighten(page, Path("."), None, loaded_css=f"p{{}}{kit}.c{{}}")
    assert f"<style>{own}</style>" in out  # not in book.css: kept
    assert kit not in out and "<p>x</p>" in out
    assert lighten(page, Path("."), None) == page  # nothing loaded: kept


def test_plain_tokens_lose_their_spans_in_code_only():
    code = (
        '<div class="highlight"><pre><span></span><span class="n">x</span>'
        '<span class="w"> </span><span class="o">=</span>'
        '<span class="p">(</span><span class="mi">1</span>'
        '<span class="p">)</span>\n</pre></div>'
    )
    prose = '<p><span class="n">kept</span></p>'
    page = f"<html><head></head><body>{code}{prose}</body></html>"
    out = lighten(page, Path("."), None)
    assert (
        '<div class="highlight"><pre><span></span>x <span class="o">=</span>'
        '(<span class="mi">1</span>)\n</pre></div>'
    ) in out
    assert prose in out


def test_plain_tokens_are_drawn_in_the_blocks_colour():
    # what lets `lighten` drop their spans: in each Pygments style the theme
    # uses, a plain token's colour is its code block's colour
    import configparser

    import pydata_sphinx_theme
    from pygments.formatters import HtmlFormatter

    conf = configparser.ConfigParser()
    conf.read(
        Path(pydata_sphinx_theme.__file__).parent
        / "theme/pydata_sphinx_theme/theme.conf"
    )
    for key in ("pygments_light_style", "pygments_dark_style"):
        style = conf["options"][key]
        css = HtmlFormatter(style=style).get_style_defs(".highlight")
        block = re.search(r"^\.highlight \{[^}]*\bcolor: (#\w+)", css, re.M)
        assert block, f"{style}: no colour for .highlight"
        for token in PLAIN_TOKENS:
            own = re.search(
                rf"^\.highlight \.{token} \{{ color: (#\w+)", css, re.M
            )
            assert own is None or own[1] == block[1], (style, token, own[1])
