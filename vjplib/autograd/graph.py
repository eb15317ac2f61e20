"""``vjplib.autograd.graph``: torch.autograd.graph's hook on saved tensors.

``saved_tensors_hooks`` is defined beside ``Context`` in ``function.py``,
where tensors are saved.
"""

from ..function import saved_tensors_hooks

__all__ = ["saved_tensors_hooks"]
