"""Tests for sklearn_mbm._cache: the per-modality cache keys."""

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from sklearn_mbm._cache import fingerprint


def _images(seed):
    rng = np.random.RandomState(seed)
    return pd.Series(
        [rng.randint(0, 255, (4, 4), dtype=np.uint8) for _ in range(5)], dtype=object
    )


def test_same_values_same_key_whatever_the_index():
    a = _images(0)
    b = _images(0)
    b.index = b.index + 100  # a CV split keeps the original index labels
    assert fingerprint(StandardScaler(), a) == fingerprint(StandardScaler(), b)


def test_any_change_changes_the_key():
    base = fingerprint(StandardScaler(), _images(0), np.arange(5))
    changed_cell = _images(0)
    changed_cell[2] = changed_cell[2].copy()
    changed_cell[2][0, 0] ^= 1
    keys = {
        base,
        fingerprint(StandardScaler(), changed_cell, np.arange(5)),
        fingerprint(StandardScaler(with_mean=False), _images(0), np.arange(5)),
        fingerprint(StandardScaler(), _images(0), np.arange(1, 6)),
        fingerprint(StandardScaler(), _images(0)[::-1], np.arange(5)),
        fingerprint(StandardScaler(), _images(0), None),
    }
    assert len(keys) == 6


def test_dtype_and_shape_are_part_of_the_key():
    zeros = np.zeros(4, dtype=np.float32)
    assert fingerprint("k", zeros) != fingerprint("k", zeros.view(np.int32))
    assert fingerprint("k", zeros.reshape(2, 2)) != fingerprint("k", zeros)


def test_mixed_cells_and_paths(tmp_path):
    path = tmp_path / "clip.wav"
    path.write_bytes(b"first")
    cells = pd.Series([str(path), b"raw", None, np.nan, (np.ones(3), 8000)])
    key = fingerprint("k", cells)
    # file contents are not read: a path is hashed as its text
    path.write_bytes(b"second")
    assert fingerprint("k", cells) == key
    assert fingerprint("k", cells.replace({b"raw": b"RAW"})) != key


def test_text_cells_are_not_confused_by_concatenation():
    assert fingerprint("k", np.array(["ab", "c"], dtype=object)) != fingerprint(
        "k", np.array(["a", "bc"], dtype=object)
    )
