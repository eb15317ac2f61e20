"""Reverse mode: the vjp trace, the recorded graph, its topological order, the
one backward walk and the one replay.

A traced value and its node in the graph are two objects, as a torch Tensor and
its ``grad_fn`` are. The ``Traced`` value holds the tensor (``primal``) and its
``Node``; the node holds what the backward pass needs: the op, the context its
forward saved, the output's shape, dtype and device (to check cotangents), and
one edge per input. Nodes point to nodes, never to values, so an intermediate
the user no longer references is freed at once, unless a rule saved it (tanh
saves its output y; the matmul before it saves nothing of its own).

``backward`` is vjplib's one reverse walk (``vjp_fn``, ``Tensor.backward``,
``autograd.grad``, ``linear_transpose``, the book's stepper); ``replay`` runs a
recorded graph again on new values.
"""

import inspect
import string

import torch

from .box import Box, Trace, _is_tensor, as_primal, new_trace


class VjpTrace(Trace, kind="vjp"):
    """A running ``vjp``: an op applied to its Traced values records a Node.
    A subclass may define ``on_node(node, out, args)``, told of each node as
    it is made (the book's stepper keeps the values that way)."""

    def box(self, fn, ctx, args, y):
        return Traced(y, self, Node(fn, ctx, args, y, self))


class Constant:
    """An input of an op that is not in the graph (a plain tensor, or a value
    of another transformation): its shape, and for print_graph its values when
    it has at most 6 entries."""

    def __init__(self, v):
        self.shape = tuple(v.shape)
        small = isinstance(v, torch.Tensor) and v.numel() <= 6
        self.value = v if small else None


class Node:
    """One op application in the graph (torch's ``grad_fn``): ``fn`` is the
    op (a Function subclass; None for a leaf, an input of the traced
    function), ``ctx`` what its forward saved, ``shape``, ``dtype`` and
    ``device`` describe its output. ``inputs`` has one entry per argument of
    the op: the argument's Node if it belongs to this graph, a Constant if it
    is another tensor, the argument itself if it is no tensor (a dim, a
    mode). The output value itself is not kept here (see ``VjpTrace``)."""

    __slots__ = (
        "fn ctx inputs shape dtype device trace name hooks retains".split()
    )

    def __init__(self, fn, ctx, args, out, trace, name=None):
        self.fn, self.ctx, self.trace, self.name = fn, ctx, trace, name
        self.hooks = ()  # the eager face's Tensor.register_hook (tensor.py)
        self.retains = None  # and its Tensor.retain_grad: the tensor, weakly
        self.shape, self.dtype, self.device = out.shape, out.dtype, out.device
        self.inputs = tuple(
            a.node
            if isinstance(a, Traced) and a.trace is trace
            else Constant(a)
            if _is_tensor(a)
            else a
            for a in args
        )
        watch = getattr(trace, "on_node", None)
        if watch is not None:  # a trace that watches its nodes being made
            watch(self, out, args)

    @property
    def parents(self):
        """The nodes of the inputs that belong to the same graph."""
        return [a for a in self.inputs if isinstance(a, Node)]

    @staticmethod
    def in_graph(a):
        """Whether input `a` is a vertex of this graph (the walk sends it a
        cotangent); ``linearize.LinearVar`` answers the same question."""
        return isinstance(a, Node)

    def __repr__(self):
        made_by = (
            (self.name or "leaf") if self.fn is None else self.fn.__name__
        )
        return (
            f"Node({made_by}, shape={tuple(self.shape)}, "
            f"dtype={self.dtype}, level={self.trace.level})"
        )


class Traced(Box):
    """A value one ``vjp`` records: the tensor ``primal`` and its ``node``
    (``Traced(x, trace, name=...)`` makes an input, a leaf)."""

    def __init__(self, primal, trace, node=None, name=None):
        self.primal, self.trace = primal, trace
        self.node = (
            Node(None, None, (), primal, trace, name) if node is None else node
        )

    def __repr__(self):
        return "Traced" + repr(self.node)[len("Node") :]


def _node(v):
    return v.node if isinstance(v, Traced) else v


def toposort(end):
    """Every node that `end` (a Traced value or a Node, or a list of them)
    depends on, each once, parents before children (iterative DFS)."""
    ends = end if isinstance(end, (list, tuple)) else [end]
    order, visited = [], set()
    stack = [(_node(e), False) for e in reversed(ends)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend(
                (p, False) for p in reversed(node.parents) if p not in visited
            )
    return order


def check_like(value, like, batch, what):
    """A (co)tangent must be a tensor of shape batch + like.shape, like's dtype
    and device."""
    if not _is_tensor(value):
        raise TypeError(f"{what} must be a tensor, got {type(value).__name__}")
    expected = tuple(batch) + tuple(like.shape)
    if tuple(value.shape) != expected:
        raise ValueError(
            f"{what} has shape {tuple(value.shape)}, expected {expected}"
            + (
                f" (batch {tuple(batch)} + {tuple(like.shape)})"
                if batch
                else ""
            )
            + ": give it the shape of the value it pairs with"
        )
    if value.dtype != like.dtype or value.device != like.device:
        raise ValueError(
            f"{what} has dtype {value.dtype} on {value.device}, expected "
            f"{like.dtype} on {like.device}: convert it with .to({like.dtype})"
        )


class Observer:
    """What a face adds to the backward walk, without a walk of its own
    (the eager face's bookkeeping, tensor.py; the book's stepper).
    ``before(node, ctx, y_bar) -> (ctx, y_bar)`` sees each node's complete
    cotangent before its rule and may hand the rule another context or
    cotangent; ``after(node, x_bars)`` sees what the rule returned. The
    base class changes nothing."""

    def before(self, node, ctx, y_bar):
        return ctx, y_bar

    def after(self, node, x_bars):
        pass


def backward(out, y_bar, inputs, rule="vjp", observer=None):
    """Pull the cotangent y_bar of `out` back to each of `inputs`; None where
    nothing arrives.

    Nodes are visited in reverse topological order, so a node's cotangent is
    complete (every use has contributed) before its op's rule runs:
    ``fn.vjp(ctx, y_bar)``, or ``fn.transpose(ctx, y_bar)`` with
    ``rule="transpose"`` (a linear graph). Cotangents accumulate in a dict
    keyed by node: a value used twice, as in ``a + a`` or a diamond, receives
    the sum of both contributions. `out` and `inputs` are Traced values (or
    their nodes, or LinearVars: any vertex with ``fn``, ``ctx``, ``inputs``
    and ``in_graph``); an input may be any node of the graph, not only a
    leaf. `out` may also be a list of outputs, with `y_bar` a list of their
    cotangents (the walk then starts from all of them). `observer`: an
    ``Observer``.
    """
    outs = list(out) if isinstance(out, (list, tuple)) else [out]
    y_bars = list(y_bar) if isinstance(out, (list, tuple)) else [y_bar]
    ends = [_node(o) for o in outs]
    batch = tuple(y_bars[0].shape[: y_bars[0].ndim - len(ends[0].shape)])
    cotangents = {}
    for end, e_bar in zip(ends, y_bars):
        if e_bar is None:
            continue
        cotangents[end] = (
            cotangents[end] + e_bar if end in cotangents else e_bar
        )
    wanted = {_node(x) for x in inputs}
    found = {}
    for node in reversed(toposort(ends)):
        if node not in cotangents:
            continue
        if node.fn is None:
            found[node] = cotangents[node]
            continue
        ctx, node_bar = node.ctx, cotangents.pop(node)
        if observer is not None:
            ctx, node_bar = observer.before(node, ctx, node_bar)
        if node in wanted:
            found[node] = node_bar
        name = f"{node.fn.__name__}.{rule}"
        x_bars = getattr(node.fn, rule)(ctx, node_bar)
        x_bars = x_bars if isinstance(x_bars, tuple) else (x_bars,)
        if observer is not None:
            observer.after(node, x_bars)
        if len(x_bars) != len(node.inputs):
            raise ValueError(
                f"{name} returned {len(x_bars)} cotangents for "
                f"{len(node.inputs)} inputs; return one per input (None "
                "for no cotangent)"
            )
        for i, (a, x_bar) in enumerate(zip(node.inputs, x_bars)):
            if x_bar is None or not node.in_graph(a):
                continue
            check_like(x_bar, a, batch, f"{name}: cotangent for input {i}")
            cotangents[a] = cotangents[a] + x_bar if a in cotangents else x_bar
    return [found.get(_node(x)) for x in inputs]


def replay(end, new, recorded=None, args=None):
    """Run the graph behind `end` again, from new values: `new` maps some of
    its vertices (inputs, or any node) to values; every op that depends on one
    of them runs again with ``fn.apply`` (so the values may be traced, batched,
    dual), in topological order. The vertices that do not depend on them keep
    their value in `recorded` (vertex -> value). An op's arguments that are not
    vertices come from ``args[vertex]`` when given (a Node keeps no values; the
    stepper records them), else from the vertex's ``inputs`` (a LinearVar keeps
    its constants). Returns the value of `end`."""
    env = dict(new)
    for v in toposort(end):
        if v in env or v.fn is None:
            continue
        ins = v.inputs
        if not any(v.in_graph(a) and a in env for a in ins):
            continue
        given = ins if args is None else args[v]
        env[v] = v.fn.apply(
            *(
                (env[a] if a in env else recorded[a]) if v.in_graph(a) else g
                for a, g in zip(ins, given)
            )
        )
    return env[end] if end in env else recorded[end]


def format_graph(out):
    """The graph behind `out` as a text tree, one node per line, as PyTensor's
    dprint shows it.

    Each line: the op (with its non-tensor arguments in braces) or the input's
    name, an id, the shape. A node met again shows ``···`` instead of its
    inputs; constants show their values when they are small. Values from other
    transformations are constants here.
    """
    ids, lines = {}, []

    def label(v):
        if isinstance(v, Constant):
            if v.value is None:
                return "const"
            values = v.value.reshape(-1).tolist()
            return "[" + " ".join(f"{e:g}" for e in values) + "]"
        if v.fn is None:
            return v.name or "input"
        params = [
            str(a) for a in v.inputs if not isinstance(a, (Node, Constant))
        ]
        return v.fn.__name__ + (f"{{{', '.join(params)}}}" if params else "")

    def visit(v, line_prefix, child_prefix):
        is_node = isinstance(v, Node)
        seen = is_node and v in ids
        if is_node and not seen:
            n = len(ids)
            ids[v] = string.ascii_uppercase[n % 26] + (
                str(n // 26) if n >= 26 else ""
            )
        tag = f" [id {ids[v]}]" if is_node else ""
        lines.append(f"{line_prefix}{label(v)}{tag} {tuple(v.shape)}")
        kids = (
            [a for a in v.inputs if isinstance(a, (Node, Constant))]
            if is_node
            else []
        )
        if seen and kids:
            lines.append(f"{child_prefix}└─ ···")
            return
        for k, kid in enumerate(kids):
            last = k == len(kids) - 1
            visit(
                kid,
                child_prefix + ("└─ " if last else "├─ "),
                child_prefix + ("   " if last else "│  "),
            )

    visit(_node(out), "", "")
    return "\n".join(lines)


def print_graph(f, *primals, file=None):
    """Trace f at `primals` and print the graph it records, inputs named
    after f's parameters (``print_graph(grad(f), x)``: the graph of the
    gradient computation itself)."""
    try:
        params = inspect.signature(f).parameters.values()
        names = [
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        names = []
    names += [f"x{i}" for i in range(len(names), len(primals))]
    with new_trace("vjp") as trace:
        xs = [
            Traced(as_primal(p, "print_graph", i), trace, name=names[i])
            for i, p in enumerate(primals)
        ]
        out = f(*xs)
        text = (
            format_graph(out)
            if isinstance(out, Traced) and out.trace is trace
            else (
                "(the output does not depend on the inputs: "
                f"{type(out).__name__})"
            )
        )
    print(text, file=file)
