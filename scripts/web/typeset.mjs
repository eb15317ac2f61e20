// Typeset the math of a built book at build time, so no page loads a
// typesetting script.
//
//   node scripts/web/typeset.mjs OUTDIR
//
// Every HTML page below OUTDIR (not _static, _sources, _images) is read
// into MathJax 3's own light DOM and typeset there exactly as MathJax in the
// browser did it: TeX between \( \) (inline) and \[ \] (display), and
// \begin{...}\end{...}, anywhere in the body except inside <pre>, <code>,
// <script>, <style>, <textarea> and <noscript> (MathJax's skipHtmlTags) or
// below class="tex2jax_ignore"/"mathjax_ignore". That covers the prose
// (Sphinx writes <span class="math">\(…\)</span> and <div class="math">
// \[…\]</div>) and the math inside cell outputs (the step toggles' and the
// explorers' text/html, glued values).
//
// Output: MathJax's CommonHTML (HTML elements and CSS with MathJax's TeX
// web fonts, the fonts the book showed before), with MathML beside every
// formula for screen readers (MathJax's assistive-mml: the visual rendering
// is aria-hidden, <mjx-assistive-mml> holds the <math>). The CSS of every
// character used in the book goes into one stylesheet,
// OUTDIR/_static/mathjax/chtml.css, and the fonts into
// OUTDIR/_static/mathjax/woff-v2; each page with math links that stylesheet.
//
// On stdout: one line of JSON, {"pages", "typeset", "formulas", "errors"},
// where "errors" lists every formula MathJax could not typeset
// ({"page", "tex", "message"}); _ext/typeset_math.py turns them into Sphinx
// warnings (the build runs with -W, so they fail it). Exit status 1 only
// when the script itself fails.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const { mathjax } = require("mathjax-full/js/mathjax.js");
const { TeX } = require("mathjax-full/js/input/tex.js");
const { CHTML } = require("mathjax-full/js/output/chtml.js");
const { liteAdaptor } = require("mathjax-full/js/adaptors/liteAdaptor.js");
const { RegisterHTMLHandler } = require("mathjax-full/js/handlers/html.js");
const {
  AssistiveMmlHandler,
} = require("mathjax-full/js/a11y/assistive-mml.js");
const { AllPackages } = require("mathjax-full/js/input/tex/AllPackages.js");

const outdir = process.argv[2];
if (!outdir || !fs.existsSync(outdir)) {
  console.error(`typeset.mjs: no such built book: ${outdir}`);
  process.exit(1);
}
const STATIC = path.join(outdir, "_static", "mathjax");
const CSS = path.join(STATIC, "chtml.css");
const FONTS = path.join(
  path.dirname(require.resolve("mathjax-full/package.json")),
  "es5", "output", "chtml", "fonts", "woff-v2",
);
// Sphinx does not write these; a page holding math is marked by MathJax's
// own elements once typeset
const SKIP_DIRS = new Set(["_static", "_sources", "_images", "_downloads"]);
// What the browser's tex-chtml.js had (its autoload brings in every package
// on first use), less "noerrors" and "noundefined" (a formula that fails,
// or names a macro that does not exist, must be reported, not shown as its
// source or in red) and "textmacros" (not autoloaded by MathJax 3: \text{}
// keeps the browser's behaviour).
const PACKAGES = AllPackages.filter(
  (p) => !["noerrors", "noundefined", "textmacros"].includes(p),
);
// where MathJax does not look for math, and where the typeset math is
const SKIP = new Set([
  "script", "noscript", "style", "textarea", "pre", "code",
  "mjx-container",
]);
const LEFT = /\\\(|\\\[|\\begin\{/;

/** Text below node, outside SKIP, that still holds a math delimiter: an
 * opening one whose closing one MathJax did not find (unbalanced braces). */
function leftover(node, found = []) {
  for (const child of adaptor.childNodes(node)) {
    const kind = adaptor.kind(child);
    if (kind === "#text") {
      const text = adaptor.value(child);
      if (LEFT.test(text)) found.push(text.trim().slice(0, 160));
    } else if (!kind.startsWith("#") && !SKIP.has(kind)) {
      leftover(child, found);
    }
  }
  return found;
}

function pages(dir) {
  const found = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (!SKIP_DIRS.has(entry.name)) found.push(...pages(full));
    } else if (entry.name.endsWith(".html")) {
      found.push(full);
    }
  }
  return found.sort();
}

const adaptor = liteAdaptor();
AssistiveMmlHandler(RegisterHTMLHandler(adaptor));

const errors = [];
let pending = []; // messages of the formulas that failed on this page
const tex = new TeX({
  packages: PACKAGES,
  inlineMath: [["\\(", "\\)"]],
  displayMath: [["\\[", "\\]"]],
  processEscapes: false,
  processEnvironments: true,
  formatError(jax, err) {
    pending.push(err.message);
    return jax.formatError(err);
  },
});
// One output jax for all pages: it remembers every character it has
// placed, so its stylesheet at the end covers the whole book. Size: in the
// browser MathJax scaled its fonts to the x-height of the text around the
// math (127% of the text's size on Linux's DejaVu Sans, about 115% on the
// Arial, Helvetica or Segoe UI of other systems); Node has no text to
// measure, so the scale is fixed between the two.
const chtml = new CHTML({
  fontURL: "woff-v2",
  adaptiveCSS: true,
  matchFontHeight: false,
  scale: 1.2,
});

function failed(item) {
  let bad = false;
  item.root.walkTree((node) => {
    if (node.isKind("merror")) bad = true;
  });
  return bad;
}

let typesetPages = 0;
let formulas = 0;
const list = pages(outdir);
for (const file of list) {
  const page = path.relative(outdir, file).split(path.sep).join("/");
  const source = fs.readFileSync(file, "utf8");
  // A formula that failed in an earlier build of an unchanged page (an
  // incremental build does not write it again) is still an error.
  for (const [, message] of source.matchAll(
    /<mjx-merror data-mjx-error="([^"]*)"/g,
  )) {
    errors.push({
      page, tex: "(its TeX is gone: typeset by an earlier build)", message,
    });
  }
  // cheap test first: most pages of a book's search and index hold no math
  if (!LEFT.test(source)) continue;
  pending = [];
  const doc = mathjax.document(source, {
    InputJax: tex,
    OutputJax: chtml,
    ignoreHtmlClass: "tex2jax_ignore|mathjax_ignore",
    processHtmlClass: "tex2jax_process|mathjax_process|math|output_area",
  });
  doc.render();
  const items = Array.from(doc.math);
  items.filter(failed).forEach((item, i) => {
    errors.push({ page, tex: item.math, message: pending[i] || "" });
  });
  for (const text of leftover(adaptor.body(doc.document))) {
    errors.push({
      page, tex: text,
      message: "math with no closing delimiter (unbalanced braces?)",
    });
  }
  if (items.length === 0) continue;
  formulas += items.length;
  // MathJax put its stylesheet into the head: the pages share one file
  const head = adaptor.head(doc.document);
  for (const style of adaptor.tags(head, "style")) {
    if (adaptor.getAttribute(style, "id") === "MJX-CHTML-styles") {
      adaptor.remove(style);
    }
  }
  const rel = path.relative(path.dirname(file), CSS).split(path.sep).join("/");
  const link = `<link rel="stylesheet" href="${rel}" type="text/css" />\n`;
  let html = adaptor.doctype(doc.document) + "\n" +
    adaptor.outerHTML(adaptor.root(doc.document)) + "\n";
  html = html.replace(/<\/head>/i, link + "</head>");
  fs.writeFileSync(file, html);
  typesetPages += 1;
}

fs.mkdirSync(STATIC, { recursive: true });
fs.cpSync(FONTS, path.join(STATIC, "woff-v2"), { recursive: true });
// The stylesheet: MathJax's, for every character used on any page. A
// build that rewrote only some pages (Sphinx's incremental build) keeps
// the rules of the others: the old sheet's rules stay, the new replace
// them or are added.
const sheet = chtml.styleSheet(
  mathjax.document("", { InputJax: tex, OutputJax: chtml }),
);
const rules = new Map();
// a selector and a body are read with their quoted strings whole: a
// selector may quote (mjx-container[display="true"]) and a body may hold a
// brace in a string (the glyph rule of "{": content: "{")
const RULE = /((?:[^{}"']|"[^"]*"|'[^']*')+)\{((?:[^{}"']|"[^"]*"|'[^']*')*)\}/g;
const old = fs.existsSync(CSS) ? fs.readFileSync(CSS, "utf8") : "";
for (const text of [old, adaptor.textContent(sheet)]) {
  for (const [, selector, body] of text.matchAll(RULE)) {
    // a selector may have several rules (@font-face, mjx-mtext): a rule
    // is its selector and its body
    const rule = [selector.trim(), body.trim().replace(/\s+/g, " ")];
    rules.set(rule.join("\0"), rule);
  }
}
const css = [...rules.values()]
  .map(([selector, body]) => `${selector} {${body}}`)
  .join("\n\n");
fs.writeFileSync(CSS, css + "\n");

console.log(JSON.stringify({
  pages: list.length,
  typeset: typesetPages,
  formulas,
  errors,
}));
