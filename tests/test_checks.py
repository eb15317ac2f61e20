"""
The checks themselves: they pass on right rules and fail, precisely, on wrong
ones.
"""

import pytest
import torch

import vjplib as vl
from vjplib import (
    assert_close,
    check_against_torch,
    check_jacobians,
    dot_product_test,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)  # from torch.func
F64 = torch.float64
X = (
    4 * torch.eye(3, dtype=F64)
    + 0.2 * torch.arange(9, dtype=F64).reshape(3, 3) / 9
)


class InvDropsSignInVjp(vl.Function):
    """Y = X⁻¹ with a VJP that forgot the minus sign (the JVP is right)."""

    @staticmethod
    def forward(ctx, X):
        Y = torch.linalg.inv(X)
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def vjp(ctx, Y_bar):
        (Y,) = ctx.saved_tensors
        return vl.transpose(Y) @ Y_bar @ vl.transpose(Y)

    @staticmethod
    def jvp(ctx, X_dot):
        (Y,) = ctx.saved_tensors
        return -(Y @ X_dot @ Y)


class SinWithWrongJvp(vl.Function):
    """y = sin x with a JVP that uses sin instead of cos (the VJP is right)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def vjp(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return y_bar * vl.cos(x)

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return x_dot * vl.sin(x)


class BothWrongTheSameWay(vl.Function):
    """y = 2x with VJP and JVP both saying 3: consistent with each other, wrong
    against torch.
    """

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def vjp(ctx, y_bar):
        return 3 * y_bar

    @staticmethod
    def jvp(ctx, x_dot):
        return 3 * x_dot


def test_right_rules_pass():
    check_against_torch(vl.inv, X, reference=torch.linalg.inv)
    check_against_torch(
        lambda X: vl.norm(vl.inv(X)), X
    )  # reference: f run by torch
    lhs, rhs = dot_product_test(lambda X: vl.cumsum(vl.inv(X) @ X.T, 0), X)
    assert torch.isclose(lhs, rhs, rtol=1e-12)
    check_jacobians(vl.inv, X)


def test_wrong_vjp_sign_is_caught():
    with pytest.raises(
        AssertionError, match=r"VJP \(x_bar\) for argument 0: .*worst at index"
    ):
        check_against_torch(
            InvDropsSignInVjp.apply, X, reference=torch.linalg.inv
        )
    with pytest.raises(AssertionError, match="dot-product test failed"):
        dot_product_test(InvDropsSignInVjp.apply, X)
    with pytest.raises(AssertionError, match="jacfwd vs jacrev"):
        check_jacobians(InvDropsSignInVjp.apply, X)


def test_wrong_jvp_is_caught():
    x = torch.linspace(0.1, 1.0, 5, dtype=F64)
    with pytest.raises(AssertionError, match=r"JVP \(y_dot\)"):
        check_against_torch(SinWithWrongJvp.apply, x, reference=torch.sin)
    with pytest.raises(AssertionError, match="dot-product test failed"):
        dot_product_test(SinWithWrongJvp.apply, x)


def test_consistent_but_wrong_rules_need_the_torch_comparison():
    x = torch.ones(4, dtype=F64)
    dot_product_test(
        BothWrongTheSameWay.apply, x
    )  # passes: one (wrong) Jacobian
    with pytest.raises(AssertionError, match="VJP"):
        check_against_torch(
            BothWrongTheSameWay.apply, x, reference=lambda x: 2 * x
        )


def test_assert_close_reports_position_shape_and_errors():
    expected = torch.zeros(2, 3, dtype=F64)
    actual = expected.clone()
    actual[1, 2] = 0.5
    with pytest.raises(AssertionError) as info:
        assert_close(actual, expected, what="J")
    message = str(info.value)
    for part in [
        "J: 1 of 6 entries differ",
        "shape (2, 3)",
        "index (1, 2)",
        "got 0.5",
        "expected 0",
        "abs error 0.5",
        "rel error",
    ]:
        assert part in message
    with pytest.raises(
        AssertionError, match=r"shape \(3,\) but expected \(2, 3\)"
    ):
        assert_close(torch.zeros(3), expected)
    with pytest.raises(AssertionError, match="1 of 3 entries differ"):
        assert_close(
            torch.tensor([1.0, float("nan"), 2.0]),
            torch.tensor([1.0, 0.0, 2.0]),
        )
    assert_close(
        torch.tensor([float("nan")]), torch.tensor([float("nan")])
    )  # nan where torch has nan
    inf = float("inf")  # inf where torch has inf of one sign
    assert_close(torch.tensor([inf, -inf]), torch.tensor([inf, -inf]))
    with pytest.raises(AssertionError, match="1 of 2 entries differ"):
        assert_close(torch.tensor([inf, 1.0]), torch.tensor([-inf, 1.0]))
    with pytest.raises(AssertionError, match="1 of 2 entries differ"):
        assert_close(
            torch.tensor([1e300, 1.0], dtype=F64),
            torch.tensor([inf, 1.0], dtype=F64),
        )
    with pytest.raises(AssertionError, match="1 of 2 entries differ"):
        assert_close(
            torch.tensor([inf, 1.0], dtype=F64),
            torch.tensor([1e300, 1.0], dtype=F64),
        )


def test_kept_bytes_with_a_torch_func_vjp_alive():
    """A torch.func vjp_fn alive elsewhere holds functorch wrappers, which
    have no storage of their own; the meters must skip them, not crash."""
    x = torch.randn(3, dtype=torch.float64)
    _, keep = torch.func.vjp(torch.sin, x)  # alive during the measurement
    kept = vl.memory.kept_bytes
    assert kept(lambda: vl.vjp(vl.sin, x)) == 3 * 8  # the output: x existed
    assert kept(lambda: torch.sin(x.detach().requires_grad_())) == 3 * 8
    del keep


# ------------------------------------------------------ the memory meter


def _layers(k, tanh, W):
    def f(X):
        for _ in range(k):
            X = tanh(X @ W)  # matmul saves X and W, tanh its output
        return X

    return f


@pytest.mark.parametrize("k", [1, 3])
def test_kept_bytes_matches_the_count_from_the_shapes(k):
    """k layers of tanh(X W), n x n float64: the graph keeps one n x n
    matrix per layer (tanh's output, which the next matmul saves too, and
    the last of which is the output); X and W existed before. Predicted
    from the shapes, in both libraries, and for vjplib's two faces."""
    n = 16
    gen = torch.Generator().manual_seed(0)
    W, X = (torch.randn(n, n, generator=gen, dtype=F64) for _ in range(2))
    one = n * n * 8
    f_vl, f_torch = _layers(k, vl.tanh, W), _layers(k, torch.tanh, W)
    kept = vl.memory.kept_bytes
    assert kept(lambda: vl.vjp(f_vl, X)) == k * one
    assert kept(lambda: f_torch(X.detach().requires_grad_())) == k * one
    leaf = vl.tensor(X, requires_grad=True)
    assert kept(lambda: f_vl(leaf)) == k * one
    with vl.no_grad():  # nothing saved: only the output
        assert kept(lambda: f_vl(leaf)) == one
    with torch.no_grad():
        assert kept(lambda: f_torch(X.detach().requires_grad_())) == one


def test_saved_bytes_counts_a_storage_once_and_frees_with_the_graph():
    """W saved by three layers counts once; a freed graph no longer
    counts; the peak stays. Both libraries, one meter."""
    n = 8
    W = torch.eye(n, dtype=F64)
    for lib in (torch, vl):
        x = (
            W.clone().requires_grad_()
            if lib is torch
            else vl.tensor(W.clone(), requires_grad=True)
        )
        with vl.memory.SavedBytes() as meter:
            y = _layers(3, lib.tanh, W)(x)
            held = meter.current
            y.sum().backward()  # frees what the graph saved
            after = meter.current
        # W (saved by every matmul for the cotangent of its left factor;
        # W needs none, so X is not saved) and the three tanh outputs
        assert (held, meter.peak, after) == (4 * n * n * 8, held, 0), lib


def test_saved_bytes_meters_nest_and_leave_no_hook_behind():
    x = torch.ones(4, dtype=F64)
    with vl.memory.SavedBytes() as outer:
        with vl.memory.SavedBytes() as inner:
            _ = vl.grad(lambda x: vl.sum(vl.exp(x)))(x)
        _ = vl.grad(lambda x: vl.sum(vl.sin(x)))(x)
    assert inner.peak == 32 and outer.peak == 32  # exp's y; sin's x
    from vjplib.function import _SAVED_TENSORS_HOOKS

    assert _SAVED_TENSORS_HOOKS == []
    t = torch.ones(3, requires_grad=True)
    assert torch.exp(t).grad_fn._saved_result is not None  # no torch hook
