"""Tests of sklearn_mbm.pretrained on tiny KerasHub models saved as presets.

Nothing can be downloaded here: session fixtures build a tiny BERT (WordPiece
tokenizer), CLIP (byte-pair tokenizer, image converter) and Whisper (audio
converter) from config with random weights, write them with
``save_to_preset``, and the embedders load them through ``preset=`` exactly
as they load a downloaded preset. References are computed with KerasHub's own
preprocessing layers and the bare backbones.
"""

import os
import pickle
import subprocess
import sys
import time
import warnings

import joblib
import numpy as np
import pytest
from _sklearn_checks import (
    parametrize_data_free_checks,
    parametrize_extractor_checks,
    run_data_free_check,
    run_sklearn_check,
)
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklearn_mbm import AudioEmbedder, FusionTransformer, ImageEmbedder, TextEmbedder
from sklearn_mbm._caching._cache import fingerprint
from sklearn_mbm.exceptions import CellLoadWarning

keras_hub = pytest.importorskip("keras_hub")  # the [hub] extra, part of [test]
from sklearn_mbm.pretrained import _tiny  # noqa: E402

TEXTS = [
    "the digit three",
    "a photo of the digit seven seven seven seven seven seven seven",
    "nine",
    "spoken number two is a handwritten two",
    "zero",
]

# --------------------------------------------------------------------------
# presets and data
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("presets")
    return {
        "bert": _tiny.save_tiny_bert(root / "bert"),
        "clip": _tiny.save_tiny_clip(root / "clip"),
        "whisper": _tiny.save_tiny_whisper(root / "whisper"),
    }


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8) for i in range(5)]


@pytest.fixture(scope="module")
def clips():
    """Clips at 1.6 kHz: shorter than, close to and longer than a 2 s window."""
    rng = np.random.default_rng(1)
    lengths = [400, 1500, 3100, 7000, 900]
    return [
        (0.1 * np.sin(np.arange(n) * (0.05 + 0.01 * i)) + 0.01 * rng.standard_normal(n))
        for i, n in enumerate(lengths)
    ]


def _make(kind, presets):
    if kind == "text":
        return TextEmbedder(presets["bert"], batch_size=2)
    if kind == "clip_text":
        return TextEmbedder(presets["clip"], batch_size=3)
    if kind == "image":
        return ImageEmbedder(presets["clip"], batch_size=2)
    return AudioEmbedder(presets["whisper"], input_sr=1600, batch_size=3)


def _data(kind, images, clips):
    if kind in ("text", "clip_text"):
        return TEXTS
    return images if kind == "image" else clips


KINDS = ["text", "clip_text", "image", "audio"]

# --------------------------------------------------------------------------
# scikit-learn checks
# --------------------------------------------------------------------------

UNFITTED = [
    TextEmbedder("bert_tiny_en_uncased"),
    ImageEmbedder("clip_vit_base_patch32"),
    AudioEmbedder("whisper_tiny_en"),
]


@parametrize_extractor_checks(UNFITTED)
def test_sklearn_compatible_embedders(estimator, check):
    run_sklearn_check(check, estimator)


@parametrize_data_free_checks(UNFITTED)
def test_data_free_checks(estimator, check):
    run_data_free_check(check, estimator)


@pytest.mark.parametrize("kind", KINDS)
def test_contract(kind, presets, images, clips):
    X = _data(kind, images, clips)
    est = _make(kind, presets)
    assert est.fit(X) is est
    Z = np.asarray(est.transform(X))
    assert Z.dtype == np.float32 and Z.shape == (len(X), est.n_features_out_)
    assert np.isfinite(Z).all()
    names = est.get_feature_names_out()
    assert len(names) == est.n_features_out_ and names[0].endswith("_0")
    # pickle round trip in this process
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).transform(X), Z)
    # clone: unfitted
    with pytest.raises(NotFittedError):
        clone(est).transform(X)
    # order invariance and batch-size invariance
    perm = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_allclose(est.transform([X[i] for i in perm]), Z[perm], atol=1e-5)
    one = clone(est).set_params(batch_size=1).fit(X)
    np.testing.assert_allclose(one.transform(X), Z, atol=1e-5)
    # idempotent fit, fit_transform = fit + transform
    np.testing.assert_allclose(clone(est).fit_transform(X), Z, atol=1e-6)
    # set_output
    frame = clone(est).set_output(transform="pandas").fit_transform(X)
    assert list(frame.columns) == list(names)


# --------------------------------------------------------------------------
# equality with the bare backbones
# --------------------------------------------------------------------------


@pytest.mark.parametrize("pooling", ["mean", "cls", "max"])
@pytest.mark.parametrize("batch_size", [1, 2, 5])
def test_text_equals_bare_bert(presets, pooling, batch_size):
    est = TextEmbedder(presets["bert"], pooling=pooling, batch_size=batch_size)
    Z = est.fit_transform(TEXTS)
    backbone = keras_hub.models.Backbone.from_preset(presets["bert"])
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        presets["bert"], sequence_length=est.max_length_
    )
    x = preprocessor(TEXTS)
    states = np.asarray(backbone(x)["sequence_output"])
    mask = np.asarray(x["padding_mask"]).astype(bool)[:, :, None]
    if pooling == "mean":
        expected = (states * mask).sum(1) / mask.sum(1)
    elif pooling == "max":
        expected = np.where(mask, states, -np.inf).max(1)
    else:
        expected = states[:, 0]
    np.testing.assert_allclose(Z, expected, atol=1e-5)


def test_text_row_ignores_padding_and_neighbours(presets):
    est = TextEmbedder(presets["bert"], batch_size=8).fit(TEXTS)
    alone = est.transform(["nine"])
    among_long = est.transform(["nine", TEXTS[1] * 3, TEXTS[3] * 2])
    np.testing.assert_allclose(among_long[:1], alone, atol=1e-5)


@pytest.mark.parametrize("family", ["bert", "clip", "roberta", "deberta"])
def test_compiled_tokenizer_path_equals_python_path(presets, family_presets, family):
    """The tokenizer's TF Text path (used when installed) and KerasHub's
    pure-Python path (the fallback) give the same ids, and framing cuts and
    pads them as the model expects."""
    from sklearn_mbm.pretrained._text import (
        _python_tokenizer,
        batch_tokenizer,
        frame_tokens,
    )

    preset = {**presets, **family_presets}[family]
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(preset)
    texts = [*TEXTS, "", "unknownword"]
    compiled, python = batch_tokenizer(tokenizer), _python_tokenizer(tokenizer)
    for got, expected in zip(compiled(texts), python(texts)):
        np.testing.assert_array_equal(got, expected)
    pieces, lengths = python(texts)
    ids, mask = frame_tokens(pieces, lengths, 5, -1, -2, -3)
    rows = np.split(pieces, np.cumsum(lengths)[:-1])
    for row, text_ids, text_mask, n in zip(rows, ids, mask, lengths):
        kept = min(n, 3)
        assert list(text_ids[: kept + 2]) == [-1, *row[:kept], -2]
        assert (text_ids[kept + 2 :] == -3).all()
        assert text_mask.sum() == kept + 2 and text_mask[: kept + 2].all()
    assert ids.shape == (len(texts), 5)


def test_text_max_length_cuts_and_is_capped(presets):
    est = TextEmbedder(presets["bert"], max_length=4).fit(TEXTS)
    assert est.max_length_ == 4
    # "the digit three seven" and "the digit" share their first 2 word pieces
    Z = np.asarray(est.transform(["the digit three seven", "the digit"]))
    np.testing.assert_allclose(Z[0], Z[1], atol=1e-6)
    assert TextEmbedder(presets["bert"], max_length=500).fit(TEXTS).max_length_ == 64
    assert TextEmbedder(presets["clip"]).fit(TEXTS).max_length_ == 20  # CLIP's limit


def test_clip_text_and_image_share_the_projected_space(presets, images):
    text = TextEmbedder(presets["clip"], batch_size=2).fit(TEXTS)
    image = ImageEmbedder(presets["clip"], batch_size=2).fit(images)
    assert text.joint_ and image.joint_
    assert text.n_features_out_ == image.n_features_out_ == 8  # projection_dim
    T, V = text.transform(TEXTS), image.transform(images)
    backbone = keras_hub.models.Backbone.from_preset(presets["clip"])
    tokenizer = keras_hub.tokenizers.Tokenizer.from_preset(presets["clip"])
    preprocessor = keras_hub.models.CLIPPreprocessor(tokenizer, sequence_length=20)
    token_ids = preprocessor({"prompts": TEXTS, "images": None})["token_ids"]
    np.testing.assert_allclose(
        T, np.asarray(backbone.get_text_embeddings(token_ids)), atol=1e-5
    )
    # the preset's converter on each raw image (float32, as in a graph)
    converter = keras_hub.layers.ImageConverter.from_preset(presets["clip"])
    pixels = np.stack([converter(np.float32(im)) for im in images])
    expected = np.asarray(backbone.get_vision_embeddings(pixels))
    np.testing.assert_allclose(V, expected, atol=1e-5)
    # and the image rows are the backbone's logits' inputs: cosine is defined
    cosine = (V / np.linalg.norm(V, axis=1, keepdims=True)) @ (
        T / np.linalg.norm(T, axis=1, keepdims=True)
    ).T
    assert cosine.shape == (len(images), len(TEXTS))


# --------------------------------------------------------------------------
# more backbone families: DistilBERT, RoBERTa, DeBERTa-v3 (text), ViT and
# DINOv2 (image), each a tiny config from sklearn_mbm.pretrained._tiny
# --------------------------------------------------------------------------

TEXT_FAMILIES = ["distil_bert", "roberta", "deberta"]
IMAGE_FAMILIES = ["vit", "dinov2"]


@pytest.fixture(scope="session")
def family_presets(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {
        name: getattr(_tiny, f"save_tiny_{name}")(root / name)
        for name in TEXT_FAMILIES + IMAGE_FAMILIES
    }


def _pool(states, mask, pooling):
    if pooling == "cls":
        return states[:, 0]
    mask = mask[:, :, None]
    if pooling == "max":
        return np.where(mask, states, -np.inf).max(1)
    return (states * mask).sum(1) / mask.sum(1)


@pytest.mark.parametrize("pooling", ["mean", "cls"])
@pytest.mark.parametrize("family", TEXT_FAMILIES)
def test_text_family_equals_bare_backbone(family_presets, family, pooling):
    preset = family_presets[family]
    est = TextEmbedder(preset, pooling=pooling, batch_size=2)
    Z = est.fit_transform(TEXTS)
    assert est.backbone_family_ == {"deberta": "deberta_v3"}.get(family, family)
    # the reference: KerasHub's own preprocessor (start, end and padding
    # tokens of the family, a fixed length) and the bare backbone
    backbone = keras_hub.models.Backbone.from_preset(preset)
    preprocessor = keras_hub.models.TextClassifierPreprocessor.from_preset(
        preset, sequence_length=est.max_length_
    )
    x = preprocessor(TEXTS)
    states = np.asarray(backbone(x))
    mask = np.asarray(x["padding_mask"]).astype(bool)
    np.testing.assert_allclose(Z, _pool(states, mask, pooling), atol=1e-5)
    # a text alone equals the same text among long neighbours
    alone = est.transform(["nine"])
    among_long = est.transform([TEXTS[1] * 3, "nine", TEXTS[3] * 2])
    np.testing.assert_allclose(among_long[1:2], alone, atol=1e-5)


@pytest.mark.parametrize("pooling", ["avg", "cls", "max"])
@pytest.mark.parametrize("family", IMAGE_FAMILIES)
def test_image_family_equals_bare_backbone(family_presets, images, family, pooling):
    preset = family_presets[family]
    est = ImageEmbedder(preset, pooling=pooling, batch_size=2)
    Z = est.fit_transform(images)
    backbone = keras_hub.models.Backbone.from_preset(preset)
    converter = keras_hub.layers.ImageConverter.from_preset(preset)
    pixels = np.stack([converter(np.float32(im)) for im in images])
    # DINOv2 takes {"images": ...}, ViT the tensor itself
    inputs = {"images": pixels} if isinstance(backbone.input, dict) else pixels
    tokens = np.asarray(backbone(inputs))
    # ViT: a class token, then 16 patches (16 px in 4 px patches); DINOv2: a
    # class token and a register token, then 4 patches (28 px in 14 px ones)
    prefix, patches = {"vit": (1, 16), "dinov2": (2, 4)}[family]
    assert tokens.shape[1] == prefix + patches
    if pooling == "cls":
        expected = tokens[:, 0]
    elif pooling == "max":
        expected = tokens[:, prefix:].max(1)
    else:
        expected = tokens[:, prefix:].mean(1)
    np.testing.assert_allclose(Z, expected, atol=1e-5)
    # an image alone equals it among other images
    np.testing.assert_allclose(est.transform(images[2:3]), Z[2:3], atol=1e-5)


def test_image_cls_pooling_needs_a_class_token(tmp_path, images):
    preset = _tiny.save_tiny_vit(tmp_path / "vit", use_class_token=False)
    Z = ImageEmbedder(preset).fit_transform(images)  # avg over all patches
    assert Z.shape == (len(images), 16)
    with pytest.raises(ValueError, match="pooling='cls' needs a class token"):
        ImageEmbedder(preset, pooling="cls").fit(images)


def _bare_whisper(preset, clip):
    """Whisper reference: the converter's window and stride, the backbone's
    encoder, pooled over the clip's own states of each window."""
    backbone = keras_hub.models.Backbone.from_preset(preset)
    converter = keras_hub.layers.AudioConverter.from_preset(preset)
    size, hop = converter.num_samples, converter.stride
    states = []
    for start in range(0, len(clip), size):
        piece = clip[start : start + size].astype("float32")
        window = np.pad(piece, (0, size - len(piece)))[None]
        features = converter(window)
        out = backbone(
            {
                "encoder_features": np.asarray(features),
                "decoder_token_ids": np.zeros((1, 1), "int32"),
                "decoder_padding_mask": np.ones((1, 1), "int32"),
            }
        )["encoder_sequence_output"]
        out = np.asarray(out)[0]
        mel_frames = features.shape[1]
        own_mel = min(mel_frames, -(-len(piece) // hop))
        own = -(-own_mel * out.shape[0] // mel_frames)
        states.append(out[:own])
    return np.concatenate(states).mean(axis=0)


def test_audio_equals_bare_whisper_over_own_frames(presets, clips):
    est = AudioEmbedder(presets["whisper"], input_sr=1600, batch_size=2).fit(clips)
    converter = keras_hub.layers.AudioConverter.from_preset(presets["whisper"])
    assert est.window_length_ == converter.num_samples == 3200
    assert est.hop_length_ == converter.stride and est.frames_per_window_ == 50
    Z = np.asarray(est.transform(clips))
    for row, clip in zip(Z, clips):
        expected = _bare_whisper(presets["whisper"], clip)
        np.testing.assert_allclose(row, expected, atol=1e-5)
    # a short clip alone equals the same clip among long ones
    np.testing.assert_allclose(np.asarray(est.transform(clips[:1])), Z[:1], atol=1e-6)
    # not pooled over the padding: the mean over all 50 states differs
    backbone = keras_hub.models.Backbone.from_preset(presets["whisper"])
    window = np.pad(clips[0], (0, 3200 - len(clips[0])))[None].astype("float32")
    full = backbone(
        {
            "encoder_features": np.asarray(converter(window)),
            "decoder_token_ids": np.zeros((1, 1), "int32"),
            "decoder_padding_mask": np.ones((1, 1), "int32"),
        }
    )["encoder_sequence_output"]
    assert not np.allclose(np.asarray(full)[0].mean(0), Z[0], atol=1e-4)


def test_audio_window_comes_from_the_preset(tmp_path, clips):
    # another converter (1 s windows at 1280 Hz): other window and resampling
    preset = _tiny.save_tiny_whisper(tmp_path / "w", sampling_rate=1280, seconds=1)
    est = AudioEmbedder(preset, input_sr=1600).fit(clips)
    assert est.window_length_ == 1280 and est.sampling_rate_ == 1280
    assert est.frames_per_window_ == 20
    assert np.isfinite(np.asarray(est.transform(clips))).all()


def test_long_clip_is_split_into_windows(presets, clips):
    est = AudioEmbedder(presets["whisper"], input_sr=1600).fit(clips)
    long = clips[3]  # 7000 samples: windows of 3200, 3200 and 600
    first, second, rest = long[:3200], long[3200:6400], long[6400:]
    parts = np.asarray(est.transform([first, second, rest]))
    # the long clip's mean pools all its own states: 50 + 50 + 10 of them
    weights = np.array([50, 50, 10])[:, None]
    expected = (parts * weights).sum(0) / weights.sum()
    np.testing.assert_allclose(
        np.asarray(est.transform([long]))[0], expected, atol=1e-5
    )


# --------------------------------------------------------------------------
# bad cells
# --------------------------------------------------------------------------


def test_bad_cells_name_the_sample(presets, images, tmp_path):
    image = ImageEmbedder(presets["clip"]).fit(images)
    missing = str(tmp_path / "nope.png")
    with pytest.raises(FileNotFoundError, match=r"sample 1 \(path '.*nope.png'\)"):
        image.transform([images[0], missing])
    with pytest.raises(ValueError, match="sample 0 is missing"):
        image.transform([None])
    text = TextEmbedder(presets["bert"]).fit(TEXTS)
    with pytest.raises(TypeError, match="sample 2 .*must be a str, got int"):
        text.transform(["a", "b", 3])
    audio = AudioEmbedder(presets["whisper"]).fit(["x"])
    with pytest.raises(ValueError, match="sample 0 .*input_sr"):
        audio.transform([np.zeros(100)])


@pytest.mark.parametrize("kind", ["text", "image", "audio"])
def test_on_error_warn_gives_nan_rows(kind, presets, images, clips):
    X = list(_data(kind, images, clips)[:3])
    est = _make(kind, presets).set_params(on_error="warn").fit(X)
    good = est.transform(X)
    bad = X[:1] + [None, 12345] + X[1:]
    with pytest.warns(CellLoadWarning) as record:
        Z = np.asarray(est.transform(bad))
    messages = [str(w.message) for w in record]
    assert "sample 1 is missing" in messages[0] and "sample 2" in messages[1]
    assert np.isnan(Z[[1, 2]]).all()
    np.testing.assert_allclose(Z[[0, 3, 4]], good, atol=1e-5)


@pytest.mark.parametrize("kind", ["text", "image", "audio"])
def test_bad_cell_warning_points_at_the_callers_line(kind, presets, images, clips):
    # the feature extractors' rule: one wording, the user's line
    cells = [*_data(kind, images, clips)[:1], None]
    est = _make(kind, presets).set_params(on_error="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit_transform(cells)
        est.transform(cells)
    found = [w for w in caught if w.category is CellLoadWarning]
    assert len(found) == 2
    assert {w.filename for w in found} == {__file__}
    assert all(str(w.message).endswith(" Its row of features is NaN.") for w in found)


# --------------------------------------------------------------------------
# presets: offline, changes, missing extra
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "preset",
    [
        "bert_tiny_en_uncased",
        "kaggle://keras/bert/keras/bert_tiny_en_uncased",
        "hf://nobody-here/no-such-model",
    ],
)
def test_uncached_preset_offline_fails_fast(preset, monkeypatch, tmp_path):
    # Offline by construction, even on a machine with internet access: the
    # hub clients go through a proxy and an endpoint that refuse connections.
    import huggingface_hub.constants

    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kaggle"))
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(ConnectionError) as info:
        TextEmbedder(preset).fit(["a"])
    assert time.perf_counter() - start < 60
    message = str(info.value)
    assert repr(preset) in message and "pass the local directory" in message


def test_local_folder_without_config(tmp_path):
    with pytest.raises(FileNotFoundError, match="without a config.json"):
        TextEmbedder(tmp_path).fit(["a"])


def test_changed_preset_misses_the_cache_and_is_refused(presets, tmp_path):
    import shutil

    folder = shutil.copytree(presets["bert"], tmp_path / "bert")
    est = TextEmbedder(folder)
    key = fingerprint(est, TEXTS)
    fitted = clone(est).fit(TEXTS)
    _tiny.save_tiny_bert(folder, hidden_dim=8)  # the same name, new weights
    assert fingerprint(clone(est), TEXTS) != key
    with pytest.raises(ValueError, match="changed since"):
        fitted.transform(TEXTS)
    assert TextEmbedder(folder).fit(TEXTS).n_features_out_ == 8


def test_missing_keras_hub_names_the_extra(presets, monkeypatch):
    # simulated: a None entry in sys.modules makes `import keras_hub` fail
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match=r"sklearn-mbm\[hub\]"):
        TextEmbedder(presets["bert"]).fit(["a"])


def test_import_does_not_load_keras_hub():
    code = (
        "import sys; from sklearn_mbm import TextEmbedder, ImageEmbedder, "
        "AudioEmbedder, ZeroShotClassifier; TextEmbedder('x').get_params(); "
        "ZeroShotClassifier('x').__sklearn_tags__(); "
        "print(','.join(m for m in ('keras_hub', 'keras', 'tensorflow') "
        "if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


# --------------------------------------------------------------------------
# persistence and composition
# --------------------------------------------------------------------------

_CHILD = """
import sys, joblib, numpy as np
folder = sys.argv[1]
data = joblib.load(folder + "/data.joblib")
for name in ("text", "image", "audio"):
    est = joblib.load(folder + f"/{name}.joblib")
    np.save(folder + f"/{name}.npy", est.transform(data[name]))
"""


def test_joblib_round_trip_in_a_fresh_process(presets, images, clips, tmp_path):
    data = {"text": TEXTS, "image": images, "audio": clips}
    expected = {}
    for name, kind in (("text", "text"), ("image", "image"), ("audio", "audio")):
        est = _make(kind, presets).fit(data[name])
        expected[name] = est.transform(data[name])
        joblib.dump(est, tmp_path / f"{name}.joblib")
        # the pickle carries parameters, not weights
        assert os.path.getsize(tmp_path / f"{name}.joblib") < 20_000
    joblib.dump(data, tmp_path / "data.joblib")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path)], check=True, env=env, timeout=300
    )
    for name, Z in expected.items():
        np.testing.assert_array_equal(np.load(tmp_path / f"{name}.npy"), Z)


def test_in_fusion_cache_and_grid_search(presets, images, tmp_path):
    import pandas as pd

    X = pd.DataFrame({"text": TEXTS * 2, "image": images * 2})
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    fusion = FusionTransformer(
        [
            ("text", TextEmbedder(presets["bert"]), "text"),
            ("image", ImageEmbedder(presets["clip"]), "image"),
        ],
        memory=str(tmp_path / "cache"),
    )
    first = fusion.fit_transform(X)
    again = clone(fusion).fit_transform(X)  # from the cache
    np.testing.assert_allclose(again, first)
    pipe = make_pipeline(fusion, LogisticRegression(max_iter=200))
    grid = GridSearchCV(
        pipe,
        {"fusiontransformer__text__pooling": ["mean", "cls"]},
        cv=2,
    ).fit(X, y)
    assert grid.best_params_["fusiontransformer__text__pooling"] in ("mean", "cls")


def test_verbose_and_threads(presets, images, capsys):
    est = ImageEmbedder(presets["clip"], n_jobs=2, verbose=True, batch_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm's notebook warning, if any
        Z = est.fit_transform(images)
    np.testing.assert_allclose(
        Z, ImageEmbedder(presets["clip"]).fit_transform(images), atol=1e-5
    )
    assert "ImageEmbedder" in capsys.readouterr().err
