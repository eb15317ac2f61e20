"""Reverse mode: the recorded graph, its topological order, and the backward pass."""
import inspect
import string

import torch

from .box import Box, as_primal, new_trace


class Traced(Box):
    """A node of the graph one ``vjp`` records: a primal value and the op that produced it.

    ``fn`` is the op (a Function subclass), ``ctx`` what its forward saved, ``args`` the inputs it
    was called with. A leaf (an input of the traced function) has ``fn`` None.
    """

    def __init__(self, primal, trace, fn=None, ctx=None, args=(), name=None):
        self.primal, self.trace, self.fn, self.ctx, self.args, self.name = (
            primal, trace, fn, ctx, args, name)

    @property
    def parents(self):
        """The inputs of this node that belong to the same graph."""
        return [a for a in self.args if isinstance(a, Traced) and a.trace is self.trace]

    def __repr__(self):
        made_by = (self.name or "leaf") if self.fn is None else self.fn.__name__
        return f"Traced({made_by}, shape={tuple(self.shape)}, dtype={self.dtype}, level={self.trace.level})"


def toposort(end):
    """Every node that `end` depends on, each once, parents before children (iterative DFS)."""
    order, visited = [], set()
    stack = [(end, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
        elif node not in visited:
            visited.add(node)
            stack.append((node, True))
            stack.extend((p, False) for p in reversed(node.parents) if p not in visited)
    return order


def check_like(value, like, batch, what):
    """A (co)tangent must be a tensor of shape batch + like.shape, like's dtype and device."""
    if not isinstance(value, (torch.Tensor, Box)):
        raise TypeError(f"{what} must be a tensor, got {type(value).__name__}")
    expected = tuple(batch) + tuple(like.shape)
    if tuple(value.shape) != expected:
        raise ValueError(f"{what} has shape {tuple(value.shape)}, expected {expected}"
                         + (f" (batch {tuple(batch)} + {tuple(like.shape)})" if batch else "")
                         + ": give it the shape of the value it pairs with")
    if value.dtype != like.dtype or value.device != like.device:
        raise ValueError(f"{what} has dtype {value.dtype} on {value.device}, expected "
                         f"{like.dtype} on {like.device}: convert it with .to({like.dtype})")


def backward(out, y_bar, inputs):
    """Pull the cotangent y_bar of `out` back to each of `inputs`; None where nothing arrives.

    Nodes are visited in reverse topological order, so a node's cotangent is complete (every use
    has contributed) before its op's VJP runs. Cotangents accumulate in a dict keyed by node: a
    value used twice, as in ``a + a`` or a diamond, receives the sum of both contributions.
    """
    batch = tuple(y_bar.shape[:y_bar.ndim - out.ndim])
    cotangents = {out: y_bar}
    for node in reversed(toposort(out)):
        if node.fn is None or node not in cotangents:
            continue
        x_bars = node.fn.vjp(node.ctx, cotangents.pop(node))
        x_bars = x_bars if isinstance(x_bars, tuple) else (x_bars,)
        if len(x_bars) != len(node.args):
            raise ValueError(f"{node.fn.__name__}.vjp returned {len(x_bars)} cotangents for "
                             f"{len(node.args)} inputs; return one per input (None for no cotangent)")
        for i, (a, x_bar) in enumerate(zip(node.args, x_bars)):
            if x_bar is None or not (isinstance(a, Traced) and a.trace is node.trace):
                continue
            check_like(x_bar, a, batch, f"{node.fn.__name__}.vjp: cotangent for input {i}")
            cotangents[a] = cotangents[a] + x_bar if a in cotangents else x_bar
    return [cotangents.get(x) for x in inputs]


def format_graph(out):
    """The graph behind `out` as a text tree, one node per line, as PyTensor's dprint shows it.

    Each line: the op (with its non-tensor arguments in braces) or the input's name, an id, the
    shape. A node met again shows ``···`` instead of its inputs; constants show their values when
    they are small. Values from other transformations are constants here.
    """
    ids, lines = {}, []

    def is_node(v):
        return isinstance(v, Traced) and v.trace is out.trace

    def label(v):
        if is_node(v) and v.fn is not None:
            params = [str(a) for a in v.args if not isinstance(a, (torch.Tensor, Box))]
            return v.fn.__name__ + (f"{{{', '.join(params)}}}" if params else "")
        if is_node(v):
            return v.name or "input"
        if isinstance(v, torch.Tensor) and v.numel() <= 6:
            return "[" + " ".join(f"{e:g}" for e in v.reshape(-1).tolist()) + "]"
        return "const"

    def visit(v, line_prefix, child_prefix):
        seen = is_node(v) and v in ids
        if is_node(v) and not seen:
            n = len(ids)
            ids[v] = string.ascii_uppercase[n % 26] + (str(n // 26) if n >= 26 else "")
        tag = f" [id {ids[v]}]" if is_node(v) else ""
        lines.append(f"{line_prefix}{label(v)}{tag} {tuple(v.shape)}")
        kids = [a for a in v.args if isinstance(a, (torch.Tensor, Box))] if is_node(v) else []
        if seen and kids:
            lines.append(f"{child_prefix}└─ ···")
            return
        for k, kid in enumerate(kids):
            last = k == len(kids) - 1
            visit(kid, child_prefix + ("└─ " if last else "├─ "), child_prefix + ("   " if last else "│  "))

    visit(out, "", "")
    return "\n".join(lines)


def print_graph(f, *primals, file=None):
    """Trace f at `primals` and print the graph it records (inputs named after f's parameters).

    ``print_graph(grad(f), x)`` shows the graph of the gradient computation itself.
    """
    try:
        params = inspect.signature(f).parameters.values()
        names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        names = []
    with new_trace("vjp") as trace:
        xs = [Traced(as_primal(p, "print_graph", i), trace,
                     name=names[i] if i < len(names) else f"x{i}") for i, p in enumerate(primals)]
        out = f(*xs)
        text = format_graph(out) if isinstance(out, Traced) and out.trace is trace else (
            f"(the output does not depend on the inputs: {type(out).__name__})")
    print(text, file=file)
