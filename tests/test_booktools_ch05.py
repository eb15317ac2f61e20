"""booktools.ch05: chapter 5's error display, memory meter, figures and
exercise checkers."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import vjplib  # noqa: E402
from booktools import ch05  # noqa: E402
from booktools.exercises import says


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_error_line_keeps_the_first_sentence_wrapped():
    err = RuntimeError("a leaf in-place problem here. Hint: a long hint")
    line = ch05.error_line(err, width=30)
    assert line.startswith("RuntimeError: a leaf")
    assert "Hint" not in line and "in-place" in line  # no break at hyphens
    assert all(len(row) <= 30 for row in line.splitlines())
    assert ch05.error_line(ValueError("no period")) == "ValueError: no period"


def test_kept_bytes_measures_the_saved_tensors_and_nothing_without_grad():
    X = torch.eye(6, dtype=torch.float64) * 3.0 + 0.1
    kept = ch05.kept_by_mode(
        lambda X: vjplib.norm(vjplib.inv(X)),
        lambda X: torch.linalg.norm(torch.linalg.inv(X)),
        X,
    )
    assert list(kept) == ["grad", "no_grad", "inference_mode", "detach"]
    assert kept["grad"] == (6 * 6 * 8 + 8, 6 * 6 * 8 + 8)
    assert kept["no_grad"] == (8, 8) and kept["detach"] == (8, 8)
    assert kept["inference_mode"] == (None, 8)


def test_plots_draw_what_they_are_given():
    kept = {"grad": (2048, 2048), "inference_mode": (None, 8)}
    fig = ch05.plot_kept(kept, unit=1024, unit_label="KiB")
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert heights == [2.0, 0.0, 2.0, 8 / 1024]
    fig = ch05.plot_grad_growth([3, 2, 1], [3, 5, 6])
    lines = fig.axes[0].get_lines()
    assert list(lines[1].get_ydata()) == [3, 5, 6]


def right_step(W, batches):
    W.grad = None
    for A, b in batches:
        r = A @ W - b
        ((r * r).sum() / r.shape[0] / len(batches)).backward()


def test_check_accumulated_accepts_the_right_answer(capsys):
    assert ch05.check_accumulated(right_step)
    assert "Correct" in capsys.readouterr().out


def loss(W, A, b):
    r = A @ W - b
    return (r * r).sum() / r.shape[0]


def stale(W, bs):  # no reset
    for A, b in bs:
        (loss(W, A, b) / len(bs)).backward()


def undivided(W, bs):  # no 1/k
    W.grad = None
    for A, b in bs:
        loss(W, A, b).backward()


def reset_inside(W, bs):  # .grad reset in the loop
    for A, b in bs:
        W.grad = None
        (loss(W, A, b) / len(bs)).backward()


@pytest.mark.parametrize(
    "step, words",
    [
        (stale, "set W.grad = None before"),
        (undivided, "4 times too large"),
        (reset_inside, "only the last micro-batch counted"),
        (lambda W, bs: setattr(W, "grad", None), "W.grad is None"),
    ],
)
def test_check_accumulated_names_the_mistake(step, words):
    with says(words):
        assert not ch05.check_accumulated(step)


def test_check_vjp_by_backward(capsys):
    def right(f, x, v):
        x = vjplib.tensor(x, requires_grad=True)
        f(x).backward(gradient=v)
        return x.grad

    assert ch05.check_vjp_by_backward(right)
    assert "Correct" in capsys.readouterr().out

    leaf = {}

    def reused_leaf(f, x, v):
        leaf.setdefault("x", vjplib.tensor(x, requires_grad=True))
        f(leaf["x"]).backward(gradient=v)
        return leaf["x"].grad.primal.clone()

    with says("kept its .grad"):
        assert not ch05.check_vjp_by_backward(reused_leaf)

    def summed(f, x, v):
        x = vjplib.tensor(x, requires_grad=True)
        f(x).sum().backward()
        return x.grad

    with says("pass gradient=v"):
        assert not ch05.check_vjp_by_backward(summed)

    def jvp(f, x, v):
        return f(vjplib.tensor(x))

    with says("a JVP"):
        assert not ch05.check_vjp_by_backward(jvp)


@pytest.mark.parametrize(
    "slip, words",
    [
        (lambda g: -g, "x̄: the sign is wrong"),
        (lambda g: 3 * g, "x̄: off by a factor of 3"),
        (lambda g: g[:4], r"x̄: shape \(4,\), expected \(5,\)"),
        (lambda g: g.reshape(5, 1), r"x̄: shape \(5, 1\)"),
        (lambda g: None, "x̄: nothing returned"),
    ],
)
def test_check_vjp_by_backward_names_the_usual_slips(slip, words):
    def answer(f, x, v):
        x = vjplib.tensor(x, requires_grad=True)
        f(x).backward(gradient=v)
        return slip(x.grad.primal)

    with says(words):
        assert not ch05.check_vjp_by_backward(answer)


def test_check_accumulated_names_a_sign_and_an_entry():
    def uphill(W, batches):
        right_step(W, batches)
        W.grad = -W.grad

    with says("W.grad: the sign is wrong"):
        assert not ch05.check_accumulated(uphill)

    def one_entry_off(W, batches):
        right_step(W, batches)
        W.grad = W.grad + torch.eye(*W.shape, dtype=torch.float64)[0]

    with says(r"W.grad: entry \(0, 0\)", r"mean\(\(A @ W - b\)"):
        assert not ch05.check_accumulated(one_entry_off)


def test_freed_reads_both_libraries_nodes():
    X0 = torch.eye(3, dtype=torch.float64) * 2
    X = vjplib.tensor(X0, requires_grad=True)
    Xt = X0.clone().requires_grad_()
    z, zt = vjplib.norm(vjplib.inv(X)), torch.linalg.norm(torch.linalg.inv(Xt))
    assert not ch05.freed(z.grad_fn) and not ch05.freed(zt.grad_fn)
    z.backward(retain_graph=True)
    zt.backward(retain_graph=True)
    assert not ch05.freed(z.grad_fn) and not ch05.freed(zt.grad_fn)
    z.backward()
    zt.backward()
    assert ch05.freed(z.grad_fn) and ch05.freed(zt.grad_fn)
    s = X + 1  # add saves nothing: never freed, in torch as in vjplib
    st = Xt + 1
    s.sum().backward()
    st.sum().backward()
    assert not ch05.freed(s.grad_fn) and not ch05.freed(st.grad_fn)
