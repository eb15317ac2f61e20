"""Chapter 11 (Kinks, ties and NaNs): the machinery behind its checks,
tables, picture and exercises.

* `one_sided`, `min_norm`: the two one-sided difference quotients of a
  function of one number, and the element of smallest norm of an interval
  (the subgradient torch's rule 2 picks);
* `subgradient_gap`, `is_subgradient`, `is_supergradient`: does g satisfy
  f(y) ≥ f(x) + ⟨g, y − x⟩ (≤ for a supergradient) on sampled points y?
  `simplex_points`: random subgradients of a max at a tie, to compare norms;
* `grads_side_by_side`: torch's and vjplib's gradients (both faces) of the
  same ops at the same points, asserted equal, NaN and inf included;
  `torch_vs_jax`: torch and JAX run on the same points (`cases()`);
  `jax_primitives`: what JAX traces a function into;
* `plot_subgradients`: |x| and relu with the lines through the kink whose
  slopes are subgradients, and the slope each library picks;
* `check_safe_sqrt`, `check_predictions`: the exercise checkers; they say
  why a wrong answer is wrong.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch

import vjplib

from .exercises import checker, diagnose

__all__ = [
    "one_sided",
    "min_norm",
    "subgradient_gap",
    "is_subgradient",
    "is_supergradient",
    "simplex_points",
    "fmt",
    "Table",
    "grads_side_by_side",
    "torch_grad",
    "jax_grad",
    "cases",
    "torch_vs_jax",
    "jax_primitives",
    "plot_subgradients",
    "check_safe_sqrt",
    "check_predictions",
]

F64 = torch.float64


# ------------------------------------------------------- subgradients


def one_sided(f, x, h=1e-6):
    """(left, right): the one-sided difference quotients of a function of
    one number at x, (f(x) − f(x − h)) / h and (f(x + h) − f(x)) / h, in
    float64. f takes and returns a 0-d torch tensor."""
    x = torch.as_tensor(x, dtype=F64)
    fx = float(f(x))
    left = (fx - float(f(x - h))) / h
    right = (float(f(x + h)) - fx) / h
    return left, right


def min_norm(lo, hi):
    """The element of smallest absolute value of the interval [lo, hi]: 0
    when the interval holds 0, else the end nearer to 0."""
    if lo > hi:
        raise ValueError(f"min_norm: empty interval [{lo}, {hi}]")
    return min(max(0.0, lo), hi)


def _samples(x, n, radius, seed):
    """n points y around x: x + radius·u with u uniform in the cube, plus
    x ± radius along each axis and along the diagonal (where ties of a max
    move together)."""
    x = torch.as_tensor(x, dtype=F64)
    g = torch.Generator().manual_seed(seed)
    u = 2 * torch.rand(n, *x.shape, generator=g, dtype=F64) - 1
    axes = torch.eye(x.numel(), dtype=F64).reshape(-1, *x.shape)
    diagonal = torch.ones(1, *x.shape, dtype=F64)
    directions = torch.cat([u, axes, -axes, diagonal, -diagonal])
    return x + radius * directions


def subgradient_gap(f, x, g, *, n=4096, radius=1.0, seed=0):
    """The smallest value of f(y) − f(x) − ⟨g, y − x⟩ over the sampled
    points y (`_samples`): ≥ 0 (up to rounding) when g is a subgradient of
    f at x on that neighbourhood; negative shows a y where it is not.
    f takes a tensor of x's shape and returns a number."""
    x = torch.as_tensor(x, dtype=F64)
    g = torch.as_tensor(g, dtype=F64)
    if g.shape != x.shape:
        raise ValueError(
            f"subgradient_gap: g has shape {tuple(g.shape)}, x has "
            f"{tuple(x.shape)}; a subgradient has the input's shape"
        )
    fx = float(f(x))
    gaps = [
        float(f(y)) - fx - float((g * (y - x)).sum())
        for y in _samples(x, n, radius, seed)
    ]
    return min(gaps)


def is_subgradient(f, x, g, *, tol=1e-12, **kw):
    """Whether f(y) ≥ f(x) + ⟨g, y − x⟩ on every sampled y (the definition
    of a subgradient, on a neighbourhood of x)."""
    return subgradient_gap(f, x, g, **kw) >= -tol


def is_supergradient(f, x, g, *, tol=1e-12, **kw):
    """Whether f(y) ≤ f(x) + ⟨g, y − x⟩ on every sampled y: g is a
    subgradient of −f, negated."""
    g = torch.as_tensor(g, dtype=F64)
    return is_subgradient(lambda y: -f(y), x, -g, tol=tol, **kw)


def simplex_points(indices, size, n=1000, seed=0):
    """n random convex combinations of the unit vectors e_i, i in
    `indices`, in R^size (uniform on that simplex): the subgradients of
    max(x) at a point where exactly those entries tie."""
    g = torch.Generator().manual_seed(seed)
    w = -torch.log(torch.rand(n, len(indices), generator=g, dtype=F64))
    w = w / w.sum(1, keepdim=True)
    out = torch.zeros(n, size, dtype=F64)
    out[:, list(indices)] = w
    return out


# ------------------------------------------------------- tables


def fmt(v) -> str:
    """A value as the tables print it: 3 significant digits, nan and inf as
    such, a vector as [a, b, …] (a torch tensor, a JAX array, a number)."""
    t = torch.as_tensor(_to_list(v), dtype=F64)
    if t.ndim == 0:
        x = t.item()
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return "0" if x == 0 else f"{x:.3g}"
    return "[" + ", ".join(fmt(e) for e in t) + "]"


def _to_list(v):
    if isinstance(v, torch.Tensor):
        return v.detach().to(F64).tolist()
    if hasattr(v, "tolist"):  # a JAX or NumPy array
        return v.tolist()
    return v


@dataclass
class Table:
    """Rows of text under a header, shown as an HTML table in the book and
    as aligned text elsewhere. `data` keeps the values the cells were
    printed from, by row label, for the page's asserts; `code`, when
    given, per row the code that ran (a tuple of texts), shown under the
    row's label in the HTML table only."""

    header: tuple
    rows: list
    data: dict
    code: list | None = None

    def _repr_html_(self) -> str:
        esc = html.escape
        code = self.code or [None] * len(self.rows)
        head = "".join(f"<th>{esc(h)}</th>" for h in self.header)
        body = []
        for row, src in zip(self.rows, code):
            label = esc(row[0])
            if src is not None:
                label += (
                    "<br><small>"
                    + " · ".join(f"<code>{esc(part)}</code>" for part in src)
                    + "</small>"
                )
            cells = "".join(
                f'<td style="white-space:nowrap"><code>{esc(c)}</code></td>'
                for c in row[1:]
            )
            body.append(f"<tr><td>{label}</td>{cells}</tr>")
        return (
            '<table class="table kinks-table">'
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
            "</table>"
        )

    def __repr__(self) -> str:
        cols = list(zip(self.header, *self.rows))
        widths = [max(len(c) for c in col) for col in cols]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
            for r in [self.header, *self.rows]
        ]
        return "\n".join(lines)


def torch_grad(f, x):
    """The gradient torch's backward() leaves in x.grad for f(x).sum(), in
    float64 (f a torch function). A tuple x gives f several inputs, and a
    tuple of gradients comes back."""
    xs = x if isinstance(x, tuple) else (x,)
    xs = [torch.as_tensor(v, dtype=F64).clone().requires_grad_() for v in xs]
    f(*xs).sum().backward()
    grads = tuple(v.grad for v in xs)
    return grads if isinstance(x, tuple) else grads[0]


def _vjplib_grads(f, x):
    """vjplib's gradient of f(x).sum() in both faces: the eager one
    (vjplib.tensor, backward, .grad) and the functional one (vjplib.grad);
    a tuple x as in `torch_grad`."""
    xs = x if isinstance(x, tuple) else (x,)
    xs = [torch.as_tensor(v, dtype=F64) for v in xs]
    leaves = [vjplib.tensor(v.clone(), requires_grad=True) for v in xs]
    f(*leaves).sum().backward()
    eager = tuple(leaf.grad.primal for leaf in leaves)
    functional = vjplib.grad(
        lambda *t: vjplib.sum(f(*t)), argnums=tuple(range(len(xs)))
    )(*[v.clone() for v in xs])
    if not isinstance(x, tuple):
        return eager[0], functional[0]
    return eager, tuple(functional)


def _same(a, b):
    """a and b equal, NaN where NaN (tensors, or tuples of them)."""
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b))
    try:
        torch.testing.assert_close(
            a, b, equal_nan=True, rtol=1e-12, atol=1e-12
        )
    except AssertionError:
        return False
    return True


def _fmt_any(v):
    if isinstance(v, tuple):
        return "(" + ", ".join(fmt(e) for e in v) + ")"
    return fmt(v)


def grads_side_by_side(rows):
    """rows: (label, point, torch's f, vjplib's f); a point that is a tuple
    gives f several inputs. Runs torch's backward() and vjplib's (both
    faces) on the same point, asserts that the three gradients are equal
    (NaN where NaN, inf where inf) and returns a Table of label, point,
    torch, vjplib; `.data[label]` is torch's gradient."""
    out, data = [], {}
    for label, x, f_torch, f_vjplib in rows:
        g_torch = torch_grad(f_torch, x)
        faces = ("eager", "vjplib.grad")
        for face, g in zip(faces, _vjplib_grads(f_vjplib, x)):
            if not _same(g, g_torch):
                raise AssertionError(
                    f"grads_side_by_side: {label} at {_fmt_any(x)}: vjplib "
                    f"({face}) gives {_fmt_any(g)}, torch "
                    f"{_fmt_any(g_torch)}"
                )
        out.append((label, _fmt_any(x), _fmt_any(g_torch), _fmt_any(g)))
        data[label] = g_torch
    return Table(("op at the point", "x", "torch", "vjplib"), out, data)


def jax_grad(f, x):
    """jax.grad of sum(f(x)) at x, in float64 (f a jax.numpy function)."""
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        x = jnp.asarray(_to_list(x), dtype=jnp.float64)
        return jax.grad(lambda t: jnp.sum(f(t)))(x)


def cases():
    """The rows `torch_vs_jax` runs: (label, torch code, JAX code, torch
    function, JAX function, point)."""
    import jax
    import jax.numpy as jnp

    def where_t(x):
        return torch.where(x > 0, torch.sqrt(x), 0.0)

    def where_j(x):
        return jnp.where(x > 0, jnp.sqrt(x), 0.0)

    def where2_t(x):
        return torch.where(x > 0, torch.sqrt(torch.where(x > 0, x, 1.0)), 0.0)

    def where2_j(x):
        return jnp.where(x > 0, jnp.sqrt(jnp.where(x > 0, x, 1.0)), 0.0)

    return [
        ("relu at 0", "torch.relu(x)", "jax.nn.relu(x)",
         torch.relu, jax.nn.relu, 0.0),
        ("abs at 0", "x.abs()", "jnp.abs(x)", torch.abs, jnp.abs, 0.0),
        ("sqrt at 0", "x.sqrt()", "jnp.sqrt(x)", torch.sqrt, jnp.sqrt, 0.0),
        ("clamp at its bounds", "x.clamp(-1, 1)", "jnp.clip(x, -1, 1)",
         lambda x: x.clamp(-1.0, 1.0), lambda x: jnp.clip(x, -1.0, 1.0),
         [-1.0, 1.0]),
        ("max, a tie", "x.max()", "jnp.max(x)",
         torch.max, jnp.max, [2.0, 2.0, 1.0]),
        ("max along a dim, a tie", "x.max(0).values", "jnp.max(x, axis=0)",
         lambda x: x.max(0).values, lambda x: jnp.max(x, axis=0),
         [2.0, 2.0, 1.0]),
        ("maximum, a tie", "torch.maximum(x[0], x[1])",
         "jnp.maximum(x[0], x[1])",
         lambda x: torch.maximum(x[0], x[1]),
         lambda x: jnp.maximum(x[0], x[1]), [2.0, 2.0]),
        ("norm at 0", "torch.linalg.norm(x)", "jnp.linalg.norm(x)",
         torch.linalg.norm, jnp.linalg.norm, [0.0, 0.0]),
        ("sqrt(sum(x²)) at 0", "(x * x).sum().sqrt()",
         "jnp.sqrt(jnp.sum(x * x))",
         lambda x: (x * x).sum().sqrt(), lambda x: jnp.sqrt(jnp.sum(x * x)),
         [0.0, 0.0]),
        ("where(x > 0, sqrt(x), 0)", "torch.where(x > 0, x.sqrt(), 0)",
         "jnp.where(x > 0, jnp.sqrt(x), 0)", where_t, where_j, [0.0, 4.0]),
        ("double where",
         "torch.where(x > 0, torch.where(x > 0, x, 1).sqrt(), 0)",
         "jnp.where(x > 0, jnp.sqrt(jnp.where(x > 0, x, 1)), 0)",
         where2_t, where2_j, [0.0, 4.0]),
    ]  # fmt: skip


def torch_vs_jax(rows=None):
    """torch's backward() and jax.grad on the same points (`rows`, by
    default `cases()`): a Table of label, point, torch, JAX; `.data[label]`
    holds the pair of gradients (torch's, and JAX's as a torch tensor) the
    row printed."""
    out, data, code = [], {}, []
    for label, src_t, src_j, f_t, f_j, x in rows or cases():
        g_t, g_j = torch_grad(f_t, x), jax_grad(f_j, x)
        out.append((label, fmt(x), fmt(g_t), fmt(g_j)))
        data[label] = (g_t, torch.as_tensor(_to_list(g_j), dtype=F64))
        code.append((src_t, src_j))
    return Table(("at the point", "x", "torch", "JAX"), out, data, code)


def jax_primitives(f, *args):
    """The names of the primitives JAX traces f(*args) into, in order,
    looking inside the jit calls jax.numpy makes (float64)."""
    import jax

    names = []

    def walk(jaxpr):
        for eqn in jaxpr.eqns:
            inner = [
                getattr(v, "jaxpr", v)
                for v in eqn.params.values()
                if hasattr(getattr(v, "jaxpr", v), "eqns")
            ]
            if inner:
                for j in inner:
                    walk(j)
            else:
                names.append(eqn.primitive.name)

    with jax.enable_x64(True):
        walk(jax.make_jaxpr(f)(*args).jaxpr)
    return names


# ------------------------------------------------------- the picture


def plot_subgradients(functions, picks, n_lines=9, span=1.5):
    """One panel per function of one number with a kink at 0: its graph,
    the lines y = g·x through the kink for n_lines slopes g spread over
    its subdifferential [f′(0⁻), f′(0⁺)] (from `one_sided`), and the line
    of each library's pick, labelled.

    functions: {title: torch function}; picks: {title: {library: g}}. A
    pick outside the subdifferential is refused: it would be no
    subgradient, and the picture would say otherwise."""
    fig, axes = plt.subplots(
        1, len(functions), figsize=(4.2 * len(functions), 3.6), squeeze=False
    )
    xs = torch.linspace(-span, span, 301, dtype=F64)
    styles = [("-", 2.6, "#B45309"), ("--", 2.0, "#1D4ED8"), (":", 2.0, "k")]
    for ax, (title, f) in zip(axes[0], functions.items()):
        lo, hi = one_sided(f, 0.0)
        lo, hi = round(lo, 6), round(hi, 6)
        for k in range(n_lines):
            g = lo + (hi - lo) * k / (n_lines - 1)
            ax.plot(
                xs, g * xs, color="#9CA3AF", lw=0.8, gid="subgradient",
                label="subgradient lines" if k == 0 else None,
            )  # fmt: skip
        ax.plot(xs, f(xs), color="k", lw=2.2, gid="graph")
        for (who, g), (ls, lw, colour) in zip(
            picks.get(title, {}).items(), styles
        ):
            g = float(g)
            if not lo - 1e-9 <= g <= hi + 1e-9:
                raise ValueError(
                    f"plot_subgradients: {who}'s pick {g} for {title} is "
                    f"not in the subdifferential [{lo}, {hi}]"
                )
            ax.plot(
                xs, g * xs, ls=ls, lw=lw, color=colour,
                label=f"{who}: slope {fmt(g)}", gid=f"pick-{who}",
            )  # fmt: skip
        ax.set(
            title=f"{title}: slopes in [{fmt(lo)}, {fmt(hi)}]",
            xlabel="x", ylim=(-span, span), xlim=(-span, span),
        )  # fmt: skip
        ax.axhline(0, color="k", lw=0.5)
        ax.axvline(0, color="k", lw=0.5)
        ax.legend(loc="upper center", framealpha=0.9, edgecolor="none")
    fig.tight_layout()
    return fig


# ------------------------------------------------------- exercises


@checker
def check_safe_sqrt(safe_sqrt):
    """Exercise 1. `safe_sqrt(x)`, written with vjplib ops, must equal
    sqrt(x) where x > 0 and 0 elsewhere, and its gradient (vjplib.grad of
    the sum) must be 1 / (2 sqrt(x)) where x > 0 and 0 elsewhere: no NaN.
    Raises AssertionError saying what went wrong."""
    x = torch.tensor([-1.0, 0.0, 0.25, 4.0], dtype=F64)
    pos = x > 0
    want_y = torch.where(pos, x.clamp(min=0).sqrt(), 0.0)
    want_g = torch.where(pos, 0.5 / x.clamp(min=1e-300).sqrt(), 0.0)
    y = safe_sqrt(x)
    message = diagnose(
        y, want_y, name="safe_sqrt(x)", shape_hint="It works entry by entry."
    )
    if message:
        y = y.primal if isinstance(y, vjplib.Tensor) else y
        if isinstance(y, torch.Tensor) and y.shape == x.shape:
            if torch.isnan(y[~pos]).any():
                message = (
                    "safe_sqrt(-1) is nan: the value must be 0 where x <= 0 "
                    "(a where around the sqrt selects it)"
                )
            else:
                message += (
                    f" At x = {fmt(x)} the values are {fmt(y)}, expected "
                    f"{fmt(want_y)}: sqrt(x) where x > 0, 0 elsewhere."
                )
        raise AssertionError(message)
    g = vjplib.grad(lambda t: vjplib.sum(safe_sqrt(t)))(x.clone())
    g = g.primal if isinstance(g, vjplib.Tensor) else g
    bad = torch.isnan(g) | torch.isinf(g)
    if bad[~pos].any():
        where = fmt(x[bad])
        raise AssertionError(
            f"the gradient is {fmt(g)} at x = {fmt(x)}: not finite at "
            f"{where}. The outer where sends the sqrt branch the cotangent "
            "0 there, and the sqrt still meets its local derivative "
            "1 / (2 sqrt(x)), inf at 0 and nan below: 0 · inf = nan. Make "
            "the sqrt's input safe too: sqrt(where(x > 0, x, 1))"
        )
    message = diagnose(g, want_g, name="the gradient")
    if message and "entry (" not in message:  # a sign, a factor
        raise AssertionError(message)
    if not torch.allclose(g[pos], want_g[pos]):
        raise AssertionError(
            f"the gradient where x > 0 is {fmt(g[pos])}, expected "
            f"{fmt(want_g[pos])}: the inner where must leave x unchanged "
            "where x > 0"
        )
    if not torch.allclose(g, want_g):
        raise AssertionError(
            f"the gradient where x <= 0 is {fmt(g[~pos])}, expected 0: "
            "the output there is the constant 0"
        )
    print("Correct: the values of sqrt where x > 0, and a finite gradient "
          "everywhere (0 where x <= 0).")  # fmt: skip


#: Exercise 2: the expressions, the point, torch's function, and what a
#: wrong guess usually means.
_PREDICT = {
    "relu(x) - relu(-x)": (
        0.0,
        lambda x: torch.relu(x) - torch.relu(-x),
        {
            1.0: "1 is the derivative of the function (it is x itself), "
            "but backward() applies the rules op by op: relu′(0) = 0 on "
            "both paths, so 0 − 0 · (−1) = 0.",
        },
        "backward() chains the ops' own rules: relu′(0) = 0 twice.",
    ),
    "x.clamp(0, 1)": (
        0.0,
        lambda x: x.clamp(0.0, 1.0),
        {
            0.0: "0 is the min-norm subgradient of max(x, 0) at 0, but "
            "torch's clamp passes the gradient at its bounds (1); relu and "
            "hardtanh give 0 there.",
            0.5: "0.5 is what JAX's clip gives (a tie of its maximum).",
        },
        "torch's clamp gives 1 at its bounds.",
    ),
    "torch.stack([x, x]).max()": (
        1.0,
        lambda x: torch.stack([x, x]).max(),
        {
            0.5: "the tie splits the cotangent evenly, 0.5 to each entry, "
            "but both entries are x: their shares add up to 1.",
        },
        "a tie of x with itself: 0.5 + 0.5.",
    ),
    "(x * x).sqrt()": (
        0.0,
        lambda x: (x * x).sqrt(),
        {
            0.0: "|x| is convex with min-norm subgradient 0 at 0, but "
            "backward() does not see |x|: sqrt′(0) = inf meets 2x = 0, "
            "and 0 · inf = nan.",
        },
        "sqrt′(0) = inf times d(x²)/dx = 0 is nan.",
    ),
}


@checker
def check_predictions(predictions):
    """Exercise 2. `predictions` maps each expression of `_PREDICT` to the
    number torch's backward() leaves in x.grad (float('nan') for NaN).
    Runs torch, then says for each wrong guess why torch answers what it
    does. Raises AssertionError when any is wrong."""
    missing = [e for e in _PREDICT if e not in predictions]
    if missing:
        raise AssertionError(f"predict these too: {missing}")
    wrong = []
    for expr, (x, f, why, rule) in _PREDICT.items():
        truth = float(torch_grad(f, x))
        guess = float(predictions[expr])
        same = (math.isnan(truth) and math.isnan(guess)) or guess == truth
        if same:
            continue
        reason = next(
            (m for v, m in why.items() if math.isclose(v, guess)), rule
        )
        wrong.append(
            f"{expr} at x = {fmt(x)}: you said {fmt(guess)}, torch gives "
            f"{fmt(truth)}. {reason}"
        )
    if wrong:
        raise AssertionError("\n".join(wrong))
    print(f"Correct: all {len(_PREDICT)} predictions match torch.")
