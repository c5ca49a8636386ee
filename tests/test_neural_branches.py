"""Tests for the trainable branches and the training recipe of the neural
fusion estimators: the ``"cnn"`` image branch (sklearn_mbm/neural/_cnn.py),
the ``"mel_cnn"`` audio branch (sklearn_mbm/neural/_mel_cnn.py), modality
dropout and auxiliary heads (_layers.py, _model.py), and the grouped
validation split with metadata routing (_base.py).

Real Keras models, tiny (a few units, few epochs), on real cells: small
images, short tones, a few words.
"""

import pickle

import librosa
import numpy as np
import pandas as pd
import pytest
import sklearn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.model_selection import GridSearchCV, GroupKFold

from sklearn_mbm import ImageFeatureExtractor, NeuralFusionClassifier
from sklearn_mbm._keras import import_keras
from sklearn_mbm.neural._cnn import cnn_blocks
from sklearn_mbm.neural._layers import fusion_layers
from sklearn_mbm.neural._mel_cnn import audio_frames, mel_cnn_layers

SR = 8000
WORDS = np.array(["zero", "one", "two"])


def av_frame(n=48, seed=0):
    """Images, tones and words that each tell the class; a speaker column."""
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    t = np.arange(SR // 10) / SR
    images, clips = [], []
    for label in y:
        image = rng.randint(0, 50, (12, 12)).astype(np.uint8)
        image[4 * label : 4 * label + 4, 2:10] = 230
        images.append(image)
        pitch = (300.0, 900.0, 2000.0)[label] * rng.uniform(0.97, 1.03)
        clips.append(np.sin(2 * np.pi * pitch * t) + rng.normal(0, 0.05, t.size))
    frame = pd.DataFrame(
        {
            "image": images,
            "audio": clips,
            "text": [f"it is {w}" for w in WORDS[y]],
            "speaker": np.repeat(np.arange(n // 6), 6),
        }
    )
    return frame, y


TINY = {
    "hidden_units": (8,),
    "projection_units": 8,
    "epochs": 4,
    "batch_size": 16,
    "learning_rate": 0.02,
    "early_stopping": False,
    "random_state": 0,
    "dropout": 0.0,
    "cnn_filters": 4,
    "mel_filters": 4,
    "mel_sr": SR,
    "mel_input_sr": SR,
    "rnn_units": 4,
    "rnn_embedding_dim": 4,
}

ALL_BRANCHES = [
    ("image", "cnn", "image"),
    ("audio", "mel_cnn", "audio"),
    ("text", "rnn", "text"),
]


def tiny(transformers=ALL_BRANCHES, **params):
    return NeuralFusionClassifier(transformers, **{**TINY, **params})


@pytest.fixture(scope="module")
def fitted():
    """One fit of the three trained-from-scratch branches (the one line)."""
    frame, y = av_frame()
    clf = tiny(epochs=20).fit(frame, y)
    return clf, frame, y


# --------------------------------------------------------------------------
# the networks, against plain computations
# --------------------------------------------------------------------------


def test_audio_frames_match_librosa_log_mel_less_the_clip_mean():
    rng = np.random.RandomState(0)
    clips = [rng.normal(0, 0.1, n) for n in (800, 2000, 1200)]
    frames, counts = audio_frames(clips, sr=SR, n_mels=20)
    assert frames.shape == (3, counts.max(), 20) and frames.dtype == np.float32
    for clip, out, count in zip(clips, frames, counts):
        mel = librosa.feature.melspectrogram(
            y=clip, sr=SR, n_fft=200, hop_length=80, n_mels=20
        )
        log_mel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).T
        assert count == log_mel.shape[0]
        assert_allclose(out[:count], log_mel - log_mel.mean(axis=0), atol=2e-3)
        assert not out[count:].any()  # zero padding after the clip's frames
    raw, _ = audio_frames(clips[:1], sr=SR, n_mels=20, normalize=None)
    assert raw.min() < -20  # dB values, not centred


def test_masked_pooling_ignores_padding():
    pooling = mel_cnn_layers()["MaskedTemporalPooling"]()
    rng = np.random.RandomState(0)
    frames = rng.normal(size=(2, 5, 3)).astype(np.float32)
    frames[0, 3:] = 0.0  # clip 0 has 3 frames, clip 1 has 5
    features = rng.normal(size=(2, 5, 4)).astype(np.float32)
    out = np.asarray(pooling(features, frames))
    expected = [
        np.r_[features[0, :3].mean(0), features[0, :3].max(0)],
        np.r_[features[1].mean(0), features[1].max(0)],
    ]
    assert_allclose(out, expected, rtol=1e-5)
    empty = np.asarray(pooling(features[:1], np.zeros_like(frames[:1])))
    assert_array_equal(empty, 0.0)  # a clip without frames pools to zeros


@pytest.mark.parametrize("size, blocks", [(12, 1), (28, 2), (64, 3), (224, 5)])
def test_cnn_depth_follows_the_input_size(size, blocks):
    keras = import_keras()
    from sklearn_mbm.neural._cnn import build_cnn

    assert cnn_blocks((size, size + 5)) == blocks
    inputs = keras.Input((size, size + 5, 1))
    flat = build_cnn(keras, inputs, filters=2)
    side = size // 2**blocks
    assert flat.shape[-1] == side * ((size + 5) // 2**blocks) * min(
        2 * 2 ** (blocks - 1), 128
    )


def test_modality_dropout_drops_one_present_modality_in_training_only():
    layer = fusion_layers()["ModalityDropout"](1.0, seed=0)
    present = np.array([[1, 1, 1], [1, 0, 1], [0, 1, 0], [1, 1, 0]] * 50, "float32")
    out = np.asarray(layer(present, training=True))
    lost = present - out
    assert (lost >= 0).all()  # only present modalities are dropped
    several = present.sum(1) > 1
    assert_array_equal(lost.sum(1), several.astype(float))  # exactly one
    assert_array_equal(out[~several], present[~several])  # a sole one stays
    assert (lost[several].sum(0) > 0).all()  # each modality is chosen
    assert_array_equal(np.asarray(layer(present, training=False)), present)
    half = fusion_layers()["ModalityDropout"](0.5, seed=0)
    dropped = (present - np.asarray(half(present, training=True))).sum(1)
    assert 0.3 < dropped[several].mean() < 0.7


# --------------------------------------------------------------------------
# the branches in the estimator
# --------------------------------------------------------------------------


def test_three_branches_trained_from_scratch_in_one_line(fitted):
    clf, frame, y = fitted
    assert clf.score(frame, y) > 0.8
    reader, slot_audio, slot_text = (t for _, t, _ in clf.transformers_)
    # "cnn" reads images as the pixels extractor does (first image's size,
    # grey); the other slots stay strings, their state lives in model_
    assert isinstance(reader, ImageFeatureExtractor) and reader.backbone == "pixels"
    assert reader.input_size_ == (12, 12) and reader.n_channels_ == 1
    assert (slot_audio, slot_text) == ("mel_cnn", "rnn")
    model = clf.model_
    assert model.get_layer("modality_0_conv0_1") is not None
    assert model.get_layer("modality_1_pool") is not None
    # any clip length: the audio input has no fixed number of frames
    assert tuple(model.get_layer("modality_1").output.shape[1:]) == (None, 40)
    # the prediction model has the fused head only
    assert len(model.outputs) == 1
    assert set(clf.fusion_weights_) == {"image", "audio", "text"}


def test_cnn_branch_alone_learns():
    """The image branch on its own reaches the pixels' information (a
    network fed the wrong scale would stay at chance)."""
    frame, y = av_frame()
    clf = tiny([("image", "cnn", "image")], epochs=10).fit(frame, y)
    assert clf.history_["loss"][-1] < 0.5 * clf.history_["loss"][0]
    assert clf.score(frame, y) > 0.9


def test_one_modality_missing_at_predict_time(fitted):
    clf, frame, y = fitted
    for name in ("image", "audio", "text"):
        proba = clf.predict_proba(frame.assign(**{name: None}).iloc[:5])
        assert np.isfinite(proba).all() and proba.shape == (5, 3)
    weights = clf.predict_fusion_weights(frame.assign(audio=None).iloc[:2])
    assert_allclose(weights[:, 1], 0.0)


def test_pickle_round_trip_keeps_the_custom_layers(fitted):
    clf, frame, _ = fitted
    restored = pickle.loads(pickle.dumps(clf))
    assert_allclose(restored.predict_proba(frame), clf.predict_proba(frame), rtol=1e-5)


def test_longer_clips_and_other_sizes_at_predict_time(fitted):
    clf, frame, _ = fitted
    other = frame.iloc[:3].copy()
    other["audio"] = [np.tile(clip, 3) for clip in other["audio"]]  # 3x longer
    other["image"] = [np.kron(im, np.ones((2, 2), np.uint8)) for im in other["image"]]
    assert clf.predict(other).shape == (3,)


def test_branch_errors_name_the_modality_and_sample():
    frame, y = av_frame(n=12)
    with pytest.raises(ValueError, match="'mel_cnn' audio branch and needs a single"):
        tiny([("audio", "mel_cnn", ["audio", "text"])]).fit(frame, y)
    bad = frame.copy()
    bad.loc[4, "audio"] = "no/such/clip.wav"
    with pytest.raises(FileNotFoundError, match=r"sample 4 .*no/such/clip.wav"):
        tiny([("audio", "mel_cnn", "audio")]).fit(bad, y)
    with pytest.raises(ValueError, match="input_sr"):
        tiny([("audio", "mel_cnn", "audio")], mel_input_sr=None).fit(frame, y)
    with pytest.raises(ValueError, match="'cnn_filters' parameter"):
        tiny(cnn_filters=0).fit(frame, y)


# --------------------------------------------------------------------------
# the training recipe
# --------------------------------------------------------------------------


def test_aux_heads_only_with_several_modalities_and_a_weight():
    frame, y = av_frame(n=24)
    one = tiny([("image", "cnn", "image")], epochs=1).fit(frame, y)
    assert "head_loss" not in one.history_  # one modality: no auxiliary head
    off = tiny(ALL_BRANCHES[:2], epochs=1, aux_loss_weight=0.0).fit(frame, y)
    assert set(off.history_) == {"loss", "accuracy"}
    assert all("modality_0_head" not in layer.name for layer in off.model_.layers)


def test_aux_loss_is_masked_where_the_modality_is_missing():
    """The training targets of a modality's head weigh 0 where it is missing:
    the dataset a fit trains on, against a hand-made one."""
    frame, y = av_frame(n=12)
    clf = tiny(ALL_BRANCHES[:2], epochs=1).fit(frame, y)
    present = np.ones((12, 2), np.float32)
    present[3, 0] = 0.0
    weights = np.linspace(0.5, 1.5, 12).astype(np.float32)
    inputs = [np.zeros((12, 1), np.float32)] * 2
    dataset = clf._dataset(inputs, present, y, weights, seed=0)
    _, targets, sample_weight = next(iter(dataset.unbatch().batch(12)))
    # the rows come shuffled; the distinct weights say which row is which
    rows = [int(np.flatnonzero(weights == w)[0]) for w in np.asarray(sample_weight[0])]
    assert sorted(rows) == list(range(12)) and len(targets) == 3
    # every row is shuffled with every other (not within a few neighbours)
    assert max(abs(r - i) for i, r in enumerate(rows)) > 4
    for target in targets:
        assert_array_equal(target, y[rows])
    assert_allclose(sample_weight[1], weights[rows] * present[rows, 0])
    assert_allclose(sample_weight[2], weights[rows])


# --------------------------------------------------------------------------
# groups: early stopping validates on unseen groups
# --------------------------------------------------------------------------


class _SplitProbe(NeuralFusionClassifier):
    """Records the validation split fit makes (a real subclass, no mock)."""

    def _split(self, n_samples, y_encoded, seed, groups=None):
        train, val = super()._split(n_samples, y_encoded, seed, groups)
        type(self).seen.append((groups, train, val))
        return train, val


def test_validation_split_keeps_groups_whole():
    frame, y = av_frame(n=48)
    groups = frame["speaker"].to_numpy()
    clf = tiny(early_stopping=True, validation_fraction=0.25)
    for seed in range(5):
        train, val = clf._split(48, y, seed, groups)
        assert len(val) and set(groups[train]).isdisjoint(groups[val])
        assert len(train) + len(val) == 48
    # without groups: rows are split, stratified, and groups straddle
    train, val = clf._split(48, y, 0)
    assert set(groups[train]) & set(groups[val])
    with pytest.raises(ValueError, match="a single group"):
        clf._split(48, y, 0, np.zeros(48))
    with pytest.raises(ValueError, match="groups has 47"):
        clf.fit(frame, y, groups=groups[:-1])


def test_groups_reach_fit_through_metadata_routing():
    """As GridSearchCV passes groups to its splitter, it passes them to the
    estimator's fit when the estimator requests them."""
    frame, y = av_frame(n=36)
    groups = frame["speaker"].to_numpy()
    _SplitProbe.seen = []
    with sklearn.config_context(enable_metadata_routing=True):
        probe = _SplitProbe(
            [("image", "cnn", "image")],
            **{**TINY, "epochs": 1, "early_stopping": True},
            validation_fraction=0.3,
        ).set_fit_request(groups=True, sample_weight=False)
        GridSearchCV(probe, {"cnn_filters": [2]}, cv=GroupKFold(2)).fit(
            frame, y, groups=groups
        )
    assert len(_SplitProbe.seen) == 3  # two folds and the refit
    for seen_groups, train, val in _SplitProbe.seen:
        assert seen_groups is not None
        assert set(seen_groups[train]).isdisjoint(seen_groups[val])
