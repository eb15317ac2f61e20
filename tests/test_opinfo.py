"""vjplib's ops on torch's own test inputs, the OpInfo database, as torch tests
its ops.

For every vjplib op with a matching OpInfo (``op_db`` in torch's test suite)
we take its float64 ``sample_inputs``, or its ``reference_inputs`` where it
has few samples (then nan, inf, large and small values, empty, batched and
non-contiguous tensors come in too). Each sample is checked against torch
for: the value; the VJP (torch.autograd.grad, a random cotangent); the JVP
(torch.func.jvp, random tangents); one second-order derivative, the JVP of
the gradient of <y_bar, f(x)> (forward over reverse); and, when the Jacobian
is small, jacrev and jacfwd against torch.func's. Samples with arguments
vjplib does not take are skipped, each with its reason (``pytest -rs`` lists
them with counts).

softplus: every OpInfo sample sets beta=3, threshold=0.2, which
vjplib.softplus (beta 1) does not take; we check its inputs against torch's
softplus with the default arguments.
"""

import builtins

import pytest
import torch

# torch's test module needs the expecttest package (requirements.txt)
from torch.testing._internal.common_methods_invocations import op_db

import vjplib as vl
from vjplib import assert_close

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)
F64 = torch.float64
RTOL, ATOL = 1e-7, 1e-10
MAX_JACOBIAN = 4096  # entries; no jacrev/jacfwd check for larger Jacobians
FEW = 12  # an OpInfo with fewer samples: use its reference_inputs
MAX_NUMEL = 100_000  # larger samples are skipped (their reason says so)


class Unsupported(Exception):
    """A sample whose arguments vjplib's op does not take (message: why)."""


def _no_extra(s, name):
    if s.args or s.kwargs:
        raise Unsupported(
            f"{name} takes no extra arguments, got "
            f"args={s.args!r} kwargs={s.kwargs!r}"
        )


def _unary(vl_op, name):
    def translate(s, op):
        _no_extra(s, name)
        return vl_op, op.op, [s.input]

    return translate


def _softplus(s, op):  # see the module docstring
    return vl.softplus, torch.nn.functional.softplus, [s.input]


def _binary(vl_op, name):
    def translate(s, op):
        if s.kwargs:
            raise Unsupported(
                f"{name} with {sorted(s.kwargs)}: vjplib.{name} "
                "takes two operands only (write "
                "add(x, alpha * y))"
            )
        a, (b,) = s.input, s.args
        tensor_a, tensor_b = (isinstance(v, torch.Tensor) for v in (a, b))
        if not (tensor_a or tensor_b):
            raise Unsupported(
                f"{name} of two numbers: no tensor to differentiate"
            )
        if not tensor_a:  # a number, a tensor
            return (lambda x: vl_op(a, x)), (lambda x: op.op(a, x)), [b]
        if not tensor_b:
            return (lambda x: vl_op(x, b)), (lambda x: op.op(x, b)), [a]
        return vl_op, op.op, [a, b]

    return translate


def _pow(s, op):
    (c,) = s.args
    if isinstance(c, torch.Tensor):
        raise Unsupported(
            "pow with a tensor exponent: vjplib.pow takes a "
            "constant number (write exp(c * log x))"
        )
    return (lambda x: vl.pow(x, c)), (lambda x: torch.pow(x, c)), [s.input]


def _sum(s, op):
    kw = dict(s.kwargs)
    if "dtype" in kw:
        raise Unsupported("sum with dtype=: vjplib keeps the input's dtype")
    dim, keepdim = kw.get("dim"), kw.get("keepdim", False)
    return (
        (lambda x: vl.sum(x, dim, keepdim)),
        (lambda x: torch.sum(x, *s.args, **s.kwargs)),
        [s.input],
    )


def _cumsum(s, op):
    if "dtype" in s.kwargs:
        raise Unsupported("cumsum with dtype=: vjplib keeps the input's dtype")
    (dim,) = s.args
    return (
        (lambda x: vl.cumsum(x, dim)),
        (lambda x: torch.cumsum(x, dim)),
        [s.input],
    )


def _flip(s, op):
    dims = s.kwargs["dims"] if "dims" in s.kwargs else s.args[0]
    return (
        (lambda x: vl.flip(x, dims)),
        (lambda x: torch.flip(x, dims)),
        [s.input],
    )


def _shape_op(vl_op, torch_op):
    def translate(s, op):
        (shape,) = s.args
        return (
            (lambda x: vl_op(x, shape)),
            (lambda x: torch_op(x, shape)),
            [s.input],
        )

    return translate


def _transpose(s, op):
    d0, d1 = s.args
    n = s.input.ndim
    if n < 2 or {d0 % n, d1 % n} != {n - 2, n - 1}:
        raise Unsupported(
            "transpose of dims other than the last two: "
            "vjplib.transpose swaps the last two only"
        )
    return vl.transpose, (lambda x: torch.transpose(x, d0, d1)), [s.input]


def _mT(s, op):
    _no_extra(s, "mT")
    if s.input.ndim < 2:
        raise Unsupported("T of a tensor with fewer than 2 dims")
    return vl.transpose, op.op, [s.input]


def _matmul(s, op):
    (other,) = s.args
    return vl.matmul, torch.matmul, [s.input, other]


def _inv(s, op):
    _no_extra(s, "linalg.inv")
    return vl.inv, torch.linalg.inv, [s.input]


def _norm(positional):
    """A norm OpInfo; vjplib.norm is the 2-norm of all entries (0-d)."""

    def translate(s, op):
        kw = dict(zip(positional, s.args), **s.kwargs)
        ord_ = kw.pop("ord", kw.pop("p", None))
        dim, keepdim = kw.pop("dim", None), kw.pop("keepdim", False)
        vector = op.name == "linalg.vector_norm" or s.input.ndim <= 1
        two = ord_ is None or (ord_ == 2 and (vector or op.name == "norm"))
        if not (two or (ord_ == "fro" and s.input.ndim <= 2)):
            raise Unsupported(
                "norm with an ord/p other than 2 (or a matrix "
                "norm): vjplib.norm is the 2-norm of all "
                "entries"
            )
        if dim not in (None, ()) or keepdim or kw:
            raise Unsupported(
                "norm over some dims, or with keepdim: "
                "vjplib.norm reduces all entries to a 0-d "
                "value"
            )
        return vl.norm, (lambda x: op.op(x, *s.args, **s.kwargs)), [s.input]

    return translate


def _floats(v):
    return isinstance(v, torch.Tensor) and v.is_floating_point()


def _where(s, op):
    cond, other = s.args
    a = s.input
    for v in (a, other):
        if isinstance(v, (bool, complex)) or (
            isinstance(v, torch.Tensor) and not v.is_floating_point()
        ):
            raise Unsupported(
                f"where with a {describe(v)} branch: vjplib takes float "
                "tensors and real numbers"
            )
    if not (isinstance(a, torch.Tensor) or isinstance(other, torch.Tensor)):
        raise Unsupported("where of two numbers: no tensor to differentiate")
    if not isinstance(a, torch.Tensor):  # a number, a tensor
        return (
            (lambda b: vl.where(cond, a, b)),
            (lambda b: torch.where(cond, a, b)),
            [other],
        )
    if not _floats(other):
        return (
            (lambda a: vl.where(cond, a, other)),
            (lambda a: torch.where(cond, a, other)),
            [s.input],
        )
    return (
        (lambda a, b: vl.where(cond, a, b)),
        (lambda a, b: torch.where(cond, a, b)),
        [s.input, other],
    )


def _reduction(vl_op, positional, ours_kw=()):
    """amax, logsumexp, mean: (dim, keepdim) by position or by name."""

    def translate(s, op):
        kw = dict(zip(positional, s.args), **s.kwargs)
        if "dtype" in kw:
            raise Unsupported(f"{op.name} with dtype=: vjplib keeps x's dtype")
        args = {k: kw[k] for k in ("dim", "keepdim") if k in kw}
        return (
            (lambda x: vl_op(x, **args)),
            (lambda x: op.op(x, *s.args, **s.kwargs)),
            [s.input],
        )

    return translate


def _max_no_dim(s, op):
    _no_extra(s, "max")
    return vl.max, torch.max, [s.input]


def _max_with_dim(s, op):
    dim, keepdim = (*s.args, False)[:2]
    return (
        (lambda x: vl.max(x, dim, keepdim).values),
        (lambda x: torch.max(x, dim, keepdim).values),
        [s.input],
    )


def _clamp(s, op):
    """clamp(x, min, max), clamp_min(x, min), clamp_max(x, max): bounds are
    numbers or tensors; float tensor bounds are differentiated too."""
    names = {"clamp_min": ("min",), "clamp_max": ("max",)}
    names = names.get(op.name, ("min", "max"))
    bounds = dict(zip(names, s.args), **s.kwargs)
    free = [k for k, v in bounds.items() if _floats(v)]
    tensors = [s.input] + [v for v in bounds.values() if _floats(v)]
    if not s.input.is_floating_point() or len({v.dtype for v in tensors}) > 1:
        raise Unsupported(
            "clamp of an integer x, or with bounds of another float "
            "dtype: vjplib differentiates one float dtype"
        )
    shape = torch.broadcast_shapes(*(v.shape for v in tensors))
    if shape != s.input.shape:
        raise Unsupported(
            "clamp whose bounds broadcast x to a larger shape: "
            "torch.autograd.grad itself raises on it (output with shape "
            "... doesn't match the broadcast shape)"
        )

    def call(f):
        def g(x, *vs):
            return f(x, **{**bounds, **dict(zip(free, vs))})

        return g

    return (
        call(vl.clamp),
        call(torch.clamp),
        [s.input] + [bounds[k] for k in free],
    )


TRANSLATE = {
    **{
        name: _unary(getattr(vl, name), name)
        for name in ("neg", "log", "exp", "sin", "cos", "tanh")
    },
    "nn.functional.softplus": _softplus,
    "add": _binary(vl.add, "add"),
    "sub": _binary(vl.sub, "sub"),
    "mul": _binary(vl.mul, "mul"),
    "div.no_rounding_mode": _binary(vl.div, "div"),
    "pow": _pow,
    "sum": _sum,
    "cumsum": _cumsum,
    "flip": _flip,
    "reshape": _shape_op(vl.reshape, torch.reshape),
    "broadcast_to": _shape_op(vl.broadcast_to, torch.broadcast_to),
    "transpose": _transpose,
    "mT": _mT,
    "T": _mT,
    "matmul": _matmul,
    "linalg.inv": _inv,
    "linalg.vector_norm": _norm(("ord", "dim", "keepdim")),
    "linalg.norm": _norm(("ord", "dim", "keepdim")),
    "linalg.norm.subgradients_at_zero": _norm(("ord", "dim", "keepdim")),
    "norm": _norm(("p", "dim", "keepdim")),
    "norm.fro": _norm(("p", "dim", "keepdim")),
    # ops with kinks, ties and NaNs (vjplib/ops/: kinks, compare, maxima)
    "abs": _unary(vl.abs, "abs"),
    "sqrt": _unary(vl.sqrt, "sqrt"),
    "nn.functional.relu": _unary(vl.relu, "relu"),
    "where": _where,
    "maximum": _binary(vl.maximum, "maximum"),
    "minimum": _binary(vl.minimum, "minimum"),
    "max.binary": _binary(vl.max, "max"),
    "amax": _reduction(vl.amax, ("dim", "keepdim")),
    "max.reduction_no_dim": _max_no_dim,
    "max.reduction_with_dim": _max_with_dim,
    "clamp": _clamp,
    "clamp_min": _clamp,
    "clamp_max": _clamp,
    "logsumexp": _reduction(vl.logsumexp, ("dim", "keepdim")),
    "mean": _reduction(vl.mean, ("dim", "keepdim")),
}
OPINFOS = {
    op.name + (f".{op.variant_test_name}" if op.variant_test_name else ""): op
    for op in op_db
}


def describe(v):
    return f"T{tuple(v.shape)}" if isinstance(v, torch.Tensor) else repr(v)


def too_big(s):
    ts = [v for v in (s.input, *s.args) if isinstance(v, torch.Tensor)]
    if builtins.max(t.numel() for t in ts) > MAX_NUMEL:
        raise Unsupported(
            f"more than {MAX_NUMEL} entries (torch's inputs "
            "for its vectorised kernels): too slow for this "
            "suite"
        )


SAMPLES = {}  # (name, i) -> the sample, for the ones that run


def cases():
    """One pytest case per sample; unsupported ones skip, with the reason."""
    params = []
    torch.manual_seed(0)
    for name, translate in TRANSLATE.items():
        op = OPINFOS[name]
        few = len(list(op.sample_inputs("cpu", F64))) < FEW
        make = op.reference_inputs if few else op.sample_inputs
        for i, s in enumerate(make("cpu", F64, requires_grad=False)):
            marks = []
            try:
                translate(s, op)
                too_big(s)
                SAMPLES[name, i] = s
            except Unsupported as e:
                marks = [pytest.mark.skip(reason=str(e))]
            params.append(
                pytest.param(
                    name, i, marks=marks, id=f"{name}-{i}-{describe(s.input)}"
                )
            )
    return params


def rand_like(t, gen):
    return torch.randn(tuple(t.shape), generator=gen, dtype=F64)


@pytest.mark.parametrize("name, i", cases())
def test_op_on_torch_samples(name, i):
    ours, theirs, xs = TRANSLATE[name](SAMPLES[name, i], OPINFOS[name])
    xs = [x.detach().clone() for x in xs]
    gen = torch.Generator().manual_seed(i)

    y, vjp_fn = vl.vjp(ours, *xs)
    xs_req = [x.clone().requires_grad_(True) for x in xs]
    y_ref = theirs(*xs_req)
    assert_close(y, y_ref, what="value", rtol=RTOL, atol=ATOL)

    y_bar = rand_like(y, gen)
    refs = torch.autograd.grad(y_ref, xs_req, y_bar, allow_unused=True)
    for k, (got, ref) in enumerate(zip(vjp_fn(y_bar), refs)):
        ref = torch.zeros_like(xs[k]) if ref is None else ref
        assert_close(got, ref, what=f"VJP, argument {k}", rtol=RTOL, atol=ATOL)

    x_dots = [rand_like(x, gen) for x in xs]
    _, y_dot = vl.jvp(ours, xs, x_dots)
    _, y_dot_ref = torch.func.jvp(theirs, tuple(xs), tuple(x_dots))
    assert_close(y_dot, y_dot_ref, what="JVP", rtol=RTOL, atol=ATOL)

    # second order: d/dt of the gradient of <y_bar, f> (wrt argument 0)
    # along x_dots
    def phi(*v):
        return vl.sum(ours(*v) * y_bar)

    def phi_ref(*v):
        return (theirs(*v) * y_bar).sum()

    _, second = vl.jvp(vl.grad(phi), xs, x_dots)
    _, second_ref = torch.func.jvp(
        torch.func.grad(phi_ref), tuple(xs), tuple(x_dots)
    )
    assert_close(
        second, second_ref, what="JVP of the gradient", rtol=RTOL, atol=ATOL
    )

    # Jacobians, one argument at a time (torch.func.jacfwd over several
    # arguments at once adds a * 0 for the others' zero tangents: nan where
    # a is inf, an artefact)
    if y.numel() * sum(x.numel() for x in xs) <= MAX_JACOBIAN:
        nums = tuple(range(len(xs)))
        for ours_jac, ref_jac in (
            (vl.jacrev, torch.func.jacrev),
            (vl.jacfwd, torch.func.jacfwd),
        ):
            got = ours_jac(ours, argnums=nums)(*xs)
            for k, J in enumerate(got):
                assert_close(
                    J,
                    ref_jac(theirs, argnums=k)(*xs),
                    what=f"{ours_jac.__name__}, argument {k}",
                    rtol=RTOL,
                    atol=ATOL,
                )


def test_every_translated_opinfo_exists_and_runs_some_samples():
    """A renamed OpInfo would silently drop an op from the suite."""
    assert set(TRANSLATE) <= set(OPINFOS)
    for name in TRANSLATE:
        assert any(key[0] == name for key in SAMPLES), (
            f"{name}: every sample is skipped"
        )
