"""Benchmark: accuracy of each modality and of every fusion on unseen speakers.

The full audio-visual digits set (:func:`~sklearn_mbm.fetch_av_digits`, 3,000
records: a 28x28 MNIST image, an FSDD spoken digit, a noisy transcript and the
speaker) is split by speaker: two of the six speakers (``george`` and
``lucas``, fixed) are the test set, the other four the training set. Nothing
about a test speaker is seen in training, not even in a search's folds.

Settings, each fitted on the training speakers and scored on the test ones
(accuracy and macro F1):

1. each modality alone, + ``LogisticRegression``:

   - image: ``ImageFeatureExtractor(backbone="pixels")`` (pixels in [0, 1]);
   - audio: ``AudioFeatureExtractor(sr=8000, n_segments=1)`` (whole-clip
     statistics, 92 features) + ``StandardScaler``;
   - audio with time segments: the same with ``n_segments=3`` (the
     statistics also over 3 equal time segments of each clip, 368 features),
     which keeps the order of the sounds;
   - text: ``TextFeatureExtractor(analyzer="char_wb", ngram_range=(2, 3))``:
     the transcripts are simulated speech-recognition output with misspelt
     and cut words ("zmro", "so zer"); character n-grams inside word
     boundaries still match those, where word tf-idf sees an unknown token
     (on this split: 0.699 test accuracy against 0.628 for the default word
     tf-idf; the best possible is about 0.71, as 30 % of the transcripts name
     a wrong digit or none);

2. early (concat) fusion: ``FusionTransformer`` of the three (one
   ``joblib.Memory`` cache in a temporary folder) + ``LogisticRegression``,
   the fusion weights searched by ``GridSearchCV`` over
   ``fusion_weight_grid(["image", "audio", "text"], unique_up_to_scale=True)``
   (19 directions, the grid of the recorded results) with ``GroupKFold`` on
   the speaker within the training speakers (one fold per training speaker);

3. late fusion: ``LateFusionClassifier`` of the three unimodal pipelines,
   ``method="soft"`` (equal weights) and ``method="stacking"``. Its ``fit``
   takes no ``groups``, but ``cv`` accepts an iterable of splits whose test
   folds partition the rows, so the stacking folds are the same
   leave-one-training-speaker-out ``GroupKFold`` splits: the final estimator
   learns from probabilities on speakers the modality models have not heard,
   as at test time;

4. the neural model ``NeuralFusionClassifier`` (the same three extractors as
   frozen transformers) with ``fusion="learned"`` and ``fusion="attention"``,
   early stopping on a validation split, ``random_state=0``.

The weights column gives the searched grid weights as shares summing to 1
(raw values in the details), the neural model's ``fusion_weights_`` (learned
softmax weights; the attention gate's mean over the training rows), and the
stacking final estimator's share of absolute coefficients per modality.

Each row's wall time and CPU time (``time.process_time``: this process, all
its threads) are printed: the machine may be shared, so wall time is noisy.
BLAS runs one thread (``threadpool_limits(1)``): the matrices are small and
threads only contend.

Run: ``python benchmarks/bench_av_digits.py [--quick] [--data-home PATH]``
"""

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

NAMES = ["image", "audio", "text"]
TEST_SPEAKERS = ("george", "lucas")
DEFAULT_DATA_HOME = Path(__file__).resolve().parents[2] / "shared" / "data"


def _extractors(n_segments=1):
    """Fresh extractors, one per modality (all offline, no Keras backbone)."""
    from sklearn_mbm import (
        AudioFeatureExtractor,
        ImageFeatureExtractor,
        TextFeatureExtractor,
    )

    return {
        "image": ImageFeatureExtractor(backbone="pixels"),
        "audio": AudioFeatureExtractor(sr=8000, n_segments=n_segments),
        "text": TextFeatureExtractor(analyzer="char_wb", ngram_range=(2, 3)),
    }


def _classifier():
    return LogisticRegression(max_iter=2000)


def _unimodal(name, n_segments=1):
    """``Pipeline(extractor[, StandardScaler], LogisticRegression)``."""
    steps = [(name, _extractors(n_segments)[name])]
    if name == "audio":
        # MFCC statistics span orders of magnitude; pixels are in [0, 1] and
        # tf-idf rows unit-norm already.
        steps.append(("scale", StandardScaler()))
    steps.append(("clf", _classifier()))
    return Pipeline(steps)


def _shares(weights):
    """A weight dict scaled to sum to 1."""
    total = sum(weights.values())
    return {name: value / total for name, value in weights.items()}


def _format_weights(weights):
    if not weights:
        return "-"
    return ", ".join(f"{name} {value:.2f}" for name, value in weights.items())


def load_split(data_home=None, test_speakers=TEST_SPEAKERS, n_per_speaker=None):
    """Training and test frames of the full set, split by speaker.

    ``n_per_speaker`` keeps that many records per speaker (stratified by digit,
    a fixed seed) for a smaller run.
    """
    from sklearn_mbm import fetch_av_digits

    data_home = DEFAULT_DATA_HOME if data_home is None else Path(data_home)
    bunch = fetch_av_digits(data_home=data_home, download_if_missing=False)
    X, y = bunch.data, bunch.target.to_numpy()
    if n_per_speaker is not None:
        rng = np.random.default_rng(0)
        keep = []
        for speaker in sorted(X["speaker"].unique()):
            rows = np.flatnonzero(X["speaker"].to_numpy() == speaker)
            # Interleave digits so that any prefix is balanced over classes.
            rows = rng.permutation(rows)
            order = np.argsort(
                [np.sum(y[rows[:i]] == y[r]) for i, r in enumerate(rows)],
                kind="stable",
            )
            keep.extend(rows[order][:n_per_speaker])
        keep = np.sort(keep)
        X, y = X.iloc[keep].reset_index(drop=True), y[keep]
    unknown = set(test_speakers) - set(X["speaker"])
    if unknown:
        raise ValueError(f"Unknown test speakers {sorted(unknown)}.")
    test = X["speaker"].isin(test_speakers).to_numpy()
    return (
        X[~test].reset_index(drop=True),
        y[~test],
        X[test].reset_index(drop=True),
        y[test],
    )


def run(
    data_home=None,
    *,
    quick=False,
    test_speakers=TEST_SPEAKERS,
    n_per_speaker=None,
    weight_values=None,
    epochs=None,
    settings=None,
    n_segments=1,
    n_jobs=1,
    verbose=True,
):
    """Fit every setting on the training speakers; return one row per setting.

    Parameters
    ----------
    data_home : path-like, default=None
        Folder holding ``fsdd/`` and ``mnist/``; None is ``../shared/data``
        beside the repository.
    quick : bool, default=False
        A smaller run: 150 records per speaker, weight values (0, 1), 30
        epochs. Explicit arguments below override it.
    test_speakers : tuple of str, default=("george", "lucas")
        The held-out speakers.
    n_per_speaker : int, default=None
        Records kept per speaker (None: all 500).
    weight_values : tuple of float, default=None
        ``values`` of ``fusion_weight_grid``; None is (0, 0.5, 1), or (0, 1)
        with ``quick``.
    epochs : int, default=None
        Maximum epochs of the neural model; None is 60 (30 with ``quick``).
    settings : set of str, default=None
        The settings to run (``image``, ``audio``, ``text``, ``concat``,
        ``soft``, ``stacking``, ``learned``, ``attention``, and
        ``audio_seg3``: audio with ``n_segments=3``); None is all.
    n_segments : int, default=1
        ``n_segments`` of the audio extractor in the fused settings.
    n_jobs : int, default=1
        ``n_jobs`` of the grid search (1 keeps the CPU time complete: worker
        processes are not counted by ``time.process_time``).
    verbose : bool, default=True
        Print each row as it finishes (to stderr).

    Returns
    -------
    rows : list of dict
        ``setting``, ``accuracy``, ``f1_macro``, ``weights`` (shares summing
        to 1, or None), ``wall_s``, ``cpu_s`` and ``details`` (str).
    """
    import joblib

    from sklearn_mbm import (
        FusionTransformer,
        LateFusionClassifier,
        NeuralFusionClassifier,
        fusion_weight_grid,
    )

    if n_per_speaker is None and quick:
        n_per_speaker = 150
    if weight_values is None:
        weight_values = (0.0, 1.0) if quick else (0.0, 0.5, 1.0)
    if epochs is None:
        epochs = 30 if quick else 60
    all_settings = [
        "image",
        "audio",
        "audio_seg3",
        "text",
        "concat",
        "soft",
        "stacking",
        "learned",
        "attention",
    ]
    settings = all_settings if settings is None else list(settings)
    unknown = set(settings) - set(all_settings)
    if unknown:
        raise ValueError(f"Unknown settings {sorted(unknown)}.")

    X_train, y_train, X_test, y_test = load_split(
        data_home, test_speakers, n_per_speaker
    )
    groups = X_train["speaker"].to_numpy()
    n_groups = len(np.unique(groups))
    # One fold per training speaker, computed once: the grid search and the
    # stacking folds use the very same splits.
    splits = list(GroupKFold(n_splits=n_groups).split(X_train, y_train, groups))
    if verbose:
        print(
            f"train: {len(X_train)} records, speakers "
            f"{sorted(set(groups))}; test: {len(X_test)} records, speakers "
            f"{sorted(test_speakers)}",
            file=sys.stderr,
        )

    rows = []

    def record(setting, model, weights=None, details="", column=None):
        # A unimodal pipeline sees its column alone (the fusions route the
        # columns themselves).
        train = X_train if column is None else X_train[column]
        test = X_test if column is None else X_test[column]
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        model.fit(train, y_train)
        predicted = model.predict(test)
        row = {
            "setting": setting,
            "accuracy": accuracy_score(y_test, predicted),
            "f1_macro": f1_score(y_test, predicted, average="macro"),
            "weights": None,
            "wall_s": time.perf_counter() - start_wall,
            "cpu_s": time.process_time() - start_cpu,
            "details": details,
        }
        if weights is not None:
            row["weights"], extra = weights(model)
            row["details"] = (details + " " + extra).strip()
        rows.append(row)
        if verbose:
            print(
                f"  {setting}: accuracy {row['accuracy']:.3f}, macro F1 "
                f"{row['f1_macro']:.3f}, {row['wall_s']:.1f} s wall, "
                f"{row['cpu_s']:.1f} s CPU {row['details']}",
                file=sys.stderr,
            )
        return model

    labels = {
        "image": "image (pixels) + LR",
        "audio": "audio (MFCC stats) + scaler + LR",
        "text": "text (char_wb 2-3 tf-idf) + LR",
    }
    audio_label = "" if n_segments == 1 else f", audio n_segments={n_segments}"
    with threadpool_limits(1), tempfile.TemporaryDirectory() as cache:
        memory = joblib.Memory(cache, verbose=0)
        for name in NAMES:
            if name in settings:
                record(labels[name], _unimodal(name), column=name)
            if name == "audio" and "audio_seg3" in settings:
                record(
                    "audio (MFCC stats, 3 time segments) + scaler + LR",
                    _unimodal("audio", n_segments=3),
                    column="audio",
                )

        if "concat" in settings:
            fusion = FusionTransformer(
                [(name, ext, name) for name, ext in _extractors(n_segments).items()],
                memory=memory,
            )
            # one candidate per direction, as in the recorded results (19)
            grid = fusion_weight_grid(
                NAMES, values=weight_values, unique_up_to_scale=True
            )
            search = GridSearchCV(
                Pipeline([("fusion", fusion), ("clf", _classifier())]),
                {"fusion__weights": grid},
                cv=splits,
                scoring="accuracy",
                n_jobs=n_jobs,
            )

            def searched(model):
                best = model.best_params_["fusion__weights"]
                raw = ", ".join(f"{k} {v:g}" for k, v in best.items())
                return _shares(best), (
                    f"(best of {len(grid)} weightings: {raw}; grouped CV "
                    f"accuracy {model.best_score_:.3f})"
                )

            record(
                f"concat fusion + LR, searched weights{audio_label}", search, searched
            )

        late = [(name, _unimodal(name, n_segments), name) for name in NAMES]
        if "soft" in settings:
            record(
                f"late fusion, soft (equal weights){audio_label}",
                LateFusionClassifier(late, method="soft"),
                lambda model: (_shares(model.weights_), ""),
            )
        if "stacking" in settings:

            def stacked(model):
                # Final LR coefficients: columns are the modalities' class
                # probabilities, in estimator order, n_classes each.
                coef = np.abs(model.final_estimator_.coef_)
                k = len(model.classes_)
                mass = {
                    name: float(coef[:, i * k : (i + 1) * k].sum())
                    for i, name in enumerate(NAMES)
                }
                return _shares(mass), "(weights: share of |final LR coef|)"

            record(
                f"late fusion, stacking (LR, grouped folds){audio_label}",
                LateFusionClassifier(late, method="stacking", cv=splits),
                stacked,
            )

        for fusion_kind in ("learned", "attention"):
            if fusion_kind not in settings:
                continue
            neural = NeuralFusionClassifier(
                [(name, ext, name) for name, ext in _extractors(n_segments).items()],
                fusion=fusion_kind,
                epochs=epochs,
                early_stopping=True,
                random_state=0,
            )

            def gates(model):
                return dict(model.fusion_weights_), f"({model.n_iter_} epochs)"

            record(f"neural, fusion={fusion_kind!r}{audio_label}", neural, gates)
    return rows


def format_table(rows):
    """The rows as a markdown table."""
    lines = [
        "| setting | accuracy | macro F1 | weights (image, audio, text) "
        "| wall s | CPU s |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['setting']} | {row['accuracy']:.3f} | {row['f1_macro']:.3f} "
            f"| {_format_weights(row['weights'])} | {row['wall_s']:.1f} "
            f"| {row['cpu_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-home", default=str(DEFAULT_DATA_HOME))
    parser.add_argument("--quick", action="store_true", help="a smaller run")
    parser.add_argument("--n-jobs", type=int, default=1, help="grid search jobs")
    parser.add_argument(
        "--n-segments",
        type=int,
        default=1,
        help="n_segments of the audio extractor in the fused settings",
    )
    parser.add_argument(
        "--only", default=None, help="comma-separated settings (default: all)"
    )
    args = parser.parse_args(argv)
    settings = None if args.only is None else args.only.split(",")
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    rows = run(
        args.data_home,
        quick=args.quick,
        settings=settings,
        n_segments=args.n_segments,
        n_jobs=args.n_jobs,
    )
    wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    print(format_table(rows))
    print()
    for row in rows:
        if row["details"]:
            print(f"- {row['setting']}: {row['details']}")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    print(
        f"\n{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"{'quick' if args.quick else 'full'} run, held-out speakers "
        f"{', '.join(TEST_SPEAKERS)}; total {wall:.0f} s wall, {cpu:.0f} s CPU; "
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f}; "
        f"Python {platform.python_version()}"
    )
    return rows


if __name__ == "__main__":
    main()
