"""Tests for sklearn_mbm._caching._cache_layer: the in-process layer in front of the
disk cache. It must serve exactly what the disk cache would: every change to
the rows, y, a parameter, the fitted state or the input (even in place) misses."""

import multiprocessing
import threading
from collections import Counter

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator, TransformerMixin, clone

from sklearn_mbm import FusionTransformer
from sklearn_mbm._caching._cache_layer import (
    RESULTS,
    _Frozen,
    _ResultTable,
    cached_call,
)

CALLS = Counter()


class SumExtractor(TransformerMixin, BaseEstimator):
    """Features of a column of small arrays: each cell's sum and the sum
    scaled by ``factor`` and by the training mean (so the fitted state and y
    matter); counts its calls (a hit skips the call)."""

    def __init__(self, factor=1.0):
        self.factor = factor

    def fit(self, X, y=None):
        CALLS["fit"] += 1
        sums = np.array([np.sum(cell) for cell in X], dtype=float)
        self.mean_ = sums.mean() + (0.0 if y is None else float(np.mean(y)))
        return self

    def transform(self, X):
        CALLS["transform"] += 1
        sums = np.array([np.sum(cell) for cell in X], dtype=float)
        return np.column_stack([sums, self.factor * sums, sums - self.mean_])


@pytest.fixture(autouse=True)
def _fresh_table():
    CALLS.clear()
    RESULTS.clear()
    yield
    RESULTS.clear()


def _frame(seed=0, n=6):
    rng = np.random.RandomState(seed)
    cells = [rng.normal(size=4) for _ in range(n)]
    return pd.DataFrame({"v": pd.Series(cells, dtype=object)})


def _fusion(memory, factor=1.0):
    return FusionTransformer([("v", SumExtractor(factor), "v")], memory=memory)


def _uncached(X, y=None, factor=1.0):
    return _fusion(None, factor).fit_transform(X, y)


def test_second_fit_is_an_in_process_hit(tmp_path):
    X, y = _frame(), np.arange(6)
    first = _fusion(str(tmp_path)).fit_transform(X, y)
    assert len(RESULTS) == 1 and CALLS["fit"] == 1
    # spoil the disk entry's output (the entry still exists): a disk load
    # would fail and recompute, the in-process hit does not read it
    (output,) = tmp_path.rglob("output.pkl")
    output.write_bytes(b"not a pickle")
    second = _fusion(str(tmp_path)).fit_transform(X, y)
    assert CALLS["fit"] == 1
    assert_array_equal(first, second)
    assert_array_equal(second, _uncached(X, y))


@pytest.mark.parametrize(
    "change",
    ["rows", "y", "parameter", "cell mutated in place", "cell replaced"],
)
def test_every_change_misses(tmp_path, change):
    X, y, factor = _frame(), np.arange(6), 1.0
    _fusion(str(tmp_path)).fit_transform(X, y)
    if change == "rows":
        X, y = X.iloc[1:], y[1:]
    elif change == "y":
        y = y[::-1].copy()
    elif change == "parameter":
        factor = 2.0
    elif change == "cell mutated in place":
        cell = X["v"].iloc[2]
        cell[1] += 1.0  # the same array object, another value
        assert X["v"].iloc[2] is cell
    else:
        X = X.copy()
        X.iat[2, 0] = X["v"].iloc[2] + 1.0
    calls = CALLS["fit"]
    got = _fusion(str(tmp_path), factor).fit_transform(X, y)
    assert CALLS["fit"] == calls + 1
    assert_array_equal(got, _uncached(X, y, factor))


def test_transform_of_another_fitted_state_misses(tmp_path):
    X = _frame(n=8)
    first = _fusion(str(tmp_path)).fit(X.iloc[:4])
    second = _fusion(str(tmp_path)).fit(X.iloc[4:])
    out = [first.transform(X), second.transform(X)]
    assert CALLS["transform"] == 4  # 2 fits' own rows + 2 transforms of X
    assert not np.allclose(out[0], out[1])
    for model, want in zip((first, second), out):
        assert_array_equal(model.transform(X), want)  # hits, each its own
    assert CALLS["transform"] == 4
    assert_array_equal(out[1], _fusion(None).fit(X.iloc[4:]).transform(X))


def test_transform_of_a_mutated_input_misses(tmp_path):
    X = _frame()
    model = _fusion(str(tmp_path)).fit(X)
    before = model.transform(X)
    X["v"].iloc[0][:] = 100.0
    after = model.transform(X)
    assert_array_equal(after, _fusion(None).fit(_frame()).transform(X))
    assert not np.allclose(before, after)


def test_results_are_the_same_with_and_without_the_layer(tmp_path, monkeypatch):
    X, y = _frame(n=9), np.arange(9) % 3
    with_layer = [_fusion(str(tmp_path)).fit(X, y) for _ in range(2)]
    monkeypatch.setattr(RESULTS, "max_bytes", 0)  # nothing kept: disk only
    RESULTS.clear()
    disk_only = [_fusion(str(tmp_path)).fit(X, y) for _ in range(2)]
    assert len(RESULTS) == 0
    for a, b in zip(with_layer, disk_only):
        assert_array_equal(a.transform(X), b.transform(X))
        assert_array_equal(a.transform(X), _fusion(None).fit(X, y).transform(X))


def test_outputs_are_read_only_and_fitted_objects_are_fresh_copies(tmp_path):
    memory = joblib.Memory(tmp_path, verbose=0)
    X, y = _frame()["v"], np.arange(6)

    def step(key, transformer, X, y):
        return transformer.fit(X, y), transformer.transform(X)

    ignored = ["transformer", "X", "y"]
    fitted, Xt = cached_call(memory, step, ignored, "k", SumExtractor(), X, y)
    with pytest.raises(ValueError, match="read-only"):
        Xt[0, 0] = -1.0
    fitted.mean_ = -1.0  # a caller changing what it got
    again, Xt_again = cached_call(memory, step, ignored, "k", None, X, y)
    assert again is not fitted and again.mean_ != -1.0
    assert_array_equal(Xt_again, Xt)
    assert CALLS["fit"] == 1


def test_clearing_the_disk_cache_clears_the_layer(tmp_path):
    memory = joblib.Memory(tmp_path, verbose=0)
    X = _frame()
    _fusion(memory).fit_transform(X)
    memory.clear(warn=False)
    _fusion(memory).fit_transform(X)
    assert CALLS["fit"] == 2


def test_entries_are_keyed_by_location(tmp_path):
    X = _frame()
    _fusion(str(tmp_path / "a")).fit_transform(X)
    _fusion(str(tmp_path / "b")).fit_transform(X)
    assert CALLS["fit"] == 2 and len(RESULTS) == 2


def test_table_is_bounded_in_entries_and_bytes():
    table = _ResultTable(max_entries=3, max_bytes=4000)
    for i in range(5):
        table.put(i, None, _Frozen(np.zeros(10)))  # 80 bytes each
    assert len(table) == 3 and table.get(0) is None and table.get(4) is not None
    table.get(2)  # recently used: kept
    table.put("big", None, _Frozen(np.zeros(300)))  # 2,400 bytes: over a quarter
    assert table.get("big") is None
    table.put("mid", None, _Frozen(np.zeros(120)))  # 960 bytes
    assert len(table) == 3 and table.get(2) is not None and table.get(3) is None
    assert table.nbytes <= 4000


def test_threads_share_the_table_safely(tmp_path):
    X, y = _frame(n=12), np.arange(12)
    want = _uncached(X, y)
    errors, outputs = [], []

    def work():
        try:
            for _ in range(5):
                outputs.append(_fusion(str(tmp_path)).fit_transform(X, y))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(outputs) == 20
    for out in outputs:
        assert_array_equal(out, want)


def _child_transform(args):
    location, X, y = args
    return _fusion(location).fit_transform(X, y)


def test_a_child_process_gets_the_same_results(tmp_path):
    X, y = _frame(), np.arange(6)
    parent = _fusion(str(tmp_path)).fit_transform(X, y)  # fills the table
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with context.Pool(1) as pool:
        child = pool.map(_child_transform, [(str(tmp_path), X, y)])[0]
    assert_array_equal(child, parent)


def test_clone_keeps_no_table_state(tmp_path):
    fusion = _fusion(str(tmp_path))
    fusion.fit_transform(_frame())
    assert clone(fusion).get_params()["memory"] == str(tmp_path)
