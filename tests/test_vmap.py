"""vmap: the batching rule of every op against a Python loop and
torch.func.vmap (float64); nesting, in_dims None, out_dims; per-example
gradients (vmap of grad); the Jacobians as vmapped VJPs and JVPs; errors."""

import pytest
import torch
from test_linearize import EXAMPLES, OP_CLASSES, example_cases, rand, split

import vjplib as vl
from vjplib import assert_close

F64 = torch.float64
RTOL, ATOL = 1e-10, 1e-12
BATCH = 3


def stack_of(x, k):
    """BATCH variants of x (positive stays positive: scaled copies)."""
    return torch.stack(
        [x * (1 + 0.25 * j) + 0.01 * k * j for j in range(BATCH)]
    )


@pytest.mark.parametrize("cls, i", example_cases())
@pytest.mark.parametrize("unstacked", [False, True], ids=["all", "first"])
def test_every_ops_batching_rule_vs_loop_and_torch(cls, i, unstacked):
    """in_dims 0 for every tensor input ("all"), or only for the first, the
    others None ("first")."""
    args, f_torch = EXAMPLES[cls][i]
    xs, with_tensors = split(args)
    f, f_ref = with_tensors(cls.apply), with_tensors(f_torch)
    in_dims = tuple(
        0 if k == 0 or not unstacked else None for k in range(len(xs))
    )
    inputs = [
        stack_of(x, k) if d == 0 else x
        for k, (x, d) in enumerate(zip(xs, in_dims))
    ]
    got = vl.vmap(f, in_dims=in_dims)(*inputs)
    loop = torch.stack(
        [
            f(*[v[j] if d == 0 else v for v, d in zip(inputs, in_dims)])
            for j in range(BATCH)
        ]
    )
    ref = torch.func.vmap(f_ref, in_dims=in_dims)(*inputs)
    assert_close(got, loop, what="vs a Python loop", rtol=RTOL, atol=ATOL)
    assert_close(got, ref, what="vs torch.func.vmap", rtol=RTOL, atol=ATOL)


def test_every_op_has_a_batching_rule():
    assert all(callable(getattr(c, "vmap", None)) for c in OP_CLASSES)


@pytest.mark.parametrize("cls, i", example_cases())
def test_every_ops_per_example_vjp(cls, i):
    """vmap of the op's VJP (its rules on Batched values, its context from
    a shapes-only forward) against torch.func.vmap of torch.func.vjp."""
    args, f_torch = EXAMPLES[cls][i]
    xs, with_tensors = split(args)
    f, f_ref = with_tensors(cls.apply), with_tensors(f_torch)
    stacks = [stack_of(x, k) for k, x in enumerate(xs)]
    y_bars = stack_of(rand(*f(*xs).shape, seed=3), 0)

    def per_example(g, vjp):
        return lambda *v: vjp(g, *v[:-1])[1](v[-1])

    got = vl.vmap(per_example(f, vl.vjp))(*stacks, y_bars)
    ref = torch.func.vmap(per_example(f_ref, torch.func.vjp))(*stacks, y_bars)
    for g, r in zip(got, ref):
        assert_close(g, r, what=cls.__name__, rtol=RTOL, atol=ATOL)


# -------------------------------------------------- per-example gradients


def logistic_data(B=8, d=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(B, d, generator=g, dtype=F64)
    y = torch.sign(torch.randn(B, generator=g, dtype=F64))
    w = torch.randn(d, generator=g, dtype=F64)
    return w, X, y


def loss(w, x, y):
    return vl.softplus(-y * vl.matmul(x, w))


def loss_torch(w, x, y):
    return torch.nn.functional.softplus(-y * (x @ w))


def test_per_example_gradients_vmap_of_grad():
    w, X, y = logistic_data()
    got = vl.vmap(vl.grad(loss), in_dims=(None, 0, 0))(w, X, y)
    ref = torch.func.vmap(torch.func.grad(loss_torch), in_dims=(None, 0, 0))(
        w, X, y
    )
    loop = torch.stack([vl.grad(loss)(w, X[i], y[i]) for i in range(len(y))])
    assert got.shape == (8, 5)
    assert_close(got, ref, rtol=RTOL, atol=ATOL)
    assert_close(got, loop, rtol=RTOL, atol=ATOL)


def test_grad_of_vmap():
    """vmap inside grad: the batch dims of constants are summed back."""
    w, X, y = logistic_data()
    total = lambda w: vl.sum(vl.vmap(loss, in_dims=(None, 0, 0))(w, X, y))
    total_torch = lambda w: torch.func.vmap(loss_torch, in_dims=(None, 0, 0))(
        w, X, y
    ).sum()
    assert_close(
        vl.grad(total)(w),
        torch.func.grad(total_torch)(w),
        rtol=RTOL,
        atol=ATOL,
    )


def test_per_example_hessians_vmap_of_hessian():
    w, X, y = logistic_data(B=4, d=3)
    got = vl.vmap(vl.hessian(loss), in_dims=(None, 0, 0))(w, X, y)
    ref = torch.func.vmap(
        torch.func.hessian(loss_torch), in_dims=(None, 0, 0)
    )(w, X, y)
    assert_close(got, ref, rtol=RTOL, atol=ATOL)


# ------------------------------------------- Jacobians as vmapped products


def test_jacrev_is_vmap_of_vjp():
    X = torch.randn(
        3, 3, generator=torch.Generator().manual_seed(1), dtype=F64
    )
    X = X + 3 * torch.eye(3, dtype=F64)
    y, vjp_fn = vl.vjp(vl.inv, X)
    basis = torch.eye(9, dtype=F64).reshape(9, 3, 3)
    (rows,) = vl.vmap(vjp_fn)(basis)
    J = rows.reshape(3, 3, 3, 3)
    assert_close(
        J, torch.func.jacrev(torch.linalg.inv)(X), rtol=RTOL, atol=ATOL
    )
    assert_close(J, vl.jacrev(vl.inv)(X), rtol=RTOL, atol=ATOL)


def test_jacfwd_is_vmap_of_jvp_and_of_linearize():
    x = rand(4)
    f = lambda v: vl.cumsum(vl.tanh(v) * v)
    f_torch = lambda v: (torch.tanh(v) * v).cumsum(0)
    basis = torch.eye(4, dtype=F64)
    cols = vl.vmap(lambda t: vl.jvp(f, (x,), (t,))[1], out_dims=1)(basis)
    ref = torch.func.jacfwd(f_torch)(x)
    assert_close(cols, ref, rtol=RTOL, atol=ATOL)
    _, jvp_fn = vl.linearize(f, x)
    assert_close(
        vl.vmap(jvp_fn, out_dims=-1)(basis), ref, rtol=RTOL, atol=ATOL
    )
    f_T = vl.linear_transpose(jvp_fn, x)
    (rows,) = vl.vmap(f_T)(basis)
    assert_close(rows, ref, rtol=RTOL, atol=ATOL)


# ------------------------------------------- nesting, in_dims, out_dims


def test_nested_vmap():
    X = rand(2, 3, 4)
    f = lambda x: vl.sum(vl.cumsum(x) * x)
    f_torch = lambda x: (x.cumsum(-1) * x).sum()
    got = vl.vmap(vl.vmap(f))(X)
    assert got.shape == (2, 3)
    assert_close(got, torch.func.vmap(torch.func.vmap(f_torch))(X))
    got = vl.vmap(vl.vmap(f, in_dims=1), in_dims=2)(X)
    ref = torch.func.vmap(torch.func.vmap(f_torch, in_dims=1), in_dims=2)(X)
    assert got.shape == (4, 3)
    assert_close(got, ref)
    # matmul of two batched stacks inside two vmaps
    A, B = rand(2, 3, 4, 5), rand(2, 3, 5, seed=1)
    got = vl.vmap(vl.vmap(vl.matmul))(A, B)
    assert_close(got, (A @ B[..., None])[..., 0])


def test_in_dims_none_and_negative_and_out_dims():
    x, W = rand(4, 5), rand(3, 5, seed=1)
    f = lambda W, v: vl.matmul(W, v)
    got = vl.vmap(f, in_dims=(None, -1), out_dims=1)(W, x.T)
    ref = torch.func.vmap(lambda W, v: W @ v, in_dims=(None, -1), out_dims=1)(
        W, x.T
    )
    assert got.shape == (3, 4)
    assert_close(got, ref)
    two = vl.vmap(lambda v: (vl.sum(v), v * 2.0), out_dims=(0, 1))(x)
    assert_close(two[0], x.sum(1))
    assert_close(two[1], 2.0 * x.T)
    # an output that does not depend on the batch is expanded
    const = vl.vmap(lambda v: W, in_dims=0)(x)
    assert const.shape == (4, 3, 5)
    assert_close(const[2], W)


def test_f_runs_once():
    calls = []

    def f(v):
        calls.append(v.shape)
        return vl.exp(v)

    vl.vmap(f)(rand(100, 3))
    assert calls == [torch.Size([3])]


def test_norm_is_per_example_also_at_zero():
    X = torch.stack([torch.zeros(2, 2, dtype=F64), rand(2, 2)])
    got = vl.vmap(vl.grad(vl.norm))(X)
    ref = torch.func.vmap(torch.func.grad(torch.linalg.norm))(X)
    assert_close(got, ref)
    assert_close(got[0], torch.zeros(2, 2, dtype=F64))


# ------------------------------------------------------------------ errors


def test_mismatched_batch_sizes():
    with pytest.raises(
        ValueError,
        match=r"vmap: Expected all tensors to have the same size in the "
        r"mapped dimension, got sizes \[3, 4\] for the mapped dimension",
    ):
        vl.vmap(vl.add)(rand(3, 2), rand(4, 2))


@pytest.mark.parametrize(
    "in_dims, args, words",
    [
        (2, (rand(3, 2),), r"in_dim=2 for a tensor of dimensionality 2"),
        ((0,), (rand(3), rand(3)), r"does not match the 2 inputs"),
        (None, (rand(3),), "Expected at least one Tensor to vmap over"),
        ((0, 0), (rand(3), 2.0), "cannot vmap over non-Tensor arguments"),
        (("0",), (rand(3),), "must be ints or None"),
    ],
)
def test_bad_in_dims(in_dims, args, words):
    with pytest.raises(ValueError, match=words):
        vl.vmap(lambda *a: a[0], in_dims=in_dims)(*args)


def test_bad_out_dims_and_outputs():
    with pytest.raises(ValueError, match="out_dim=3"):
        vl.vmap(vl.exp, out_dims=3)(rand(3, 2))
    with pytest.raises(TypeError, match="must return a tensor"):
        vl.vmap(lambda v: 1.0)(rand(3))


def test_a_custom_function_without_batching_rule():
    class Twice(vl.Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

    with pytest.raises(
        NotImplementedError, match="Twice has no batching rule"
    ):
        vl.vmap(Twice.apply)(rand(3))


# ------------------------------ torch.func.vmap's signature, side by side


def test_signature_matches_torch_func_vmap():
    import inspect

    ours = inspect.signature(vl.vmap).parameters
    theirs = inspect.signature(torch.func.vmap).parameters
    assert list(ours)[1:] == list(theirs)[1:]  # f: torch calls it func
    for name in ("in_dims", "out_dims", "randomness", "chunk_size"):
        assert ours[name].default == theirs[name].default, name
        assert ours[name].kind == theirs[name].kind, name


def test_out_dims_none_returns_an_unbatched_output_as_torch():
    c = rand(2)

    def f_ours(v):
        return c * 2.0, vl.sum(v)

    def f_torch(v):
        return c * 2.0, v.sum()

    x = rand(4, 2)
    got = vl.vmap(f_ours, out_dims=(None, 0))(x)
    ref = torch.func.vmap(f_torch, out_dims=(None, 0))(x)
    assert got[0].shape == ref[0].shape == (2,)
    assert_close(got[0], ref[0])
    assert_close(got[1], ref[1])


def test_out_dims_none_on_a_varying_output_errors_as_torch():
    x = rand(4, 2)
    with pytest.raises(ValueError, match="out_dim is None") as ours:
        vl.vmap(vl.exp, out_dims=None)(x)
    with pytest.raises(ValueError, match="out_dim is None") as theirs:
        torch.func.vmap(torch.exp, out_dims=None)(x)
    assert "can not return a BatchedTensor" in str(ours.value)
    assert "can not return a BatchedTensor" in str(theirs.value)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 100])
def test_chunk_size_gives_the_same_result_as_torch(chunk_size):
    X = rand(5, 3, 2)
    C = rand(2, 4)

    def f_ours(X, C):
        return vl.matmul(vl.tanh(X), C), vl.norm(X)

    def f_torch(X, C):
        return torch.tanh(X) @ C, torch.linalg.norm(X)

    kw = dict(in_dims=(2, None), out_dims=(1, 0), chunk_size=chunk_size)
    got = vl.vmap(f_ours, **kw)(X.movedim(0, 2), C)
    ref = torch.func.vmap(f_torch, **kw)(X.movedim(0, 2), C)
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        assert_close(g, r, rtol=RTOL, atol=ATOL)


def test_chunk_size_runs_f_once_per_chunk():
    calls = []

    def f(v):
        calls.append(v.value.shape[0])
        return v * 2.0

    vl.vmap(f, chunk_size=2)(rand(5, 3))
    assert calls == [2, 2, 1]


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_chunk_size(bad):
    with pytest.raises(ValueError, match="chunk_size should be None or"):
        vl.vmap(vl.exp, chunk_size=bad)(rand(3))


def test_randomness_accepts_torchs_values_only():
    x = rand(3, 2)
    for value in ("error", "different", "same"):
        assert_close(vl.vmap(vl.exp, randomness=value)(x), torch.exp(x))
        torch.func.vmap(torch.exp, randomness=value)(x)
    with pytest.raises(RuntimeError, match="Only allowed values for rand"):
        vl.vmap(vl.exp, randomness="foo")(x)
    with pytest.raises(RuntimeError, match="Only allowed values for rand"):
        torch.func.vmap(torch.exp, randomness="foo")(x)


def test_chunk_size_inside_another_transformation_is_refused():
    x = rand(4, 3)

    def loss(w):
        return vl.sum(vl.vmap(lambda v: v * w, chunk_size=2)(x))

    with pytest.raises(NotImplementedError, match="outputs must be plain"):
        vl.grad(loss)(rand(3))

    def loss_of_input(v):
        return vl.sum(vl.vmap(vl.exp, chunk_size=2)(v))

    with pytest.raises(NotImplementedError, match="chunk_size needs plain"):
        vl.grad(loss_of_input)(rand(4))
