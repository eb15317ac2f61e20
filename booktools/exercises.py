"""One diagnosis for every exercise checker: what is off in an answer.

``diagnose(got, expected)`` returns None when the answer is right and
otherwise one sentence for the reader, naming the first of the common
mistakes that fits:

* nothing returned, or not a tensor;
* the wrong shape (and whether it is the transposed shape);
* a chapter's own named mistakes (``hints``: pairs of the tensor that
  mistake gives and what to say), tried first;
* the transpose of the answer, the answer with the wrong sign, or the
  answer off by a constant factor;
* else the entry furthest off, by its index.

Every checker of the chapters (``booktools/chNN.py``, ``check_*``) that
compares a tensor answer builds its expected value independently
(torch.autograd, torch.func, vjplib's jacrev or an explicit matrix) and
asks `diagnose`, with its chapter's own ``hints``. (Four answers are not
tensors and get their own words: ch02's largest n, ch07's dual-number
tanh, ch11's predicted numbers, ch13's repaired training loop, judged
by its losses.)

The one convention of an exercise checker, ``chNN.check_*(answer)``:

* it **prints** one verdict for the reader: ``Correct: …`` (what was
  checked), ``Not yet: …`` (the diagnosis) or ``Nothing to check yet: …``
  (the answer is still ``None``);
* it **returns** True for a right answer and False otherwise; it never
  raises for a wrong answer (a wrong answer is the normal state of an
  exercise, not an error, and an unsolved exercise cell must run).

So a reader's cell runs ``passed = ch03.check_diff_vjp(diff_vjp)`` on
a placeholder and the committed notebook still runs, while the page's
worked solution asserts it: ``assert ch04.check_matmul(MatMul)`` fails
the build when the solution is wrong. Chapters 4–13 write a checker as a
function that raises AssertionError with the diagnosis (or prints
``Correct: …``) and wrap it in `checker`, which turns that into the
convention; chapters 1–3's checkers print and return by themselves. Any
other error (a bug in the reader's code) keeps its traceback. The tests
read what a checker said with `says`.
(`ch08.check_transpose` and `ch12.check_fd` are not exercise checkers:
they check the page's own rules, return the error size, and raise.)
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
import textwrap
from collections.abc import Callable, Iterator, Sequence

import torch

import vjplib


def say(text: str) -> None:
    """Print a checker's message, wrapped to the book's 79 columns (each
    line of a message of several lines on its own)."""
    for line in str(text).split("\n"):
        print(textwrap.fill(line, width=79, subsequent_indent="  "))


def checker(check: Callable) -> Callable[..., bool]:
    """Give ``check(answer, ...)`` the convention of every exercise checker.

    ``check`` raises AssertionError saying what is off, or prints what is
    right. The checker it returns prints ``Nothing to check yet: …`` for
    an answer still None, ``Not yet: <the diagnosis>`` for a wrong one,
    and returns whether the answer is right.
    """

    @functools.wraps(check)
    def run(answer, *args, **kwargs) -> bool:
        if answer is None:
            say(
                f"Nothing to check yet: {check.__name__} wants your "
                "answer; define it and pass it in."
            )
            return False
        try:
            check(answer, *args, **kwargs)
        except AssertionError as error:
            say(f"Not yet: {error}")
            return False
        return True

    return run


@contextlib.contextmanager
def says(*words: str) -> Iterator[io.StringIO]:
    """Capture what a checker prints and fail unless every one of
    ``words`` (regular expressions, as pytest.raises's match) is found in
    it, the lines joined (for the tests: ``with says("sign"): assert not
    ch06.check_square_jvp(wrong)``)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        yield out
    text = " ".join(out.getvalue().split())  # unwrapped
    missing = [w for w in words if not re.search(w, text)]
    assert not missing, f"{missing} not in what the checker said: {text!r}"


def _shape(x) -> str:
    if isinstance(x, torch.Tensor):
        return str(tuple(x.shape))
    return type(x).__name__


def diagnose(
    got,
    expected: torch.Tensor,
    *,
    name: str = "your answer",
    hints: Sequence[tuple[torch.Tensor, str]] = (),
    shape_hint: str = "",
    rtol: float = 1e-5,
    atol: float = 1e-8,
) -> str | None:
    """None when ``got`` ≈ ``expected``, else what is off, for a reader.

    name: how the message names the answer ("diff, n = 5", "W̄").
    hints: (wrong, message) pairs: when got ≈ wrong, say message.
    shape_hint: said after a wrong shape (what the shape should be).

    >>> diagnose(torch.ones(2), -torch.ones(2), name="x̄")
    'x̄: the sign is wrong.'
    """
    if got is None:
        return (
            f"{name}: nothing returned; return a tensor of shape "
            f"{tuple(expected.shape)}."
        )
    if isinstance(got, vjplib.Box):
        got = got.primal
    if not isinstance(got, torch.Tensor):
        try:
            got = torch.as_tensor(got, dtype=expected.dtype)
        except (TypeError, ValueError, RuntimeError):
            return (
                f"{name}: got a {type(got).__name__}; return a tensor of "
                f"shape {tuple(expected.shape)}."
            )
    got = got.detach().to(expected.dtype)
    if got.shape != expected.shape:
        flipped = got.ndim == 2 and got.shape == expected.shape[::-1]
        return (
            f"{name}: shape {tuple(got.shape)}, expected "
            f"{tuple(expected.shape)}"
            + (" (the transposed shape)" if flipped else "")
            + "."
            + (f" {shape_hint}" if shape_hint else "")
        )

    def close(a):
        return a.shape == got.shape and torch.allclose(
            got, a.to(got.dtype), rtol=rtol, atol=atol
        )

    if close(expected):
        return None
    for wrong, message in hints:
        if close(torch.as_tensor(wrong)):
            return f"{name}: {message}"
    if got.ndim == 2 and got.shape[0] == got.shape[1] and close(expected.mT):
        return f"{name}: this is the transpose of the answer."
    if close(-expected):
        return f"{name}: the sign is wrong."
    scale = _factor(got, expected)
    if scale is not None:
        return f"{name}: off by a factor of {scale:.4g}."
    err = (got - expected).abs()
    idx = tuple(int(i) for i in torch.unravel_index(err.argmax(), err.shape))
    return (
        f"{name}: entry {idx} is {got[idx].item():.6g}, expected "
        f"{expected[idx].item():.6g}."
    )


def _factor(got, expected) -> float | None:
    """c when got ≈ c · expected for one constant c ≠ 0, 1, −1."""
    if not expected.numel() or not expected.abs().max() > 0:
        return None
    k = int(expected.abs().argmax())
    c = (got.reshape(-1)[k] / expected.reshape(-1)[k]).item()
    if c == 0 or abs(abs(c) - 1) < 1e-9:
        return None
    if torch.allclose(got, c * expected, rtol=1e-6, atol=1e-10):
        return c
    return None
