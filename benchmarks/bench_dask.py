"""Benchmark: a fusion-weight search on a Dask cluster against the same search
run locally with joblib's default (loky) backend.

The search: ``GridSearchCV(n_jobs=2)`` over ``fusion_weight_grid`` of three
modalities (pixels, audio MFCC statistics from FSDD file paths when
``../shared/data`` is present, else the bundled waveforms; TF-IDF text) with a
LogisticRegression, 3 folds, no cache, on ``--n-samples`` records of the
audio-visual digits.

- ``local``: ``n_jobs=2`` with loky worker processes (joblib's default);
- ``dask``: ``n_jobs=2`` inside ``joblib.parallel_backend("dask")`` on a
  ``LocalCluster(n_workers=2, threads_per_worker=1, processes=True)``.

Each backend runs once to warm its workers (imports, first-call costs; not
timed), then the two are timed alternately, best of ``repeats``. The cluster's
start-up is reported separately. Ratio ``dask / local``: the cost of Dask's
scheduling and serialisation on one machine. Target ``<= 1.5``; on a real
cluster the gain comes from more workers, not from this ratio. The scores must
be equal (checked).

Run: ``python benchmarks/bench_dask.py [--n-samples 300] [--repeats 2]``
"""

import argparse
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"
RECORDINGS = RECORDINGS / "recordings"
SR = 8000
TARGET = 1.5


def records(n_samples):
    """``n_samples`` records spread over the bundled sample; audio as FSDD
    paths when the real data is present (workers then read the files)."""
    data = load_av_digits()
    rows = np.linspace(0, len(data.target) - 1, n_samples).astype(int)
    X = data.data.iloc[rows].reset_index(drop=True)
    y = np.asarray(data.target)[rows]
    source = "bundled waveforms"
    if RECORDINGS.is_dir():
        files = sorted(RECORDINGS.glob("*.wav"))
        picks = np.linspace(0, len(files) - 1, n_samples).astype(int)
        X = X.assign(audio=[str(files[i]) for i in picks])
        source = "FSDD file paths"
    return X, y, source


def make_search(weights):
    fusion = FusionTransformer(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=14), "image"),
            # n_segments=1: the whole-clip setting of the recorded ratio
            (
                "audio",
                AudioFeatureExtractor(sr=SR, input_sr=SR, n_segments=1),
                "audio",
            ),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
    )
    model = Pipeline(
        [
            ("fusion", fusion),
            ("scale", StandardScaler()),
            ("clf", LogisticRegression(max_iter=200)),
        ]
    )
    return GridSearchCV(
        model, {"fusion__weights": weights}, cv=GroupKFold(3), n_jobs=2, refit=False
    )


def run(quick=False, n_samples=None, repeats=None):
    """Return ``{"dask": {...}}`` with timings, the ratio and the target."""
    import distributed

    n_samples = n_samples or (150 if quick else 300)
    repeats = repeats or (1 if quick else 2)
    X, y, source = records(n_samples)
    groups = X["speaker"].to_numpy()
    weights = fusion_weight_grid(["image", "audio", "text"], (0, 1))
    if quick:
        weights = weights[-4:]

    def local():
        return make_search(weights).fit(X, y, groups=groups)

    def on_dask():
        with joblib.parallel_backend("dask"):
            return make_search(weights).fit(X, y, groups=groups)

    start = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,
    )
    client = distributed.Client(cluster)
    startup = time.perf_counter() - start
    try:
        expected, got = local(), on_dask()  # warm-up, not timed
        best = {"local": np.inf, "dask": np.inf}
        for _ in range(repeats):
            for name, search in (("local", local), ("dask", on_dask)):
                start = time.perf_counter()
                search()
                best[name] = min(best[name], time.perf_counter() - start)
    finally:
        client.close()
        cluster.close()
    same = np.allclose(
        got.cv_results_["mean_test_score"], expected.cv_results_["mean_test_score"]
    )
    if not same:
        raise AssertionError("the Dask search's scores differ from the local ones")
    return {
        "dask": {
            "baseline": f"local loky, n_jobs=2, {len(weights)} candidates x 3 folds",
            "candidate": "dask LocalCluster, 2 worker processes",
            "baseline_s": best["local"],
            "candidate_s": best["dask"],
            "ratio": best["dask"] / best["local"],
            "target": TARGET,
            "cluster_startup_s": startup,
            "n_samples": n_samples,
            "audio": source,
        }
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    r = run(n_samples=args.n_samples, repeats=args.repeats)["dask"]
    verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
    print(f"{r['n_samples']} records, audio from {r['audio']}")
    print(f"{r['baseline']}: {r['baseline_s']:.2f} s")
    print(
        f"{r['candidate']}: {r['candidate_s']:.2f} s "
        f"(+ {r['cluster_startup_s']:.1f} s cluster start-up, once)"
    )
    print(f"ratio dask/local {r['ratio']:.2f} (target <= {r['target']}) {verdict}")
    return r


if __name__ == "__main__":
    main()
