"""The elementwise ops with kinks, ties and NaNs: relu, abs, sqrt,
maximum, minimum, clamp (amax and max, the reductions, are in maxima.py).

Each rule is torch's own formula (``tools/autograd/derivatives.yaml``),
written with vjplib ops, so vjplib returns exactly what ``backward()``
returns where no derivative exists. Torch documents the choice ("Gradients
for non-differentiable functions" in its autograd notes): the gradient
where there is one; else the smallest subgradient where f is locally convex
(relu'(0) = 0, abs'(0) = 0); else a value by continuity, inf allowed
(sqrt'(0) = inf); else anything, often NaN. Ties are split by each op its
own way (``maximum`` gives each half, ``max(x)`` and ``amax`` share evenly
among the tied entries, ``max(x, dim)`` gives it all to the index it
returns), and NaN and inf follow the formula: a rule that multiplies turns
a 0 cotangent times an infinite derivative into NaN (the ``where(x > 0,
sqrt(x), 0)`` trap), one that selects (``where``, relu's threshold) does
not.
"""

import builtins

import torch

from .base import Op, _binary, _boxed, _is_tensor, _operands, _vmap_leading
from .compare import NoDerivative, gt, lt, sign, where
from .elementwise import Elementwise
from .shape import broadcast_to


def _threshold(v, y):
    """v where y > 0, else 0 (torch's threshold_backward: 0 where y ≤ 0; a
    NaN y lets v through). Plain tensors of one shape take torch's single
    kernel; anything else the differentiable where."""
    if (
        type(v) is torch.Tensor
        and type(y) is torch.Tensor
        and v.shape == y.shape
    ):
        return torch.ops.aten.threshold_backward(v, y, 0)
    return where(y <= 0, 0, v)


class Pointwise(Op):
    """Base of relu and sqrt, one-input elementwise ops whose rules are
    written in their output y = f(x), the one value forward saves. J is
    diagonal, so the VJP and the JVP are one function of the (co)tangent t
    and y, ``scale(t, y)``. Batching: elementwise, on the stack."""

    vmap = classmethod(_vmap_leading)

    @classmethod
    def forward(cls, ctx, x):
        y = cls.f(x)
        ctx.save_for_backward(y)
        return y

    @classmethod
    def vjp(cls, ctx, y_bar):
        (y,) = ctx.saved_tensors
        return cls.scale(y_bar, y)

    @classmethod
    def jvp(cls, ctx, x_dot):
        (y,) = ctx.saved_tensors
        return cls.scale(x_dot, y)


class Relu(Pointwise):
    """y = relu x
    VJP: x_bar = y_bar where y > 0 (else 0)
    JVP: y_dot = x_dot where y > 0 (else 0)

    The larger of x and 0. At the kink x = 0 torch takes relu'(0) = 0,
    the smallest subgradient of the convex relu (any slope in [0, 1] would
    do). The rules select (a where, torch's threshold_backward), so a NaN
    or inf y_bar at x ≤ 0 still gives 0; the mask is a constant, so relu''
    = 0.
    """

    f = staticmethod(torch.relu)
    scale = staticmethod(_threshold)


def relu(x):
    """max(x, 0) entry by entry; relu'(0) = 0, as in torch."""
    return Relu.apply(x)


class Abs(Elementwise):
    """y = |x|
    VJP: x_bar = y_bar sign(x)
    JVP: y_dot = x_dot sign(x)

    f'(x) = sign x. At the kink x = 0, sign 0 = 0: torch's abs'(0) = 0,
    the smallest subgradient in [-1, 1]. The rules multiply, so a NaN or
    inf y_bar gives NaN even at 0; sign is a constant, so abs'' = 0.
    """

    f = staticmethod(torch.abs)
    uses = "x"
    derivative = staticmethod(sign)


def abs(x):
    """|x| entry by entry; abs'(0) = 0, as in torch."""
    return Abs.apply(x)


class Sqrt(Pointwise):
    """y = √x
    VJP: x_bar = y_bar / (2 y)
    JVP: y_dot = x_dot / (2 y)

    At x = 0 the derivative is +inf (by continuity, torch's rule): a
    cotangent y_bar > 0 gives inf, y_bar = 0 gives 0 / 0 = NaN. At x < 0, y
    is NaN and so are both rules. Written with y (saved), as torch's
    formula, so the NaN and inf fall where torch's do.
    """

    f = staticmethod(torch.sqrt)

    @staticmethod
    def scale(t, y):
        return t / (2 * y)


def sqrt(x):
    """√x entry by entry; its derivative at 0 is inf, as in torch."""
    return Sqrt.apply(x)


def _tie_weight(a, b, wins):
    """w = 1 where a wins (a > b for maximum, a < b for minimum), 1/2 where
    a = b, 0 elsewhere: the share of a's tangent in maximum's and minimum's
    JVP (no derivative)."""
    return torch.where(a == b, 0.5, wins(a, b).to(a.dtype))


class Maximum(Op):
    """y = a ∨ b
    VJP: a_bar = y_bar where a > b (y_bar / 2 where a = b; else 0), b_bar =
        y_bar where b > a (y_bar / 2 where a = b; else 0)
    JVP: y_dot = b_dot + w (a_dot - b_dot), w = 1 where a > b (1/2 where a = b;
        else 0)

    a ∨ b is the larger, entry by entry. A tie splits the cotangent in
    halves (torch's choice, a subgradient of the convex maximum: any split
    summing to y_bar would do). A NaN in a or b fails every test, so both
    get the whole y_bar.
    Batching: elementwise, on the stack.
    """

    vmap = classmethod(_vmap_leading)
    wins = staticmethod(torch.gt)  # minimum: torch.lt
    f = staticmethod(torch.maximum)

    @classmethod
    def forward(cls, ctx, a, b):
        ctx.save_for_backward(a, b)
        return cls.f(a, b)

    @classmethod
    def vjp(cls, ctx, y_bar):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        loses, wins = (lt, gt) if cls.wins is torch.gt else (gt, lt)
        half = where(a == b, y_bar / 2, y_bar)
        a_bar = where(loses(a, b), 0, half) if need_a else None
        b_bar = where(wins(a, b), 0, half) if need_b else None
        return a_bar, b_bar

    @classmethod
    def jvp(cls, ctx, a_dot, b_dot):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        w = NoDerivative.apply(_tie_weight, a, b, cls.wins)
        if not need_b:
            return w * a_dot
        if not need_a:
            return b_dot - w * b_dot
        return b_dot + w * (a_dot - b_dot)


maximum = _binary(
    Maximum,
    "maximum",
    "The larger of a and b entry by entry (a tie gives each half the "
    "cotangent, as in torch).",
)


class Minimum(Maximum):
    """y = a ∧ b
    VJP: a_bar = y_bar where a < b (y_bar / 2 where a = b; else 0), b_bar =
        y_bar where b < a (y_bar / 2 where a = b; else 0)
    JVP: y_dot = b_dot + w (a_dot - b_dot), w = 1 where a < b (1/2 where a = b;
        else 0)

    a ∧ b is the smaller, entry by entry. Ties split in halves, as in
    maximum.
    """

    wins = staticmethod(torch.lt)
    f = staticmethod(torch.minimum)


minimum = _binary(
    Minimum,
    "minimum",
    "The smaller of a and b entry by entry (a tie gives each half the "
    "cotangent, as in torch).",
)


def _clamp_mask(x, lo, hi, which):
    """Where clamp(x, lo, hi) passes the cotangent to `which` of x, lo and
    hi, a bool tensor (torch's clamp_backward and clamp_backward_min_max; a
    bound None: no test): x where lo ≤ x ≤ hi, its bounds included; lo
    where x < lo (and lo < hi); hi where x > hi (or hi < lo: then y = hi
    everywhere). No derivative."""
    if which == "x":
        if lo is None:
            return x <= hi
        return x >= lo if hi is None else (x >= lo) & (x <= hi)
    if which == "lo":
        return x < lo if hi is None else (x < lo) & (lo < hi)
    return x > hi if lo is None else (x > hi) | (hi < lo)


class Clamp(Op):
    """y = x clamped to lo ≤ y ≤ hi
    VJP: x_bar = y_bar where lo ≤ x ≤ hi (else 0), lo_bar = y_bar where x < lo
        (else 0), hi_bar = y_bar where x > hi (else 0)
    JVP: y_dot = x_dot where lo ≤ x ≤ hi (else 0)

    min(max(x, lo), hi); lo and hi numbers or tensors, either may be
    None. The JVP is for number bounds; for tensor bounds it is the tangent
    of the value y takes: lo_dot where x < lo, hi_dot where x > hi, else
    x_dot.
    At a bound (x = lo or x = hi) torch passes y_bar on to x: clamp' = 1
    there, although relu = clamp(x, 0) has relu'(0) = 0. When lo > hi, y =
    hi everywhere, and hi gets it all. (Torch's forward mode with tensor
    bounds gives a tie to the bound's tangent instead: where(x > lo, x_dot,
    lo_dot); we copy it.) Batching: elementwise, on the stack.
    """

    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, lo, hi):
        tensors = [v if _is_tensor(v) else None for v in (lo, hi)]
        ctx.save_for_backward(x, *tensors)
        ctx.lo, ctx.hi = (None if _is_tensor(v) else v for v in (lo, hi))
        return torch.clamp(x, lo, hi)

    @staticmethod
    def _bounds(ctx):
        x, lo_t, hi_t = ctx.saved_tensors
        lo = ctx.lo if lo_t is None else lo_t
        hi = ctx.hi if hi_t is None else hi_t
        return x, lo, hi

    @staticmethod
    def vjp(ctx, y_bar):
        x, lo, hi = Clamp._bounds(ctx)
        _, need_lo, need_hi = ctx.needs_input_grad

        def share(which):
            mask = NoDerivative.apply(_clamp_mask, x, lo, hi, which)
            return where(mask, y_bar, 0)

        return (
            share("x"),
            share("lo") if need_lo else None,
            share("hi") if need_hi else None,
        )

    @staticmethod
    def jvp(ctx, x_dot, lo_dot, hi_dot):
        x, lo, hi = Clamp._bounds(ctx)
        if not (_is_tensor(lo) or _is_tensor(hi)):  # number bounds
            mask = NoDerivative.apply(_clamp_mask, x, lo, hi, "x")
            return where(mask, x_dot, 0)
        _, need_lo, need_hi = ctx.needs_input_grad
        lo_dot, hi_dot = lo_dot if need_lo else 0, hi_dot if need_hi else 0
        if hi is None:  # torch's clamp_jvp
            return where(x > lo, x_dot, lo_dot)
        if lo is None:
            return where(x < hi, x_dot, hi_dot)
        inner = where(x < lo, lo_dot, where(x > hi, hi_dot, x_dot))
        return where(lo > hi, hi_dot, inner)


def clamp(x, min=None, max=None):
    """x clamped to [min, max] (numbers or tensors; either may be None, not
    both); at a bound the derivative is 1, as in torch."""
    if min is None and max is None:
        raise RuntimeError(
            "torch.clamp: At least one of 'min' or 'max' must not be None "
            "(vjplib.clamp: give min=, max= or both)"
        )
    for what, v in (("min", min), ("max", max)):
        if v is not None and (
            not (_is_tensor(v) or isinstance(v, (int, float)))
            or isinstance(v, bool)
        ):
            raise TypeError(
                f"clamp: {what} must be a number, a tensor or None, got a "
                f"{type(v).__name__}"
            )
    if _is_tensor(min) or _is_tensor(max):
        lo, hi = (
            torch.tensor(v, dtype=x.dtype, device=x.device)
            if isinstance(v, (int, float))
            else v
            for v in (min, max)
        )
        tensors = [v for v in (x, lo, hi) if _is_tensor(v)]
        if builtins.any(_boxed(v) for v in tensors):
            for v in tensors[1:]:
                _operands("clamp", x, v)  # one float dtype
            shape = torch.broadcast_shapes(*(tuple(v.shape) for v in tensors))
            x, lo, hi = (
                broadcast_to(v, shape) if _is_tensor(v) else v
                for v in (x, lo, hi)
            )
        return Clamp.apply(x, lo, hi)
    return Clamp.apply(x, min, max)
