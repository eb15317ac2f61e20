"""Every vjplib op against an independent torch reference, in float64, on
hypothesis-drawn shapes.

For each op: the forward value; the VJP against torch.autograd.grad; the JVP
against torch.func.jvp; a batch of cotangents / tangents on a leading dim
against torch one by one; and the dot-product test ⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩. Inputs
are kept away from singular points: log and pow get positive numbers,
denominators stay away from 0, matrices to invert are n I + small noise.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import vjplib as vl
from vjplib import assert_close, check_against_torch, dot_product_test

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)  # from torch.func
F64 = torch.float64
SETTINGS = settings(max_examples=25, deadline=None)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
seeds = st.integers(0, 2**31 - 1)


def rand(shape, seed, kind="any"):
    """
    A float64 tensor: "any" normal, "pos" in [0.5, 2], "away" ±[0.5, 2], "inv"
    n I + noise.
    """
    g = torch.Generator().manual_seed(seed)
    if kind == "pos":
        return 0.5 + 1.5 * torch.rand(shape, generator=g, dtype=F64)
    if kind == "away":
        sign = torch.where(
            torch.rand(shape, generator=g, dtype=F64) < 0.5, -1.0, 1.0
        )
        return sign * (0.5 + 1.5 * torch.rand(shape, generator=g, dtype=F64))
    x = torch.randn(shape, generator=g, dtype=F64)
    if kind == "inv":
        n = shape[-1]
        x = n * torch.eye(n, dtype=F64) + 0.3 * x
    return x


def torch_conv(x, k, mode):
    """Reference convolution: a Toeplitz matrix T[i, j] = k[i - j] times x
    (numpy.convolve).
    """
    n, m = x.shape[-1], k.shape[-1]
    i = torch.arange(n + m - 1)[:, None]
    j = torch.arange(n)[None, :]
    idx = i - j
    inside = (idx >= 0) & (idx < m)
    T = torch.where(
        inside, k[..., idx.clamp(0, m - 1)], torch.zeros((), dtype=x.dtype)
    )
    full = (T @ x.unsqueeze(-1)).squeeze(-1)
    return full if mode == "full" else full[..., min(n, m) - 1 : max(n, m)]


def check_op(ours, ref, xs, seed):
    """
    Value, VJP, JVP, batched VJP/JVP and the dot-product test of `ours` against
    `ref` at xs.
    """
    assert_close(ours(*xs), ref(*xs), what="forward value")
    check_against_torch(
        ours, *xs, reference=ref, seed=seed, rtol=1e-9, atol=1e-10
    )
    dot_product_test(ours, *xs, seed=seed)

    # a leading batch dim on the cotangents and tangents: one pass, compared
    # with torch one by one
    B = 3
    y, vjp_fn = vl.vjp(ours, *xs)
    Y_bar = rand((B,) + tuple(y.shape), seed + 1)
    X_bars = vjp_fn(Y_bar, batched=True)
    xs_req = [x.clone().requires_grad_(True) for x in xs]
    y_ref = ref(*xs_req)
    for b in range(B):
        refs = torch.autograd.grad(
            y_ref, xs_req, Y_bar[b], retain_graph=True, allow_unused=True
        )
        for i, (X_bar, r) in enumerate(zip(X_bars, refs)):
            r = torch.zeros_like(xs[i]) if r is None else r
            assert_close(
                X_bar[b],
                r,
                what=f"batched VJP, row {b}, argument {i}",
                rtol=1e-9,
            )
    X_dots = [
        rand((B,) + tuple(x.shape), seed + 2 + i) for i, x in enumerate(xs)
    ]
    _, Y_dot = vl.jvp(ours, xs, X_dots, batched=True)
    for b in range(B):
        _, r = torch.func.jvp(ref, tuple(xs), tuple(d[b] for d in X_dots))
        assert_close(Y_dot[b], r, what=f"batched JVP, column {b}", rtol=1e-9)


UNARY = {
    "neg": (vl.neg, torch.neg, "any"),
    "log": (vl.log, torch.log, "pos"),
    "exp": (vl.exp, torch.exp, "any"),
    "sin": (vl.sin, torch.sin, "any"),
    "cos": (vl.cos, torch.cos, "any"),
    "tanh": (vl.tanh, torch.tanh, "any"),
    "softplus": (vl.softplus, torch.nn.functional.softplus, "any"),
    "norm": (vl.norm, lambda x: torch.sqrt((x * x).sum()), "away"),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@SETTINGS
@given(shape=shapes, seed=seeds)
def test_unary(name, shape, seed):
    ours, ref, kind = UNARY[name]
    check_op(ours, ref, [rand(shape, seed, kind)], seed)


@SETTINGS
@given(shape=shapes, seed=seeds, c=st.sampled_from([2, 3, 1, 0.5, -1.5, 2.5]))
def test_pow(shape, seed, c):
    check_op(
        lambda x: vl.pow(x, c),
        lambda x: torch.pow(x, c),
        [rand(shape, seed, "pos")],
        seed,
    )


BINARY = {
    "add": (vl.add, torch.add, "any"),
    "sub": (vl.sub, torch.sub, "any"),
    "mul": (vl.mul, torch.mul, "any"),
    "div": (vl.div, torch.div, "away"),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=seeds,
)
def test_binary_broadcasting(name, shapes, seed):
    ours, ref, kind = BINARY[name]
    (sa, sb) = shapes.input_shapes
    check_op(ours, ref, [rand(sa, seed), rand(sb, seed + 7, kind)], seed)


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(
        signature=np.matmul.signature, max_dims=2, max_side=4
    ),
    seed=seeds,
)
def test_matmul(shapes, seed):
    sa, sb = shapes.input_shapes
    check_op(
        vl.matmul, torch.matmul, [rand(sa, seed), rand(sb, seed + 7)], seed
    )


@SETTINGS
@given(
    lead=array_shapes(min_dims=0, max_dims=2, max_side=3),
    n=st.integers(1, 4),
    seed=seeds,
)
def test_inv(lead, n, seed):
    check_op(
        vl.inv, torch.linalg.inv, [rand(lead + (n, n), seed, "inv")], seed
    )


@SETTINGS
@given(shape=array_shapes(min_dims=2, max_dims=4, max_side=4), seed=seeds)
def test_transpose(shape, seed):
    check_op(
        vl.transpose, lambda X: X.transpose(-1, -2), [rand(shape, seed)], seed
    )


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    seed=seeds,
    data=st.data(),
)
def test_sum(shape, seed, data):
    ndim = len(shape)
    dim = data.draw(
        st.one_of(
            st.none(),
            st.integers(-ndim, ndim - 1),
            st.lists(st.integers(0, ndim - 1), min_size=1, unique=True).map(
                tuple
            ),
        )
    )
    keepdim = data.draw(st.booleans())
    all_dims = tuple(range(ndim)) if dim is None else dim
    check_op(
        lambda x: vl.sum(x, dim, keepdim),
        lambda x: torch.sum(x, all_dims, keepdim),
        [rand(shape, seed)],
        seed,
    )


@SETTINGS
@given(
    shape=array_shapes(min_dims=1, max_dims=3, max_side=4),
    seed=seeds,
    data=st.data(),
)
def test_cumsum_and_flip(shape, seed, data):
    dim = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = [rand(shape, seed)]
    check_op(
        lambda x: vl.cumsum(x, dim), lambda x: torch.cumsum(x, dim), x, seed
    )
    check_op(
        lambda x: vl.flip(x, dim), lambda x: torch.flip(x, (dim,)), x, seed
    )


@SETTINGS
@given(shape=shapes, seed=seeds, data=st.data())
def test_reshape(shape, seed, data):
    n = int(np.prod(shape))
    target = data.draw(
        st.sampled_from(
            [(n,), (1, n), (-1,), tuple(reversed(shape)), (n, 1, 1)]
        )
    )
    check_op(
        lambda x: vl.reshape(x, target),
        lambda x: torch.reshape(x, target),
        [rand(shape, seed)],
        seed,
    )


@SETTINGS
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=1, max_dims=3, max_side=3),
    seed=seeds,
)
def test_broadcast_to(shapes, seed):
    (s,), target = shapes.input_shapes, shapes.result_shape
    target = (2,) + tuple(target)  # also grow a new leading dim
    check_op(
        lambda x: vl.broadcast_to(x, target),
        lambda x: torch.broadcast_to(x, target),
        [rand(s, seed)],
        seed,
    )


@SETTINGS
@given(
    leads=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    mode=st.sampled_from(["full", "valid"]),
    seed=seeds,
)
def test_convolve(leads, n, m, mode, seed):
    la, lb = leads.input_shapes
    xs = [rand(la + (n,), seed), rand(lb + (m,), seed + 7)]
    check_op(
        lambda x, k: vl.convolve(x, k, mode),
        lambda x, k: torch_conv(x, k, mode),
        xs,
        seed,
    )


@pytest.mark.parametrize("mode", ["full", "valid"])
@pytest.mark.parametrize("n, m", [(3, 2), (2, 3), (5, 5), (1, 4)])
def test_convolve_is_numpy_and_jax_convolve(mode, n, m):
    """vjplib.convolve keeps the name of numpy.convolve and jax.numpy's, so
    it must mean what they mean (torch's conv1d, a correlation on (N, C,
    L), is another op)."""
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    rng = np.random.default_rng(n * 10 + m)
    x, k = rng.standard_normal(n), rng.standard_normal(m)
    got = vl.convolve(torch.tensor(x), torch.tensor(k), mode)
    assert_close(
        got, torch.tensor(np.convolve(x, k, mode)), what=f"numpy, {mode}"
    )
    want = np.asarray(jnp.convolve(jnp.asarray(x), jnp.asarray(k), mode))
    assert_close(got, torch.tensor(want), what=f"jax.numpy, {mode}")
    # the example of the PyTensor notebook: [0, 1, 2] * [1, -1] = [0, 1, 1, -2]
    assert vl.convolve(
        torch.tensor([0.0, 1, 2]), torch.tensor([1.0, -1])
    ).tolist() == [0, 1, 1, -2]
    assert not hasattr(vl, "conv1d")  # torch's name, torch's meaning only


def test_seed_examples():
    """The cheap VJPs the PyTensor notebook derives, computed with vjplib."""
    x = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    _, vjp_log = vl.vjp(vl.log, x)
    assert vjp_log(torch.tensor([4.0, 5.0, 6.0], dtype=F64))[0].tolist() == [
        4.0,
        2.5,
        2.0,
    ]
    _, vjp_cumsum = vl.vjp(vl.cumsum, x)
    assert vjp_cumsum(torch.ones(3, dtype=F64))[0].tolist() == [3.0, 2.0, 1.0]
    _, vjp_conv = vl.vjp(
        vl.convolve,
        torch.tensor([0.0, 1, 2], dtype=F64),
        torch.tensor([1.0, -1], dtype=F64),
    )
    assert vjp_conv(torch.tensor([1.0, 2, 3, 4], dtype=F64))[1].tolist() == [
        8.0,
        11.0,
    ]
    g = vl.grad(lambda x: vl.sum(vl.cumsum(vl.log(x))))(x)
    assert_close(g, torch.tensor([3.0, 2.0, 1.0], dtype=F64) / x)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ops_keep_dtype(dtype):
    X = (3 * torch.eye(3) + 0.1 * torch.ones(3, 3)).to(dtype)
    f = lambda X: vl.sum(
        vl.exp(
            vl.convolve(
                vl.sum(vl.cumsum(vl.tanh(X @ vl.inv(X).T * 2.0 - 1), 0), 0),
                vl.norm(X) * vl.sum(X, 1) / 3,
            )
        )
    )
    y, vjp_fn = vl.vjp(f, X)
    assert (
        y.dtype == dtype
        and vjp_fn(torch.ones((), dtype=dtype))[0].dtype == dtype
    )
    _, y_dot = vl.jvp(f, (X,), (X,))
    assert y_dot.dtype == dtype


def test_zero_dimensional_values():
    """A 0-d x: sum, cumsum and flip over dim 0 or -1 leave it alone, as torch
    does; norm is |x|.
    """
    x = torch.tensor(-2.0, dtype=F64)
    for f, g in [
        (lambda x: vl.sum(x, 0), lambda x: torch.sum(x, 0)),
        (lambda x: vl.cumsum(x, -1), lambda x: torch.cumsum(x, -1)),
        (lambda x: vl.flip(x, 0), lambda x: torch.flip(x, (0,))),
        (vl.norm, torch.abs),
    ]:
        check_op(f, g, [x], seed=0)


# one operand constant: the rules skip its derivative (ctx.needs_input_grad),
# results must not change
WITH_CONSTANT = {
    **{
        name: (ours, ref, "any", kind)
        for name, (ours, ref, kind) in BINARY.items()
    },
    "matmul": (vl.matmul, torch.matmul, "any", "any"),
    "convolve full": (
        lambda x, k: vl.convolve(x, k, "full"),
        lambda x, k: torch_conv(x, k, "full"),
        "any",
        "any",
    ),
    "convolve valid": (
        lambda x, k: vl.convolve(x, k, "valid"),
        lambda x, k: torch_conv(x, k, "valid"),
        "any",
        "any",
    ),
}


@pytest.mark.parametrize("constant", [0, 1])
@pytest.mark.parametrize("name", sorted(WITH_CONSTANT))
@settings(max_examples=15, deadline=None)
@given(
    leads=mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    seed=seeds,
    n=st.integers(1, 4),
    m=st.integers(1, 4),
)
def test_binary_with_a_constant_operand(name, constant, leads, seed, n, m):
    """
    Value, VJP, JVP, batched VJP/JVP and second order of op(x, c) and op(c, x),
    c a plain tensor.
    """
    ours, ref, kind_a, kind_b = WITH_CONSTANT[name]
    sa, sb = leads.input_shapes  # broadcast against each other
    if name == "matmul":  # (…, n, m) @ (…, m, 2); sometimes a vector (m,)
        sa, sb = (
            ((m,) if seed % 3 == 2 else sa + (n, m)),
            ((m,) if seed % 3 == 1 else sb + (m, 2)),
        )
    elif name.startswith("convolve"):
        sa, sb = sa + (n,), sb + (m,)
    a, b = rand(sa, seed, kind_a), rand(sb, seed + 7, kind_b)
    if constant == 0:
        f, g, x = (lambda v: ours(a, v)), (lambda v: ref(a, v)), b
    else:
        f, g, x = (lambda v: ours(v, b)), (lambda v: ref(v, b)), a
    check_op(f, g, [x], seed)
    # second order goes through the rules of the rules: the Hessian of a scalar
    # made from op(x, c)
    w = rand(tuple(ref(a, b).shape), seed + 3)
    H = torch.func.hessian(lambda v: (torch.sin(g(v)) * w).sum())(x)
    assert_close(
        vl.hessian(lambda v: vl.sum(vl.sin(f(v)) * w))(x),
        H,
        what="hessian",
        rtol=1e-9,
    )


# ------------------------------------------------- each op declares its math


def _op_classes():
    from vjplib.ops.base import Op

    bases = (vl.ops.Elementwise, vl.ops.Reduction)
    bases += (vl.ops.arithmetic.Bilinear, vl.ops.kinks.Pointwise)
    return [
        c
        for c in vars(vl.ops).values()
        if isinstance(c, type)
        and issubclass(c, Op)
        and c is not Op
        and getattr(c, "differentiable", True)
        and c not in bases
    ]


def test_every_op_declares_its_formula_vjp_and_jvp():
    """The head of each op's docstring declares its formula, VJP and JVP
    (book's ASCII notation), read into formula, vjp_rule, jvp_rule: stated
    once, shown by help()."""
    classes = _op_classes()
    assert len(classes) >= 33
    for cls in classes:
        head = cls.__doc__.split("\n\n")[0]
        assert cls.formula == head.splitlines()[0], cls.__name__
        assert cls.formula.split(" = ")[0] in ("y", "Y"), cls.__name__
        assert "_bar = " in cls.vjp_rule, cls.__name__
        assert "_dot = " in cls.jvp_rule, cls.__name__
        flat = " ".join(head.split())
        assert f"VJP: {cls.vjp_rule} JVP: {cls.jvp_rule}" in flat, cls


def test_the_stepper_prints_the_declared_rule():
    """The backward-pass stepper reads vjp_rule (no docstring parsing):
    convolve, movedim and recip, which had none, now get theirs, in the
    graph's names."""
    from booktools.stepper import _rule

    assert _rule(vl.ops.Convolve, "y", ("x", "k", None)) == (
        "x̄ = ȳ correlated with k, k̄ = ȳ correlated with x"
    )
    assert _rule(vl.ops.Movedim, "b", ("a", None, None)) == (
        "ā = b̄ with the dim moved back"
    )
    assert _rule(vl.ops.Recip, "r", ("s",)) == "s̄ = −r̄ r²"
    assert _rule(vl.ops.Inv) == "for Y = X⁻¹: X̄ = −Yᵀ Ȳ Yᵀ"
    # a constant operand gets no clause: mul(a, 3)
    assert _rule(vl.ops.Mul, "c", ("a", "3")) == "ā = c̄ 3"

    class Undeclared(vl.Function):
        """y = 2 x.   VJP: x_bar = 2 y_bar (prose, not a declaration)."""

    assert _rule(Undeclared) == ""

    class Declared(vl.ops.base.Op):
        """y = 2 x
        VJP: x_bar = 2 y_bar
        JVP: y_dot = 2 x_dot

        A declaration: a head of labelled lines before a blank line.
        """

    assert _rule(Declared, "b", ("a",)) == "ā = 2 b̄"
