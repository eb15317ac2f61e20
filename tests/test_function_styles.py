"""vjplib.Function in torch's current style (forward without ctx,
setup_context, vmap or generate_vmap_rule, backward as vjp's other name),
side by side with the same torch.autograd.Function under torch.func; and
the old style, which vjplib keeps running under its own transforms."""

import pytest
import torch

import vjplib as vl

D = torch.float64


def _x(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=D)


# The same op, ‖x‖ over the last dim, written once per library.
class NormTorch(torch.autograd.Function):
    @staticmethod
    def forward(x):
        return torch.linalg.vector_norm(x, dim=-1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)
        ctx.save_for_forward(inputs[0], output)

    @staticmethod
    def backward(ctx, y_bar):
        x, y = ctx.saved_tensors
        return y_bar.unsqueeze(-1) * x / y.unsqueeze(-1)

    @staticmethod
    def jvp(ctx, x_dot):
        x, y = ctx.saved_tensors
        return (x * x_dot).sum(-1) / y

    @staticmethod
    def vmap(info, in_dims, x):
        return NormTorch.apply(x.movedim(in_dims[0], 0)), 0


def _col(v):
    return vl.reshape(v, tuple(v.shape) + (1,))


class NormVjplib(vl.Function):
    @staticmethod
    def forward(x):
        return torch.linalg.vector_norm(x, dim=-1)

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.save_for_backward(inputs[0], output)
        ctx.save_for_forward(inputs[0], output)

    @staticmethod
    def backward(ctx, y_bar):  # torch's name: the same rule as vjp
        x, y = ctx.saved_tensors
        return _col(y_bar) * x / _col(y)

    @staticmethod
    def jvp(ctx, x_dot):
        x, y = ctx.saved_tensors
        return vl.sum(x * x_dot, -1) / y

    @staticmethod
    def vmap(info, in_dims, x):  # in_dims[0] is 0: the stack is in front
        return NormVjplib.apply(x), 0


class NormGenerated(NormVjplib):
    """The same rules, with the batching rule generated from them."""

    generate_vmap_rule = True
    vmap = None


def _torch_norm(x):
    return torch.linalg.vector_norm(x, dim=-1)


@pytest.mark.parametrize("op", [NormVjplib, NormGenerated])
def test_new_style_under_every_transform_matches_torch(op):
    x, x_dot = _x(4), _x(4, seed=1)
    f, ft = op.apply, NormTorch.apply
    tf = torch.func
    vl.assert_close(f(x), ft(x))
    vl.assert_close(vl.grad(f)(x), tf.grad(ft)(x))
    vl.assert_close(
        vl.jvp(f, (x,), (x_dot,))[1], tf.jvp(ft, (x,), (x_dot,))[1]
    )
    vl.assert_close(vl.jacrev(f)(x), tf.jacrev(ft)(x))
    vl.assert_close(vl.jacfwd(f)(x), tf.jacfwd(ft)(x))
    vl.assert_close(vl.hessian(f)(x), tf.hessian(ft)(x))
    vl.assert_close(vl.hessian(f)(x), tf.hessian(_torch_norm)(x))
    vl.assert_close(
        vl.linearize(f, x)[1](x_dot), tf.jvp(ft, (x,), (x_dot,))[1]
    )
    X = _x(3, 4, seed=2)
    vl.assert_close(vl.vmap(f)(X), tf.vmap(ft)(X))
    vl.assert_close(vl.vmap(vl.grad(f))(X), tf.vmap(tf.grad(ft))(X))
    vl.assert_close(
        vl.grad(lambda X: vl.sum(vl.vmap(f)(X)))(X),
        tf.grad(lambda X: tf.vmap(ft)(X).sum())(X),
    )
    vl.assert_close(vl.jacrev(vl.vmap(f))(X), tf.jacrev(tf.vmap(ft))(X))
    vl.assert_close(vl.jacfwd(vl.vmap(f))(X), tf.jacfwd(tf.vmap(ft))(X))
    vl.assert_close(vl.vmap(vl.hessian(f))(X), tf.vmap(tf.hessian(ft))(X))
    XX = _x(2, 3, 4, seed=3)
    vl.assert_close(vl.vmap(vl.vmap(f))(XX), _torch_norm(XX))
    t = vl.tensor(x, requires_grad=True)
    f(t).backward()
    vl.assert_close(t.grad.primal, tf.grad(_torch_norm)(x))


class Scale(vl.Function):
    """y = c x for a constant c, new style, linear in x (so linear_transpose
    can take it): transpose x_bar = c y_bar."""

    linear_in = (0,)

    @staticmethod
    def forward(x, c):
        return c * x

    @staticmethod
    def setup_context(ctx, inputs, output):
        ctx.c = inputs[1]

    @staticmethod
    def vjp(ctx, y_bar):
        return ctx.c * y_bar, None

    @staticmethod
    def jvp(ctx, x_dot, c_dot):
        return ctx.c * x_dot

    @staticmethod
    def transpose(ctx, y_bar):
        return ctx.c * y_bar, None

    @staticmethod
    def vmap(info, in_dims, x, c):
        return Scale.apply(x, c), 0


def test_new_style_linear_op_under_linear_transpose():
    x, y_bar = _x(3), _x(3, seed=1)
    f_T = vl.linear_transpose(lambda v: Scale.apply(v, 2.5), x)
    vl.assert_close(f_T(y_bar)[0], 2.5 * y_bar)
    vl.assert_close(
        vl.vmap(lambda v: Scale.apply(v, 2.5))(_x(2, 3)), 2.5 * _x(2, 3)
    )


def test_vmap_without_a_rule_raises_torchs_error():
    class NoRule(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

    class NoRuleV(vl.Function):
        @staticmethod
        def forward(x):
            return x.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(output)

    X = _x(2, 3)
    with pytest.raises(RuntimeError) as torch_error:
        torch.func.vmap(NoRule.apply)(X)
    with pytest.raises(RuntimeError) as ours:
        vl.vmap(NoRuleV.apply)(X)
    assert str(ours.value) in str(torch_error.value).replace(
        "NoRule", "NoRuleV"
    )
    assert "does not have vmap support" in str(ours.value)


def test_generate_vmap_rule_and_a_vmap_rule_refused_as_torch_does():
    class Both(NormVjplib):
        generate_vmap_rule = True

    class BothT(NormTorch):
        generate_vmap_rule = True

    with pytest.raises(RuntimeError) as torch_error:
        torch.func.vmap(BothT.apply)(_x(2, 3))
    with pytest.raises(RuntimeError, match="generate_vmap_rule=False"):
        vl.vmap(Both.apply)(_x(2, 3))
    assert "both generate_vmap_rule=True" in str(torch_error.value)


class OldExp(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, y_bar):
        (y,) = ctx.saved_tensors
        return y_bar * y


class OldExpV(vl.Function):
    @staticmethod
    def forward(ctx, x):
        y = torch.exp(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, y_bar):
        (y,) = ctx.saved_tensors
        return y_bar * y

    @staticmethod
    def jvp(ctx, x_dot):
        (y,) = ctx.saved_tensors
        return x_dot * y


def test_old_style_torch_refuses_under_torch_func_vjplib_runs_it():
    x = _x(3)
    with pytest.raises(RuntimeError, match="must override the setup_context"):
        torch.func.grad(lambda x: OldExp.apply(x).sum())(x)
    # torch.autograd (not torch.func) still runs it; vjplib runs it everywhere
    xt = x.clone().requires_grad_()
    OldExp.apply(xt).sum().backward()
    vl.assert_close(vl.grad(lambda x: vl.sum(OldExpV.apply(x)))(x), xt.grad)
    vl.assert_close(
        vl.hessian(lambda x: vl.sum(OldExpV.apply(x)))(x), torch.diag(x.exp())
    )


def test_backward_is_vjp_and_both_is_refused():
    assert OldExpV.vjp is OldExpV.backward
    with pytest.raises(TypeError, match="define one"):

        class Twice(vl.Function):  # noqa: F841
            @staticmethod
            def forward(x):
                return x

            @staticmethod
            def vjp(ctx, y_bar):
                return y_bar

            @staticmethod
            def backward(ctx, y_bar):
                return y_bar


def test_save_for_forward_is_save_for_backward():
    class ExpF(vl.Function):
        @staticmethod
        def forward(x):
            return torch.exp(x)

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_forward(output)

        @staticmethod
        def jvp(ctx, x_dot):
            (y,) = ctx.saved_tensors
            return x_dot * y

    x, x_dot = _x(3), _x(3, seed=1)
    vl.assert_close(vl.jvp(ExpF.apply, (x,), (x_dot,))[1], x.exp() * x_dot)

    class Two(ExpF):
        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])
            ctx.save_for_forward(output)

    with pytest.raises(ValueError, match="one tuple of saved tensors"):
        Two.apply(x)


def test_new_style_forward_must_return_one_tensor():
    class Pair(vl.Function):
        @staticmethod
        def forward(x):
            return x, x

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

    with pytest.raises(TypeError, match="returns one tensor"):
        Pair.apply(_x(2))


def test_a_missing_rule_is_named_in_torchs_words_too():
    class NoRules(torch.autograd.Function):
        @staticmethod
        def forward(x):
            return x.exp()

        @staticmethod
        def setup_context(ctx, inputs, output):
            pass

    class NoRulesV(vl.Function):
        forward = NoRules.forward
        setup_context = NoRules.setup_context

    x = _x(3)
    for words, run, run_torch in (
        (
            "implement either the backward or vjp method",
            lambda: vl.grad(lambda x: vl.sum(NoRulesV.apply(x)))(x),
            lambda: torch.func.grad(lambda x: NoRules.apply(x).sum())(x),
        ),
        (
            "implement the jvp function",
            lambda: vl.jvp(NoRulesV.apply, (x,), (x,)),
            lambda: torch.func.jvp(NoRules.apply, (x,), (x,)),
        ),
    ):
        with pytest.raises(NotImplementedError, match=words):
            run_torch()
        with pytest.raises(NotImplementedError, match=words):
            run()
