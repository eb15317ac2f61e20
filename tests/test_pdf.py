"""The whole book as one PDF (scripts/make_pdf.py, run by scripts/build.sh),
read back with pypdf: its text, pages, images, links and bookmarks.

* every page of the table of contents (_toc.yml) is in it, under its title,
  listed in the contents with the page it starts on;
* every derivation with all its steps (each step toggle's "All steps"
  list), every backward-pass stepper's captions (one per step), every
  Jacobian explorer's heatmap caption;
* no TeX left in the prose (code may hold TeX in its strings);
* every figure of the pages embedded, page numbers on every page but the
  title page, no link to the loopback server it was printed from;
* at most 30 MB, published with the site (``book.pdf`` in the HTML folder)
  and linked from every page ("Download PDF"), with no script.

Reads the built book in BOOK_HTML (default _build/html) and the PDF in
BOOK_PDF (default _build/pdf/book.pdf).
"""

from __future__ import annotations

import functools
import os
import re
import sys
import unicodedata
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

from conftest import HTML, RAW_TEX, ROOT

sys.path.insert(0, str(ROOT / "scripts"))
from make_pdf import PDF_NAME, toc_pages  # noqa: E402

PDF = Path(os.environ.get("BOOK_PDF", ROOT / "_build" / "pdf" / PDF_NAME))
MAX_BYTES = 30 * 2**20
TOC = toc_pages(ROOT / "_toc.yml")
#: text shorter than this can be anywhere: not evidence of anything
SHORTEST = 12


def _squeeze(text: str) -> str:
    """Text without whitespace (a PDF's lines break where the page's did),
    in Unicode's compatibility form (the PDF's "ﬁ" is the page's "fi")."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


@functools.cache
def _soup(path: str) -> BeautifulSoup:
    return BeautifulSoup(
        (HTML / f"{path}.html").read_text(encoding="utf-8"), "html.parser"
    )


#: what a page shows on screen only (print hides it): the step pages'
#: "Back / Step k of n / Next" row
SCREEN_ONLY = {"step-nav"}


def _screen_only(node) -> bool:
    return any(SCREEN_ONLY & set(p.get("class") or ()) for p in node.parents)


def _prose_pieces(element) -> list[str]:
    """The element's text between its formulas (MathJax's output is laid
    out glyph by glyph in the PDF; the text around it is not), without what
    only the screen shows."""
    pieces, current = [], []
    for node in element.descendants:
        if getattr(node, "name", None) == "mjx-container":
            pieces.append("".join(current))
            current = []
        elif (
            isinstance(node, str)
            and not any(p.name == "mjx-container" for p in node.parents)
            and not _screen_only(node)
        ):
            current.append(str(node))
    pieces.append("".join(current))
    return [p.strip() for p in pieces]


def _longest_piece(element) -> str:
    return max(_prose_pieces(element), key=lambda p: len(_squeeze(p)))


@pytest.fixture(scope="module")
def book():
    assert PDF.exists(), (
        f"no PDF at {PDF}: run scripts/build.sh (it runs scripts/make_pdf.py "
        "after the HTML build)"
    )
    reader = PdfReader(PDF)
    texts = [page.extract_text() or "" for page in reader.pages]
    return reader, texts, _squeeze("\n".join(texts))


def _title(path: str) -> str:
    return _soup(path).title.get_text().split(" \u2014 ")[0].strip()


def test_pdf_is_small_and_published():
    assert PDF.exists(), f"no PDF at {PDF}: run scripts/build.sh"
    size = PDF.stat().st_size
    assert 0 < size <= MAX_BYTES, f"{PDF} is {size / 2**20:.1f} MB"
    published = HTML / PDF_NAME
    assert published.exists(), (
        f"{published} is missing: the site would not publish the PDF"
    )
    assert published.read_bytes() == PDF.read_bytes(), (
        f"{published} is not the PDF of this build"
    )


def test_every_chapter_is_in_the_pdf_and_its_contents(book):
    reader, texts, everything = book
    assert len(reader.pages) > 2 * len(TOC), (
        f"{len(reader.pages)} pages for {len(TOC)} pages of the book"
    )
    contents = "\n".join(texts[1:4])
    assert "Contents" in contents
    outline = [item.title for item in _flat(reader.outline)]
    for _, path in TOC:
        title = _title(path)
        # the contents line: the title, then the page it starts on
        m = re.search(re.escape(title) + r"\s*(\d+)\s*$", contents, re.M)
        assert m, f"{path}: {title!r} is not in the PDF's contents"
        start = int(m.group(1))
        assert _squeeze(title) in _squeeze(texts[start - 1]), (
            f"{path}: the contents say page {start}, which does not show "
            f"{title!r}"
        )
        assert title in outline, f"{path}: no bookmark {title!r}"


def _flat(outline):
    for item in outline:
        if isinstance(item, list):
            yield from _flat(item)
        else:
            yield item


def test_every_derivation_with_all_its_steps(book):
    _, _, everything = book
    missing, steps = [], 0
    for _, path in TOC:
        for toggle in _soup(path).select(".step-toggle"):
            title = toggle.select_one(".step-title")
            for item in [title, *toggle.select(".step-toggle-all li")]:
                text = _longest_piece(item) if item else ""
                if len(_squeeze(text)) < SHORTEST:
                    continue
                steps += 1
                if _squeeze(text) not in everything:
                    missing.append(f"{path}: {text[:80]!r}")
    assert steps >= 50, f"only {steps} derivation steps found in the pages"
    assert not missing, f"{len(missing)} steps not in the PDF: {missing[:5]}"


def test_every_stepper_caption(book):
    _, _, everything = book
    missing, captions = [], 0
    for _, path in TOC:
        for caption in _soup(path).select(".backward-stepper .bs-cap"):
            captions += 1
            phase = caption.select_one(".bs-phase").get_text().strip()
            text = _longest_piece(caption)
            assert phase and _squeeze(phase) in everything, (path, phase)
            if len(_squeeze(text)) >= SHORTEST and (
                _squeeze(text) not in everything
            ):
                missing.append(f"{path}: {text[:80]!r}")
    assert captions >= 5, f"only {captions} stepper captions in the pages"
    assert not missing, f"{len(missing)} captions not in the PDF: {missing}"


def test_every_explorer_shows_its_heatmap(book):
    _, _, everything = book
    explorers = 0
    for _, path in TOC:
        for explorer in _soup(path).select(".jacobian-explorer"):
            explorers += 1
            # the heatmap the page shows first: the checked op and size
            op = explorer.select_one(".jx-op input[checked]")
            group = explorer.select_one(
                f'.jx-opgroup[data-i="{op["data-i"]}"]' if op else ".jx-panel"
            )
            size = group.select_one(".jx-n input[checked]") or (
                explorer.select_one(".jx-n input[checked]")
            )
            panel = (
                group.select_one(f'.jx-sized[data-i="{size["data-i"]}"]')
                if size
                else group
            ) or group
            cells = panel.select(".jx-g i")
            assert cells, f"{path}: an explorer without heatmap cells"
            text = _longest_piece(panel.select_one(".jx-cap") or panel)
            assert _squeeze(text) in everything, (
                f"{path}: the explorer's heatmap ({text[:80]!r}) is not in "
                "the PDF"
            )
    assert explorers >= 2, f"only {explorers} explorers in the pages"


def _code_text(path: str) -> str:
    return _squeeze(
        "\n".join(pre.get_text() for pre in _soup(path).select("pre"))
    )


def test_no_raw_tex(book):
    _, texts, _ = book
    code = "".join(_code_text(path) for _, path in TOC)
    found = [
        line.strip()
        for text in texts
        for line in text.splitlines()
        if RAW_TEX.search(line) and _squeeze(line) not in code
    ]
    assert not found, f"raw TeX in the PDF's prose: {found[:5]}"


def test_figures_are_embedded(book):
    reader, _, _ = book
    figures = sum(
        len(_soup(path).select(".bd-article img")) for _, path in TOC
    )
    images = sum(_images(page) for page in reader.pages)
    assert figures >= 10, f"only {figures} figures in the pages"
    assert images >= figures, (
        f"the pages show {figures} images, the PDF embeds {images}"
    )


def _images(page) -> int:
    """The images a page draws (its image XObjects; not decoded)."""
    xobjects = page.get("/Resources", {}).get("/XObject", {}) or {}
    found = 0
    for ref in xobjects.values():
        xobject = ref.get_object()
        if xobject.get("/Subtype") == "/Image":
            found += 1
        elif xobject.get("/Subtype") == "/Form":
            found += _images(xobject)
    return found


def test_pages_are_numbered(book):
    _, texts, _ = book
    unnumbered = [
        k
        for k, text in enumerate(texts[1:], start=2)
        if not re.search(rf"(^|\s){k}\s*$", text)
    ]
    assert not unnumbered, f"pages without their number: {unnumbered[:10]}"


def test_no_link_to_the_loopback_server(book):
    reader, _, _ = book
    local, internal = [], 0
    for page in reader.pages:
        for ref in page.get("/Annots", []) or []:
            action = ref.get_object().get("/A")
            if action is None:
                continue
            action = action.get_object()
            uri = str(action.get("/URI", ""))
            if re.match(r"https?://(127\.0\.0\.1|localhost|\[::1\])", uri):
                local.append(uri)
            internal += action.get("/S") == "/GoTo"
    assert not local, f"links to the server it was printed from: {local[:5]}"
    assert internal >= len(TOC), (
        f"only {internal} links inside the PDF (the contents alone have "
        f"{len(TOC)})"
    )


def _site_pages() -> list[Path]:
    return sorted(
        p
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts
        and 'http-equiv="Refresh"' not in p.read_text(encoding="utf-8")
    )


def test_every_page_links_the_pdf():
    pages = _site_pages()
    assert len(pages) >= len(TOC), f"only {len(pages)} pages in {HTML}"
    target = (HTML / PDF_NAME).resolve()
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        links = [
            a
            for a in soup.select("a[href]")
            if (page.parent / a["href"]).resolve() == target
        ]
        names = [
            a.get("aria-label") or a.get_text(" ", strip=True) for a in links
        ]
        assert "Download PDF" in names, (
            f"{page.relative_to(HTML)}: no 'Download PDF' link to "
            f"{PDF_NAME}: {names}"
        )
