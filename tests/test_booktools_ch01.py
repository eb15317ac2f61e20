"""booktools.ch01: chapter 1's exercise checker and pictures."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from booktools import ch01  # noqa: E402


def z_of(X):
    return torch.linalg.norm(torch.linalg.inv(X))


def grad_z(X):
    Y = torch.linalg.inv(X)
    return -(Y.T @ Y @ Y.T) / torch.linalg.norm(Y)


def test_the_checker_accepts_the_right_gradient():
    ok, message = ch01.compare_gradient(grad_z, z_of)
    assert ok and message.startswith("Correct: your function matches")


@pytest.mark.parametrize(
    "wrong, says",
    [
        (lambda X: grad_z(X).T, "transpose"),
        (lambda X: -grad_z(X), "sign"),
        (lambda X: grad_z(X) / 2, "factor"),
        (lambda X: None, "None"),
        (lambda X: grad_z(X)[:, :3], "shape"),
        (lambda X: grad_z(X).flatten(), "shape"),
    ],
    ids=["transpose", "sign", "factor", "none", "columns", "flat"],
)
def test_the_checker_says_what_is_wrong(wrong, says):
    ok, message = ch01.compare_gradient(wrong, z_of, "a hint")
    assert not ok
    assert says in message
    assert "a hint" not in message  # a specific diagnosis, not the hint


def test_the_checker_names_the_worst_entry_and_falls_back_on_the_hint():
    def off_by_one_entry(X):
        G = grad_z(X).clone()
        G[2, 3] += 1.0
        return G

    ok, message = ch01.compare_gradient(off_by_one_entry, z_of, "try again")
    assert not ok
    said = " ".join(message.split())  # unwrapped
    assert "entry (2, 3)" in said and "Hint: try again" in said
    assert all(len(line) <= 79 for line in message.splitlines())


def test_the_checker_uses_the_given_matrix():
    X = ch01.exercise_matrix(3, seed=4)
    ok, message = ch01.compare_gradient(grad_z, z_of, X=X)
    assert ok and "3×3" in message
    # a formula right only at one matrix is caught at another
    frozen = grad_z(ch01.exercise_matrix())
    assert not ch01.compare_gradient(lambda X: frozen, z_of, X=X)[0]


def test_exercise_matrix_is_seeded_and_well_conditioned():
    X = ch01.exercise_matrix()
    assert X.dtype == torch.float64 and X.shape == (5, 5)
    assert torch.equal(X, ch01.exercise_matrix())
    assert torch.linalg.cond(X) < 10


def test_check_exercise_on_solutions_and_wrong_answers(capsys):
    def solution_1(X):
        Y = torch.linalg.inv(X)
        return -2 * Y.T @ Y @ Y.T

    def solution_2(X):
        Y = torch.linalg.inv(X)
        return -Y.T @ Y.T

    assert ch01.check_exercise(1, solution_1)
    assert ch01.check_exercise(2, solution_2)
    assert not ch01.check_exercise(1, solution_2)
    assert not ch01.check_exercise(2, lambda X: solution_2(X).T)
    out = capsys.readouterr().out
    assert out.count("Correct: exercise 1") == 1
    assert "Not yet: exercise 2: this is the transpose" in out
    # exercise 1 is off by the factor 2z from this chapter's gradient
    assert not ch01.check_exercise(1, grad_z)
    assert "factor" in capsys.readouterr().out
    assert not ch01.check_exercise(1, lambda X: None)  # the `...` left
    assert "Nothing to check yet: exercise 1 returned None" in (
        capsys.readouterr().out
    )
    with pytest.raises(ValueError, match="no exercise 3"):
        ch01.check_exercise(3, solution_1)


def test_plot_chain_draws_three_nodes_and_two_jacobians():
    fig, ax = ch01.plot_chain()
    texts = [t.get_text() for t in ax.texts]
    assert sum("n^2 \\times n^2" in t for t in texts) == 1
    assert sum("1 \\times n^2" in t for t in texts) == 1
    assert len(ax.patches) == 3 and "scalar" in texts
    plt.close(fig)


def test_plot_fd_errors_draws_the_curves_the_band_and_the_step():
    hs = np.logspace(-1, -13, 25)
    forward = hs + 1e-16 / hs
    central = hs**2 + 1e-16 / hs
    fig, ax = ch01.plot_fd_errors(
        hs,
        forward,
        central,
        rounding=1e-16 / hs,
        best_h_band=(1e-5, 1e-4),
        h_used=3e-5,
    )
    labels = [line.get_label() for line in ax.get_lines()]
    assert "forward difference" in labels and "central difference" in labels
    central_line = ax.get_lines()[labels.index("central difference")]
    assert np.allclose(central_line.get_ydata(), central)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert ax.xaxis_inverted()  # large h on the left
    assert len(ax.patches) == 1  # the band of best steps
    assert any(
        list(line.get_xdata()) == [3e-5, 3e-5] for line in ax.get_lines()
    )
    plt.close(fig)
    with pytest.raises(ValueError, match="one error per h"):
        ch01.plot_fd_errors(hs, forward[:-1], central)


# -- the chapter's checks can fail --------------------------------------------


def test_the_vjp_checks_of_the_takeaway_catch_a_wrong_cotangent_or_transpose():
    # cell "y_bar = Y / z ...": x_bar is compared with torch's gradient of
    # z, which knows nothing of the formula; the regrouped formula G was not
    # a check (it is x_bar written another way)
    g = torch.Generator().manual_seed(0)
    n = 6
    X = torch.randn(n, n, dtype=torch.float64, generator=g) + n * torch.eye(
        n, dtype=torch.float64
    )
    X_leaf = X.clone().requires_grad_(True)
    torch.linalg.norm(torch.linalg.inv(X_leaf)).backward()
    G_autograd = X_leaf.grad
    Y = torch.linalg.inv(X)
    z = torch.linalg.norm(Y)

    def pulled_back(y_bar):
        return -Y.T @ y_bar @ Y.T

    assert torch.allclose(pulled_back(Y / z), G_autograd)
    assert not torch.allclose(pulled_back(Y), G_autograd)  # Y/z forgotten
    y_bar = torch.randn(n, n, dtype=torch.float64, generator=g)
    assert not torch.allclose(-Y @ y_bar @ Y, pulled_back(y_bar))  # the ᵀ
