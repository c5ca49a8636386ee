"""Grid against random search of three fusion weights, on the bundled sample.

Draws ``docs/images/weight_search_grid_vs_random.png`` for the user guide
(:ref:`tuning-weights`): the best speaker-grouped cross-validated accuracy
found after ``n`` candidates, for

- grids of :func:`~sklearn_mbm.fusion_weight_grid` with finer and finer
  values ((0, 1): 7 candidates, (0, 0.5, 1): 19, (0, 0.25, ..., 1): 91);
- random searches of :func:`~sklearn_mbm.fusion_weight_distribution`
  (``alpha=1``), the running best over their first ``n`` draws, the median
  and range of 5 seeds.

Every candidate is scored in one ``GridSearchCV`` over the union of the
candidates (the same folds for all): 422 candidates x 3 folds, 10 minutes on
two busy cores. To keep it cheap the image pixels and the audio statistics,
fixed functions of each cell that learn nothing from the data, are extracted
once and passed through as numeric blocks; the text tf-idf is fitted inside
each fold; the classifier is a ``RidgeClassifier``.

Run: ``python docs/make_weight_search_figure.py [--output PATH]``.
"""

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_distribution,
    fusion_weight_grid,
    load_av_digits,
)

NAMES = ["image", "audio", "text"]
GRID_VALUES = [(0.0, 1.0), (0.0, 0.5, 1.0), (0.0, 0.25, 0.5, 0.75, 1.0)]
N_DRAWS = 61
SEEDS = range(5)
OUTPUT = Path(__file__).resolve().parent / "images" / "weight_search_grid_vs_random.png"


def numeric_frame():
    """The sample with image and audio as numeric blocks, text as strings."""
    bunch = load_av_digits()
    data = bunch.data
    image = ImageFeatureExtractor(backbone="pixels").fit_transform(data["image"])
    audio = AudioFeatureExtractor(
        sr=8000, input_sr=bunch.audio_sr, n_segments=3
    ).fit_transform(data["audio"])
    # audio statistics span orders of magnitude: standardise them once
    audio = (audio - audio.mean(axis=0)) / (audio.std(axis=0) + 1e-12)
    frame = pd.concat(
        [
            pd.DataFrame(image).add_prefix("image"),
            pd.DataFrame(audio).add_prefix("audio"),
            data[["text"]],
        ],
        axis=1,
    )
    columns = {
        "image": [f"image{i}" for i in range(image.shape[1])],
        "audio": [f"audio{i}" for i in range(audio.shape[1])],
        "text": "text",
    }
    return frame, np.asarray(bunch.target), np.asarray(data["speaker"]), columns


def key(weights):
    return tuple(round(weights[name], 12) for name in NAMES)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(OUTPUT))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    X, y, groups, columns = numeric_frame()
    fusion = FusionTransformer(
        [
            ("image", "passthrough", columns["image"]),
            ("audio", "passthrough", columns["audio"]),
            ("text", TextFeatureExtractor(), columns["text"]),
        ],
        normalize="block",
    )
    model = Pipeline([("fusion", fusion), ("clf", RidgeClassifier())])

    # draws sum to 1: compare with grids of one point per direction
    grids = [
        fusion_weight_grid(NAMES, values=values, unique_up_to_scale=True)
        for values in GRID_VALUES
    ]
    distribution = fusion_weight_distribution(NAMES)
    draws = [distribution.rvs(size=N_DRAWS, random_state=seed) for seed in SEEDS]
    candidates = {}
    for weights in [*grids[-1], *(w for grid in grids for w in grid)]:
        candidates.setdefault(key(weights), weights)
    for run in draws:
        for weights in run:
            candidates.setdefault(key(weights), weights)
    search = GridSearchCV(
        model,
        {"fusion__weights": list(candidates.values())},
        cv=GroupKFold(n_splits=3),
        scoring="accuracy",
    ).fit(X, y, groups=groups)
    score = {
        key(params["fusion__weights"]): value
        for params, value in zip(
            search.cv_results_["params"], search.cv_results_["mean_test_score"]
        )
    }

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = np.arange(1, N_DRAWS + 1)
    running = np.array(
        [np.maximum.accumulate([score[key(w)] for w in run]) for run in draws]
    )
    figure, axes = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
    axes.fill_between(
        n, running.min(axis=0), running.max(axis=0), alpha=0.25, color="C1"
    )
    axes.plot(
        n,
        np.median(running, axis=0),
        color="C1",
        label=f"random search, Dirichlet(1) (median, range of {len(SEEDS)} seeds)",
    )
    sizes = [len(grid) for grid in grids]
    bests = [max(score[key(w)] for w in grid) for grid in grids]
    axes.plot(sizes, bests, "o-", color="C0", label="grid search (values per weight)")
    for size, best, values in zip(sizes, bests, GRID_VALUES):
        axes.annotate(
            f"{len(values)} values",
            (size, best),
            textcoords="offset points",
            xytext=(4, -12),
            fontsize=8,
            color="C0",
        )
    axes.set_xlabel("number of weight candidates tried")
    axes.set_ylabel("best grouped-CV accuracy so far")
    axes.set_title("Three fusion weights on the audio-visual digits sample")
    axes.legend(loc="lower right", fontsize=8)
    figure.savefig(args.output, dpi=110)
    elapsed = time.perf_counter() - started
    print(f"{len(candidates)} candidates x 3 folds in {elapsed:.0f} s")
    for size, best in zip(sizes, bests):
        print(f"grid of {size}: best {best:.3f}")
    for size in (7, 19, 61):
        column = running[:, size - 1]
        print(
            f"random, first {size}: median best {np.median(column):.3f} "
            f"(range {column.min():.3f}-{column.max():.3f})"
        )
    print(f"saved {args.output}")


if __name__ == "__main__":
    main()
