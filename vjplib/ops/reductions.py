"""The reductions and scans: sum, cumsum, norm, mean, logsumexp (amax and
max, with their ties, are in maxima.py). Dims are negative, counted from
the right (as ``_dims`` gives), so a batch in front rides along.
"""

import math

import torch

from .base import Op, _batch, _dims, _vmap_leading
from .elementwise import exp, recip
from .shape import broadcast_to, flip, reshape


class Sum(Op):
    """y = sum of x over `dims`
    VJP: x_bar = y_bar copied back along the summed dims
    JVP: y_dot = sum of x_dot over the same dims

    J is a row of ones per output entry. Linear: ⟨y_bar, sum x⟩ =
    ⟨y_bar copied along the summed dims, x⟩, so the transpose is the VJP.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = tuple(x.shape), dims, keepdim
        return torch.sum(x, dims, keepdim)

    @staticmethod
    def vjp(ctx, y_bar):
        kept = _kept(ctx.x_shape, ctx.dims)
        n = len(kept) if ctx.keepdim else len(kept) - len(ctx.dims)
        batch = _batch(y_bar, n)
        return (
            broadcast_to(reshape(y_bar, batch + kept), batch + ctx.x_shape),
            None,
            None,
        )

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        return _sum(x_dot, ctx.dims, ctx.keepdim)


def sum(x, dim=None, keepdim=False):
    """Sum of x over dim (an int, a tuple, or None for all dims); as in torch,
    an empty tuple or list means all dims too."""
    if isinstance(dim, (tuple, list)) and len(dim) == 0:
        dim = None
    return _sum(x, _dims("sum", x, dim), keepdim)


def _sum(x, dims, keepdim):
    """Sum over dims, a tuple of negative dims (as _dims gives); no dims: x
    itself. (The rules sum with this: no dims means nothing to sum.)"""
    return Sum.apply(x, dims, keepdim) if dims else x


def _kept(x_shape, dims):
    """x's shape with the reduced dims kept as size 1."""
    n = len(x_shape)
    return tuple(1 if d - n in dims else s for d, s in enumerate(x_shape))


class Cumsum(Op):
    """y = cumsum of x along `dim`
    VJP: x_bar = reversed cumsum of the reversed y_bar
    JVP: y_dot = cumsum of x_dot

    y_i = x_0 + ... + x_i. J is lower-triangular ones, so Jᵀ is
    upper-triangular ones, a cumsum from the other end: the VJP, which is
    also the transpose rule (cumsum is linear).
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return torch.cumsum(x, dim)

    @staticmethod
    def vjp(ctx, y_bar):
        return flip(cumsum(flip(y_bar, ctx.dim), ctx.dim), ctx.dim), None

    @staticmethod
    def jvp(ctx, x_dot, dim_dot):
        return cumsum(x_dot, ctx.dim)


def cumsum(x, dim=-1):
    """Cumulative sum of x along one dim (an int)."""
    dims = _dims("cumsum", x, dim, many=False)
    return Cumsum.apply(x, dims[0]) if dims else x


class Norm(Op):
    """y = ‖x‖ = sqrt(sum of x²) over `dims`
    VJP: x_bar = y_bar x / y
    JVP: y_dot = ⟨x, x_dot⟩ / y, the sum over `dims`

    `dims` are by default all of x's dims (the Frobenius norm); vmap
    passes an example's dims; no dims: y = |x|. At y = 0 (x = 0, or x
    empty) ‖·‖ has no derivative; there both rules give 0 (the smallest
    subgradient), as torch's do, not 0/0 = nan: they multiply by recip(y),
    1/y with 0 at 0.
    Batching: the batch dim stays in front and each example is reduced over
    its own dims.
    """

    @staticmethod
    def forward(ctx, x, dims=None):
        ctx.given = dims is not None
        ctx.dims = tuple(range(-x.ndim, 0)) if dims is None else dims
        y = (
            torch.linalg.vector_norm(x, dim=ctx.dims)
            if ctx.dims
            else torch.abs(x)
        )
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def vjp(ctx, y_bar):
        x, y = ctx.saved_tensors
        kept = _kept(tuple(x.shape), ctx.dims)
        batch = _batch(y_bar, y.ndim)
        x_bar = x * reshape(y_bar * recip(y), batch + kept)
        return (x_bar, None) if ctx.given else x_bar

    @staticmethod
    def jvp(ctx, x_dot, dims_dot=None):
        x, y = ctx.saved_tensors
        return _sum(x * x_dot, ctx.dims, False) * recip(y)

    @staticmethod
    def vmap(info, in_dims, x, dims=None):
        dims = tuple(range(1 - x.ndim, 0)) if dims is None else dims
        return Norm.apply(x, dims), 0


def norm(x):
    """The Frobenius norm ‖x‖_F: square root of the sum of squares of all
    entries (a 0-d result)."""
    return Norm.apply(x)


def _reduce(torch_fn, x, dims, keepdim):
    """torch_fn(x, dims, keepdim); no dims (a 0-d x): x itself, a copy (an
    empty dim tuple would make torch reduce every dim, the batch's too)."""
    return torch_fn(x, dims, keepdim) if dims else x.clone()


class Reduction(Op):
    """Base of the reductions over `dims` that save x and y: forward keeps x's
    shape, the dims and keepdim; the rules reshape y and y_bar (with its
    leading batch dims) to x's shape with the reduced dims kept as size 1
    (``_up``)."""

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


class Logsumexp(Reduction):
    """y = log Σ exp x over `dims`
    VJP: x_bar = y_bar exp(x - y), y_bar times the softmax of x
    JVP: y_dot = Σ x_dot exp(x - y) over dims

    Computed stably (torch.logsumexp shifts by the max first).
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
    """y = mean of x over `dims`: their sum over n
    VJP: x_bar = y_bar / n copied back along dims
    JVP: y_dot = mean of x_dot

    n is the number of entries averaged. Linear in x: the transpose is
    the VJP.
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
