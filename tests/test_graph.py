"""The recorded graph: topological order, accumulation of cotangents, and the
printed tree.
"""

import io

import pytest
import torch
from torch import func as tf

import vjplib as vl
from vjplib import assert_close
from vjplib.box import new_trace
from vjplib.graph import Traced

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)  # from torch.func
F64 = torch.float64


def record(f, *xs):
    """Trace f by hand (as vjp does) and return the output node and the input
    nodes.
    """
    with new_trace("vjp") as trace:
        nodes = [Traced(x, trace, name=f"x{i}") for i, x in enumerate(xs)]
        return f(*nodes), nodes


def check_toposort(order):
    """Each node once, and after all of its parents (autodidax's check)."""
    assert len(order) == len(set(order))
    position = {node: i for i, node in enumerate(order)}
    for node in order:
        assert all(position[p] < position[node] for p in node.parents)


def diamond(x):
    a = vl.log(x)
    return vl.sin(a) * vl.exp(a)  # a feeds two branches that meet again


def test_toposort_diamond_and_chain():
    out, (x,) = record(diamond, torch.ones(2, dtype=F64))
    order = vl.toposort(out)
    check_toposort(order)
    assert order[0] is x.node and order[-1] is out.node
    assert [n.fn.__name__ for n in order[1:]].count("Log") == 1
    assert len(order) == 5  # x, log, sin, exp, mul


def test_toposort_long_chain_has_no_recursion_limit():
    def chain(x):
        for _ in range(3000):
            x = x + 1.0
        return x

    out, _ = record(chain, torch.zeros((), dtype=F64))
    order = vl.toposort(out)
    check_toposort(order)
    assert len(order) == 3001
    assert vl.grad(chain)(torch.zeros((), dtype=F64)).item() == 1.0


def test_shared_node_a_plus_a():
    x = torch.tensor([1.0, -2.0], dtype=F64)
    assert vl.grad(lambda a: vl.sum(a + a))(x).tolist() == [2.0, 2.0]
    assert vl.grad(lambda a: vl.sum(a * a * a))(x).tolist() == [
        3.0,
        12.0,
    ]  # 3a²


def test_diamond_gradient_against_torch():
    x = torch.tensor([0.5, 1.5, 2.5], dtype=F64)
    ref = tf.grad(
        lambda x: (torch.sin(torch.log(x)) * torch.exp(torch.log(x))).sum()
    )(x)
    assert_close(vl.grad(lambda x: vl.sum(diamond(x)))(x), ref)


def test_backward_accumulates_instead_of_overwriting():
    """
    With overwriting, the cotangent of x would keep only one of its three uses.
    """
    out, (x,) = record(
        lambda x: x * 2.0 + x * 3.0 + x, torch.ones(2, dtype=F64)
    )
    (x_bar,) = vl.backward(out, torch.ones(2, dtype=F64), [x])
    assert x_bar.tolist() == [6.0, 6.0]


def printed(f, *xs):
    buffer = io.StringIO()
    vl.print_graph(f, *xs, file=buffer)
    return buffer.getvalue().rstrip("\n")


def test_print_graph_chain():
    X = 3 * torch.eye(2, dtype=F64)
    assert printed(lambda X: vl.norm(vl.inv(X)), X) == "\n".join(
        ["Norm [id A] ()", "└─ Inv [id B] (2, 2)", "   └─ X [id C] (2, 2)"]
    )


def test_print_graph_shows_shared_nodes_once():
    assert printed(diamond, torch.ones(2, dtype=F64)) == "\n".join(
        [
            "Mul [id A] (2,)",
            "├─ Sin [id B] (2,)",
            "│  └─ Log [id C] (2,)",
            "│     └─ x [id D] (2,)",
            "└─ Exp [id E] (2,)",
            "   └─ Log [id C] (2,)",
            "      └─ ···",
        ]
    )


def test_print_graph_of_a_gradient_shows_the_cheap_vjp():
    """grad of sum(cumsum(log x)) = (reversed cumsum of ones) · log'(x) = [3 2
    1] · 1/x (the PyTensor example); vjplib evaluates eagerly, so the part that
    does not depend on x is already [3 2 1]."""
    x = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    assert printed(
        vl.grad(lambda x: vl.sum(vl.cumsum(vl.log(x)))), x
    ) == "\n".join(
        [
            "Mul [id A] (3,)",
            "├─ [3 2 1] (3,)",
            "└─ Div [id B] (3,)",
            "   ├─ [1 1 1] (3,)",
            "   └─ x [id C] (3,)",
        ]
    )


def test_print_graph_custom_function_and_params():
    class Square(vl.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def vjp(ctx, y_bar):
            (x,) = ctx.saved_tensors
            return 2 * x * y_bar

    text = printed(
        lambda v: vl.cumsum(Square.apply(v), 0), torch.ones(3, dtype=F64)
    )
    assert text.splitlines()[:2] == [
        "Cumsum{-1} [id A] (3,)",
        "└─ Square [id B] (3,)",
    ]
    assert vl.grad(lambda v: vl.sum(Square.apply(v)))(
        torch.tensor([1.0, 2.0], dtype=F64)
    ).tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    "name", ["add", "sub", "mul", "div", "matmul", "convolve"]
)
def test_built_in_rules_skip_a_constant_operand(name):
    """ctx.needs_input_grad marks the traced operand; the rule returns None for
    the constant's cotangent, and forward keeps only the tensors that rule uses
    (torch's choices)."""
    op = getattr(vl, name)
    c, x = (
        torch.tensor([[2.0, 3.0], [4.0, 5.0]], dtype=F64),
        torch.tensor([[1.0, -1.0], [0.5, 2.0]], dtype=F64),
    )
    for args, traced in [((c, None), 1), ((None, x), 0)]:
        out, (node,) = record(
            lambda v: op(*(v if a is None else a for a in args)),
            x if traced else c,
        )
        expected = ((False, True) if traced else (True, False)) + (
            (False,) if name == "convolve" else ()
        )
        fn, ctx = out.node.fn, out.node.ctx
        assert fn.__name__.lower() == name
        assert ctx.needs_input_grad == expected  # mode: False
        y_bar = torch.ones_like(out.primal)
        cotangents = fn.vjp(ctx, y_bar)
        assert cotangents[1 - traced] is None and isinstance(
            cotangents[traced], torch.Tensor
        )
        saved = ctx.saved_tensors
        if name in (
            "mul",
            "matmul",
            "convolve",
        ):  # each cotangent needs the other operand only
            assert saved[traced] is None and saved[1 - traced] is not None
        if name == "div":  # y is needed only for the divisor's cotangent
            assert (saved[1] is None) == (traced == 0)


def test_elementwise_ops_save_one_tensor():
    """tanh and exp keep y (f' is written in y), log, sin, cos and pow keep x;
    never both.
    """
    x = torch.tensor([0.5, 1.5], dtype=F64)
    for op, keeps in [
        (vl.tanh, "y"),
        (vl.exp, "y"),
        (vl.log, "x"),
        (vl.sin, "x"),
        (vl.cos, "x"),
        (lambda v: vl.pow(v, 3), "x"),
    ]:
        out, (node,) = record(op, x)
        (saved,) = out.node.ctx.saved_tensors
        kept = out.primal if keeps == "y" else node.primal
        assert saved is kept, out.node.fn.__name__
