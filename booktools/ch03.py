"""Machinery of chapter 3 (structured Jacobians), kept off the page.

* `plot_jacobians_stacked`: Jacobians one above the other, legible on a phone;
* `seconds`, `time_routes`, `plot_route_costs`: the cost of a VJP through an
  explicit Jacobian against the VJP rule, timed and drawn on log-log axes;
* `check_vjp`, `check_diff_vjp`, `check_log_sum_exp_vjp`: the exercise
  checkers, which compare a reader's VJP with `torch.autograd` and say what
  is off (the sign, the shape, a forgotten factor, or the first wrong entry).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch

from booktools.plot import as_matrix, plot_costs, plot_jacobian

from .exercises import diagnose
from .exercises import say as _say
from .timing import time_per_call

__all__ = [
    "plot_jacobians_stacked",
    "seconds",
    "time_routes",
    "plot_route_costs",
    "check_vjp",
    "check_diff_vjp",
    "check_log_sum_exp_vjp",
]


# -- pictures -----------------------------------------------------------------


def plot_jacobians_stacked(
    Js: Sequence,
    titles: Sequence[str],
    *,
    out_shape=None,
    width: float = 5.6,
    **kw,
):
    """Draw Jacobians one above the other (one column); return (fig, axes).

    Each panel gets the full width and a height that fits its matrix (and
    its colour bar), so that a short wide Jacobian stays legible on a phone.
    `out_shape` is one value for every panel or a list with one per panel;
    other keywords go to `booktools.plot.plot_jacobian`.
    """
    Js = list(Js)
    if not Js or len(titles) != len(Js):
        raise ValueError(
            f"plot_jacobians_stacked: {len(Js)} Jacobians and {len(titles)} "
            "titles; pass one title per Jacobian"
        )
    outs = out_shape if isinstance(out_shape, list) else [out_shape] * len(Js)
    if len(outs) != len(Js):
        raise ValueError(
            f"plot_jacobians_stacked: {len(outs)} out_shapes for {len(Js)} "
            "Jacobians; pass one, or one per Jacobian"
        )
    heights = []
    for J, out in zip(Js, outs):
        rows, cols = as_matrix(J, out)[0].shape
        heights.append(width * 0.8 * rows / cols + 1.7)
    fig, axes = plt.subplots(
        len(Js),
        1,
        figsize=(width, sum(heights)),
        layout="constrained",
        squeeze=False,
        height_ratios=heights,
    )
    axes = list(axes[:, 0])
    for J, title, out, ax in zip(Js, titles, outs, axes):
        plot_jacobian(J, out_shape=out, ax=ax, title=title, **kw)
    return fig, axes


# -- timing -------------------------------------------------------------------


def seconds(fn: Callable, *args, budget: float = 0.01, repeats: int = 3):
    """Seconds per call of fn(*args) (`booktools.timing.time_per_call`)."""
    return time_per_call(fn, *args, budget=budget, repeats=repeats)


def time_routes(
    f: Callable,
    routes: dict,
    sizes: dict,
    make_inputs: Callable,
    *,
    budget: float = 0.01,
):
    """Time every route on f: {route: (ns, seconds per call)}.

    `routes` maps a name to route(f, *make_inputs(n)); `sizes` maps the
    same names to the sizes n to time it at. All routes must agree on the
    smallest size common to them (checked first, so that a wrong route is
    never timed).
    """
    if set(routes) != set(sizes):
        raise ValueError(
            f"time_routes: routes {sorted(routes)} and sizes {sorted(sizes)} "
            "must name the same routes"
        )
    common = sorted(set.intersection(*(set(ns) for ns in sizes.values())))
    if not common:
        raise ValueError("time_routes: the routes share no size to compare on")
    args = make_inputs(common[0])
    values = {name: route(f, *args) for name, route in routes.items()}
    first = next(iter(values))
    for name, value in values.items():
        if not torch.allclose(value, values[first], rtol=1e-10, atol=1e-12):
            raise AssertionError(
                f"time_routes: route {name!r} disagrees with {first!r} at "
                f"n = {common[0]}; fix the route before timing it"
            )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one thread: steadier timings
    try:
        inputs = {n: make_inputs(n) for ns in sizes.values() for n in ns}
        return {
            name: (
                list(sizes[name]),
                [
                    seconds(route, f, *inputs[n], budget=budget)
                    for n in sizes[name]
                ],
            )
            for name, route in routes.items()
        }
    finally:
        torch.set_num_threads(threads)


def plot_route_costs(
    operations: dict,
    routes: dict,
    sizes: dict,
    make_inputs: Callable,
    *,
    powers: dict | None = None,
    fit_last: int = 3,
    budget: float = 0.01,
):
    """Time each route on each operation; one log-log panel per operation.

    Panels are stacked (one column, legible on a phone); each legend gives
    the slope fitted to the last `fit_last` sizes. `make_inputs(name, n)`
    gives the arguments after f for operation `name`. `powers` maps a route
    to an exponent p: a grey guide c·n^p is drawn through that route's
    last point. Returns (fig, axes, slopes), slopes[operation][route].
    """
    powers = powers or {}
    unknown = set(powers) - set(routes)
    if unknown:
        raise ValueError(
            f"plot_route_costs: powers name unknown routes "
            f"{sorted(unknown)}; routes are {sorted(routes)}"
        )
    fig, axes = plt.subplots(
        len(operations),
        1,
        layout="constrained",
        figsize=(6.0, 3.0 * len(operations)),
        squeeze=False,
        sharex=True,
    )
    axes = list(axes[:, 0])
    slopes = {}
    for ax, (name, f) in zip(axes, operations.items()):
        times = time_routes(
            f,
            routes,
            sizes,
            lambda n, name=name: make_inputs(name, n),
            budget=budget,
        )
        guides = {}
        for route, p in powers.items():
            ns, ts = times[route]
            label = "∝ " + {1: "n", 2: "n²", 3: "n³"}.get(p, f"n^{p:g}")
            guides[label] = (ns, [ts[-1] * (n / ns[-1]) ** p for n in ns])
        _, _, slopes[name] = plot_costs(
            times,
            ylabel="seconds per VJP",
            ax=ax,
            fit_last=fit_last,
            title=name,
            guides=guides,
        )
    return fig, axes, slopes


# -- exercise checkers --------------------------------------------------------


def _randn(*shape, seed):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, dtype=torch.float64, generator=generator)


def check_vjp(
    my_vjp,
    f_torch: Callable,
    sizes: Sequence[int],
    hints: Sequence,
    name: str,
    bar: str = "y_bar",
) -> bool:
    """Compare my_vjp(x, y_bar) with torch.autograd on inputs of several sizes.

    Prints one line saying what is right or what is off, and returns
    whether every size passed. `hints` is a list of (wrong, message): when
    the answer equals wrong(x, y_bar, expected), the message is printed.
    Otherwise the first wrong entry is named. `bar` is the cotangent's name
    on the page (z_bar for a scalar z).
    """
    if my_vjp is None:
        _say(
            f"Nothing to check yet: define {name}'s VJP, a function "
            f"(x, {bar}) -> x_bar, and pass it in."
        )
        return False
    for n in sizes:
        generator = torch.Generator().manual_seed(n)
        x = 0.5 + torch.rand(n, dtype=torch.float64, generator=generator)
        x_leaf = x.clone().requires_grad_(True)
        y = f_torch(x_leaf)
        y_bar = _randn(*y.shape, seed=100 + n)
        (expected,) = torch.autograd.grad(y, x_leaf, y_bar)
        got = my_vjp(x, y_bar)
        message = diagnose(
            got,
            expected,
            name=f"{name}, n = {n}",
            hints=[(wrong(x, y_bar, expected), hint) for wrong, hint in hints],
            shape_hint="x_bar has the shape of x.",
        )
        if message:
            _say(
                f"Not yet: {message} Entry j of x_bar is column j of J "
                f"weighted by {bar}: write J for a small n and read off its "
                "columns."
                if "entry (" in message
                else f"Not yet: {message}"
            )
            return False
    _say(f"Correct: {name} is right for n = {', '.join(map(str, sizes))}.")
    return True


DIFF_HINTS = [
    (
        lambda x, y_bar, e: -e,
        "Only the sign is off: y_i = x_(i+1) − x_i, so the diagonal of J "
        "holds −1 and the band above it +1.",
    ),
]

LOG_SUM_EXP_HINTS = [
    (
        lambda x, z_bar, e: e / z_bar,
        "Close: the row of J is right, but multiply it by z_bar.",
    ),
    (
        lambda x, z_bar, e: z_bar * torch.exp(x),
        "Do not forget the derivative of the log: divide by the sum of "
        "the exponentials.",
    ),
    (
        lambda x, z_bar, e: z_bar * torch.ones_like(x),
        "That is the VJP of sum; the exp and log change the row of J.",
    ),
]


def check_diff_vjp(my_vjp) -> bool:
    """Exercise 1: the VJP of torch.diff, as my_vjp(x, y_bar) -> x_bar."""
    return check_vjp(
        my_vjp, torch.diff, sizes=(2, 5, 9), hints=DIFF_HINTS, name="diff"
    )


def check_log_sum_exp_vjp(my_vjp) -> bool:
    """Exercise 2: the VJP of log-sum-exp, as my_vjp(x, z_bar) -> x_bar."""
    return check_vjp(
        my_vjp,
        lambda x: torch.logsumexp(x, 0),
        sizes=(1, 4, 7),
        hints=LOG_SUM_EXP_HINTS,
        name="log-sum-exp",
        bar="z_bar",
    )
