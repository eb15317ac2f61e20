"""How fast the book's pages arrive, measured as a new reader's browser would:
Lighthouse (npm ``lighthouse``, pinned in scripts/lighthouse, installed by
scripts/setup.sh), on Debian's Chromium, headless.

In one run, beside the book, a default Jupyter Book (``jupyter-book create``
then ``jupyter-book build``, in a temporary folder) gives the yardstick: its
``notebooks.html`` page, what any Jupyter Book 1 page costs. Both are served
gzipped on loopback, as GitHub Pages serves them. Every chapter page and the
default page are measured with Lighthouse's mobile preset (simulated slow
4G, 4x CPU slowdown) and its desktop preset, one page at a time; every
mobile score is the median of three runs (it varies from run to run).

The table (page | mobile score | mobile LCP | mobile TBT | desktop score |
desktop TBT | transfer | elements | LCP element) is printed (``pytest -s``)
and written to ``_build/lighthouse.md``: the element count is the page's
(Lighthouse's dom-size), the LCP element the one whose paint was the
largest on the phone (its selector and first words). The test fails when a
chapter scores lower on mobile than the default page or below MOBILE_FLOOR,
paints its largest element later than MOBILE_LCP, or scores below
DESKTOP_FLOOR on desktop. A missing Lighthouse or Chromium is a failure,
never a skip.

Reads the built book in BOOK_HTML (default _build/html; see conftest.py).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import http.server
import io
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from conftest import CHROMIUM, HTML, ROOT

LIGHTHOUSE = ROOT / "scripts" / "lighthouse"
RUN = LIGHTHOUSE / "run.mjs"
REPORT = ROOT / "_build" / "lighthouse.md"
DEFAULT = "default Jupyter Book page"
#: every chapter at least this on desktop (issue 28's "done when")
DESKTOP_FLOOR = 0.98
#: every chapter at least this on mobile, median of three (issue 28). What
#: got there: the bundled stylesheet lost the rules no page uses (70 KB
#: gzipped of render-blocking CSS down to 32 KB), MathJax's fonts the
#: characters no formula draws (a chapter's first fonts 120 KB down to 50
#: KB), so a phone's largest paint comes at 2.0-2.6 s; the step toggles'
#: "All steps" view shows the step pages themselves (chapters 3 and 10:
#: about 20,000 elements down to 15,000); highlighted code lost the spans
#: of names and punctuation (to 12,900 and 11,400); and book.css lays out
#: prose blocks only when they come near the screen (content-visibility),
#: which took chapter 3's median blocking time from 150-230 ms to 60-115.
#: Before the last two, chapter 3 scored 0.89 in one clean-clone run.
MOBILE_FLOOR = 0.9
#: every chapter's largest paint on a phone at most this, in ms (the run
#: of median score; Lighthouse's median for a site is 4,000 ms, its
#: "good" 2,500 ms; the default page's 4.7-8.0 s)
MOBILE_LCP = 4000
#: what GitHub Pages compresses (fonts and images are compressed already)
COMPRESSED = {
    ".html",
    ".css",
    ".js",
    ".json",
    ".svg",
    ".txt",
    ".xml",
    ".map",
    ".mjs",
}


class _GzipHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that gzips text, as GitHub Pages does."""

    cache: dict = {}

    def log_message(self, *args):
        pass

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        wants = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (wants and path.suffix in COMPRESSED and path.is_file()):
            return super().send_head()
        body = self.cache.get(path)
        if body is None:
            body = self.cache[path] = gzip.compress(
                path.read_bytes(), compresslevel=6
            )
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=600")
        self.end_headers()
        return io.BytesIO(body)


@contextlib.contextmanager
def serve_gzipped(root: Path):
    """Serve `root` gzipped on a loopback port; yield its URL."""
    handler = functools.partial(_GzipHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def default_book(where: Path) -> Path:
    """Build a default `jupyter-book create` book; its built HTML folder."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    assert jupyter_book.exists(), f"{jupyter_book} is missing"
    book = where / "default-book"
    for step in (["create", str(book)], ["build", str(book)]):
        done = subprocess.run(
            [str(jupyter_book), *step],
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, (
            f"jupyter-book {step[0]} of the default book failed:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    html = book / "_build" / "html"
    assert (html / "notebooks.html").exists(), (
        f"the default book has no notebooks.html: {sorted(html.iterdir())}"
    )
    return html


def lighthouse(jobs: list[dict], where: Path) -> list[dict]:
    """Run scripts/lighthouse/run.mjs on `jobs`; one result per job."""
    node = shutil.which("node")
    assert node, "Node.js is not installed (scripts/setup.sh installs it)"
    assert (LIGHTHOUSE / "node_modules" / "lighthouse").exists(), (
        f"Lighthouse is not installed in {LIGHTHOUSE}: run scripts/setup.sh "
        "(npm ci --prefix scripts/lighthouse)"
    )
    chrome = shutil.which(CHROMIUM) or CHROMIUM
    assert Path(chrome).exists(), (
        f"Chromium not found at {CHROMIUM}: apt-get install -y chromium, or "
        "set CHROMIUM to its path"
    )
    spec = where / "jobs.json"
    spec.write_text(json.dumps(jobs))
    done = subprocess.run(
        [node, str(RUN), str(spec)],
        capture_output=True,
        text=True,
        env=dict(os.environ, CHROME_PATH=chrome),
        timeout=1800,
    )
    assert done.returncode == 0, (
        f"Lighthouse failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
    )
    results = [
        json.loads(line)
        for line in done.stdout.splitlines()
        if line.startswith("{")
    ]
    assert len(results) == len(jobs), done.stdout[-3000:]
    broken = [r for r in results if r["error"] or r["score"] is None]
    assert not broken, f"Lighthouse could not measure: {broken}"
    return results


def _text(label) -> str:
    """A label from Lighthouse as text that UTF-8 can write: half of a
    surrogate pair (a math letter such as 𝑥 cut in two) becomes U+FFFD."""
    return (
        (label or "")
        .encode("utf-16", "surrogatepass")
        .decode("utf-16", "replace")
    )


def table(rows: list[tuple[str, dict, dict]]) -> str:
    """The Markdown table of (page, mobile result, desktop result)."""
    lines = [
        "| page | mobile score | mobile LCP | mobile TBT | desktop score "
        "| desktop TBT | transfer | elements | LCP element |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for page, mobile, desktop in rows:
        lines.append(
            f"| {page} | {mobile['score']:.2f} | {mobile['lcp'] / 1000:.1f} s "
            f"| {mobile['tbt']:.0f} ms | {desktop['score']:.2f} "
            f"| {desktop['tbt']:.0f} ms | {mobile['bytes'] / 1024:.0f} KiB "
            f"| {mobile.get('elements') or 0:.0f} "
            f"| {_text(mobile.get('lcpElement')).replace('|', '/')} |"
        )
    return "\n".join(lines) + "\n"


def test_chapters_are_as_fast_as_a_default_jupyter_book(tmp_path):
    chapters = sorted(
        str(p.relative_to(HTML)) for p in (HTML / "chapters").glob("*.html")
    )
    assert len(chapters) >= 8, (
        f"only {len(chapters)} chapter pages in {HTML}: build the book "
        "(scripts/build.sh) or point BOOK_HTML at a build"
    )
    default = default_book(tmp_path)
    with serve_gzipped(HTML) as book, serve_gzipped(default) as yardstick:
        pages = [(DEFAULT, f"{yardstick}/notebooks.html")]
        pages += [(c, f"{book}/{c}") for c in chapters]
        jobs = [
            {"name": name, "url": url, "preset": preset}
            for name, url in pages
            for preset in ("mobile", "desktop")
            # a mobile score varies from run to run on a 2-core machine
            # (the yardstick's largest paint is simulated at 3.9 s or at
            # 7.5 s, a chapter's blocking time at 0.4 s or 1.4 s): every
            # page's mobile score is the median of three runs
            for _ in range(3 if preset == "mobile" else 1)
        ]
        results = lighthouse(jobs, tmp_path)
    by = {}
    for r in results:
        by.setdefault((r["name"], r["preset"]), []).append(r)
    by = {
        key: sorted(runs, key=lambda r: r["score"])[len(runs) // 2]
        for key, runs in by.items()
    }
    rows = [
        (name, by[name, "mobile"], by[name, "desktop"]) for name, _ in pages
    ]
    text = table(rows)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(
        "Lighthouse (tests/test_lighthouse.py), pages served gzipped on "
        "loopback; mobile = simulated slow 4G, 4x CPU slowdown.\n\n" + text
    )
    print("\n" + text)
    floor = by[DEFAULT, "mobile"]["score"]
    slow = [
        f"{c}: {by[c, 'mobile']['score']:.2f}"
        for c in chapters
        if by[c, "mobile"]["score"] < floor
    ]
    assert not slow, (
        f"on mobile these chapters score below the default Jupyter Book "
        f"page ({floor:.2f}): {slow}; see {REPORT}"
    )
    slow = [
        f"{c}: {by[c, 'mobile']['score']:.2f}"
        for c in chapters
        if by[c, "mobile"]["score"] < MOBILE_FLOOR
    ]
    assert not slow, (
        f"on mobile these chapters score below {MOBILE_FLOOR} (median of "
        f"three): {slow}; see {REPORT}"
    )
    late = [
        f"{c}: {by[c, 'mobile']['lcp'] / 1000:.1f} s"
        for c in chapters
        if by[c, "mobile"]["lcp"] > MOBILE_LCP
    ]
    assert not late, (
        f"on mobile the largest paint of these chapters comes later than "
        f"{MOBILE_LCP / 1000:.1f} s: {late}; see {REPORT}"
    )
    heavy = [
        f"{c}: {by[c, 'desktop']['score']:.2f}"
        for c in chapters
        if by[c, "desktop"]["score"] < DESKTOP_FLOOR
    ]
    assert not heavy, (
        f"on desktop these chapters score below {DESKTOP_FLOOR}: {heavy}; "
        f"see {REPORT}"
    )


def test_gzip_server_compresses_text_only(tmp_path):
    import urllib.request

    (tmp_path / "a.html").write_text("<p>" + "x" * 5000 + "</p>")
    (tmp_path / "f.woff").write_bytes(b"\0" * 100)
    with serve_gzipped(tmp_path) as url:
        ask = {"Accept-Encoding": "gzip"}
        page = urllib.request.urlopen(
            urllib.request.Request(f"{url}/a.html", headers=ask)
        )
        assert page.headers["Content-Encoding"] == "gzip"
        assert gzip.decompress(page.read()).startswith(b"<p>xxx")
        font = urllib.request.urlopen(
            urllib.request.Request(f"{url}/f.woff", headers=ask)
        )
        assert font.headers["Content-Encoding"] is None
        assert font.read() == b"\0" * 100


def test_table_has_the_issue_columns():
    r = {
        "score": 0.5,
        "lcp": 8100.0,
        "tbt": 461.0,
        "bytes": 1136 * 1024,
        "elements": 20923.0,
        "lcpElement": 'section#s > p "At the end | of"',
    }
    assert table([("p", r, r)]).splitlines()[2] == (
        "| p | 0.50 | 8.1 s | 461 ms | 0.50 | 461 ms | 1136 KiB | 20923 "
        '| section#s > p "At the end / of" |'
    )
    # a math letter cut in two by a label's truncation still writes
    r["lcpElement"] = 'p "x = \ud835"'
    line = table([("p", r, r)]).splitlines()[2]
    assert line.endswith('| p "x = \ufffd" |')
    line.encode("utf-8")
