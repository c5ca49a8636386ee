"""ImageEmbedder prepares images exactly as the preset's own ImageConverter.

The reference is KerasHub's own pipeline: the preset's ``ImageConverter``
called on each raw image at its own size (no resize beforehand), then the
backbone's vision embedding. Tiny CLIP presets (random weights, written with
``save_to_preset``) carry converters with each resize setting.
"""

import shutil

import numpy as np
import pytest

from sklearn_mbm import ImageEmbedder

keras_hub = pytest.importorskip("keras_hub")  # the [hub] extra, part of [test]
from sklearn_mbm.pretrained import _tiny  # noqa: E402

# the converter settings a preset may carry: CLIP's (crop to the aspect
# ratio, bilinear), padding, squashing with an antialiased bicubic filter
CONVERTERS = {
    "crop": {},
    "pad": {"crop_to_aspect_ratio": False, "pad_to_aspect_ratio": True},
    "squash_bicubic_antialias": {
        "crop_to_aspect_ratio": False,
        "interpolation": "bicubic",
        "antialias": True,
    },
}

# (height, width): wide, tall, square smaller and larger than the 16 px
# preset; two of a size in one batch go through the converter together
SHAPES = [(16, 48), (48, 16), (16, 48), (9, 9), (16, 16), (40, 40), (37, 23)]


@pytest.fixture(scope="module")
def clip_presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip_converters")
    base = _tiny.save_tiny_clip(root / "crop")
    presets = {"crop": base}
    mean, std = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)
    for name, options in CONVERTERS.items():
        if name == "crop":
            continue
        folder = shutil.copytree(base, root / name)
        keras_hub.layers.CLIPImageConverter(
            image_size=(16, 16),
            scale=[1 / (255 * s) for s in std],
            offset=[-m / s for m, s in zip(mean, std)],
            **options,
        ).save_to_preset(folder)
        presets[name] = str(folder)
    return presets


@pytest.fixture(scope="module")
def shaped_images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (*shape, 3), dtype=np.uint8) for shape in SHAPES]


def _keras_hub_rows(preset, images):
    """KerasHub's own pipeline: the preset's converter mapped over the raw
    uint8 images in a ``tf.data`` pipeline (as ``Task.predict`` runs its
    preprocessor), each at its own size, then the vision embedding."""
    import tensorflow as tf

    backbone = keras_hub.models.Backbone.from_preset(preset)
    converter = keras_hub.layers.ImageConverter.from_preset(preset)
    pixels = []
    for image in images:
        dataset = tf.data.Dataset.from_tensors(image).map(converter)
        pixels.append(next(iter(dataset)).numpy())
    return np.asarray(backbone.get_vision_embeddings(np.stack(pixels)))


@pytest.mark.parametrize("converter", list(CONVERTERS))
def test_rows_equal_the_presets_converter_and_backbone(
    clip_presets, shaped_images, converter
):
    preset = clip_presets[converter]
    saved = keras_hub.layers.ImageConverter.from_preset(preset).get_config()
    for option, value in CONVERTERS[converter].items():
        assert saved[option] == value  # the preset carries the setting
    est = ImageEmbedder(preset, batch_size=4)
    Z = est.fit_transform(shaped_images)
    expected = _keras_hub_rows(preset, shaped_images)
    np.testing.assert_allclose(Z, expected, atol=1e-5, rtol=1e-5)
    # each image alone gives its row of the batch
    for i, image in enumerate(shaped_images):
        np.testing.assert_allclose(est.transform([image]), Z[i : i + 1], atol=1e-5)


def test_crop_keeps_the_centre_of_a_wide_image(clip_presets):
    # a wide image whose sides differ from its centre: cropped to the square
    # centre, it gives the row of that centre alone; squashed, it would not
    rng = np.random.default_rng(1)
    centre = rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)
    wide = np.concatenate([np.zeros_like(centre), centre, np.full_like(centre, 255)], 1)
    est = ImageEmbedder(clip_presets["crop"]).fit([wide])
    np.testing.assert_allclose(
        est.transform([wide]), est.transform([centre]), atol=1e-5
    )
    padded = ImageEmbedder(clip_presets["pad"]).fit([wide])
    assert not np.allclose(
        padded.transform([wide]), padded.transform([centre]), atol=1e-3
    )
