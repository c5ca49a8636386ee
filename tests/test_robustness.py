"""Tests for sklearn_mbm._robustness (modality_robustness) and its plot."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from sklearn.exceptions import NotFittedError
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    NeuralFusionClassifier,
    TextFeatureExtractor,
)
from sklearn_mbm._robustness import _noisy_audio, _noisy_image, _word_dropout
from sklearn_mbm.inspection import modality_robustness
from sklearn_mbm.plotting import plot_modality_robustness

matplotlib.use("Agg")

N = 60
SR = 8000
WORDS = np.array(["zero", "one", "two"])


def _cells(seed, n=N):
    """Real cells of three kinds: an 8x8 grey image, a tone, a sentence.

    The class is in every modality: a bright square's place, the tone's
    pitch, the spoken word (behind filler words).
    """
    rng = np.random.RandomState(seed)
    y = np.arange(n) % 3
    images, clips, texts = [], [], []
    t = np.arange(SR // 10) / SR
    for label in y:
        image = rng.randint(0, 60, (8, 8)).astype(np.uint8)
        image[2 * label : 2 * label + 3, 2:6] = 220
        images.append(image)
        pitch = (300.0, 900.0, 2000.0)[label] * rng.uniform(0.95, 1.05)
        clips.append(np.sin(2 * np.pi * pitch * t) + rng.normal(0, 0.05, t.size))
        texts.append(f"well I said {WORDS[label]} I think so")
    X = pd.DataFrame({"image": images, "audio": clips, "text": texts})
    return X, y


def _extractors():
    return {
        "image": ImageFeatureExtractor(backbone="pixels"),
        "audio": AudioFeatureExtractor(sr=SR, input_sr=SR),
        "text": TextFeatureExtractor(),
    }


def _unimodal(name, extractor):
    # MFCC statistics need scaling; pixels and tf-idf rows are scaled already
    scale = [StandardScaler()] if name == "audio" else []
    return make_pipeline(extractor, *scale, LogisticRegression())


def _late():
    return LateFusionClassifier(
        [(name, _unimodal(name, ext), name) for name, ext in _extractors().items()]
    )


def _early(missing="zero"):
    return Pipeline(
        [
            (
                "fusion",
                FusionTransformer(
                    [(name, ext, name) for name, ext in _extractors().items()],
                    missing=missing,
                ),
            ),
            ("clf", LogisticRegression()),
        ]
    )


@pytest.fixture(scope="module")
def data():
    X_train, y_train = _cells(0)
    X_test, y_test = _cells(1)
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="module")
def late(data):
    X_train, y_train, _, _ = data
    return _late().fit(X_train, y_train)


def _removed_by_hand(X, column):
    X = X.copy()
    X[column] = pd.Series([None] * len(X), dtype=object)
    return X


def test_removing_a_modality_equals_scoring_missing_cells_by_hand(data, late):
    _, _, X_test, y_test = data
    result = modality_robustness(late, X_test, y_test, random_state=0)
    assert result.modalities == ["image", "audio", "text"]
    assert result.kinds == ["image", "audio", "text"]
    assert result.baseline_score == late.score(X_test, y_test)
    for m, name in enumerate(result.modalities):
        expected = late.score(_removed_by_hand(X_test, name), y_test)
        assert result.removed_scores[m] == expected


def test_level_zero_is_the_clean_score(data, late):
    """No noise: images as float arrays in [0, 1], clips as (wave, rate)
    tuples, texts with every word kept all score as the original cells."""
    _, _, X_test, y_test = data
    result = modality_robustness(late, X_test, y_test, levels=[0.0], random_state=0)
    np.testing.assert_allclose(result.corrupted_scores[:, 0], result.baseline_score)


def test_word_dropout_at_level_one_equals_empty_texts_by_hand(data, late):
    _, _, X_test, y_test = data
    result = modality_robustness(
        late, X_test, y_test, levels=[1.0], kinds={"image": None, "audio": None}
    )
    X_empty = X_test.copy()
    X_empty["text"] = ""
    assert result.corrupted_scores[2, 0] == late.score(X_empty, y_test)
    # modalities whose kind is None are removed, never corrupted
    assert np.isnan(result.corrupted_scores[:2]).all()
    assert np.isfinite(result.removed_scores).all()


def test_noise_equals_a_plain_computation():
    """Each corruption against numpy on the same generator."""
    image = np.arange(16, dtype=np.uint8).reshape(4, 4) * 10
    noisy = _noisy_image(image, 0, 0.2, np.random.default_rng(3), None)
    expected = np.clip(
        image[..., None] / 255.0 + np.random.default_rng(3).normal(0, 0.2, (4, 4, 1)),
        0,
        1,
    )
    np.testing.assert_allclose(noisy, expected, rtol=1e-6)
    assert noisy.dtype == np.float32

    wave = np.sin(np.linspace(0, 100, SR))
    extractor = AudioFeatureExtractor(sr=SR, input_sr=SR)
    noisy, rate = _noisy_audio(wave, 0, 0.5, np.random.default_rng(4), extractor)
    rms = np.sqrt(np.mean(wave**2))
    expected = wave + np.random.default_rng(4).normal(0, 0.5 * rms, SR)
    assert rate == SR
    np.testing.assert_allclose(noisy, expected)

    text = "a b c d e f g h"
    kept = np.random.default_rng(5).random(8) >= 0.5
    expected = " ".join(w for w, k in zip(text.split(), kept) if k)
    assert _word_dropout(text, 0, 0.5, np.random.default_rng(5), None) == expected


def test_noise_lowers_the_score_and_is_seeded(data):
    X_train, y_train, X_test, y_test = data
    # the images alone tell the class (the texts are all alike): heavy pixel
    # noise must cost the model
    X_train, X_test = X_train[["image", "text"]], X_test[["image", "text"]]
    X_train = X_train.assign(text="hello there")
    X_test = X_test.assign(text="hello there")
    model = LateFusionClassifier(
        [(name, _unimodal(name, _extractors()[name]), name) for name in X_train]
    ).fit(X_train, y_train)
    levels = (0.1, 3.0)
    first = modality_robustness(model, X_test, y_test, levels=levels, random_state=0)
    again = modality_robustness(model, X_test, y_test, levels=levels, random_state=0)
    np.testing.assert_array_equal(first.corrupted_scores, again.corrupted_scores)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert first.corrupted_scores[0, 1] < first.baseline_score - 0.2
    other = modality_robustness(model, X_test, y_test, levels=levels, random_state=1)
    assert other.corrupted_scores[1, 1] == first.corrupted_scores[1, 1]  # no words


def test_missing_cells_stay_missing(data, late):
    """A missing cell is not corrupted (nor loaded): its row stays missing."""
    _, _, X_test, y_test = data
    X = X_test.copy()
    X.loc[[0, 5], "image"] = None
    result = modality_robustness(late, X, y_test, levels=[0.0], random_state=0)
    assert (
        result.corrupted_scores[0, 0] == result.baseline_score == late.score(X, y_test)
    )


def test_frame_lists_every_score(data, late):
    _, _, X_test, y_test = data
    result = modality_robustness(late, X_test, y_test, levels=[0.1, 0.3])
    frame = result.frame
    assert list(frame.columns) == [
        "modality",
        "kind",
        "perturbation",
        "level",
        "score",
        "drop",
    ]
    assert len(frame) == 1 + 3 * (1 + 2)
    removed = frame[frame.perturbation == "removed"]
    np.testing.assert_array_equal(removed.score, result.removed_scores)
    text = frame[(frame.modality == "text") & (frame.level == 0.3)]
    assert text.perturbation.item() == "word dropout (probability)"
    assert text.score.item() == result.corrupted_scores[2, 1]
    np.testing.assert_allclose(frame["drop"], result.baseline_score - frame.score)


def test_search_over_late_fusion(data):
    """A fitted search: modalities and kinds are found through
    best_estimator_; scoring by name."""
    X_train, y_train, X_test, y_test = data
    search = GridSearchCV(_late(), {"method": ["soft", "hard"]}, cv=2).fit(
        X_train, y_train
    )
    result = modality_robustness(
        search, X_test, y_test, levels=[0.0, 0.3], scoring="accuracy", random_state=0
    )
    assert result.kinds == ["image", "audio", "text"]
    assert result.baseline_score == accuracy_score(y_test, search.predict(X_test))
    np.testing.assert_allclose(result.corrupted_scores[:, 0], result.baseline_score)


def test_object_array_and_explicit_modalities(data, late):
    _, _, X_test, y_test = data
    X = X_test.to_numpy(dtype=object)
    model = LateFusionClassifier(
        [
            (name, _unimodal(name, ext), i)
            for i, (name, ext) in enumerate(_extractors().items())
        ]
    ).fit(_cells(0)[0].to_numpy(dtype=object), _cells(0)[1])
    result = modality_robustness(model, X, y_test, levels=[0.2], random_state=0)
    X_hand = X.copy()
    X_hand[:, 1] = None
    assert result.removed_scores[1] == model.score(X_hand, y_test)
    # explicit modalities and kinds work for an estimator without specs
    only_text = modality_robustness(
        model, X, y_test, modalities={"words": 2}, kinds={"words": "text"}
    )
    assert only_text.modalities == ["words"] and only_text.kinds == ["text"]


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"levels": []}, ValueError, "levels must be a non-empty"),
        ({"levels": [-0.1]}, ValueError, "levels must be"),
        ({"kinds": {"image": "video"}}, ValueError, r"kinds\['image'\] must be one"),
        ({"kinds": {"nope": "text"}}, ValueError, "not modalities"),
        ({"modalities": {}}, ValueError, "non-empty dict"),
    ],
)
def test_errors(data, late, kwargs, error, match):
    _, _, X_test, y_test = data
    with pytest.raises(error, match=match):
        modality_robustness(late, X_test, y_test, **kwargs)


def test_errors_unfitted_bad_cells_and_shapes(data, late):
    X_train, y_train, X_test, y_test = data
    with pytest.raises(NotFittedError):
        modality_robustness(_late(), X_test, y_test)
    with pytest.raises(ValueError, match="X has 60 samples but y has 59"):
        modality_robustness(late, X_test, y_test[:-1])
    bad = X_test.astype(object)
    bad.loc[7, "text"] = 3.5
    with pytest.raises(TypeError, match=r"sample 7 \(object of type float\)"):
        modality_robustness(late, bad, y_test, kinds={"image": None, "audio": None})
    with pytest.raises(TypeError, match=r"sample 2 \(3 bytes\): a text cell must"):
        _word_dropout(b"abc", 2, 0.5, np.random.default_rng(0), None)
    with pytest.raises(ValueError, match="Cannot find the modality columns"):
        modality_robustness(LogisticRegression().fit([[0], [1]], [0, 1]), [[0]], [0])


def test_block_of_columns_is_removed_not_corrupted():
    rng = np.random.RandomState(0)
    y = np.repeat([0, 1], 30)
    X = np.c_[y[:, None] + rng.normal(0, 0.3, (60, 2)), rng.normal(size=(60, 1))]
    model = make_pipeline(SimpleImputer(), LogisticRegression()).fit(X, y)
    result = modality_robustness(model, X, y, modalities={"signal": [0, 1], "noise": 2})
    assert result.kinds == [None, None]
    assert np.isnan(result.corrupted_scores).all()
    with pytest.raises(ValueError, match="block of 2 columns"):
        modality_robustness(
            model, X, y, modalities={"signal": [0, 1]}, kinds={"signal": "audio"}
        )


def test_plot_one_result_and_several(data, late):
    _, _, X_test, y_test = data
    result = modality_robustness(late, X_test, y_test, levels=[0.2, 0.6])
    axes = plot_modality_robustness(result, title="late")
    assert len(axes) == 3
    line = axes[2].get_lines()[0]
    np.testing.assert_allclose(
        line.get_ydata(), [result.baseline_score, *result.corrupted_scores[2]]
    )
    assert [t.get_text() for t in axes[0].get_xticklabels()] == [
        "clean",
        "0.2",
        "0.6",
        "removed",
    ]
    assert axes[0].figure._suptitle.get_text() == "late"
    axes = plot_modality_robustness({"a": result, "b": result})
    assert [t.get_text() for t in axes[0].get_legend().get_texts()] == ["a", "b"]
    other = modality_robustness(late, X_test, y_test, levels=[0.2])
    with pytest.raises(ValueError, match="Compare results computed alike"):
        plot_modality_robustness({"a": result, "b": other})
    with pytest.raises(TypeError, match="not a modality_robustness result"):
        plot_modality_robustness({"a": {"score": 1}})
    with pytest.raises(ValueError, match="one per modality"):
        plot_modality_robustness(result, axes=[axes[0]])


def test_modalities_sharing_a_column_break_together(data):
    """Word and character n-grams of one text column: one entry "word+char";
    a "drop" modality is left out."""
    X_train, y_train, X_test, y_test = data
    model = LateFusionClassifier(
        [
            ("word", _unimodal("text", TextFeatureExtractor()), "text"),
            (
                "char",
                _unimodal("text", TextFeatureExtractor(analyzer="char_wb")),
                "text",
            ),
            ("image", "drop", "image"),
            ("audio", _unimodal("audio", _extractors()["audio"]), "audio"),
        ]
    ).fit(X_train, y_train)
    result = modality_robustness(model, X_test, y_test, levels=[1.0], random_state=0)
    assert result.modalities == ["word+char", "audio"]
    assert result.kinds == ["text", "audio"]
    X_empty = X_test.assign(text="")
    assert result.corrupted_scores[0, 0] == model.score(X_empty, y_test)
    assert result.removed_scores[0] == model.score(
        _removed_by_hand(X_test, "text"), y_test
    )


@pytest.mark.parametrize("family", ["early", "neural"])
def test_early_and_neural_fusion_removed_and_corrupted(data, family):
    """A FusionTransformer pipeline (missing="zero") and a neural model with
    trainable branches: removal equals scoring missing cells by hand, noise
    of level 0 equals the clean score."""
    X_train, y_train, X_test, y_test = data
    if family == "early":
        model = _early(missing="zero")
    else:
        model = NeuralFusionClassifier(
            [
                ("image", "cnn", "image"),
                ("audio", "mel_cnn", "audio"),
                ("text", "rnn", "text"),
            ],
            mel_sr=SR,
            mel_input_sr=SR,
            cnn_filters=4,
            mel_filters=4,
            rnn_units=4,
            hidden_units=(8,),
            projection_units=8,
            epochs=4,
            learning_rate=0.02,
            early_stopping=False,
            random_state=0,
        )
    model.fit(X_train, y_train)
    result = modality_robustness(
        model, X_test, y_test, levels=[0.0, 0.5], random_state=0
    )
    assert result.modalities == ["image", "audio", "text"]
    assert result.kinds == ["image", "audio", "text"]
    for m, name in enumerate(result.modalities):
        hand = model.score(_removed_by_hand(X_test, name), y_test)
        assert result.removed_scores[m] == hand
    assert_allclose(result.corrupted_scores[:, 0], result.baseline_score)
