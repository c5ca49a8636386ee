"""Rows of features reused across the folds of a cached search.

A k-fold search fits each modality's extractor once per fold and transforms
the fold's training and test rows: every record is extracted k times, where
features computed beforehand extract it once. For an extractor whose row of
features is a function of its own cell and of its fitted state alone, bit for
bit, whatever the other cells of the call (``_rows_are_independent``: the
audio extractor, the image extractor on raw pixels), and whose fit reads
nothing that differs between folds, each later fold finds every one of its
rows already computed.

- **Keyed on what determines a row**: the fitted extractor (its parameters and
  fitted state, hashed as the cache hashes estimators, callables by their
  code) and the cell's token (:func:`sklearn_mbm._caching._cache.array_cell_tokens`:
  dtype, shape and bytes). Only columns of in-memory arrays take part: a file
  path is hashed as the path, and the file may have changed.
- **All or nothing**: rows are served only when every row of the call is
  known, so a call either reads no cell or runs the extractor on all of them,
  as it would without a cache (bad cells raise or warn with their own index;
  their NaN rows are never kept).
- **Bounded**: at most ``MAX_BYTES`` per process, least recently used rows
  dropped first (the rows of a call over a quarter of it are not kept); rows
  are kept as read-only copies and handed out as a new array.

FusionTransformer calls it only when it has a cache location.
"""

import numpy as np

from sklearn_mbm._caching._cache import array_cell_tokens, estimator_token
from sklearn_mbm._caching._lru import BoundedLRU

MAX_BYTES = 128 * 2**20


class _RowTable(BoundedLRU):
    """Thread-safe LRU table of read-only rows, bounded in bytes."""

    @staticmethod
    def _entry_bytes(entry):
        return entry.nbytes

    def get_all(self, keys):
        """The rows of ``keys``, or None unless every one is known."""
        with self._lock:
            rows = list(map(self._entries.get, keys))
            if any(row is None for row in rows):
                return None
            for key in keys:
                self._touch(key)
        return rows

    def put_all(self, keys, block):
        """Keep a copy of each finite row of ``block`` under its key."""
        if not self.keeps(block.nbytes):
            return
        finite = np.isfinite(block).all(axis=1)
        rows = []
        for key, row, ok in zip(keys, block, finite):
            if ok:
                row = row.copy()  # its own memory: dropped with its entry
                row.flags.writeable = False
                rows.append((key, row))
        with self._lock:
            for key, row in rows:
                self._store(key, row)


ROWS = _RowTable(MAX_BYTES).process_wide()


def rows_are_independent(transformer):
    """Whether ``transformer`` declares its rows functions of their own cells."""
    declared = getattr(transformer, "_rows_are_independent", None)
    return bool(declared()) if callable(declared) else False


def _cell_list(X):
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 2) == 1:
        X = X.to_numpy()
    if isinstance(X, np.ndarray) and X.ndim == 1 and X.dtype == object:
        return X.tolist()
    return None


def transform(transformer, X):
    """``transformer.transform(X)``, its rows reused from earlier calls.

    The rows are served when ``transformer`` declares them independent
    (:func:`rows_are_independent`), ``X`` is a 1-D column of in-memory arrays
    and every one of its rows is known for this fitted state; otherwise the
    transformer runs and its finite rows are kept for later calls.
    """
    cells = _cell_list(X) if rows_are_independent(transformer) else None
    tokens = None if cells is None else array_cell_tokens(cells)
    if tokens is None:
        return transformer.transform(X)
    state = estimator_token(transformer)
    keys = [(state, token) for token in tokens]
    rows = ROWS.get_all(keys)
    if rows is not None:
        return np.stack(rows)
    Xt = transformer.transform(X)
    if isinstance(Xt, np.ndarray) and Xt.ndim == 2 and len(Xt) == len(keys):
        ROWS.put_all(keys, Xt)
    return Xt
