"""The built-in ops. Each class states f, its VJP and its JVP; each function is
what users call.

Notation: y = f(x); y_bar is the cotangent of y and x_bar = Jᵀ y_bar the VJP;
x_dot is a tangent and y_dot = J x_dot the JVP. Rules are written with vjplib
ops, so they can be differentiated again. A y_bar or x_dot may carry leading
batch dimensions: rules only index dimensions from the right. Two-input rules
look at ``ctx.needs_input_grad`` and do no work for a constant operand: no
cotangent (None), no term for its zero tangent, and forward saves only what the
rules will use.

Broadcasting follows torch. When a traced value takes part, the functions below
first broadcast the operands explicitly with ``broadcast_to`` (whose VJP sums
the cotangent back to the input's shape), so the rules of the ops themselves
only ever see operands of matching shapes.
"""

import builtins
import operator

import torch

from .box import Box
from .function import Function


def _batch(t, ndim):
    """The leading batch dimensions of t, a (co)tangent of a value with ndim
    dimensions.
    """
    return tuple(t.shape[: t.ndim - ndim])


def _dim_error(op, dim, many):
    """The TypeError for a dim that is not an int: it names the op, the
    argument and the way out."""
    arg = "dims" if op == "flip" else "dim"
    kinds = (
        "an int"
        if not many
        else "an int or a tuple of ints"
        + (" (None: all dims)" if op == "sum" else "")
    )
    if isinstance(dim, bool):
        way = (
            "to keep the summed dims, pass keepdim=True by name"
            if op == "sum"
            else f"pass the {arg} as an int"
        )
    elif isinstance(dim, (tuple, list)):
        way = f"{op} runs along one dim: apply it once per dim"
    else:
        way = f"pass {'a whole number' if many else 'one'} such as 0 or -1"
    return TypeError(
        f"{op}: {arg} must be {kinds}, got the "
        f"{type(dim).__name__} {dim!r}; {way}"
    )


def _dims(op, x, dim, many=True):
    """dim as a sorted tuple of negative dims, counted from the right.

    dim is None (all dims), an int, or when `many` a tuple or list of ints.
    numpy integers count as ints (torch takes them too); bools, floats,
    repeated dims and dims out of range raise an error naming the op, as
    torch's do.
    """
    if dim is None:
        dims = range(x.ndim)
    else:
        listed = many and isinstance(dim, (tuple, list))
        dims = []
        for d in dim if listed else (dim,):
            if isinstance(d, bool):
                raise _dim_error(op, dim, many)
            try:
                dims.append(operator.index(d))
            except TypeError:
                raise _dim_error(op, dim, many) from None
    n = builtins.max(x.ndim, 1)  # torch lets a 0-d x name dim 0 or -1
    for d in dims:
        if not -n <= d < n:
            raise ValueError(
                f"{op}: dim {d} is out of range for a value of "
                f"shape {tuple(x.shape)}; use a dim in "
                f"[{-n}, {n - 1}]"
            )
    negative = [d % n - x.ndim for d in dims]
    for i, d in enumerate(negative):
        if d in negative[:i]:
            raise ValueError(
                f"{op}: {dim!r} names the same dim more than "
                "once (torch refuses that too); name each dim "
                "once"
            )
    return tuple(sorted(negative)) if x.ndim else ()


def _vmap_leading(cls, info, in_dims, *args):
    """The batching rule of an op that indexes dims from the right only, so
    leading dims ride along (elementwise ops, transpose, flip, cumsum, sum,
    inv, conv1d, movedim): give each unstacked tensor input the batch dim too
    (``broadcast_to``: a view; for a traced value a node whose VJP sums over
    the batch) and run the op once on the stack. Returns (output, 0)."""
    stacked = [
        broadcast_to(a, (info.batch_size,) + tuple(a.shape))
        if d is None and _is_tensor(a)
        else a
        for a, d in zip(args, in_dims)
    ]
    return cls.apply(*stacked), 0


# ---------------------------------------------------------------- elementwise,
# one input


class Neg(Function):
    """y = -x.   VJP: x_bar = -y_bar.   JVP: y_dot = -x_dot.
    Transpose: J = -I is symmetric, so x_bar = -y_bar.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x):
        return torch.neg(x)

    @staticmethod
    def vjp(ctx, y_bar):
        return -y_bar

    @staticmethod
    def jvp(ctx, x_dot):
        return -x_dot

    @staticmethod
    def transpose(ctx, y_bar):
        return -y_bar


class Elementwise(Function):
    """Base of the one-input elementwise ops y = f(x) (and constant parameters,
    like pow's c).

    Each y_i depends on x_i alone, so J is diagonal with f'(x) on the diagonal,
    and VJP: x_bar = y_bar f'(x).   JVP: y_dot = x_dot f'(x).   (Never build
    the diagonal J.) A subclass gives f, ``uses`` ("x" or "y": the one value f'
    is written in, the only one saved) and ``derivative(x or y, *params)`` =
    f'(x), written with vjplib ops.
    Batching: y_i depends on x_i alone, so the op runs as it is on the
    stack of examples.
    """

    vmap = classmethod(_vmap_leading)

    @classmethod
    def forward(cls, ctx, x, *params):
        y = cls.f(x, *params)
        ctx.save_for_backward(x if cls.uses == "x" else y)
        ctx.params = params
        return y

    @classmethod
    def vjp(cls, ctx, y_bar):
        (v,) = ctx.saved_tensors
        return (y_bar * cls.derivative(v, *ctx.params),) + (None,) * len(
            ctx.params
        )

    @classmethod
    def jvp(cls, ctx, x_dot, *params_dot):
        (v,) = ctx.saved_tensors
        return x_dot * cls.derivative(v, *ctx.params)


class Log(Elementwise):
    """
    y = log x, f'(x) = 1/x.   VJP: x_bar = y_bar / x.   JVP: y_dot = x_dot / x.
    """

    f = staticmethod(torch.log)
    uses = "x"

    @staticmethod
    def derivative(x):
        return 1 / x


class Exp(Elementwise):
    """y = exp x, f'(x) = y.   VJP: x_bar = y_bar y.   JVP: y_dot = x_dot y."""

    f = staticmethod(torch.exp)
    uses = "y"

    @staticmethod
    def derivative(y):
        return y


class Sin(Elementwise):
    """
    y = sin x, f'(x) = cos x.   VJP: x_bar = y_bar cos x.   JVP: y_dot = x_dot
    cos x.
    """

    f = staticmethod(torch.sin)
    uses = "x"

    @staticmethod
    def derivative(x):
        return cos(x)


class Cos(Elementwise):
    """y = cos x, f'(x) = -sin x.   VJP: x_bar = -y_bar sin x.   JVP: y_dot =
    -x_dot sin x.
    """

    f = staticmethod(torch.cos)
    uses = "x"

    @staticmethod
    def derivative(x):
        return -sin(x)


class Tanh(Elementwise):
    """
    y = tanh x, f'(x) = 1 - y².   VJP: x_bar = y_bar (1 - y²).   JVP: y_dot =
    x_dot (1 - y²).
    """

    f = staticmethod(torch.tanh)
    uses = "y"

    @staticmethod
    def derivative(y):
        return 1 - y * y


class Pow(Elementwise):
    """y = x^c for a constant c, f'(x) = c x^(c-1). VJP: x_bar = y_bar c
    x^(c-1).   JVP: y_dot = x_dot c x^(c-1). For c = 0, y = 1 and f' = 0
    everywhere, x = 0 included (as in torch; c x^(c-1) would give 0 · ∞ = nan
    there). That also keeps the second derivative of x^1 finite at 0: it is the
    derivative of x^0."""

    f = staticmethod(torch.pow)
    uses = "x"

    @staticmethod
    def derivative(x, c):
        if c == 0:
            return torch.zeros((), dtype=x.dtype, device=x.device)
        return c * x ** (c - 1)


class Softplus(Elementwise):
    """y = log(1 + eˣ), computed stably by torch.nn.functional.softplus (y = x
    for x > 20). f'(x) = σ(x) = 1 / (1 + e⁻ˣ), written as exp(-softplus(-x)):
    no step overflows, so σ(±1000) = 1 and 0, not nan. VJP: x_bar = y_bar σ(x).
    JVP: y_dot = x_dot σ(x)."""

    f = staticmethod(torch.nn.functional.softplus)
    uses = "x"

    @staticmethod
    def derivative(x):
        return exp(-softplus(-x))


# ---------------------------------------------------------------- elementwise,
# two inputs


def _terms(ctx, *terms):
    """
    Sum the JVP terms of the inputs that carry a tangent; terms[i]() computes
    input i's term.
    """
    kept = [term() for term, need in zip(terms, ctx.needs_input_grad) if need]
    return kept[0] if len(kept) == 1 else kept[0] + kept[1]


class Add(Function):
    """y = a + b.   VJP: a_bar = y_bar, b_bar = y_bar.   JVP: y_dot = a_dot +
    b_dot.
    Linear in (a, b) together: ⟨y_bar, a + b⟩ = ⟨y_bar, a⟩ + ⟨y_bar, b⟩, so
    the transpose copies y_bar to both: a_bar = b_bar = y_bar.
    """

    linear_in = (0, 1)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b):
        return torch.add(a, b)

    @staticmethod
    def vjp(ctx, y_bar):
        need_a, need_b = ctx.needs_input_grad
        return (y_bar if need_a else None), (y_bar if need_b else None)

    @staticmethod
    def jvp(ctx, a_dot, b_dot):
        return _terms(ctx, lambda: a_dot, lambda: b_dot)

    @staticmethod
    def transpose(ctx, y_bar):
        return Add.vjp(ctx, y_bar)


class Sub(Function):
    """y = a - b.   VJP: a_bar = y_bar, b_bar = -y_bar.   JVP: y_dot = a_dot -
    b_dot.
    Transpose: ⟨y_bar, a - b⟩ = ⟨y_bar, a⟩ + ⟨-y_bar, b⟩, so a_bar = y_bar,
    b_bar = -y_bar.
    """

    linear_in = (0, 1)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b):
        return torch.sub(a, b)

    @staticmethod
    def vjp(ctx, y_bar):
        need_a, need_b = ctx.needs_input_grad
        return (y_bar if need_a else None), (-y_bar if need_b else None)

    @staticmethod
    def jvp(ctx, a_dot, b_dot):
        return _terms(ctx, lambda: a_dot, lambda: -b_dot)

    @staticmethod
    def transpose(ctx, y_bar):
        return Sub.vjp(ctx, y_bar)


class Mul(Function):
    """y = a b.   VJP: a_bar = y_bar b, b_bar = y_bar a.   JVP: y_dot = a_dot b
    + a b_dot. (a_bar and a_dot's term need b, and the other way round: save b
    only if a needs it.)
    Linear in a for a constant b: J = diag(b) is symmetric, so the
    transpose is a_bar = y_bar b; in b for a constant a: b_bar = y_bar a.
    """

    linear_in = (0, 1)
    bilinear = True
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b):
        need_a, need_b = ctx.needs_input_grad
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        return torch.mul(a, b)

    @staticmethod
    def vjp(ctx, y_bar):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (y_bar * b if need_a else None), (y_bar * a if need_b else None)

    @staticmethod
    def jvp(ctx, a_dot, b_dot):
        a, b = ctx.saved_tensors
        return _terms(ctx, lambda: a_dot * b, lambda: a * b_dot)

    @staticmethod
    def transpose(ctx, y_bar):
        return Mul.vjp(ctx, y_bar)


class Div(Function):
    """
    y = a / b.   VJP: a_bar = y_bar / b, b_bar = -y_bar y / b.   JVP: y_dot =
    (a_dot - y b_dot) / b.
    Linear in a for a constant b: J = diag(1/b), transpose a_bar = y_bar / b.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, a, b):
        y = torch.div(a, b)
        ctx.save_for_backward(b, y if ctx.needs_input_grad[1] else None)
        return y

    @staticmethod
    def vjp(ctx, y_bar):
        b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (y_bar / b if need_a else None), (
            -(y_bar * y) / b if need_b else None
        )

    @staticmethod
    def jvp(ctx, a_dot, b_dot):
        b, y = ctx.saved_tensors
        return _terms(ctx, lambda: a_dot, lambda: -(y * b_dot)) / b

    @staticmethod
    def transpose(ctx, y_bar):
        (b, _) = ctx.saved_tensors
        return y_bar / b, None


# ---------------------------------------------------------------- shapes


class BroadcastTo(Function):
    """y = x broadcast to `shape` (torch's rules: new dims on the left, size-1
    dims stretched).

    VJP: x_bar = y_bar summed over the new and the stretched dims (back to x's
    shape). JVP: y_dot = x_dot broadcast the same way.
    Transpose: J copies each x_i to the entries it is stretched over, so
    Jᵀ adds them back: the VJP, x_bar = y_bar summed over those dims.
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
    def transpose(ctx, y_bar):
        return BroadcastTo.vjp(ctx, y_bar)

    @staticmethod
    def vmap(info, in_dims, x, shape):
        padded = (1,) * (len(shape) - (x.ndim - 1)) + tuple(x.shape[1:])
        x = reshape(x, (info.batch_size,) + padded)
        return BroadcastTo.apply(x, (info.batch_size,) + tuple(shape)), 0


class Reshape(Function):
    """y = x with a new shape (row-major order kept).   VJP: x_bar = y_bar
    reshaped to x's shape. JVP: y_dot = x_dot reshaped to y's shape.
    Transpose: J is a permutation of entries that keeps their order, the
    identity on the flat data: x_bar = y_bar reshaped to x's shape.
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
    def transpose(ctx, y_bar):
        return Reshape.vjp(ctx, y_bar)

    @staticmethod
    def vmap(info, in_dims, x, shape):
        return Reshape.apply(x, (info.batch_size,) + tuple(shape)), 0


class Transpose(Function):
    """Y = Xᵀ (the last two dims swapped).   VJP: X_bar = Y_barᵀ.   JVP: Y_dot
    = X_dotᵀ.

    The Jacobian is a permutation matrix; its transpose is the inverse
    permutation.
    Transpose rule: Jᵀ = J⁻¹, X_bar = Y_barᵀ.
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

    @staticmethod
    def transpose(ctx, y_bar):
        return transpose(y_bar)


class Flip(Function):
    """
    y = x reversed along `dims`.   VJP: x_bar = y_bar reversed.   JVP: y_dot =
    x_dot reversed.
    Transpose: reversing is its own inverse and a permutation, Jᵀ = J⁻¹ =
    J: x_bar = y_bar reversed.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return torch.flip(x, dims)

    @staticmethod
    def vjp(ctx, y_bar):
        return flip(y_bar, ctx.dims), None

    @staticmethod
    def jvp(ctx, x_dot, dims_dot):
        return flip(x_dot, ctx.dims)

    @staticmethod
    def transpose(ctx, y_bar):
        return flip(y_bar, ctx.dims), None


class Movedim(Function):
    """y = x with dim `source` moved to `destination`, the other dims in
    their order (torch.movedim; both dims negative, counted from the right,
    so leading batch dims ride along). A permutation: VJP and transpose:
    x_bar = y_bar with the dim moved back. JVP: y_dot = x_dot moved the same
    way."""

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

    @staticmethod
    def transpose(ctx, y_bar):
        return Movedim.vjp(ctx, y_bar)


# ---------------------------------------------------------------- reductions
# and scans


class Sum(Function):
    """y = sum of x over `dims`.   VJP: x_bar = y_bar copied back along the
    summed dims. JVP: y_dot = sum of x_dot over the same dims.   (J is a row of
    ones per output entry.)
    Transpose: ⟨y_bar, sum x⟩ = ⟨y_bar copied along the summed dims, x⟩:
    the VJP, x_bar = y_bar copied back.
    """

    linear_in = (0,)
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        ctx.x_shape, ctx.dims, ctx.keepdim = tuple(x.shape), dims, keepdim
        return torch.sum(x, dims, keepdim)

    @staticmethod
    def vjp(ctx, y_bar):
        n = len(ctx.x_shape)
        kept = tuple(
            1 if d - n in ctx.dims else s for d, s in enumerate(ctx.x_shape)
        )
        batch = _batch(y_bar, len(kept) if ctx.keepdim else n - len(ctx.dims))
        return (
            broadcast_to(reshape(y_bar, batch + kept), batch + ctx.x_shape),
            None,
            None,
        )

    @staticmethod
    def jvp(ctx, x_dot, dims_dot, keepdim_dot):
        return _sum(x_dot, ctx.dims, ctx.keepdim)

    @staticmethod
    def transpose(ctx, y_bar):
        return Sum.vjp(ctx, y_bar)


class Cumsum(Function):
    """y_i = x_0 + ... + x_i along `dim`. J is lower-triangular ones, so VJP:
    x_bar = reversed cumsum of the reversed y_bar.   JVP: y_dot = cumsum of
    x_dot.
    Transpose: Jᵀ is upper-triangular ones, a cumsum from the other end:
    x_bar = flip(cumsum(flip(y_bar))).
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

    @staticmethod
    def transpose(ctx, y_bar):
        return Cumsum.vjp(ctx, y_bar)


class Recip(Elementwise):
    """y = 1/x where x ≠ 0 and y = 0 where x = 0 (the pseudo-inverse of a
    number). f'(x) = -1/x² = -y² (0 at x = 0). Norm's rules divide by ‖x‖
    with it: both give 0 where ‖x‖ = 0, entry by entry, so also per example
    under vmap."""

    uses = "y"

    @staticmethod
    def f(x):
        return torch.where(x == 0, 0.0, 1 / x)

    @staticmethod
    def derivative(y):
        return -(y * y)


class Norm(Function):
    """y = ‖x‖ = sqrt(sum of x²) over the (negative) `dims`, by default all
    of x's dims (the Frobenius norm); vmap passes an example's dims; no
    dims: y = |x|. VJP: x_bar = y_bar x / y. JVP: y_dot = ⟨x, x_dot⟩ / y,
    the sum over `dims`. At y = 0 (x = 0, or x empty) ‖·‖ has no derivative;
    there both rules give 0 (the smallest subgradient), as torch's do, not
    0/0 = nan: they multiply by recip(y), 1/y with 0 at 0.
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
        kept = tuple(
            1 if d - x.ndim in ctx.dims else n for d, n in enumerate(x.shape)
        )
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


# ---------------------------------------------------------------- linear
# algebra


class Matmul(Function):
    """Y = A B.   VJP: A_bar = Y_bar Bᵀ, B_bar = Aᵀ Y_bar.   JVP: Y_dot = A_dot
    B + A B_dot. (A's derivatives need B and B's need A: keep A only if B needs
    a derivative, and vice versa.)
    Linear in A for a constant B: ⟨Y_bar, A B⟩ = ⟨Y_bar Bᵀ, A⟩, so the
    transpose is A_bar = Y_bar Bᵀ; in B for a constant A: ⟨Y_bar, A B⟩ =
    ⟨Aᵀ Y_bar, B⟩, B_bar = Aᵀ Y_bar (the VJP with the other one constant).
    Batching: stacked A and constant matrix B: fold the batch into A's
    rows, (batch·n, k) @ (k, m), one large product; constant A and stacked
    B: the same for Yᵀ = Bᵀ Aᵀ; both stacked: one batched matmul, or, when
    one of n, k, m is 1 (outer products, matrix times vector), a product
    and a sum (many tiny matmuls are slow).
    """

    linear_in = (0, 1)
    bilinear = True

    @staticmethod
    def forward(ctx, A, B):
        need_A, need_B = ctx.needs_input_grad
        ctx.save_for_backward(A if need_B else None, B if need_A else None)
        return torch.matmul(A, B)

    @staticmethod
    def vjp(ctx, Y_bar):
        A, B = ctx.saved_tensors
        need_A, need_B = ctx.needs_input_grad
        return (Y_bar @ transpose(B) if need_A else None), (
            _times(transpose(A), Y_bar) if need_B else None
        )

    @staticmethod
    def jvp(ctx, A_dot, B_dot):
        A, B = ctx.saved_tensors
        return _terms(ctx, lambda: A_dot @ B, lambda: _times(A, B_dot))

    @staticmethod
    def transpose(ctx, y_bar):
        return Matmul.vjp(ctx, y_bar)

    @staticmethod
    def vmap(info, in_dims, A, B):
        if in_dims == (0, None) and B.ndim == 2:
            Y = Matmul.apply(reshape(A, (-1, B.shape[0])), B)
            return reshape(Y, tuple(A.shape[:-1]) + (B.shape[1],)), 0
        if in_dims == (None, 0) and A.ndim == 2:
            Bt = transpose(B)
            Yt = Matmul.apply(reshape(Bt, (-1, A.shape[1])), transpose(A))
            return transpose(
                reshape(Yt, tuple(Bt.shape[:-1]) + (A.shape[0],))
            ), 0
        if in_dims == (0, 0):  # a product per example; thin ones by hand
            n, k, m = A.shape[-2], A.shape[-1], B.shape[-1]
            if k == 1:  # outer products
                return A * B, 0
            if m == 1:  # matrix times vector: row-wise dot products
                return sum(A * transpose(B), -1, keepdim=True), 0
            if n == 1:  # vector times matrix
                return sum(transpose(A) * B, -2, keepdim=True), 0
        return _vmap_leading(Matmul, info, in_dims, A, B)


def _times(M, S):
    """M S, for S that may carry a batch of (co)tangents in front: then
    computed as (Sᵀ Mᵀ)ᵀ, because torch runs a stack times a matrix as one
    big product but a matrix times a stack as many small ones. Without a
    batch, M S itself (a row-major result, as torch's gradients are)."""
    if S.ndim == M.ndim:
        return M @ S
    return transpose(transpose(S) @ transpose(M))


class Inv(Function):
    """Y = X⁻¹. From dY = -X⁻¹ dX X⁻¹: VJP: X_bar = -Yᵀ Y_bar Yᵀ.   JVP: Y_dot
    = -Y X_dot Y."""

    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, X):
        Y, info = torch.linalg.inv_ex(X)
        # (meta tensors, vmap's and linearize's shapes-only run, skip this)
        if not X.is_meta and (info.any() or not torch.isfinite(Y).all()):
            raise torch.linalg.LinAlgError(
                f"inv: the matrix of shape {tuple(X.shape)} is singular (or "
                "holds inf/nan), so it has no inverse. Keep it away from "
                "singular points, e.g. X + eps * I."
            )
        ctx.save_for_backward(Y)
        return Y

    @staticmethod
    def vjp(ctx, Y_bar):
        (Y,) = ctx.saved_tensors
        Yt = transpose(Y)
        return -(Yt @ Y_bar @ Yt)

    @staticmethod
    def jvp(ctx, X_dot):
        (Y,) = ctx.saved_tensors
        return -(Y @ X_dot @ Y)


def _convolve(x, k, mode):
    """numpy.convolve(x, k, mode) along the last dim; leading dims broadcast;
    valid needs n >= m.
    """
    m = k.shape[-1]
    if mode == "full":
        x = torch.nn.functional.pad(x, (m - 1, m - 1))
    windows = x.unfold(-1, m, 1)  # (..., L, m), a view
    return (windows @ k.flip(-1).unsqueeze(-1)).squeeze(-1)


class Conv1d(Function):
    """y = x * k, the 1-D convolution y_i = Σ_j x_j k_(i-j) (numpy.convolve;
    valid: len(x) ≥ len(k)).

    J with respect to k is Toeplitz (columns are shifted copies of x), so its
    transpose is a correlation: full:  x_bar = valid(y_bar, flip k),  k_bar =
    valid(y_bar, flip x); valid: x_bar = full(y_bar, flip k),   k_bar =
    valid(y_bar, flip x). JVP: y_dot = x_dot * k + x * k_dot (same mode).
    Linear in x for a constant k (and in k for a constant x): its transpose
    is the correlation in the VJP above.
    """

    linear_in = (0, 1)
    bilinear = True
    vmap = classmethod(_vmap_leading)

    @staticmethod
    def forward(ctx, x, k, mode):
        need_x, need_k, _ = ctx.needs_input_grad
        ctx.save_for_backward(x if need_k else None, k if need_x else None)
        ctx.mode = mode
        return _convolve(x, k, mode)

    @staticmethod
    def vjp(ctx, y_bar):
        x, k = ctx.saved_tensors
        need_x, need_k, _ = ctx.needs_input_grad
        x_mode = "valid" if ctx.mode == "full" else "full"
        return (
            conv1d(y_bar, flip(k, -1), x_mode) if need_x else None,
            conv1d(y_bar, flip(x, -1), "valid") if need_k else None,
            None,
        )

    @staticmethod
    def jvp(ctx, x_dot, k_dot, mode_dot):
        x, k = ctx.saved_tensors
        return _terms(
            ctx,
            lambda: conv1d(x_dot, k, ctx.mode),
            lambda: conv1d(x, k_dot, ctx.mode),
        )

    @staticmethod
    def transpose(ctx, y_bar):
        return Conv1d.vjp(ctx, y_bar)


# ---------------------------------------------------------------- the
# functions users call


def _is_tensor(v):
    return isinstance(v, (torch.Tensor, Box))


def _check_operands(name, a, b, verb="combine", way=""):
    """At least one of a, b is a tensor and the other a tensor or a number;
    else a TypeError naming the op (`name`), what it does (`verb`) and the
    way out."""
    if not (_is_tensor(a) or _is_tensor(b)):
        raise TypeError(
            f"{name}: needs at least one tensor, got {type(a).__name__} and "
            f"{type(b).__name__}"
        )
    for v in (a, b):
        if not (_is_tensor(v) or isinstance(v, (int, float))):
            raise TypeError(
                f"{name}: cannot {verb} a {type(v).__name__} with a tensor"
                + way
            )


def _operands(name, a, b):
    """
    Turn Python numbers into tensors like the other operand; refuse mixed float
    dtypes.
    """
    _check_operands(name, a, b)
    like = a if _is_tensor(a) else b
    a, b = (
        v
        if _is_tensor(v)
        else torch.tensor(v, dtype=like.dtype, device=like.device)
        for v in (a, b)
    )
    boxed = isinstance(a, Box) or isinstance(b, Box)
    if (
        boxed
        and a.dtype != b.dtype
        and a.dtype.is_floating_point
        and b.dtype.is_floating_point
    ):
        raise TypeError(
            f"{name}: operands have dtypes {a.dtype} and {b.dtype}; convert "
            "one explicitly (e.g. .to(torch.float64)) so the derivative keeps "
            "one dtype"
        )
    return a, b, boxed


def _broadcast(a, b, core_a=0, core_b=0):
    """
    Broadcast the leading dims of a and b (all but the last core_a / core_b) to
    a common shape.
    """
    lead_a, lead_b = a.shape[: a.ndim - core_a], b.shape[: b.ndim - core_b]
    if lead_a == lead_b:  # the common case, and torch's check is slow
        return a, b
    lead = torch.broadcast_shapes(lead_a, lead_b)
    return (
        broadcast_to(v, lead + tuple(v.shape[v.ndim - core :]))
        for v, core in ((a, core_a), (b, core_b))
    )


def _elementwise(op, name, a, b):
    a, b, boxed = _operands(name, a, b)
    return op.apply(*(_broadcast(a, b) if boxed else (a, b)))


def add(a, b):
    """a + b, broadcasting as torch does."""
    return _elementwise(Add, "add", a, b)


def sub(a, b):
    """a - b, broadcasting as torch does."""
    return _elementwise(Sub, "sub", a, b)


def mul(a, b):
    """a * b (elementwise), broadcasting as torch does."""
    return _elementwise(Mul, "mul", a, b)


def div(a, b):
    """a / b (elementwise), broadcasting as torch does."""
    return _elementwise(Div, "div", a, b)


def neg(x):
    return Neg.apply(x)


def log(x):
    return Log.apply(x)


def exp(x):
    return Exp.apply(x)


def sin(x):
    return Sin.apply(x)


def cos(x):
    return Cos.apply(x)


def tanh(x):
    return Tanh.apply(x)


def softplus(x):
    """log(1 + exp(x)), computed stably (torch.nn.functional.softplus)."""
    return Softplus.apply(x)


def pow(x, c):
    """x ** c for a constant number c."""
    if not isinstance(c, (int, float)) or isinstance(c, bool):
        raise TypeError(
            "pow: the exponent must be a Python number, got "
            f"{type(c).__name__}; "
            "for a tensor exponent write exp(c * log(x))"
        )
    return Pow.apply(x, c)


def broadcast_to(x, shape):
    """x broadcast to `shape` (a no-op when the shape already matches)."""
    shape = tuple(shape)
    return x if tuple(x.shape) == shape else BroadcastTo.apply(x, shape)


def reshape(x, *shape):
    """
    x with a new shape; reshape(x, (2, 3)) or reshape(x, 2, 3); one entry may
    be -1.
    """
    shape = (
        tuple(shape[0])
        if len(shape) == 1 and not isinstance(shape[0], int)
        else shape
    )
    return Reshape.apply(x, shape)


def transpose(X):
    """Xᵀ: swaps the last two dims (torch's X.mT)."""
    if X.ndim < 2:
        raise ValueError(
            f"transpose: needs at least 2 dims, got shape {tuple(X.shape)}; "
            "use reshape to make a row or a column first"
        )
    return Transpose.apply(X)


def flip(x, dims):
    """x reversed along dims (an int or a tuple; () flips nothing)."""
    return Flip.apply(x, _dims("flip", x, dims))


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


def cumsum(x, dim=-1):
    """Cumulative sum of x along one dim (an int)."""
    dims = _dims("cumsum", x, dim, many=False)
    return Cumsum.apply(x, dims[0]) if dims else x


def norm(x):
    """
    The Frobenius norm ‖x‖_F: square root of the sum of squares of all entries
    (a 0-d result).
    """
    return Norm.apply(x)


def recip(x):
    """1/x, and 0 where x = 0."""
    return Recip.apply(x)


def movedim(x, source, destination):
    """x with dim `source` moved to `destination` (ints), as torch.movedim."""
    src = _dims("movedim", x, source, many=False)
    dst = _dims("movedim", x, destination, many=False)
    if not src or src == dst:  # a 0-d x, or nothing moves
        return x
    return Movedim.apply(x, src[0], dst[0])


def inv(X):
    """X⁻¹ for a square matrix (or a stack of them, shape (..., n, n))."""
    if X.ndim < 2 or X.shape[-1] != X.shape[-2]:
        raise ValueError(
            "inv: needs square matrices (..., n, n), got shape "
            f"{tuple(X.shape)}"
        )
    return Inv.apply(X)


def matmul(A, B):
    """
    A @ B with torch's rules: 1-D operands are a row / a column, leading dims
    broadcast.
    """
    A, B, boxed = _operands("matmul", A, B)
    if not boxed:
        return Matmul.apply(A, B)
    if A.ndim == 0 or B.ndim == 0:
        raise ValueError(
            f"matmul: both operands need at least 1 dim, got shapes "
            f"{tuple(A.shape)} and {tuple(B.shape)}; use * for scalars"
        )
    vec_a, vec_b = A.ndim == 1, B.ndim == 1
    A = reshape(A, (1,) + tuple(A.shape)) if vec_a else A
    B = reshape(B, tuple(B.shape) + (1,)) if vec_b else B
    if A.shape[-1] != B.shape[-2]:
        raise ValueError(
            f"matmul: shapes {tuple(A.shape)} and {tuple(B.shape)} do not "
            "chain"
        )
    Y = Matmul.apply(*_broadcast(A, B, 2, 2))
    out_shape = (
        Y.shape[: Y.ndim - 2] + Y.shape[Y.ndim - 2 + vec_a : Y.ndim - vec_b]
    )
    return reshape(Y, out_shape) if vec_a or vec_b else Y


def conv1d(x, k, mode="full"):
    """
    numpy.convolve(x, k, mode) for 1-D x and k, mode "full" or "valid" (leading
    dims broadcast).
    """
    if mode not in ("full", "valid"):
        raise ValueError(
            f"conv1d: mode must be 'full' or 'valid', got {mode!r}"
        )
    x, k, boxed = _operands("conv1d", x, k)
    if x.ndim == 0 or k.ndim == 0 or x.shape[-1] == 0 or k.shape[-1] == 0:
        raise ValueError(
            "conv1d: needs non-empty 1-D operands, got shapes "
            f"{tuple(x.shape)} and {tuple(k.shape)}"
        )
    if (
        mode == "valid" and k.shape[-1] > x.shape[-1]
    ):  # numpy swaps; convolution commutes
        x, k = k, x
    return Conv1d.apply(*(_broadcast(x, k, 1, 1) if boxed else (x, k)), mode)
