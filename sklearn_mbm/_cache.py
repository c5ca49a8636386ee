"""Cache keys for FusionTransformer's per-modality cache.

A key is a digest of a modality's unfitted transformer (its parameters), its
column's values and ``y``. Columns of cells are hashed cell by cell (array
bytes, text, paths) instead of pickling the whole object column, which is
several times faster for columns of image or waveform arrays. A column of file
paths is hashed as the paths: file contents changing under the same path do
not change the key.
"""

import hashlib

import joblib
import numpy as np


def _update_with_array(digest, array):
    array = np.ascontiguousarray(array)
    digest.update(f"{array.dtype.str}{array.shape}".encode())
    digest.update(array.view(np.uint8).ravel() if array.size else b"")


def _update_with_cells(digest, cells):
    for cell in cells:
        if isinstance(cell, np.ndarray) and cell.dtype != object:
            digest.update(b"A")
            _update_with_array(digest, cell)
        elif isinstance(cell, str):
            digest.update(b"S" + cell.encode("utf-8", "surrogatepass") + b"\0")
        elif isinstance(cell, (bytes, bytearray)):
            digest.update(b"B%d:" % len(cell) + bytes(cell))
        else:  # PIL images, tuples, None, NaN, paths...: joblib's hash
            digest.update(b"O" + joblib.hash(cell).encode())


def _update_with_data(digest, data):
    if data is None:
        digest.update(b"none")
        return
    if hasattr(data, "to_numpy"):  # Series / DataFrame: values, not the index
        data = data.to_numpy()
    data = np.asarray(data) if not isinstance(data, np.ndarray) else data
    if data.dtype == object:
        digest.update(f"object{data.shape}".encode())
        _update_with_cells(digest, data.ravel())
    else:
        _update_with_array(digest, data)


def fingerprint(estimator, *data):
    """Hex digest of an estimator's parameters and of data columns.

    Parameters
    ----------
    estimator : estimator, str or None
        Hashed with :func:`joblib.hash` (an unfitted estimator hashes its
        parameters); a string (an earlier fingerprint) is taken as is.
    *data : array-like, Series, DataFrame or None
        Columns of cells or numeric blocks, hashed by value and order.

    Returns
    -------
    key : str
    """
    digest = hashlib.sha1()
    digest.update(
        estimator.encode()
        if isinstance(estimator, str)
        else joblib.hash(estimator).encode()
    )
    for part in data:
        digest.update(b"|")
        _update_with_data(digest, part)
    return digest.hexdigest()
