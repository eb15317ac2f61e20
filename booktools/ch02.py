"""Chapter 2, "Naive Jacobians": its meters, its cost figure and its checkers.

* `PeakMemory` / `peak_bytes` measure the peak bytes of the tensors a
  computation creates (a `TorchDispatchMode` that counts storages);
* `seconds` times a call (best of three), for figures only;
* `plot_naive_vs_vjp` draws the measured time and memory of the two routes,
  stacked so that the figure stays legible on a phone;
* `check_square_jacobian` and `check_largest_n` are the exercises'
  checkers: they compare an answer with an independent reference and say
  what is off.
"""

from __future__ import annotations

import weakref

import matplotlib.pyplot as plt
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

import vjplib
from booktools.plot import plot_costs

from .exercises import diagnose
from .exercises import say as _say
from .inputs import well_conditioned
from .timing import time_per_call

__all__ = [
    "PeakMemory",
    "peak_bytes",
    "seconds",
    "plot_naive_vs_vjp",
    "check_square_jacobian",
    "check_largest_n",
]


# -- memory -----------------------------------------------------------------


class PeakMemory(TorchDispatchMode):
    """Peak bytes of the tensors created inside ``with PeakMemory() as m:``.

    Every tensor an operation returns is looked at; a storage not seen
    before adds its bytes, and the bytes are subtracted again when the last
    tensor using that storage is freed. Views (a ``reshape``, a ``.T``)
    share their storage and cost nothing. Tensors created before the
    ``with`` block are not counted, nor are views of them.
    """

    def __enter__(self):
        self.live, self.peak, self.users = 0, 0, {}
        return super().__enter__()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        is_view = getattr(func, "is_view", False)  # shares its input's bytes
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor):
                storage = t.untyped_storage()
                key, size = storage.data_ptr(), storage.nbytes()
                if is_view and key not in self.users:
                    continue  # a view of a tensor made before: not ours
                if key not in self.users:  # a new storage: count it
                    self.users[key] = 0
                    self.live += size
                    self.peak = max(self.peak, self.live)
                self.users[key] += 1
                weakref.finalize(t, self._release, key, size)
        return out

    def _release(self, key, size):
        self.users[key] -= 1
        if self.users[key] == 0:  # the last tensor on this storage is gone
            del self.users[key]
            self.live -= size


def peak_bytes(fn, *args) -> int:
    """Peak bytes of the tensors that ``fn(*args)`` creates."""
    with PeakMemory() as meter:
        fn(*args)
    return meter.peak


# -- time -------------------------------------------------------------------


def seconds(fn, *args, budget: float = 0.02) -> float:
    """Seconds per call of ``fn(*args)`` (`booktools.timing.time_per_call`).
    Timings vary: use them in figures only."""
    return time_per_call(fn, *args, budget=budget)


# -- the cost figure --------------------------------------------------------

NAIVE = "naive: J₂ J₁"
VJP = "VJP: vjplib.grad"


def plot_naive_vs_vjp(
    naive_ns,
    naive_time,
    naive_memory,
    vjp_ns,
    vjp_time,
    vjp_memory,
    *,
    fit_last=3,
):
    """Time (top) and peak memory (bottom) of the naive and the VJP route,
    log-log, with fitted exponents in the legends and the guides 8n⁴ bytes (J₁
    itself) and 8n² bytes (one n×n matrix) under the memory curves.

    Returns ``(fig, (ax_time, ax_memory), slopes)`` with ``slopes`` a dict
    ``{"time": {label: exponent}, "memory": {label: exponent}}``.
    """
    for name, ns, values in [
        ("naive_time", naive_ns, naive_time),
        ("naive_memory", naive_ns, naive_memory),
        ("vjp_time", vjp_ns, vjp_time),
        ("vjp_memory", vjp_ns, vjp_memory),
    ]:
        if len(ns) != len(values):
            raise ValueError(
                f"plot_naive_vs_vjp: {name} has {len(values)} values for "
                f"{len(ns)} sizes; pass one measurement per size"
            )
    fig, (ax_time, ax_memory) = plt.subplots(
        2, 1, figsize=(6.4, 7.6), layout="constrained"
    )
    guides = {
        "8n⁴ bytes: J₁ itself": (naive_ns, [8 * n**4 for n in naive_ns]),
        "8n² bytes: one n×n matrix": (vjp_ns, [8 * n**2 for n in vjp_ns]),
    }
    slopes = {}
    for ax, what, naive, vjp, ylabel, lines in (
        (ax_time, "time", naive_time, vjp_time, "seconds per gradient", None),
        (ax_memory, "memory", naive_memory, vjp_memory, "peak bytes", guides),
    ):
        data = {NAIVE: (naive_ns, naive), VJP: (vjp_ns, vjp)}
        _, _, slopes[what] = plot_costs(
            data,
            ylabel=ylabel,
            ax=ax,
            fit_last=fit_last,
            title=what,
            guides=lines,
        )
    return (
        fig,
        (ax_time, ax_memory),
        slopes,
    )


# -- the exercises' checkers ------------------------------------------------


def _kron(A, B):
    return torch.kron(A.contiguous(), B.contiguous())


def check_square_jacobian(jacobian_of_square) -> bool:
    """Compare ``jacobian_of_square(X)``, the n²×n² Jacobian of F(X) = X X
    (row-major, numerator layout), with vjplib.jacrev for n = 2 and 3. Prints
    what is off and returns whether the answer is right."""
    if jacobian_of_square is None:
        _say("Nothing to check yet: define a function X -> J and pass it in.")
        return False
    for n in (2, 3):
        X = well_conditioned(n, seed=10 + n)
        expected_4d = vjplib.jacrev(lambda X: X @ X)(X)
        expected = expected_4d.reshape(n * n, n * n)
        got = jacobian_of_square(X)
        column_major = expected_4d.permute(1, 0, 3, 2).reshape(n * n, n * n)
        eye = torch.eye(n, dtype=torch.float64)
        one_term = (
            "that is one of the two terms of dF = (dX)X + X(dX); add the "
            "other one."
        )
        message = diagnose(
            got,
            expected,
            name=f"n = {n}",
            hints=[
                (
                    column_major,
                    "you have the transpose, which for X @ X is also what "
                    "column stacking gives. Rows are outputs and columns "
                    "inputs (numerator layout), both flattened row-major: "
                    "check the order of the factors in each Kronecker "
                    "product.",
                ),
                (_kron(eye, X.T), one_term),
                (_kron(X, eye), one_term),
            ],
            shape_hint="J has one row per entry of F(X) and one column per "
            "entry of X.",
        )
        if message:
            if "entry (" in message:
                message += (
                    " Rows are (i, j), columns (k, l), flattened row-major. "
                    "Write each term of dF as A (dX) B and use "
                    "vec(A M B) = (A ⊗ Bᵀ) vec(M)."
                )
            _say(f"Not yet: {message}")
            return False
    _say("Correct: your Jacobian matches vjplib.jacrev for n = 2 and n = 3.")
    return True


#: the budgets (bytes, bytes per entry) that `check_largest_n` tries
BUDGETS = [(2**10, 8), (16 * 2**30, 8), (80 * 10**9, 4), (10**12, 8), (7, 8)]


def _largest_n_exact(budget, per_entry):
    """Count up with exact integers: no rounding can fool this."""
    n = 0
    while per_entry * (n + 1) ** 4 <= budget:
        n += 1
    return n


def check_largest_n(largest_n) -> bool:
    """Check ``largest_n(budget_bytes, bytes_per_entry)`` (the largest n whose
    n²×n² Jacobian fits the budget) on five budgets. Prints what is off and
    returns whether the answer is right."""
    if largest_n is None:
        _say(
            "Nothing to check yet: define largest_n(budget_bytes, "
            "bytes_per_entry=8)."
        )
        return False
    for budget, per_entry in BUDGETS:
        expected = _largest_n_exact(budget, per_entry)
        got = largest_n(budget, per_entry)
        if got == expected:
            continue
        number = isinstance(got, (int, float)) and not isinstance(got, bool)
        if number and got == expected + 1:
            hint = (
                f"n = {got} needs {per_entry * got**4:,} bytes, over "
                "budget. Round down."
            )
        elif (
            number
            and per_entry * got**2 <= budget < per_entry * (got + 1) ** 2
        ):
            hint = "J₁ has n² rows and n² columns: n⁴ entries, not n²."
        else:
            hint = (
                "solve bytes_per_entry · n⁴ ≤ budget for the largest whole n."
            )
        _say(
            f"Not yet: budget {budget:,} bytes at {per_entry} bytes per "
            f"entry: expected n = {expected}, got {got}. {hint}"
        )
        return False
    _say(f"Correct on all {len(BUDGETS)} budgets.")
    return True
