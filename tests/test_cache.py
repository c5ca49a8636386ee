"""Tests for sklearn_mbm._caching._cache: the per-modality cache keys."""

import copy
import gc
import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.preprocessing import StandardScaler

from sklearn_mbm._caching import _cache
from sklearn_mbm._caching._cache import fingerprint


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


# --------------------------------------------------------------------------
# issue 14: keys identify what computes the features, one change at a time
# --------------------------------------------------------------------------

from sklearn_mbm import FusionTransformer, TextFeatureExtractor  # noqa: E402

_SOURCE = """
SCALE = {scale}

def helper(n):
    return n * SCALE

def embed(texts, offset={offset}):
    return [[helper(len(t)) + offset, {closure_free}] for t in texts]
"""


def _embed_function(scale=1.0, offset=0.0, constant=1.0):
    """``embed`` with the same name and module each time, built from source so
    that one test can change its code, a default or a global it uses."""
    import sys
    import types

    module = types.ModuleType("user_embeddings")  # importable, so it pickles
    source = _SOURCE.format(scale=scale, offset=offset, closure_free=constant)
    exec(compile(source, "user_embeddings.py", "exec"), module.__dict__)
    sys.modules[module.__name__] = module
    return module.embed


def _closure(factor):
    def embed(texts):
        return [[len(t) * factor, 1.0] for t in texts]

    return embed


def test_callable_parameters_are_keyed_by_what_they_compute():
    texts = np.array(["one", "three", "seven"], dtype=object)

    def key(method):
        return fingerprint(TextFeatureExtractor(method), texts)

    base = key(_embed_function())
    assert key(_embed_function()) == base  # the same code: a hit
    changed = [
        key(_embed_function(constant=2.0)),  # a constant in the code
        key(_embed_function(offset=1.0)),  # a default
        key(_embed_function(scale=3.0)),  # a global the code names
    ]
    assert base not in changed and len(set(changed)) == 3
    assert key(_closure(2.0)) != key(_closure(3.0))  # a closure variable
    assert key(_closure(2.0)) == key(_closure(2.0))


def test_an_analyzer_callable_is_keyed_by_its_code():
    texts = np.array(["one", "three"], dtype=object)
    keys = {
        fingerprint(TextFeatureExtractor(analyzer=_closure(f)), texts)
        for f in (1.0, 2.0)
    }
    assert len(keys) == 2


def test_rows_y_parameters_and_fitted_state_change_the_key():
    texts = np.array(["one two", "three four", "seven"], dtype=object)
    y = np.array([0, 1, 1])
    base = fingerprint(TextFeatureExtractor(), texts, y)
    assert fingerprint(TextFeatureExtractor(), texts[:2], y[:2]) != base
    assert fingerprint(TextFeatureExtractor(), texts, y[::-1]) != base
    assert fingerprint(TextFeatureExtractor(max_features=2), texts, y) != base
    a = TextFeatureExtractor().fit(texts[:2])
    b = TextFeatureExtractor().fit(texts[1:])
    assert fingerprint(a, texts) != fingerprint(b, texts)


def _fusion(memory=None, method="tfidf"):
    return FusionTransformer(
        [("text", TextFeatureExtractor(method), "text")], memory=memory
    )


def _frame(texts):
    return pd.DataFrame({"text": pd.Series(texts, dtype=object)})


TEXTS = ["um seven", "seven please", "eight", "the number is eight", "nine nine"]


def test_memory_set_after_fit_never_shares_outputs(tmp_path):
    # two models fitted on different rows without a cache, then given the
    # same memory: each must get its own features, not the first one's
    X = _frame(TEXTS)
    first = _fusion().fit(X.iloc[:3])
    second = _fusion().fit(X.iloc[2:])
    expected = [first.transform(X), second.transform(X)]
    for model in (first, second):
        model.set_params(memory=str(tmp_path))
    for model, want in zip((first, second), expected):
        np.testing.assert_allclose(model.transform(X), want)


def test_memory_on_a_loaded_model_never_shares_outputs(tmp_path):
    import joblib

    X = _frame(TEXTS)
    paths = []
    for i, rows in enumerate((slice(0, 3), slice(2, None))):
        paths.append(tmp_path / f"model{i}.joblib")
        joblib.dump(_fusion().fit(X.iloc[rows]), paths[-1])
    expected = [joblib.load(p).transform(X) for p in paths]
    for path, want in zip(paths, expected):
        model = joblib.load(path).set_params(memory=str(tmp_path / "cache"))
        np.testing.assert_allclose(model.transform(X), want)


def test_edited_callable_never_gives_stale_features(tmp_path):
    X = _frame(TEXTS)
    old = _fusion(str(tmp_path), _embed_function(scale=1.0)).fit_transform(X)
    new = _fusion(str(tmp_path), _embed_function(scale=5.0)).fit_transform(X)
    fresh = _fusion(None, _embed_function(scale=5.0)).fit_transform(X)
    np.testing.assert_allclose(new, fresh)
    # a fitted model whose callable's global changed (a reloaded session):
    # the cached transform must match the same model without a cache
    model = _fusion(str(tmp_path), _embed_function(scale=1.0)).fit(X)
    before = model.transform(X)
    model.named_transformers_["text"].method.__globals__["SCALE"] = 7.0
    uncached = copy.copy(model).set_params(memory=None)
    after = model.transform(X)
    np.testing.assert_allclose(after, uncached.transform(X))
    assert not np.allclose(after, before)
    assert old.shape == new.shape


def test_array_cells_are_not_confused_by_concatenation():
    # the cells' bytes are hashed back to back; their shapes tell them apart
    a = np.array([np.arange(2.0), np.arange(2.0, 3.0)] + [None], dtype=object)[:2]
    b = np.array([np.arange(1.0), np.arange(1.0, 3.0)] + [None], dtype=object)[:2]
    c = np.array([b"ab", "c"], dtype=object)
    d = np.array(["ab", b"c"], dtype=object)
    assert fingerprint("k", a) != fingerprint("k", b)
    assert fingerprint("k", c) != fingerprint("k", d)
    f = np.asfortranarray(np.arange(6.0).reshape(2, 3))
    cells = np.array([f, None], dtype=object)[:1]
    same = np.array([np.ascontiguousarray(f), None], dtype=object)[:1]
    assert fingerprint("k", cells) == fingerprint("k", same)


@pytest.mark.parametrize(
    "cells",
    [
        [np.arange(3.0), np.arange(4, dtype=np.uint8).reshape(2, 2), np.zeros(0)],
        [np.arange(3.0)] * 2 + [np.arange(2.0)],
        ["a", "héllo", "\ud800 lone surrogate", "", "a"],
    ],
    ids=["arrays", "one array twice", "text"],
)
def test_uniform_columns_are_keyed_as_cell_by_cell(cells):
    # all arrays or all text take a C-speed path: the same bytes as the loop
    column = np.empty(len(cells), dtype=object)
    column[:] = cells
    fast = hashlib.sha1()
    _cache._update_with_cells(fast, column)
    assert fast.digest() == hashlib.sha1(_cache._cell_parts(cells)).digest()
    assert fast.digest() != hashlib.sha1(_cache._cell_parts(cells[::-1])).digest()
    mixed = cells + [None]
    assert _cache.array_cell_tokens(mixed) is None
    assert fingerprint("k", column) == fingerprint("k", copy.deepcopy(column))


# --------------------------------------------------------------------------
# Remembered tokens of array cells (_CellTokens): the same key as hashing
# every byte, for every edit of the frame, in place or not.
# --------------------------------------------------------------------------


class _CountingHashlib:
    """The real hashlib, counting its sha1 calls (one per array cell hashed)."""

    def __init__(self):
        self.sha1_calls = 0

    def __getattr__(self, name):
        return getattr(hashlib, name)

    def sha1(self, *args):
        self.sha1_calls += 1
        return hashlib.sha1(*args)


@pytest.fixture
def cell_tokens(monkeypatch):
    memo = _cache._CellTokens(2**20)
    monkeypatch.setattr(_cache, "CELL_TOKENS", memo)
    counting = _CountingHashlib()
    monkeypatch.setattr(_cache, "hashlib", counting)
    return memo, counting


def _waves(seed=0, n=6):
    rng = np.random.RandomState(seed)
    cells = [rng.normal(size=50).astype(np.float32) for _ in range(n)]
    return pd.DataFrame({"v": pd.Series(cells, dtype=object)})


def _key_hashing_every_byte(column):
    memo = _cache.CELL_TOKENS
    try:
        _cache.CELL_TOKENS = _cache._CellTokens(0)  # remembers nothing
        return fingerprint("k", column)
    finally:
        _cache.CELL_TOKENS = memo


def test_splits_of_a_frame_hash_each_cell_once(cell_tokens):
    memo, counting = cell_tokens
    X = _waves()
    keys = [fingerprint("k", X["v"].iloc[rows]) for rows in ([0, 1, 2], [3, 4, 5])]
    assert counting.sha1_calls == 6 + 2  # 6 cells, and the 2 keys themselves
    assert len(memo) == 6
    # other splits of the same frame: new Series, the same cell objects
    again = [fingerprint("k", X["v"].iloc[rows]) for rows in ([0, 1, 2], [3, 4, 5])]
    whole = fingerprint("k", X["v"])
    assert counting.sha1_calls == 8 + 3  # the keys only
    assert again == keys
    assert whole == _key_hashing_every_byte(X["v"])


@pytest.mark.parametrize(
    "edit", ["value in place", "shape in place", "dtype in place", "cell replaced"]
)
def test_an_edit_of_the_same_frame_changes_the_key(cell_tokens, edit):
    X = _waves()
    before = fingerprint("k", X["v"])
    cell = X["v"].iloc[2]
    if edit == "value in place":
        cell[7] += 1.0
    elif edit == "shape in place":
        cell.shape = (5, 10)
    elif edit == "dtype in place":
        cell.dtype = np.int32  # the same bytes read as other values
    else:
        X.iat[2, 0] = cell.copy()
        X.iat[2, 0][7] += 1.0
    after = fingerprint("k", X["v"])
    assert after != before
    assert after == _key_hashing_every_byte(X["v"])
    assert after == fingerprint("k", copy.deepcopy(X["v"]))  # fresh objects


def test_a_freed_cell_is_forgotten(cell_tokens):
    memo, _ = cell_tokens
    X = _waves(n=4)
    fingerprint("k", X["v"])
    assert len(memo) == 4 and memo.nbytes == 4 * 200
    del X
    gc.collect()
    Y = _waves(seed=1, n=4)  # may reuse the freed cells' addresses
    assert fingerprint("k", Y["v"]) == _key_hashing_every_byte(Y["v"])
    assert len(memo) == 4 and memo.nbytes == 4 * 200  # Y's cells only


def test_remembered_copies_are_bounded():
    memo = _cache._CellTokens(1000)
    cells = [np.full(50, i, dtype=np.float32) for i in range(10)]  # 200 bytes
    tokens = memo.tokens(cells)
    assert memo.nbytes <= 1000 and len(memo) == 5  # the 5 most recent
    assert memo.tokens(cells) == tokens
    assert memo.tokens([np.zeros(100, np.float32)]) and len(memo) <= 5
    memo.tokens([np.zeros(1000, np.uint8)])  # over a quarter: not kept
    assert memo.nbytes <= 1000
    memo.clear()
    assert len(memo) == 0 and memo.nbytes == 0
