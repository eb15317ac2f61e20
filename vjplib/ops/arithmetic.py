"""The two-input elementwise ops: add, sub, mul, div, broadcasting as
torch does.

Their rules look at ``ctx.needs_input_grad`` and do no work for a constant
operand: no cotangent (None), no term for its zero tangent, and forward
saves only what the rules will use.
"""

import torch

from .base import Op, _binary, _terms, _vmap_leading


class Add(Op):
    """y = a + b
    VJP: a_bar = y_bar, b_bar = y_bar
    JVP: y_dot = a_dot + b_dot

    Linear in (a, b) together: ⟨y_bar, a + b⟩ = ⟨y_bar, a⟩ + ⟨y_bar,
    b⟩, so the transpose copies y_bar to both (the VJP). Sub is the same op
    with b's sign flipped.
    """

    linear_in = (0, 1)
    vmap = classmethod(_vmap_leading)
    f, b_sign = staticmethod(torch.add), 1

    @classmethod
    def forward(cls, ctx, a, b):
        return cls.f(a, b)

    @classmethod
    def vjp(cls, ctx, y_bar):
        need_a, need_b = ctx.needs_input_grad
        b_bar = (y_bar if cls.b_sign > 0 else -y_bar) if need_b else None
        return (y_bar if need_a else None), b_bar

    @classmethod
    def jvp(cls, ctx, a_dot, b_dot):
        b_term = lambda: b_dot if cls.b_sign > 0 else -b_dot
        return _terms(ctx, lambda: a_dot, b_term)


add = _binary(Add, "add", "a + b, broadcasting as torch does.")


class Sub(Add):
    """y = a - b
    VJP: a_bar = y_bar, b_bar = -y_bar
    JVP: y_dot = a_dot - b_dot

    ⟨y_bar, a - b⟩ = ⟨y_bar, a⟩ + ⟨-y_bar, b⟩: the transpose is the
    VJP.
    """

    f, b_sign = staticmethod(torch.sub), -1


sub = _binary(Sub, "sub", "a - b, broadcasting as torch does.")


class Bilinear(Op):
    """Base of the ops linear in each of their two tensor inputs while the
    other is constant (mul, matmul, convolve): each input's derivatives
    need the other input, so forward saves a only if b needs a derivative,
    and vice versa. A subclass gives f(a, b, *settings) and says that it is
    bilinear (``linear_in = (0, 1)``, ``bilinear = True``)."""

    @classmethod
    def forward(cls, ctx, a, b, *settings):
        need_a, need_b = ctx.needs_input_grad[:2]
        ctx.save_for_backward(a if need_b else None, b if need_a else None)
        ctx.settings = settings
        return cls.f(a, b, *settings)


class Mul(Bilinear):
    """y = a b
    VJP: a_bar = y_bar b, b_bar = y_bar a
    JVP: y_dot = a_dot b + a b_dot

    Linear in a for a constant b (J = diag(b), symmetric, so the
    transpose is the VJP), and in b for a constant a.
    """

    linear_in, bilinear = (0, 1), True
    vmap = classmethod(_vmap_leading)
    f = staticmethod(torch.mul)

    @staticmethod
    def vjp(ctx, y_bar):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (y_bar * b if need_a else None), (y_bar * a if need_b else None)

    @staticmethod
    def jvp(ctx, a_dot, b_dot):
        a, b = ctx.saved_tensors
        return _terms(ctx, lambda: a_dot * b, lambda: a * b_dot)


mul = _binary(Mul, "mul", "a * b (elementwise), broadcasting as torch does.")


class Div(Op):
    """y = a / b
    VJP: a_bar = y_bar / b, b_bar = -y_bar y / b
    JVP: y_dot = (a_dot - y b_dot) / b

    Linear in a for a constant b: J = diag(1/b), its transpose the VJP
    a_bar = y_bar / b.
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


div = _binary(Div, "div", "a / b (elementwise), broadcasting as torch does.")
