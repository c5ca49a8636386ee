"""Tests for sklearn_mbm.ensemble.LateFusionRegressor (what it shares with
LateFusionClassifier, in sklearn_mbm.ensemble._base, is tested there too)."""

import io
import pickle
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.datasets import load_diabetes
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LinearRegression, LogisticRegression, Ridge, RidgeCV
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_predict,
    cross_val_score,
)
from sklearn.neighbors import KNeighborsRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import estimator_html_repr, get_tags

from sklearn_mbm import LateFusionRegressor

X_DIA, Y_DIA = load_diabetes(return_X_y=True)
BODY, BLOOD = [0, 1, 2, 3], [4, 5, 6, 7, 8, 9]


def diabetes_reg(**params):
    return LateFusionRegressor(
        [("body", Ridge(alpha=0.1), BODY), ("blood", Ridge(alpha=0.1), BLOOD)],
        **params,
    )


def ridge_on(block, X=X_DIA, y=Y_DIA, rows=slice(None), **fit_params):
    """A Ridge fitted on one block alone, for hand computations."""
    return Ridge(alpha=0.1).fit(X[rows][:, block], y[rows], **fit_params)


def with_missing(X, rows, block):
    X = X.copy()
    X[np.ix_(rows, block[:1])] = np.nan  # a NaN in any cell of the block
    return X


# --------------------------------------------------------------------------
# Weighted mean
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "weights, expected",
    [
        (None, {"body": 1.0, "blood": 1.0}),
        ([1.0, 3.0], {"body": 1.0, "blood": 3.0}),
        ({"blood": 0.5}, {"body": 1.0, "blood": 0.5}),
    ],
)
def test_weighted_mean_of_the_modalities(weights, expected):
    reg = diabetes_reg(weights=weights).fit(X_DIA, Y_DIA)
    assert reg.weights_ == expected
    body = ridge_on(BODY).predict(X_DIA[:, BODY])
    blood = ridge_on(BLOOD).predict(X_DIA[:, BLOOD])
    w_body, w_blood = expected["body"], expected["blood"]
    assert_allclose(
        reg.predict(X_DIA), (w_body * body + w_blood * blood) / (w_body + w_blood)
    )
    assert_allclose(reg.named_estimators_.body.coef_, ridge_on(BODY).coef_)
    assert reg.score(X_DIA, Y_DIA) > 0.4


def test_zero_weight_and_drop_leave_the_other_modality():
    alone = ridge_on(BLOOD).predict(X_DIA[:, BLOOD])
    zero = diabetes_reg(weights={"body": 0.0}).fit(X_DIA, Y_DIA)
    assert_allclose(zero.predict(X_DIA), alone)
    dropped = diabetes_reg().set_params(body="drop").fit(X_DIA, Y_DIA)
    assert dropped.named_estimators_.body == "drop"
    assert list(dropped.weights_) == ["blood"]
    assert_allclose(dropped.predict(X_DIA), alone)


@pytest.mark.parametrize(
    "weights, match",
    [
        ([1.0, -1.0], r"weights\['blood'\] must be finite and non-negative"),
        ({"body": np.nan}, r"weights\['body'\] must be finite and non-negative"),
        ([0, 0.0], "weights are all zero for the modalities"),
        ({"leaf": 1.0}, r"weights names \['leaf'\], which are not modalities"),
        ([1.0, 2.0, 3.0], "weights has 3 values but there are 2 modalities"),
        ({"body": "heavy"}, r"weights\['body'\] must be a real number"),
    ],
)
def test_invalid_weights_share_the_rule_of_every_composition(weights, match):
    with pytest.raises(ValueError, match=match):
        diabetes_reg(weights=weights).fit(X_DIA, Y_DIA)


def test_weights_are_searched_by_grid_search():
    search = GridSearchCV(
        diabetes_reg(), {"weights": [[1, 0], [0, 1], [1, 1]]}, cv=3
    ).fit(X_DIA, Y_DIA)
    assert search.best_params_["weights"] == [1, 1]
    assert search.best_estimator_.weights_ == {"body": 1.0, "blood": 1.0}


# --------------------------------------------------------------------------
# Missing modalities
# --------------------------------------------------------------------------


def test_missing_cells_leave_out_the_modality_per_row():
    rows = np.arange(0, 60, 3)
    X = with_missing(X_DIA, rows, BODY)
    reg = diabetes_reg(weights=[1.0, 2.0]).fit(X, Y_DIA)
    present = np.setdiff1d(np.arange(len(Y_DIA)), rows)
    # the body model learnt only from the rows where body is present
    assert_allclose(
        reg.named_estimators_.body.coef_, ridge_on(BODY, rows=present).coef_
    )
    assert_allclose(reg.named_estimators_.blood.coef_, ridge_on(BLOOD).coef_)
    pred = reg.predict(X)
    blood = reg.named_estimators_.blood.predict(X[:, BLOOD])
    body = reg.named_estimators_.body.predict(X_DIA[present][:, BODY])
    # where body is missing only blood votes; elsewhere the weighted mean
    assert_allclose(pred[rows], blood[rows])
    assert_allclose(pred[present], (body + 2 * blood[present]) / 3)


def test_rows_without_any_modality_are_named():
    X = with_missing(with_missing(X_DIA, [5], BODY), [5], BLOOD)
    with pytest.raises(ValueError, match=r"sample 5 \(row positions\): every modality"):
        diabetes_reg().fit(X, Y_DIA)
    reg = diabetes_reg().fit(X_DIA, Y_DIA)
    with pytest.raises(ValueError, match=r"sample 5 .*nothing to predict from"):
        reg.predict(X)
    zero = diabetes_reg(weights=[0, 1]).fit(X_DIA, Y_DIA)
    with pytest.raises(ValueError, match="only modalities with zero weight"):
        zero.predict(with_missing(X_DIA, [2], BLOOD))


def test_stacking_learns_from_out_of_fold_predictions():
    cv = KFold(4, shuffle=True, random_state=0)
    reg = diabetes_reg(method="stacking", cv=cv).fit(X_DIA, Y_DIA)
    assert isinstance(reg.final_estimator_, RidgeCV)
    oof = np.column_stack(
        [
            cross_val_predict(Ridge(alpha=0.1), X_DIA[:, block], Y_DIA, cv=cv)
            for block in (BODY, BLOOD)
        ]
    )
    by_hand = RidgeCV().fit(oof, Y_DIA)
    assert_allclose(reg.final_estimator_.coef_, by_hand.coef_)
    # at predict time the refitted estimators' predictions are stacked
    refitted = np.column_stack(
        [ridge_on(block).predict(X_DIA[:, block]) for block in (BODY, BLOOD)]
    )
    assert_allclose(reg.predict(X_DIA), by_hand.predict(refitted))


def test_stacking_fills_a_missing_prediction_with_the_target_mean():
    rows = np.arange(0, 100, 4)
    X = with_missing(X_DIA, rows, BLOOD)
    reg = diabetes_reg(method="stacking", weights=[1.0, 2.0], cv=4).fit(X, Y_DIA)
    # meta-features: body's prediction, blood's (the training mean where
    # missing) and blood's missingness indicator, each times its weight
    meta = reg._stacked(X)
    assert meta.shape == (len(Y_DIA), 3)
    assert_allclose(meta[rows, 1], 2.0 * Y_DIA.mean())
    assert_array_equal(meta[:, 2], 2.0 * np.isin(np.arange(len(Y_DIA)), rows))
    assert_allclose(reg.predict(X), reg.final_estimator_.predict(meta))
    # a modality never missing during fit gets the fill alone, no indicator
    gaps = reg.predict(with_missing(X_DIA, [1, 2], BODY))
    assert np.isfinite(gaps).all()


def test_stacking_learns_which_modality_to_trust():
    rng = np.random.RandomState(0)
    noisy = np.column_stack([X_DIA[:, BLOOD], rng.normal(size=(len(Y_DIA), 3))])
    modalities = [
        ("blood", LinearRegression(), [0, 1, 2, 3, 4, 5]),
        ("noise", Ridge(), [6, 7, 8]),
    ]
    cv = KFold(5, shuffle=True, random_state=0)
    stack = LateFusionRegressor(
        modalities, method="stacking", final_estimator=LinearRegression(), cv=cv
    ).fit(noisy, Y_DIA)
    assert stack.final_estimator_.coef_[0] > 0.8
    # on held-out rows it beats the equal-weight mean, which lets noise vote
    stack_r2 = cross_val_score(stack, noisy, Y_DIA, cv=cv).mean()
    mean_r2 = cross_val_score(LateFusionRegressor(modalities), noisy, Y_DIA, cv=cv)
    assert stack_r2 > mean_r2.mean() + 0.05


# --------------------------------------------------------------------------
# Sample weights and metadata routing
# --------------------------------------------------------------------------

W = np.random.RandomState(0).randint(0, 4, len(Y_DIA)).astype(float)
REPEATED = np.repeat(np.arange(len(Y_DIA)), W.astype(int))


def test_sample_weight_equals_repeating_rows():
    weighted = diabetes_reg(weights=[1, 2]).fit(X_DIA, Y_DIA, sample_weight=W)
    repeated = diabetes_reg(weights=[1, 2]).fit(X_DIA[REPEATED], Y_DIA[REPEATED])
    for name in ("body", "blood"):
        assert_allclose(
            weighted.named_estimators_[name].coef_,
            repeated.named_estimators_[name].coef_,
            rtol=1e-6,
        )
    assert_allclose(weighted.predict(X_DIA), repeated.predict(X_DIA), rtol=1e-6)
    unweighted = diabetes_reg(weights=[1, 2]).fit(X_DIA, Y_DIA)
    assert not np.allclose(weighted.predict(X_DIA), unweighted.predict(X_DIA))


def test_sample_weight_follows_the_present_rows_and_reaches_pipelines():
    rows = np.arange(0, 90, 3)
    X = with_missing(X_DIA, rows, BODY)
    reg = LateFusionRegressor(
        [
            ("body", make_pipeline(StandardScaler(), Ridge(alpha=0.1)), BODY),
            ("blood", Ridge(alpha=0.1), BLOOD),
        ],
        method="stacking",
        cv=3,
    ).fit(X, Y_DIA, sample_weight=W)
    present = np.setdiff1d(np.arange(len(Y_DIA)), rows)
    by_hand = make_pipeline(StandardScaler(), Ridge(alpha=0.1)).fit(
        X_DIA[present][:, BODY], Y_DIA[present], ridge__sample_weight=W[present]
    )
    assert_allclose(reg.named_estimators_.body[-1].coef_, by_hand[-1].coef_)


def test_estimator_without_sample_weight_is_named():
    reg = LateFusionRegressor(
        [("body", Ridge(), BODY), ("blood", KNeighborsRegressor(), BLOOD)]
    )
    with pytest.raises(
        TypeError, match=r"modality 'blood' \(KNeighborsRegressor\) does not take"
    ):
        reg.fit(X_DIA, Y_DIA, sample_weight=W)
    stack = diabetes_reg(method="stacking", final_estimator=KNeighborsRegressor())
    with pytest.raises(TypeError, match=r"final_estimator \(KNeighborsRegressor\)"):
        stack.fit(X_DIA, Y_DIA, sample_weight=W)
    with pytest.raises(ValueError, match="enable_metadata_routing"):
        diabetes_reg().fit(X_DIA, Y_DIA, other=W)


def test_metadata_routing_through_grid_search():
    with sklearn.config_context(enable_metadata_routing=True):
        reg = LateFusionRegressor(
            [
                ("body", Ridge(alpha=0.1).set_fit_request(sample_weight=True), BODY),
                (
                    "blood",
                    KNeighborsRegressor(),  # takes no sample_weight: not requested
                    BLOOD,
                ),
            ]
        )
        search = GridSearchCV(reg, {"weights": [[1, 1], [2, 1]]}, cv=3).fit(
            X_DIA, Y_DIA, sample_weight=W
        )
        best = search.best_estimator_
        assert_allclose(
            best.named_estimators_.body.coef_, ridge_on(BODY, sample_weight=W).coef_
        )
        # without weights the search refits another body model
        plain = GridSearchCV(reg, {"weights": [[1, 1], [2, 1]]}, cv=3).fit(X_DIA, Y_DIA)
        assert not np.allclose(
            plain.best_estimator_.named_estimators_.body.coef_,
            best.named_estimators_.body.coef_,
        )
        unrequested = LateFusionRegressor(
            [("body", Ridge(), BODY), ("blood", Ridge(), BLOOD)]
        )
        with pytest.raises(UnsetMetadataPassedError, match="Ridge"):
            unrequested.fit(X_DIA, Y_DIA, sample_weight=W)


# --------------------------------------------------------------------------
# Validation, tags, display, persistence
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "estimators, match",
    [
        ([("a", LogisticRegression(), BODY)], "'a' must be a regressor"),
        ([("a", StandardScaler(), BODY)], "'a' must be a regressor"),
        ([], "estimators is empty: give at least one modality"),
        ([("a", Ridge())], r"\(name, estimator, column\)"),
        ([("weights", Ridge(), BODY)], "clash with parameters"),
        ([("a", "drop", BODY)], "every modality is 'drop'"),
    ],
)
def test_invalid_estimators(estimators, match):
    with pytest.raises(ValueError, match=match):
        LateFusionRegressor(estimators).fit(X_DIA, Y_DIA)


def test_invalid_parameters_and_inputs():
    with pytest.raises(ValueError, match="'method' parameter"):
        diabetes_reg(method="soft").fit(X_DIA, Y_DIA)
    with pytest.raises(ValueError, match="requires y to be passed"):
        diabetes_reg().fit(X_DIA, None)
    with pytest.raises(ValueError, match="numeric"):
        diabetes_reg().fit(X_DIA, np.array(["a"] * len(Y_DIA)))
    with pytest.raises(ValueError, match="Expected a 2-D input"):
        diabetes_reg().fit(X_DIA[:, 0], Y_DIA)
    with pytest.raises(TypeError):
        LateFusionRegressor([("a", Ridge(), BODY)], None)  # keyword-only
    reg = diabetes_reg().fit(X_DIA, Y_DIA)
    with pytest.raises(ValueError, match="X has 9 features"):
        reg.predict(X_DIA[:, :9])


def test_dataframe_with_text_and_numbers():
    rng = np.random.RandomState(0)
    words = np.array(["low", "mid", "high"])
    level = rng.randint(0, 3, 120)
    frame = pd.DataFrame(
        {
            "note": [f"{words[k]} reading today" for k in level],
            "x": level + rng.normal(0, 0.3, 120),
        }
    )
    y = 10.0 * level + rng.normal(0, 1, 120)
    reg = LateFusionRegressor(
        [
            ("note", make_pipeline(TfidfVectorizer(), Ridge(alpha=0.01)), "note"),
            ("x", LinearRegression(), ["x"]),
        ]
    ).fit(frame, y)
    assert get_tags(reg).input_tags.string and get_tags(reg).input_tags.allow_nan
    assert list(reg.feature_names_in_) == ["note", "x"]
    assert reg.score(frame, y) > 0.95
    # columns are found by name: reordered, with extra ones
    shuffled = frame[["x", "note"]].assign(extra=1)
    assert_allclose(reg.predict(shuffled), reg.predict(frame))


def test_parallel_verbose_and_html_repr():
    serial = diabetes_reg(method="stacking", cv=3).fit(X_DIA, Y_DIA)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        parallel = diabetes_reg(method="stacking", cv=3, verbose=True).fit(X_DIA, Y_DIA)
    assert "(2 of 2) Processing blood" in buffer.getvalue()
    two_jobs = diabetes_reg(method="stacking", cv=3, n_jobs=2).fit(X_DIA, Y_DIA)
    assert_allclose(two_jobs.predict(X_DIA), serial.predict(X_DIA))
    assert_allclose(parallel.predict(X_DIA), serial.predict(X_DIA))
    html = estimator_html_repr(serial)
    assert "final_estimator" in html and "RidgeCV" in html and "blood" in html
    assert "RidgeCV" not in estimator_html_repr(diabetes_reg())


def test_pickle_and_clone_round_trip():
    reg = diabetes_reg(method="stacking", cv=3).fit(X_DIA, Y_DIA)
    loaded = pickle.loads(pickle.dumps(reg))
    assert_array_equal(loaded.predict(X_DIA), reg.predict(X_DIA))
    fresh = clone(reg)
    assert not hasattr(fresh, "estimators_")
    assert fresh.get_params()["body__alpha"] == 0.1
    # refitting with the mean leaves no stale final estimator
    assert not hasattr(
        reg.set_params(method="mean").fit(X_DIA, Y_DIA), "final_estimator_"
    )


def test_polars_frame_gives_the_pandas_results():
    import polars as pl

    frame = pd.DataFrame(X_DIA, columns=[f"c{i}" for i in range(10)])
    body, blood = [f"c{i}" for i in BODY], [f"c{i}" for i in BLOOD]
    reg = LateFusionRegressor([("body", Ridge(), body), ("blood", Ridge(), blood)])
    on_pandas = reg.fit(frame, Y_DIA).predict(frame)
    on_polars = clone(reg).fit(pl.from_pandas(frame), Y_DIA)
    assert list(on_polars.feature_names_in_) == list(frame.columns)
    assert_allclose(on_polars.predict(pl.from_pandas(frame)), on_pandas)


def test_huge_equal_weights_give_the_equal_weight_mean():
    # issue 22: 1e308 + 1e308 overflows; the weighted mean uses the ratios
    huge = diabetes_reg(weights=[1e308, 1e308]).fit(X_DIA, Y_DIA)
    unit = diabetes_reg().fit(X_DIA, Y_DIA)
    assert_allclose(huge.predict(X_DIA), unit.predict(X_DIA))
