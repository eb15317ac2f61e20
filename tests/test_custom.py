"""vjplib.custom_jvp and vjplib.custom_vjp, side by side with jax.custom_jvp
and jax.custom_vjp (and torch's new-style Function) on the same functions,
under every transform."""

import gc

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import vjplib as vl

jax.config.update("jax_enable_x64", True)
D = torch.float64


def _x(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=D)


def _j(t):
    return jnp.asarray(t.numpy())


def close(ours, theirs):
    """vjplib's result against JAX's (or torch's), in float64."""
    if not isinstance(theirs, torch.Tensor):
        theirs = torch.from_numpy(np.array(theirs))
    vl.assert_close(ours, theirs)


# ------------------------------------------------ log1pexp, JAX's example
@vl.custom_jvp
def log1pexp(x):
    return torch.where(
        x > 0, x + torch.log1p(torch.exp(-x)), torch.log1p(torch.exp(x))
    )


@log1pexp.defjvp
def _log1pexp_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return log1pexp(x), x_dot * (1 + vl.tanh(x / 2)) / 2


@jax.custom_jvp
def log1pexp_jax(x):
    return jnp.logaddexp(x, 0.0)


@log1pexp_jax.defjvp
def _log1pexp_jax_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return log1pexp_jax(x), x_dot * (1 + jnp.tanh(x / 2)) / 2


X = torch.tensor([-30.0, -1.5, 0.0, 0.7, 3.0, 800.0], dtype=D)


def _total(f, s=vl.sum):
    return lambda x: s(f(x))


def test_custom_jvp_matches_jax_under_every_transform():
    x, x_dot = X, _x(6, seed=1)
    xj = _j(x)
    close(log1pexp(x), log1pexp_jax(xj))
    close(
        vl.grad(_total(log1pexp))(x),
        jax.grad(_total(log1pexp_jax, jnp.sum))(xj),
    )
    close(
        vl.jvp(log1pexp, (x,), (x_dot,))[1],
        jax.jvp(log1pexp_jax, (xj,), (_j(x_dot),))[1],
    )
    close(vl.vmap(log1pexp)(x), jax.vmap(log1pexp_jax)(xj))
    close(vl.vmap(vl.grad(log1pexp))(x), jax.vmap(jax.grad(log1pexp_jax))(xj))
    close(vl.jacrev(log1pexp)(x), jax.jacrev(log1pexp_jax)(xj))
    close(vl.jacfwd(log1pexp)(x), jax.jacfwd(log1pexp_jax)(xj))
    close(
        vl.hessian(_total(log1pexp))(x),
        jax.hessian(_total(log1pexp_jax, jnp.sum))(xj),
    )
    g = vl.grad(vl.grad(log1pexp))
    close(vl.vmap(g)(x), jax.vmap(jax.grad(jax.grad(log1pexp_jax)))(xj))
    _, jvp_fn = vl.linearize(log1pexp, x)
    close(jvp_fn(x_dot), jax.linearize(log1pexp_jax, xj)[1](_j(x_dot)))
    M = torch.stack([X, -X])
    close(
        vl.jacrev(vl.vmap(log1pexp))(M),
        jax.jacrev(jax.vmap(log1pexp_jax))(_j(M)),
    )
    t = vl.tensor(x, requires_grad=True)
    vl.sum(log1pexp(t)).backward()
    close(t.grad.primal, jax.grad(_total(log1pexp_jax, jnp.sum))(xj))


def test_custom_jvp_fixes_the_default_rule_at_large_x():
    def naive(x):
        return vl.log(1 + vl.exp(x))

    big = torch.tensor(800.0, dtype=D)
    assert torch.isnan(vl.grad(naive)(big))  # inf / inf
    assert jnp.isnan(jax.grad(lambda x: jnp.log(1 + jnp.exp(x)))(800.0))
    assert vl.grad(log1pexp)(big) == 1.0
    # away from overflow, the rule is the derivative: finite differences
    x = torch.tensor([-2.0, 0.3, 4.0], dtype=D)
    J = vl.jacobian_fd(log1pexp, x)
    vl.assert_close(vl.jacrev(log1pexp)(x), J, rtol=1e-7, atol=1e-9)


# ----------------------------------------------- a norm safe at 0
@vl.custom_jvp
def safe_norm(x):
    return torch.linalg.vector_norm(x)


@safe_norm.defjvp
def _safe_norm_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    y = safe_norm(x)
    return y, vl.sum(x * x_dot) / y


@jax.custom_jvp
def safe_norm_jax(x):
    return jnp.linalg.norm(x)


@safe_norm_jax.defjvp
def _safe_norm_jax_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    y = safe_norm_jax(x)
    return y, jnp.sum(x * x_dot) / y


def test_custom_jvp_of_a_norm_away_from_zero_matches_jax():
    x = _x(4)
    xj = _j(x)
    close(vl.grad(safe_norm)(x), jax.grad(safe_norm_jax)(xj))
    close(vl.hessian(safe_norm)(x), jax.hessian(safe_norm_jax)(xj))
    close(
        vl.hessian(safe_norm)(x),
        torch.func.hessian(torch.linalg.vector_norm)(x),
    )
    Xs = _x(3, 4, seed=2)
    close(
        vl.vmap(vl.grad(safe_norm))(Xs),
        jax.vmap(jax.grad(safe_norm_jax))(_j(Xs)),
    )


# ------------------------------------------ a rule that is not linear
@vl.custom_jvp
def sin_bad(x):
    return torch.sin(x)


@sin_bad.defjvp
def _sin_bad_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return vl.sin(x), vl.cos(x) * x_dot * x_dot  # not linear in x_dot


@jax.custom_jvp
def sin_bad_jax(x):
    return jnp.sin(x)


@sin_bad_jax.defjvp
def _sin_bad_jax_jvp(primals, tangents):
    (x,), (x_dot,) = primals, tangents
    return jnp.sin(x), jnp.cos(x) * x_dot * x_dot


def test_a_nonlinear_jvp_rule_runs_forward_and_is_refused_in_reverse():
    x, x_dot = _x(3), _x(3, seed=1)
    # forward mode runs the rule as it is, as JAX's does
    close(
        vl.jvp(sin_bad, (x,), (x_dot,))[1],
        jax.jvp(sin_bad_jax, (_j(x),), (_j(x_dot),))[1],
    )
    with pytest.raises(AssertionError):  # JAX: an assertion, no words
        jax.grad(lambda x: jnp.sum(sin_bad_jax(x)))(_j(x))
    for transform in (
        lambda: vl.grad(lambda x: vl.sum(sin_bad(x)))(x),
        lambda: vl.jacrev(sin_bad)(x),
        lambda: vl.linearize(sin_bad, x),
    ):
        with pytest.raises(
            TypeError, match="JVP rule of sin_bad is not linear"
        ):
            transform()


def test_an_affine_jvp_rule_is_refused_in_reverse():
    @vl.custom_jvp
    def f(x):
        return torch.sin(x)

    @f.defjvp
    def _(primals, tangents):
        return vl.sin(primals[0]), tangents[0] + 1.0  # f(0) ≠ 0

    with pytest.raises(TypeError, match="not linear in the tangents"):
        vl.grad(lambda x: vl.sum(f(x)))(_x(3))


# ----------------------------------------- nondiff_argnums, both libraries
def test_nondiff_argnums_pass_first_to_the_rule_as_in_jax():
    @vl.custom_jvp
    def scaled_tanh(c, x):
        return c * torch.tanh(x)

    scaled_tanh = vl.custom_jvp(scaled_tanh.fun, nondiff_argnums=(0,))

    @scaled_tanh.defjvp
    def _(c, primals, tangents):
        (x,), (x_dot,) = primals, tangents
        y = scaled_tanh(c, x)
        return y, x_dot * c * (1 - vl.tanh(x) ** 2)

    f_jax = jax.custom_jvp(lambda c, x: c * jnp.tanh(x), nondiff_argnums=(0,))

    @f_jax.defjvp
    def _(c, primals, tangents):
        (x,), (x_dot,) = primals, tangents
        return c * jnp.tanh(x), x_dot * c * (1 - jnp.tanh(x) ** 2)

    x = _x(4)
    close(
        vl.grad(lambda x: vl.sum(scaled_tanh(3.0, x)))(x),
        jax.grad(lambda x: jnp.sum(f_jax(3.0, x)))(_j(x)),
    )
    close(
        vl.vmap(lambda x: scaled_tanh(3.0, x))(x),
        jax.vmap(lambda x: f_jax(3.0, x))(_j(x)),
    )
    with pytest.raises(TypeError, match="in nondiff_argnums but is a value"):
        vl.grad(lambda c: vl.sum(scaled_tanh(c, x)))(
            torch.tensor(2.0, dtype=D)
        )


def test_no_rule_defined():
    f = vl.custom_jvp(torch.sin)
    with pytest.raises(AttributeError, match="No JVP defined"):
        f(_x(2))
    g = vl.custom_vjp(torch.sin)
    with pytest.raises(AttributeError, match="No VJP defined"):
        g(_x(2))


# ----------------------------------------------------------- custom_vjp
@vl.custom_vjp
def sin_vjp(x):
    return torch.sin(x)


def _sin_fwd(x):
    return vl.sin(x), x


def _sin_bwd(x, y_bar):
    return (y_bar * vl.cos(x),)


sin_vjp.defvjp(_sin_fwd, _sin_bwd)

sin_vjp_jax = jax.custom_vjp(jnp.sin)
sin_vjp_jax.defvjp(
    lambda x: (jnp.sin(x), x), lambda x, y_bar: (y_bar * jnp.cos(x),)
)


def test_custom_vjp_matches_jax_in_reverse_mode_and_vmap():
    x = _x(5)
    xj = _j(x)
    close(
        vl.grad(_total(sin_vjp))(x), jax.grad(_total(sin_vjp_jax, jnp.sum))(xj)
    )
    close(vl.jacrev(sin_vjp)(x), jax.jacrev(sin_vjp_jax)(xj))
    close(vl.vmap(vl.grad(sin_vjp))(x), jax.vmap(jax.grad(sin_vjp_jax))(xj))
    close(
        vl.vmap(vl.grad(vl.grad(sin_vjp)))(x),
        jax.vmap(jax.grad(jax.grad(sin_vjp_jax)))(xj),
    )
    M = _x(2, 5, seed=3)
    close(
        vl.grad(lambda M: vl.sum(vl.vmap(sin_vjp)(M)))(M),
        jax.grad(lambda M: jnp.sum(jax.vmap(sin_vjp_jax)(M)))(_j(M)),
    )
    t = vl.tensor(x, requires_grad=True)
    vl.sum(sin_vjp(t)).backward()
    close(t.grad.primal, torch.cos(x))


def test_custom_vjp_refuses_forward_mode_in_jaxs_words():
    x = _x(3)
    with pytest.raises(TypeError) as jax_error:
        jax.jvp(sin_vjp_jax, (_j(x),), (_j(x),))
    for transform in (
        lambda: vl.jvp(sin_vjp, (x,), (x,)),
        lambda: vl.jacfwd(sin_vjp)(x),
        lambda: vl.hessian(_total(sin_vjp))(x),
        lambda: vl.linearize(sin_vjp, x),
    ):
        with pytest.raises(TypeError) as ours:
            transform()
        assert str(jax_error.value) in str(ours.value)


def test_custom_vjp_clip_gradient_matches_jax():
    def clamp_t(y_bar, lo, hi):
        return torch.clamp(y_bar, lo, hi)

    clip = vl.custom_vjp(lambda x, lo, hi: x, nondiff_argnums=(1, 2))
    clip.defvjp(
        lambda x, lo, hi: (x, None),
        lambda lo, hi, res, y_bar: (clamp_t(y_bar, lo, hi),),
    )
    clip_jax = jax.custom_vjp(lambda x, lo, hi: x, nondiff_argnums=(1, 2))
    clip_jax.defvjp(
        lambda x, lo, hi: (x, None),
        lambda lo, hi, res, y_bar: (jnp.clip(y_bar, lo, hi),),
    )
    x = _x(4)
    w = torch.tensor([3.0, -0.2, 0.4, -7.0], dtype=D)
    close(
        vl.grad(lambda x: vl.sum(clip(x, -1.0, 1.0) * w))(x),
        jax.grad(lambda x: jnp.sum(clip_jax(x, -1.0, 1.0) * _j(w)))(_j(x)),
    )


def test_custom_vjp_bwd_must_return_a_tuple():
    f = vl.custom_vjp(torch.sin)
    f.defvjp(lambda x: (vl.sin(x), x), lambda x, y_bar: y_bar * vl.cos(x))
    with pytest.raises(TypeError, match="must produce a tuple"):
        vl.grad(lambda x: vl.sum(f(x)))(_x(3))


# --------------------------- the same rule as a torch new-style Function
class Log1pexpTorch(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.nn.functional.softplus(x)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0])
        ctx.save_for_forward(inputs[0])

    @staticmethod
    def backward(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return y_bar * torch.sigmoid(x)

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return x_dot * torch.sigmoid(x)

    generate_vmap_rule = True


def test_custom_jvp_matches_a_torch_new_style_function():
    x, x_dot = X, _x(6, seed=1)
    tf = torch.func
    f = Log1pexpTorch.apply
    vl.assert_close(
        vl.grad(_total(log1pexp))(x), tf.grad(lambda x: f(x).sum())(x)
    )
    vl.assert_close(
        vl.jvp(log1pexp, (x,), (x_dot,))[1], tf.jvp(f, (x,), (x_dot,))[1]
    )
    vl.assert_close(vl.vmap(vl.grad(log1pexp))(x), tf.vmap(tf.grad(f))(x))


def test_a_custom_function_keeps_no_class_per_call():
    f = vl.custom_jvp(lambda c, x: c * torch.sin(x), nondiff_argnums=(0,))
    f.defjvp(lambda c, p, t: (c * vl.sin(p[0]), c * vl.cos(p[0]) * t[0]))
    x = _x(3)

    def run():
        vl.vmap(vl.grad(lambda x: f(2.0, x)))(x)

    def classes():
        gc.collect()
        return sum(isinstance(o, type) for o in gc.get_objects())

    run()
    before = classes()
    for _ in range(20):
        run()
    assert classes() == before
    g = vl.custom_jvp(torch.sin)
    g.defjvp(lambda p, t: (vl.sin(p[0]), vl.cos(p[0]) * t[0]))
    g(x)
    op = g._op
    g(x)
    assert g._op is op  # no nondiff arguments: one op for every call


@pytest.mark.parametrize("f", [sin_vjp, log1pexp], ids=["vjp", "jvp"])
def test_eager_face_create_graph_differentiates_the_rule_again(f):
    x = torch.tensor([0.3, 1.0, -2.0], dtype=D)
    t = vl.tensor(x, requires_grad=True)
    vl.sum(f(t)).backward(create_graph=True)
    g = t.grad
    t.grad = None
    vl.sum(g).backward()
    torch_f = torch.sin if f is sin_vjp else torch.nn.functional.softplus
    xt = x.clone().requires_grad_()
    (gt,) = torch.autograd.grad(torch_f(xt).sum(), xt, create_graph=True)
    gt.sum().backward()
    vl.assert_close(t.grad.primal, xt.grad)
