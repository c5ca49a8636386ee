"""Tests for sklearn_mbm.fusion: FusionTransformer (weight grid: test_weight_search)."""

import pickle
from collections import Counter

import joblib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import make_column_selector
from sklearn.decomposition import PCA
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, StandardScaler

from sklearn_mbm import FusionTransformer, fusion_weight_grid
from sklearn_mbm.fusion._normalize import BlockNormalizer

# --------------------------------------------------------------------------
# fixtures and helpers
# --------------------------------------------------------------------------

CALLS = Counter()


class CountingExtractor(TransformerMixin, BaseEstimator):
    """Turns a 1-D column of numbers or short lists into a 2-D float block and
    counts its fit / transform calls (module-level counter, so cache hits,
    which skip the call entirely, are visible)."""

    def __init__(self, tag="x", width=3):
        self.tag = tag
        self.width = width

    def _features(self, X):
        values = np.asarray(list(X), dtype=float).reshape(len(X), -1)[:, :1]
        return np.hstack([values**p for p in range(1, self.width + 1)])

    def fit(self, X, y=None):
        CALLS["fit", self.tag] += 1
        self.n_seen_ = len(X)
        return self

    def fit_transform(self, X, y=None):
        CALLS["fit", self.tag] += 1
        self.n_seen_ = len(X)
        return self._features(X)

    def transform(self, X):
        CALLS["transform", self.tag] += 1
        return self._features(X)


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()


def _numeric_fusion(**params):
    return FusionTransformer(
        [
            ("a", "passthrough", [0, 1, 2, 3]),
            ("b", "passthrough", [4, 5, 6, 7, 8, 9]),
            ("noise", "passthrough", [10, 11, 12]),
        ],
        **params,
    )


@pytest.fixture
def frame():
    """A DataFrame with a text column and a scalar numeric column."""
    texts = ["red apple", "green apple", "red car", "blue car", "green tree"] * 6
    return pd.DataFrame(
        {
            "text": texts,
            "size": np.arange(30, dtype=float),
            "other": ["ignored"] * 30,
        }
    )


# --------------------------------------------------------------------------
# the maths
# --------------------------------------------------------------------------


def test_concat_is_weighted_standardised_blocks(blobs):
    X, _ = blobs
    fusion = _numeric_fusion(weights={"a": 2.0, "b": 0.5, "noise": 0.0})
    out = fusion.fit_transform(X)
    expected = np.hstack(
        [
            2.0 * StandardScaler().fit_transform(X[:, :4]),
            0.5 * StandardScaler().fit_transform(X[:, 4:10]),
            0.0 * X[:, 10:],
        ]
    )
    assert_allclose(out, expected)
    assert_allclose(fusion.transform(X), out)
    assert fusion.output_slices_ == {
        "a": slice(0, 4),
        "b": slice(4, 10),
        "noise": slice(10, 13),
    }
    assert fusion.weights_ == {"a": 2.0, "b": 0.5, "noise": 0.0}


def test_weighted_sum_is_sum_of_projected_blocks(blobs):
    X, _ = blobs
    weights = [1.0, 0.25, 0.5]
    fusion = _numeric_fusion(method="weighted_sum", weights=weights)
    out = fusion.fit_transform(X)
    # n_components=None: width of the narrowest block (noise, 3 columns)
    assert out.shape == (90, 3)
    expected = 0
    for w, cols in zip(weights, [slice(0, 4), slice(4, 10), slice(10, 13)]):
        block = StandardScaler().fit_transform(X[:, cols])
        expected = expected + w * PCA(3, svd_solver="full").fit_transform(block)
    assert_allclose(out, expected, atol=1e-10)
    assert set(fusion.projections_) == {"a", "b", "noise"}
    assert all(s == slice(0, 3) for s in fusion.output_slices_.values())
    assert list(fusion.get_feature_names_out()) == [f"fused__pc{i}" for i in range(3)]


def test_weighted_sum_n_components(blobs):
    X, _ = blobs
    out = _numeric_fusion(method="weighted_sum", n_components=2).fit_transform(X)
    assert out.shape == (90, 2)
    with pytest.raises(ValueError, match="n_components=5 is larger than the 3 "):
        _numeric_fusion(method="weighted_sum", n_components=5).fit(X)


def test_block_normalisation_gives_unit_energy_whatever_the_width():
    rng = np.random.RandomState(1)
    narrow = rng.normal(size=(50, 2)) * 100
    wide = rng.normal(size=(50, 200))
    X = np.hstack([narrow, wide])
    fusion = FusionTransformer(
        [
            ("narrow", "passthrough", [0, 1]),
            ("wide", "passthrough", list(range(2, 202))),
        ],
        normalize="block",
        weights={"narrow": 1.0, "wide": 0.5},
    )
    out = np.asarray(fusion.fit_transform(X))
    energy = {
        name: np.mean(np.sum(out[:, s] ** 2, axis=1))
        for name, s in fusion.output_slices_.items()
    }
    # a weight w gives the block energy w**2, whatever its width or scale
    assert energy["narrow"] == pytest.approx(1.0)
    assert energy["wide"] == pytest.approx(0.25)
    assert isinstance(fusion.normalizers_["wide"], BlockNormalizer)


def test_constant_block_with_block_normalisation_is_finite():
    X = np.hstack([np.ones((10, 2)), np.arange(10.0)[:, None]])
    fusion = FusionTransformer(
        [("const", "passthrough", [0, 1]), ("x", "passthrough", [2])],
        normalize="block",
    )
    out = np.asarray(fusion.fit_transform(X))
    assert np.isfinite(out).all()
    assert_allclose(out[:, :2], 0)


@pytest.mark.parametrize(
    "normalize, reference",
    [("l2", Normalizer()), (None, None), ("standard", StandardScaler())],
)
def test_other_normalisations(blobs, normalize, reference):
    X, _ = blobs
    out = np.asarray(_numeric_fusion(normalize=normalize).fit_transform(X))
    block = X[:, 4:10]
    expected = block if reference is None else clone(reference).fit_transform(block)
    assert_allclose(out[:, 4:10], expected)


# --------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------


def test_weights_dict_defaults_unnamed_to_one(blobs):
    X, _ = blobs
    fusion = _numeric_fusion(weights={"noise": 0.0}).fit(X)
    assert fusion.weights_ == {"a": 1.0, "b": 1.0, "noise": 0.0}


@pytest.mark.parametrize(
    "weights, match",
    [
        ({"a": -1.0}, r"weights\['a'\] must be finite and non-negative, got -1.0"),
        ({"b": np.nan}, r"weights\['b'\] must be finite and non-negative"),
        ([1.0, np.inf, 1.0], r"weights\['b'\] must be finite"),
        ({"a": 0, "b": 0, "noise": 0}, "weights are all zero"),
        ({"image": 1.0}, r"weights names \['image'\], which are not modalities"),
        ([1.0, 2.0], "weights has 2 values but there are 3 modalities"),
        ({"a": "high"}, r"weights\['a'\] must be a real number, got 'high'"),
        ([[1.0, 2.0, 3.0]], "a 1-D sequence with one weight per modality"),
    ],
)
def test_invalid_weights(blobs, weights, match):
    X, _ = blobs
    with pytest.raises(ValueError, match=match):
        _numeric_fusion(weights=weights).fit(X)


def test_weights_change_predictions(blobs):
    X, y = blobs
    pipe = Pipeline([("fusion", _numeric_fusion()), ("clf", LogisticRegression())])
    only_noise = cross_val_score(
        pipe.set_params(fusion__weights={"a": 0, "b": 0, "noise": 1}), X, y, cv=3
    )
    only_a = cross_val_score(
        pipe.set_params(fusion__weights={"a": 1, "b": 0, "noise": 0}), X, y, cv=3
    )
    assert only_a.mean() > only_noise.mean() + 0.3


# --------------------------------------------------------------------------
# routing
# --------------------------------------------------------------------------


def test_dataframe_routing_with_names_and_scalar_columns(frame):
    fusion = FusionTransformer(
        [("text", TfidfVectorizer(), "text"), ("size", "passthrough", ["size"])]
    )
    out = fusion.fit_transform(frame)
    n_words = len(fusion.named_transformers_["text"].vocabulary_)
    assert out.shape == (30, n_words + 1)
    names = fusion.get_feature_names_out()
    assert names[-1] == "size__size"
    assert "text__apple" in names
    assert fusion.n_features_in_ == 3
    assert list(fusion.feature_names_in_) == ["text", "size", "other"]


def test_object_array_routing_with_integer_columns(frame):
    X = frame.to_numpy(dtype=object)
    by_index = FusionTransformer(
        [("text", TfidfVectorizer(), 0), ("size", "passthrough", [1])]
    ).fit_transform(X)
    by_name = FusionTransformer(
        [("text", TfidfVectorizer(), "text"), ("size", "passthrough", ["size"])]
    ).fit_transform(frame)
    assert_allclose(by_index, by_name)


def test_list_of_records_is_accepted(frame):
    records = frame.to_numpy(dtype=object).tolist()
    fusion = FusionTransformer([("size", "passthrough", [1])])
    assert fusion.fit_transform(records).shape == (30, 1)


def test_callable_column_selector():
    df = pd.DataFrame({"x": np.arange(6.0), "y": np.arange(6.0) ** 2, "s": ["a"] * 6})
    fusion = FusionTransformer(
        [("num", "passthrough", make_column_selector(dtype_include="number"))]
    )
    assert fusion.fit_transform(df).shape == (6, 2)
    assert list(fusion.get_feature_names_out()) == ["num__x", "num__y"]


@pytest.mark.parametrize(
    "transformers, error, match",
    [
        ([("t", "passthrough", "nope")], ValueError, "selects column 'nope'.*not in"),
        ([("t", "passthrough", [7])], ValueError, "column index 7, but the data has 3"),
        (
            [("t", "passthrough", ["size"]), ("t", "passthrough", ["size"])],
            ValueError,
            "name 't' is used more than once",
        ),
        ([("a__b", "passthrough", ["size"])], ValueError, "must not contain '__'"),
        ([("weights", "passthrough", ["size"])], ValueError, "clash with parameters"),
        ([("t", StandardScaler, ["size"])], TypeError, "got the class StandardScaler"),
        ([("t", "scale", ["size"])], TypeError, "must implement fit and transform"),
        ([("t", "passthrough", 1.5)], TypeError, "a column must be a str, an int"),
        ([("t", "passthrough")], ValueError, r"\(name, estimator, column\) tuples"),
        ([], ValueError, "transformers is empty"),
    ],
)
def test_invalid_transformers(frame, transformers, error, match):
    with pytest.raises(error, match=match):
        FusionTransformer(transformers).fit(frame)


def test_names_need_a_dataframe(frame):
    with pytest.raises(ValueError, match="needs a pandas DataFrame"):
        FusionTransformer([("t", "passthrough", ["size"])]).fit(frame.to_numpy())


def test_transform_selects_columns_by_name(frame):
    # as ColumnTransformer: reordered, extra, or unused absent columns work;
    # a used column must be there (issue 14)
    from sklearn_mbm import TextFeatureExtractor

    fusion = FusionTransformer(
        [("text", TextFeatureExtractor(), "text"), ("size", "passthrough", ["size"])]
    ).fit(frame)
    expected = fusion.transform(frame)
    for variant in (
        frame[["other", "size", "text"]],  # reordered
        frame.drop(columns="other"),  # an unused column left out
        frame.assign(extra=1.0),  # an extra column
        frame.rename(columns={"other": "renamed"}),
    ):
        assert_allclose(fusion.transform(variant), expected)
    with pytest.raises(ValueError, match=r"lacks the columns \['size'\]"):
        fusion.transform(frame.drop(columns="size"))


def test_array_after_fit_on_named_columns_is_a_clear_error(frame):
    fusion = FusionTransformer([("size", "passthrough", ["size"])]).fit(frame)
    with pytest.raises(ValueError, match=r"fitted on a DataFrame .*\['size'\]"):
        fusion.transform(frame.to_numpy())


def test_drop_removes_a_modality(frame):
    from sklearn_mbm import TextFeatureExtractor

    fusion = FusionTransformer(
        [("text", "drop", "text"), ("size", "passthrough", ["size"])],
        weights={"text": 1.0, "size": 2.0},
    )
    out = fusion.fit_transform(frame.drop(columns="text"))  # never read
    assert out.shape == (30, 1)
    assert list(fusion.output_slices_) == ["size"]
    assert fusion.get_feature_names_out().tolist() == ["size__size"]
    assert fusion.named_transformers_["text"] == "drop"
    fusion.set_params(text=TextFeatureExtractor())
    assert fusion.fit_transform(frame).shape[1] > 1
    search = GridSearchCV(
        Pipeline([("fusion", fusion), ("clf", LogisticRegression())]),
        {"fusion__text": ["drop", TextFeatureExtractor()]},
        cv=2,
    ).fit(frame, np.arange(30) % 2)
    assert len(search.cv_results_["params"]) == 2
    with pytest.raises(ValueError, match="every modality is 'drop'"):
        FusionTransformer([("size", "drop", ["size"])]).fit(frame)


def test_messages_name_the_index_label(frame):
    shuffled = frame.set_index(pd.Index(np.arange(30) + 100))
    shuffled.loc[104, "size"] = np.nan
    with pytest.raises(ValueError, match=r"Row 104 \(position 4\) has a missing"):
        FusionTransformer([("size", "passthrough", ["size"])]).fit(shuffled)
    # a RangeIndex: the label is the position, named once
    frame.loc[4, "size"] = np.nan
    with pytest.raises(ValueError, match=r"Row 4 has a missing"):
        FusionTransformer([("size", "passthrough", ["size"])]).fit(frame)


def test_input_must_be_2d():
    with pytest.raises(ValueError, match="Expected a 2-D input"):
        FusionTransformer([("a", "passthrough", [0])]).fit(np.arange(5.0))


def test_extractor_output_shape_is_checked():
    class BadShape(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return np.zeros(len(X))

    with pytest.raises(ValueError, match="modality 'bad' returned an array of shape"):
        FusionTransformer([("bad", BadShape(), 0)]).fit(np.ones((4, 1)))


# --------------------------------------------------------------------------
# missing modalities
# --------------------------------------------------------------------------


def _frame_with_missing():
    values = [1.0, 2.0, None, 4.0, np.nan, 6.0, 7.0, 8.0]
    return pd.DataFrame(
        {
            "cells": pd.Series(values, dtype=object),
            "num": np.arange(8.0),
        }
    )


def test_missing_raise_names_row_and_column():
    df = _frame_with_missing()
    fusion = FusionTransformer([("c", CountingExtractor(), "cells")])
    with pytest.raises(
        ValueError,
        match=r"Row 2 has a missing value .* 'cells' of "
        r"modality 'c' \(2 missing in all\)",
    ):
        fusion.fit(df)


@pytest.mark.parametrize("method", ["concat", "weighted_sum"])
def test_missing_zero_fits_on_present_rows(method):
    df = _frame_with_missing()
    fusion = FusionTransformer(
        [("c", CountingExtractor(width=1), "cells"), ("n", "passthrough", ["num"])],
        method=method,
        missing="zero",
        weights={"c": 1.0, "n": 3.0},
    )
    out = np.asarray(fusion.fit_transform(df))
    assert fusion.named_transformers_["c"].n_seen_ == 6  # the extractor saw 6 rows
    assert np.isfinite(out).all()
    present = np.array([1, 1, 0, 1, 0, 1, 1, 1], dtype=bool)
    n_block = np.asarray(StandardScaler().fit_transform(df[["num"]]))
    if method == "concat":
        assert_allclose(out[~present, 0], 0.0)  # zero block, others keep values
        assert_allclose(out[:, 1], 3.0 * n_block[:, 0])
    else:
        # rows without "c": the remaining weight 3 is scaled to the total 4
        n_proj = fusion.projections_["n"].transform(n_block)
        assert_allclose(out[~present], 4.0 * n_proj[~present])


def test_missing_mean_uses_training_mean():
    df = _frame_with_missing()
    fusion = FusionTransformer(
        [("c", CountingExtractor(width=2), "cells")], missing="mean", normalize=None
    )
    out = np.asarray(fusion.fit_transform(df))
    present_values = np.array([1.0, 2.0, 4.0, 6.0, 7.0, 8.0])
    expected = [present_values.mean(), (present_values**2).mean()]
    assert_allclose(out[2], expected)
    assert_allclose(out[4], expected)
    assert_allclose(fusion.fill_values_["c"], expected)


def test_missing_at_transform_time():
    train = pd.DataFrame({"cells": pd.Series([1.0, 2.0, 3.0, 4.0], dtype=object)})
    test = pd.DataFrame({"cells": pd.Series([None, 2.0], dtype=object)})
    fusion = FusionTransformer([("c", CountingExtractor(width=1), "cells")])
    fusion.fit(train)
    with pytest.raises(ValueError, match="Row 0 has a missing value"):
        fusion.transform(test)
    fusion.set_params(missing="zero")
    assert_allclose(np.asarray(fusion.transform(test))[0], 0.0)


def test_all_missing_column_raises():
    df = pd.DataFrame({"cells": pd.Series([None, np.nan], dtype=object)})
    fusion = FusionTransformer([("c", CountingExtractor(), "cells")], missing="zero")
    with pytest.raises(ValueError, match="'c' is missing .* in every one of the 2"):
        fusion.fit(df)


class FailingRowsExtractor(TransformerMixin, BaseEstimator):
    """Mimics an extractor with on_error='warn': a bad cell gives a NaN row."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        out = np.asarray(list(X), dtype=float)[:, None].repeat(2, axis=1)
        out[out < 0] = np.nan
        return out


def test_nan_rows_from_extractor_are_missing_cells():
    df = pd.DataFrame({"v": [1.0, -1.0, 3.0, 5.0], "n": np.arange(4.0)})
    specs = [("v", FailingRowsExtractor(), "v"), ("n", "passthrough", ["n"])]
    with pytest.raises(ValueError, match="could not process row 1"):
        FusionTransformer(specs).fit(df)
    out = np.asarray(FusionTransformer(specs, missing="zero").fit_transform(df))
    assert_allclose(out[1, :2], 0.0)
    assert np.isfinite(out).all()


def test_partially_non_finite_extractor_output_raises():
    class Partial(FailingRowsExtractor):
        def transform(self, X):
            out = super().transform(X)
            out[0, 0] = np.inf
            return out

    df = pd.DataFrame({"v": [1.0, 2.0, 3.0]})
    with pytest.raises(ValueError, match="NaN or infinite values for row 0"):
        FusionTransformer([("v", Partial(), "v")], missing="zero").fit(df)


def test_missing_in_numeric_block():
    X = np.arange(12.0).reshape(6, 2)
    X[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"Row 3 has a missing value .* \[0, 1\]"):
        FusionTransformer([("b", "passthrough", [0, 1])]).fit(X)
    out = FusionTransformer(
        [("b", "passthrough", [0, 1])], missing="zero"
    ).fit_transform(X)
    assert_allclose(np.asarray(out)[3], 0.0)


# --------------------------------------------------------------------------
# the cache
# --------------------------------------------------------------------------


def _cached_search(memory, refit):
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 30)
    df = pd.DataFrame(
        {
            "left": pd.Series(list(rng.normal(size=60) + y), dtype=object),
            "right": pd.Series(list(rng.normal(size=60) - y), dtype=object),
        }
    )
    pipe = Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [
                        ("left", CountingExtractor("left"), "left"),
                        ("right", CountingExtractor("right"), "right"),
                    ],
                    memory=memory,
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    grid = [{"left": a, "right": b} for a in (0.0, 0.5, 1.0) for b in (0.25, 0.5, 1.0)]
    assert len(grid) == 9
    search = GridSearchCV(
        pipe,
        {"fusion__weights": grid, "fusion__normalize": ["standard"]},
        cv=KFold(3),
        refit=refit,
    )
    return search.fit(df, y)


def test_cache_extracts_once_per_fold(tmp_path):
    """9 weight candidates x 3 folds: each extractor fits and transforms once per
    fold (its test split), plus one fit for the refit on all rows."""
    search = _cached_search(joblib.Memory(tmp_path, verbose=0), refit=True)
    for tag in ("left", "right"):
        assert CALLS["fit", tag] == 3 + 1
        assert CALLS["transform", tag] == 3
    assert len(search.cv_results_["params"]) == 9


def test_without_cache_extracts_for_every_candidate():
    _cached_search(None, refit=False)
    assert CALLS["fit", "left"] == 27
    assert CALLS["transform", "left"] == 27


def test_cache_gives_the_same_scores(tmp_path):
    cached = _cached_search(str(tmp_path), refit=False).cv_results_["mean_test_score"]
    plain = _cached_search(None, refit=False).cv_results_["mean_test_score"]
    assert_allclose(cached, plain)


def test_cache_is_keyed_on_transformer_params(tmp_path):
    df = pd.DataFrame({"v": pd.Series([1.0, 2.0, 3.0, 4.0], dtype=object)})
    memory = joblib.Memory(tmp_path, verbose=0)
    fusion = FusionTransformer(
        [("v", CountingExtractor("v", width=2), "v")], memory=memory
    )
    fusion.fit_transform(df)
    clone(fusion).fit_transform(df)
    assert CALLS["fit", "v"] == 1
    out = clone(fusion).set_params(v__width=3).fit_transform(df)
    assert CALLS["fit", "v"] == 2
    assert out.shape == (4, 3)


# --------------------------------------------------------------------------
# scikit-learn integration
# --------------------------------------------------------------------------


def test_grid_search_over_weight_grid(blobs):
    X, y = blobs
    pipe = Pipeline([("fusion", _numeric_fusion()), ("clf", LogisticRegression())])
    grid = fusion_weight_grid(["a", "b", "noise"], values=(0, 1))
    search = GridSearchCV(pipe, {"fusion__weights": grid}, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 7
    scores = {
        tuple(p["fusion__weights"].values()): s
        for p, s in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"]
        )
    }
    best = search.best_params_["fusion__weights"]
    assert best["a"] == 1.0  # the most informative block is always kept
    assert search.best_score_ > scores[(0.0, 0.0, 1.0)] + 0.2  # noise alone


def test_nested_params(frame):
    fusion = FusionTransformer([("text", TfidfVectorizer(), "text")])
    params = fusion.get_params()
    assert "text__lowercase" in params
    fusion.set_params(text__max_features=2)
    assert fusion.fit_transform(frame).shape == (30, 2)
    fusion.set_params(text=TfidfVectorizer(max_features=3))
    assert fusion.fit_transform(frame).shape == (30, 3)


def test_clone_and_pickle_round_trip(frame):
    fusion = FusionTransformer(
        [("text", TfidfVectorizer(), "text"), ("size", "passthrough", ["size"])],
        method="weighted_sum",
        n_components=1,
    ).fit(frame)
    restored = pickle.loads(pickle.dumps(fusion))
    assert_allclose(restored.transform(frame), fusion.transform(frame))
    cloned = clone(fusion)
    assert not hasattr(cloned, "transformers_")
    assert_allclose(cloned.fit_transform(frame), fusion.transform(frame))


def test_fit_is_idempotent_and_fit_transform_matches(blobs):
    X, _ = blobs
    fusion = _numeric_fusion(method="weighted_sum")
    first = fusion.fit_transform(X)
    assert_allclose(fusion.fit(X).transform(X), first, atol=1e-10)


def test_set_output_pandas(frame):
    fusion = FusionTransformer(
        [("size", "passthrough", ["size"]), ("text", TfidfVectorizer(), "text")]
    ).set_output(transform="pandas")
    out = fusion.fit_transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == list(fusion.get_feature_names_out())
    assert out.columns[0] == "size__size"


def test_n_jobs_gives_same_output(blobs):
    X, _ = blobs
    sequential = _numeric_fusion().fit_transform(X)
    parallel = _numeric_fusion(n_jobs=2).fit_transform(X)
    assert_allclose(parallel, sequential)


def test_verbose_prints_each_modality(blobs, capsys):
    X, _ = blobs
    _numeric_fusion(verbose=True).fit(X)
    out = capsys.readouterr().out
    for name in ("a", "b", "noise"):
        assert f"[FusionTransformer] {name}:" in out


def test_html_repr_shows_modalities(frame):
    fusion = FusionTransformer([("text", TfidfVectorizer(), "text")])
    html = fusion._repr_html_()
    assert "TfidfVectorizer" in html and "text" in html


def test_unfitted_transform_raises(blobs):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        _numeric_fusion().transform(blobs[0])


# -- issue 20: fit-time rules stay in fit --------------------------------------


@pytest.mark.parametrize("missing", ["zero", "mean"])
@pytest.mark.parametrize("method", ["concat", "weighted_sum"])
def test_transform_takes_rows_where_a_modality_is_missing_everywhere(
    blobs, missing, method
):
    # serving one record with a missing modality: the fit-time rule (a
    # modality needs present rows to be fitted) must not run at transform
    X, _ = blobs
    fusion = FusionTransformer(
        [("a", "passthrough", [0, 1, 2, 3]), ("b", "passthrough", [4, 5])],
        method=method,
        missing=missing,
    ).fit(X)
    one = X[:1].copy()
    one[0, 4:6] = np.nan
    out = np.asarray(fusion.transform(one))
    assert out.shape == (1, fusion.get_feature_names_out().shape[0])
    assert np.isfinite(out).all()
    # the same row among complete ones gives the same output
    rows = np.vstack([one, X[1:3]])
    assert_allclose(np.asarray(fusion.transform(rows))[:1], out)


# -- issue 22 point 4: huge weights ---------------------------------------------


def test_weighted_sum_with_huge_weights_is_finite_or_refused(blobs):
    X, _ = blobs
    specs = [("a", "passthrough", [0, 1, 2, 3]), ("b", "passthrough", [4, 5, 6, 7])]
    fusion = FusionTransformer(specs, method="weighted_sum", weights=[1e308, 1e308])
    with pytest.raises(ValueError, match="overflow"):
        fusion.fit_transform(X)
    with pytest.raises(ValueError, match="overflow"):
        FusionTransformer(specs, weights=[1e308, 1e308]).fit_transform(X)


def test_weighted_sum_row_weights_do_not_overflow(blobs):
    # the weights' total overflows (1.5e308 + 0.5e308) but every fused value
    # is finite: a missing modality's weight is shared on the weights' ratios
    X, _ = blobs
    X = X * 1e-3
    X[0, 4] = np.nan
    specs = [("a", "passthrough", [0, 1, 2, 3]), ("b", "passthrough", [4, 5, 6, 7])]

    def fused(weights):
        out = FusionTransformer(
            specs,
            method="weighted_sum",
            weights=weights,
            missing="zero",
            normalize=None,
        ).fit_transform(X)
        return np.asarray(out)

    big = fused([1.5e308, 0.5e308])
    assert np.isfinite(big).all()
    assert_allclose(big / 1e308, fused([1.5, 0.5]), rtol=1e-9, atol=1e-12)
