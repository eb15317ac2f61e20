"""Chapter 6 (the JVP, directional derivatives): figures and checkers.

* `plot_remainders`: the error of the JVP's predicted change of z, against
  the step h;
* `plot_dot_product_test`: the relative mismatch of the dot-product test,
  one row per pair of rules;
* `check_square_jvp`, `check_steepest`: the checkers of the two exercises.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .exercises import checker, diagnose
from .inputs import well_conditioned

__all__ = [
    "plot_remainders",
    "plot_dot_product_test",
    "check_square_jvp",
    "check_steepest",
]

QUADRATIC = r"\frac{1}{2}h^2\,D_U^2 z"


def plot_remainders(steps, remainder_1, remainder_2, D2_U, z):
    """Log-log plot of |Δz − h D_U z| and of the same minus ½h² D_U² z,
    against h.

    ``D2_U`` is the second derivative of z along U, D_U² z. Also draws the
    quadratic term |½h² D_U² z| (dashed) and the rounding level ε_mach z
    (dotted), ε_mach the machine epsilon of float64. Returns the figure.
    """
    steps = np.asarray(steps, dtype=np.float64)
    remainder_1 = np.asarray(remainder_1, dtype=np.float64)
    remainder_2 = np.asarray(remainder_2, dtype=np.float64)
    if not steps.shape == remainder_1.shape == remainder_2.shape:
        raise ValueError(
            f"plot_remainders: {steps.size} steps but {remainder_1.size} and "
            f"{remainder_2.size} remainders; give one remainder per step"
        )
    eps = np.finfo(np.float64).eps
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.loglog(steps, remainder_1, "o-", ms=3, label=r"$|\Delta z - h\,D_U z|$")
    ax.loglog(
        steps,
        remainder_2,
        "s-",
        ms=3,
        label=rf"$|\Delta z - h\,D_U z - {QUADRATIC}|$",
    )
    ax.loglog(
        steps,
        0.5 * abs(float(D2_U)) * steps**2,
        "--",
        color="k",
        lw=0.8,
        label=rf"$|{QUADRATIC}|$",
    )
    ax.axhline(
        eps * float(z),
        color="grey",
        lw=0.8,
        ls=":",
        label=r"rounding of $z$: $\varepsilon_\mathrm{mach} z$",
    )
    ax.set(
        xlabel="step h",
        ylabel="error of the predicted change",
        ylim=(1e-19, 1e-4),
        title="The JVP predicts the change of z to second order",
    )
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_dot_product_test(mismatches: dict, *, threshold=1e-12, floor=1e-18):
    """One row per pair of rules: the relative mismatch of each random pair (ȳ,
    ẋ).

    ``mismatches`` maps a row label to the list of relative mismatches
    |⟨ȳ, J ẋ⟩ − ⟨Jᵀȳ, ẋ⟩| / |⟨ȳ, J ẋ⟩|; the first row is drawn at the top.
    An exact agreement (0) is drawn at ``floor`` (a log axis has no 0).
    The dotted line marks ``threshold``, the pass mark. Returns the figure.
    """
    if not mismatches:
        raise ValueError(
            "plot_dot_product_test: give at least one row of mismatches"
        )
    labels = list(mismatches)
    rows = len(labels)
    fig, ax = plt.subplots(figsize=(6.2, 1.0 + 0.6 * rows))
    for k, label in enumerate(labels):
        values = np.maximum(
            np.asarray(mismatches[label], dtype=np.float64), floor
        )
        passed = bool(np.all(values < threshold))
        ax.semilogx(
            values,
            np.full(values.shape, rows - 1 - k),
            "o" if passed else "x",
            mfc="none",
            color="C0" if passed else "C3",
        )
    ax.axvline(threshold, color="grey", lw=0.8, ls=":")
    top = max(
        float(np.max(np.asarray(v, dtype=np.float64)))
        for v in mismatches.values()
    )
    first, last = int(np.log10(floor)), int(np.ceil(np.log10(max(top, 1.0))))
    exponents = list(range(first, last + 1, 3))
    ax.set_xticks(
        [10.0**e for e in exponents],
        labels=["0"] + [f"$10^{{{e}}}$" for e in exponents[1:]],
    )
    ax.minorticks_off()
    left = r"\langle \bar y, J\dot x\rangle"
    right = r"\langle J^\mathsf{T}\bar y, \dot x\rangle"
    ax.set(
        yticks=list(range(rows)),
        yticklabels=labels[::-1],
        ylim=(-0.7, rows - 0.3),
        xlabel=rf"relative mismatch $|{left} - {right}|\,/\,|{left}|$",
        title=f"The dot-product test, "
        f"{len(next(iter(mismatches.values())))} random pairs",
    )
    fig.tight_layout()
    return fig


# -- exercise checkers ------------------------------------------------------


def _z_of(X):
    return torch.linalg.norm(torch.linalg.inv(X))


@checker
def check_square_jvp(forward_jvp):
    """Exercise 1: ``forward_jvp(X, X_dot)`` must return (X X, Ẋ X + X Ẋ).

    Prints "Correct" or what `booktools.exercises.diagnose` finds wrong in
    the value or the tangent (a shape, a transpose, a sign, a factor, 2 X Ẋ
    or 2 Ẋ X, an entry); returns whether the answer is right.
    """
    X = well_conditioned(4, seed=6)
    X_dot = torch.randn(
        4, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64
    )
    answer = forward_jvp(X, X_dot)
    if not (isinstance(answer, tuple) and len(answer) == 2):
        raise AssertionError(
            f"got {type(answer).__name__}; return the pair (Y, Ẏ)"
        )
    Y, Y_dot = answer
    Y_ref, Y_dot_ref = torch.func.jvp(lambda X: X @ X, (X,), (X_dot,))
    message = diagnose(Y, Y_ref, name="the value Y")
    if message:
        raise AssertionError(f"{message} (the value Y is wrong: Y = X @ X)")
    commute = "did you write 2 X Ẋ? matrices do not commute."
    message = diagnose(
        Y_dot,
        Y_dot_ref,
        name="Ẏ",
        hints=[(2 * X @ X_dot, commute), (2 * X_dot @ X, commute)],
        shape_hint="The tangent has the output's shape.",
    )
    if message:
        raise AssertionError(f"{message} Hint: d(XX) = dX X + X dX.")
    print("Correct: forward_jvp of X @ X matches torch.func.jvp.")


@checker
def check_steepest(steepest):
    """Exercise 2: ``steepest(X)`` must return (U, D_U z) with ‖U‖_F = 1 and U
    = ∇z/‖∇z‖ for z = ‖X⁻¹‖_F. Prints "steepest ascent" or what is wrong
    (`booktools.exercises.diagnose` on U), returns whether it is right."""
    X = well_conditioned(5, seed=8)
    U, rate = steepest(X)
    grad = torch.func.grad(_z_of)(X)
    best = torch.linalg.norm(grad)
    U_best = grad / best
    message = diagnose(
        U, U_best, name="U", shape_hint="A direction has the input's shape."
    )
    if message and "shape" in message:
        raise AssertionError(message)
    U = torch.as_tensor(U)
    norm_U = torch.linalg.norm(U)
    if not torch.isclose(norm_U, torch.tensor(1.0, dtype=norm_U.dtype)):
        raise AssertionError(
            f"U must have unit length, ‖U‖_F = "
            f"{norm_U.item():.6g}; divide it by its norm"
        )
    _, D_U = torch.func.jvp(_z_of, (X,), (U,))
    if not torch.isclose(torch.as_tensor(rate, dtype=D_U.dtype), D_U):
        raise AssertionError(
            f"the rate you returned, {float(rate):.6g}, is "
            f"not D_U z = {D_U.item():.6g} for your U"
        )
    if message:
        raise AssertionError(
            f"{message} z grows at {D_U.item():.6g} along your U, but "
            f"{best.item():.6g} is possible. Hint: ⟨∇z, U⟩ ≤ ‖∇z‖ ‖U‖, "
            "with equality when U points along ∇z."
        )
    print(
        "Correct: steepest ascent: U = ∇z/‖∇z‖, rate ‖∇z‖_F = "
        f"{best.item():.6f}"
    )
