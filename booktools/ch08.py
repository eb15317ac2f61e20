"""Chapter 8 (one mode from the other): transposes, a memory meter, checkers.

* `dot`, `matrix_of`: the inner product ⟨A, B⟩ = tr(AᵀB) and the explicit
  matrix of a linear map (one column per basis input, row-major), the
  reference every transpose rule of the chapter is checked against;
* `check_transpose`: a transpose rule against the transpose of that matrix
  and the dot-product test ⟨ȳ, L ẋ⟩ = ⟨Lᵀȳ, ẋ⟩, with a message that says what
  is wrong (a shape, a sign, the map itself instead of its transpose);
* `kept_bytes`: the bytes of tensor memory a result keeps alive (what
  `vjplib.linearize` stores, or `vjplib.vjp`'s graph);
* `plot_reflections`: matrices of linear maps beside their transposes;
* the exercise checkers `check_transpose_AXB`, `check_transpose_scaled_cumsum`
  and `check_per_example_grads`.
"""

from __future__ import annotations

import gc
import math
import types
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import torch

from .exercises import checker, diagnose
from .plot import plot_jacobian

__all__ = [
    "dot",
    "matrix_of",
    "check_transpose",
    "kept_bytes",
    "plot_reflections",
    "check_transpose_AXB",
    "check_transpose_scaled_cumsum",
    "check_per_example_grads",
]


def dot(A, B) -> torch.Tensor:
    """⟨A, B⟩ = tr(AᵀB) = the sum of A * B over every entry."""
    return (A * B).sum()


def _randn(shape, g) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=g, dtype=torch.float64)


def matrix_of(L: Callable, in_shape: Sequence[int]) -> torch.Tensor:
    """The matrix of a linear map L, shape (n_out, n_in): column j is
    L(e_j).flatten() for the j-th basis tensor e_j of shape ``in_shape``
    (row-major, as torch.flatten), so M @ x.flatten() = L(x).flatten().
    """
    in_shape = tuple(in_shape)
    n_in = math.prod(in_shape)
    basis = torch.eye(n_in, dtype=torch.float64).reshape((n_in,) + in_shape)
    columns = [torch.as_tensor(L(e)).reshape(-1) for e in basis]
    return torch.stack(columns, dim=1)


def _diagnose(
    got,
    expected,
    untransposed=None,
    where="",
    shape_hint="A cotangent of the input has the input's shape.",
) -> str | None:
    """None when got ≈ expected, else what is wrong, for a reader
    (`booktools.exercises.diagnose`, plus this chapter's own mistake: the
    map itself instead of its transpose)."""
    hints = []
    if untransposed is not None:
        hints.append(
            (
                untransposed,
                "this is the map itself applied to ȳ, not its transpose: "
                "transpose each factor (and reverse their order).",
            )
        )
    return diagnose(
        got,
        expected,
        name=where.rstrip(": ") or "x̄",
        hints=hints,
        shape_hint=shape_hint,
    )


def check_transpose(
    L: Callable,
    L_T: Callable,
    in_shape: Sequence[int],
    *,
    name: str = "L",
    pairs: int = 10,
    seed: int = 0,
) -> float:
    """Check that ``L_T`` is the transpose of the linear map ``L``.

    Two tests: the matrix of L_T equals the transpose of the matrix of L
    (both explicit, from basis vectors), and the dot-product test
    ⟨ȳ, L ẋ⟩ = ⟨L_T ȳ, ẋ⟩ holds on ``pairs`` seeded random pairs. Returns
    the largest relative mismatch of the dot-product test; raises an
    AssertionError that says what is wrong.
    """
    in_shape = tuple(in_shape)
    g = torch.Generator().manual_seed(seed)
    out_shape = tuple(L(_randn(in_shape, g)).shape)
    M = matrix_of(L, in_shape)
    worst = 0.0
    for k in range(pairs):
        y_bar, x_dot = _randn(out_shape, g), _randn(in_shape, g)
        x_bar = torch.as_tensor(L_T(y_bar))
        expected = (M.T @ y_bar.reshape(-1)).reshape(in_shape)
        same_shape = in_shape == out_shape
        message = _diagnose(
            x_bar,
            expected,
            untransposed=L(y_bar) if same_shape else None,
            where=f"{name}_T on pair {k}: ",
        )
        if message:
            raise AssertionError(message)
        left, right = dot(y_bar, L(x_dot)), dot(x_bar, x_dot)
        worst = max(worst, (abs(left - right) / abs(left)).item())
    if worst > 1e-12:
        raise AssertionError(
            f"{name}: dot-product test ⟨ȳ, L ẋ⟩ = ⟨Lᵀȳ, ẋ⟩ misses by "
            f"{worst:.3g} (relative)"
        )
    M_T = matrix_of(L_T, out_shape)
    if not torch.allclose(M_T, M.T):
        raise AssertionError(
            f"{name}: the matrix of {name}_T is not the transpose of the "
            f"matrix of {name} (largest difference "
            f"{(M_T - M.T).abs().max().item():.3e})"
        )
    return worst


def _storages(*roots) -> dict[int, int]:
    """{storage address: bytes} of every tensor reachable from ``roots``.

    The walk follows containers, instance attributes, closures and bound
    methods (through ``gc.get_referents``), but not into modules, classes or
    a function's globals, so it sees what an object keeps alive, not the
    whole program.
    """
    live, seen, stack = {}, set(), list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None:
            continue
        seen.add(id(obj))
        if issubclass(type(obj), torch.Tensor):  # no isinstance: no hooks
            try:
                storage = obj.untyped_storage()
            except (NotImplementedError, RuntimeError):
                continue  # a torch.func wrapper holds no storage of its own
            live[storage.data_ptr()] = storage.nbytes()
        elif isinstance(obj, types.FunctionType):
            cells = obj.__closure__ or ()
            stack.extend(c.cell_contents for c in cells if _full(c))
            stack.extend(obj.__defaults__ or ())
        elif not isinstance(obj, _OPAQUE):
            stack.extend(gc.get_referents(obj))
    return live


_OPAQUE = (type, types.ModuleType, types.BuiltinFunctionType, str, bytes)


def _full(cell) -> bool:
    try:
        _ = cell.cell_contents
    except ValueError:  # an empty cell: a variable not assigned yet
        return False
    return True


def kept_bytes(make: Callable[[], object], *existing) -> int:
    """Bytes of tensor memory that ``make()``'s result keeps alive: every
    tensor storage reachable from the result, each counted once, except
    those reachable from ``existing``: the inputs, the function (whose
    closure holds its constants) and any constant it reads from globals.
    ``kept_bytes(lambda: vjplib.linearize(f, X), f, X)`` is what linearize
    stores, the output included; ``kept_bytes(lambda: vjplib.vjp(f, X), f,
    X)`` what reverse mode's graph keeps, the number the book's memory
    meter (``vjplib.memory.kept_bytes``, through ``saved_tensors_hooks``)
    finds. The walk is needed for linearize, whose constants are not saved
    tensors, so no saved-tensor hook sees them.
    """
    before = _storages(*existing)
    after = _storages(make())
    return sum(n for ptr, n in after.items() if ptr not in before)


def plot_reflections(matrices: dict, *, shapes: dict | None = None):
    """One row per linear map: its matrix M (left) and Mᵀ (right), on one
    colour scale, with the main diagonal (the mirror) dashed. ``matrices``
    maps a name to M, or to a pair (M, M_T) when the transpose was computed
    on its own (the matrix of a transpose rule): it is drawn after a check
    that it is Mᵀ. ``shapes`` optionally maps a name to (out_shape,
    in_shape) for the block lines. Returns (fig, axes).
    """
    if not matrices:
        raise ValueError("plot_reflections: give at least one matrix")
    shapes = shapes or {}
    k = len(matrices)
    fig, axes = plt.subplots(
        k, 2, figsize=(6.4, 3.0 * k), layout="constrained", squeeze=False
    )
    for row, (name, M) in enumerate(matrices.items()):
        M, M_T = M if isinstance(M, tuple) else (M, M.T)
        if M_T.shape != M.T.shape or not torch.allclose(M_T, M.T):
            raise ValueError(
                f"plot_reflections: the second matrix of {name!r} is not the "
                f"transpose of the first (shapes {tuple(M.shape)} and "
                f"{tuple(M_T.shape)})"
            )
        out_shape, in_shape = shapes.get(name, (None, None))
        half = float(M.abs().max()) or 1.0
        for col, (A, o, i, title) in enumerate(
            (
                (M, out_shape, in_shape, f"{name}: M"),
                (M_T, in_shape, out_shape, "its transpose: Mᵀ"),
            )
        ):
            ax = axes[row, col]
            plot_jacobian(
                A,
                out_shape=o,
                in_shape=i,
                ax=ax,
                halfrange=half,
                colorbar=False,
                title=title,
            )
            n = min(A.shape)
            ax.plot(
                [-0.5, n - 0.5],
                [-0.5, n - 0.5],
                ls="--",
                color="0.3",
                lw=1,
                gid="mirror",
            )
            ax.xaxis.label.set_size(8)
            ax.yaxis.label.set_size(8)
    fig.suptitle("The transpose of a linear map's matrix is its reflection")
    return fig, axes


# ---------------------------------------------------------------- exercises


@checker
def check_transpose_AXB(transpose_AXB: Callable) -> None:
    """Exercise 1: ``transpose_AXB(A, B, Y_bar)`` is the transpose of the
    linear map X ↦ A X B. Checked for non-square A, B (where a missing ᵀ
    breaks the shapes) and square ones (where it does not).
    """
    g = torch.Generator().manual_seed(81)
    for a_shape, x_shape, b_shape in (
        ((2, 3), (3, 4), (4, 5)),
        ((3, 3), (3, 3), (3, 3)),
    ):
        A, B = _randn(a_shape, g), _randn(b_shape, g)
        Y_bar = _randn((a_shape[0], b_shape[1]), g)
        expected = A.T @ Y_bar @ B.T
        M = matrix_of(lambda X: A @ X @ B, x_shape)  # noqa: B023
        assert torch.allclose(
            (M.T @ Y_bar.reshape(-1)).reshape(x_shape), expected
        )
        try:
            got = torch.as_tensor(transpose_AXB(A, B, Y_bar))
        except RuntimeError as e:
            raise AssertionError(
                f"with A {a_shape}, X {x_shape}, B {b_shape}: your rule "
                f"raised {type(e).__name__} ({str(e).splitlines()[0]}). "
                "Hint: the shapes only chain as Aᵀ Ȳ Bᵀ: transpose each "
                "factor."
            ) from None
        where = f"with A {a_shape}, X {x_shape}, B {b_shape}: "
        untransposed = A @ Y_bar @ B if a_shape == b_shape else None
        message = _diagnose(got, expected, untransposed, where)
        if message:
            raise AssertionError(
                message + " Hint: ⟨Ȳ, A Ẋ B⟩ = tr(Ȳᵀ A Ẋ B); move A and "
                "B over to Ȳ."
            )
    print("Correct: transpose_AXB is the transpose of X ↦ A X B (two shapes).")


@checker
def check_transpose_scaled_cumsum(transpose_fn: Callable) -> None:
    """Exercise 2: ``transpose_fn(w, y_bar)`` is the transpose of
    x ↦ cumsum(w * x) for vectors w, x. Names the usual slips: the map
    itself, the two transposes in the wrong order, cumsum not reversed.
    """
    g = torch.Generator().manual_seed(82)
    w, y_bar = _randn((6,), g), _randn((6,), g)

    def rev_cumsum(v):
        return v.flip(-1).cumsum(-1).flip(-1)

    expected = w * rev_cumsum(y_bar)
    M = matrix_of(lambda x: torch.cumsum(w * x, -1), (6,))
    assert torch.allclose(M.T @ y_bar, expected)
    got = torch.as_tensor(transpose_fn(w, y_bar))
    slips = {
        "this is the map itself, cumsum(w * ȳ): transpose it.": torch.cumsum(
            w * y_bar, -1
        ),
        "the transposes are in the wrong order: you scaled ȳ first. The "
        "transpose of 'scale, then cumsum' is 'cumsumᵀ, then scale'.": (
            rev_cumsum(w * y_bar)
        ),
        "the cumsum is not reversed: cumsum's matrix is lower-triangular, "
        "its transpose upper-triangular, a cumsum from the end.": w
        * torch.cumsum(y_bar, -1),
    }
    if tuple(got.shape) == (6,):
        for words, value in slips.items():
            if torch.allclose(got, value):
                raise AssertionError(words)
    message = _diagnose(got, expected)
    if message:
        raise AssertionError(message)
    print("Correct: transpose_fn is the transpose of x ↦ cumsum(w * x).")


@checker
def check_per_example_grads(per_example_grads: Callable) -> None:
    """Exercise 3: ``per_example_grads(w, X, y)`` returns, for the logistic
    loss ℓ(w; x, y) = softplus(−y ⟨w, x⟩), one gradient per row of X: shape
    (B, d). Compared with a Python loop over torch.autograd.
    """
    g = torch.Generator().manual_seed(83)
    B, d = 7, 4
    w, X = _randn((d,), g), _randn((B, d), g)
    y = torch.where(_randn((B,), g) > 0, 1.0, -1.0).to(torch.float64)
    rows = []
    for x_i, y_i in zip(X, y):
        w_req = w.clone().requires_grad_()
        loss = torch.nn.functional.softplus(-y_i * (w_req @ x_i))
        rows.append(torch.autograd.grad(loss, w_req)[0])
    expected = torch.stack(rows)
    got = torch.as_tensor(per_example_grads(w, X, y))
    if tuple(got.shape) == (d,) and torch.allclose(got, expected.sum(0)):
        raise AssertionError(
            f"shape ({d},): this is the gradient of the summed loss, the "
            f"sum of the {B} per-example gradients. Map over the examples "
            "instead: vmap(grad(loss), in_dims=(None, 0, 0))."
        )
    if tuple(got.shape) == (d, B) and torch.allclose(got.T, expected):
        raise AssertionError(
            f"shape ({d}, {B}): the examples should be the leading dim; "
            "use out_dims=0 (the default)."
        )
    message = _diagnose(
        got,
        expected,
        where="per-example gradients: ",
        shape_hint="One gradient per example: the shape (B, d).",
    )
    if message:
        raise AssertionError(message)
    print(
        f"Correct: {B} per-example gradients match a loop over torch.autograd."
    )
