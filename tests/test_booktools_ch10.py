"""Tests of booktools.ch10: the memory meter, chain costs, references, figures
and the exercise checkers of chapter 10."""

import math

import matplotlib
import pytest
import torch

import vjplib
from booktools import ch10
from booktools.exercises import says
from vjplib.function import _SAVED_TENSORS_HOOKS

matplotlib.use("Agg")
F64 = torch.float64


# ------------------------------------------------------------------ the meter


def test_meter_counts_what_exp_saves():
    # exp's derivative is its output, so it keeps y: 4 float64 numbers
    x = torch.ones(4, dtype=F64)
    _, peak = ch10.peak_saved_bytes(
        vjplib.grad(lambda x: vjplib.sum(vjplib.exp(x))), x
    )
    assert peak == 4 * 8


def _torch_saved_bytes(k, W, X):
    # an independent count: the bytes torch's autograd saves, each once
    seen, total = set(), 0

    def pack(t):
        nonlocal total
        key = t.untyped_storage().data_ptr()
        if key not in seen:
            seen.add(key)
            total += t.untyped_storage().nbytes()
        return t

    X = X.clone().requires_grad_()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        H = X
        for _ in range(k):
            H = torch.tanh(H @ W)
    return total


@pytest.mark.parametrize("k", [1, 3, 7])
def test_meter_agrees_with_torch_on_a_chain(k):
    g = torch.Generator().manual_seed(0)
    W = torch.randn(8, 8, generator=g, dtype=F64)
    X = torch.randn(8, 8, generator=g, dtype=F64)

    def f(X):
        H = X
        for _ in range(k):
            H = vjplib.tanh(H @ W)
        return vjplib.sum(H)

    _, peak = ch10.peak_saved_bytes(vjplib.grad(f), X)
    assert peak == _torch_saved_bytes(k, W, X) == (k + 1) * 8 * 8 * 8


def test_meter_forgets_freed_graphs():
    # two gradients one after the other: the first graph is gone when the
    # second is recorded, so the peak is that of one gradient
    x = torch.ones(16, dtype=F64)
    gradient = vjplib.grad(lambda x: vjplib.sum(vjplib.exp(vjplib.exp(x))))
    _, once = ch10.peak_saved_bytes(gradient, x)
    _, twice = ch10.peak_saved_bytes(lambda x: [gradient(x), gradient(x)], x)
    assert once == 2 * 16 * 8
    assert twice == once


def test_meter_leaves_no_hook_behind():
    with pytest.raises(ZeroDivisionError):
        ch10.peak_saved_bytes(lambda: 1 / 0)
    assert _SAVED_TENSORS_HOOKS == []  # the meter's hooks are gone
    t = torch.ones(3, requires_grad=True)
    assert torch.exp(t).grad_fn._saved_result is not None  # torch's too


def test_time_per_call_calls_and_is_positive():
    calls = []
    t = ch10.time_per_call(lambda: calls.append(1), budget=0.001, repeats=2)
    assert t > 0 and len(calls) >= 3  # a warm-up and two rounds


# ---------------------------------------------------------------- chain costs


def test_chain_cost_by_hand():
    # J_1: 5×3, J_2: 4×5, J_3: 2×4
    # left:  (J_3 J_2) costs 2·4·5 = 40, then · J_1 costs 2·5·3 = 30
    # right: (J_2 J_1) costs 4·5·3 = 60, then J_3 · costs 2·4·3 = 24
    assert ch10.chain_cost([3, 5, 4, 2], "left") == 70
    assert ch10.chain_cost([3, 5, 4, 2], "right") == 84
    assert ch10.best_chain_cost([3, 5, 4, 2]) == 70


def test_best_chain_cost_textbook_example():
    # CLRS's matrix-chain example, A_i of shape p_(i-1) × p_i: 15125. Our
    # J_k ⋯ J_1 has shapes (n_k × n_(k-1)) … (n_1 × n_0): p is n reversed.
    p = [30, 35, 15, 5, 10, 20, 25]
    assert ch10.best_chain_cost(p[::-1]) == 15125


def _brute_force(shapes):
    # the least cost of multiplying matrices of `shapes`, left to right
    if len(shapes) == 1:
        return 0
    return min(
        _brute_force(shapes[:s])
        + _brute_force(shapes[s:])
        + shapes[0][0] * shapes[s][0] * shapes[-1][1]
        for s in range(1, len(shapes))
    )


def test_best_chain_cost_matches_brute_force():
    g = torch.Generator().manual_seed(1)
    for _ in range(30):
        k = int(torch.randint(1, 6, (), generator=g))
        n = torch.randint(1, 20, (k + 1,), generator=g).tolist()
        shapes = [(n[i], n[i - 1]) for i in range(k, 0, -1)]  # J_k first
        assert ch10.best_chain_cost(n) == _brute_force(shapes)
        assert ch10.best_chain_cost(n) <= ch10.chain_cost(n, "left")
        assert ch10.best_chain_cost(n) <= ch10.chain_cost(n, "right")


def test_chain_cost_errors():
    with pytest.raises(ValueError, match="'left' or 'right'"):
        ch10.chain_cost([2, 3, 4], "middle")
    with pytest.raises(ValueError, match="at least two positive"):
        ch10.best_chain_cost([3])
    with pytest.raises(ValueError, match="at least two positive"):
        ch10.chain_cost([3, 0, 2], "left")


# ----------------------------------------------------------------- references


def test_softplus_exact_known_values():
    x = torch.tensor([0.0, -40.0, 1000.0, -1000.0], dtype=F64)
    value, sigma = ch10.softplus_exact(x)
    assert value[0] == pytest.approx(math.log(2), rel=1e-16)
    assert value[1] == pytest.approx(math.exp(-40), rel=1e-15)
    assert value[2] == 1000.0 and value[3] == 0.0
    assert sigma.tolist()[0] == 0.5 and sigma[2] == 1.0
    assert sigma[1] == pytest.approx(math.exp(-40), rel=1e-15)


def test_relative_error_semantics():
    got = torch.tensor([1.0, 0.0, math.inf, math.nan, 1.5])
    exact = torch.tensor([1.0, 0.0, 2.0, 2.0, 1.0])
    err = ch10.relative_error(got, exact)
    assert err[0] == 0 and err[1] == 0 and torch.isinf(err[2])
    assert torch.isnan(err[3]) and err[4] == 0.5


def test_worst_in_windows():
    xs = torch.arange(6.0)
    err = torch.tensor([1e-3, 1e-1, 1e-2, math.nan, 0.0, 0.0])
    centres, worst = ch10.worst_in_windows(xs, err, window=3)
    assert centres.tolist() == [1.0, 4.0]
    assert worst[0] == 1e-1 and torch.isinf(worst[1])


# -------------------------------------------------------------------- figures


def test_figures_draw():
    ns = [1, 2, 4]
    costs = {"a": [1e-3, 2e-3, 4e-3], "b": [2e-3, 2e-3, 2e-3]}
    figs = [
        ch10.plot_bracketing(ns, costs["a"], costs["b"], n0_times_nk=4),
        ch10.plot_checkpointing(
            ns, {"a": [1024, 2048, 4096]}, {"a": ns}, {"a": "k"}
        ),
        ch10.plot_solve_costs(ns, costs),
        ch10.plot_fixed_point(ns, [1e-1, 1e-3, 1e-9], costs["a"], 1e-3),
        ch10.plot_per_example(ns, costs),
    ]
    xs = torch.linspace(-5, 5, 40)
    errors = {"naive": torch.full((40,), math.inf), "stable": torch.zeros(40)}
    figs.append(ch10.plot_softplus(xs, errors, errors))
    assert [len(f.axes) for f in figs] == [1, 2, 1, 2, 1, 2]
    for f in figs:
        assert all(ax.get_ylabel() for ax in f.axes)
        matplotlib.pyplot.close(f)


def test_a_time_plot_draws_every_line_it_is_given():
    ns = [1, 2, 4]
    costs = {f"way {i}": [1e-3 * i, 2e-3 * i, 4e-3 * i] for i in range(1, 6)}
    fig = ch10.plot_per_example(ns, costs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == list(costs)  # five ways, five lines: none dropped
    matplotlib.pyplot.close(fig)
    with pytest.raises(ValueError, match="markers"):
        ch10.plot_per_example(ns, {str(i): costs["way 1"] for i in range(9)})


# ------------------------------------------------------------------ exercises


def _solve_matrix(A_bar_rule, B_bar_rule):
    class Op(vjplib.Function):
        @staticmethod
        def forward(ctx, A, B):
            X = torch.linalg.solve(A, B)
            ctx.save_for_backward(A, X)
            return X

        @staticmethod
        def vjp(ctx, X_bar):
            A, X = ctx.saved_tensors
            B_bar = B_bar_rule(A, X_bar)
            return A_bar_rule(B_bar, X), B_bar

    return Op


def test_check_solve_matrix_accepts_the_right_rule(capsys):
    right = _solve_matrix(
        lambda B_bar, X: -B_bar @ X.T,
        lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
    )
    assert ch10.check_solve_matrix(right)
    assert "match torch" in capsys.readouterr().out


@pytest.mark.parametrize(
    "A_bar_rule, B_bar_rule, message",
    [
        (
            lambda B_bar, X: B_bar @ X.T,
            lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
            "the sign",
        ),
        (
            lambda B_bar, X: -X @ B_bar.T,
            lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
            "the order",
        ),
        (
            lambda B_bar, X: -B_bar @ X.T,
            lambda A, X_bar: torch.linalg.solve(A, X_bar),
            "solve with Aᵀ",
        ),
        (  # Āᵀ: the order of the factors, or the whole transposed
            lambda B_bar, X: -(B_bar @ X.T).T,
            lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
            "that is Āᵀ",
        ),
        (
            lambda B_bar, X: -2 * B_bar @ X.T,
            lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
            "Ā: off by a factor of 2",
        ),
        (
            lambda B_bar, X: -B_bar,
            lambda A, X_bar: torch.linalg.solve(A.T, X_bar),
            r"input 0 has shape \(5, 3\), expected \(5, 5\)",
        ),
    ],
)
def test_check_solve_matrix_names_the_mistake(A_bar_rule, B_bar_rule, message):
    with says(message):
        assert not ch10.check_solve_matrix(
            _solve_matrix(A_bar_rule, B_bar_rule)
        )


def _log_sigmoid(forward, vjp):
    class Op(vjplib.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return forward(x)

        @staticmethod
        def vjp(ctx, y_bar):
            (x,) = ctx.saved_tensors
            return vjp(x) * y_bar

    return Op


def _stable(x):
    return -torch.nn.functional.softplus(-x)


def test_check_log_sigmoid_accepts_the_right_rule(capsys):
    assert ch10.check_log_sigmoid(
        _log_sigmoid(_stable, lambda x: torch.sigmoid(-x))
    )
    assert "finite" in capsys.readouterr().out


@pytest.mark.parametrize(
    "forward, vjp, message",
    [
        (
            lambda x: torch.log(torch.sigmoid(x)),
            lambda x: torch.sigmoid(-x),
            "overflows",
        ),
        (
            lambda x: -torch.nn.functional.softplus(x),
            lambda x: torch.sigmoid(-x),
            "not −softplus",
        ),
        (_stable, lambda x: torch.sigmoid(x), "not σ"),
        (_stable, lambda x: torch.exp(-x) / (1 + torch.exp(-x)), "overflows"),
    ],
)
def test_check_log_sigmoid_names_the_mistake(forward, vjp, message):
    with says(message):
        assert not ch10.check_log_sigmoid(_log_sigmoid(forward, vjp))


def test_module_lines_fit_the_column():
    import inspect

    for lines in (inspect.getsource(ch10), open(__file__).read()):
        assert max(len(line) for line in lines.splitlines()) <= 79


def test_left_and_right_are_bracketings():
    n = [3, 5, 4, 2, 6]
    shapes = [(n[i], n[i - 1]) for i in range(len(n) - 1, 0, -1)]
    left = sum(shapes[0][0] * a * b for a, b in shapes[1:])
    right = sum(r * c * n[0] for r, c in shapes[:-1])
    assert ch10.chain_cost(n, "left") == left
    assert ch10.chain_cost(n, "right") == right


def test_softplus_exact_is_a_reference_independent_of_float64():
    # long double was float64 itself on Windows and Apple silicon, and the
    # reference then was the formula under test; the decimal one is not
    x = torch.linspace(-700, 750, 1451, dtype=F64)
    value, sigma = ch10.softplus_exact(x)
    stable = x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))
    assert (stable != value).any()  # the float64 formula is not the reference
    assert ch10.relative_error(stable, value).max() < 1e-15
    assert ch10.relative_error(torch.sigmoid(x), sigma).max() < 1e-15
    # and the page's check can fail: log(1 + t) instead of log1p(t) loses
    # every digit of a tiny t
    with_log = x.clamp(min=0) + torch.log(1 + torch.exp(-x.abs()))
    assert ch10.relative_error(with_log, value).max() > 1e-15
    for t in (-5.0, 0.5, 3.0):  # against math's log1p and exp, 1 ulp apart
        assert ch10.softplus_exact(torch.tensor([t], dtype=F64))[0].item() == (
            pytest.approx(math.log1p(math.exp(t)), rel=4e-16)
        )
