"""Benchmark: a fusion-weight grid search with the per-modality cache costs
little more than cross-validating a single candidate.

Measured side by side in one run, on the bundled audio-visual digits sample
(600 records: MobileNetV2 image embeddings with random weights at 96 px, audio
MFCC statistics, TF-IDF text; RidgeClassifier):

- ``one``: ``cross_validate`` of one weight candidate, no cache (the baseline);
- ``grid``: ``GridSearchCV`` over ``k`` weight candidates with
  ``FusionTransformer(memory=...)`` starting from an empty cache;
- optionally (``--no-cache``) the same grid without a cache, for context.

Target: ``grid / one <= 1 + k / 10``.

The cache saves extraction, so the ratio is about extraction-heavy pipelines: a
Keras backbone and a cheap final estimator. With ``backbone="pixels"`` and a
LogisticRegression on 1,000 columns, fitting the classifier k times dominates
and no cache can help; that is the classifier's cost, not the extractors'.

Run: ``python benchmarks/bench_fusion_cache.py [--values 0 0.5 1] [--no-cache]``
"""

import argparse
import tempfile
import time

from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold, cross_validate
from sklearn.pipeline import Pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)

NAMES = ["image", "audio", "text"]


def make_pipeline(memory):
    fusion = FusionTransformer(
        [
            (
                "image",
                ImageFeatureExtractor(
                    backbone="mobilenet_v2", weights=None, input_size=96
                ),
                "image",
            ),
            ("audio", AudioFeatureExtractor(sr=8000, input_sr=8000), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
        memory=memory,
    )
    return Pipeline([("fusion", fusion), ("clf", RidgeClassifier())])


def run(values=(0.0, 0.5, 1.0), no_cache=False):
    """Return a dict of timings and the ratio."""
    data = load_av_digits()
    X, y, groups = data.data, data.target, data.data["speaker"]
    cv = GroupKFold(n_splits=3)
    grid = fusion_weight_grid(NAMES, values=values)
    k = len(grid)

    start = time.perf_counter()
    cross_validate(make_pipeline(None), X, y, groups=groups, cv=cv)
    one = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cache:
        search = GridSearchCV(
            make_pipeline(cache), {"fusion__weights": grid}, cv=cv, refit=False
        )
        start = time.perf_counter()
        search.fit(X, y, groups=groups)
        cached = time.perf_counter() - start

    result = {"k": k, "one_cv_s": one, "grid_cached_s": cached, "ratio": cached / one}
    result["target"] = 1 + k / 10
    if no_cache:
        search = GridSearchCV(
            make_pipeline(None), {"fusion__weights": grid}, cv=cv, refit=False
        )
        start = time.perf_counter()
        search.fit(X, y, groups=groups)
        result["grid_uncached_s"] = time.perf_counter() - start
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--values", type=float, nargs="+", default=[0.0, 0.5, 1.0])
    parser.add_argument(
        "--no-cache", action="store_true", help="also time the grid without a cache"
    )
    args = parser.parse_args(argv)
    r = run(tuple(args.values), args.no_cache)
    print(f"weight candidates k           : {r['k']}")
    print(f"one candidate, 3-fold CV      : {r['one_cv_s']:.2f} s")
    print(f"k-candidate grid, with memory : {r['grid_cached_s']:.2f} s")
    if "grid_uncached_s" in r:
        print(f"k-candidate grid, no memory   : {r['grid_uncached_s']:.2f} s")
    verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
    ratio, target = r["ratio"], r["target"]
    print(f"ratio grid/one : {ratio:.2f} (target <= {target:.1f}) {verdict}")
    return r


if __name__ == "__main__":
    main()
