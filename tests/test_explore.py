"""booktools.explore: the Jacobian explorer's values, text, structure and CSS.

The expectations come from outside the code under test: J from
torch.func.jacrev of a plain torch function, index names from
numpy.unravel_index (row-major, as torch.flatten), the colour scale from its
definition (white at zero, red above, blue below), the block lines from the
shapes.
"""

from __future__ import annotations

import math
import re
from html.parser import HTMLParser

import matplotlib.colors
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from booktools.explore import (
    LEVELS,
    MAX_CELLS,
    MAX_HIGHLIGHT,
    MAX_SIZES,
    MODE_KEYS,
    OPS,
    JacobianExplorer,
    _colour_css,
    fmt,
    generated_css,
    jacobian_explorer,
    make_panel,
    panel_html,
)


def _conv(x, k):
    """numpy.convolve(x, k, "full") in torch (conv1d correlates: flip k)."""
    m = k.shape[0]
    return F.conv1d(
        F.pad(x, (m - 1, m - 1))[None, None], torch.flip(k, [0])[None, None]
    ).flatten()


# op -> (x, ctx) -> a torch function of the op's input
REFERENCE = {
    "inv": lambda x, c: torch.linalg.inv,
    "norm": lambda x, c: torch.linalg.norm,
    "log": lambda x, c: torch.log,
    "cumsum": lambda x, c: lambda v: torch.cumsum(v, 0),
    "conv_kernel": lambda x, c: lambda k: _conv(c["x"], k),
    "conv_signal": lambda x, c: lambda v: _conv(v, c["k"]),
    "transpose": lambda x, c: lambda X: X.T,
    "matmul_A": lambda x, c: lambda A: A @ c["B"],
    "matmul_B": lambda x, c: lambda B: c["A"] @ B,
    "softmax": lambda x, c: lambda v: torch.softmax(v, dim=0),
    "sum_rows": lambda x, c: lambda X: X.sum(dim=1),
    "square": lambda x, c: lambda X: X @ X,
}

CASES = [
    (op, n)
    for op in OPS
    for n in sorted({1, 2, 3, OPS[op].max_n})
    if not (op == "inv" and n == 1)
]


def test_every_op_has_a_reference():
    assert set(REFERENCE) == set(OPS)


@pytest.mark.parametrize("op,n", CASES)
def test_jacobian_equals_torch_func_jacrev(op, n):
    p = make_panel(op, n)
    _, x, ctx = OPS[op].setup(n)
    assert p.x.dtype == torch.float64 and torch.equal(p.x, x)  # seeded
    expected = torch.func.jacrev(REFERENCE[op](x, ctx))(x)
    assert p.J.shape == expected.shape
    torch.testing.assert_close(p.J, expected, rtol=1e-12, atol=1e-14)
    assert p.matrix.size == OPS[op].cells(n) <= MAX_CELLS


@pytest.mark.parametrize("op,n", CASES)
def test_formulas_equal_the_entries_and_zeros_say_why(op, n):
    p = make_panel(op, n)
    np.testing.assert_allclose(
        p.formula_values, p.matrix, rtol=1e-12, atol=1e-14
    )
    said_zero = np.array(
        [
            [lab.split("\n")[1].startswith("zero: ") for lab in row]
            for row in p.labels
        ]
    )
    assert np.all(p.matrix[said_zero] == 0), f"{op}: a 'zero' is not zero"
    if n >= 2:  # at n = 1 softmax is constant: p = 1, a zero by value
        assert np.array_equal(said_zero, p.matrix == 0), (
            f"{op}: the cells that explain a zero are not the zero entries"
        )


def _cells(html_text):
    """(class list, aria-label) of every <i> cell in a panel's HTML."""
    found = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "i":
                found.append((a["class"].split(), a["aria-label"], a))

    P().feed(html_text)
    return found


def _name(name, shape, flat):
    if not shape:
        return name
    idx = np.unravel_index(flat, shape)
    return f"{name}[{','.join(str(int(i)) for i in idx)}]"


@pytest.mark.parametrize(
    "op,n",
    [
        ("inv", 3),
        ("norm", 2),
        ("transpose", 2),
        ("conv_kernel", 4),
        ("sum_rows", 2),
        ("softmax", 5),
    ],
)
def test_cells_name_unflattened_indices_and_show_entries_of_J(op, n):
    p = make_panel(op, n)
    spec = OPS[op]
    M = p.matrix
    rows, cols = M.shape
    cells = _cells(panel_html(p))
    assert len(cells) == rows * cols
    for k, (classes, label, attrs) in enumerate(cells):
        r, c = divmod(k, cols)
        assert f"r{r}" in classes and f"c{c}" in classes
        assert attrs["tabindex"] == "0" and attrs["role"] == "img"
        first, second = label.split("\n")
        m = re.fullmatch(r"∂(\S+)/∂(\S+) = (\S+)", first)
        assert m, first
        assert m.group(1) == _name(spec.out_name, p.out_shape, r)
        assert m.group(2) == _name(spec.in_name, p.in_shape, c)
        shown = m.group(3)
        assert "-" not in shown, f"ASCII minus in {shown!r}"
        value = float(shown.replace("\u2212", "-"))
        assert value == float(f"{M[r, c]:.3g}") or (value == 0 == M[r, c])
        assert second.startswith(("= ", "zero: "))


def test_readout_for_the_inverse_states_its_formula():
    p = make_panel("inv", 3)
    Xi = torch.linalg.inv(p.x)
    # row 3 = Y[1,0], column 2 = X[0,2]: -(X^-1)[1,0] (X^-1)[2,0]
    label = p.labels[3][2]
    assert label.startswith("∂Y[1,0]/∂X[0,2] = ")
    assert label.endswith("= \u2212(X⁻¹)[1,0]·(X⁻¹)[2,0]")
    assert math.isclose(
        p.matrix[3, 2], -(Xi[1, 0] * Xi[2, 0]).item(), rel_tol=1e-12
    )


def test_fmt_three_digits_real_minus():
    assert fmt(-0.2134) == "\u22120.213"
    assert fmt(1.0) == "1"
    assert fmt(-0.0) == "0"
    assert fmt(-1e-9) == "\u22121e\u221209"
    assert fmt(12345.0) == "1.23e+04"


def _classes(op, n):
    return [set(cls) for cls, _, _ in _cells(panel_html(make_panel(op, n)))]


def test_colour_classes_are_centred_on_white():
    p = make_panel("inv", 3)
    M = p.matrix.ravel()
    qs = [
        int(next(c for c in cls if re.fullmatch(r"q\d+", c))[1:])
        for cls in _classes("inv", 3)
    ]
    for v, q in zip(M, qs):
        assert 0 <= q <= 2 * LEVELS
        assert (q > LEVELS) == (v > 0.5 / LEVELS * np.abs(M).max())
    assert max(qs) == 2 * LEVELS or min(qs) == 0  # the largest |J| is full
    zero_q = [
        q
        for v, q in zip(
            make_panel("log", 3).matrix.ravel(),
            [
                int(next(c for c in cls if c[0] == "q")[1:])
                for cls in _classes("log", 3)
            ],
        )
        if v == 0
    ]
    assert zero_q and set(zero_q) == {LEVELS}
    css = _colour_css()
    colours = dict(re.findall(r"\.q(\d+)\{background:(#[0-9a-f]{6})\}", css))
    assert len(colours) == 2 * LEVELS + 1
    white = matplotlib.colors.to_rgb(colours[str(LEVELS)])
    red = matplotlib.colors.to_rgb(colours[str(2 * LEVELS)])
    blue = matplotlib.colors.to_rgb(colours["0"])
    assert min(white) > 0.9
    assert red[0] > red[2] and blue[2] > blue[0]


def test_block_lines_follow_row_major_flattening():
    n = 3
    cls = _classes("inv", n)
    cols = n * n
    left = {k % cols for k, c in enumerate(cls) if "bl" in c}
    top = {k // cols for k, c in enumerate(cls) if "bt" in c}
    assert left == {3, 6} and top == {3, 6}
    assert not any({"bl", "bt"} & c for c in _classes("log", 4))
    # matmul w.r.t. A at n = 2: 2×2 output and input, blocks of 2
    cls = _classes("matmul_A", 2)
    assert {k % 4 for k, c in enumerate(cls) if "bl" in c} == {2}


def test_repr_and_what_python_shows_first():
    e = jacobian_explorer(["inv", "norm"], sizes=[2, 3])
    assert repr(e) == "JacobianExplorer(ops=['inv', 'norm'], n=[2, 3])"
    assert (e.op, e.n) == ("inv", 2)
    e.op, e.n = "norm", 3
    assert e.panel.J.shape == (3, 3)  # () + Y.shape
    with pytest.raises(ValueError, match="'log'.*ops"):
        e.op = "log"
    with pytest.raises(ValueError, match="sizes"):
        e.n = 4


def test_mode_rules_reach_every_row_and_column():
    css = generated_css()
    for op in ("transpose", "inv"):
        rows, cols = make_panel(op, 3).matrix.shape
        assert f".r{rows - 1}:is(:hover,:focus)) i:not(.r{rows - 1})" in css
        assert f".c{cols - 1}:is(:hover,:focus)) i:not(.c{cols - 1})" in css
    assert "VJP" in css and "JVP" in css


@pytest.mark.parametrize(
    "args,kwargs,match",
    [
        (["nope"], {}, "unknown op 'nope'.*choose from"),
        ([[]], {}, "no ops"),
        (["inv"], {"sizes": [5]}, "'inv' at n = 5 has 625 entries.*n ≤ 4"),
        (["log"], {"sizes": [0]}, "positive ints"),
        (["log"], {"sizes": [2, 2]}, "repeat"),
        ([["log", "log"]], {}, "twice"),
        (["log"], {"sizes": "23"}, "positive ints.*'23'"),
        (["log"], {"highlight": "diag"}, "'row'.*'column'"),
        (["log"], {"sizes": range(1, MAX_SIZES + 2)}, "MAX_SIZES"),
    ],
)
def test_bad_input_says_what_to_do(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        jacobian_explorer(*args, **kwargs)


def test_html_bytes_are_measured_and_modest(capsys):
    small = jacobian_explorer(["inv"], sizes=[2])
    big = jacobian_explorer(["inv"], sizes=[2, 3, 4])
    cells = 16 + 81 + 256
    assert 0 < small.html_bytes() < big.html_bytes()
    per_cell = (big.html_bytes() - small.html_bytes()) / (cells - 16)
    with capsys.disabled():
        print(
            f"\nexplorer inv n=2,3,4: {big.html_bytes()} bytes of HTML, "
            f"{per_cell:.0f} per cell"
        )
    assert per_cell < 250


def test_explorer_is_a_jacobian_explorer():
    assert isinstance(jacobian_explorer("log", 3), JacobianExplorer)


# -- the static page: text/html, radio inputs and CSS, no script ----------


def _inputs(text, kind):
    return re.findall(
        r'<input type="radio" name="(jx-[0-9a-f]{8}(?:-\d+)?)-'
        + kind
        + r'" id="([^"]+)" value="([^"]+)" data-i="(\d+)"( checked)?>',
        text,
    )


def test_html_repr_carries_the_explorer_css_once(monkeypatch):
    from booktools import html as kit

    monkeypatch.setattr(kit, "_SHOWN", {})
    e = jacobian_explorer(["inv", "log"], sizes=[2, 3])
    first = e._repr_html_()
    assert first.startswith("<style>") and generated_css() in first
    assert kit.KIT_CSS in first and first.endswith(e.to_html())
    assert e._repr_html_() == e.to_html()


def test_static_html_has_radios_and_every_panel():
    e = jacobian_explorer(
        ["inv", "log", "cumsum"], sizes=[2, 3], highlight="column"
    )
    text = e.to_html()
    assert text.startswith(f'<div class="jacobian-explorer" id="{e.uid}">')
    assert "<script" not in text and "<style" not in text
    ops, sizes, modes = (_inputs(text, k) for k in ("op", "n", "mode"))
    assert [v for _, _, v, _, _ in ops] == ["inv", "log", "cumsum"]
    assert [v for _, _, v, _, _ in sizes] == ["2", "3"]
    assert [v for _, _, v, _, _ in modes] == list(MODE_KEYS)
    for group in (ops, sizes, modes):
        assert len({name for name, *_ in group}) == 1
        assert [c for *_, c in group].count(" checked") == 1
        for _, ident, *_ in group:
            assert f'<label for="{ident}"' in text
    assert modes[2][4] == " checked"  # highlight="column"
    # every (op, n) panel, under its op group and size, with its readouts
    for i, op in enumerate(e.ops):
        group = text.split(f'<div class="jx-opgroup" data-i="{i}">')[1]
        group = group.split('<div class="jx-opgroup"')[0]
        for j, n in enumerate(e.sizes):
            assert f'<div class="jx-sized" data-i="{j}">' in group
            assert panel_html(e.panels[(op, n)]) in group


def test_static_html_follows_python_switches_and_hides_single_choices():
    e = jacobian_explorer(["inv", "norm"], sizes=[2, 3])
    e.op, e.n = "norm", 3
    text = e.to_html()
    assert _inputs(text, "op")[1][4] == " checked"
    assert _inputs(text, "n")[1][4] == " checked"
    one = jacobian_explorer("inv", sizes=[3], highlight="row").to_html()
    assert (
        '<div class="jx-ctl jx-op" role="radiogroup" aria-label="op" '
        "hidden>" in one
    )
    assert (
        '<div class="jx-ctl jx-mode" role="radiogroup" '
        'aria-label="hover highlights">' in one
    )


def test_static_html_is_deterministic():
    a = jacobian_explorer(["log"], sizes=[2]).to_html()
    b = jacobian_explorer(["log"], sizes=[2]).to_html()
    uid = re.search(r'id="(jx-[0-9a-f]{8})"', a).group(1)
    assert f'id="{uid}-2"' in b  # a second, equal explorer gets its own
    assert b.replace(f"{uid}-2", uid) == a  # and is otherwise the same
    # no number with more digits than the readout needs
    assert not re.search(r"\d\.\d{4,}", a)


def test_css_switches_panels_and_highlights():
    from booktools.html import KIT_CSS

    css = KIT_CSS + generated_css()
    for i in (0, len(OPS) - 1):
        assert (
            f'.jacobian-explorer:has(.jx-op input[data-i="{i}"]:checked) '
            f'.jx-opgroup[data-i="{i}"]'
        ) in css
    for j in (0, MAX_SIZES - 1):
        assert f'.jx-sized[data-i="{j}"]' in css
    for key in MODE_KEYS[1:]:
        assert f'.jx-mode input[value="{key}"]:checked' in css
    last = MAX_HIGHLIGHT - 1
    assert f".r{last}:is(:hover,:focus)) i:not(.r{last})" in css
    assert f".c{last}:is(:hover,:focus)) i:not(.c{last})" in css
    # the readout: CSS only, on hover and on focus
    assert (
        ".jacobian-explorer .jx-g i:is(:hover,:focus)::after"
        "{content:attr(aria-label)" in css
    )
    # every colour class
    assert all(f".q{q}{{" in css for q in range(2 * LEVELS + 1))
    # the book's explorers fit the highlight rules
    for op in OPS:
        rows, cols = make_panel(op, min(4, OPS[op].max_n)).matrix.shape
        assert rows <= MAX_HIGHLIGHT or rows == 1, op
