"""Pictures of Jacobians and of measured costs (matplotlib only).

The book draws every Jacobian the same way, so that two pictures can be
compared at a glance:

* a diverging colour map centred on zero (zero is white, positive red, negative
  blue), with a colour bar;
* rows are outputs and columns are inputs (numerator layout, ``J[i, j] = dy_i /
  dx_j``), the axes labelled "output index" and "input index";
* a matrix-shaped input or output is flattened row-major, exactly as
  ``torch.flatten`` does, and thin lines are drawn between the blocks that this
  flattening creates: for ``Y = X^{-1}`` with ``X`` of shape ``n x n`` the
  ``n^2 x n^2`` Jacobian falls into ``n x n`` blocks, each a multiple of the
  same matrix (a Kronecker product), and the lines make that visible.

``plot_jacobian`` draws one Jacobian, ``plot_jacobians`` several side by side,
and ``plot_costs`` draws measured costs on log-log axes with a fitted growth
exponent for each curve.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import CenteredNorm
from matplotlib.ticker import MaxNLocator, NullFormatter

__all__ = [
    "plot_jacobian",
    "plot_jacobians",
    "plot_costs",
    "fit_slope",
    "as_matrix",
]

CMAP = "RdBu_r"  # red > 0, white = 0, blue < 0
# gid of the block separator lines, so tests (and readers) can find them
GRID_GID = "block-grid"
MAX_ANNOTATED = (
    1024  # more cells than this and the numbers are unreadable anyway
)


# -----------------------------------------------------------------------------
# shapes
# -----------------------------------------------------------------------------


def _to_numpy(J) -> np.ndarray:
    """A torch tensor (any device, with or without grad) or array-like -> float
    numpy array.
    """
    if hasattr(J, "detach"):  # a torch tensor, without importing torch
        J = J.detach().cpu().numpy()
    J = np.asarray(J)
    if J.dtype.kind not in "biuf":
        raise TypeError(
            "plot_jacobian: expected a real tensor or array, got dtype "
            f"{J.dtype}; "
            "plot the real and imaginary parts separately"
        )
    return J.astype(np.float64, copy=False)


def _shape(s) -> tuple[int, ...]:
    return (
        (int(s),)
        if isinstance(s, (int, np.integer))
        else tuple(int(d) for d in s)
    )


def _split_shapes(shape, out_shape, in_shape):
    """Decide which leading dims of ``shape`` belong to the output and which to
    the input.
    """
    shape = tuple(shape)
    ndim = len(shape)
    if out_shape is None and in_shape is None:
        if ndim == 1:  # a scalar output: J is the gradient, one row
            return (), shape
        if ndim % 2 == 0:  # out.shape + in.shape with equal ranks
            return shape[: ndim // 2], shape[ndim // 2 :]
        raise ValueError(
            "plot_jacobian: cannot tell output dims from input dims in a "
            "Jacobian of shape "
            f"{shape} (odd number of dims); pass out_shape=... or in_shape=..."
        )
    size = math.prod(shape)
    if out_shape is not None:
        out_shape = _shape(out_shape)
    if in_shape is not None:
        in_shape = _shape(in_shape)
    if in_shape is None:
        if shape[: len(out_shape)] == out_shape:
            in_shape = shape[len(out_shape) :]
        else:
            in_shape = (size // max(math.prod(out_shape), 1),)
    if out_shape is None:
        if len(in_shape) and shape[ndim - len(in_shape) :] == in_shape:
            out_shape = shape[: ndim - len(in_shape)]
        else:
            out_shape = (size // max(math.prod(in_shape), 1),)
    m, n = math.prod(out_shape), math.prod(in_shape)
    if m * n != size or shape not in {out_shape + in_shape, (m, n)}:
        raise ValueError(
            f"plot_jacobian: a Jacobian of shape {shape} does not fit "
            f"out_shape={out_shape} and "
            f"in_shape={in_shape}; expected shape {out_shape + in_shape} "
            "(out.shape + in.shape) "
            f"or the flattened {(m, n)}"
        )
    return out_shape, in_shape


def as_matrix(J, out_shape=None, in_shape=None):
    """Return ``(M, out_shape, in_shape)``: ``J`` as a 2-D numpy array, rows =
    flattened outputs.

    ``J`` may have shape ``out.shape + in.shape`` (what ``jacrev``/``jacfwd``
    return) or already be flattened to ``(out.numel(), in.numel())``.
    Flattening is row-major, as ``torch.flatten``.
    """
    J = _to_numpy(J)
    if J.ndim == 0:
        J = J.reshape(1)
    out_shape, in_shape = _split_shapes(J.shape, out_shape, in_shape)
    M = J.reshape(math.prod(out_shape), math.prod(in_shape))
    return M, out_shape, in_shape


def _block_size(shape) -> int:
    """Size of the blocks that row-major flattening of ``shape`` creates (0: no
    blocks).
    """
    return math.prod(shape[1:]) if len(shape) >= 2 and shape[0] > 1 else 0


def _axis_label(kind: str, shape) -> str:
    if len(shape) >= 2:
        return f"{kind} index (row-major over {'×'.join(map(str, shape))})"
    return f"{kind} index"


# -----------------------------------------------------------------------------
# one Jacobian
# -----------------------------------------------------------------------------


def plot_jacobian(
    J,
    *,
    out_shape=None,
    in_shape=None,
    ax=None,
    title=None,
    annotate=False,
    fmt="{:.3g}",
    halfrange=None,
    colorbar=True,
    grid=True,
    cmap=CMAP,
):
    """Draw a Jacobian as a heatmap; return ``(fig, ax)``.

    Parameters
    ----------
    J : torch.Tensor or array-like
        Of shape ``out.shape + in.shape`` or ``(out.numel(), in.numel())``.
        A 1-D ``J`` is read as the gradient of a scalar (one row).
    out_shape, in_shape : tuple, optional
        Shapes of the output and input. Needed when ``J`` is already
        flattened and the blocks should be drawn, or when the split of
        ``J.shape`` is ambiguous (an odd number of dims).
    ax : matplotlib Axes, optional
        Draw into this axes; a new figure is made otherwise.
    annotate : bool
        Write each entry's value into its cell (for small Jacobians).
    fmt : str
        Format of the annotations, ``fmt.format(value)``.
    halfrange : float, optional
        The colour scale runs from ``-halfrange`` to ``+halfrange``; default
        ``max |J|``. Pass the same value to several plots to make their
        colours comparable.
    colorbar, grid : bool
        Draw the colour bar / the block separator lines.
    """
    M, out_shape, in_shape = as_matrix(J, out_shape, in_shape)
    rows, cols = M.shape
    if annotate and M.size > MAX_ANNOTATED:
        raise ValueError(
            f"plot_jacobian: annotate=True on a {rows}×{cols} Jacobian would "
            f"write {M.size} "
            f"numbers (at most {MAX_ANNOTATED}); use a smaller example or "
            "annotate=False"
        )
    if ax is None:
        w = min(7.0, 2.4 + 0.3 * cols)
        h = min(5.6, 1.3 + 0.3 * rows) + (0.4 if cols >= 3 * rows else 0.0)
        fig, ax = plt.subplots(
            figsize=(max(w, 3.2), max(h, 1.8)), layout="constrained"
        )
    else:
        fig = ax.figure

    if halfrange is None:
        finite = np.abs(M[np.isfinite(M)])
        halfrange = (
            float(finite.max()) if finite.size and finite.max() > 0 else 1.0
        )
    norm = CenteredNorm(vcenter=0.0, halfrange=halfrange)
    im = ax.imshow(
        M, cmap=cmap, norm=norm, interpolation="nearest", aspect="equal"
    )

    ax.set_xlabel(_axis_label("input", in_shape))
    ax.set_ylabel(_axis_label("output", out_shape))
    _set_ticks(ax.xaxis, cols, in_shape)
    _set_ticks(ax.yaxis, rows, out_shape)
    if title is not None:
        ax.set_title(title)

    if grid:
        line = dict(color="0.25", linewidth=0.8, gid=GRID_GID)
        b = _block_size(out_shape)
        for k in range(1, out_shape[0] if b else 0):
            ax.axhline(k * b - 0.5, **line)
        b = _block_size(in_shape)
        for k in range(1, in_shape[0] if b else 0):
            ax.axvline(k * b - 0.5, **line)

    if annotate:
        for i in range(rows):
            for j in range(cols):
                strong = abs(M[i, j]) > 0.6 * halfrange
                ax.text(
                    j,
                    i,
                    _format(fmt, M[i, j]),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if strong else "black",
                )

    if colorbar:
        if (
            cols >= 3 * rows
        ):  # a wide strip (a gradient row, say): the bar goes underneath
            fig.colorbar(im, ax=ax, location="bottom", shrink=0.8, aspect=30)
        else:
            fig.colorbar(im, ax=ax, shrink=0.9, aspect=20)
    return fig, ax


def _format(fmt: str, v: float) -> str:
    """``fmt.format(v)``, without a minus sign on a value that rounds to zero
    ("-0.0").
    """
    text = fmt.format(v + 0.0)  # + 0.0 turns -0.0 into 0.0
    try:
        if text.startswith("-") and float(text) == 0.0:
            text = text[1:]
    except ValueError:  # a format that is not a plain number
        pass
    return text


def _set_ticks(axis, size: int, shape) -> None:
    """Every index for a short axis, block starts for a blocked one, else a few
    integers.
    """
    b = _block_size(shape)
    if size <= 10:
        axis.set_ticks(range(size))
    elif b and shape[0] <= 12:
        axis.set_ticks(range(0, size, b))
    else:
        axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))


# -----------------------------------------------------------------------------
# several Jacobians side by side
# -----------------------------------------------------------------------------


def _per_panel(value, k: int, name: str) -> list:
    """A single value for every panel, or a list with one value per panel."""
    if isinstance(value, list):
        if len(value) != k:
            raise ValueError(
                f"plot_jacobians: {name} has {len(value)} entries for {k} "
                "Jacobians"
            )
        return value
    return [value] * k


def plot_jacobians(
    Js: Sequence,
    titles: Sequence[str] | None = None,
    *,
    share_scale=False,
    figsize=None,
    **style,
):
    """Draw Jacobians side by side for comparison; return ``(fig, axes)`` (a
    list of panels).

    ``style`` holds `plot_jacobian`'s keywords for every panel (``fmt``,
    ``grid``, ``cmap``, …); ``out_shape``, ``in_shape`` and ``annotate`` are
    one value for all panels or a list with one entry per panel. With
    ``share_scale=True`` all panels use the same colour scale (the largest
    ``|J|`` of them all), so equal colours mean equal values across panels.
    """
    Js = list(Js)
    k = len(Js)
    if k == 0:
        raise ValueError(
            "plot_jacobians: got no Jacobians; pass a list such as [J1, J2]"
        )
    if titles is not None and len(titles) != k:
        raise ValueError(
            f"plot_jacobians: {len(titles)} titles for {k} Jacobians"
        )
    outs = _per_panel(style.pop("out_shape", None), k, "out_shape")
    ins = _per_panel(style.pop("in_shape", None), k, "in_shape")
    notes = _per_panel(style.pop("annotate", False), k, "annotate")

    halfrange = None
    if share_scale:
        mats = [as_matrix(J, o, i)[0] for J, o, i in zip(Js, outs, ins)]
        biggest = max(
            (np.abs(M[np.isfinite(M)]).max(initial=0.0) for M in mats),
            default=0.0,
        )
        halfrange = float(biggest) if biggest > 0 else 1.0

    if figsize is None:
        figsize = (3.6 * k + 0.6, 3.4)
    fig, axes = plt.subplots(
        1, k, figsize=figsize, layout="constrained", squeeze=False
    )
    axes = list(axes[0])
    for n, (J, ax) in enumerate(zip(Js, axes)):
        plot_jacobian(
            J,
            out_shape=outs[n],
            in_shape=ins[n],
            ax=ax,
            title=None if titles is None else titles[n],
            annotate=notes[n],
            halfrange=halfrange,
            **style,
        )
    return fig, axes


# -----------------------------------------------------------------------------
# measured costs
# -----------------------------------------------------------------------------


def fit_slope(
    ns: Iterable[float], values: Iterable[float], last: int | None = None
) -> float:
    """Least-squares slope of ``log(values)`` against ``log(ns)``: the growth
    exponent p in c·n^p.

    ``last`` fits only the last ``last`` points (the largest sizes, where fixed
    overheads no longer hide the growth).
    """
    ns = np.asarray(list(ns), dtype=np.float64)
    values = np.asarray(list(values), dtype=np.float64)
    if ns.shape != values.shape or ns.size < 2:
        raise ValueError(
            "fit_slope: need two or more (n, value) pairs of equal length, "
            "got "
            f"{ns.size} sizes and {values.size} values"
        )
    if last is not None:
        ns, values = ns[-last:], values[-last:]
    if np.any(ns <= 0) or np.any(values <= 0):
        raise ValueError(
            "fit_slope: sizes and values must be positive to take logs"
        )
    slope, _ = np.polyfit(np.log(ns), np.log(values), 1)
    return float(slope)


def plot_costs(
    series: dict,
    *,
    ylabel: str,
    xlabel: str = "n",
    ax=None,
    title=None,
    fit_last: int | None = None,
    guides: dict | None = None,
):
    """Log-log plot of measured costs with a fitted growth exponent in each
    legend entry.

    ``series`` maps a label to ``(ns, values)``.  ``fit_last`` fits each slope
    on its last points only.  ``guides`` maps a label to ``(ns, values)`` for
    reference curves in grey (dashed, dotted, dash-dotted in turn: an exact
    formula, say), without a fit.  Returns ``(fig, ax, slopes)`` with
    ``slopes`` a dict label -> fitted exponent.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 3.8), layout="constrained")
    else:
        fig = ax.figure
    slopes = {}
    for label, (ns, values) in series.items():
        p = fit_slope(ns, values, last=fit_last)
        slopes[label] = p
        ax.loglog(
            ns, values, "o-", markersize=4, label=f"{label}  (slope ≈ {p:.1f})"
        )
    styles = ["--", ":", "-."]
    for k, (label, (ns, values)) in enumerate((guides or {}).items()):
        ax.loglog(
            ns, values, styles[k % 3], color="0.45", linewidth=1.2, label=label
        )
    sizes = sorted({float(n) for ns, _ in series.values() for n in ns})
    if (
        len(sizes) <= 12 and sizes[-1] <= 100 * sizes[0]
    ):  # label the sizes themselves: 8, 16, 32
        ax.set_xticks(sizes, [f"{n:g}" for n in sizes])
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    return fig, ax, slopes
