"""booktools.ch12: side_by_side, check_fd, the figure."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

import vjplib  # noqa: E402
from booktools import ch12  # noqa: E402

jax.config.update("jax_enable_x64", True)


@pytest.fixture(autouse=True)
def float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


X = [0.3, -1.2, 2.0]


def test_side_by_side_passes_when_the_three_agree():
    x = torch.tensor(X)
    line = ch12.side_by_side(
        vjplib.tanh,
        torch.tanh,
        jnp.tanh,
        x,
        torch.ones(3),
        torch.stack([x, 2 * x]),
        modes=ch12.MODES,
        reference={"grad": 1 - torch.tanh(x) ** 2},
    )
    assert line == (
        "grad, jvp, vmap, hessian, jacrev of grad: vjplib = torch = JAX"
    )


def test_side_by_side_fails_when_a_library_differs():
    x = torch.tensor(X)
    with pytest.raises(AssertionError, match="grad: jax gives"):
        ch12.side_by_side(
            vjplib.sin, torch.sin, jnp.cos, x, x, torch.stack([x, x])
        )


def test_side_by_side_fails_against_a_wrong_reference():
    x = torch.tensor(X)
    with pytest.raises(AssertionError, match="differs from the reference"):
        ch12.side_by_side(
            vjplib.sin,
            torch.sin,
            jnp.sin,
            x,
            x,
            torch.stack([x, x]),
            reference={"grad": torch.sin(x)},  # the derivative is cos
        )
    with pytest.raises(ValueError, match="unknown mode"):
        ch12.side_by_side(
            vjplib.sin, torch.sin, jnp.sin, x, x, x[None], modes=("hvp",)
        )


class WrongSin(vjplib.Function):
    """sin with the derivative of -sin: finite differences must catch it."""

    @staticmethod
    def forward(x):
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def vjp(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return -y_bar * vjplib.sin(x)

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return vjplib.cos(x) * x_dot


def test_check_fd_catches_a_wrong_rule_in_either_mode():
    x = torch.tensor(X)
    assert ch12.check_fd(vjplib.sin, x) < 1e-8
    with pytest.raises(AssertionError, match="finite differences"):
        ch12.check_fd(WrongSin.apply, x)
    with pytest.raises(AssertionError, match="finite differences"):
        ch12.check_fd(WrongSin.apply, x, forward=False)


def test_to_jax_and_back():
    x = torch.tensor(X)
    assert torch.equal(ch12.to_torch(ch12.to_jax(x)), x)


def test_plot_marks_nan_points_and_bands():
    t = np.linspace(-1, 1, 21)
    few = np.where(t == 0, np.nan, np.sign(t))
    many = np.where(t > 0.3, np.nan, t)  # 7 points
    fig, axes = ch12.plot_default_vs_yours(
        [
            dict(t=t, default=few, yours=np.sign(t), title="a", xlabel="t"),
            dict(t=t, default=many, yours=t, title="b", xlabel="t"),
        ]
    )
    labels = [[h.get_label() for h in ax.get_lines()] for ax in axes]
    assert "default rule: NaN or inf" in labels[0]  # a cross
    assert "default rule: NaN or inf" not in labels[1]
    assert len(axes[1].patches) == 1  # a band instead
    matplotlib.pyplot.close(fig)
