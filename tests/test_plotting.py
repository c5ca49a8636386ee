"""Tests for sklearn_mbm.plotting."""

import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib", reason="plotting needs matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from sklearn_mbm import FusionTransformer, fusion_weight_grid  # noqa: E402
from sklearn_mbm.plotting import plot_fusion_weights  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _results(weights, scores=None, key="param_fusion__weights"):
    """A cv_results_-like dict over ``weights`` (a list of dicts)."""
    if scores is None:
        scores = np.linspace(0.5, 0.9, len(weights))
    values = np.ma.MaskedArray(np.empty(len(weights), dtype=object), mask=False)
    values[:] = weights
    return {
        key: values,
        "mean_test_score": np.asarray(scores, dtype=float),
        "std_test_score": np.full(len(weights), 0.02),
    }


def _colorbar_label(ax):
    """Label of the colorbar attached to ``ax``'s figure, or None."""
    for other in ax.figure.axes:
        if other is not ax and other.get_ylabel():
            return other.get_ylabel()
    return None


def test_line_for_one_varying_weight(tmp_path):
    weights = [{"image": 1.0, "audio": w} for w in (0.0, 0.25, 0.5, 1.0)]
    scores = [0.6, 0.8, 0.9, 0.7]
    ax = plot_fusion_weights(_results(weights, scores))

    assert ax.get_xlabel() == "weight of audio"
    assert ax.get_ylabel() == "mean CV score"
    assert "audio" in ax.get_title()
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(line.get_ydata(), scores)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "best: audio=0.5 (0.900)" in legend
    assert "± 1 std" in legend
    ax.figure.savefig(tmp_path / "line.png")
    assert (tmp_path / "line.png").stat().st_size > 0


def test_line_orders_unsorted_weights():
    weights = [{"a": 1.0, "b": w} for w in (1.0, 0.0, 0.5)]
    ax = plot_fusion_weights(_results(weights, [0.3, 0.1, 0.2]))
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), [0.0, 0.5, 1.0])
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.1, 0.2, 0.3])


def test_heatmap_for_two_modalities(tmp_path):
    grid = fusion_weight_grid(["image", "audio"])
    scores = [0.5 + 0.1 * d["image"] + 0.3 * d["audio"] for d in grid]
    ax = plot_fusion_weights(_results(grid, scores))

    images = [a for a in ax.get_images() if isinstance(a, AxesImage)]
    assert len(images) == 1
    data = images[0].get_array()
    assert data.shape == (3, 3)  # image weights 0, .5, 1 x audio weights 0, .5, 1
    # the all-zero point is not tried, so masked
    assert np.ma.getmaskarray(data).sum() == 9 - len(grid) == 1
    assert ax.get_xlabel() == "weight of audio"
    assert ax.get_ylabel() == "weight of image"
    texts = [t.get_text() for t in ax.texts]
    assert sum(t.startswith("0.") for t in texts) == len(grid)
    assert texts.count("not tried") == 9 - len(grid)
    assert _colorbar_label(ax) == "mean CV score"
    best = [t.get_text() for t in ax.get_legend().get_texts()]
    assert best == ["best: image=1, audio=1"]
    ax.figure.savefig(tmp_path / "heatmap.png")


def test_heatmap_without_annotations():
    grid = fusion_weight_grid(["image", "audio"])
    ax = plot_fusion_weights(_results(grid), annotate=False)
    assert len(ax.texts) == 0


def test_ternary_for_three_modalities(tmp_path):
    names = ["image", "audio", "text"]
    grid = fusion_weight_grid(names)
    # the best point is image=1, audio=0.5, text=0 -> shares 2/3, 1/3, 0
    scores = [
        0.9 - abs(d["image"] - 1) - abs(d["audio"] - 0.5) - d["text"] for d in grid
    ]
    ax = plot_fusion_weights(_results(grid, scores))

    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    points = scatters[0].get_offsets()
    # every point lies inside the triangle (0, 0), (1, 0), (0.5, sqrt(3)/2)
    x, y = points[:, 0], points[:, 1]
    assert np.all(y >= -1e-9)
    assert np.all(y <= np.sqrt(3) * x + 1e-9)
    assert np.all(y <= np.sqrt(3) * (1 - x) + 1e-9)
    # corners: one modality alone
    corners = {(0.0, 0.0), (1.0, 0.0), (0.5, round(np.sqrt(3) / 2, 6))}
    assert corners <= {(round(a, 6), round(b, 6)) for a, b in points}
    texts = [t.get_text() for t in ax.texts]
    for name in names:
        assert name in texts
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["best shares: image=0.67, audio=0.33, text=0 (0.900)"]
    star = scatters[1].get_offsets()[0]
    np.testing.assert_allclose(star, [1 / 3 + 0.0, 0.0], atol=1e-12)
    assert _colorbar_label(ax) == "mean CV score"
    assert "shares" in ax.get_title()
    ax.figure.savefig(tmp_path / "ternary.png")


def test_ternary_merges_points_equal_up_to_scale():
    weights = [
        {"a": 1.0, "b": 1.0, "c": 1.0},
        {"a": 2.0, "b": 2.0, "c": 2.0},
        {"a": 1.0, "b": 0.0, "c": 0.0},
        {"a": 0.0, "b": 1.0, "c": 0.0},
    ]
    ax = plot_fusion_weights(_results(weights, [0.7, 0.8, 0.5, 0.6]))
    scatter = [c for c in ax.collections if isinstance(c, PathCollection)][0]
    assert len(scatter.get_offsets()) == 3
    # the centre shows the better of the two equal-share candidates
    assert 0.8 in np.round(scatter.get_array(), 6)
    assert 0.7 not in np.round(scatter.get_array(), 6)


def test_real_grid_search_three_blocks(tmp_path):
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 30)
    X = np.c_[
        y[:, None] + rng.normal(0, 0.5, (60, 2)),
        rng.normal(size=(60, 2)),
        y[:, None] + rng.normal(0, 1.5, (60, 2)),
    ]
    pipe = Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [
                        ("image", "passthrough", [0, 1]),
                        ("noise", "passthrough", [2, 3]),
                        ("audio", "passthrough", [4, 5]),
                    ]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    grid = fusion_weight_grid(["image", "noise", "audio"], (0, 1), simplex=True)
    search = GridSearchCV(pipe, {"fusion__weights": grid}, cv=3).fit(X, y)
    ax = plot_fusion_weights(search)
    texts = [t.get_text() for t in ax.texts]
    assert {"image", "noise", "audio"} <= set(texts)
    ax.figure.savefig(tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 0


def test_sequence_weights_take_names_from_the_estimator():
    pipe = Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [("left", "passthrough", [0]), ("right", "passthrough", [1])]
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    rng = np.random.RandomState(0)
    X, y = rng.normal(size=(40, 2)), np.repeat([0, 1], 20)
    search = GridSearchCV(
        pipe, {"fusion__weights": [[1.0, 0.0], [1.0, 0.5], [1.0, 1.0]]}, cv=2
    )
    # sequences are not dicts, so the parameter is named
    ax = plot_fusion_weights(search.fit(X, y), param="fusion__weights")
    assert ax.get_xlabel() == "weight of right"


def test_other_searched_parameters_keep_the_best_score():
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0)] * 2
    results = _results(weights, [0.5, 0.6, 0.7, 0.4])
    results["param_clf__C"] = np.ma.MaskedArray([1.0, 1.0, 10.0, 10.0])
    ax = plot_fusion_weights(results)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.7, 0.6])
    assert "best over the other searched parameters" in ax.get_title()


def test_masked_candidates_are_skipped():
    # a list of grids: candidates of the second grid have no weights
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0)]
    results = _results([*weights, None], [0.5, 0.6, 0.99])
    results["param_fusion__weights"].mask = [False, False, True]
    ax = plot_fusion_weights(results)
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.6])


def test_multimetric_search_uses_refit_or_named_metric():
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0)]
    values = _results(weights)["param_fusion__weights"]
    results = {
        "param_fusion__weights": values,
        "mean_test_accuracy": np.array([0.5, 0.6]),
        "std_test_accuracy": np.array([0.01, 0.01]),
        "mean_test_f1_macro": np.array([0.4, 0.3]),
        "std_test_f1_macro": np.array([0.01, 0.01]),
    }

    class FakeSearch:
        cv_results_ = results
        refit = "accuracy"

    ax = plot_fusion_weights(FakeSearch())
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.6])
    assert ax.get_ylabel() == "mean CV accuracy"
    ax = plot_fusion_weights(results, score="f1_macro")
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.4, 0.3])
    assert ax.get_ylabel() == "mean CV f1 macro"


def test_draws_on_given_axes_and_title():
    _, ax = plt.subplots()
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0)]
    out = plot_fusion_weights(_results(weights), ax=ax, title="My title")
    assert out is ax
    assert ax.get_title() == "My title"


@pytest.mark.parametrize(
    "results, kwargs, match",
    [
        (
            _results([{"a": 1.0, "b": 1.0, "c": 1.0, "d": w} for w in (0, 1)])
            | {"param_x": np.ma.MaskedArray([1, 2])},
            {"param": "nope"},
            "param='nope' is not a parameter",
        ),
        (
            {"param_clf__C": np.ma.MaskedArray([1.0, 2.0]), "mean_test_score": [1, 2]},
            {},
            "no fusion-weight parameter",
        ),
        (
            _results([{"a": 1.0}, {"a": 2.0}])
            | {"param_other__weights": np.ma.MaskedArray([{"x": 1}, {"x": 2}])},
            {},
            "Several parameters take dict values",
        ),
        (
            _results([{"a": 1.0, "b": 1.0}, {"a": 1.0, "b": 1.0}]),
            {},
            "same weights",
        ),
        (
            _results(fusion_weight_grid(["a", "b", "c", "d"])),
            {},
            "4 weights vary",
        ),
        (
            _results(fusion_weight_grid(["a", "b"])),
            {"score": "mean_test_f1"},
            "available scores are",
        ),
        (
            _results(fusion_weight_grid(["a", "b"])),
            {"kind": "ternary"},
            "needs exactly three modalities",
        ),
        (
            _results(fusion_weight_grid(["a", "b", "c"])),
            {"kind": "line"},
            "shows 1 varying weight",
        ),
        (
            _results(fusion_weight_grid(["a", "b"])),
            {"kind": "bar"},
            "kind must be one of",
        ),
        (
            _results([{"a": 1.0, "b": -1.0}, {"a": 1.0, "b": 1.0}]),
            {},
            "finite and non-negative",
        ),
    ],
)
def test_errors(results, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_fusion_weights(results, **kwargs)


def test_rejects_objects_without_results():
    with pytest.raises(TypeError, match="cv_results_"):
        plot_fusion_weights(LogisticRegression())


def test_missing_matplotlib_says_how_to_install(monkeypatch):
    # a None entry in sys.modules makes `import matplotlib.pyplot` raise
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0)]
    with pytest.raises(ImportError, match=r"pip install sklearn-mbm\[plot\]"):
        plot_fusion_weights(_results(weights))


def test_import_does_not_import_matplotlib():
    import subprocess

    code = (
        "import sys, sklearn_mbm.plotting, sklearn_mbm.inspection; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------
# random and successive-halving searches
# --------------------------------------------------------------------------


def _two_blocks():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1, 2], 40)
    X = np.c_[
        y[:, None] + rng.normal(0, 0.8, (120, 2)),
        y[:, None] + rng.normal(0, 2.0, (120, 3)),
    ]
    pipe = Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [
                        ("image", "passthrough", [0, 1]),
                        ("audio", "passthrough", [2, 3, 4]),
                    ],
                    normalize="block",
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )
    return pipe, X, y


def _legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_random_search_of_two_modalities_is_a_line_of_the_share():
    # issue 22.9: the draws sum to 1, a 12x12 heatmap of them is 132 untried
    from sklearn.model_selection import RandomizedSearchCV

    from sklearn_mbm import fusion_weight_distribution

    pipe, X, y = _two_blocks()
    search = RandomizedSearchCV(
        pipe,
        {"fusion__weights": fusion_weight_distribution(["image", "audio"])},
        n_iter=12,
        cv=3,
        random_state=0,
    ).fit(X, y)
    ax = plot_fusion_weights(search)
    assert not ax.get_images()
    assert "not tried" not in [t.get_text() for t in ax.texts]
    assert ax.get_xlabel() == "share of audio: w_audio / (w_image + w_audio)"
    line = ax.get_lines()[0]
    tried = search.cv_results_["params"]
    shares = [p["fusion__weights"]["audio"] for p in tried]  # the draws sum to 1
    order = np.argsort(shares)
    np.testing.assert_allclose(line.get_xdata(), np.asarray(shares)[order])
    np.testing.assert_allclose(
        line.get_ydata(), search.cv_results_["mean_test_score"][order]
    )
    best = search.best_params_["fusion__weights"]
    assert (
        f"best: image={best['image']:.2g}, audio={best['audio']:.2g} "
        f"({search.best_score_:.3f})"
    ) in _legend(ax)


def test_share_line_per_total_when_draws_meet_a_grid():
    """Draws summing to 1 plus the corners grid (0, 1): the corners (1, 0)
    and (0, 1) join the draws' line, (1, 1) sums to 2 and is its own line."""
    draws = [{"a": 1 - w, "b": w} for w in (0.1, 0.3, 0.45, 0.6, 0.9)]
    corners = fusion_weight_grid(["a", "b"], values=(0, 1))
    ax = plot_fusion_weights(_results(draws + corners))
    labels = _legend(ax)
    assert "a + b = 1" in labels and "a + b = 2" in labels
    first, second = ax.get_lines()[:2]
    np.testing.assert_allclose(first.get_xdata(), [0, 0.1, 0.3, 0.45, 0.6, 0.9, 1])
    np.testing.assert_allclose(second.get_xdata(), [0.5])


def test_sparse_heatmap_on_request_leaves_untried_cells_unlabelled():
    draws = [{"a": 1 - w, "b": w} for w in (0.1, 0.3, 0.45, 0.6, 0.9)]
    ax = plot_fusion_weights(_results(draws), kind="heatmap")
    assert ax.get_images()[0].get_array().shape == (5, 5)
    texts = [t.get_text() for t in ax.texts]
    assert "not tried" not in texts and len(texts) == 5


def _halving_results():
    """cv_results_ of a halving search: three candidates on 240 records,
    two of them again on 480. The 0.892 on 240 records is not the best: the
    search's best_score_ is the best of the last round, 0.887."""
    weights = [{"a": 1 - w, "b": w} for w in (0.2, 0.5, 0.8)]
    rows = [*weights, weights[1], weights[0]]
    results = _results(rows, [0.85, 0.892, 0.80, 0.870, 0.887])
    results["iter"] = np.array([0, 0, 0, 1, 1])
    results["n_resources"] = np.array([240, 240, 240, 480, 480])
    results["params"] = [{"fusion__weights": w} for w in rows]
    return results


def test_halving_search_plots_the_last_round_and_agrees_with_best_score():
    # issue 22.10: not the best over all rounds (0.892 on 240 records)
    ax = plot_fusion_weights(_halving_results())
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [0.2, 0.5, 0.8])
    np.testing.assert_allclose(line.get_ydata(), [0.887, 0.870, 0.80])
    assert "best: a=0.8, b=0.2 (0.887)" in _legend(ax)
    title = ax.get_title()
    assert "each candidate at the last round it reached" in title
    assert "best of round 1 (480 resources)" in title


def test_halving_search_best_on_every_kind():
    results = _halving_results()
    ax = plot_fusion_weights(results, kind="heatmap")
    assert _legend(ax) == ["best: a=0.8, b=0.2"]
    # a one-weight line
    ones = [{"a": 1.0, "b": w["b"]} for w in results["param_fusion__weights"]]
    results["param_fusion__weights"][:] = ones
    results["params"] = [{"fusion__weights": w} for w in ones]
    ax = plot_fusion_weights(results)
    assert "best: b=0.2 (0.887)" in _legend(ax)


def test_real_halving_random_search_agrees_with_best_score():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingRandomSearchCV

    from sklearn_mbm import fusion_weight_distribution

    pipe, X, y = _two_blocks()
    search = HalvingRandomSearchCV(
        pipe,
        {"fusion__weights": fusion_weight_distribution(["image", "audio"])},
        n_candidates=9,
        factor=3,
        min_resources=30,
        cv=3,
        random_state=0,
    ).fit(X, y)
    ax = plot_fusion_weights(search)
    best = search.best_params_["fusion__weights"]
    assert (
        f"best: image={best['image']:.2g}, audio={best['audio']:.2g} "
        f"({search.best_score_:.3f})"
    ) in _legend(ax)
    # one point per candidate, at the last round it reached
    assert len(ax.get_lines()[0].get_xdata()) == search.n_candidates_[0]


def test_real_halving_grid_search_agrees_with_best_params():
    from sklearn.experimental import enable_halving_search_cv  # noqa: F401
    from sklearn.model_selection import HalvingGridSearchCV

    pipe, X, y = _two_blocks()
    grid = fusion_weight_grid(["image", "audio"], values=(0, 0.5, 1, 2))
    search = HalvingGridSearchCV(
        pipe, {"fusion__weights": grid}, factor=3, min_resources=30, cv=3
    ).fit(X, y)
    assert len(search.n_candidates_) >= 2
    ax = plot_fusion_weights(search)
    best = search.best_params_["fusion__weights"]
    assert _legend(ax) == [
        f"best: image={best['image']:.2g}, audio={best['audio']:.2g}"
    ]
    assert f"best of round {search.n_iterations_ - 1}" in ax.get_title()
    # every candidate once: the 15 cells of the grid, at their last round
    assert np.isfinite(ax.get_images()[0].get_array()).sum() == len(grid)


def test_repeated_weights_without_other_parameters_say_so():
    # a random search over a list of spaces may draw a grid point twice
    weights = [{"a": 1.0, "b": w} for w in (0.0, 1.0, 1.0)]
    ax = plot_fusion_weights(_results(weights, [0.5, 0.6, 0.7]))
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), [0.5, 0.7])
    assert "best of the candidates with these weights" in ax.get_title()
    assert "other searched parameters" not in ax.get_title()
