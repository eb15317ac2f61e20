"""booktools.ch11: one-sided differences and subgradient checks, the tables
of torch against vjplib and against JAX, the subgradient picture, the
NaN-aware stepper and the exercise checkers."""

from __future__ import annotations

import math
import re

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import vjplib  # noqa: E402
from booktools import ch11  # noqa: E402
from booktools.exercises import says
from booktools.stepper import backward_stepper  # noqa: E402

D = torch.float64


@pytest.fixture(autouse=True)
def float64_and_no_figures():
    old = torch.get_default_dtype()
    torch.set_default_dtype(D)
    yield
    torch.set_default_dtype(old)
    plt.close("all")


# ------------------------------------------------------- subgradients


def test_one_sided_differences_straddle_a_kink():
    assert ch11.one_sided(torch.relu, 0.0) == (0.0, 1.0)
    assert ch11.one_sided(torch.abs, 0.0) == (-1.0, 1.0)
    left, right = ch11.one_sided(torch.exp, 0.0)  # smooth: both ≈ exp′(0)
    assert left < 1 < right and right - left < 1e-5


def test_min_norm_is_the_end_nearest_zero_or_zero():
    assert ch11.min_norm(-1.0, 1.0) == 0.0
    assert ch11.min_norm(0.25, 2.0) == 0.25
    assert ch11.min_norm(-3.0, -0.5) == -0.5
    with pytest.raises(ValueError, match="empty interval"):
        ch11.min_norm(1.0, 0.0)


def test_subgradient_check_accepts_the_subdifferential_and_nothing_else():
    # |x| at 0: the subdifferential is [-1, 1] (definition of |x|)
    for g in (-1.0, -0.3, 0.0, 1.0):
        assert ch11.is_subgradient(torch.abs, torch.tensor(0.0), g)
    for g in (-1.01, 1.2):
        assert not ch11.is_subgradient(torch.abs, torch.tensor(0.0), g)
    # max at a tie of entries 0 and 1: convex combinations of e0 and e1
    x = torch.tensor([2.0, 2.0, 1.0])
    f = lambda y: y.max()
    assert ch11.is_subgradient(f, x, torch.tensor([0.5, 0.5, 0.0]))
    assert ch11.is_subgradient(f, x, torch.tensor([1.0, 0.0, 0.0]))
    assert not ch11.is_subgradient(f, x, torch.tensor([1.0, 1.0, 0.0]))
    assert not ch11.is_subgradient(f, x, torch.tensor([0.0, 0.0, 1.0]))
    assert ch11.subgradient_gap(f, x, torch.tensor([1.0, 1.0, 0.0])) < -0.5
    with pytest.raises(ValueError, match="input's shape"):
        ch11.subgradient_gap(f, x, torch.tensor([1.0, 0.0]))


def test_supergradients_of_a_minimum_at_a_tie():
    f = lambda y: torch.minimum(y[0], y[1])
    x = torch.tensor([1.0, 1.0])
    assert ch11.is_supergradient(f, x, torch.tensor([0.5, 0.5]))
    assert ch11.is_supergradient(f, x, torch.tensor([0.0, 1.0]))
    assert not ch11.is_supergradient(f, x, torch.tensor([1.0, 1.0]))
    assert not ch11.is_subgradient(f, x, torch.tensor([0.5, 0.5]))


def test_simplex_points_are_subgradients_of_max_at_the_tie():
    W = ch11.simplex_points([0, 2], 3, n=50, seed=1)
    assert W.shape == (50, 3)
    torch.testing.assert_close(W.sum(1), torch.ones(50))
    assert (W[:, 1] == 0).all() and (W >= 0).all()
    x = torch.tensor([2.0, 1.0, 2.0])
    assert all(ch11.is_subgradient(lambda y: y.max(), x, w) for w in W[:5])
    # the even split has the smallest norm among them
    assert (W.norm(dim=1) >= math.sqrt(0.5) - 1e-12).all()


# ------------------------------------------------------- tables


def test_fmt_prints_three_digits_nan_inf_and_vectors():
    assert ch11.fmt(0.0) == "0" and ch11.fmt(-0.0) == "0"
    assert ch11.fmt(1 / 3) == "0.333"
    assert ch11.fmt(float("nan")) == "nan"
    assert ch11.fmt(-float("inf")) == "-inf"
    assert ch11.fmt(torch.tensor([0.5, float("inf")])) == "[0.5, inf]"


def test_table_shows_html_and_aligned_text():
    t = ch11.Table(
        ("a", "b"), [("x", "1"), ("longer", "a<b")], {}, [("c",), ("d", "e")]
    )
    page = t._repr_html_()
    assert page.count("<tr>") == 3 and "<th>a</th><th>b</th>" in page
    assert "<code>a&lt;b</code>" in page  # escaped
    assert "longer<br><small><code>d</code> · <code>e</code>" in page
    assert repr(t).splitlines()[2] == "longer  a<b"


def test_torch_grad_is_what_backward_leaves():
    torch.testing.assert_close(
        ch11.torch_grad(torch.sin, [0.0, 1.0]),
        torch.cos(torch.tensor([0.0, 1.0])),
    )


def test_grads_side_by_side_asserts_equal_and_reports_a_difference():
    t = ch11.grads_side_by_side([("exp", [0.0, 1.0], torch.exp, vjplib.exp)])
    assert t.rows == [("exp", "[0, 1]", "[1, 2.72]", "[1, 2.72]")]
    with pytest.raises(AssertionError, match="sin at"):
        ch11.grads_side_by_side([("sin", 0.5, torch.sin, vjplib.cos)])


def test_torch_vs_jax_runs_both_and_finds_the_documented_differences():
    t = ch11.torch_vs_jax()
    assert len(t.rows) == len(t.data) == len(t.code)
    g_t, g_j = t.data["abs at 0"]
    assert g_t.item() == 0.0 and g_j.item() == 1.0
    g_t, g_j = t.data["clamp at its bounds"]
    assert g_t.tolist() == [1.0, 1.0] and g_j.tolist() == [0.5, 0.5]
    g_t, g_j = t.data["norm at 0"]
    assert g_t.tolist() == [0.0, 0.0] and torch.isnan(g_j).all()
    # the where trap in both, and the double where fixes both
    for label, first in (("where(x > 0, sqrt(x), 0)", "nan"),
                         ("double where", 0.0)):  # fmt: skip
        for g in t.data[label]:
            assert g[1].item() == 0.25
            assert math.isnan(g[0]) if first == "nan" else g[0] == first


def test_torch_vs_jax_takes_its_own_cases():
    import jax.numpy as jnp

    case = ("exp", "x.exp()", "jnp.exp(x)", torch.exp, jnp.exp, [0.0])
    t = ch11.torch_vs_jax([case])
    assert t.rows == [("exp", "[0]", "[1]", "[1]")]


# ------------------------------------------------------- the picture


def test_plot_draws_the_subgradient_fan_and_the_picks():
    fig = ch11.plot_subgradients(
        {"|x|": torch.abs, "relu": torch.relu},
        {"|x|": {"torch": 0.0, "JAX": 1.0}},
        n_lines=5,
    )
    ax_abs, ax_relu = fig.axes
    fan = [ln for ln in ax_abs.get_lines() if ln.get_gid() == "subgradient"]
    slopes = sorted(
        round(float(ln.get_ydata()[-1] / ln.get_xdata()[-1]), 9) for ln in fan
    )
    assert slopes == [-1.0, -0.5, 0.0, 0.5, 1.0]
    picks = {ln.get_gid(): ln for ln in ax_abs.get_lines()}
    assert {"pick-torch", "pick-JAX"} <= set(picks)
    assert float(picks["pick-JAX"].get_ydata()[-1]) == pytest.approx(1.5)
    relu_fan = [
        ln for ln in ax_relu.get_lines() if ln.get_gid() == "subgradient"
    ]
    assert min(float(ln.get_ydata()[-1]) for ln in relu_fan) == 0.0
    assert "[0, 1]" in ax_relu.get_title()


def test_plot_refuses_a_pick_that_is_no_subgradient():
    with pytest.raises(ValueError, match="not in the subdifferential"):
        ch11.plot_subgradients({"relu": torch.relu}, {"relu": {"me": -0.5}})


# ------------------------------------------------------- the stepper


def _half_power(x):  # x^(1/2) with the cotangent 0 at x = 0: a NaN
    c = torch.tensor([0.0, 1.0])
    return vjplib.sum(vjplib.mul(vjplib.pow(x, 0.5), c))


def test_stepper_steps_through_a_nan_and_still_checks():
    x = torch.tensor([0.0, 4.0])
    s = backward_stepper(_half_power, x, names=["x", "p", "m", "y"])
    assert "checked=4/4" in repr(s)
    g = s.cotangent[s.leaves[0]]
    assert math.isnan(g[0]) and g[1].item() == 0.25
    assert "nan" in s.to_html()


def test_stepper_writes_the_where_condition_and_the_nan_it_makes():
    def f(x):
        return vjplib.sum(vjplib.where(x > 0, vjplib.sqrt(x), 0.0))

    s = backward_stepper(
        f, torch.tensor([0.0, 4.0]), names=["x", "s", "w", "y"]
    )
    page = s.to_html()
    assert "w = where([False, True], s, 0)" in page
    assert "x̄ = [nan, 0.25]" in page  # torch's gradient, NaN included
    assert "checked=4/4" in repr(s)


def test_stepper_still_fails_on_a_wrong_cotangent():
    class Wrong(vjplib.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def vjp(ctx, y_bar):
            return y_bar * 3  # wrong: 2

    with pytest.raises(AssertionError, match="torch.autograd.grad"):
        backward_stepper(lambda x: vjplib.sum(Wrong.apply(x)), torch.ones(2))


# ------------------------------------------------------- exercises


def test_check_predictions_explains_each_wrong_guess(capsys):
    right = {
        "relu(x) - relu(-x)": 0.0,
        "x.clamp(0, 1)": 1.0,
        "torch.stack([x, x]).max()": 1.0,
        "(x * x).sqrt()": float("nan"),
    }
    assert ch11.check_predictions(right)
    assert "Correct" in capsys.readouterr().out
    for expr, guess, words in (
        ("relu(x) - relu(-x)", 1.0, "op by op"),
        ("x.clamp(0, 1)", 0.0, "passes the gradient at its bounds"),
        ("x.clamp(0, 1)", 0.5, "JAX's clip"),
        ("torch.stack([x, x]).max()", 0.5, "add up to 1"),
        ("(x * x).sqrt()", 0.0, "0 · inf = nan"),
        ("(x * x).sqrt()", 7.0, "sqrt′(0) = inf"),
    ):
        with says(re.escape(words)):
            assert not ch11.check_predictions({**right, expr: guess})
    with says("predict these too"):
        assert not ch11.check_predictions({"x.clamp(0, 1)": 1.0})


def test_check_safe_sqrt_accepts_the_double_where(capsys):
    def double(x):
        return vjplib.where(
            x > 0, vjplib.sqrt(vjplib.where(x > 0, x, 1.0)), 0.0
        )

    assert ch11.check_safe_sqrt(double)
    assert "Correct" in capsys.readouterr().out


X0 = torch.tensor([-1.0, 0.0, 0.25, 4.0], dtype=D)  # the checker's points


def _single(x):
    return vjplib.where(x > 0, vjplib.sqrt(x), 0.0)


def _constant_inside(x):  # right values, but x no longer reaches the sqrt
    return vjplib.where(x > 0, vjplib.sqrt(vjplib.where(x > 0, X0, 1.0)), 0.0)


def _sloped_zero(x):  # 0 where x <= 0, but a branch with a slope there
    safe = vjplib.sqrt(vjplib.where(x > 0, x, 1.0))
    return vjplib.where(x > 0, safe, x * x - X0 * X0)


def _ones(x):  # the sqrt of 1 everywhere: wrong values where x > 0
    one = vjplib.where(x > 0, x * 0 + 1.0, 1.0)
    return vjplib.where(x > 0, vjplib.sqrt(one), 0.0)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (_single, "0 · inf = nan"),
        (lambda x: vjplib.sqrt(x), "nan: the value must be 0"),
        (_ones, "expected [0, 0, 0.5, 2]"),
        (_constant_inside, "must leave x unchanged"),
        (_sloped_zero, "where x <= 0 is [-2, 0], expected 0"),
    ],
)
def test_check_safe_sqrt_says_what_went_wrong(wrong, words):
    with says(re.escape(words)):
        assert not ch11.check_safe_sqrt(wrong)


def _safe(x):
    return vjplib.where(x > 0, vjplib.sqrt(vjplib.where(x > 0, x, 1.0)), 0.0)


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda y: -y, "safe_sqrt(x): the sign is wrong"),
        (lambda y: 2 * y, "safe_sqrt(x): off by a factor of 2"),
        (lambda y: y[1:], r"safe_sqrt(x): shape (3,), expected (4,)"),
        (lambda y: None, "safe_sqrt(x): nothing returned"),
    ],
)
def test_check_safe_sqrt_names_the_usual_slips(slip, words):
    with says(re.escape(words)):
        assert not ch11.check_safe_sqrt(lambda x: slip(_safe(x)))


def test_grads_side_by_side_takes_several_inputs():
    t = ch11.grads_side_by_side(
        [("a * b", (2.0, [3.0, 4.0]), torch.mul, vjplib.mul)]
    )
    a_bar, b_bar = t.data["a * b"]
    assert a_bar.item() == 7.0 and b_bar.tolist() == [2.0, 2.0]
    assert t.rows[0][1:] == ("(2, [3, 4])", "(7, [2, 2])", "(7, [2, 2])")


def test_jax_primitives_look_inside_jit():
    import jax.numpy as jnp

    assert ch11.jax_primitives(jnp.sin, 1.0) == ["sin"]
    clip = ch11.jax_primitives(lambda x: jnp.clip(x, -1.0, 1.0), 1.0)
    assert clip == ["max", "min"]  # jnp.clip is jitted: found inside
