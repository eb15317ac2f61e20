"""
Bad input gives a clear error that names the op, the shapes or types, and the
way out.
"""

import numpy as np
import pytest
import torch

import vjplib as vl

F64 = torch.float64
X = 3 * torch.eye(3, dtype=F64) + 0.1
x = torch.tensor([1.0, 2.0, 3.0], dtype=F64)


def same_error(torch_call, vl_call, *words):
    """The mistake through torch.func and through vjplib: the same class,
    and each key word in both messages."""
    raised = []
    for call in (torch_call, vl_call):
        with pytest.raises(Exception) as info:
            call()
        for w in words:
            assert w in str(info.value), (w, str(info.value))
        raised.append(info.type)
    assert raised[0] is raised[1], raised


def test_cotangent_shape_as_torch_and_dtype_refused():
    _, vjp_fn = vl.vjp(vl.inv, X)
    _, vjp_fn_t = torch.func.vjp(torch.linalg.inv, X)
    same_error(
        lambda: vjp_fn_t(torch.ones(2, 2, dtype=F64)),
        lambda: vjp_fn(torch.ones(2, 2, dtype=F64)),
        "Mismatch in shape: grad_output[0] has a shape of torch.Size([2, 2])",
    )
    # torch casts a float32 cotangent; vjplib refuses it, with the way out
    with pytest.raises(
        ValueError, match=r"dtype torch.float32.*expected torch.float64"
    ):
        vjp_fn(torch.ones(3, 3))
    with pytest.raises(ValueError, match=r"batch \(2,\)"):
        vjp_fn(torch.ones(2, 3, 2, dtype=F64), batched=True)


def test_tangent_errors_as_torch():
    same_error(
        lambda: torch.func.jvp(torch.sin, (x,), (torch.ones(2, dtype=F64),)),
        lambda: vl.jvp(vl.sin, (x,), (torch.ones(2, dtype=F64),)),
        "different size than that of the original Tensor",
        "Tensor is of size [3] while the given forward gradient is of size "
        "[2]",
    )
    same_error(
        lambda: torch.func.jvp(torch.sin, x, x),
        lambda: vl.jvp(vl.sin, x, x),
        "Expected primals to be a tuple",
    )
    same_error(
        lambda: torch.func.jvp(torch.sin, (x,), (x, x)),
        lambda: vl.jvp(vl.sin, (x,), (x, x)),
        "Expected primals and tangents to have the same python structure",
    )
    same_error(
        lambda: torch.func.jvp(torch.sin, (x,), x),
        lambda: vl.jvp(vl.sin, (x,), x),
        "Expected primals and tangents to have the same python structure",
    )
    # torch casts a float32 tangent; vjplib refuses it, with the way out
    with pytest.raises(ValueError, match=r"tangent 0 has dtype torch.float32"):
        vl.jvp(vl.sin, (x,), (torch.ones(3),))
    with pytest.raises(ValueError, match="Dual: tangent of shape"):
        vl.Dual(x, torch.ones(2, dtype=F64))


class WrongShape(vl.Function):
    @staticmethod
    def forward(ctx, a):
        return a.sum()

    @staticmethod
    def vjp(ctx, y_bar):
        return y_bar  # forgot to broadcast back to a's shape

    @staticmethod
    def jvp(ctx, a_dot):
        return a_dot  # forgot to sum


class TwoCotangents(vl.Function):
    @staticmethod
    def forward(ctx, a):
        return a * 2

    @staticmethod
    def vjp(ctx, y_bar):
        return y_bar * 2, y_bar


def test_rule_returning_wrong_shapes_is_named():
    with pytest.raises(
        ValueError,
        match=r"WrongShape.vjp: cotangent for input 0 has shape \(\), "
        r"expected \(3,\)",
    ):
        vl.grad(WrongShape.apply)(x)
    with pytest.raises(
        ValueError,
        match=r"WrongShape.jvp: output tangent has shape \(3,\), "
        r"expected \(\)",
    ):
        vl.jvp(WrongShape.apply, (x,), (x,))
    with pytest.raises(
        ValueError,
        match="TwoCotangents.vjp returned 2 cotangents for 1 inputs",
    ):
        vl.vjp(TwoCotangents.apply, x)[1](x)
    with pytest.raises(NotImplementedError, match="TwoCotangents has no jvp"):
        vl.jvp(TwoCotangents.apply, (x,), (x,))


def test_grad_of_non_scalar_as_torch_points_to_vjp_and_jacrev():
    for grad in (vl.grad, lambda f: lambda x: vl.value_and_grad(f)(x)):
        same_error(
            lambda: torch.func.grad(torch.sin)(x),
            lambda: grad(vl.sin)(x),
            "Expected f(*args) to return a scalar Tensor, got tensor with 1 "
            "dims",
        )
    with pytest.raises(
        RuntimeError, match=r"shape \(3,\).*vjplib.vjp.*vjplib.jacrev"
    ):
        vl.grad(vl.sin)(x)


def test_torch_function_on_traced_value():
    with pytest.raises(
        TypeError, match=r"'linalg_inv'.*Traced.*use vjplib.inv instead"
    ):
        vl.grad(lambda X: vl.norm(torch.linalg.inv(X)))(X)
    with pytest.raises(
        TypeError, match=r"'sin'.*Dual.*use vjplib.sin instead"
    ):
        vl.jvp(lambda x: torch.sin(x), (x,), (x,))
    with pytest.raises(
        TypeError, match=r"'special_erf'.*write it as a vjplib.Function"
    ):
        vl.grad(lambda x: vl.sum(torch.special.erf(x)))(x)
    with pytest.raises(
        AttributeError, match=r"no attribute 'exp': use vjplib.exp instead"
    ):
        vl.grad(lambda x: vl.sum(x.exp()))(x)


def test_leaving_the_graph_is_refused():
    for leave in (float, bool, np.asarray, lambda v: v.item()):
        with pytest.raises(TypeError, match="cut off from the derivative"):
            vl.grad(lambda v: leave(vl.sum(v)))(x)


@pytest.mark.parametrize(
    "transform",
    [
        lambda f, a: vl.grad(f)(a),
        lambda f, a: vl.vjp(f, a),
        lambda f, a: vl.jvp(f, (a,), (a,)),
        lambda f, a: vl.jacrev(f)(a),
        lambda f, a: vl.jacfwd(f)(a),
        lambda f, a: vl.hessian(f)(a),
    ],
)
@pytest.mark.parametrize(
    "bad", [torch.tensor([1, 2]), torch.tensor([True, False]), 3, True, [1, 2]]
)
def test_integer_and_boolean_inputs(transform, bad):
    with pytest.raises(TypeError, match="floating"):
        transform(lambda v: vl.sum(v * v), bad)


def test_non_tensor_primals():
    with pytest.raises(TypeError, match="argument 0 is a str, not a tensor"):
        vl.grad(lambda v: v)("abc")
    with pytest.raises(TypeError, match="argument 0 is a NoneType"):
        vl.vjp(lambda v: v, None)
    assert (
        vl.vjp(lambda v: v, [0.5, 1.5])[0].dtype == F64
    )  # floats: converted to float64
    assert (
        vl.vjp(lambda v: v, np.zeros(2, dtype=np.float32))[0].dtype
        == torch.float32
    )


def test_singular_matrix_in_inv():
    singular = torch.tensor([[1.0, 2.0], [2.0, 4.0]], dtype=F64)
    with pytest.raises(
        torch.linalg.LinAlgError,
        match=r"inv: the matrix of shape \(2, 2\) is singular",
    ):
        vl.inv(singular)
    with pytest.raises(torch.linalg.LinAlgError, match="inv"):
        vl.grad(lambda A: vl.norm(vl.inv(A)))(torch.zeros(2, 2, dtype=F64))


def test_shape_errors_of_ops_are_torchs():
    """Each op's shape error has torch's class and key words (run beside
    torch), then vjplib's op name and way out."""
    ones23 = torch.ones(2, 3, dtype=F64)
    cases = [
        (
            lambda: vl.inv(ones23),
            lambda: torch.linalg.inv(ones23),
            r"inv: A must be batches of square matrices.*\(2, 3\)",
        ),
        (
            lambda: vl.grad(lambda v: vl.sum(v.T))(x),
            lambda: x.mT,
            r"transpose: X.mT is only supported on matrices.*\(3,\)",
        ),
        (
            lambda: vl.grad(lambda A: vl.sum(A @ torch.ones(2, dtype=F64)))(X),
            lambda: X @ torch.ones(2, 1, dtype=F64),
            r"matmul: shapes \(3, 3\) and \(2, 1\) cannot be multiplied",
        ),
        (
            lambda: vl.sum(x, 3),
            lambda: torch.sum(x, 3),
            r"sum: Dimension out of range \(expected to be in range of "
            r"\[-1, 0\], but got 3\)",
        ),
        (
            lambda: vl.flip(X, (0, 0)),
            lambda: torch.flip(X, (0, 0)),
            r"flip: dim 0 appears multiple times in the list of dims",
        ),
    ]
    for ours, theirs, words in cases:
        with pytest.raises(Exception) as torch_error:
            theirs()
        with pytest.raises(type(torch_error.value), match=words):
            ours()
    with pytest.raises(
        ValueError, match="convolve: mode must be 'full' or 'valid'"
    ):  # numpy's name, numpy's class
        vl.convolve(x, x, "same")
    with pytest.raises(ValueError, match="mode"):
        np.convolve(x.numpy(), x.numpy(), "middle")


def test_pow_needs_a_constant_exponent_and_dtypes_must_agree():
    with pytest.raises(TypeError, match="exponent"):
        vl.grad(lambda v: vl.sum(2.0**v))(x)
    with pytest.raises(
        TypeError, match="pow: the exponent must be a Python number"
    ):
        vl.grad(lambda v: vl.sum(v**v))(x)
    with pytest.raises(
        TypeError,
        match="mul: operands have dtypes torch.float64 and torch.float32",
    ):
        vl.grad(lambda v: vl.sum(v * torch.ones(3)))(x)


def test_f_must_return_one_tensor():
    # torch.func takes a tuple of outputs; vjplib refuses, with the way out
    with pytest.raises(TypeError, match="f must return one tensor, got tuple"):
        vl.vjp(lambda v: (v, v), x)
    same_error(
        lambda: torch.func.grad(lambda v: 3.0)(x),
        lambda: vl.grad(lambda v: 3.0)(x),
        "Expected f(*args) to return a Tensor, got <class 'float'>",
    )
    calls = {
        "vjp": lambda lib: lib.vjp(lambda v: 3.0, x),
        "jvp": lambda lib: lib.jvp(lambda v: 3.0, (x,), (x,)),
        "jacrev": lambda lib: lib.jacrev(lambda v: 3.0)(x),
    }
    for call in calls.values():
        same_error(
            lambda: call(torch.func),
            lambda: call(vl),
            "expected f(*primals) to return only tensors, got unsupported "
            "type <class 'float'>",
        )


@pytest.mark.parametrize(
    "argnums, words",
    [
        (2, "Got argnum=2, but only 1 positional inputs"),
        (-2, "Got argnum=-2, but only 1 positional inputs"),
        ((), "argnums must be non-empty"),
        (0.5, "argnums must be int or Tuple[int, ...], got: <class 'float'>"),
        ((0, 0), "argnums elements must be unique"),
    ],
)
@pytest.mark.parametrize("name", ["grad", "jacrev", "jacfwd"])
def test_argnums_errors_as_torch(name, argnums, words):
    f_t = torch.sum if name == "grad" else torch.sin
    f_vl = vl.sum if name == "grad" else vl.sin
    same_error(
        lambda: getattr(torch.func, name)(f_t, argnums=argnums)(x),
        lambda: getattr(vl, name)(f_vl, argnums=argnums)(x),
        words,
    )


def test_escaped_value_raises_instead_of_giving_zero():
    leaked = []
    vl.grad(lambda v: leaked.append(v) or vl.sum(v))(x)
    with pytest.raises(RuntimeError, match="escaped"):
        vl.grad(lambda v: vl.sum(v * leaked[0]))(x)
    with pytest.raises(RuntimeError, match="escaped"):
        vl.grad(lambda v: vl.sum(leaked[0]))(x)


class SavesIntermediate(vl.Function):
    """
    y = exp(x)², saving exp(x) (an intermediate): fine once, not differentiable
    twice.
    """

    @staticmethod
    def forward(ctx, x):
        e = torch.exp(x)
        ctx.save_for_backward(e)
        return e * e

    @staticmethod
    def vjp(ctx, y_bar):
        (e,) = ctx.saved_tensors
        return 2 * e * e * y_bar


def test_saved_intermediate_refused_in_nested_transformations():
    f = lambda v: vl.sum(SavesIntermediate.apply(v))
    assert torch.allclose(vl.grad(f)(x), 2 * torch.exp(2 * x))
    with pytest.raises(
        RuntimeError,
        match="SavesIntermediate.forward saved a tensor that is neither",
    ):
        vl.grad(lambda v: vl.sum(vl.grad(f)(v)))(x)
