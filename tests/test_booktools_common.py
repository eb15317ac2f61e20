"""The helpers every chapter's booktools module shares: the timer and the test
matrices.
"""

import time

import pytest
import torch

from booktools.inputs import well_conditioned
from booktools.timing import time_per_call


def test_time_per_call_measures_a_known_sleep_and_counts_every_call():
    t = time_per_call(time.sleep, 0.002, budget=0.01, repeats=2)
    assert 0.002 <= t < 0.02
    calls = []
    time_per_call(lambda: calls.append(1), budget=0.001, repeats=2)
    assert len(calls) >= 3  # the warm-up, then at least one call per round


def test_time_per_call_refuses_a_budget_it_cannot_honour():
    with pytest.raises(ValueError, match="budget > 0 and repeats >= 1"):
        time_per_call(lambda: None, budget=0)
    with pytest.raises(ValueError, match="repeats >= 1"):
        time_per_call(lambda: None, repeats=0)


def test_well_conditioned_is_seeded_float64_and_well_conditioned():
    X = well_conditioned(100, seed=0)
    assert X.dtype == torch.float64 and X.shape == (100, 100)
    assert torch.equal(X, well_conditioned(100, seed=0))
    assert not torch.equal(X, well_conditioned(100, seed=1))
    # singular values within about n ± 2√n (chapter 1), so the condition number
    # is small
    s = torch.linalg.svdvals(X)
    assert 100 - 2.5 * 10 < s.min() and s.max() < 100 + 2.5 * 10
    assert torch.linalg.cond(X) < 2
