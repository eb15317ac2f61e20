"""Chapter 5 (loss.backward(), explained): error display, memory meter,
figures and exercise checkers.

* `error_line`: the stable first sentence of an error, as the chapter
  prints it for torch and vjplib side by side;
* `freed`: whether a node (a torch ``grad_fn`` or a vjplib one) has
  already dropped its saved tensors;
* `kept_by_mode`: bytes a forward pass keeps alive until backward(), with
  grad, under no_grad / inference_mode, and through detach, for vjplib and
  torch, by the book's one meter (``vjplib.memory``); `plot_kept` draws
  them;
* `plot_grad_growth`: |.grad| over steps with and without zero_grad;
* `check_accumulated`, `check_vjp_by_backward`: the exercise checkers; they
  say what a wrong answer did (a missing 1/k, a stale .grad, Jv instead of
  Jᵀv, ...).
"""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import torch

import vjplib

from .exercises import checker, diagnose

__all__ = [
    "error_line",
    "freed",
    "kept_by_mode",
    "plot_kept",
    "plot_grad_growth",
    "micro_batches",
    "check_accumulated",
    "check_vjp_by_backward",
]

F64 = torch.float64


def error_line(err: BaseException, width: int = 72) -> str:
    """``Type: first sentence`` of err, wrapped at `width` columns: the part
    of a message that names the problem (the rest, a hint, may change
    between versions)."""
    text = str(err).strip()
    cut = text.find(". ")
    first = text[: cut + 1] if cut > 0 else text
    return textwrap.fill(
        f"{type(err).__name__}: {first}",
        width,
        subsequent_indent="    ",
        break_on_hyphens=False,
    )


def freed(node) -> bool:
    """True when `node` has freed what it saved: reading a saved tensor
    raises torch's "already been freed" error. `node` is a vjplib node (its
    ``ctx.saved_tensors``) or a torch ``grad_fn`` (its ``_saved_…``
    attributes); a node that saved no tensor is never freed."""
    if isinstance(node, vjplib.Node):
        reads = [lambda: node.ctx.saved_tensors]
    else:
        names = [a for a in dir(node) if a.startswith("_saved_")]
        reads = [lambda a=a: getattr(node, a) for a in names]
    for read in reads:
        try:
            read()
        except RuntimeError as e:
            if "already been freed" in str(e):
                return True
            raise
    return False


def kept_by_mode(f_vjplib, f_torch, X):
    """{mode: (vjplib bytes, torch bytes)} that f's forward pass at X keeps
    alive while its output is held, for the modes "grad", "no_grad",
    "inference_mode" (torch only: vjplib's entry is None) and "detach".

    Both sides are measured by the book's one meter,
    ``vjplib.memory.kept_bytes``: what the graph saved for backward (seen
    through each library's ``saved_tensors_hooks``) and the output, each
    storage once, leaving out X.
    """
    kept = vjplib.memory.kept_bytes

    leaf = vjplib.tensor(X, requires_grad=True)  # made before: not counted
    leaf_t = X.detach().requires_grad_()

    def vl():
        return f_vjplib(leaf)

    def t():
        return f_torch(leaf_t)

    out = {"grad": (kept(vl), kept(t))}
    with vjplib.no_grad():
        b_vl = kept(vl)
    with torch.no_grad():
        out["no_grad"] = (b_vl, kept(t))
    with torch.inference_mode():
        out["inference_mode"] = (None, kept(t))
    out["detach"] = (
        kept(lambda: f_vjplib(leaf.detach())),
        kept(lambda: f_torch(leaf_t.detach())),
    )
    return out


def plot_kept(kept, unit, unit_label):
    """Bars of `kept` (from `kept_by_mode`) in multiples of `unit` bytes."""
    modes = list(kept)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    width = 0.38
    for j, (who, hatch) in enumerate((("vjplib", ""), ("torch", "//"))):
        xs = [i + (j - 0.5) * width for i in range(len(modes))]
        vals = [0 if kept[m][j] is None else kept[m][j] / unit for m in modes]
        ax.bar(xs, vals, width, label=who, hatch=hatch, edgecolor="black")
    for i, m in enumerate(modes):
        if kept[m][0] is None:
            ax.text(i - width / 2, 0.1, "n/a", ha="center", fontsize=8)
    ax.set_xticks(range(len(modes)), modes)
    ax.set_ylabel(f"kept alive ({unit_label})")
    ax.set_title("What the forward pass keeps until backward()")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_grad_growth(with_zero, without_zero):
    """‖.grad‖ per step, with zero_grad and without it."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    steps = range(1, len(with_zero) + 1)
    ax.plot(steps, with_zero, "o-", label="grad = None each step")
    ax.plot(steps, without_zero, "s--", mfc="none", label="never reset")
    ax.set(xlabel="step", ylabel="‖W.grad‖_F", title=".grad accumulates")
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- exercises


def micro_batches(k=4, size=8, d=3, seed=0):
    """A seeded least-squares problem cut into k micro-batches: (W0, list
    of (A, b)), loss of a micro-batch = mean((A W - b)²)."""
    g = torch.Generator().manual_seed(seed)
    W0 = torch.randn(d, 1, generator=g, dtype=F64)
    batches = [
        (
            torch.randn(size, d, generator=g, dtype=F64),
            torch.randn(size, 1, generator=g, dtype=F64),
        )
        for _ in range(k)
    ]
    return W0, batches


def _loss(W, A, b):
    r = A @ W - b
    return (r * r).sum() / r.shape[0]


def _full_gradient(W0, batches):
    """The gradient of the mean loss over the whole batch, from torch."""
    W = W0.clone().requires_grad_()
    A = torch.cat([a for a, _ in batches])
    b = torch.cat([b for _, b in batches])
    (g,) = torch.autograd.grad(_loss(W, A, b), W)
    return g


@checker
def check_accumulated(step, seed=0):
    """Exercise 1. `step(W, batches)` calls backward() once per micro-batch
    on a vjplib leaf W (the caller made it) and returns nothing; afterwards
    W.grad must be the gradient of the mean loss over all the micro-batches
    together. Raises AssertionError saying what went wrong."""
    W0, batches = micro_batches(seed=seed)
    k = len(batches)
    want = _full_gradient(W0, batches)
    W = vjplib.tensor(W0, requires_grad=True)
    stale = torch.full_like(W0, 0.5)
    W.grad = vjplib.tensor(stale)  # left over from an earlier step
    step(W, batches)
    if W.grad is None:
        raise AssertionError(
            "W.grad is None: call loss.backward() for each micro-batch"
        )
    got = W.grad.primal
    last = batches[-1]
    Wl = W0.clone().requires_grad_()
    (g_last,) = torch.autograd.grad(_loss(Wl, *last), Wl)
    diagnoses = [
        (want, None),
        (
            want + stale,
            "W.grad still holds the gradient of an earlier step "
            "(0.5 everywhere here): set W.grad = None before the first "
            "micro-batch",
        ),
        (
            k * want,
            f"your gradient is {k} times too large: divide each "
            f"micro-batch's loss by the number of micro-batches ({k})",
        ),
        (
            k * want + stale,
            f"two mistakes: W.grad was not reset, and the "
            f"losses were not divided by {k}",
        ),
        (
            g_last / k,
            "only the last micro-batch counted: .grad accumulates "
            "by itself, do not reset it between micro-batches",
        ),
        (
            g_last,
            "only the last micro-batch counted, and it was not divided"
            f" by {k}: reset .grad once, before the loop",
        ),
    ]
    message = diagnose(got, want, name="W.grad", hints=diagnoses[1:])
    if message:
        if "entry (" in message:
            message += (
                " It is not the whole-batch gradient; loss of a "
                "micro-batch: mean((A @ W - b)**2)."
            )
        raise AssertionError(message)
    print("Correct: W.grad is the gradient of the whole batch.")


@checker
def check_vjp_by_backward(vjp_by_backward, seed=0):
    """Exercise 2. `vjp_by_backward(f, x, v)` must return Jᵀv for f at x,
    computed with vjplib.tensor and backward(gradient=v). Tried on a
    non-square J, twice in a row. Raises AssertionError saying what went
    wrong."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(3, 5, generator=g, dtype=F64)
    x = torch.randn(5, generator=g, dtype=F64)
    v = torch.randn(3, generator=g, dtype=F64)

    def f(x):  # f: R⁵ → R³, J = diag(1 - tanh²(W x)) W
        return vjplib.tanh(W @ x)

    J = torch.autograd.functional.jacobian(lambda x: torch.tanh(W @ x), x)
    want = J.T @ v
    twice = (
        2 * want,
        "the second call returned twice the VJP: the leaf kept its .grad "
        "from the first call; make a fresh leaf each call "
        "(vjplib.tensor(x, requires_grad=True)) or set .grad = None",
    )
    summed = (J.sum(0), "you got Jᵀ1, the gradient of sum(f): pass gradient=v")
    for attempt in (1, 2):
        got = vjp_by_backward(f, x, v)
        if getattr(got, "shape", None) == (3,):
            raise AssertionError(
                "your result has the output's shape (3,): that is J x_dot, "
                "a JVP; backward(gradient=v) gives Jᵀv, the input's shape"
            )
        message = diagnose(
            got,
            want,
            name="x̄",
            hints=[summed] + ([twice] if attempt == 2 else []),
            shape_hint="It has the input's shape: return x.grad.",
        )
        if message:
            if "entry (" in message:
                message += " Not Jᵀv; compare with vjplib.vjp(f, x)[1](v)."
            raise AssertionError(message)
    print("Correct: backward(gradient=v) left Jᵀv in x.grad.")
