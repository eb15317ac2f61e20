"""One training step of an MLP, vjplib's eager face against torch's, printed
side by side as median ratios (chapter 13, "A network, trained").

    .venv/bin/python benchmarks/bench_train.py            # about 30-60 s
    .venv/bin/python benchmarks/bench_train.py --quick    # fewer repeats

1. one SGD step (zero the grads, forward, ``loss.backward()``, the update
   under ``no_grad``) of the chapter's network made larger: inputs of 256
   features, two relu layers of width 256, 10 classes, softmax
   cross-entropy with the stable logsumexp, batch 512, float64; vjplib
   (``vjplib.tensor(..., requires_grad=True)``) against torch eager (target
   <= 1.25x). Both runs start from the same parameters; after the timed
   steps their parameters are asserted equal (relative 1e-10), so the two
   did the same work.
2. per-example gradients of the same network, ``vjplib.vmap(vjplib.grad)``
   against ``torch.func.vmap(torch.func.grad)``, batch 16, 64 and 128 (a
   batch of 512 would hold 512 copies of every 256 x 256 weight: 0.5 GB).

Times: the rivals run interleaved (order rotated each repeat) after a
warm-up; the table shows each one's median time and the median of the
per-repeat ratios, which stays put on a busy machine.
"""

import argparse
import statistics
import time

import torch

import vjplib as vl
from booktools import ch13

F64 = torch.float64
SIZES = (256, 256, 256, 10)


def race(fns, repeats):
    """Per-repeat times of each fn, interleaved, order rotated, after one
    warm-up call each."""
    names = list(fns)
    for name in names:
        fns[name]()
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            fns[name]()
            times[name].append(time.perf_counter() - start)
    return times


def ratio(times, a, b):
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def ms(times, name):
    return 1e3 * statistics.median(times[name])


def data(batch, seed=7):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(batch, SIZES[0], generator=g, dtype=F64)
    y = torch.randint(0, SIZES[-1], (batch,), generator=g)
    return X, ch13.one_hot(y, SIZES[-1])


def step_vjplib(params, X, Y, lr):
    for p in params:
        p.grad = None
    loss = ch13.loss(params, X, Y)
    loss.backward()
    with vl.no_grad():
        for p in params:
            p.sub_(lr * p.grad)


def step_torch(params, X, Y, lr):
    for p in params:
        p.grad = None
    loss = ch13.loss_torch(params, X, Y)
    loss.backward()
    with torch.no_grad():
        for p in params:
            p.sub_(lr * p.grad)


def item_step(batch, repeats, lr=1e-3):
    print(
        f"\n1. one training step, MLP {' -> '.join(map(str, SIZES))}, batch "
        f"{batch}, float64: vjplib eager vs torch eager (target <= 1.25x)"
    )
    X, Y = data(batch)
    p0 = ch13.init_params(SIZES, seed=8)
    p_vl = [vl.tensor(p, requires_grad=True) for p in p0]
    p_t = [p.clone().requires_grad_() for p in p0]
    t = race(
        {
            "torch": lambda: step_torch(p_t, X, Y, lr),
            "vjplib": lambda: step_vjplib(p_vl, X, Y, lr),
        },
        repeats,
    )
    ch13.assert_same(p_vl, p_t, step=repeats + 1)  # the same steps, run
    r = ratio(t, "vjplib", "torch")
    print(f"   {'torch ms':>10} {'vjplib ms':>10} {'ratio':>7}")
    print(f"   {ms(t, 'torch'):>10.2f} {ms(t, 'vjplib'):>10.2f} {r:>7.3f}")
    return r


def per_example_vjplib(params, X, Y):
    def example_loss(W1, b1, W2, b2, W3, b3, x, y):
        ps = (W1, b1, W2, b2, W3, b3)
        return ch13.loss(ps, x.reshape(1, -1), y.reshape(1, -1))

    grads = vl.grad(example_loss, argnums=tuple(range(6)))
    return vl.vmap(grads, in_dims=(None,) * 6 + (0, 0))(*params, X, Y)


def item_per_example(batches, repeats):
    print(
        "\n2. per-example gradients of the same network: vjplib.vmap("
        "vjplib.grad) vs torch.func.vmap(torch.func.grad)"
    )
    print(f"   {'batch':>6} {'torch ms':>10} {'vjplib ms':>10} {'ratio':>7}")
    p0 = ch13.init_params(SIZES, seed=8)
    out = {}
    for batch in batches:
        X, Y = data(batch)
        got = per_example_vjplib(p0, X, Y)
        want = ch13.per_example_grads_torch(p0, X, Y)
        for g, w in zip(got, want):
            vl.assert_close(g, w, what=f"per-example grads, batch {batch}")
        del got, want
        t = race(
            {
                "torch": lambda: ch13.per_example_grads_torch(p0, X, Y),
                "vjplib": lambda: per_example_vjplib(p0, X, Y),
            },
            repeats,
        )
        r = ratio(t, "vjplib", "torch")
        out[batch] = r
        print(
            f"   {batch:>6} {ms(t, 'torch'):>10.2f} {ms(t, 'vjplib'):>10.2f}"
            f" {r:>7.3f}"
        )
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="fewer repeats, smaller batches"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (default 1: stable numbers)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"training benchmark: torch {torch.__version__}, {args.threads} "
        "thread(s), float64, CPU; ratio = median of per-repeat "
        "vjplib / torch"
    )
    item_step(512, 7 if args.quick else 31)
    item_per_example(
        [16, 64] if args.quick else [16, 64, 128], 3 if args.quick else 9
    )


if __name__ == "__main__":
    main()
