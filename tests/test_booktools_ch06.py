"""booktools.ch06: chapter 6's figures and exercise checkers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from booktools import ch06  # noqa: E402
from booktools.exercises import says


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_remainder_plot_has_its_four_lines_on_log_axes():
    steps = np.logspace(-8, -1, 8)
    fig = ch06.plot_remainders(steps, steps**2, steps**3, 2.0, 1.0)
    (ax,) = fig.axes
    assert ax.get_xscale() == ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert len(lines) == 4  # two remainders, ½h²|c|, ε z
    np.testing.assert_allclose(lines[0].get_ydata(), steps**2)
    np.testing.assert_allclose(lines[1].get_ydata(), steps**3)
    np.testing.assert_allclose(lines[2].get_ydata(), steps**2)  # ½·2·h²
    eps = np.finfo(np.float64).eps
    np.testing.assert_allclose(lines[3].get_ydata(), [eps, eps])
    assert ax.get_xlabel() == "step h"


def test_remainder_plot_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one remainder per step"):
        ch06.plot_remainders([1e-3, 1e-2], [1.0], [1.0, 2.0], 1.0, 1.0)


def test_dot_product_plot_marks_failing_rows_and_puts_first_row_on_top():
    rows = {"right": [0.0, 1e-15], "wrong": [0.1, 3.0]}
    fig = ch06.plot_dot_product_test(rows)
    (ax,) = fig.axes
    assert ax.get_xscale() == "log"
    right, wrong = ax.get_lines()[:2]
    assert right.get_marker() == "o" and wrong.get_marker() == "x"
    assert set(right.get_ydata()) == {1} and set(wrong.get_ydata()) == {0}
    np.testing.assert_allclose(right.get_xdata(), [1e-18, 1e-15])  # 0 → floor
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["wrong", "right"]  # bottom to top
    assert "2 random pairs" in ax.get_title()
    ticks = ax.get_xticklabels()
    assert ticks[0].get_text() == "0"  # the floor is exact 0
    assert ticks[0].get_position()[0] == 1e-18


def test_dot_product_plot_needs_a_row():
    with pytest.raises(ValueError, match="at least one row"):
        ch06.plot_dot_product_test({})


# -- exercise 1 ---------------------------------------------------------------


def test_square_checker_accepts_the_product_rule(capsys):
    assert ch06.check_square_jvp(lambda X, Xd: (X @ X, Xd @ X + X @ Xd))
    assert "matches torch.func.jvp" in capsys.readouterr().out


def test_square_checker_says_matrices_do_not_commute():
    with says("do not commute"):
        assert not ch06.check_square_jvp(lambda X, Xd: (X @ X, 2 * X @ Xd))
    with says("do not commute"):
        assert not ch06.check_square_jvp(lambda X, Xd: (X @ X, 2 * Xd @ X))


def test_square_checker_names_a_wrong_entry_without_the_commute_hint():
    with says(r"Ẏ: entry \(\d, \d\) is") as out:
        assert not ch06.check_square_jvp(
            lambda X, Xd: (X @ X, Xd @ X - X @ Xd)
        )
    assert "commute" not in out.getvalue()


def test_square_checker_catches_a_wrong_value_and_a_wrong_shape():
    with says("the value Y is wrong"):
        assert not ch06.check_square_jvp(
            lambda X, Xd: (X * X, Xd @ X + X @ Xd)
        )
    with says(r"Ẏ: shape \(16,\), expected \(4, 4\)"):
        assert not ch06.check_square_jvp(
            lambda X, Xd: (X @ X, (Xd @ X + X @ Xd).flatten())
        )


# -- exercise 2 ---------------------------------------------------------------


def _grad(X):
    return torch.func.grad(lambda X: torch.linalg.norm(torch.linalg.inv(X)))(X)


def test_steepest_checker_accepts_the_normalised_gradient(capsys):
    def steepest(X):
        g = _grad(X)
        return g / torch.linalg.norm(g), torch.linalg.norm(g)

    assert ch06.check_steepest(steepest)
    assert "steepest ascent" in capsys.readouterr().out


def test_steepest_checker_wants_a_unit_direction():
    with says("unit length"):
        assert not ch06.check_steepest(
            lambda X: (_grad(X), torch.linalg.norm(_grad(X)))
        )


def test_steepest_checker_catches_a_rate_that_is_not_d_u_z():
    def steepest(X):
        g = _grad(X)
        return g / torch.linalg.norm(g), 1.0

    with says("is not D_U z"):
        assert not ch06.check_steepest(steepest)


def test_steepest_checker_catches_a_slower_direction():
    def steepest(X):  # the descent direction: a unit U, but −‖∇z‖
        g = -_grad(X)
        U = g / torch.linalg.norm(g)
        return U, (U * _grad(X)).sum()

    with says("U: the sign is wrong", "is possible"):
        assert not ch06.check_steepest(steepest)


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda Yd: Yd.T, "Ẏ: this is the transpose of the answer"),
        (lambda Yd: -Yd, "Ẏ: the sign is wrong"),
        (lambda Yd: 3 * Yd, "Ẏ: off by a factor of 3"),
        (lambda Yd: Yd[:2], r"Ẏ: shape \(2, 4\), expected \(4, 4\)"),
    ],
)
def test_square_checker_names_the_usual_slips(slip, words):
    with says(words):
        assert not ch06.check_square_jvp(
            lambda X, Xd: (X @ X, slip(Xd @ X + X @ Xd))
        )


def test_steepest_checker_names_a_transposed_direction_and_a_shape():
    def transposed(X):
        g = _grad(X).T
        U = g / torch.linalg.norm(g)
        return U, (U * _grad(X)).sum()

    with says("U: this is the transpose of the answer"):
        assert not ch06.check_steepest(transposed)
    with says(r"U: shape \(25,\), expected \(5, 5\)"):
        assert not ch06.check_steepest(lambda X: (_grad(X).flatten(), 1.0))


# -- the chapter's checks can fail --------------------------------------------


def test_the_linearity_check_is_made_on_the_inverse_and_can_fail():
    # the page checks linearity on what X ↦ X⁻¹ does (a central difference),
    # not on the formula −Y Ẋ Y, which is linear as written
    g = torch.Generator().manual_seed(1)
    n = 3
    X = torch.randn(n, n, dtype=torch.float64, generator=g) + n * torch.eye(
        n, dtype=torch.float64
    )
    Y = torch.linalg.inv(X)
    A, B = (torch.randn(n, n, dtype=torch.float64, generator=g) for _ in "ab")

    def change(X_dot):
        return torch.linalg.inv(X + X_dot) - Y

    def first_order(X_dot, h=1e-6):
        return (change(h * X_dot) - change(-h * X_dot)) / (2 * h)

    def combines_linearly(f):
        return torch.allclose(f(2 * A - 3 * B), 2 * f(A) - 3 * f(B))

    assert combines_linearly(first_order)
    assert not combines_linearly(change)  # the test can say no
    assert not combines_linearly(lambda V: V @ V)  # nor a quadratic map
    assert torch.allclose(first_order(A), -Y @ A @ Y)
    assert not torch.allclose(first_order(A), -Y.T @ A @ Y.T)  # a wrong JVP
