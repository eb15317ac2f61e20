"""vjplib: a small reverse- and forward-mode autodiff library with torch's
names.

Read it in this order: ``function.py`` (what an op is), ``ops.py`` (the ops,
each with f, its VJP and its JVP), ``graph.py`` (the recorded graph and the
backward pass), ``dual.py`` (forward mode), ``box.py`` (how nested
transformations keep apart), ``transforms.py`` (vjp, grad, jvp, jacrev, …) and
``checks.py`` (how we know it is right); ``nonsmooth.py`` (relu, abs,
sqrt, where, max, clamp and the comparisons: what the rules return at
kinks, ties and NaNs, as torch's); ``linearize.py`` (reverse mode from
forward mode: linearize, then transpose) and ``vmap.py`` (batching
rules); ``custom.py`` (your own rule, JAX's way: custom_jvp, custom_vjp);
then ``tensor.py``, the eager face (``vjplib.tensor``, ``.backward()``,
``.grad``) on the same graph, and ``autograd.py``
(``vjplib.autograd.grad``, which returns what backward() accumulates).
"""

from . import (
    autograd,  # vjplib.autograd.grad: torch.autograd.grad
    memory,  # the memory meter, through saved_tensors_hooks
)
from .box import Box
from .checks import (
    assert_close,
    check_against_torch,
    check_jacobians,
    dot_product_test,
    eager_graph_bytes,
    graph_bytes,
    torch_graph_bytes,
)
from .custom import custom_jvp, custom_vjp
from .dual import Dual
from .function import Context, Function
from .graph import Node, Traced, backward, format_graph, print_graph, toposort
from .linearize import (
    LinearProgram,
    linear_ops,
    linear_program,
    linear_transpose,
    linearize,
)
from .nonsmooth import (
    abs,
    amax,
    clamp,
    eq,
    ge,
    gt,
    le,
    logsumexp,
    lt,
    max,
    maximum,
    mean,
    minimum,
    ne,
    relu,
    sqrt,
    where,
)
from .ops import (
    add,
    broadcast_to,
    conv1d,
    cos,
    cumsum,
    div,
    exp,
    flip,
    inv,
    log,
    matmul,
    movedim,
    mul,
    neg,
    norm,
    pow,
    reshape,
    sin,
    softplus,
    sub,
    sum,
    tanh,
    transpose,
)
from .tensor import Tensor, enable_grad, is_grad_enabled, no_grad, tensor
from .transforms import (
    grad,
    hessian,
    hvp,
    jacfwd,
    jacfwd_loop,
    jacobian_fd,
    jacrev,
    jacrev_loop,
    jvp,
    value_and_grad,
    vjp,
)
from .vmap import vmap

__all__ = [
    "Function",
    "Context",
    "Dual",
    "Traced",
    "Node",
    "Box",
    "inv",
    "norm",
    "log",
    "exp",
    "sin",
    "cos",
    "tanh",
    "softplus",
    "sum",
    "cumsum",
    "flip",
    "conv1d",
    "transpose",
    "matmul",
    "movedim",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "reshape",
    "broadcast_to",
    "relu",
    "abs",
    "sqrt",
    "where",
    "maximum",
    "minimum",
    "amax",
    "max",
    "clamp",
    "logsumexp",
    "mean",
    "gt",
    "lt",
    "ge",
    "le",
    "eq",
    "ne",
    "vjp",
    "grad",
    "value_and_grad",
    "jvp",
    "jacrev",
    "jacfwd",
    "jacrev_loop",
    "jacfwd_loop",
    "hessian",
    "linearize",
    "linear_transpose",
    "linear_program",
    "linear_ops",
    "LinearProgram",
    "vmap",
    "hvp",
    "jacobian_fd",
    "toposort",
    "backward",
    "format_graph",
    "print_graph",
    "assert_close",
    "dot_product_test",
    "check_against_torch",
    "check_jacobians",
    "graph_bytes",
    "torch_graph_bytes",
    "eager_graph_bytes",
    "Tensor",
    "tensor",
    "no_grad",
    "enable_grad",
    "is_grad_enabled",
    "autograd",
    "memory",
    "custom_jvp",
    "custom_vjp",
]
