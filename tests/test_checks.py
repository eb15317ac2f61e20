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


def test_graph_bytes_with_a_torch_func_vjp_alive():
    """A torch.func vjp_fn alive elsewhere holds functorch wrappers, which
    have no storage of their own; the meters must skip them, not crash."""
    x = torch.randn(3, dtype=torch.float64)
    _, keep = torch.func.vjp(torch.sin, x)  # alive during the measurement
    assert vl.graph_bytes(vl.sin, x) > 0
    assert vl.torch_graph_bytes(torch.sin, x) > 0
    del keep
