"""The two-input elementwise ops: add, sub, mul, div, broadcasting as
torch does.

Their rules look at ``ctx.needs_input_grad`` and do no work for a constant
operand: no cotangent (None), no term for its zero tangent, and forward
saves only what the rules will use.
"""

import torch

from .base import Op, _binary, _terms, _vmap_leading


class Add(Op):
    """Linear in (a, b) together: ⟨y_bar, a + b⟩ = ⟨y_bar, a⟩ + ⟨y_bar,
    b⟩, so the transpose copies y_bar to both (the VJP)."""

    formula = "y = a + b"
    vjp_rule = "a_bar = y_bar, b_bar = y_bar"
    jvp_rule = "y_dot = a_dot + b_dot"
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


add = _binary(Add, "add", "a + b, broadcasting as torch does.")


class Sub(Op):
    """Linear in (a, b) together: ⟨y_bar, a - b⟩ = ⟨y_bar, a⟩ + ⟨-y_bar,
    b⟩, so the transpose is the VJP."""

    formula = "y = a - b"
    vjp_rule = "a_bar = y_bar, b_bar = -y_bar"
    jvp_rule = "y_dot = a_dot - b_dot"
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


sub = _binary(Sub, "sub", "a - b, broadcasting as torch does.")


class Mul(Op):
    """a_bar and a_dot's term need b, and the other way round: save b only
    if a needs it. Linear in a for a constant b (J = diag(b), symmetric,
    so the transpose is the VJP), and in b for a constant a."""

    formula = "y = a b"
    vjp_rule = "a_bar = y_bar b, b_bar = y_bar a"
    jvp_rule = "y_dot = a_dot b + a b_dot"
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


mul = _binary(Mul, "mul", "a * b (elementwise), broadcasting as torch does.")


class Div(Op):
    """Linear in a for a constant b: J = diag(1/b), its transpose the VJP
    a_bar = y_bar / b."""

    formula = "y = a / b"
    vjp_rule = "a_bar = y_bar / b, b_bar = -y_bar y / b"
    jvp_rule = "y_dot = (a_dot - y b_dot) / b"
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
