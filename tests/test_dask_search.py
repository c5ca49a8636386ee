"""Beyond one machine: searches and extraction on a Dask cluster.

Feature extraction (FusionTransformer's per-modality ``n_jobs``) and searches
(GridSearchCV's ``n_jobs``) go through joblib, so ``joblib.parallel_backend
("dask")`` runs them on a ``dask.distributed`` cluster without new code. These
tests run them on a real ``LocalCluster`` of two worker *processes* (so every
estimator, argument and result is serialised) and check that:

- the results equal the local run;
- a column of file paths is shipped as paths: the workers read the files,
  and no decoded waveform travels between the client and the workers;
- ``verbose=True`` progress output does not break the workers.

One cluster serves the whole module (starting one takes a few seconds).
"""

import pickle
import sys
from pathlib import Path

import cloudpickle
import joblib
import numpy as np
import pandas as pd
import pytest
import soundfile
from numpy.testing import assert_allclose
from sklearn.linear_model import RidgeClassifier
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)

distributed = pytest.importorskip(
    "distributed", reason="dask.distributed (the 'distributed' extra) is needed"
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
RECORDINGS = DATA / "fsdd" / "recordings"
AUDIO_SR = 8000  # the sample's and FSDD's rate


@pytest.fixture(scope="module")
def dask_client():
    """Two single-threaded worker processes, shared by the module's tests."""
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=40,  # logging.ERROR: keep worker chatter off the test log
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="module")
def av_sample():
    """60 records of the bundled sample, 6 speakers' worth of groups."""
    data = load_av_digits()
    rows = np.arange(0, 600, 10)  # every speaker and digit, in file order
    X = data.data.iloc[rows].reset_index(drop=True)
    y = np.asarray(data.target)[rows]
    return X, y


def _fusion(n_jobs=None, verbose=False, memory=None):
    return FusionTransformer(
        [
            (
                "image",
                ImageFeatureExtractor("pixels", input_size=8, verbose=verbose),
                "image",
            ),
            (
                "audio",
                AudioFeatureExtractor(sr=AUDIO_SR, input_sr=AUDIO_SR, verbose=verbose),
                "audio",
            ),
            ("text", TextFeatureExtractor(), "text"),
        ],
        normalize="block",
        n_jobs=n_jobs,
        memory=memory,
        verbose=verbose,
    )


# --------------------------------------------------------------------------
# searches
# --------------------------------------------------------------------------


def test_weight_search_on_dask_equals_local(dask_client, av_sample, tmp_path):
    """GridSearchCV(n_jobs=2) over fusion__weights under the dask backend gives
    the local scores, candidate by candidate and fold by fold. With ``memory``
    a folder, the worker processes share one on-disk cache: each fold's
    modality is extracted once for all the weight candidates."""
    X, y = av_sample
    groups = X["speaker"].to_numpy()
    cv = GroupKFold(n_splits=3)
    # 4 candidates x 3 folds = 12 fits
    weights = fusion_weight_grid(["image", "audio", "text"], (0, 1))[-4:]

    def search(n_jobs, memory):
        model = Pipeline(
            [("fusion", _fusion(memory=memory)), ("clf", RidgeClassifier())]
        )
        return GridSearchCV(
            model,
            {"fusion__weights": weights},
            cv=cv,
            n_jobs=n_jobs,
            error_score="raise",
        ).fit(X, y, groups=groups)

    local = search(n_jobs=1, memory=None)
    cache = tmp_path / "cache"
    with distributed.get_task_stream(dask_client) as stream:
        with joblib.parallel_backend("dask"):
            remote = search(n_jobs=2, memory=str(cache))

    # The fits ran on the workers, not in this process.
    fit_tasks = [t for t in stream.data if "fit_and_score" in str(t["key"])]
    assert fit_tasks
    assert {t["worker"] for t in fit_tasks} <= set(
        dask_client.scheduler_info()["workers"]
    )
    for key in ["mean_test_score", *[f"split{i}_test_score" for i in range(3)]]:
        assert_allclose(remote.cv_results_[key], local.cv_results_[key], rtol=1e-12)
    assert remote.best_params_ == local.best_params_
    # the refit (in this process) agrees too
    assert_allclose(remote.decision_function(X), local.decision_function(X))

    # One extraction per fold and modality plus the refit's, whatever the
    # number of candidates; the workers wrote it where the client sees it.
    entries = list(cache.rglob("_fit_transform*/*/output.pkl"))
    assert len(entries) == (cv.get_n_splits() + 1) * 3


# --------------------------------------------------------------------------
# extraction from paths
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def path_records(av_sample):
    """The sample's images and texts, with audio cells that are FSDD paths."""
    if not RECORDINGS.is_dir():
        pytest.skip(f"the real FSDD data folder {RECORDINGS} is absent")
    X, y = av_sample
    files = sorted(RECORDINGS.glob("*.wav"))
    paths = [str(files[i]) for i in np.linspace(0, len(files) - 1, len(X)).astype(int)]
    X = X.assign(audio=paths)
    return X, y


class _ShippingLog:
    """Everything the client hands to dask (task arguments and scattered data)."""

    def __init__(self, client, monkeypatch):
        self.objects = []
        submit, scatter = client.submit, client.scatter

        def logged_submit(func, *args, **kwargs):
            self.objects.append((func, args, kwargs))
            return submit(func, *args, **kwargs)

        def logged_scatter(data, *args, **kwargs):
            self.objects.append(data)
            return scatter(data, *args, **kwargs)

        # joblib's dask backend looks these up on the client at each call
        monkeypatch.setattr(client, "submit", logged_submit)
        monkeypatch.setattr(client, "scatter", logged_scatter)

    def leaves(self):
        """Shipped objects, with containers opened and futures (whose data was
        scattered and logged already) left out."""
        stack, found = list(self.objects), []
        while stack:
            obj = stack.pop()
            if isinstance(obj, distributed.Future):
                continue
            if isinstance(obj, (list, tuple)) and not _is_cell_column(obj):
                stack.extend(obj)
            elif isinstance(obj, dict):
                stack.extend(obj.values())
            else:
                found.append(obj)
        return found

    def nbytes(self):
        return sum(len(pickle.dumps(obj)) for obj in self.leaves())


def _is_cell_column(obj):
    return len(obj) > 0 and all(isinstance(cell, str) for cell in obj)


def _decoded_audio_nbytes(paths):
    """Bytes of the float32 waveforms the audio paths decode to (at their rate)."""
    return sum(soundfile.info(path).frames * 4 for path in paths)


def test_extraction_on_dask_equals_local_and_ships_paths(
    dask_client, path_records, monkeypatch
):
    """FusionTransformer(n_jobs=2) extracts its modalities on the workers: the
    fused features equal the local ones, and the audio column travels as its
    paths (the workers read the files), never as decoded waveforms."""
    X, y = path_records
    local = _fusion()
    expected_fit = local.fit_transform(X, y)
    expected = local.transform(X)

    log = _ShippingLog(dask_client, monkeypatch)
    remote = _fusion(n_jobs=2)
    with distributed.get_task_stream(dask_client) as stream:
        with joblib.parallel_backend("dask"):
            fused_fit = remote.fit_transform(X, y)
            fused = remote.transform(X)
    extract_tasks = [t for t in stream.data if "_extract" in str(t["key"])]
    assert extract_tasks, "no extraction ran on the cluster"

    assert_allclose(fused_fit, expected_fit, rtol=1e-6, atol=1e-9)
    assert_allclose(fused, expected, rtol=1e-6, atol=1e-9)
    assert_allclose(
        remote.named_transformers_["audio"].transform(X["audio"]),
        local.named_transformers_["audio"].transform(X["audio"]),
    )

    # The audio column was shipped as the very paths, not decoded data.
    paths = X["audio"].tolist()
    shipped = log.leaves()
    assert any(
        isinstance(obj, (list, tuple, pd.Series, np.ndarray)) and list(obj) == paths
        for obj in shipped
    ), "the audio paths were not shipped as a column of paths"
    waveforms = [
        obj
        for obj in shipped
        if isinstance(obj, np.ndarray) and obj.dtype.kind == "f" and obj.size > 1000
    ]
    assert not waveforms, "decoded float arrays were shipped to the workers"
    # Everything shipped (two calls, three modalities, the estimators, the
    # image arrays and texts held in memory) weighs less than the decoded audio.
    decoded = _decoded_audio_nbytes(paths)
    assert log.nbytes() < decoded / 2, (log.nbytes(), decoded)


def test_verbose_extraction_under_dask(dask_client, path_records, capfd):
    """verbose=True (FusionTransformer timings, extractors' progress bars) runs
    in worker processes without breaking them or their logging."""
    X, y = path_records
    with joblib.parallel_backend("dask"):
        verbose = _fusion(n_jobs=2, verbose=True).fit(X, y)
        fused = verbose.transform(X)
    quiet = _fusion().fit(X, y)
    assert_allclose(fused, quiet.transform(X), rtol=1e-6, atol=1e-9)
    # the workers are still healthy: a plain task runs after the verbose ones
    assert dask_client.submit(sum, [1, 2, 3]).result(timeout=30) == 6
    logs = dask_client.get_worker_logs()
    assert not any("Traceback" in line for lines in logs.values() for _, line in lines)


# --------------------------------------------------------------------------
# threads inside worker processes
# --------------------------------------------------------------------------


def _threads_chosen(extractor, cells):
    """In a worker: the number of threads ``extractor.transform`` decides on.

    ``thread_count`` is spied on where the extractor's transform calls it:
    its own module, or the shared base's batch loop.
    """
    names = (type(extractor).__module__, "sklearn_mbm._extractors._base")
    modules = [sys.modules[n] for n in names if hasattr(sys.modules[n], "thread_count")]
    real, chosen = modules[0].thread_count, []

    def spy(n_jobs=None):
        chosen.append(real(n_jobs))
        return chosen[-1]

    for module in modules:
        module.thread_count = spy
    try:
        extractor.transform(cells)
    finally:
        for module in modules:
            module.thread_count = real
    return max(chosen)


def test_extractors_use_one_thread_per_single_threaded_worker(
    dask_client, path_records
):
    """With n_jobs=None, an extractor running in a one-thread dask worker
    decodes with one thread, as it does in a loky worker."""
    X, _ = path_records
    extractors = [
        (AudioFeatureExtractor(sr=AUDIO_SR).fit(X["audio"]), X["audio"].tolist()),
        (ImageFeatureExtractor("pixels", input_size=8).fit(X["image"]), X["image"]),
    ]
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        local = joblib.Parallel(n_jobs=2)(
            joblib.delayed(_threads_chosen)(e, cells) for e, cells in extractors
        )
        with joblib.parallel_backend("dask"):
            remote = joblib.Parallel(n_jobs=2)(
                joblib.delayed(_threads_chosen)(e, cells) for e, cells in extractors
            )
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert local == [1, 1]
    assert remote == [1, 1]


def test_search_task_extracts_its_modalities_in_place(dask_client, av_sample):
    """With FusionTransformer(n_jobs=None), a search task on a worker extracts
    its modalities itself: no nested extraction tasks travel the cluster."""
    X, y = av_sample
    model = Pipeline([("fusion", _fusion()), ("clf", RidgeClassifier())])
    search = GridSearchCV(
        model,
        {"fusion__weights": [{"image": 1, "audio": 1, "text": 1}]},
        cv=GroupKFold(n_splits=2),
        n_jobs=2,
        refit=False,
        error_score="raise",
    )
    with distributed.get_task_stream(dask_client) as stream:
        with joblib.parallel_backend("dask"):
            search.fit(X, y, groups=X["speaker"].to_numpy())
    keys = [str(task["key"]) for task in stream.data]
    assert any("fit_and_score" in key for key in keys)
    nested = [key for key in keys if "_extract" in key]
    assert not nested, f"{len(nested)} nested extraction tasks, e.g. {nested[0]}"
