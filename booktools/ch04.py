"""Chapter 4 (the VJP in code): the memory figure and the exercise checkers.

* `plot_memory`: bytes a recorded graph keeps alive against the depth of a
  chain, one line per library or design;
* `check_matmul`, `check_square`: compare a reader's `vjplib.Function` with
  torch.autograd and say what is wrong: the entry, a transpose, a sign, a
  shape;
* `first_mismatch`: the message for one wrong cotangent (used by both).

The memory itself is measured by `vjplib.graph_bytes` and
`vjplib.torch_graph_bytes`, which the chapter calls directly.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

import vjplib

from .exercises import checker, diagnose
from .inputs import well_conditioned

__all__ = [
    "plot_memory",
    "first_mismatch",
    "check_op",
    "check_matmul",
    "check_square",
]

_STYLES = [
    dict(marker="o", ls="-"),
    dict(marker="s", ls="--", mfc="none", ms=8),
    dict(marker="^", ls=":"),
]


def plot_memory(
    depths,
    series: dict,
    *,
    baseline=None,
    baseline_label="the output alone",
    xlabel="depth k",
    title="Reverse mode remembers the forward pass",
):
    """Memory held at the start of the backward pass against depth, in KiB.

    ``series`` maps a label to one byte count per depth (drawn in order, up
    to three: solid circles, dashed open squares, dotted triangles);
    ``baseline``, in bytes, is drawn as a grey horizontal line. Returns the
    figure.
    """
    depths = list(depths)
    if not series or len(series) > len(_STYLES):
        raise ValueError(
            f"plot_memory: give 1 to {len(_STYLES)} series, got {len(series)}"
        )
    for label, values in series.items():
        if len(values) != len(depths):
            raise ValueError(
                f"plot_memory: {label!r} has {len(values)} "
                f"values for {len(depths)} depths"
            )
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for style, (label, values) in zip(_STYLES, series.items()):
        ax.plot(depths, [v / 1024 for v in values], label=label, **style)
    if baseline is not None:
        ax.axhline(baseline / 1024, color="grey", lw=1, label=baseline_label)
    ax.set(xlabel=xlabel, ylabel="memory kept alive (KiB)", title=title)
    ax.set_ylim(bottom=0)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def first_mismatch(name, got, expected):
    """None if ``got`` matches ``expected``, else a message saying how not
    (`booktools.exercises.diagnose`: a missing cotangent, a wrong or
    transposed shape, a transposed or sign-flipped answer, a factor, or the
    entry that is furthest off)."""
    return diagnose(
        got,
        expected,
        name=name,
        shape_hint="A cotangent has its input's shape.",
        rtol=1e-5,
        atol=1e-8,
    )


def check_op(op, torch_f, inputs, hint):
    """Compare ``op``'s VJP with torch.autograd at ``inputs`` for a seeded
    random cotangent; raise AssertionError with one line per wrong cotangent
    and the ``hint``, or print that all match.

    The rule is called directly first (``op.forward`` then ``op.vjp`` on a
    fresh context), so a wrong shape or a missing cotangent can be named;
    then once more through ``vjplib.vjp``, the way the book uses it.
    """
    inputs = [t.clone() for t in inputs]
    ctx = vjplib.Context()
    ctx.needs_input_grad = (True,) * len(inputs)
    out = op.forward(ctx, *inputs)
    g = torch.Generator().manual_seed(11)
    y_bar = torch.randn(
        torch.as_tensor(out).shape, generator=g, dtype=torch.float64
    )
    got = op.vjp(ctx, y_bar)
    got = got if isinstance(got, tuple) else (got,)
    reqs = [t.clone().requires_grad_() for t in inputs]
    expected = torch.autograd.grad(torch_f(*reqs), reqs, y_bar)
    if len(got) != len(expected):
        raise AssertionError(
            f"{op.__name__}.vjp returned {len(got)} cotangents for "
            f"{len(expected)} inputs; return one per input\nHint: {hint}"
        )
    problems = [
        first_mismatch(f"cotangent of input {i}", a, b)
        for i, (a, b) in enumerate(zip(got, expected))
    ]
    problems = [p for p in problems if p]
    if problems:
        raise AssertionError("\n".join(problems) + f"\nHint: {hint}")
    _, vjp_fn = vjplib.vjp(op.apply, *inputs)  # the same, through vjplib
    for i, (a, b) in enumerate(zip(vjp_fn(y_bar), expected)):
        if not torch.allclose(a, b):
            raise AssertionError(
                f"{op.__name__}: cotangent of input {i} is right when vjp is "
                "called directly but not through vjplib.vjp; write the rule "
                "with the saved tensors and vjplib's operators only"
            )
    n = len(expected)
    print(f"Correct: {op.__name__}: all {n} cotangents match torch.")


@checker
def check_matmul(op):
    """Exercise 1: ``op`` is Y = W X for W of shape 4×3 and X of shape 3×5."""
    g = torch.Generator().manual_seed(12)
    W = torch.randn(4, 3, generator=g, dtype=torch.float64)
    X = torch.randn(3, 5, generator=g, dtype=torch.float64)
    check_op(
        op,
        lambda W, X: W @ X,
        [W, X],
        "dY = dW X + W dX gives W̄ = Ȳ Xᵀ and X̄ = Wᵀ Ȳ; save both inputs.",
    )


@checker
def check_square(op):
    """Exercise 2: ``op`` is Y = X X for a 4×4 matrix X."""
    check_op(
        op,
        lambda X: X @ X,
        [well_conditioned(4, seed=13)],
        "dY = dX X + X dX gives X̄ = Ȳ Xᵀ + Xᵀ Ȳ.",
    )
