"""Ops with kinks, ties and NaNs: relu, abs, sqrt, where, maximum, minimum,
amax, max, clamp, and the comparisons that feed where; with logsumexp and
mean, the other reductions a network's loss needs.

Each op follows ``ops.py`` (its class states f, its VJP and its JVP, then the
function users call), and each rule is torch's own formula
(``tools/autograd/derivatives.yaml``), written with vjplib ops, so vjplib
returns exactly what ``backward()`` returns where no derivative exists. Torch
documents the choice ("Gradients for non-differentiable functions" in its
autograd notes): the gradient where there is one; else the smallest
subgradient where f is locally convex (relu'(0) = 0, abs'(0) = 0); else a
value by continuity, inf allowed (sqrt'(0) = inf); else anything, often NaN.
Ties are split by each op its own way (``max(x)`` and ``amax`` share the
cotangent evenly among the tied entries, ``maximum`` gives each half,
``max(x, dim)`` gives it all to the index it returns), and NaN and inf follow
the formula: a rule that multiplies turns a 0 cotangent times an infinite
derivative into NaN (the ``where(x > 0, sqrt(x), 0)`` trap), one that
selects (``where``, relu's threshold) does not.

Comparisons (``x > 0``, ``<``, ``>=``, ``<=``, ``==``, ``!=``), ``sign`` and
``max``'s indices have no derivative: their ops say ``differentiable =
False``, so ``function._apply`` runs them on the values under every box of a
derivative (a plain bool tensor that records nothing), while vmap still
batches them. A rule uses them freely: a mask computed from a traced value is
a constant, which is why relu'' = 0.

logsumexp and mean live here too: they are reductions, like amax (same dims
and keepdim handling), and logsumexp's stability is amax's job.
"""

import builtins
import math

import torch

from .box import Box
from .function import Function
from .ops import (
    Elementwise,
    _broadcast,
    _check_operands,
    _dims,
    _is_tensor,
    _operands,
    _sum,
    _vmap_leading,
    broadcast_to,
    exp,
    reshape,
)

# ---------------------------------------------------------------- no
# derivative: comparisons, sign, the index of a max


class Compare(Function):
    """c = (a op b) entry by entry, op one of torch.gt, lt, ge, le, eq, ne (a
    bool tensor), or bitwise_and, or, xor (``&``, ``|``, ``^`` of masks). No
    derivative (c is piecewise constant): it records nothing and carries no
    tangent. Batching: elementwise, on the stack."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b, op):
        return op(a, b)


class Sign(Function):
    """s = sign x (-1, 0 or 1). No derivative (0 wherever it exists): a
    constant for every transformation, as torch's sgn is."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x):
        return torch.sign(x)


class Invert(Function):
    """c = ~m, the mask m negated (torch.bitwise_not). No derivative."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, m):
        return torch.bitwise_not(m)


class ArgMax(Function):
    """i = the index of the largest x along `dim` (the first one on a tie, a
    NaN if there is one: torch.max's indices), kept as a size-1 dim. No
    derivative."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, dim):
        return torch.max(x, dim, keepdim=True).indices


class TieWeight(Function):
    """w = 1 where (a op b), 1/2 where a = b, 0 elsewhere (op torch.gt for
    maximum, torch.lt for minimum): the share of a's tangent in maximum's
    and minimum's JVP. No derivative."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b, op):
        return torch.where(a == b, 0.5, op(a, b).to(a.dtype))


class ClampMask(Function):
    """m, a bool tensor: where clamp(x, lo, hi) passes the cotangent to
    `which` of x, lo and hi (torch's clamp_backward and
    clamp_backward_min_max; a bound None: no test): x where lo ≤ x ≤ hi,
    its bounds included; lo where x < lo (and lo < hi); hi where x > hi (or
    hi < lo: then y = hi everywhere). No derivative."""

    differentiable = False
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, lo, hi, which):
        if which == "x":
            if lo is None:
                return x <= hi
            return x >= lo if hi is None else (x >= lo) & (x <= hi)
        if which == "lo":
            return x < lo if hi is None else (x < lo) & (lo < hi)
        return x > hi if lo is None else (x > hi) | (hi < lo)


def _boxed(v):
    return isinstance(v, Box)


def _compare(op, name, a, b):
    _check_operands(name, a, b, "compare", "; pass a tensor or a number")
    if _is_tensor(a) and _is_tensor(b) and (_boxed(a) or _boxed(b)):
        a, b = _broadcast(a, b)  # explicit, so vmap lines the dims up
    return Compare.apply(a, b, op)


def gt(a, b):
    """a > b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.gt, "gt", a, b)


def lt(a, b):
    """a < b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.lt, "lt", a, b)


def ge(a, b):
    """a >= b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.ge, "ge", a, b)


def le(a, b):
    """a <= b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.le, "le", a, b)


def eq(a, b):
    """a == b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.eq, "eq", a, b)


def ne(a, b):
    """a != b entry by entry: a bool tensor with no derivative."""
    return _compare(torch.ne, "ne", a, b)


def bitwise_and(a, b):
    """a & b, for masks: where both hold (no derivative)."""
    return _compare(torch.bitwise_and, "bitwise_and", a, b)


def bitwise_or(a, b):
    """a | b, for masks: where either holds (no derivative)."""
    return _compare(torch.bitwise_or, "bitwise_or", a, b)


def bitwise_xor(a, b):
    """a ^ b, for masks: where exactly one holds (no derivative)."""
    return _compare(torch.bitwise_xor, "bitwise_xor", a, b)


def bitwise_not(m):
    """~m, for a mask: where it does not hold (no derivative)."""
    return Invert.apply(m)


def sign(x):
    """sign x (-1, 0, 1), a constant for every transformation."""
    return Sign.apply(x)


# ---------------------------------------------------------------- where


class Where(Function):
    """y = c ? a : b, that is where(c, a, b): a where the bool c is True, b
    elsewhere (a or b may be a number).   VJP: a_bar = y_bar where c (else
    0), b_bar = y_bar where not c (else 0).   JVP: y_dot = c ? a_dot :
    b_dot.
    The rules select, they do not multiply: the branch not taken gets a
    cotangent 0 exactly. The trap: in where(x > 0, sqrt(x), 0), sqrt still
    runs at x ≤ 0, and its VJP turns that 0 into 0 / (2 · 0) = NaN (or 0 /
    NaN): the NaN is sqrt's, and it reaches x. Select the input too
    (sqrt(where(x > 0, x, 1))): the double where.
    Linear in (a, b) together for a fixed c: ⟨y_bar, where(c, a, b)⟩ =
    ⟨where(c, y_bar, 0), a⟩ + ⟨where(c, 0, y_bar), b⟩, so the transpose is
    the VJP. Batching: elementwise, on the stack.
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


# ---------------------------------------------------------------- elementwise


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


class Relu(Function):
    """y = relu x (the larger of x and 0).   VJP: x_bar = y_bar where y > 0
    (else 0).   JVP: y_dot = x_dot where y > 0 (else 0).
    At the kink x = 0 torch takes relu'(0) = 0, the smallest subgradient of
    the convex relu (any slope in [0, 1] would do). The rules select (a
    where, torch's threshold_backward), so a NaN or inf y_bar at x ≤ 0 still
    gives 0; the mask is a constant, so relu'' = 0.
    Batching: elementwise, on the stack.
    """

    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x):
        y = torch.relu(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def vjp(ctx, y_bar):
        (y,) = ctx.saved_tensors
        return _threshold(y_bar, y)

    @staticmethod
    def jvp(ctx, x_dot):
        (y,) = ctx.saved_tensors
        return _threshold(x_dot, y)


def relu(x):
    """max(x, 0) entry by entry; relu'(0) = 0, as in torch."""
    return Relu.apply(x)


class Abs(Elementwise):
    """y = |x|, f'(x) = sign x.   VJP: x_bar = y_bar sign(x).   JVP: y_dot =
    x_dot sign(x).
    At the kink x = 0, sign 0 = 0: torch's abs'(0) = 0, the smallest
    subgradient in [-1, 1]. The rules multiply, so a NaN or inf y_bar gives
    NaN even at 0; sign is a constant, so abs'' = 0.
    """

    f = staticmethod(torch.abs)
    uses = "x"

    @staticmethod
    def derivative(x):
        return sign(x)


def abs(x):
    """|x| entry by entry; abs'(0) = 0, as in torch."""
    return Abs.apply(x)


class Sqrt(Function):
    """y = √x.   VJP: x_bar = y_bar / (2 y).   JVP: y_dot = x_dot / (2 y).
    At x = 0 the derivative is +inf (by continuity, torch's rule): a
    cotangent y_bar > 0 gives inf, y_bar = 0 gives 0 / 0 = NaN. At x < 0, y
    is NaN and so are both rules. Written with y (saved), as torch's
    formula, so the NaN and inf fall where torch's do.
    Batching: elementwise, on the stack.
    """

    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x):
        y = torch.sqrt(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def vjp(ctx, y_bar):
        (y,) = ctx.saved_tensors
        return y_bar / (2 * y)

    @staticmethod
    def jvp(ctx, x_dot):
        (y,) = ctx.saved_tensors
        return x_dot / (2 * y)


def sqrt(x):
    """√x entry by entry; its derivative at 0 is inf, as in torch."""
    return Sqrt.apply(x)


class Maximum(Function):
    """y = a ∨ b (maximum: the larger, entry by entry).   VJP: a_bar = y_bar
    where a > b (y_bar / 2 where a = b; else 0), b_bar = y_bar where b > a
    (y_bar / 2 where a = b; else 0).   JVP: y_dot = b_dot + w (a_dot -
    b_dot), w = 1 where a > b (1/2 where a = b; else 0).
    A tie splits the cotangent in halves (torch's choice, a subgradient of
    the convex maximum: any split summing to y_bar would do). A NaN in a or
    b fails every test, so both get the whole y_bar.
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
        w = TieWeight.apply(a, b, cls.wins)
        if not need_b:
            return w * a_dot
        if not need_a:
            return b_dot - w * b_dot
        return b_dot + w * (a_dot - b_dot)


class Minimum(Maximum):
    """y = a ∧ b (minimum: the smaller, entry by entry).   VJP: a_bar = y_bar
    where a < b (y_bar / 2 where a = b; else 0), b_bar = y_bar where b < a
    (y_bar / 2 where a = b; else 0).   JVP: y_dot = b_dot + w (a_dot -
    b_dot), w = 1 where a < b (1/2 where a = b; else 0).
    Ties split in halves, as in maximum.
    """

    wins = staticmethod(torch.lt)
    f = staticmethod(torch.minimum)


def _pair(op, name, a, b):
    a, b, boxed = _operands(name, a, b)
    return op.apply(*(_broadcast(a, b) if boxed else (a, b)))


def maximum(a, b):
    """The larger of a and b entry by entry (a tie gives each half the
    cotangent, as in torch)."""
    return _pair(Maximum, "maximum", a, b)


def minimum(a, b):
    """The smaller of a and b entry by entry (a tie gives each half the
    cotangent, as in torch)."""
    return _pair(Minimum, "minimum", a, b)


class Clamp(Function):
    """y = x clamped to lo ≤ y ≤ hi (min(max(x, lo), hi); lo and hi numbers
    or tensors, either may be None).   VJP: x_bar = y_bar where lo ≤ x ≤ hi
    (else 0), lo_bar = y_bar where x < lo (else 0), hi_bar = y_bar where x >
    hi (else 0).   JVP: y_dot = x_dot where lo ≤ x ≤ hi (else 0), for number
    bounds; for tensor bounds the tangent of the value y takes: lo_dot where
    x < lo, hi_dot where x > hi, else x_dot.
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
            return where(ClampMask.apply(x, lo, hi, which), y_bar, 0)

        return (
            share("x"),
            share("lo") if need_lo else None,
            share("hi") if need_hi else None,
        )

    @staticmethod
    def jvp(ctx, x_dot, lo_dot, hi_dot):
        x, lo, hi = Clamp._bounds(ctx)
        if not (_is_tensor(lo) or _is_tensor(hi)):  # number bounds
            return where(ClampMask.apply(x, lo, hi, "x"), x_dot, 0)
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


# ---------------------------------------------------------------- reductions


def _kept(x_shape, dims):
    """x's shape with the reduced dims kept as size 1."""
    n = len(x_shape)
    return tuple(1 if d - n in dims else s for d, s in enumerate(x_shape))


def _reduce(torch_fn, x, dims, keepdim):
    """torch_fn(x, dims, keepdim); no dims (a 0-d x): x itself, a copy
    (an empty dim tuple would make torch reduce every dim, the batch's
    too)."""
    return torch_fn(x, dims, keepdim) if dims else x.clone()


class Reduction(Function):
    """Base of the reductions over `dims` (negative, as ``_dims`` gives):
    forward keeps x's shape, the dims and keepdim, and saves x and y; the
    rules reshape y and y_bar (with its leading batch dims) to x's shape
    with the reduced dims kept as size 1 (``_up``).
    Batching: the dims count from the right, so the batch rides along.
    """

    vmap = classmethod(_vmap_leading)

    @classmethod
    def forward(cls, ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = tuple(x.shape), dims, keepdim
        y = _reduce(cls.f, x, dims, keepdim)
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def _up(ctx, v, ndim):
        """v (batch + y's shape, y with ndim dims) as batch + kept."""
        kept = _kept(ctx.x_shape, ctx.dims)
        return reshape(v, tuple(v.shape[: v.ndim - ndim]) + kept)


class Amax(Reduction):
    """y = max of x over `dims`.   VJP: x_bar = (y_bar / n) m, m = (x = y)
    the tied maxima, n their count.   JVP: y_dot = sum of x_dot over m / n.
    A tie shares the cotangent evenly (torch's choice). The VJP multiplies
    by m, as torch's scale_grad_by_count does, so an inf or NaN y_bar gives
    NaN off the maxima too; a NaN in x makes y NaN, m empty and the whole
    row NaN.
    """

    f = staticmethod(torch.amax)

    @staticmethod
    def vjp(ctx, y_bar):
        x, y = ctx.saved_tensors
        m = x == Amax._up(ctx, y, y.ndim)
        n = _sum(m, ctx.dims, True)
        return (Amax._up(ctx, y_bar, y.ndim) / n) * m, None, None

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        x, y = ctx.saved_tensors
        m = x == Amax._up(ctx, y, y.ndim)
        n = _sum(m, ctx.dims, ctx.keepdim)
        return _sum(where(m, x_dot, 0), ctx.dims, ctx.keepdim) / n


def amax(x, dim=(), keepdim=False):
    """The largest entry of x over dim (an int or a tuple; () or None: all
    dims); ties share the cotangent evenly, as in torch."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    if dim is None and x.numel() == 0:
        raise RuntimeError(
            "amax(): Expected reduction dim to be specified for "
            f"input.numel() == 0 (x has shape {tuple(x.shape)}). Specify "
            "the reduction dim with the 'dim' argument."
        )
    dims = _dims("amax", x, dim)
    _nonempty("amax", x, dims, dim)
    return Amax.apply(x, dims, keepdim)


def _nonempty(op, x, dims, given):
    """A max over an empty dim has no value: torch's IndexError (over all
    dims of an empty x, torch's forward raises its RuntimeError)."""
    for d in dims if given is not None else ():
        if x.shape[d] == 0:
            name = given if isinstance(given, int) else d + x.ndim
            raise IndexError(
                f"{op}(): Expected reduction dim {name} to have "
                f"non-zero size (x has shape {tuple(x.shape)}); reduce "
                "non-empty dims only"
            )


class MaxAll(Reduction):
    """y = max of all of x (a 0-d y).   VJP: x_bar = y_bar / n on m, 0
    elsewhere, m = (x = y) the tied maxima (the NaNs when y is NaN), n their
    count.   JVP: y_dot = sum of m x_dot / n.
    Ties share evenly, as in amax; but this VJP selects (torch's
    evenly_distribute_backward), so x_bar is 0 off m even for an inf y_bar,
    and a NaN max sends y_bar to the NaNs. (`dims` are all of x's dims; vmap
    passes an example's.)
    """

    f = staticmethod(torch.amax)

    @staticmethod
    def vjp(ctx, y_bar):
        x, y = ctx.saved_tensors
        y_k = MaxAll._up(ctx, y, y.ndim)
        m = where(ne(y_k, y_k), ne(x, x), x == y_k)  # NaN max: the NaNs
        n = _sum(m, ctx.dims, True)
        return where(m, MaxAll._up(ctx, y_bar, y.ndim) / n, 0), None, None

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        x, y = ctx.saved_tensors
        m = x == MaxAll._up(ctx, y, y.ndim)
        n = _sum(m, ctx.dims, True)
        return _sum(m * (x_dot / n), ctx.dims, False)


class Gather(Function):
    """y = x at `index` along `dim` (torch.gather; index is x's shape with
    size 1 along dim).   VJP: x_bar = zeros with y_bar put at index.   JVP:
    y_dot = x_dot at index.
    Linear in x: J picks entries, so Jᵀ puts them back (the VJP).
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.save_for_backward(index)
        ctx.dim, ctx.n = dim, x.shape[dim]
        return torch.gather(x, dim, _lead(index, x))

    @staticmethod
    def vjp(ctx, y_bar):
        (index,) = ctx.saved_tensors
        return Scatter.apply(y_bar, index, ctx.dim, ctx.n), None, None

    @staticmethod
    def jvp(ctx, x_dot, index_dot, dim_dot):
        (index,) = ctx.saved_tensors
        return Gather.apply(x_dot, index, ctx.dim)

    @staticmethod
    def transpose(ctx, y_bar):
        return Gather.vjp(ctx, y_bar)


class Scatter(Function):
    """y = zeros with v put at `index` along `dim`, where y has size n (v
    and index have size 1 there).   VJP: v_bar = y_bar at index.   JVP: y_dot
    = v_dot put at index.
    Linear in v; its transpose is Gather's, the VJP.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, v, index, dim, n):
        ctx.save_for_backward(index)
        ctx.dim = dim
        shape = list(v.shape)
        shape[dim] = n
        return v.new_zeros(shape).scatter_(dim, _lead(index, v), v)

    @staticmethod
    def vjp(ctx, y_bar):
        (index,) = ctx.saved_tensors
        return Gather.apply(y_bar, index, ctx.dim), None, None, None

    @staticmethod
    def jvp(ctx, v_dot, index_dot, dim_dot, n_dot):
        (index,) = ctx.saved_tensors
        return Scatter.apply(v_dot, index, ctx.dim, v_dot.shape[ctx.dim])

    @staticmethod
    def transpose(ctx, y_bar):
        return Scatter.vjp(ctx, y_bar)


def _lead(index, x):
    """index expanded over x's leading (batch) dims (a view)."""
    lead = tuple(x.shape[: x.ndim - index.ndim])
    return index.expand(lead + tuple(index.shape)) if lead else index


def max(x, dim=None, keepdim=False):
    """max(x): the largest entry (a 0-d tensor), ties sharing the cotangent
    evenly. max(x, dim, keepdim=False): (values, indices) along dim, as
    torch's named tuple; the whole cotangent goes to the returned index (the
    first of a tie). max(x, other) with a tensor: maximum(x, other)."""
    if _is_tensor(dim):
        return maximum(x, dim)
    if dim is None:
        return MaxAll.apply(x, tuple(range(-x.ndim, 0)), False)
    (d,) = _dims("max", x, dim, many=False) or (None,)
    _nonempty("max", x, () if d is None else (d,), dim)
    if d is None:  # a 0-d x: itself, index 0
        index = torch.zeros((), dtype=torch.int64, device=x.device)
        return torch.return_types.max((x, index))
    index = ArgMax.apply(x, d)
    values = Gather.apply(x, index, d)
    if not keepdim:
        shape = tuple(s for i, s in enumerate(x.shape) if i - x.ndim != d)
        values, index = reshape(values, shape), reshape(index, shape)
    return torch.return_types.max((values, index))


class Logsumexp(Reduction):
    """y = log Σ exp x over `dims`, computed stably (torch.logsumexp shifts
    by the max first).   VJP: x_bar = y_bar exp(x - y), y_bar times the
    softmax of x.   JVP: y_dot = Σ x_dot exp(x - y) over dims.
    No kink, but inf: where x holds +inf (or is all -inf), x - y is NaN, in
    torch too. (The VJP is torch's formula; torch's JVP normalises exp(x -
    max x) by its sum instead, the same weights up to rounding, NaN at the
    same infinities.)
    """

    f = staticmethod(torch.logsumexp)

    @staticmethod
    def vjp(ctx, y_bar):
        x, y = ctx.saved_tensors
        s = exp(x - Logsumexp._up(ctx, y, y.ndim))
        return Logsumexp._up(ctx, y_bar, y.ndim) * s, None, None

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        x, y = ctx.saved_tensors
        s = exp(x - Logsumexp._up(ctx, y, y.ndim))
        return _sum(x_dot * s, ctx.dims, ctx.keepdim)


def logsumexp(x, dim, keepdim=False):
    """log Σ exp x over dim (an int or a tuple), computed stably."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return Logsumexp.apply(x, _dims("logsumexp", x, dim), keepdim)


class Mean(Reduction):
    """y = mean of x over `dims`: their sum over n, the number of entries
    averaged.   VJP: x_bar = y_bar / n copied back along dims.   JVP: y_dot =
    mean of x_dot.
    Linear in x: the transpose is the VJP.
    """

    linear_in = (0,)
    f = staticmethod(torch.mean)

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = tuple(x.shape), dims, keepdim
        ctx.n = math.prod(ctx.x_shape[d] for d in dims)
        return _reduce(torch.mean, x, dims, keepdim)

    @staticmethod
    def vjp(ctx, y_bar):
        ndim = len(ctx.x_shape) - (0 if ctx.keepdim else len(ctx.dims))
        up = Mean._up(ctx, y_bar, ndim)
        batch = tuple(up.shape[: up.ndim - len(ctx.x_shape)])
        return broadcast_to(up, batch + ctx.x_shape) / ctx.n, None, None

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        return Mean.apply(x_dot, ctx.dims, ctx.keepdim)

    @staticmethod
    def transpose(ctx, y_bar):
        return Mean.vjp(ctx, y_bar)


def mean(x, dim=None, keepdim=False):
    """The mean of x over dim (an int, a tuple, or None for all dims)."""
    if not x.dtype.is_floating_point:
        raise RuntimeError(
            "mean(): could not infer output dtype. Input dtype must be "
            f"either a floating point or complex dtype. Got: {x.dtype}; "
            "convert it first, e.g. x.to(torch.float64)"
        )
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return Mean.apply(x, _dims("mean", x, dim), keepdim)
