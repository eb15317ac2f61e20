"""The backward-pass stepper: the graph vjplib records, walked forward and
then backward one step at a time, on a page that needs no script.

``backward_stepper(f, X, names=["X", "Y", "z"])`` traces f with vjplib
(a vjp trace with an ``on_node`` hook), runs vjplib's own backward walk
(``vjplib.backward``) with an observer that keeps every complete cotangent
and every contribution it meets, and prints each op's declared VJP rule, so
each step can be shown:

* forward: one node per step, highlighted, with its value (the numbers when
  it has at most 4 entries, else its shape and norm);
* backward: the seed ``z̄ = 1``, then each op node in reverse topological
  order: its VJP, the cotangent written on the edge it travels and, at a
  node used more than once, the sum ``ā = ā₁ + ā₂``;
* the last step: the gradient. With ``saved=True`` the steps also say what
  each op saves and when the walk frees it, and two more end the stepper as
  ``loss.backward()`` ends: ``.grad`` filled, then a second call on a new
  forward pass accumulating (checked on vjplib's eager face and torch).

When the stepper is built it checks, in float64, that every node's cotangent
equals the one vjplib's own backward pass gives (``vjplib.vjp`` of the rest
of the graph as a function of that node) and that the gradient equals
``torch.autograd.grad``; a mismatch raises AssertionError.

Graphviz's ``dot`` lays the graph out (the PyPI ``graphviz`` package runs
it); the stepper draws the SVG itself from dot's coordinates, with an id and
classes on every node and edge. Its ``text/html`` is HTML and CSS only: one
radio input per step, labels "Back"/"Next" for the neighbouring radios, and
CSS ``:has(:checked)`` rules that highlight the current step's node and
edges and show its caption. It works with JavaScript off, in JupyterLab, in
print (every caption, the final state of the graph) and by keyboard (the
arrow keys move between the radios). Every number dot computes sits after a
``data-layout=""`` attribute, so ``nbval_sanitize.cfg`` can mask the layout,
which differs between Graphviz versions, and nothing else.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

import vjplib
from vjplib.box import Box, as_primal, new_trace
from vjplib.graph import (
    Node,
    Observer,
    Traced,
    VjpTrace,
    backward,
    replay,
    toposort,
)

__all__ = ["backward_stepper", "BackwardStepper"]

MAX_NODES = 30  # a graph a reader can step through on one screen
_IDS = itertools.count(1)
_MACRON = "\u0304"
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_DEFAULT_NAMES = "abcdefghpqrsuvw"


# -- text: numbers, names, rules ------------------------------------------
def _num(v: float, scale: float = 0.0) -> str:
    """v to 3 significant digits, Unicode minus; a rounding residue (below
    1e-12 of the tensor's largest entry) is 0, so every CPU prints the
    same."""
    if abs(v) <= 1e-12 * max(scale, 1e-300) or v == 0:
        return "0"
    return f"{v:.3g}".replace("-", "−")


def _fmt(t: torch.Tensor) -> str:
    """A value or cotangent as text: its entries when it has at most 4 (as
    nested lists), else its shape and Frobenius norm; a boolean mask (the
    condition of a where) as True/False entries, else its shape."""
    t = t.detach()
    if t.dtype == torch.bool:
        shape = "×".join(str(s) for s in t.shape) or "scalar"
        return str(t.tolist()) if t.numel() <= 4 else f"{shape} mask"
    finite = t[t.isfinite()].abs()  # an inf or nan sets no scale
    scale = finite.max().item() if finite.numel() else 0.0
    if t.numel() <= 4 and t.ndim <= 2:
        if t.ndim == 0:
            return _num(t.item(), scale)

        def rows(x):
            if x.ndim == 0:
                return _num(x.item(), scale)
            return "[" + ", ".join(rows(r) for r in x) + "]"

        return rows(t)
    shape = "×".join(str(s) for s in t.shape) or "scalar"
    return f"{shape}, ‖·‖ = {_num(torch.linalg.vector_norm(t).item())}"


def _bar(name: str) -> str:
    """The cotangent's symbol: a macron on the first letter (ā, X̄, v̄1),
    precomposed where Unicode has the letter (ā, Ȳ), which fonts draw
    better than a combining mark."""
    return unicodedata.normalize("NFC", name[:1] + _MACRON + name[1:])


def _sub(k: int) -> str:
    return str(k).translate(_SUBSCRIPT)


def _op_name(fn) -> str:
    """Inv → inv, BroadcastTo → broadcast_to."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", fn.__name__).lower()


_SYMBOL = re.compile(r"(?<![A-Za-z0-9_])([A-Za-z])(?=_bar|[^A-Za-z0-9_]|$)")


def _is_name(text: str) -> bool:
    return bool(re.match(r"[A-Za-z_]", text))


def _rule(fn, out: str | None = None, args: Sequence = ()) -> str:
    """The VJP rule the op declares (its ``vjp_rule``, vjplib/ops/base.py),
    in the book's symbols (``X_bar = -Yᵀ Y_bar Yᵀ`` → ``X̄ = −Yᵀ Ȳ Yᵀ``); ""
    when it declares none.

    With `out` (the output's name) and `args` (a name per argument, None
    for one that has none), the rule's letters become the graph's names
    when the op's ``formula`` (``y = a b``) names one letter per argument:
    mul(a, a) with output c gives ``ā = c̄ a, ā = c̄ a``. Else the rule
    keeps the op's letters and says which formula they belong to.
    """
    rule, formula = getattr(fn, "vjp_rule", None), getattr(fn, "formula", "")
    if not rule:
        return ""
    y, _, f = (formula or "").partition(" = ")
    mapping = None
    if f and out is not None:
        letters = list(dict.fromkeys(_SYMBOL.findall(f)))
        named = [a for a in args if a is not None]
        if len(letters) == len(named):
            mapping = dict(zip(letters, named))
            mapping[y] = out
    if mapping:
        # a constant gets no cotangent: drop its clause ("b_bar = …")
        consts = {k for k, v in mapping.items() if not _is_name(v)}
        rule = ", ".join(
            c
            for c in rule.split(", ")
            if not re.match(r"([A-Za-z])_bar\b", c)
            or re.match(r"([A-Za-z])_bar\b", c).group(1) not in consts
        )
        rule = _SYMBOL.sub(lambda g: mapping.get(g.group(1), g.group(1)), rule)
    elif f:
        rule = f"for {formula}: {rule}"
    rule = re.sub(r"(\w+?)_bar", lambda g: _bar(g.group(1)), rule)
    return rule.replace("-", "−")


# -- tracing ---------------------------------------------------------------
class _Watching(VjpTrace):
    """A vjp trace that keeps each node's output value and arguments.

    vjplib's nodes keep no values (an intermediate nobody references is
    freed at once), but the stepper must show them: a node calls its
    trace's ``on_node`` as it is made (vjplib/graph.py's hook)."""

    def __init__(self, kind, level):
        super().__init__(kind, level)
        self.made = {}

    def on_node(self, node, out, args):
        self.made[node] = (out, args)


class _Recorder(Observer):
    """What the stepper keeps of vjplib's backward walk: each node's
    complete cotangent, the order of the VJPs, and each contribution a VJP
    sends to an input (``stepper.arrived``)."""

    def __init__(self, stepper):
        self.s = stepper

    def before(self, node, ctx, y_bar):
        self.s.cotangent[node] = y_bar
        self.s.vjp_order.append(node)
        return ctx, y_bar

    def after(self, node, x_bars):
        for i, (a, x_bar) in enumerate(zip(node.inputs, x_bars)):
            if x_bar is not None and node.in_graph(a):
                self.s.arrived.setdefault(a, []).append(((node, i), x_bar))


@dataclass
class Step:
    """One step: its phase, its caption (HTML), a text alternative for the
    picture, and the nodes and edges it highlights."""

    phase: str  # "forward", "backward" or "result"
    caption: str
    alt: str
    nodes: set = field(default_factory=set)
    edges: set = field(default_factory=set)


class BackwardStepper:
    """See `backward_stepper`."""

    def __init__(self, f, *inputs, names=None, y_bar=None, saved=False):
        who = "backward_stepper"
        if not callable(f):
            raise TypeError(
                f"{who}: f must be a function of tensors, got "
                f"{type(f).__name__}"
            )
        if not inputs:
            raise TypeError(
                f"{who}: give at least one input tensor after f, e.g. "
                "backward_stepper(f, X)"
            )
        for i, x in enumerate(inputs):
            if isinstance(x, Box):
                raise TypeError(
                    f"{who}: input {i} is a vjplib {type(x).__name__} value; "
                    "pass a plain torch.Tensor (the stepper cannot run "
                    "inside another transformation)"
                )
            if not isinstance(x, (torch.Tensor, float, list, tuple)):
                raise TypeError(
                    f"{who}: input {i} is a {type(x).__name__}, not a tensor;"
                    " pass a floating-point torch.Tensor, e.g. "
                    "torch.tensor(2.0, dtype=torch.float64)"
                )
        # float64 throughout: the checks compare to rounding, not to float32
        xs = [
            as_primal(x, who, i).detach().to(torch.float64)
            for i, x in enumerate(inputs)
        ]
        self.f, self.saved = f, saved
        self._trace(f, xs, names, who)
        self._check_names(names, who)
        self._set_seed(y_bar, who)
        self._walk()
        self.checked = self._check(xs)
        if saved:
            self._check_eager(xs)
        self.steps = self._steps()
        self.id = (
            f"bs{next(_IDS)}-"
            + hashlib.sha1(
                "".join(s.caption for s in self.steps).encode()
            ).hexdigest()[:6]
        )
        self.layout = _layout(self)

    # -- the graph
    def _trace(self, f, xs, names, who):
        with new_trace("vjp", _Watching) as trace:
            traced = [Traced(x, trace) for x in xs]
            out = f(*traced)
        made = {n: v for n, v in trace.made.items() if n.fn is not None}
        if not (isinstance(out, Traced) and out.trace is trace):
            what = (
                "a constant tensor"
                if isinstance(out, torch.Tensor)
                else type(out).__name__
            )
            raise ValueError(
                f"{who}: f returned {what}, which does not depend on its "
                "inputs, so vjplib recorded no graph to step through. Compute"
                " the output from the inputs with vjplib ops (vjplib.inv, "
                "vjplib.norm, +, *, @ …)."
            )
        self.leaves = [t.node for t in traced]
        self.end = out.node
        order = toposort(self.end)  # vjplib's own order, inputs included
        if len(order) > MAX_NODES:
            raise ValueError(
                f"{who}: the graph has {len(order)} nodes; a stepper shows "
                f"at most {MAX_NODES}. Step through a smaller example."
            )
        # every input is shown, even one the output does not use
        self.order = [n for n in self.leaves if n not in order] + order
        self.values = {t.node: x for t, x in zip(traced, xs)}
        self.args = {}
        for n in order:
            if n.fn is not None:
                self.values[n], self.args[n] = made[n]
        self.output = out.primal
        # names: the inputs in order, then the ops in the order f made them
        made_order = [n for n in made if n in self.values]
        self.names = {}
        given = list(names or [])
        try:
            import inspect

            params = [
                p.name
                for p in inspect.signature(f).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            params = []
        for i, n in enumerate(self.leaves + made_order):
            if i < len(given):
                self.names[n] = str(given[i])
            elif i < len(self.leaves) and i < len(params):
                self.names[n] = params[i]
        free = iter(
            [c for c in _DEFAULT_NAMES if c not in self.names.values()]
            + [f"v{i}" for i in range(1, 100)]
        )
        for n in self.leaves + made_order:
            if n not in self.names:
                self.names[n] = next(free)
        self.made_order = made_order

    def _check_names(self, names, who):
        if names is None:
            return
        if isinstance(names, str) or not isinstance(names, Sequence):
            raise TypeError(
                f"{who}: names must be a list of strings (the inputs' names, "
                f"then the ops' in the order f computes them), got {names!r}"
            )
        n = len(self.leaves) + len(self.made_order)
        if len(names) > n:
            raise ValueError(
                f"{who}: {len(names)} names for a graph of {n} nodes "
                f"({len(self.leaves)} inputs, {len(self.made_order)} ops)"
            )
        if len(set(self.names.values())) != len(self.names):
            raise ValueError(f"{who}: names must differ, got {names!r}")

    def _set_seed(self, y_bar, who):
        y = self.output
        if y_bar is None:
            if y.ndim != 0:
                raise ValueError(
                    f"{who}: f returns shape {tuple(y.shape)}, not a scalar, "
                    "so there is no seed 1 to start from; pass y_bar=, a "
                    "cotangent of that shape (the backward pass computes "
                    "Jᵀ y_bar)"
                )
            y_bar = torch.ones((), dtype=torch.float64)
            self.seeded = True
        else:
            if not isinstance(y_bar, torch.Tensor):
                raise TypeError(
                    f"{who}: y_bar must be a tensor, got "
                    f"{type(y_bar).__name__}"
                )
            if tuple(y_bar.shape) != tuple(y.shape):
                raise ValueError(
                    f"{who}: y_bar has shape {tuple(y_bar.shape)}, the "
                    f"output has shape {tuple(y.shape)}: give it the "
                    "output's shape"
                )
            y_bar = y_bar.detach().to(torch.float64)
            self.seeded = False
        self.y_bar = y_bar

    # -- the walk: vjplib.graph.backward, watched
    def _walk(self):
        #: per node: the contributions that arrived, in order, as
        #: (edge, cotangent); an edge is (consumer node, input position)
        self.arrived = {self.end: [(None, self.y_bar)]}
        self.cotangent = {}  # per node: the sum of what arrived
        self.vjp_order = []
        x_bars = backward(
            self.end, self.y_bar, self.leaves, observer=_Recorder(self)
        )
        for leaf, x_bar in zip(self.leaves, x_bars):
            self.cotangent[leaf] = (
                torch.zeros_like(self.values[leaf]) if x_bar is None else x_bar
            )

    def _replay(self, v, t):
        """The output recomputed with vjplib ops from node v's value t (the
        nodes that do not depend on v keep their recorded values)."""
        return replay(self.end, {v: t}, self.values, self.args)

    def _check(self, xs) -> int:
        """Every node's cotangent against vjplib's backward pass, the
        gradient against torch.autograd; the number of nodes checked."""
        for v in self.order:
            if v not in self.arrived and v.fn is not None:
                continue
            _, pull = vjplib.vjp(
                lambda t, v=v: self._replay(v, t), self.values[v]
            )
            (expected,) = pull(self.y_bar)
            _assert_close(
                self.cotangent[v],
                expected,
                f"the cotangent of {self.names[v]}",
                "vjplib's backward pass",
            )
        leaves = [x.clone().requires_grad_() for x in xs]
        y = self.f(*leaves)
        if not (isinstance(y, torch.Tensor) and y.requires_grad):
            raise AssertionError(
                "backward_stepper: f on plain tensors built no torch graph, "
                "so its gradient cannot be checked against torch.autograd"
            )
        grads = torch.autograd.grad(y, leaves, self.y_bar, allow_unused=True)
        for leaf, g, x in zip(self.leaves, grads, xs):
            _assert_close(
                self.cotangent[leaf],
                torch.zeros_like(x) if g is None else g,
                f"the gradient {_bar(self.names[leaf])}",
                "torch.autograd.grad",
            )
        return len(self.order)

    def _check_eager(self, xs):
        """What the captions of ``saved=True`` say about loss.backward(),
        checked on vjplib's eager face: f on ``vjplib.tensor`` leaves, a
        tensor hook on every op node (the engine's hooks) that notes which
        contexts are already freed when the walk reaches it, then the
        leaves' .grad after one call and after a second call on a new
        forward pass (accumulated), against torch doing the same."""
        leaves = [vjplib.tensor(x, requires_grad=True) for x in xs]
        out = self.f(*leaves)
        if not isinstance(out, vjplib.Tensor):
            raise AssertionError(
                "backward_stepper(saved=True): f on vjplib.tensor leaves "
                "recorded no graph"
            )
        eager = [n for n in toposort(out.node) if n.fn is not None]
        mine = [n for n in toposort(self.end) if n.fn is not None]
        if [n.fn for n in eager] != [n.fn for n in mine]:
            raise AssertionError(
                "backward_stepper(saved=True): f recorded another graph on "
                "vjplib.tensor leaves than under vjplib.vjp"
            )
        same = dict(zip(eager, mine))
        freed_before = {}

        def saves(n):
            return any(s is not None for s in n.ctx._saved)

        for n in eager:

            def look(_, n=n):
                freed_before[same[n]] = {
                    same[m] for m in eager if m.ctx._freed
                }

            n.hooks = n.hooks + (look,)
        seed = None if self.seeded else self.y_bar
        out.backward(gradient=seed)
        for k, v in enumerate(self.vjp_order):
            earlier = {u for u in self.vjp_order[:k] if saves(u)}
            if freed_before.get(v) != earlier:
                raise AssertionError(
                    "backward_stepper(saved=True): when the walk reached "
                    f"{self.names[v]}, vjplib had freed "
                    f"{sorted(self.names[u] for u in freed_before.get(v, ()))}"
                    f", not {sorted(self.names[u] for u in earlier)}"
                )
        if any(saves(u) and not u.ctx._freed for u in eager):
            raise AssertionError(
                "backward_stepper(saved=True): a context is still saved "
                "after backward()"
            )
        once = [t.grad.primal.clone() for t in leaves]
        self.f(*leaves).backward(gradient=seed)  # a new forward pass
        twice = [t.grad.primal.clone() for t in leaves]
        ts = [x.clone().requires_grad_() for x in xs]
        for _ in range(2):
            self.f(*ts).backward(gradient=None if self.seeded else seed)
        for leaf, t, a, b in zip(self.leaves, ts, once, twice):
            name = self.names[leaf]
            _assert_close(
                a, self.cotangent[leaf], f"{name}.grad", "the walk's"
            )
            _assert_close(b, t.grad, f"{name}.grad after two calls", "torch's")
        self.grad_once, self.grad_twice = once, twice

    # -- the steps
    def _expr(self, v) -> str:
        if v.fn is None:
            return self.names[v]
        parts = []
        for a in v.inputs:
            if isinstance(a, Node):
                parts.append(self.names[a])
            elif hasattr(a, "shape") and hasattr(a, "value"):  # Constant
                parts.append("const" if a.value is None else _fmt(a.value))
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                parts.append(f"{a:g}")
        return f"{self.names[v]} = {_op_name(v.fn)}({', '.join(parts)})"

    def _arg_names(self, v) -> list:
        """A name per argument of v's op: a node's name, a number as text,
        None for anything else."""
        names = []
        for a in v.inputs:
            if isinstance(a, Node):
                names.append(self.names[a])
            elif isinstance(a, (int, float)) and not isinstance(a, bool):
                names.append(f"{a:g}")
            elif getattr(a, "value", None) is not None:  # a small Constant
                names.append(_fmt(a.value))
            else:
                names.append(None)
        return names

    def _saved_text(self, v) -> str:
        saved = getattr(v.ctx, "saved_tensors", ()) or ()
        words = []
        for s in saved:
            if s is None:
                continue
            if s is self.values[v]:
                words.append(f"{self.names[v]} (its output)")
                continue
            for a in v.inputs:
                if isinstance(a, Node) and s is self.values[a]:
                    words.append(f"{self.names[a]} (its input)")
                    break
            else:
                shape = "×".join(map(str, s.shape)) or "scalar"
                words.append(f"a {shape} tensor")
        return ", ".join(words)

    def _label(self, edge) -> str:
        """The symbol of the cotangent an edge carries: ā, or ā₂ when a
        receives more than one."""
        node, i = edge
        a = node.inputs[i]
        parts = self.arrived[a]
        k = [e for e, _ in parts].index(edge)
        return _bar(self.names[a]) + (_sub(k + 1) if len(parts) > 1 else "")

    def _sum_text(self, v) -> str:
        parts = self.arrived[v]
        b = _bar(self.names[v])
        labels = [self._label(e) for e, _ in parts]
        text = f"{b} = " + " + ".join(labels)
        if all(c.numel() == 1 for _, c in parts):
            text += " = " + " + ".join(_fmt(c) for _, c in parts)
        return text + f" = {_fmt(self.cotangent[v])}"

    def _steps(self) -> list[Step]:
        esc = html.escape
        steps = []
        for v in self.order:
            if v.fn is None:
                value = esc(_fmt(self.values[v]))
                cap = f"{esc(self.names[v])} is an input: {value}."
            else:
                cap = f"{esc(self._expr(v))} = {esc(_fmt(self.values[v]))}."
                if self.saved:
                    what = self._saved_text(v)
                    cap += (
                        f" {_op_name(v.fn)} saves {esc(what)} for the "
                        "backward pass."
                        if what
                        else f" {_op_name(v.fn)} saves nothing."
                    )
            if v is self.end:
                cap += " This is the output."
            steps.append(
                Step(
                    "forward",
                    cap,
                    f"node {self.names[v]} is highlighted; it has just been "
                    "computed",
                    {v},
                )
            )
        zb = _bar(self.names[self.end])
        if self.seeded:
            cap = (
                f"The seed: {esc(zb)} = ∂{esc(self.names[self.end])}/"
                f"∂{esc(self.names[self.end])} = 1."
            )
        else:
            cap = (
                f"The seed is the given cotangent {esc(zb)} = "
                f"{esc(_fmt(self.y_bar))}."
            )
        steps.append(
            Step(
                "backward",
                cap,
                f"the output node {self.names[self.end]} is highlighted "
                f"with its cotangent {zb}",
                {self.end},
            )
        )
        for v in self.vjp_order:
            parts = self.arrived[v]
            edges = {e for e, _ in parts if e is not None}
            cap = ""
            if len(parts) > 1:
                cap = (
                    f"{esc(self._sum_text(v))}: {esc(self.names[v])} is "
                    "used more than once, so the cotangents add. "
                )
            sent = [
                (e, c)
                for a, parts_a in self.arrived.items()
                for e, c in parts_a
                if e is not None and e[0] is v
            ]
            sent.sort(key=lambda ec: ec[0][1])
            rule = _rule(v.fn, self.names[v], self._arg_names(v))
            op = _op_name(v.fn)
            sends = "; ".join(
                f"{esc(self._label(e))} = {esc(_fmt(c))} to "
                f"{esc(self.names[e[0].inputs[e[1]]])}"
                for e, c in sent
            )
            cap += f"The VJP of {op}" + (
                f" (rule: {esc(rule)})" if rule else ""
            )
            cap += f" sends {sends}." if sends else " sends nothing back."
            if self.saved:
                what = self._saved_text(v)
                cap += (
                    f" It reads the saved {esc(what)}, then frees "
                    + ("them." if "," in what else "it.")
                    if what
                    else " It needs no saved tensor."
                )
            out_edges = {e for e, _ in sent}
            steps.append(
                Step(
                    "backward",
                    cap,
                    f"node {self.names[v]} is highlighted; "
                    + (
                        "the edges into it carry "
                        + ", ".join(self._label(e) for e, _ in sent)
                        + " back"
                        if sent
                        else "nothing is sent back"
                    ),
                    {v},
                    out_edges | (edges if len(parts) > 1 else set()),
                )
            )
        grads = []
        edges = set()
        for leaf in self.leaves:
            name = esc(self.names[leaf])
            parts = self.arrived.get(leaf, [])
            edges |= {e for e, _ in parts if e is not None}
            if len(parts) > 1:
                text = esc(self._sum_text(leaf))
            else:
                text = esc(
                    f"{_bar(self.names[leaf])} = {_fmt(self.cotangent[leaf])}"
                )
            if self.seeded:
                text += f" = ∂{esc(self.names[self.end])}/∂{name}"
            grads.append(text)
        what = "gradient" if self.seeded else "VJP (Jᵀȳ)"
        cap = (
            f"The {what}: "
            + "; ".join(grads)
            + ". torch.autograd.grad gives the same (checked when this "
            "stepper was built)."
        )
        if self.saved:
            out = esc(self.names[self.end])
            cap += (
                f" {out}.backward() adds it into each input's .grad, which"
                " was None: "
                + "; ".join(
                    f"{esc(self.names[leaf])}.grad = {esc(_fmt(g))}"
                    for leaf, g in zip(self.leaves, self.grad_once)
                )
                + ". Every saved tensor has been freed."
            )
        steps.append(
            Step(
                "result",
                cap,
                "the input nodes are highlighted with their cotangents, the "
                "gradient",
                set(self.leaves),
                edges,
            )
        )
        if self.saved:
            out = esc(self.names[self.end])
            cap = (
                f"A second call, on a new forward pass ({out} recomputed, "
                f"then {out}.backward()), adds again: "
                + "; ".join(
                    f"{esc(self.names[leaf])}.grad = {esc(_fmt(g))}"
                    for leaf, g in zip(self.leaves, self.grad_twice)
                )
                + ", twice the gradient. .grad accumulates until you set "
                "it to None (torch does the same, checked)."
            )
            steps.append(
                Step(
                    "result",
                    cap,
                    "the input nodes are highlighted: their .grad now holds "
                    "the sum of two calls",
                    set(self.leaves),
                    edges,
                )
            )
        return steps

    # -- display
    @property
    def n_steps(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        n = len(self.order)
        return (
            f"BackwardStepper(nodes={n}, steps={self.n_steps}, "
            f"checked={self.checked}/{n})"
        )

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {"text/html": self.to_html(), "text/plain": repr(self)}

    def to_html(self, step: int = 1) -> str:
        """The stepper as HTML and CSS; `step` (1-based) is shown first."""
        if not 1 <= step <= self.n_steps:
            raise ValueError(
                f"BackwardStepper.to_html: step {step} is not in 1 … "
                f"{self.n_steps}"
            )
        return _view().stepper_html(self, step)


def backward_stepper(f, *inputs, names=None, y_bar=None, saved=False):
    """Trace f at `inputs` with vjplib and return a stepper through its
    forward and backward pass (shown as HTML in a notebook).

    names: the nodes' names: the inputs first, then the ops in the order f
    computes them (``["X", "Y", "z"]`` for z = ‖X⁻¹‖_F); missing names
    default to f's parameter names for the inputs and letters for the rest.
    y_bar: the cotangent of a non-scalar output (default: the seed 1 of a
    scalar output). saved: also say what loss.backward() on vjplib.tensor
    leaves does around the walk: per step, which tensors each op saves for
    the backward pass, and when the walk reads and frees them (each node's
    right after its VJP); at the end, .grad filled, and a second call on a
    new forward pass accumulating (all of it checked on vjplib's eager face
    and against torch when the stepper is built).

    Every cotangent is checked against vjplib's backward pass and the
    gradient against torch.autograd, in float64, when the stepper is built.

    >>> import torch, vjplib
    >>> x = torch.tensor(0.5, dtype=torch.float64)
    >>> backward_stepper(lambda a: a * a + vjplib.sin(a), x)
    BackwardStepper(nodes=4, steps=8, checked=4/4)
    """
    return BackwardStepper(f, *inputs, names=names, y_bar=y_bar, saved=saved)


def _assert_close(a, b, what, reference):
    """a equals b to 1e-9, NaN where b has NaN (a gradient through a kink
    can hold NaN or inf: the stepper shows them where the reference has
    them)."""
    if tuple(a.shape) != tuple(b.shape) or not torch.allclose(
        a, b, rtol=1e-9, atol=1e-12, equal_nan=True
    ):
        diff = (
            (a - b).abs().max().item()
            if tuple(a.shape) == tuple(b.shape)
            else "shapes differ"
        )
        raise AssertionError(
            f"backward_stepper: {what} does not match {reference} "
            f"(largest difference {diff})"
        )


# -- layout: Graphviz's dot --------------------------------------------------


# -- the view (booktools/stepper_view.py draws and lays out the graph) -------
def _view():
    """booktools.stepper_view, imported when first needed (it imports this
    module's formatting helpers, so it cannot be imported at the top)."""
    from booktools import stepper_view

    return stepper_view


def _layout(s: BackwardStepper) -> dict:
    """dot's layout of the graph (booktools.stepper_view.layout)."""
    return _view().layout(s)
