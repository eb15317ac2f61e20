"""Timing for the book's cost figures: one timer that every chapter uses.

Timings vary from run to run and from machine to machine: they go into figures
only (nbval does not compare images), never into printed text or asserts with
tight margins. An assert on time compares two calls with `median_ratio`, which
times them back to back, round after round, and keeps the median ratio.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["median_ratio", "time_per_call"]


def time_per_call(
    fn: Callable, *args, budget: float = 0.01, repeats: int = 3
) -> float:
    """Seconds per call of ``fn(*args)``: the best of ``repeats`` rounds.

    After one warm-up call, each round repeats the call until ``budget``
    seconds have passed (at least once), so short calls are timed over many
    runs. The best round is the one least disturbed by other work on a shared
    machine.
    """
    if budget <= 0 or repeats < 1:
        raise ValueError(
            f"time_per_call: need budget > 0 and repeats >= 1, "
            f"got budget={budget}, repeats={repeats}"
        )
    fn(*args)  # warm-up
    best = math.inf
    for _ in range(repeats):
        number, t0 = 0, time.perf_counter()
        while number == 0 or time.perf_counter() - t0 < budget:
            fn(*args)
            number += 1
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def median_ratio(
    fn_a: Callable,
    args_a: tuple,
    fn_b: Callable,
    args_b: tuple,
    *,
    rounds: int = 9,
    budget: float = 0.005,
) -> float:
    """The median over ``rounds`` of time(fn_a(*args_a)) / time(fn_b(*args_b)).

    In each round the two calls are timed back to back (`time_per_call`, one
    round each), so both see the same load; a burst of other work on a shared
    machine spoils a round or two, and the median ignores them. This is the
    number an assert on time should compare, with a wide margin.
    """
    if rounds < 1:
        raise ValueError(f"median_ratio: need rounds >= 1, got {rounds}")
    ratios = sorted(
        time_per_call(fn_a, *args_a, budget=budget, repeats=1)
        / time_per_call(fn_b, *args_b, budget=budget, repeats=1)
        for _ in range(rounds)
    )
    middle = len(ratios) // 2
    if len(ratios) % 2:
        return ratios[middle]
    return (ratios[middle - 1] + ratios[middle]) / 2
