"""Chapter 10's machinery: a memory meter, a timer, chain costs, plots, checks.

- ``peak_saved_bytes``: the peak bytes the graphs hold while a computation
  runs, by the book's one meter (``vjplib.memory``: deterministic, unlike a
  timer or the allocator's statistics).
- ``time_per_call``: seconds per call, best of a few rounds (figures only).
- ``chain_cost`` and ``best_chain_cost``: scalar multiplications of a product
  of matrices in a given bracketing, and the least over all bracketings (the
  matrix-chain dynamic programme).
- ``softplus_exact`` and ``relative_error``: the reference for the softplus
  figure.
- ``plot_*``: one figure per section; ``check_*``: the exercise checkers.
"""

from __future__ import annotations

import decimal
import math

import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import NullFormatter

import vjplib

from .exercises import checker, diagnose
from .timing import time_per_call

__all__ = [
    "peak_saved_bytes",
    "time_per_call",
    "chain_cost",
    "best_chain_cost",
    "relative_error",
    "softplus_exact",
    "worst_in_windows",
    "plot_bracketing",
    "plot_checkpointing",
    "plot_softplus",
    "plot_solve_costs",
    "plot_fixed_point",
    "plot_per_example",
    "check_solve_matrix",
    "check_log_sigmoid",
]


# ------------------------------------------------------------------ measuring


def peak_saved_bytes(fn, *args):
    """Run fn(*args) under the book's one memory meter
    (``vjplib.memory.SavedBytes``: what the graphs save, each storage once,
    seen through ``saved_tensors_hooks``); return (result, peak bytes)."""
    with vjplib.memory.SavedBytes() as meter:
        out = fn(*args)
    return out, meter.peak


def softplus_exact(x, digits: int = 50):
    """softplus(x) = log(1 + eˣ) and its derivative σ(x) = 1 / (1 + e⁻ˣ),
    computed in decimal arithmetic with ``digits`` significant digits
    (Python's `decimal`, whose exp and ln are correctly rounded) and rounded
    to float64 once, at the end: a reference that is the same on every
    machine and more precise than any float64 computation. (numpy's long
    double is no such reference: on Windows and on Apple silicon it is
    float64 itself.)"""
    context = decimal.Context(prec=digits, Emin=-(10**6), Emax=10**6)
    one = decimal.Decimal(1)
    values, sigmas = [], []
    for t in x.detach().cpu().to(torch.float64).tolist():
        x_dec = decimal.Decimal(t)  # exact: every float64 is a decimal
        e = context.exp(-abs(x_dec))  # e^(-|x|) ≤ 1
        # log(1 + e) for a tiny e: 1 + e must keep e's digits, so the
        # precision grows by the zeros after the point (log1p's job)
        wide = decimal.Context(prec=digits - min(e.adjusted(), 0) + 5)
        log1p_e = wide.ln(wide.add(one, e))
        values.append(float(context.add(max(x_dec, 0), log1p_e)))
        sigma = context.divide(one if t >= 0 else e, one + e)
        sigmas.append(float(sigma))
    return (
        torch.tensor(values, dtype=torch.float64),
        torch.tensor(sigmas, dtype=torch.float64),
    )


def relative_error(got, exact):
    """|got - exact| / |exact| entrywise: inf or nan where got is, 0 where
    got equals exact (also when both are 0)."""
    got, exact = torch.as_tensor(got), torch.as_tensor(exact)
    err = (got - exact).abs() / exact.abs()
    return torch.where(got == exact, torch.zeros_like(err), err)


# ---------------------------------------------------------------- chain costs


def _check_widths(widths):
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise ValueError(
            f"chain widths: need at least two positive sizes "
            f"n_0 … n_k, got {widths}; J_i has shape "
            "(n_i, n_(i-1))"
        )
    return widths


def chain_cost(widths, order):
    """Scalar multiplications of J_k ⋯ J_1 for widths = [n_0, …, n_k], where
    J_i has shape (n_i, n_(i-1)). An (a × b) times (b × c) product costs abc.

    order "left":  ((J_k J_(k-1)) J_(k-2)) ⋯ J_1, reverse mode's bracketing;
    order "right": J_k (⋯ (J_2 J_1)), forward mode's bracketing.
    """
    n = _check_widths(widths)
    k = len(n) - 1
    if order == "left":  # m = n_k rows throughout: m · n_i · n_(i-1)
        return sum(n[k] * n[i] * n[i - 1] for i in range(1, k))
    if order == "right":  # n_0 columns throughout: n_i · n_(i-1) · n_0
        return sum(n[i] * n[i - 1] * n[0] for i in range(2, k + 1))
    raise ValueError(
        f"chain_cost: order must be 'left' or 'right', got {order!r}"
    )


def best_chain_cost(widths):
    """The fewest scalar multiplications of J_k ⋯ J_1 over all bracketings, by
    the O(k³) matrix-chain dynamic programme."""
    n = _check_widths(widths)
    k = len(n) - 1
    # cost[i][j]: best cost of J_j ⋯ J_i (i ≤ j), an (n_j × n_(i-1)) matrix
    cost = [[0] * (k + 1) for _ in range(k + 1)]
    for length in range(2, k + 1):
        for i in range(1, k - length + 2):
            j = i + length - 1
            cost[i][j] = min(
                cost[i][s] + cost[s + 1][j] + n[j] * n[s] * n[i - 1]
                for s in range(i, j)
            )
    return cost[1][k]


# -------------------------------------------------------------------- figures


def _legend(ax, **kwargs):
    ax.legend(frameon=False, fontsize=8, **kwargs)


def _log_x_ticks(ax, values):
    """A log-scale x axis labelled at exactly `values`, no minor labels."""
    ax.set_xscale("log", base=2)
    ax.set_xticks(values, [str(v) for v in values])
    ax.xaxis.set_minor_formatter(NullFormatter())


def worst_in_windows(xs, err, window=10):
    """(centres, worst error) over consecutive windows of `window` points: inf
    where a window holds an inf or a nan, else its largest error."""
    xs, err = torch.as_tensor(xs), torch.as_tensor(err)
    size = len(xs) // window * window
    xw = xs[:size].reshape(-1, window)
    ew = err[:size].reshape(-1, window)
    bad = ~torch.isfinite(ew).all(dim=1)
    worst = ew.where(torch.isfinite(ew), torch.zeros(())).max(dim=1).values
    return xw.mean(dim=1), worst.where(~bad, torch.tensor(math.inf))


def _ms(seconds):
    """Times in milliseconds."""
    return [1e3 * t for t in seconds]


def plot_bracketing(n_ks, t_rev, t_fwd, n0_times_nk):
    """Time of jacrev and jacfwd against the output width n_k, n_0 · n_k
    fixed."""
    fig, ax = plt.subplots(figsize=(6, 3.6), layout="constrained")
    ax.loglog(n_ks, _ms(t_rev), "o-", label="jacrev: n_k VJPs (reverse)")
    ax.loglog(n_ks, _ms(t_fwd), "s-", label="jacfwd: n₀ JVPs (forward)")
    cross = math.sqrt(n0_times_nk)
    ax.axvline(
        cross, color="grey", lw=1, ls=":", label=f"n_k = n₀ = {cross:g}"
    )
    _log_x_ticks(ax, n_ks)
    ax.set(
        xlabel=f"output width n_k (input width n₀ = {n0_times_nk}/n_k)",
        ylabel="time per Jacobian (ms)",
        title="Two bracketings of one chain of Jacobians",
    )
    _legend(ax)
    return fig


def plot_checkpointing(ks, peak_bytes, times, evaluations):
    """Two stacked panels against depth k: peak saved KiB, time per gradient.

    peak_bytes, times: dicts strategy -> values at ks; evaluations: dict
    strategy -> a formula for its layer evaluations (legend text).
    """
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 6.4), sharex=True, layout="constrained"
    )
    for name, marker in zip(peak_bytes, "os^"):
        top.plot(
            ks, [b / 1024 for b in peak_bytes[name]], marker + "-", label=name
        )
        bottom.plot(
            ks,
            [1e3 * t for t in times[name]],
            marker + "-",
            label=f"{name}: {evaluations[name]}",
        )
    top.set(
        ylabel="peak saved memory (KiB)",
        title="Checkpointing a chain of k layers tanh(X W), n = 32",
    )
    bottom.set(xlabel="depth k", ylabel="time per gradient (ms)")
    _legend(top)
    _legend(bottom, title="layer evaluations", title_fontsize=8)
    return fig


def plot_softplus(xs, rel_value, rel_grad):
    """Relative errors of softplus values and gradients against x, two stacked
    panels: the worst error in each window of 10 points. rel_value, rel_grad:
    dicts label -> errors at xs; a window holding an inf or a nan is drawn as a
    cross on a band at the top of the panel."""
    fig, axes = plt.subplots(
        2, 1, figsize=(6, 5.6), sharex=True, layout="constrained"
    )
    floor, top = 1e-18, 1e3
    panels = zip(axes, (rel_value, rel_grad), ("value", "gradient"))
    for ax, errors, what in panels:
        for (label, err), style in zip(errors.items(), ("-", "--")):
            centres, worst = worst_in_windows(xs, err)
            finite = torch.isfinite(worst)
            shown = worst.clamp(min=floor).where(
                finite, torch.tensor(math.nan)
            )
            (line,) = ax.semilogy(centres, shown, style, label=label)
            if (~finite).any():
                bad = centres[~finite]
                ax.plot(
                    bad,
                    torch.full_like(bad, top),
                    "x",
                    color=line.get_color(),
                    ms=4,
                    label=f"{label}: inf or nan",
                )
        ax.set(
            ylabel=f"relative error of the {what}\n(worst in 10 points)",
            ylim=(floor / 3, top * 10),
        )
        _legend(ax)
    axes[0].set_title("softplus(x) = log(1 + eˣ): from log and exp, or stable")
    axes[1].set(xlabel="x")
    return fig


def _plot_times(xs, costs, *, xlabel, ylabel, title, height):
    """Milliseconds against xs on log-log axes, one line per label."""
    markers = "os^dvP"
    if len(costs) > len(markers):
        raise ValueError(
            f"_plot_times: {len(costs)} lines but {len(markers)} markers; "
            "add markers rather than drop lines"
        )
    fig, ax = plt.subplots(figsize=(6, height), layout="constrained")
    for (label, ts), marker in zip(costs.items(), markers):
        ax.loglog(xs, [1e3 * t for t in ts], marker + "-", label=label)
    _log_x_ticks(ax, xs)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    _legend(ax)
    return fig


def plot_solve_costs(ns, costs):
    """Time per value and gradient against n (costs: label -> seconds)."""
    return _plot_times(
        ns,
        costs,
        xlabel="n (A is n × n)",
        ylabel="time per value and gradient (ms)",
        title="Differentiating x = A⁻¹b",
        height=3.6,
    )


def plot_fixed_point(iterations, errors, times, implicit_time):
    """Two stacked panels against the unrolled iterations T: the relative error
    of the unrolled gradient against the implicit one, and the time of both."""
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(6, 6), sharex=True, layout="constrained"
    )
    top.semilogy(iterations, errors, "o-", label="unrolled, T iterations")
    top.set(
        ylabel="relative error of θ̄\n(against the implicit θ̄)",
        title="Gradient of a fixed point x* = tanh(W x* + θ)",
    )
    bottom.plot(
        iterations, _ms(times), "o-", label="unrolled: forward + backward"
    )
    bottom.axhline(
        1e3 * implicit_time,
        color="C1",
        ls="--",
        label="implicit (forward iterates to convergence)",
    )
    bottom.set(
        xlabel="iterations T", ylabel="time per gradient (ms)", ylim=(0, None)
    )
    _legend(top)
    _legend(bottom)
    return fig


def plot_per_example(batches, costs):
    """Time of B per-example gradients against B (label -> seconds)."""
    return _plot_times(
        batches,
        costs,
        xlabel="batch size B",
        ylabel="time for B gradients (ms)",
        title="Per-example gradients of the logistic loss, 32 weights",
        height=3.8,
    )


# ------------------------------------------------------------------ exercises


def _close(a, b):
    return a.shape == b.shape and torch.allclose(a, b, rtol=1e-9, atol=1e-12)


def _report(name, got, expected, hints=()):
    """Raise AssertionError with `booktools.exercises.diagnose`'s words
    (the first of `hints`, pairs (wrong value, explanation), that got
    equals, else a shape, transpose, sign, factor or the worst entry);
    return quietly when got equals expected."""
    message = diagnose(
        got, expected, name=name, hints=hints, rtol=1e-9, atol=1e-12
    )
    if message:
        raise AssertionError(message)


def _cotangents(vjp_fn, cotangent):
    """vjp_fn(cotangent); vjplib's refusal of a cotangent of the wrong
    shape becomes the checker's diagnosis."""
    try:
        return vjp_fn(cotangent)
    except ValueError as error:
        raise AssertionError(str(error)) from None


@checker
def check_solve_matrix(op):
    """Check a Function op(A, B) = A⁻¹ B, B of shape (n, k), against torch."""
    g = torch.Generator().manual_seed(81)
    n, k, f64 = 5, 3, torch.float64
    A = torch.randn(n, n, generator=g, dtype=f64) + n * torch.eye(n, dtype=f64)
    B = torch.randn(n, k, generator=g, dtype=f64)
    X_bar = torch.randn(n, k, generator=g, dtype=f64)
    X, vjp_fn = vjplib.vjp(op.apply, A, B)
    _report(
        "the forward value X",
        X,
        torch.linalg.solve(A, B),
        [(torch.linalg.solve(A.T, B), "solve with A, not Aᵀ")],
    )
    A_bar, B_bar = _cotangents(vjp_fn, X_bar)
    A_req, B_req = A.clone().requires_grad_(), B.clone().requires_grad_()
    A_ref, B_ref = torch.autograd.grad(
        torch.linalg.solve(A_req, B_req), (A_req, B_req), X_bar
    )
    _report(
        "B̄",
        B_bar,
        B_ref,
        [
            (
                torch.linalg.solve(A, X_bar),
                "B̄ solves with A; it must solve with Aᵀ: Aᵀ B̄ = X̄",
            ),
            (-B_ref, "the sign: B̄ = +A⁻ᵀ X̄ (only Ā has a minus)"),
        ],
    )
    _report(
        "Ā",
        A_bar,
        A_ref,
        [
            (-A_ref, "the sign: Ā = −B̄ Xᵀ"),
            (-X @ B_ref.T, "the order: Ā = −B̄ Xᵀ, not −X B̄ᵀ (that is Āᵀ)"),
            (-B_ref @ B.T, "Ā pairs B̄ with the output X, not with B"),
            (
                -torch.linalg.solve(A, X_bar) @ X.T,
                "the B̄ inside Ā must solve with Aᵀ",
            ),
        ],
    )
    print(
        f"Correct: {op.__name__}: X, Ā and B̄ match torch for B of shape "
        f"{(n, k)}."
    )


@checker
def check_log_sigmoid(op):
    """Check a Function op(x) = log σ(x): finite on [−1000, 1000], equal to
    torch.nn.functional.logsigmoid in value and VJP."""
    x = torch.tensor(
        [-1000.0, -745.0, -50.0, -1.0, 0.0, 1.0, 50.0, 745.0, 1000.0],
        dtype=torch.float64,
    )
    y_bar = torch.linspace(0.5, 1.5, len(x), dtype=torch.float64)
    y, vjp_fn = vjplib.vjp(op.apply, x)
    y = torch.as_tensor(y)
    bad = ~torch.isfinite(y)
    if bad.any():
        raise AssertionError(
            f"the value is {y[bad][0].item()} at x = {x[bad][0].item():g}: "
            "it overflows. Write log σ(x) = −softplus(−x)"
        )
    softplus = torch.nn.functional.softplus
    _report(
        "the value",
        y,
        torch.nn.functional.logsigmoid(x),
        [
            (softplus(-x), "the sign: log σ(x) = −softplus(−x)"),
            (-softplus(x), "log σ(x) = −softplus(−x), not −softplus(x)"),
        ],
    )
    (x_bar,) = _cotangents(vjp_fn, y_bar)
    x_bar = torch.as_tensor(x_bar)
    x_req = x.clone().requires_grad_()
    (x_bar_ref,) = torch.autograd.grad(
        torch.nn.functional.logsigmoid(x_req), x_req, y_bar
    )
    if not torch.isfinite(x_bar).all():
        i = int((~torch.isfinite(x_bar)).nonzero()[0])
        raise AssertionError(
            f"x̄ is {x_bar[i].item()} at x = {x[i].item():g}: the VJP "
            "overflows. Write it with torch.sigmoid: x̄ = σ(−x) ȳ"
        )
    _report(
        "x̄",
        x_bar,
        x_bar_ref,
        [
            (torch.sigmoid(x) * y_bar, "x̄ = σ(−x) ȳ, not σ(x) ȳ"),
            (-torch.sigmoid(-x) * y_bar, "the sign: x̄ = +σ(−x) ȳ"),
        ],
    )
    print(
        f"Correct: {op.__name__}: finite on [−1000, 1000], value and VJP "
        "equal to torch's logsigmoid."
    )
