"""Forward mode: the jvp trace, and dual numbers (x, x_dot)."""

from dataclasses import dataclass, field

import torch

from .box import Box, Trace, _is_tensor
from .graph import check_like


class JvpTrace(Trace, kind="jvp"):
    """A running ``jvp``: an op applied to its Duals pushes their tangents
    forward with its JVP rule, (x, x_dot) -> (f(x), J x_dot)."""

    def box(self, fn, ctx, args, y):
        mine = ctx.needs_input_grad
        batch = next(a for a, m in zip(args, mine) if m).batch_shape
        x_dots = [
            a.tangent if m else _zero_tangent(a, batch)
            for a, m in zip(args, mine)
        ]
        y_dot = fn.jvp(ctx, *x_dots)
        check_like(y_dot, y, batch, f"{fn.__name__}.jvp: output tangent")
        return Dual(y, y_dot, self)


def _zero_tangent(a, batch):
    """The tangent of a constant: zeros of shape batch + a.shape (a stride-0
    view, no memory)."""
    if not _is_tensor(a):
        return None
    return torch.zeros((), dtype=a.dtype, device=a.device).expand(
        tuple(batch) + tuple(a.shape)
    )


FREE = JvpTrace("jvp", 10**9)  # of the Duals made by hand (see Dual)


@dataclass(eq=False)
class Dual(Box):
    """The pair (x, x_dot) of forward mode. Every vjplib op maps a Dual to
    a Dual, (x, x_dot) -> (f(x), J x_dot), with its JVP rule; by hand::

        # y.primal = X⁻¹, y.tangent = -X⁻¹ X_dot X⁻¹
        >>> y = vjplib.inv(Dual(X, X_dot))

    A tangent with leading batch dimensions (``batch + x.shape``) pushes
    all those tangents forward at once. A Dual made by hand belongs to
    ``FREE``, a trace above every transformation (``jvp`` makes its own).
    """

    primal: object
    tangent: object
    trace: Trace = field(default=FREE, repr=False)

    def __post_init__(self):
        for what, v in (("primal", self.primal), ("tangent", self.tangent)):
            if not _is_tensor(v):
                raise TypeError(
                    f"Dual: the {what} must be a tensor, got "
                    f"{type(v).__name__}"
                )
        x, x_dot = self.primal, self.tangent
        lead = x_dot.ndim - x.ndim  # the tangent's batch dims
        if lead < 0 or tuple(x_dot.shape[lead:]) != tuple(x.shape):
            raise ValueError(
                f"Dual: tangent of shape {tuple(x_dot.shape)} does not fit "
                f"primal of shape {tuple(x.shape)}; it must be x.shape, or "
                "batch + x.shape"
            )
        if x_dot.dtype != x.dtype:
            raise ValueError(
                f"Dual: tangent dtype {x_dot.dtype} differs from primal "
                f"dtype {x.dtype}"
            )

    @property
    def batch_shape(self):
        """The tangent's leading dimensions, which the primal lacks."""
        return tuple(self.tangent.shape[: self.tangent.ndim - self.ndim])
