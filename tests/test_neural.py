"""Tests for sklearn_mbm.neural: NeuralFusionClassifier and NeuralFusionRegressor.

Models are tiny (a few units, 1-5 epochs) and most fits run eagerly
(``run_eagerly=True`` skips about a second of graph tracing per fit); the
tests that are about training behaviour use the default compiled path.
"""

import gc
import pickle
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from _probes import modules_loaded
from _sklearn_checks import run_sklearn_check
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_estimators_unfitted,
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_set_params,
    parametrize_with_checks,
)

from sklearn_mbm import NeuralFusionClassifier, NeuralFusionRegressor
from sklearn_mbm._keras import import_keras
from sklearn_mbm.neural import _seed_from
from sklearn_mbm.text import TextFeatureExtractor

REPO = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------
# data and helpers
# --------------------------------------------------------------------------

WORDS = {
    "cat": ["meow purr whiskers", "purr meow", "whiskers meow purr"],
    "dog": ["woof bark fetch", "bark woof", "fetch bark woof"],
    "fish": ["swim fins bubble", "bubble swim", "fins swim bubble"],
}


def signal_noise(n=90, seed=0, n_classes=3):
    """Block ``signal`` (2 columns) predicts y; block ``noise`` (2) does not."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % n_classes
    signal = y[:, None] * 2.0 + rng.normal(0, 0.4, (n, 2))
    noise = rng.normal(0, 1.0, (n, 2))
    return np.hstack([signal, noise]), y


SIGNAL_NOISE = [("signal", "passthrough", [0, 1]), ("noise", "passthrough", [2, 3])]


TINY = {
    "hidden_units": (8,),
    "projection_units": 8,
    "epochs": 3,
    "batch_size": 16,
    "learning_rate": 0.05,
    "early_stopping": False,
    "random_state": 0,
    "run_eagerly": True,
    "dropout": 0.0,
}


def tiny(transformers=SIGNAL_NOISE, **params):
    """A fast configuration; override anything with ``params``."""
    return NeuralFusionClassifier(transformers, **{**TINY, **params})


def text_frame(n=60, seed=0):
    """A DataFrame with a text column, a numeric block and string labels."""
    rng = np.random.RandomState(seed)
    labels = np.array(list(WORDS))[np.arange(n) % 3]
    texts = [WORDS[label][rng.randint(3)] for label in labels]
    frame = pd.DataFrame(
        {
            "text": texts,
            "x0": rng.normal(size=n),
            "x1": rng.normal(size=n),
        }
    )
    return frame, labels


def _predict_in_a_fresh_process(estimator, method, frame, folder):
    """``estimator.<method>(frame)`` after a joblib round trip, in a new Python."""
    model_path, data_path, out_path = (
        folder / "model.joblib",
        folder / "frame.pkl",
        folder / "out.npy",
    )
    joblib.dump(estimator, model_path)
    frame.to_pickle(data_path)
    code = (
        "import joblib, numpy as np, pandas as pd; "
        f"est = joblib.load({str(model_path)!r}); "
        f"frame = pd.read_pickle({str(data_path)!r}); "
        f"np.save({str(out_path)!r}, est.{method}(frame))"
    )
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=REPO, capture_output=True
    )
    return np.load(out_path)


def live_keras_models():
    keras = import_keras()
    gc.collect()
    count = 0
    for obj in gc.get_objects():
        try:
            count += isinstance(obj, keras.Model)
        except ReferenceError:  # a weakref proxy whose model is already gone
            continue
    return count


# --------------------------------------------------------------------------
# import and parameters
# --------------------------------------------------------------------------


def test_import_does_not_load_tensorflow():
    code = (
        "import sklearn_mbm.neural, sklearn_mbm.neural._model; "
        "from sklearn_mbm import NeuralFusionClassifier as N; "
        "N([('a', 'passthrough', [0])]).get_params()"
    )
    assert modules_loaded(code, ("tensorflow", "keras")) == []


def test_data_free_checks():
    est = tiny()
    for check in (
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_estimators_unfitted,
    ):
        run_sklearn_check(check, "NeuralFusionClassifier", est)
    with pytest.raises(NotFittedError):
        est.predict_fusion_weights(np.zeros((2, 4)))


def test_nested_params_and_clone():
    est = NeuralFusionClassifier(
        [("a", StandardScaler(), [0, 1]), ("t", "rnn", 2)], hidden_units=(4,)
    )
    params = est.get_params()
    assert params["a__with_mean"] is True
    assert params["t"] == "rnn"
    est.set_params(a__with_mean=False, fusion="attention")
    assert est.transformers[0][1].with_mean is False
    assert est.fusion == "attention"
    cloned = clone(est)
    assert cloned.transformers[0][1] is not est.transformers[0][1]
    assert cloned.get_params()["a__with_mean"] is False
    assert cloned.transformers[1] == ("t", "rnn", 2)


# --------------------------------------------------------------------------
# fusion behaviour
# --------------------------------------------------------------------------


def test_learned_weights_favour_the_informative_block():
    X, y = signal_noise(n=90)
    clf = tiny(epochs=5).fit(X, y)
    weights = clf.fusion_weights_
    assert set(weights) == {"signal", "noise"}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["signal"] > weights["noise"]
    assert clf.score(X, y) > 0.9
    # the dict is the softmax of the trained layer's logits
    logits = np.asarray(clf.model_.get_layer("fusion").logits)
    softmax = np.exp(logits) / np.exp(logits).sum()
    assert_allclose([weights["signal"], weights["noise"]], softmax, rtol=1e-6)
    # without missing cells every sample gets the global weights
    per_sample = clf.predict_fusion_weights(X[:5])
    assert_allclose(per_sample, np.tile(softmax, (5, 1)), rtol=1e-6)


@pytest.mark.parametrize("fusion", ["learned", "concat", "attention"])
def test_fusion_methods_predict(fusion):
    X, y = signal_noise(n=60)
    labels = np.array(["a", "b", "c"])[y]
    clf = tiny(fusion=fusion).fit(X, labels)
    assert_array_equal(clf.classes_, ["a", "b", "c"])
    proba = clf.predict_proba(X)
    assert proba.shape == (60, 3)
    assert proba.dtype == np.float64
    assert_allclose(proba.sum(axis=1), 1.0)
    pred = clf.predict(X)
    assert_array_equal(pred, clf.classes_[proba.argmax(axis=1)])
    assert clf.score(X, labels) > 0.6
    if fusion == "concat":
        assert clf.fusion_weights_ is None
        assert not hasattr(clf, "predict_fusion_weights")
    else:
        per_sample = clf.predict_fusion_weights(X)
        assert per_sample.shape == (60, 2)
        assert_allclose(per_sample.sum(axis=1), 1.0, rtol=1e-5)
        assert_allclose(
            list(clf.fusion_weights_.values()), per_sample.mean(axis=0), rtol=1e-5
        )
    if fusion == "attention":
        # the gate depends on the sample
        assert per_sample[:, 0].std() > 0


@pytest.mark.parametrize("fusion", ["learned", "concat", "attention"])
def test_missing_modality_is_masked_out(fusion):
    X, y = signal_noise(n=60)
    X[::7, 2:] = np.nan  # noise block missing in some rows
    clf = tiny(fusion=fusion).fit(X, y)
    missing = np.isnan(X[:, 2])
    proba = clf.predict_proba(X)
    assert np.isfinite(proba).all()
    # The model ignores whatever sits in a masked modality's input.
    model = clf.model_
    rng = np.random.RandomState(1)
    n = 5
    inputs = {
        "modality_0": rng.normal(size=(n, 2)).astype("float32"),
        "modality_1": np.zeros((n, 2), "float32"),
        "present__mask": np.array([[1, 0]] * n, "float32"),
    }
    base = np.asarray(model(inputs, training=False))
    inputs["modality_1"] = rng.normal(0, 10, size=(n, 2)).astype("float32")
    assert_allclose(np.asarray(model(inputs, training=False)), base, rtol=1e-6)
    if fusion != "concat":
        weights = clf.predict_fusion_weights(X)
        assert_allclose(weights[missing], [[1.0, 0.0]] * missing.sum(), atol=1e-7)
        assert (weights[~missing, 1] > 0).all()


def test_every_modality_missing_in_a_row_gives_finite_output():
    X, y = signal_noise(n=40)
    clf = tiny().fit(X, y)
    X_test = X[:3].copy()
    X_test[0, :] = np.nan
    proba = clf.predict_proba(X_test)
    assert np.isfinite(proba).all()
    assert_allclose(clf.predict_fusion_weights(X_test)[0], [0.0, 0.0])


def test_missing_raise():
    X, y = signal_noise(n=30)
    X[4, 2] = np.nan
    with pytest.raises(ValueError, match=r"Row 4 .*modality 'noise'"):
        tiny(missing="raise").fit(X, y)


# --------------------------------------------------------------------------
# text: frozen extractor and trainable rnn branch
# --------------------------------------------------------------------------


def test_frozen_text_extractor_on_a_frame():
    frame, labels = text_frame()
    clf = tiny(
        [
            ("text", TextFeatureExtractor(), "text"),
            ("num", "passthrough", ["x0", "x1"]),
        ],
        epochs=4,
    ).fit(frame, labels)
    assert clf.n_features_in_ == 3
    assert_array_equal(clf.feature_names_in_, ["text", "x0", "x1"])
    assert clf.transformers_[0][1] is not clf.transformers[0][1]
    assert hasattr(clf.transformers_[0][1], "vocabulary_") or hasattr(
        clf.transformers_[0][1], "vectorizer_"
    )
    assert clf.score(frame, labels) > 0.9
    assert clf.fusion_weights_["text"] > clf.fusion_weights_["num"]


def test_rnn_text_branch():
    frame, labels = text_frame(n=60)
    frame.loc[3, "text"] = None  # a missing text is masked out
    clf = tiny(
        [("text", "rnn", "text"), ("num", "passthrough", ["x0", "x1"])],
        epochs=5,
        rnn_max_tokens=50,
        rnn_sequence_length=4,
        rnn_embedding_dim=16,
        rnn_units=8,
    ).fit(frame, labels)
    assert clf.transformers_[0] == ("text", "rnn", "text")
    vocabulary = clf.model_.get_layer("modality_0_vectorize").get_vocabulary()
    assert {"meow", "woof", "bubble"} <= set(vocabulary)
    assert clf.score(frame, labels) > 0.9
    weights = clf.predict_fusion_weights(frame.iloc[:5])
    assert_allclose(weights[3], [0.0, 1.0])
    # the informative trainable branch wins the learned weights
    assert clf.fusion_weights_["text"] > clf.fusion_weights_["num"]


def test_rnn_errors():
    frame, labels = text_frame(n=12)
    with pytest.raises(ValueError, match="needs a single column of cells"):
        tiny([("text", "rnn", ["text", "x0"])]).fit(frame, labels)
    bad = frame.copy()
    bad["text"] = bad["text"].astype(object)
    bad.loc[5, "text"] = 3.5 + 0j  # not a str and not missing
    with pytest.raises(TypeError, match=r"'text'.*sample 5.*needs a str"):
        tiny([("text", "rnn", "text")]).fit(bad, labels)
    missing = frame.copy()
    missing.loc[2, "text"] = None
    with pytest.raises(ValueError, match=r"Row 2 .*modality 'text'"):
        tiny([("text", "rnn", "text")], missing="raise").fit(missing, labels)


def test_real_sample_pixels_and_rnn():
    """The bundled AV-digits sample: image pixels (frozen) + transcript (rnn)."""
    from sklearn_mbm import ImageFeatureExtractor, load_av_digits

    frame = load_av_digits().frame
    rows = frame[frame["digit"].isin([0, 1, 2])].groupby("digit").head(20)
    clf = tiny(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=(8, 8)), "image"),
            ("text", "rnn", "text"),
        ],
        epochs=5,
        rnn_max_tokens=200,
        rnn_sequence_length=6,
        rnn_units=8,
    ).fit(rows, rows["digit"])
    assert clf.score(rows, rows["digit"]) > 0.8
    assert set(clf.fusion_weights_) == {"image", "text"}
    assert_array_equal(clf.classes_, [0, 1, 2])


def tiny_backbone():
    """A 12x12 RGB conv net standing in for a keras.applications model."""
    keras = import_keras()
    inputs = keras.Input((12, 12, 3))
    x = keras.layers.Rescaling(1 / 255, name="scale")(inputs)
    x = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    return keras.Model(inputs, x, name="tiny_cnn")


def test_fine_tune_image_backbone():
    from sklearn_mbm import ImageFeatureExtractor

    rng = np.random.RandomState(0)
    y = np.arange(24) % 2
    # class 1 has a bright square; a few pixels of noise everywhere
    images = rng.randint(0, 40, size=(24, 12, 12, 3)).astype(np.uint8)
    images[y == 1, 3:9, 3:9] = 220
    cells = list(images)
    cells[5] = None  # a missing image is masked out
    frame = pd.DataFrame({"image": cells, "x": rng.normal(size=24)})
    backbone = tiny_backbone()
    before = [w.copy() for w in backbone.get_weights()]
    extractor = ImageFeatureExtractor(backbone, weights=None)
    clf = tiny(
        [("image", extractor, "image"), ("x", "passthrough", ["x"])],
        fine_tune=True,
        epochs=4,
        modality_dropout=0.0,  # training=True below must not drop a modality
    ).fit(frame, y)
    tuned = clf.model_.get_layer("modality_0_backbone")
    fitted = clf.transformers_[0][1]
    assert fitted is not extractor and fitted.model_ is not tuned
    # the copy in the network was trained; the extractor's backbone and the
    # user's model were not
    moved = [np.abs(a - b).max() for a, b in zip(tuned.get_weights(), before)]
    assert max(moved) > 1e-3
    for a, b in zip(fitted.model_.get_weights(), before):
        assert_array_equal(a, b)
    for a, b in zip(backbone.get_weights(), before):
        assert_array_equal(a, b)
    assert clf.score(frame, y) > 0.9
    # batch normalisation runs in inference mode in fit too, so the network
    # computes the same function in training and prediction (dropout is 0)
    batch = next(clf._batches(*clf._checked_inputs(frame)))
    assert_allclose(
        np.asarray(clf.model_(batch, training=True)),
        np.asarray(clf.model_(batch, training=False)),
        rtol=1e-5,
    )
    assert_allclose(clf.predict_fusion_weights(frame.iloc[[5]]), [[0.0, 1.0]])
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(frame), clf.predict_proba(frame))
    bad = frame.iloc[:3].copy()
    bad.loc[1, "image"] = "no/such/image.png"
    with pytest.raises(FileNotFoundError, match=r"sample 1 .*no/such/image.png"):
        clf.predict(bad)


# --------------------------------------------------------------------------
# training options
# --------------------------------------------------------------------------


def test_reproducible_with_random_state():
    # the default compiled path, with dropout and shuffling (the seeded
    # validation split is checked in test_early_stopping_restores_best_weights)
    X, y = signal_noise(n=48)
    first = tiny(run_eagerly=False, dropout=0.2, epochs=2)
    first.fit(X, y)
    second = clone(first).fit(X, y)
    assert first.history_ == second.history_
    assert_array_equal(first.predict_proba(X), second.predict_proba(X))
    other = clone(first).set_params(random_state=1).fit(X, y)
    assert not np.array_equal(other.predict_proba(X), first.predict_proba(X))


def test_early_stopping_and_history():
    X, y = signal_noise(n=60)
    plain = tiny(epochs=3, aux_loss_weight=0.0).fit(X, y)
    assert set(plain.history_) == {"loss", "accuracy"}
    assert plain.n_iter_ == 3
    assert all(len(v) == 3 for v in plain.history_.values())
    # auxiliary heads: "loss" is the total, "head_loss" the fused head's
    # (what early stopping watches), one loss per modality's head
    aux = tiny(epochs=3, aux_loss_weight=0.5).fit(X, y)
    assert set(aux.history_) == {
        "loss",
        "accuracy",
        "head_loss",
        "modality_0_head_loss",
        "modality_1_head_loss",
    }
    stopped = tiny(
        epochs=30,
        early_stopping=True,
        validation_fraction=0.25,
        patience=1,
        learning_rate=0.5,
    ).fit(X, y)
    assert {"loss", "val_loss", "accuracy", "val_accuracy"} <= set(stopped.history_)
    assert stopped.n_iter_ < 30
    assert stopped.n_iter_ == len(stopped.history_["val_loss"])
    # no validation split: early stopping watches the training loss
    on_loss = tiny(epochs=3, early_stopping=True, validation_fraction=0.0).fit(X, y)
    assert "val_loss" not in on_loss.history_


def test_early_stopping_restores_best_weights():
    X, y = signal_noise(n=60)
    clf = tiny(
        epochs=6,
        early_stopping=True,
        validation_fraction=0.25,
        patience=6,
        learning_rate=0.5,
        modality_dropout=0.0,
        aux_loss_weight=0.0,
    ).fit(X, y)
    # patience covers every epoch, so training runs them all, then restores
    # the weights of the epoch with the lowest val_loss
    assert clf.n_iter_ == 6
    _, val = clf._split(len(y), y, _seed_from(0))  # the split fit made
    assert len(val) == 15
    proba = clf.predict_proba(X[val])
    loss = -np.mean(np.log(proba[np.arange(len(val)), y[val]]))
    assert loss == pytest.approx(min(clf.history_["val_loss"]), rel=1e-4)
    # the best epoch is not the last one here, so the loss above shows that
    # weights were restored rather than kept from the last epoch
    assert np.argmin(clf.history_["val_loss"]) < 5
    # with auxiliary heads early stopping watches the fused head's loss
    aux = tiny(
        epochs=6,
        early_stopping=True,
        validation_fraction=0.25,
        patience=6,
        learning_rate=0.5,
    ).fit(X, y)
    proba = aux.predict_proba(X[val])
    loss = -np.mean(np.log(proba[np.arange(len(val)), y[val]]))
    assert loss == pytest.approx(min(aux.history_["val_head_loss"]), rel=1e-4)


def test_class_weight_equals_sample_weight():
    X, y = signal_noise(n=60, n_classes=2)
    by_class = tiny(class_weight={0: 3.0, 1: 1.0}).fit(X, y)
    by_sample = tiny().fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    assert_allclose(by_class.predict_proba(X), by_sample.predict_proba(X), rtol=1e-6)
    balanced = tiny(class_weight="balanced").fit(X[:45], y[:45])
    assert balanced.predict_proba(X).shape == (60, 2)
    with pytest.raises(ValueError, match=r"class_weight has labels \[7\]"):
        tiny(class_weight={7: 1.0}).fit(X, y)


def test_class_weight_shifts_predictions():
    X, y = signal_noise(n=60, n_classes=2)
    X[:, :2] = np.random.RandomState(3).normal(size=(60, 2))  # no signal left
    favour_1 = tiny(class_weight={0: 1.0, 1: 20.0}, epochs=5).fit(X, y)
    assert (favour_1.predict(X) == 1).mean() > 0.9


# --------------------------------------------------------------------------
# persistence, cloning, search, state
# --------------------------------------------------------------------------


def test_pickle_round_trip_in_process():
    X, y = signal_noise(n=40)
    clf = tiny(fusion="attention").fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert restored.fusion_weights_ == clf.fusion_weights_
    assert restored.model_ is not clf.model_
    assert_allclose(restored.predict_fusion_weights(X), clf.predict_fusion_weights(X))
    # pickling does not touch the live model
    assert "model_" in vars(clf) and not isinstance(clf.model_, bytes)


def test_joblib_round_trip_in_a_fresh_process(tmp_path):
    frame, labels = text_frame(n=30)
    clf = tiny(
        [("text", "rnn", "text"), ("num", "passthrough", ["x0", "x1"])],
        fusion="learned",
        epochs=2,
        rnn_max_tokens=50,
        rnn_sequence_length=4,
        rnn_units=4,
    ).fit(frame, labels)
    fresh = _predict_in_a_fresh_process(clf, "predict_proba", frame, tmp_path)
    assert_array_equal(fresh, clf.predict_proba(frame))


def test_grid_search():
    X, y = signal_noise(n=48)
    search = GridSearchCV(
        tiny(epochs=1),
        {
            "hidden_units": [(), (4,)],
            "fusion": ["learned", "concat"],
            "learning_rate": [0.05],
        },
        cv=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X).shape == (48,)


def test_no_state_leaks_across_fits():
    X, y = signal_noise(n=50)
    clf = tiny(epochs=1)
    clf.fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    n_weights = len(clf.model_.weights)
    baseline = live_keras_models()
    cross_validate(clf, X, y, cv=StratifiedKFold(5))
    clf.fit(X, y)
    assert [layer.name for layer in clf.model_.layers] == names
    assert len(clf.model_.weights) == n_weights
    # old models are garbage: only this estimator's model stays alive
    assert live_keras_models() <= baseline
    # the compiled path: traced train and predict functions die with their
    # model too
    clf.set_params(run_eagerly=False)
    clf.fit(X, y).predict(X)
    baseline = live_keras_models()
    clf.fit(X, y).predict(X)
    assert live_keras_models() <= baseline
    assert [layer.name for layer in clf.model_.layers] == names


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


def test_errors():
    X, y = signal_noise(n=20)
    with pytest.raises(ValueError, match="hidden_units must be"):
        tiny(hidden_units=(4, 0)).fit(X, y)
    with pytest.raises(ValueError, match="fine_tune=True needs at least one"):
        tiny(fine_tune=True).fit(X, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        tiny().fit(X, np.zeros(20))
    with pytest.raises(ValueError, match="clash with parameters"):
        tiny([("fusion", "passthrough", [0])]).fit(X, y)
    with pytest.raises(ValueError, match="requires y"):
        tiny().fit(X, None)
    with pytest.raises(ValueError, match="Expected a 2-D input"):
        tiny().fit(X[:, 0], y)
    with pytest.raises(ValueError, match="transformers is empty"):
        tiny([]).fit(X, y)
    fitted = tiny(epochs=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        fitted.predict(X[:, :3])


# --------------------------------------------------------------------------
# scikit-learn's estimator checks on numeric configurations
# --------------------------------------------------------------------------

NUMERIC_CONFIGS = [
    NeuralFusionClassifier(
        [("a", "passthrough", [0]), ("b", "passthrough", [1])],
        hidden_units=(),
        projection_units=8,
        epochs=2,
        early_stopping=False,
        batch_size=64,
        learning_rate=0.1,
        random_state=0,
        run_eagerly=True,
    ),
]

_TWO_COLUMNS = (
    "Modalities are fixed column indices [0] and [1]; with a single input column "
    "the routing raises a clear ValueError naming the missing column index, "
    "which this check does not expect."
)


_MINIBATCH_SGD = (
    "Training is mini-batch gradient descent from a random init: weighting a "
    "sample by k is not the same as repeating it k times (repeats change the "
    "batches, the number of steps per epoch and the shuffling), so the "
    "probabilities differ beyond the check's 1e-7 tolerance. Weighting is "
    "tested instead by test_class_weight_equals_sample_weight (class_weight "
    "and the matching sample_weight give the same model) and by "
    "test_class_weight_shifts_predictions."
)


def _expected_failed_checks(estimator):
    return {
        "check_fit2d_1feature": _TWO_COLUMNS,
        "check_sample_weight_equivalence_on_dense_data": _MINIBATCH_SGD,
    }


@parametrize_with_checks(
    NUMERIC_CONFIGS, expected_failed_checks=_expected_failed_checks
)
def test_sklearn_compatible(estimator, check):
    run_sklearn_check(check, estimator)


def test_learned_fusion_emits_no_warning_from_our_calls():
    # issue 14: convert_to_numpy on a Keras variable warned under NumPy 2
    # ("__array__ implementation doesn't accept a copy keyword")
    import warnings

    frame, labels = text_frame(n=30)
    clf = tiny([("num", "passthrough", ["x0"]), ("b", "passthrough", ["x1"])],
               fusion="learned", epochs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.fit(frame, labels)
        clf.predict(frame)
    assert set(clf.fusion_weights_) == {"num", "b"}


def test_predict_selects_columns_by_name():
    frame, labels = text_frame(n=30)
    clf = tiny([("num", "passthrough", ["x0", "x1"]), ("text", "rnn", "text")],
               epochs=1, rnn_max_tokens=50, rnn_sequence_length=4, rnn_units=4)
    clf.fit(frame.assign(speaker="a"), labels)
    expected = clf.predict_proba(frame.assign(speaker="a"))
    assert_allclose(clf.predict_proba(frame[frame.columns[::-1]]), expected, rtol=1e-5)
    with pytest.raises(ValueError, match="fitted on a DataFrame"):
        clf.predict(frame.to_numpy())


# --------------------------------------------------------------------------
# NeuralFusionRegressor
# --------------------------------------------------------------------------


def tiny_regressor(transformers=SIGNAL_NOISE, **params):
    """The regressor in ``tiny``'s fast configuration."""
    return NeuralFusionRegressor(transformers, **{**TINY, **params})


def signal_noise_target(n=80, seed=0):
    """Block ``signal`` (2 columns) gives y (in the thousands); ``noise`` not."""
    rng = np.random.RandomState(seed)
    signal = rng.normal(size=(n, 2))
    y = 1000.0 + 300.0 * (signal[:, 0] - signal[:, 1])
    return np.hstack([signal, rng.normal(size=(n, 2))]), y


def test_regressor_learns_and_weights_the_informative_block():
    X, y = signal_noise_target()
    reg = tiny_regressor(epochs=8, learning_rate=0.02).fit(X, y)
    assert reg.n_outputs_ == 1
    pred = reg.predict(X)
    assert pred.shape == (80,) and pred.dtype == np.float64
    # targets are standardised for training and mapped back
    assert abs(pred.mean() - 1000.0) < 100.0
    assert reg.score(X, y) > 0.8
    assert set(reg.fusion_weights_) == {"signal", "noise"}
    assert reg.fusion_weights_["signal"] > reg.fusion_weights_["noise"]
    per_sample = reg.predict_fusion_weights(X[:3])
    assert_allclose(per_sample.sum(axis=1), 1.0, rtol=1e-6)
    assert set(reg.history_) == {
        "loss",
        "head_loss",
        "modality_0_head_loss",
        "modality_1_head_loss",
    }


@pytest.mark.parametrize("loss", ["mse", "huber"])
def test_regressor_multi_output_and_losses(loss):
    X, y = signal_noise_target(n=60)
    Y = np.column_stack([y, -y / 100.0])
    reg = tiny_regressor(loss=loss, fusion="attention", epochs=6).fit(X, Y)
    assert reg.n_outputs_ == 2
    assert reg.predict(X).shape == (60, 2)
    assert reg.score(X, Y) > 0.5
    with pytest.raises(ValueError, match="dim 3, while dim <= 2"):
        tiny_regressor().fit(X, np.zeros((60, 2, 1)))
    with pytest.raises(ValueError, match="requires y"):
        tiny_regressor().fit(X, None)


def test_regressor_sample_weight_and_early_stopping():
    X, y = signal_noise_target(n=60)
    # rows of weight 0 count neither in the loss nor in the standardisation
    # of the targets (a weighted mean and std), so their targets do not matter
    weights = np.r_[np.ones(30), np.zeros(30)]
    garbled = np.r_[y[:30], np.full(30, 1e6)]
    a = tiny_regressor().fit(X, y, sample_weight=weights)
    b = tiny_regressor().fit(X, garbled, sample_weight=weights)
    assert_allclose(a.predict(X), b.predict(X), rtol=1e-5)
    c = tiny_regressor().fit(X, garbled)
    assert not np.allclose(c.predict(X), a.predict(X), rtol=1e-2)
    stopped = tiny_regressor(
        epochs=30,
        early_stopping=True,
        validation_fraction=0.25,
        patience=1,
        learning_rate=0.5,
    ).fit(X, y)
    assert "val_loss" in stopped.history_
    assert stopped.n_iter_ < 30


def test_regressor_pickle_in_a_fresh_process(tmp_path):
    frame, _ = text_frame(n=30)
    target = frame["x0"].to_numpy() * 5.0 + 2.0
    reg = tiny_regressor(
        [("text", "rnn", "text"), ("num", "passthrough", ["x0", "x1"])],
        epochs=2,
        rnn_max_tokens=50,
        rnn_sequence_length=4,
        rnn_units=4,
    ).fit(frame, target)
    restored = pickle.loads(pickle.dumps(reg))
    assert_array_equal(restored.predict(frame), reg.predict(frame))
    assert restored.fusion_weights_ == reg.fusion_weights_
    fresh = _predict_in_a_fresh_process(reg, "predict", frame, tmp_path)
    assert_allclose(fresh, reg.predict(frame), rtol=1e-6)


def test_regressor_learns_clip_duration_on_the_bundled_sample():
    """A real target: the spoken clip's duration in seconds, from its audio."""
    from sklearn_mbm import AudioFeatureExtractor, load_av_digits

    bunch = load_av_digits()
    frame = bunch.frame.iloc[::2]  # 300 clips, 225 to train
    duration = frame["audio"].map(len).to_numpy() / bunch.audio_sr
    train, test = np.arange(len(frame)) % 4 != 0, np.arange(len(frame)) % 4 == 0
    audio = AudioFeatureExtractor(sr=8000, input_sr=bunch.audio_sr)
    reg = tiny_regressor(
        [("audio", audio, "audio")],
        hidden_units=(32,),
        projection_units=32,
        dropout=0.2,
        epochs=40,
        learning_rate=0.003,
        run_eagerly=False,  # 600 small steps: the compiled path is faster
    ).fit(frame[train], duration[train])
    # measured 0.64; a RidgeCV on the same features scores 0.61
    r2 = reg.score(frame[test], duration[test])
    assert r2 > 0.5, r2
    assert set(reg.fusion_weights_) == {"audio"}


class EveryColumn:
    """Column selector of the regressor's checks: all columns (their data
    sets have 10 columns and one informative, so routing two fixed ones
    would score poorly on check_regressors_train by design). A class with a
    stable repr, so that the check ids are the same in every xdist worker."""

    def __call__(self, X):
        return list(range(X.shape[1]))

    def __repr__(self):
        return "EveryColumn()"


REGRESSOR_CONFIGS = [
    NeuralFusionRegressor(
        [("all", "passthrough", EveryColumn())],
        hidden_units=(),
        projection_units=8,
        epochs=20,
        early_stopping=False,
        batch_size=64,
        learning_rate=0.05,
        random_state=0,
        run_eagerly=True,
    ),
]


def _expected_failed_regressor_checks(estimator):
    return {
        "check_sample_weight_equivalence_on_dense_data": (
            "Mini-batch gradient descent: weighting a sample by k is not "
            "repeating it k times (other batches, steps per epoch and "
            "shuffling). Weighting is tested by "
            "test_regressor_sample_weight_and_early_stopping (rows of weight 0 "
            "have no effect)."
        )
    }


@parametrize_with_checks(
    REGRESSOR_CONFIGS, expected_failed_checks=_expected_failed_regressor_checks
)
def test_regressor_sklearn_compatible(estimator, check):
    run_sklearn_check(check, estimator)


# --------------------------------------------------------------------------
# issue 20: one modality spec for every family
# --------------------------------------------------------------------------


def test_drop_leaves_the_modality_out():
    X, y = signal_noise(n=30)
    specs = [*SIGNAL_NOISE, ("extra", "drop", [0])]
    clf = tiny(specs).fit(X, y)
    assert clf.transformers_[2][1] == "drop"
    assert sorted(clf.fusion_weights_) == ["noise", "signal"]
    assert clf.predict(X).shape == (30,)
    reference = tiny().fit(X, y)  # the same network without the dropped one
    assert_allclose(clf.predict_proba(X), reference.predict_proba(X), rtol=1e-5)
    with pytest.raises(ValueError, match="every modality is 'drop'"):
        tiny([("a", "drop", [0])]).fit(X, y)


def test_predict_takes_one_row_with_a_modality_missing():
    X, y = signal_noise(n=30)
    clf = tiny(epochs=1).fit(X, y)
    one = X[:1].copy()
    one[0, 2:] = np.nan  # the noise block is missing in the only row
    proba = clf.predict_proba(one)
    assert proba.shape == (1, 3) and np.isfinite(proba).all()
    rows = np.vstack([one, X[1:4]])
    assert_allclose(clf.predict_proba(rows)[:1], proba, rtol=1e-5)


def test_grid_search_traces_once_per_model_without_retracing_warnings(caplog):
    # issue 22: a normal search must not print TensorFlow's "triggered
    # tf.function retracing" warning (each model's inference function is
    # traced once for its input signature)
    import logging
    import warnings

    X, y = signal_noise(n=30)
    search = GridSearchCV(
        tiny(run_eagerly=False, epochs=1),
        {"projection_units": [4, 8], "hidden_units": [(), (4,)]},
        cv=2,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with caplog.at_level(logging.WARNING):
            search.fit(X, y)
            search.predict(X[:3])
            search.predict(X)
    messages = [r.getMessage() for r in caplog.records] + [
        str(w.message) for w in caught
    ]
    assert not [m for m in messages if "retracing" in m], messages


# --------------------------------------------------------------------------
# the branch seam: one class plus one table entry
# --------------------------------------------------------------------------


def test_a_new_branch_is_one_class_and_one_table_entry(monkeypatch):
    from sklearn_mbm.neural import _branches

    class LengthBranch(_branches._Branch):
        """The number of words of a text (a toy trainable-free branch)."""

        def transform(self, column, present):
            cells = self._cells(column, "a 'length' branch")
            lengths = [len(c.split()) if ok else 0 for c, ok in zip(cells, present)]
            return np.asarray(lengths, dtype=np.float32)[:, None], present

        def fit_transform(self, column, present, y):
            return self.transform(column, present)

        def build(self, keras, tensor, index, train_inputs):
            return keras.layers.Dense(2, name=f"modality_{index}_dense")(tensor)

    monkeypatch.setitem(_branches.BRANCHES, "length", LengthBranch)
    frame, labels = text_frame(n=30)
    clf = tiny([("words", "length", "text"), ("x", "passthrough", ["x0"])])
    clf.fit(frame, labels)
    assert clf.transformers_[0][1] == "length"
    assert clf.model_.get_layer("modality_0_dense").output.shape[-1] == 2
    assert clf.predict(frame).shape == (30,)


def test_extractors_offer_their_branch_explicitly():
    from sklearn_mbm import AudioFeatureExtractor, ImageFeatureExtractor
    from sklearn_mbm.neural._branches import ImageFineTuneBranch

    assert ImageFeatureExtractor(backbone="pixels")._network_branch() is None
    assert (
        ImageFeatureExtractor(backbone="mobilenet_v2")._network_branch()
        is ImageFineTuneBranch
    )
    assert AudioFeatureExtractor()._network_branch() is None
    assert TextFeatureExtractor()._network_branch() is None


def test_inference_is_traced_once_per_model():
    X, y = signal_noise(n=30)
    clf = tiny(run_eagerly=False, epochs=1).fit(X, y)
    clf.predict(X[:1])
    clf.predict(X)
    clf.predict(np.vstack([X] * 10))  # batches of 256 and a remainder
    assert clf._predict_fn.traced.experimental_get_tracing_count() == 1
