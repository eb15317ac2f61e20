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
from vjplib.graph import Observer, Traced, replay

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


# ---------------------------------------- the one walk, its observer, replay
class Notes(Observer):
    """An observer that notes each node's complete cotangent and what its
    rule sends back."""

    def __init__(self):
        self.complete, self.sent = {}, {}

    def before(self, node, ctx, y_bar):
        self.complete[node] = y_bar
        return ctx, y_bar

    def after(self, node, x_bars):
        self.sent[node] = x_bars


def test_observer_sees_complete_cotangents_and_what_each_node_sends():
    """In the diamond z = sum(sin(a) · exp(a)), a = log(x): a's complete
    cotangent is ā = (cos a + sin a) exp a (by hand), the sum of the two
    contributions sin and exp send it."""
    x = torch.tensor([0.5, 1.5, 2.5], dtype=F64)
    out, (xt,) = record(lambda x: vl.sum(diamond(x)), x)
    notes = Notes()
    (x_bar,) = vl.backward(out, torch.ones((), dtype=F64), [xt], "vjp", notes)
    a = torch.log(x)
    a_node = next(n for n in notes.complete if n.fn.__name__ == "Log")
    assert_close(
        notes.complete[a_node], (torch.cos(a) + torch.sin(a)) * a.exp()
    )
    into_a = [
        b
        for n, x_bars in notes.sent.items()
        for i, b in zip(n.inputs, x_bars)
        if i is a_node
    ]
    assert len(into_a) == 2
    assert_close(into_a[0] + into_a[1], notes.complete[a_node])
    assert_close(x_bar, (torch.cos(a) + torch.sin(a)) * a.exp() / x)


def test_observer_may_change_the_cotangent_the_rule_sees():
    """before() hands the rule its cotangent: doubling it at the last node
    doubles the gradient."""

    class Double(Observer):
        def before(self, node, ctx, y_bar):
            return ctx, 2 * y_bar if node is out.node else y_bar

    x = torch.tensor([0.5, 1.5], dtype=F64)
    out, (xt,) = record(lambda x: vl.sum(vl.sin(x)), x)
    (x_bar,) = vl.backward(
        out, torch.ones((), dtype=F64), [xt], "vjp", Double()
    )
    assert_close(x_bar, 2 * torch.cos(x))


def test_the_one_walk_transposes_a_linear_graph():
    """graph.backward with rule="transpose" on a graph linearize's trace
    records: L x = B x + 2 (B x) − B x uses x three times, and
    Lᵀ y = 2 Bᵀ y (the explicit matrix's transpose)."""
    from vjplib.linearize import LinearTrace, LinearVar

    B = torch.tensor([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]], dtype=F64)
    y_bar = torch.tensor([1.0, -2.0], dtype=F64)
    with new_trace("linear", LinearTrace, who="test") as lin:
        (x,) = [LinearVar(torch.zeros(3, dtype=F64), lin)]
        end = vl.matmul(B, x) + 2.0 * vl.matmul(B, x) - vl.matmul(B, x)
    notes = Notes()
    (x_bar,) = vl.backward(end, y_bar, [x], "transpose", notes)
    assert_close(x_bar, 2 * B.T @ y_bar)
    ops = [v for v in vl.toposort(end) if v.fn is not None]
    assert set(notes.complete) == set(ops) and len(notes.complete) == len(ops)


def test_a_transpose_rule_with_the_wrong_count_is_named_by_the_walk():
    class TwoBars(vl.Function):
        linear_in = (0,)

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def vjp(ctx, y_bar):
            return 2 * y_bar

        @staticmethod
        def jvp(ctx, x_dot):
            return 2 * x_dot

        @staticmethod
        def transpose(ctx, y_bar):
            return 2 * y_bar, y_bar

    x = torch.ones(2, dtype=F64)
    f_T = vl.linear_transpose(TwoBars.apply, x)
    with pytest.raises(
        ValueError, match="TwoBars.transpose returned 2 cotangents for 1"
    ):
        f_T(x)


def test_replay_recomputes_what_depends_on_the_new_values():
    """replay from the inputs gives f at new inputs; from a middle node a,
    the rest of the graph as a function of a (what the stepper checks)."""
    x = torch.tensor([0.5, 1.5], dtype=F64)
    out, (xt,) = record(diamond, x)
    x2 = torch.tensor([2.0, 3.0], dtype=F64)
    got = replay(out.node, {xt.node: x2})
    assert_close(got, torch.sin(torch.log(x2)) * x2)
    a_node = out.node.inputs[0].inputs[0]  # sin(a): its input a
    t = torch.tensor([0.1, -0.2], dtype=F64)
    assert_close(replay(out.node, {a_node: t}), torch.sin(t) * torch.exp(t))
    # a node that does not depend on the new value keeps its recorded one
    assert replay(out.node, {}, recorded={out.node: x2}) is x2


def test_replay_runs_a_linear_map_as_jvp_fn_does():
    A = torch.tensor([[1.0, 2.0], [3.0, 4.0]], dtype=F64)
    x = torch.tensor([0.3, -0.7], dtype=F64)
    _, jvp_fn = vl.linearize(lambda x: vl.sin(vl.matmul(A, x)), x)
    x_dot = torch.tensor([1.0, 0.5], dtype=F64)
    assert_close(jvp_fn(x_dot), torch.cos(A @ x) * (A @ x_dot))


def test_every_trace_kind_answers_one_method():
    """vjp, jvp, eager, vmap and linear traces: each processes an op through
    Trace.process (the three that differentiate share it and box the
    output their way)."""
    import vjplib.tensor  # noqa: F401  (registers the eager trace)
    from vjplib.box import Trace

    assert set(Trace.kinds) == {"vjp", "jvp", "eager", "vmap", "linear"}
    for kind in ("vjp", "jvp", "eager"):
        assert Trace.kinds[kind].process is Trace.process
        assert Trace.kinds[kind].box is not Trace.box
    for kind in ("vmap", "linear"):
        assert Trace.kinds[kind].process is not Trace.process
