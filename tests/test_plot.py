"""booktools.plot: figure structure (axes, colour bar, norm, labels, block
lines, annotations).

Pixels are not compared; every expectation below comes from the definition of
the picture (numerator layout, row-major flattening, a colour scale centred on
zero), not from the code.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from booktools.plot import (  # noqa: E402
    GRID_GID,
    as_matrix,
    fit_slope,
    plot_costs,
    plot_jacobian,
    plot_jacobians,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def grid_lines(ax):
    """(horizontal positions, vertical positions) of the block separators."""
    hs, vs = [], []
    for line in ax.get_lines():
        if line.get_gid() != GRID_GID:
            continue
        x, y = line.get_xdata(), line.get_ydata()
        if x[0] == x[1] and (y[0], y[1]) == (
            0,
            1,
        ):  # axvline: x data, y in axes coords
            vs.append(float(x[0]))
        else:  # axhline
            hs.append(float(y[0]))
    return sorted(hs), sorted(vs)


def image(ax):
    (im,) = ax.get_images()
    return im


def inv_jacobian(n, seed=0):
    """
    J of Y = X^{-1} with shape (n, n, n, n), from torch (the reference for the
    layout).
    """
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, n, dtype=torch.float64, generator=g) + n * torch.eye(
        n, dtype=torch.float64
    )
    return torch.autograd.functional.jacobian(torch.linalg.inv, X)


# -----------------------------------------------------------------------------
# one Jacobian
# -----------------------------------------------------------------------------


def test_one_panel_has_image_colorbar_and_labels():
    J = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    fig, ax = plot_jacobian(J)
    assert len(fig.axes) == 2  # the panel and its colour bar
    cbar_ax = [a for a in fig.axes if a is not ax][0]
    assert image(ax).colorbar is not None
    assert image(ax).colorbar.ax is cbar_ax
    assert ax.get_xlabel() == "input index"
    assert ax.get_ylabel() == "output index"
    # rows are outputs, columns are inputs: the image holds J itself, not its
    # transpose
    np.testing.assert_array_equal(np.asarray(image(ax).get_array()), J)


def test_norm_is_centred_on_zero_and_symmetric():
    J = np.array([[0.5, 4.0], [-1.0, 0.25]])  # lopsided: max 4, min -1
    _, ax = plot_jacobian(J)
    norm = image(ax).norm
    assert norm.vcenter == 0.0
    assert (
        norm.vmin == -4.0 and norm.vmax == 4.0
    )  # symmetric about zero, so white means 0
    assert norm(0.0) == pytest.approx(0.5)
    assert norm(4.0) == pytest.approx(1.0) and norm(-4.0) == pytest.approx(0.0)
    cmap = image(ax).get_cmap()
    assert cmap(0.0)[2] > cmap(0.0)[0]  # negative end blue
    assert cmap(1.0)[0] > cmap(1.0)[2]  # positive end red


def test_all_zero_jacobian_still_has_a_valid_scale():
    _, ax = plot_jacobian(np.zeros((3, 3)))
    norm = image(ax).norm
    assert norm.vcenter == 0.0 and norm.vmax > 0 and norm.vmin == -norm.vmax


def test_torch_tensor_with_grad_is_accepted():
    J = torch.tensor(
        [[1.0, 2.0], [3.0, 4.0]], dtype=torch.float64, requires_grad=True
    )
    _, ax = plot_jacobian(J)
    np.testing.assert_array_equal(
        np.asarray(image(ax).get_array()), J.detach().numpy()
    )


def test_vector_function_has_no_block_lines():
    _, ax = plot_jacobian(np.eye(5))
    assert grid_lines(ax) == ([], [])


def test_matrix_to_matrix_jacobian_is_flattened_row_major_with_block_lines():
    n = 3
    J4 = inv_jacobian(n)  # shape (3, 3, 3, 3) = out.shape + in.shape
    fig, ax = plot_jacobian(J4)
    M = np.asarray(image(ax).get_array())
    assert M.shape == (n * n, n * n)
    # row (i, j) -> i*n + j and column (k, l) -> k*n + l, as torch.flatten
    # orders entries
    for i, j, k, l in [(0, 1, 2, 0), (2, 2, 1, 0), (1, 0, 0, 2)]:
        assert M[i * n + j, k * n + l] == J4[i, j, k, l].item()
    hs, vs = grid_lines(ax)
    assert hs == [2.5, 5.5] and vs == [
        2.5,
        5.5,
    ]  # n - 1 lines each way, between the n-blocks
    assert "output index" in ax.get_ylabel() and "3×3" in ax.get_ylabel()
    assert "input index" in ax.get_xlabel() and "3×3" in ax.get_xlabel()


def test_flattened_jacobian_with_shapes_gives_the_same_picture():
    n = 3
    J4 = inv_jacobian(n)
    _, ax4 = plot_jacobian(J4)
    _, ax2 = plot_jacobian(
        J4.reshape(n * n, n * n), out_shape=(n, n), in_shape=(n, n)
    )
    np.testing.assert_array_equal(
        np.asarray(image(ax4).get_array()), np.asarray(image(ax2).get_array())
    )
    assert grid_lines(ax2) == grid_lines(ax4)


def test_rectangular_blocks_follow_each_shape():
    # Y = A.T with A of shape (2, 3): Y has shape (3, 2); J has shape (3, 2, 2,
    # 3)
    A = torch.zeros(2, 3, dtype=torch.float64)
    J = torch.autograd.functional.jacobian(lambda a: a.T, A)
    _, ax = plot_jacobian(J)
    hs, vs = grid_lines(ax)
    assert hs == [1.5, 3.5]  # output blocks of 2 rows (3 of them)
    assert vs == [2.5]  # input blocks of 3 columns (2 of them)
    M = np.asarray(image(ax).get_array())
    assert M.shape == (6, 6)
    np.testing.assert_array_equal(
        M.sum(axis=0), np.ones(6)
    )  # a permutation matrix
    np.testing.assert_array_equal(M.sum(axis=1), np.ones(6))


def test_only_one_side_matrix_shaped():
    # z = ||X||_F with X of shape (2, 4): J has shape (2, 4), one row after
    # flattening
    X = torch.arange(1.0, 9.0, dtype=torch.float64).reshape(2, 4)
    J = torch.autograd.functional.jacobian(torch.linalg.norm, X)
    _, ax = plot_jacobian(J, out_shape=())
    M = np.asarray(image(ax).get_array())
    assert M.shape == (1, 8)
    hs, vs = grid_lines(ax)
    assert hs == [] and vs == [3.5]


def test_gradient_vector_is_one_row():
    M, out_shape, in_shape = as_matrix(np.ones(4))
    assert M.shape == (1, 4) and out_shape == () and in_shape == (4,)


def test_grid_can_be_switched_off():
    _, ax = plot_jacobian(inv_jacobian(2), grid=False)
    assert grid_lines(ax) == ([], [])


def test_annotations_equal_the_values():
    J = np.array([[1.0, -0.5], [0.0, 2.25]])
    _, ax = plot_jacobian(J, annotate=True, fmt="{:.2f}")
    texts = {
        (t.get_position()[1], t.get_position()[0]): t.get_text()
        for t in ax.texts
    }
    assert len(texts) == 4
    for (i, j), text in texts.items():
        assert text == f"{J[int(i), int(j)]:.2f}"
    assert texts[(1, 0)] == "0.00"  # no "-0.00"


def test_negative_zero_is_annotated_as_zero():
    _, ax = plot_jacobian(np.array([[-0.0, 1.0]]), annotate=True)
    assert sorted(t.get_text() for t in ax.texts) == ["0", "1"]


def test_no_annotations_by_default():
    _, ax = plot_jacobian(np.eye(3))
    assert len(ax.texts) == 0


def test_annotating_a_big_jacobian_is_refused_before_any_figure_is_made():
    before = len(plt.get_fignums())
    with pytest.raises(ValueError, match="annotate"):
        plot_jacobian(np.zeros((40, 40)), annotate=True)
    assert len(plt.get_fignums()) == before


def test_title_and_existing_axes():
    fig, ax = plt.subplots()
    fig2, ax2 = plot_jacobian(np.eye(2), ax=ax, title="identity")
    assert fig2 is fig and ax2 is ax
    assert ax.get_title() == "identity"


def test_ambiguous_shape_is_refused_with_the_way_out():
    with pytest.raises(ValueError, match="out_shape"):
        plot_jacobian(np.zeros((2, 3, 4)))


def test_inconsistent_shapes_are_refused():
    with pytest.raises(ValueError, match=r"\(3, 3\)"):
        plot_jacobian(np.zeros((9, 9)), out_shape=(3, 3), in_shape=(2, 2))


def test_complex_values_are_refused():
    with pytest.raises(TypeError, match="complex|dtype"):
        plot_jacobian(np.eye(2) * 1j)


# -----------------------------------------------------------------------------
# side by side
# -----------------------------------------------------------------------------


def test_side_by_side_panels_each_with_colorbar_and_title():
    Js = [np.eye(3), -np.eye(3), np.tril(np.ones((3, 3)))]
    fig, axes = plot_jacobians(Js, titles=["a", "b", "c"])
    assert len(axes) == 3
    assert len(fig.axes) == 6  # three panels, three colour bars
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    for ax, J in zip(axes, Js):
        np.testing.assert_array_equal(np.asarray(image(ax).get_array()), J)
        assert image(ax).colorbar is not None
        assert ax.get_xlabel() == "input index"


def test_shared_scale_makes_colours_comparable():
    fig, axes = plot_jacobians([np.eye(2), 5 * np.eye(2)], share_scale=True)
    for ax in axes:
        norm = image(ax).norm
        assert norm.vcenter == 0.0 and norm.vmax == 5.0 and norm.vmin == -5.0


def test_separate_scales_by_default():
    _, axes = plot_jacobians([np.eye(2), 5 * np.eye(2)])
    assert [image(ax).norm.vmax for ax in axes] == [1.0, 5.0]


def test_per_panel_shapes_and_annotations():
    n = 2
    J4 = inv_jacobian(n)
    J2 = J4.reshape(n * n, n * n)
    _, axes = plot_jacobians(
        [J4, J2],
        out_shape=[None, (n, n)],
        in_shape=[None, (n, n)],
        annotate=[True, False],
    )
    assert grid_lines(axes[0]) == grid_lines(axes[1]) == ([1.5], [1.5])
    assert len(axes[0].texts) == 16 and len(axes[1].texts) == 0


def test_side_by_side_argument_errors():
    with pytest.raises(ValueError, match="titles"):
        plot_jacobians([np.eye(2)], titles=["a", "b"])
    with pytest.raises(ValueError, match="no Jacobians"):
        plot_jacobians([])
    with pytest.raises(ValueError, match="out_shape"):
        plot_jacobians([np.eye(2), np.eye(2)], out_shape=[(2,)])


# -----------------------------------------------------------------------------
# costs
# -----------------------------------------------------------------------------


def test_fit_slope_recovers_the_exponent_of_a_power_law():
    ns = np.array([10, 20, 40, 80])
    assert fit_slope(ns, 3.0 * ns**4.0) == pytest.approx(4.0)
    assert fit_slope(ns, 0.5 * ns**1.5) == pytest.approx(1.5)


def test_fit_slope_on_the_largest_sizes_ignores_an_overhead():
    ns = np.array([1, 2, 4, 8, 1000, 2000, 4000])
    values = 1e6 + ns**3.0  # flat at first, then n^3
    assert fit_slope(ns, values) < 2.0
    assert fit_slope(ns, values, last=2) == pytest.approx(3.0, abs=0.05)


def test_fit_slope_refuses_bad_input():
    with pytest.raises(ValueError):
        fit_slope([1.0], [2.0])
    with pytest.raises(ValueError):
        fit_slope([1.0, 2.0], [0.0, 1.0])


def test_plot_costs_is_log_log_with_slopes_in_the_legend():
    ns = np.array([8, 16, 32, 64])
    fig, ax, slopes = plot_costs(
        {"naive": (ns, ns**4.0), "vjp": (ns, 2.0 * ns**3.0)},
        ylabel="seconds",
        guides={"n^4 bytes": (ns, 8.0 * ns**4.0)},
    )
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    assert slopes == pytest.approx({"naive": 4.0, "vjp": 3.0})
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == [
        "naive  (slope ≈ 4.0)",
        "vjp  (slope ≈ 3.0)",
        "n^4 bytes",
    ]
    assert ax.get_ylabel() == "seconds" and ax.get_xlabel() == "n"


def test_value_that_rounds_to_zero_has_no_minus_sign():
    _, ax = plot_jacobian(
        np.array([[-0.001, -0.5]]), annotate=True, fmt="{:.2f}"
    )
    assert sorted(t.get_text() for t in ax.texts) == ["-0.50", "0.00"]


def test_short_axes_tick_every_index_blocked_axes_tick_block_starts():
    _, ax = plot_jacobian(np.eye(4))
    assert list(ax.get_xticks()) == [0, 1, 2, 3] and list(ax.get_yticks()) == [
        0,
        1,
        2,
        3,
    ]
    _, ax = plot_jacobian(inv_jacobian(4))  # 16 x 16 in 4 x 4 blocks
    assert list(ax.get_xticks()) == [0, 4, 8, 12] and list(
        ax.get_yticks()
    ) == [0, 4, 8, 12]


def test_a_gradient_row_gets_its_colour_bar_underneath():
    _, ax = plot_jacobian(np.arange(1.0, 10.0), out_shape=())
    assert image(ax).colorbar.orientation == "horizontal"
    assert list(ax.get_yticks()) == [0]


def test_plot_costs_labels_the_measured_sizes():
    ns = [10, 20, 40]
    _, ax, _ = plot_costs({"a": (ns, [1.0, 8.0, 64.0])}, ylabel="bytes")
    assert list(ax.get_xticks()) == [10, 20, 40]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10", "20", "40"]


def test_plot_costs_guides_have_distinct_line_styles():
    ns = [1, 2, 4]
    _, ax, _ = plot_costs(
        {"a": (ns, [1.0, 2.0, 4.0])},
        ylabel="s",
        guides={"g1": (ns, [1.0, 1.0, 1.0]), "g2": (ns, [2.0, 2.0, 2.0])},
    )
    styles = {
        line.get_label().split()[0]: line.get_linestyle()
        for line in ax.get_lines()
    }
    assert len({styles["g1"], styles["g2"], styles["a"]}) == 3


def test_plot_costs_over_many_decades_keeps_the_default_log_ticks():
    ns = [10, 1000, 100000]
    _, ax, _ = plot_costs({"a": (ns, [1.0, 2.0, 3.0])}, ylabel="s")
    assert "10" not in [t.get_text() for t in ax.get_xticklabels()]
