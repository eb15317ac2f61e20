"""booktools.ch08: explicit matrices, transpose checks, the memory meter,
the reflection figure and the exercise checkers."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import vjplib  # noqa: E402
from booktools import ch08  # noqa: E402
from booktools.exercises import says


@pytest.fixture(autouse=True)
def float64():
    """Every check in float64, as in the chapter; the default dtype is put
    back after each test, so other test files keep torch's float32."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def rev_cumsum(v):
    return v.flip(-1).cumsum(-1).flip(-1)


# ------------------------------------------------------------ matrix_of


def test_matrix_of_is_the_flattened_jacobian_of_a_linear_map():
    A = torch.randn(2, 3, generator=torch.Generator().manual_seed(1))

    def L(X):
        return (A @ X).T

    M = ch08.matrix_of(L, (3, 4))
    assert M.shape == (8, 12)
    J = torch.func.jacrev(L)(torch.zeros(3, 4)).reshape(8, 12)
    assert torch.equal(M, J)
    x = torch.randn(3, 4)
    assert torch.allclose(M @ x.reshape(-1), L(x).reshape(-1))


def test_dot_is_the_trace_inner_product():
    A, B = torch.randn(3, 4), torch.randn(3, 4)
    assert torch.allclose(ch08.dot(A, B), torch.trace(A.T @ B))


# ------------------------------------------------------------ check_transpose


@pytest.mark.parametrize(
    "L, L_T, shape",
    [
        (lambda x: x.cumsum(-1), rev_cumsum, (5,)),
        (lambda x: x.flip(-1), lambda y: y.flip(-1), (5,)),
        (lambda X: X.T, lambda Y: Y.T, (2, 3)),
        (lambda X: X.sum(0), lambda y: y.expand(3, 4), (3, 4)),
        (lambda X: X.reshape(6), lambda y: y.reshape(2, 3), (2, 3)),
    ],
)
def test_check_transpose_accepts_the_right_rules(L, L_T, shape):
    assert ch08.check_transpose(L, L_T, shape) < 1e-12


def test_check_transpose_names_a_wrong_sign():
    with pytest.raises(AssertionError, match="sign is wrong"):
        ch08.check_transpose(
            lambda x: x.cumsum(-1), lambda y: -rev_cumsum(y), (5,)
        )


def test_check_transpose_names_the_map_instead_of_its_transpose():
    with pytest.raises(AssertionError, match="map itself"):
        ch08.check_transpose(
            lambda x: x.cumsum(-1), lambda y: y.cumsum(-1), (5,)
        )


def test_check_transpose_names_a_wrong_shape():
    with pytest.raises(AssertionError, match=r"shape \(3, 2\).*\(2, 3\)"):
        ch08.check_transpose(lambda X: X.T, lambda Y: Y, (2, 3))


def test_check_transpose_points_at_a_wrong_entry():
    def almost(y):
        x = rev_cumsum(y).clone()
        x[2] += 1.0
        return x

    with pytest.raises(AssertionError, match=r"entry \(2,\)"):
        ch08.check_transpose(lambda x: x.cumsum(-1), almost, (5,))


# ------------------------------------------------------------ kept_bytes


def test_kept_bytes_counts_new_storages_once():
    x = torch.randn(10)
    assert ch08.kept_bytes(lambda: torch.zeros(10)) == 80
    y = torch.zeros(7)
    assert ch08.kept_bytes(lambda: (y[1:], torch.ones(3))) == 56 + 24
    assert ch08.kept_bytes(lambda: (x, torch.ones(3)), x) == 24


def test_kept_bytes_sees_what_a_closure_keeps():
    def make():
        saved = torch.ones(4, 4)
        return lambda v: saved @ v

    assert ch08.kept_bytes(make) == 16 * 8


def test_kept_bytes_does_not_walk_into_globals():
    def make():
        return test_kept_bytes_counts_new_storages_once  # a global function

    assert ch08.kept_bytes(make) == 0


def test_kept_bytes_ignores_torch_func_wrappers():
    X = torch.randn(3, 3)
    _, vjp_fn = torch.func.vjp(torch.sin, X)  # holds TensorWrappers
    assert ch08.kept_bytes(lambda: (vjp_fn, torch.zeros(5)), X) == 40


@pytest.mark.parametrize("k", [1, 3])
def test_kept_bytes_agrees_with_vjplib_graph_bytes(k):
    W = torch.randn(8, 8) / 8
    X = torch.randn(8, 8)

    def f(X):
        H = X
        for _ in range(k):
            H = vjplib.tanh(vjplib.matmul(H, W))
        return H

    kept = ch08.kept_bytes(lambda: vjplib.vjp(f, X), f, X)
    assert kept == vjplib.graph_bytes(f, X) == k * 64 * 8


# ------------------------------------------------------------ the figure


def test_plot_reflections_draws_each_matrix_beside_its_transpose():
    M = torch.arange(12.0).reshape(3, 4)
    fig, axes = ch08.plot_reflections({"cumsum": M, "other": M.T})
    assert axes.shape == (2, 2)
    assert axes[0, 0].get_title() == "cumsum: M"
    assert axes[0, 1].get_title() == "its transpose: Mᵀ"
    left = axes[0, 0].get_images()[0].get_array()
    right = axes[0, 1].get_images()[0].get_array()
    assert (left.T == right).all()
    mirrors = [ln for ln in axes[1, 1].get_lines() if ln.get_gid() == "mirror"]
    assert len(mirrors) == 1
    matplotlib.pyplot.close(fig)


def test_plot_reflections_draws_a_given_transpose_after_checking_it():
    M = torch.arange(6.0).reshape(2, 3)
    fig, axes = ch08.plot_reflections({"m": (M, M.T.clone())})
    assert (axes[0, 1].get_images()[0].get_array() == M.T.numpy()).all()
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="not the transpose"):
        ch08.plot_reflections({"m": (M, M.T + 1)})
    with pytest.raises(ValueError, match="not the transpose"):
        ch08.plot_reflections({"m": (M, M)})


def test_plot_reflections_wants_a_matrix():
    with pytest.raises(ValueError, match="at least one"):
        ch08.plot_reflections({})


# ------------------------------------------------------------ exercise 1


def test_check_AXB_accepts_the_answer(capsys):
    assert ch08.check_transpose_AXB(lambda A, B, Y_bar: A.T @ Y_bar @ B.T)
    assert "two shapes" in capsys.readouterr().out


def test_check_AXB_explains_missing_transposes():
    with says("transpose each factor"):
        assert not ch08.check_transpose_AXB(lambda A, B, Y_bar: A @ Y_bar @ B)


def test_check_AXB_names_the_sign():
    with says("sign"):
        assert not ch08.check_transpose_AXB(
            lambda A, B, Y_bar: -A.T @ Y_bar @ B.T
        )


def test_check_AXB_names_a_factor_and_a_transposed_square_answer():
    with says("off by a factor of 2"):
        assert not ch08.check_transpose_AXB(
            lambda A, B, Y_bar: 2 * A.T @ Y_bar @ B.T
        )
    with says("transpose"):  # square where X is square: the transpose
        assert not ch08.check_transpose_AXB(
            lambda A, B, Y_bar: (
                (A.T @ Y_bar @ B.T).mT
                if Y_bar.shape[0] == A.shape[0] and A.shape[1] == B.shape[0]
                else A.T @ Y_bar @ B.T
            )
        )


def test_check_AXB_names_a_transposed_result():
    with says(r"shape \(4, 3\)"):
        assert not ch08.check_transpose_AXB(
            lambda A, B, Y_bar: B @ Y_bar.T @ A
        )


# ------------------------------------------------------------ exercise 2


def test_check_scaled_cumsum_accepts_the_answer(capsys):
    assert ch08.check_transpose_scaled_cumsum(lambda w, y: w * rev_cumsum(y))
    assert "transpose of x ↦ cumsum" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda w, y: torch.cumsum(w * y, -1), "map itself"),
        (lambda w, y: rev_cumsum(w * y), "wrong order"),
        (lambda w, y: w * torch.cumsum(y, -1), "not reversed"),
        (lambda w, y: -w * rev_cumsum(y), "sign"),
        (lambda w, y: 0.5 * w * rev_cumsum(y), "factor of 0.5"),
        (lambda w, y: (w * rev_cumsum(y))[:5], r"shape \(5,\)"),
    ],
)
def test_check_scaled_cumsum_names_the_slip(wrong, words):
    with says(words):
        assert not ch08.check_transpose_scaled_cumsum(wrong)


# ------------------------------------------------------------ exercise 3


def right_per_example(w, X, y):
    return torch.func.vmap(
        torch.func.grad(
            lambda w, x, y: torch.nn.functional.softplus(-y * (w @ x))
        ),
        in_dims=(None, 0, 0),
    )(w, X, y)


def test_check_per_example_grads_accepts_vmap_of_grad(capsys):
    assert ch08.check_per_example_grads(right_per_example)
    assert "7 per-example gradients" in capsys.readouterr().out


def test_check_per_example_grads_names_the_summed_gradient():
    with says("summed loss"):
        assert not ch08.check_per_example_grads(
            lambda w, X, y: right_per_example(w, X, y).sum(0)
        )


def test_check_per_example_grads_names_the_out_dims():
    with says("out_dims"):
        assert not ch08.check_per_example_grads(
            lambda w, X, y: right_per_example(w, X, y).T
        )


def test_check_per_example_grads_names_a_factor_and_a_shape():
    with says("factor of 7"):
        assert not ch08.check_per_example_grads(
            lambda w, X, y: 7 * right_per_example(w, X, y)
        )
    with says(r"shape \(6, "):
        assert not ch08.check_per_example_grads(
            lambda w, X, y: right_per_example(w, X, y)[:6]
        )


def test_check_per_example_grads_names_a_sign():
    with says("sign"):
        assert not ch08.check_per_example_grads(
            lambda w, X, y: -right_per_example(w, X, y)
        )
