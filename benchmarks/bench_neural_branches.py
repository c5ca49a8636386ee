"""Benchmark: trainable image and audio branches, alone and fused, on unseen
speakers, under several training recipes.

The split of :mod:`bench_av_digits` (``george`` and ``lucas`` held out; the
four other speakers train, 2,000 records). One network is built by hand from
the package's branches (:mod:`sklearn_mbm.neural._cnn`: a small CNN;
:mod:`sklearn_mbm.neural._mel_cnn`: Conv1D over log-mel frames, masked
pooling), each branch projected to ``projection_units`` and merged by the
package's learned-weight fusion layer, then a softmax head. Early stopping
watches a validation split of whole training speakers (one of the four).

Settings:

- ``image``, ``audio``: one branch alone (same projection and head);
- ``fused/plain``: the fused network, one loss;
- ``fused/dropout``: modality dropout: during training each record loses
  one of its modalities (chosen at random) with probability ``p``;
- ``fused/aux``: an auxiliary softmax head on each branch's projection,
  its loss weighted ``aux_weight``, added to the fused loss;
- ``fused/dropout+aux``: both.

For each fused setting the held-out speakers are also scored with one
modality removed (input zeroed, marked absent). Wall time and epochs of each
fit are printed (2 cores shared with other jobs: wall time is noisy).

``--estimator`` runs the shipped estimator instead, one line per setting:
``NeuralFusionClassifier([("image", "cnn", "image")])``, the same with
``("audio", "mel_cnn", "audio")`` (``mel_sr=8000``), and both fused, with
``modality_dropout=0, aux_loss_weight=0`` and with the defaults; every
other parameter at its default, ``fit(..., groups=speaker)`` so that early
stopping validates on whole training speakers, ``random_state=0``.

Run: ``python benchmarks/bench_neural_branches.py [--epochs 30] [--only ...]``
or ``python benchmarks/bench_neural_branches.py --estimator [--seeds 0,1,2]``
"""

import argparse
import importlib.util
import os
import sys
import time
from pathlib import Path

import numpy as np

PROJECTION = 64
N_CLASSES = 10


def _bench_av_digits():
    path = Path(__file__).resolve().parent / "bench_av_digits.py"
    spec = importlib.util.spec_from_file_location("bench_av_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_arrays(n_per_speaker=None, cache=None):
    """Images (n, 28, 28, 1) in [0, 255], log-mel frames, labels, speakers."""
    if cache is not None and os.path.exists(cache):
        data = np.load(cache, allow_pickle=True)
        return {k: data[k] for k in data.files}
    from sklearn_mbm._io import load_audio_cell
    from sklearn_mbm.neural._mel_cnn import audio_frames

    X_train, y_train, X_test, y_test = _bench_av_digits().load_split(
        n_per_speaker=n_per_speaker
    )
    out = {}
    for part, X, y in (("train", X_train, y_train), ("test", X_test, y_test)):
        out[f"image_{part}"] = np.stack(X["image"].to_list())[..., None].astype(
            np.float32
        )
        waves = [load_audio_cell(c, i, 8000) for i, c in enumerate(X["audio"])]
        out[f"audio_{part}"], _ = audio_frames(waves, sr=8000)
        out[f"y_{part}"] = np.asarray(y)
        out[f"groups_{part}"] = X["speaker"].to_numpy().astype(str)
    if cache is not None:
        np.savez(cache, **out)
    return out


def _modality_dropout_layer(keras):
    ops = keras.ops

    class ModalityDropout(keras.layers.Layer):
        """In training, each record loses one present modality with prob. p."""

        def __init__(self, rate, **kwargs):
            super().__init__(**kwargs)
            self.rate = rate
            self.seed = keras.random.SeedGenerator(0)

        def call(self, present, training=None):
            if not training or self.rate == 0:
                return present
            n = ops.shape(present)[0]
            k = ops.shape(present)[1]
            drop = keras.random.uniform((n, 1), seed=self.seed) < self.rate
            scores = keras.random.uniform((n, k), seed=self.seed) * present
            victim = ops.one_hot(ops.argmax(scores, axis=1), k)
            # never drop the last present modality
            several = ops.sum(present, axis=1, keepdims=True) > 1
            cut = ops.cast(ops.logical_and(drop, several), "float32") * victim
            return present * (1.0 - cut)

    return ModalityDropout


def build(
    keras,
    names,
    shapes,
    *,
    modality_dropout=0.0,
    aux_weight=0.0,
    logit_sum=False,
    seed=0,
):
    """The network over ``names`` (a subset of image, audio)."""
    from sklearn_mbm.neural._cnn import build_cnn
    from sklearn_mbm.neural._layers import fusion_layers
    from sklearn_mbm.neural._mel_cnn import build_mel_cnn

    keras.utils.set_random_seed(seed)
    inputs, projections = [], []
    for index, name in enumerate(names):
        inp = keras.Input(shape=shapes[name], name=name)
        if name == "image":
            encoded = build_cnn(keras, inp, index=index)
        else:
            encoded = build_mel_cnn(keras, inp, index=index)
        inputs.append(inp)
        projections.append(
            keras.layers.Dense(PROJECTION, activation="relu", name=f"{name}_proj")(
                encoded
            )
        )
    present = keras.Input(shape=(len(names),), name="present")
    mask = present
    if modality_dropout > 0:
        mask = _modality_dropout_layer(keras)(modality_dropout, name="mdrop")(present)
    fused = fusion_layers()["LearnedWeightFusion"](name="fusion")(projections, mask)
    fused = keras.layers.Dropout(0.3, name="dropout")(fused)
    ops = keras.ops
    fused_logits = keras.layers.Dense(N_CLASSES, name="fused_logits")(fused)
    modality_logits = [
        keras.layers.Dense(N_CLASSES, name=f"{name}_logits")(proj)
        for name, proj in zip(names, projections)
    ]
    logits = fused_logits
    if logit_sum and len(names) > 1:
        # the head adds each present modality's own logits to the fused
        # ones: a product of experts inside the network
        logits = logits + sum(
            z * ops.expand_dims(mask[:, m], -1) for m, z in enumerate(modality_logits)
        )
    outputs = {"head": keras.layers.Softmax(name="head")(logits)}
    losses = {"head": "sparse_categorical_crossentropy"}
    weights = {"head": 1.0}
    if aux_weight > 0 and len(names) > 1:
        for name, z in zip(names, modality_logits):
            key = f"aux_{name}"
            outputs[key] = keras.layers.Softmax(name=key)(z)
            losses[key] = "sparse_categorical_crossentropy"
            weights[key] = aux_weight
    model = keras.Model([*inputs, present], outputs)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=losses,
        loss_weights=weights,
        metrics={"head": ["accuracy"]},
    )
    return model


def _feed(data, names, part, rows=None, removed=()):
    x = {}
    for name in names:
        values = data[f"{name}_{part}"]
        if name == "image":
            values = values / 255.0  # the "cnn" branch reads pixels in [0, 1]
        values = values if rows is None else values[rows]
        x[name] = np.zeros_like(values) if name in removed else values
    n = len(next(iter(x.values())))
    present = np.ones((n, len(names)), np.float32)
    for j, name in enumerate(names):
        if name in removed:
            present[:, j] = 0.0
    x["present"] = present
    return x


def fit_and_score(
    keras, data, names, *, epochs, patience=10, seed=0, total=False, **recipe
):
    from sklearn.model_selection import GroupShuffleSplit

    groups = data["groups_train"]
    # one whole training speaker for early stopping's validation
    train, val = next(
        GroupShuffleSplit(n_splits=1, test_size=0.25, random_state=seed).split(
            groups, groups=groups
        )
    )
    shapes = {"image": data["image_train"].shape[1:], "audio": (None, 40)}
    model = build(keras, names, shapes, seed=seed, **recipe)
    y = data["y_train"]

    keys = ["head"] + [
        f"aux_{n}" for n in names if recipe.get("aux_weight", 0) and len(names) > 1
    ]
    stop = keras.callbacks.EarlyStopping(
        monitor="val_head_loss" if len(keys) > 1 and not total else "val_loss",
        mode="min",
        patience=patience,
        restore_best_weights=True,
    )
    start = time.perf_counter()
    history = model.fit(
        _feed(data, names, "train", train),
        dict.fromkeys(keys, y[train]),
        validation_data=(
            _feed(data, names, "train", val),
            dict.fromkeys(keys, y[val]),
        ),
        epochs=epochs,
        batch_size=64,
        callbacks=[stop],
        verbose=0,
    )
    wall = time.perf_counter() - start

    def accuracy(removed=()):
        proba = model.predict(_feed(data, names, "test", removed=removed), verbose=0)
        return float(np.mean(proba["head"].argmax(1) == data["y_test"]))

    row = {
        "names": "+".join(names),
        "recipe": recipe,
        "accuracy": accuracy(),
        "epochs": len(history.history["loss"]),
        "best_epoch": stop.best_epoch + 1 if stop.best_epoch is not None else None,
        "wall_s": wall,
    }
    if len(names) > 1:
        for name in names:
            row[f"without_{name}"] = accuracy(removed=(name,))
        logits = model.get_layer("fusion").logits.numpy()
        row["weights"] = dict(zip(names, np.exp(logits) / np.exp(logits).sum()))
    return row


def estimator_rows(seed=0, epochs=50, verbose=True):
    """The shipped ``NeuralFusionClassifier``, alone and fused (see above)."""
    from sklearn_mbm import NeuralFusionClassifier

    X_train, y_train, X_test, y_test = _bench_av_digits().load_split()
    groups = X_train["speaker"].to_numpy()
    image, audio = ("image", "cnn", "image"), ("audio", "mel_cnn", "audio")
    settings = {
        "image (cnn)": ([image], {}),
        "audio (mel_cnn)": ([audio], {}),
        "fused, modality_dropout=0, aux_loss_weight=0": (
            [image, audio],
            {"modality_dropout": 0.0, "aux_loss_weight": 0.0},
        ),
        "fused, defaults": ([image, audio], {}),
    }
    rows = []
    for label, (transformers, params) in settings.items():
        clf = NeuralFusionClassifier(
            transformers, mel_sr=8000, epochs=epochs, random_state=seed, **params
        )
        start = time.perf_counter()
        clf.fit(X_train, y_train, groups=groups)
        wall = time.perf_counter() - start
        watched = clf.history_.get("val_head_loss", clf.history_["val_loss"])
        row = {
            "setting": label if seed == 0 else f"{label}, random_state={seed}",
            "accuracy": clf.score(X_test, y_test),
            "epochs": clf.n_iter_,
            "best_epoch": int(np.argmin(watched)) + 1,
            "wall_s": wall,
        }
        if len(transformers) > 1:
            for name in ("image", "audio"):
                row[f"without_{name}"] = clf.score(
                    X_test.assign(**{name: None}), y_test
                )
            row["weights"] = clf.fusion_weights_
        rows.append(row)
        if verbose:
            print(row, file=sys.stderr, flush=True)
    return rows


RECIPES = {
    "plain": {},
    "dropout": {"modality_dropout": 0.5},
    "aux": {"aux_weight": 0.5},
    "dropout+aux": {"modality_dropout": 0.5, "aux_weight": 0.5},
    "dropout+aux+sum": {"modality_dropout": 0.5, "aux_weight": 0.5, "logit_sum": True},
    "aux+sum": {"aux_weight": 0.5, "logit_sum": True},
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--patience", type=int, default=10)
    parser.add_argument(
        "--total", action="store_true", help="early stopping on the total loss"
    )
    parser.add_argument("--n-per-speaker", type=int, default=None)
    parser.add_argument("--only", default=None, help="image,audio,<recipe>,...")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--cache", default=None, help="npz of the arrays")
    parser.add_argument("--dropout", type=float, default=None)
    parser.add_argument("--aux", type=float, default=None)
    parser.add_argument(
        "--estimator", action="store_true", help="the shipped estimator"
    )
    args = parser.parse_args(argv)
    if args.estimator:
        start = time.perf_counter()
        rows = [
            row
            for seed in args.seeds.split(",")
            for row in estimator_rows(seed=int(seed), epochs=args.epochs)
        ]
        print(
            "| setting | accuracy | without image | without audio | epochs "
            "(best) | wall s |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        for row in rows:
            print(
                f"| {row['setting']} | {row['accuracy']:.3f} "
                f"| {row.get('without_image', float('nan')):.3f} "
                f"| {row.get('without_audio', float('nan')):.3f} "
                f"| {row['epochs']} ({row['best_epoch']}) | {row['wall_s']:.0f} |"
            )
        load = os.getloadavg()
        print(
            f"\ntotal {time.perf_counter() - start:.0f} s; {os.cpu_count()} CPUs, "
            f"load average {load[0]:.2f} (shared machine)"
        )
        return rows
    from sklearn_mbm._keras import import_keras

    keras = import_keras()
    start = time.perf_counter()
    data = load_arrays(args.n_per_speaker, args.cache)
    print(
        f"arrays in {time.perf_counter() - start:.1f} s; train "
        f"{len(data['y_train'])}, test {len(data['y_test'])}, audio frames "
        f"{data['audio_train'].shape}",
        file=sys.stderr,
    )
    recipes = dict(RECIPES)
    if args.dropout is not None or args.aux is not None:
        recipes = {
            "custom": {
                "modality_dropout": args.dropout or 0.0,
                "aux_weight": args.aux or 0.0,
            }
        }
    settings = ["image", "audio", *recipes]
    if args.only:
        settings = [s for s in settings if s in args.only.split(",")] + [
            s for s in args.only.split(",") if s == "custom"
        ]
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for setting in settings:
            if setting in ("image", "audio"):
                row = fit_and_score(
                    keras,
                    data,
                    [setting],
                    epochs=args.epochs,
                    patience=args.patience,
                    total=args.total,
                    seed=seed,
                )
            else:
                row = fit_and_score(
                    keras,
                    data,
                    ["image", "audio"],
                    epochs=args.epochs,
                    patience=args.patience,
                    total=args.total,
                    seed=seed,
                    **recipes[setting],
                )
            row["setting"], row["seed"] = setting, seed
            rows.append(row)
            print(row, file=sys.stderr, flush=True)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f}; {os.cpu_count()} CPUs", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
