"""Tests for sklearn_mbm.fusion._weight_search: fusion_weight_grid and
fusion_weight_distribution (also importable from sklearn_mbm.fusion)."""

import pickle

import numpy as np
import pytest
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import HalvingRandomSearchCV, RandomizedSearchCV
from sklearn.pipeline import Pipeline

from sklearn_mbm import (
    FusionTransformer,
    fusion_weight_distribution,
    fusion_weight_grid,
)

NAMES = ["image", "audio", "text"]


def _pipeline():
    fusion = FusionTransformer(
        [
            ("a", "passthrough", [0, 1, 2, 3]),
            ("b", "passthrough", [4, 5, 6, 7, 8, 9]),
            ("noise", "passthrough", [10, 11, 12]),
        ],
        normalize="block",
    )
    return Pipeline([("fusion", fusion), ("clf", LogisticRegression())])


def test_importable_from_fusion_and_top_level():
    import sklearn_mbm
    import sklearn_mbm.fusion as fusion

    assert fusion.fusion_weight_grid is sklearn_mbm.fusion_weight_grid
    assert fusion.fusion_weight_distribution is sklearn_mbm.fusion_weight_distribution
    assert "fusion_weight_distribution" in sklearn_mbm.__all__
    assert "fusion_weight_distribution" in dir(sklearn_mbm)


# --------------------------------------------------------------------------
# fusion_weight_grid
# --------------------------------------------------------------------------


def test_weight_grid_keeps_points_that_differ_in_scale():
    # issue 22.1: (0.5, 0.5) and (1, 1) are distinct candidates, and the
    # grid holds FusionTransformer's own default weights (all 1)
    grid = fusion_weight_grid(["a", "b"])
    assert {"a": 0.0, "b": 0.0} not in grid
    assert len(grid) == 8
    assert {"a": 0.5, "b": 0.5} in grid and {"a": 1.0, "b": 1.0} in grid
    assert all(
        dict.fromkeys(names, 1.0) in fusion_weight_grid(names)
        for names in (["a"], ["a", "b"], NAMES)
    )


def test_weight_grid_unique_up_to_scale_on_request():
    grid = fusion_weight_grid(["a", "b"], unique_up_to_scale=True)
    directions = {round(g["a"] / (g["a"] + g["b"]), 9) for g in grid}
    assert len(directions) == len(grid) == 5
    # (0.5, 0.5) and (1, 1) are the same direction: the first is kept
    assert [g for g in grid if g["a"] == g["b"]] == [{"a": 0.5, "b": 0.5}]


def test_scale_of_the_weights_changes_a_regularised_fit(blobs):
    """Guard of the reason behind keeping scaled points: with
    normalize="block" and a LogisticRegression, (0.5, 0.5, 0.5) and
    (1, 1, 1) fit different models (compared with plain scikit-learn on
    the same blocks)."""
    X, y = blobs
    model = _pipeline()
    half = model.set_params(fusion__weights=dict.fromkeys(["a", "b", "noise"], 0.5))
    coef_half = half.fit(X, y)["clf"].coef_.copy()
    one = model.set_params(fusion__weights=None).fit(X, y)
    assert not np.allclose(one["clf"].coef_, coef_half, rtol=1e-3)
    # the reference: LogisticRegression on the fused features, scaled by 0.5
    Z = one["fusion"].transform(X)
    reference = LogisticRegression().fit(0.5 * Z, y).coef_
    np.testing.assert_allclose(coef_half, reference, rtol=1e-6, atol=1e-8)


def test_weight_grid_three_modalities():
    grid = fusion_weight_grid(["image", "audio", "text"])
    assert len(grid) == 26
    assert all(set(g) == {"image", "audio", "text"} for g in grid)
    assert len(fusion_weight_grid(NAMES, unique_up_to_scale=True)) == 19


def test_weight_grid_exact_duplicates_listed_once():
    grid = fusion_weight_grid(["a", "b"], values=(0, 1, 1))
    assert grid == [{"a": 0.0, "b": 1.0}, {"a": 1.0, "b": 0.0}, {"a": 1.0, "b": 1.0}]


def test_weight_grid_simplex_sums_to_one():
    grid = fusion_weight_grid(["a", "b", "c"], values=(0, 1, 2, 3), simplex=True)
    assert all(sum(g.values()) == pytest.approx(1.0) for g in grid)
    assert {"a": 1.0, "b": 0.0, "c": 0.0} in grid
    # points equal up to scale are the same point on the simplex: listed once
    points = [tuple(g.values()) for g in grid]
    assert len(points) == len(set(points))


@pytest.mark.parametrize(
    "names, values, match",
    [
        (["a", "a"], (0, 1), "used more than once"),
        ([], (0, 1), "names is empty"),
        (["a"], (-1, 1), "finite and >= 0"),
        (["a"], (), "finite and >= 0"),
    ],
)
def test_weight_grid_errors(names, values, match):
    with pytest.raises(ValueError, match=match):
        fusion_weight_grid(names, values=values)


# --------------------------------------------------------------------------
# fusion_weight_distribution
# --------------------------------------------------------------------------


def test_draws_are_dicts_on_the_simplex():
    distribution = fusion_weight_distribution(NAMES)
    draws = distribution.rvs(size=200, random_state=0)
    assert len(draws) == 200
    for draw in draws:
        assert list(draw) == NAMES
        assert all(isinstance(w, float) and w > 0 for w in draw.values())
        assert sum(draw.values()) == pytest.approx(1.0)
    # not all equal: a continuous distribution
    assert len({tuple(d.values()) for d in draws}) == 200
    assert isinstance(distribution.rvs(random_state=0), dict)


def test_scale_multiplies_every_draw():
    distribution = fusion_weight_distribution(NAMES, scale=3)
    for draw in distribution.rvs(size=50, random_state=1):
        assert sum(draw.values()) == pytest.approx(3.0)
    unscaled = fusion_weight_distribution(NAMES).rvs(random_state=1)
    scaled = distribution.rvs(random_state=1)
    assert scaled == pytest.approx({k: 3 * v for k, v in unscaled.items()})


def test_reproducible_with_a_seed():
    distribution = fusion_weight_distribution(NAMES, alpha=[1, 2, 0.5])
    assert distribution.rvs(size=5, random_state=42) == distribution.rvs(
        size=5, random_state=42
    )
    assert distribution.rvs(random_state=1) != distribution.rvs(random_state=2)
    # a RandomState (as the searches pass) and a Generator advance
    rng = np.random.RandomState(0)
    first, second = distribution.rvs(random_state=rng), distribution.rvs(
        random_state=rng
    )
    assert first != second
    assert first == distribution.rvs(random_state=np.random.RandomState(0))
    generator = np.random.default_rng(0)
    assert distribution.rvs(random_state=generator) != distribution.rvs(
        random_state=generator
    )


@pytest.mark.parametrize(
    "alpha", [1.0, 0.3, 5.0, [4.0, 1.0, 1.0], {"text": 2.0, "image": 1.0, "audio": 1}]
)
def test_sample_mean_matches_alpha(alpha):
    distribution = fusion_weight_distribution(NAMES, alpha=alpha)
    draws = np.array(
        [list(d.values()) for d in distribution.rvs(size=20000, random_state=0)]
    )
    if isinstance(alpha, dict):
        a = np.array([alpha[name] for name in NAMES], dtype=float)
    else:
        a = np.broadcast_to(np.asarray(alpha, dtype=float), (3,))
    expected = a / a.sum()
    np.testing.assert_allclose(draws.mean(axis=0), expected, atol=0.01)
    assert list(distribution.mean().values()) == pytest.approx(expected)
    # the Dirichlet variance: larger alpha, tighter around the mean
    variance = expected * (1 - expected) / (a.sum() + 1)
    np.testing.assert_allclose(draws.var(axis=0), variance, rtol=0.1)


def test_single_modality_is_weight_one():
    draw = fusion_weight_distribution(["audio"], scale=2).rvs(random_state=0)
    assert draw == {"audio": 2.0}


def test_repr_and_pickle():
    distribution = fusion_weight_distribution(NAMES)
    assert repr(distribution) == (
        "fusion_weight_distribution(['image', 'audio', 'text'], alpha=1.0, "
        "scale=None)"
    )
    uneven = fusion_weight_distribution(["a", "b"], alpha=[2, 1], scale=10)
    assert repr(uneven) == (
        "fusion_weight_distribution(['a', 'b'], alpha=[2.0, 1.0], scale=10.0)"
    )
    restored = pickle.loads(pickle.dumps(uneven))
    assert restored.rvs(random_state=3) == uneven.rvs(random_state=3)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"names": []}, ValueError, "names is empty"),
        ({"names": ["a", "a"]}, ValueError, "used more than once"),
        ({"names": ["a", 1]}, TypeError, "names must be str"),
        ({"alpha": 0}, ValueError, r"alpha must be finite and > 0, got 0.0"),
        ({"alpha": -1.0}, ValueError, "alpha must be finite and > 0"),
        ({"alpha": np.inf}, ValueError, "alpha must be finite and > 0"),
        ({"alpha": "1"}, TypeError, "alpha must be a float or a sequence"),
        ({"alpha": [1, 2]}, ValueError, r"alpha has 2 values for 3 names"),
        ({"alpha": [1, 0, 1]}, ValueError, r"alpha\[1\] \('audio'\) must be"),
        ({"alpha": [1, None, 1]}, TypeError, r"alpha\[1\] \('audio'\) must be a real"),
        ({"alpha": {"image": 1}}, ValueError, r"missing \['audio', 'text'\]"),
        (
            {"alpha": {"image": 1, "audio": 1, "text": 1, "video": 1}},
            ValueError,
            r"unknown \['video'\]",
        ),
        ({"scale": 0}, ValueError, "scale must be finite and > 0"),
        ({"scale": np.nan}, ValueError, "scale must be finite and > 0"),
        ({"scale": True}, TypeError, "scale must be a real number"),
    ],
)
def test_invalid_arguments(kwargs, error, match):
    kwargs = {"names": NAMES, **kwargs}
    with pytest.raises(error, match=match):
        fusion_weight_distribution(**kwargs)


# --------------------------------------------------------------------------
# in scikit-learn's random searches
# --------------------------------------------------------------------------


def test_randomized_search_over_fusion_weights(blobs):
    X, y = blobs
    distribution = fusion_weight_distribution(["a", "b", "noise"])
    search = RandomizedSearchCV(
        _pipeline(),
        {"fusion__weights": distribution},
        n_iter=8,
        cv=3,
        random_state=0,
    ).fit(X, y)
    tried = [p["fusion__weights"] for p in search.cv_results_["params"]]
    assert len(tried) == 8 and len({tuple(w.values()) for w in tried}) == 8
    assert all(sum(w.values()) == pytest.approx(1.0) for w in tried)
    # the fitted fusion uses the best draw
    best = search.best_params_["fusion__weights"]
    assert search.best_estimator_["fusion"].weights_ == pytest.approx(best)
    scores = search.cv_results_["mean_test_score"]
    assert search.best_score_ == scores.max() > scores.min() + 0.1
    # the draw giving the noise block the largest share is not the best
    noisiest = max(range(8), key=lambda i: tried[i]["noise"])
    assert scores[noisiest] < search.best_score_
    # the same seed tries the same candidates
    again = RandomizedSearchCV(
        _pipeline(),
        {"fusion__weights": distribution},
        n_iter=8,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert [p["fusion__weights"] for p in again.cv_results_["params"]] == tried


def test_mixed_with_a_grid_to_switch_modalities_off(blobs):
    X, y = blobs
    names = ["a", "b", "noise"]
    search = RandomizedSearchCV(
        _pipeline(),
        [
            {"fusion__weights": fusion_weight_distribution(names)},
            {"fusion__weights": fusion_weight_grid(names, values=(0, 1))},
        ],
        n_iter=12,
        cv=3,
        random_state=0,
    ).fit(X, y)
    tried = [p["fusion__weights"] for p in search.cv_results_["params"]]
    assert any(0.0 in w.values() for w in tried)
    assert any(0.0 not in w.values() and w != dict.fromkeys(names, 1.0) for w in tried)


def test_halving_random_search_over_fusion_weights(blobs):
    X, y = blobs
    search = HalvingRandomSearchCV(
        _pipeline(),
        {"fusion__weights": fusion_weight_distribution(["a", "b", "noise"], scale=2)},
        n_candidates=9,
        factor=3,
        min_resources=30,
        cv=3,
        random_state=0,
    ).fit(X, y)
    assert search.n_candidates_[0] == 9 and len(search.n_candidates_) >= 2
    best = search.best_params_["fusion__weights"]
    assert sum(best.values()) == pytest.approx(2.0)
    assert search.best_estimator_["fusion"].weights_ == pytest.approx(best)
