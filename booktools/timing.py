"""Timing for the book's cost figures: one timer that every chapter uses.

Timings vary from run to run and from machine to machine: they go into figures
only (nbval does not compare images), never into printed text or asserts with
tight margins.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["time_per_call"]


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
