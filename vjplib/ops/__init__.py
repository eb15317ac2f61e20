"""The built-in ops, by family, each op's class followed by the function
users call:

- ``elementwise.py``: neg, log, exp, sin, cos, tanh, pow, softplus, recip;
- ``arithmetic.py``: add, sub, mul, div;
- ``shape.py``: broadcast_to, reshape, transpose, flip, movedim;
- ``reductions.py``: sum, cumsum, norm, logsumexp, mean;
- ``linalg.py``: matmul, inv, convolve;
- ``compare.py``: the comparisons > < >= <= == !=, masks & | ^ ~, sign
  (no derivative) and where;
- ``kinks.py``: relu, abs, sqrt, maximum, minimum, clamp, with torch's
  answers at kinks, ties and NaNs;
- ``maxima.py``: amax and max (ties share the cotangent);
- ``base.py``: ``Op``, whose subclasses declare their math, and the helpers
  for operands and dims.

Each class declares its math in the head of its docstring (base.py). Rules
are written with vjplib ops, so they can be differentiated again, and index
dimensions from the right, so a y_bar or x_dot may carry leading batch
dimensions. A linear op names the inputs it is linear in (``linear_in``;
``bilinear``: in one at a time); its transpose rule is its VJP unless it
defines ``transpose``.

Broadcasting follows torch: when a traced value takes part, the functions
first broadcast the operands with ``broadcast_to`` (whose VJP sums the
cotangent back), so the ops' rules only see operands of matching shapes.

Names (``vjplib/__init__.py``): ``convolve`` is ``numpy.convolve``, not
torch's ``conv1d`` (a cross-correlation); ``transpose`` is torch's ``X.mT``.
"""

# The families in reading order, which is also the order of linear_ops():
# isort: off
from . import elementwise, arithmetic, shape, reductions, linalg
from . import compare, kinks, maxima

# isort: on
from .linalg import _convolve  # noqa: F401  (numpy.convolve, for the tests)

_FAMILIES = (elementwise, arithmetic, shape, reductions, linalg)
_FAMILIES += (compare, kinks, maxima)

# ops.Exp, ops.exp, …: every class and function the families define. The
# functions are the ones users call, and vjplib exports them (``__all__``).
__all__ = []
for _family in _FAMILIES:
    for _name, _value in vars(_family).items():
        _ours = getattr(_value, "__module__", "").startswith(__name__)
        if _name.startswith("_") or not _ours:
            continue
        globals()[_name] = _value
        if not isinstance(_value, type) and _name not in __all__:
            __all__.append(_name)
