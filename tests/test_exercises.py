"""booktools.exercises.diagnose: each common mistake is named, a right
answer passes, and an answer near but not at the truth is not passed."""

from __future__ import annotations

import pytest
import torch

import vjplib
from booktools.exercises import checker, diagnose, say, says

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


# -- the one convention: print a verdict, return whether it is right ---------


@checker
def check_double(double):
    """A checker in the book's style: raise with the diagnosis, or print."""
    x = torch.arange(1.0, 4.0, dtype=D)
    message = diagnose(double(x), 2 * x, name="2x")
    if message:
        raise AssertionError(message)
    print("Correct: 2x.")


def test_a_checker_returns_true_and_prints_correct(capsys):
    assert check_double(lambda x: x + x) is True
    assert capsys.readouterr().out == "Correct: 2x.\n"


def test_a_checker_returns_false_and_prints_the_diagnosis(capsys):
    # a wrong answer is not an error: nothing is raised
    assert check_double(lambda x: -2 * x) is False
    assert capsys.readouterr().out == "Not yet: 2x: the sign is wrong.\n"
    assert check_double(lambda x: x) is False
    assert "2x: off by a factor of 0.5" in capsys.readouterr().out
    assert check_double(lambda x: x[:2]) is False
    assert "2x: shape (2,), expected (3,)" in capsys.readouterr().out


def test_a_checker_without_an_answer_says_so(capsys):
    assert check_double(None) is False
    out = capsys.readouterr().out
    assert out.startswith("Nothing to check yet: check_double")


def test_a_checker_lets_other_errors_through():
    # a bug in the reader's code keeps its traceback
    with pytest.raises(ZeroDivisionError):
        check_double(lambda x: 1 / 0)


def test_long_messages_are_wrapped_line_by_line(capsys):
    say("first line\n" + "word " * 30)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "first line"
    assert len(lines) == 3 and all(len(line) <= 79 for line in lines)
    assert lines[2].startswith("  word")


def test_says_fails_when_the_words_are_missing():
    with says("sign is wrong"):
        assert not check_double(lambda x: -2 * x)
    with pytest.raises(AssertionError, match="not in what the checker said"):
        with says("transpose"):
            check_double(lambda x: -2 * x)
