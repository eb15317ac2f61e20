"""booktools.exercises.diagnose: each common mistake is named, a right
answer passes, and an answer near but not at the truth is not passed."""

from __future__ import annotations

import torch

import vjplib
from booktools.exercises import diagnose

D = torch.float64
A = torch.tensor([[1.0, 2.0, 0.5], [3.0, -1.0, 4.0], [0.0, 2.5, 1.0]], dtype=D)


def test_right_answers_pass():
    assert diagnose(A.clone(), A) is None
    assert diagnose(A.tolist(), A) is None  # a nested list is a tensor too
    assert diagnose(vjplib.tensor(A), A) is None


def test_each_common_mistake_is_named():
    assert "nothing returned" in diagnose(None, A, name="W̄")
    assert "got a str" in diagnose("x", A)
    assert "transpose of the answer" in diagnose(A.T, A)
    assert "sign is wrong" in diagnose(-A, A)
    assert "factor of 2" in diagnose(2 * A, A)
    assert "factor of 0.5" in diagnose(A / 2, A)
    wide = torch.ones(2, 3, dtype=D)
    said = diagnose(wide.T, wide, shape_hint="Shaped like x.")
    assert "shape (3, 2), expected (2, 3) (the transposed shape)" in said
    assert said.endswith("Shaped like x.")


def test_named_hints_come_first_and_else_the_worst_entry():
    said = diagnose(-A, A, hints=[(-A, "the chapter's own words")])
    assert said == "your answer: the chapter's own words"
    B = A.clone()
    B[2, 1] += 1e-3  # close, not right: the entry is named
    assert (
        diagnose(B, A) == "your answer: entry (2, 1) is 2.501, expected 2.5."
    )
