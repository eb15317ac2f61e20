"""The eager face: ``loss.backward()`` with torch's names, on vjplib's graph.

vjplib has two faces, as torch has. The functional one (``vjp``, ``grad``,
``jacrev``, …: torch.func) traces a function you hand it and returns
derivatives. This one is torch.autograd's stateful face: a ``Tensor`` made
with ``vjplib.tensor(data, requires_grad=True)`` records every op it takes
part in, as it happens, and ``z.backward()`` leaves the gradient in the
leaves' ``.grad``.

Both faces run on one machinery (as torch.func runs on torch's autograd
graph): an op on a Tensor that requires grad goes to the eager trace
(``EAGER``), which records a ``graph.Node`` (its ``grad_fn``) as the vjp
trace does, and ``Tensor.backward`` runs ``graph.backward``, the walk
``vjp_fn`` runs. This face adds torch's bookkeeping around that walk
(``_Bookkeeping``, the walk's observer):

- ``.grad`` of a leaf *accumulates* across backward calls (``x.grad = None``
  resets it): the cotangent sum of a node used twice, spread over calls;
- ``.grad`` is filled on leaves only: a non-leaf's ``.grad`` stays None (and
  reading it warns, as torch does) unless ``retain_grad()`` asked for it;
- the backward walk frees each context's saved tensors as soon as that
  node's VJP has used them; a second backward raises, unless the first said
  ``retain_graph=True``;
- every Tensor has a version counter ``_version`` that in-place ops
  (``add_``, ``mul_``, ``sub_``, ``div_``) bump; a context remembers the
  versions of what it saved, and the backward pass refuses a saved tensor
  that was changed since;
- ``no_grad()`` and ``detach()`` record nothing; ``create_graph=True``
  records the backward pass itself, so ``.grad`` can be differentiated again;
- ``register_hook(fn)`` sees a tensor's cotangent (its complete sum) before
  it flows on, and a returned tensor replaces it;
- a Tensor that does not require grad (a ``.grad``, say) reads as the torch
  tensor it holds: its torch methods (``.abs()``, ``.max()``, …) and torch
  functions run on its values; one that requires grad takes vjplib ops only.
"""

import copy
import functools
import warnings
import weakref

import torch

from . import ops
from .box import Box, Trace, _method
from .function import Function
from .graph import Node, Observer, Traced, backward, toposort


class _Grad:
    """Grad mode: whether ops on Tensors that require grad are recorded."""

    enabled = True


def is_grad_enabled():
    return _Grad.enabled


class _GradMode:
    def __init__(self, enabled=False):
        self.mode = enabled

    def __enter__(self):
        self.prev, _Grad.enabled = _Grad.enabled, self.mode

    def __exit__(self, *exc):
        _Grad.enabled = self.prev

    def __call__(self, f):  # also a decorator, as torch's
        @functools.wraps(f)
        def wrapped(*args, **kwargs):
            with self.__class__():
                return f(*args, **kwargs)

        return wrapped


class no_grad(_GradMode):
    """``with vjplib.no_grad():`` ops record no node and save nothing (the
    optimizer step, evaluation). Also a decorator."""

    def __init__(self):
        super().__init__(False)


class enable_grad(_GradMode):
    """Record again inside a ``no_grad`` block."""

    def __init__(self):
        super().__init__(True)


class _EagerTrace(Trace, kind="eager"):
    """The one trace all Tensors share, at level 0: below every running
    transformation, so ``vjplib.grad`` of a function of Tensors sees them as
    constants (as torch.func sees requires_grad tensors). It processes an op
    as the vjp trace does (``Trace.process``)."""

    keeps_other_saves = True  # plain: create_graph cannot differentiate

    def __init__(self):
        super().__init__("eager", 0)

    def mine(self, args):  # Tensors that require grad, in grad mode
        return tuple(
            _Grad.enabled and isinstance(a, Tensor) and a.requires_grad
            for a in args
        )

    def box(self, fn, ctx, args, y):
        mine = ctx.needs_input_grad
        version = _shared_version(y, args)
        if not any(mine):
            return Tensor(y, None, version)
        node_args = tuple(
            a if m else (a.primal if isinstance(a, Tensor) else a)
            for a, m in zip(args, mine)
        )
        node = Node(fn, None, node_args, y, self)
        out = Tensor(y, node, version)
        lower = tuple(_plain(a) for a in args)
        node.ctx = self.lift(fn, ctx, lower, y, args, out)
        node.ctx.versions = _versions(node.ctx._saved)
        return out


EAGER = _EagerTrace()


def _versions(saved):
    """The version of each saved Tensor, which backward checks (None for a
    plain value)."""
    return tuple(s._version if isinstance(s, Tensor) else None for s in saved)


def _shared_version(y, args):
    """A view (reshape, transpose, broadcast_to) shares its input's version
    counter, as in torch: an in-place change of one is a change of both."""
    ptr = y.untyped_storage().data_ptr()
    for a in args:
        if isinstance(a, Tensor) and _ptr(a) == ptr:
            return a._vc
    return None


class _Version:
    """A version counter, shared by a Tensor and its detached aliases."""

    __slots__ = ("n", "op")

    def __init__(self):
        self.n, self.op = 0, None


class _Leaf(Node):
    """The node of a leaf that requires grad (torch's AccumulateGrad): it
    knows its Tensor (weakly), whose ``.grad`` receives the cotangent."""

    __slots__ = ("tensor",)

    def __init__(self, tensor):
        super().__init__(None, None, (), tensor.primal, EAGER, "leaf")
        self.tensor = weakref.ref(tensor)


class Tensor(Traced):
    """A torch tensor (``primal``) that records the ops it takes part in
    (make one with ``vjplib.tensor``). A leaf that requires grad has a
    ``_Leaf`` node, an op's output the op's node (its ``grad_fn``), a Tensor
    that does not require grad none."""

    def __init__(self, primal, node=None, version=None):
        self.primal, self.trace, self.node = primal, EAGER, node
        self._vc = _Version() if version is None else version
        self._grad = None

    # ------------------------------------------------------------ state
    @property
    def requires_grad(self):
        return self.node is not None

    @requires_grad.setter
    def requires_grad(self, flag):
        self.requires_grad_(flag)

    is_leaf = property(lambda self: self.node is None or self.node.fn is None)
    grad_fn = property(lambda self: None if self.is_leaf else self.node)
    _version = property(lambda self: self._vc.n)

    @property
    def grad(self):
        """What backward() accumulated into this tensor: on a leaf that
        requires grad, or on a tensor that called ``retain_grad()``; None
        on any other (reading it on a non-leaf warns, as torch does)."""
        if self._grad is None and not self.is_leaf and not self.retains_grad:
            warnings.warn(NON_LEAF_GRAD, UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value.detach() if value.requires_grad else value)
        self._grad = value

    @property
    def retains_grad(self):
        """True when ``retain_grad()`` made this non-leaf keep its .grad."""
        return (
            not self.is_leaf
            and self.node.retains is not None
            and self.node.retains() is self
        )

    def retain_grad(self):
        """Let backward() fill this non-leaf's ``.grad`` too (its complete
        cotangent, after the hooks); on a leaf it does nothing."""
        if not self.requires_grad:
            raise RuntimeError(
                "can't retain_grad on Tensor that has requires_grad=False"
            )
        if not self.is_leaf:
            self.node.retains = weakref.ref(self)

    def requires_grad_(self, requires_grad=True):
        if not self.is_leaf:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. "
                "To use a computed value as a new leaf, take .detach() first."
            )
        if requires_grad and not self.primal.dtype.is_floating_point:
            raise RuntimeError(
                "Only Tensors of floating point dtype can require gradients "
                f"(got {self.primal.dtype}); convert with .to(torch.float64)"
            )
        if requires_grad and self.node is None:
            self.node = _Leaf(self)
        elif not requires_grad:
            self.node = None
        return self

    def detach(self):
        """The same values (the same storage and version counter), cut off
        from the graph: ops on it record nothing."""
        return Tensor(self.primal, None, self._vc)

    def register_hook(self, hook):
        """hook(grad) runs on this tensor's complete cotangent during
        backward; if it returns a tensor, that replaces the cotangent."""
        if not self.requires_grad:
            raise RuntimeError(
                "cannot register a hook on a tensor that doesn't require "
                "gradient"
            )
        self.node.hooks = self.node.hooks + (hook,)

    # ------------------------------------------------------------ in place
    def _inplace(self, op, other):
        """``self.add_(other)`` for op "add" (below the class): change the
        values in place and bump the version; a result that requires grad
        records the op out of place on an alias of the old value, and this
        Tensor takes its node."""
        name = f"{op}_"
        tracked = _Grad.enabled and (
            self.requires_grad
            or (isinstance(other, Tensor) and other.requires_grad)
        )
        if tracked and self.requires_grad and self.is_leaf:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an "
                f"in-place operation ({name}). Write it out of place (a new "
                "tensor: x = x * 2, not x.mul_(2)), or, to update the "
                "parameter itself, do it under vjplib.no_grad()."
            )
        if not tracked:
            plain = other.primal if isinstance(other, Tensor) else other
            getattr(torch.Tensor, name)(self.primal, plain)
        else:
            old = Tensor(self.primal, self.node, self._vc)
            new = getattr(ops, op)(old, other)
            if new.shape != self.shape:
                raise RuntimeError(
                    f"{name}: output with shape {tuple(self.shape)} doesn't "
                    f"match the broadcast shape {tuple(new.shape)}"
                )
            ctx = new.node.ctx  # a saved old value gets a copy (torch too)
            ctx._saved = tuple(
                Tensor(s.primal.clone(), s.node)
                if s is old or s is other is self
                else s
                for s in ctx._saved
            )
            ctx.versions = _versions(ctx._saved)
            self.primal.copy_(new.primal)
            self.node = new.node
        self._vc.n += 1
        self._vc.op = name
        return self

    # ------------------------------------------------------------ backward
    def backward(self, gradient=None, retain_graph=None, create_graph=False):
        """Add the VJP Jᵀ y_bar into the ``.grad`` of every leaf that
        requires grad, for the cotangent ``gradient`` = y_bar (default 1 for
        a one-element self). ``retain_graph`` (default: create_graph) keeps
        the saved tensors for another backward; ``create_graph`` records the
        walk, so ``.grad`` can be differentiated again."""
        if not self.requires_grad:
            raise RuntimeError(NO_GRAD_FN.format(i=0))
        gradient = _cotangent(self, gradient, create_graph)
        retain_graph = create_graph if retain_graph is None else retain_graph
        leaves = [n for n in toposort(self.node) if n.fn is None]
        x_bars = _walk([self], [gradient], leaves, retain_graph, create_graph)
        with _GradMode(create_graph):
            taken = {_ptr(gradient)}
            for leaf, x_bar in zip(leaves, x_bars):
                tensor = leaf.tensor()
                if x_bar is None or tensor is None:
                    continue
                x_bar = _run_hooks(leaf, x_bar, create_graph)
                if _ptr(x_bar) in taken:  # an alias: .grad gets its own
                    x_bar = x_bar.clone()
                taken.add(_ptr(x_bar))
                _accumulate(tensor, x_bar, create_graph)

    # ------------------------------------------------------------ reading
    def item(self):
        return self.primal.item()

    def tolist(self):
        return self.primal.tolist()

    def __float__(self):
        return float(self.primal)

    def __bool__(self):
        return bool(self.primal)

    def clone(self):
        """A copy with its own storage; differentiable (the identity)."""
        return Clone.apply(self)

    def __getattr__(self, name):
        """A torch method this class lacks runs on the values of a Tensor
        that requires no grad (``X.grad.abs().max()``); one that requires
        grad refuses it, as a box does."""
        if (
            not name.startswith("__")
            and self.__dict__.get("node", True) is None
            and callable(getattr(torch.Tensor, name, None))
        ):
            method = getattr(self.__dict__["primal"], name)

            @functools.wraps(method)
            def on_values(*args, **kwargs):
                out = method(*_plain_all(args), **_plain_all(kwargs))
                if name.endswith("_") and out is self.primal:  # in place
                    self._vc.n += 1
                    self._vc.op = name
                    return self
                return _wrap_all(out)

            return on_values
        return super().__getattr__(name)

    def __getitem__(self, index):
        """Indexing reads the values of a Tensor that requires no grad
        (``X.grad[0]``); vjplib has no indexing op to record."""
        if self.requires_grad:
            raise TypeError(
                "indexing a vjplib Tensor that requires grad is not "
                "recorded (vjplib has no indexing op): index .detach(), or "
                "compute the piece with vjplib ops (reshape, sum, matmul)"
            )
        return _wrap_all(self.primal[_plain_all(index)])

    def __len__(self):
        return len(self.primal)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        """torch functions on Tensors that require no grad run on their
        values (``torch.allclose(X.grad, G)``); with one that requires grad,
        box.py turns arithmetic into vjplib ops and refuses the rest."""
        kwargs = kwargs or {}
        if any(_traced(a) for a in _flat(args) + _flat(kwargs.values())):
            return super().__torch_function__(func, types, args, kwargs)
        return _wrap_all(func(*_plain_all(args), **_plain_all(kwargs)))

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use "
                "tensor.detach().numpy() instead."
            )
        return self.primal.numpy()

    def __repr__(self):
        text = repr(self.primal)[: -len(")")]
        if self.grad_fn is not None:
            return f"{text}, grad_fn=<{self.grad_fn.fn.__name__}>)"
        return text + (", requires_grad=True)" if self.requires_grad else ")")


# A few of torch's methods, each the vjplib op of its name (as a Box's)
for _name in ("exp", "log", "tanh", "sin", "cos", "norm"):
    setattr(Tensor, _name, _method(_name))

# x.add_(y), and x += y in place, as torch's (else Python would rebind x to
# a new tensor: a parameter would silently stop being a leaf)
for _name in ("add", "sub", "mul", "div"):
    _in_place = functools.partialmethod(Tensor._inplace, _name)
    setattr(Tensor, f"{_name}_", _in_place)
    _dunder = "truediv" if _name == "div" else _name
    setattr(Tensor, f"__i{_dunder}__", _in_place)


class Clone(Function):
    """y = a copy of x in new storage.   VJP: x_bar = y_bar.   JVP: y_dot =
    x_dot (the identity, whose Jacobian is I)."""

    linear_in = (0,)

    @staticmethod
    def forward(ctx, x):
        return x.clone()

    @staticmethod
    def vjp(ctx, y_bar):
        return y_bar

    @staticmethod
    def jvp(ctx, x_dot):
        return x_dot

    @staticmethod
    def transpose(ctx, y_bar):
        return y_bar


NO_GRAD_FN = (
    "element {i} of tensors does not require grad and does not have a "
    "grad_fn: nothing recorded how it was computed. Make its inputs with "
    "requires_grad=True, outside vjplib.no_grad() and without .detach()"
)
NON_LEAF_GRAD = (
    "The .grad attribute of a Tensor that is not a leaf Tensor is being "
    "accessed. Its .grad attribute won't be populated during "
    "autograd.backward(). If you indeed want the .grad field to be "
    "populated for a non-leaf Tensor, use .retain_grad() on the non-leaf "
    "Tensor. If you access the non-leaf Tensor by mistake, make sure you "
    "access the leaf Tensor instead."
)


def _traced(a):
    """A value that carries a derivative: a Tensor that requires grad, or a
    box of a running transformation."""
    if isinstance(a, Tensor):
        return a.requires_grad
    return isinstance(a, Box)


def _flat(xs):
    out = []
    for x in xs:
        out.extend(_flat(x) if isinstance(x, (list, tuple)) else [x])
    return out


def _plain_all(x):
    """Tensors (that require no grad) replaced by their values, in nested
    lists, tuples and dicts."""
    if isinstance(x, Tensor):
        return x.primal
    if isinstance(x, (list, tuple)):
        return type(x)(_plain_all(v) for v in x)
    if isinstance(x, dict):
        return {k: _plain_all(v) for k, v in x.items()}
    return x


def _wrap_all(x):
    """torch tensors in a result wrapped as Tensors that require no grad."""
    if isinstance(x, torch.Tensor):
        return Tensor(x)
    if type(x) in (list, tuple):  # (torch.Size and named results: as is)
        return type(x)(_wrap_all(v) for v in x)
    return x


class _Bookkeeping(Observer):
    """torch's bookkeeping around the walk: before a node's VJP, check its
    saved tensors' versions, run its hooks, fill a retained .grad; right
    after it, free its saved tensors (unless `retain_graph`)."""

    def __init__(self, retain_graph, create_graph):
        self.retain_graph, self.create_graph = retain_graph, create_graph

    def before(self, node, ctx, y_bar):
        saved = ctx.saved_tensors  # raises once freed
        for i, (s, v) in enumerate(zip(saved, ctx.versions)):
            if v is not None and s._version != v:
                raise RuntimeError(_modified(node, i, s, v))
        if not self.create_graph:  # the rules run on plain tensors
            ctx = copy.copy(ctx)
            ctx._saved = tuple(_plain(s) for s in saved)
        y_bar = _run_hooks(node, y_bar, self.create_graph)
        kept = node.retains() if node.retains is not None else None
        if kept is not None:
            _accumulate(kept, y_bar, self.create_graph)
        return ctx, y_bar

    def after(self, node, x_bars):  # free what it saved, once it is used
        saved = node.ctx._saved  # (a context that saved nothing stays open,
        if not self.retain_graph and any(s is not None for s in saved):
            node.ctx.free()  # as in torch)


def _walk(outs, y_bars, inputs, retain_graph, create_graph):
    """graph.backward from `outs` (Tensors) with torch's bookkeeping: the
    cotangents of `inputs` (nodes)."""
    with _GradMode(create_graph):
        return backward(
            [o.node for o in outs],
            y_bars,
            inputs,
            observer=_Bookkeeping(retain_graph, create_graph),
        )


def _plain(v):
    return v.primal if isinstance(v, Tensor) else v


def _ptr(t):
    return _plain(t).untyped_storage().data_ptr()


def _wrap(v):
    """A cotangent as hooks and .grad see it: a Tensor."""
    return v if isinstance(v, Tensor) else Tensor(v)


def _run_hooks(node, y_bar, create_graph):
    for hook in node.hooks:
        new = hook(_wrap(y_bar))
        if new is not None:
            y_bar = new if create_graph else _plain(new)
    return y_bar


def _accumulate(tensor, x_bar, create_graph):
    """tensor.grad += x_bar: in place on plain values, recorded with
    create_graph (then .grad requires grad)."""
    old = tensor._grad
    if old is None:
        tensor.grad = _wrap(x_bar)
    elif create_graph or old.requires_grad or isinstance(x_bar, Tensor):
        tensor.grad = old + x_bar
    else:
        old.primal.add_(x_bar)


def _cotangent(out, gradient, create_graph):
    """The starting cotangent y_bar: 1 for a one-element output, else the
    given gradient (a tensor of out's shape)."""
    if gradient is None:
        if out.numel() != 1:
            raise RuntimeError(
                "grad can be implicitly created only for scalar outputs: "
                f"the output has shape {tuple(out.shape)}; pass "
                "backward(gradient=y_bar), a cotangent of that shape (then "
                ".grad is the VJP Jᵀ y_bar), or reduce it to a scalar first"
            )
        gradient = torch.ones_like(out.primal)
    if not isinstance(gradient, (torch.Tensor, Tensor)):
        raise TypeError(
            "backward: gradient must be a tensor of the output's shape, got "
            f"{type(gradient).__name__}"
        )
    if gradient.shape != out.shape:
        raise RuntimeError(
            "Mismatch in shape: grad_output[0] has a shape of "
            f"{tuple(gradient.shape)} and output[0] has a shape of "
            f"{tuple(out.shape)}: give gradient the output's shape"
        )
    return gradient if create_graph else _plain(gradient)


def _modified(node, i, s, v):
    return (
        "one of the variables needed for gradient computation has been "
        "modified by an inplace operation: [vjplib.Tensor of shape "
        f"{tuple(s.shape)}, {s.dtype}], saved by {node.fn.__name__} (saved "
        f"tensor {i}), is at version {s._version}; expected version {v} "
        f"instead. The in-place {s._vc.op} changed it after "
        f"{node.fn.__name__} saved it: write that op out of place "
        "(x = x * 2, not x.mul_(2)), or apply it after backward()."
    )


def tensor(data, requires_grad=False, dtype=None):
    """A new Tensor holding a copy of `data` (a tensor, a number, a list;
    Python floats become float64, where torch would make float32).
    ``requires_grad=True`` makes it a leaf whose ``.grad`` backward() fills."""
    if isinstance(data, Tensor):
        data = data.primal
    if isinstance(data, torch.Tensor):
        t = data.detach().clone()
    else:
        t = torch.as_tensor(data)
        if t.is_floating_point():
            t = t.to(torch.float64)
    t = t if dtype is None else t.to(dtype)
    return Tensor(t).requires_grad_(requires_grad)
