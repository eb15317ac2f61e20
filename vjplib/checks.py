"""Checks the book and the tests use: identities and comparisons that fail
loudly and precisely.

``assert_close``, ``dot_product_test`` (⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩),
``check_against_torch``, ``check_jacobians`` (jacrev == jacfwd == central
differences); and ``graph_bytes``, ``torch_graph_bytes``,
``eager_graph_bytes``: ``vjplib.memory.kept_bytes`` for the three ways the
chapters make a graph.
"""

import torch

from .memory import kept_bytes
from .tensor import Tensor, tensor
from .transforms import jacfwd, jacobian_fd, jacrev, jvp, vjp


def assert_close(actual, expected, *, what="value", rtol=1e-7, atol=1e-10):
    """Raise AssertionError unless |actual - expected| <= atol + rtol
    |expected| everywhere. nan matches nan, and inf matches an inf of the
    same sign (as in torch.testing)."""
    actual, expected = (
        torch.as_tensor(v.primal if isinstance(v, Tensor) else v)
        for v in (actual, expected)
    )
    if actual.shape != expected.shape:
        raise AssertionError(
            f"{what}: shape {tuple(actual.shape)} but expected "
            f"{tuple(expected.shape)}"
        )
    a, e = actual.detach().double().cpu(), expected.detach().double().cpu()
    err = (a - e).abs()
    excess = err - (atol + rtol * e.abs())
    excess[torch.isnan(excess)] = float("inf")  # nan error, or inf expected
    excess[torch.isnan(a) & torch.isnan(e)] = -1.0
    excess[a == e] = -1.0  # equal, infinities of one sign too
    bad = excess > 0
    if bad.any():
        flat = int(torch.argmax(excess.reshape(-1)))
        index = torch.unravel_index(torch.tensor(flat), a.shape)
        where = tuple(int(i) for i in index) if a.ndim else ()
        ae, ee = a.reshape(-1)[flat].item(), e.reshape(-1)[flat].item()
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {a.numel()} entries differ "
            f"(shape {tuple(a.shape)}); worst at index {where}: got "
            f"{ae:.10g}, expected {ee:.10g}, abs error {abs(ae - ee):.3g}, "
            f"rel error {abs(ae - ee) / max(abs(ee), 1e-300):.3g} "
            f"(rtol={rtol:g}, atol={atol:g})"
        )


def _random_like(t, gen):
    return torch.randn(tuple(t.shape), generator=gen, dtype=torch.float64).to(
        device=t.device, dtype=t.dtype
    )


def dot_product_test(f, *primals, seed=0, rtol=1e-9, atol=1e-12):
    """Check ⟨ȳ, J ẋ⟩ = ⟨Jᵀȳ, ẋ⟩ for random ȳ and ẋ; return both sides.

    J ẋ comes from f's JVP rules and Jᵀȳ from its VJP rules, so the test passes
    only if both rules describe the same Jacobian (it cannot tell whether that
    Jacobian is right: compare with torch).
    """
    gen = torch.Generator().manual_seed(seed)
    x_dots = [_random_like(p, gen) for p in primals]
    y, y_dot = jvp(f, primals, x_dots)
    y_bar = _random_like(y, gen)
    x_bars = vjp(f, *primals)[1](y_bar)
    lhs = (y_bar * y_dot).sum()
    rhs = torch.stack([(b * d).sum() for b, d in zip(x_bars, x_dots)]).sum()
    scale = (y_bar * y_dot).abs().sum() + torch.stack(
        [(b * d).abs().sum() for b, d in zip(x_bars, x_dots)]
    ).sum()
    name = getattr(f, "__qualname__", repr(f))
    if not abs(lhs - rhs) <= atol + rtol * scale:
        raise AssertionError(
            f"dot-product test failed for {name}: <y_bar, J x_dot> = "
            f"{lhs.item():.12g} but <J^T y_bar, x_dot> = {rhs.item():.12g} "
            f"(abs diff {abs(lhs - rhs).item():.3g}, relative to the terms "
            f"{(abs(lhs - rhs) / scale).item():.3g}); the VJP and JVP rules "
            "do not describe the same Jacobian"
        )
    return lhs, rhs


def check_against_torch(
    f, *primals, reference=None, seed=0, rtol=1e-7, atol=1e-10
):
    """Compare f's value, VJP and JVP with torch's on `reference` (default: f
    itself on plain tensors, whose forward is torch code that torch
    differentiates without vjplib's rules).

    The VJP is compared with torch.autograd.grad for a random y_bar, the JVP
    with torch.func.jvp for random x_dots; a mismatch fails as
    ``assert_close`` does, naming the check and the argument.
    """
    reference = f if reference is None else reference
    tol = dict(rtol=rtol, atol=atol)
    gen = torch.Generator().manual_seed(seed)
    y, vjp_fn = vjp(f, *primals)
    xs = [p.detach().clone().requires_grad_(True) for p in primals]
    y_ref = reference(*xs)
    assert_close(y, y_ref, what="forward value", **tol)

    y_bar = _random_like(y, gen)
    x_bars = vjp_fn(y_bar)
    refs = (
        torch.autograd.grad(y_ref, xs, y_bar, allow_unused=True)
        if y_ref.requires_grad
        else [None] * len(xs)
    )
    for i, (b, r, x) in enumerate(zip(x_bars, refs, xs)):
        r = torch.zeros_like(x) if r is None else r
        assert_close(b, r, what=f"VJP (x_bar) for argument {i}", **tol)

    x_dots = tuple(_random_like(p, gen) for p in primals)
    _, y_dot = jvp(f, primals, x_dots)
    _, y_dot_ref = torch.func.jvp(
        reference, tuple(p.detach() for p in primals), x_dots
    )
    assert_close(y_dot, y_dot_ref, what="JVP (y_dot)", **tol)


def check_jacobians(f, x, *, rtol=1e-6, atol=1e-8):
    """Check that rows from VJPs, columns from JVPs and central differences
    give one J; return J."""
    J, tol = jacrev(f)(x), dict(rtol=rtol, atol=atol)
    assert_close(jacfwd(f)(x), J, what="jacfwd vs jacrev", **tol)
    assert_close(jacobian_fd(f, x), J, what="jacobian_fd vs jacrev", **tol)
    return J


def graph_bytes(f, *primals):
    """The bytes ``vjplib.vjp(f, *primals)`` keeps alive (``kept_bytes``)."""
    return kept_bytes(lambda: vjp(f, *primals))


def torch_graph_bytes(f, *primals):
    """The same for torch code f, on primals that require grad."""
    return kept_bytes(
        lambda: f(*[p.detach().requires_grad_(True) for p in primals])
    )


def eager_graph_bytes(f, *primals):
    """The same for the eager face: f of ``vjplib.tensor(p,
    requires_grad=True)`` leaves (under ``no_grad()``: nothing recorded)."""
    leaves = [tensor(p, requires_grad=True) for p in primals]  # before
    return kept_bytes(lambda: f(*leaves))
