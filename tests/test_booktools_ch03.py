"""Tests of booktools.ch03: stacked Jacobians, route timings, checkers."""

from __future__ import annotations

import time

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import vjplib  # noqa: E402
from booktools import ch03  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def said(capsys) -> str:
    """What the checker printed, with its line wrapping undone."""
    return " ".join(capsys.readouterr().out.split())


def diff_vjp(x, y_bar):  # the right answer to exercise 1
    zero = torch.zeros(1, dtype=y_bar.dtype)
    return torch.cat([zero, y_bar]) - torch.cat([y_bar, zero])


# -- pictures -----------------------------------------------------------------


def test_stacked_jacobians_are_one_above_the_other():
    J_sum = torch.ones(6, dtype=torch.float64)
    J_rows = torch.kron(
        torch.eye(3, dtype=torch.float64),
        torch.ones(1, 4, dtype=torch.float64),
    )
    fig, axes = ch03.plot_jacobians_stacked(
        [J_sum, J_rows.reshape(3, 3, 4)],
        ["vector", "rows"],
        out_shape=[(), (3,)],
    )
    assert len(axes) == 2
    fig.canvas.draw()
    top, bottom = (ax.get_position() for ax in axes)
    assert top.y0 > bottom.y1  # stacked, not side by side
    shapes = [ax.images[0].get_array().shape for ax in axes]
    assert shapes == [(1, 6), (3, 12)]
    assert [ax.get_title() for ax in axes] == ["vector", "rows"]
    np.testing.assert_array_equal(axes[1].images[0].get_array(), J_rows)


def test_stacked_jacobians_want_one_title_each():
    with pytest.raises(ValueError, match="one title per Jacobian"):
        ch03.plot_jacobians_stacked([torch.eye(2)], ["a", "b"])
    with pytest.raises(ValueError, match="out_shapes"):
        ch03.plot_jacobians_stacked(
            [torch.eye(2)], ["a"], out_shape=[(2,), (2,)]
        )


# -- timing -------------------------------------------------------------------


def test_seconds_measures_a_known_delay():
    t = ch03.seconds(time.sleep, 0.002, budget=0.004, repeats=2)
    assert 0.002 <= t < 0.05


def test_time_routes_refuses_to_time_a_wrong_route():
    def good(f, x, y_bar):
        return vjplib.vjp(f, x)[1](y_bar)[0]

    def wrong(f, x, y_bar):  # the transpose of a cumsum's J, forgotten
        return torch.cumsum(y_bar, 0)

    def make(n):
        return torch.rand(n, dtype=torch.float64), torch.randn(
            n, dtype=torch.float64
        )

    with pytest.raises(AssertionError, match="'wrong' disagrees"):
        ch03.time_routes(
            vjplib.cumsum,
            {"good": good, "wrong": wrong},
            {"good": [4], "wrong": [4]},
            make,
        )
    with pytest.raises(ValueError, match="same routes"):
        ch03.time_routes(vjplib.cumsum, {"good": good}, {"bad": [4]}, make)
    times = ch03.time_routes(
        vjplib.cumsum,
        {"a": good, "b": good},
        {"a": [4, 8], "b": [4]},
        make,
        budget=1e-4,
    )
    assert times["a"][0] == [4, 8] and len(times["a"][1]) == 2
    assert times["b"][0] == [4] and all(t > 0 for t in times["a"][1])


def test_plot_route_costs_draws_stacked_panels_with_guides():
    def j_route(f, x, y_bar):
        return y_bar @ vjplib.jacrev(f)(x)

    def vjp_route(f, x, y_bar):
        return vjplib.vjp(f, x)[1](y_bar)[0]

    def make(name, n):
        g = torch.Generator().manual_seed(n)
        return (
            1 + torch.rand(n, dtype=torch.float64, generator=g),
            torch.randn(n, dtype=torch.float64, generator=g),
        )

    ops = {"log": vjplib.log, "cumsum": vjplib.cumsum}
    fig, axes, slopes = ch03.plot_route_costs(
        ops,
        {"J": j_route, "VJP": vjp_route},
        {"J": [8, 16], "VJP": [8, 16, 32]},
        make,
        powers={"J": 2, "VJP": 1},
        fit_last=2,
        budget=1e-4,
    )
    assert len(axes) == 2 and set(slopes) == {"log", "cumsum"}
    assert set(slopes["log"]) == {"J", "VJP"}
    fig.canvas.draw()
    assert axes[0].get_position().y0 > axes[1].get_position().y1
    for ax in axes:
        labels = [line.get_label() for line in ax.get_lines()]
        assert labels[2:] == ["∝ n²", "∝ n"]
        for line, p in zip(ax.get_lines()[2:], (2, 1)):
            xs, ys = (np.asarray(v, dtype=float) for v in line.get_data())
            slope = np.polyfit(np.log(xs), np.log(ys), 1)[0]
            assert slope == pytest.approx(p)
    with pytest.raises(ValueError, match="unknown routes"):
        ch03.plot_route_costs(
            ops, {"J": j_route}, {"J": [8]}, make, powers={"VJP": 1}
        )


# -- exercise checkers --------------------------------------------------------


def test_checker_accepts_the_right_answers(capsys):
    assert ch03.check_diff_vjp(diff_vjp)
    assert ch03.check_log_sum_exp_vjp(
        lambda x, z_bar: z_bar * torch.softmax(x, dim=0)
    )
    out = capsys.readouterr().out
    assert "Correct: diff is right" in out
    assert "Correct: log-sum-exp is right" in out


def test_checker_says_what_is_off(capsys):
    assert not ch03.check_diff_vjp(None)
    assert "Nothing to check yet: define diff's VJP" in said(capsys)
    assert not ch03.check_log_sum_exp_vjp(None)  # z is a scalar: z_bar
    assert "a function (x, z_bar) -> x_bar" in said(capsys)
    assert not ch03.check_diff_vjp(lambda x, y_bar: 2 * diff_vjp(x, y_bar))
    assert "Not yet: diff, n = 2: off by a factor of 2" in said(capsys)
    assert not ch03.check_diff_vjp(lambda x, y_bar: -diff_vjp(x, y_bar))
    assert "Only the sign is off" in said(capsys)
    assert not ch03.check_diff_vjp(lambda x, y_bar: y_bar)
    assert "shape (1,), expected (2,). x_bar has the shape of x" in said(
        capsys
    )
    assert not ch03.check_log_sum_exp_vjp(
        lambda x, z_bar: torch.softmax(x, dim=0)
    )
    assert "multiply it by z_bar" in said(capsys)
    assert not ch03.check_log_sum_exp_vjp(
        lambda x, z_bar: z_bar * torch.exp(x)
    )
    assert "derivative of the log" in said(capsys)
    assert not ch03.check_log_sum_exp_vjp(
        lambda x, z_bar: z_bar * torch.ones_like(x)
    )
    assert "VJP of sum" in said(capsys)


def test_checker_names_the_first_wrong_entry(capsys):
    def one_entry_off(x, y_bar):
        x_bar = diff_vjp(x, y_bar)
        x_bar[1] += 1.0
        return x_bar

    assert not ch03.check_diff_vjp(one_entry_off)
    assert "Not yet: diff, n = 2: entry (1,) is" in said(capsys)


def test_checker_hints_a_transpose_with_custom_hints(capsys):
    # cumsum's VJP computed as J y_bar instead of Jᵀ y_bar
    hints = [
        (
            lambda x, y_bar, e: torch.cumsum(y_bar, 0),
            "That is J y_bar: transpose J.",
        )
    ]
    ok = ch03.check_vjp(
        lambda x, y_bar: torch.cumsum(y_bar, 0),
        lambda x: torch.cumsum(x, 0),
        sizes=(3,),
        hints=hints,
        name="cumsum",
    )
    assert not ok
    assert "transpose J" in said(capsys)


def test_checker_messages_fit_the_column(capsys):
    ch03.check_diff_vjp(None)
    ch03.check_diff_vjp(lambda x, y_bar: -diff_vjp(x, y_bar))
    ch03.check_log_sum_exp_vjp(lambda x, z_bar: z_bar * torch.exp(x))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 3 and max(len(line) for line in lines) <= 79
