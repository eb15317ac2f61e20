"""The ops with kinks, ties and NaNs (vjplib/ops/: kinks.py, compare.py,
maxima.py) side by side with torch, in float64, at the points where no
derivative exists: every op's value, VJP (vjplib.vjp against
torch.autograd.grad, and the eager face's .backward() against torch's), JVP
(against torch.func.jvp), vmap (against torch's per-example results) and
second order (against torch's double backward), with cotangents and
tangents that hold 0, inf and NaN, so the NaN and inf must fall exactly
where torch's do.
"""

import pytest
import torch

import vjplib as vl

F64 = torch.float64
NAN, INF = float("nan"), float("inf")


def t(*v):
    return torch.tensor(v, dtype=F64)


def close(a, b):
    torch.testing.assert_close(a, b, equal_nan=True, rtol=1e-12, atol=1e-14)


def zeros_if_none(g, x):
    return torch.zeros_like(x) if g is None else g


# name: (vjplib f, torch f, inputs). Inputs sit on the kinks and ties.
KINK = t(-2.0, -0.0, 0.0, 0.5, 3.0, NAN, INF, -INF)
X2 = torch.tensor(
    [[1.0, 3.0, 3.0, -1.0], [0.0, 0.0, 0.0, 0.0], [2.0, NAN, 2.0, 5.0]],
    dtype=F64,
)
A = t(1.0, 2.0, 3.0, NAN, 0.0, -1.0)
B = t(1.0, 0.0, 3.0, 1.0, NAN, -1.0)


def _sqrt_trap(sqrt, where):
    return lambda x: where(x > 0, sqrt(x), 0.0)


CASES = {
    "relu": (vl.relu, torch.relu, (KINK,)),
    "relu_method": (lambda x: x.relu(), torch.relu, (KINK,)),
    "abs": (vl.abs, torch.abs, (KINK,)),
    "abs_builtin": (lambda x: abs(x), torch.abs, (KINK,)),
    "sqrt": (vl.sqrt, torch.sqrt, (t(0.0, 4.0, -1.0, INF, NAN, 1e-300),)),
    "where_trap": (
        _sqrt_trap(vl.sqrt, vl.where),
        _sqrt_trap(torch.sqrt, torch.where),
        (t(-1.0, 0.0, 4.0, 0.25),),
    ),
    "where_double": (
        lambda x: vl.where(x > 0, vl.sqrt(vl.where(x > 0, x, 1.0)), 0.0),
        lambda x: torch.where(
            x > 0, torch.sqrt(torch.where(x > 0, x, 1.0)), 0.0
        ),
        (t(-1.0, 0.0, 4.0, 0.25),),
    ),
    "where_two": (
        lambda a, b: vl.where(a >= b, a, b),
        lambda a, b: torch.where(a >= b, a, b),
        (A, B),
    ),
    "where_broadcast": (
        lambda x, c: vl.where(x < c, x * x, c),
        lambda x, c: torch.where(x < c, x * x, c),
        (X2, t(1.0, 2.0, 3.0, 0.0)),
    ),
    "maximum": (vl.maximum, torch.maximum, (A, B)),
    "minimum": (vl.minimum, torch.minimum, (A, B)),
    "maximum_self": (
        lambda a: vl.maximum(a, a),
        lambda a: torch.maximum(a, a),
        (A,),
    ),
    "maximum_number": (
        lambda a: vl.maximum(a, 1.0),
        lambda a: torch.maximum(a, torch.tensor(1.0, dtype=F64)),
        (A,),
    ),
    "amax_all": (vl.amax, torch.amax, (X2[:2],)),
    "amax_all_nan": (vl.amax, torch.amax, (X2,)),
    "amax_dim": (
        lambda x: vl.amax(x, 1),
        lambda x: torch.amax(x, 1),
        (X2,),
    ),
    "amax_dims_keepdim": (
        lambda x: x.amax((0, 1), keepdim=True),
        lambda x: torch.amax(x, (0, 1), keepdim=True),
        (X2[:2],),
    ),
    "max_all": (vl.max, torch.max, (X2[:2],)),
    "max_all_nan": (lambda x: x.max(), torch.max, (X2,)),
    "max_all_nans": (vl.max, torch.max, (t(NAN, 1.0, NAN),)),
    "max_dim": (
        lambda x: vl.max(x, 1).values,
        lambda x: torch.max(x, 1).values,
        (X2,),
    ),
    "max_dim0_keepdim": (
        lambda x: x.max(0, keepdim=True).values,
        lambda x: torch.max(x, 0, keepdim=True).values,
        (X2,),
    ),
    "clamp": (
        lambda x: vl.clamp(x, -1.0, 1.0),
        lambda x: torch.clamp(x, -1.0, 1.0),
        (t(-2.0, -1.0, 0.0, 1.0, 2.0, NAN),),
    ),
    "clamp_min": (
        lambda x: x.clamp(min=0),
        lambda x: x.clamp(min=0),
        (KINK,),
    ),
    "clamp_max": (
        lambda x: vl.clamp(x, max=0.5),
        lambda x: torch.clamp(x, max=0.5),
        (KINK,),
    ),
    "clamp_empty_range": (
        lambda x: vl.clamp(x, 1.0, -1.0),
        lambda x: torch.clamp(x, 1.0, -1.0),
        (t(-2.0, -1.0, 0.0, 1.0, 2.0),),
    ),
    "clamp_tensors": (
        vl.clamp,
        torch.clamp,
        (
            t(-2.0, -1.0, 0.0, 1.0, 2.0, 0.5, NAN),
            t(-1.0, -1.0, -1.0, 0.0, 3.0, 1.0, 0.0),
            t(1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0),
        ),
    ),
    "clamp_min_tensor": (
        lambda x, lo: vl.clamp(x, lo),
        lambda x, lo: torch.clamp(x, lo),
        (t(-2.0, -1.0, 0.0, 1.0), t(-1.0, -1.0, 1.0, 1.0)),
    ),
    "clamp_max_tensor": (
        lambda x, hi: vl.clamp(x, max=hi),
        lambda x, hi: x.clamp(max=hi),
        (t(-2.0, -1.0, 0.0, 1.0), t(-1.0, -1.0, 1.0, 1.0)),
    ),
    "clamp_broadcast": (
        lambda x, lo: vl.clamp(x, lo, 1.5),
        lambda x, lo: torch.clamp(x, lo, torch.tensor(1.5, dtype=F64)),
        (X2, t(1.0, 3.0, 0.0, -1.0)),
    ),
    "logsumexp": (
        lambda x: vl.logsumexp(x, 1),
        lambda x: torch.logsumexp(x, 1),
        (torch.tensor([[1.0, 2.0, 3.0], [1e3, 1e3, -1e3]], dtype=F64),),
    ),
    "logsumexp_infs": (
        lambda x: x.logsumexp((0,), keepdim=True),
        lambda x: torch.logsumexp(x, (0,), keepdim=True),
        (
            torch.tensor(
                [[-INF, INF, 0.0], [-INF, 1.0, 0.0]],
                dtype=F64,
            ),
        ),
    ),
    "mean": (vl.mean, torch.mean, (X2,)),
    "mean_dim": (
        lambda x: x.mean(-1, keepdim=True),
        lambda x: torch.mean(x, -1, keepdim=True),
        (X2,),
    ),
    "relu_of_amax": (
        lambda x: vl.relu(vl.amax(x, 0) - 1.0),
        lambda x: torch.relu(torch.amax(x, 0) - 1.0),
        (X2[:2],),
    ),
}


def specials(shape, gen):
    """Cotangents or tangents: ones, random, and one holding 0, inf and
    NaN (where 0 · inf = NaN shows whether a rule selects or multiplies)."""
    n = torch.Size(shape).numel()
    pattern = t(0.0, 1.0, INF, -2.0, NAN, 0.5).repeat(n // 6 + 1)[:n]
    return [
        torch.ones(shape, dtype=F64),
        torch.randn(shape, dtype=F64, generator=gen),
        pattern.reshape(shape),
    ]


def torch_vjp(tf, xs, y_bar):
    xs = [x.clone().requires_grad_() for x in xs]
    y = tf(*xs)
    gs = torch.autograd.grad(y, xs, y_bar, allow_unused=True)
    return [zeros_if_none(g, x) for g, x in zip(gs, xs)]


@pytest.mark.parametrize("name", CASES)
def test_value_and_vjp_match_torch(name):
    f, tf, xs = CASES[name]
    y, vjp_fn = vl.vjp(f, *xs)
    close(y, tf(*xs))
    gen = torch.Generator().manual_seed(0)
    for y_bar in specials(y.shape, gen):
        for got, want in zip(vjp_fn(y_bar), torch_vjp(tf, xs, y_bar)):
            close(got, want)


@pytest.mark.parametrize("name", CASES)
def test_eager_backward_matches_torch(name):
    f, tf, xs = CASES[name]
    gen = torch.Generator().manual_seed(1)
    for y_bar in specials(tf(*xs).shape, gen):
        ts = [vl.tensor(x, requires_grad=True) for x in xs]
        y = f(*ts)
        close(y.primal, tf(*xs))
        y.backward(y_bar)
        for a, want in zip(ts, torch_vjp(tf, xs, y_bar)):
            got = zeros_if_none(a.grad, a.primal)
            close(got.primal if isinstance(got, vl.Tensor) else got, want)


@pytest.mark.parametrize("name", CASES)
def test_jvp_matches_torch_func(name):
    f, tf, xs = CASES[name]
    gen = torch.Generator().manual_seed(2)
    for x_dots in zip(*(specials(x.shape, gen) for x in xs)):
        y, y_dot = vl.jvp(f, tuple(xs), tuple(x_dots))
        ty, ty_dot = torch.func.jvp(tf, tuple(xs), tuple(x_dots))
        close(y, ty)
        close(y_dot, ty_dot)


@pytest.mark.parametrize("name", CASES)
def test_second_order_matches_torch_double_backward(name):
    """The gradient of <u, x_bar(x)>, x_bar = VJP at y_bar: relu'' = 0,
    abs'' = 0, sqrt'' by its formula, NaN where torch has it."""
    f, tf, xs = CASES[name]
    gen = torch.Generator().manual_seed(3)
    y = tf(*xs)
    y_bar = torch.randn(y.shape, dtype=F64, generator=gen)
    us = [torch.randn(x.shape, dtype=F64, generator=gen) for x in xs]

    def inner(*xs_):
        x_bars = vl.vjp(f, *xs_)[1](y_bar)
        return sum(vl.sum(b * u) for b, u in zip(x_bars, us))

    got = vl.vjp(inner, *xs)[1](torch.tensor(1.0, dtype=F64))
    txs = [x.clone().requires_grad_() for x in xs]
    gs = torch.autograd.grad(
        tf(*txs), txs, y_bar, create_graph=True, materialize_grads=True
    )
    total = sum((g * u).sum() for g, u in zip(gs, us))
    want = (
        torch.autograd.grad(total, txs, materialize_grads=True)
        if total.requires_grad
        else [torch.zeros_like(x) for x in xs]
    )
    for g, w in zip(got, want):
        close(g, w)
    # forward over reverse: the JVP of the same x_bar, against torch.func
    if len(xs) == 1:
        got = vl.jvp(lambda x: vl.vjp(f, x)[1](y_bar)[0], (xs[0],), (us[0],))
        want = torch.func.jvp(
            lambda x: torch.func.vjp(tf, x)[1](y_bar)[0], (xs[0],), (us[0],)
        )
        close(got[1], want[1])


@pytest.mark.parametrize("name", CASES)
def test_vmap_matches_torch_per_example(name):
    """vmap(f) and vmap of f's VJP against torch run on each example (torch's
    own vmap takes another path in a few backward formulas)."""
    f, tf, xs = CASES[name]
    stacked = [torch.stack([x, x.flip(0), -x]) for x in xs]
    got = vl.vmap(f)(*stacked)
    want = torch.stack([tf(*(s[i] for s in stacked)) for i in range(3)])
    close(got, want)
    close(got, torch.func.vmap(tf)(*stacked))
    y_bar = torch.ones_like(tf(*xs))

    def per_example_vjp(*xs_):
        return vl.vjp(f, *xs_)[1](y_bar)

    got = vl.vmap(per_example_vjp)(*stacked)
    for i in range(3):
        want = torch_vjp(tf, [s[i] for s in stacked], y_bar)
        for g, w in zip(got, want):
            close(g[i], w)


# ---------------------------------------------------------------- kinks named


def test_the_values_torch_picks_at_the_kinks():
    """The documented choices, each read off torch and vjplib alike."""
    zero = t(0.0)
    for f, tf in ((vl.relu, torch.relu), (vl.abs, torch.abs)):
        g = vl.grad(lambda x: vl.sum(f(x)))(zero)
        close(g, torch_vjp(lambda x: tf(x).sum(), [zero], t(1.0)[0])[0])
        assert g.item() == 0.0  # relu'(0) = abs'(0) = 0
    g = vl.grad(lambda x: vl.sum(vl.clamp(x, 0.0, 1.0)))(t(0.0, 1.0))
    assert g.tolist() == [1.0, 1.0]  # clamp passes 1 at its bounds
    g = vl.grad(lambda x: vl.sum(vl.sqrt(x)))(zero)
    assert g.item() == INF  # sqrt'(0) = inf
    tie = t(2.0, 2.0, 1.0)
    assert vl.grad(vl.max)(tie).tolist() == [0.5, 0.5, 0.0]
    assert vl.grad(lambda x: vl.max(x, 0).values)(tie).tolist() == [
        1.0,
        0.0,
        0.0,
    ]
    a_bar, b_bar = vl.vjp(vl.maximum, t(1.0), t(1.0))[1](t(1.0))
    assert (a_bar.item(), b_bar.item()) == (0.5, 0.5)
    g = vl.grad(lambda x: vl.sum(vl.where(x > 0, vl.sqrt(x), 0.0)))(zero)
    assert g.isnan().all()  # the where trap
    # norm at 0 gives 0 (torch's subgradient), sqrt(sum(x²)) gives NaN
    zeros = torch.zeros(3, dtype=F64)
    g = vl.grad(vl.norm)(zeros)
    close(g, torch_vjp(torch.linalg.norm, [zeros], t(1.0)[0])[0])
    assert g.tolist() == [0.0, 0.0, 0.0]
    g = vl.grad(lambda x: vl.sqrt(vl.sum(x * x)))(zeros)
    close(
        g,
        torch_vjp(lambda x: (x * x).sum().sqrt(), [zeros], t(1.0)[0])[0],
    )
    assert g.isnan().all()


def test_max_dim_returns_torchs_named_tuple_and_indices():
    for x in (X2, t(3.0, 3.0, 1.0), torch.tensor(2.0, dtype=F64)):
        dim = 0 if x.ndim < 2 else 1
        for keepdim in (False, True):
            want = torch.max(x, dim, keepdim=keepdim)
            got = vl.max(x, dim, keepdim=keepdim)
            assert type(got) is type(want)
            close(got.values, want.values)
            assert torch.equal(got.indices, want.indices)
            traced = vl.vjp(lambda v: vl.max(v, dim, keepdim).values, x)
            close(traced[0], want.values)
    vals, idx = vl.vmap(lambda v: vl.max(v, 0))(X2)
    assert torch.equal(idx, torch.max(X2, 1).indices)
    close(vals, torch.max(X2, 1).values)


# ---------------------------------------------------------------- comparisons


def test_comparisons_give_plain_bool_tensors_that_record_nothing():
    x = t(-1.0, 0.0, 2.0)
    ops = {
        ">": lambda a, b: a > b,
        "<": lambda a, b: a < b,
        ">=": lambda a, b: a >= b,
        "<=": lambda a, b: a <= b,
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
    }
    seen = []

    def f(v):
        for op in ops.values():
            for other in (0.0, 0, t(0.0, 0.0, 2.0), v):
                c = op(v, other)
                seen.append(c)
                assert type(c) is torch.Tensor and c.dtype == torch.bool
                assert torch.equal(c, op(x, x if other is v else other))
            r = op(t(0.0, 0.0, 2.0), v)  # a tensor on the left
            assert torch.equal(r, op(t(0.0, 0.0, 2.0), x))
        return vl.sum(v * v)

    vl.grad(f)(x)
    vl.jvp(f, (x,), (x,))
    e = vl.tensor(x, requires_grad=True)
    for op in ops.values():
        c = op(e, 0.0)
        assert type(c) is torch.Tensor and not c.requires_grad
        assert torch.equal(c, op(x, 0.0))
    assert len(seen) == 2 * 6 * 4
    # under vmap, a batched bool
    X = torch.stack([x, -x])
    assert torch.equal(vl.vmap(lambda v: v > 0)(X), X > 0)
    assert torch.equal(
        vl.vmap(lambda v: v == v.amax())(X), X == X.amax(1, True)
    )


def test_boxes_stay_hashable_and_compare_with_other_objects():
    def f(v):
        assert {v: 1}[v] == 1 and v in {v}
        assert (v == "text") is False and (v != None) is True  # noqa: E711
        return vl.sum(v)

    vl.grad(f)(t(1.0))
    vl.jvp(f, (t(1.0),), (t(1.0),))
    vl.vmap(f)(t(1.0, 2.0))
    e = vl.tensor(t(1.0), requires_grad=True)
    assert {e: 1}[e] == 1


# ---------------------------------------------------------------- linear


def test_where_is_linear_in_its_branches():
    c = t(1.0, -1.0, 0.0) > 0
    a, b, y_bar = t(1.0, 2.0, 3.0), t(4.0, 5.0, 6.0), t(0.5, -1.0, 2.0)
    f_T = vl.linear_transpose(lambda p, q: vl.where(c, p, q), a, b)
    got = f_T(y_bar)
    want = torch_vjp(lambda p, q: torch.where(c, p, q), [a, b], y_bar)
    for g, w in zip(got, want):
        close(g, w)
    (g,) = vl.linear_transpose(lambda p: vl.where(c, p, 0.0), a)(y_bar)
    close(g, torch.where(c, y_bar, 0.0))
    with pytest.raises(TypeError, match="affine"):
        vl.linear_transpose(lambda p: vl.where(c, p, 1.0), a)(y_bar)


@pytest.mark.parametrize(
    "name", [name for name, case in CASES.items() if len(case[2]) == 1]
)
def test_linearize_and_its_transpose_match_torch(name):
    f, tf, xs = CASES[name]
    # no NaN in x: the transpose of amax's JVP selects where torch's VJP
    # multiplies, so a NaN row differs (0 against NaN); elsewhere they agree
    x = torch.nan_to_num(xs[0], nan=0.5, posinf=INF, neginf=-INF)
    gen = torch.Generator().manual_seed(4)
    x_dot = torch.randn(x.shape, dtype=F64, generator=gen)
    y, jvp_fn = vl.linearize(f, x)
    ty, ty_dot = torch.func.jvp(tf, (x,), (x_dot,))
    close(y, ty)
    close(jvp_fn(x_dot), ty_dot)
    y_bar = torch.randn(y.shape, dtype=F64, generator=gen)
    (x_bar,) = vl.linear_transpose(jvp_fn, x)(y_bar)
    close(x_bar, torch_vjp(tf, [x], y_bar)[0])


def test_mean_and_max_dim_are_linear_where_torch_says_so():
    x, y_bar = X2[:2], torch.randn(2, dtype=F64)
    (g,) = vl.linear_transpose(lambda v: vl.mean(v, 1), x)(y_bar)
    close(g, torch_vjp(lambda v: v.mean(1), [x], y_bar)[0])


# ---------------------------------------------------------------- errors


def _raises(cls, words, fn):
    with pytest.raises(cls) as info:
        fn()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    return info.value


def test_errors_match_torchs_class_and_words():
    x = t(1.0, 2.0)
    for vf, tf in (
        (lambda: vl.where(x, x, x), lambda: torch.where(x, x, x)),
        (lambda: vl.clamp(x), lambda: torch.clamp(x)),
        (
            lambda: vl.max(torch.zeros(0, 3, dtype=F64), 0),
            lambda: torch.max(torch.zeros(0, 3, dtype=F64), 0),
        ),
        (
            lambda: vl.amax(torch.zeros(0, 3, dtype=F64), -2),
            lambda: torch.amax(torch.zeros(0, 3, dtype=F64), -2),
        ),
        (
            lambda: vl.amax(torch.zeros(0, 3, dtype=F64)),
            lambda: torch.amax(torch.zeros(0, 3, dtype=F64)),
        ),
        (
            lambda: vl.mean(torch.tensor([1, 2])),
            lambda: torch.mean(torch.tensor([1, 2])),
        ),
    ):
        with pytest.raises(Exception) as want:
            tf()
        words = str(want.value).split(".")[0]
        _raises(type(want.value), [words], vf)


def test_errors_name_the_op_and_the_way_out():
    x = t(1.0, 2.0)

    def in_grad(g):
        return lambda: vl.grad(lambda v: vl.sum(g(v)))(x)

    _raises(
        RuntimeError,
        ["boolean tensor", "Double", "x > 0"],
        in_grad(lambda v: vl.where(v, v, v)),
    )
    _raises(TypeError, ["use vjplib.relu"], in_grad(lambda v: torch.relu(v)))
    _raises(
        TypeError, ["use vjplib.clamp"], in_grad(lambda v: torch.clip(v, 0))
    )
    _raises(
        TypeError, ["use vjplib.abs"], in_grad(lambda v: torch.absolute(v))
    )
    _raises(
        TypeError,
        ["where", "dtypes", "float64", "float32"],
        in_grad(lambda v: vl.where(v > 0, v, v.primal.float())),
    )
    _raises(TypeError, ["clamp", "min", "str"], lambda: vl.clamp(x, "0"))
    _raises(TypeError, ["gt", "str"], in_grad(lambda v: vl.gt(v, "0")))
    _raises(IndexError, ["amax", "out of range"], lambda: vl.amax(x, 3))


# ---------------------------------------------------------------- Jacobians


@pytest.mark.parametrize("name", CASES)
def test_jacobians_match_torchs_row_by_row_jacobian(name):
    """jacrev (a batch of cotangents through every VJP rule) and jacfwd (a
    batch of tangents through every JVP rule) against torch's Jacobian
    built one row (one column) at a time, NaN and inf included."""
    f, tf, xs = CASES[name]
    nums = tuple(range(len(xs)))
    rev = torch.autograd.functional.jacobian(tf, tuple(xs))
    fwd = torch.autograd.functional.jacobian(
        tf, tuple(xs), strategy="forward-mode", vectorize=True
    )
    for k, J in enumerate(vl.jacrev(f, argnums=nums)(*xs)):
        close(J, rev[k])
    for k, J in enumerate(vl.jacfwd(f, argnums=nums)(*xs)):
        close(J, fwd[k])


def _masks(x, c):
    pos, big = x > 0, x >= 2
    return (pos & big, pos | (c > 0), (c > 0) ^ pos, ~pos, big & True)


def test_vmap_mixes_batched_and_unbatched_operands():
    X = torch.stack([KINK[:4], KINK[4:]])  # (2, 4), NaN and inf in row 1
    c = t(1.0, -1.0, 0.0, 2.0)
    cases = [
        (
            lambda x: vl.where(c > 0, x, 0.0),
            lambda x: torch.where(c > 0, x, 0.0),
        ),
        (lambda x: vl.where(x > c, c, x), lambda x: torch.where(x > c, c, x)),
        (lambda x: vl.maximum(x, c), lambda x: torch.maximum(x, c)),
        (
            lambda x: vl.clamp(x, c, 1.5),
            lambda x: torch.clamp(x, c, t(1.5)[0]),
        ),
    ]
    for f, tf in cases:
        close(vl.vmap(f)(X), torch.stack([tf(x) for x in X]))
        got = vl.vmap(vl.grad(lambda x: vl.sum(f(x))))(X)
        for i, x in enumerate(X):
            want = torch_vjp(tf, [x], torch.ones(4, dtype=F64))[0]
            close(got[i], want)
    # masks combine with & | ^ ~ in every transformation, as in torch
    for x in X:
        want = _masks(x, c)
        seen = []

        def f(v):
            seen.append(_masks(v, c))
            return vl.sum(v)

        vl.grad(f)(x)
        vl.jvp(f, (x,), (x,))
        for got in seen:
            assert all(torch.equal(g, w) for g, w in zip(got, want))
    got = vl.vmap(lambda x: _masks(x, c))(X)
    for i, x in enumerate(X):
        for g, w in zip(got, _masks(x, c)):
            assert torch.equal(g[i], w)
    # scalar (0-d) examples: the reductions must not reduce the batch
    v = t(3.0, NAN, -1.0)
    close(vl.vmap(vl.amax)(v), v)
    close(vl.vmap(vl.max)(v), v)
    close(vl.vmap(vl.mean)(v), v)
    close(vl.vmap(lambda s: vl.logsumexp(s, ()))(v), v)
    close(vl.vmap(vl.grad(vl.mean))(v), torch.ones(3, dtype=F64))


# ---------------------------------------------------------------- networks


def _net(ops):
    def loss(W, x):
        h = ops.relu(x @ W)
        return ops.mean(ops.logsumexp(h, 1)) + 0.1 * ops.sum(ops.abs(W))

    return loss


def test_hessian_of_a_relu_network_matches_torch_func():
    gen = torch.Generator().manual_seed(5)
    W = torch.randn(3, 4, dtype=F64, generator=gen)
    W[0, 0] = 0.0  # abs's kink
    x = torch.randn(6, 3, dtype=F64, generator=gen)
    x[0] = 0.0  # relu's kink, a row of ties in logsumexp
    got = vl.hessian(_net(vl))(W, x)
    want = torch.func.hessian(_net(torch))(W, x)
    close(got, want)


def test_eager_create_graph_goes_through_the_kinks():
    """loss.backward(create_graph=True), then a second backward of
    <u, x.grad>, against torch's double backward."""
    x0 = t(-1.0, 0.0, 0.0, 2.0, 2.0)
    u = t(0.5, -1.0, 2.0, 1.0, 3.0)

    def loss(ops, x):
        return (
            ops.sum(ops.relu(x) * x)
            + ops.amax(x * x)
            + ops.sum(ops.sqrt(ops.abs(x) + 1.0) * ops.clamp(x, 0.0, 2.0))
        )

    x = vl.tensor(x0, requires_grad=True)
    loss(vl, x).backward(create_graph=True)
    g = x.grad
    x.grad = None
    vl.sum(g * u).backward()
    xt = x0.clone().requires_grad_()
    (gt,) = torch.autograd.grad(loss(torch, xt), xt, create_graph=True)
    (ht,) = torch.autograd.grad((gt * u).sum(), xt)
    close(g.primal, gt)
    close(x.grad.primal, ht)
