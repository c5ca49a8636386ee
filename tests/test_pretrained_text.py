"""TextEmbedder packs each joint family's texts as its own preprocessor does.

References are KerasHub's own pipelines on tiny presets (random weights,
written with ``save_to_preset``): ``SigLIPPreprocessor`` (no start token, the
end token, padding to its fixed sequence length, canonicalised text) and
``CLIPPreprocessor`` (start and end tokens, lower-cased), then the backbone's
text embedding; for images the preset's converter and the vision embedding.
"""

import numpy as np
import pytest

from sklearn_mbm import ImageEmbedder, TextEmbedder

keras_hub = pytest.importorskip("keras_hub")  # the [hub] extra, part of [test]
from sklearn_mbm.pretrained import _tiny  # noqa: E402

# texts of several lengths: one word, punctuation and capitals (canonicalised
# by SigLIP), a text longer than the 16-token sequence, an empty text
TEXTS = [
    "nine",
    "The digit, THREE!",
    "a photo of the digit seven seven seven seven seven seven seven seven "
    "seven seven seven seven seven seven",
    "spoken number two is a handwritten two",
    "",
]


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("joint")
    return {
        "siglip": _tiny.save_tiny_siglip(root / "siglip"),
        "clip": _tiny.save_tiny_clip(root / "clip"),
    }


def _keras_hub_text_rows(preset, preprocessor_class, texts):
    backbone = keras_hub.models.Backbone.from_preset(preset)
    preprocessor = preprocessor_class.from_preset(preset)
    if preprocessor_class is keras_hub.models.CLIPPreprocessor:
        preprocessor.sequence_length = backbone.text_encoder.max_sequence_length
    # SigLIPPreprocessor converts images unconditionally: blank ones here
    blank = np.zeros((len(texts), 16, 16, 3), "float32")
    x = preprocessor({"prompts": texts, "images": blank})
    return np.asarray(backbone.get_text_embeddings(x["token_ids"]))


def test_siglip_text_rows_equal_keras_hubs_pipeline(presets):
    preset = presets["siglip"]
    expected = _keras_hub_text_rows(preset, keras_hub.models.SigLIPPreprocessor, TEXTS)
    est = TextEmbedder(preset, batch_size=2)
    Z = est.fit_transform(TEXTS)
    assert est.joint_ and est.backbone_family_ == "sig_lip"
    assert est.max_length_ == 16  # the preset's fixed sequence length
    np.testing.assert_allclose(Z, expected, atol=1e-5)
    # alone and in batches of other sizes
    for i, text in enumerate(TEXTS):
        np.testing.assert_allclose(est.transform([text]), Z[i : i + 1], atol=1e-5)
    one_batch = TextEmbedder(preset, batch_size=len(TEXTS)).fit_transform(TEXTS)
    np.testing.assert_allclose(one_batch, Z, atol=1e-5)


def test_siglip_max_length_cuts_but_keeps_the_fixed_length(presets):
    # a shorter max_length cuts a text (its end token kept) but still pads to
    # the 16 positions SigLIP's text tower reads: rows equal the preprocessor
    # at that length, cut ids padded back to 16
    preset = presets["siglip"]
    est = TextEmbedder(preset, max_length=4).fit(TEXTS)
    assert est.max_length_ == 4
    backbone = keras_hub.models.Backbone.from_preset(preset)
    preprocessor = keras_hub.models.SigLIPPreprocessor.from_preset(preset)
    ids = np.asarray(
        preprocessor(
            {"prompts": TEXTS, "images": np.zeros((len(TEXTS), 16, 16, 3))},
            sequence_length=4,
        )["token_ids"]
    )
    pad = keras_hub.tokenizers.Tokenizer.from_preset(preset).pad_token_id
    ids = np.pad(ids, ((0, 0), (0, 12)), constant_values=pad)
    expected = np.asarray(backbone.get_text_embeddings(ids))
    np.testing.assert_allclose(est.transform(TEXTS), expected, atol=1e-5)


def test_siglip_image_rows_equal_keras_hubs_pipeline(presets):
    import tensorflow as tf

    preset = presets["siglip"]
    rng = np.random.default_rng(0)
    images = [
        rng.integers(0, 256, shape, dtype=np.uint8)
        for shape in [(16, 48, 3), (48, 16, 3), (16, 16, 3), (30, 30, 3)]
    ]
    backbone = keras_hub.models.Backbone.from_preset(preset)
    preprocessor = keras_hub.models.SigLIPPreprocessor.from_preset(preset)
    pixels = [
        next(
            iter(tf.data.Dataset.from_tensors(im).map(preprocessor.image_converter))
        ).numpy()
        for im in images
    ]
    expected = np.asarray(backbone.get_vision_embeddings(np.stack(pixels)))
    est = ImageEmbedder(preset, batch_size=3)
    np.testing.assert_allclose(est.fit_transform(images), expected, atol=1e-5)
    # image and text rows share the space: the model's own logits
    text = TextEmbedder(preset).fit(TEXTS)
    assert text.n_features_out_ == est.n_features_out_


def test_clip_text_rows_equal_keras_hubs_pipeline(presets):
    # CLIP's texts are padded to the batch's longest only; its causal text
    # tower, pooled at the end token, gives the fixed-length rows
    preset = presets["clip"]
    # (no punctuation: the tiny byte-pair vocabulary has letters only, and
    # KerasHub's eager and graph tokenizers differ on unknown characters)
    texts = [t.replace(",", "").replace("!", "") for t in TEXTS if t]
    expected = _keras_hub_text_rows(preset, keras_hub.models.CLIPPreprocessor, texts)
    est = TextEmbedder(preset, batch_size=2)
    np.testing.assert_allclose(est.fit_transform(texts), expected, atol=1e-5)
    for i, text in enumerate(texts):
        np.testing.assert_allclose(
            est.transform([text]), expected[i : i + 1], atol=1e-5
        )


@pytest.mark.parametrize("family", ["siglip", "clip"])
def test_canonicalised_python_path_equals_compiled_path(presets, family):
    """With the preprocessor's canonicalisation, KerasHub's pure-Python
    tokenizer path (the fallback without TensorFlow Text) gives the ids of
    the compiled path."""
    from sklearn_mbm.pretrained._text import (
        _python_tokenizer,
        batch_tokenizer,
        joint_packing,
    )

    preset = presets[family]
    backbone = keras_hub.models.Backbone.from_preset(preset)
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
    packing = joint_packing(keras_hub, preset, backbone, tokenizer)
    assert packing["canonicalize"] is not None
    texts = [t.replace(",", "").replace("!", "") for t in TEXTS]
    compiled = batch_tokenizer(tokenizer, packing["canonicalize"])(texts)
    python = _python_tokenizer(tokenizer, packing["canonicalize"])(texts)
    for got, expected in zip(compiled, python):
        np.testing.assert_array_equal(got, expected)
