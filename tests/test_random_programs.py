"""Random programs built from vjplib's ops, checked against torch on every
face of vjplib, in float64: the safety net of issue 24.

A program is a small graph: a few inputs of drawn shapes, then steps
``v3 = mul(v1, v2)``, each op drawn from ``FAMILIES`` (a vjplib op beside
its torch twin). It prints as those lines (the inputs as
``make_input(shape, kind, seed)``), so the counterexample that hypothesis
shrinks shows the program. Every input holds a batch of ``B`` examples
(the vmap face maps over it; the other faces take example 0), and the
generator runs each step on the whole batch while it draws: an op is taken
only where its domain holds (log and sqrt on positive values, div away
from 0), no kink or tie is hit (relu, abs, maximum, minimum, clamp, amax),
inv gets a well-conditioned matrix and every value stays well scaled.

The faces (``FACES``), each against torch: the value, ``grad``, ``jvp``,
forward-over-reverse HVP, ``vmap(grad)``, ``linear_transpose(linearize)``
= ``vjp``, and the eager ``loss.backward()``, 300 programs each.
``test_the_checker_sees_a_wrong_rule`` feeds the same checker a program
with a deliberately wrong VJP or JVP and asserts that exactly the faces
that run that rule report it.

Only vjplib's public names (``vjplib.sin``, …) are used, so the test holds
however the ops are laid out inside the package.
"""

import itertools
from dataclasses import dataclass, field

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vjplib as vl

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)  # from torch.func
F64 = torch.float64
TOL = dict(rtol=1e-9, atol=1e-9)
B = 3  # examples per input: the batch the vmap face maps over
SCALE = 30.0  # every value of a program stays within ±SCALE
AWAY = 1e-3  # how far from a kink or a tie (relu, abs, maximum, amax)

settings.register_profile(
    "random_programs",
    # the same programs on every machine (for one hypothesis version and
    # one source: hypothesis also draws numbers it reads in the source)
    derandomize=True,
    deadline=None,
    database=None,  # no example database in .hypothesis/
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow],
)
PROGRAMS = settings.get_profile("random_programs")


# -- the ops ------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One op of the table: its vjplib function (by its public name) and
    its torch twin, how many variables it takes, which shapes it accepts,
    the constants it draws (a dict: dims, shapes, exponents, masks, passed
    in that order after the variables) and the domain its values must keep
    to, ``domain(*xs, y, *constants)``."""

    name: str
    torch: object
    arity: int = 1
    shapes_ok: object = lambda *shapes: True
    constants: object = lambda *shapes: st.just({})
    domain: object = lambda *xs_and_y: True
    fn: object = None  # vjplib's function, if not vjplib.<name>

    @property
    def ours(self):
        return self.fn or getattr(vl, self.name)


def _named(**constants):
    """An op's constants, drawn in the order of its signature."""
    names = list(constants)
    values = st.tuples(*constants.values())
    return values.map(lambda vs: dict(zip(names, vs)))


def _dim(shape):
    return st.integers(-len(shape), len(shape) - 1)


def _reduction(shape):
    """sum, mean, logsumexp, amax: over one dim or a tuple of dims."""
    n = len(shape)
    dims = st.lists(
        _dim(shape), min_size=1, max_size=n, unique_by=lambda d: d % n
    )
    one_or_more = st.one_of(_dim(shape), dims.map(tuple))
    return _named(dim=one_or_more, keepdim=st.booleans())


def _has_dims(shape):
    return len(shape) >= 1


def _broadcastable(a, b):
    """torch broadcasts the shapes together."""
    return all(m == n or 1 in (m, n) for m, n in zip(a[::-1], b[::-1]))


def _matmul_ok(a, b):
    """torch's matmul takes the shapes: 1-D operands are a row and a
    column, the dims before the last two broadcast."""
    if not a or not b:
        return False
    inner = b[-2] if len(b) >= 2 else b[0]
    return a[-1] == inner and _broadcastable(a[:-2], b[:-2])


def _new_shape(shape):
    """reshape: x flattened, with a new leading 1, or its sizes permuted."""
    n = torch.Size(shape).numel()
    new = st.one_of(
        st.just((n,)),
        st.just((1,) + shape),
        st.permutations(shape).map(tuple),
    )
    return _named(shape=new)


def _broadcast_shape(shape):
    """broadcast_to: a new leading 2 or 3, or a size-1 dim grown to 2."""
    lead = st.sampled_from([(), (2,), (3,)])
    grown = st.tuples(
        *[st.sampled_from([1, 2]) if s == 1 else st.just(s) for s in shape]
    )
    new = st.tuples(lead, grown).map(lambda lg: lg[0] + lg[1])
    return _named(shape=new)


def _flip_dims(shape):
    dims = st.lists(
        st.integers(0, len(shape) - 1),
        min_size=1,
        max_size=len(shape),
        unique=True,
    )
    return _named(dims=dims.map(tuple))


def _mask(a, b):
    """where's condition: a bool constant of the broadcast shape."""
    shape = torch.broadcast_shapes(a, b)
    n = shape.numel()
    bits = st.lists(st.booleans(), min_size=n, max_size=n)
    mask = bits.map(lambda m: torch.tensor(m, dtype=torch.bool).view(shape))
    return _named(condition=mask)


def _top_two_gap(x, y, dim, keepdim):
    """amax has no tie: its two largest entries over dim differ."""
    dims = (dim,) if isinstance(dim, int) else dim
    last = tuple(range(-len(dims), 0))
    x = torch.movedim(x, dims, last).flatten(-len(dims))  # the dims in one
    if x.shape[-1] < 2:
        return True
    top = x.topk(2).values
    return bool((top[..., 0] - top[..., 1]).min() > AWAY)


def _off_the_threshold(x, y):
    """softplus switches to y = x above torch's threshold 20 (a kink in the
    derivative: torch's second derivative there is 0)."""
    return _away_from_zero(x - 20)


def _pow_domain(x, y, exponent):
    """x ** c: x away from 0 for c < 0, x > 0 for a fractional c."""
    if exponent == int(exponent):
        return exponent > 0 or _positive(x.abs() - 0.4)
    return _positive(x)


def _off_the_bounds(x, y, min, max):
    """clamp's kinks: x is not at a bound."""
    return all(b is None or _away_from_zero(x - b) for b in (min, max))


def _number(shape):
    """The other operand of add, sub, mul, div: a Python number."""
    return _named(other=st.sampled_from([2.0, -0.5, 3, 1.5]))


def _positive(x, *rest):
    return bool(x.min() > 0.1)


def _away_from_zero(x, *rest):
    return bool(x.abs().min() > AWAY)


FAMILIES = {
    "elementwise": [
        Op("sin", torch.sin),
        Op("cos", torch.cos),
        Op("tanh", torch.tanh),
        Op("exp", torch.exp),
        Op("neg", torch.neg),
        # softplus on both sides of torch's threshold 20 (see
        # test_softplus_above_torchs_threshold)
        Op(
            "softplus",
            torch.nn.functional.softplus,
            domain=_off_the_threshold,
        ),
        Op("log", torch.log, domain=_positive),
        Op("sqrt", torch.sqrt, domain=_positive),
        Op("relu", torch.relu, domain=_away_from_zero),
        Op("abs", torch.abs, domain=_away_from_zero),
        Op(
            "pow",
            torch.pow,
            constants=lambda s: _named(
                exponent=st.sampled_from([2, 3, -1, 0.5, 1.5])
            ),
            domain=_pow_domain,
        ),
        Op(
            "clamp",
            torch.clamp,
            constants=lambda s: _named(
                min=st.sampled_from([-0.5, None]), max=st.just(1.0)
            ),
            domain=_off_the_bounds,
        ),
    ],
    "with a number": [
        Op("add", torch.add, constants=_number),
        Op("sub", torch.sub, constants=_number),
        Op("mul", torch.mul, constants=_number),
        Op("div", torch.div, constants=_number),
    ],
    "binary": [
        Op("add", torch.add, 2, _broadcastable),
        Op("sub", torch.sub, 2, _broadcastable),
        Op("mul", torch.mul, 2, _broadcastable),
        Op(
            "div",
            torch.div,
            2,
            _broadcastable,
            domain=lambda a, b, y: _positive(b.abs() - 0.4),
        ),
        Op(
            "maximum",
            torch.maximum,
            2,
            _broadcastable,
            domain=lambda a, b, y: _away_from_zero(a - b),
        ),
        Op(
            "minimum",
            torch.minimum,
            2,
            _broadcastable,
            domain=lambda a, b, y: _away_from_zero(a - b),
        ),
        Op(
            "where",  # where(condition, v1, v2), condition a fixed constant
            lambda a, b, condition: torch.where(condition, a, b),
            2,
            _broadcastable,
            constants=_mask,
        ),
    ],
    "reductions": [
        Op("sum", torch.sum, shapes_ok=_has_dims, constants=_reduction),
        Op("mean", torch.mean, shapes_ok=_has_dims, constants=_reduction),
        Op(
            "logsumexp",
            torch.logsumexp,
            shapes_ok=_has_dims,
            constants=_reduction,
        ),
        Op(
            "amax",
            torch.amax,
            shapes_ok=_has_dims,
            constants=_reduction,
            domain=_top_two_gap,
        ),
        Op("norm", torch.linalg.vector_norm, domain=lambda x, y: _positive(y)),
    ],
    "shape": [
        Op("transpose", lambda x: x.mT, shapes_ok=lambda s: len(s) >= 2),
        Op("reshape", torch.reshape, constants=_new_shape),
        Op(
            "broadcast_to",
            lambda x, shape: torch.broadcast_to(x, shape),
            constants=_broadcast_shape,
        ),
        Op("flip", torch.flip, shapes_ok=_has_dims, constants=_flip_dims),
        Op(
            "movedim",
            torch.movedim,
            shapes_ok=_has_dims,
            constants=lambda s: _named(source=_dim(s), destination=_dim(s)),
        ),
        Op(
            "cumsum",
            torch.cumsum,
            shapes_ok=_has_dims,
            constants=lambda s: _named(dim=_dim(s)),
        ),
    ],
    "linear algebra": [
        Op("matmul", torch.matmul, 2, _matmul_ok),
        Op(
            "inv",
            torch.linalg.inv,
            shapes_ok=lambda s: len(s) >= 2 and s[-1] == s[-2],
            domain=lambda X, Y: bool(torch.linalg.cond(X).max() < 10),
        ),
    ],
}
OPS = [op for family in FAMILIES.values() for op in family]


# -- programs -----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """``v{n} = op(v{args[0]}, …, **constants)``."""

    op: Op
    args: tuple
    constants: tuple = ()  # (name, value) pairs

    def call(self, values, ours=True):
        """vjplib's op (constants by position), or its torch twin (by
        name)."""
        xs = [values[i] for i in self.args]
        if not ours:
            return self.op.torch(*xs, **dict(self.constants))
        consts = [c for _, c in self.constants]
        if self.op.name == "where":  # where(condition, input, other)
            return self.op.ours(*consts, *xs)
        return self.op.ours(*xs, *consts)

    def line(self, n):
        args = [f"v{i}" for i in self.args]
        consts = [f"{k}={_show(c)}" for k, c in self.constants]
        if self.op.name == "where":
            consts = [_show(c) for _, c in self.constants]
            return f"v{n} = where({', '.join(consts + args)})"
        return f"v{n} = {self.op.name}({', '.join(args + consts)})"


def _show(c):
    return f"tensor({c.tolist()})" if isinstance(c, torch.Tensor) else repr(c)


@dataclass
class Program:
    """Inputs (each a batch of B examples), steps, and the directions the
    faces push and pull (tangents x_dot, a cotangent y_bar)."""

    inputs: list
    steps: list
    how: tuple = ()  # how each input was drawn: kind and seed
    in_dims: tuple = 0  # the vmap face: 0 maps over an input, None not
    x_dots: list = field(default_factory=list)
    y_bar: object = None

    def __repr__(self):
        n = len(self.inputs)
        lines = [
            f"v{i} = make_input({tuple(x.shape[1:])}, {how})"
            for i, (x, how) in enumerate(zip(self.inputs, self.how))
        ]
        lines += [s.line(n + k) for k, s in enumerate(self.steps)]
        lines.append(f"loss = sum(v{n + len(self.steps) - 1})")
        lines.append(f"vmap in_dims: {self.in_dims}")
        return "\n".join(["Program:"] + lines)

    def _repr_pretty_(self, printer, cycle):
        """hypothesis prints a counterexample with this (IPython's hook)."""
        printer.text(repr(self))

    def run(self, xs, ours=True):
        """The last step's value (vjplib's ops, or torch's twins)."""
        values = list(xs)
        for s in self.steps:
            values.append(s.call(values, ours))
        return values[-1]

    # the functions the faces transform
    def f(self, *xs):
        return self.run(xs, ours=True)

    def f_torch(self, *xs):
        return self.run(xs, ours=False)

    def loss(self, *xs):
        return vl.sum(self.f(*xs))

    def loss_torch(self, *xs):
        return torch.sum(self.f_torch(*xs))

    @property
    def xs(self):
        """Example 0 of every input."""
        return [x[0] for x in self.inputs]


def _on_batch(step, values):
    """The step on every example (torch's twin), or None where the step
    leaves its domain or its scale."""
    ys = []
    for b in range(B):
        xs = [values[i][b] for i in step.args]
        try:
            y = step.call([v[b] for v in values], ours=False)
        except torch.linalg.LinAlgError:  # inv of a singular matrix
            return None
        consts = [c for _, c in step.constants]
        if not (y.isfinite().all() and y.abs().max() <= SCALE):
            return None
        if not step.op.domain(*xs, y, *consts):
            return None
        ys.append(y)
    return torch.stack(ys)


KINDS = ("normal", "positive", "near identity")
shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)


@st.composite
def inputs(draw):
    """A batch of B examples of a drawn shape and kind, and how it was
    drawn (its kind and seed, as the program prints them)."""
    shape = draw(shapes)
    square = len(shape) >= 2 and shape[-1] == shape[-2]
    kind = draw(st.sampled_from(KINDS[::-1] if square else KINDS[:2]))
    seed = draw(st.integers(0, 2**32 - 1))
    return f"{kind!r}, seed={seed}", make_input(shape, kind, seed)


def make_input(shape, kind, seed):
    """Standard normal values, or in [0.5, 2] (for log, sqrt, div), or a
    matrix near the identity (for inv)."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn((B,) + shape, generator=g, dtype=F64)
    if kind == "normal":
        return z
    if kind == "positive":
        return 0.5 + 1.5 * torch.sigmoid(z)
    return torch.eye(shape[-1], dtype=F64) + 0.3 * z


@st.composite
def steps(draw, values, n_inputs):
    """One step: a family of ops, an op of it, variables whose shapes it
    accepts, its constants; drawn again while the step would leave its
    domain or its scale. After the first step, the value just made is among
    the variables, so that every step counts towards the loss."""
    shapes_ = [tuple(v.shape[1:]) for v in values]
    last = len(values) - 1 if len(values) > n_inputs else None

    fits = {}  # op: the tuples of variables it accepts
    for op in OPS:
        fits[op] = [
            args
            for args in itertools.product(range(len(values)), repeat=op.arity)
            if (last is None or last in args)
            and op.shapes_ok(*[shapes_[i] for i in args])
        ]
    families = [
        [op for op in family if fits[op]] for family in FAMILIES.values()
    ]
    families = [family for family in families if family]
    for _ in range(10):
        op = draw(st.sampled_from(draw(st.sampled_from(families))))
        args = draw(st.sampled_from(fits[op]))
        constants = draw(op.constants(*[shapes_[i] for i in args]))
        step = Step(op, args, tuple(constants.items()))
        y = _on_batch(step, values)
        if y is not None:
            return step, y
    sin = FAMILIES["elementwise"][0]  # smooth, bounded, any shape
    step = Step(sin, (len(values) - 1,))
    return step, _on_batch(step, values)


@st.composite
def programs(draw, max_inputs=3, min_steps=2, max_steps=6):
    drawn = draw(st.lists(inputs(), min_size=1, max_size=max_inputs))
    how, xs = zip(*drawn)
    values, program_steps = list(xs), []
    for _ in range(draw(st.integers(min_steps, max_steps))):
        step, y = draw(steps(values, len(xs)))
        program_steps.append(step)
        values.append(y)
    g = torch.Generator().manual_seed(draw(st.integers(0, 2**32 - 1)))
    x_dots = [torch.randn(x.shape[1:], generator=g, dtype=F64) for x in xs]
    y_bar = torch.randn(values[-1].shape[1:], generator=g, dtype=F64)
    mapped = st.sampled_from([0, None])
    in_dims = draw(st.tuples(*[mapped for _ in xs]).filter(_maps))
    return Program(list(xs), program_steps, how, in_dims, x_dots, y_bar)


def _maps(in_dims):
    return 0 in in_dims


# -- the faces ----------------------------------------------------------------


def _close(ours, theirs, face):
    """torch.testing.assert_close, tuples entry by entry, naming the face."""
    if not isinstance(ours, (tuple, list)):
        ours, theirs = (ours,), (theirs,)
    assert len(ours) == len(theirs), face
    for i, (a, b) in enumerate(zip(ours, theirs)):
        torch.testing.assert_close(
            a, b, **TOL, msg=lambda m, i=i: f"{face}, output {i}: {m}"
        )


def check_value(p):
    _close(p.f(*p.xs), p.f_torch(*p.xs), "value")


def check_grad(p):
    argnums = tuple(range(len(p.xs)))
    _close(
        vl.grad(p.loss, argnums)(*p.xs),
        torch.func.grad(p.loss_torch, argnums)(*p.xs),
        "grad",
    )


def check_jvp(p):
    _close(
        vl.jvp(p.f, p.xs, p.x_dots),
        torch.func.jvp(p.f_torch, tuple(p.xs), tuple(p.x_dots)),
        "jvp",
    )


def check_hvp(p):
    """Forward-over-reverse: the JVP of the gradient, one input's block of
    H x_dot at a time (vjplib.jvp takes a function with one output)."""
    argnums = tuple(range(len(p.xs)))
    _, theirs = torch.func.jvp(
        torch.func.grad(p.loss_torch, argnums), tuple(p.xs), tuple(p.x_dots)
    )
    ours = tuple(
        vl.jvp(vl.grad(p.loss, i), p.xs, p.x_dots)[1] for i in argnums
    )
    _close(ours, theirs, "hvp (jvp of grad)")


def check_vmap_grad(p):
    """grad mapped over the batch of the inputs whose in_dim is 0; the
    others (in_dim None) are example 0, shared by every example."""
    argnums = tuple(range(len(p.xs)))
    args = [x if d == 0 else x[0] for x, d in zip(p.inputs, p.in_dims)]
    _close(
        vl.vmap(vl.grad(p.loss, argnums), p.in_dims)(*args),
        torch.func.vmap(torch.func.grad(p.loss_torch, argnums), p.in_dims)(
            *args
        ),
        "vmap(grad)",
    )


def check_linear(p):
    """linearize's jvp_fn = torch's JVP, and its transpose = vjplib.vjp =
    torch's VJP, at the cotangent y_bar."""
    _, jvp_fn = vl.linearize(p.f, *p.xs)
    _, y_dot = torch.func.jvp(p.f_torch, tuple(p.xs), tuple(p.x_dots))
    _close(jvp_fn(*p.x_dots), y_dot, "linearize")
    transposed = vl.linear_transpose(jvp_fn, *p.xs)(p.y_bar)
    _, vjp_fn = vl.vjp(p.f, *p.xs)
    _, vjp_torch = torch.func.vjp(p.f_torch, *p.xs)
    _close(vjp_fn(p.y_bar), vjp_torch(p.y_bar), "vjp")
    _close(transposed, vjp_torch(p.y_bar), "linear_transpose(linearize)")


def _plain(t):
    """A vjplib.Tensor's values as a torch tensor, as a torch user reads
    them (through NumPy)."""
    return torch.from_numpy(t.detach().numpy())


def check_eager(p):
    """loss.backward() fills .grad as torch's does (None where the loss does
    not depend on the input, as in torch)."""
    ours = [vl.tensor(x, requires_grad=True) for x in p.xs]
    theirs = [x.clone().requires_grad_(True) for x in p.xs]
    loss, loss_torch = p.loss(*ours), p.loss_torch(*theirs)
    loss.backward()
    loss_torch.backward()
    _close(_plain(loss), loss_torch.detach(), "eager loss")
    for i, (a, b) in enumerate(zip(ours, theirs)):
        assert (a.grad is None) == (b.grad is None), (
            f"eager .grad of input {i}: vjplib {a.grad}, torch {b.grad}"
        )
        if b.grad is not None:
            _close(_plain(a.grad), b.grad, f"eager .grad of input {i}")


FACES = {
    "value": check_value,
    "grad": check_grad,
    "jvp": check_jvp,
    "hvp": check_hvp,
    "vmap_grad": check_vmap_grad,
    "linear": check_linear,
    "eager": check_eager,
}


@pytest.mark.parametrize("face", FACES)
@PROGRAMS
@given(p=programs())
def test_random_program(face, p):
    FACES[face](p)


# -- the checker can fail -----------------------------------------------------


class SinWrongVjp(vl.Function):
    """y = sin x with a wrong VJP, x_bar = 1.5 cos(x) y_bar (the JVP is
    right)."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x):
        return torch.sin(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(*inputs)

    @staticmethod
    def vjp(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return 1.5 * vl.cos(x) * y_bar

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return vl.cos(x) * x_dot


class SinWrongJvp(SinWrongVjp):
    """y = sin x with a wrong JVP, y_dot = 1.5 cos(x) x_dot (the VJP is
    right)."""

    @staticmethod
    def vjp(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return vl.cos(x) * y_bar

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return 1.5 * vl.cos(x) * x_dot


# The faces that run each rule: the VJP under grad, hvp (forward over
# reverse differentiates the VJP), vmap(grad), vjp and eager backward(); the
# JVP under jvp, hvp (the tangent of y enters the VJP of mul(y, y)) and
# linearize, whose transpose then is wrong too.
SEES = {
    SinWrongVjp: {"grad", "hvp", "vmap_grad", "linear", "eager"},
    SinWrongJvp: {"jvp", "hvp", "linear"},
}


def _program_with(wrong):
    """v1 = wrong(v0); v2 = mul(v1, v1): a program by hand, through the
    same Program and checker as the random ones."""
    x = make_input((2, 3), "normal", seed=0)
    g = torch.Generator().manual_seed(1)
    op = Op(wrong.__name__, torch.sin, fn=wrong.apply)
    mul = next(o for o in FAMILIES["binary"] if o.name == "mul")
    steps_ = [Step(op, (0,)), Step(mul, (1, 1))]
    x_dot = torch.randn((2, 3), generator=g, dtype=F64)
    y_bar = torch.randn((2, 3), generator=g, dtype=F64)
    how = ("'normal', seed=0",)
    return Program([x], steps_, how, (0,), [x_dot], y_bar)


@pytest.mark.parametrize("wrong", SEES, ids=lambda w: w.__name__)
def test_the_checker_sees_a_wrong_rule(wrong):
    p = _program_with(wrong)
    reported = set()
    for face, check in FACES.items():
        try:
            check(p)
        except AssertionError:
            reported.add(face)
    assert reported == SEES[wrong], (
        f"{wrong.__name__}: faces that report it {sorted(reported)}, "
        f"expected {sorted(SEES[wrong])}\n{p!r}"
    )


def test_softplus_above_torchs_threshold():
    """Found by the HVP face (a softplus at 22.8 in a nine-step program):
    above 20 torch's value is x, so its derivative is 1 and its second
    derivative 0; vjplib differentiated log(1 + exp(x)) there."""
    x = torch.tensor(22.0, dtype=F64)
    softplus = torch.nn.functional.softplus
    torch.testing.assert_close(  # torch: exactly 1, then exactly 0
        (vl.grad(vl.softplus)(x), vl.grad(vl.grad(vl.softplus))(x)),
        (
            torch.func.grad(softplus)(x),
            torch.func.grad(torch.func.grad(softplus))(x),
        ),
        rtol=1e-12,
        atol=0,
    )


def test_a_program_prints_as_its_lines():
    assert repr(_program_with(SinWrongVjp)) == "\n".join(
        [
            "Program:",
            "v0 = make_input((2, 3), 'normal', seed=0)",
            "v1 = SinWrongVjp(v0)",
            "v2 = mul(v1, v1)",
            "loss = sum(v2)",
            "vmap in_dims: (0,)",
        ]
    )
