"""Chapter 1, "The gradient of ‖X⁻¹‖_F by hand": its pictures and its checker.

* `plot_chain` draws the two-step chain X → Y = X⁻¹ → z = ‖Y‖_F with the
  shapes of the nodes and of the two Jacobians;
* `plot_fd_errors` draws the error of forward and central differences
  against the step h, with the band of best steps over many directions;
* `compare_gradient` is the exercises' checker: it compares a gradient
  formula with torch.autograd and says what is off (transpose, sign,
  constant factor, shape, or the entry that differs most);
  `check_exercise(k, grad_fn)` runs it on exercise k and prints the verdict.
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import FancyBboxPatch

from booktools.widgets import COLOURS

from .exercises import diagnose
from .inputs import well_conditioned

__all__ = [
    "plot_chain",
    "plot_fd_errors",
    "compare_gradient",
    "check_exercise",
    "EXERCISES",
    "exercise_matrix",
]

BLUE = "#2563EB"
INK = "#374151"
GREY = "#4B5563"


# -- pictures ---------------------------------------------------------------


def plot_chain():
    """The chain X → Y = X⁻¹ → z = ‖Y‖_F, node shapes below the nodes and
    Jacobian shapes below the arrows. Returns ``(fig, ax)``."""
    fig, ax = plt.subplots(figsize=(8.5, 2.1))
    nodes = [
        (0.0, r"$X$", r"$n \times n$"),
        (3.8, r"$Y = X^{-1}$", r"$n \times n$"),
        (7.6, r"$z = \|Y\|_F$", "scalar"),
    ]
    for x, label, shape in nodes:
        ax.add_patch(
            FancyBboxPatch(
                (x - 0.85, 0.65),
                1.7,
                0.7,
                boxstyle="round,pad=0.06",
                facecolor="#F3F4F6",
                edgecolor=INK,
                linewidth=1.2,
            )
        )
        ax.text(x, 1.0, label, ha="center", va="center", fontsize=15)
        ax.text(
            x, 0.3, shape, ha="center", va="center", fontsize=11, color=GREY
        )
    edges = [
        (0.0, 3.8, "invert", r"$J_1$: $n^2 \times n^2$"),
        (3.8, 7.6, "Frobenius norm", r"$J_2$: $1 \times n^2$"),
    ]
    for x0, x1, op, jacobian_shape in edges:
        ax.annotate(
            "",
            xy=(x1 - 0.95, 1.0),
            xytext=(x0 + 0.95, 1.0),
            arrowprops=dict(arrowstyle="-|>", linewidth=1.5, color=INK),
        )
        ax.text((x0 + x1) / 2, 1.18, op, ha="center", va="bottom", fontsize=10)
        ax.text(
            (x0 + x1) / 2,
            0.8,
            jacobian_shape,
            ha="center",
            va="top",
            fontsize=10,
            color=COLOURS["amber"],
        )
    ax.set_xlim(-1.1, 8.7)
    ax.set_ylim(0.05, 1.5)
    ax.axis("off")
    return fig, ax


def plot_fd_errors(
    hs,
    forward_err,
    central_err,
    *,
    rounding=None,
    best_h_band=None,
    h_used=None,
):
    """Relative error of forward and central differences against the step h.

    ``hs``, ``forward_err``, ``central_err``: the steps and the errors along
    one direction. ``rounding``: the rounding model ε z / h (dotted).
    ``best_h_band``: ``(h_lo, h_hi)``, where the best central step fell
    over many random directions (a shaded column).
    ``h_used``: the step of the check, marked by a vertical line.
    Returns ``(fig, ax)``; the x axis runs from large h to small h.
    """
    hs = np.asarray(hs, dtype=float)
    forward_err = np.asarray(forward_err, dtype=float)
    central_err = np.asarray(central_err, dtype=float)
    if not (hs.shape == forward_err.shape == central_err.shape):
        raise ValueError(
            f"plot_fd_errors: hs {hs.shape}, forward_err {forward_err.shape} "
            f"and central_err {central_err.shape} must have one error per h"
        )
    amber = COLOURS["amber"]
    fig, ax = plt.subplots(figsize=(7.5, 4.8), layout="constrained")
    if best_h_band is not None:
        ax.axvspan(
            *best_h_band,
            color=amber,
            alpha=0.15,
            lw=0,
            label="best central h, over many directions",
        )
    ax.loglog(
        hs, forward_err, "o-", ms=3.5, color=BLUE, label="forward difference"
    )
    ax.loglog(
        hs, central_err, "s-", ms=3.5, color=amber, label="central difference"
    )
    if rounding is not None:
        ax.loglog(
            hs,
            rounding,
            ":",
            color="#6B7280",
            label=r"rounding model $\varepsilon z\,/\,h$",
        )
    # truncation guides, slope 1 and slope 2, anchored at the largest h
    g1, g2 = np.logspace(0, -4, 10) * hs[0], np.logspace(0, -3, 10) * hs[0]
    ax.loglog(g1, 3 * forward_err[0] * (g1 / hs[0]), "--", color=BLUE, lw=1)
    ax.loglog(
        g2, 3 * central_err[0] * (g2 / hs[0]) ** 2, "--", color=amber, lw=1
    )
    ax.text(2e-3, 3e-2, "truncation: slope 1", color=BLUE, fontsize=9)
    ax.text(3e-3, 2e-6, "truncation: slope 2", color=amber, fontsize=9)
    ax.text(
        1.5e-10,
        3e-2,
        "rounding:\nslope −1",
        color=GREY,
        fontsize=9,
        ha="right",
    )
    if h_used is not None:
        ax.axvline(h_used, color=INK, lw=0.8)
        ax.text(
            h_used,
            2.5,
            f" h = {h_used:.0e}\n used above",
            fontsize=8,
            color=INK,
            va="top",
        )
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(r"relative error against $\langle G, \dot X\rangle$")
    ax.set_ylim(1e-12, 10)
    ax.invert_xaxis()
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title("Finite-difference error: truncation falls, rounding rises")
    return fig, ax


# -- the exercises' checker -------------------------------------------------


def exercise_matrix(n: int = 5, seed: int = 1) -> torch.Tensor:
    """The checker's seeded, well-conditioned float64 matrix: G + n·I."""
    return well_conditioned(n, seed)


def _wrap(text: str) -> str:
    return textwrap.fill(text, width=79, subsequent_indent="  ")


def compare_gradient(
    grad_fn, f, hint: str = "", *, X=None, name: str = "your function"
):
    """Compare ``grad_fn(X)`` with torch.autograd's gradient of the scalar
    ``f`` at ``X`` (default: `exercise_matrix()`). Returns ``(ok, message)``,
    the message in the checkers' words (``Correct: …``, ``Not yet: …``,
    ``Nothing to check yet: …``; see `booktools.exercises`).

    A wrong answer gets `booktools.exercises.diagnose`'s diagnosis: a wrong
    shape, a transpose, a sign, a constant factor, or else the entry that
    differs most and ``hint``.
    """
    if X is None:
        X = exercise_matrix()
    X_test = X.detach().to(torch.float64)
    X_leaf = X_test.clone().requires_grad_(True)
    f(X_leaf).backward()
    expected = X_leaf.grad
    got = grad_fn(X_test.clone())
    if got is None:
        return False, _wrap(
            f"Nothing to check yet: {name} returned None; replace the `...` "
            "with a formula in X."
        )
    message = diagnose(
        got,
        expected,
        name=name,
        shape_hint="The gradient of a scalar has the shape of its input, X.",
        rtol=1e-9,
        atol=1e-12,
    )
    if message is None:
        n, m = X_test.shape
        return True, f"Correct: {name} matches torch.autograd on the " + (
            f"{n}×{m} test matrix."
        )
    if "transpose of the answer" in message:
        message += " Check the last step, ⟨Mᵀ, dX⟩."
    elif "entry (" in message and hint:
        message += " Hint: " + hint
    return False, _wrap(f"Not yet: {message}")


def _norm_of_inverse_squared(X):
    return torch.linalg.norm(torch.linalg.inv(X)) ** 2


def _trace_of_inverse(X):
    return torch.trace(torch.linalg.inv(X))


#: exercise number -> (the function whose gradient is asked for, a hint)
EXERCISES = {
    1: (
        _norm_of_inverse_squared,
        "write w = z², so dw = 2z dz, and reuse this chapter's dz.",
    ),
    2: (
        _trace_of_inverse,
        "d tr(Y) = tr(dY); substitute step 1's dY, then use the cyclic "
        "property.",
    ),
}


def check_exercise(k: int, grad_fn) -> bool:
    """Check ``grad_fn`` against exercise ``k``; print and return the
    verdict.
    """
    if k not in EXERCISES:
        raise ValueError(
            f"check_exercise: no exercise {k!r}; chapter 1 has "
            f"exercises {sorted(EXERCISES)}"
        )
    f, hint = EXERCISES[k]
    ok, message = compare_gradient(grad_fn, f, hint, name=f"exercise {k}")
    print(message)
    return ok
