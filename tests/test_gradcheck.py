"""torch.autograd.gradcheck and gradgradcheck on vjplib's rules, wrapped as
torch Functions.

``as_torch_function(f)`` runs f (written with vjplib ops) forward, vjplib's
VJP as torch's backward and vjplib's JVP as torch's jvp. gradcheck compares
both rules with finite differences (check_forward_ad=True: the JVP too);
gradgradcheck differentiates the backward once more (torch's autograd
records the torch operations vjplib's rules run) and checks that against
finite differences of the backward, forward over reverse included.
"""

import pytest
import torch
from torch.autograd.gradcheck import GradcheckError

import vjplib as vl

pytestmark = pytest.mark.filterwarnings(
    "ignore:`torch.jit.script` is deprecated:DeprecationWarning"
)
F64 = torch.float64


def as_torch_function(f):
    """f as a torch.autograd.Function: backward vjplib.vjp, jvp vjplib.jvp."""

    class VjplibRules(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *xs):
            ctx.save_for_backward(*xs)
            ctx.save_for_forward(*xs)
            return vl.vjp(f, *xs)[0]

        @staticmethod
        def backward(ctx, y_bar):
            return vl.vjp(f, *ctx.saved_tensors)[1](y_bar)

        @staticmethod
        def jvp(ctx, *x_dots):
            return vl.jvp(f, ctx.saved_tensors, x_dots)[1]

    return VjplibRules.apply


def rand(*shape, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=gen, dtype=F64)


def softmax(x):
    e = vl.exp(x - 1.0)
    return e / vl.sum(e, -1, keepdim=True)


COMPOSITES = {
    "norm(inv(X))": (
        lambda X: vl.norm(vl.inv(X)),
        [3 * torch.eye(3, dtype=F64) + 0.3 * rand(3, 3)],
    ),
    "sum(cumsum(log x))": (
        lambda x: vl.sum(vl.cumsum(vl.log(x))),
        [0.5 + rand(4, seed=1).abs()],
    ),
    "tanh(W x)": (
        lambda W, x: vl.tanh(W @ x),
        [rand(3, 4, seed=2), rand(4, seed=3)],
    ),
    "softmax": (softmax, [rand(2, 4, seed=4)]),
    "convolve full": (
        lambda x, k: vl.convolve(x, k),
        [rand(5, seed=5), rand(3, seed=6)],
    ),
    "convolve valid": (
        lambda x, k: vl.convolve(x, k, "valid"),
        [rand(5, seed=7), rand(3, seed=8)],
    ),
    "softplus": (
        lambda x: vl.softplus(x) * x,
        [torch.tensor([-30.0, -1, 0, 2, 25], dtype=F64)],
    ),
    # ops with kinks and ties (vjplib/ops/kinks.py, maxima.py), at points
    # away from them: finite differences straddle a kink (see the last test)
    "relu(W x)": (
        lambda W, x: vl.relu(W @ x),
        [
            torch.tensor([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.3]], dtype=F64),
            torch.tensor([0.7, 0.4], dtype=F64),
        ],
    ),
    "abs * x": (
        lambda x: vl.abs(x) * x,
        [torch.tensor([-2.0, -0.3, 0.4, 1.5], dtype=F64)],
    ),
    "sqrt": (lambda x: vl.sqrt(x), [0.5 + rand(4, seed=9).abs()]),
    "where(x > 0, x², sin x)": (
        lambda x: vl.where(x > 0, x * x, vl.sin(x)),
        [torch.tensor([-1.0, -0.2, 0.3, 2.0], dtype=F64)],
    ),
    "maximum, minimum": (
        lambda a, b: vl.maximum(a, b) * vl.minimum(a, b) + vl.maximum(a, b),
        [rand(5, seed=10), rand(5, seed=11)],
    ),
    "amax": (lambda x: vl.amax(x * x, 1), [rand(3, 4, seed=12)]),
    "max(x)": (lambda x: vl.max(vl.sin(x)), [rand(3, 4, seed=13)]),
    "max(x, dim)": (
        lambda x: vl.max(x * x, 0).values,
        [rand(3, 4, seed=14)],
    ),
    "clamp": (
        lambda x: vl.clamp(x * x, 0.2, 1.5),
        [torch.tensor([-2.0, -0.3, 0.1, 0.8, 1.0], dtype=F64)],
    ),
    "clamp, tensor bounds": (
        lambda x, lo, hi: vl.clamp(x, lo, hi),
        [
            torch.tensor([-2.0, -0.3, 0.1, 0.8, 3.0], dtype=F64),
            torch.tensor([-1.0, 0.0, -1.0, 1.0, 0.0], dtype=F64),
            torch.tensor([1.0, 1.0, 1.0, 2.0, 2.0], dtype=F64),
        ],
    ),
    "logsumexp": (
        lambda x: vl.logsumexp(x * x, -1),
        [rand(3, 4, seed=15)],
    ),
    "mean(logsumexp(relu(W x)))": (
        lambda W, x: vl.mean(vl.logsumexp(vl.relu(x @ W), 1)),
        [rand(4, 3, seed=16), rand(5, 4, seed=17)],
    ),
}


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_gradcheck(name):
    f, xs = COMPOSITES[name]
    xs = [x.clone().requires_grad_(True) for x in xs]
    assert torch.autograd.gradcheck(
        as_torch_function(f), xs, check_forward_ad=True
    )


@pytest.mark.parametrize("name", sorted(COMPOSITES))
def test_gradgradcheck(name):
    f, xs = COMPOSITES[name]
    xs = [x.clone().requires_grad_(True) for x in xs]
    assert torch.autograd.gradgradcheck(
        as_torch_function(f), xs, check_fwd_over_rev=True
    )


class WrongVjp(vl.Function):
    """y = sin x with a VJP of sin instead of cos: gradcheck refuses it."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sin(x)

    @staticmethod
    def vjp(ctx, y_bar):
        (x,) = ctx.saved_tensors
        return y_bar * vl.sin(x)

    @staticmethod
    def jvp(ctx, x_dot):
        (x,) = ctx.saved_tensors
        return x_dot * vl.cos(x)


def test_gradcheck_catches_a_wrong_rule():
    x = rand(3).requires_grad_(True)
    with pytest.raises(GradcheckError, match="Jacobian mismatch"):
        torch.autograd.gradcheck(as_torch_function(WrongVjp.apply), [x])


def test_gradcheck_fails_at_a_kink():
    """At relu's kink the central difference straddles it and sees 1/2;
    vjplib (as torch) gives relu'(0) = 0: gradcheck reports a mismatch,
    for torch's own relu too."""
    x = torch.tensor([0.0, 1.0], dtype=F64, requires_grad=True)
    for f in (as_torch_function(vl.relu), torch.relu):
        with pytest.raises(GradcheckError, match="Jacobian mismatch"):
            torch.autograd.gradcheck(f, [x])
