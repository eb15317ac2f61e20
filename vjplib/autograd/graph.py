"""``vjplib.autograd.graph``: torch.autograd.graph's hook on saved tensors.

``saved_tensors_hooks(pack_hook, unpack_hook)`` is a context manager: pack
runs when an op saves a tensor for its rules, unpack when a rule reads it
(defined beside ``Context`` in ``function.py``, where tensors are saved).
"""

from ..function import saved_tensors_hooks

__all__ = ["saved_tensors_hooks"]
