"""The whole book as one PDF, printed from the built HTML by Chromium.

    python scripts/make_pdf.py [--html _build/html] [--out _build/pdf/book.pdf]

``scripts/build.sh`` runs it after the HTML build. Every page of the table
of contents (``_toc.yml``, in its order: new chapters come in by
themselves) is opened in headless Chromium (Playwright, as the browser
tests drive it), served from the built HTML on a loopback port, and
printed with the book's print view: every step toggle shows all its steps
(its "All steps" list), every backward-pass stepper its final graph and
every step's caption, every Jacobian explorer its heatmap; the math is the
build's typeset MathJax, so no TeX is left. For the PDF only, a few more
rules (``PDF_CSS``) wrap code to the page, drop the controls that cannot
be clicked on paper, and keep derivations and headings with what follows.

pypdf then puts the pieces together: a title page and the table of
contents (printed by Chromium too, its entries linked to their pages),
every chapter, the page numbers (one more Chromium print, laid over the
pages), bookmarks for the parts and chapters, and the links: a link to
another page of the book goes to that chapter's first page in the PDF;
one to anything else the site serves goes to the published site.

The PDF is written to ``--out`` and copied to ``book.pdf`` in the HTML
folder, which the site publishes and every page links ("Download PDF",
added by ``_ext/book_html.py``).

The browser: $CHROMIUM, else /usr/bin/chromium, else Google Chrome.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import html
import http.server
import os
import re
import shutil
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import yaml
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    TextStringObject,
)

ROOT = Path(__file__).resolve().parent.parent
#: the name of the PDF in the published site (its root) and in _build/pdf
PDF_NAME = "book.pdf"
BROWSERS = ("/usr/bin/chromium", "/usr/bin/google-chrome")
#: A4 with room for the page number below the text
PAGE = {"format": "A4", "print_background": True}
MARGIN = {"top": "16mm", "bottom": "18mm", "left": "15mm", "right": "15mm"}
#: a marker host: front-matter links to a page of the PDF (rewritten)
PAGE_LINK = "https://pdf-page.invalid/"

#: What the PDF adds to the book's print view (which already unfolds
#: every derivation, lists every stepper caption and hides the controls).
PDF_CSS = """
/* the theme's print title is the chapter's title without its number: the
   article's own heading (with it) is shown instead */
#jb-print-docs-body { display: none !important; }
.bd-main .bd-content .bd-article h1:first-of-type { display: block !important;
  font-size: 2.2em; margin-top: 0; }
.bd-main .bd-content { margin-left: 0 !important; }
/* code wraps to the page instead of being cut at its right edge, and a
   long cell breaks across pages rather than leave an empty box behind */
.bd-article pre, .bd-article div.highlight pre {
  white-space: pre-wrap !important; overflow-wrap: anywhere;
  overflow: visible !important; }
.bd-article pre, .bd-article div.cell, .bd-article div[class*="highlight"],
.bd-article div.cell_input, .bd-article div.cell_output {
  break-inside: auto !important; }
/* wide math and outputs are shown whole, not in a scrolling box */
.bd-article div.math, .bd-article mjx-container[display="true"],
.step-toggle .step-math, .step-toggle .step-toggle-all,
.backward-stepper .bs-figure, .bd-article div.output {
  overflow: visible !important; max-height: none !important; }
/* what cannot be clicked on paper: folded code's "Show code" bars, copy
   buttons, the "All steps" summary (the steps follow it, unfolded), the
   link to this PDF */
details.hide:not([open]), .copybtn, .vjp-pdf-link,
.step-toggle details.step-toggle-all > summary { display: none !important; }
/* a derivation, a stepper, an explorer, a figure: on one page when they
   fit; a heading stays with what follows it */
.step-toggle, .backward-stepper, .jacobian-explorer, figure,
.cell_output img { break-inside: avoid; }
h1, h2, h3, h4, .step-title { break-after: avoid; break-inside: avoid; }
a { color: inherit; }
"""


def toc_pages(toc_file: Path) -> list[tuple[str | None, str]]:
    """(part caption or None, page path without suffix), in reading order."""
    toc = yaml.safe_load(toc_file.read_text(encoding="utf-8"))
    pages = [(None, toc["root"])]

    def walk(entries, caption):
        for entry in entries or []:
            if "file" in entry:
                pages.append((caption, entry["file"]))
            walk(entry.get("sections"), caption)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return [(c, re.sub(r"\.(md|ipynb|rst)$", "", f)) for c, f in pages]


def site_url(config_file: Path) -> str:
    """Where GitHub Pages publishes the book (from the repository URL)."""
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    url = config.get("repository", {}).get("url", "")
    m = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", url)
    if not m:
        return ""
    return f"https://{m.group(1).lower()}.github.io/{m.group(2)}/"


def find_browser() -> str:
    for candidate in (os.environ.get("CHROMIUM"), *BROWSERS):
        if candidate and (Path(candidate).exists() or shutil.which(candidate)):
            return shutil.which(candidate) or candidate
    sys.exit(
        "make_pdf: no Chromium found: install it (Debian: apt-get install -y "
        "chromium) or set CHROMIUM to a Chromium or Chrome"
    )


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(root: Path):
    handler = functools.partial(_Quiet, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


# -- the title page and the table of contents ------------------------------
FRONT_CSS = """
@page { size: A4; margin: 25mm 22mm; }
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif;
  color: #111; line-height: 1.45; }
.title { break-after: page; padding-top: 35%; text-align: center; }
.title h1 { font-size: 30pt; font-weight: 500; margin: 0 0 .4em; }
.title p { font-size: 13pt; margin: .3em 0; color: #333; }
.title .small { font-size: 10pt; color: #555; margin-top: 3em; }
h2 { font-size: 20pt; font-weight: 500; margin: 0 0 1em; }
.part { font-weight: 600; margin: 1.1em 0 .3em; font-size: 11.5pt; }
a.entry { display: flex; color: inherit; text-decoration: none;
  margin: .25em 0 .25em 1.2em; font-size: 11pt; }
a.entry .t { flex: 0 1 auto; }
a.entry .dots { flex: 1 1 auto; border-bottom: 1px dotted #888;
  margin: 0 .4em .3em; }
a.entry .n { flex: 0 0 auto; }
"""


def front_matter(
    title: str, author: str, year: str, url: str, entries: list
) -> str:
    """The title page and the contents; entries: (part, title, page)."""
    e = html.escape
    rows, last = [], object()
    for part, name, page in entries:
        if part != last and part:
            rows.append(f'<p class="part">{e(part)}</p>')
        last = part
        rows.append(
            f'<a class="entry" href="{PAGE_LINK}{page}"><span class="t">'
            f'{e(name)}</span><span class="dots"></span><span class="n">'
            f"{page}</span></a>"
        )
    where = (
        f'<p class="small">Read it online, with its interactive parts: '
        f'<a href="{e(url)}">{e(url)}</a></p>'
        if url
        else ""
    )
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{e(title)}</title><style>{FRONT_CSS}</style></head><body>"
        f'<section class="title"><h1>{e(title)}</h1><p>{e(author)}</p>'
        f"<p>{e(year)}</p>{where}"
        '<p class="small">Text and figures: CC BY 4.0. Code: MIT.</p>'
        "</section>"
        f"<section><h2>Contents</h2>{''.join(rows)}</section></body></html>"
    )


def page_numbers(count: int, skip: int) -> str:
    """One page per page of the book, blank but for its number at the
    bottom (laid over the book's pages); the first `skip` pages get none.
    """
    pages = "".join(
        f'<div class="p"><span>{"" if i < skip else i + 1}</span></div>'
        for i in range(count)
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><style>"
        "@page { size: A4; margin: 0; } html, body { margin: 0; }"
        ".p { height: 297mm; position: relative; break-after: page;"
        " overflow: hidden; }"
        ".p span { position: absolute; bottom: 8mm; left: 0; right: 0;"
        " text-align: center; font: 9pt 'DejaVu Sans', Helvetica, sans-serif;"
        " color: #444; }"
        f"</style></head><body>{pages}</body></html>"
    )


# -- printing ---------------------------------------------------------------
def print_pages(browser: str, html_dir: Path, pages: list[str], out: Path):
    """Print each page of the book to out/NN.pdf; its title, by page."""
    from playwright.sync_api import sync_playwright

    titles = {}
    with serve(html_dir) as origin, sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=browser,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
        context = chromium.new_context(color_scheme="light")
        context.add_init_script(
            "localStorage.setItem('mode', 'light');"
            "localStorage.setItem('theme', 'light');"
        )
        page = context.new_page()
        for i, path in enumerate(pages):
            started = time.perf_counter()
            page.goto(f"{origin}/{path}.html", wait_until="load")
            page.add_style_tag(content=PDF_CSS)
            page.emulate_media(media="print")
            # every web font (MathJax's among them) and every image loaded
            page.evaluate(
                """async () => {
                  await document.fonts.ready;
                  await Promise.all([...document.images].map(img =>
                    img.complete ? null : new Promise(done => {
                      img.onload = img.onerror = done; })));
                }"""
            )
            titles[path] = page.evaluate(
                "() => document.title.split(' \\u2014 ')[0].trim()"
            )
            page.pdf(path=str(out / f"{i:02d}.pdf"), margin=MARGIN, **PAGE)
            print(
                f"make_pdf: {path} printed in "
                f"{time.perf_counter() - started:.1f} s",
                flush=True,
            )
        context.close()
        chromium.close()
    return origin, titles


def print_html(browser: str, text: str, target: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=browser, headless=True, args=["--no-sandbox"]
        )
        page = chromium.new_page()
        page.set_content(text, wait_until="load")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        page.pdf(path=str(target), prefer_css_page_size=True, **PAGE)
        chromium.close()


# -- putting it together -----------------------------------------------------
def _relink(writer: PdfWriter, origin: str, starts: dict, site: str) -> None:
    """Links Chromium wrote as URIs: to a page of the PDF when they point at
    a book page (or a front-matter page marker), to the published site when
    they point at anything else it serves."""
    for page in writer.pages:
        for ref in page.get("/Annots", []) or []:
            annot = ref.get_object()
            action = annot.get("/A")
            if annot.get("/Subtype") != "/Link" or action is None:
                continue
            action = action.get_object()
            uri = str(action.get("/URI", ""))
            target = None
            if uri.startswith(PAGE_LINK):
                target = int(uri[len(PAGE_LINK) :]) - 1
            elif uri.startswith(origin):
                path = urllib.parse.urlparse(uri).path.lstrip("/")
                stem = re.sub(r"\.html$", "", path) or "index"
                if stem in starts:
                    target = starts[stem]
                elif site:
                    action[NameObject("/URI")] = TextStringObject(
                        site + uri[len(origin) :].lstrip("/")
                    )
                    continue
            if target is None:
                continue
            annot[NameObject("/A")] = DictionaryObject(
                {
                    NameObject("/S"): NameObject("/GoTo"),
                    NameObject("/D"): ArrayObject(
                        [
                            writer.pages[target].indirect_reference,
                            NameObject("/Fit"),
                        ]
                    ),
                }
            )


def build(html_dir: Path, out_file: Path) -> Path:
    started = time.perf_counter()
    config = yaml.safe_load((ROOT / "_config.yml").read_text("utf-8"))
    toc = toc_pages(ROOT / "_toc.yml")
    missing = [f for _, f in toc if not (html_dir / f"{f}.html").exists()]
    if missing:
        sys.exit(
            f"make_pdf: these pages of _toc.yml are not built in {html_dir}:"
            f" {missing}; build the book first (scripts/build.sh)"
        )
    browser = find_browser()
    site = site_url(ROOT / "_config.yml")
    work = out_file.parent / "parts"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    paths = [f for _, f in toc]
    origin, titles = print_pages(browser, html_dir, paths, work)
    readers = [PdfReader(work / f"{i:02d}.pdf") for i in range(len(paths))]

    def front(numbers: list[int]) -> Path:
        entries = [(part, titles[f], n) for (part, f), n in zip(toc, numbers)]
        text = front_matter(
            config.get("title", "The book"),
            config.get("author", ""),
            str(config.get("copyright", "")),
            site,
            entries,
        )
        target = work / "front.pdf"
        print_html(browser, text, target)
        return target

    # the contents' page count does not depend on its numbers' digits: lay
    # it out once to count its pages, then with the real numbers
    length = len(PdfReader(front([999] * len(toc))).pages)
    starts, n = [], length
    for reader in readers:
        starts.append(n)
        n += len(reader.pages)
    front_pdf = front([s + 1 for s in starts])
    assert len(PdfReader(front_pdf).pages) == length

    writer = PdfWriter()
    writer.append(str(front_pdf))
    for reader in readers:
        writer.append(reader)
    total = len(writer.pages)
    numbers = work / "numbers.pdf"
    print_html(browser, page_numbers(total, skip=1), numbers)
    for page, stamp in zip(writer.pages, PdfReader(numbers).pages):
        page.merge_page(stamp)

    _relink(writer, origin, dict(zip(paths, starts)), site)
    # bookmarks: the contents, each part, its chapters
    writer.add_outline_item(title="Contents", page_number=1)
    parent, last = None, object()
    for (part, path), start in zip(toc, starts):
        if part != last:
            parent = (
                writer.add_outline_item(title=part, page_number=start)
                if part
                else None
            )
            last = part
        writer.add_outline_item(
            title=titles[path], page_number=start, parent=parent
        )
    writer.add_metadata(
        {
            "/Title": config.get("title", ""),
            "/Author": config.get("author", ""),
        }
    )
    writer.page_mode = "/UseOutlines"
    writer.compress_identical_objects(remove_duplicates=True)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    with open(out_file, "wb") as f:
        writer.write(f)
    shutil.rmtree(work, ignore_errors=True)
    shutil.copy2(out_file, html_dir / PDF_NAME)
    size = out_file.stat().st_size / 2**20
    print(
        f"make_pdf: {out_file} ({total} pages, {size:.1f} MB, "
        f"{len(paths)} pages of the book) in "
        f"{time.perf_counter() - started:.0f} s; copied to "
        f"{html_dir / PDF_NAME}"
    )
    return out_file


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build/html")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "_build/pdf" / PDF_NAME
    )
    args = parser.parse_args(argv)
    build(args.html.resolve(), args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
