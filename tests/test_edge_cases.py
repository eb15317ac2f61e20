"""The edge cases torch's own tests find, the memory the graph keeps, and
softplus.

Each expected value comes from torch (the referee) or from torch's behaviour:
torch raises for repeated dims, bool dims and a tuple for cumsum, and takes
numpy integers as dims.
"""

import gc
import weakref

import numpy as np
import pytest
import torch
from torch import func as tf

import vjplib as vl
from vjplib import assert_close

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)
F64 = torch.float64


def rand(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=F64)


# ------------------------------------------- norm at 0 and of an empty x


@pytest.mark.parametrize("shape", [(0,), (2, 0), (3,), (2, 2)])
def test_norm_where_it_is_zero_matches_torch(shape):
    """‖x‖ = 0 (x empty or all zero): torch's VJP, JVP and Hessian are 0, not
    0/0 = nan."""
    x, v = torch.zeros(shape, dtype=F64), rand(*shape, seed=1)
    ref = torch.linalg.vector_norm
    assert_close(vl.grad(vl.norm)(x), tf.grad(ref)(x), what="grad")
    assert_close(
        vl.jvp(vl.norm, (x,), (v,))[1], tf.jvp(ref, (x,), (v,))[1], what="JVP"
    )
    if x.numel():  # (torch.func.hessian itself fails on an empty x)
        assert_close(
            vl.hessian(vl.norm)(x), tf.hessian(ref)(x), what="hessian"
        )
    else:
        assert vl.hessian(vl.norm)(x).shape == shape + shape
    # the grad of the VJP with respect to the cotangent (torch: 0)
    one = torch.tensor(1.0, dtype=F64)
    g = vl.grad(lambda s: vl.sum(vl.vjp(vl.norm, x)[1](s)[0] * v))(one)
    assert not torch.isnan(g) and g.item() == 0.0


def test_norm_away_from_zero_is_unchanged():
    x = rand(3, 2)
    assert_close(
        vl.hessian(vl.norm)(x), tf.hessian(torch.linalg.vector_norm)(x)
    )


# ------------------------------------------- pow with c = 0 and c = 1 at 0


def test_pow_zero_exponent_and_second_derivative_of_pow_one_at_zero():
    x = torch.tensor([0.0, 2.0, -1.5], dtype=F64)
    for c in (0, 0.0, 1, 2):
        f = lambda x: vl.sum(vl.pow(x, c))
        g = lambda x: torch.pow(x, c).sum()
        assert_close(vl.grad(f)(x), tf.grad(g)(x), what=f"grad of x^{c}")
        assert_close(
            vl.hessian(f)(x), tf.hessian(g)(x), what=f"hessian of x^{c}"
        )
        assert_close(
            vl.jvp(f, (x,), (x,))[1],
            tf.jvp(g, (x,), (x,))[1],
            what=f"JVP of x^{c}",
        )


# ------------------------------------------- dims: as torch takes them

X = rand(2, 3, seed=2)


@pytest.mark.parametrize("dim", [(), []])
def test_sum_over_an_empty_dim_list_sums_everything(dim):
    assert_close(vl.sum(X, dim), torch.sum(X, dim))
    assert vl.sum(X, dim).shape == ()
    assert_close(
        vl.grad(lambda x: vl.sum(x, dim))(X), torch.ones(2, 3, dtype=F64)
    )


@pytest.mark.parametrize("dim", [np.int64(1), np.int32(-1), (np.int64(0), 1)])
def test_numpy_integer_dims_are_accepted(dim):
    assert_close(vl.sum(X, dim), torch.sum(X, dim))
    flips = dim if isinstance(dim, tuple) else (dim,)
    assert_close(vl.flip(X, dim), torch.flip(X, flips))
    if not isinstance(dim, tuple):
        assert_close(vl.cumsum(X, dim), torch.cumsum(X, dim))
        g = lambda x: (torch.cumsum(x, int(dim)) ** 2).sum()
        assert_close(
            vl.grad(lambda x: vl.sum(vl.cumsum(x, dim) ** 2))(X), tf.grad(g)(X)
        )


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: vl.cumsum(X, (0, 1)),
            TypeError,
            r"cumsum: dim must be an int, got the tuple \(0, 1\); cumsum runs "
            r"along one dim",
        ),
        (
            lambda: vl.flip(X, (0, 0)),
            RuntimeError,  # torch's class and words
            r"flip: dim 0 appears multiple times in the list of dims"
            r".*name each dim once",
        ),
        (
            lambda: vl.flip(X, (1, -1)),
            RuntimeError,
            r"flip: dim 1 appears multiple times .*\(1, -1\)",
        ),
        (
            lambda: vl.sum(X, (0, -2)),
            RuntimeError,
            r"sum: dim 0 appears multiple times .*\(0, -2\)",
        ),
        (
            lambda: vl.sum(X, True),
            TypeError,
            r"sum: dim must be .*got the bool True; "
            r".*pass keepdim=True by name",
        ),
        (
            lambda: vl.cumsum(X, True),
            TypeError,
            r"cumsum: dim must be an int, got the bool True",
        ),
        (
            lambda: vl.flip(X, (True,)),
            TypeError,
            r"flip: dims must be .*got the tuple",
        ),
        (
            lambda: vl.sum(X, 1.0),
            TypeError,
            r"sum: dim must be .*got the float 1.0; pass a whole number",
        ),
        (
            lambda: vl.cumsum(X, 1.0),
            TypeError,
            r"cumsum: dim must be an int, got the float",
        ),
        (
            lambda: vl.flip(X, 2.5),
            TypeError,
            r"flip: dims must be .*got the float 2.5",
        ),
        (
            lambda: vl.cumsum(X, 2),
            IndexError,  # torch's class and words
            r"cumsum: Dimension out of range \(expected to be in range of "
            r"\[-2, 1\], but got 2\) for a value of shape \(2, 3\); use a "
            r"dim in \[-2, 1\]",
        ),
    ],
)
def test_bad_dims_raise_naming_op_argument_and_way_out(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "call",
    [
        lambda: torch.cumsum(X, (0, 1)),
        lambda: torch.flip(X, (0, 0)),
        lambda: torch.sum(X, True),
        lambda: torch.cumsum(X, True),
        lambda: torch.sum(X, 1.0),
    ],
)
def test_torch_refuses_the_same_dims(call):
    """The referee: each dim refused above is refused by torch too."""
    with pytest.raises((TypeError, RuntimeError)):
        call()


# ------------------------------------------- empty tensors


@pytest.mark.parametrize(
    "f, g, shapes",
    [
        (vl.norm, torch.linalg.vector_norm, [(0,)]),
        (lambda x: vl.sum(x, 0), lambda x: torch.sum(x, 0), [(0, 3)]),
        (lambda x: vl.sum(x, 1), lambda x: torch.sum(x, 1), [(0, 3)]),
        (lambda x: vl.cumsum(x, 0), lambda x: torch.cumsum(x, 0), [(0, 2)]),
        (vl.matmul, torch.matmul, [(3, 0), (0, 2)]),
        (vl.matmul, torch.matmul, [(0, 3), (3, 2)]),
        (vl.inv, torch.linalg.inv, [(0, 0)]),
        (vl.inv, torch.linalg.inv, [(2, 0, 0)]),
        (vl.softplus, torch.nn.functional.softplus, [(0,)]),
    ],
)
def test_empty_tensors_work_where_torch_does(f, g, shapes):
    xs = [rand(*s, seed=i) for i, s in enumerate(shapes)]
    vl.check_against_torch(f, *xs, reference=g)
    for k in range(len(xs)):
        assert_close(
            vl.jacrev(f, argnums=k)(*xs), tf.jacrev(g, argnums=k)(*xs)
        )
        assert_close(
            vl.jacfwd(f, argnums=k)(*xs), tf.jacfwd(g, argnums=k)(*xs)
        )


# ------------------------------------------- softplus


def test_softplus_against_torch_including_extremes():
    x = torch.tensor([-1000.0, -40, -1, 0, 0.5, 19, 21, 40, 1000], dtype=F64)
    vl.check_against_torch(
        vl.softplus, x, reference=torch.nn.functional.softplus
    )
    f = lambda x: vl.sum(vl.softplus(x))
    g = lambda x: torch.nn.functional.softplus(x).sum()
    grad, H = vl.grad(f)(x), vl.hessian(f)(x)
    assert torch.isfinite(grad).all() and torch.isfinite(H).all()
    assert_close(grad, torch.sigmoid(x), what="grad = sigmoid", rtol=1e-8)
    assert_close(grad, tf.grad(g)(x), what="grad vs torch", rtol=1e-8)
    # torch's softplus is exactly x above its threshold 20, so its second
    # derivative there is 0; vjplib's is σ(x) σ(-x), 7.6e-10 at x = 21
    assert_close(
        H, tf.hessian(g)(x), what="hessian vs torch", rtol=1e-8, atol=1e-9
    )
    assert grad[0].item() == 0.0 and grad[-1].item() == 1.0
    vl.dot_product_test(vl.softplus, x)


# ------------------------------------------- the memory the graph keeps


def tanh_chain(k, n=16):
    W, X = rand(n, n, seed=3) / n**0.5, rand(n, n, seed=4)

    def f(H):
        for _ in range(k):
            H = vl.tanh(W @ H)
        return H

    def f_torch(H):
        for _ in range(k):
            H = torch.tanh(W @ H)
        return H

    return f, f_torch, X


@pytest.mark.parametrize("k", [1, 2, 7])
def test_graph_keeps_what_torch_keeps(k):
    """k layers of tanh(W h): torch keeps the k tanh outputs (W h is freed); so
    does vjplib."""
    f, f_torch, X = tanh_chain(k)
    one = X.numel() * 8
    assert vl.torch_graph_bytes(f_torch, X) == k * one  # the referee
    assert vl.graph_bytes(f, X) == k * one


def test_an_unreferenced_intermediate_is_freed():
    """W x is saved by no rule: once the user drops it, nothing holds it."""
    W, x = rand(4, 4, seed=5), rand(4, seed=6)
    refs = {}

    def f(x):
        pre = W @ x
        refs["pre"] = weakref.ref(pre.primal)
        y = vl.tanh(pre)
        refs["y"] = weakref.ref(y.primal)
        return vl.sum(y)

    y, vjp_fn = vl.vjp(f, x)
    gc.collect()
    assert refs["pre"]() is None  # freed, as torch frees it
    assert refs["y"]() is not None  # tanh saved y for its VJP
    assert_close(
        vjp_fn(torch.tensor(1.0, dtype=F64))[0],
        tf.grad(lambda x: torch.tanh(W @ x).sum())(x),
    )


def test_graph_bytes_sees_what_a_rule_saves_by_hand():
    """A rule that also saves its input doubles the count: the measure tells
    the difference."""

    class SavesBoth(vl.Function):
        @staticmethod
        def forward(ctx, x):
            y = torch.tanh(x)
            ctx.save_for_backward(x, y)
            return y

        @staticmethod
        def vjp(ctx, y_bar):
            x, y = ctx.saved_tensors
            return y_bar * (1 - y * y)

    W, X = rand(8, 8, seed=7), rand(8, 8, seed=8)
    one = X.numel() * 8
    assert vl.graph_bytes(lambda h: SavesBoth.apply(W @ h), X) == 2 * one
    assert vl.graph_bytes(lambda h: vl.tanh(W @ h), X) == one


def test_nested_transformations_still_work_after_the_split():
    f = lambda x: vl.sum(vl.tanh(x) * vl.softplus(x) ** 2)
    g = lambda x: (torch.tanh(x) * torch.nn.functional.softplus(x) ** 2).sum()
    x, v = rand(4, seed=9), rand(4, seed=10)
    second = lambda x: vl.sum(vl.grad(f)(x))
    second_ref = lambda x: tf.grad(g)(x).sum()
    assert_close(
        vl.grad(lambda x: vl.sum(vl.grad(second)(x)))(x),
        tf.grad(lambda x: tf.grad(second_ref)(x).sum())(x),
        what="third order",
    )
    assert_close(vl.hessian(f)(x), tf.hessian(g)(x))
    assert_close(vl.hvp(f, x, v)[1], tf.hessian(g)(x) @ v)
    assert_close(vl.jacrev(vl.grad(f))(x), tf.hessian(g)(x))
