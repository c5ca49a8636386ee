"""A thread-safe least-recently-used table bounded in bytes (and entries).

The base of the two process-wide tables of the cache: the tokens of array
cells (:class:`sklearn_mbm._caching._cache._CellTokens`) and the in-process results
(:class:`sklearn_mbm._caching._cache_layer._ResultTable`). Subclasses say how many bytes
an entry holds (:meth:`BoundedLRU._entry_bytes`) and write their look-ups
under ``self._lock`` with :meth:`_store`, :meth:`_remove` and :meth:`_touch`.
"""

import os
import threading
from collections import OrderedDict


class BoundedLRU:
    """Entries by key, least recently used dropped first once there are more
    than ``max_entries`` (None: no limit) or more than ``max_bytes`` bytes;
    an entry larger than a quarter of ``max_bytes`` is not kept, and
    ``max_bytes=0`` keeps nothing."""

    def __init__(self, max_bytes, max_entries=None):
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    @staticmethod
    def _entry_bytes(entry):
        raise NotImplementedError

    def keeps(self, nbytes):
        """Whether an entry of ``nbytes`` bytes may be kept at all."""
        return bool(self.max_bytes) and nbytes <= self.max_bytes // 4

    def _store(self, key, entry):
        """Add or replace ``key``, then drop the oldest entries over the bounds
        (the caller holds the lock)."""
        self._remove(key)
        self._entries[key] = entry
        self._nbytes += self._entry_bytes(entry)
        while self._entries and (
            self._nbytes > self.max_bytes
            or (self.max_entries is not None and len(self._entries) > self.max_entries)
        ):
            _, dropped = self._entries.popitem(last=False)
            self._nbytes -= self._entry_bytes(dropped)

    def _remove(self, key, when=None):
        """Drop ``key`` (only if ``when(entry)`` holds, when given; the caller
        holds the lock)."""
        entry = self._entries.get(key)
        if entry is not None and (when is None or when(entry)):
            del self._entries[key]
            self._nbytes -= self._entry_bytes(entry)

    def _touch(self, key):
        """Mark ``key`` as just used, if present (the caller holds the lock)."""
        if key in self._entries:
            self._entries.move_to_end(key)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._nbytes = 0

    def __len__(self):
        return len(self._entries)

    @property
    def nbytes(self):
        return self._nbytes

    def _after_fork(self):
        self._lock = threading.Lock()  # the parent's may be held by a thread

    def process_wide(self):
        """Register this table as one per process (a forked child keeps the
        entries, valid there too, with a new lock) and return it."""
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)
        return self
