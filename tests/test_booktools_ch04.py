"""booktools.ch04: chapter 4's exercise checkers and memory meter."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import vjplib  # noqa: E402
from booktools import ch04  # noqa: E402
from booktools.exercises import says


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_memory_plot_draws_each_series_in_kib_and_the_baseline():
    depths = [1, 2, 3]
    fig = ch04.plot_memory(
        depths,
        {"a": [1024, 2048, 3072], "b": [2048, 4096, 6144]},
        baseline=512,
    )
    (ax,) = fig.axes
    a, b, base = ax.get_lines()
    np.testing.assert_allclose(a.get_ydata(), [1, 2, 3])  # KiB
    np.testing.assert_allclose(b.get_ydata(), [2, 4, 6])
    np.testing.assert_allclose(base.get_ydata(), [0.5, 0.5])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "a",
        "b",
        "the output alone",
    ]
    assert "KiB" in ax.get_ylabel() and ax.get_ylim()[0] == 0


def test_memory_plot_rejects_a_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="'a' has 2 values for 3 depths"):
        ch04.plot_memory([1, 2, 3], {"a": [1, 2]})
    with pytest.raises(ValueError, match="1 to 3 series"):
        ch04.plot_memory([1], {})


def _matmul(W_bar, X_bar, save=True):
    """A MatMul op whose vjp returns W_bar(W, X, Y_bar), X_bar(W, X, Y_bar)."""

    class MatMul(vjplib.Function):
        @staticmethod
        def forward(ctx, W, X):
            ctx.save_for_backward(W, X)
            return W @ X

        @staticmethod
        def vjp(ctx, Y_bar):
            W, X = ctx.saved_tensors
            return W_bar(W, X, Y_bar), X_bar(W, X, Y_bar)

    return MatMul


def _square(X_bar):
    class Square(vjplib.Function):
        @staticmethod
        def forward(ctx, X):
            ctx.save_for_backward(X)
            return X @ X

        @staticmethod
        def vjp(ctx, Y_bar):
            (X,) = ctx.saved_tensors
            return X_bar(X, Y_bar)

    return Square


def test_the_right_matmul_passes(capsys):
    assert ch04.check_matmul(
        _matmul(lambda W, X, Yb: Yb @ X.T, lambda W, X, Yb: W.T @ Yb)
    )
    assert "all 2 cotangents match torch" in capsys.readouterr().out


def test_a_transposed_shape_is_named():
    op = _matmul(
        lambda W, X, Yb: X @ Yb.T,  # (Ȳ Xᵀ)ᵀ: 3×4
        lambda W, X, Yb: W.T @ Yb,
    )
    with says(
        r"input 0: shape \(3, 4\), expected \(4, 3\).*transposed shape"
    ) as out:
        assert not ch04.check_matmul(op)
    assert "input 1" not in out.getvalue()  # X̄ is right
    assert "W̄ = Ȳ Xᵀ" in out.getvalue()  # the hint


def test_a_transposed_square_answer_says_transpose():
    op = _square(lambda X, Yb: X @ Yb.T + Yb.T @ X)  # the transpose
    with says("transpose of the answer"):
        assert not ch04.check_square(op)


def test_a_sign_slip_is_named():
    op = _square(lambda X, Yb: -(Yb @ X.T + X.T @ Yb))
    with says("sign is wrong"):
        assert not ch04.check_square(op)


def test_a_factor_is_named():
    op = _square(lambda X, Yb: 2 * (Yb @ X.T + X.T @ Yb))
    with says("off by a factor of 2"):
        assert not ch04.check_square(op)


def test_a_missing_term_points_at_an_entry():
    op = _square(lambda X, Yb: Yb @ X.T)  # one term of two
    with says(r"entry \(\d, \d\) is .* expected ") as out:
        assert not ch04.check_square(op)
    said = out.getvalue()
    assert "transpose" not in said and "sign" not in said


def test_a_missing_cotangent_is_named():
    op = _matmul(lambda W, X, Yb: Yb @ X.T, lambda W, X, Yb: None)
    with says(r"input 1: nothing returned; return a tensor of shape \(3, 5\)"):
        assert not ch04.check_matmul(op)


def test_first_mismatch_accepts_equal_and_rejects_close_but_wrong():
    a = torch.arange(6.0, dtype=torch.float64).reshape(2, 3)
    assert ch04.first_mismatch("x", a.clone(), a) is None
    b = a.clone()
    b[1, 2] += 1e-3
    assert "entry (1, 2)" in ch04.first_mismatch("x", b, a)


# -- the chapter's checks can fail --------------------------------------------


def test_the_forward_check_catches_a_forward_that_is_not_the_inverse():
    # the page checks an op's forward by X Y = I, not against
    # torch.linalg.inv (which its forward calls)
    g = torch.Generator().manual_seed(5)
    X = torch.randn(5, 5, dtype=torch.float64, generator=g) + 5 * torch.eye(
        5, dtype=torch.float64
    )
    I = torch.eye(5, dtype=torch.float64)

    def is_inverse(Y):
        return torch.allclose(X @ Y, I) and torch.allclose(Y @ X, I)

    assert is_inverse(torch.linalg.inv(X))
    assert not is_inverse(torch.linalg.inv(X).T)  # a forgotten transpose
    assert not is_inverse(torch.linalg.pinv(X.T))  # the wrong matrix
