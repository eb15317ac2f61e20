"""Your own rule, JAX's way: ``custom_jvp`` and ``custom_vjp``.

``f = custom_jvp(fun)`` with ``@f.defjvp`` gives f one rule, ``(primals,
tangents) -> (primal_out, tangent_out)``, and nothing else. Forward mode runs
it; reverse mode *transposes* it (chapter 8): at the primals the rule is a
linear map x_dot -> y_dot, ``linear_transpose`` runs it backwards, and that is
the VJP. So the rule must be linear in the tangents (products of a tangent with
values of the primals, sums of those; no tangent times a tangent, no constant
term); vjplib checks that when it transposes and says so when it is not.

``f = custom_vjp(fun)`` with ``f.defvjp(fwd, bwd)`` gives f a reverse rule;
forward mode is refused, in JAX's words.

Both take ``nondiff_argnums``: arguments that are not differentiated (a Python
number, a callable, a constant tensor), passed first to the rules, as JAX
does (``defjvp``, ``defvjp``). A value a transformation traces cannot be one.

Each call of f applies a ``Function`` (function.py), so f works under every
transformation: its batching rule is generated (``generate_vmap_rule``), and
the rules see one example, one cotangent and one tangent at a time (vjplib maps
them over the leading batch dims of jacrev's and jacfwd's stacks).
"""

import functools
import re

from .box import Box, _is_tensor
from .function import Function
from .linearize import linear_transpose
from .vmap import vmap

__all__ = ["custom_jvp", "custom_vjp"]


def _split(args, nondiff_argnums, who, name):
    """(nondiff values by position, the positions of the differentiated
    arguments); a traced value among the nondiff ones is refused."""
    n = len(args)
    nums = tuple(
        sorted({i % n if -n <= i < n else i for i in nondiff_argnums})
    )
    for i in nums:
        if not 0 <= i < n:
            raise ValueError(
                f"{who}: nondiff_argnums {tuple(nondiff_argnums)} is out of "
                f"range for {name}'s {n} arguments"
            )
        if isinstance(args[i], Box):
            raise TypeError(
                f"{who}: argument {i} of {name} is in nondiff_argnums but is "
                "a value a transformation traces (JAX leaks a tracer here): "
                "pass it as an ordinary argument, whose rule may return a "
                "zero cotangent for it, or close over a constant"
            )
    return nums, tuple(i for i in range(n) if i not in nums)


def _full(args, nums, diff_values):
    """f's argument list: the nondiff ones from `args`, the others given."""
    full, it = list(args), iter(diff_values)
    for i in range(len(full)):
        if i not in nums:
            full[i] = next(it)
    return full


def _over_leading(f, lead):
    """f mapped over `lead` leading batch dims of its arguments."""
    for _ in range(lead):
        f = vmap(f)
    return f


def _cached(f, nums, make):
    """The op for a call of f: one per rule when there are no nondiff arguments
    (the op closes over the nondiff values, so those get a new op per call)."""
    if nums:
        return make()
    rules = f._rules()
    if getattr(f, "_op_for", None) != rules:
        f._op, f._op_for = make(), rules
    return f._op


_NOT_LINEAR = (
    "custom_jvp: the JVP rule of {name} is not linear in the tangents, so "
    "{what} cannot use it: reverse mode (grad, vjp, jacrev) transposes the "
    "rule, and linearize records it, and both need a linear map. Return "
    "tangent_out as a linear function of the tangents: tangents times "
    "values computed from the primals, and sums of those; no tangent times "
    "a tangent, no function of a tangent, no constant term (found: {why})."
)


def _first_clause(error):
    """What the linearity check found, without the advice meant for
    linear_transpose's own users: "pow is not linear in its input"."""
    text = str(error).split(": ", 1)[-1]
    return re.split(r", so |\. |\.$", text)[0]


def _linear_only(name, what, run):
    try:
        return run()
    except TypeError as e:
        if "not linear" not in str(e) and "affine" not in str(e):
            raise
        raise TypeError(
            _NOT_LINEAR.format(name=name, what=what, why=_first_clause(e))
        ) from None


class _Custom:
    """What custom_jvp and custom_vjp share: ``fun``, its
    ``nondiff_argnums``, and a call that applies the op made from the rules
    (one Function, so f works under every transformation)."""

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun, self.nondiff_argnums = fun, tuple(nondiff_argnums)

    def __call__(self, *args):
        name = getattr(self.fun, "__name__", "f")
        if self._rules()[0] is None:
            raise AttributeError(self._missing.format(name=name))
        who = type(self).__name__
        nums, diff = _split(args, self.nondiff_argnums, who, name)
        op = _cached(self, nums, lambda: self._op(name, args, nums))
        return op.apply(*(args[i] for i in diff))


class custom_jvp(_Custom):
    """f = custom_jvp(fun, nondiff_argnums=()): fun with a JVP rule of yours,
    as ``jax.custom_jvp``::

        @vjplib.custom_jvp
        def log1pexp(x):
            return torch.where(x > 0, x + torch.log1p(torch.exp(-x)),
                               torch.log1p(torch.exp(x)))

        @log1pexp.defjvp
        def log1pexp_jvp(primals, tangents):
            (x,), (x_dot,) = primals, tangents
            return log1pexp(x), x_dot * (1 + vjplib.tanh(x / 2)) / 2

    fun runs on plain tensors (torch code is fine); the rule runs on the
    values of every transformation, so write it with vjplib ops.
    """

    jvp = None
    _missing = "No JVP defined for custom_jvp function {name} using defjvp."

    def defjvp(self, jvp):
        """Set the rule ``jvp(*nondiff, primals, tangents) -> (primal_out,
        tangent_out)``; returns it (so it works as a decorator)."""
        self.jvp = jvp
        return jvp

    def _rules(self):
        return (self.jvp,)

    def _op(self, name, args, nums):
        return _jvp_op(self, name, args, nums)


def _jvp_op(f, name, args, nums):
    nondiff = [args[i] for i in nums]

    def tangent_out(primals, tangents):
        return f.jvp(*nondiff, tuple(primals), tuple(tangents))[1]

    class CustomJVP(Function):
        """y = fun(x); JVP: your rule; VJP: its transpose."""

        generate_vmap_rule = True

        @staticmethod
        def forward(ctx, *xs):
            ctx.save_for_backward(*xs)
            y = f.fun(*_full(args, nums, xs))
            ctx.y_shape = tuple(y.shape)  # tells y_bar's leading batch dims
            return y

        @staticmethod
        def jvp(ctx, *x_dots):
            primals = ctx.saved_tensors
            lead = next(
                (
                    t.ndim - p.ndim
                    for t, p in zip(x_dots, primals)
                    if _is_tensor(t) and _is_tensor(p)
                ),
                0,
            )

            def one(*ts):
                return tangent_out(primals, ts)

            batched = _over_leading(one, lead)
            return _linear_only(name, "linearize", lambda: batched(*x_dots))

        @staticmethod
        def vjp(ctx, y_bar):
            primals = ctx.saved_tensors
            lead = y_bar.ndim - len(ctx.y_shape)

            def f_lin(*x_dots):
                return tangent_out(primals, x_dots)

            f_T = _linear_only(
                name, "reverse mode", lambda: linear_transpose(f_lin, *primals)
            )
            x_bars = (
                f_T(y_bar) if lead == 0 else _over_leading(f_T, lead)(y_bar)
            )
            return tuple(
                b if need else None
                for b, need in zip(x_bars, ctx.needs_input_grad)
            )

    CustomJVP.__name__ = CustomJVP.__qualname__ = name
    return CustomJVP


class custom_vjp(_Custom):
    """f = custom_vjp(fun, nondiff_argnums=()): fun with a VJP rule of yours,
    as ``jax.custom_vjp``::

        @vjplib.custom_vjp
        def clip_gradient(x, lo, hi):
            return x

        def fwd(x, lo, hi):
            return x, (lo, hi)

        def bwd(residuals, y_bar):
            lo, hi = residuals
            return clamp(y_bar, lo, hi), None, None

        clip_gradient.defvjp(fwd, bwd)

    ``bwd`` returns one cotangent per differentiated argument (None: zero).
    Under a transformation that differentiates bwd
    again (grad of grad) or batches it (vmap), fwd runs again on the traced
    inputs, so the residuals are traced too: write fwd and bwd with vjplib
    ops (fun itself may be torch code). Forward mode (jvp, jacfwd, hessian,
    linearize) is refused, as in JAX.
    """

    fwd = bwd = None
    _missing = "No VJP defined for custom_vjp function {name} using defvjp."

    def defvjp(self, fwd, bwd):
        """Set the rules ``fwd(*args) -> (out, residuals)`` and
        ``bwd(*nondiff, residuals, y_bar) -> tuple of cotangents``."""
        self.fwd, self.bwd = fwd, bwd

    def _rules(self):
        return (self.fwd, self.bwd)

    def _op(self, name, args, nums):
        return _vjp_op(self, name, args, nums)


def _vjp_op(f, name, args, nums):
    nondiff = [args[i] for i in nums]

    class CustomVJP(Function):
        """y = fun(x); VJP: your bwd on fwd's residuals; no JVP."""

        generate_vmap_rule = True

        @staticmethod
        def forward(ctx, *xs):
            out, residuals = f.fwd(*_full(args, nums, xs))
            ctx.save_for_backward(*xs)
            ctx.residuals, ctx.y_shape = residuals, tuple(out.shape)
            return out

        @staticmethod
        def jvp(ctx, *x_dots):
            raise TypeError(
                "can't apply forward-mode autodiff (jvp) to a custom_vjp "
                f"function. ({name}: jvp, jacfwd, hessian and linearize run "
                "forward mode, which needs a JVP rule; if your rule is a "
                "derivative, write it with custom_jvp, and its transpose "
                "gives reverse mode too)"
            )

        @staticmethod
        def vjp(ctx, y_bar):
            xs = ctx.saved_tensors
            if any(isinstance(x, Box) for x in xs):  # traced: run fwd again
                residuals = f.fwd(*_full(args, nums, xs))[1]
            else:
                residuals = ctx.residuals
            lead = y_bar.ndim - len(ctx.y_shape)
            n = len(xs)
            none = []

            def one(y_bar_i):
                x_bars = f.bwd(*nondiff, residuals, y_bar_i)
                if not isinstance(x_bars, (tuple, list)) or len(x_bars) != n:
                    got = (
                        f"a tuple of length {len(x_bars)}"
                        if isinstance(x_bars, (tuple, list))
                        else f"a {type(x_bars).__name__}"
                    )
                    raise TypeError(
                        "Custom VJP bwd rule must produce a tuple of length "
                        "equal to the number of arguments to the primal "
                        f"function ({name}: {n} differentiated arguments), "
                        f"but got {got}"
                    )
                none[:] = [b is None for b in x_bars]
                return tuple(
                    y_bar_i.sum() * 0 if b is None else b for b in x_bars
                )

            if lead == 0:
                x_bars = one(y_bar)
            else:
                x_bars = _over_leading(one, lead)(y_bar)
            return tuple(None if gone else b for b, gone in zip(x_bars, none))

    CustomVJP.__name__ = CustomVJP.__qualname__ = name
    return CustomVJP
