"""Tests of sklearn_mbm.distributed on a real LocalCluster.

One cluster of two single-threaded worker *processes* serves the module
(every estimator and partition is pickled on its way to a worker). The
manifest is real files: the bundled digits written as PNG and WAV files
once, and their texts. Results are compared with the wrapped estimator's
own in-process output, bit for bit.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
import soundfile
from _sklearn_checks import run_sklearn_check
from numpy.testing import assert_allclose, assert_array_equal
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression, Ridge, SGDClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    NeuralFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)
from sklearn_mbm.exceptions import CellLoadWarning

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed (the 'distributed' extra) is needed"
)
dd = pytest.importorskip("dask.dataframe")

from sklearn_mbm.distributed import (  # noqa: E402
    ParallelPostFit,
    fit_incremental,
    get_client,
    transform_to_parquet,
)

REPO = Path(__file__).resolve().parents[1]
SR = 8000  # the bundled sample's rate
N_ROWS = 120
N_PARTITIONS = 6


@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded worker processes, shared by the module's tests."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        silence_logs=40,  # logging.ERROR: keep worker chatter off the test log
    )
    client = distributed.Client(cluster)
    # the classes defined here travel by value (the workers cannot import tests)
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        yield client
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    """N_ROWS records as files: PNG digits, WAV clips, texts, and labels."""
    root = tmp_path_factory.mktemp("manifest")
    data = load_av_digits()
    rows = np.linspace(0, len(data.target) - 1, N_ROWS).astype(int)
    records = []
    for i, row in enumerate(rows):
        cells = data.data.iloc[row]
        image, audio = root / f"{i}.png", root / f"{i}.wav"
        Image.fromarray(cells["image"]).save(image)
        soundfile.write(audio, cells["audio"], SR, subtype="FLOAT")
        records.append(
            {"image": str(image), "audio": str(audio), "text": cells["text"]}
        )
    frame = pd.DataFrame.from_records(records)
    return frame, np.asarray(data.target)[rows]


def _fusion(on_error="raise"):
    return FusionTransformer(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
            (
                "audio",
                AudioFeatureExtractor(
                    sr=SR, input_sr=SR, n_segments=3, on_error=on_error
                ),
                "audio",
            ),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
        missing="zero",
    )


@pytest.fixture(scope="module")
def fitted_fusion(manifest):
    X, y = manifest
    return _fusion().fit(X, y)


def _ddf(frame, npartitions=N_PARTITIONS):
    return dd.from_pandas(frame, npartitions=npartitions)


# --------------------------------------------------------------------------
# ParallelPostFit
# --------------------------------------------------------------------------


def test_transform_has_meta_without_computing_and_equals_in_process(
    dask_client, manifest, fitted_fusion
):
    """Columns and dtype come from the fitted estimator, no task runs to
    learn them; the computed features equal the in-process ones bit for bit,
    on the input's index."""
    X, _ = manifest
    X = X.set_axis(np.arange(100, 100 + len(X)))
    with distributed.get_task_stream(dask_client) as stream:
        features = ParallelPostFit(fitted_fusion).transform(_ddf(X))
        names, dtypes = list(features.columns), set(features.dtypes)
    assert not stream.data, "building the lazy result ran tasks"
    assert names == list(fitted_fusion.get_feature_names_out())
    expected = np.asarray(fitted_fusion.transform(X))
    assert dtypes == {expected.dtype}
    assert features.npartitions == N_PARTITIONS
    computed = features.compute()
    assert_array_equal(computed.index, X.index)
    assert computed.to_numpy().dtype == expected.dtype
    assert_array_equal(computed.to_numpy(), expected)


def test_in_memory_inputs_pass_straight_to_the_estimator(manifest, fitted_fusion):
    """pandas, polars and NumPy inputs give the wrapped estimator's output."""
    X, _ = manifest
    wrapped = ParallelPostFit(fitted_fusion)
    assert_array_equal(wrapped.transform(X), fitted_fusion.transform(X))
    scaler = StandardScaler().fit(np.arange(12.0).reshape(6, 2))
    array = np.arange(8.0).reshape(4, 2)
    assert_array_equal(
        ParallelPostFit(scaler).transform(array), scaler.transform(array)
    )
    polars = pytest.importorskip("polars")
    assert_array_equal(
        wrapped.transform(polars.from_pandas(X)), fitted_fusion.transform(X)
    )


def test_fit_fits_a_clone_and_an_unfitted_estimator_raises(manifest):
    X, y = manifest
    fusion = _fusion()
    wrapped = ParallelPostFit(fusion)
    with pytest.raises(Exception, match="not fitted"):
        wrapped.transform(_ddf(X))
    wrapped.fit(X, y)
    assert not hasattr(fusion, "transformers_")  # the parameter is untouched
    assert_array_equal(wrapped.transform(X), wrapped.estimator_.transform(X))


def test_classifier_pipeline_predictions(dask_client, manifest, fitted_fusion):
    """Pipeline(FusionTransformer, classifier): predict is a Series of the
    classes' dtype, predict_proba and decision_function dask arrays, score
    the accuracy; all equal the in-process results."""
    X, y = manifest
    labels = np.asarray([f"digit {v}" for v in y], dtype=object)
    model = Pipeline(
        [("fusion", _fusion()), ("clf", LogisticRegression(max_iter=300))]
    ).fit(X, labels)
    wrapped = ParallelPostFit(model)
    ddf = _ddf(X)
    predicted = wrapped.predict(ddf)
    assert predicted.dtype == model.classes_.dtype
    assert_array_equal(predicted.compute().to_numpy(), model.predict(X))
    proba = wrapped.predict_proba(ddf)
    assert proba.shape[1] == len(model.classes_)
    # a linear model's products on 20 rows and on 120 may round differently
    # in the last bit (BLAS blocking; seen with numpy 1.26's OpenBLAS)
    assert_allclose(proba.compute(), model.predict_proba(X), rtol=1e-12)
    assert_allclose(
        wrapped.decision_function(ddf).compute(),
        model.decision_function(X),
        rtol=1e-12,
    )
    truth = dd.from_pandas(pd.Series(labels), npartitions=N_PARTITIONS)
    assert wrapped.score(ddf, truth) == pytest.approx(model.score(X, labels))


def test_late_fusion_classifier(dask_client, manifest):
    X, y = manifest
    model = LateFusionClassifier(
        [
            (
                "image",
                make_pipeline(
                    ImageFeatureExtractor("pixels", input_size=8),
                    LogisticRegression(max_iter=300),
                ),
                "image",
            ),
            (
                "text",
                make_pipeline(TextFeatureExtractor(), LogisticRegression()),
                "text",
            ),
        ],
    ).fit(X, y)
    wrapped = ParallelPostFit(model)
    assert_array_equal(wrapped.predict(_ddf(X)).compute(), model.predict(X))
    assert_array_equal(wrapped.predict_proba(_ddf(X)).compute(), model.predict_proba(X))


def test_single_extractors_and_a_regressor(dask_client, manifest):
    """A lone text extractor (sparse tf-idf: dense columns in the dask
    DataFrame), a lone audio extractor (float32) and a regression Pipeline
    (a float64 Series)."""
    X, y = manifest
    text = TextFeatureExtractor().fit(X["text"])
    got = ParallelPostFit(text).transform(_ddf(X[["text"]]))
    assert_array_equal(got.compute().to_numpy(), text.transform(X[["text"]]).toarray())
    audio = AudioFeatureExtractor(sr=SR).fit(X["audio"])
    got = ParallelPostFit(audio).transform(_ddf(X[["audio"]]))
    assert set(got.dtypes) == {np.dtype(np.float32)}
    assert_array_equal(got.compute().to_numpy(), audio.transform(X[["audio"]]))
    model = Pipeline([("fusion", _fusion()), ("ridge", Ridge())]).fit(
        X, y.astype(float)
    )
    predicted = ParallelPostFit(model).predict(_ddf(X))
    assert predicted.dtype == np.float64
    assert_array_equal(predicted.compute().to_numpy(), model.predict(X))


def test_bad_cell_with_on_error_raise_stops_and_names_the_sample(
    dask_client, manifest, fitted_fusion, tmp_path
):
    X, _ = manifest
    bad = X.copy()
    bad.loc[77, "audio"] = str(tmp_path / "gone.wav")
    with pytest.raises(FileNotFoundError, match=r"sample 77 .*gone\.wav"):
        transform_to_parquet(fitted_fusion, _ddf(bad), tmp_path / "f", progress=False)
    # a rerun on the fixed manifest writes the partition that failed
    report = transform_to_parquet(
        fitted_fusion, _ddf(X), tmp_path / "f", progress=False
    )
    assert report.loc[77 // (N_ROWS // N_PARTITIONS), "status"] == "written"
    assert_array_equal(_read(tmp_path / "f").to_numpy(), fitted_fusion.transform(X))


class _CountUnpickles(TransformerMixin, BaseEstimator):
    """Passes X through; each unpickling appends this process's id to a file."""

    def __init__(self, log):
        self.log = log

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        return X

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_

    def __setstate__(self, state):
        self.__dict__.update(state)
        with open(self.log, "a") as f:
            f.write(f"{os.getpid()}\n")


def _unpickles_by_pid(log):
    pids = Path(log).read_text().split() if Path(log).exists() else []
    return pd.Series(pids).astype(int).value_counts().to_dict()


def _holds_shipped(node):
    """Whether a task graph value holds the shipped estimator itself (not a
    reference to its key): tuples of old dask graphs, DataNode/Task now."""
    from sklearn_mbm.distributed._shipping import ShippedEstimator

    if isinstance(node, ShippedEstimator):
        return True
    if isinstance(node, (tuple, list)):
        return any(_holds_shipped(item) for item in node)
    if isinstance(node, dict):
        return any(_holds_shipped(item) for item in node.values())
    if type(node).__name__ == "DataNode":
        return _holds_shipped(node.value)
    if type(node).__name__ == "Task":
        return _holds_shipped(node.args) or _holds_shipped(node.kwargs)
    return False


def test_estimator_reaches_each_worker_once(dask_client, tmp_path):
    """Over 12 partitions and two computations, each worker process unpickles
    the fitted estimator once; the task graph holds it once."""
    log = tmp_path / "unpickles.txt"
    X = pd.DataFrame(
        np.random.RandomState(0).normal(size=(240, 3)), columns=list("abc")
    )
    model = Pipeline(
        [("count", _CountUnpickles(str(log))), ("scale", StandardScaler())]
    ).fit(X)
    log.unlink(missing_ok=True)
    wrapped = ParallelPostFit(model)
    features = wrapped.transform(_ddf(X, npartitions=12))
    graph = dict(features.__dask_graph__())
    holders = [key for key, node in graph.items() if _holds_shipped(node)]
    assert len(holders) == 1, holders
    first = features.compute()
    second = wrapped.transform(_ddf(X, npartitions=12)).compute()
    assert_array_equal(first.to_numpy(), model.transform(X))
    assert_array_equal(second.to_numpy(), model.transform(X))
    workers = dict(dask_client.run(os.getpid))
    counts = _unpickles_by_pid(log)
    per_worker = {pid: counts.get(pid, 0) for pid in workers.values()}
    assert per_worker == dict.fromkeys(workers.values(), 1), counts


def test_keras_models_are_rebuilt_once_per_worker(dask_client, manifest, tmp_path):
    """A Keras backbone (a small conv net) and NeuralFusionClassifier: one
    unpickling, so one model rebuild, per worker process; outputs equal."""
    from sklearn_mbm._keras import import_keras

    keras = import_keras()
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu")(x)
    backbone = keras.Model(inputs, x, name="tiny_cnn")
    X, y = manifest
    log = tmp_path / "unpickles.txt"
    image = Pipeline(
        [
            ("count", _CountUnpickles(str(log))),
            (
                "image",
                ImageFeatureExtractor(backbone),
            ),
        ]
    )
    image_X = X[["image"]]
    image.fit(image_X)
    log.unlink(missing_ok=True)
    wrapped = ParallelPostFit(image)
    features = wrapped.transform(_ddf(image_X)).compute()
    np.testing.assert_allclose(features.to_numpy(), image.transform(image_X), rtol=1e-5)
    again = wrapped.transform(_ddf(image_X)).compute()
    assert_array_equal(again.to_numpy(), features.to_numpy())
    workers = dict(dask_client.run(os.getpid)).values()
    counts = _unpickles_by_pid(log)
    assert [counts.get(pid, 0) for pid in workers] == [1, 1], counts

    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        np.c_[
            y[:, None] * 2.0 + rng.normal(0, 0.4, (len(y), 2)),
            rng.normal(size=(len(y), 2)),
        ],
        columns=["s0", "s1", "n0", "n1"],
    )
    neural = NeuralFusionClassifier(
        [
            ("signal", "passthrough", ["s0", "s1"]),
            ("noise", "passthrough", ["n0", "n1"]),
        ],
        hidden_units=(8,),
        projection_units=8,
        epochs=2,
        batch_size=32,
        early_stopping=False,
        random_state=0,
    ).fit(frame, y)
    wrapped = ParallelPostFit(neural)
    assert_array_equal(wrapped.predict(_ddf(frame)).compute(), neural.predict(frame))
    np.testing.assert_allclose(
        wrapped.predict_proba(_ddf(frame)).compute(),
        neural.predict_proba(frame),
        rtol=1e-6,
    )


def test_pretrained_embedder_loads_its_preset_once_per_worker(
    dask_client, manifest, tmp_path
):
    pytest.importorskip("keras_hub")
    from sklearn_mbm.pretrained import TextEmbedder, _tiny

    X, _ = manifest
    preset = _tiny.save_tiny_bert(tmp_path / "bert")
    embedder = TextEmbedder(preset).fit(X["text"])
    texts = X[["text"]]
    wrapped = ParallelPostFit(embedder)
    computed = wrapped.transform(_ddf(texts)).compute()
    np.testing.assert_allclose(
        computed.to_numpy(), embedder.transform(texts), rtol=1e-5, atol=1e-6
    )
    wrapped.transform(_ddf(texts)).compute()

    def loaded_presets():
        from sklearn_mbm.pretrained import _hub

        return sorted(str(key[1]) for key in _hub._LOADED)

    assert list(dask_client.run(loaded_presets).values()) == [[preset], [preset]]


# --------------------------------------------------------------------------
# transform_to_parquet
# --------------------------------------------------------------------------


def _read(folder):
    return dd.read_parquet(folder).compute()


def test_parquet_is_resumable_and_rewrites_what_changed(
    dask_client, manifest, fitted_fusion, tmp_path
):
    X, _ = manifest
    ddf = _ddf(X)
    out = tmp_path / "features"
    first = transform_to_parquet(fitted_fusion, ddf, out, progress=False)
    assert first["status"].tolist() == ["written"] * N_PARTITIONS
    stored = _read(out)
    assert list(stored.columns) == list(fitted_fusion.get_feature_names_out())
    assert_array_equal(stored.to_numpy(), fitted_fusion.transform(X))
    assert_array_equal(stored.index, X.index)

    again = transform_to_parquet(fitted_fusion, ddf, out, progress=False)
    assert again["status"].tolist() == ["skipped"] * N_PARTITIONS

    # two files lost, a half-written temporary left by a killed worker, one
    # file written by another estimator: those three are written again
    files = sorted(out.glob("part.*.parquet"))
    files[1].unlink()
    files[4].unlink()
    (out / f".{files[2].name}.dead.tmp").write_bytes(b"PAR1 half a file")
    other = _fusion().set_params(text__ngram_range=(1, 2)).fit(*manifest)
    transform_to_parquet(other, _ddf(X.iloc[40:60]), tmp_path / "other", progress=False)
    (tmp_path / "other" / "part.00000.parquet").replace(files[3])
    third = transform_to_parquet(fitted_fusion, ddf, out, progress=False)
    assert third["status"].tolist() == [
        "skipped",
        "written",
        "skipped",
        "written",
        "written",
        "skipped",
    ]
    assert sorted(p.name for p in out.iterdir()) == [f.name for f in files]
    assert_array_equal(_read(out).to_numpy(), stored.to_numpy())

    # new input rows in a partition: that partition alone is written again
    changed = X.copy()
    changed.loc[0, "text"] = "nine"
    fourth = transform_to_parquet(fitted_fusion, _ddf(changed), out, progress=False)
    assert fourth["status"].tolist() == ["written"] + ["skipped"] * 5


def test_parquet_predictions_and_bad_cells(dask_client, manifest, tmp_path):
    """on_error="warn": NaN rows, a per-partition count of bad cells, a
    summary warning; method="predict" writes one column."""
    X, y = manifest
    fusion = _fusion(on_error="warn").fit(X, y)
    bad = X.copy()
    not_audio = tmp_path / "not_audio.wav"
    not_audio.write_text("not a wav file")
    bad.loc[[3, 5, 70], "audio"] = [str(tmp_path / "missing.wav"), "", str(not_audio)]
    with pytest.warns(CellLoadWarning, match="3 bad cells in partitions"):
        report = transform_to_parquet(fusion, _ddf(bad), tmp_path / "f", progress=False)
    assert report["n_bad_cells"].tolist() == [2, 0, 0, 1, 0, 0]
    assert report["n_rows"].sum() == N_ROWS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CellLoadWarning)
        expected = fusion.transform(bad)
    assert_array_equal(_read(tmp_path / "f").to_numpy(), expected)

    model = Pipeline([("fusion", _fusion()), ("clf", LogisticRegression(max_iter=300))])
    model.fit(X, y)
    transform_to_parquet(
        model, _ddf(X), tmp_path / "p", method="predict", progress=False
    )
    stored = _read(tmp_path / "p")
    assert list(stored.columns) == ["predict"]
    assert_array_equal(stored["predict"].to_numpy(), model.predict(X))


def test_progress_bar_over_partitions(dask_client, tmp_path, capsys):
    """dask's progress bar with the Client, a tqdm bar on the threaded
    scheduler; both count the partitions."""
    import dask

    X = pd.DataFrame({"a": np.arange(40.0), "b": np.ones(40)})
    scaler = StandardScaler().fit(X)
    transform_to_parquet(scaler, _ddf(X, npartitions=4), tmp_path / "c")
    assert "100% Completed" in "".join(capsys.readouterr())
    with dask.config.set(scheduler="threads"):
        report = transform_to_parquet(scaler, _ddf(X, npartitions=4), tmp_path / "t")
    err = capsys.readouterr().err
    assert "partitions: 100%" in err and "4/4" in err
    assert report["status"].tolist() == ["written"] * 4


class _SlowStep(TransformerMixin, BaseEstimator):
    """Sleeps per partition, so that a worker can be killed mid-run."""

    def __init__(self, seconds=0.0):
        self.seconds = seconds

    def fit(self, X, y=None):
        self.n_features_in_ = np.shape(X)[1]
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        return self

    def transform(self, X):
        time.sleep(self.seconds)
        return X

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


def test_killed_worker_run_completes_and_equals_an_uninterrupted_one(
    dask_client, tmp_path
):
    """One worker process is killed (SIGKILL) while transform_to_parquet
    runs: the run completes, every partition is written once (a partition
    whose finished task was lost with the worker runs again and finds its
    file complete: "skipped"), no temporary file remains, and the files
    equal an uninterrupted run's."""
    X = pd.DataFrame(
        np.random.RandomState(1).normal(size=(160, 4)), columns=list("abcd")
    )
    model = Pipeline([("slow", _SlowStep(0.4)), ("scale", StandardScaler())]).fit(X)
    ddf = _ddf(X, npartitions=16)
    reference = model.transform(X)

    result = {}
    out = tmp_path / "killed"
    runner = threading.Thread(
        target=lambda: result.update(
            report=transform_to_parquet(model, ddf, out, progress=False)
        )
    )
    runner.start()
    deadline = time.monotonic() + 60
    while len(list(out.glob("part.*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = next(iter(dask_client.run(os.getpid).values()))
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive()
    assert victim not in dask_client.run(os.getpid).values()  # really killed
    report = result["report"]
    assert set(report["status"]) <= {"written", "skipped"}
    assert report["partition"].tolist() == list(range(16))
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"part.{i:05d}.parquet" for i in range(16)]
    assert_array_equal(_read(out).to_numpy(), reference)
    dask_client.wait_for_workers(2, timeout=60)


def test_a_file_is_replaced_atomically(dask_client, tmp_path, manifest, fitted_fusion):
    """While a partition is rewritten, its file is the old one or the new one,
    never a partial one: readers polling it always read a whole file."""
    import pyarrow.parquet as pq

    X, _ = manifest
    out = tmp_path / "atomic"
    transform_to_parquet(fitted_fusion, _ddf(X, npartitions=1), out, progress=False)
    target = out / "part.00000.parquet"
    stop, seen = threading.Event(), []

    def poll():
        while not stop.is_set():
            seen.append(pq.read_metadata(target).num_rows)

    reader = threading.Thread(target=poll)
    reader.start()
    changed = X.copy()
    changed.loc[0, "text"] = "nine"
    try:
        for text in ["one", "two", "three"]:
            changed.loc[0, "text"] = text
            transform_to_parquet(
                fitted_fusion, _ddf(changed, npartitions=1), out, progress=False
            )
    finally:
        stop.set()
        reader.join()
    assert seen and set(seen) == {N_ROWS}


# --------------------------------------------------------------------------
# fit_incremental
# --------------------------------------------------------------------------


def test_fit_incremental_equals_partial_fit_by_hand(
    dask_client, manifest, fitted_fusion, tmp_path
):
    """SGDClassifier over stored feature partitions (in order) equals the
    same partial_fit calls made by hand; with a Pipeline, a FusionTransformer
    of "passthrough" blocks over the stored columns weights them first."""
    X, y = manifest
    out = tmp_path / "features"
    transform_to_parquet(fitted_fusion, _ddf(X), out, progress=False)
    features = dd.read_parquet(out)
    labels = dd.from_pandas(pd.Series(y), npartitions=N_PARTITIONS)
    model = fit_incremental(
        SGDClassifier(random_state=0),
        features,
        labels,
        epochs=2,
        shuffle=False,
        progress=False,
    )
    by_hand = SGDClassifier(random_state=0)
    stored = fitted_fusion.transform(X)
    bounds = np.linspace(0, N_ROWS, N_PARTITIONS + 1).astype(int)
    for _ in range(2):
        for start, stop in zip(bounds[:-1], bounds[1:]):
            by_hand.partial_fit(stored[start:stop], y[start:stop], classes=np.unique(y))
    assert_array_equal(model.coef_, by_hand.coef_)

    names = list(fitted_fusion.get_feature_names_out())
    blocks = [
        (m, "passthrough", [n for n in names if n.startswith(f"{m}__")])
        for m in ("image", "audio", "text")
    ]
    weights = {"image": 0.5, "audio": 1.0, "text": 0.0}
    pipe = Pipeline(
        [
            ("fusion", FusionTransformer(blocks, weights=weights)),
            ("clf", SGDClassifier(random_state=0)),
        ]
    )
    pipe[0].fit(features.partitions[0].compute())
    fit_incremental(pipe, features, labels, shuffle=False, progress=False)
    by_hand = SGDClassifier(random_state=0)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        by_hand.partial_fit(
            pipe[0].transform(pd.DataFrame(stored[start:stop], columns=names)),
            y[start:stop],
            classes=np.unique(y),
        )
    assert_array_equal(pipe[-1].coef_, by_hand.coef_)
    with pytest.raises(TypeError, match="has no partial_fit"):
        fit_incremental(LogisticRegression(), features, labels)


# --------------------------------------------------------------------------
# client, import, scikit-learn contract
# --------------------------------------------------------------------------


def test_get_client_reuses_the_client_in_use_or_connects(dask_client):
    assert get_client() is dask_client
    other = get_client(dask_client.scheduler.address)
    try:
        assert other.scheduler_info()["id"] == dask_client.scheduler_info()["id"]
    finally:
        other.close()


def test_get_client_starts_a_local_cluster_and_prints_its_dashboard():
    code = (
        "from sklearn_mbm.distributed import get_client\n"
        "c = get_client(n_workers=1, processes=False, dashboard_address=':0')\n"
        "print('workers', len(c.scheduler_info()['workers']))\n"
        "c.close(); c.cluster.close()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert "workers 1" in out.stdout
    if importlib.util.find_spec("bokeh") is None:  # no dashboard served
        assert "Dask dashboard: not served (it needs bokeh" in out.stdout
    else:
        assert "Dask dashboard: http://" in out.stdout


def test_import_without_dask_names_the_extra():
    code = (
        "import sys; sys.modules['dask'] = None\n"
        "import sklearn_mbm\n"
        "try:\n"
        "    import sklearn_mbm.distributed\n"
        "except ImportError as e:\n"
        "    print(json.dumps(str(e)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    assert "sklearn-mbm[distributed]" in json.loads(out.stdout)


@parametrize_with_checks(
    [ParallelPostFit(LogisticRegression()), ParallelPostFit(StandardScaler())]
)
def test_sklearn_compatible(estimator, check):
    run_sklearn_check(check, estimator)
