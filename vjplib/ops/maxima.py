"""The largest entry: amax and max, whose ties share the cotangent, and
the ops max(x, dim) is made of (argmax, gather, scatter)."""

import torch

from .base import Op, _dims, _is_tensor, _vmap_leading
from .compare import NoDerivative, ne, where
from .kinks import maximum
from .reductions import Reduction, _sum
from .shape import reshape


class Amax(Reduction):
    """y = max of x over `dims`
    VJP: x_bar = (y_bar / n) m, m = (x = y) the tied maxima, n their count
    JVP: y_dot = sum of x_dot over m / n

    A tie shares the cotangent evenly (torch's choice). The VJP
    multiplies by m, as torch's scale_grad_by_count does, so an inf or NaN
    y_bar gives NaN off the maxima too; a NaN in x makes y NaN, m empty and
    the whole row NaN.
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
    """y = max of all of x
    VJP: x_bar = y_bar / n on m, 0 elsewhere, m = (x = y) the tied maxima (the
        NaNs when y is NaN), n their count
    JVP: y_dot = sum of m x_dot / n

    A 0-d y. Ties share evenly, as in amax; but this VJP selects
    (torch's evenly_distribute_backward), so x_bar is 0 off m even for an
    inf y_bar, and a NaN max sends y_bar to the NaNs. (`dims` are all of
    x's dims; vmap passes an example's.)
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


def _argmax(x, dim):
    """The index of the largest x along `dim` (the first one on a tie, a NaN if
    there is one: torch.max's indices), kept as a size-1 dim. No derivative."""
    return torch.max(x, dim, keepdim=True).indices


class Gather(Op):
    """y = x at `index` along `dim`
    VJP: x_bar = zeros with y_bar put at index
    JVP: y_dot = x_dot at index

    torch.gather; index is x's shape with size 1 along dim. Linear in
    x: J picks entries, so Jᵀ puts them back (the VJP).
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


class Scatter(Op):
    """y = zeros with v put at `index` along `dim`
    VJP: v_bar = y_bar at index
    JVP: y_dot = v_dot put at index

    y has size n along dim; v and index have size 1 there. Linear in v;
    its transpose is Gather's, the VJP.
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
    index = NoDerivative.apply(_argmax, x, d)
    values = Gather.apply(x, index, d)
    if not keepdim:
        shape = tuple(s for i, s in enumerate(x.shape) if i - x.ndim != d)
        values, index = reshape(values, shape), reshape(index, shape)
    return torch.return_types.max((values, index))
