"""The demo behind ``python -m sklearn_mbm demo``.

Image, audio and text alone, then their concatenation with a grid search over
fusion weights, all scored with speaker-grouped cross-validation (every fold
holds out one speaker), on the audio-visual digits sample shipped with the
package. Every setting is a ``Pipeline(FusionTransformer, LogisticRegression)``
of the real extractors, cross-validated or searched as a whole.

All settings share one ``FusionTransformer(memory=...)`` cache (a temporary
folder). Its keys are per modality, so each extractor is fitted once per fold
in the unimodal runs, and the fused runs and the whole weight search reuse
those features instead of extracting again.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, check_random_state
from threadpoolctl import threadpool_limits

MODALITIES = ("image", "audio", "text")
SCORING = {"accuracy": "accuracy", "f1_macro": "f1_macro"}
DEFAULT_OUTPUT = "av_digits_fusion_weights.png"
N_STAGES = 7
# Time segments of the audio statistics (AudioFeatureExtractor's n_segments),
# chosen from measurements: see docs/user_guide/extractors.rst.
AUDIO_SEGMENTS = 3


class _Progress:
    """Numbered stages on stderr: ``[3/8] image alone ... done (1.2 s)``."""

    def __init__(self, stream, quiet):
        self.stream = stream
        self.quiet = quiet
        self.stage = 0
        self.start = None

    def begin(self, text):
        self.stage += 1
        self.start = time.perf_counter()
        if not self.quiet:
            print(f"[{self.stage}/{N_STAGES}] {text} ...", end="", file=self.stream)
            self.stream.flush()

    def end(self, note=""):
        if not self.quiet:
            elapsed = time.perf_counter() - self.start
            note = f"; {note}" if note else ""
            print(f" done ({elapsed:.1f} s{note})", file=self.stream, flush=True)


def load_data(
    *, full=False, data_home=None, download=True, max_samples=None, random_state=0
):
    """Return ``(X, y, groups, audio_sr, description)`` of the demo data.

    ``max_samples`` keeps a random subset stratified by digit and speaker (for
    tests and quick looks).
    """
    from sklearn_mbm.datasets import fetch_av_digits, load_av_digits

    if full:
        bunch = fetch_av_digits(data_home=data_home, download_if_missing=download)
        where = f"full set ({bunch.data.shape[0]} records)"
    else:
        bunch = load_av_digits()
        where = f"bundled sample ({bunch.data.shape[0]} records)"
    X = bunch.data.loc[:, list(MODALITIES)]
    y = np.asarray(bunch.target)
    groups = np.asarray(bunch.data["speaker"])
    if max_samples is not None and max_samples < len(y):
        from sklearn.model_selection import train_test_split

        strata = np.char.add(y.astype(str), groups.astype(str))
        rows, _ = train_test_split(
            np.arange(len(y)),
            train_size=max_samples,
            stratify=strata if max_samples >= len(np.unique(strata)) else None,
            random_state=check_random_state(random_state),
        )
        rows = np.sort(rows)
        X, y, groups = X.iloc[rows], y[rows], groups[rows]
        where += f", subset of {len(rows)}"
    return X, y, groups, bunch.audio_sr, where


def make_extractors(audio_sr, n_segments=AUDIO_SEGMENTS):
    """The per-modality extractors: all fast and offline (no TensorFlow)."""
    from sklearn_mbm import (
        AudioFeatureExtractor,
        ImageFeatureExtractor,
        TextFeatureExtractor,
    )

    return {
        "image": ImageFeatureExtractor(backbone="pixels"),
        "audio": AudioFeatureExtractor(
            sr=8000, input_sr=audio_sr, n_segments=n_segments
        ),
        "text": TextFeatureExtractor(),
    }


def make_specs(extractors):
    """``(name, extractor, column)`` of each modality, column named as it."""
    return {name: (name, clone(extractors[name]), name) for name in MODALITIES}


def make_model(specs, names, memory, weights=None):
    """``Pipeline(FusionTransformer(the named modalities), LogisticRegression)``.

    A single modality also goes through a FusionTransformer, so that it gets
    the same normalisation as in the fused runs and shares their cache.
    """
    from sklearn_mbm import FusionTransformer

    fusion = FusionTransformer(
        [specs[name] for name in names], weights=weights, memory=memory
    )
    return Pipeline(
        [("fusion", fusion), ("classifier", LogisticRegression(max_iter=2000))]
    )


def _row(setting, weights, scores):
    """A table row from per-fold scores ``{"accuracy": [...], "f1_macro": [...]}``."""
    return {
        "setting": setting,
        "weights": weights,
        **{
            metric: (float(np.mean(scores[metric])), float(np.std(scores[metric])))
            for metric in SCORING
        },
    }


def _format_weights(weights):
    return "  ".join(f"{name}={value:.2g}" for name, value in weights.items())


def format_table(rows, header):
    """The score table as text."""
    columns = [
        ("setting", max(len("setting"), *(len(r["setting"]) for r in rows))),
        ("weights", max(len("weights"), *(len(r["weights"]) for r in rows))),
        ("accuracy", 13),
        ("macro F1", 13),
    ]
    lines = [header, ""]
    lines.append("  ".join(f"{name:<{width}}" for name, width in columns).rstrip())
    lines.append("  ".join("-" * width for _, width in columns))
    for r in rows:
        cells = [
            f"{r['setting']:<{columns[0][1]}}",
            f"{r['weights']:<{columns[1][1]}}",
            f"{r['accuracy'][0]:.3f} ± {r['accuracy'][1]:.3f}",
            f"{r['f1_macro'][0]:.3f} ± {r['f1_macro'][1]:.3f}",
        ]
        lines.append("  ".join(cells))
    return "\n".join(lines)


# the title of the demo's ternary plot (also the README's dated figure)
PLOT_TITLE = (
    "Audio-visual digits: speaker-grouped CV accuracy\nacross "
    "fusion weight shares (concat fusion, logistic regression)"
)


def _save_plot(search, output):
    """Draw the ternary plot of the search to ``output``; return its path."""
    from matplotlib.figure import Figure

    from sklearn_mbm.plotting import plot_fusion_weights

    # a bare Figure needs no GUI backend: safe on headless machines
    figure = Figure(figsize=(7.4, 6.0), layout="constrained")
    ax = figure.subplots()
    plot_fusion_weights(
        search,
        ax=ax,
        score="accuracy",
        title=PLOT_TITLE,
    )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=120)
    return output.resolve()


def run_demo(
    *,
    full=False,
    data_home=None,
    download=True,
    output=DEFAULT_OUTPUT,
    n_jobs=None,
    quiet=False,
    max_samples=None,
    weight_values=None,
    n_segments=AUDIO_SEGMENTS,
    random_state=0,
    stdout=None,
    stderr=None,
):
    """Run the demo; print progress, the table and where the plot went.

    Parameters
    ----------
    full : bool, default=False
        Use the full 3,000-record set (``fetch_av_digits``) instead of the
        600-record sample shipped with the package.
    data_home : str or path-like, default=None
        Folder of the full set (see ``fetch_av_digits``).
    download : bool, default=True
        With ``full``, download missing files (else FileNotFoundError).
    output : str or path-like or None, default="av_digits_fusion_weights.png"
        Where to save the plot; None skips it.
    n_jobs : int, default=None
        Parallel cross-validation fits (joblib).
    quiet : bool, default=False
        No progress on ``stderr``.
    max_samples : int, default=None
        Use a random subset of this size (stratified by digit and speaker).
    weight_values : sequence of float, default=None
        Values of each weight in the grid (``fusion_weight_grid``'s
        ``values``); None means (0, 0.5, 1).
    n_segments : int, default=3
        ``n_segments`` of the audio extractor: its statistics over the whole
        clip and over this many equal time segments (1: the whole clip only).
    random_state : int, default=0
        Seed of the subset.
    stdout, stderr : file-like, default=None
        Streams for the results and the progress (``sys.stdout``/``sys.stderr``).

    Returns
    -------
    result : Bunch
        ``rows`` (list of dicts), ``table`` (str), ``search`` (the fitted
        GridSearchCV), ``plot_path`` (Path or None), ``plot_error`` (str or
        None), ``elapsed`` (seconds).
    """
    from sklearn_mbm import fusion_weight_grid

    stdout = sys.stdout if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    progress = _Progress(stderr, quiet)
    started = time.perf_counter()

    progress.begin("loading the full set" if full else "loading the bundled sample")
    X, y, groups, audio_sr, where = load_data(
        full=full,
        data_home=data_home,
        download=download,
        max_samples=max_samples,
        random_state=random_state,
    )
    cv = LeaveOneGroupOut()
    n_folds = cv.get_n_splits(X, y, groups)
    progress.end(f"{len(y)} records, {n_folds} speakers")

    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="sklearn_mbm_demo_") as cache,
        threadpool_limits(limits=1, user_api="blas"),
    ):
        memory = joblib.Memory(cache, verbose=0)
        # The matrices are small: one BLAS thread per fit is as fast, and never
        # oversubscribes the cores (parallelism comes from n_jobs instead).
        specs = make_specs(make_extractors(audio_sr, n_segments))
        cv_kwargs = {"groups": groups, "cv": cv, "scoring": SCORING, "n_jobs": n_jobs}

        for name in MODALITIES:
            progress.begin(f"{name} alone: {n_folds}-fold CV")
            scores = cross_validate(
                make_model(specs, [name], memory), X, y, **cv_kwargs
            )
            rows.append(
                _row(f"{name} alone", "-", {m: scores[f"test_{m}"] for m in SCORING})
            )
            progress.end(f"accuracy {rows[-1]['accuracy'][0]:.3f}")

        progress.begin("fused, equal weights")
        scores = cross_validate(
            make_model(specs, MODALITIES, memory), X, y, **cv_kwargs
        )
        rows.append(
            _row(
                "fused, equal weights",
                _format_weights(dict.fromkeys(MODALITIES, 1.0)),
                {m: scores[f"test_{m}"] for m in SCORING},
            )
        )
        progress.end(f"accuracy {rows[-1]['accuracy'][0]:.3f}")

        grid = fusion_weight_grid(
            list(MODALITIES),
            **({} if weight_values is None else {"values": tuple(weight_values)}),
        )
        progress.begin(
            f"fused, grid search over {len(grid)} weight settings x {n_folds} folds"
        )
        search = GridSearchCV(
            make_model(specs, MODALITIES, memory),
            {"fusion__weights": grid},
            scoring=SCORING,
            refit="accuracy",
            cv=cv,
            n_jobs=n_jobs,
        )
        search.fit(X, y, groups=groups)
        best = search.best_index_
        results = search.cv_results_
        rows.append(
            _row(
                "fused, best weights*",
                _format_weights(search.best_params_["fusion__weights"]),
                {
                    m: [results[f"split{k}_test_{m}"][best] for k in range(n_folds)]
                    for m in SCORING
                },
            )
        )
        progress.end(f"accuracy {rows[-1]['accuracy'][0]:.3f}")

    progress.begin("plot")
    plot_path = plot_error = None
    if output is None:
        plot_error = "not requested (--no-plot)"
    else:
        try:
            plot_path = _save_plot(search, output)
        except ImportError:
            plot_error = (
                "matplotlib is not installed; install it with "
                "`pip install sklearn-mbm[plot]`"
            )
    progress.end("skipped" if plot_path is None else str(plot_path))

    header = (
        f"Audio-visual digits, {where}.\n"
        "Logistic regression on each modality alone and on all three fused\n"
        f"(concat); scored by leave-one-speaker-out cross-validation ({n_folds} "
        "folds),\nmean ± std over folds."
    )
    if n_segments > 1:
        header += (
            f"\nAudio: MFCC statistics over each clip and its {n_segments} "
            "time segments."
        )
    table = format_table(rows, header)
    elapsed = time.perf_counter() - started
    print(table, file=stdout)
    print(
        "\n* weights chosen by the grid search on these same folds, so the "
        "score is\n  optimistic; nested cross-validation would give an unbiased "
        "one.",
        file=stdout,
    )
    if plot_path is not None:
        print(f"\nPlot of accuracy across the weight grid: {plot_path}", file=stdout)
    else:
        print(f"\nPlot skipped: {plot_error}.", file=stdout)
    print(f"Total time: {elapsed:.1f} s", file=stdout, flush=True)
    return Bunch(
        rows=rows,
        table=table,
        search=search,
        plot_path=plot_path,
        plot_error=plot_error,
        elapsed=elapsed,
    )


def check_output(path):
    """Fail before the run, not after it, when the plot cannot be written."""
    path = Path(path).resolve()
    if path.is_dir():
        raise IsADirectoryError(
            f"cannot write the plot to {str(path)!r}: it is a folder; give a file "
            "name such as plot.png"
        )
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(
            f"cannot write the plot to {str(path)!r}: {str(parent)!r} is a file, "
            "not a folder"
        )
    if not os.access(parent, os.W_OK):
        raise PermissionError(
            f"cannot write the plot to {str(path)!r}: no permission to write in "
            f"{str(parent)!r}"
        )
