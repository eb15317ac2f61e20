"""Chapter 12 ("Your own rule"): one rule, three libraries, every transform.

``side_by_side`` runs a function written three times (vjplib, a torch
new-style ``autograd.Function``, JAX's ``custom_jvp``/``custom_vjp``) under
grad, jvp, vmap and a second-order transform, asserts the three agree, and
says which transforms it ran. ``check_fd`` holds a rule to central finite
differences at points where the function is smooth. ``plot_default_vs_yours``
draws a derivative by the default rule and by yours along a line, with the
points where the default one gives NaN or inf marked.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

import vjplib

MODES = ("grad", "jvp", "vmap", "hessian", "jacrev of grad")


def to_jax(t: torch.Tensor):
    import jax.numpy as jnp

    return jnp.asarray(t.detach().numpy())


def to_torch(a) -> torch.Tensor:
    return torch.from_numpy(np.array(a, dtype=np.float64))


def _sum(f, total):
    return lambda x: total(f(x))


def _results(lib: str, f: Callable, x, x_dot, xs, modes):
    """What each transform gives for f in library `lib`, as torch tensors."""
    out = {}
    if lib == "vjplib":
        tot = _sum(f, vjplib.sum)
        run = {
            "grad": lambda: vjplib.grad(tot)(x),
            "jvp": lambda: vjplib.jvp(f, (x,), (x_dot,))[1],
            "vmap": lambda: vjplib.vmap(vjplib.grad(tot))(xs),
            "hessian": lambda: vjplib.hessian(tot)(x),
            "jacrev of grad": lambda: vjplib.jacrev(vjplib.grad(tot))(x),
        }
    elif lib == "torch":
        tf = torch.func
        tot = _sum(f, torch.sum)
        run = {
            "grad": lambda: tf.grad(tot)(x),
            "jvp": lambda: tf.jvp(f, (x,), (x_dot,))[1],
            "vmap": lambda: tf.vmap(tf.grad(tot))(xs),
            "hessian": lambda: tf.hessian(tot)(x),
            "jacrev of grad": lambda: tf.jacrev(tf.grad(tot))(x),
        }
    else:
        import jax
        import jax.numpy as jnp

        tot = _sum(f, jnp.sum)
        xj, x_dotj, xsj = to_jax(x), to_jax(x_dot), to_jax(xs)
        run = {
            "grad": lambda: jax.grad(tot)(xj),
            "jvp": lambda: jax.jvp(f, (xj,), (x_dotj,))[1],
            "vmap": lambda: jax.vmap(jax.grad(tot))(xsj),
            "hessian": lambda: jax.hessian(tot)(xj),
            "jacrev of grad": lambda: jax.jacrev(jax.grad(tot))(xj),
        }
    for mode in modes:
        value = run[mode]()
        out[mode] = value if lib != "jax" else to_torch(value)
    return out


def side_by_side(
    ours: Callable,
    in_torch: Callable,
    in_jax: Callable,
    x: torch.Tensor,
    x_dot: torch.Tensor,
    xs: torch.Tensor,
    *,
    modes: Sequence[str] = ("grad", "jvp", "vmap", "hessian"),
    reference: dict | None = None,
) -> str:
    """Run ``ours`` (vjplib), ``in_torch`` and ``in_jax`` under each of
    `modes` (grad of the sum, jvp along x_dot, vmap of grad over the rows of
    xs, the Hessian of the sum (forward over reverse), the Jacobian of the
    gradient (reverse over reverse)), assert that the three agree (float64)
    and equal `reference[mode]` where given. Returns one line saying what
    was checked."""
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"side_by_side: unknown mode {mode!r}")
    results = {
        lib: _results(lib, f, x, x_dot, xs, modes)
        for lib, f in (("vjplib", ours), ("torch", in_torch), ("jax", in_jax))
    }
    for mode in modes:
        ref = results["torch"][mode]
        for lib in ("vjplib", "jax"):
            got = results[lib][mode]
            if not torch.allclose(got, ref, rtol=1e-9, atol=1e-12):
                raise AssertionError(f"{mode}: {lib} gives {got}, torch {ref}")
        if reference and mode in reference:
            if not torch.allclose(ref, reference[mode], rtol=1e-9):
                raise AssertionError(
                    f"{mode}: {ref} differs from the reference "
                    f"{reference[mode]}"
                )
    return f"{', '.join(modes)}: vjplib = torch = JAX"


def check_fd(
    f: Callable, x: torch.Tensor, *, rtol: float = 1e-6, forward: bool = True
) -> float:
    """Hold vjplib's Jacobian of f (jacrev, so reverse mode, and jacfwd
    unless ``forward=False``) at x to central finite differences of f;
    returns the largest relative error (it must be below rtol)."""
    J_fd = vjplib.jacobian_fd(f, x)
    worst = 0.0
    jacobians = [vjplib.jacrev(f)(x)]
    if forward:
        jacobians.append(vjplib.jacfwd(f)(x))
    for J in jacobians:
        scale = J_fd.abs().max().clamp_min(1e-300)
        worst = max(worst, float((J - J_fd).abs().max() / scale))
    if not worst < rtol:
        raise AssertionError(
            f"check_fd: the rule differs from finite differences by "
            f"{worst:.3g} (relative), more than {rtol}"
        )
    return worst


def plot_default_vs_yours(panels: Sequence[dict]):
    """One panel per dict: ``t`` (the points), ``default`` and ``yours``
    (the derivative at each point by the two rules), ``title`` and
    ``xlabel``. Where the default rule gives NaN or inf: red crosses on the
    axis (up to five points) or a red band over them."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.4))
    axes = np.atleast_1d(axes)
    for ax, p in zip(axes, panels):
        t = np.asarray(p["t"], dtype=float)
        default = np.asarray(p["default"], dtype=float)
        yours = np.asarray(p["yours"], dtype=float)
        bad = ~np.isfinite(default)
        ax.plot(t, yours, color="tab:blue", lw=2.5, label="your rule")
        ax.plot(
            t[~bad],
            default[~bad],
            color="tab:orange",
            lw=1.2,
            ls="--",
            label="default rule",
        )
        if 0 < bad.sum() <= 5:
            ax.plot(
                t[bad],
                np.zeros(bad.sum()),
                "x",
                color="tab:red",
                ms=9,
                mew=2,
                label="default rule: NaN or inf",
            )
        elif bad.any():
            ax.axvspan(
                t[bad].min(),
                t[bad].max(),
                color="tab:red",
                alpha=0.15,
                label="default rule: NaN or inf",
            )
        ax.set_title(p["title"])
        ax.set_xlabel(p["xlabel"])
        ax.grid(alpha=0.3)
        ax.legend(loc=p.get("legend", "best"), fontsize=8)
    fig.tight_layout()
    return fig, axes
