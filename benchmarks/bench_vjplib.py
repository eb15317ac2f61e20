"""Speed and memory of vjplib against torch, printed side by side as median
ratios.

    .venv/bin/python benchmarks/bench_vjplib.py            # about 1-2 minutes
    .venv/bin/python benchmarks/bench_vjplib.py --quick    # fewer repeats,
    smaller sizes .venv/bin/python benchmarks/bench_vjplib.py --json
    results.json

1. vjplib.grad vs torch.autograd for z = ‖X⁻¹‖_F at n = 100, 500, 1000 (time
   and peak memory);
2. gradient time / forward time at n = 1000 (the cheap-gradient principle);
3. vjplib.jacrev (one batched VJP) vs torch.func.jacrev vs a row-by-row loop,
   f(X) = X⁻¹;
4. the naive route (J₁ and J₂ built explicitly, then multiplied) vs the VJP, n
   = 10 … 60, with growth exponents fitted on a log-log scale;
5. constant operands (rules skip the inputs that need no derivative): jacfwd
   and jacrev of tanh(W x) for n_in × n_out = 2048 × 8 and 8 × 2048, and the
   Hessian of a logistic loss at d = 256, vjplib vs torch.func;
6. graph memory: the bytes the recorded graph keeps alive after the forward
   pass of h <- tanh(W h), k = 1 ... 20 layers of n x n matrices, vjplib
   against torch (target <= 1.0x), measured by vjplib.checks.graph_bytes and
   torch_graph_bytes (chapter 4 calls the same two);
E. the eager face: z.backward() of z = ‖X⁻¹‖_F with vjplib.tensor against
   torch at n = 100, 500, 1000 (target <= 1.10x at n >= 500), and the graph
   memory kept alive before backward() (eager_graph_bytes vs
   torch_graph_bytes). ``--eager`` runs this section only.
7. one mode from the other (issue 19): per-example gradients of a logistic
   loss, vjplib.vmap(vjplib.grad(f)) vs torch.func.vmap(torch.func.grad(f))
   vs a Python loop of vjplib.grad, batch 16 ... 1024, d = 256 (target <=
   1.5x torch.func at batch >= 256); the VJP of ‖X⁻¹‖_F at n = 500 by
   linear_transpose(linearize(f)) vs vjplib.vjp (target <= 1.5x).
   ``--transforms`` runs this section only.
K. kinks (issue 23): relu, where(x > 0, x, 0.01 x) and amax(x, 1), forward +
   backward on a 4096 x 1024 float32 batch on the eager face, vjplib.tensor
   vs torch (target <= 1.10x). ``--kinks`` runs this section only.

Times: each case runs interleaved with its rivals (order rotated), after a
warm-up; we report the median time of each and the median of the per-repeat
ratios (robust on a shared machine). Peak memory: the high-water mark of live
CPU tensor bytes allocated during one call, summed from the allocation and free
events of torch.profiler(profile_memory=True). (CPU tensors are invisible to
tracemalloc; this counts exactly the tensors, not allocator slack or Python
objects.)
"""

import argparse
import contextlib
import gc
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
from torch.profiler import ProfilerActivity, profile

import vjplib as vl

F64 = torch.float64


def well_conditioned(n, seed=0):
    """n I + a standard normal matrix, built in place (no temporaries)."""
    X = torch.randn(
        n, n, generator=torch.Generator().manual_seed(seed), dtype=F64
    )
    X.diagonal().add_(n)
    return X


def race(fns, repeats):
    """
    Median time of each fn and the list of per-repeat times, interleaved, order
    rotated.
    """
    names = list(fns)
    for name in names:  # warm-up
        fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def median_ratio(times, a, b):
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def ms(times, name):
    return 1e3 * statistics.median(times[name])


@contextlib.contextmanager
def quiet_stderr():
    """Silence file descriptor 2: the profiler's C++ side logs start/stop lines
    into the table.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with open(os.devnull, "w") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def peak_mb(fn):
    """High-water mark (MB) of live tensor bytes allocated while fn runs
    (torch.profiler events).
    """
    gc.collect()
    with (
        quiet_stderr(),
        profile(
            activities=[ProfilerActivity.CPU], profile_memory=True
        ) as prof,
    ):
        fn()
    events = [
        e
        for e in prof.profiler.kineto_results.events()
        if e.name() == "[memory]"
    ]
    live = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        live += e.nbytes()
        peak = max(peak, live)
    return peak / 1e6


def z_vjplib(X):
    return vl.norm(vl.inv(X))


def grad_torch(X):
    X = X.detach().requires_grad_(True)
    z = torch.linalg.norm(torch.linalg.inv(X))
    return torch.autograd.grad(z, X)[0]


def grad_naive(X):
    """Build J₁ = ∂vec(Y)/∂vec(X), J₁[(i,j),(k,l)] = -Y[i,k] Y[l,j] (from dY =
    -Y dX Y; n² × n²)
    and J₂ = ∂z/∂vec(Y) = vec(Y)ᵀ/z (1 × n²) explicitly, then multiply."""
    n = X.shape[0]
    Y = torch.linalg.inv(X)
    z = torch.linalg.norm(Y)
    J1 = -torch.einsum("ik,lj->ijkl", Y, Y).reshape(n * n, n * n)
    J2 = (Y / z).reshape(1, n * n)
    return (J2 @ J1).reshape(n, n)


def item1(sizes, repeats, out):
    print(
        "1. z = ||X^-1||_F, gradient: vjplib.grad vs torch.autograd   "
        "(target: time <= 1.10x at n >= 500)"
    )
    print(
        f"   {'n':>5} {'torch ms':>10} {'vjplib ms':>10} {'time x':>7} "
        f"{'torch MB':>9} {'vjplib MB':>10} {'memory x':>9}"
    )
    grad_vl = vl.grad(z_vjplib)
    for n in sizes:
        X = well_conditioned(n)
        vl.assert_close(grad_vl(X), grad_torch(X), what=f"gradient at n={n}")
        t = race(
            {"torch": lambda: grad_torch(X), "vjplib": lambda: grad_vl(X)},
            repeats(n),
        )
        m_torch, m_vl = (
            peak_mb(lambda: grad_torch(X)),
            peak_mb(lambda: grad_vl(X)),
        )
        ratio = median_ratio(t, "vjplib", "torch")
        print(
            f"   {n:>5} {ms(t, 'torch'):>10.2f} {ms(t, 'vjplib'):>10.2f} "
            f"{ratio:>7.3f} "
            f"{m_torch:>9.2f} {m_vl:>10.2f} {m_vl / m_torch:>9.3f}"
        )
        out.append(
            dict(
                item=1,
                n=n,
                torch_ms=ms(t, "torch"),
                vjplib_ms=ms(t, "vjplib"),
                time_ratio=ratio,
                torch_mb=m_torch,
                vjplib_mb=m_vl,
            )
        )


def item2(n, repeats, out):
    print(
        f"\n2. cheap gradient at n = {n}: gradient time / forward time   "
        "(target: <= 3)"
    )
    X = well_conditioned(n)
    grad_vl = vl.grad(z_vjplib)
    t = race(
        {
            "forward": lambda: z_vjplib(X),
            "vjplib": lambda: grad_vl(X),
            "torch": lambda: grad_torch(X),
        },
        repeats,
    )
    r_vl, r_torch = (
        median_ratio(t, "vjplib", "forward"),
        median_ratio(t, "torch", "forward"),
    )
    print(
        f"   forward {ms(t, 'forward'):.1f} ms | vjplib.grad "
        f"{ms(t, 'vjplib'):.1f} ms -> {r_vl:.2f}x"
        f" | torch.autograd {ms(t, 'torch'):.1f} ms -> {r_torch:.2f}x"
    )
    out.append(
        dict(
            item=2,
            n=n,
            forward_ms=ms(t, "forward"),
            vjplib_ratio=r_vl,
            torch_ratio=r_torch,
        )
    )


def item3(sizes, repeats, out):
    print(
        "\n3. Jacobian of f(X) = X^-1 (shape n,n,n,n): batched jacrev vs "
        "torch.func.jacrev vs loop"
        "   (target: batched <= 1.5x torch.func)"
    )
    print(
        f"   {'n':>5} {'torch.func ms':>14} {'batched ms':>11} "
        f"{'loop ms':>9} {'batched/torch.func':>19} {'loop/batched':>13}"
    )
    jac_vl, jac_loop = vl.jacrev(vl.inv), vl.jacrev_loop(vl.inv)
    jac_torch = torch.func.jacrev(torch.linalg.inv)
    for n in sizes:
        X = well_conditioned(n)
        vl.assert_close(jac_vl(X), jac_torch(X), what=f"jacrev at n={n}")
        t = race(
            {
                "torch": lambda: jac_torch(X),
                "batched": lambda: jac_vl(X),
                "loop": lambda: jac_loop(X),
            },
            repeats,
        )
        r, r_loop = (
            median_ratio(t, "batched", "torch"),
            median_ratio(t, "loop", "batched"),
        )
        print(
            f"   {n:>5} {ms(t, 'torch'):>14.2f} {ms(t, 'batched'):>11.2f} "
            f"{ms(t, 'loop'):>9.1f} {r:>19.3f} {r_loop:>13.1f}"
        )
        out.append(
            dict(
                item=3,
                n=n,
                torch_ms=ms(t, "torch"),
                batched_ms=ms(t, "batched"),
                loop_ms=ms(t, "loop"),
                batched_over_torch=r,
                loop_over_batched=r_loop,
            )
        )


def item4(sizes, repeats, out):
    print(
        "\n4. naive route (J1, n^2 x n^2, and J2, 1 x n^2, built "
        "explicitly, then J2 @ J1) vs the VJP (vjplib.grad)"
    )
    print(
        f"   {'n':>5} {'naive ms':>9} {'vjp ms':>8} {'time x':>8} "
        f"{'naive MB':>9} {'vjp MB':>8} {'memory x':>9}"
    )
    grad_vl = vl.grad(z_vjplib)
    rows = []
    for n in sizes:
        X = well_conditioned(n)
        vl.assert_close(
            grad_naive(X),
            grad_vl(X),
            what=f"naive gradient at n={n}",
            rtol=1e-9,
        )
        t = race(
            {"naive": lambda: grad_naive(X), "vjp": lambda: grad_vl(X)},
            repeats,
        )
        m_naive, m_vjp = (
            peak_mb(lambda: grad_naive(X)),
            peak_mb(lambda: grad_vl(X)),
        )
        rows.append((n, ms(t, "naive"), ms(t, "vjp"), m_naive, m_vjp))
        print(
            f"   {n:>5} {ms(t, 'naive'):>9.2f} {ms(t, 'vjp'):>8.2f} "
            f"{median_ratio(t, 'naive', 'vjp'):>8.1f} "
            f"{m_naive:>9.3f} {m_vjp:>8.3f} {m_naive / m_vjp:>9.1f}"
        )
        out.append(
            dict(
                item=4,
                n=n,
                naive_ms=ms(t, "naive"),
                vjp_ms=ms(t, "vjp"),
                naive_mb=m_naive,
                vjp_mb=m_vjp,
            )
        )
    log_n = np.log([r[0] for r in rows])
    slope = lambda col: np.polyfit(log_n, np.log([r[col] for r in rows]), 1)[0]
    exps = dict(
        naive_time=slope(1),
        vjp_time=slope(2),
        naive_memory=slope(3),
        vjp_memory=slope(4),
    )
    print(
        "   fitted growth (log-log slope over n = "
        f"{sizes[0]}..{sizes[-1]}): time naive ~ "
        f"n^{exps['naive_time']:.2f}, vjp ~ n^{exps['vjp_time']:.2f}; "
        f"memory naive ~ n^{exps['naive_memory']:.2f}, "
        f"vjp ~ n^{exps['vjp_memory']:.2f}   (theory at large n: time n^4 "
        "vs n^3, memory n^4 vs n^2; at these n the VJP time is mostly fixed "
        "per-op overhead)"
    )
    out.append(dict(item=4, exponents=exps))


def tanh_layer(n_in, n_out, seed=3):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n_out, n_in, generator=g, dtype=F64) / n_in**0.5
    x = torch.randn(n_in, generator=g, dtype=F64)
    return (
        (lambda x: vl.tanh(vl.matmul(W, x))),
        (lambda x: torch.tanh(W @ x)),
        x,
    )


def logistic(d, m=256, lam=1e-3, seed=4):
    g = torch.Generator().manual_seed(seed)
    A = torch.randn(m, d, generator=g, dtype=F64) * torch.logspace(
        0, -1, d, dtype=F64
    )
    y = torch.sign(
        A @ torch.randn(d, generator=g, dtype=F64)
        + 0.5 * torch.randn(m, generator=g, dtype=F64)
    )
    f = lambda w: (
        vl.sum(vl.log(1 + vl.exp(-(y * vl.matmul(A, w))))) / m
        + lam / 2 * vl.sum(w * w)
    )
    f_torch = lambda w: (
        torch.nn.functional.softplus(-y * (A @ w)).mean()
        + lam / 2 * (w * w).sum()
    )
    return f, f_torch, torch.randn(d, generator=g, dtype=F64)


def item5(repeats, out):
    print(
        "\n5. constant operands (W, A need no derivative): vjplib vs "
        "torch.func"
    )
    print(
        f"   {'case':<40} {'torch.func ms':>14} {'vjplib ms':>10} "
        f"{'time x':>7}"
    )
    cases = []
    for n_in, n_out in ((2048, 8), (8, 2048)):
        f, f_torch, x = tanh_layer(n_in, n_out)
        for mode in ("jacfwd", "jacrev"):
            cases.append(
                (
                    f"{mode} of tanh(W x), {n_in} x {n_out}",
                    getattr(vl, mode)(f),
                    getattr(torch.func, mode)(f_torch),
                    x,
                )
            )
    f, f_torch, w = logistic(256)
    cases.append(
        (
            "hessian of a logistic loss, d = m = 256",
            vl.hessian(f),
            torch.func.hessian(f_torch),
            w,
        )
    )
    for name, ours, theirs, x in cases:
        vl.assert_close(ours(x), theirs(x), what=name)
        t = race(
            {"torch": lambda: theirs(x), "vjplib": lambda: ours(x)}, repeats
        )
        ratio = median_ratio(t, "vjplib", "torch")
        print(
            f"   {name:<40} {ms(t, 'torch'):>14.2f} "
            f"{ms(t, 'vjplib'):>10.2f} {ratio:>7.2f}"
        )
        out.append(
            dict(
                item=5,
                case=name,
                torch_ms=ms(t, "torch"),
                vjplib_ms=ms(t, "vjplib"),
                time_ratio=ratio,
            )
        )


def tanh_chain(k, n, seed=5):
    """h <- tanh(W h), k times, from h = X (n x n; W a constant), written with
    vjplib and with torch."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(n, n, generator=g, dtype=F64) / n**0.5
    X = torch.randn(n, n, generator=g, dtype=F64)

    def f(H):
        for _ in range(k):
            H = vl.tanh(W @ H)
        return H

    def f_torch(H):
        for _ in range(k):
            H = torch.tanh(W @ H)
        return H

    return f, f_torch, X


def item6(depths, n, out):
    print(
        f"\n6. graph memory after the forward pass of h <- tanh(W h), "
        f"k layers, n = {n}   (target: <= 1.0x torch)"
    )
    print(
        f"   {'k':>3} {'torch KB':>9} {'vjplib KB':>10} {'memory x':>9} "
        f"{'n x n matrices (torch, vjplib)':>31}"
    )
    one = n * n * 8
    for k in depths:
        f, f_torch, X = tanh_chain(k, n)
        b_vl = vl.checks.graph_bytes(f, X)
        b_torch = vl.checks.torch_graph_bytes(f_torch, X)
        print(
            f"   {k:>3} {b_torch / 1e3:>9.1f} {b_vl / 1e3:>10.1f} "
            f"{b_vl / b_torch:>9.3f} {b_torch / one:>15.2f}, "
            f"{b_vl / one:.2f}"
        )
        out.append(
            dict(
                item=6,
                k=k,
                n=n,
                torch_bytes=b_torch,
                vjplib_bytes=b_vl,
                memory_ratio=b_vl / b_torch,
            )
        )


def eager_z(X):
    """z.backward() of z = ||X^-1||_F on the eager face: the leaf's .grad."""
    X = vl.tensor(X, requires_grad=True)
    vl.norm(vl.inv(X)).backward()
    return X.grad.primal


def eager_z_torch(X):
    X = X.detach().clone().requires_grad_(True)  # a copy, as vjplib.tensor
    torch.linalg.norm(torch.linalg.inv(X)).backward()
    return X.grad


def item_eager(sizes, repeats, out):
    print(
        "\nE. eager face: z.backward() of z = ||X^-1||_F, vjplib.tensor vs "
        "torch   (target: time <= 1.10x at n >= 500; memory <= 1.0x)"
    )
    print(
        f"   {'n':>5} {'torch ms':>10} {'vjplib ms':>10} {'time x':>7} "
        f"{'torch KB':>10} {'vjplib KB':>10} {'memory x':>9}"
    )
    for n in sizes:
        X = well_conditioned(n)
        vl.assert_close(eager_z(X), eager_z_torch(X), what=f"eager n={n}")
        t = race(
            {"torch": lambda: eager_z_torch(X), "vjplib": lambda: eager_z(X)},
            repeats(n),
        )
        ratio = median_ratio(t, "vjplib", "torch")
        # the graph kept alive before backward(): X^-1 and z, in both
        b_vl = vl.eager_graph_bytes(z_vjplib, X)
        b_torch = vl.torch_graph_bytes(
            lambda X: torch.linalg.norm(torch.linalg.inv(X)), X
        )
        print(
            f"   {n:>5} {ms(t, 'torch'):>10.2f} {ms(t, 'vjplib'):>10.2f} "
            f"{ratio:>7.3f} {b_torch / 1e3:>10.1f} {b_vl / 1e3:>10.1f} "
            f"{b_vl / b_torch:>9.3f}"
        )
        out.append(
            dict(
                item="eager",
                n=n,
                torch_ms=ms(t, "torch"),
                vjplib_ms=ms(t, "vjplib"),
                time_ratio=ratio,
                torch_bytes=b_torch,
                vjplib_bytes=b_vl,
            )
        )


KINK_OPS = {  # name: (vjplib's op, torch's), each on a (batch, width) x
    "relu": (vl.relu, torch.relu),
    "where": (
        lambda x: vl.where(x > 0, x, 0.01 * x),
        lambda x: torch.where(x > 0, x, 0.01 * x),
    ),
    "amax": (lambda x: vl.amax(x, 1), lambda x: torch.amax(x, 1)),
}


def kink_step(op, x, y_bar):
    """One forward and backward on the eager face: y = op(x),
    y.backward(y_bar); the leaf's .grad is reset first (for both faces)."""
    x.grad = None
    op(x).backward(y_bar)


def item_kinks(shape, dtype, repeats, out):
    print(
        f"\nK. kinks (issue 23): relu, where(x > 0, x, 0.01 x) and amax(x, 1) "
        f"forward + backward on a {shape[0]}x{shape[1]} {dtype} batch, eager "
        "face, vjplib.tensor vs torch   (target: time <= 1.10x)"
    )
    print(f"   {'op':>6} {'torch ms':>10} {'vjplib ms':>10} {'time x':>7}")
    g = torch.Generator().manual_seed(23)
    X = torch.randn(shape, generator=g, dtype=dtype)
    X[::7] = 0.0  # rows of ties and kinks: amax splits them, relu'(0) = 0
    for name, (ours, theirs) in KINK_OPS.items():
        x_vl = vl.tensor(X, requires_grad=True)
        x_torch = X.clone().requires_grad_(True)
        y_bar = torch.randn(theirs(X).shape, generator=g, dtype=dtype)
        kink_step(ours, x_vl, y_bar)
        kink_step(theirs, x_torch, y_bar)
        vl.assert_close(x_vl.grad.primal, x_torch.grad, what=name)
        t = race(
            {
                "torch": lambda: kink_step(theirs, x_torch, y_bar),
                "vjplib": lambda: kink_step(ours, x_vl, y_bar),
            },
            repeats,
        )
        ratio = median_ratio(t, "vjplib", "torch")
        print(
            f"   {name:>6} {ms(t, 'torch'):>10.2f} {ms(t, 'vjplib'):>10.2f} "
            f"{ratio:>7.3f}"
        )
        out.append(
            dict(
                item="kinks",
                op=name,
                shape=list(shape),
                torch_ms=ms(t, "torch"),
                vjplib_ms=ms(t, "vjplib"),
                time_ratio=ratio,
            )
        )


def per_example_data(B, d, seed=6):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(B, d, generator=g, dtype=F64)
    y = torch.sign(torch.randn(B, generator=g, dtype=F64))
    w = torch.randn(d, generator=g, dtype=F64) / d**0.5
    return w, X, y


def item7(batches, d, n, repeats, out):
    print(
        "\n7. one mode from the other: vmap(grad(f)) per-example gradients of "
        f"softplus(-y x·w), d = {d}; VJP by transposition at n = {n}"
    )
    print(
        f"   {'batch':>6} {'torch.func ms':>14} {'vjplib ms':>10} "
        f"{'time x':>7} {'loop ms':>9} {'loop x':>7}"
    )
    loss = lambda w, x, y: vl.softplus(-y * vl.matmul(x, w))
    loss_torch = lambda w, x, y: torch.nn.functional.softplus(-y * (x @ w))
    ours = vl.vmap(vl.grad(loss), in_dims=(None, 0, 0))
    theirs = torch.func.vmap(torch.func.grad(loss_torch), in_dims=(None, 0, 0))
    g = vl.grad(loss)
    for B in batches:
        w, X, y = per_example_data(B, d)
        loop = lambda: torch.stack([g(w, X[i], y[i]) for i in range(B)])
        vl.assert_close(ours(w, X, y), theirs(w, X, y), what="vmap(grad)")
        fns = {
            "torch": lambda: theirs(w, X, y),
            "vjplib": lambda: ours(w, X, y),
        }
        if B <= 256:  # the loop is slow: time it at the small batches only
            vl.assert_close(loop(), theirs(w, X, y), what="loop")
            fns["loop"] = loop
        t = race(fns, repeats)
        ratio = median_ratio(t, "vjplib", "torch")
        row = dict(item=7, batch=B, d=d, torch_ms=ms(t, "torch"))
        row.update(vjplib_ms=ms(t, "vjplib"), time_ratio=ratio)
        loop_cols = f"{'':>9} {'':>7}"
        if "loop" in t:
            row.update(loop_ms=ms(t, "loop"))
            row.update(loop_ratio=median_ratio(t, "loop", "vjplib"))
            loop_cols = f"{row['loop_ms']:>9.2f} {row['loop_ratio']:>7.1f}"
        print(
            f"   {B:>6} {row['torch_ms']:>14.3f} {row['vjplib_ms']:>10.3f} "
            f"{ratio:>7.2f} {loop_cols}"
        )
        out.append(row)
    print("   ('loop x': the Python loop of vjplib.grad over vmap(grad))")
    X, one = well_conditioned(n), torch.tensor(1.0, dtype=F64)

    def by_transposition():
        _, jvp_fn = vl.linearize(z_vjplib, X)
        return vl.linear_transpose(jvp_fn, X)(one)[0]

    def by_vjp():
        return vl.vjp(z_vjplib, X)[1](one)[0]

    vl.assert_close(by_transposition(), by_vjp(), what="VJP by transposition")
    t = race({"vjp": by_vjp, "transposed": by_transposition}, repeats)
    ratio = median_ratio(t, "transposed", "vjp")
    print(
        f"   VJP of ‖X⁻¹‖_F, n = {n}: vjplib.vjp {ms(t, 'vjp'):.1f} ms, "
        f"linear_transpose(linearize) {ms(t, 'transposed'):.1f} ms, "
        f"time x {ratio:.2f}"
    )
    out.append(
        dict(
            item=7,
            case=f"VJP by transposition, n = {n}",
            vjp_ms=ms(t, "vjp"),
            transposed_ms=ms(t, "transposed"),
            time_ratio=ratio,
        )
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--eager",
        action="store_true",
        help="run only section E (the eager face, z.backward())",
    )
    parser.add_argument(
        "--transforms",
        action="store_true",
        help="run only section 7 (vmap of grad, VJP by transposition)",
    )
    parser.add_argument(
        "--kinks",
        action="store_true",
        help="run only section K (relu, where, amax forward + backward)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats and smaller sizes"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: stable numbers)",
    )
    parser.add_argument(
        "--json", help="also write the numbers to this JSON file"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    q = args.quick
    print(
        f"vjplib benchmark: torch {torch.__version__}, {args.threads} "
        "thread(s), float64, CPU"
    )
    print(
        "times: median of interleaved repeats; 'x' columns: median of "
        "per-repeat ratios (vjplib / rival)"
    )
    print(
        "peak memory: high-water mark of live CPU tensor bytes during one "
        "call (torch.profiler allocation events)\n"
    )
    out = []
    eager_sizes = [100, 300] if q else [100, 500, 1000]
    eager_repeats = lambda n: 3 if q else (25 if n <= 100 else 9)
    transforms = lambda: item7(
        [16, 64] if q else [16, 64, 256, 1024],
        256,
        300 if q else 500,
        3 if q else 9,
        out,
    )
    kinks = lambda: item_kinks(
        (1024, 1024) if q else (4096, 1024),
        torch.float32,
        5 if q else 21,
        out,
    )
    if args.kinks:
        kinks()
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=1)
        return
    if args.transforms:
        transforms()
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=1)
        return
    if args.eager:
        item_eager(eager_sizes, eager_repeats, out)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(out, fh, indent=1)
        return
    item1(
        [100, 300] if q else [100, 500, 1000],
        lambda n: 3 if q else (25 if n <= 100 else 9 if n <= 500 else 7),
        out,
    )
    item2(300 if q else 1000, 3 if q else 7, out)
    item3([16] if q else [16, 32], 3 if q else 7, out)
    item4([10, 20, 30] if q else [10, 20, 30, 40, 50, 60], 3 if q else 7, out)
    item5(3 if q else 9, out)
    item6([1, 2, 5, 10, 20] if q else list(range(1, 21)), 48, out)
    item_eager(eager_sizes, eager_repeats, out)
    transforms()
    kinks()
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
