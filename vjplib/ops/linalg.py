"""Linear algebra: matmul, inv, and convolve (numpy.convolve's 1-D
convolution)."""

import torch

from .arithmetic import Bilinear
from .base import Op, _broadcast, _operands, _terms, _vmap_leading
from .reductions import sum
from .shape import flip, reshape, transpose


class Matmul(Bilinear):
    """Y = A B
    VJP: A_bar = Y_bar Bᵀ, B_bar = Aᵀ Y_bar
    JVP: Y_dot = A_dot B + A B_dot

    Linear in A for a constant B: ⟨Y_bar, A B⟩ = ⟨Y_bar Bᵀ, A⟩, and in B
    for a constant A: ⟨Y_bar, A B⟩ = ⟨Aᵀ Y_bar, B⟩; the transpose is the
    VJP with the other one constant.
    Batching: stacked A and constant matrix B: fold the batch into A's
    rows, (batch·n, k) @ (k, m), one large product; constant A and stacked
    B: the same for Yᵀ = Bᵀ Aᵀ; both stacked: one batched matmul, or, when
    one of n, k, m is 1 (outer products, matrix times vector), a product
    and a sum (many tiny matmuls are slow).
    """

    linear_in, bilinear = (0, 1), True
    f = staticmethod(torch.matmul)

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


def matmul(A, B):
    """A @ B with torch's rules: 1-D operands are a row / a column, leading
    dims broadcast."""
    A, B, boxed = _operands("matmul", A, B)
    if not boxed:
        return Matmul.apply(A, B)
    if A.ndim == 0 or B.ndim == 0:
        raise RuntimeError(  # torch's class and words
            "matmul: both arguments to matmul need to be at least 1D, got "
            f"shapes {tuple(A.shape)} and {tuple(B.shape)}; use * for "
            "scalars"
        )
    vec_a, vec_b = A.ndim == 1, B.ndim == 1
    A = reshape(A, (1,) + tuple(A.shape)) if vec_a else A
    B = reshape(B, tuple(B.shape) + (1,)) if vec_b else B
    if A.shape[-1] != B.shape[-2]:
        raise RuntimeError(  # torch's class and words
            f"matmul: shapes {tuple(A.shape)} and {tuple(B.shape)} cannot be "
            "multiplied (the last dim of the first must equal the "
            "second-to-last of the second)"
        )
    Y = Matmul.apply(*_broadcast(A, B, 2, 2))
    out_shape = (
        Y.shape[: Y.ndim - 2] + Y.shape[Y.ndim - 2 + vec_a : Y.ndim - vec_b]
    )
    return reshape(Y, out_shape) if vec_a or vec_b else Y


class Inv(Op):
    """Y = X⁻¹
    VJP: X_bar = -Yᵀ Y_bar Yᵀ
    JVP: Y_dot = -Y X_dot Y

    From dY = -X⁻¹ dX X⁻¹.
    """

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


def inv(X):
    """X⁻¹ for a square matrix (or a stack of them, shape (..., n, n))."""
    if X.ndim < 2 or X.shape[-1] != X.shape[-2]:
        raise RuntimeError(  # torch's class and words (linalg.inv)
            "inv: A must be batches of square matrices (..., n, n), got "
            f"shape {tuple(X.shape)}"
        )
    return Inv.apply(X)


def _convolve(x, k, mode):
    """numpy.convolve(x, k, mode) along the last dim; leading dims broadcast;
    valid needs n >= m."""
    m = k.shape[-1]
    if mode == "full":
        x = torch.nn.functional.pad(x, (m - 1, m - 1))
    windows = x.unfold(-1, m, 1)  # (..., L, m), a view
    return (windows @ k.flip(-1).unsqueeze(-1)).squeeze(-1)


class Convolve(Bilinear):
    """y = x * k
    VJP: x_bar = y_bar correlated with k, k_bar = y_bar correlated with x
    JVP: y_dot = x_dot * k + x * k_dot

    The 1-D convolution y_i = Σ_j x_j k_(i-j) of numpy.convolve, in mode
    full or valid (valid: len(x) ≥ len(k)). Not torch's conv1d, which
    correlates (no flip) on (N, C, L) batches.
    J with respect to k is Toeplitz (columns are shifted copies of x), so
    its transpose is a correlation: full: x_bar = valid(y_bar, flip k),
    k_bar = valid(y_bar, flip x); valid: x_bar = full(y_bar, flip k),
    k_bar = valid(y_bar, flip x). The JVP keeps the mode.
    Linear in x for a constant k (and in k for a constant x): its transpose
    is that correlation, the VJP.
    """

    linear_in, bilinear = (0, 1), True
    vmap = classmethod(_vmap_leading)
    f = staticmethod(_convolve)

    @staticmethod
    def vjp(ctx, y_bar):
        x, k = ctx.saved_tensors
        need_x, need_k, _ = ctx.needs_input_grad
        (mode,) = ctx.settings
        x_mode = "valid" if mode == "full" else "full"
        return (
            convolve(y_bar, flip(k, -1), x_mode) if need_x else None,
            convolve(y_bar, flip(x, -1), "valid") if need_k else None,
            None,
        )

    @staticmethod
    def jvp(ctx, x_dot, k_dot, mode_dot):
        x, k = ctx.saved_tensors
        (mode,) = ctx.settings
        return _terms(
            ctx,
            lambda: convolve(x_dot, k, mode),
            lambda: convolve(x, k_dot, mode),
        )


def convolve(x, k, mode="full"):
    """numpy.convolve(x, k, mode) for 1-D x and k, mode "full" or "valid"
    (leading dims broadcast). (torch's conv1d is a correlation on (N, C, L):
    another op, hence numpy's name.)"""
    if mode not in ("full", "valid"):
        raise ValueError(
            f"convolve: mode must be 'full' or 'valid', got {mode!r}"
        )
    x, k, boxed = _operands("convolve", x, k)
    if x.ndim == 0 or k.ndim == 0 or x.shape[-1] == 0 or k.shape[-1] == 0:
        raise ValueError(
            "convolve: needs non-empty 1-D operands, got shapes "
            f"{tuple(x.shape)} and {tuple(k.shape)}"
        )
    if (
        mode == "valid" and k.shape[-1] > x.shape[-1]
    ):  # numpy swaps; convolution commutes
        x, k = k, x
    return Convolve.apply(*(_broadcast(x, k, 1, 1) if boxed else (x, k)), mode)
