"""A Jacobian explorer that needs no kernel: hover an entry, switch op and n.

``jacobian_explorer(["inv", "norm"], sizes=[2, 3])`` returns a
`JacobianExplorer`: a heatmap of each op's Jacobian, drawn the way
`booktools.plot` draws Jacobians (rows are outputs, columns inputs, both
flattened row-major; zero white, positive red, negative blue; thick lines
between the blocks that flattening creates), with

* a readout: hovering an entry (tapping it on a phone, or reaching it with
  Tab) shows ``∂Y[1,0]/∂X[0,2] = −0.213``, the output and the input named by
  their own, unflattened indices, and under it the entry's formula with those
  indices filled in, or the reason the entry is zero;
* buttons that choose the op and n: the picture redraws (block grid,
  diagonal, triangle, band, permutation);
* buttons that choose what a hover highlights: the entry, its row (the VJP of
  the basis cotangent eᵢ, one backward pass) or its column (the JVP of the
  basis tangent eⱼ, one forward pass), as in chapter 7.

How it works with no kernel, and why this way
---------------------------------------------
The rendered book runs no kernel, so nothing may need Python once the page
is built. The explorer is HTML and CSS only, like the step toggle
(`booktools.widgets`) and built with the same kit (`booktools.html`), so the
same output works on the book's pages, in JupyterLab and Colab, and as short
text for nbval:

* every (op, n) heatmap is computed in Python beforehand; all of them are in
  the HTML, one ``div.jx-sized`` per n inside one ``div.jx-opgroup`` per op;
* the op, n and hover-mode buttons are labels of radio inputs; CSS
  ``:has(:checked)`` rules (`generated_css`) show the checked op's and n's
  heatmap: switching needs no kernel and no script;
* the heatmap is a CSS grid of cells, each with ``tabindex=0``,
  ``role=img`` and an ``aria-label`` holding its readout. ``:hover`` or
  ``:focus`` on a cell shows that label (``content: attr(aria-label)``) in a
  box under the grid, so the text a mouse user sees is the text a screen
  reader reads, stored once. A tap focuses the cell. Row and column
  highlights are ``:has()`` rules keyed on the checked mode and on the
  row/column class of the hovered cell.

Not SVG with a ``<title>`` per cell: a title shows only as the browser's slow
tooltip (never on a phone) and SVG elements have no ``::after`` to show it in
a readout. Not a charting library: 100 kB or more of JavaScript per page for
what a few kB of CSS do. Not a script: the CSS does it all, with JavaScript
off too.

Weight: a cell is one ``<i>`` element with its classes and aria-label;
colours are 25 shared CSS classes, not a style per cell.
`JacobianExplorer.html_bytes` measures an explorer's HTML. Keep n small:
matrix ops have n⁴ entries, and a heatmap may have at most `MAX_CELLS` cells.

Every value shown is an entry of the Jacobian that `vjplib.jacrev` computes
on a fixed, seeded float64 input (the unit tests compare it with
``torch.func.jacrev``), rounded to 3 significant digits, with a real minus
sign. Each op also states each entry's formula, evaluated independently of J;
the tests check that it equals J.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import matplotlib
import numpy as np
import torch

import vjplib
from booktools.html import style_once, uid
from booktools.plot import CMAP

__all__ = ["jacobian_explorer", "JacobianExplorer", "OPS", "MAX_CELLS"]

MAX_CELLS = 400  # cells of one heatmap; inv at n = 4 has 256
MAX_N = 20  # beyond this a vector's cells are too small to point at
LEVELS = 12  # colour classes q0 … q24: 12 shades each side of white
MODES = ("entry", "row = VJP of eᵢ", "column = JVP of eⱼ")
MODE_KEYS = ("entry", "row", "column")  # the same modes in the HTML
MAX_SIZES = 8  # sizes of one explorer: the stylesheet has a rule per size
MAX_HIGHLIGHT = 24  # rows (columns) the row (column) highlight reaches
MINUS = "\u2212"


# ---------------------------------------------------------------------------
# the ops: a seeded input, the function, and each entry's formula
# ---------------------------------------------------------------------------


def _randn(*shape, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64, generator=g)


def _softmax(x):
    e = vjplib.exp(x)
    return vjplib.div(e, vjplib.sum(e))


@dataclass(frozen=True)
class Op:
    """One op the explorer can show.

    ``setup(n)`` returns ``(f, x, ctx)``: a function of one tensor, its
    seeded float64 input, and the named tensors the formulas use.
    ``entry(ctx, o, i)`` returns ``(text, value)`` for ``∂out[o]/∂in[i]``:
    the formula with the indices filled in ("0: " and the reason when the
    entry is zero by structure) and the value of that formula, which the
    tests compare with the entry of J. ``cells(n)`` is the size of J.
    """

    label: str  # the button's label
    out_name: str
    in_name: str
    title: str  # the function, e.g. "Y = X⁻¹"
    formula: str  # the general entry, e.g. "∂Yᵢⱼ/∂Xₖₗ = −(X⁻¹)ᵢₖ(X⁻¹)ₗⱼ"
    structure: str  # what the picture shows
    setup: Callable
    entry: Callable
    cells: Callable

    @property
    def max_n(self) -> int:
        """The largest n ≤ MAX_N whose J has at most MAX_CELLS entries."""
        fits = [n for n in range(1, MAX_N + 1) if self.cells(n) <= MAX_CELLS]
        return max(fits)


def _ix(name, idx):
    return name if not idx else f"{name}[{','.join(map(str, idx))}]"


def _neg(text):
    """A negative index with a real minus sign: x[-2] -> x[−2]."""
    return text.replace("[-", f"[{MINUS}")


def _inv_setup(n):
    X = _randn(n, n, seed=100 + n) + n * torch.eye(n, dtype=torch.float64)
    return vjplib.inv, X, {"Xi": torch.linalg.inv(X)}


def _inv_entry(c, o, i):
    (a, b), (k, l) = o, i
    v = -c["Xi"][a, k] * c["Xi"][l, b]
    return f"= {MINUS}(X⁻¹)[{a},{k}]·(X⁻¹)[{l},{b}]", v


def _norm_setup(n):
    Y = _randn(n, n, seed=200 + n)
    return vjplib.norm, Y, {"Y": Y, "z": torch.linalg.norm(Y)}


def _norm_entry(c, o, i):
    k, l = i
    return f"= Y[{k},{l}] / z", c["Y"][k, l] / c["z"]


def _log_setup(n):
    g = torch.Generator().manual_seed(300 + n)
    x = 0.5 + 2.5 * torch.rand(n, dtype=torch.float64, generator=g)
    return vjplib.log, x, {"x": x}


def _log_entry(c, o, i):
    (a,), (b,) = o, i
    if a == b:
        return f"= 1 / x[{a}]", 1 / c["x"][a]
    return f"0: y[{a}] depends on x[{a}] only", 0.0


def _cumsum_setup(n):
    return vjplib.cumsum, _randn(n, seed=400 + n), {}


def _cumsum_entry(c, o, i):
    (a,), (b,) = o, i
    if b <= a:
        return f"= 1: x[{b}] is a term of y[{a}] = x[0] + … + x[{a}]", 1.0
    return f"0: y[{a}] = x[0] + … + x[{a}] stops before x[{b}]", 0.0


_KERNEL = 3  # kernel length of the convolution ops


def _conv_ctx(n):
    return _randn(n, seed=500 + n), _randn(_KERNEL, seed=600 + n)


def _conv_setup(wrt):
    """Setup of the convolution y = convolve(x, k) as a function of `wrt`
    ("k" or "x"), the other argument fixed."""

    def setup(n):
        x, k = _conv_ctx(n)
        if wrt == "k":
            return (lambda k: vjplib.convolve(x, k)), k, {"x": x}
        return (lambda x: vjplib.convolve(x, k)), x, {"k": k}

    return setup


def _conv_entry(read, term):
    """Entry (a, b) of the convolution's Jacobian: ``read``[a − b] (x for
    the kernel's Jacobian, k for the signal's), or 0 with the sum
    ``term(a)`` that has no such term."""

    def entry(c, o, i):
        (a,), (b,) = o, i
        s = a - b
        if 0 <= s < len(c[read]):
            return f"= {read}[{a}−{b}] = {read}[{s}]", c[read][s]
        return _neg(f"0: y[{a}] = Σⱼ {term(a)} has no {read}[{s}]"), 0.0

    return entry


_conv_kernel_setup = _conv_setup("k")
_conv_kernel_entry = _conv_entry("x", lambda a: f"x[{a}−j]·k[j]")
_conv_signal_setup = _conv_setup("x")
_conv_signal_entry = _conv_entry("k", lambda a: f"x[j]·k[{a}−j]")


def _transpose_setup(n):
    return vjplib.transpose, _randn(n, n + 1, seed=700 + n), {}


def _transpose_entry(c, o, i):
    (a, b), (k, l) = o, i
    if (k, l) == (b, a):
        return f"= 1: Y[{a},{b}] is X[{b},{a}]", 1.0
    return f"0: Y[{a},{b}] is X[{b},{a}], not X[{k},{l}]", 0.0


def _matmul_ctx(n):
    return _randn(n, n, seed=800 + n), _randn(n, n, seed=900 + n)


def _matmul_A_setup(n):
    A, B = _matmul_ctx(n)
    return (lambda A: vjplib.matmul(A, B)), A, {"B": B}


def _matmul_A_entry(c, o, i):
    (a, b), (k, l) = o, i
    if a == k:
        return f"= B[{l},{b}]", c["B"][l, b]
    return f"0: row {a} of Y = AB uses row {a} of A only", 0.0


def _matmul_B_setup(n):
    A, B = _matmul_ctx(n)
    return (lambda B: vjplib.matmul(A, B)), B, {"A": A}


def _matmul_B_entry(c, o, i):
    (a, b), (k, l) = o, i
    if b == l:
        return f"= A[{a},{k}]", c["A"][a, k]
    return f"0: column {b} of Y = AB uses column {b} of B only", 0.0


def _softmax_setup(n):
    x = _randn(n, seed=1000 + n)
    return _softmax, x, {"p": torch.softmax(x, dim=0)}


def _softmax_entry(c, o, i):
    (a,), (b,) = o, i
    p = c["p"]
    if a == b:
        return f"= p[{a}]·(1 − p[{a}])", p[a] * (1 - p[a])
    return f"= {MINUS}p[{a}]·p[{b}]", -p[a] * p[b]


def _sum_rows_setup(n):
    X = _randn(n, n + 1, seed=1100 + n)
    return (lambda X: vjplib.sum(X, dim=1)), X, {}


def _sum_rows_entry(c, o, i):
    (a,), (k, l) = o, i
    if a == k:
        return f"= 1: X[{k},{l}] is a term of s[{a}]", 1.0
    return f"0: s[{a}] sums row {a} of X only", 0.0


def _square_setup(n):
    X = _randn(n, n, seed=1200 + n)
    return (lambda X: vjplib.matmul(X, X)), X, {"X": X}


def _square_entry(c, o, i):
    (a, b), (k, l) = o, i
    X = c["X"]
    if a == k and b == l:
        return f"= X[{l},{b}] + X[{a},{k}]", X[l, b] + X[a, k]
    if a == k:
        return f"= X[{l},{b}]", X[l, b]
    if b == l:
        return f"= X[{a},{k}]", X[a, k]
    return f"0: Y[{a},{b}] uses only row {a} and column {b} of X", 0.0


def _square_cells(n):
    return n**4


OPS: dict[str, Op] = {
    "inv": Op(
        "inv",
        "Y",
        "X",
        "Y = X⁻¹",
        "∂Yᵢⱼ/∂Xₖₗ = −(X⁻¹)ᵢₖ(X⁻¹)ₗⱼ",
        "n × n blocks: J = −X⁻¹ ⊗ X⁻ᵀ",
        _inv_setup,
        _inv_entry,
        _square_cells,
    ),
    "norm": Op(
        "norm",
        "z",
        "Y",
        "z = ‖Y‖",
        "∂z/∂Yₖₗ = Yₖₗ / z",
        "one row: the gradient, Y / z flattened",
        _norm_setup,
        _norm_entry,
        lambda n: n * n,
    ),
    "log": Op(
        "log",
        "y",
        "x",
        "y = log x",
        "∂yᵢ/∂xⱼ = δᵢⱼ / xⱼ",
        "diagonal: each output depends on one input",
        _log_setup,
        _log_entry,
        lambda n: n * n,
    ),
    "cumsum": Op(
        "cumsum",
        "y",
        "x",
        "y = cumsum(x)",
        "∂yᵢ/∂xⱼ = [j ≤ i]",
        "lower triangle of ones",
        _cumsum_setup,
        _cumsum_entry,
        lambda n: n * n,
    ),
    "conv_kernel": Op(
        "conv (kernel)",
        "y",
        "k",
        "y = x * k (full), w.r.t. k",
        "∂yᵢ/∂kⱼ = xᵢ₋ⱼ",
        "a band: x slides down the columns (Toeplitz)",
        _conv_kernel_setup,
        _conv_kernel_entry,
        lambda n: (n + _KERNEL - 1) * _KERNEL,
    ),
    "conv_signal": Op(
        "conv (signal)",
        "y",
        "x",
        "y = x * k (full), w.r.t. x",
        "∂yᵢ/∂xⱼ = kᵢ₋ⱼ",
        "a band of width 3: k slides down the diagonal",
        _conv_signal_setup,
        _conv_signal_entry,
        lambda n: (n + _KERNEL - 1) * n,
    ),
    "transpose": Op(
        "transpose",
        "Y",
        "X",
        "Y = Xᵀ, X of n × (n+1)",
        "∂Yᵢⱼ/∂Xₖₗ = [k = j][l = i]",
        "a permutation: one 1 in every row and every column",
        _transpose_setup,
        _transpose_entry,
        lambda n: (n * (n + 1)) ** 2,
    ),
    "matmul_A": Op(
        "matmul (A)",
        "Y",
        "A",
        "Y = AB, w.r.t. A",
        "∂Yᵢⱼ/∂Aₖₗ = [i = k] Bₗⱼ",
        "block diagonal: J = I ⊗ Bᵀ",
        _matmul_A_setup,
        _matmul_A_entry,
        _square_cells,
    ),
    "matmul_B": Op(
        "matmul (B)",
        "Y",
        "B",
        "Y = AB, w.r.t. B",
        "∂Yᵢⱼ/∂Bₖₗ = Aᵢₖ [j = l]",
        "diagonal blocks: J = A ⊗ I",
        _matmul_B_setup,
        _matmul_B_entry,
        _square_cells,
    ),
    "softmax": Op(
        "softmax",
        "p",
        "x",
        "p = softmax(x)",
        "∂pᵢ/∂xⱼ = pᵢδᵢⱼ − pᵢpⱼ",
        "diagonal minus rank one: diag(p) − ppᵀ",
        _softmax_setup,
        _softmax_entry,
        lambda n: n * n,
    ),
    "sum_rows": Op(
        "sum of rows",
        "s",
        "X",
        "s = X.sum(dim=1), X of n × (n+1)",
        "∂sᵢ/∂Xₖₗ = [k = i]",
        "a staircase: J = I ⊗ 1ᵀ",
        _sum_rows_setup,
        _sum_rows_entry,
        lambda n: n * n * (n + 1),
    ),
    "square": Op(
        "X @ X",
        "Y",
        "X",
        "Y = X X",
        "∂Yᵢⱼ/∂Xₖₗ = [i = k] Xₗⱼ + Xᵢₖ [j = l]",
        "two Kronecker terms: J = I ⊗ Xᵀ + X ⊗ I",
        _square_setup,
        _square_entry,
        _square_cells,
    ),
}


# ---------------------------------------------------------------------------
# one panel: the heatmap of one op at one n, as HTML
# ---------------------------------------------------------------------------


def fmt(v: float) -> str:
    """3 significant digits with a real minus sign, and no "−0"."""
    text = f"{float(v) + 0.0:.3g}"
    if text.startswith("-") and float(text) == 0.0:
        text = text[1:]
    return text.replace("-", MINUS)


def _blocks(shape) -> int:
    """Size of the blocks row-major flattening makes (0: none)."""
    return math.prod(shape[1:]) if len(shape) >= 2 and shape[0] > 1 else 0


@dataclass
class Panel:
    """One op at one n: J, its shapes and the readout of every cell."""

    op: str
    n: int
    J: torch.Tensor  # out.shape + in.shape, from vjplib.jacrev
    x: torch.Tensor  # the input J was computed at
    out_shape: tuple
    in_shape: tuple
    labels: list  # labels[r][c]: the readout of cell (r, c)
    formula_values: np.ndarray  # each cell's formula, evaluated

    @property
    def matrix(self) -> np.ndarray:
        rows = math.prod(self.out_shape)
        return self.J.reshape(rows, math.prod(self.in_shape)).numpy()


def make_panel(op: str, n: int) -> Panel:
    """J by vjplib.jacrev at the op's seeded input, and each cell's text."""
    spec = OPS[op]
    f, x, ctx = spec.setup(n)
    J = vjplib.jacrev(f)(x)
    in_shape = tuple(x.shape)
    out_shape = tuple(J.shape[: J.ndim - len(in_shape)])
    M = J.reshape(math.prod(out_shape), math.prod(in_shape))
    outs = list(np.ndindex(*out_shape)) if out_shape else [()]
    ins = list(np.ndindex(*in_shape))
    labels, values = [], np.zeros(tuple(M.shape))
    for r, o in enumerate(outs):
        row = []
        for c, i in enumerate(ins):
            text, value = spec.entry(ctx, o, i)
            values[r, c] = float(value)
            head = (
                f"∂{_ix(spec.out_name, o)}/∂{_ix(spec.in_name, i)}"
                f" = {fmt(M[r, c])}"
            )
            if text.startswith("0: "):
                text = "zero: " + text[3:]
            row.append(f"{head}\n{text}")
        labels.append(row)
    return Panel(op, n, J, x, out_shape, in_shape, labels, values)


def _colour(v: float, half: float) -> int:
    """The colour class of value v on a scale centred on 0, ±half."""
    return int(round(v / half * LEVELS)) + LEVELS


def panel_html(p: Panel) -> str:
    """A CSS grid of focusable cells, a caption and a readout box."""
    spec = OPS[p.op]
    M = p.matrix
    rows, cols = M.shape
    half = float(np.abs(M).max()) or 1.0
    bo, bi = _blocks(p.out_shape), _blocks(p.in_shape)
    cells = []
    for r in range(rows):
        for c in range(cols):
            cls = f"r{r} c{c} q{_colour(M[r, c], half)}"
            if bi and c and c % bi == 0:
                cls += " bl"
            if bo and r and r % bo == 0:
                cls += " bt"
            label = html.escape(p.labels[r][c], quote=True)
            label = label.replace("\n", "&#10;")
            cells.append(
                f'<i tabindex=0 role=img class="{cls}" '
                f'aria-label="{label}"></i>'
            )
    ins = "×".join(map(str, p.in_shape))
    outs = "×".join(map(str, p.out_shape)) or "a scalar"
    head = (
        f'<div class="jx-cap"><b>{html.escape(spec.title)}</b>, '
        f"n = {p.n}: J is {rows} × {cols}, "
        f"{html.escape(spec.structure)}.<br>"
        f"{html.escape(spec.formula)}</div>"
    )
    axes = (
        f'<div class="jx-axes">rows: outputs {spec.out_name} ({outs}),'
        f" columns: inputs {spec.in_name} ({ins}), both row-major</div>"
    )
    style = (
        f"max-width:min(100%,{cols * 2.4:.1f}em);"
        f"grid-template-columns:repeat({cols},1fr)"
    )
    grid = (
        f'<div class="jx-g" data-op="{p.op}" data-n="{p.n}" '
        f'data-rows="{rows}" data-cols="{cols}" style="{style}">'
        f"{''.join(cells)}</div>"
    )
    hint = (
        '<div class="jx-hint" aria-hidden="true">Hover or tap an entry;'
        " Tab moves through them.</div>"
    )
    return f'<div class="jx-panel">{head}{axes}{grid}{hint}</div>'


# ---------------------------------------------------------------------------
# the CSS: layout, readout, highlights
# ---------------------------------------------------------------------------

_X = ".jacobian-explorer"
_HOV = ":is(:hover,:focus)"
_ROW_NOTE = (
    "this row = eᵢᵀJ: the VJP of the basis cotangent at this "
    "output, one backward pass"
)
_COL_NOTE = (
    "this column = Jeⱼ: the JVP of the basis tangent at this "
    "input, one forward pass"
)


def _colour_css() -> str:
    cmap = matplotlib.colormaps[CMAP]
    return "".join(
        f"{_X} .q{q}{{background:"
        f"{matplotlib.colors.to_hex(cmap(q / (2 * LEVELS)))}}}"
        for q in range(2 * LEVELS + 1)
    )


_SROW = f'{_X}:has(.jx-mode input[value="row"]:checked)'
_SCOL = f'{_X}:has(.jx-mode input[value="column"]:checked)'


def generated_css() -> str:
    """The explorers' rules generated per op, size, row and column (the
    rest is in booktools/kit.css): radio inputs switch op, n and mode
    through ``:checked``/``:has()``; in row (column) mode a hovered cell
    dims the cells outside its row (column). No script."""
    ops = ",".join(
        f'{_X}:has(.jx-op input[data-i="{i}"]:checked) '
        f'.jx-opgroup[data-i="{i}"]'
        for i in range(len(OPS))
    )
    sizes = ",".join(
        f'{_X}:has(.jx-n input[data-i="{j}"]:checked) .jx-sized[data-i="{j}"]'
        for j in range(MAX_SIZES)
    )
    rows = ",".join(
        f"{_SROW} .jx-g:has(.r{r}{_HOV}) i:not(.r{r})"
        for r in range(MAX_HIGHLIGHT)
    )
    cols = ",".join(
        f"{_SCOL} .jx-g:has(.c{c}{_HOV}) i:not(.c{c})"
        for c in range(MAX_HIGHLIGHT)
    )
    notes = "".join(
        f'{mode} .jx-g i{_HOV}::after{{content:attr(aria-label) "\\A" '
        f'"{note}";height:6.4em}}'
        for mode, note in ((_SROW, _ROW_NOTE), (_SCOL, _COL_NOTE))
    )
    return f"""{ops},{sizes}{{display:block}}
{rows}{{opacity:.18}}{cols}{{opacity:.18}}{notes}
{_SROW} .jx-panel,{_SCOL} .jx-panel{{padding-bottom:6.8em}}
{_colour_css()}
"""


# ---------------------------------------------------------------------------
# the widget
# ---------------------------------------------------------------------------


class JacobianExplorer:
    """Jacobian heatmaps to hover and switch with no kernel (module doc).

    >>> jacobian_explorer(["inv", "log"], sizes=[2, 3])
    JacobianExplorer(ops=['inv', 'log'], n=[2, 3])
    """

    def __init__(
        self,
        ops: Sequence[str],
        sizes: Sequence[int] = (2, 3, 4),
        *,
        highlight: str = "entry",
        title: str | None = None,
    ):
        ops, sizes = _check(ops, sizes, highlight)
        self.ops, self.sizes, self.title = ops, sizes, title
        self.highlight = highlight
        #: the id of the HTML: a hash of the content (`booktools.html.uid`)
        self.uid = uid("jx", ops, sizes, highlight, title)
        self.panels = {(op, n): make_panel(op, n) for op in ops for n in sizes}
        self._op, self._n = ops[0], sizes[0]

    # -- the HTML: radios, labels and CSS, no script -------------------------
    def to_html(self) -> str:
        """The explorer as HTML that works with no script: radio inputs for
        op, n and mode (labels styled as buttons), every (op, n) panel, and
        the kit's CSS (`booktools.html`, `generated_css`) showing the
        checked one. A cell shows its readout on hover and on focus (Tab,
        or a tap)."""
        uid = self.uid
        mode = self.highlight

        def group(kind, caption, name, choices, checked):
            items = "".join(
                f'<input type="radio" name="{uid}-{kind}" '
                f'id="{uid}-{kind}{i}" value="{value}" data-i="{i}"'
                + (" checked" if value == checked else "")
                + f'><label for="{uid}-{kind}{i}" title="{html.escape(tip)}">'
                f"{html.escape(text)}</label>"
                for i, (value, text, tip) in enumerate(choices)
            )
            hidden = " hidden" if len(choices) == 1 else ""
            return (
                f'<div class="jx-ctl jx-{kind}" role="radiogroup" '
                f'aria-label="{name}"{hidden}><span aria-hidden="true">'
                f"{caption}</span>{items}</div>"
            )

        controls = (
            group(
                "op",
                "op",
                "op",
                [(op, OPS[op].label, OPS[op].title) for op in self.ops],
                self.op,
            )
            + group(
                "n",
                "n",
                "n",
                [(n, str(n), f"n = {n}") for n in self.sizes],
                self.n,
            )
            + group(
                "mode",
                "hover",
                "hover highlights",
                list(zip(MODE_KEYS, MODES, _MODE_TIPS)),
                mode,
            )
        )
        panels = "".join(
            f'<div class="jx-opgroup" data-i="{i}">'
            + "".join(
                f'<div class="jx-sized" data-i="{j}">'
                f"{panel_html(self.panels[(op, n)])}</div>"
                for j, n in enumerate(self.sizes)
            )
            + "</div>"
            for i, op in enumerate(self.ops)
        )
        title = (
            f'<p class="jx-title">{html.escape(self.title)}</p>'
            if self.title
            else ""
        )
        return (
            f'<div class="jacobian-explorer" id="{uid}">{title}{controls}'
            f'<div class="jx-panels">{panels}</div></div>'
        )

    def _repr_html_(self) -> str:
        """The HTML for Jupyter and the book, with the CSS the first time a
        process shows a widget (`booktools.html.style_once`)."""
        return style_once("explorer", generated_css) + self.to_html()

    # -- what is shown first, set from Python (the page switches by itself)
    @property
    def op(self) -> str:
        """The op shown first."""
        return self._op

    @op.setter
    def op(self, name: str) -> None:
        if name not in self.ops:
            raise ValueError(
                f"JacobianExplorer.op: {name!r} is not one of "
                f"this explorer's ops {self.ops}"
            )
        self._op = name

    @property
    def n(self) -> int:
        """The n shown first."""
        return self._n

    @n.setter
    def n(self, n: int) -> None:
        if n not in self.sizes:
            raise ValueError(
                f"JacobianExplorer.n: {n!r} is not one of "
                f"this explorer's sizes {self.sizes}"
            )
        self._n = n

    @property
    def panel(self) -> Panel:
        """The panel shown."""
        return self.panels[(self.op, self.n)]

    def html_bytes(self) -> int:
        """Bytes of HTML this explorer adds to a page (UTF-8)."""
        return len(self.to_html().encode())

    def __repr__(self) -> str:
        return f"JacobianExplorer(ops={self.ops!r}, n={self.sizes!r})"


_MODE_TIPS = (
    "Hover shows one entry",
    "Hover also highlights the entry's row",
    "Hover also highlights the entry's column",
)


def _mode_label(highlight: str) -> str:
    keys = {"entry": MODES[0], "row": MODES[1], "column": MODES[2]}
    if highlight not in keys:
        raise ValueError(
            f"jacobian_explorer: highlight={highlight!r}; use 'entry', "
            "'row' (VJPs of basis vectors) or 'column' (JVPs)"
        )
    return keys[highlight]


def _check(ops, sizes, highlight):
    ops = [ops] if isinstance(ops, str) else list(ops)
    if not ops:
        raise ValueError(
            "jacobian_explorer: no ops; pass a list such as "
            f"['inv', 'log'] from {list(OPS)}"
        )
    for op in ops:
        if op not in OPS:
            raise ValueError(
                f"jacobian_explorer: unknown op {op!r}; "
                f"choose from {list(OPS)}"
            )
    if len(set(ops)) != len(ops):
        raise ValueError(f"jacobian_explorer: ops {ops} name an op twice")
    given = sizes
    if isinstance(sizes, (int, np.integer)):
        sizes = [sizes]
    sizes = [] if isinstance(sizes, str) else list(sizes)
    ok = [
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1
        for n in sizes
    ]
    if not sizes or not all(ok):
        raise ValueError(
            "jacobian_explorer: sizes must be positive ints "
            f"such as [2, 3, 4], got {given!r}"
        )
    if len(sizes) > MAX_SIZES:
        raise ValueError(
            f"jacobian_explorer: {len(sizes)} sizes, more than MAX_SIZES = "
            f"{MAX_SIZES} (the book's stylesheet has a rule per size); "
            "pick fewer"
        )
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"jacobian_explorer: sizes {sizes} repeat a size")
    sizes = [int(n) for n in sizes]
    for op in ops:
        big = [n for n in sizes if n > OPS[op].max_n]
        if big:
            raise ValueError(
                f"jacobian_explorer: op {op!r} at n = {big[0]} has "
                f"{OPS[op].cells(big[0])} entries, too many to point at "
                f"(at most {MAX_CELLS} cells and n ≤ {MAX_N}); use "
                f"n ≤ {OPS[op].max_n} for {op!r}, or a separate explorer"
            )
    _mode_label(highlight)
    return ops, sizes


def jacobian_explorer(
    ops: Sequence[str] | str,
    sizes: Sequence[int] | int = (2, 3, 4),
    *,
    highlight: str = "entry",
    title: str | None = None,
) -> JacobianExplorer:
    """An interactive heatmap of the Jacobian of each op at each n.

    ``ops``: names from `OPS` ("inv", "norm", "log", "cumsum",
    "conv_kernel", "conv_signal", "transpose", "matmul_A", "matmul_B",
    "softmax", "sum_rows", "square"). ``highlight``: what a hover
    highlights at first, "entry", "row" (the VJP of eᵢ) or "column" (the
    JVP of eⱼ); the reader can switch. Works with no kernel (module doc).
    """
    return JacobianExplorer(ops, sizes, highlight=highlight, title=title)
