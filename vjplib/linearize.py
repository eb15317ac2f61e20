"""Reverse mode from forward mode: ``linearize`` and ``linear_transpose``.

``linearize(f, *primals)`` runs f once in forward mode, with a tangent that
holds no numbers: a ``LinearVar``, only a shape and the linear op that made
it. Each op's JVP rule then records the tangent map y_dot = J x_dot as a
chain of linear ops (matmul by a constant, mul by a constant, sum, ...), its
constants taken from the forward pass (X⁻¹ for inv). ``jvp_fn(x_dot)`` runs
that chain (``graph.replay``), and only it: no op's forward is run again.

``linear_transpose(f_lin, *primals)`` records a linear function the same way
and runs the chain backwards with vjplib's one backward walk
(``graph.backward``), applying each linear op's ``transpose(ctx, y_bar)``
rule instead of its VJP: ⟨y_bar, L x_dot⟩ = ⟨Lᵀ y_bar, x_dot⟩. For any f,

    linear_transpose(linearize(f, x)[1], x)(y_bar) == vjp(f, x)[1](y_bar)

(JAX's autodidax, part 4: reverse mode is forward mode plus transposition).

``linear_program`` prints a recorded linear function as ``jax.make_jaxpr``
prints JAX's; ``linear_ops()`` lists the ops linearize accepts.
"""

import copy

import torch

from .box import Box, Trace, _is_tensor, as_primal, new_trace
from .dual import Dual
from .function import Function, forward_on_shapes
from .graph import backward, check_like, replay, toposort
from .transforms import _output

_WAY_OUT = (
    "For the VJP of a function that is not linear use vjplib.vjp(f, x), or "
    "transpose its linearization: "
    "vjplib.linear_transpose(vjplib.linearize(f, x)[1], x)."
)


class LinearVar(Box):
    """A value that is a linear function of the inputs of a linear trace. It
    holds no numbers: its shape, dtype and device, and the op ``fn``,
    arguments ``args`` and context ``ctx`` (the constant operands, shapes
    and dims the transpose rule needs) that make it (``fn`` None: an input).
    It is a vertex as a ``graph.Node`` is, so graph.py's walk and replay
    run on both."""

    def __init__(self, like, trace, fn=None, args=(), ctx=None):
        self.shape, self.dtype = like.shape, like.dtype
        self.device = like.device
        self.trace, self.fn, self.args, self.ctx = trace, fn, args, ctx

    shape = dtype = device = None  # instance attributes (see __init__)

    @property
    def parents(self):
        """The LinearVars among the op's arguments (for toposort)."""
        return [a for a in self.args if self.in_graph(a)]

    @property
    def inputs(self):
        """The op's arguments, as a graph.Node's ``inputs`` (for the walk
        and the replay)."""
        return self.args

    def in_graph(self, a):
        """Whether argument `a` is a LinearVar of the same linear map."""
        return isinstance(a, LinearVar) and a.trace is self.trace

    def __repr__(self):
        made_by = "input" if self.fn is None else self.fn.__name__
        return f"LinearVar({made_by}, shape={tuple(self.shape)})"


class LinearTrace(Trace, kind="linear"):
    """A running ``linearize`` or ``linear_transpose``: applying an op to a
    LinearVar records it (after checking that the op is linear in it)."""

    def __init__(self, kind, level, who):
        super().__init__(kind, level)
        self.who = who

    def process(self, fn, args, needs, keep_ctx):
        linear = self.mine(args)
        if needs is None:
            needs = tuple(isinstance(a, Box) for a in args)
        check_linear(fn, args, linear, self.who)
        # the op's forward on shapes only: the output's shape, and a context
        # whose saved tensors are the constant operands the rules need
        saves = tuple(a or b for a, b in zip(linear, needs))
        try:
            ctx, meta, y = forward_on_shapes(fn, args, saves)
        except Exception as e:
            raise RuntimeError(
                f"{self.who}: could not run {fn.__name__}.forward on shapes "
                f"only (meta tensors): {e}"
            ) from e
        first = next(a for a, m in zip(args, linear) if m)
        out = LinearVar(first, self, fn, args)
        out.shape, out.dtype = y.shape, y.dtype
        out.ctx = self.lift(fn, ctx, meta, y, args, out)
        out.ctx.needs_input_grad = linear  # the inputs transpose pulls to
        return out, (copy.copy(out.ctx) if keep_ctx else None)


def check_linear(fn, args, linear, who):
    """Refuse an op applied to values that depend on the input (`linear`)
    unless it is linear in them: ``fn.linear_in`` names the inputs it is
    linear in; ``fn.bilinear``: in one of them at a time (mul, matmul,
    convolve), otherwise in all of them together (add, sub)."""
    name = fn.__name__.lower()
    linear_in = getattr(fn, "linear_in", ())
    for i, is_linear in enumerate(linear):
        if is_linear and i not in linear_in:
            where = f"its argument {i}" if len(linear_in) else "its input"
            custom = (  # the way out for the user's own Function
                f" If {fn.__name__} is linear, give it linear_in = (0,) (its "
                "transpose is then its vjp, unless it defines "
                "transpose(ctx, y_bar))."
            )
            if fn.__module__.startswith("vjplib.ops."):  # a built-in op
                custom = ""
            raise TypeError(
                f"{who}: {name} is not linear in {where}, so the "
                f"function is not linear in its input: {who} takes "
                f"functions built from linear ops only ({_linear_list()})."
                f"{custom} " + _WAY_OUT
            )
    if getattr(fn, "bilinear", False) and sum(linear) > 1:
        raise TypeError(
            f"{who}: {name} of two values that both depend on the input (as "
            "in x * x) is not linear in the input. " + _WAY_OUT
        )
    if not getattr(fn, "bilinear", False):
        for i in linear_in:
            a = args[i] if i < len(args) else None
            if _is_tensor(a) and not linear[i]:
                raise TypeError(
                    f"{who}: {name} of a value that depends on the input "
                    "and a constant is affine, not linear (f(0) ≠ 0): drop "
                    "the constant term. " + _WAY_OUT
                )


def _op_classes(cls=Function):
    """Every op class of vjplib (Function subclasses defined in vjplib's
    modules), in the order they were defined, each once."""
    found = []
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("vjplib.") and sub not in found:
            found.append(sub)
        found.extend(c for c in _op_classes(sub) if c not in found)
    return found


def linear_ops():
    """The linear ops, read from the op classes' ``linear_in`` and
    ``bilinear``, by kind: ``"one at a time"`` (mul, matmul, convolve),
    ``"together"`` (add, sub) and ``"first"`` (in their first argument: neg,
    div by a constant, sum, reshape, ...)."""
    kinds = {"one at a time": [], "together": [], "first": []}
    for cls in _op_classes():
        linear_in = tuple(getattr(cls, "linear_in", ()))
        if not linear_in:
            continue
        if getattr(cls, "bilinear", False):
            kind = "one at a time"
        else:
            kind = "together" if len(linear_in) > 1 else "first"
        kinds[kind].append(_op_name(cls))
    return kinds


def _op_name(cls):
    """The op's name as users call it: BroadcastTo -> broadcast_to."""
    return "".join(
        ("_" + c.lower()) if c.isupper() and i else c.lower()
        for i, c in enumerate(cls.__name__)
    )


_LINEAR_KINDS = (  # how the error message lists each kind of linear op
    ("one at a time", "{} with one constant operand"),
    ("together", "{}"),
    ("first", "and in their first argument only {}"),
)


def _linear_list():
    kinds = linear_ops()
    return "; ".join(
        form.format(", ".join(kinds[kind]))
        for kind, form in _LINEAR_KINDS
        if kinds[kind]
    )


def _inputs(primals, trace):
    return [LinearVar(p, trace) for p in primals]


def _result(out, trace, who):
    """f's output as a LinearVar of `trace`, or None when it is a constant
    zero (f does not depend on its input)."""
    if isinstance(out, LinearVar) and out.trace is trace:
        return out
    if isinstance(out, torch.Tensor) and not isinstance(out, Box):
        if torch.count_nonzero(out):
            raise TypeError(
                f"{who}: the function returns a nonzero constant, so it is "
                "not linear in its input (f(0) ≠ 0). " + _WAY_OUT
            )
        return None
    raise TypeError(
        f"{who}: the function must return one tensor, got {type(out).__name__}"
    )


class LinearProgram:
    """A recorded linear map as a straight-line program (``str()`` prints
    it, one op per line, as ``jax.make_jaxpr`` prints a jaxpr).

    ``inputs``: the input LinearVars; ``equations``: one ``(out, fn,
    args)`` per op in the order they run, ``out`` the LinearVar it makes,
    ``args`` its arguments; ``constants``: the constant tensors the ops
    read (the residuals of the forward pass), in order of first use;
    ``outputs``: the LinearVars returned.
    """

    def __init__(self, inputs, outputs, names, returned):
        self.inputs, self.outputs = list(inputs), list(outputs)
        self._returned = returned  # what f_lin returned (for a zero output)
        ends = [o for o in self.outputs if o is not None]
        seen, order = set(), []
        for end in ends:
            for v in toposort(end):
                if v not in seen:
                    seen.add(v)
                    order.append(v)
        self.equations = [(v, v.fn, v.args) for v in order if v.fn]
        self.constants = []
        for _, _, args in self.equations:
            for a in args:
                is_constant = isinstance(a, torch.Tensor) and not isinstance(
                    a, Box
                )
                if is_constant and not any(a is c for c in self.constants):
                    self.constants.append(a)
        self._names = dict(zip(self.inputs, names))
        for k, (v, _, _) in enumerate(self.equations, 1):
            self._names.setdefault(v, f"t{k}")

    def __len__(self):
        return len(self.equations)

    def __call__(self, *values):
        """Run the program on numbers (one value per input): its outputs,
        a tuple when there are several."""
        if len(values) != len(self.inputs):
            raise ValueError(
                f"linear_program: the program takes {len(self.inputs)} "
                f"inputs, got {len(values)}"
            )
        outs = tuple(
            _zeros(zero) if o is None else replay(o, zip(self.inputs, values))
            for o, zero in zip(self.outputs, self._returned)
        )
        return outs[0] if len(outs) == 1 else outs

    def _name(self, a):
        if isinstance(a, LinearVar):
            return self._names.get(a, "?")
        if isinstance(a, torch.Tensor) and not isinstance(a, Box):
            k = next(i for i, c in enumerate(self.constants) if c is a)
            return f"c{k + 1}"
        return repr(a)

    def lines(self):
        """The program's lines: inputs, one line per op, the constants with
        their shapes, the outputs."""

        def shape(v):
            return str(tuple(v.shape))

        rows = [f"in   {self._name(x)}: {shape(x)}" for x in self.inputs]
        for v, fn, args in self.equations:
            call = f"{_op_name(fn)}({', '.join(map(self._name, args))})"
            rows.append(f"{self._name(v):>4} = {call}: {shape(v)}")
        if self.constants:
            rows.append(
                "with "
                + ", ".join(
                    f"c{k}: {shape(c)}"
                    for k, c in enumerate(self.constants, 1)
                )
            )
        outs = ["0" if o is None else self._name(o) for o in self.outputs]
        rows.append(f"out  {', '.join(outs)}")
        return rows

    def __str__(self):
        return "\n".join(self.lines())

    def __repr__(self):
        return f"LinearProgram({len(self)} ops)"


def linear_program(f_lin, *primals, names=None):
    """The linear function f_lin (a ``jvp_fn`` from linearize, an ``f_T`` from
    linear_transpose, or any function built from linear ops) recorded as a
    ``LinearProgram``, as ``jax.make_jaxpr(f_lin)(*primals)``: f_lin runs once
    on inputs that hold no numbers, shaped like `primals` (their values are not
    used). ``names``: one name per input for the printout (default x1_dot,
    x2_dot, ... or x_dot for one input)."""
    who = "linear_program"
    primals = [as_primal(p, who, i) for i, p in enumerate(primals)]
    if names is None:
        names = (
            ["x_dot"]
            if len(primals) == 1
            else [f"x{i + 1}_dot" for i in range(len(primals))]
        )
    if len(names) != len(primals):
        raise ValueError(
            f"{who}: {len(names)} names for {len(primals)} inputs; give one "
            "name per input"
        )
    with new_trace("linear", LinearTrace, who=who) as lin:
        xs = _inputs(primals, lin)
        out = f_lin(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        ends = [_result(o, lin, who) for o in outs]
    return LinearProgram(xs, ends, names, outs)


def _zeros(like):
    return torch.zeros(tuple(like.shape), dtype=like.dtype, device=like.device)


def linearize(f, *primals):
    """(f(*primals), jvp_fn), as torch.func.linearize: f runs once;
    ``jvp_fn(*x_dots)`` = J x_dot runs only the recorded linear map, which
    keeps the constants of its linear pieces (for Y = X⁻¹: Y_dot = -(Y
    (X_dot Y)), the constant Y), not the inputs of every op."""
    primals = [as_primal(p, "linearize", i) for i, p in enumerate(primals)]
    with new_trace("linear", LinearTrace, who="linearize") as lin:
        x_dots = _inputs(primals, lin)
        with new_trace("jvp") as trace:
            out = f(*[Dual(p, t, trace) for p, t in zip(primals, x_dots)])
            y = _output(out, trace, "linearize")
    y_dot = out.tangent if isinstance(out, Dual) and out is not y else None
    if isinstance(y_dot, LinearVar) and y_dot.trace is not lin:
        y_dot = None
    if isinstance(y_dot, LinearVar) or y_dot is None:
        end = y_dot
    else:  # a tangent that is a plain tensor: a constant (zero) map
        end = None

    def jvp_fn(*x_dots_in):
        """y_dot = J x_dot, one tangent per primal (shapes of the primals)."""
        if len(x_dots_in) != len(primals):
            raise ValueError(
                f"linearize: jvp_fn takes {len(primals)} tangents (one per "
                f"primal), got {len(x_dots_in)}"
            )
        for i, (t, p) in enumerate(zip(x_dots_in, primals)):
            check_like(t, p, (), f"linearize: jvp_fn tangent {i}")
        if end is None:
            return _zeros(y)
        return replay(end, zip(x_dots, x_dots_in))

    return y, jvp_fn


def linear_transpose(f_lin, *primals):
    """The transpose of a linear function, as jax.linear_transpose.

    f_lin must be linear in its inputs and built from vjplib ops; `primals`
    give the inputs' shapes and dtypes (their values are not used).
    ``f_T(y_bar)`` returns a tuple with one cotangent x_bar_i = L_iᵀ y_bar
    per input, from the transpose rule of each op that f_lin applies.
    """
    who = "linear_transpose"
    primals = [as_primal(p, who, i) for i, p in enumerate(primals)]
    with new_trace("linear", LinearTrace, who=who) as lin:
        xs = _inputs(primals, lin)
        out = f_lin(*xs)
        end = _result(out, lin, who)
    like = end if end is not None else out

    def f_T(y_bar):
        """x_bar_i = L_iᵀ y_bar for each input i of the linear function."""
        check_like(
            y_bar, like, (), f"{who}: the cotangent y_bar (f_lin's output)"
        )
        x_bars = (
            backward(end, y_bar, xs, rule="transpose")
            if end is not None
            else [None] * len(xs)
        )
        return tuple(
            _zeros(p) if b is None else b for b, p in zip(x_bars, primals)
        )

    return f_T
