"""What every op module shares: ``Op``, the base whose subclasses declare
their math, and the helpers that check and line up operands and dims.

An op declares the math it implements in the head of its docstring, one
line each (a longer one continues on indented lines), in the book's ASCII
spelling (y_bar a cotangent, x_dot a tangent), before a blank line and the
prose::

    class Sin(Elementwise):
        \"\"\"y = sin x
        VJP: x_bar = y_bar cos x
        JVP: y_dot = x_dot cos x

        f'(x) = cos x.
        \"\"\"

``Op`` reads the head (lines with fixed labels, no pattern matching over
prose) into ``formula``, ``vjp_rule`` and ``jvp_rule``; the backward-pass
stepper prints ``vjp_rule`` as it steps through the op.
"""

import builtins
import operator

import torch

from ..box import Box, _is_tensor
from ..function import Function


class Op(Function):
    """Base of vjplib's ops, which declare their math (the module's
    docstring); a head without a "VJP: " line declares nothing (an op with
    no derivative, a base class)."""

    formula = vjp_rule = jvp_rule = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        head = (cls.__dict__.get("__doc__") or "").strip().split("\n\n")[0]
        math, label = {}, "formula"
        for line in head.splitlines():
            line = line.strip()
            for face in ("VJP", "JVP"):
                if line.startswith(f"{face}: "):
                    label, line = face, line[len(face) + 2 :]
            math[label] = f"{math[label]} {line}" if label in math else line
        if "VJP" in math:
            cls.formula, cls.vjp_rule = math["formula"], math["VJP"]
            cls.jvp_rule = math.get("JVP")


def _batch(t, ndim):
    """The leading batch dimensions of t, a (co)tangent of a value with ndim
    dimensions."""
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
            raise IndexError(  # torch's class and words
                f"{op}: Dimension out of range (expected to be in range of "
                f"[{-n}, {n - 1}], but got {d}) for a value of shape "
                f"{tuple(x.shape)}; use a dim in [{-n}, {n - 1}]"
            )
    negative = [d % n - x.ndim for d in dims]
    for i, d in enumerate(negative):
        if d in negative[:i]:
            raise RuntimeError(  # torch's class and words
                f"{op}: dim {dims[i] % n} appears multiple times in the "
                f"list of dims {dim!r}; name each dim once"
            )
    return tuple(sorted(negative)) if x.ndim else ()


def _vmap_leading(cls, info, in_dims, *args):
    """The batching rule of an op that indexes dims from the right only, so
    leading dims ride along (elementwise ops, transpose, flip, cumsum, sum,
    inv, convolve, movedim): give each unstacked tensor input the batch dim too
    (``broadcast_to``: a view; for a traced value a node whose VJP sums over
    the batch) and run the op once on the stack. Returns (output, 0)."""
    from .shape import broadcast_to  # (shape.py's ops use this module)

    stacked = [
        broadcast_to(a, (info.batch_size,) + tuple(a.shape))
        if d is None and _is_tensor(a)
        else a
        for a, d in zip(args, in_dims)
    ]
    return cls.apply(*stacked), 0


def _terms(ctx, *terms):
    """Sum the JVP terms of the inputs that carry a tangent; terms[i]()
    computes input i's term."""
    kept = [term() for term, need in zip(terms, ctx.needs_input_grad) if need]
    return kept[0] if len(kept) == 1 else kept[0] + kept[1]


def _boxed(v):
    return isinstance(v, Box)


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
    """Turn Python numbers into tensors like the other operand; refuse mixed
    float dtypes."""
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
    """Broadcast the leading dims of a and b (all but the last core_a / core_b)
    to a common shape."""
    lead_a, lead_b = a.shape[: a.ndim - core_a], b.shape[: b.ndim - core_b]
    if lead_a == lead_b:  # the common case, and torch's check is slow
        return a, b
    from .shape import broadcast_to  # (shape.py's ops use this module)

    lead = torch.broadcast_shapes(lead_a, lead_b)
    return (
        broadcast_to(v, lead + tuple(v.shape[v.ndim - core :]))
        for v, core in ((a, core_a), (b, core_b))
    )


def _binary(cls, name, doc):
    """The function users call for a two-input elementwise op: cls applied
    to a and b (tensors or numbers) as torch broadcasts them. For traced
    values the broadcast is explicit (``broadcast_to`` nodes), so the op's
    rules only see operands of one shape."""

    def function(a, b):
        a, b, boxed = _operands(name, a, b)
        return cls.apply(*(_broadcast(a, b) if boxed else (a, b)))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function
