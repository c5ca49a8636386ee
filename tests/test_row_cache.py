"""Tests for sklearn_mbm._caching._row_cache: rows reused across the folds of a
cached search, never a different result."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)
from sklearn_mbm._caching import _row_cache
from sklearn_mbm._io import CellLoadWarning

NAMES = ["image", "audio", "text"]


class CountingAudio(AudioFeatureExtractor):
    """The real audio extractor, counting the clips it extracts."""

    rows_extracted = 0

    def _transform(self, cells):
        type(self).rows_extracted += len(cells)
        return super()._transform(cells)


class CountingPixels(ImageFeatureExtractor):
    rows_extracted = 0

    def _transform(self, cells):
        type(self).rows_extracted += len(cells)
        return super()._transform(cells)


@pytest.fixture
def rows(monkeypatch):
    """A fresh process-wide row table for each test, and fresh counters."""
    table = _row_cache._RowTable(_row_cache.MAX_BYTES)
    monkeypatch.setattr(_row_cache, "ROWS", table)
    CountingAudio.rows_extracted = CountingPixels.rows_extracted = 0
    return table


@pytest.fixture(scope="module")
def sample():
    data = load_av_digits()
    keep = np.flatnonzero(data.data["speaker"].isin(["george", "jackson", "lucas"]))
    keep = keep[::3]  # 100 records of 3 speakers
    return data.data.iloc[keep], data.target[keep]


def _search(memory, X, y):
    fusion = FusionTransformer(
        [
            ("image", CountingPixels("pixels"), "image"),
            ("audio", CountingAudio(sr=8000, input_sr=8000), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
        memory=memory,
    )
    search = GridSearchCV(
        Pipeline([("fusion", fusion), ("clf", RidgeClassifier())]),
        {"fusion__weights": fusion_weight_grid(NAMES, values=(0, 1))},
        cv=GroupKFold(n_splits=3),
        error_score="raise",
    )
    return search.fit(X, y, groups=X["speaker"])


def test_a_cached_search_extracts_each_record_once(rows, sample, tmp_path):
    X, y = sample
    cached = _search(str(tmp_path / "cache"), X, y)
    # fold 1 extracts its training and test rows, i.e. every record; the
    # other folds and the refit on all rows find theirs
    assert CountingAudio.rows_extracted == len(X)
    assert CountingPixels.rows_extracted == len(X)
    assert len(rows) == 2 * len(X)

    CountingAudio.rows_extracted = 0
    plain = _search(None, X, y)
    k = len(fusion_weight_grid(NAMES, values=(0, 1)))
    # each candidate and fold extracts its training and test rows; the refit all
    assert CountingAudio.rows_extracted == (k * 3 + 1) * len(X)
    for key in ("mean_test_score", "split0_test_score", "split2_test_score"):
        np.testing.assert_array_equal(cached.cv_results_[key], plain.cv_results_[key])
    np.testing.assert_array_equal(
        cached.best_estimator_.decision_function(X),
        plain.best_estimator_.decision_function(X),
    )


def test_no_cache_location_reuses_nothing(rows, sample):
    X, y = sample
    fusion = FusionTransformer(
        [("audio", CountingAudio(sr=8000, input_sr=8000), "audio")], memory=None
    )
    fusion.fit_transform(X, y)
    fusion.transform(X)
    assert CountingAudio.rows_extracted == 2 * len(X) and len(rows) == 0


def _fitted_audio(cells, **params):
    # default output: the fusion's internal steps use it whatever the global
    # set_output setting (the suite also runs under transform_output="pandas")
    extractor = CountingAudio(sr=8000, input_sr=8000, **params)
    return extractor.set_output(transform="default").fit(cells)


def test_the_same_cells_and_fitted_state_are_reused_exactly(rows, sample):
    cells = sample[0]["audio"].iloc[:12]
    extractor = _fitted_audio(cells)
    first = _row_cache.transform(extractor, cells)
    assert CountingAudio.rows_extracted == 12 and len(rows) == 12
    # another split of the same frame, in another order: no clip is read
    again = _row_cache.transform(_fitted_audio(cells), cells.iloc[::-1])
    assert CountingAudio.rows_extracted == 12
    np.testing.assert_array_equal(again, first[::-1])
    np.testing.assert_array_equal(again, extractor.transform(cells.iloc[::-1]))
    again[:] = 0.0  # the caller's own array
    np.testing.assert_array_equal(_row_cache.transform(extractor, cells), first)


@pytest.mark.parametrize(
    "change", ["cell edited in place", "new cell", "parameter", "fitted state"]
)
def test_what_determines_a_row_is_in_its_key(rows, sample, change):
    cells = sample[0]["audio"].iloc[:6].map(np.copy)  # ours to edit
    extractor = _fitted_audio(cells)
    before = _row_cache.transform(extractor, cells)
    CountingAudio.rows_extracted = 0
    if change == "cell edited in place":
        cells.iloc[2][100:200] *= 0.5
    elif change == "new cell":
        cells = pd.concat([cells, sample[0]["audio"].iloc[[40]]])
    elif change == "parameter":
        extractor = _fitted_audio(cells, n_mfcc=12)
    else:  # the same parameters, another fitted state
        extractor.hop_length_ += 1
    after = _row_cache.transform(extractor, cells)
    assert CountingAudio.rows_extracted == len(cells)  # all or nothing
    np.testing.assert_array_equal(after, extractor.transform(cells))
    if change == "cell edited in place":
        assert not np.array_equal(after[2], before[2])
        np.testing.assert_array_equal(after[[0, 1, 3, 4, 5]], before[[0, 1, 3, 4, 5]])


def test_pixels_fitted_on_another_first_image_miss(rows):
    small = [np.full((4, 4), i, np.uint8) for i in range(5)]
    large = [np.full((6, 6), 9, np.uint8)] + small
    a = CountingPixels("pixels").set_output(transform="default").fit(small)
    b = CountingPixels("pixels").set_output(transform="default").fit(large)
    # input_size_ comes from the first image
    assert a.input_size_ != b.input_size_
    column = np.array(small + [None], object)[:-1]
    assert _row_cache.transform(a, column).shape == (5, 16)
    out = _row_cache.transform(b, column)
    assert out.shape == (5, 36) and CountingPixels.rows_extracted == 10


def test_paths_and_undeclared_extractors_are_not_reused(rows, sample, tmp_path):
    import soundfile

    paths = []
    for i, clip in enumerate(sample[0]["audio"].iloc[:3]):
        paths.append(str(tmp_path / f"{i}.wav"))
        soundfile.write(paths[-1], clip, 8000)
    extractor = _fitted_audio(paths)
    for _ in range(2):
        _row_cache.transform(extractor, pd.Series(paths))
    assert CountingAudio.rows_extracted == 6 and len(rows) == 0  # a file may change

    texts = sample[0]["text"].iloc[:5]
    text = TextFeatureExtractor().set_output(transform="default").fit(texts)
    assert not text._rows_are_independent()
    np.testing.assert_array_equal(
        _row_cache.transform(text, texts).toarray(), text.transform(texts).toarray()
    )
    assert len(rows) == 0


def test_bad_cells_warn_at_every_call(rows, sample):
    cells = pd.Series(list(sample[0]["audio"].iloc[:3]) + [np.zeros(0, np.float32)])
    extractor = _fitted_audio(cells, on_error="warn")
    for _ in range(2):
        with pytest.warns(CellLoadWarning, match="sample 3"):
            out = _row_cache.transform(extractor, cells)
        assert np.isnan(out[3]).all() and np.isfinite(out[:3]).all()
    assert len(rows) == 3  # the NaN row is never kept
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _row_cache.transform(extractor, cells.iloc[:3])  # all known: no warning


def test_the_table_is_bounded():
    table = _row_cache._RowTable(4000)
    keys = [("state", bytes([i])) for i in range(45)]
    for i in range(0, 40, 5):  # 100 bytes a row, 500 a call: 4000 in all
        table.put_all(keys[i : i + 5], np.full((5, 25), i, np.float32))
    assert len(table) == 40 and table.nbytes == 4000
    table.put_all(keys[40:], np.zeros((5, 25), np.float32))
    assert len(table) == 40 and table.nbytes == 4000
    assert table.get_all(keys[:5]) is None  # the least recently used went
    assert [row[0] for row in table.get_all(keys[40:])] == [0.0] * 5
    with pytest.raises(ValueError, match="read-only"):
        table.get_all(keys[40:])[0][0] = 1.0
    table.put_all([("big", b"")], np.zeros((1, 300), np.float32))  # over a quarter
    assert table.get_all([("big", b"")]) is None
