"""vjplib.autograd.grad, side by side with torch.autograd.grad: it returns
the cotangents (and leaves .grad alone), create_graph records the walk and
implies retain_graph, and the errors have torch's class and key words."""

import math

import pytest
import torch
from test_tensor import close, matrix, pair, raises_both, vector, z_torch, z_vl

import vjplib as vl


def test_returns_and_does_not_accumulate():
    X, Xt = pair(matrix())
    (g,) = vl.autograd.grad(z_vl(X), X)
    (gt,) = torch.autograd.grad(z_torch(Xt), Xt)
    close(g, gt)
    assert X.grad is None and Xt.grad is None
    assert isinstance(g, vl.Tensor) and not g.requires_grad
    close(g, vl.grad(z_vl)(matrix()))  # the functional face agrees


def test_several_inputs_a_non_leaf_and_grad_outputs():
    x, xt = pair(vector())
    y, yt = x.sin(), xt.sin()
    w = vector(seed=4)
    outs = (vl.tanh(y * 2), torch.tanh(yt * 2))
    got = vl.autograd.grad(outs[0], (x, y), grad_outputs=w)
    want = torch.autograd.grad(outs[1], (xt, yt), grad_outputs=w)
    for a, b in zip(got, want):
        close(a, b)


def test_several_outputs_add():
    x, xt = pair(vector())
    got = vl.autograd.grad([x.sin().sum(), (x * x).sum()], x)
    want = torch.autograd.grad([xt.sin().sum(), (xt * xt).sum()], xt)
    close(got[0], want[0])


def test_frees_the_graph_unless_retain_graph():
    X, Xt = pair(matrix())
    z, zt = z_vl(X), z_torch(Xt)
    vl.autograd.grad(z, X)
    torch.autograd.grad(zt, Xt)
    raises_both(
        lambda: vl.autograd.grad(z, X),
        lambda: torch.autograd.grad(zt, Xt),
        RuntimeError,
        "backward through the graph a second time",
        "retain_graph=True",
    )
    z, zt = z_vl(X), z_torch(Xt)
    vl.autograd.grad(z, X, retain_graph=True)
    torch.autograd.grad(zt, Xt, retain_graph=True)
    close(vl.autograd.grad(z, X)[0], torch.autograd.grad(zt, Xt)[0])


def test_create_graph_gives_an_hvp_and_implies_retain_graph():
    X, Xt = pair(matrix())
    V = matrix(seed=5)
    z, zt = z_vl(X), z_torch(Xt)
    (g,) = vl.autograd.grad(z, X, create_graph=True)
    (gt,) = torch.autograd.grad(zt, Xt, create_graph=True)
    assert g.requires_grad and gt.requires_grad
    (Hv,) = vl.autograd.grad((g * V).sum(), X, retain_graph=True)
    (Hvt,) = torch.autograd.grad((gt * V).sum(), Xt, retain_graph=True)
    close(Hv, Hvt)
    close(Hv, vl.hvp(z_vl, matrix(), V)[1])
    z.backward()  # z's graph was kept: create_graph implies retain_graph
    zt.backward()
    close(X.grad, Xt.grad)
    raises_both(  # ... and this walk freed it
        lambda: z.backward(),
        lambda: zt.backward(),
        RuntimeError,
        "backward through the graph a second time",
    )


def test_unused_input():
    (a, at), (b, bt) = pair(vector()), pair(vector(seed=3))
    raises_both(
        lambda: vl.autograd.grad((a * 2).sum(), (a, b)),
        lambda: torch.autograd.grad((at * 2).sum(), (at, bt)),
        RuntimeError,
        "at index 1 appears to not have been used in the graph",
        "allow_unused=True",
    )
    got = vl.autograd.grad((a * 2).sum(), (a, b), allow_unused=True)
    want = torch.autograd.grad((at * 2).sum(), (at, bt), allow_unused=True)
    close(got[0], want[0])
    assert got[1] is None and want[1] is None
    got = vl.autograd.grad((a * 2).sum(), (a, b), materialize_grads=True)
    want = torch.autograd.grad(
        (at * 2).sum(), (at, bt), materialize_grads=True
    )
    close(got[1], want[1])


def test_errors_as_torch():
    x, xt = pair(vector())
    c, ct = vl.tensor(vector()), vector()
    raises_both(
        lambda: vl.autograd.grad((x * c).sum(), c),
        lambda: torch.autograd.grad((xt * ct).sum(), ct),
        RuntimeError,
        "One of the differentiated Tensors does not require grad",
    )
    raises_both(
        lambda: vl.autograd.grad(x * 2, x),
        lambda: torch.autograd.grad(xt * 2, xt),
        RuntimeError,
        "grad can be implicitly created only for scalar outputs",
    )
    raises_both(
        lambda: vl.autograd.grad((c * 2).sum(), x),
        lambda: torch.autograd.grad((ct * 2).sum(), xt),
        RuntimeError,
        "element 0 of tensors does not require grad",
    )
    raises_both(
        lambda: vl.autograd.grad(x * 2, x, grad_outputs=torch.ones(3)),
        lambda: torch.autograd.grad(xt * 2, xt, grad_outputs=torch.ones(3)),
        RuntimeError,
        "Mismatch in shape",
    )


def test_hooks_run_and_retain_grad_is_filled_as_in_torch():
    x, xt = pair(vector())
    y, yt = x.exp(), xt.exp()
    for t in (y, yt):
        t.register_hook(lambda g: 2 * g)
        t.retain_grad()
    (g,) = vl.autograd.grad(y.sum(), x)
    (gt,) = torch.autograd.grad(yt.sum(), xt)
    close(g, gt)
    close(y.grad, yt.grad)  # torch fills a retained .grad here too
    assert x.grad is None and xt.grad is None


def test_batched_grads_are_refused_with_the_way_out():
    x = vl.tensor(vector(), requires_grad=True)
    with pytest.raises(NotImplementedError, match="vmap"):
        vl.autograd.grad(x * 2, x, torch.ones(2, 5), is_grads_batched=True)


# ------------------------------------------------ saved_tensors_hooks


def _saves_exp(lib):
    """exp of a 3-vector and the list its pack hook logs saved shapes to."""
    if lib is torch:
        x = torch.ones(3, dtype=torch.float64, requires_grad=True)
        return lambda: torch.exp(x)
    x = vl.tensor(torch.ones(3, dtype=torch.float64), requires_grad=True)
    return lambda: vl.exp(x)


@pytest.mark.parametrize("lib", [torch, vl], ids=["torch", "vjplib"])
def test_saved_tensors_hooks_pack_on_save_unpack_on_read(lib):
    """pack runs when exp saves its output, unpack when backward reads it;
    the unpacked tensor is the saved one; the hooks go on exit."""
    log = []

    def pack(t):
        log.append(("pack", tuple(t.shape)))
        return t

    def unpack(t):
        log.append(("unpack", tuple(t.shape)))
        return t

    run = _saves_exp(lib)
    with lib.autograd.graph.saved_tensors_hooks(pack, unpack):
        y = run()
    assert log == [("pack", (3,))]
    y.sum().backward()
    assert log[-1] == ("unpack", (3,))
    log.clear()
    run().sum().backward()  # outside the block: no hook runs
    assert log == []


@pytest.mark.parametrize("lib", [torch, vl], ids=["torch", "vjplib"])
def test_saved_tensors_hooks_nest_innermost_wins(lib):
    """Nested blocks: only the innermost pair packs; leaving it restores
    the outer pair, as torch does."""
    log = []

    def hooks(name):
        return lib.autograd.graph.saved_tensors_hooks(
            lambda t: (log.append(name), t)[1], lambda t: t
        )

    run = _saves_exp(lib)
    with hooks("outer"):
        run()
        with hooks("inner"):
            run()
        run()
    run()
    assert log == ["outer", "inner", "outer"]


def test_saved_tensors_hooks_vjplib_refuses_offloading():
    """torch lets unpack return another tensor (offloading); vjplib keeps
    its own reference, so it refuses, naming the way."""
    x = vl.tensor(torch.ones(3, dtype=torch.float64), requires_grad=True)
    with vl.autograd.graph.saved_tensors_hooks(
        lambda t: t.clone(), lambda t: t
    ):
        y = vl.exp(x)
    with pytest.raises(RuntimeError, match="unpack_hook must return"):
        y.sum().backward()


def test_saved_tensors_hooks_see_the_functional_face():
    """vjplib.vjp's ops save through the same Context: the hook sees them."""
    shapes = []
    with vl.autograd.graph.saved_tensors_hooks(
        lambda t: (shapes.append(tuple(t.shape)), t)[1], lambda t: t
    ):
        _, vjp_fn = vl.vjp(vl.tanh, torch.ones(2, 5, dtype=torch.float64))
    assert shapes == [(2, 5)]  # tanh keeps its output
    (x_bar,) = vjp_fn(torch.ones(2, 5, dtype=torch.float64))
    expected = 1 - math.tanh(1) ** 2
    assert torch.allclose(x_bar, torch.full_like(x_bar, expected))
