"""Persistence and determinism of every public estimator.

Each estimator is fitted here, saved with :mod:`pickle` (the standard library's,
so a lambda or an open handle in the fitted state fails) and with
:func:`joblib.dump`, then loaded in a FRESH Python process, whose outputs must
be identical to this process's. Estimators are grouped into two child
processes: one without TensorFlow (which must not import it), one for the
Keras backbone and the neural model. The children start at once and import
their libraries while this process fits.

The same children refit unfitted copies that have a ``random_state``: a fixed
``random_state`` gives identical results across processes (TF-IDF's SVD,
stacking's shuffled folds, the neural model's initialisation, validation split
and batch order on CPU). FusionTransformer's projections are PCAs with the full
SVD solver: deterministic without a seed, checked the same way.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import joblib
import numpy as np
import pytest
from numpy.testing import assert_array_equal
from scipy import sparse
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    LateFusionRegressor,
    NeuralFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)

REPO = Path(__file__).resolve().parents[1]
SR = 8000

# The child: imports its libraries, says "ready", waits for "go", then loads
# every case file of its folder (pickle and joblib copies), computes the
# outputs and writes them to outputs.npz; prints a JSON report.
CHILD = textwrap.dedent(
    """
    import json, pickle, sys
    from pathlib import Path

    import joblib
    import numpy as np
    from scipy import sparse

    import sklearn_mbm

    folder, keras = Path(sys.argv[1]), sys.argv[2] == "keras"
    if keras:
        from sklearn_mbm._keras import import_keras

        import_keras()
    print("ready", flush=True)
    sys.stdin.readline()

    def dense(a):
        return a.toarray() if sparse.issparse(a) else np.asarray(a)

    outputs = {}
    for path in sorted(folder.glob("*.case")):
        case = pickle.loads(path.read_bytes())
        loaded = {
            "pickle": pickle.loads(case["pickle"]),
            "joblib": joblib.load(path.with_suffix(".joblib")),
        }
        if case["refit"]:  # unfitted: fit here, from scratch
            loaded = {"refit": loaded["pickle"].fit(case["X"], case["y"])}
        for how, estimator in loaded.items():
            for method in case["methods"]:
                key = f"{path.stem}/{how}/{method}"
                outputs[key] = dense(getattr(estimator, method)(case["X"]))
    np.savez(folder / "outputs.npz", **outputs)
    heavy = [m for m in ("tensorflow", "keras") if m in sys.modules]
    print(json.dumps({"heavy": heavy, "keys": sorted(outputs)}), flush=True)
    """
)


def _dense(a):
    return a.toarray() if sparse.issparse(a) else np.asarray(a)


class _FreshProcess:
    """A child Python process that loads saved estimators and reports their
    outputs; started early so that its imports overlap the parent's fits."""

    def __init__(self, folder, keras):
        self.folder = folder
        self.expected = {}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")])
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self.process = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(folder), "keras" if keras else "-"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=env,
        )

    def add(self, name, estimator, X, methods):
        """Save a fitted estimator; remember this process's outputs."""
        data = pickle.dumps(estimator)  # stdlib pickle: no lambdas, no handles
        case = {"pickle": data, "X": X, "methods": methods, "refit": False}
        (self.folder / f"{name}.case").write_bytes(pickle.dumps(case))
        joblib.dump(estimator, self.folder / f"{name}.joblib")
        for method in methods:
            self.expected[name, method] = _dense(getattr(estimator, method)(X))

    def add_refit(self, name, fitted, X, y, methods):
        """Save an unfitted copy of ``fitted`` to be refitted in the child."""
        unfitted = clone(fitted)
        case = {"pickle": pickle.dumps(unfitted), "X": X, "methods": methods}
        case.update(refit=True, y=y)
        (self.folder / f"{name}.case").write_bytes(pickle.dumps(case))
        joblib.dump(unfitted, self.folder / f"{name}.joblib")
        for method in methods:
            self.expected[name, method] = _dense(getattr(fitted, method)(X))

    @property
    def refits(self):
        return {name for name, _ in self.expected if name.startswith("refit_")}

    def results(self, timeout=240):
        out, err = self.process.communicate("go\n", timeout=timeout)
        assert self.process.returncode == 0, err[-3000:]
        report = json.loads(out.strip().splitlines()[-1])
        with np.load(self.folder / "outputs.npz") as saved:
            outputs = dict(saved)
        return report, outputs

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def fresh_process(tmp_path):
    children = []

    def start(keras):
        folder = tmp_path / ("keras" if keras else "plain")
        folder.mkdir()
        children.append(_FreshProcess(folder, keras))
        return children[-1]

    yield start
    for child in children:
        child.kill()


@pytest.fixture(scope="module")
def av_sample():
    data = load_av_digits()
    rows = np.arange(0, 600, 10)
    X = data.data.iloc[rows].reset_index(drop=True)
    return X, np.asarray(data.target)[rows]


def _extractors():
    return [
        ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
        ("audio", AudioFeatureExtractor(sr=SR, input_sr=SR), "audio"),
        ("text", TextFeatureExtractor(n_components=8, random_state=0), "text"),
    ]


def _check(child, report, outputs, refits=()):
    seen = set()
    for (name, method), expected in child.expected.items():
        hows = ["refit"] if name in refits else ["pickle", "joblib"]
        for how in hows:
            key = f"{name}/{how}/{method}"
            assert key in outputs, f"{key} missing from the child's report"
            assert_array_equal(outputs[key], expected, err_msg=key)
            seen.add(key)
    assert seen == set(outputs)


def test_estimators_round_trip_in_a_fresh_process(fresh_process, av_sample):
    """Extractors, fusion, late fusion and pipelines without Keras: pickle and
    joblib copies give identical outputs in a new process, which does not
    import TensorFlow; random_state makes refits identical there too."""
    child = fresh_process(keras=False)
    X, y = av_sample

    for name, extractor, column in _extractors():
        child.add(
            f"{name}_extractor", extractor.fit(X[column]), X[column], ["transform"]
        )
    tfidf = TextFeatureExtractor(method="tfidf", ngram_range=(1, 2)).fit(X["text"])
    child.add("text_tfidf", tfidf, X["text"], ["transform"])
    hashing = TextFeatureExtractor(method="hashing").fit(X["text"])
    child.add("text_hashing", hashing, X["text"], ["transform"])

    concat = FusionTransformer(
        _extractors(), weights={"image": 0.5, "audio": 1, "text": 2}, normalize="block"
    ).fit(X, y)
    child.add("fusion_concat", concat, X, ["transform"])
    weighted = FusionTransformer(
        _extractors(), method="weighted_sum", n_components=4, missing="mean"
    ).fit(X, y)
    child.add("fusion_weighted_sum", weighted, X, ["transform"])
    pipeline = Pipeline(
        [("fusion", clone(concat)), ("clf", LogisticRegression(max_iter=300))]
    ).fit(X, y)
    child.add("pipeline", pipeline, X, ["predict_proba", "predict"])

    def late(method, cv):
        return LateFusionClassifier(
            [
                (
                    name,
                    make_pipeline(extractor, StandardScaler(), LogisticRegression()),
                    col,
                )
                for name, extractor, col in _extractors()
            ],
            method=method,
            weights=[1, 2, 0.5],
            cv=cv,
        ).fit(X, y)

    soft = late("soft", 3)
    child.add("late_soft", soft, X, ["predict_proba", "predict"])
    stacking = late("stacking", KFold(3, shuffle=True, random_state=0))
    child.add("late_stacking", stacking, X, ["predict_proba"])

    # the regressor's target: each spoken clip's duration in seconds
    duration = X["audio"].map(len).to_numpy() / SR
    regressors = [
        (name, make_pipeline(extractor, StandardScaler(), Ridge()), col)
        for name, extractor, col in _extractors()
    ]
    late_mean = LateFusionRegressor(regressors, weights=[1, 2, 0.5]).fit(X, duration)
    child.add("late_regressor_mean", late_mean, X, ["predict"])
    late_stack = LateFusionRegressor(
        regressors, method="stacking", cv=KFold(3, shuffle=True, random_state=0)
    ).fit(X, duration)
    child.add("late_regressor_stacking", late_stack, X, ["predict"])

    # Refitted in the child from the same random_state / deterministic solvers
    child.add_refit("refit_stacking", stacking, X, y, ["predict_proba"])
    child.add_refit("refit_late_regressor", late_stack, X, duration, ["predict"])
    child.add_refit("refit_weighted_sum", weighted, X, y, ["transform"])
    text_svd = TextFeatureExtractor(n_components=8, random_state=0).fit(X["text"])
    child.add_refit("refit_text_svd", text_svd, X["text"], None, ["transform"])

    report, outputs = child.results()
    _check(
        child,
        report,
        outputs,
        refits={
            "refit_stacking",
            "refit_weighted_sum",
            "refit_text_svd",
            "refit_late_regressor",
        },
    )
    assert report["heavy"] == [], "unpickling non-Keras estimators imported TF"


def test_keras_estimators_round_trip_in_a_fresh_process(fresh_process, av_sample):
    """A Keras backbone and the neural model pickle as .keras bytes and give
    identical outputs in a new process; the neural model trained there from
    the same random_state gives identical probabilities and weights."""
    child = fresh_process(keras=True)
    X, y = av_sample

    backbone = ImageFeatureExtractor("mobilenet_v2", weights=None, input_size=32)
    backbone.fit(X["image"])
    child.add("image_mobilenet", backbone, X["image"], ["transform"])

    neural = NeuralFusionClassifier(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
            ("audio", AudioFeatureExtractor(sr=SR, input_sr=SR), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ],
        hidden_units=(8,),
        projection_units=8,
        epochs=2,
        random_state=0,
    ).fit(X, y)
    methods = ["predict_proba", "predict", "predict_fusion_weights"]
    child.add("neural", neural, X, methods)
    child.add_refit("refit_neural", neural, X, y, ["predict_proba"])

    report, outputs = child.results()
    _check(child, report, outputs, refits={"refit_neural"})
    assert "tensorflow" in report["heavy"]
