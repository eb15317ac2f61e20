"""booktools.ch09: cost measurements, figures and checkers."""

from __future__ import annotations

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import vjplib  # noqa: E402
from booktools import ch09  # noqa: E402
from booktools.exercises import says

F64 = torch.float64


def quadratic_problem(d, m):
    """f(w) = ½ wᵀ Q w: its Hessian is Q, known without autodiff."""
    g = torch.Generator().manual_seed(d + m)
    M = torch.randn(d, d, generator=g, dtype=F64)
    Q = M @ M.T + d * torch.eye(d, dtype=F64)

    def f(w):
        return 0.5 * vjplib.sum(w * vjplib.matmul(Q, w))

    def f_torch(w):
        return 0.5 * w @ Q @ w

    return f, f_torch, Q


def test_hvp_rev_rev_is_Q_v_on_a_quadratic():
    f, _, Q = quadratic_problem(5, 0)
    w = torch.randn(5, dtype=F64)
    v = torch.randn(5, dtype=F64)
    assert torch.allclose(ch09.hvp_rev_rev(f, w, v), Q @ v)


def hessian_by_hvps(f, w):
    return torch.stack(
        [vjplib.hvp(f, w, e)[1] for e in torch.eye(w.numel(), dtype=F64)]
    )


def test_measure_costs_times_every_route_at_every_size():
    out = ch09.measure_costs(
        quadratic_problem,
        [3, 4],
        m=2,
        loop_dims=[3],
        hessian_by_hvps=hessian_by_hvps,
        budget=0.001,
    )
    assert set(out) == {
        "gradient",
        "HVP, forward-over-reverse",
        "HVP, reverse-over-reverse",
        "Hessian, d HVPs in a loop",
        "Hessian, batched (vjplib)",
        "Hessian, batched (torch.func)",
    }
    assert out["Hessian, d HVPs in a loop"][0] == [3]
    assert out["gradient"][0] == [3, 4]
    assert all(t > 0 for _, ts in out.values() for t in ts)


def test_measure_costs_grows_the_data_with_the_weights_by_default():
    seen = []

    def problem(d, m):
        seen.append((d, m))
        return quadratic_problem(d, m)

    out = ch09.measure_costs(problem, [2, 3], hessians=False, budget=0.001)
    assert seen == [(2, 2), (3, 3)]
    assert set(out) == {
        "gradient",
        "HVP, forward-over-reverse",
        "HVP, reverse-over-reverse",
    }


def test_measure_costs_refuses_a_wrong_hessian_before_timing_it():
    def wrong(f, w):
        return 2 * hessian_by_hvps(f, w)

    with pytest.raises(AssertionError, match="hessian_by_hvps at d=3"):
        ch09.measure_costs(
            quadratic_problem,
            [3],
            m=1,
            loop_dims=[3],
            hessian_by_hvps=wrong,
            budget=0.001,
        )


def test_plot_costs_stacks_two_panels_with_fitted_slopes():
    upper = {"a": ([1, 2, 4], [1.0, 2.0, 4.0])}
    lower = {"b": ([1, 2, 4], [1.0, 4.0, 16.0])}
    fig, axes, slopes = ch09.plot_costs(
        upper, lower, upper_title="u", lower_title="l"
    )
    assert len(axes) == 2 and axes[0].get_title() == "u"
    assert slopes[0]["a"] == pytest.approx(1.0)
    assert slopes[1]["b"] == pytest.approx(2.0)
    assert "slope ≈ 2.0" in axes[1].get_legend().get_texts()[0].get_text()
    matplotlib.pyplot.close(fig)


def test_plot_cg_residuals_marks_d_and_the_tolerance():
    fig, ax = ch09.plot_cg_residuals([1.0, 1e-3, 1e-9, 1e-13], d=2, tol=1e-12)
    (curve, d_line, tol_line) = ax.get_lines()
    assert list(curve.get_ydata()) == [1.0, 1e-3, 1e-9, 1e-13]
    assert list(d_line.get_xdata()) == [2, 2]
    assert list(tol_line.get_ydata()) == [1e-12, 1e-12]
    assert ax.get_yscale() == "log"
    matplotlib.pyplot.close(fig)


def test_plot_newton_draws_the_gap_with_a_floor_for_zero():
    runs = {"a": ([0, 1, 2], [3.0, 2.0, 1.0]), "b": ([0, 5], [3.0, 1.0])}
    fig, ax = ch09.plot_newton(runs, f_star=1.0, floor=1e-17)
    a, b = ax.get_lines()
    assert list(a.get_xdata()) == [0, 1, 2]
    assert list(a.get_ydata()) == [2.0, 1.0, 1e-17]
    assert b.get_label() == "b"
    matplotlib.pyplot.close(fig)


def right_hvp(f, x, v):
    return vjplib.grad(lambda x: vjplib.sum(vjplib.grad(f)(x) * v))(x)


def test_check_hvp_accepts_reverse_over_reverse(capsys):
    assert ch09.check_hvp_rev_rev(right_hvp)
    assert "matches torch" in capsys.readouterr().out


def test_check_hvp_recognises_the_gradient():
    with says("this is the gradient"):
        assert not ch09.check_hvp_rev_rev(lambda f, x, v: vjplib.grad(f)(x))


def test_check_hvp_points_at_a_wrong_entry():
    def off(f, x, v):
        out = right_hvp(f, x, v).clone()
        out[1, 2] += 1e-3
        return out

    with says(r"entry \(1, 2\) is"):
        assert not ch09.check_hvp_rev_rev(off)


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda Hv: Hv.T, "transpose of the answer"),
        (lambda Hv: -Hv, "sign is wrong"),
        (lambda Hv: 2 * Hv, "factor of 2"),
        (lambda Hv: Hv.reshape(-1), r"shape \(16,\), expected \(4, 4\)"),
        (lambda Hv: None, "nothing returned"),
    ],
)
def test_check_hvp_names_the_usual_slips(slip, words):
    with says(words):
        assert not ch09.check_hvp_rev_rev(
            lambda f, x, v: slip(right_hvp(f, x, v))
        )


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda s: -s, "sign is wrong"),
        (lambda s: s / 2, "factor of 0.5"),
        (lambda s: s[:3], r"shape \(3,\), expected \(6,\)"),
    ],
)
def test_check_newton_names_the_usual_slips(slip, words):
    with says(words):
        assert not ch09.check_newton_step(
            lambda f, w: slip(right_newton(f, w))
        )


def right_newton(f, w):
    return torch.linalg.solve(vjplib.hessian(f)(w), -vjplib.grad(f)(w))


def test_check_newton_accepts_the_newton_step(capsys):
    assert ch09.check_newton_step(right_newton)
    assert "exact on the quadratic" in capsys.readouterr().out


def test_check_newton_names_the_sign():
    with says("s on the quadratic: the sign is wrong"):
        assert not ch09.check_newton_step(lambda f, w: -right_newton(f, w))


def test_check_newton_catches_a_gradient_step():
    with says("quadratic"):
        assert not ch09.check_newton_step(lambda f, w: -vjplib.grad(f)(w))


def test_batched_products_sees_a_bmm_and_its_shapes():
    A = torch.randn(3, 4, 5, dtype=torch.float64)
    B = torch.randn(3, 5, 2, dtype=torch.float64)
    assert ch09.batched_products(lambda: torch.bmm(A, B)) == {
        ((3, 4, 5), (3, 5, 2))
    }
    # an unbatched product is not a bmm
    assert ch09.batched_products(lambda: A[0] @ B[0]) == set()


# -- the chapter's checks can fail --------------------------------------------


def test_the_curvature_checks_catch_an_hvp_of_the_transposed_direction():
    # the page's old check (vᵀHv of 2v against 4 vᵀHv, both from the HVP)
    # held for any HVP linear in v, a wrong one included; the new one
    # compares with the second difference of z along 2v
    def z_vjplib(X):
        return vjplib.norm(vjplib.inv(X))

    def z_torch(X):
        return torch.linalg.norm(torch.linalg.inv(X))

    g = torch.Generator().manual_seed(2)
    X = torch.randn(5, 5, dtype=F64, generator=g) + 5 * torch.eye(5, dtype=F64)
    V = torch.randn(
        5, 5, dtype=F64, generator=torch.Generator().manual_seed(3)
    )
    h = 1e-4

    def second_difference(V):
        return (
            z_torch(X + h * V) - 2 * z_torch(X) + z_torch(X - h * V)
        ) / h**2

    for hvp, right in (
        (lambda V: vjplib.hvp(z_vjplib, X, V)[1], True),
        (lambda V: vjplib.hvp(z_vjplib, X, V.T)[1], False),  # Vᵀ: wrong
    ):
        second = (V * hvp(V)).sum()
        old = torch.allclose((2 * V * hvp(2 * V)).sum(), 4 * second)
        new = torch.allclose(4 * second, second_difference(2 * V), rtol=1e-5)
        assert old  # passes either way: it could not fail
        assert new == right
