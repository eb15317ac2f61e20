"""Function: one op = its forward, its VJP rule and its JVP rule, as in
torch.autograd.Function, in torch's old style (``forward(ctx, *inputs)``) or
its current one (``forward(*inputs)`` + ``setup_context``, a ``vmap`` rule or
``generate_vmap_rule``); and ``_apply``, the one dispatch from an op to the
trace of its highest box.
"""

import torch

from .box import _is_tensor, top_box

# The (pack_hook, unpack_hook) pairs of the saved_tensors_hooks blocks that
# are running, innermost last (only the innermost applies, as in torch).
_SAVED_TENSORS_HOOKS = []


class saved_tensors_hooks:
    """torch.autograd.graph.saved_tensors_hooks (at
    ``vjplib.autograd.graph``): while the ``with`` block runs,
    ``pack_hook(t)`` sees every tensor an op saves for its rules, and
    ``unpack_hook(packed)`` each read of it. Blocks nest: only the innermost
    pair applies, as in torch.

    vjplib keeps its own reference to each saved tensor, so the hooks
    observe (the memory meter counts through them) and cannot offload:
    unpack_hook must return the tensor pack_hook was given.
    """

    def __init__(self, pack_hook, unpack_hook):
        self.pack_hook, self.unpack_hook = pack_hook, unpack_hook

    def __enter__(self):
        _SAVED_TENSORS_HOOKS.append((self.pack_hook, self.unpack_hook))
        return self

    def __exit__(self, *exc):
        _SAVED_TENSORS_HOOKS.pop()
        return False


class Context:
    """What forward leaves for the rules: ``save_for_backward(*tensors)``
    for inputs and the output (nested transformations swap them for their
    traced versions, so the rules can be differentiated again), and plain
    attributes (shapes, dims, constants).

    ``ctx.needs_input_grad`` is a tuple of bools, one per input of forward, as
    in torch: in vjp, True where that input is a value of the transformation
    the rule runs for (traced by that vjp, so its cotangent is wanted; return
    None for the others); in jvp, True where it carries a tangent (the others
    get zero tangents, which a rule may skip). In forward it is True where an
    input belongs to any running transformation, so forward can save only what
    the rules will use.
    """

    _saved = ()
    _packed = ()  # (tensor, packed) pairs while saved_tensors_hooks ran
    _freed = False
    needs_input_grad = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors
        if _SAVED_TENSORS_HOOKS:  # (tensor, what pack_hook made of it)
            pack, unpack = _SAVED_TENSORS_HOOKS[-1]
            self._unpack = unpack
            self._packed = tuple(
                (t, pack(t)) for t in tensors if _is_tensor(t)
            )

    def save_for_forward(self, *tensors):
        """torch's name for what the jvp rule will read. vjplib keeps one
        tuple of saved tensors for both rules, so this is
        ``save_for_backward``; saving two different tuples is refused."""
        if self._saved and (
            len(self._saved) != len(tensors)
            or any(a is not b for a, b in zip(self._saved, tensors))
        ):
            raise ValueError(
                "save_for_forward: vjplib keeps one tuple of saved tensors "
                "for vjp and jvp (ctx.saved_tensors in both); call "
                "save_for_backward once with every tensor either rule reads"
            )
        if not self._saved:
            self.save_for_backward(*tensors)

    @property
    def saved_tensors(self):
        if self._freed:  # Tensor.backward() frees them (tensor.py)
            raise RuntimeError(FREED)
        for t, packed in self._packed:
            if self._unpack(packed) is not t:
                raise RuntimeError(
                    "saved_tensors_hooks: unpack_hook must return the tensor "
                    "pack_hook was given: vjplib keeps its own reference to "
                    "saved tensors, so its hooks observe and cannot offload"
                )
        return self._saved

    def free(self):
        """Drop the saved tensors (backward does it once the node's VJP has
        used them); ``saved_tensors`` then raises."""
        self._saved, self._freed, self._packed = (), True, ()


FREED = (
    "Trying to backward through the graph a second time (or directly access "
    "saved tensors after they have already been freed). Saved intermediate "
    "values of the graph are freed when you call .backward() or "
    "autograd.grad(). Specify retain_graph=True if you need to backward "
    "through the graph a second time or if you need to access saved tensors "
    "after calling backward."
)


class Function:
    """Base class of every op. Subclass it and write three static methods::

        class Square(vjplib.Function):
            '''y = x², VJP: x_bar = 2 x y_bar, JVP: y_dot = 2 x x_dot.'''

            @staticmethod
            def forward(ctx, x):  # plain torch tensors in, a tensor out
                ctx.save_for_backward(x)
                return x * x

            @staticmethod
            def vjp(ctx, y_bar):  # one cotangent per input (None: none)
                (x,) = ctx.saved_tensors
                return 2 * x * y_bar

            @staticmethod
            def jvp(ctx, x_dot):  # one tangent per input in, one out
                (x,) = ctx.saved_tensors
                return 2 * x * x_dot

    Call it as ``Square.apply(x)``. Write the rules with vjplib ops and
    operators (not torch functions): then they can be differentiated again
    (grad of grad, hessian, hvp). A cotangent y_bar or tangent x_dot may carry
    leading batch dimensions (shape ``batch + shape``); rules that only combine
    them elementwise or with matmul on the right handle that for free. An input
    that has no tangent gets a zero tangent; a non-tensor input (a dim, a mode)
    gets None.

    A rule may skip the work for constants (``Context.needs_input_grad``)::

            def vjp(ctx, Y_bar):                              # for Y = A @ B
                A, B = ctx.saved_tensors
                need_A, need_B = ctx.needs_input_grad
                A_bar = Y_bar @ B.T if need_A else None
                B_bar = A.T @ Y_bar if need_B else None
                return A_bar, B_bar

    torch's current style works too: ``forward(*inputs)`` without ctx, plus
    ``setup_context(ctx, inputs, output)`` that saves what the rules need,
    and a batching rule ``vmap(info, in_dims, *args) -> (output, out_dim)``
    or ``generate_vmap_rule = True``; the reverse rule may take torch's name
    ``backward``. Both styles run under every vjplib transformation
    (torch.func refuses the old style).
    """

    generate_vmap_rule = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        own = cls.__dict__
        if "backward" in own and "vjp" in own:
            raise TypeError(
                f"{cls.__name__} defines both vjp and backward: they are one "
                "rule (torch calls it backward, vjplib vjp); define one"
            )
        if "backward" in own:  # torch's name for the same rule
            cls.vjp = own["backward"]

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError(
            "setup_context(ctx, inputs, output) is torch's current style: "
            "define it together with forward(*inputs) (no ctx)"
        )

    @staticmethod
    def forward(ctx, *inputs):
        raise NotImplementedError(
            "a vjplib.Function subclass must define forward(ctx, *inputs)"
        )

    @classmethod
    def vjp(cls, ctx, y_bar):
        raise NotImplementedError(
            f"{cls.__name__} has no vjp(ctx, y_bar): reverse mode (vjp, grad, "
            "jacrev) needs it. (torch: You must implement either the "
            "backward or vjp method for your custom autograd.Function to use "
            "it with backward mode AD.)"
        )

    @classmethod
    def jvp(cls, ctx, *x_dots):
        raise NotImplementedError(
            f"{cls.__name__} has no jvp(ctx, *x_dots): forward mode (jvp, "
            "jacfwd, hessian, hvp, linearize) needs it. (torch: You must "
            "implement the jvp function for custom autograd.Function to use "
            "it with forward mode AD.)"
        )

    @classmethod
    def transpose(cls, ctx, y_bar):
        """The transpose rule of a linear op (one that names the inputs it
        is linear in, ``linear_in``): its J does not depend on the point,
        so Jᵀ y_bar is its VJP. An op overrides it to say otherwise (where
        refuses a number as a branch: affine, not linear)."""
        return cls.vjp(ctx, y_bar)

    @classmethod
    def apply(cls, *inputs):
        """Plain tensors give a plain tensor; traced values a node of the
        graph; Duals a Dual."""
        return _apply(_engine_op(cls), inputs, keep_ctx=False)[0]


def _apply(fn, args, keep_ctx, needs=None):
    """(output, context) of op `fn` on `args`: plain tensors run its
    forward; otherwise the trace of the highest box among them processes it
    (``Trace.process``, which says what `keep_ctx` and `needs` ask for)."""
    top = top_box(args, fn.__name__)
    if top is not None:
        return top.trace.process(fn, args, needs, keep_ctx)
    ctx = Context()
    ctx.needs_input_grad = (False,) * len(args) if needs is None else needs
    return fn.forward(ctx, *args), ctx


def forward_on_shapes(fn, args, needs):
    """Run fn.forward on shapes only: each tensor or box in args becomes an
    empty "meta" tensor of its shape and dtype (no data, no arithmetic).

    Returns (ctx, meta_args, meta_y): what forward left in ctx (shapes, dims,
    modes, and which inputs it saved) and the output's shape and dtype.
    ``linearize`` and ``vmap`` use it to get an op's context without running
    its arithmetic; their trace's ``lift(fn, ctx, meta_args, meta_y, args,
    out)`` then puts the real values in place of the saved meta tensors.
    """
    meta = tuple(
        torch.empty(tuple(a.shape), dtype=a.dtype, device="meta")
        if _is_tensor(a)
        else a
        for a in args
    )
    ctx = Context()
    ctx.needs_input_grad = needs
    return ctx, meta, fn.forward(ctx, *meta)


# ------------------------------------------------ torch's current style
# The engine (``_apply``, graph.py, linearize.py, vmap.py) calls
# ``fn.forward(ctx, *inputs)``. A new-style Function is handed to it as its
# *engine op*: a subclass whose forward runs ``forward(*inputs)`` and then
# ``setup_context(ctx, inputs, output)``, with a batching rule: the class's
# own ``vmap``, one generated from its rules (``generate_vmap_rule``), or
# one that raises torch's error.


def is_new_style(cls):
    """True when cls overrides setup_context (torch's test, too)."""
    return cls.setup_context is not Function.setup_context


def _engine_op(cls):
    """The class the engine applies for Function `cls` (cls itself for an
    old-style Function with no generated rule)."""
    if "_engine_of" in cls.__dict__:
        return cls
    new = is_new_style(cls)
    if not new and not cls.generate_vmap_rule:
        return cls
    op = cls.__dict__.get("_engine_op")  # kept on the class: freed with it
    if op is None:
        body = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
        body["_engine_of"] = cls
        if new:
            body["forward"] = staticmethod(_new_style_forward(cls))
        rule = getattr(cls, "vmap", None)
        if cls.generate_vmap_rule and rule is not None:
            body["vmap"] = staticmethod(_refuse_vmap(cls, _BOTH))
        elif cls.generate_vmap_rule:
            body["vmap"] = _GeneratedRule()
        elif rule is None:
            body["vmap"] = staticmethod(_refuse_vmap(cls, _NO_RULE))
        op = type(cls.__name__, (cls,), body)
        cls._engine_op = op
    return op


def _new_style_forward(cls):
    def forward(ctx, *inputs):
        output = cls.forward(*inputs)
        if not isinstance(output, torch.Tensor):
            raise TypeError(
                f"{cls.__name__}.forward returned a "
                f"{type(output).__name__}; a vjplib Function returns one "
                "tensor (write one Function per output)"
            )
        cls.setup_context(ctx, inputs, output)
        return output

    return forward


_NO_RULE = (
    "You tried to vmap over {name}, but it does not have vmap support. "
    "Please override and implement the vmap staticmethod or set "
    "generate_vmap_rule=True."
)
_BOTH = (
    "You tried to vmap over {name}, but it has both generate_vmap_rule=True "
    "and an overridden vmap staticmethod. Please set "
    "generate_vmap_rule=False or delete the overridden vmap staticmethod to "
    "avoid ambiguity."
)


def _refuse_vmap(cls, words):
    def vmap(info, in_dims, *args):
        raise RuntimeError(words.format(name=cls.__name__))

    return vmap


class _GeneratedRule:
    """``generate_vmap_rule = True``: the batching rule applies the batched
    op (``_batched``): forward under ``torch.vmap`` (forward is torch code),
    the rules under ``vjplib.vmap`` (they are vjplib code)."""

    def __get__(self, instance, owner):
        def vmap(info, in_dims, *args):
            return _batched(owner, tuple(in_dims)).apply(*args), 0

        return vmap


def _batched(op, in_dims):
    """The op that runs engine op `op` on inputs stacked along dim 0 (those
    whose in_dim is 0): one example at a time in meaning, once in fact.
    Kept on `op`, one per in_dims."""
    if "_batched_ops" not in op.__dict__:
        op._batched_ops = {}
    if in_dims not in op._batched_ops:
        op._batched_ops[in_dims] = type(
            f"vmap({op.__name__})",
            (_Batched,),
            {"op": op, "in_dims": in_dims, "__module__": __name__},
        )
    return op._batched_ops[in_dims]


def _example_context(ctx, saved):
    """One example's context: the attributes its forward left, and `saved`
    as its saved tensors."""
    c = Context()
    c.__dict__.update(ctx.inner)
    c._saved, c.needs_input_grad = tuple(saved), ctx.needs_input_grad
    return c


def _rebuild(saved, values):
    it = iter(values)
    return tuple(None if s is None else next(it) for s in saved)


class _Batched(Function):
    """A generated batching rule's op (see ``_batched``). Its context keeps one
    example's attributes (``inner``), the saved tensors stacked and the batch
    dim of each (``dims``); its rules map the op's rules over the examples with
    vjplib.vmap. A cotangent or tangent may carry leading batch dims of its own
    (jacrev, jacfwd): the examples' dim comes after them."""

    op, in_dims = None, ()
    generate_vmap_rule = True  # vmap of vmap: batch the batched op again

    @classmethod
    def forward(cls, ctx, *stacks):
        seen = {}

        def one(*xs):
            c = Context()
            c.needs_input_grad = ctx.needs_input_grad
            y = cls.op.forward(c, *xs)
            seen.update(ctx=c, xs=xs, y=y)
            return (y,) + tuple(
                s
                for s in c._saved
                if isinstance(s, torch.Tensor)
                and s is not y
                and not any(s is x for x in xs)
            )

        outs = torch.vmap(one, in_dims=cls.in_dims)(*stacks)
        c, xs, y = seen["ctx"], seen["xs"], outs[0]
        rest = iter(outs[1:])
        saved, dims = [], []
        for s in c._saved:
            i = next((i for i, x in enumerate(xs) if s is x), None)
            if i is not None:
                saved.append(stacks[i])
                dims.append(cls.in_dims[i])
            elif s is seen["y"]:
                saved.append(y)
                dims.append(0)
            elif isinstance(s, torch.Tensor):
                saved.append(next(rest))
                dims.append(0)
            else:
                saved.append(s)
                if s is not None:
                    dims.append(None)
        ctx.save_for_backward(*saved)
        ctx.inner = {
            k: v
            for k, v in c.__dict__.items()
            if k not in ("_saved", "needs_input_grad")
        }
        ctx.dims = tuple(dims)
        ctx.y_ndim = y.ndim
        ctx.x_ndims = tuple(getattr(a, "ndim", None) for a in stacks)
        return y

    @classmethod
    def vjp(cls, ctx, y_bar):
        from .ops import sum as sum_
        from .vmap import vmap

        saved = ctx.saved_tensors
        lead = y_bar.ndim - ctx.y_ndim  # y_bar's own leading batch dims
        none = []

        def one(y_bar_i, *saved_i):
            c = _example_context(ctx, _rebuild(saved, saved_i))
            x_bars = cls.op.vjp(c, y_bar_i)
            x_bars = x_bars if isinstance(x_bars, tuple) else (x_bars,)
            none.append(tuple(b is None for b in x_bars))
            return tuple(y_bar_i * 0 if b is None else b for b in x_bars)

        outs = vmap(one, in_dims=(lead,) + ctx.dims, out_dims=lead)(
            y_bar, *(s for s in saved if s is not None)
        )
        x_bars = []
        for b, gone, d in zip(outs, none[0], cls.in_dims):
            if gone:
                x_bars.append(None)
            elif d is None:  # an input shared by all examples: sum
                x_bars.append(sum_(b, lead))
            else:
                x_bars.append(b)
        return tuple(x_bars)

    @classmethod
    def jvp(cls, ctx, *x_dots):
        from .vmap import vmap

        saved = ctx.saved_tensors
        lead = next(
            t.ndim - n
            for t, n, d in zip(x_dots, ctx.x_ndims, cls.in_dims)
            if t is not None and d is not None
        )
        given = [i for i, t in enumerate(x_dots) if t is not None]

        def one(*values):
            x_dots_i = [None] * len(x_dots)
            for i, v in zip(given, values):
                x_dots_i[i] = v
            c = _example_context(ctx, _rebuild(saved, values[len(given) :]))
            return cls.op.jvp(c, *x_dots_i)

        dims = tuple(None if cls.in_dims[i] is None else lead for i in given)
        return vmap(one, in_dims=dims + ctx.dims, out_dims=lead)(
            *(x_dots[i] for i in given),
            *(s for s in saved if s is not None),
        )
