"""linearize and linear_transpose: reverse mode from forward mode.

Side by side with torch.func.linearize and torch.func.vjp in float64; the
dot-product test ⟨y_bar, L x_dot⟩ = ⟨Lᵀ y_bar, x_dot⟩ for every transpose
rule; and, for every op of vjplib.ops, its VJP derived by transposing its
linearization compared with its hand-written vjp rule, vjplib.vjp and
torch.func.vjp. EXAMPLES (one or more calls per op class) is shared with
test_vmap.py.
"""

import collections

import pytest
import torch

import vjplib as vl
from vjplib import assert_close, ops
from vjplib.function import Context, Function

F64 = torch.float64
RTOL, ATOL = 1e-10, 1e-12


def rand(*shape, seed=0, positive=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(shape, generator=g, dtype=F64)
    return x.abs() + 0.5 if positive else x


def well_conditioned(n, seed=0):
    return rand(n, n, seed=seed) + n * torch.eye(n, dtype=F64)


# Every op class of vjplib.ops but the ones with kinks, ties and NaNs (their
# families, tested in test_nonsmooth.py): the registry the tests below
# iterate.
OP_CLASSES = sorted(
    (
        v
        for v in vars(ops).values()
        if isinstance(v, type)
        and issubclass(v, Function)
        and v not in (Function, ops.Op, ops.Bilinear)
        and v not in (ops.Elementwise, ops.Reduction)
        and v.__module__.rsplit(".", 1)[-1]
        not in ("compare", "kinks", "maxima")
    ),
    key=lambda c: c.__name__,
)

# op class -> list of (its arguments at the Function level, the same op in
# torch). Tensor arguments are the inputs to differentiate; the others (dims,
# shapes, modes, exponents) are fixed.
T = torch
EXAMPLES = {
    ops.Neg: [((rand(3, 4),), T.neg)],
    ops.Log: [((rand(3, 4, positive=True),), T.log)],
    ops.Exp: [((rand(3, 4),), T.exp)],
    ops.Sin: [((rand(3, 4),), T.sin)],
    ops.Cos: [((rand(3, 4),), T.cos)],
    ops.Tanh: [((rand(3, 4),), T.tanh)],
    ops.Softplus: [((rand(3, 4),), T.nn.functional.softplus)],
    ops.Recip: [((rand(3, 4, positive=True),), T.reciprocal)],
    ops.Pow: [((rand(3, 4, positive=True), 2.5), T.pow)],
    ops.Add: [((rand(3, 4), rand(3, 4, seed=1)), T.add)],
    ops.Sub: [((rand(3, 4), rand(3, 4, seed=1)), T.sub)],
    ops.Mul: [((rand(3, 4), rand(3, 4, seed=1)), T.mul)],
    ops.Div: [((rand(3, 4), rand(3, 4, seed=1, positive=True)), T.div)],
    ops.BroadcastTo: [((rand(3, 1), (2, 3, 4)), T.broadcast_to)],
    ops.Reshape: [((rand(3, 4), (2, 6)), T.reshape)],
    ops.Transpose: [((rand(2, 3, 4),), lambda x: x.mT)],
    ops.Flip: [((rand(2, 3, 4), (-3, -1)), T.flip)],
    ops.Movedim: [((rand(2, 3, 4), -3, -1), T.movedim)],
    ops.Sum: [
        ((rand(2, 3, 4), (-2,), False), T.sum),
        ((rand(2, 3, 4), (-3, -1), True), T.sum),
    ],
    ops.Cumsum: [((rand(3, 4), -2), T.cumsum)],
    ops.Norm: [
        ((rand(3, 4),), torch.linalg.norm),
        ((rand(3, 4), (-2, -1)), lambda x, d: T.linalg.vector_norm(x, dim=d)),
        ((rand(3, 4), (-1,)), lambda x, d: T.linalg.vector_norm(x, dim=d)),
    ],
    ops.Logsumexp: [((rand(3, 4), (-1,), False), T.logsumexp)],
    ops.Mean: [((rand(3, 4), (-2, -1), True), T.mean)],
    ops.Matmul: [((rand(3, 4), rand(4, 2, seed=1)), T.matmul)],
    ops.Inv: [((well_conditioned(4),), T.linalg.inv)],
    ops.Convolve: [
        ((rand(6), rand(3, seed=1), mode), ops._convolve)
        for mode in ("full", "valid")
    ],
}


def example_cases():
    return [
        pytest.param(cls, i, id=f"{cls.__name__}-{i}")
        for cls in OP_CLASSES
        for i in range(len(EXAMPLES.get(cls, ())))
    ]


def split(args):
    """The tensor arguments (to differentiate) and a function of them."""
    where = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]

    def with_tensors(call):
        def f(*tensors):
            full = list(args)
            for i, t in zip(where, tensors):
                full[i] = t
            return call(*full)

        return f

    return [args[i] for i in where], with_tensors


def test_every_op_has_an_example():
    """A new op must get an example here (and so in test_vmap.py)."""
    missing = [c.__name__ for c in OP_CLASSES if c not in EXAMPLES]
    assert not missing, f"ops without an example: {missing}"
    assert len(OP_CLASSES) >= 24


# ------------------------------------------------- linearize vs torch.func


def inv_norm(X):
    return vl.norm(vl.inv(X))


def inv_norm_torch(X):
    return torch.linalg.inv(X).norm()


FUNCTIONS = [
    (inv_norm, inv_norm_torch, (well_conditioned(5),)),
    (
        lambda W, x: vl.softplus(vl.matmul(W, vl.tanh(x))),
        lambda W, x: torch.nn.functional.softplus(W @ torch.tanh(x)),
        (rand(3, 4), rand(4, seed=1)),
    ),
    (
        lambda x, k: vl.cumsum(vl.convolve(vl.exp(x), k) / 3.0),
        lambda x, k: (ops._convolve(torch.exp(x), k, "full") / 3.0).cumsum(-1),
        (rand(7), rand(3, seed=2)),
    ),
]


@pytest.mark.parametrize("k", range(len(FUNCTIONS)))
def test_linearize_matches_torch_func_linearize(k):
    f, f_torch, xs = FUNCTIONS[k]
    y, jvp_fn = vl.linearize(f, *xs)
    y_ref, jvp_ref = torch.func.linearize(f_torch, *xs)
    assert_close(y, y_ref, what="value", rtol=RTOL, atol=ATOL)
    for seed in (1, 2):
        x_dots = [rand(*x.shape, seed=10 * seed + i) for i, x in enumerate(xs)]
        assert_close(
            jvp_fn(*x_dots), jvp_ref(*x_dots), what="JVP", rtol=RTOL, atol=ATOL
        )


@pytest.mark.parametrize("k", range(len(FUNCTIONS)))
def test_vjp_by_transposition_matches_vjplib_and_torch(k):
    f, f_torch, xs = FUNCTIONS[k]
    y, jvp_fn = vl.linearize(f, *xs)
    y_bar = rand(*y.shape, seed=5)
    derived = vl.linear_transpose(jvp_fn, *xs)(y_bar)
    ours = vl.vjp(f, *xs)[1](y_bar)
    ref = torch.func.vjp(f_torch, *xs)[1](y_bar)
    assert len(derived) == len(xs)
    for d, o, r in zip(derived, ours, ref):
        assert_close(d, o, what="vs vjplib.vjp", rtol=RTOL, atol=ATOL)
        assert_close(d, r, what="vs torch.func.vjp", rtol=RTOL, atol=ATOL)


def test_chapter_one_gradient_by_transposition():
    """z = ‖X⁻¹‖_F: transposing the linearization gives -X⁻ᵀ (X⁻¹/z) X⁻ᵀ."""
    X = well_conditioned(6)
    z, jvp_fn = vl.linearize(inv_norm, X)
    (X_bar,) = vl.linear_transpose(jvp_fn, X)(torch.tensor(1.0, dtype=F64))
    Y = torch.linalg.inv(X)
    assert_close(X_bar, -Y.T @ (Y / z) @ Y.T, rtol=RTOL, atol=ATOL)


@pytest.fixture
def forward_counts(monkeypatch):
    """Count the real (not shapes-only) forward runs of every op class."""
    counts = collections.Counter()
    for cls in OP_CLASSES:
        orig = cls.forward

        def counted(ctx, *args, _orig=orig, _cls=cls):
            if not any(getattr(a, "is_meta", False) for a in args):
                counts[_cls] += 1
            return _orig(ctx, *args)

        monkeypatch.setattr(cls, "forward", staticmethod(counted))
    return counts


def linear_pieces(end):
    """The op classes of a recorded linear map, with their counts."""
    from vjplib.graph import toposort

    return collections.Counter(v.fn for v in toposort(end) if v.fn is not None)


def test_linearize_runs_f_once_and_jvp_fn_only_the_linear_map(
    forward_counts,
):
    X = well_conditioned(5)
    y, jvp_fn = vl.linearize(inv_norm, X)
    assert forward_counts == {ops.Inv: 1, ops.Norm: 1, ops.Recip: 1}
    forward_counts.clear()
    y_dot = jvp_fn(rand(5, 5, seed=3))
    # no op's forward again; only the linear pieces, each once:
    # Y_dot = -(Y @ (X_dot @ Y)); z_dot = sum(Y * Y_dot) * recip(z)
    assert forward_counts[ops.Inv] == 0 and forward_counts[ops.Norm] == 0
    assert forward_counts == {
        ops.Matmul: 2,
        ops.Neg: 1,
        ops.Mul: 2,
        ops.Sum: 1,
    }
    assert y_dot.shape == ()


def test_linear_map_holds_only_linear_ops():
    X = well_conditioned(4)
    _, jvp_fn = vl.linearize(inv_norm, X)
    from vjplib.box import new_trace
    from vjplib.linearize import LinearTrace, LinearVar, _inputs

    with new_trace("linear", LinearTrace, who="test") as lin:
        (x,) = _inputs([X], lin)
        end = jvp_fn(x)
    assert isinstance(end, LinearVar)
    pieces = linear_pieces(end)
    assert all(hasattr(fn, "transpose") for fn in pieces)
    assert ops.Inv not in pieces and ops.Norm not in pieces


# ------------------------------------------ the dot-product test, per rule

c34, c34b = rand(3, 4, seed=7), rand(3, 4, seed=8, positive=True)
A, B = rand(5, 3, seed=9), rand(4, 2, seed=10)

# (name, linear function in vjplib, the same in torch, input shapes); each
# transpose rule is used by at least one (checked below)
LINEAR = [
    ("neg", lambda x: -x, torch.neg, [(3, 4)]),
    ("add", lambda a, b: a + b, torch.add, [(3, 4), (3, 4)]),
    ("sub", lambda a, b: a - b, torch.sub, [(3, 4), (3, 4)]),
    ("mul by constant", lambda x: x * c34, lambda x: x * c34, [(3, 4)]),
    ("constant mul", lambda x: c34 * x, lambda x: c34 * x, [(3, 4)]),
    ("div by constant", lambda x: x / c34b, lambda x: x / c34b, [(3, 4)]),
    (
        "broadcast_to",
        lambda x: vl.broadcast_to(x, (2, 3, 4)),
        lambda x: x.broadcast_to(2, 3, 4),
        [(3, 1)],
    ),
    (
        "reshape",
        lambda x: vl.reshape(x, (2, 6)),
        lambda x: x.reshape(2, 6),
        [(3, 4)],
    ),
    ("transpose", vl.transpose, lambda x: x.mT, [(2, 3, 4)]),
    (
        "flip",
        lambda x: vl.flip(x, (0, -1)),
        lambda x: x.flip((0, -1)),
        [(2, 3, 4)],
    ),
    (
        "movedim",
        lambda x: vl.movedim(x, 0, -1),
        lambda x: x.movedim(0, -1),
        [(2, 3, 4)],
    ),
    ("sum", lambda x: vl.sum(x, 1), lambda x: x.sum(1), [(2, 3, 4)]),
    (
        "sum keepdim",
        lambda x: vl.sum(x, (0, 2), keepdim=True),
        lambda x: x.sum((0, 2), keepdim=True),
        [(2, 3, 4)],
    ),
    ("cumsum", lambda x: vl.cumsum(x, 0), lambda x: x.cumsum(0), [(3, 4)]),
    ("mean", lambda x: vl.mean(x, 1), lambda x: x.mean(1), [(2, 3, 4)]),
    ("A @ x", lambda x: A @ x, lambda x: A @ x, [(3, 4)]),
    ("x @ B", lambda x: x @ B, lambda x: x @ B, [(3, 4)]),
    ("A @ vector", lambda x: A @ x, lambda x: A @ x, [(3,)]),
    *[
        (
            f"convolve {mode} in x",
            lambda x, mode=mode: vl.convolve(x, c34[0], mode),
            lambda x, mode=mode: ops._convolve(x, c34[0], mode),
            [(6,)],
        )
        for mode in ("full", "valid")
    ],
    (
        "convolve in k",
        lambda k: vl.convolve(c34[1], k, "full"),
        lambda k: ops._convolve(c34[1], k, "full"),
        [(3,)],
    ),
    (
        "a chain",
        lambda x, y: vl.cumsum(vl.transpose(A @ x) * 2.0 - y, -1),
        lambda x, y: ((A @ x).mT * 2.0 - y).cumsum(-1),
        [(3, 4), (4, 5)],
    ),
]


@pytest.mark.parametrize("name, f, f_torch, shapes", LINEAR)
def test_dot_product_of_every_transpose_rule(name, f, f_torch, shapes):
    """⟨y_bar, L x_dot⟩ = ⟨Lᵀ y_bar, x_dot⟩, L x_dot by torch, Lᵀ y_bar by
    linear_transpose; and Lᵀ y_bar = torch.func.vjp's."""
    x_dots = [rand(*s, seed=20 + i) for i, s in enumerate(shapes)]
    y_dot = f_torch(*x_dots)
    y_bar = rand(*y_dot.shape, seed=30)
    x_bars = vl.linear_transpose(f, *x_dots)(y_bar)
    lhs = (y_bar * y_dot).sum()
    rhs = sum((b * d).sum() for b, d in zip(x_bars, x_dots))
    assert_close(lhs, rhs, what=f"{name}: dot-product test", rtol=1e-12)
    refs = torch.func.vjp(f_torch, *x_dots)[1](y_bar)
    for b, r in zip(x_bars, refs):
        assert_close(b, r, what=f"{name}: vs torch.func.vjp")


def test_the_dot_product_test_can_fail():
    """A wrong transpose rule is caught: Cumsum's transpose without the
    flips (the cumsum itself, J instead of Jᵀ)."""
    x = rand(5)
    y_bar = rand(5, seed=1)
    (good,) = vl.linear_transpose(vl.cumsum, x)(y_bar)
    lhs = (y_bar * torch.cumsum(x, 0)).sum()
    assert_close((good * x).sum(), lhs)
    with pytest.raises(AssertionError):
        assert_close((torch.cumsum(y_bar, 0) * x).sum(), lhs)


def test_every_transpose_rule_is_dot_product_tested():
    from vjplib.box import new_trace
    from vjplib.linearize import LinearTrace, _inputs

    used = set()
    for _, f, _, shapes in LINEAR:
        with new_trace("linear", LinearTrace, who="test") as lin:
            xs = _inputs([rand(*s) for s in shapes], lin)
            used |= set(linear_pieces(f(*xs)))
    linear_ops = {c for c in OP_CLASSES if getattr(c, "linear_in", ())}
    assert len(linear_ops) == 15
    assert linear_ops <= used, linear_ops - used


# ------------------------------------------------- every op, by transposition


@pytest.mark.parametrize("cls, i", example_cases())
def test_every_ops_vjp_by_transposing_its_linearization(cls, i):
    """x_bar = linear_transpose(linearize(op, x)[1], x)(y_bar) equals the
    op's own vjp rule, vjplib.vjp and torch.func.vjp."""
    args, f_torch = EXAMPLES[cls][i]
    xs, with_tensors = split(args)
    f = with_tensors(cls.apply)
    y, jvp_fn = vl.linearize(f, *xs)
    y_bar = rand(*y.shape, seed=40 + i)
    derived = vl.linear_transpose(jvp_fn, *xs)(y_bar)

    ctx = Context()  # the hand-written rule, called directly
    ctx.needs_input_grad = tuple(isinstance(a, torch.Tensor) for a in args)
    y_rule = cls.forward(ctx, *args)
    rule = cls.vjp(ctx, y_bar)
    rule = rule if isinstance(rule, tuple) else (rule,)
    rule = [r for r, a in zip(rule, args) if isinstance(a, torch.Tensor)]
    ours = vl.vjp(f, *xs)[1](y_bar)
    y_ref, vjp_ref = torch.func.vjp(with_tensors(f_torch), *xs)
    assert_close(y, y_ref, what="value", rtol=RTOL, atol=ATOL)
    assert_close(y_rule, y_ref, what="value", rtol=RTOL, atol=ATOL)
    for k, (d, r, o, t) in enumerate(zip(derived, rule, ours, vjp_ref(y_bar))):
        what = f"{cls.__name__}, input {k}"
        assert_close(
            d, r, what=f"{what}: vs its vjp rule", rtol=RTOL, atol=ATOL
        )
        assert_close(d, o, what=f"{what}: vs vjplib.vjp", rtol=RTOL, atol=ATOL)
        assert_close(d, t, what=f"{what}: vs torch", rtol=RTOL, atol=ATOL)


def test_norm_at_zero_by_transposition_is_zero_like_torch():
    x = torch.zeros(3, 2, dtype=F64)
    _, jvp_fn = vl.linearize(vl.norm, x)
    (x_bar,) = vl.linear_transpose(jvp_fn, x)(torch.tensor(2.0, dtype=F64))
    ref = torch.func.vjp(torch.linalg.norm, x)[1](torch.tensor(2.0, dtype=F64))
    assert_close(x_bar, ref[0])
    assert_close(jvp_fn(rand(3, 2)), torch.tensor(0.0, dtype=F64))


# ------------------------------------------------------------- composition


def test_jvp_fn_and_f_T_compose_with_grad_and_vjp():
    """jvp_fn replays vjplib ops, so it can be differentiated: the gradient
    of ⟨y_bar, J x_dot⟩ over x_dot is Jᵀ y_bar."""
    X = well_conditioned(4)
    y, jvp_fn = vl.linearize(vl.inv, X)
    Y_bar = rand(4, 4, seed=2)
    g = vl.grad(lambda V: vl.sum(jvp_fn(V) * Y_bar))(rand(4, 4, seed=3))
    assert_close(g, vl.vjp(vl.inv, X)[1](Y_bar)[0], rtol=RTOL, atol=ATOL)


def test_identity_and_constant_functions():
    x = rand(3)
    y_bar = rand(3, seed=1)
    assert_close(vl.linear_transpose(lambda v: v, x)(y_bar)[0], y_bar)
    (zero,) = vl.linear_transpose(lambda v: torch.zeros(2, dtype=F64), x)(
        rand(2)
    )
    assert_close(zero, torch.zeros(3, dtype=F64))
    y, jvp_fn = vl.linearize(lambda v: torch.ones(2, dtype=F64), x)
    assert_close(jvp_fn(x), torch.zeros(2, dtype=F64))


def test_input_used_twice_accumulates():
    x = rand(4)
    f = lambda v: vl.cumsum(v) + 3.0 * v
    (x_bar,) = vl.linear_transpose(f, x)(rand(4, seed=1))
    ref = torch.func.vjp(lambda v: v.cumsum(0) + 3.0 * v, x)[1](
        rand(4, seed=1)
    )
    assert_close(x_bar, ref[0])


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize(
    "f, op, words",
    [
        (lambda x: x * x, "mul", "both depend on the input"),
        (lambda x: vl.matmul(x, x), "matmul", "both depend on the input"),
        (vl.exp, "exp", "is not linear in its input"),
        (vl.inv, "inv", "is not linear in its input"),
        (vl.norm, "norm", "is not linear in its input"),
        (lambda x: 1.0 / x, "div", "is not linear in its argument 1"),
        (lambda x: x + 1.0, "add", "affine, not linear"),
    ],
)
def test_not_linear_is_refused_with_the_way_out(f, op, words):
    x = rand(3, 3)
    with pytest.raises(TypeError) as e:
        vl.linear_transpose(f, x)
    msg = str(e.value)
    assert msg.startswith(f"linear_transpose: {op} ")
    assert words in msg and "vjplib.vjp(f, x)" in msg


def test_nonzero_constant_output_is_refused():
    with pytest.raises(TypeError, match="nonzero constant"):
        vl.linear_transpose(lambda v: torch.ones(2, dtype=F64), rand(3))


def test_wrong_shapes_are_refused_naming_them():
    x = rand(3)
    f_T = vl.linear_transpose(vl.cumsum, x)
    with pytest.raises(ValueError, match=r"shape \(4,\), expected \(3,\)"):
        f_T(rand(4))
    _, jvp_fn = vl.linearize(vl.exp, x)
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3,\)"):
        jvp_fn(rand(2))
    with pytest.raises(ValueError, match="takes 1 tangents"):
        jvp_fn(x, x)


def test_a_custom_function_without_transpose_rule_is_refused():
    class Twice(vl.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def vjp(ctx, y_bar):
            return 2 * y_bar

        @staticmethod
        def jvp(ctx, x_dot):
            return 2 * x_dot

    x = rand(3)
    with pytest.raises(TypeError, match="give it linear_in"):
        vl.linear_transpose(Twice.apply, x)
    # its JVP rule is linear (2 * x_dot), so linearize and transposition work
    _, jvp_fn = vl.linearize(Twice.apply, x)
    assert_close(vl.linear_transpose(jvp_fn, x)(x)[0], 2 * x)


# ------------------------------------------ linear_program and linear_ops

LIN = __import__("sys").modules["vjplib.linearize"]


def z_vl(X):
    return vl.norm(vl.inv(X))


def test_linear_program_of_z_is_six_linear_ops_with_the_residuals():
    X = well_conditioned(4, seed=3)
    z, jvp_fn = vl.linearize(z_vl, X)
    program = vl.linear_program(jvp_fn, X, names=["X_dot"])
    assert [fn.__name__ for _, fn, _ in program.equations] == [
        "Matmul", "Matmul", "Neg", "Mul", "Sum", "Mul",
    ]  # fmt: skip
    Y = torch.linalg.inv(X)
    assert len(program.constants) == 2
    assert_close(program.constants[0], Y)  # X⁻¹, once for all its uses
    assert_close(program.constants[1], 1 / torch.linalg.norm(Y))
    X_dot = rand(4, 4, seed=4)
    _, z_dot = torch.func.jvp(
        lambda X: torch.linalg.norm(torch.linalg.inv(X)), (X,), (X_dot,)
    )
    assert_close(program(X_dot), z_dot, rtol=RTOL, atol=ATOL)
    text = str(program)
    assert text.splitlines()[0] == "in   X_dot: (4, 4)"
    assert "t1 = matmul(c1, X_dot): (4, 4)" in text
    assert text.splitlines()[-1] == "out  t6"


def test_linear_program_of_a_transpose_runs_the_vjp():
    X = well_conditioned(3, seed=5)
    z, jvp_fn = vl.linearize(z_vl, X)
    f_T = vl.linear_transpose(jvp_fn, X)
    program = vl.linear_program(f_T, z, names=["z_bar"])
    names = [fn.__name__ for _, fn, _ in program.equations]
    assert "Matmul" in names and "BroadcastTo" in names
    ref = torch.func.grad(lambda X: torch.linalg.norm(torch.linalg.inv(X)))
    assert_close(program(torch.tensor(1.0, dtype=F64)), ref(X))


def test_linear_program_of_an_elementwise_op_is_one_multiply():
    """Every one-input elementwise op's linear piece: x_dot times the
    constant f'(x), compared with torch's derivative."""
    x = rand(5, positive=True)
    for cls in OP_CLASSES:
        if not issubclass(cls, ops.Elementwise):
            continue
        args = EXAMPLES[cls][0][0]
        y, jvp_fn = vl.linearize(lambda x: cls.apply(x, *args[1:]), x)
        program = vl.linear_program(jvp_fn, x)
        assert [fn for _, fn, _ in program.equations] == [ops.Mul], cls
        torch_f = EXAMPLES[cls][0][1]
        slope = torch.func.vmap(
            torch.func.grad(lambda t: torch_f(t, *args[1:]))
        )(x)
        assert_close(program.constants[0], slope, rtol=RTOL, atol=ATOL)


def test_linear_ops_are_read_from_the_op_classes():
    kinds = vl.linear_ops()
    assert kinds["one at a time"] == ["mul", "matmul", "convolve"]
    assert set(kinds["together"]) == {"add", "sub", "where"}
    for name in ("neg", "div", "broadcast_to", "movedim", "reshape", "sum"):
        assert name in kinds["first"]
    # every op class with linear_in and a transpose rule, none other
    listed = {n for names in kinds.values() for n in names}
    with_rules = {
        LIN._op_name(c)
        for c in OP_CLASSES
        if getattr(c, "linear_in", ()) and hasattr(c, "transpose")
    }
    assert listed >= with_rules
    assert "inv" not in listed and "sin" not in listed


def test_a_new_linear_op_of_vjplib_appears_in_the_error_message():
    import gc

    class Double(Function):
        """y = 2 x (a stand-in for an op added to vjplib later)."""

        linear_in = (0,)

        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @staticmethod
        def transpose(ctx, y_bar):
            return 2 * y_bar

    Double.__module__ = "vjplib.later"
    try:
        assert "double" in vl.linear_ops()["first"]
        with pytest.raises(TypeError, match="double") as e:
            vl.linear_transpose(vl.exp, rand(3))
        assert "broadcast_to" in str(e.value)
        assert "movedim" in str(e.value)
    finally:
        del Double
        gc.collect()
    assert "double" not in vl.linear_ops()["first"]


def test_x_times_x_is_refused_with_the_reason():
    with pytest.raises(TypeError, match=r"both depend on the input"):
        vl.linear_transpose(lambda x: x * x, rand(3))


def test_linear_program_of_two_inputs_and_of_a_zero_map():
    a, b = rand(3), rand(3, seed=1)
    program = vl.linear_program(lambda a, b: a - 2.0 * b, a, b)
    assert str(program).splitlines()[:2] == [
        "in   x1_dot: (3,)",
        "in   x2_dot: (3,)",
    ]
    assert_close(program(a, b), a - 2.0 * b)
    zero = vl.linear_program(lambda a: torch.zeros(2, dtype=F64), a)
    assert len(zero) == 0 and str(zero).splitlines()[-1] == "out  0"
    assert torch.equal(zero(a), torch.zeros(2, dtype=F64))
    with pytest.raises(ValueError, match="one name per input"):
        vl.linear_program(vl.neg, a, names=["u", "v"])
    with pytest.raises(TypeError, match="exp is not linear"):
        vl.linear_program(vl.exp, a)
