"""Chapter 9 (second order): cost measurements, figures, checkers.

The chapter shows the Hessian-vector products, Newton's method and the
checks; this module holds what it only calls: the timing sweep, the figures
(CG residuals, Newton against gradient descent, costs) and the exercise
checkers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch
from torch.utils._python_dispatch import TorchDispatchMode

import vjplib
from booktools.plot import plot_costs as _plot_costs

from .exercises import checker, diagnose
from .timing import time_per_call

__all__ = [
    "time_per_call",
    "hvp_rev_rev",
    "measure_costs",
    "batched_products",
    "plot_costs",
    "plot_cg_residuals",
    "plot_newton",
    "check_hvp_rev_rev",
    "check_newton_step",
]

F64 = torch.float64


def hvp_rev_rev(f: Callable, w, v):
    """H v reverse-over-reverse: the gradient of ⟨∇f(w), v⟩."""
    return vjplib.grad(lambda w: vjplib.sum(vjplib.grad(f)(w) * v))(w)


def _seeded(d: int, seed: int) -> torch.Tensor:
    return torch.randn(
        d, generator=torch.Generator().manual_seed(seed), dtype=F64
    )


def measure_costs(
    make_problem: Callable,
    dims: Sequence[int],
    *,
    m: int | None = None,
    hessians: bool = True,
    loop_dims: Sequence[int] = (),
    hessian_by_hvps: Callable | None = None,
    budget: float = 0.02,
) -> dict[str, tuple[list, list]]:
    """Milliseconds per call against d, as ``{label: (ds, times)}``.

    ``make_problem(d=d, m=m)`` returns ``(f, f_torch, data)``; ``m=None``
    grows the data with the weights (m = d). Timed: the gradient and the
    HVP forward-over-reverse and reverse-over-reverse; with ``hessians``,
    also the batched Hessians of vjplib and torch.func, and
    ``hessian_by_hvps(f, w)`` at the sizes in ``loop_dims``. Each result is
    checked against torch.func before it is timed.
    """
    torch.set_num_threads(1)  # time the algorithms, not the thread pool
    out: dict[str, tuple[list, list]] = {}

    def record(label, d, fn):
        ds, ts = out.setdefault(label, ([], []))
        ds.append(d)
        ts.append(1e3 * time_per_call(fn, budget=budget))

    def same(label, got, expected, d):
        if not torch.allclose(got, expected):
            raise AssertionError(
                f"measure_costs: {label} at d={d} differs from torch.func "
                f"by {(got - expected).abs().max().item():.3e}"
            )

    for d in dims:
        f, f_torch, _ = make_problem(d=d, m=d if m is None else m)
        w, v = _seeded(d, 5), _seeded(d, 6)
        _, Hv = torch.func.jvp(torch.func.grad(f_torch), (w,), (v,))
        same("vjplib.grad", vjplib.grad(f)(w), torch.func.grad(f_torch)(w), d)
        same("vjplib.hvp", vjplib.hvp(f, w, v)[1], Hv, d)
        same("the reverse-over-reverse HVP", hvp_rev_rev(f, w, v), Hv, d)
        record("gradient", d, lambda: vjplib.grad(f)(w))
        record("HVP, forward-over-reverse", d, lambda: vjplib.hvp(f, w, v)[1])
        record("HVP, reverse-over-reverse", d, lambda: hvp_rev_rev(f, w, v))
        if not hessians:
            continue
        H = torch.func.hessian(f_torch)(w)
        if d in loop_dims:
            same("hessian_by_hvps", hessian_by_hvps(f, w), H, d)
            record(
                "Hessian, d HVPs in a loop", d, lambda: hessian_by_hvps(f, w)
            )
        same("vjplib.hessian", vjplib.hessian(f)(w), H, d)
        record("Hessian, batched (vjplib)", d, lambda: vjplib.hessian(f)(w))
        record(
            "Hessian, batched (torch.func)",
            d,
            lambda: torch.func.hessian(f_torch)(w),
        )
    return out


class _BatchedProducts(TorchDispatchMode):
    """Records the input shapes of every ``aten.bmm`` that runs under it."""

    def __init__(self):
        super().__init__()
        self.shapes: set[tuple[tuple[int, ...], ...]] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.bmm.default:
            self.shapes.add(tuple(tuple(a.shape) for a in args))
        return func(*args, **(kwargs or {}))


def batched_products(fn: Callable) -> set[tuple[tuple[int, ...], ...]]:
    """The input shapes of every batched matrix product (``aten.bmm``) that
    ``fn()`` runs: a set of tuples of shapes, such as
    ``{((8, 8, 256), (8, 256, 1))}`` for a batch of 8 products of an
    8 × 256 matrix with a vector.

    A `TorchDispatchMode` sees each aten op after torch.func's transforms
    have batched it, with the shapes it really runs on: what torch does is
    shown by running it. The chapter uses it to show the layout in which
    torch.func and vjplib multiply a batch of tangents by a constant matrix.
    """
    with _BatchedProducts() as seen:
        fn()
    return seen.shapes


def plot_costs(
    upper: dict,
    lower: dict,
    *,
    upper_title: str,
    lower_title: str,
    fit_last: int = 3,
):
    """Two stacked log-log panels of ``measure_costs`` results.

    Each legend entry carries the slope fitted on the ``fit_last`` largest
    sizes. Returns ``(fig, axes, slopes)``, ``slopes`` one dict per panel.
    """
    fig, axes = plt.subplots(2, 1, figsize=(6.4, 9.6), layout="constrained")
    slopes = []
    for ax, series, title in (
        (axes[0], upper, upper_title),
        (axes[1], lower, lower_title),
    ):
        _, _, s = _plot_costs(
            series,
            ax=ax,
            xlabel="d (number of weights)",
            ylabel="time per call (ms)",
            fit_last=fit_last,
            title=title,
        )
        ax.legend(fontsize=8, frameon=False, loc="upper left")
        slopes.append(s)
    return fig, axes, slopes


def plot_cg_residuals(residuals: Sequence[float], d: int, tol: float):
    """CG's residual norm after each iteration, with d and tol marked."""
    fig, ax = plt.subplots(figsize=(6.0, 3.6), layout="constrained")
    ax.semilogy(
        range(len(residuals)),
        residuals,
        "o-",
        ms=4,
        label="‖r_k‖, residual after k iterations",
    )
    ax.axvline(d, color="grey", ls=":", lw=1, label=f"k = d = {d}")
    ax.axhline(tol, color="C3", ls="--", lw=1, label=f"tolerance {tol:g}")
    ax.set(
        xlabel="k (CG iterations = HVPs)",
        ylabel="residual norm",
        title="Conjugate gradients on H s = −∇f, d = " + str(d),
    )
    ax.legend(frameon=False, fontsize=8)
    return fig, ax


def plot_newton(
    runs: dict, f_star: float, floor: float = 1e-17, title: str = ""
):
    """f - f* against the passes spent (gradients + HVPs), log scale.

    ``runs`` maps a label to ``(passes, values)``: cumulative passes and
    f after each step. f - f* can reach exactly 0 in float64; it is drawn
    at ``floor``.
    """
    fig, ax = plt.subplots(figsize=(6.2, 4.0), layout="constrained")
    styles = (".-", "o-", "x--", "s:")
    for (label, (passes, values)), style in zip(runs.items(), styles):
        gap = [max(v - f_star, floor) for v in values]
        ax.semilogy(passes, gap, style, ms=4, label=label)
    ax.set(
        xlabel="passes spent: gradients + Hessian-vector products",
        ylabel="f(w) − f*",
        ylim=(floor / 3, None),
        title=title,
    )
    ax.legend(frameon=False, fontsize=8)
    return fig, ax


# ---------------------------------------------------------------- exercises


def _report(name, got, expected, hint, hints=()):
    """Raise AssertionError with `booktools.exercises.diagnose`'s words
    and the chapter's ``hint``; return quietly when got equals expected."""
    message = diagnose(got, expected, name=name, hints=hints)
    if message:
        raise AssertionError(f"{message} Hint: {hint}")


def _z(X):
    return vjplib.norm(vjplib.inv(X))


def _z_torch(X):
    return torch.linalg.norm(torch.linalg.inv(X))


@checker
def check_hvp_rev_rev(hvp_rev_rev: Callable) -> None:
    """Check a reader's reverse-over-reverse HVP on z = ‖X⁻¹‖_F, n = 4."""
    g = torch.Generator().manual_seed(7)
    X = torch.randn(4, 4, generator=g, dtype=F64) + 4 * torch.eye(4, dtype=F64)
    V = torch.randn(4, 4, generator=g, dtype=F64)
    _, expected = torch.func.jvp(torch.func.grad(_z_torch), (X,), (V,))
    got = hvp_rev_rev(_z, X, V)
    _report(
        "Hv",
        got,
        expected,
        "take vjplib.grad of x ↦ vjplib.sum(vjplib.grad(f)(x) * v)",
        hints=[
            (
                torch.func.grad(_z_torch)(X),
                "this is the gradient ∇f, not Hv. Differentiate again, the "
                "scalar x ↦ ⟨∇f(x), v⟩ = vjplib.sum(grad(f)(x) * v)",
            )
        ],
    )
    print("Correct: reverse-over-reverse HVP matches torch.")


def _logistic(d, m, seed):
    g = torch.Generator().manual_seed(seed)
    D = torch.randn(m, d, generator=g, dtype=F64)
    y = torch.sign(torch.randn(m, generator=g, dtype=F64))
    lam = 1e-2

    def f(w):
        loss = vjplib.sum(vjplib.softplus(-y * vjplib.matmul(D, w))) / m
        return loss + lam / 2 * vjplib.sum(w * w)

    def f_torch(w):
        loss = torch.nn.functional.softplus(-y * (D @ w)).mean()
        return loss + lam / 2 * (w * w).sum()

    return f, f_torch


@checker
def check_newton_step(newton_step: Callable) -> None:
    """Check a reader's Newton step: exact on a quadratic, and as torch's on a
    logistic loss."""
    g = torch.Generator().manual_seed(9)
    M = torch.randn(6, 6, generator=g, dtype=F64)
    Q = M @ M.T + 6 * torch.eye(6, dtype=F64)
    b = torch.randn(6, generator=g, dtype=F64)
    w = torch.randn(6, generator=g, dtype=F64)

    def quadratic(w):
        return 0.5 * vjplib.sum(w * vjplib.matmul(Q, w)) - vjplib.sum(b * w)

    s = newton_step(quadratic, w)
    target = torch.linalg.solve(Q, b)
    if s is None or isinstance(s, (torch.Tensor, vjplib.Box)):
        _report("s on the quadratic", s, target - w, "solve H s = −∇f")
    _report(
        "w + s on the quadratic",
        w + torch.as_tensor(s),
        target,
        "solve H s = −∇f; one step lands on Q⁻¹ b",
        hints=[(2 * w - target, "the step points the wrong way (w − s)")],
    )
    f, f_torch = _logistic(d=5, m=40, seed=10)
    w = torch.randn(5, generator=g, dtype=F64)
    H, grad = torch.func.hessian(f_torch)(w), torch.func.grad(f_torch)(w)
    _report(
        "s on the logistic loss",
        newton_step(f, w),
        torch.linalg.solve(H, -grad),
        "s = −H⁻¹ ∇f, via torch.linalg.solve",
    )
    print(
        "Correct: newton_step: exact on the quadratic, equal to torch on the "
        "logistic loss."
    )
