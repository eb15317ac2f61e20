"""booktools.ch02: chapter 2's memory meter, timer, cost figure and exercise
checkers."""

from __future__ import annotations

import math
import time

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from booktools import ch02  # noqa: E402
from booktools.timing import median_ratio  # noqa: E402


def kron(A, B):
    return torch.kron(A.contiguous(), B.contiguous())


# -- the memory meter -------------------------------------------------------


def test_the_meter_counts_a_known_tensor():
    def make(n):
        return torch.ones(n, n, dtype=torch.float64)

    assert ch02.peak_bytes(make, 100) == 8 * 100**2
    assert ch02.peak_bytes(lambda: torch.zeros(7, dtype=torch.float32)) == 28


def test_the_meter_ignores_views_and_tensors_made_before():
    X = torch.ones(50, 50, dtype=torch.float64)
    assert ch02.peak_bytes(lambda: (X.T, X.reshape(-1), X[:10])) == 0

    def views(n):
        a = torch.ones(n, n, dtype=torch.float64)
        return a.T, a.reshape(-1), a[1:]

    assert ch02.peak_bytes(views, 40) == 8 * 40**2


def test_the_meter_tracks_frees_and_keeps_the_peak():
    def in_turn(n):
        for _ in range(3):
            torch.ones(n, n, dtype=torch.float64)

    def kept(n):
        return [torch.ones(n, n, dtype=torch.float64) for _ in range(3)]

    def big_then_small(n):
        torch.ones(2 * n, n, dtype=torch.float64)
        return torch.ones(n, dtype=torch.float64)

    assert ch02.peak_bytes(in_turn, 64) == 8 * 64**2
    assert ch02.peak_bytes(kept, 64) == 3 * 8 * 64**2
    assert ch02.peak_bytes(big_then_small, 64) == 8 * 2 * 64**2
    with ch02.PeakMemory() as meter:
        a = torch.ones(10, 10, dtype=torch.float64)
        del a
        b = torch.ones(5, dtype=torch.float64)  # noqa: F841
    assert meter.peak == 800 and meter.live == 40


def test_the_meter_sees_the_naive_jacobian():
    n = 12
    X = torch.randn(n, n, dtype=torch.float64) + n * torch.eye(
        n, dtype=torch.float64
    )

    def naive(X):
        Y = torch.linalg.inv(X)
        return kron(-Y, Y.T).sum()

    assert ch02.peak_bytes(naive, X) >= 8 * n**4


# -- the timer --------------------------------------------------------------


def test_seconds_counts_calls_and_returns_a_positive_time():
    calls = []
    t = ch02.seconds(lambda: calls.append(1), budget=0.001)
    assert t > 0 and len(calls) >= 5  # warm-up, probe, three repetitions


def test_median_ratio_of_two_known_sleeps_and_its_guard():
    # the chapter's timing asserts compare medians of interleaved rounds
    r = median_ratio(
        time.sleep, (0.004,), time.sleep, (0.001,), rounds=3, budget=0.004
    )
    assert 1.5 < r < 6  # 4 ms against 1 ms, plus the overhead of a call
    assert median_ratio(time.sleep, (0.001,), time.sleep, (0.001,)) < 2
    with pytest.raises(ValueError, match="rounds >= 1"):
        median_ratio(time.sleep, (0,), time.sleep, (0,), rounds=0)


# -- the cost figure --------------------------------------------------------


def test_the_cost_figure_is_stacked_with_the_fitted_exponents():
    ns = [8, 16, 32]
    vjp_ns = ns + [64]
    fig, (ax_time, ax_memory), slopes = ch02.plot_naive_vs_vjp(
        ns,
        [n**4 * 1e-9 for n in ns],
        [8 * n**4 for n in ns],
        vjp_ns,
        [n**3 * 1e-9 for n in vjp_ns],
        [24 * n**2 for n in vjp_ns],
    )
    # stacked, one above the other: legible on a phone
    assert ax_time.get_position().y0 > ax_memory.get_position().y1 - 1e-9
    assert abs(ax_time.get_position().x0 - ax_memory.get_position().x0) < 0.05
    assert slopes["time"][ch02.NAIVE] == pytest.approx(4.0)
    assert slopes["time"][ch02.VJP] == pytest.approx(3.0)
    assert slopes["memory"][ch02.NAIVE] == pytest.approx(4.0)
    assert slopes["memory"][ch02.VJP] == pytest.approx(2.0)
    labels = [line.get_label() for line in ax_memory.get_lines()]
    assert any(label.startswith("8n⁴ bytes") for label in labels)
    assert any(label.startswith("8n² bytes") for label in labels)
    assert ax_time.get_xscale() == ax_time.get_yscale() == "log"
    plt.close(fig)
    with pytest.raises(ValueError, match="vjp_time has 3 values for 4 sizes"):
        ch02.plot_naive_vs_vjp(ns, ns, ns, vjp_ns, ns, vjp_ns)


# -- exercise 1: the Jacobian of X @ X --------------------------------------


def solution(X):
    eye = torch.eye(X.shape[0], dtype=X.dtype)
    return kron(eye, X.T) + kron(X, eye)


def test_square_checker_accepts_the_solution(capsys):
    assert ch02.check_square_jacobian(solution)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, says",
    [
        (
            lambda X: kron(X, torch.eye(X.shape[0], dtype=X.dtype)),
            "one of the two terms",
        ),
        (lambda X: solution(X).T, "transpose"),
        (
            lambda X: (
                kron(X.T, torch.eye(X.shape[0], dtype=X.dtype))
                + kron(torch.eye(X.shape[0], dtype=X.dtype), X)
            ),
            "column stacking",
        ),
        (lambda X: -solution(X), "sign"),
        (lambda X: 2 * solution(X), "off by a factor of 2"),
        (lambda X: solution(X)[:-1], "shape (3, 4), expected (4, 4)"),
        (lambda X: solution(X) + 0.5 * (X[0, 0] > 0), "entry (0, 0) is"),
    ],
    ids=[
        "one-term",
        "transpose",
        "column-major",
        "sign",
        "factor",
        "shape",
        "entry",
    ],
)
def test_square_checker_says_what_is_wrong(wrong, says, capsys):
    assert not ch02.check_square_jacobian(wrong)
    out = capsys.readouterr().out
    assert "Not yet" in out or "expected shape" in out
    assert says in " ".join(out.split())
    assert all(len(line) <= 79 for line in out.splitlines())


def test_square_checker_without_an_answer(capsys):
    assert not ch02.check_square_jacobian(None)
    assert "Nothing to check yet" in capsys.readouterr().out


# -- exercise 2: how large can n be? ----------------------------------------


def largest_n(budget, per_entry=8):
    n = 0
    while per_entry * (n + 1) ** 4 <= budget:
        n += 1
    return n


def test_largest_n_checker_uses_exact_answers(capsys):
    # independent: 215 for 16 GiB in float64 (8 · 215⁴ ≤ 2³⁴ < 8 · 216⁴)
    assert 8 * 215**4 <= 16 * 2**30 < 8 * 216**4
    assert largest_n(16 * 2**30, 8) == 215
    assert ch02.check_largest_n(largest_n)
    assert "Correct on all 5 budgets" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, says",
    [
        (lambda b, p=8: math.ceil((b / p) ** 0.25), "Round down"),
        (lambda b, p=8: math.isqrt(b // p), "n⁴ entries, not n²"),
        (lambda b, p=8: largest_n(b, p) - 1, "solve bytes_per_entry"),
        (lambda b, p=8: None, "solve bytes_per_entry"),
    ],
    ids=["ceil", "n-squared", "one-less", "none"],
)
def test_largest_n_checker_says_what_is_wrong(wrong, says, capsys):
    assert not ch02.check_largest_n(wrong)
    out = " ".join(capsys.readouterr().out.split())
    assert "Not yet" in out and says in out


def test_largest_n_checker_without_an_answer(capsys):
    assert not ch02.check_largest_n(None)
    assert "Nothing to check yet" in capsys.readouterr().out
