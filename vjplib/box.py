"""Boxed values, the traces that own them, and the stack of running
transformations.

A transformation wraps each input in a *box* that belongs to its *trace*.
Five kinds of trace, five boxes:

- ``vjp`` (``graph.VjpTrace``): a ``Traced`` value, which remembers the op
  that made it (a ``Node`` of the recorded graph);
- ``jvp`` (``dual.JvpTrace``): a ``Dual`` number, which carries a tangent;
- ``eager`` (``tensor.EAGER``): a ``vjplib.Tensor``, recorded as it runs;
- ``vmap`` (``vmap.BatchTrace``): a ``Batched`` value, every example's
  value stacked;
- ``linear`` (``linearize.LinearTrace``, for ``linearize``,
  ``linear_transpose`` and ``linear_program``): a ``LinearVar``, a shape and
  the linear op that makes it, no numbers.

Every trace answers one method, ``process(fn, args, needs, keep_ctx)``:
apply op ``fn`` to ``args`` that hold its boxes (``function._apply`` finds
the box of the highest level and calls its trace). A trace's *level* is its
depth in the stack of nested transformations; an op applied to boxes of
several levels is processed by the highest one first, which hands the
primals one level down (as JAX's autodidax does). That keeps
``grad(grad(f))`` free of perturbation confusion: the inner ``grad`` sees
the outer one's boxes as constants.
"""

import copy
import math
from contextlib import contextmanager

import torch


class Trace:
    """One running transformation: its kind, its level, whether it still
    runs, and how it applies an op to its boxes (``process``, which vmap's
    and linearize's traces define themselves)."""

    kinds = {}  # kind -> the Trace subclass new_trace makes for it
    keeps_other_saves = False  # see lift

    def __init_subclass__(cls, kind=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if kind is not None:
            Trace.kinds[kind] = cls

    def __init__(self, kind, level):
        self.kind, self.level, self.active = kind, level, True

    def __repr__(self):
        return f"Trace({self.kind!r}, level={self.level})"

    def process(self, fn, args, needs, keep_ctx):
        """Apply op `fn` to `args` (the highest boxes among them are this
        trace's): the output and, when `keep_ctx`, a context whose saved
        tensors live at this level (the level above differentiates its rules).

        The rule of the traces that differentiate (vjp, jvp, eager): the op
        runs one level down on the primals, with ``needs_input_grad`` True
        where an input is a box of any trace (or needed above, `needs`); its
        context then says which inputs are this trace's (``mine``) and
        ``box`` makes the output. An op with no derivative (a comparison, a
        sign) gives a constant: its output is not boxed."""
        from .function import _apply

        lower = tuple(
            a.primal if isinstance(a, Box) and a.trace is self else a
            for a in args
        )
        if getattr(fn, "differentiable", True) is False:
            return _apply(fn, lower, keep_ctx, needs)
        lower = _unalias(lower, args)
        mine = self.mine(args)
        below = tuple(
            m
            or (needs is not None and needs[i])
            or (isinstance(a, Box) and a.trace is not self)
            for i, (a, m) in enumerate(zip(args, mine))
        )
        y, ctx = _apply(fn, lower, True, below)  # the op, one level down
        ctx.needs_input_grad = mine  # this level's own context
        out = self.box(fn, ctx, args, y)
        return out, (
            self.lift(fn, ctx, lower, y, args, out) if keep_ctx else None
        )

    def mine(self, args):
        """Which of `args` this trace differentiates: its own boxes."""
        return tuple(isinstance(a, Box) and a.trace is self for a in args)

    def box(self, fn, ctx, args, y):
        """The output box of op `fn` with value `y` (its context `ctx`)."""
        raise NotImplementedError(
            f"{type(self).__name__} defines neither process nor box"
        )

    def lift(self, fn, ctx, lower, y, args, out):
        """Move ctx one level up: each saved input or output is replaced by
        its boxed version (so the rules of the level above can differentiate
        through them). Another saved tensor is refused, unless the trace
        ``keeps_other_saves`` (the eager face: then it stays plain)."""

        def up(s):
            for a_low, a in zip(lower, args):
                if s is a_low:
                    return a
            if s is y:
                return out
            if s is None or self.keeps_other_saves:
                return s
            raise RuntimeError(
                f"{fn.__name__}.forward saved a tensor that is neither an "
                "input nor the output, so its rules cannot be differentiated "
                "again (grad of grad, hessian, hvp). Save only inputs and the "
                "output, and recompute the rest in vjp/jvp with vjplib ops."
            )

        lifted = copy.copy(ctx)
        lifted._saved = tuple(up(s) for s in ctx._saved)
        return lifted


def _unalias(lower, args):
    """One object per argument below where the arguments above differ: in
    ``grad(f)(x, x)`` only the first x is boxed, so both arguments are x one
    level down, and ``lift`` could not tell which box a saved x stands for
    (the second-order rule would differentiate through the wrong one). A
    repeated tensor becomes a view of itself; a repeated box, a copy of it
    (same value, node and tangent)."""
    out = list(lower)
    for j, a in enumerate(out):
        if not _is_tensor(a):
            continue
        if isinstance(a, Box) and a.trace.kind in ("eager", "linear"):
            continue  # identity is the graph there: keep it
        if any(a is out[i] and args[i] is not args[j] for i in range(j)):
            out[j] = (
                a.view_as(a) if isinstance(a, torch.Tensor) else copy.copy(a)
            )
    return tuple(out)


_STACK = []  # the transformations running right now, outermost first


@contextmanager
def new_trace(kind, cls=None, **attrs):
    """Run a transformation one level above the ones already running: a
    trace of class `cls` (default: the class registered for `kind`, e.g.
    ``graph.VjpTrace`` for "vjp"), made with `attrs`."""
    cls = Trace.kinds[kind] if cls is None else cls
    trace = cls(kind, len(_STACK) + 1, **attrs)
    _STACK.append(trace)
    try:
        yield trace
    finally:
        _STACK.pop()
        trace.active = False


def top_box(args, who):
    """The box of the highest level among args, or None when all are plain;
    refuse escaped boxes."""
    top = None
    for a in args:
        if isinstance(a, Box):
            if not a.trace.active:
                raise RuntimeError(
                    f"{who}: got a value traced by a {a.trace.kind} that "
                    f"has already returned (level {a.trace.level}); it "
                    "escaped, e.g. through a global or a closure. Pass it "
                    "as an argument of the function you transform instead."
                )
            if top is None or a.trace.level > top.trace.level:
                top = a
    return top


# torch's names a user may reach for, by the vjplib op that does the job
_TORCH_NAMES = {
    "inv": "inverse linalg_inv inv_ex linalg_inv_ex",
    "norm": "vector_norm linalg_norm linalg_vector_norm",
    "matmul": "mm bmm",
    "transpose": "t mT",
    "movedim": "moveaxis",
    "reshape": "view",
    "broadcast_to": "expand",
    "sub": "subtract",
    "mul": "multiply",
    "div": "divide true_divide",
    "neg": "negative",
    "abs": "absolute",
    "clamp": "clip",
    "gt": "greater",
    "lt": "less",
    "ge": "greater_equal",
    "le": "less_equal",
    "ne": "not_equal",
}
_TORCH_TO_VJPLIB = {
    name: op for op, names in _TORCH_NAMES.items() for name in names.split()
}


def torch_name(func):
    return getattr(func, "__name__", repr(func))


def vjplib_hint(name):
    """Where to send someone who called the torch function or method `name` on
    a box."""
    op = _TORCH_TO_VJPLIB.get(name, name.strip("_"))
    if op in ops.__all__:  # the functions vjplib exports
        return f"use vjplib.{op} instead"
    return (
        "write it as a vjplib.Function (forward, vjp, jvp) and call its .apply"
    )


def _is_tensor(v):
    """A torch tensor or a box of any trace."""
    return isinstance(v, (torch.Tensor, Box))


def _number(v):
    """Whether v can be compared with a box: a tensor, a box or a number."""
    return _is_tensor(v) or isinstance(v, (int, float))


class Box:
    """Base of every trace's values: a ``primal`` value plus what one trace
    needs to know. Boxes look like tensors where that is safe (shape, dtype,
    arithmetic with ``+ - * / @ **``, ``.T``, torch's methods of vjplib's
    ops (sum, relu, amax, …), and comparisons ``> < >= <= == !=``, which give
    a bool tensor that records nothing) and refuse everything that would
    leave the graph: torch functions, ``float()``, ``bool()``, numpy
    conversion."""

    shape = property(lambda self: self.primal.shape)
    dtype = property(lambda self: self.primal.dtype)
    device = property(lambda self: self.primal.device)
    ndim = property(lambda self: len(self.shape))

    def dim(self):
        return self.ndim

    def numel(self):
        return math.prod(self.shape)

    def is_floating_point(self):
        return self.dtype.is_floating_point

    @property
    def T(self):
        """Transpose of the last two dimensions (torch's ``.mT``)."""
        return ops.transpose(self)

    mT = T

    # the op methods and operators are set below the class (``_method``)

    __hash__ = object.__hash__  # boxes stay usable as dict keys (by identity)

    def __rpow__(self, base):
        raise TypeError(
            "pow: the exponent is a traced value; vjplib.pow takes a constant "
            "exponent. Write c ** x as vjplib.exp(x * math.log(c))."
        )

    # torch functions cannot see inside a box: refuse them (``_TORCH_BINARY``
    # below: plain arithmetic, which becomes vjplib ops)
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if func in _TORCH_BINARY and len(args) == 2 and not kwargs:
            return getattr(ops, _TORCH_BINARY[func])(*args)
        name = torch_name(func)
        raise TypeError(
            f"torch function {name!r} was called on a vjplib "
            f"{cls.__name__} value; torch cannot differentiate through "
            "vjplib's trace. Inside a function given to a vjplib "
            f"transformation, {vjplib_hint(name)}."
        )

    def _leave(self, *_):
        raise TypeError(
            f"a vjplib {type(self).__name__} value cannot become a Python "
            "number, a bool or a numpy array: the result would be cut off "
            "from the derivative. Keep computing with vjplib ops, or read "
            ".primal after the transformation."
        )

    __bool__ = __float__ = __int__ = __index__ = __array__ = item = tolist = (
        numpy
    ) = _leave

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise AttributeError(
            f"{type(self).__name__} has no attribute {name!r}: "
            f"{vjplib_hint(name)}."
        )


def as_primal(x, who, i):
    """Accept x as primal number i of transformation `who`, or refuse it with
    the way out.

    Tensors and boxes must have a real floating dtype. Python floats and
    (nested) lists of numbers with at least one float become float64 tensors;
    numpy arrays keep their dtype. ints, bools and everything else are refused
    with a TypeError: differentiation needs floating point.
    """
    if _is_tensor(x):
        t = x
    elif isinstance(x, (bool, int)):
        raise TypeError(
            f"{who}: argument {i} is the {type(x).__name__} {x!r}; "
            f"differentiation needs floating point: pass {float(x)!r} or a "
            "floating-point tensor."
        )
    else:
        try:
            t = torch.as_tensor(x)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(
                f"{who}: argument {i} is a {type(x).__name__}, not a "
                "tensor; pass a floating-point torch.Tensor."
            ) from None
        if t.is_floating_point() and isinstance(x, (float, list, tuple)):
            t = torch.as_tensor(x, dtype=torch.float64)
    if not t.dtype.is_floating_point:
        raise TypeError(
            f"{who}: argument {i} has dtype {t.dtype}; differentiation "
            "needs a real floating-point tensor. Convert it first, e.g. "
            "x.to(torch.float64)."
        )
    return t


from . import ops  # noqa: E402  (they need Box; Box needs them)

# torch's methods that a box has, each the vjplib op of that name
_METHODS = (
    "sum reshape relu abs sqrt clamp maximum minimum amax max logsumexp mean"
).split()
# operator -> vjplib op: x + y is ops.add(x, y), 2 + x is ops.add(2, x)
_BINARY = {
    "add": "add",
    "sub": "sub",
    "mul": "mul",
    "truediv": "div",
    "matmul": "matmul",
    "and": "bitwise_and",
    "or": "bitwise_or",
    "xor": "bitwise_xor",
}
_COMPARE = "gt lt ge le eq ne".split()  # x > y is ops.gt(x, y)
_UNARY = {"neg": "neg", "pow": "pow", "invert": "bitwise_not"}  # -x, x**c, ~m


def _method(op, swap=False, compare=False):
    """The Box method that applies vjplib's `op`, the box first (or second:
    `swap`, for ``__radd__`` and the like); a comparison with what is not a
    tensor or a number is NotImplemented, as Python wants."""

    def method(self, *args, **kwargs):
        if compare and not _number(args[0]):
            return NotImplemented
        if swap:
            return getattr(ops, op)(args[0], self)
        return getattr(ops, op)(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = op
    return method


for _name in _METHODS:
    setattr(Box, _name, _method(_name))
Box.__abs__, Box.clip = Box.abs, Box.clamp
for _name, _op in _BINARY.items():
    setattr(Box, f"__{_name}__", _method(_op))
    setattr(Box, f"__r{_name}__", _method(_op, swap=True))
for _name, _op in _UNARY.items():
    setattr(Box, f"__{_name}__", _method(_op))
for _name in _COMPARE:
    setattr(Box, f"__{_name}__", _method(_name, compare=True))

# torch functions that become vjplib ops when a box takes part, so that
# ``tensor + box`` and ``tensor > box`` work
_TORCH_BINARY = {
    **{
        getattr(torch.Tensor, name): name
        for name in ("add", "sub", "mul", "div", "matmul")
    },
    **{getattr(torch.Tensor, f"__{n}__"): n for n in _COMPARE},
    **{
        getattr(torch.Tensor, f"__{n}__"): f"bitwise_{n}"
        for n in "and or xor".split()
    },
}
