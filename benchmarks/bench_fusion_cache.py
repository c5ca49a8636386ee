"""Benchmark: a fusion-weight grid search with the per-modality cache costs
little more than cross-validating a single candidate.

Measured side by side in one run, on the bundled audio-visual digits sample
(600 records: MobileNetV2 image embeddings with random weights at 96 px, audio
MFCC statistics with ``n_segments=1``, TF-IDF text; RidgeClassifier):

- ``one``: ``cross_validate`` of one weight candidate, no cache (the baseline);
- ``grid``: ``GridSearchCV`` over ``k`` weight candidates with
  ``FusionTransformer(memory=...)`` starting from an empty cache;
- optionally (``--no-cache``) the same grid without a cache, for context.

Target: ``grid / one <= 1 + k / 10``.

A second row, ``cache_overhead``, asks what the cache itself costs: the same
weight search on the same sample with cheap extractors
(``ImageFeatureExtractor(backbone="pixels")``, ``AudioFeatureExtractor(sr=8000,
input_sr=8000, n_segments=1)``, ``TextFeatureExtractor()``; 19 candidates,
one per direction (``unique_up_to_scale=True``), x 3 GroupKFold folds,
RidgeClassifier, ``refit=False``), timed two ways, each in a fresh process
with one BLAS thread, CPU time (:func:`time.process_time`):

- ``precomputed`` (the baseline): extract the three blocks once on all rows,
  then search with ``"passthrough"`` on those blocks (same ``normalize``);
- ``cached``: the search with ``memory=`` an empty folder, so the first fill of
  the cache (each modality extracted once per fold) is counted.

Both processes first run every extractor once on a few rows, untimed, so that
neither side counts librosa's imports. The pairs alternate; the ratio is
``median(cached) / median(precomputed)`` over ``--repeats`` pairs. Target
``<= 1.1``. The cached side fits each extractor once per fold, on that fold's
training rows only (the baseline fits them on all rows, test folds included);
the audio and pixel rows are extracted once, later folds reusing them
(``sklearn_mbm._caching._row_cache``), and the text extractor runs once per fold. Both
sides raise on a failed fit (``error_score="raise"``): a failing candidate
would be fast and look like a gain.

The cache saves extraction, so the ratio is about extraction-heavy pipelines: a
Keras backbone and a cheap final estimator. With ``backbone="pixels"`` and a
LogisticRegression on 1,000 columns, fitting the classifier k times dominates
and no cache can help; that is the classifier's cost, not the extractors'.

Run: ``python benchmarks/bench_fusion_cache.py [--values 0 0.5 1] [--no-cache]
[--repeats 5] [--only grid|overhead]``
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
OVERHEAD_TARGET = 1.1
_MARKER = "OVERHEAD-SIDE "


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
            (
                "audio",
                AudioFeatureExtractor(sr=8000, input_sr=8000, n_segments=1),
                "audio",
            ),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
        memory=memory,
    )
    return Pipeline([("fusion", fusion), ("clf", RidgeClassifier())])


def _cheap_extractors():
    return [
        ImageFeatureExtractor(backbone="pixels"),
        AudioFeatureExtractor(sr=8000, input_sr=8000, n_segments=1),
        TextFeatureExtractor(),
    ]


def time_side(side):
    """CPU seconds of one side of ``cache_overhead``, in this process."""
    import numpy as np
    from scipy import sparse
    from threadpoolctl import threadpool_limits

    data = load_av_digits()
    X, y, groups = data.data, data.target, data.data["speaker"]
    cv = GroupKFold(n_splits=3)
    # one candidate per direction (19), the grid of the recorded ratios
    grid = {"fusion__weights": fusion_weight_grid(NAMES, unique_up_to_scale=True)}
    with threadpool_limits(1), tempfile.TemporaryDirectory() as cache:
        for name, extractor in zip(NAMES, _cheap_extractors()):  # warm-up
            extractor.fit_transform(X[name][:30], y[:30])
        start = time.process_time()
        if side == "cached":
            specs = [(n, e, n) for n, e in zip(NAMES, _cheap_extractors())]
            memory, Xs = cache, X
        else:
            blocks = []
            for name, extractor in zip(NAMES, _cheap_extractors()):
                block = extractor.fit_transform(X[name], y)
                blocks.append(block.toarray() if sparse.issparse(block) else block)
            widths = np.cumsum([0] + [b.shape[1] for b in blocks])
            specs = [
                (n, "passthrough", list(range(a, b)))
                for n, a, b in zip(NAMES, widths[:-1], widths[1:])
            ]
            memory, Xs = None, np.hstack(blocks)
        extracted = time.process_time() - start
        fusion = FusionTransformer(specs, normalize="block", memory=memory)
        model = Pipeline([("fusion", fusion), ("clf", RidgeClassifier())])
        search = GridSearchCV(
            model, grid, cv=cv, refit=False, error_score="raise"
        )
        search.fit(Xs, y, groups=groups)
        total = time.process_time() - start
    return {
        "cpu_s": total,
        "extract_s": extracted,
        "best_score": float(search.cv_results_["mean_test_score"].max()),
    }


def _time_side_in_fresh_process(side):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    repo = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([repo, env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, __file__, "--side", side],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    line = next(x for x in out.stdout.splitlines() if x.startswith(_MARKER))
    return json.loads(line[len(_MARKER) :])


def run_overhead(repeats=5):
    """``cache_overhead`` row: median CPU time of the cached search over that
    of the search on precomputed blocks, each run in a fresh process."""
    times = {"cached": [], "precomputed": []}
    for i in range(repeats):
        order = ("cached", "precomputed") if i % 2 == 0 else ("precomputed", "cached")
        for side in order:
            times[side].append(_time_side_in_fresh_process(side))
    med = {
        side: statistics.median(r["cpu_s"] for r in runs)
        for side, runs in times.items()
    }
    pre_extract = statistics.median(r["extract_s"] for r in times["precomputed"])
    return {
        "baseline": "search on precomputed blocks (passthrough)",
        "candidate": "the same search, memory= (first fill included)",
        "baseline_s": med["precomputed"],
        "candidate_s": med["cached"],
        "ratio": med["cached"] / med["precomputed"],
        "target": OVERHEAD_TARGET,
        "repeats": repeats,
        "cached_range_s": _spread(times["cached"]),
        "precomputed_range_s": _spread(times["precomputed"]),
        "precompute_extract_s": pre_extract,
        "precomputed_search_only_s": med["precomputed"] - pre_extract,
    }


def _spread(runs):
    values = sorted(r["cpu_s"] for r in runs)
    return f"{values[0]:.3f}-{values[-1]:.3f}"


def run(values=(0.0, 0.5, 1.0), no_cache=False, repeats=5, only=None):
    """Return the ``cache`` and ``cache_overhead`` rows (``only`` = "grid" or
    "overhead" for one of them)."""
    rows = {}
    if only in (None, "grid"):
        rows["cache"] = run_grid(values, no_cache)
    if only in (None, "overhead"):
        rows["cache_overhead"] = run_overhead(repeats)
    return rows


def run_grid(values=(0.0, 0.5, 1.0), no_cache=False):
    """Return a dict of timings and the ratio of the ``cache`` row."""
    data = load_av_digits()
    X, y, groups = data.data, data.target, data.data["speaker"]
    cv = GroupKFold(n_splits=3)
    # one candidate per direction (k=19 for the default values), the grid of
    # the recorded ratios; the default grid keeps scales (26 candidates)
    grid = fusion_weight_grid(NAMES, values=values, unique_up_to_scale=True)
    k = len(grid)

    start = time.perf_counter()
    cross_validate(make_pipeline(None), X, y, groups=groups, cv=cv)
    one = time.perf_counter() - start

    with tempfile.TemporaryDirectory() as cache:
        search = GridSearchCV(
            make_pipeline(cache), {"fusion__weights": grid}, cv=cv, refit=False,
            error_score="raise",
        )
        start = time.perf_counter()
        search.fit(X, y, groups=groups)
        cached = time.perf_counter() - start

    result = {"k": k, "one_cv_s": one, "grid_cached_s": cached, "ratio": cached / one}
    result["target"] = 1 + k / 10
    if no_cache:
        search = GridSearchCV(
            make_pipeline(None), {"fusion__weights": grid}, cv=cv, refit=False,
            error_score="raise",
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
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--only", choices=["grid", "overhead"])
    parser.add_argument(
        "--side", choices=["cached", "precomputed"], help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.side:  # a fresh process timing one side of cache_overhead
        print(_MARKER + json.dumps(time_side(args.side)), flush=True)
        return None
    rows = run(tuple(args.values), args.no_cache, args.repeats, args.only)
    if "cache" in rows:
        _print_grid(rows["cache"])
    if "cache_overhead" in rows:
        r = rows["cache_overhead"]
        print(f"precomputed blocks + search   : {r['baseline_s']:.3f} s CPU "
              f"(median of {r['repeats']}, range {r['precomputed_range_s']}; "
              f"of which extraction {r['precompute_extract_s']:.3f} s)")
        print(f"search with memory=, cold     : {r['candidate_s']:.3f} s CPU "
              f"(range {r['cached_range_s']})")
        verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
        print(f"ratio cached/precomputed : {r['ratio']:.3f} "
              f"(target <= {r['target']}) {verdict}")
    return rows


def _print_grid(r):
    print(f"weight candidates k           : {r['k']}")
    print(f"one candidate, 3-fold CV      : {r['one_cv_s']:.2f} s")
    print(f"k-candidate grid, with memory : {r['grid_cached_s']:.2f} s")
    if "grid_uncached_s" in r:
        print(f"k-candidate grid, no memory   : {r['grid_uncached_s']:.2f} s")
    verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
    ratio, target = r["ratio"], r["target"]
    print(f"ratio grid/one : {ratio:.2f} (target <= {target:.1f}) {verdict}")


if __name__ == "__main__":
    main()
