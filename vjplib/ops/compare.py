"""Comparisons, masks and where: ``x > 0`` (and ``<``, ``>=``, ``<=``,
``==``, ``!=``), ``&``, ``|``, ``^``, ``~`` of masks, sign, and
where(c, a, b), which selects by a mask.

Comparisons and sign have no derivative: their ops say ``differentiable =
False``, so ``function._apply`` runs them on the values under every box of
a derivative (a plain bool tensor that records nothing), while vmap still
batches them. A rule uses them freely: a mask computed from a traced value
is a constant, which is why relu'' = 0.
"""

import builtins

import torch

from .base import (
    Op,
    _boxed,
    _broadcast,
    _check_operands,
    _is_tensor,
    _operands,
    _vmap_leading,
)
from .shape import broadcast_to


class NoDerivative(Op):
    """y = fn(*args) for a function with no derivative (0 wherever it
    exists): a comparison or a mask (a bool tensor), sign, and the tie
    weights, masks and indices the rules of kinks.py and maxima.py read. It
    records nothing and carries no tangent: a constant for every
    transformation, as torch's are. Batching: fn runs on the stack, the
    batch in front (every fn here counts dims from the right)."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, fn, *args):
        return fn(*args)


def _comparison(op, name, doc):
    """The function users call for a comparison or a mask operation."""

    def compare(a, b):
        _check_operands(name, a, b, "compare", "; pass a tensor or a number")
        if _is_tensor(a) and _is_tensor(b) and (_boxed(a) or _boxed(b)):
            a, b = _broadcast(a, b)  # explicit, so vmap lines the dims up
        return NoDerivative.apply(op, a, b)

    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = doc
    return compare


_NONE = "a bool tensor with no derivative."
gt = _comparison(torch.gt, "gt", "a > b entry by entry: " + _NONE)
lt = _comparison(torch.lt, "lt", "a < b entry by entry: " + _NONE)
ge = _comparison(torch.ge, "ge", "a >= b entry by entry: " + _NONE)
le = _comparison(torch.le, "le", "a <= b entry by entry: " + _NONE)
eq = _comparison(torch.eq, "eq", "a == b entry by entry: " + _NONE)
ne = _comparison(torch.ne, "ne", "a != b entry by entry: " + _NONE)
bitwise_and = _comparison(
    torch.bitwise_and, "bitwise_and", "a & b, for masks: where both hold."
)
bitwise_or = _comparison(
    torch.bitwise_or, "bitwise_or", "a | b, for masks: where either holds."
)
bitwise_xor = _comparison(
    torch.bitwise_xor,
    "bitwise_xor",
    "a ^ b, for masks: where exactly one holds.",
)


def bitwise_not(m):
    """~m, for a mask: where it does not hold (no derivative)."""
    return NoDerivative.apply(torch.bitwise_not, m)


def sign(x):
    """sign x (-1, 0, 1), a constant for every transformation."""
    return NoDerivative.apply(torch.sign, x)


class Where(Op):
    """y = c ? a : b
    VJP: a_bar = y_bar where c (else 0), b_bar = y_bar where not c (else 0)
    JVP: y_dot = c ? a_dot : b_dot

    where(c, a, b): a where the bool c is True, b elsewhere (a or b may
    be a number).
    The rules select, they do not multiply: the branch not taken gets a
    cotangent 0 exactly. The trap: in where(x > 0, sqrt(x), 0), sqrt still
    runs at x ≤ 0, and its VJP turns that 0 into 0 / (2 · 0) = NaN (or 0 /
    NaN): the NaN is sqrt's, and it reaches x. Select the input too
    (sqrt(where(x > 0, x, 1))): the double where.
    Linear in (a, b) together for a fixed c: ⟨y_bar, where(c, a, b)⟩ =
    ⟨where(c, y_bar, 0), a⟩ + ⟨where(c, 0, y_bar), b⟩, so the transpose is
    the VJP (with a number as a branch, where is affine, and refused).
    Batching: elementwise, on the stack.
    """

    linear_in = (1, 2)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, c, a, b):
        ctx.save_for_backward(c)
        ctx.numbers = tuple(v for v in (a, b) if not _is_tensor(v))
        return torch.where(c, a, b)

    @staticmethod
    def vjp(ctx, y_bar):
        (c,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        return (
            None,
            where(c, y_bar, 0) if need_a else None,
            where(c, 0, y_bar) if need_b else None,
        )

    @staticmethod
    def jvp(ctx, c_dot, a_dot, b_dot):
        (c,) = ctx.saved_tensors
        _, need_a, need_b = ctx.needs_input_grad
        return where(c, a_dot if need_a else 0, b_dot if need_b else 0)

    @staticmethod
    def transpose(ctx, y_bar):
        if any(v != 0 for v in ctx.numbers):
            raise TypeError(
                "linear_transpose: where with the number "
                f"{[v for v in ctx.numbers if v != 0][0]} as a branch is "
                "affine, not linear (f(0) ≠ 0): use 0 for the constant "
                "branch, or vjplib.vjp for the VJP of a function that is "
                "not linear."
            )
        return Where.vjp(ctx, y_bar)


def _scalar_type(dtype):
    """torch's name of a dtype in its messages: Float, Double, Long."""
    return torch.empty((), dtype=dtype).type().split(".")[-1][: -len("Tensor")]


def where(condition, input, other):
    """input where condition is True, other elsewhere (torch.where):
    condition a bool tensor (e.g. x > 0), input and other tensors or
    numbers, all three broadcast together."""
    if not _is_tensor(condition) or condition.dtype != torch.bool:
        got = (
            f"a tensor with dtype {_scalar_type(condition.dtype)}"
            if _is_tensor(condition)
            else f"a {type(condition).__name__}"
        )
        raise RuntimeError(
            "where expected condition to be a boolean tensor, but got "
            f"{got}; compare first, e.g. vjplib.where(x > 0, x, 0)"
        )
    for v in (input, other):
        if not (_is_tensor(v) or isinstance(v, (int, float))):
            raise TypeError(
                f"where: input and other must be tensors or numbers, got a "
                f"{type(v).__name__}"
            )
    tensors = [v for v in (input, other) if _is_tensor(v)]
    if not tensors:
        raise TypeError(
            "where: input and other are both numbers; make one a tensor "
            "(e.g. torch.tensor(0.0, dtype=torch.float64))"
        )
    if _boxed(condition) or builtins.any(_boxed(v) for v in tensors):
        if len(tensors) == 2:
            _operands("where", input, other)  # one float dtype
        shape = torch.broadcast_shapes(
            tuple(condition.shape), *(tuple(v.shape) for v in tensors)
        )
        condition, input, other = (
            broadcast_to(v, shape) if _is_tensor(v) else v
            for v in (condition, input, other)
        )
    return Where.apply(condition, input, other)
