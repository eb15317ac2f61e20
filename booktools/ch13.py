"""Chapter 13 (a network, trained): the data, the network, torch's run, the
figures and the exercise checkers.

* `spiral`, `one_hot`: three interleaved spiral arms in the plane, made
  with a seeded torch generator (float64, no download);
* `init_params`: the network's float64 initialisation, one list of plain
  tensors that the vjplib and the torch version both start from;
* `logits`, `loss`: the network and its softmax cross-entropy with vjplib's
  ops (`relu`, the stable `logsumexp`, `mean`); `logits_torch`,
  `loss_torch`: the same lines with torch's;
* `train_torch`: the torch run, with `torch.optim.SGD`, that keeps the
  parameters after every step, so the chapter's vjplib loop can be compared
  with it step for step (`assert_same`);
* `per_example_grads_torch`: per-example gradients by ``torch.func``;
* `plot_training`, `plot_curves`, `plot_norms`: the figures;
* `check_momentum`, `check_exploding`: the exercise checkers; they say what
  a wrong answer did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import torch

import vjplib

from .exercises import checker, diagnose

__all__ = [
    "spiral",
    "one_hot",
    "init_params",
    "logits",
    "loss",
    "logits_torch",
    "loss_torch",
    "Run",
    "train_torch",
    "assert_same",
    "accuracy",
    "relu_signs",
    "per_example_grads_torch",
    "plot_training",
    "plot_curves",
    "plot_norms",
    "broken_train",
    "check_momentum",
    "check_exploding",
]

F64 = torch.float64
NAMES = ("W1", "b1", "W2", "b2", "W3", "b3")


# ------------------------------------------------------------------ data
def spiral(per_class=100, classes=3, noise=0.2, seed=0):
    """`classes` spiral arms of `per_class` points each, in the square
    [-1, 1]²: (X, y) with X of shape (N, 2), float64, and the labels y
    (int64, 0 … classes-1). Arm k at radius r has angle 4r + 2πk/classes
    plus Gaussian noise of standard deviation `noise` (radians)."""
    if per_class < 1 or classes < 2:
        raise ValueError(
            f"spiral: need per_class >= 1 and classes >= 2, got "
            f"per_class={per_class}, classes={classes}"
        )
    g = torch.Generator().manual_seed(seed)
    r = torch.linspace(0.05, 1.0, per_class, dtype=F64).repeat(classes)
    y = torch.arange(classes).repeat_interleave(per_class)
    angle = (
        4.0 * r
        + y.to(F64) * (2 * math.pi / classes)
        + noise * torch.randn(len(y), generator=g, dtype=F64)
    )
    X = torch.stack([r * torch.sin(angle), r * torch.cos(angle)], dim=1)
    return X, y


def one_hot(y, classes):
    """The labels as float64 rows of a identity matrix: Y[i, y_i] = 1."""
    return torch.nn.functional.one_hot(y, classes).to(F64)


def init_params(sizes=(2, 16, 16, 3), seed=0):
    """[W1, b1, W2, b2, …] as plain float64 tensors: W_k of shape (n_in,
    n_out) drawn from N(0, 2 / n_in) (He's initialisation for relu), b_k
    from N(0, 0.1²). Layer k computes h @ W_k + b_k."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        W = torch.randn(n_in, n_out, generator=g, dtype=F64)
        params.append(W * math.sqrt(2.0 / n_in))
        params.append(0.1 * torch.randn(n_out, generator=g, dtype=F64))
    return params


# ------------------------------------------------------------------ model
def logits(params, X):
    """The network with vjplib's ops: two relu layers, then a linear one.
    Works on vjplib.Tensors (the eager face) and inside vjplib's
    transformations alike."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = vjplib.relu(X @ W1 + b1)
    h2 = vjplib.relu(h1 @ W2 + b2)
    return h2 @ W3 + b3


def loss(params, X, Y):
    """Softmax cross-entropy, averaged over the batch, with the stable
    logsumexp: mean_i (logsumexp(z_i) - ⟨z_i, y_i⟩) for logits z_i and
    one-hot labels y_i."""
    Z = logits(params, X)
    return vjplib.mean(vjplib.logsumexp(Z, dim=1) - (Z * Y).sum(dim=1))


def logits_torch(params, X):
    """`logits` with torch's ops."""
    W1, b1, W2, b2, W3, b3 = params
    h1 = torch.relu(X @ W1 + b1)
    h2 = torch.relu(h1 @ W2 + b2)
    return h2 @ W3 + b3


def loss_torch(params, X, Y):
    """`loss` with torch's ops."""
    Z = logits_torch(params, X)
    return (torch.logsumexp(Z, dim=1) - (Z * Y).sum(dim=1)).mean()


def accuracy(Z, y):
    """The fraction of rows of the logits Z whose largest entry is the
    label."""
    Z = Z.primal if isinstance(Z, vjplib.Tensor) else Z
    return (Z.argmax(dim=1) == y).to(F64).mean().item()


def relu_signs(params, X):
    """Where each relu unit's input is positive, for every example: a bool
    tensor of shape (N, width₁ + width₂), computed with torch. Two
    parameter sets with the same signs lie on one linear piece of the
    network (no kink between them along a straight line, when every point
    of the line has them)."""
    W1, b1, W2, b2 = (_plain(p) for p in params[:4])
    A1 = X @ W1 + b1
    A2 = torch.relu(A1) @ W2 + b2
    return torch.cat([A1 > 0, A2 > 0], dim=1)


# ------------------------------------------------------------------ torch
@dataclass
class Run:
    """A training run: the loss before each step, and the parameters after
    each step (``params[t]`` after step t + 1, detached copies)."""

    losses: list = field(default_factory=list)
    params: list = field(default_factory=list)


def train_torch(
    params0, X, Y, steps, lr, momentum=0.0, zero_grad=True, loss_fn=None
):
    """Train the torch network from `params0` (copied) with
    ``torch.optim.SGD(lr=lr, momentum=momentum)``: each step zero_grad (when
    `zero_grad`), the loss, backward, ``opt.step()``. Returns a `Run`."""
    loss_fn = loss_torch if loss_fn is None else loss_fn
    params = [p.detach().clone().requires_grad_() for p in params0]
    opt = torch.optim.SGD(params, lr=lr, momentum=momentum)
    run = Run()
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        value = loss_fn(params, X, Y)
        value.backward()
        opt.step()
        run.losses.append(value.item())
        run.params.append([p.detach().clone() for p in params])
    return run


def _plain(p):
    return p.primal if isinstance(p, vjplib.Tensor) else torch.as_tensor(p)


def assert_same(params, reference, step=None, rtol=1e-10):
    """Each parameter equals its reference to `rtol`, relative to the
    reference's norm: ‖p - q‖ <= rtol ‖q‖. Raises AssertionError naming the
    step, the parameter and the relative error."""
    if len(params) != len(reference):
        raise AssertionError(
            f"{len(params)} parameters, but the reference has {len(reference)}"
        )
    for i, (p, q) in enumerate(zip(params, reference)):
        p, q = _plain(p), _plain(q)
        name = NAMES[i] if i < len(NAMES) else f"parameter {i}"
        at = "" if step is None else f"after step {step}: "
        if p.shape != q.shape:
            raise AssertionError(
                f"{at}{name} has shape {tuple(p.shape)}, the reference "
                f"{tuple(q.shape)}"
            )
        rel = (
            torch.linalg.vector_norm(p - q)
            / torch.linalg.vector_norm(q).clamp_min(1e-300)
        ).item()
        if not rel <= rtol:
            raise AssertionError(
                f"{at}{name} differs from the reference by {rel:.3g} "
                f"(relative, in norm; allowed {rtol:g})"
            )


def per_example_grads_torch(params, X, Y):
    """The gradient of each example's loss with respect to every parameter,
    by ``torch.func.vmap(torch.func.grad(...))``: a tuple with one tensor
    per parameter, of shape (N,) + the parameter's shape."""

    def example_loss(W1, b1, W2, b2, W3, b3, x, y):
        ps = (W1, b1, W2, b2, W3, b3)
        return loss_torch(ps, x.reshape(1, -1), y.reshape(1, -1))

    grads = torch.func.grad(example_loss, argnums=tuple(range(6)))
    return torch.func.vmap(grads, in_dims=(None,) * 6 + (0, 0))(*params, X, Y)


# ------------------------------------------------------------------ figures
def _grid(X, size):
    lo = X.min(0).values - 0.15
    hi = X.max(0).values + 0.15
    u = torch.linspace(lo[0].item(), hi[0].item(), size, dtype=F64)
    v = torch.linspace(lo[1].item(), hi[1].item(), size, dtype=F64)
    U, V = torch.meshgrid(u, v, indexing="xy")
    return U, V, torch.stack([U.reshape(-1), V.reshape(-1)], dim=1)


def grid_points(X, size=120):
    """The points of a size × size grid around the data, shape
    (size², 2): where the decision boundary is drawn."""
    return _grid(X, size)[2]


def plot_training(losses, losses_torch, Z_grid, X, y):
    """Two panels: the loss per step of vjplib and of torch, drawn on top
    of each other; the class the trained network predicts at every point of
    the grid (`Z_grid`: its logits at `grid_points(X, size)`), with the
    data on top."""
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(9, 3.8), layout="constrained")
    steps = range(1, len(losses) + 1)
    ax.semilogy(steps, losses, "-", lw=3, color="C0", alpha=0.5)
    ax.semilogy(steps, losses_torch, "--", lw=1.2, color="black")
    ax.legend(["vjplib", "torch"], frameon=False)
    ax.set(xlabel="step", ylabel="loss (log scale)", title="Training loss")
    size = int(round(math.sqrt(Z_grid.shape[0])))
    U, V, _ = _grid(X, size)
    Z = _plain(Z_grid)
    probs = torch.softmax(Z, dim=1)
    cls = probs.argmax(dim=1).reshape(size, size)
    conf = probs.max(dim=1).values.reshape(size, size)
    cmaps = ("Blues", "Oranges", "Greens", "Purples", "Reds")
    k = Z.shape[1]
    for c in range(k):
        shade = torch.where(cls == c, conf, torch.nan)
        bx.pcolormesh(
            U.numpy(),
            V.numpy(),
            shade.numpy(),
            cmap=cmaps[c % len(cmaps)],
            vmin=1 / k - 0.3,
            vmax=1.6,  # light shades: the points stay visible
            shading="auto",
        )
    markers = ("o", "s", "^", "D", "v")
    for c in range(k):
        pts = X[y == c]
        bx.scatter(
            pts[:, 0],
            pts[:, 1],
            s=14,
            marker=markers[c % len(markers)],
            color=f"C{[0, 1, 2, 4, 3][c % 5]}",
            edgecolor="black",
            linewidth=0.5,
            label=f"class {c}",
        )
    bx.set(title="Decision regions (vjplib's network)", aspect="equal")
    bx.set_xticks([])
    bx.set_yticks([])
    return fig


def plot_curves(curves, title, ylabel="loss (log scale)"):
    """Loss curves {label: losses per step}, log scale."""
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    styles = ("-", "--", ":", "-.")
    for (label, values), style in zip(curves.items(), styles * 3):
        ax.semilogy(range(1, len(values) + 1), values, style, label=label)
    ax.set(xlabel="step", ylabel=ylabel, title=title)
    ax.legend(frameon=False)
    return fig


def plot_norms(norms, C):
    """A histogram of per-example gradient norms, with the clipping
    threshold C."""
    fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    ax.hist(_plain(norms).numpy(), bins=40, color="C0", alpha=0.8)
    ax.axvline(C, color="black", ls="--", label=f"clip at C = {C:g}")
    ax.set(
        xlabel="‖gradient of one example's loss‖",
        ylabel="examples",
        title="Per-example gradient norms",
    )
    ax.legend(frameon=False)
    return fig


# ------------------------------------------------------------------ exercises
def _vl(params0):
    return [vjplib.tensor(p, requires_grad=True) for p in params0]


def _problem(seed=0):
    X, y = spiral(per_class=40, seed=seed)
    return init_params(seed=seed), X, one_hot(y, 3)


@checker
def check_momentum(momentum_step, steps=5, lr=0.1, mu=0.9):
    """Exercise 1. ``momentum_step(params, velocity, lr, mu)`` gets the
    vjplib parameters (their ``.grad`` filled by backward) and one velocity
    per parameter (vjplib tensors, zero at first) and must update both in
    place, as ``torch.optim.SGD(lr=lr, momentum=mu)`` does. Run for `steps`
    steps against torch; raises AssertionError saying what went wrong."""
    params0, X, Y = _problem()
    want = train_torch(params0, X, Y, steps, lr, momentum=mu)
    others = {
        "plain SGD (the velocity is not used)": train_torch(
            params0, X, Y, steps, lr
        ),
        "dampened": _train_momentum(params0, X, Y, steps, lr, mu, "damp"),
        "late": _train_momentum(params0, X, Y, steps, lr, mu, "late"),
        "nesterov": train_torch_nesterov(params0, X, Y, steps, lr, mu),
        "sign": _train_momentum(params0, X, Y, steps, lr, mu, "sign"),
    }
    params = _vl(params0)
    velocity = [vjplib.tensor(torch.zeros_like(p)) for p in params0]
    for step in range(1, steps + 1):
        for p in params:
            p.grad = None
        loss(params, X, Y).backward()
        momentum_step(params, velocity, lr, mu)
        if any(
            not (isinstance(p, vjplib.Tensor) and p.is_leaf) for p in params
        ):
            raise AssertionError(
                "a parameter is no longer a leaf: update it in place "
                "(p.sub_(...)) under vjplib.no_grad(), do not rebind it"
            )
        try:
            assert_same(params, want.params[step - 1], step, rtol=1e-9)
        except AssertionError as err:
            raise AssertionError(
                _momentum_diagnosis(params, others, step)
                or _what_differs(params, want.params[step - 1], step)
                or str(err)
            ) from None
    print(f"Correct: {steps} steps equal to torch.optim.SGD(momentum={mu:g}).")


def _what_differs(params, reference, step):
    """`booktools.exercises.diagnose` on the first parameter that differs
    from torch's (a sign, a factor, a shape, or its worst entry)."""
    for i, (p, q) in enumerate(zip(params, reference)):
        name = NAMES[i] if i < len(NAMES) else f"parameter {i}"
        message = diagnose(
            _plain(p),
            _plain(q),
            name=f"after step {step}, {name}",
            rtol=1e-7,
            atol=1e-10,
        )
        if message:
            return message
    return None


def _momentum_diagnosis(params, others, step):
    messages = {
        "plain SGD (the velocity is not used)": (
            "your steps are plain SGD: the velocity never enters the update"
            " (or is rebuilt from zero each step). Keep it between calls: "
            "v <- mu v + grad, then p <- p - lr v"
        ),
        "dampened": (
            "you averaged: v <- mu v + (1 - mu) grad. torch's SGD adds the "
            "whole gradient: v <- mu v + grad"
        ),
        "late": (
            "you moved p with the old velocity and updated v afterwards: "
            "update v first (v <- mu v + grad), then p <- p - lr v"
        ),
        "nesterov": (
            "that is Nesterov's momentum (p <- p - lr (grad + mu v)); this "
            "exercise asks for torch's default, p <- p - lr v"
        ),
        "sign": (
            "the parameters move uphill: subtract lr v from p, do not add it"
        ),
    }
    for key, run in others.items():
        try:
            assert_same(params, run.params[step - 1], rtol=1e-9)
        except AssertionError:
            continue
        return f"after step {step}: " + messages[key]
    return None


def _train_momentum(params0, X, Y, steps, lr, mu, variant):
    """Wrong momentum updates, for the checker's diagnoses (torch)."""
    params = [p.detach().clone().requires_grad_() for p in params0]
    vel = [torch.zeros_like(p) for p in params0]
    run = Run()
    for _ in range(steps):
        for p in params:
            p.grad = None
        loss_torch(params, X, Y).backward()
        with torch.no_grad():
            for p, v in zip(params, vel):
                if variant == "damp":
                    v.mul_(mu).add_((1 - mu) * p.grad)
                    p.sub_(lr * v)
                elif variant == "late":
                    p.sub_(lr * v)
                    v.mul_(mu).add_(p.grad)
                elif variant == "sign":
                    v.mul_(mu).add_(p.grad)
                    p.add_(lr * v)
        run.params.append([p.detach().clone() for p in params])
    return run


def train_torch_nesterov(params0, X, Y, steps, lr, mu):
    params = [p.detach().clone().requires_grad_() for p in params0]
    opt = torch.optim.SGD(params, lr=lr, momentum=mu, nesterov=True)
    run = Run()
    for _ in range(steps):
        opt.zero_grad()
        loss_torch(params, X, Y).backward()
        opt.step()
        run.params.append([p.detach().clone() for p in params])
    return run


def _sum_loss(params, X, Y):
    """The broken loop's loss: summed over the batch, not averaged."""
    Z = logits(params, X)
    return (vjplib.logsumexp(Z, dim=1) - (Z * Y).sum(dim=1)).sum()


def broken_train(params, X, Y, steps=30, lr=0.5):
    """Exercise 2's loop: its loss explodes. (Find why.) Returns the loss
    before each step."""
    losses = []
    for _ in range(steps):
        for p in params:
            p.grad = None
        value = _sum_loss(params, X, Y)
        value.backward()
        with vjplib.no_grad():
            for p in params:
                p.sub_(lr * p.grad)
        losses.append(value.item() / X.shape[0])
    return losses


@checker
def check_exploding(train, steps=30, lr=0.5):
    """Exercise 2. ``train(params, X, Y, steps, lr)`` is your repair of
    `broken_train`: it must train the vjplib parameters in place, step for
    step as torch's SGD on the *mean* cross-entropy with learning rate
    `lr`. Raises AssertionError saying what is still wrong."""
    params0, X, Y = _problem(seed=1)
    want = train_torch(params0, X, Y, steps, lr)
    params = _vl(params0)
    train(params, X, Y, steps, lr)
    final = [_plain(p) for p in params]
    if not all(torch.isfinite(p).all() for p in final):
        raise AssertionError(
            "the parameters are inf or NaN: the loss still explodes. Each "
            "step moves p by lr times the gradient; how large is the "
            "gradient of a loss summed over N examples?"
        )
    try:
        assert_same(params, want.params[-1], steps, rtol=1e-8)
    except AssertionError:
        pass
    else:
        print(
            "Correct: the loss is the batch mean again, and the run equals "
            "torch's step for step."
        )
        return
    final_loss = loss_torch(final, X, Y).item()
    if final_loss > want.losses[0]:
        raise AssertionError(
            f"the loss ends at {final_loss:.3g}, above where it started "
            f"({want.losses[0]:.3g}): it still diverges. Compare the loss "
            "with the chapter's: what does .sum() over the batch do to the "
            "gradient?"
        )
    raise AssertionError(
        f"the loss falls now (to {final_loss:.3g}), but not as the mean "
        f"cross-entropy's does at lr = {lr:g} (torch reaches "
        f"{loss_torch(want.params[-1], X, Y).item():.3g}): a smaller lr "
        "only hides the cause. Average the loss over the batch instead of "
        "summing it (or divide lr by exactly N)."
    )
