"""ZeroShotClassifier against KerasHub's own joint models, on tiny presets.

The reference for the scores is the backbone's own logits (``CLIPBackbone`` /
``SigLIPBackbone`` called on KerasHub's preprocessed images and prompts):
``vision_logits`` are ``exp(logit_scale) * cosine (+ logit_bias)``. The tiny
presets have random weights, so the predictions mean nothing; only their
agreement with KerasHub is tested.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from _sklearn_checks import (
    DATA_FREE_CHECKS,
    parametrize_extractor_checks,
    run_data_free_check,
    run_sklearn_check,
)
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from sklearn_mbm import ZeroShotClassifier

keras_hub = pytest.importorskip("keras_hub")  # the [hub] extra, part of [test]
from sklearn_mbm.pretrained import _tiny  # noqa: E402

LABELS = {0: "three", 1: "seven", 2: "nine"}


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("zero_shot")
    return {
        "clip": _tiny.save_tiny_clip(root / "clip"),
        "siglip": _tiny.save_tiny_siglip(root / "siglip"),
        "bert": _tiny.save_tiny_bert(root / "bert"),
        "vit": _tiny.save_tiny_vit(root / "vit"),
    }


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    shapes = [(16, 48), (48, 16), (16, 16), (30, 30), (20, 24), (24, 20)]
    return [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in shapes]


def _keras_hub_logits(preset, images, prompts):
    """The backbone's own vision logits on KerasHub-preprocessed inputs."""
    import tensorflow as tf

    backbone = keras_hub.models.Backbone.from_preset(preset)
    family = type(backbone).__name__.replace("Backbone", "")
    preprocessor = getattr(keras_hub.models, f"{family}Preprocessor").from_preset(
        preset, sequence_length=backbone.text_encoder.max_sequence_length
    )
    converter = preprocessor.image_converter
    pixels = np.stack(
        [
            next(iter(tf.data.Dataset.from_tensors(im).map(converter))).numpy()
            for im in images
        ]
    )
    blank = np.zeros((len(prompts), *pixels.shape[1:]), "float32")
    x = preprocessor({"prompts": prompts, "images": blank})
    token_ids = np.asarray(x["token_ids"])
    # the backbone pairs images and prompts in one batch: score in pairs
    logits = np.empty((len(images), len(prompts)))
    for i, image in enumerate(pixels):
        out = backbone(
            {"images": np.repeat(image[None], len(prompts), 0), "token_ids": token_ids}
        )
        logits[i] = np.asarray(out["vision_logits"])[0]
    return logits


@pytest.mark.parametrize("family", ["clip", "siglip"])
def test_scores_are_the_models_own_logits(presets, images, family):
    preset = presets[family]
    clf = ZeroShotClassifier(preset, labels=LABELS, templates="the digit {}")
    y = np.array([0, 1, 2, 0, 1, 2])
    clf.fit(images, y)
    prompts = ["the digit three", "the digit seven", "the digit nine"]
    assert clf.prompts_ == [[p] for p in prompts]
    expected = _keras_hub_logits(preset, images, prompts)
    scores = clf.decision_function(images)
    np.testing.assert_allclose(scores, expected, rtol=1e-4, atol=1e-4)
    proba = clf.predict_proba(images)
    np.testing.assert_allclose(proba.sum(1), 1.0)
    e = np.exp(expected - expected.max(1, keepdims=True))
    np.testing.assert_allclose(proba, e / e.sum(1, keepdims=True), atol=1e-5)
    np.testing.assert_array_equal(clf.predict(images), expected.argmax(1))
    if family == "siglip":  # a learned bias, the head's
        backbone = keras_hub.models.Backbone.from_preset(preset)
        assert clf.logit_bias_ == float(np.asarray(backbone.siglip_head.logit_bias))


def test_text_samples(presets):
    preset = presets["clip"]
    texts = ["the digit three", "nine", "seven seven", "the three"]
    clf = ZeroShotClassifier(preset, labels=LABELS, modality="text").fit(
        texts, [0, 2, 1, 0]
    )
    assert clf.prompts_ == [["three"], ["seven"], ["nine"]]  # "{}" by default
    backbone = keras_hub.models.Backbone.from_preset(preset)
    preprocessor = keras_hub.models.CLIPPreprocessor.from_preset(
        preset, sequence_length=20
    )

    def embed(strings):
        ids = preprocessor({"prompts": strings, "images": None})["token_ids"]
        rows = np.asarray(backbone.get_text_embeddings(ids), "float64")
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)

    scale = np.exp(float(np.asarray(backbone.clip_head.logit_scale)))
    expected = scale * embed(texts) @ embed(["three", "seven", "nine"]).T
    np.testing.assert_allclose(
        clf.decision_function(texts), expected, rtol=1e-4, atol=1e-4
    )


def test_several_templates_and_labels_average_unit_embeddings(presets):
    from sklearn_mbm import TextEmbedder

    preset = presets["clip"]
    labels = {"a": ["three", "the three"], "b": "nine"}
    templates = ["{}", "a photo of the digit {}"]
    clf = ZeroShotClassifier(preset, labels=labels, templates=templates).fit(
        [np.zeros((16, 16, 3), np.uint8)] * 2, ["a", "b"]
    )
    assert clf.prompts_ == [
        ["three", "a photo of the digit three", "the three",
         "a photo of the digit the three"],
        ["nine", "a photo of the digit nine"],
    ]  # fmt: skip
    text = TextEmbedder(preset).fit(["x"])
    means = []
    for prompts in clf.prompts_:
        rows = np.asarray(text.transform(prompts), "float64")
        means.append((rows / np.linalg.norm(rows, axis=1, keepdims=True)).mean(0))
    means = np.stack(means)
    expected = means / np.linalg.norm(means, axis=1, keepdims=True)
    np.testing.assert_allclose(clf.class_embeddings_, expected, atol=1e-6)


def test_learns_nothing_from_y_but_the_classes(presets, images):
    preset = presets["clip"]
    y = np.array([0, 1, 2, 0, 1, 2])
    base = ZeroShotClassifier(preset, labels=LABELS).fit(images, y)
    shuffled = ZeroShotClassifier(preset, labels=LABELS).fit(
        images[::-1], y[[1, 2, 0, 2, 0, 1]]
    )
    no_y = ZeroShotClassifier(preset, labels=LABELS).fit(images)
    for other in (shuffled, no_y):
        np.testing.assert_array_equal(other.classes_, base.classes_)
        np.testing.assert_array_equal(
            other.decision_function(images), base.decision_function(images)
        )


def test_in_a_pipeline_and_cross_val_score(presets, images):
    preset = presets["clip"]
    frame = pd.DataFrame({"image": images, "other": range(len(images))})
    y = np.array(["three", "seven", "nine"] * 2)
    pipe = make_pipeline(
        FunctionTransformer(lambda df: df["image"]),
        ZeroShotClassifier(preset, batch_size=4),
    )
    cv = StratifiedKFold(n_splits=2)
    scores = cross_val_score(pipe, frame, y, cv=cv)
    # nothing is learnt: each fold's score is the accuracy of the predictions
    # of one classifier of the same classes on that fold
    predicted = clone(pipe).fit(frame, y).predict(frame)
    expected = [np.mean(predicted[test] == y[test]) for _, test in cv.split(frame, y)]
    np.testing.assert_allclose(scores, expected)
    log_loss = cross_val_score(pipe, frame, y, cv=cv, scoring="neg_log_loss")
    assert np.isfinite(log_loss).all() and (log_loss < 0).all()


def test_pickle_round_trip(presets, images):
    clf = ZeroShotClassifier(presets["siglip"], labels=LABELS).fit(
        images, [0, 1, 2] * 2
    )
    again = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(
        again.predict_proba(images), clf.predict_proba(images)
    )


def test_errors(presets, images):
    y = [0, 1, 2, 0, 1, 2]
    with pytest.raises(ValueError, match=r"no entry for the class\(es\) \[2\]"):
        ZeroShotClassifier(presets["clip"], labels={0: "a", 1: "b"}).fit(images, y)
    with pytest.raises(ValueError, match="one '{}' where the label goes"):
        ZeroShotClassifier(presets["clip"], templates=["a photo"]).fit(images, y)
    with pytest.raises(ValueError, match="label of class 1 must be a str"):
        ZeroShotClassifier(presets["clip"], labels={0: "a", 1: [], 2: "c"}).fit(
            images, y
        )
    with pytest.raises(ValueError, match="needs the classes: pass y"):
        ZeroShotClassifier(presets["clip"]).fit(images)
    with pytest.raises(ValueError, match="needs a joint image-text preset"):
        ZeroShotClassifier(presets["bert"], modality="text").fit(["a", "b"], [0, 1])
    with pytest.raises(ValueError, match="'vi_t' backbone without a shared"):
        ZeroShotClassifier(presets["vit"]).fit(images, y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        ZeroShotClassifier(presets["clip"]).fit(images[:2], y)
    with pytest.raises(NotFittedError):
        ZeroShotClassifier(presets["clip"]).predict(images)


UNFITTED = [
    ZeroShotClassifier("clip_vit_base_patch32", labels={0: "cat", 1: "dog"}),
    ZeroShotClassifier("siglip_base_patch16_224", modality="text"),
]


@parametrize_extractor_checks(UNFITTED)
def test_sklearn_compatible(estimator, check):
    run_sklearn_check(check, estimator)


# a classifier has no get_feature_names_out: that transformer check is left out
CLASSIFIER_CHECKS = [
    check
    for check in DATA_FREE_CHECKS
    if check.__name__ != "check_get_feature_names_out_error"
]


@pytest.mark.parametrize("check", CLASSIFIER_CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("estimator", UNFITTED, ids=["image", "text"])
def test_data_free_checks(estimator, check):
    run_data_free_check(check, estimator)
