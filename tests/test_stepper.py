"""The backward-pass stepper (booktools/stepper.py): every cotangent it shows
against vjplib's backward pass and the closed forms, in float64; the sum at a
shared node; clear errors; the HTML's structure; the nbval mask."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import torch

import vjplib
from booktools.stepper import _fmt, backward_stepper

ROOT = Path(__file__).resolve().parent.parent
D = torch.float64


def _spd(n, seed):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(n, n, generator=g, dtype=D)
    return A @ A.T + n * torch.eye(n, dtype=D)


def chain(X):
    return vjplib.norm(vjplib.inv(X))


def shared(a):
    return a * a + vjplib.sin(a)


def diamond(x):
    a = vjplib.exp(x)
    return vjplib.sin(a) * vjplib.cos(a)


def _by_name(s):
    return {s.names[v]: v for v in s.order}


def test_chain_cotangents_are_the_closed_forms_and_vjplibs():
    X = _spd(3, 0)
    s = backward_stepper(chain, X, names=["X", "Y", "z"])
    n = _by_name(s)
    Y = torch.linalg.inv(X)
    z = torch.linalg.matrix_norm(Y)
    Y_bar = Y / z
    X_bar = -Y.T @ Y_bar @ Y.T
    torch.testing.assert_close(s.cotangent[n["z"]], torch.ones((), dtype=D))
    torch.testing.assert_close(s.cotangent[n["Y"]], Y_bar)
    torch.testing.assert_close(s.cotangent[n["X"]], X_bar)
    torch.testing.assert_close(s.cotangent[n["X"]], vjplib.grad(chain)(X))
    # Ȳ as vjplib's backward pass computes it: the VJP of Y -> ‖Y‖
    (Y_bar_vjplib,) = vjplib.vjp(vjplib.norm, Y)[1](torch.ones((), dtype=D))
    torch.testing.assert_close(s.cotangent[n["Y"]], Y_bar_vjplib)
    page = s.to_html()
    # what the page shows is these numbers, formatted
    assert f"Ȳ = {_fmt(Y_bar)}" in page and f"X̄ = {_fmt(X_bar)}" in page
    assert s.checked == 3 and repr(s) == (
        "BackwardStepper(nodes=3, steps=7, checked=3/3)"
    )


def test_shared_node_sums_its_cotangents_and_shows_the_sum():
    a = torch.tensor(0.7, dtype=D)
    s = backward_stepper(shared, a, names=["a", "b", "c", "z"])
    n = _by_name(s)
    parts = [c for _, c in s.arrived[n["a"]]]
    # sin sends cos(a), mul(a, a) sends a twice
    assert [round(p.item(), 12) for p in parts] == [
        round(torch.cos(a).item(), 12),
        round(a.item(), 12),
        round(a.item(), 12),
    ]
    expected = vjplib.grad(shared)(a)
    torch.testing.assert_close(s.cotangent[n["a"]], expected)
    torch.testing.assert_close(expected, 2 * a + torch.cos(a))
    last = s.steps[-1].caption
    assert "ā = ā₁ + ā₂ + ā₃ = " in last
    assert f"= {_fmt(expected)} = ∂z/∂a" in last
    page = s.to_html()
    for k, p in enumerate(parts, 1):
        assert f"ā{'₀₁₂₃'[k]} = {_fmt(p)}" in page  # on its edge


def test_diamond_sums_at_the_intermediate_node():
    x = torch.tensor(0.3, dtype=D)
    s = backward_stepper(diamond, x, names=["x", "a", "b", "c", "y"])
    n = _by_name(s)
    a = torch.exp(x)
    b, c = torch.sin(a), torch.cos(a)
    a_bar = c * torch.cos(a) - b * torch.sin(a)  # via b plus via c
    torch.testing.assert_close(s.cotangent[n["a"]], a_bar)
    torch.testing.assert_close(s.cotangent[n["x"]], a_bar * a)
    torch.testing.assert_close(s.cotangent[n["x"]], vjplib.grad(diamond)(x))
    assert len(s.arrived[n["a"]]) == 2
    exp_step = next(st for st in s.steps if "VJP of exp" in st.caption)
    assert exp_step.caption.startswith("ā = ā₁ + ā₂ = ")
    assert "cotangents add" in exp_step.caption


def test_every_cotangent_shown_is_vjplibs():
    """Each node's cotangent against vjplib.vjp of the output as a function
    of that node (the rest of the graph recomputed by hand)."""
    x = torch.tensor(0.3, dtype=D)
    s = backward_stepper(diamond, x, names=["x", "a", "b", "c", "y"])
    n = _by_name(s)
    one = torch.ones((), dtype=D)
    a = torch.exp(x)
    cases = {
        "y": (lambda y: y, s.values[n["y"]]),
        "b": (lambda b: b * vjplib.cos(a), s.values[n["b"]]),
        "c": (lambda c: vjplib.sin(a) * c, s.values[n["c"]]),
        "a": (lambda t: vjplib.sin(t) * vjplib.cos(t), a),
        "x": (diamond, x),
    }
    for name, (g, at) in cases.items():
        (expected,) = vjplib.vjp(g, at)[1](one)
        torch.testing.assert_close(s.cotangent[n[name]], expected)


def test_the_stepper_watches_vjplibs_own_walk():
    """The stepper has no walk of its own: it observes graph.backward. Its
    VJP order is the reverse topological order of the op nodes, each node's
    cotangent is the sum of the contributions it shows arriving, and its
    replay from a middle node is the rest of the graph by hand."""
    x = torch.tensor(0.3, dtype=D)
    s = backward_stepper(diamond, x, names=["x", "a", "b", "c", "y"])
    n = _by_name(s)
    ops = [v for v in vjplib.toposort(s.end) if v.fn is not None]
    assert s.vjp_order == ops[::-1]
    for v, parts in s.arrived.items():
        total = sum((c for _, c in parts), torch.zeros((), dtype=D))
        torch.testing.assert_close(s.cotangent[v], total)
    t = torch.tensor(0.7, dtype=D)
    torch.testing.assert_close(
        s._replay(n["a"], t), torch.sin(t) * torch.cos(t)
    )


def test_a_wrong_vjp_rule_fails_the_build():
    class BadSquare(vjplib.Function):
        """y = x². VJP: x_bar = x y_bar (wrong: misses the 2)."""

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def vjp(ctx, y_bar):
            (x,) = ctx.saved_tensors
            return x * y_bar

    with pytest.raises(AssertionError, match="torch.autograd|vjplib"):
        backward_stepper(BadSquare.apply, torch.tensor(1.5, dtype=D))


def test_y_bar_for_a_non_scalar_output():
    X = _spd(2, 1)
    Y_bar = torch.arange(4, dtype=D).reshape(2, 2)
    s = backward_stepper(vjplib.inv, X, names=["X", "Y"], y_bar=Y_bar)
    (expected,) = vjplib.vjp(vjplib.inv, X)[1](Y_bar)
    torch.testing.assert_close(s.cotangent[s.leaves[0]], expected)
    assert "VJP (Jᵀȳ)" in s.steps[-1].caption


@pytest.mark.parametrize(
    "f, inputs, kwargs, error, words",
    [
        (
            lambda x: torch.ones(()),
            (torch.tensor(1.0),),
            {},
            ValueError,
            "does not depend on its inputs",
        ),
        (
            lambda x: x * 0 + 0 if False else torch.zeros(()),
            (torch.tensor(1.0),),
            {},
            ValueError,
            "no graph",
        ),
        (
            lambda x: x * 2,
            (torch.ones(3),),
            {},
            ValueError,
            "not a scalar.*y_bar",
        ),
        (
            lambda x: x * 2,
            (torch.ones(3),),
            {"y_bar": torch.ones(2)},
            ValueError,
            "shape",
        ),
        (lambda x: x, ("2.0",), {}, TypeError, "not a tensor"),
        (lambda x: x, (torch.tensor([1, 2]),), {}, TypeError, "floating"),
        (lambda x: x, (), {}, TypeError, "at least one input"),
        (
            lambda x: vjplib.sin(x),
            (torch.tensor(1.0),),
            {"names": "x"},
            TypeError,
            "list of strings",
        ),
        (
            lambda x: vjplib.sin(x),
            (torch.tensor(1.0),),
            {"names": ["x", "y", "z"]},
            ValueError,
            "3 names for a graph of 2 nodes",
        ),
    ],
)
def test_unsupported_inputs_get_clear_errors(f, inputs, kwargs, error, words):
    with pytest.raises(error, match=words) as e:
        backward_stepper(f, *inputs, **kwargs)
    assert "backward_stepper" in str(e.value)


def test_saved_tensors_are_named_per_step():
    s = backward_stepper(chain, _spd(2, 2), names=["X", "Y", "z"], saved=True)
    caps = [st.caption for st in s.steps]
    assert "inv saves Y (its output) for the backward pass" in caps[1]
    assert "norm saves Y (its input), z (its output)" in caps[2]
    inv_step = next(c for c in caps if "VJP of inv" in c)
    assert "reads the saved Y (its output), then frees it" in inv_step
    # it ends on .grad filled, then a second call accumulating
    assert (
        ".grad, which was None: X.grad = " in caps[-2] and "freed" in caps[-2]
    )
    assert "A second call" in caps[-1] and "X.grad = " in caps[-1]
    X = _spd(2, 2)
    once = vjplib.grad(chain)(X)
    torch.testing.assert_close(s.grad_once[0], once)
    torch.testing.assert_close(s.grad_twice[0], 2 * once)


def test_saved_captions_fail_when_the_engine_frees_otherwise(monkeypatch):
    """The freeing the captions describe is checked on the eager face: an
    engine that frees nothing (retain_graph forced) makes the stepper
    fail."""
    import importlib

    vt = importlib.import_module("vjplib.tensor")  # the module, not the fn
    walk = vt._walk

    def keep_all(outs, y_bars, inputs, retain_graph, create_graph):
        return walk(outs, y_bars, inputs, True, create_graph)

    monkeypatch.setattr(vt, "_walk", keep_all)
    with pytest.raises(AssertionError, match="had freed"):
        backward_stepper(chain, _spd(2, 2), saved=True)


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _tags(page):
    p = _Tags()
    p.feed(page)
    return p.tags


def test_html_structure():
    s = backward_stepper(shared, torch.tensor(0.7, dtype=D))
    n = s.n_steps
    page = s.to_html(step=2)
    tags = _tags(page)
    root = tags[0]
    assert root[0] == "div" and root[1]["class"] == "backward-stepper"
    sid = root[1]["id"]
    radios = [a for t, a in tags if t == "input"]
    assert len(radios) == n
    assert all(a["type"] == "radio" and a["name"] == sid for a in radios)
    assert [("checked" in a) for a in radios] == [k == 1 for k in range(n)]
    ids = [a["id"] for a in radios]
    assert len(set(ids)) == n
    labels = [a for t, a in tags if t == "label"]
    backs = [a["for"] for a in labels if "step-back" in a["class"]]
    nexts = [a["for"] for a in labels if "step-next" in a["class"]]
    assert nexts == ids[1:] and backs == ids[:-1]  # each the neighbour
    assert re.findall(r'class="bs-btn step-next" for="[^"]+">(\w+)', page) == (
        ["Next"] * (n - 1)
    )
    assert re.findall(r'class="bs-btn step-back" for="[^"]+">(\w+)', page) == (
        ["Back"] * (n - 1)
    )
    live = re.search(
        r'<p class="bs-status" aria-live="polite">(.*?)</p>', page
    )
    assert re.findall(r">(Step \d+ of \d+)<", live.group(1)) == [
        f"Step {k} of {n}" for k in range(1, n + 1)
    ]
    svgs = [a for t, a in tags if t == "svg"]
    assert len(svgs) == 1 and svgs[0]["role"] == "img"
    assert "inputs a" in svgs[0]["aria-label"]
    alts = re.findall(
        r'<p class="bs-alt bs-hidden bs-k(\d+)">([^<]+)</p>', page
    )
    assert [int(k) for k, _ in alts] == list(range(1, n + 1))
    assert all(f"step {k} of {n}" in text for k, text in alts)
    caps = re.findall(r'class="bs-cap bs-k(\d+)', page)
    assert [int(k) for k in caps] == list(range(1, n + 1))
    # one group per node and per edge, each with its own deterministic id
    assert len(re.findall(r'<g class="bs-node', page)) == len(s.order)
    assert len(re.findall(r'<g class="bs-edge', page)) == 5  # a twice
    assert "\\(" not in page and "$" not in page  # no TeX left to typeset


def test_ids_are_deterministic_and_distinct():
    a = backward_stepper(shared, torch.tensor(0.7, dtype=D))
    b = backward_stepper(shared, torch.tensor(0.7, dtype=D))
    # same content, same hash; a per-kernel counter keeps the radio groups
    # of two steppers on one page apart
    assert a.id.split("-")[1] == b.id.split("-")[1] and a.id != b.id


def _sanitize(text):
    cfg = (ROOT / "nbval_sanitize.cfg").read_text()
    for regex, replace in re.findall(
        "^regex: (.*)$\n^replace: (.*)$", cfg, flags=re.M
    ):
        text = re.sub(regex, replace, text)
    return text


def test_nbval_mask_hides_the_layout_only():
    s = backward_stepper(chain, _spd(2, 3), names=["X", "Y", "z"])
    page = s.to_html()
    masked = _sanitize(page)
    svg = re.search(r"<svg.*</svg>", masked).group(0)
    # no number dot computed is left: nothing between data-layout and >
    assert not re.search(r'data-layout=""[^>]', svg)
    assert not re.search(r'\b(d|points|x|y|viewBox|width|height)="', svg)
    # everything outside the SVG, and the SVG's text, is compared as is
    assert re.sub(r"<svg.*</svg>", "", masked) == re.sub(
        r"<svg.*</svg>", "", page
    )
    assert re.findall(r">([^<>]+)</text>", svg) == re.findall(
        r">([^<>]+)</text>", page
    )
    # outputs that are not a stepper are left alone
    other = '<img width="300" height="200" src="a.png"><rect x="1"/>'
    assert _sanitize(other) == other


def test_layout_change_does_not_change_the_masked_html():
    s = backward_stepper(chain, _spd(2, 3), names=["X", "Y", "z"])
    one = s.to_html()
    s.layout["width"] += 7.5  # as another Graphviz version might lay it out
    s.layout["nodes"] = {
        v: ((c[0] + 1, c[1] + 2), w + 3, h)
        for v, (c, w, h) in s.layout["nodes"].items()
    }
    assert one != s.to_html()
    assert _sanitize(one) == _sanitize(s.to_html())


def where_trap(x):
    return vjplib.sum(vjplib.where(x > 0, vjplib.sqrt(x), 0 * x))


def test_the_where_trap_steps_through_nan_where_torch_has_nan():
    # torch: d/dx sum(where(x > 0, sqrt(x), 0)) at (-1, 0, 1/4) is
    # (nan, nan, 1): the false branch's cotangent 0 meets sqrt's local
    # derivative 1 / (2 sqrt(x)), nan at -1 and inf at 0, and 0 · inf = nan
    x = torch.tensor([-1.0, 0.0, 0.25], dtype=D)
    leaf = x.clone().requires_grad_()
    (want,) = torch.autograd.grad(
        torch.where(leaf > 0, leaf.sqrt(), 0 * leaf).sum(), leaf
    )
    assert torch.isnan(want[:2]).all() and want[2] == 1
    s = backward_stepper(where_trap, x, names=["x"])
    torch.testing.assert_close(s.cotangent[s.leaves[0]], want, equal_nan=True)
    page = s.to_html()
    assert "[False, False, True]" in page  # the condition, as a constant
    assert "nan" in page


def test_a_nan_the_reference_does_not_have_still_fails():
    from booktools.stepper import _assert_close

    a = torch.tensor([float("nan"), 1.0], dtype=D)
    _assert_close(a, a.clone(), "x", "itself")
    with pytest.raises(AssertionError, match="does not match"):
        _assert_close(a, torch.tensor([0.0, 1.0], dtype=D), "x", "ref")


def test_fmt_writes_a_mask_as_its_entries():
    assert _fmt(torch.tensor([True, False])) == "[True, False]"
    assert _fmt(torch.ones(3, 3, dtype=torch.bool)) == "3×3 mask"
