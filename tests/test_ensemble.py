"""Tests for sklearn_mbm.ensemble.LateFusionClassifier."""

import io
import pickle
import re
import sys
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
from _sklearn_checks import (
    LATE_FUSION_EXPECTED_FAILURES,
    HalfColumns,
    run_sklearn_check,
)
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.compose import make_column_selector
from sklearn.datasets import load_digits, load_iris
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from sklearn_mbm.ensemble import LateFusionClassifier


@pytest.fixture(autouse=True, scope="module")
def single_blas_thread():
    # The models here are tiny: BLAS threads only add contention (tenfold
    # slower lbfgs on a busy machine), so run them single-threaded.
    with threadpool_limits(limits=1):
        yield


# --------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------

IRIS_X, IRIS_Y = load_iris(return_X_y=True)
SEPAL, PETAL = [0, 1], [2, 3]


def iris_clf(**params):
    return LateFusionClassifier(
        [
            ("sepal", LogisticRegression(), SEPAL),
            ("petal", LogisticRegression(), PETAL),
        ],
        **params,
    )


def lr_on(block, X=IRIS_X, y=IRIS_Y, rows=slice(None)):
    """A LogisticRegression fitted on one block alone, for hand computations."""
    return LogisticRegression().fit(X[rows][:, block], y[rows])


@pytest.fixture(scope="module")
def digits_blocks():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    blocks = [list(range(0, 21)), list(range(21, 42)), list(range(42, 64))]
    return X, y, blocks


WORDS = {
    "cat": ["meow", "purr", "whiskers", "mouse"],
    "dog": ["bark", "fetch", "bone", "leash"],
    "bird": ["tweet", "wings", "nest", "seed"],
}
FILLER = ["the", "a", "pet", "house", "today", "very", "quite"]


def multimodal_frame(n=90, seed=0):
    """A DataFrame with a text column, two numeric columns and an id column.

    Each modality is informative but noisy (a quarter of the texts are
    about another class), so fusing them beats either alone.
    """
    rng = np.random.RandomState(seed)
    labels = np.array(["cat", "dog", "bird"])[np.arange(n) % 3]
    rng.shuffle(labels)
    texts, nums = [], []
    for label in labels:
        said = label if rng.rand() > 0.25 else rng.choice(list(WORDS))
        words = list(rng.choice(WORDS[said], 2)) + list(rng.choice(FILLER, 3))
        rng.shuffle(words)
        texts.append(" ".join(words))
        center = {"cat": (0.0, 0.0), "dog": (2.0, 0.0), "bird": (1.0, 2.0)}[label]
        nums.append(rng.normal(center, 0.9))
    nums = np.array(nums)
    X = pd.DataFrame(
        {
            "id": np.arange(n),
            "text": texts,
            "height": nums[:, 0],
            "weight": nums[:, 1],
        }
    )
    return X, labels


def text_model():
    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=10.0))


def multimodal_clf(**params):
    return LateFusionClassifier(
        [
            ("text", text_model(), "text"),
            (
                "body",
                make_pipeline(StandardScaler(), LogisticRegression()),
                ["height", "weight"],
            ),
        ],
        **params,
    )


# --------------------------------------------------------------------------
# Soft voting
# --------------------------------------------------------------------------


def test_soft_proba_is_weighted_mean_of_modalities():
    clf = iris_clf(weights={"sepal": 1.0, "petal": 3.0}).fit(IRIS_X, IRIS_Y)
    expected = (
        1.0 * lr_on(SEPAL).predict_proba(IRIS_X[:, SEPAL])
        + 3.0 * lr_on(PETAL).predict_proba(IRIS_X[:, PETAL])
    ) / 4.0
    assert_allclose(clf.predict_proba(IRIS_X), expected)
    assert_array_equal(clf.predict(IRIS_X), expected.argmax(axis=1))
    assert clf.score(IRIS_X, IRIS_Y) == pytest.approx(
        np.mean(expected.argmax(axis=1) == IRIS_Y)
    )
    assert clf.weights_ == {"sepal": 1.0, "petal": 3.0}
    assert_array_equal(clf.classes_, [0, 1, 2])


def test_zero_weight_equals_other_modality_alone():
    clf = iris_clf(weights=[0.0, 2.0]).fit(IRIS_X, IRIS_Y)
    alone = lr_on(PETAL)
    assert_allclose(clf.predict_proba(IRIS_X), alone.predict_proba(IRIS_X[:, PETAL]))
    assert_array_equal(clf.predict(IRIS_X), alone.predict(IRIS_X[:, PETAL]))


def test_weights_forms_agree_and_dict_defaults_to_one():
    as_list = iris_clf(weights=[1.0, 2.5]).fit(IRIS_X, IRIS_Y)
    as_dict = iris_clf(weights={"petal": 2.5}).fit(IRIS_X, IRIS_Y)
    as_array = iris_clf(weights=np.array([1, 2.5])).fit(IRIS_X, IRIS_Y)
    assert as_dict.weights_ == {"sepal": 1.0, "petal": 2.5}
    assert_allclose(as_list.predict_proba(IRIS_X), as_dict.predict_proba(IRIS_X))
    assert_allclose(as_list.predict_proba(IRIS_X), as_array.predict_proba(IRIS_X))
    equal = iris_clf().fit(IRIS_X, IRIS_Y)
    assert equal.weights_ == {"sepal": 1.0, "petal": 1.0}


def test_fitted_attributes():
    clf = iris_clf().fit(IRIS_X, IRIS_Y)
    assert len(clf.estimators_) == 2
    assert clf.named_estimators_.sepal is clf.estimators_[0]
    assert clf.named_estimators_["petal"].n_features_in_ == 2
    assert clf.n_features_in_ == 4
    assert not hasattr(clf, "feature_names_in_")
    assert not hasattr(clf, "final_estimator_")
    # the estimators passed in are left untouched
    assert not hasattr(clf.estimators[0][1], "coef_")


# --------------------------------------------------------------------------
# Hard voting
# --------------------------------------------------------------------------


def test_hard_vote_matches_hand_computed_weighted_vote(digits_blocks):
    X, y, blocks = digits_blocks
    weights = [1.0, 2.0, 1.5]
    estimators = [(f"m{i}", GaussianNB(), b) for i, b in enumerate(blocks)]
    clf = LateFusionClassifier(estimators, weights=weights, method="hard").fit(X, y)
    votes = np.zeros((len(y), 10))
    for block, weight in zip(blocks, weights):
        pred = GaussianNB().fit(X[:, block], y).predict(X[:, block])
        votes[np.arange(len(y)), pred] += weight
    assert_array_equal(clf.predict(X), votes.argmax(axis=1))


def test_hard_vote_tie_goes_to_first_class():
    # two equally weighted modalities that always disagree: 0 vs 1 -> class 0
    X = np.array([[0.0, 1.0], [1.0, 0.0]] * 10)
    y = np.array([0, 1] * 10)
    clf = LateFusionClassifier(
        [
            ("a", DecisionTreeClassifier(), [0]),
            ("b", DecisionTreeClassifier(), [1]),
        ],
        method="hard",
    ).fit(X, y)
    X_new = np.array([[1.0, 1.0], [0.0, 0.0]])  # a says 1, b says 0; a 0, b 1
    assert_array_equal(clf.predict(X_new), [0, 0])


def test_hard_has_no_predict_proba_nor_decision_function():
    clf = iris_clf(method="hard").fit(IRIS_X, IRIS_Y)
    assert not hasattr(clf, "predict_proba")
    assert not hasattr(clf, "decision_function")
    with pytest.raises(AttributeError) as excinfo:
        clf.predict_proba(IRIS_X)
    # available_if chains the reason
    assert "not available when method='hard'" in str(excinfo.value.__cause__)


def test_hard_accepts_estimators_without_predict_proba():
    clf = LateFusionClassifier(
        [("sepal", SVC(), SEPAL), ("petal", SVC(), PETAL)], method="hard"
    ).fit(IRIS_X, IRIS_Y)
    assert clf.score(IRIS_X, IRIS_Y) > 0.8
    with pytest.raises(ValueError, match="'sepal' has no predict_proba"):
        clf.set_params(method="soft").fit(IRIS_X, IRIS_Y)


# --------------------------------------------------------------------------
# Stacking
# --------------------------------------------------------------------------


def test_stacking_matches_hand_computed_out_of_fold_model():
    cv = StratifiedKFold(4, shuffle=True, random_state=0)
    clf = iris_clf(method="stacking", cv=cv, weights=[1.0, 2.0]).fit(IRIS_X, IRIS_Y)
    oof = [
        weight
        * cross_val_predict(
            LogisticRegression(),
            IRIS_X[:, block],
            IRIS_Y,
            cv=cv,
            method="predict_proba",
        )
        for block, weight in ((SEPAL, 1.0), (PETAL, 2.0))
    ]
    final = LogisticRegression().fit(np.hstack(oof), IRIS_Y)
    assert_allclose(clf.final_estimator_.coef_, final.coef_)
    # base estimators are refitted on all rows
    assert_allclose(clf.named_estimators_.petal.coef_, lr_on(PETAL).coef_)
    meta = np.hstack(
        [
            1.0 * lr_on(SEPAL).predict_proba(IRIS_X[:, SEPAL]),
            2.0 * lr_on(PETAL).predict_proba(IRIS_X[:, PETAL]),
        ]
    )
    assert_allclose(clf.predict_proba(IRIS_X), final.predict_proba(meta))
    assert_allclose(clf.decision_function(IRIS_X), final.decision_function(meta))
    assert_array_equal(clf.predict(IRIS_X), final.predict(meta))


def test_stacking_binary_keeps_one_column_per_modality():
    y = (IRIS_Y == 2).astype(int)
    clf = iris_clf(method="stacking", cv=3).fit(IRIS_X, y)
    assert clf.final_estimator_.n_features_in_ == 2
    assert clf.decision_function(IRIS_X).shape == (150,)
    assert clf.predict_proba(IRIS_X).shape == (150, 2)


def test_stacking_final_estimator_without_decision_function():
    clf = iris_clf(method="stacking", final_estimator=GaussianNB(), cv=3)
    assert not hasattr(clf, "decision_function")
    clf.fit(IRIS_X, IRIS_Y)
    assert isinstance(clf.final_estimator_, GaussianNB)
    assert not hasattr(clf, "decision_function")
    assert clf.predict_proba(IRIS_X).shape == (150, 3)
    # a final estimator without predict_proba hides predict_proba
    no_proba = iris_clf(method="stacking", final_estimator=SVC(), cv=3).fit(
        IRIS_X, IRIS_Y
    )
    assert not hasattr(no_proba, "predict_proba")
    assert no_proba.score(IRIS_X, IRIS_Y) > 0.8
    assert not hasattr(iris_clf(), "decision_function")


def test_refit_with_other_method_drops_final_estimator():
    clf = iris_clf(method="stacking", cv=3).fit(IRIS_X, IRIS_Y)
    clf.set_params(method="soft").fit(IRIS_X, IRIS_Y)
    assert not hasattr(clf, "final_estimator_")


# --------------------------------------------------------------------------
# Real multimodal records: a text column and a numeric block
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["soft", "hard", "stacking"])
def test_text_and_numeric_dataframe(method):
    X, y = multimodal_frame()
    clf = multimodal_clf(method=method, cv=3).fit(X, y)
    assert_array_equal(clf.classes_, ["bird", "cat", "dog"])
    assert_array_equal(clf.feature_names_in_, ["id", "text", "height", "weight"])
    assert clf.n_features_in_ == 4
    pred = clf.predict(X)
    assert pred.dtype.kind in "OU" and set(pred) <= {"bird", "cat", "dog"}
    # each estimator learned from its own column, on the original labels
    text = clf.named_estimators_["text"]
    assert_array_equal(text.classes_, ["bird", "cat", "dog"])
    assert len(text[0].vocabulary_) == len(TfidfVectorizer().fit(X["text"]).vocabulary_)
    assert clf.named_estimators_.body.n_features_in_ == 2
    # fusion beats (or ties) the weaker modality on the training data
    body_alone = clf.named_estimators_.body.score(X[["height", "weight"]], y)
    text_alone = text.score(X["text"], y)
    assert clf.score(X, y) >= min(body_alone, text_alone)


def test_dataframe_columns_by_name_may_be_reordered_or_extra():
    X, y = multimodal_frame()
    clf = multimodal_clf().fit(X, y)
    shuffled = X[["weight", "text", "height"]].assign(other=1.0)
    assert_allclose(clf.predict_proba(shuffled), clf.predict_proba(X))
    with pytest.raises(ValueError, match=r"lacks the columns \['height'\]"):
        clf.predict(X.drop(columns="height"))


def test_object_array_with_integer_columns_matches_dataframe():
    X, y = multimodal_frame()
    frame_clf = multimodal_clf().fit(X, y)
    array = X[["text", "height", "weight"]].to_numpy(dtype=object)
    array_clf = LateFusionClassifier(
        [
            ("text", text_model(), 0),
            ("body", make_pipeline(StandardScaler(), LogisticRegression()), [1, 2]),
        ]
    ).fit(array, y)
    assert_allclose(array_clf.predict_proba(array), frame_clf.predict_proba(X))
    # a list of rows works as well
    assert_array_equal(array_clf.predict(array.tolist()), array_clf.predict(array))


def test_callable_column_selector():
    X, y = multimodal_frame()
    clf = LateFusionClassifier(
        [
            ("text", text_model(), "text"),
            (
                "body",
                LogisticRegression(),
                make_column_selector(pattern="^height$|^weight$"),
            ),
        ]
    ).fit(X, y)
    assert clf.named_estimators_.body.n_features_in_ == 2
    assert_array_equal(
        clf.named_estimators_.body.feature_names_in_, ["height", "weight"]
    )
    assert clf.predict(X).shape == (len(y),)


# --------------------------------------------------------------------------
# Missing cells
# --------------------------------------------------------------------------


def test_missing_rows_are_left_out_of_training():
    X, y = multimodal_frame()
    X.loc[[0, 5, 7], "text"] = None
    X.loc[[1, 2], "height"] = np.nan
    clf = multimodal_clf().fit(X, y)
    present_text = np.setdiff1d(np.arange(len(y)), [0, 5, 7])
    expected_text = text_model().fit(X["text"].iloc[present_text], y[present_text])
    assert_allclose(
        clf.named_estimators_.text[-1].coef_, expected_text[-1].coef_, rtol=1e-6
    )
    present_body = np.setdiff1d(np.arange(len(y)), [1, 2])
    assert clf.named_estimators_.body[0].n_samples_seen_ == len(present_body)


def test_missing_modality_vote_is_renormalised_per_row():
    X = IRIS_X.copy()
    X[[3, 60], 0] = np.nan  # sepal missing: petal alone decides
    X[[100], 3] = np.nan  # petal missing: sepal alone decides
    clf = iris_clf(weights={"sepal": 1.0, "petal": 3.0}).fit(X, IRIS_Y)
    keep_sepal = ~np.isnan(X[:, SEPAL]).any(axis=1)
    keep_petal = ~np.isnan(X[:, PETAL]).any(axis=1)
    sepal = lr_on(SEPAL, X=X, rows=keep_sepal)
    petal = lr_on(PETAL, X=X, rows=keep_petal)
    proba = clf.predict_proba(X)
    assert_allclose(proba[[3, 60]], petal.predict_proba(X[[3, 60]][:, PETAL]))
    assert_allclose(proba[[100]], sepal.predict_proba(X[[100]][:, SEPAL]))
    both = keep_sepal & keep_petal
    expected = (
        sepal.predict_proba(X[both][:, SEPAL])
        + 3 * petal.predict_proba(X[both][:, PETAL])
    ) / 4
    assert_allclose(proba[both], expected)
    assert_allclose(proba.sum(axis=1), 1.0)
    # hard voting: the remaining modality's vote decides
    hard = iris_clf(method="hard").fit(X, IRIS_Y)
    assert_array_equal(hard.predict(X[[3, 60]]), petal.predict(X[[3, 60]][:, PETAL]))


def test_missing_text_cell_at_predict_time():
    X, y = multimodal_frame()
    clf = multimodal_clf().fit(X, y)
    X_new = X.iloc[:4].copy()
    X_new.index = ["w", "x", "y", "z"]  # rows are taken by position, not label
    X_new.loc[["x", "z"], "text"] = [None, np.nan]
    body = clf.named_estimators_.body
    assert_allclose(
        clf.predict_proba(X_new)[[1, 3]],
        body.predict_proba(X_new[["height", "weight"]].iloc[[1, 3]]),
    )


@pytest.mark.parametrize("method", ["soft", "hard", "stacking"])
def test_row_with_every_modality_missing_raises(method):
    X = IRIS_X.copy()
    X[7, 0] = np.nan
    X[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"sample 7 \(row positions\): every modality"):
        iris_clf(method=method, cv=3).fit(X, IRIS_Y)
    clf = iris_clf(method=method, cv=3).fit(IRIS_X, IRIS_Y)
    X_new = IRIS_X[:15].copy()
    X_new[[4, 11], 1] = np.nan
    X_new[[4, 11], 3] = np.nan
    with pytest.raises(ValueError, match=r"samples \[4, 11\] \(row positions\)"):
        clf.predict(X_new)
    X_new[:, :] = np.nan
    with pytest.raises(ValueError, match=r"samples \[0, 1, .*, 9, ...\] \(15 in all\)"):
        clf.predict(X_new)


def test_every_modality_missing_in_a_dataframe_names_the_row():
    X, y = multimodal_frame()
    X.loc[3, "text"] = None
    X.loc[3, "weight"] = np.nan
    with pytest.raises(
        ValueError, match=r"sample 3 .*every modality \['text', 'body'\]"
    ):
        multimodal_clf().fit(X, y)


def test_only_zero_weight_modality_present_raises_at_predict():
    clf = iris_clf(weights={"sepal": 0.0}).fit(IRIS_X, IRIS_Y)
    X_new = IRIS_X[:3].copy()
    X_new[2, 3] = np.nan  # petal missing, only the zero-weight sepal is left
    with pytest.raises(
        ValueError, match=r"sample 2 .*only modalities with zero weight"
    ):
        clf.predict_proba(X_new)


def test_modality_missing_everywhere_raises():
    X = IRIS_X.copy()
    X[:, 0] = np.nan
    with pytest.raises(
        ValueError, match="'sepal' is missing .* in every one of the 150"
    ):
        iris_clf().fit(X, IRIS_Y)


def test_class_lost_to_missing_rows_keeps_proba_aligned():
    X = IRIS_X.copy()
    X[IRIS_Y == 2, 0] = np.nan  # sepal never sees class 2
    clf = iris_clf().fit(X, IRIS_Y)
    assert_array_equal(clf.named_estimators_.sepal.classes_, [0, 1])
    sepal = lr_on(SEPAL, X=X, rows=IRIS_Y != 2)
    petal = lr_on(PETAL)
    X_new = IRIS_X[[0, 60, 120]]
    sepal_proba = np.zeros((3, 3))
    sepal_proba[:, :2] = sepal.predict_proba(X_new[:, SEPAL])
    expected = (sepal_proba + petal.predict_proba(X_new[:, PETAL])) / 2
    assert_allclose(clf.predict_proba(X_new), expected)
    # with equal weights a tie goes to the first class, so petal weighs more
    hard = iris_clf(method="hard", weights={"petal": 2.0}).fit(X, IRIS_Y)
    assert set(hard.predict(IRIS_X)) == {0, 1, 2}


def test_stacking_with_missing_cells_uses_prior_fill_and_indicator():
    X = IRIS_X.copy()
    rng = np.random.RandomState(0)
    gone = rng.choice(150, 20, replace=False)
    X[gone, 1] = np.nan  # sepal missing in 20 rows, petal never
    clf = iris_clf(method="stacking", cv=3).fit(X, IRIS_Y)
    # sepal: 3 probabilities + its missingness indicator; petal: 3
    assert clf.final_estimator_.n_features_in_ == 7
    X_new = IRIS_X[:6].copy()
    X_new[0, 1] = np.nan
    X_new[1, 3] = np.nan  # petal was never missing in fit: prior fill, no indicator
    proba = clf.predict_proba(X_new)
    assert proba.shape == (6, 3)
    assert_allclose(proba.sum(axis=1), 1.0)
    meta = clf._stacked(X_new)
    assert_allclose(meta[0, :3], [1 / 3] * 3)  # class prior for the missing sepal
    assert_array_equal(meta[:, 3], [1, 0, 0, 0, 0, 0])  # sepal indicator
    assert_allclose(meta[1, 4:], [1 / 3] * 3)
    assert clf.score(X, IRIS_Y) > 0.9


def test_fit_error_of_a_modality_is_annotated():
    X = IRIS_X.copy()
    X[IRIS_Y != 0, 0] = np.nan  # sepal sees a single class
    with pytest.raises(ValueError) as excinfo:
        iris_clf().fit(X, IRIS_Y)
    if sys.version_info >= (3, 11):
        assert "modality 'sepal' on the 50 of 150 samples" in "".join(
            excinfo.value.__notes__
        )


# --------------------------------------------------------------------------
# Labels
# --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["soft", "hard", "stacking"])
def test_string_and_integer_labels_agree(method):
    names = np.array(["setosa", "versicolor", "virginica"])[IRIS_Y]
    by_name = iris_clf(method=method, cv=3).fit(IRIS_X, pd.Series(names))
    by_int = iris_clf(method=method, cv=3).fit(IRIS_X, IRIS_Y + 10)
    assert_array_equal(by_name.classes_, ["setosa", "versicolor", "virginica"])
    assert_array_equal(by_int.classes_, [10, 11, 12])
    assert_array_equal(
        by_name.predict(IRIS_X), by_name.classes_[by_int.predict(IRIS_X) - 10]
    )
    # the estimators learn the original labels, so they work on their own
    assert_array_equal(by_name.named_estimators_.sepal.classes_, by_name.classes_)


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, -1.0], r"weights\['petal'\] must be finite and non-negative"),
        ({"sepal": np.nan}, r"weights\['sepal'\] must be finite"),
        ([np.inf, 1.0], r"weights\['sepal'\] must be finite"),
        ([0.0, 0.0], "weights are all zero"),
        ({"sepal": 0, "petal": 0.0}, "weights are all zero"),
        ({"leaf": 1.0}, r"weights names \['leaf'\], which are not modalities"),
        ([1.0, 2.0, 3.0], "weights has 3 values but there are 2 modalities"),
        ([[1.0, 2.0]], "1-D sequence"),
        ({"sepal": "heavy"}, r"weights\['sepal'\] must be a real number"),
    ],
)
def test_invalid_weights(weights, match):
    with pytest.raises(ValueError, match=match):
        iris_clf(weights=weights).fit(IRIS_X, IRIS_Y)


@pytest.mark.parametrize(
    "estimators, error, match",
    [
        ([], ValueError, "estimators is empty: give at least one modality"),
        ([("a", LogisticRegression())], ValueError, r"\(name, estimator, column\)"),
        (
            [("a", LogisticRegression(), [0]), ("a", LogisticRegression(), [1])],
            ValueError,
            "'a' is used more than once",
        ),
        ([("a__b", LogisticRegression(), [0])], ValueError, "must not contain '__'"),
        ([("weights", LogisticRegression(), [0])], ValueError, "clash with parameters"),
        ([("a", LogisticRegression(), [0, 9])], ValueError, "column index 9"),
        ([("a", LogisticRegression(), "x")], ValueError, "needs a pandas DataFrame"),
        ([("a", LogisticRegression(), [0, 1, 0])], ValueError, r"columns \[0\] more"),
        ([("a", StandardScaler(), [0])], ValueError, "'a' must be a classifier"),
        ([("a", SVC(), [0])], ValueError, "'a' has no predict_proba"),
        ([("a", "drop", [0])], ValueError, "every modality is 'drop'"),
        ([("a", LogisticRegression(), 1.5)], TypeError, "a column must be"),
    ],
)
def test_invalid_estimators(estimators, error, match):
    with pytest.raises(error, match=match):
        LateFusionClassifier(estimators).fit(IRIS_X, IRIS_Y)


def test_unknown_dataframe_column_is_named():
    X, y = multimodal_frame()
    clf = LateFusionClassifier([("text", text_model(), "txt")])
    with pytest.raises(ValueError, match="column 'txt', which is not in the data"):
        clf.fit(X, y)


def test_invalid_parameters_and_inputs():
    with pytest.raises(ValueError, match="method"):
        iris_clf(method="average").fit(IRIS_X, IRIS_Y)
    with pytest.raises(ValueError, match="2-D input"):
        iris_clf().fit(IRIS_X[:, 0], IRIS_Y)
    with pytest.raises(ValueError, match="requires y"):
        iris_clf().fit(IRIS_X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        iris_clf().fit(IRIS_X, IRIS_X[:, 0])
    clf = iris_clf().fit(IRIS_X, IRIS_Y)
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.predict(IRIS_X[:, :3])


def test_verbose_prints_each_modality():
    out = io.StringIO()
    with redirect_stdout(out):
        iris_clf(verbose=True).fit(IRIS_X, IRIS_Y)
    assert re.search(r"\(1 of 2\) Processing sepal", out.getvalue())
    assert re.search(r"\(2 of 2\) Processing petal", out.getvalue())


# --------------------------------------------------------------------------
# Composition: params, search, clone, pickle, parallel, repr
# --------------------------------------------------------------------------


def test_get_and_set_params_of_estimators():
    clf = multimodal_clf()
    params = clf.get_params()
    assert params["text"] is clf.estimators[0][1]
    assert params["text__logisticregression__C"] == 10.0
    clf.set_params(text__logisticregression__C=0.5)
    assert clf.estimators[0][1][-1].C == 0.5
    # replacing or dropping an estimator keeps its column
    clf.set_params(body=GaussianNB())
    assert clf.estimators[1][2] == ["height", "weight"]
    assert isinstance(clf.estimators[1][1], GaussianNB)
    clf.set_params(text="drop")
    X, y = multimodal_frame()
    clf.fit(X, y)
    assert clf.named_estimators_.text == "drop"
    assert len(clf.estimators_) == 1 and clf.weights_ == {"body": 1.0}
    assert_allclose(
        clf.predict_proba(X),
        GaussianNB()
        .fit(X[["height", "weight"]], y)
        .predict_proba(X[["height", "weight"]]),
    )


def test_grid_search_over_weights_and_nested_params():
    X, y = multimodal_frame()
    grid = [
        {"text": 1.0, "body": 0.0},
        {"text": 0.0, "body": 1.0},
        {"text": 1.0, "body": 1.0},
    ]
    search = GridSearchCV(
        multimodal_clf(),
        {"weights": grid, "text__logisticregression__C": [0.1, 10.0]},
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 6
    assert search.best_params_["weights"] in grid
    assert search.best_estimator_.weights_ == search.best_params_["weights"]
    best_c = search.best_params_["text__logisticregression__C"]
    assert search.best_estimator_.named_estimators_.text[-1].C == best_c
    # on this toy, each modality is noisy and fusing them helps
    scores = dict(
        zip(
            map(str, search.cv_results_["params"]),
            search.cv_results_["mean_test_score"],
        )
    )
    fused = scores[str({"text__logisticregression__C": 10.0, "weights": grid[2]})]
    text_only = scores[str({"text__logisticregression__C": 10.0, "weights": grid[0]})]
    assert fused > text_only


def test_clone_and_pickle_round_trip():
    X, y = multimodal_frame()
    for method in ("soft", "stacking"):
        clf = multimodal_clf(method=method, cv=3).fit(X, y)
        unfitted = clone(clf)
        assert not hasattr(unfitted, "estimators_")
        assert (
            unfitted.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
        )
        restored = pickle.loads(pickle.dumps(clf))
        assert_allclose(restored.predict_proba(X), clf.predict_proba(X))
        assert_allclose(unfitted.fit(X, y).predict_proba(X), clf.predict_proba(X))


def test_n_jobs_2_equals_n_jobs_1():
    X, y = multimodal_frame()
    for method in ("soft", "stacking"):
        one = multimodal_clf(method=method, cv=3, n_jobs=1).fit(X, y)
        two = multimodal_clf(method=method, cv=3, n_jobs=2).fit(X, y)
        assert_allclose(two.predict_proba(X), one.predict_proba(X))


def test_html_repr_shows_modalities_and_final_estimator():
    html = iris_clf()._repr_html_()
    assert "sepal" in html and "petal" in html and "[0, 1]" in html
    stack_html = iris_clf(method="stacking", final_estimator=GaussianNB())._repr_html_()
    assert "final_estimator" in stack_html and "GaussianNB" in stack_html


def test_string_tag_follows_estimators():
    from sklearn.utils import get_tags

    assert get_tags(multimodal_clf()).input_tags.string
    assert not get_tags(iris_clf()).input_tags.string
    assert get_tags(iris_clf()).input_tags.allow_nan


# --------------------------------------------------------------------------
# scikit-learn's estimator checks, on numeric blocks
# --------------------------------------------------------------------------


def check_configurations():
    def estimators():
        return [
            ("first", GaussianNB(), HalfColumns(0)),
            ("second", DecisionTreeClassifier(random_state=0), HalfColumns(1)),
        ]

    return [
        LateFusionClassifier(estimators()),
        LateFusionClassifier(estimators(), weights=[1.0, 2.0], method="hard"),
        LateFusionClassifier(estimators(), method="stacking", cv=3),
    ]


@parametrize_with_checks(
    check_configurations(),
    expected_failed_checks=lambda estimator: LATE_FUSION_EXPECTED_FAILURES,
)
def test_sklearn_compatible(estimator, check):
    run_sklearn_check(check, estimator)


# --------------------------------------------------------------------------
# Sample weights and metadata routing
# --------------------------------------------------------------------------

IRIS_W = np.random.RandomState(0).randint(0, 4, len(IRIS_Y)).astype(float)
IRIS_REPEATED = np.repeat(np.arange(len(IRIS_Y)), IRIS_W.astype(int))


@pytest.mark.parametrize("method", ["soft", "hard"])
def test_sample_weight_equals_repeating_rows(method):
    weighted = iris_clf(method=method).fit(IRIS_X, IRIS_Y, sample_weight=IRIS_W)
    repeated = iris_clf(method=method).fit(IRIS_X[IRIS_REPEATED], IRIS_Y[IRIS_REPEATED])
    for name in ("sepal", "petal"):
        assert_allclose(
            weighted.named_estimators_[name].coef_,
            repeated.named_estimators_[name].coef_,
            rtol=1e-5,
            atol=1e-6,
        )
    assert_array_equal(weighted.predict(IRIS_X), repeated.predict(IRIS_X))
    unweighted = iris_clf(method=method).fit(IRIS_X, IRIS_Y)
    assert not np.allclose(
        unweighted.named_estimators_["sepal"].coef_,
        weighted.named_estimators_["sepal"].coef_,
    )


def test_sample_weight_follows_the_present_rows():
    # a missing cell removes the row, and its weight, from that modality only
    X = pd.DataFrame({"sepal": list(IRIS_X[:, SEPAL]), "petal": IRIS_X[:, 2]})
    X["sepal"] = X["sepal"].astype(object)
    missing = np.arange(0, len(X), 7)
    X.loc[missing, "petal"] = np.nan
    blocks = pd.DataFrame(IRIS_X[:, SEPAL], columns=["s0", "s1"])
    X = pd.concat([blocks, X[["petal"]]], axis=1)
    clf = LateFusionClassifier(
        [
            ("sepal", LogisticRegression(), ["s0", "s1"]),
            ("petal", LogisticRegression(), ["petal"]),
        ]
    ).fit(X, IRIS_Y, sample_weight=IRIS_W)
    present = np.setdiff1d(np.arange(len(X)), missing)
    expected = LogisticRegression().fit(
        X[["petal"]].iloc[present], IRIS_Y[present], sample_weight=IRIS_W[present]
    )
    assert_allclose(clf.named_estimators_["petal"].coef_, expected.coef_)
    expected = LogisticRegression().fit(X[["s0", "s1"]], IRIS_Y, sample_weight=IRIS_W)
    assert_allclose(clf.named_estimators_["sepal"].coef_, expected.coef_)


def test_sample_weight_reaches_a_pipelines_final_step():
    clf = LateFusionClassifier(
        [
            ("sepal", make_pipeline(StandardScaler(), LogisticRegression()), SEPAL),
            ("petal", LogisticRegression(), PETAL),
        ]
    ).fit(IRIS_X, IRIS_Y, sample_weight=IRIS_W)
    expected = make_pipeline(StandardScaler(), LogisticRegression()).fit(
        IRIS_X[:, SEPAL], IRIS_Y, logisticregression__sample_weight=IRIS_W
    )
    assert_allclose(
        clf.named_estimators_["sepal"][-1].coef_, expected[-1].coef_, rtol=1e-6
    )


def test_stacking_gives_sample_weight_to_the_final_estimator():
    weighted = iris_clf(method="stacking", cv=3).fit(
        IRIS_X, IRIS_Y, sample_weight=IRIS_W
    )
    # by hand: weighted out-of-fold probabilities on the same folds, then a
    # weighted final estimator, as StackingClassifier does
    splits = list(StratifiedKFold(3).split(IRIS_X, IRIS_Y))
    meta = np.hstack(
        [
            cross_val_predict(
                LogisticRegression(),
                IRIS_X[:, block],
                IRIS_Y,
                cv=splits,
                method="predict_proba",
                params={"sample_weight": IRIS_W},
            )
            for block in (SEPAL, PETAL)
        ]
    )
    expected = LogisticRegression().fit(meta, IRIS_Y, sample_weight=IRIS_W)
    assert_allclose(weighted.final_estimator_.coef_, expected.coef_, rtol=1e-5)
    unweighted = iris_clf(method="stacking", cv=3).fit(IRIS_X, IRIS_Y)
    assert not np.allclose(
        weighted.final_estimator_.coef_, unweighted.final_estimator_.coef_
    )


def test_sample_weight_unsupported_names_the_modality():
    from sklearn.neighbors import KNeighborsClassifier

    clf = LateFusionClassifier(
        [
            ("sepal", LogisticRegression(), SEPAL),
            ("petal", make_pipeline(StandardScaler(), KNeighborsClassifier()), PETAL),
        ]
    )
    with pytest.raises(
        TypeError, match=r"modality 'petal' \(KNeighborsClassifier\) does not take"
    ):
        clf.fit(IRIS_X, IRIS_Y, sample_weight=IRIS_W)
    stack = iris_clf(method="stacking", final_estimator=KNeighborsClassifier())
    with pytest.raises(TypeError, match=r"final_estimator \(KNeighborsClassifier\)"):
        stack.fit(IRIS_X, IRIS_Y, sample_weight=IRIS_W)
    # other metadata need routing, as in scikit-learn
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        iris_clf().fit(IRIS_X, IRIS_Y, groups=IRIS_Y)


def _routed_clf():
    return LateFusionClassifier(
        [
            (
                "sepal",
                make_pipeline(
                    StandardScaler().set_fit_request(sample_weight=False),
                    LogisticRegression().set_fit_request(sample_weight=True),
                ),
                SEPAL,
            ),
            ("petal", LogisticRegression().set_fit_request(sample_weight=False), PETAL),
        ]
    )


def test_metadata_routing_through_grid_search_and_cross_validate():
    import sklearn
    from sklearn.model_selection import cross_validate

    with sklearn.config_context(enable_metadata_routing=True):
        routing = _routed_clf().get_metadata_routing()
        assert routing.consumes("fit", ["sample_weight"]) == {"sample_weight"}
        search = GridSearchCV(_routed_clf(), {"weights": [None, [1.0, 3.0]]}, cv=3).fit(
            IRIS_X, IRIS_Y, sample_weight=IRIS_W
        )
        best = search.best_estimator_
        # "sepal" got the weights (its final step requested them), "petal" not
        expected = LogisticRegression().fit(
            StandardScaler().fit_transform(IRIS_X[:, SEPAL]),
            IRIS_Y,
            sample_weight=IRIS_W,
        )
        assert_allclose(
            best.named_estimators_["sepal"][-1].coef_, expected.coef_, rtol=1e-5
        )
        assert_allclose(
            best.named_estimators_["petal"].coef_, lr_on(PETAL).coef_, rtol=1e-6
        )
        scores = cross_validate(
            _routed_clf(), IRIS_X, IRIS_Y, cv=3, params={"sample_weight": IRIS_W}
        )
        assert scores["test_score"].min() > 0.8
        # a request left unset is scikit-learn's error, naming the estimator
        from sklearn.exceptions import UnsetMetadataPassedError

        with pytest.raises(UnsetMetadataPassedError, match="LogisticRegression"):
            iris_clf().fit(IRIS_X, IRIS_Y, sample_weight=IRIS_W)


def test_huge_equal_weights_give_the_equal_weight_result():
    # issue 22: weights of 1e308 pass the finite check; only their ratios
    # matter to a weighted mean, so they must not overflow to zeros
    for method in ("soft", "hard"):
        huge = iris_clf(method=method, weights=[1e308, 1e308]).fit(IRIS_X, IRIS_Y)
        unit = iris_clf(method=method).fit(IRIS_X, IRIS_Y)
        assert_array_equal(huge.predict(IRIS_X), unit.predict(IRIS_X))
    huge = iris_clf(weights=[1e308, 1e308]).fit(IRIS_X, IRIS_Y)
    unit = iris_clf().fit(IRIS_X, IRIS_Y)
    assert_allclose(huge.predict_proba(IRIS_X), unit.predict_proba(IRIS_X))


def test_stacking_refuses_weights_whose_squares_overflow():
    # Stacking multiplies the meta-features by the weights (their scale
    # matters to the final estimator): 1e200 gave a final estimator fitted on
    # nothing, with only lbfgs's convergence warning; now a clear error.
    with pytest.raises(ValueError, match=r"overflow float64 with weights"):
        iris_clf(method="stacking", weights=[1e200, 1e200]).fit(IRIS_X, IRIS_Y)
    # a large but safe scale still fits
    iris_clf(method="stacking", weights=[1e100, 1e100]).fit(IRIS_X, IRIS_Y)


def test_single_row_with_a_missing_modality_is_predicted():
    clf = iris_clf().fit(IRIS_X, IRIS_Y)
    one = IRIS_X[:1].copy()
    one[0, 0] = np.nan
    petal = lr_on(PETAL)
    assert_allclose(clf.predict_proba(one), petal.predict_proba(one[:, PETAL]))
