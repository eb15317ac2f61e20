"""Transformations with torch.func's names: vjp, grad, value_and_grad, jvp,
jacrev, jacfwd, hessian, hvp; plus jacobian_fd (central differences) and the
one-row / one-column-at-a-time jacrev_loop and jacfwd_loop that the batched
versions are compared with.

Jacobians are numerator layout: J[i, j] = ∂y_i/∂x_j, of shape y.shape +
x.shape.

Errors follow torch.func's (and torch.autograd.functional.hvp's) class and
key words, as ``vjplib/__init__.py`` says; tests/test_errors.py runs each
mistake through both libraries.
"""

import functools

import torch

from .box import Box, _is_tensor, as_primal, new_trace
from .dual import Dual
from .graph import Traced, backward, check_like
from .ops import reshape, transpose


def _output(out, trace, who):
    """The primal of f's output; a value that does not belong to `trace` is a
    constant of it."""
    if isinstance(out, Box):
        if out.trace is trace:
            return out.primal
        if not out.trace.active or out.trace.level > trace.level:
            raise RuntimeError(
                f"{who}: f returned a value traced by another transformation "
                f"({out.trace}) that is not running any more; it escaped."
            )
        return out
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):  # torch.func takes these; we refuse
        raise TypeError(
            f"{who}: f must return one tensor, got {type(out).__name__}: "
            "vjplib's transformations take one output (torch.func's take a "
            "tuple); return the outputs one at a time or stacked"
        )
    if who == "grad":  # torch.func.grad's words
        raise RuntimeError(
            f"grad: Expected f(*args) to return a Tensor, got {type(out)}; "
            "f must return one scalar tensor"
        )
    raise RuntimeError(
        f"{who}(f, *primals): expected f(*primals) to return only tensors, "
        f"got unsupported type {type(out)}; vjplib's f returns one tensor"
    )


def _zeros(batch, x):
    return torch.zeros(
        tuple(batch) + tuple(x.shape), dtype=x.dtype, device=x.device
    )


def _vjp(f, primals, who):
    primals = [as_primal(p, who, i) for i, p in enumerate(primals)]
    with new_trace("vjp") as trace:
        xs = [Traced(p, trace) for p in primals]
        out = f(*xs)
        y = _output(out, trace, who)

    def vjp_fn(y_bar, *, batched=False):
        """x_bar_i = J_iᵀ y_bar for each primal i. batched=True: y_bar has one
        extra leading dim."""
        batch = tuple(y_bar.shape[:1]) if batched and _is_tensor(y_bar) else ()
        if not batch and _is_tensor(y_bar) and y_bar.shape != y.shape:
            raise RuntimeError(  # torch.func.vjp's class and words
                f"{who}: Mismatch in shape: grad_output[0] has a shape of "
                f"{y_bar.shape} and output[0] has a shape of {y.shape}: "
                "the cotangent y_bar has the shape of the output"
            )
        check_like(y_bar, y, batch, f"{who}: the cotangent y_bar")
        x_bars = backward(out, y_bar, xs) if out is not y else [None] * len(xs)
        return tuple(
            _zeros(batch, p) if b is None else b
            for b, p in zip(x_bars, primals)
        )

    return y, vjp_fn


def vjp(f, *primals):
    """(f(*primals), vjp_fn); ``vjp_fn(y_bar)`` returns one cotangent x_bar_i =
    J_iᵀ y_bar per primal.

    One forward pass records the graph; each call of ``vjp_fn`` is one backward
    pass over it. ``vjp_fn(Y_bar, batched=True)`` pulls back a whole stack of
    cotangents (shape (B,) + y.shape) in one pass. Primals: floating-point
    tensors; Python floats and lists become float64.
    """
    return _vjp(f, primals, "vjp")


def _argnums(argnums, n, who):
    """argnums as a tuple of positions in range(n); torch.func's errors."""
    nums = (argnums,) if isinstance(argnums, int) else argnums
    if not isinstance(nums, tuple) or not all(
        isinstance(i, int) for i in nums
    ):
        raise RuntimeError(
            f"{who}: argnums must be int or Tuple[int, ...], got: "
            f"{type(argnums)}"
        )
    if not nums:
        raise RuntimeError(f"{who}: argnums must be non-empty")
    for i in nums:
        if not -n <= i < n:
            raise RuntimeError(
                f"{who}: Got argnum={i}, but only {n} positional inputs"
            )
    if len(set(i % n for i in nums)) != len(nums):
        raise RuntimeError(
            f"{who}: argnums elements must be unique, got {argnums}"
        )
    return tuple(i % n for i in nums)


def _wrt(f, args, nums):
    """f as a function of the arguments at positions nums only; the others stay
    fixed."""

    def g(*diff):
        full = list(args)
        for i, v in zip(nums, diff):
            full[i] = v
        return f(*full)

    return g


def value_and_grad(f, argnums=0):
    """The function x -> (f(x), ∇f(x)) for an f with a scalar (0-d) output."""

    @functools.wraps(f)
    def value_and_grad_f(*args):
        nums = _argnums(argnums, len(args), "grad")
        y, vjp_fn = _vjp(_wrt(f, args, nums), [args[i] for i in nums], "grad")
        if y.ndim != 0:  # torch.func.grad's class and words
            raise RuntimeError(
                "grad: Expected f(*args) to return a scalar Tensor, got "
                f"tensor with {y.ndim} dims (shape {tuple(y.shape)}). "
                "For a non-scalar output use vjplib.vjp(f, x) and pull back a "
                "cotangent, or vjplib.jacrev(f)(x) for the whole Jacobian."
            )
        x_bars = vjp_fn(torch.ones((), dtype=y.dtype, device=y.device))
        return y, (x_bars[0] if isinstance(argnums, int) else x_bars)

    return value_and_grad_f


def grad(f, argnums=0):
    """x -> ∇f(x) = Jᵀ·1 of a scalar-valued f (one reverse pass)."""
    value_and_grad_f = value_and_grad(f, argnums)

    @functools.wraps(f)
    def grad_f(*args):
        return value_and_grad_f(*args)[1]

    return grad_f


def jvp(f, primals, tangents, *, batched=False):
    """(f(*primals), J x_dot) in one forward pass, pushing the tangents along
    as Dual numbers.

    ``primals`` and ``tangents`` are tuples of the same length; each tangent
    has its primal's shape and dtype, or with ``batched=True`` one extra
    leading dim (the same size B for all).
    """
    if not isinstance(primals, (tuple, list)):  # torch.func.jvp's words
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals to be a tuple. E.g. "
            "it should be valid to call f(*primals): jvp(f, (x,), (x_dot,))"
        )
    if not isinstance(tangents, (tuple, list)) or len(primals) != len(
        tangents
    ):
        raise RuntimeError(
            "jvp(f, primals, tangents): Expected primals and tangents to "
            "have the same python structure: one tangent per primal, e.g. "
            f"jvp(f, (x,), (x_dot,)); got {len(primals)} primals and "
            + (
                f"{len(tangents)} tangents"
                if isinstance(tangents, (tuple, list))
                else f"a {type(tangents).__name__}"
            )
        )
    primals = [as_primal(p, "jvp", i) for i, p in enumerate(primals)]
    tangents = [
        as_primal(t, "jvp (tangents)", i) for i, t in enumerate(tangents)
    ]
    batch = tuple(tangents[0].shape[:1]) if batched and tangents else ()
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if tuple(t.shape) != batch + tuple(p.shape):  # torch's words
            raise RuntimeError(
                f"jvp: tangent {i}: Trying to set a forward gradient that "
                "has a different size than that of the original Tensor, "
                f"this is not supported. Tensor is of size {list(p.shape)} "
                "while the given forward gradient is of size "
                f"{list(t.shape)}"
                + (f" (batch {batch} + {tuple(p.shape)})" if batch else "")
            )
        check_like(t, p, batch, f"jvp: tangent {i}")
    with new_trace("jvp") as trace:
        out = f(*[Dual(p, t, trace) for p, t in zip(primals, tangents)])
        y = _output(out, trace, "jvp")
        return y, (out.tangent if out is not y else _zeros(batch, y))


def _basis(x):
    """The standard basis of x's space, stacked: shape (x.numel(),) + x.shape
    (an identity)."""
    n = x.numel()
    return torch.eye(n, dtype=x.dtype, device=x.device).reshape(
        (n,) + tuple(x.shape)
    )


def jacrev(f, argnums=0):
    """x -> J of shape f(x).shape + x.shape, all rows from ONE batched VJP of
    the identity."""

    @functools.wraps(f)
    def jacrev_f(*args):
        nums = _argnums(argnums, len(args), "jacrev")
        y, vjp_fn = _vjp(
            _wrt(f, args, nums), [args[i] for i in nums], "jacrev"
        )
        # row i: x_bar_i for y_bar = e_i, every i in one batched pass
        rows = vjp_fn(_basis(y), batched=True)
        Js = tuple(
            reshape(r, tuple(y.shape) + tuple(r.shape[1:])) for r in rows
        )
        return Js[0] if isinstance(argnums, int) else Js

    return jacrev_f


def jacfwd(f, argnums=0):
    """x -> J of shape f(x).shape + x.shape, all columns from ONE batched JVP
    of the identity."""

    @functools.wraps(f)
    def jacfwd_f(*args):
        nums = _argnums(argnums, len(args), "jacfwd")
        Js = []
        for i in nums:
            x = as_primal(args[i], "jacfwd", i)
            y, cols = jvp(
                _wrt(f, args, (i,)), (x,), (_basis(x),), batched=True
            )
            # column j = J e_j
            J = transpose(reshape(cols, (x.numel(), y.numel())))
            Js.append(reshape(J, tuple(y.shape) + tuple(x.shape)))
        return Js[0] if isinstance(argnums, int) else tuple(Js)

    return jacfwd_f


def jacrev_loop(f):
    """Like jacrev(f), one VJP per row: m backward passes instead of one
    batched pass."""

    def jacrev_loop_f(x):
        y, vjp_fn = _vjp(f, [x], "jacrev_loop")
        rows = [vjp_fn(e)[0] for e in _basis(y)]
        return torch.stack(rows).reshape(tuple(y.shape) + tuple(rows[0].shape))

    return jacrev_loop_f


def jacfwd_loop(f):
    """Like jacfwd(f), one JVP per column: n forward passes instead of one
    batched pass."""

    def jacfwd_loop_f(x):
        x = as_primal(x, "jacfwd_loop", 0)
        cols = [jvp(f, (x,), (e,))[1] for e in _basis(x)]
        return torch.stack(cols, dim=-1).reshape(
            tuple(cols[0].shape) + tuple(x.shape)
        )

    return jacfwd_loop_f


def hessian(f, argnums=0):
    """x -> H = ∂²f/∂x², computed forward-over-reverse as jacfwd(jacrev(f))."""
    return jacfwd(jacrev(f, argnums), argnums)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """torch.autograd.functional.hvp: ``(func(*inputs), H v)`` for the
    Hessian H of func, whose output has a single element, at `inputs`;
    forward-over-reverse (the JVP of grad func along v).

    As in torch, `inputs` is a Tensor or a tuple of Tensors and `v` has the
    same structure and shapes (None only for one single-element input: 1);
    H v is a Tensor for a Tensor input and a tuple for a tuple. torch's
    ``create_graph`` and ``strict`` are refused (wrap the call in another
    transformation to differentiate it again).
    """
    if create_graph or strict:
        raise NotImplementedError(
            "hvp: create_graph and strict are not supported; the result can "
            "be differentiated by wrapping the call in another vjplib "
            "transformation (grad, jvp, vjp)"
        )
    single = _is_tensor(inputs)
    if not single and not isinstance(inputs, tuple):
        raise TypeError(
            "The inputs given to hvp must be either a Tensor or a tuple of "
            "Tensors but the given inputs has type "
            f"{type(inputs)}."
        )
    xs = (inputs,) if single else inputs
    if v is None:
        if not (single and inputs.numel() == 1):
            raise RuntimeError(
                "The vector v can only be None if the input to the "
                "user-provided function is a single Tensor with a single "
                "element."
            )
        v = torch.ones_like(as_primal(inputs, "hvp", 0))
    vs = (v,) if _is_tensor(v) else tuple(v)
    if len(vs) != len(xs):
        raise RuntimeError(
            f"v is a tuple of invalid length: should be {len(xs)} but got "
            f"{len(vs)}."
        )
    for x, v_i in zip(xs, vs):
        if v_i.shape != x.shape:
            raise RuntimeError(
                f"v has invalid size: should be {x.shape} but got {v_i.shape}."
            )
    value = {}

    def scalar(*args):  # func, its single-element output as a 0-d scalar
        out = func(*args)
        if not _is_tensor(out):
            raise TypeError(
                "The outputs of the user-provided function given to hvp must "
                "be either a Tensor or a tuple of Tensors but the given "
                f"outputs of the user-provided function has type {type(out)}."
            )
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hvp should "
                f"contain a single element (got shape {tuple(out.shape)}); "
                "for a vector output, take a Hessian per output or use "
                "vjplib.jacfwd(vjplib.jacrev(f))"
            )
        value["shape"] = tuple(out.shape)
        return reshape(out, ())

    def grad_i(i):
        def grad_f(*args):
            y, x_bar = value_and_grad(scalar, argnums=i)(*args)
            value["y"] = y
            return x_bar

        return grad_f

    Hv = tuple(jvp(grad_i(i), xs, vs)[1] for i in range(len(xs)))
    y = value["y"]
    y = reshape(y.primal if isinstance(y, Dual) else y, value["shape"])
    return y, (Hv[0] if single else Hv)


def jacobian_fd(f, x, eps=None):
    """J by central differences, column j = (f(x + eps e_j) - f(x - eps e_j)) /
    (2 eps).

    The default eps = (machine epsilon)^(1/3) balances truncation against
    rounding error (about 6e-6 in float64, where J comes out to ~1e-10 relative
    accuracy). For plain tensors only.
    """
    x = as_primal(x, "jacobian_fd", 0)
    if isinstance(x, Box):
        raise TypeError(
            "jacobian_fd: works on plain tensors, not on traced values"
        )
    eps = torch.finfo(x.dtype).eps ** (1 / 3) if eps is None else eps
    cols = []
    for e in _basis(x):
        y_plus, y_minus = f(x + eps * e), f(x - eps * e)
        cols.append((y_plus - y_minus) / (2 * eps))
    return torch.stack(cols, dim=-1).reshape(
        tuple(cols[0].shape) + tuple(x.shape)
    )
