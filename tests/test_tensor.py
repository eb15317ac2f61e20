"""The eager face (vjplib/tensor.py), side by side with torch.autograd.

Each test does the same thing with ``vjplib.tensor`` and with
``torch.tensor(..., requires_grad=True)``, in float64, and compares the
values, or the kind of error and the key words of its message.
"""

import pytest
import torch

import vjplib as vl

F64 = torch.float64


def matrix(n=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, n, generator=g, dtype=F64) + n * torch.eye(
        n, dtype=F64
    )


def vector(n=5, seed=1):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=F64)


def pair(data):
    """The same leaf twice: a vjplib.Tensor and a torch tensor."""
    return (
        vl.tensor(data, requires_grad=True),
        data.clone().requires_grad_(True),
    )


def close(a, b):
    a = a.primal if isinstance(a, vl.Tensor) else a
    vl.assert_close(a, b.detach(), rtol=1e-12, atol=1e-14)


def raises_both(f_vl, f_torch, exc, *words):
    """Both raise `exc`, and both messages hold every one of `words`."""
    messages = []
    for f in (f_vl, f_torch):
        with pytest.raises(exc) as info:
            f()
        messages.append(str(info.value))
    for word in words:
        for who, message in zip(("vjplib", "torch"), messages):
            assert word in message, f"{who}: {word!r} not in {message!r}"
    return messages


def z_vl(X):
    return vl.norm(vl.inv(X))


def z_torch(X):
    return torch.linalg.norm(torch.linalg.inv(X))


# ---------------------------------------------------------------- values


def test_backward_of_the_running_example_matches_torch():
    X, Xt = pair(matrix())
    z, zt = z_vl(X), z_torch(Xt)
    close(z, zt)
    z.backward()
    zt.backward()
    close(X.grad, Xt.grad)
    assert isinstance(X.grad, vl.Tensor) and not X.grad.requires_grad


def test_operators_and_methods_match_torch():
    (x, xt), (W, Wt) = pair(vector(4)), pair(matrix(4, seed=3))
    y = ((W @ x).tanh() * 2 - x / 3 + x**2).exp().sum() + (W.T @ x).sum()
    yt = ((Wt @ xt).tanh() * 2 - xt / 3 + xt**2).exp().sum() + (
        Wt.T @ xt
    ).sum()
    close(y, yt)
    y.backward()
    yt.backward()
    close(x.grad, xt.grad)
    close(W.grad, Wt.grad)


def test_flags_as_torch():
    x, xt = pair(vector())
    c, ct = vl.tensor(vector(seed=2)), vector(seed=2)
    y, yt = x * c, xt * ct
    for a, b in ((x, xt), (c, ct), (y, yt)):
        assert a.requires_grad == b.requires_grad
        assert a.is_leaf == b.is_leaf
        assert (a.grad_fn is None) == (b.grad_fn is None)
    y.sum().backward()
    yt.sum().backward()
    assert c.grad is None and ct.grad is None
    for non_leaf in (y, yt):  # None, and a warning naming retain_grad
        with pytest.warns(UserWarning, match=r"not a leaf.*retain_grad"):
            assert non_leaf.grad is None
    close(x.grad, xt.grad)
    assert "grad_fn=<Mul>" in repr(y) and "requires_grad=True" in repr(x)


def test_grad_accumulates_across_calls_and_none_resets():
    X, Xt = pair(matrix())
    for _ in range(3):
        z_vl(X).backward()
        z_torch(Xt).backward()
        close(X.grad, Xt.grad)
    X.grad, Xt.grad = None, None
    z_vl(X).backward()
    z_torch(Xt).backward()
    close(X.grad, Xt.grad)
    once = X.grad.primal.clone()
    z_vl(X).backward()
    close(X.grad, 2 * once)


def test_a_leaf_in_two_graphs_gets_the_cotangent_sum():
    """Two losses, two backward calls: .grad is their sum, as a node used
    twice in one graph gets the sum of its two cotangents."""
    x, xt = pair(vector())
    x.sin().sum().backward()
    x.cos().sum().backward()
    both = vl.tensor(vector(), requires_grad=True)
    (both.sin().sum() + both.cos().sum()).backward()
    close(x.grad, both.grad.primal)
    xt.sin().sum().backward()
    xt.cos().sum().backward()
    close(x.grad, xt.grad)


# ---------------------------------------------------------------- retain_graph


def test_second_backward_needs_retain_graph():
    X, Xt = pair(matrix())
    z, zt = z_vl(X), z_torch(Xt)
    z.backward()
    zt.backward()
    raises_both(
        z.backward,
        zt.backward,
        RuntimeError,
        "Trying to backward through the graph a second time",
        "retain_graph=True",
    )


def test_retain_graph_keeps_it_and_the_second_call_accumulates():
    X, Xt = pair(matrix())
    z, zt = z_vl(X), z_torch(Xt)
    z.backward(retain_graph=True)
    zt.backward(retain_graph=True)
    once = X.grad.primal.clone()
    z.backward()
    zt.backward()
    close(X.grad, Xt.grad)
    close(X.grad, 2 * once)


def test_saved_tensors_are_freed_after_backward():
    X = vl.tensor(matrix(), requires_grad=True)
    z = z_vl(X)
    node = z.grad_fn
    assert len(node.ctx.saved_tensors) == 2
    z.backward()
    with pytest.raises(RuntimeError, match="already been freed"):
        _ = node.ctx.saved_tensors


def test_each_node_is_freed_as_soon_as_its_vjp_ran():
    """A hook on Y runs before Inv's VJP, after Norm's: Norm's context is
    already freed there, Inv's not yet; in torch as in vjplib."""
    seen = {}
    for who, X, inv, norm in (
        ("vjplib", vl.tensor(matrix(), requires_grad=True), vl.inv, vl.norm),
        (
            "torch",
            matrix().requires_grad_(),
            torch.linalg.inv,
            torch.linalg.norm,
        ),
    ):
        Y = inv(X)
        z = norm(Y)

        def hook(Y_bar, who=who, z=z, Y=Y):
            states = []
            for node in (z.grad_fn, Y.grad_fn):
                try:
                    if who == "vjplib":
                        _ = node.ctx.saved_tensors
                    elif node is z.grad_fn:
                        _ = node._saved_result
                    else:
                        _ = node._saved_inverse
                    states.append("kept")
                except RuntimeError as e:
                    assert "already been freed" in str(e)
                    states.append("freed")
            seen[who] = states

        Y.register_hook(hook)
        z.backward()
    assert seen["vjplib"] == seen["torch"] == ["freed", "kept"]


def test_retain_graph_frees_nothing():
    X = vl.tensor(matrix(), requires_grad=True)
    z = z_vl(X)
    z.backward(retain_graph=True)
    assert len(z.grad_fn.ctx.saved_tensors) == 2


def test_a_graph_that_saved_nothing_can_be_walked_twice():
    x, xt = pair(vector())
    y, yt = (x + 1).sum(), (xt + 1).sum()
    for _ in range(2):
        y.backward()
        yt.backward()
    close(x.grad, xt.grad)


# ---------------------------------------------------------------- non-scalar


def test_non_scalar_output_needs_a_gradient():
    X, Xt = pair(matrix())
    Y, Yt = vl.inv(X), torch.linalg.inv(Xt)
    raises_both(
        Y.backward,
        Yt.backward,
        RuntimeError,
        "grad can be implicitly created only for scalar outputs",
    )


def test_backward_with_gradient_is_the_vjp():
    X0, Y_bar = matrix(), matrix(seed=5)
    X, Xt = pair(X0)
    vl.inv(X).backward(gradient=Y_bar)
    torch.linalg.inv(Xt).backward(gradient=Y_bar)
    close(X.grad, Xt.grad)
    _, vjp_fn = vl.vjp(vl.inv, X0)
    close(X.grad, vjp_fn(Y_bar)[0])
    Y = torch.linalg.inv(X0)
    close(X.grad, -Y.T @ Y_bar @ Y.T)


def test_gradient_of_the_wrong_shape():
    x, xt = pair(vector())
    raises_both(
        lambda: (x * 2).backward(torch.ones(3, dtype=F64)),
        lambda: (xt * 2).backward(torch.ones(3, dtype=F64)),
        RuntimeError,
        "Mismatch in shape",
    )


def test_the_given_gradient_is_not_aliased_by_grad():
    x, w = (vl.tensor(vector(), requires_grad=True) for _ in range(2))
    v = torch.ones(5, dtype=F64)
    (x + w).backward(v)
    x.grad.mul_(0)
    assert torch.equal(v, torch.ones(5, dtype=F64))
    assert torch.equal(w.grad.primal, v)


# ---------------------------------------------------------------- no grad


def test_backward_on_what_does_not_require_grad():
    c, ct = vl.tensor(vector()), vector()
    raises_both(
        lambda: (c * 2).sum().backward(),
        lambda: (ct * 2).sum().backward(),
        RuntimeError,
        "element 0 of tensors does not require grad",
        "does not have a grad_fn",
    )


def test_no_grad_records_nothing():
    x, xt = pair(vector())
    with vl.no_grad():
        y = (x * 3).exp()
    with torch.no_grad():
        yt = (xt * 3).exp()
    close(y, yt)
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    assert vl.is_grad_enabled()
    raises_both(
        y.sum().backward,
        yt.sum().backward,
        RuntimeError,
        "does not require grad",
    )


def test_no_grad_as_a_decorator_and_enable_grad_inside():
    x = vl.tensor(vector(), requires_grad=True)

    @vl.no_grad()
    def f(x):
        with vl.enable_grad():
            inner = x * 2
        return inner, x * 2

    inner, outer = f(x)
    assert inner.requires_grad and not outer.requires_grad
    assert vl.is_grad_enabled()


def test_detach_records_nothing_and_shares_values_and_version():
    x, xt = pair(vector())
    d, dt = x.detach(), xt.detach()
    assert not d.requires_grad and not dt.requires_grad
    assert d.primal.data_ptr() == x.primal.data_ptr()
    y, yt = (d * x).sum(), (dt * xt).sum()
    y.backward()
    yt.backward()
    close(x.grad, xt.grad)  # d is a constant: the gradient is d, not 2x
    d.mul_(2)
    dt.mul_(2)
    assert x._version == xt._version == 1
    close(x, xt)


def test_sgd_step_under_no_grad_matches_torch():
    (W, Wt), (x, xt) = pair(matrix(3)), pair(vector(3))
    for _ in range(3):
        loss = ((W @ x).tanh() ** 2).sum()
        loss_t = ((Wt @ xt).tanh() ** 2).sum()
        loss.backward()
        loss_t.backward()
        with vl.no_grad():
            W.sub_(0.1 * W.grad)
        with torch.no_grad():
            Wt.sub_(0.1 * Wt.grad)
        W.grad = Wt.grad = None
        close(W, Wt)
    assert W.is_leaf and W.requires_grad and W._version == Wt._version == 3


# ---------------------------------------------------------------- in place


def test_in_place_on_a_saved_tensor_then_backward():
    x, xt = pair(vector())
    y, yt = x.exp(), xt.exp()  # exp saves its output y
    y.mul_(2)
    yt.mul_(2)
    assert y._version == yt._version == 1
    vl_message, _ = raises_both(
        lambda: y.sum().backward(),
        lambda: yt.sum().backward(),
        RuntimeError,
        "one of the variables needed for gradient computation has been "
        "modified by an inplace operation",
        "is at version 1; expected version 0 instead",
    )
    assert "Exp" in vl_message and "mul_" in vl_message


def test_in_place_on_an_input_a_rule_saved():
    (x, xt), (W, Wt) = pair(vector(3)), pair(matrix(3))
    a, at = x * 1, xt * 1
    y, yt = W @ a, Wt @ at  # matmul saves a for W's cotangent
    a.add_(1)
    at.add_(1)
    vl_message, _ = raises_both(
        lambda: y.sum().backward(),
        lambda: yt.sum().backward(),
        RuntimeError,
        "modified by an inplace operation",
        "is at version 1; expected version 0",
    )
    assert "Matmul" in vl_message


def test_in_place_on_a_tensor_nothing_saved_is_fine():
    x, xt = pair(vector())
    y, yt = x + 1, xt + 1  # add saves nothing
    y.mul_(3)
    yt.mul_(3)
    y.div_(2)
    yt.div_(2)
    y.sub_(x)
    yt.sub_(xt)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    close(y, yt)
    close(x.grad, xt.grad)
    assert y._version == yt._version == 3


def test_in_place_with_an_operand_that_requires_grad():
    (b, bt), a, at = pair(vector(seed=4)), vl.tensor(vector()), vector()
    a.mul_(b)
    at.mul_(bt)
    assert a.requires_grad and not a.is_leaf and at.requires_grad
    (a * a).sum().backward()
    (at * at).sum().backward()
    close(b.grad, bt.grad)


def test_in_place_on_a_leaf_that_requires_grad():
    x, xt = pair(vector())
    for op in ("add_", "mul_", "sub_", "div_"):
        raises_both(
            lambda: getattr(x, op)(2.0),
            lambda: getattr(xt, op)(2.0),
            RuntimeError,
            "a leaf Variable that requires grad is being used in an "
            "in-place operation",
        )
    assert x._version == 0


def test_in_place_that_would_broadcast_the_output():
    a, at = vl.tensor(vector(3)), vector(3)
    m, mt = vl.tensor(matrix(3), requires_grad=True), matrix(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast"):
        a.add_(m)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast"):
        at.add_(mt)


def test_requires_grad_only_on_leaves():
    x, xt = pair(vector())
    raises_both(
        lambda: (x * 2).requires_grad_(False),
        lambda: (xt * 2).requires_grad_(False),
        RuntimeError,
        "you can only change requires_grad flags of leaf variables",
    )
    n = vl.tensor([1, 2])
    with pytest.raises(RuntimeError, match="floating point"):
        n.requires_grad_()


# ---------------------------------------------------------------- create_graph


def test_create_graph_gives_grad_of_grad():
    x, xt = pair(vector())
    (x.sin() * x**3).sum().backward(create_graph=True)
    (xt.sin() * xt**3).sum().backward(create_graph=True)
    close(x.grad, xt.grad)
    assert x.grad.requires_grad and xt.grad.requires_grad
    g, gt = x.grad, xt.grad
    x.grad = xt.grad = None
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    close(x.grad, xt.grad)


def test_create_graph_hessian_vector_product_of_the_running_example():
    X, Xt = pair(matrix())
    V = matrix(seed=7)
    z_vl(X).backward(create_graph=True)
    z_torch(Xt).backward(create_graph=True)
    g, gt = X.grad, Xt.grad
    X.grad = Xt.grad = None
    (g * V).sum().backward()
    (gt * V).sum().backward()
    close(X.grad, Xt.grad)
    close(X.grad, vl.hvp(z_vl, matrix(), V)[1])


# ---------------------------------------------------------------- hooks


def test_hooks_see_the_cotangent_and_can_replace_it():
    x, xt = pair(vector())
    seen, seen_t = [], []
    y, yt = x.sin(), xt.sin()
    y.register_hook(lambda g: seen.append(g.primal.clone()))
    yt.register_hook(lambda g: seen_t.append(g.clone()))
    y.register_hook(lambda g: g * 10)  # replaces y's cotangent
    yt.register_hook(lambda g: g * 10)
    x.register_hook(lambda g: g + 1)  # a leaf: before .grad
    xt.register_hook(lambda g: g + 1)
    (y * y).sum().backward()
    (yt * yt).sum().backward()
    close(seen[0], seen_t[0])
    close(x.grad, xt.grad)
    close(x.grad, 10 * 2 * torch.sin(vector()) * torch.cos(vector()) + 1)


def test_a_hook_on_a_tensor_that_does_not_require_grad():
    c, ct = vl.tensor(vector()), vector()
    raises_both(
        lambda: c.register_hook(print),
        lambda: ct.register_hook(print),
        RuntimeError,
        "cannot register a hook on a tensor that doesn't require gradient",
    )


# ---------------------------------------------------------------- two faces


def test_the_functional_face_still_works_beside_the_eager_one():
    X0 = matrix()
    X = vl.tensor(X0, requires_grad=True)
    z_vl(X).backward()
    g_functional = vl.grad(z_vl)(X0)
    assert type(g_functional) is torch.Tensor
    close(X.grad, g_functional)
    vl.check_against_torch(z_vl, X0, reference=z_torch)
    y, vjp_fn = vl.vjp(lambda X: X @ X, X0)
    assert type(y) is torch.Tensor and type(vjp_fn(X0)[0]) is torch.Tensor


def test_grad_of_a_function_of_tensors_is_itself_recorded():
    """vjplib.grad on a Tensor that requires grad: the functional
    transformation sits above the eager face, and its result is recorded
    on the eager graph, as torch.func.grad's is on torch's."""
    x0 = vector()
    x, xt = pair(x0)
    f_vl = lambda x: (vl.sin(x) * x**3).sum()
    g = vl.grad(f_vl)(x)
    gt = torch.func.grad(lambda x: (x.sin() * x**3).sum())(xt)
    close(g, gt)
    assert g.requires_grad and gt.requires_grad
    (g * g).sum().backward()
    (gt * gt).sum().backward()
    close(x.grad, xt.grad)


def test_tensor_constructor():
    t = vl.tensor([1.0, 2.0])
    assert t.dtype == F64 and not t.requires_grad and t.is_leaf
    source = vector()
    copy = vl.tensor(source)
    copy.add_(1)
    assert torch.equal(source, vector())  # a copy, as torch.tensor makes
    assert vl.tensor(3.0, requires_grad=True).item() == 3.0
    with pytest.raises(RuntimeError, match="detach"):
        vl.tensor([1.0], requires_grad=True).numpy()
    assert vl.tensor([1.0]).numpy().tolist() == [1.0]


# ---------------------------------------------------------------- .grad


def test_retain_grad_fills_a_non_leaf_and_accumulates():
    x, xt = pair(vector())
    (y, yt) = (x.exp(), xt.exp())
    for t in (y, yt):
        assert not t.retains_grad
        t.retain_grad()
        assert t.retains_grad
    assert not x.retains_grad and not xt.retains_grad
    x.retain_grad()  # a leaf: nothing to do
    xt.retain_grad()
    for _ in range(2):  # retain_graph: the second call accumulates
        (y * y).sum().backward(retain_graph=True)
        (yt * yt).sum().backward(retain_graph=True)
        close(y.grad, yt.grad)
        close(x.grad, xt.grad)
    close(y.grad, 4 * yt.detach())


def test_retain_grad_sees_the_hooked_cotangent():
    """retain_grad's .grad is the cotangent after the tensor's hooks (torch
    runs retains_grad hooks last)."""
    x, xt = pair(vector())
    y, yt = x.sin(), xt.sin()
    for t in (y, yt):
        t.retain_grad()
        t.register_hook(lambda g: g * 3)
    y.sum().backward()
    yt.sum().backward()
    close(y.grad, yt.grad)
    close(x.grad, xt.grad)


def test_retain_grad_needs_requires_grad():
    raises_both(
        lambda: vl.tensor(vector()).retain_grad(),
        lambda: vector().retain_grad(),
        RuntimeError,
        "can't retain_grad on Tensor that has requires_grad=False",
    )


def test_grad_reads_as_a_torch_tensor():
    X, Xt = pair(matrix())
    z_vl(X).backward()
    z_torch(Xt).backward()
    g, gt = X.grad, Xt.grad
    for name in ("norm", "sum", "abs", "max", "mean"):
        a, b = getattr(g, name)(), getattr(gt, name)()
        assert isinstance(a, vl.Tensor)
        close(a, b)
    assert g.sum().item() == pytest.approx(gt.sum().item(), rel=1e-12)
    close(torch.from_numpy(g.numpy()), gt)
    c = g.clone()
    assert c.primal.data_ptr() != g.primal.data_ptr()
    close(c, gt)
    assert torch.allclose(g, gt) and torch.allclose(
        torch.abs(g).primal, gt.abs()
    )
    close(g[1], gt[1])
    assert len(g) == len(gt) == 4
    with pytest.raises(TypeError, match="detach"):
        X[0]
    g.zero_()  # in place, as optimizer.zero_grad(set_to_none=False) does
    assert X.grad.primal.abs().max() == 0 and g._version == 1


def test_a_tensor_that_requires_grad_refuses_torch_methods():
    X, Xt = pair(matrix())
    raises_both(
        lambda: X.numpy(),
        lambda: Xt.numpy(),
        RuntimeError,
        "Use tensor.detach().numpy() instead",
    )
    with pytest.raises(AttributeError, match="vjplib"):
        X.cumprod(0)  # no vjplib op: refused, not cut off from the graph
    with pytest.raises(TypeError, match="vjplib"):
        torch.cumprod(X, 0)


def test_clone_is_differentiable():
    x, xt = pair(vector())
    y, yt = x.clone() * x, xt.clone() * xt
    assert y.grad_fn is not None
    y.sum().backward()
    yt.sum().backward()
    close(x.grad, xt.grad)
    close(x.grad, 2 * xt.detach())


def test_augmented_assignment_is_in_place_as_in_torch():
    # torch: W -= lr * W.grad changes W in place (it stays the same leaf
    # under no_grad) and is refused on a leaf that requires grad outside it
    for lib in (torch, vl):
        W = lib.tensor([1.0, 2.0], requires_grad=True)
        (W * W).sum().backward()
        before = W
        with lib.no_grad():
            W -= 0.5 * W.grad
        assert W is before and W.is_leaf and W.requires_grad
        assert W.tolist() == [0.0, 0.0]
        with pytest.raises(RuntimeError, match="leaf Variable"):
            W -= 1.0
        # on a non-leaf, += records the add, as torch does
        x = lib.tensor([3.0], requires_grad=True)
        total = x * 1.0
        total += x * x
        total.sum().backward()
        assert x.grad.tolist() == [7.0]
