"""The ops that move or copy entries and do no arithmetic: broadcast_to,
reshape, transpose, flip, movedim. Each is linear, and its transpose rule
is its VJP: a permutation's transpose is its inverse, and a copy's adds the
copies back.
"""

import torch

from .base import Op, _batch, _dims, _vmap_leading


class BroadcastTo(Op):
    """y = x broadcast to `shape`
    VJP: x_bar = y_bar summed over the new and the stretched dims (back to x's
        shape)
    JVP: y_dot = x_dot broadcast the same way

    torch's rules: new dims on the left, size-1 dims stretched. J copies
    each x_i to the entries it is stretched over, so Jᵀ adds them back.
    Batching: the batch dim stays in front, x's dims are right-aligned.
    """

    linear_in = (0,)

    @staticmethod
    def forward(ctx, x, shape):
        ctx.x_shape, ctx.shape = tuple(x.shape), tuple(shape)
        return x.expand(shape)

    @staticmethod
    def vjp(ctx, y_bar):
        n, x_shape = len(ctx.shape), ctx.x_shape
        padded = (1,) * (n - len(x_shape)) + x_shape
        dims = tuple(
            d - n for d in range(n) if padded[d] == 1 and ctx.shape[d] != 1
        )
        x_bar = _sum(y_bar, dims, True)
        return reshape(x_bar, _batch(y_bar, n) + x_shape), None

    @staticmethod
    def jvp(ctx, x_dot, shape_dot):
        batch = _batch(x_dot, len(ctx.x_shape))
        padded = (1,) * (len(ctx.shape) - len(ctx.x_shape)) + ctx.x_shape
        return broadcast_to(reshape(x_dot, batch + padded), batch + ctx.shape)

    @staticmethod
    def vmap(info, in_dims, x, shape):
        padded = (1,) * (len(shape) - (x.ndim - 1)) + tuple(x.shape[1:])
        x = reshape(x, (info.batch_size,) + padded)
        return BroadcastTo.apply(x, (info.batch_size,) + tuple(shape)), 0


def broadcast_to(x, shape):
    """x broadcast to `shape` (a no-op when the shape already matches)."""
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else BroadcastTo.apply(x, shape)


class Reshape(Op):
    """y = x with a new shape
    VJP: x_bar = y_bar reshaped to x's shape
    JVP: y_dot = x_dot reshaped to y's shape

    Row-major order kept: J is the identity on the flat data.
    Batching: the batch dim stays in front.
    """

    linear_in = (0,)

    @staticmethod
    def forward(ctx, x, shape):
        y = torch.reshape(x, shape)
        ctx.x_shape, ctx.y_shape = tuple(x.shape), tuple(y.shape)
        return y

    @staticmethod
    def vjp(ctx, y_bar):
        return reshape(
            y_bar, _batch(y_bar, len(ctx.y_shape)) + ctx.x_shape
        ), None

    @staticmethod
    def jvp(ctx, x_dot, shape_dot):
        return reshape(x_dot, _batch(x_dot, len(ctx.x_shape)) + ctx.y_shape)

    @staticmethod
    def vmap(info, in_dims, x, shape):
        return Reshape.apply(x, (info.batch_size,) + tuple(shape)), 0


def reshape(x, *shape):
    """x with a new shape; reshape(x, (2, 3)) or reshape(x, 2, 3); one entry
    may be -1."""
    shape = (
        tuple(shape[0])
        if len(shape) == 1 and not isinstance(shape[0], int)
        else shape
    )
    return Reshape.apply(x, shape)


class Transpose(Op):
    """Y = Xᵀ
    VJP: X_bar = Y_barᵀ
    JVP: Y_dot = X_dotᵀ

    The last two dims swapped. The Jacobian is a permutation matrix;
    its transpose is the inverse permutation.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, X):
        return X.transpose(-1, -2)

    @staticmethod
    def vjp(ctx, Y_bar):
        return transpose(Y_bar)

    @staticmethod
    def jvp(ctx, X_dot):
        return transpose(X_dot)


def transpose(X):
    """Xᵀ: swaps the last two dims (torch's X.mT)."""
    if X.ndim < 2:
        raise RuntimeError(  # torch's class and words (X.mT)
            "transpose: X.mT is only supported on matrices or batches of "
            f"matrices, got shape {tuple(X.shape)}; use reshape to make a "
            "row or a column first"
        )
    return Transpose.apply(X)


class Flip(Op):
    """y = x reversed along `dims`
    VJP: x_bar = y_bar reversed
    JVP: y_dot = x_dot reversed

    Reversing is its own inverse and a permutation: Jᵀ = J⁻¹ = J, so the
    VJP is the JVP (and the transpose rule too).
    """

    vmap = classmethod(_vmap_leading)
    linear_in = (0,)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return torch.flip(x, dims)

    @staticmethod
    def jvp(ctx, x_dot, dims_dot=None):
        return flip(x_dot, ctx.dims)

    @staticmethod
    def vjp(ctx, y_bar):
        return Flip.jvp(ctx, y_bar), None


def flip(x, dims):
    """x reversed along dims (an int or a tuple; () flips nothing)."""
    return Flip.apply(x, _dims("flip", x, dims))


class Movedim(Op):
    """y = x with dim `source` moved to `destination`
    VJP: x_bar = y_bar with the dim moved back
    JVP: y_dot = x_dot with the dim moved the same way

    The other dims keep their order (torch.movedim; both dims negative,
    counted from the right, so leading batch dims ride along). A
    permutation, so its transpose is its VJP.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, source, destination):
        ctx.source, ctx.destination = source, destination
        return torch.movedim(x, source, destination)

    @staticmethod
    def vjp(ctx, y_bar):
        return Movedim.apply(y_bar, ctx.destination, ctx.source), None, None

    @staticmethod
    def jvp(ctx, x_dot, source_dot, destination_dot):
        return Movedim.apply(x_dot, ctx.source, ctx.destination)


def movedim(x, source, destination):
    """x with dim `source` moved to `destination` (ints), as torch.movedim."""
    src = _dims("movedim", x, source, many=False)
    dst = _dims("movedim", x, destination, many=False)
    if not src or src == dst:  # a 0-d x, or nothing moves
        return x
    return Movedim.apply(x, src[0], dst[0])


from .reductions import _sum  # noqa: E402  (sum is broadcast_to's transpose)
