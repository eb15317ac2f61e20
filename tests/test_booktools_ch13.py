"""booktools.ch13: chapter 13's data, network, torch run, figures and
exercise checkers."""

import math
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import vjplib  # noqa: E402
from booktools import ch13  # noqa: E402
from booktools.exercises import says

F64 = torch.float64


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture
def problem():
    X, y = ch13.spiral(per_class=20, seed=3)
    return ch13.init_params(seed=4), X, y, ch13.one_hot(y, 3)


# ------------------------------------------------------------------ data
def test_spiral_is_seeded_float64_and_has_its_radii():
    X, y = ch13.spiral(per_class=50, classes=3, noise=0.2, seed=0)
    assert X.shape == (150, 2) and X.dtype == F64 and y.dtype == torch.int64
    assert torch.equal(torch.bincount(y), torch.tensor([50, 50, 50]))
    X2, y2 = ch13.spiral(per_class=50, classes=3, noise=0.2, seed=0)
    assert torch.equal(X, X2) and torch.equal(y, y2)
    assert not torch.equal(X, ch13.spiral(per_class=50, seed=1)[0])
    # the noise moves the angle only: each point keeps its radius
    r = torch.linspace(0.05, 1.0, 50, dtype=F64).repeat(3)
    torch.testing.assert_close(torch.linalg.vector_norm(X, dim=1), r)
    with pytest.raises(ValueError, match="classes >= 2"):
        ch13.spiral(classes=1)


def test_spiral_arms_are_turned_by_a_third_of_a_turn():
    X, y = ch13.spiral(per_class=10, classes=3, noise=0.0)
    # without noise, arm 1 is arm 0 rotated by 2π/3 (clockwise in (x, y):
    # the angle is measured from the second axis)
    a = 2 * math.pi / 3
    R = torch.tensor(
        [[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]], dtype=F64
    )
    torch.testing.assert_close(X[y == 1], X[y == 0] @ R)


def test_one_hot_rows():
    y = torch.tensor([2, 0, 1, 2])
    Y = ch13.one_hot(y, 3)
    assert Y.dtype == F64
    assert torch.equal(Y.argmax(1), y) and torch.equal(Y.sum(1), torch.ones(4))


def test_init_params_shapes_seed_and_scale():
    ps = ch13.init_params((2, 16, 16, 3), seed=0)
    assert [tuple(p.shape) for p in ps] == [
        (2, 16), (16,), (16, 16), (16,), (16, 3), (3,)
    ]  # fmt: skip
    assert all(p.dtype == F64 for p in ps)
    assert all(
        torch.equal(a, b)
        for a, b in zip(ps, ch13.init_params((2, 16, 16, 3), seed=0))
    )
    big = ch13.init_params((400, 400), seed=1)[0]
    assert abs(big.var().item() - 2 / 400) < 0.05 * 2 / 400  # N(0, 2/n_in)


# ------------------------------------------------------------------ model
def test_loss_torch_is_torchs_cross_entropy(problem):
    params, X, y, Y = problem
    Z = ch13.logits_torch(params, X)
    torch.testing.assert_close(
        ch13.loss_torch(params, X, Y), F.cross_entropy(Z, y)
    )


def test_loss_vjplib_value_and_gradient_against_torch(problem):
    params, X, y, Y = problem
    leaves = [vjplib.tensor(p, requires_grad=True) for p in params]
    value = ch13.loss(leaves, X, Y)
    ref = [p.clone().requires_grad_() for p in params]
    Z = ch13.logits_torch(ref, X)
    want = F.cross_entropy(Z, y)  # torch's own, not our formula
    vjplib.assert_close(value, want, rtol=1e-12)
    value.backward()
    grads = torch.autograd.grad(want, ref)
    for p, g in zip(leaves, grads):
        vjplib.assert_close(p.grad, g, rtol=1e-10, atol=1e-13)


def test_loss_is_stable_for_huge_logits(problem):
    params, X, y, Y = problem
    big = [1e3 * p for p in params]  # logits of order 1e6: exp overflows
    Z = ch13.logits_torch(big, X)
    assert torch.isinf(torch.exp(Z)).any()
    value = ch13.loss([vjplib.tensor(p) for p in big], X, Y)
    assert torch.isfinite(value.primal)
    vjplib.assert_close(value, F.cross_entropy(Z, y), rtol=1e-12)


def test_accuracy():
    Z = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]], dtype=F64)
    assert ch13.accuracy(Z, torch.tensor([0, 1, 1])) == pytest.approx(2 / 3)
    assert ch13.accuracy(vjplib.tensor(Z), torch.tensor([0, 1, 0])) == 1.0


def test_relu_signs(problem):
    params, X, y, Y = problem
    signs = ch13.relu_signs(params, X)
    assert signs.shape == (60, 32) and signs.dtype == torch.bool
    # the network with every relu replaced by its current 0/1 mask is the
    # network itself: the signs are its linear piece at these points
    W1, b1, W2, b2, W3, b3 = params
    m1, m2 = signs[:, :16].to(F64), signs[:, 16:].to(F64)
    Z = ((((X @ W1 + b1) * m1) @ W2 + b2) * m2) @ W3 + b3
    torch.testing.assert_close(Z, ch13.logits_torch(params, X))
    up = [p.clone() for p in params]
    up[1] = up[1] + 100.0  # every first-layer unit on
    assert ch13.relu_signs(up, X)[:, :16].all()


# ------------------------------------------------------------------ torch
def test_train_torch_steps_are_sgd(problem):
    params, X, y, Y = problem
    run = ch13.train_torch(params, X, Y, steps=2, lr=0.3)
    ps = [p.clone().requires_grad_() for p in params]
    for step in range(2):
        value = F.cross_entropy(ch13.logits_torch(ps, X), y)
        grads = torch.autograd.grad(value, ps)
        assert run.losses[step] == pytest.approx(value.item(), rel=1e-12)
        ps = [
            (p - 0.3 * g).detach().requires_grad_() for p, g in zip(ps, grads)
        ]
        for a, b in zip(run.params[step], ps):
            torch.testing.assert_close(a, b.detach(), rtol=1e-12, atol=1e-14)
    assert all(not p.requires_grad for p in run.params[0])
    assert torch.equal(params[0], ch13.init_params(seed=4)[0])  # untouched


def test_train_torch_momentum_and_no_reset(problem):
    params, X, y, Y = problem
    lr, mu = 0.1, 0.9
    run = ch13.train_torch(params, X, Y, steps=3, lr=lr, momentum=mu)
    stale = ch13.train_torch(params, X, Y, steps=3, lr=lr, zero_grad=False)
    ps = [p.clone() for p in params]
    v = [torch.zeros_like(p) for p in params]
    acc = [torch.zeros_like(p) for p in params]
    qs = [p.clone() for p in params]
    for step in range(3):
        gp = torch.func.grad(lambda ps: ch13.loss_torch(ps, X, Y))(ps)
        v = [mu * vi + g for vi, g in zip(v, gp)]
        ps = [p - lr * vi for p, vi in zip(ps, v)]
        gq = torch.func.grad(lambda qs: ch13.loss_torch(qs, X, Y))(qs)
        acc = [a + g for a, g in zip(acc, gq)]  # .grad never reset
        qs = [q - lr * a for q, a in zip(qs, acc)]
        ch13.assert_same(run.params[step], ps, step, rtol=1e-12)
        ch13.assert_same(stale.params[step], qs, step, rtol=1e-12)


def test_assert_same_passes_equal_and_names_what_differs():
    a = [torch.ones(2, dtype=F64), torch.zeros(3, dtype=F64) + 2.0]
    ch13.assert_same([vjplib.tensor(t) for t in a], a)
    b = [a[0], a[1] * (1 + 1e-9)]
    with pytest.raises(AssertionError, match="after step 4: b1 differs"):
        ch13.assert_same(b, a, step=4)
    ch13.assert_same(b, a, rtol=1e-8)
    with pytest.raises(AssertionError, match="shape"):
        ch13.assert_same([a[0], torch.ones(4, dtype=F64)], a)
    with pytest.raises(AssertionError, match="1 parameters"):
        ch13.assert_same(a[:1], a)


def test_per_example_grads_torch(problem):
    params, X, y, Y = problem
    grads = ch13.per_example_grads_torch(params, X, Y)
    assert [tuple(g.shape) for g in grads] == [
        (60,) + tuple(p.shape) for p in params
    ]
    ps = [p.clone().requires_grad_() for p in params]
    # the batch loss is the mean of the examples' losses: so is its gradient
    batch = torch.autograd.grad(
        F.cross_entropy(ch13.logits_torch(ps, X), y), ps
    )
    for g, b in zip(grads, batch):
        torch.testing.assert_close(g.mean(0), b)
    one = torch.autograd.grad(
        F.cross_entropy(ch13.logits_torch(ps, X[7:8]), y[7:8]), ps
    )
    for g, o in zip(grads, one):
        torch.testing.assert_close(g[7], o)


# ------------------------------------------------------------------ figures
def test_figures(problem):
    params, X, y, Y = problem
    run = ch13.train_torch(params, X, Y, steps=3, lr=0.3)
    grid = ch13.grid_points(X, size=30)
    assert grid.shape == (900, 2)
    lo, hi = grid.min(0).values, grid.max(0).values
    assert (lo < X.min(0).values).all() and (hi > X.max(0).values).all()
    fig = ch13.plot_training(
        run.losses, run.losses, ch13.logits_torch(params, grid), X, y
    )
    ax, bx = fig.axes
    assert len(ax.lines) == 2 and len(bx.collections) == 3 + 3
    fig = ch13.plot_curves({"a": [1.0, 0.5], "b": [1.0, 2.0]}, "t")
    assert len(fig.axes[0].lines) == 2
    fig = ch13.plot_norms(torch.rand(50, dtype=F64), 0.5)
    assert fig.axes[0].lines[0].get_xdata()[0] == 0.5


# ------------------------------------------------------------------ exercises
def _update(params, velocity, lr, mu, variant="right"):
    with vjplib.no_grad():
        for p, v in zip(params, velocity):
            if variant == "right":
                v.mul_(mu).add_(p.grad)
                p.sub_(lr * v)
            elif variant == "plain":
                p.sub_(lr * p.grad)
            elif variant == "damp":
                v.mul_(mu).add_((1 - mu) * p.grad)
                p.sub_(lr * v)
            elif variant == "late":
                p.sub_(lr * v)
                v.mul_(mu).add_(p.grad)
            elif variant == "nesterov":
                v.mul_(mu).add_(p.grad)
                p.sub_(lr * (p.grad + mu * v))
            elif variant == "sign":
                v.mul_(mu).add_(p.grad)
                p.add_(lr * v)


def test_check_momentum_accepts_torchs_update(capsys):
    assert ch13.check_momentum(_update)
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize(
    "variant, words",
    [
        ("plain", "plain SGD"),
        ("damp", "(1 - mu)"),
        ("late", "old velocity"),
        ("nesterov", "Nesterov"),
        ("sign", "uphill"),
    ],
)
def test_check_momentum_names_the_mistake(variant, words):
    def step(params, velocity, lr, mu):
        _update(params, velocity, lr, mu, variant)

    with says(re.escape(words)):
        assert not ch13.check_momentum(step)


def test_check_momentum_refuses_a_rebound_parameter():
    def step(params, velocity, lr, mu):
        for i, p in enumerate(params):
            params[i] = p - lr * p.grad  # a new non-leaf, recorded

    with says("no longer a leaf"):
        assert not ch13.check_momentum(step)


def test_broken_train_explodes():
    X, y = ch13.spiral(per_class=40, seed=1)
    params = [vjplib.tensor(p, requires_grad=True) for p in ch13.init_params()]
    losses = ch13.broken_train(params, X, ch13.one_hot(y, 3))
    finite = [v for v in losses if math.isfinite(v)]
    assert len(finite) < len(losses) or max(finite[5:]) > 10 * finite[0]


def _fixed(params, X, Y, steps, lr):
    for _ in range(steps):
        for p in params:
            p.grad = None
        ch13.loss(params, X, Y).backward()
        with vjplib.no_grad():
            for p in params:
                p.sub_(lr * p.grad)


def test_check_exploding(capsys):
    assert ch13.check_exploding(_fixed)
    assert "Correct" in capsys.readouterr().out

    def as_given(params, X, Y, steps, lr):
        ch13.broken_train(params, X, Y, steps, lr)

    with says("explodes|diverges"):
        assert not ch13.check_exploding(as_given)

    def smaller_lr(params, X, Y, steps, lr):
        ch13.broken_train(params, X, Y, steps, lr / 1000)

    with says("only hides"):
        assert not ch13.check_exploding(smaller_lr)

    def lr_over_n(params, X, Y, steps, lr):  # the same steps, to rounding
        ch13.broken_train(params, X, Y, steps, lr / X.shape[0])

    assert ch13.check_exploding(lr_over_n)


def test_check_momentum_names_the_entry_of_the_parameter_that_differs():
    def step(params, velocity, lr, mu):
        _update(params, velocity, lr, mu)
        with vjplib.no_grad():
            params[-1].add_(1e-3)  # the last parameter drifts a little

    with says(
        re.escape(f"after step 1, {ch13.NAMES[len(ch13.init_params()) - 1]}")
        + r": entry \("
    ):
        assert not ch13.check_momentum(step)
