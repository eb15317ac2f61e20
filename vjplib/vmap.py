"""vmap: run f once on a whole batch, with one batching rule per op.

``vmap(f)(X)`` calls f once, on ``Batched`` values: each holds every
example's value stacked along dim 0 (the batch dim, kept in front; moving it
there is a view) and shows f one example's shape. An op applied to Batched
values runs its batching rule (``BatchTrace.process``), ``fn.vmap(info,
in_dims, *args)`` (torch's signature; each op's docstring says what its rule
does). JAX's autodidax (part 1) and torch carry a (value, bdim) pair and move
the batch dim only when a rule needs it; vjplib keeps it at dim 0 always (a
rule may return it elsewhere, and vmap moves it back), which keeps every rule
short. ``vmap(grad(f))`` gives per-example gradients, ``vmap(vjp_fn)`` over
the rows of the identity the Jacobian (as jacrev).
"""

import functools
from collections import namedtuple

import torch

from .box import Box, Trace, _is_tensor, new_trace
from .function import Context, forward_on_shapes
from .ops import broadcast_to, movedim

VmapInfo = namedtuple("VmapInfo", "batch_size")
VmapInfo.__doc__ = "What a batching rule is told: the batch size."


class Batched(Box):
    """A value inside vmap: ``value`` stacks every example's value along dim
    0; ``shape`` and ``ndim`` are one example's (what f sees)."""

    shape = dtype = device = ndim = None  # instance attributes (__init__)

    def __init__(self, value, trace):
        self.value, self.trace = value, trace
        self.shape, self.ndim = value.shape[1:], value.ndim - 1
        self.dtype, self.device = value.dtype, value.device

    def __repr__(self):
        return (
            f"Batched(batch={self.value.shape[0]}, shape={tuple(self.shape)})"
        )


class BatchTrace(Trace, kind="vmap"):
    """A running vmap: its batch size, and how it applies an op."""

    def __init__(self, kind, level, size):
        super().__init__(kind, level)
        self.size = size

    def process(self, fn, args, needs, keep_ctx):
        """Apply op fn once to the stacks: its batching rule. With keep_ctx,
        also the context the op's rules need at this level (see
        _example_ctx)."""
        mine = self.mine(args)
        values = [a.value if m else a for a, m in zip(args, mine)]
        rule = getattr(fn, "vmap", None)
        if rule is None:
            raise NotImplementedError(
                f"vmap: {fn.__name__} has no batching rule: give it a "
                "staticmethod vmap(info, in_dims, *args) that runs it once "
                "on the inputs stacked along dim 0 (in_dims 0; None: not "
                "stacked) and returns (output, 0)"
            )
        in_dims = tuple(0 if m else None for m in mine)
        y, out_dim = rule(VmapInfo(self.size), in_dims, *values)
        if out_dim is None:
            y = broadcast_to(y, (self.size,) + tuple(y.shape))
        elif out_dim != 0:
            y = movedim(y, out_dim, 0)
        out = Batched(y, self)
        if not keep_ctx:
            return out, None
        if needs is None:
            needs = tuple(isinstance(a, Box) for a in args)
        return out, _example_ctx(self, fn, args, needs, out)


def _one_example(a):
    """A plain tensor of the shape an op sees for `a`: the first example of
    each batch it is stacked over (a view), or None when `a` holds no numbers
    (a LinearVar) or a batch is empty."""
    index = 0
    while isinstance(a, Box):
        if isinstance(a, Batched):
            index, a = index + 1, a.value
        elif hasattr(a, "primal"):
            a = a.primal
        else:
            return None
    if 0 in a.shape[:index]:
        return None
    return a[(0,) * index]


def _example_ctx(trace, fn, args, needs, out):
    """The context the op's rules need at this level: forward run on one
    example (cheap, and its attributes are an example's shapes, dims and
    modes), its saved tensors then replaced by the Batched values. Without
    an example (no numbers), forward runs on shapes only."""
    examples = [_one_example(a) if _is_tensor(a) else a for a in args]
    is_missing = [e is None and _is_tensor(a) for e, a in zip(examples, args)]
    if any(is_missing):
        ctx, examples, y = forward_on_shapes(fn, args, needs)
    else:
        ctx = Context()
        ctx.needs_input_grad = needs
        y = fn.forward(ctx, *examples)
    return trace.lift(fn, ctx, examples, y, args, out)


def _error(what):
    return ValueError(f"vmap: {what}")


def _per_input(dims, n, name):
    """in_dims or out_dims as one entry per input (output)."""
    if dims is None or isinstance(dims, int):
        return (dims,) * n
    if not isinstance(dims, (tuple, list)) or len(dims) != n:
        raise _error(
            f"{name}={dims!r} does not match the {n} "
            f"{'inputs' if name == 'in_dims' else 'outputs'}; give one int "
            "(or None) for all, or a tuple with one per "
            f"{'input' if name == 'in_dims' else 'output'}"
        )
    for d in dims:
        if d is not None and not isinstance(d, int) or isinstance(d, bool):
            raise _error(f"{name} entries must be ints or None, got {d!r}")
    return tuple(dims)


def _normalize(d, ndim, what):
    if not -ndim <= d < ndim:
        raise _error(
            f"Got {what}={d} for a tensor of dimensionality {ndim}, so "
            f"expected {what} to satisfy {-ndim} <= {what} < {ndim}"
        )
    return d % ndim


def _move(x, source, destination):
    """x with dim `source` moved to `destination` (a view for a tensor)."""
    if source == destination:
        return x
    if isinstance(x, Box):
        return movedim(x, source, destination)
    return torch.movedim(x, source, destination)


def _batch_size(args, dims):
    sizes = []
    for i, (a, d) in enumerate(zip(args, dims)):
        if d is None:
            continue
        if not _is_tensor(a):
            raise _error(
                f"Got in_dim={d} for input {i}, but input {i} is a "
                f"{type(a).__name__}: we cannot vmap over non-Tensor "
                "arguments, please use None as the respective in_dim"
            )
        d = _normalize(d, a.ndim, "in_dim")
        sizes.append(a.shape[d])
    if not sizes:
        raise _error(
            "in_dims has no int entry: Expected at least one Tensor to vmap "
            "over"
        )
    if len(set(sizes)) > 1:
        raise _error(
            "Expected all tensors to have the same size in the mapped "
            f"dimension, got sizes {sizes} for the mapped dimension"
        )
    return sizes[0]


def _unbatch(out, trace, size, out_dim, i, f):
    """The result for one output of f: the stack, its batch dim at
    out_dim. An output that does not vary over the batch is expanded, or
    with out_dim None returned as it is (as torch does)."""
    varies = isinstance(out, Batched) and out.trace is trace
    if varies:
        y = out.value
    elif not _is_tensor(out):
        raise TypeError(
            f"vmap: f must return a tensor or a tuple of tensors, got "
            f"{type(out).__name__} (output {i})"
        )
    elif out_dim is None:
        return out
    else:
        y = broadcast_to(out, (size,) + tuple(out.shape))
    if out_dim is None:
        name = getattr(f, "__name__", "f")
        raise _error(
            f"`{name}` can not return a BatchedTensor when out_dim is None: "
            f"its output {i} varies over the batch; give out_dims an int "
            "(where the batch dim goes)"
        )
    return _move(y, 0, _normalize(out_dim, y.ndim, "out_dim"))


_RANDOMNESS = ("error", "different", "same")


def vmap(f, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """f mapped over a batch dim of its inputs, with torch.func.vmap's
    signature: f runs once, on Batched values.

    ``in_dims``: the batch dim of each input (an int for all, or a tuple with
    an int or None per input; None: the input is the same for every example).
    ``out_dims``: where the batch dim goes in each output; None returns an
    output that does not vary over the batch as it is (a varying one is an
    error, as in torch). f returns a tensor or a tuple of tensors.
    ``randomness``: torch's 'error', 'different' or 'same' are accepted and
    change nothing, since no vjplib op draws random numbers. ``chunk_size``:
    run f once per chunk of that many examples (less memory, more calls), then
    concatenate; for plain tensor inputs only (vjplib has no op to slice a
    value traced by another transformation).
    """
    if randomness not in _RANDOMNESS:
        raise RuntimeError(
            "Only allowed values for randomness are 'error', 'different', "
            f"or 'same'. Got {randomness}"
        )
    if chunk_size is not None and (
        not isinstance(chunk_size, int)
        or isinstance(chunk_size, bool)
        or chunk_size <= 0
    ):
        raise ValueError(
            "vmap: chunk_size should be None or greater than 0. "
            f"(got {chunk_size!r})"
        )

    def run(args, dims, size):
        with new_trace("vmap", BatchTrace, size=size) as trace:
            boxed = [
                a
                if d is None
                else Batched(
                    _move(a, _normalize(d, a.ndim, "in_dim"), 0), trace
                )
                for a, d in zip(args, dims)
            ]
            out = f(*boxed)
            single = not isinstance(out, tuple)
            outs = (out,) if single else out
            odims = _per_input(out_dims, len(outs), "out_dims")
            results = tuple(
                _unbatch(o, trace, size, d, i, f)
                for i, (o, d) in enumerate(zip(outs, odims))
            )
        return results, odims, single

    @functools.wraps(f)
    def vmapped(*args):
        dims = _per_input(in_dims, len(args), "in_dims")
        size = _batch_size(args, dims)
        if chunk_size is None or chunk_size >= size:
            results, _, single = run(args, dims, size)
        else:
            results, single = _chunked(run, args, dims, size, chunk_size)
        return results[0] if single else results

    return vmapped


def _chunked(run, args, dims, size, chunk_size):
    """run() on chunks of chunk_size examples, the outputs concatenated
    along their out_dims (an unbatched output: the first chunk's)."""
    if any(isinstance(a, Box) for a in args):
        raise NotImplementedError(
            "vmap: chunk_size needs plain tensor inputs; an input is traced "
            "by another transformation, and vjplib has no op to slice it. "
            "Leave chunk_size=None there"
        )
    chunks = []
    for start in range(0, size, chunk_size):
        n = min(chunk_size, size - start)
        part = [
            a
            if d is None
            else a.narrow(_normalize(d, a.ndim, "in_dim"), start, n)
            for a, d in zip(args, dims)
        ]
        chunks.append(run(part, dims, n))
    _, odims, single = chunks[0]
    results = []
    for i, d in enumerate(odims):
        pieces = [c[0][i] for c in chunks]
        if any(isinstance(p, Box) for p in pieces):
            raise NotImplementedError(
                "vmap: with chunk_size, f's outputs must be plain tensors "
                "(vjplib has no op to concatenate traced values); leave "
                "chunk_size=None"
            )
        if d is None:
            results.append(pieces[0])
        else:
            axis = _normalize(d, pieces[0].ndim, "out_dim")
            results.append(torch.cat(pieces, axis))
    return tuple(results), single
