"""vjplib: a small reverse- and forward-mode autodiff library with torch's
names.

Read it in this order (about 5,900 lines, 3,600 of them code: an
afternoon):

1. ``function.py``: what an op is (``Function``: forward, vjp, jvp, and a
   linear op's transpose, which is its vjp unless it says otherwise), and
   ``_apply``, the one dispatch: an op goes to the trace of its highest
   box (``top.trace.process``), or runs when no box takes part.
2. ``ops/``: the ops by family, each class followed by its function, each
   declaring its formula, its VJP rule and its JVP rule (``elementwise``,
   ``arithmetic``, ``shape``, ``reductions``, ``linalg``; ``compare``,
   ``kinks`` and ``maxima``: what the rules return at kinks, ties and NaNs,
   as torch's).
3. ``box.py``: the five traces (vjp, jvp, eager, vmap, linear) and how nested
   transformations keep apart; ``Trace.process``, the dispatch every trace
   answers.
4. ``graph.py``: reverse mode: the vjp trace, the recorded graph, the one
   backward walk (``backward``, which applies each node's vjp, or a linear
   op's transpose, with an optional observer) and the one replay.
5. ``dual.py``: forward mode (the jvp trace).
6. ``transforms.py``: vjp, grad, jvp, jacrev, jacfwd, hessian, hvp, ….
7. ``linearize.py``: reverse mode from forward mode (linearize, then
   transpose, with the same walk); ``vmap.py``: batching rules.
8. ``custom.py``: your own rule, JAX's way (custom_jvp, custom_vjp).
9. ``tensor.py``: the eager face (``vjplib.tensor``, ``.backward()``,
   ``.grad``) on the same graph and walk; ``autograd/``
   (``vjplib.autograd.grad``, and ``autograd.graph.saved_tensors_hooks``
   with torch's meaning).
10. ``memory.py`` (the one memory meter, through saved_tensors_hooks, for
    vjplib and torch alike) and ``checks.py`` (how we know it is right).

Names and errors: torch's names keep torch's meaning; where vjplib's op
differs it takes numpy's name (``convolve``). Where torch has the same
function, vjplib's errors follow torch's class and key words, then say
vjplib's way out; where torch accepts something vjplib does not, vjplib
refuses with a TypeError or ValueError that names the way out.
"""

# ruff: noqa: F401  (this module gathers the names users call)
from . import autograd, memory
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
from .ops import *  # noqa: F403  (the ops users call: ops/__init__.py)
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
