"""The memory meter: the bytes a recorded graph keeps, measured the same way
for vjplib and for torch, through each library's ``saved_tensors_hooks``.

``SavedBytes`` counts the tensors ops save while it runs, each storage once
(a W saved by every layer counts once), for as long as the graph keeps them;
``kept_bytes(make)``, what the result of ``make()`` keeps alive.

Only saves are seen (a tensor a Python variable holds is not), so the meter
measures the graph, not the program; and it reads no engine internals, so it
cannot drift from what the engine does. It lives in vjplib, beside the hook
it uses, because the tests of the library measure graphs with it too; the
book's chapters call it by name.
"""

import gc
import weakref

import torch

from .autograd.graph import saved_tensors_hooks

__all__ = ["SavedBytes", "kept_bytes"]


def _storage(t):
    """(address, bytes) of the storage behind t (a torch tensor, or a
    vjplib value wrapping one), or None when it has none of its own (a
    torch.func wrapper)."""
    while not isinstance(t, torch.Tensor):
        t = t.primal
    try:
        s = t.untyped_storage()
    except (NotImplementedError, RuntimeError):
        return None
    return s.data_ptr(), s.nbytes()


class _Packet:
    """What the pack hook gives the graph to keep: the saved tensor and its
    storage. The meter holds it weakly, so it counts while the graph does."""

    __slots__ = ("tensor", "storage", "__weakref__")

    def __init__(self, tensor):
        self.tensor, self.storage = tensor, _storage(tensor)


def _unpack(packet):
    return packet.tensor


class SavedBytes:
    """Bytes held by the tensors graphs saved while a ``with`` block runs
    (``current``; ``peak``: the largest ``current`` after any save).

    >>> import vjplib
    >>> with SavedBytes() as meter:
    ...     _ = vjplib.grad(lambda x: vjplib.sum(vjplib.exp(x)))(
    ...         torch.ones(4))
    >>> meter.peak                  # exp keeps its output: 4 float64 numbers
    32

    ``ignore``: storages (addresses) not to count, e.g. those that existed
    before. Meters nest (each sees the saves of its own block, as torch's
    innermost hooks do; an outer meter does not see an inner one's).
    """

    def __init__(self, ignore=()):
        self.ignore = set(ignore)
        self.peak = 0

    def _pack(self, t):
        packet = _Packet(t)
        self._live.add(packet)
        self.peak = max(self.peak, self.current)
        return packet

    @property
    def current(self):
        """Bytes held right now by live saved tensors, each storage once."""
        storages = dict(p.storage for p in list(self._live) if p.storage)
        return sum(n for ptr, n in storages.items() if ptr not in self.ignore)

    def __enter__(self):
        self._live = weakref.WeakSet()
        self._hooks = (
            saved_tensors_hooks(self._pack, _unpack),
            torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack),
        )
        for h in self._hooks:
            h.__enter__()
        return self

    def __exit__(self, *exc):
        for h in reversed(self._hooks):
            h.__exit__(*exc)
        return False


def _live_storages():
    """The addresses of the storages of every tensor alive in Python now."""
    gc.collect()
    live = set()
    for obj in gc.get_objects():
        if issubclass(type(obj), torch.Tensor):  # no isinstance: no hooks
            s = _storage(obj)
            if s is not None:
                live.add(s[0])
    return live


def _outputs(result):
    """The tensors of make()'s result: itself, or the items of a tuple."""
    items = result if isinstance(result, (tuple, list)) else (result,)
    return [r for r in items if isinstance(r, torch.Tensor) or _wraps(r)]


def _wraps(r):
    return isinstance(getattr(r, "primal", None), torch.Tensor)


def kept_bytes(make):
    """Bytes the result of ``make()`` keeps alive: what its graph saved and
    still holds, and the result's own tensors (or a tuple's, such as vjp's
    ``(y, vjp_fn)``), each storage once and none that existed before the
    call. The same for either library::

        kept_bytes(lambda: vjplib.vjp(f, X))          # vjplib's graph
        kept_bytes(lambda: f_torch(X.requires_grad_()))   # torch's
    """
    before = _live_storages()
    with SavedBytes(ignore=before) as meter:
        result = make()
    gc.collect()  # a graph dropped in a reference cycle is gone, not kept
    outputs = dict(
        s for s in map(_storage, _outputs(result)) if s and s[0] not in before
    )
    saved = dict(p.storage for p in list(meter._live) if p.storage)
    del result
    return sum(
        n for ptr, n in {**saved, **outputs}.items() if ptr not in before
    )
