"""``vjplib.autograd.grad``: torch.autograd.grad on the eager face.

``loss.backward()`` *adds* the gradient into every leaf's ``.grad``;
``grad(outputs, inputs)`` *returns* the cotangents of the `inputs` you name
(leaves or not) and touches no ``.grad``. It is the same walk, with the same
bookkeeping (tensor.py), seeded with ``grad_outputs``: the VJP Jᵀ ȳ of
``vjplib.vjp``. ``graph.py`` holds torch's hook on saved tensors.
"""

import torch

from ..tensor import (
    NO_GRAD_FN,
    Tensor,
    _cotangent,
    _GradMode,
    _plain,
    _run_hooks,
    _walk,
    _wrap,
)
from . import graph

__all__ = ["grad", "graph"]


def _as_tuple(x):
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def grad(
    outputs,
    inputs,
    grad_outputs=None,
    retain_graph=None,
    create_graph=False,
    only_inputs=True,
    allow_unused=None,
    is_grads_batched=False,
    materialize_grads=False,
):
    """The sum over `outputs` of Jᵀ grad_output, one entry per input: a
    tuple of Tensors (None for an input the outputs do not use, when
    ``allow_unused=True``; zeros with ``materialize_grads=True``).

    The arguments are torch.autograd.grad's (``retain_graph`` and
    ``create_graph`` as in ``Tensor.backward``; `grad_outputs` None: 1 for a
    one-element output). ``is_grads_batched`` is refused (use
    ``vjplib.vmap`` of ``vjplib.vjp``); ``only_inputs`` is ignored, as torch
    ignores it.
    """
    if is_grads_batched:
        raise NotImplementedError(
            "vjplib.autograd.grad: is_grads_batched=True is not supported; "
            "for a batch of cotangents use vjplib.vmap over the vjp_fn of "
            "vjplib.vjp"
        )
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when "
            "materialize_grads=True, but got: allow_unused=False."
        )
    allow_unused = materialize_grads if allow_unused is None else allow_unused
    outputs, inputs = _as_tuple(outputs), _as_tuple(inputs)
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    grad_outputs = _as_tuple(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise RuntimeError(
            f"grad requires one grad_output per output: got "
            f"{len(grad_outputs)} grad_outputs for {len(outputs)} outputs"
        )
    for i, o in enumerate(outputs):
        if not (isinstance(o, Tensor) and o.requires_grad):
            raise RuntimeError(NO_GRAD_FN.format(i=i))
    for x in inputs:
        if not isinstance(x, Tensor):
            raise TypeError(
                "vjplib.autograd.grad: inputs must be vjplib Tensors, got "
                f"{type(x).__name__}"
            )
        if not x.requires_grad:
            raise RuntimeError(
                "One of the differentiated Tensors does not require grad: "
                "make it with requires_grad=True, before computing the "
                "outputs from it"
            )
    y_bars = [
        _cotangent(o, g, create_graph) for o, g in zip(outputs, grad_outputs)
    ]
    retain_graph = create_graph if retain_graph is None else retain_graph
    nodes = [x.node for x in inputs]
    x_bars = _walk(outputs, y_bars, nodes, retain_graph, create_graph)
    result = []
    with _GradMode(create_graph):
        for i, (x, node, x_bar) in enumerate(zip(inputs, nodes, x_bars)):
            if x_bar is not None and node.fn is None:  # a leaf's hooks
                x_bar = _run_hooks(node, x_bar, create_graph)
            if x_bar is None:
                if not allow_unused:
                    raise RuntimeError(
                        f"The differentiated Tensor at index {i} appears to "
                        "not have been used in the graph. Set "
                        "allow_unused=True if this is the desired behavior."
                    )
                if materialize_grads:
                    x_bar = torch.zeros_like(x.primal)
            elif not create_graph:
                x_bar = _plain(x_bar)
            result.append(None if x_bar is None else _wrap(x_bar))
    return tuple(result)
