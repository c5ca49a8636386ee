"""Tests for sklearn_mbm.inspection."""

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_backend
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from sklearn_mbm import FusionTransformer, LateFusionClassifier
from sklearn_mbm.inspection import modality_importance

N = 120


@pytest.fixture(scope="module")
def blocks():
    """An informative block (cols 0-2), a noise block (3-4), a weak block (5)."""
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], N // 2)
    informative = y[:, None] * 2.0 + rng.normal(0, 0.7, (N, 3))
    noise = rng.normal(size=(N, 2))
    weak = y[:, None] * 0.5 + rng.normal(0, 1.0, (N, 1))
    X = np.c_[informative, noise, weak]
    return X, y


MODALITIES = {"good": [0, 1, 2], "noise": [3, 4], "weak": 5}


def _fusion_pipeline(columns):
    good, noise, weak = columns
    return Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [
                        ("good", "passthrough", good),
                        ("noise", "passthrough", noise),
                        ("weak", "passthrough", weak),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )


def test_informative_block_beats_noise(blocks):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    result = modality_importance(
        model, X, y, modalities=MODALITIES, n_repeats=8, random_state=0
    )
    assert result.modalities == ["good", "noise", "weak"]
    assert result.importances.shape == (3, 8)
    assert result.importances_mean.shape == (3,)
    assert result.importances_std.shape == (3,)
    np.testing.assert_allclose(result.importances_mean, result.importances.mean(1))
    np.testing.assert_allclose(result.importances_std, result.importances.std(1))
    good, noise, weak = result.importances_mean
    assert good > 0.2
    assert good > weak > noise
    assert abs(noise) < 0.05
    assert result.baseline_score == pytest.approx(model.score(X, y))
    # importance is the drop from the baseline
    np.testing.assert_allclose(
        result.importances,
        result.baseline_score - (result.baseline_score - result.importances),
    )


class RecordingClassifier(ClassifierMixin, BaseEstimator):
    """Predicts 0 and keeps every X it is asked to predict."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.seen_ = []
        return self

    def predict(self, X):
        self.seen_.append(np.array(X, copy=True))
        return np.zeros(len(X), dtype=int)


def test_shuffles_the_block_rows_together(blocks):
    X, y = blocks
    model = RecordingClassifier().fit(X, y)
    modality_importance(
        model, X, y, modalities={"pair": [0, 2], "rest": [1, 3, 4, 5]}, n_repeats=2
    )
    baseline, *shuffled = model.seen_
    np.testing.assert_array_equal(baseline, X)
    assert len(shuffled) == 4  # 2 modalities x 2 repeats
    for seen, cols in zip(shuffled, [[0, 2]] * 2 + [[1, 3, 4, 5]] * 2):
        others = [c for c in range(X.shape[1]) if c not in cols]
        np.testing.assert_array_equal(seen[:, others], X[:, others])
        # one permutation for the whole block: each shuffled row of the block
        # is a whole original row of the block
        rows = [
            np.flatnonzero((X[:, cols] == row).all(axis=1)) for row in seen[:, cols]
        ]
        assert all(len(r) == 1 for r in rows)
        perm = np.concatenate(rows)
        assert sorted(perm) == list(range(N))
        assert not np.array_equal(perm, np.arange(N))


def test_reproducible_with_random_state(blocks):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    kwargs = {"modalities": MODALITIES, "n_repeats": 4}
    a = modality_importance(model, X, y, random_state=42, **kwargs)
    b = modality_importance(model, X, y, random_state=42, **kwargs)
    c = modality_importance(
        model, X, y, random_state=np.random.RandomState(42), **kwargs
    )
    np.testing.assert_array_equal(a.importances, b.importances)
    np.testing.assert_array_equal(a.importances, c.importances)
    d = modality_importance(model, X, y, random_state=7, **kwargs)
    assert not np.array_equal(a.importances, d.importances)


def test_parallel_matches_serial(blocks):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    kwargs = {"modalities": MODALITIES, "n_repeats": 3, "random_state": 0}
    serial = modality_importance(model, X, y, **kwargs)
    # threads: the same joblib code path without the start-up cost of processes
    with parallel_backend("threading"):
        parallel = modality_importance(model, X, y, n_jobs=2, **kwargs)
    np.testing.assert_array_equal(serial.importances, parallel.importances)


def test_modalities_found_in_pipeline_fusion_step(blocks):
    X, y = blocks
    model = _fusion_pipeline(([0, 1, 2], [3, 4], [5])).fit(X, y)
    found = modality_importance(model, X, y, n_repeats=3, random_state=0)
    given = modality_importance(
        model, X, y, modalities=MODALITIES, n_repeats=3, random_state=0
    )
    assert found.modalities == ["good", "noise", "weak"]
    np.testing.assert_array_equal(found.importances, given.importances)
    assert found.importances_mean[0] > found.importances_mean[1]


def test_modalities_found_in_fusion_transformer_itself(blocks):
    """The estimator itself may carry the specs (a fusion-then-predict
    estimator); here a FusionTransformer subclass with a scoring method."""
    X, y = blocks

    class ScoredFusion(FusionTransformer):
        def score(self, X, y):
            # mean of the fused "good" block per class: a stand-in score
            Xt = np.asarray(self.transform(X))[:, self.output_slices_["good"]]
            Xt = Xt.mean(axis=1)
            return float(np.mean((Xt > 0) == (y == 1)))

    fusion = ScoredFusion(
        [("good", "passthrough", [0, 1, 2]), ("noise", "passthrough", [3, 4])]
    ).fit(X)
    result = modality_importance(fusion, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["good", "noise"]
    assert result.importances_mean[0] > 0.2
    assert result.importances_mean[1] == 0.0


def test_modalities_found_in_fitted_search(blocks):
    X, y = blocks
    search = GridSearchCV(
        _fusion_pipeline(([0, 1, 2], [3, 4], [5])), {"clf__C": [0.1, 1.0]}, cv=2
    ).fit(X, y)
    result = modality_importance(search, X, y, n_repeats=2, random_state=0)
    assert result.modalities == ["good", "noise", "weak"]


def test_late_fusion_style_estimators_param(blocks):
    """Any estimator with an ``estimators`` list of (name, est, column)."""
    X, y = blocks

    class PerColumnVote(ClassifierMixin, BaseEstimator):
        def __init__(self, estimators):
            self.estimators = estimators

        def fit(self, X, y):
            self.fitted_ = [
                (est.fit(X[:, col], y), col) for _, est, col in self.estimators
            ]
            self.classes_ = np.unique(y)
            return self

        def predict_proba(self, X):
            return np.mean([est.predict_proba(X[:, c]) for est, c in self.fitted_], 0)

        def predict(self, X):
            return self.classes_[self.predict_proba(X).argmax(1)]

    model = PerColumnVote(
        [
            ("good", LogisticRegression(), [0, 1, 2]),
            ("noise", LogisticRegression(), [3, 4]),
        ]
    ).fit(X, y)
    result = modality_importance(model, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["good", "noise"]
    assert result.importances_mean[0] > result.importances_mean[1]


def test_modalities_found_in_late_fusion_classifier(blocks):
    X, y = blocks
    model = LateFusionClassifier(
        [
            ("good", LogisticRegression(), [0, 1, 2]),
            ("noise", LogisticRegression(), [3, 4]),
        ]
    ).fit(X, y)
    result = modality_importance(model, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["good", "noise"]
    assert result.importances_mean[0] > 0.1
    assert result.importances_mean[0] > result.importances_mean[1]


def test_dataframe_with_named_columns(blocks):
    X, y = blocks
    frame = pd.DataFrame(X, columns=["g1", "g2", "g3", "n1", "n2", "w"])
    frame.index = np.arange(1000, 1000 + N)  # a non-default index must not align
    model = _fusion_pipeline((["g1", "g2", "g3"], ["n1", "n2"], ["w"])).fit(frame, y)
    result = modality_importance(model, frame, y, n_repeats=4, random_state=0)
    on_array = modality_importance(
        _fusion_pipeline(([0, 1, 2], [3, 4], [5])).fit(X, y),
        X,
        y,
        n_repeats=4,
        random_state=0,
    )
    np.testing.assert_allclose(result.importances, on_array.importances)
    # the caller's frame is left as it was
    np.testing.assert_array_equal(frame.to_numpy(), X)


def test_object_array_of_cells():
    """A 2-D object array whose cells are arrays (one column per modality)."""
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 40)
    X = np.empty((80, 2), dtype=object)
    for i in range(80):
        X[i, 0] = y[i] * 2.0 + rng.normal(0, 0.5, 4)  # informative "image" cell
        X[i, 1] = rng.normal(size=3)  # noise "audio" cell
    X_copy = X.copy()

    def stack(column):
        return np.stack(list(column))

    model = Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [
                        ("image", FunctionTransformer(stack), 0),
                        ("audio", FunctionTransformer(stack), 1),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    ).fit(X, y)
    result = modality_importance(model, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["image", "audio"]
    assert result.importances_mean[0] > 0.3
    assert abs(result.importances_mean[1]) < 0.1
    assert all(a is b for a, b in zip(X.ravel(), X_copy.ravel()))


def test_multimetric_scoring_returns_dict(blocks):
    X, y = blocks
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)
    result = modality_importance(
        model,
        X,
        y,
        modalities=MODALITIES,
        scoring=["accuracy", "f1_macro"],
        n_repeats=3,
        random_state=0,
    )
    assert set(result) == {"accuracy", "f1_macro"}
    single = modality_importance(
        model,
        X,
        y,
        modalities=MODALITIES,
        scoring="accuracy",
        n_repeats=3,
        random_state=0,
    )
    np.testing.assert_allclose(result["accuracy"].importances, single.importances)
    assert result["f1_macro"].modalities == ["good", "noise", "weak"]


def test_sample_weight_is_used(blocks):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    weights = np.where(np.arange(N) % 2 == 0, 1.0, 0.0)
    weighted = modality_importance(
        model, X, y, modalities=MODALITIES, random_state=0, sample_weight=weights
    )
    assert weighted.baseline_score == pytest.approx(
        model.score(X, y, sample_weight=weights)
    )


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"modalities": {"a": 9}}, ValueError, "column index 9"),
        ({"modalities": {"a": "col"}}, ValueError, "needs a pandas DataFrame"),
        ({"modalities": {}}, ValueError, "modalities is empty"),
        ({"modalities": [0, 1]}, TypeError, "must be a dict"),
        ({"modalities": {1: 0}}, TypeError, "names must be str"),
        ({"modalities": {"a": 0}, "n_repeats": 0}, ValueError, "at least 1"),
        ({"modalities": {"a": 0}, "n_repeats": 1.5}, TypeError, "must be an int"),
    ],
)
def test_errors(blocks, kwargs, error, match):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    with pytest.raises(error, match=match):
        modality_importance(model, X, y, **kwargs)


def test_error_without_modalities(blocks):
    X, y = blocks
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="Pass modalities="):
        modality_importance(model, X, y)


def test_error_unfitted_and_bad_shapes(blocks):
    X, y = blocks
    with pytest.raises(NotFittedError):
        modality_importance(LogisticRegression(), X, y, modalities={"a": 0})
    model = LogisticRegression().fit(X, y)
    with pytest.raises(ValueError, match="2-D array"):
        modality_importance(model, X[:, 0], y, modalities={"a": 0})
    with pytest.raises(ValueError, match="but y has"):
        modality_importance(model, X, y[:-1], modalities={"a": 0})


# --------------------------------------------------------------------------
# what the model uses: weight 0, "drop", columns shared by modalities
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def texts():
    """The bundled sample's noisy transcripts (300 rows) and digits."""
    from sklearn_mbm import load_av_digits

    bunch = load_av_digits()
    rows = np.arange(0, 600, 2)
    return bunch.data.iloc[rows][["text"]], np.asarray(bunch.target)[rows]


def _word_and_char(weights=None, method="concat"):
    """Word and character n-grams of the same ``text`` column (the
    pattern the user guide shows)."""
    from sklearn_mbm import TextFeatureExtractor

    fusion = FusionTransformer(
        [
            ("word", TextFeatureExtractor(), "text"),
            (
                "char",
                TextFeatureExtractor(analyzer="char_wb", ngram_range=(2, 3)),
                "text",
            ),
        ],
        weights=weights,
        method=method,
        normalize="block",
    )
    return Pipeline([("fusion", fusion), ("clf", LogisticRegression(max_iter=1000))])


def _reference_block_scores(model, X, y, name, n_repeats, random_state):
    """Plain scikit-learn: the fused features, rows of one block permuted as
    modality_importance permutes them, scored by the final estimator."""
    Z = np.asarray(model["fusion"].transform(X))
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    rng = np.random.RandomState(seed)
    block = model["fusion"].output_slices_[name]
    scores = []
    for _ in range(n_repeats):
        Z_perm = Z.copy()
        Z_perm[:, block] = Z[rng.permutation(len(Z))][:, block]
        scores.append(model["clf"].score(Z_perm, y))
    return model["clf"].score(Z, y) - np.asarray(scores)


def test_zero_weight_modality_gets_zero_even_on_a_shared_column(texts):
    # issue 22.3: "char" reads the same column as "word" but has weight 0
    X, y = texts
    model = _word_and_char({"word": 1.0, "char": 0.0}).fit(X, y)
    result = modality_importance(model, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["word", "char"]
    np.testing.assert_array_equal(result.importances[1], 0.0)
    assert result.unused == {"char": "weight 0"}
    assert result.importances_mean[0] > 0.1
    np.testing.assert_allclose(
        result.importances[0], _reference_block_scores(model, X, y, "word", 3, 0)
    )


def test_shared_column_is_shuffled_per_modality_block(texts):
    """Two modalities on one column get one importance each: the rows of
    each one's fused block are shuffled, compared with plain scikit-learn."""
    X, y = texts
    model = _word_and_char().fit(X, y)
    result = modality_importance(model, X, y, n_repeats=3, random_state=0)
    assert result.modalities == ["word", "char"] and result.unused == {}
    for row, name in enumerate(["word", "char"]):
        np.testing.assert_allclose(
            result.importances[row],
            _reference_block_scores(model, X, y, name, 3, 0),
        )
    assert not np.array_equal(result.importances[0], result.importances[1])


def test_dropped_modality_is_left_out(texts):
    X, y = texts
    model = _word_and_char().set_params(fusion__char="drop").fit(X, y)
    result = modality_importance(model, X, y, n_repeats=2, random_state=0)
    assert result.modalities == ["word"]
    assert result.unused == {"char": "drop"}
    assert result.importances.shape == (1, 2)


def test_block_shuffle_in_a_search_uses_the_search_scorer(texts):
    X, y = texts
    search = GridSearchCV(
        _word_and_char(), {"clf__C": [1.0]}, scoring="f1_macro", cv=2
    ).fit(X, y)
    result = modality_importance(search, X, y, n_repeats=2, random_state=0)
    direct = modality_importance(
        search.best_estimator_, X, y, n_repeats=2, random_state=0, scoring="f1_macro"
    )
    assert result.baseline_score == pytest.approx(search.score(X, y))
    np.testing.assert_allclose(result.importances, direct.importances)


@pytest.mark.parametrize("weights", [None, {"word": 1.0, "char": 0.0}])
def test_shared_column_reported_as_a_group_when_columns_are_shuffled(texts, weights):
    """Late fusion and weighted_sum shuffle input columns: modalities that
    share one cannot be told apart, so they are one group, with a warning;
    a weight-0 modality is not part of it and gets 0."""
    from sklearn_mbm import TextFeatureExtractor

    X, y = texts
    late = LateFusionClassifier(
        [
            (
                "word",
                make_pipeline(TextFeatureExtractor(), LogisticRegression()),
                "text",
            ),
            (
                "char",
                make_pipeline(
                    TextFeatureExtractor(analyzer="char_wb"), LogisticRegression()
                ),
                "text",
            ),
        ],
        weights=weights,
    ).fit(X, y)
    summed = _word_and_char(weights, method="weighted_sum").fit(X, y)
    for model in (late, summed):
        if weights is None:
            with pytest.warns(UserWarning, match=r"reported together as 'word\+char'"):
                result = modality_importance(model, X, y, n_repeats=2, random_state=0)
            assert result.modalities == ["word+char"]
            assert result.importances_mean[0] > 0.1
        else:
            result = modality_importance(model, X, y, n_repeats=2, random_state=0)
            assert result.modalities == ["word", "char"]
            assert result.unused == {"char": "weight 0"}
            np.testing.assert_array_equal(result.importances[1], 0.0)
            assert result.importances_mean[0] > 0.1
