"""The transformations against torch.func, and against each other, in
float64."""

import pytest
import torch
from torch import func as tf

import vjplib as vl
from vjplib import Dual, assert_close

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)  # from torch.func
F64 = torch.float64


def rng_tensor(*shape, seed=0, scale=1.0):
    return scale * torch.randn(
        shape, generator=torch.Generator().manual_seed(seed), dtype=F64
    )


def well_conditioned(n, seed=0):
    return n * torch.eye(n, dtype=F64) + 0.3 * rng_tensor(n, n, seed=seed)


# composite functions, each written once with vjplib ops and once with torch
# (the referee)
COMPOSITES = {
    "norm_inv": (
        lambda X: vl.norm(vl.inv(X)),
        lambda X: torch.linalg.norm(torch.linalg.inv(X)),
        (3, 3),
    ),
    "inv": (vl.inv, torch.linalg.inv, (3, 3)),
    "cumsum_log": (
        lambda x: vl.cumsum(vl.log(x * x + 1)),
        lambda x: torch.cumsum(torch.log(x * x + 1), -1),
        (4,),
    ),
    "mixed": (
        lambda X: vl.sin(X) @ X.T @ X / (1 + vl.exp(X)) - X**2,
        lambda X: torch.sin(X) @ X.T @ X / (1 + torch.exp(X)) - X**2,
        (2, 3),
    ),
    "conv_tanh": (
        lambda x: vl.tanh(vl.convolve(x, vl.cos(x), "full")),
        lambda x: torch.tanh(
            torch.nn.functional.conv1d(
                torch.nn.functional.pad(x, (2, 2)).reshape(1, 1, -1),
                torch.cos(x).flip(0).reshape(1, 1, -1),
            ).reshape(-1)
        ),
        (3,),
    ),
    "reduce": (
        lambda X: vl.sum(
            X * vl.reshape(vl.cumsum(X, 0), (3, 2)), 1, keepdim=True
        ),
        lambda X: torch.sum(
            X * torch.cumsum(X, 0).reshape(3, 2), 1, keepdim=True
        ),
        (3, 2),
    ),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_jacobians_agree(name):
    f, f_torch, shape = COMPOSITES[name]
    x = (
        well_conditioned(shape[0])
        if name.endswith("inv")
        else rng_tensor(*shape, seed=1)
    )
    J_torch = tf.jacrev(f_torch)(x)
    assert J_torch.shape == f_torch(x).shape + x.shape
    for J, what in [
        (vl.jacrev(f)(x), "jacrev"),
        (vl.jacfwd(f)(x), "jacfwd"),
        (vl.jacrev_loop(f)(x), "jacrev_loop"),
        (vl.jacfwd_loop(f)(x), "jacfwd_loop"),
    ]:
        assert_close(J, J_torch, what=what, rtol=1e-10, atol=1e-12)
    assert_close(
        vl.jacobian_fd(f, x), J_torch, what="jacobian_fd", rtol=1e-6, atol=1e-8
    )
    vl.check_jacobians(f, x)


def test_jacobians_several_argnums():
    f = lambda A, x, c: vl.tanh(A @ x) * c
    g = lambda A, x, c: torch.tanh(A @ x) * c
    A, x, c = rng_tensor(3, 2), rng_tensor(2, seed=2), 1.5
    for ours in (vl.jacrev, vl.jacfwd):
        JA, Jx = ours(f, argnums=(0, 1))(A, x, c)
        tA, tx = tf.jacrev(g, argnums=(0, 1))(A, x, c)
        assert_close(JA, tA, what="J wrt A")
        assert_close(Jx, tx, what="J wrt x")
    assert_close(
        vl.jacrev(f, argnums=-2)(A, x, c), tx, what="negative argnums"
    )


def test_grad_value_and_grad_argnums():
    f = lambda x, y: vl.sum(vl.sin(x) * y**3)
    g = lambda x, y: (torch.sin(x) * y**3).sum()
    x, y = rng_tensor(4), rng_tensor(4, seed=3)
    value, (gx, gy) = vl.value_and_grad(f, argnums=(0, 1))(x, y)
    tx, ty = tf.grad(g, argnums=(0, 1))(x, y)
    assert_close(value, g(x, y))
    assert_close(gx, tx)
    assert_close(gy, ty)
    assert_close(vl.grad(f, 1)(x, y), ty)


def test_grad_of_grad_scalar():
    f = lambda x: vl.sin(x) * x**3
    g = lambda x: torch.sin(x) * x**3
    x = torch.tensor(0.7, dtype=F64)
    assert_close(vl.grad(vl.grad(f))(x), tf.grad(tf.grad(g))(x))
    assert_close(
        vl.grad(vl.grad(vl.grad(f)))(x), tf.grad(tf.grad(tf.grad(g)))(x)
    )


def test_grad_of_grad_tensor_and_hessians():
    f = lambda X: vl.norm(vl.inv(X)) + vl.sum(vl.log(X * X + 1))
    g = lambda X: (
        torch.linalg.norm(torch.linalg.inv(X)) + torch.log(X * X + 1).sum()
    )
    X, V = well_conditioned(3), rng_tensor(3, 3, seed=5)
    H = tf.hessian(g)(X)
    assert_close(vl.hessian(f)(X), H, what="hessian (jacfwd of jacrev)")
    assert_close(vl.jacfwd(vl.jacfwd(f))(X), H, what="jacfwd of jacfwd")
    assert_close(vl.jacrev(vl.jacrev(f))(X), H, what="jacrev of jacrev")
    Hv = (H.reshape(9, 9) @ V.reshape(9)).reshape(3, 3)
    assert_close(vl.hvp(f, X, V)[1], Hv, what="hvp (forward over reverse)")
    assert_close(
        vl.grad(lambda X: vl.sum(vl.grad(f)(X) * V))(X),
        Hv,
        what="reverse over reverse",
    )
    assert_close(
        vl.grad(lambda X: vl.jvp(f, (X,), (V,))[1])(X),
        Hv,
        what="reverse over forward",
    )
    _, jvp_of_grad = vl.jvp(vl.grad(f), (X,), (V,))
    _, torch_jvp_of_grad = tf.jvp(tf.grad(g), (X,), (V,))
    assert_close(jvp_of_grad, torch_jvp_of_grad, what="jvp of grad")


def test_no_perturbation_confusion():
    """
    d/dx [x · d/dy (x + y)] = d/dx [x · 1] = 1; confusing the two perturbations
    gives 2.
    """
    x = torch.tensor(3.0, dtype=F64)
    inner = lambda x: vl.grad(lambda y: x + y)(torch.tensor(2.0, dtype=F64))
    assert vl.grad(lambda x: x * inner(x))(x).item() == 1.0
    inner_fwd = lambda x: vl.jvp(
        lambda y: x + y,
        (torch.tensor(2.0, dtype=F64),),
        (torch.tensor(1.0, dtype=F64),),
    )[1]
    assert (
        vl.jvp(
            lambda x: x * inner_fwd(x), (x,), (torch.tensor(1.0, dtype=F64),)
        )[1].item()
        == 1.0
    )
    # and the inner transformation of x * y must see the outer x as a constant:
    # d/dx [x · x] = 2x
    assert vl.grad(lambda x: vl.grad(lambda y: x * y)(x) * x)(x).item() == 6.0


def test_vjp_fn_reusable_and_batched():
    X = well_conditioned(4)
    Y, vjp_fn = vl.vjp(vl.inv, X)
    Y_bar = rng_tensor(4, 4, seed=2)
    first, second = vjp_fn(Y_bar)[0], vjp_fn(Y_bar)[0]
    assert_close(first, second)
    assert_close(first, -(Y.T @ Y_bar @ Y.T), what="VJP of inv, by formula")
    stack = torch.stack([Y_bar, 2 * Y_bar])
    assert_close(
        vjp_fn(stack, batched=True)[0], torch.stack([first, 2 * first])
    )


def test_jvp_matches_torch_and_formula():
    X, X_dot = well_conditioned(4), rng_tensor(4, 4, seed=9)
    Y, Y_dot = vl.jvp(vl.inv, (X,), (X_dot,))
    assert_close(Y_dot, tf.jvp(torch.linalg.inv, (X,), (X_dot,))[1])
    assert_close(Y_dot, -Y @ X_dot @ Y, what="JVP of inv, by formula")


def test_dual_on_its_own():
    X, X_dot = well_conditioned(3), rng_tensor(3, 3, seed=4)
    out = vl.norm(vl.inv(Dual(X, X_dot)))
    _, ref = tf.jvp(
        lambda X: torch.linalg.norm(torch.linalg.inv(X)), (X,), (X_dot,)
    )
    assert isinstance(out, Dual)
    assert_close(out.tangent, ref)
    x = Dual(torch.tensor(2.0, dtype=F64), torch.tensor(1.0, dtype=F64))
    y = 3 * x * x - 1 / x  # y' = 6x + 1/x² = 12.25
    assert y.primal.item() == 11.5 and y.tangent.item() == 12.25
    batched = vl.sin(
        Dual(torch.tensor([0.0, 1.0], dtype=F64), torch.eye(2, dtype=F64))
    )
    assert_close(
        batched.tangent,
        torch.diag(torch.cos(torch.tensor([0.0, 1.0], dtype=F64))),
    )


def test_constants_mix_in():
    c = rng_tensor(3, seed=8)
    f = lambda x: vl.sum(
        (2 - x) * 3 / x + x / 2 - c @ x + c * x + 1.5**2 + (-x) ** 2 + x.T
    )
    g = lambda x: (
        (2 - x) * 3 / x + x / 2 - c @ x + c * x + 1.5**2 + (-x) ** 2 + x
    ).sum()
    x = 1 + rng_tensor(3, seed=1).abs()
    assert_close(vl.grad(f)(x.reshape(3, 1)), tf.grad(g)(x.reshape(3, 1)))


def test_python_floats_and_lists_become_float64():
    g = vl.grad(lambda x: vl.sum(x * x))([1.0, 2.0])
    assert g.dtype == F64 and g.tolist() == [2.0, 4.0]
    assert vl.grad(lambda x: x * x)(1.5).item() == 3.0


def test_output_independent_of_input_gives_honest_zero():
    x = rng_tensor(3)
    const = torch.ones((), dtype=F64)
    assert torch.equal(vl.grad(lambda x: const)(x), torch.zeros(3, dtype=F64))
    assert torch.equal(
        vl.jacrev(lambda x: const * 2)(x), torch.zeros(3, dtype=F64)
    )
    assert torch.equal(
        vl.jacfwd(lambda x: torch.ones(2, dtype=F64))(x),
        torch.zeros(2, 3, dtype=F64),
    )
    assert torch.equal(
        vl.grad(lambda x, y: vl.sum(y), argnums=0)(x, x),
        torch.zeros(3, dtype=F64),
    )


def test_hessian_of_a_function_of_two_arguments():
    f = lambda x, y: vl.sum(vl.exp(x) * y * y)
    g = lambda x, y: (torch.exp(x) * y * y).sum()
    x, y = rng_tensor(2), rng_tensor(2, seed=1)
    assert_close(
        vl.hessian(f, argnums=1)(x, y), tf.hessian(g, argnums=1)(x, y)
    )


class Probe(vl.Function):
    """y = a b, rules written without looking at needs_input_grad; records what
    each ctx says.
    """

    seen = []

    @staticmethod
    def forward(ctx, a, b, scale):
        Probe.seen.append(("forward", ctx.needs_input_grad))
        ctx.save_for_backward(a, b)
        ctx.scale = scale
        return scale * a * b

    @staticmethod
    def vjp(ctx, y_bar):
        Probe.seen.append(("vjp", ctx.needs_input_grad))
        a, b = ctx.saved_tensors
        return ctx.scale * y_bar * b, ctx.scale * y_bar * a, None

    @staticmethod
    def jvp(ctx, a_dot, b_dot, scale_dot):
        Probe.seen.append(("jvp", ctx.needs_input_grad))
        Probe.tangents = (a_dot, b_dot, scale_dot)
        a, b = ctx.saved_tensors
        return ctx.scale * (a_dot * b + a * b_dot)


def probe(f):
    Probe.seen = []
    out = f()
    return out, Probe.seen


def test_needs_input_grad_in_vjp_and_jvp():
    a, b = rng_tensor(3, seed=1), rng_tensor(3, seed=2)
    g, seen = probe(
        lambda: vl.grad(lambda b: vl.sum(Probe.apply(a, b, 2.0)))(b)
    )
    assert seen == [
        ("forward", (False, True, False)),
        ("vjp", (False, True, False)),
    ]
    assert_close(g, 2 * a)
    _, seen = probe(
        lambda: vl.vjp(lambda a, b: Probe.apply(a, b, 2.0), a, b)[1](a)
    )
    assert seen == [
        ("forward", (True, True, False)),
        ("vjp", (True, True, False)),
    ]
    B = 4  # batched tangents: zeros for a
    (_, y_dot), seen = probe(
        lambda: vl.jvp(
            lambda a: Probe.apply(a, b, 2.0),
            (a,),
            (rng_tensor(B, 3, seed=3),),
            batched=True,
        )
    )
    assert seen == [
        ("forward", (True, False, False)),
        ("jvp", (True, False, False)),
    ]
    a_dot, b_dot, scale_dot = Probe.tangents
    assert b_dot.shape == (B, 3) and not b_dot.any() and scale_dot is None
    assert_close(y_dot, 2 * rng_tensor(B, 3, seed=3) * b)
    assert Probe.apply(a, b, 2.0) is not None and Probe.seen[-1] == (
        "forward",
        (False, False, False),
    )


def test_needs_input_grad_per_level_in_nested_transformations():
    """Outer transformation over a (level 1), inner over b (level 2): forward
    sees both as traced, each level's rule sees only its own operand."""
    a, b = rng_tensor(3, seed=1), rng_tensor(3, seed=2)
    # d/da of sum(d/db sum(2 a b b)) = d/da sum(4 a b) = 4 b: the outer VJP
    # needs Probe's own rule
    inner = lambda a: vl.sum(
        vl.grad(lambda b: vl.sum(Probe.apply(a, b, 2.0) * b))(b)
    )
    g, seen = probe(lambda: vl.grad(inner)(a))
    assert_close(g, 4 * b)
    assert seen[0] == ("forward", (True, True, False))
    assert ("vjp", (False, True, False)) in seen and (
        "vjp",
        (True, False, False),
    ) in seen
    assert set(seen[1:]) == {
        ("vjp", (False, True, False)),
        ("vjp", (True, False, False)),
    }
    # forward over reverse: jvp over a (level 1) of grad over b (level 2)
    v = rng_tensor(3, seed=4)
    (_, t), seen = probe(
        lambda: vl.jvp(
            lambda a: vl.grad(lambda b: vl.sum(Probe.apply(a, b, 2.0) * b))(b),
            (a,),
            (v,),
        )
    )
    assert_close(t, 4 * v * b)
    assert seen == [
        ("forward", (True, True, False)),
        ("jvp", (True, False, False)),
        ("vjp", (False, True, False)),
    ]


def test_a_rule_that_ignores_needs_input_grad_stays_right():
    """
    Probe computes every cotangent and every tangent term; constants must not
    leak into results.
    """
    A, x = rng_tensor(3, 3, seed=5), rng_tensor(3, seed=6)
    f = lambda x: vl.tanh(Probe.apply(A @ x, x, 0.5))
    g = lambda x: torch.tanh(0.5 * (A @ x) * x)
    assert_close(vl.jacrev(f)(x), tf.jacrev(g)(x), what="jacrev")
    assert_close(vl.jacfwd(f)(x), tf.jacrev(g)(x), what="jacfwd")
    h = lambda x: vl.sum(Probe.apply(A @ x, A @ x, 0.5) * x)
    assert_close(
        vl.hessian(h)(x),
        tf.hessian(lambda x: (0.5 * (A @ x) ** 2 * x).sum())(x),
        what="hessian",
    )
    assert_close(
        vl.grad(lambda c: vl.sum(Probe.apply(x, c, 0.5)))(A),
        0.5 * x.expand(3, 3),
        what="constant a",
    )


def test_constant_operands_tanh_layer_and_logistic_hessian():
    """The cases the benchmark times: W and A are constants, only x or w is
    differentiated.
    """
    for shape_W, shape_x in [((8, 64), (64,)), ((64, 8), (8,))]:
        W, x = rng_tensor(*shape_W, seed=1) / 8, rng_tensor(*shape_x, seed=2)
        J = tf.jacrev(lambda x: torch.tanh(W @ x))(x)
        assert_close(vl.jacfwd(lambda x: vl.tanh(W @ x))(x), J, what="jacfwd")
        assert_close(vl.jacrev(lambda x: vl.tanh(W @ x))(x), J, what="jacrev")
    A, y, w = (
        rng_tensor(20, 6, seed=3),
        torch.sign(rng_tensor(20, seed=4)),
        rng_tensor(6, seed=5),
    )
    f = lambda w: (
        vl.sum(vl.log(1 + vl.exp(-(y * (A @ w))))) / 20 + 1e-3 * vl.sum(w * w)
    )
    g = lambda w: (
        torch.nn.functional.softplus(-y * (A @ w)).mean()
        + 1e-3 * (w * w).sum()
    )
    assert_close(vl.hessian(f)(w), tf.hessian(g)(w), what="hessian")
    assert_close(vl.hvp(f, w, x[:6])[1], tf.hessian(g)(w) @ x[:6], what="hvp")


# ---------------------------------------------- hvp, as torch's functional


def test_hvp_returns_torchs_shapes():
    """(func_output, Hv) as torch.autograd.functional.hvp: a Tensor for a
    Tensor input, a tuple for a tuple of inputs, v=None for one
    single-element input, a single-element (not only 0-d) output."""
    from torch.autograd.functional import hvp as torch_hvp

    x, v = rng_tensor(4, seed=1), rng_tensor(4, seed=2)
    y, Hv = vl.hvp(lambda x: vl.sum(vl.sin(x) * x), x, v)
    y_t, Hv_t = torch_hvp(lambda x: (torch.sin(x) * x).sum(), x, v)
    assert_close(y, y_t)
    assert_close(Hv, Hv_t)

    a, b = rng_tensor(3, seed=3), rng_tensor(3, seed=4)
    va, vb = rng_tensor(3, seed=5), rng_tensor(3, seed=6)
    y, (Ha, Hb) = vl.hvp(lambda a, b: vl.sum(a * b * b), (a, b), (va, vb))
    y_t, (Ha_t, Hb_t) = torch_hvp(
        lambda a, b: (a * b * b).sum(), (a, b), (va, vb)
    )
    assert_close(y, y_t)
    assert_close(Ha, Ha_t)
    assert_close(Hb, Hb_t)

    one = torch.tensor([2.0], dtype=F64)  # shape (1,): one element
    y, Hv = vl.hvp(lambda x: x * x * x, one)  # v=None: 1
    y_t, Hv_t = torch_hvp(lambda x: x**3, one)
    assert_close(y, y_t)  # shape (1,), as torch
    assert_close(Hv, Hv_t)


@pytest.mark.parametrize(
    "case",
    [
        "vector output",
        "float output",
        "list inputs",
        "v size",
        "v length",
        "v None",
    ],
)
def test_hvp_errors_follow_torch(case):
    """Each mistake through torch's hvp and vjplib's: the same class and
    the same key words."""
    from torch.autograd.functional import hvp as torch_hvp

    x, v = rng_tensor(2, seed=1), rng_tensor(2, seed=2)
    cube_t, cube_vl = (lambda x: (x**3).sum()), (lambda x: vl.sum(x * x * x))
    calls = {
        "vector output": ((lambda x: x**3, x, v), (lambda x: x * x, x, v)),
        "float output": ((lambda x: 3.0, x, v), (lambda x: 3.0, x, v)),
        "list inputs": ((cube_t, [x], v), (cube_vl, [x], v)),
        "v size": ((cube_t, x, v[:1]), (cube_vl, x, v[:1])),
        "v length": ((cube_t, (x, x), (v,)), (cube_vl, (x, x), (v,))),
        "v None": ((cube_t, x, None), (cube_vl, x, None)),
    }
    words = {
        "vector output": "should contain a single element",
        "float output": "must be either a Tensor or a tuple of Tensors",
        "list inputs": "must be either a Tensor or a tuple of Tensors",
        "v size": "v has invalid size",
        "v length": "v is a tuple of invalid length",
        "v None": "can only be None if the input",
    }
    raised = []
    for hvp, args in zip((torch_hvp, vl.hvp), calls[case]):
        with pytest.raises(Exception, match=words[case]) as info:
            hvp(*args)
        raised.append(info.type)
    assert raised[0] is raised[1], raised


def test_second_order_with_one_tensor_passed_twice_is_torchs():
    """grad(f)(x, x): only the first x is boxed, so one level down both
    arguments are the same x; the rules' saved x must still stand for the
    right argument (it once gave [3, 6] where torch gives [4, 8])."""

    def f(a, b):
        return (a * b * b).sum()

    x = torch.tensor([1.0, 2.0], dtype=torch.float64)
    v = torch.ones(2, dtype=torch.float64)
    for argnums in (0, 1):

        def g(a, b, argnums=argnums):
            return vl.grad(f, argnums=argnums)(a, b)

        def g_t(a, b, argnums=argnums):
            return torch.func.grad(f, argnums=argnums)(a, b)

        torch.testing.assert_close(
            vl.jvp(g, (x, x), (v, 2 * v))[1],
            torch.func.jvp(g_t, (x, x), (v, 2 * v))[1],
        )
    torch.testing.assert_close(
        vl.hvp(f, (x, x), (v, 2 * v)),
        torch.autograd.functional.hvp(f, (x, x), (v, 2 * v)),
    )
