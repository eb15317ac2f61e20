"""Function: one op = its forward, its VJP rule and its JVP rule, as in
torch.autograd.Function.
"""

import copy

import torch

from .box import Box, top_box
from .dual import Dual
from .graph import Node, Traced, check_like


class Context:
    """What forward leaves for the rules: ``save_for_backward(*tensors)`` and
    plain attributes.

    Save inputs and the output with ``save_for_backward`` (not as attributes):
    inside nested transformations vjplib swaps them for their traced versions,
    so the rules can be differentiated again. Plain attributes (shapes, dims,
    constants) are passed through as they are.

    ``ctx.needs_input_grad`` is a tuple of bools, one per input of forward, as
    in torch: in vjp, True where that input is a value of the transformation
    the rule runs for (traced by that vjp, so its cotangent is wanted; return
    None for the others); in jvp, True where it carries a tangent (the others
    get zero tangents, which a rule may skip). In forward it is True where an
    input belongs to any running transformation, so forward can save only what
    the rules will use.
    """

    _saved = ()
    _freed = False
    needs_input_grad = ()

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        if self._freed:  # Tensor.backward() frees them (tensor.py)
            raise RuntimeError(FREED)
        return self._saved


FREED = (
    "Trying to backward through the graph a second time (or directly access "
    "saved tensors after they have already been freed). Saved intermediate "
    "values of the graph are freed when you call .backward(). Specify "
    "retain_graph=True if you need to backward through the graph a second "
    "time or if you need to access saved tensors after calling backward."
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

    ``ctx.needs_input_grad[i]`` says whether input i needs its derivative (see
    ``Context``), so a rule can skip work for constants, as torch's do::

            def vjp(ctx, Y_bar):                              # for Y = A @ B
                A, B = ctx.saved_tensors
                need_A, need_B = ctx.needs_input_grad
                A_bar = Y_bar @ B.T if need_A else None
                B_bar = A.T @ Y_bar if need_B else None
                return A_bar, B_bar

    A rule that ignores it stays correct: extra cotangents are dropped, zero
    tangents add nothing.
    """

    @staticmethod
    def forward(ctx, *inputs):
        raise NotImplementedError(
            "a vjplib.Function subclass must define forward(ctx, *inputs)"
        )

    @classmethod
    def vjp(cls, ctx, y_bar):
        raise NotImplementedError(
            f"{cls.__name__} has no vjp(ctx, y_bar): reverse mode (vjp, grad, "
            "jacrev) needs it"
        )

    @classmethod
    def jvp(cls, ctx, *x_dots):
        raise NotImplementedError(
            f"{cls.__name__} has no jvp(ctx, *x_dots): forward mode (jvp, "
            "jacfwd, hessian, hvp) needs it"
        )

    @classmethod
    def apply(cls, *inputs):
        """
        Plain tensors give a plain tensor; traced values a node of the graph;
        Duals a Dual.
        """
        return _apply(cls, inputs, keep_ctx=False)[0]


def _apply(fn, args, keep_ctx, needs=None):
    """Apply op `fn` to `args`: unbox the highest level, recurse on the
    primals, box the result.

    Returns the output and, when `keep_ctx`, a context whose saved tensors live
    at the level of `args` (needed by the rules of the level above, so they can
    be differentiated). Each level's context says which inputs are its own
    (``needs_input_grad``); forward's says which are boxed at any level
    (`needs`, taken at the top).
    """
    top = top_box(args, fn.__name__)
    if (
        top is not None
        and getattr(fn, "differentiable", True) is False
        and not hasattr(top.trace, "process")
    ):  # no derivative (a comparison, a sign, an argmax; nonsmooth.py):
        # the output is a constant of this level, so strip its boxes and run
        # the op one level down (vmap's and linearize's process it their way)
        lower = tuple(
            a.primal if isinstance(a, Box) and a.trace is top.trace else a
            for a in args
        )
        return _apply(fn, lower, keep_ctx, needs)
    if top is not None and top.trace.kind == "eager":  # a vjplib.Tensor
        return top.trace.record(fn, args, keep_ctx, needs)  # see tensor.py
    needs = tuple(isinstance(a, Box) for a in args) if needs is None else needs
    if top is None:  # plain tensors: run the forward
        ctx = Context()
        ctx.needs_input_grad = needs
        return fn.forward(ctx, *args), ctx
    trace = top.trace
    if hasattr(trace, "process"):  # linearize and vmap apply ops their way
        return trace.process(fn, args, needs, keep_ctx)
    mine = tuple(isinstance(a, Box) and a.trace is trace for a in args)
    lower = tuple(a.primal if m else a for a, m in zip(args, mine))
    y, ctx = _apply(
        fn, lower, keep_ctx=True, needs=needs
    )  # the same op, one level down
    ctx.needs_input_grad = mine  # this level's own context (see _lift)
    if trace.kind == "vjp":
        out = Traced(y, trace, Node(fn, ctx, args, y, trace))
    else:
        batch = top.batch_shape
        x_dots = [
            a.tangent if m else _zero_tangent(a, batch)
            for a, m in zip(args, mine)
        ]
        y_dot = fn.jvp(ctx, *x_dots)
        check_like(y_dot, y, batch, f"{fn.__name__}.jvp: output tangent")
        out = Dual(y, y_dot, trace)
    return out, (_lift(fn, ctx, lower, y, args, out) if keep_ctx else None)


def _zero_tangent(a, batch):
    """
    The tangent of a constant: zeros of shape batch + a.shape (a stride-0 view,
    no memory).
    """
    if not isinstance(a, (torch.Tensor, Box)):
        return None
    return torch.zeros((), dtype=a.dtype, device=a.device).expand(
        tuple(batch) + tuple(a.shape)
    )


def _lift(fn, ctx, lower, y, args, out):
    """
    Move ctx one level up: each saved input or output is replaced by its boxed
    version.
    """

    def up(s):
        for a_low, a in zip(lower, args):
            if s is a_low:
                return a
        if s is y:
            return out
        if s is None:
            return None
        raise RuntimeError(
            f"{fn.__name__}.forward saved a tensor that is neither an input "
            "nor the output, so its rules cannot be differentiated again "
            "(grad of grad, hessian, hvp). Save only inputs and the output, "
            "and recompute the rest in vjp/jvp with vjplib ops."
        )

    lifted = copy.copy(ctx)
    lifted._saved = tuple(up(s) for s in ctx.saved_tensors)
    return lifted


def forward_on_shapes(fn, args, needs):
    """Run fn.forward on shapes only: each tensor or box in args becomes an
    empty "meta" tensor of its shape and dtype (no data, no arithmetic).

    Returns (ctx, meta_args, meta_y): what forward left in ctx (shapes, dims,
    modes, and which inputs it saved) and the output's shape and dtype.
    ``linearize`` and ``vmap`` use it to get an op's context without running
    its arithmetic; ``_lift(fn, ctx, meta_args, meta_y, args, out)`` then puts
    the real values in place of the saved meta tensors.
    """
    meta = tuple(
        torch.empty(tuple(a.shape), dtype=a.dtype, device="meta")
        if isinstance(a, (torch.Tensor, Box))
        else a
        for a in args
    )
    ctx = Context()
    ctx.needs_input_grad = needs
    return ctx, meta, fn.forward(ctx, *meta)
