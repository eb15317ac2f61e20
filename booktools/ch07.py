"""Chapter 7 (forward mode): timing, the Jacobian-filling figure, checkers.

The chapter shows the rules and the checks; this module holds what it only
calls: a timer, the sweep over Jacobian shapes, its figure, the figure of a
Jacobian filled in column by column and row by row, and the exercise
checkers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

import vjplib
from booktools.plot import plot_jacobian

from .exercises import checker, diagnose
from .timing import time_per_call

__all__ = [
    "time_per_call",
    "make_problem",
    "measure",
    "crossover",
    "plot_sweep",
    "plot_fill",
    "check_tanh",
    "check_jacobian_from_jvps",
]


def make_problem(n_in: int, n_out: int, seed: int = 3):
    """f(x) = tanh(W x), W of shape (n_out, n_in): (f, f_torch, x).

    ``f`` is written with vjplib ops, ``f_torch`` with torch ops; both use
    the same seeded W, and x is a seeded point in R^n_in.
    """
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n_out, n_in, generator=g, dtype=torch.float64)
    W = W / n_in**0.5
    x = torch.randn(n_in, generator=g, dtype=torch.float64)

    def f(x):
        return vjplib.tanh(vjplib.matmul(W, x))

    def f_torch(x):
        return torch.tanh(W @ x)

    return f, f_torch, x


def _is_torch(transform) -> bool:
    return getattr(transform, "__module__", "").startswith("torch")


def measure(
    shapes: Sequence[tuple[int, int]], transforms: dict, budget: float = 0.02
) -> dict[str, list[float]]:
    """Seconds per Jacobian for each transform at each (n_in, n_out).

    ``transforms`` maps a label to a Jacobian transform such as
    ``vjplib.jacfwd`` or ``torch.func.jacrev``; a torch transform gets the
    function written with torch ops, a vjplib one the vjplib version. Every
    Jacobian is checked against ``torch.func.jacrev`` before it is timed.
    """
    timings: dict[str, list[float]] = {name: [] for name in transforms}
    torch.set_num_threads(1)  # time the algorithms, not the thread pool
    for n_in, n_out in shapes:
        f, f_torch, x = make_problem(n_in, n_out)
        J_ref = torch.func.jacrev(f_torch)(x)
        for name, transform in transforms.items():
            jac = transform(f_torch if _is_torch(transform) else f)
            J = jac(x)
            if not torch.allclose(J, J_ref):
                raise AssertionError(
                    f"measure: {name} at n_in={n_in}, n_out={n_out} differs "
                    f"from torch.func.jacrev by "
                    f"{(J - J_ref).abs().max().item():.3e}"
                )
            timings[name].append(time_per_call(lambda: jac(x), budget=budget))
    return timings


def crossover(
    shapes: Sequence[tuple[int, int]],
    t_fwd: Sequence[float],
    t_rev: Sequence[float],
) -> float | None:
    """n_in / n_out where forward and reverse take equal time, or None.

    Interpolates log(t_fwd / t_rev) linearly in log(n_in / n_out) between
    the first pair of neighbouring shapes where its sign changes.
    """
    if not len(shapes) == len(t_fwd) == len(t_rev):
        raise ValueError(
            f"crossover: {len(shapes)} shapes but "
            f"{len(t_fwd)} and {len(t_rev)} timings"
        )
    r = np.log([n_in / n_out for n_in, n_out in shapes])
    d = np.log(np.asarray(t_fwd, float) / np.asarray(t_rev, float))
    for k in range(len(r) - 1):
        if d[k] == 0:
            return float(np.exp(r[k]))
        if d[k] * d[k + 1] < 0:
            s = d[k] / (d[k] - d[k + 1])
            return float(np.exp(r[k] + s * (r[k + 1] - r[k])))
    return float(np.exp(r[-1])) if d[-1] == 0 else None


STYLES = {
    "jacfwd_loop": "o-C0",
    "jacrev_loop": "s-C1",
    "jacfwd (batched)": "o:C0",
    "jacrev (batched)": "s:C1",
    "vjplib.jacfwd": "o-C0",
    "vjplib.jacrev": "s-C1",
    "torch.func.jacfwd": "o--C2",
    "torch.func.jacrev": "s--C3",
}


def plot_sweep(shapes, timings: dict, title: str, mark: tuple = ()):
    """Time per Jacobian against the shape, log-log; returns (fig, ax).

    ``mark`` names a (forward, reverse) pair of labels whose measured
    crossover is marked with a triangle on the x axis.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
    ratio = [n_in / n_out for n_in, n_out in shapes]
    for name, ts in timings.items():
        ax.loglog(
            ratio,
            [1e3 * t for t in ts],
            STYLES.get(name, "o-"),
            ms=4,
            label=name,
        )
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    if mark:
        at = crossover(shapes, timings[mark[0]], timings[mark[1]])
        if at is not None:
            ax.plot(
                [at],
                [0],
                "^",
                color="k",
                ms=9,
                clip_on=False,
                transform=ax.get_xaxis_transform(),
                label="the loops cross",
            )
    ax.set_xticks(ratio, [f"{a}×{b}" for a, b in shapes], rotation=45)
    ax.minorticks_off()
    ax.set(xlabel="n_in × n_out", ylabel="time per Jacobian (ms)", title=title)
    ax.legend(frameon=False, fontsize=8)
    return fig, ax


def plot_fill(col_frames: dict, row_frames: dict, snapshots, n: int):
    """J of an n×n → n×n map filled by JVP columns (left), VJP rows (right).

    One row of panels per snapshot (two columns in all, so it stays
    legible on a phone); grey cells are not computed yet.
    """
    N = n * n
    fig, axes = plt.subplots(
        len(snapshots),
        2,
        figsize=(6.4, 3.1 * len(snapshots)),
        layout="constrained",
        squeeze=False,
    )
    scale = max(
        float(torch.nan_to_num(F).abs().max())
        for F in (col_frames[snapshots[-1]], row_frames[snapshots[-1]])
    )
    for row, k in enumerate(snapshots):
        for col, (frames, what) in enumerate(
            ((col_frames, "columns, by JVP"), (row_frames, "rows, by VJP"))
        ):
            ax = axes[row, col]
            plot_jacobian(
                frames[k],
                out_shape=(n, n),
                in_shape=(n, n),
                ax=ax,
                halfrange=scale,
                colorbar=False,
                title=f"{k} of {N} {what}",
            )
            ax.set_facecolor("0.85")  # grey: not computed yet
            ax.xaxis.label.set_size(8)
            ax.yaxis.label.set_size(8)
    fig.suptitle(
        f"J of Y = X⁻¹ (n = {n}): forward mode fills columns,\n"
        "reverse mode fills rows"
    )
    return fig, axes


# ---------------------------------------------------------------- exercises


@checker
def check_tanh(tanh: Callable, DualNumber: type) -> None:
    """Check a reader's ``tanh`` on dual numbers against torch at 5 points."""
    for x0 in (-2.0, -0.3, 0.0, 0.7, 3.0):
        for x_dot in (1.0, -2.5):
            out = tanh(DualNumber(x0, x_dot))
            x_t = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
            (slope,) = torch.autograd.grad(torch.tanh(x_t), x_t)
            expected = slope.item() * x_dot
            if not isinstance(out, DualNumber):
                raise AssertionError(
                    "tanh should return a DualNumber, got "
                    f"{type(out).__name__}"
                )
            if not math.isclose(out.x, math.tanh(x0), abs_tol=1e-14):
                raise AssertionError(
                    f"at x = {x0}: value {out.x:.6g}, expected tanh(x) = "
                    f"{math.tanh(x0):.6g}"
                )
            if not math.isclose(out.x_dot, expected, abs_tol=1e-14):
                hint = (
                    "multiply the derivative by the incoming tangent a.x_dot"
                    if math.isclose(out.x_dot, slope.item())
                    else "tanh'(x) = 1 - tanh(x)², times a.x_dot"
                )
                raise AssertionError(
                    f"at x = {x0}, x_dot = {x_dot}: tangent {out.x_dot:.6g}, "
                    f"expected {expected:.6g}. Hint: {hint}."
                )
    print(
        "Correct: tanh on dual numbers matches torch at 5 points, 2 tangents."
    )


@checker
def check_jacobian_from_jvps(jacobian_from_jvps: Callable) -> None:
    """Check a reader's Jacobian from JVPs on a non-square f: R^(3×4) →
    R^(3×2).

    Says "transpose" when the answer holds Jᵀ's entries, in the layout of J.
    """
    g = torch.Generator().manual_seed(4)
    V = torch.randn(4, 2, generator=g, dtype=torch.float64)
    X = torch.randn(3, 4, generator=g, dtype=torch.float64)

    def f(X):
        return vjplib.tanh(vjplib.matmul(X, V))

    expected = torch.func.jacfwd(lambda X: torch.tanh(X @ V))(X)
    got = jacobian_from_jvps(f, X)
    M = expected.reshape(6, 12)
    transposed = M.T.reshape(-1)[: M.numel()].reshape(expected.shape)
    message = diagnose(
        got,
        expected,
        name="J",
        hints=[
            (
                transposed,
                "the entries are those of the transpose, read in J's "
                "layout. Hint: the JVP with basis j is column j; stack the "
                "columns along the last axis (dim=-1), not as rows.",
            )
        ],
        shape_hint="J has the shape out.shape + in.shape.",
    )
    if message:
        if "entry (" in message:
            message += (
                " Hint: column j (the JVP with basis j) belongs at input "
                "index j."
            )
        raise AssertionError(message)
    print("Correct: jacobian_from_jvps matches torch.func.jacfwd.")
