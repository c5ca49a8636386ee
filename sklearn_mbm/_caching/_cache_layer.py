"""An in-process layer in front of FusionTransformer's :class:`joblib.Memory`.

A search calls each modality's cached step once per candidate and fold; most
calls are hits, and a disk hit pays joblib's look-up (hashing the arguments,
reading the function's code and the metadata file) and the unpickling of the
output. This layer keeps recent results in memory, keyed by the cache's
location, the step and the same key the disk entry has (a fingerprint of
everything that determines the result, see :mod:`sklearn_mbm._caching._cache`), so it
never reuses a result the disk cache would not.

- **Bounded**: at most ``MAX_ENTRIES`` results and ``MAX_BYTES`` bytes per
  process, least recently used dropped first; a result larger than a quarter
  of ``MAX_BYTES`` is not kept.
- **Follows the disk**: a hit is served only while the disk entry exists, so
  ``memory.clear()`` (or deleting the folder, or joblib's ``reduce_size``)
  empties this layer too.
- **Cannot be poisoned**: arrays are kept as read-only copies and handed out
  as read-only views; anything else (a fitted transformer, a sparse matrix) is
  kept pickled and unpickled afresh for every hit, so a caller changing what
  it got changes nothing here.
- **Threads and processes**: one lock guards the table; a forked child gets a
  new lock (and keeps the entries, which are valid there too); loky and Dask
  workers are separate processes with their own table.
"""

import os
import pickle

import numpy as np

from sklearn_mbm._caching._lru import BoundedLRU

MAX_BYTES = 256 * 2**20
MAX_ENTRIES = 256


class _Frozen:
    """A result kept in the table: read-only arrays and pickled objects."""

    __slots__ = ("parts", "nbytes", "is_tuple")

    def __init__(self, value):
        self.is_tuple = isinstance(value, tuple)
        values = value if self.is_tuple else (value,)
        self.parts = tuple(_freeze(part) for part in values)
        self.nbytes = sum(
            part.nbytes if isinstance(part, np.ndarray) else len(part)
            for part in self.parts
        )

    def thaw(self):
        parts = tuple(
            part.view() if isinstance(part, np.ndarray) else pickle.loads(part)
            for part in self.parts
        )
        return parts if self.is_tuple else parts[0]


def _freeze(value):
    if isinstance(value, np.ndarray) and value.dtype != object:
        value = np.array(value, copy=True, order="K")  # not a memmap, not shared
        value.flags.writeable = False
        return value
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class _ResultTable(BoundedLRU):
    """Thread-safe LRU table of frozen results, bounded in entries and bytes."""

    def __init__(self, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES):
        super().__init__(max_bytes, max_entries)  # key -> (disk call id, _Frozen)

    @staticmethod
    def _entry_bytes(entry):
        return entry[1].nbytes

    def get(self, key):
        with self._lock:
            self._touch(key)
            return self._entries.get(key)

    def put(self, key, call_id, frozen):
        if not self.keeps(frozen.nbytes):
            return
        with self._lock:
            self._store(key, (call_id, frozen))

    def discard(self, key):
        with self._lock:
            self._remove(key)


RESULTS = _ResultTable().process_wide()


def _disk_call_id(memorized, args):
    """joblib's id of the disk entry of ``memorized(*args)``, or None when
    this joblib (or a Memory-like object) does not expose it."""
    try:
        return (memorized.func_id, memorized._get_args_id(*args))
    except (AttributeError, TypeError, ValueError):
        return None


def _on_disk(memory, call_id):
    try:
        return bool(memory.store_backend.contains_item(call_id))
    except (AttributeError, OSError):
        return False


def cached_call(memory, func, ignore, key, *args):
    """``memory.cache(func, ignore=ignore)(key, *args)`` behind the in-process
    table; ``key`` must stand for every argument in ``ignore``.

    Without a key or a cache location, this is the plain (uncached) call.
    """
    location = getattr(memory, "location", None)
    if key is None or location is None:
        return memory.cache(func, ignore=ignore)(key, *args)
    table_key = (os.fspath(location), func.__module__, func.__qualname__, key)
    entry = RESULTS.get(table_key)
    if entry is not None:
        call_id, frozen = entry
        if _on_disk(memory, call_id):
            return frozen.thaw()  # joblib's look-up is not even set up
        RESULTS.discard(table_key)  # cleared on disk: so is it here
    memorized = memory.cache(func, ignore=ignore)
    value = memorized(key, *args)
    call_id = _disk_call_id(memorized, (key, *args))
    if call_id is not None and _on_disk(memory, call_id):
        frozen = _Frozen(value)
        RESULTS.put(table_key, call_id, frozen)
        return frozen.thaw()
    return value
