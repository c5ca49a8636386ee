"""Benchmark: ``AudioFeatureExtractor(n_segments=k)`` on unseen speakers.

The split of :mod:`bench_av_digits` (speakers ``george`` and ``lucas`` held
out, the other four for training, 2,000 / 1,000 records). For each ``k``, with
``AudioFeatureExtractor(sr=8000, n_segments=k)``, fitted on the training
speakers and scored (accuracy) on the held-out ones:

- audio alone: ``FusionTransformer`` of the audio column (``normalize=
  "standard"``, i.e. a ``StandardScaler``) + ``LogisticRegression``;
- image + audio: ``FusionTransformer`` (pixels, audio; default concat,
  equal weights) + ``LogisticRegression``;
- image + audio + text: the same with the text extractor of
  :mod:`bench_av_digits`.

Each extractor runs once per ``k`` (one ``joblib.Memory`` cache).

Run: ``python benchmarks/bench_n_segments.py [--segments 1,2,3,4,5,6]``
"""

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import joblib
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.pipeline import make_pipeline
from threadpoolctl import threadpool_limits


def _bench_av_digits():
    path = Path(__file__).resolve().parent / "bench_av_digits.py"
    spec = importlib.util.spec_from_file_location("bench_av_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(segments=(1, 2, 3, 4, 5, 6), n_per_speaker=None, verbose=True):
    """One row per ``k``: accuracies of audio, image+audio, image+audio+text."""
    from sklearn_mbm import FusionTransformer

    bench = _bench_av_digits()
    X_train, y_train, X_test, y_test = bench.load_split(n_per_speaker=n_per_speaker)
    combos = {
        "audio": ("audio",),
        "image+audio": ("image", "audio"),
        "image+audio+text": ("image", "audio", "text"),
    }
    rows = []
    with threadpool_limits(1), tempfile.TemporaryDirectory() as cache:
        memory = joblib.Memory(cache, verbose=0)
        for k in segments:
            row = {"n_segments": k}
            start = time.perf_counter()
            for label, names in combos.items():
                extractors = bench._extractors(n_segments=k)
                fusion = FusionTransformer(
                    [(name, extractors[name], name) for name in names],
                    memory=memory,
                )
                model = make_pipeline(fusion, LogisticRegression(max_iter=2000))
                model.fit(X_train, y_train)
                row[label] = accuracy_score(y_test, model.predict(X_test))
            row["n_audio_features"] = (
                model[0].named_transformers_["audio"].n_features_out_
            )
            row["wall_s"] = time.perf_counter() - start
            rows.append(row)
            if verbose:
                print(row, file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", default="1,2,3,4,5,6")
    parser.add_argument("--n-per-speaker", type=int, default=None)
    args = parser.parse_args(argv)
    segments = [int(k) for k in args.segments.split(",")]
    rows = run(segments, args.n_per_speaker)
    print("| n_segments | audio features | audio | image+audio | image+audio+text |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(
            f"| {row['n_segments']} | {row['n_audio_features']} | {row['audio']:.3f} "
            f"| {row['image+audio']:.3f} | {row['image+audio+text']:.3f} |"
        )
    return rows


if __name__ == "__main__":
    main()
