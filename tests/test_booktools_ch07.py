"""booktools.ch07: the timer, the sweep, its figures and the checkers."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch

matplotlib.use("Agg")

import vjplib  # noqa: E402
from booktools import ch07  # noqa: E402
from booktools.exercises import says


class DualNumber:
    """The chapter's dual number, reduced to what the checker needs."""

    def __init__(self, x, x_dot=0.0):
        self.x, self.x_dot = x, x_dot


def tanh_right(a):
    t = math.tanh(a.x)
    return DualNumber(t, (1 - t * t) * a.x_dot)


def tanh_forgets_x_dot(a):
    t = math.tanh(a.x)
    return DualNumber(t, 1 - t * t)


def tanh_plain(a):
    return math.tanh(a.x)


def test_check_tanh_accepts_the_right_rule(capsys):
    assert ch07.check_tanh(tanh_right, DualNumber)
    assert "matches torch" in capsys.readouterr().out


def test_check_tanh_says_to_multiply_by_the_incoming_tangent():
    with says("incoming tangent a.x_dot"):
        assert not ch07.check_tanh(tanh_forgets_x_dot, DualNumber)


def test_check_tanh_wants_a_dual_number():
    with says("should return a DualNumber"):
        assert not ch07.check_tanh(tanh_plain, DualNumber)


def basis_columns(f, x):
    return [
        vjplib.jvp(f, (x,), (e,))[1]
        for e in torch.eye(x.numel(), dtype=x.dtype).reshape(
            (x.numel(),) + x.shape
        )
    ]


def test_check_jacobian_accepts_columns_stacked_last(capsys):
    def right(f, x):
        out = f(x)
        return torch.stack(basis_columns(f, x), dim=-1).reshape(
            out.shape + x.shape
        )

    assert ch07.check_jacobian_from_jvps(right)
    assert "matches torch.func.jacfwd" in capsys.readouterr().out


def test_check_jacobian_names_the_transpose():
    def stacked_as_rows(f, x):
        out = f(x)
        return torch.stack(basis_columns(f, x)).reshape(out.shape + x.shape)

    with says("transpose"):
        assert not ch07.check_jacobian_from_jvps(stacked_as_rows)


def test_check_jacobian_names_the_shape():
    def flat(f, x):
        return torch.stack([c.flatten() for c in basis_columns(f, x)], -1)

    with says(r"out.shape \+ in.shape"):
        assert not ch07.check_jacobian_from_jvps(flat)


def test_check_jacobian_points_at_a_wrong_entry():
    def off_by_one_entry(f, x):
        out = f(x)
        J = (
            torch.stack(basis_columns(f, x), dim=-1)
            .reshape(out.shape + x.shape)
            .clone()
        )
        J[2, 1, 0, 3] += 1.0
        return J

    with says(r"entry \(2, 1, 0, 3\)"):
        assert not ch07.check_jacobian_from_jvps(off_by_one_entry)


def _right(f, x):
    out = f(x)
    return torch.stack(basis_columns(f, x), dim=-1).reshape(
        out.shape + x.shape
    )


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda J: -J, "J: the sign is wrong"),
        (lambda J: 0.5 * J, "J: off by a factor of 0.5"),
        (lambda J: J.permute(2, 3, 0, 1), r"J: shape \(3, 4, 3, 2\)"),
        (lambda J: None, "J: nothing returned"),
    ],
)
def test_check_jacobian_names_the_usual_slips(slip, words):
    with says(words):
        assert not ch07.check_jacobian_from_jvps(
            lambda f, x: slip(_right(f, x))
        )


def test_make_problem_is_tanh_of_W_x_in_both_libraries():
    f, f_torch, x = ch07.make_problem(5, 3)
    assert x.shape == (5,) and x.dtype == torch.float64
    assert torch.allclose(f(x), f_torch(x))
    J = torch.func.jacrev(f_torch)(x)
    assert J.shape == (3, 5)
    assert torch.allclose(vjplib.jacfwd(f)(x), J)


def test_time_per_call_measures_a_known_sleep():
    import time

    t = ch07.time_per_call(lambda: time.sleep(0.004), budget=0.01, repeats=2)
    assert 0.004 <= t < 0.05


def test_time_per_call_refuses_a_zero_budget():
    with pytest.raises(ValueError, match="budget"):
        ch07.time_per_call(lambda: None, budget=0)


def test_measure_checks_every_jacobian_before_timing_it():
    def wrong(f):
        return lambda x: 2 * vjplib.jacrev(f)(x)

    with pytest.raises(AssertionError, match="differs from torch"):
        ch07.measure([(3, 4)], {"wrong": wrong}, budget=0.001)


def test_measure_hands_torch_transforms_the_torch_function():
    t = ch07.measure(
        [(3, 4), (4, 3)],
        {"vjplib": vjplib.jacrev, "torch": torch.func.jacfwd},
        budget=0.001,
    )
    assert set(t) == {"vjplib", "torch"}
    assert all(len(ts) == 2 and min(ts) > 0 for ts in t.values())


def test_crossover_interpolates_in_log_space():
    shapes = [(1, 4), (2, 2), (4, 1)]  # ratios 1/4, 1, 4
    # forward time grows with the ratio, reverse falls: equal at ratio 2
    at = ch07.crossover(shapes, [1.0, 2.0, 8.0], [8.0, 4.0, 2.0])
    # log(t_f / t_r) = log(1/2) at ratio 1 and log(4) at ratio 4: zero
    # a third of the way from log 1 to log 4
    assert at == pytest.approx(4 ** (1 / 3))
    assert ch07.crossover(shapes, [1, 1, 1], [2, 2, 2]) is None


def test_plot_sweep_draws_one_line_per_method_and_the_marker():
    shapes = [(1, 4), (2, 2), (4, 1)]
    timings = {
        "jacfwd_loop": [1e-3, 2e-3, 8e-3],
        "jacrev_loop": [8e-3, 4e-3, 2e-3],
    }
    fig, ax = ch07.plot_sweep(
        shapes, timings, title="t", mark=("jacfwd_loop", "jacrev_loop")
    )
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels.count("jacfwd_loop") == 1
    assert labels.count("jacrev_loop") == 1
    (marker,) = [
        ln for ln in ax.get_lines() if ln.get_label() == "the loops cross"
    ]
    assert marker.get_xdata()[0] == pytest.approx(4 ** (1 / 3))
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    matplotlib.pyplot.close(fig)


def test_plot_fill_has_two_columns_one_row_per_snapshot():
    J = torch.arange(81.0).reshape(9, 9)
    frames = {k: J for k in (1, 9)}
    fig, axes = ch07.plot_fill(frames, frames, (1, 9), n=3)
    assert axes.shape == (2, 2)
    assert axes[1, 0].get_title() == "9 of 9 columns, by JVP"
    assert axes[0, 1].get_title() == "1 of 9 rows, by VJP"
    matplotlib.pyplot.close(fig)
