"""The one-input elementwise ops: neg, log, exp, sin, cos, tanh, pow (by a
constant), softplus, and recip (1/x with 0 at 0, which norm's rules use).

Each y_i depends on x_i alone, so J is diagonal: the VJP and the JVP both
multiply by f'(x) (never build the diagonal J), and batching runs the op as
it is on the stack of examples.
"""

import torch

from .base import Op, _vmap_leading


class Neg(Op):
    """y = -x
    VJP: x_bar = -y_bar
    JVP: y_dot = -x_dot

    Linear: J = -I.
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


def neg(x):
    """-x entry by entry."""
    return Neg.apply(x)


class Elementwise(Op):
    """y = f(x)
    VJP: x_bar = y_bar f'(x)
    JVP: y_dot = x_dot f'(x)

    Base of the one-input elementwise ops y = f(x) (and constant
    parameters, like pow's c). A subclass gives f, ``uses`` ("x" or "y":
    the one value f' is written in, the only one saved) and
    ``derivative(x or y, *params)`` = f'(x), written with vjplib ops.
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


def _function(cls, name, doc):
    """The function users call for a one-input op: cls.apply(x)."""

    def function(x):
        return cls.apply(x)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


class Log(Elementwise):
    """y = log x
    VJP: x_bar = y_bar / x
    JVP: y_dot = x_dot / x

    f'(x) = 1/x.
    """

    f = staticmethod(torch.log)
    uses = "x"

    @staticmethod
    def derivative(x):
        return 1 / x


log = _function(Log, "log", "The natural logarithm of x, entry by entry.")


class Exp(Elementwise):
    """y = exp x
    VJP: x_bar = y_bar y
    JVP: y_dot = x_dot y

    f'(x) = exp x = y.
    """

    f = staticmethod(torch.exp)
    uses = "y"

    @staticmethod
    def derivative(y):
        return y


exp = _function(Exp, "exp", "eˣ entry by entry.")


class Sin(Elementwise):
    """y = sin x
    VJP: x_bar = y_bar cos x
    JVP: y_dot = x_dot cos x

    f'(x) = cos x.
    """

    f = staticmethod(torch.sin)
    uses = "x"

    @staticmethod
    def derivative(x):
        return cos(x)


sin = _function(Sin, "sin", "sin x entry by entry.")


class Cos(Elementwise):
    """y = cos x
    VJP: x_bar = -y_bar sin x
    JVP: y_dot = -x_dot sin x

    f'(x) = -sin x.
    """

    f = staticmethod(torch.cos)
    uses = "x"

    @staticmethod
    def derivative(x):
        return -sin(x)


cos = _function(Cos, "cos", "cos x entry by entry.")


class Tanh(Elementwise):
    """y = tanh x
    VJP: x_bar = y_bar (1 - y²)
    JVP: y_dot = x_dot (1 - y²)

    f'(x) = 1 - tanh² x = 1 - y².
    """

    f = staticmethod(torch.tanh)
    uses = "y"

    @staticmethod
    def derivative(y):
        return 1 - y * y


tanh = _function(Tanh, "tanh", "tanh x entry by entry.")


class Pow(Elementwise):
    """y = x^c for a constant c
    VJP: x_bar = y_bar c x^(c-1)
    JVP: y_dot = x_dot c x^(c-1)

    f'(x) = c x^(c-1). For c = 0, y = 1 and f' = 0 everywhere, x = 0
    included (as in torch; c x^(c-1) would give 0 · ∞ = nan there). That
    also keeps the second derivative of x^1 finite at 0: it is the
    derivative of x^0.
    """

    f = staticmethod(torch.pow)
    uses = "x"

    @staticmethod
    def derivative(x, c):
        if c == 0:
            return torch.zeros((), dtype=x.dtype, device=x.device)
        return c * x ** (c - 1)


def pow(x, c):
    """x ** c for a constant number c."""
    if not isinstance(c, (int, float)) or isinstance(c, bool):
        raise TypeError(
            "pow: the exponent must be a Python number, got "
            f"{type(c).__name__}; "
            "for a tensor exponent write exp(c * log(x))"
        )
    return Pow.apply(x, c)


class Softplus(Elementwise):
    """y = log(1 + eˣ)
    VJP: x_bar = y_bar σ(x)
    JVP: y_dot = x_dot σ(x)

    Computed stably by torch.nn.functional.softplus (y = x for x > 20).
    f'(x) = σ(x) = 1 / (1 + e⁻ˣ), written as exp(-softplus(-x)): no step
    overflows, so σ(±1000) = 1 and 0, not nan. Above torch's threshold 20,
    where y = x, the derivative is 1, as torch's softplus_backward says.
    """

    f = staticmethod(torch.nn.functional.softplus)
    uses = "x"

    @staticmethod
    def derivative(x):
        from .compare import where  # compare imports this module

        return where(x > 20, 1.0, exp(-softplus(-x)))


softplus = _function(
    Softplus,
    "softplus",
    "log(1 + exp(x)), computed stably (torch.nn.functional.softplus).",
)


class Recip(Elementwise):
    """y = 1/x (0 where x = 0)
    VJP: x_bar = -y_bar y²
    JVP: y_dot = -x_dot y²

    The pseudo-inverse of a number: 1/x where x ≠ 0, 0 where x = 0, so
    f'(x) = -1/x² = -y² (0 at x = 0). Norm's rules divide by ‖x‖ with it:
    both give 0 where ‖x‖ = 0, entry by entry, so also per example under
    vmap.
    """

    uses = "y"

    @staticmethod
    def f(x):
        return torch.where(x == 0, 0.0, 1 / x)

    @staticmethod
    def derivative(y):
        return -(y * y)


recip = _function(Recip, "recip", "1/x, and 0 where x = 0.")
