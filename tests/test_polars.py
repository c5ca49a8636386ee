"""polars input and output: FusionTransformer, LateFusionClassifier,
NeuralFusionClassifier and modality_importance take a polars DataFrame (columns
selected by name) and give the same results as on the pandas frame."""

import numpy as np
import pandas as pd
import polars as pl
import pytest
from _probes import modules_loaded
from numpy.testing import assert_allclose
from scipy.io import wavfile
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    NeuralFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)
from sklearn_mbm.inspection import modality_importance


@pytest.fixture(scope="module")
def digits():
    """30 records of the bundled sample as a pandas frame (image arrays,
    waveform arrays, text), with the target and the sample rate."""
    bunch = load_av_digits()
    rows = np.arange(0, 600, 20)  # the sample is sorted by digit
    frame = bunch.data.iloc[rows].reset_index(drop=True)
    return (
        frame[["image", "audio", "text"]],
        np.asarray(bunch.target)[rows],
        bunch.audio_sr,
    )


def _as_lists(frame):
    """The frame as polars: images as nested lists, audio as lists of floats."""
    return pl.DataFrame(
        {
            "image": [cell.tolist() for cell in frame["image"]],
            "audio": [cell.astype(float).tolist() for cell in frame["audio"]],
            "text": list(frame["text"]),
        }
    )


def _fusion(sr):
    return FusionTransformer(
        [
            ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
            ("audio", AudioFeatureExtractor(sr=sr, input_sr=sr), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ]
    )


def test_fusion_transformer_polars_lists_equal_pandas(digits):
    frame, _, sr = digits
    expected = _fusion(sr).fit_transform(frame)
    fusion = _fusion(sr).fit(_as_lists(frame))
    assert_allclose(fusion.transform(_as_lists(frame)), expected, rtol=1e-5)
    assert list(fusion.feature_names_in_) == ["image", "audio", "text"]


def test_float32_list_and_array_columns_equal_pandas_exactly(digits):
    """A List(Float32) audio column and an Array(UInt8) image column, taken
    in one polars call (read-only arrays of the column's dtype), give the
    pandas frame's features bit for bit."""
    frame, _, sr = digits
    assert frame["audio"].iloc[0].dtype == np.float32
    X = pl.DataFrame(
        {
            "image": np.stack(list(frame["image"])),
            "audio": pl.Series(list(frame["audio"]), dtype=pl.List(pl.Float32)),
            "text": list(frame["text"]),
        }
    )
    np.testing.assert_array_equal(
        _fusion(sr).fit_transform(X), _fusion(sr).fit_transform(frame)
    )


def test_fusion_transformer_polars_object_and_paths_equal_pandas(digits, tmp_path):
    """Image cells as numpy arrays (an Object column), audio as file paths."""
    frame, _, sr = digits
    paths = []
    for i, wave in enumerate(frame["audio"]):
        paths.append(str(tmp_path / f"clip_{i}.wav"))
        wavfile.write(paths[-1], sr, np.asarray(wave, dtype=np.float32))
    by_path = frame.assign(audio=paths)
    X = pl.DataFrame(
        {
            "image": pl.Series(list(frame["image"]), dtype=pl.Object),
            "audio": paths,
            "text": list(frame["text"]),
        }
    )
    assert_allclose(
        _fusion(sr).fit_transform(X), _fusion(sr).fit_transform(by_path), rtol=1e-5
    )


def test_fusion_transformer_array_column(digits):
    """A fixed-shape Array column of images."""
    frame, _, _ = digits
    images = np.stack(list(frame["image"]))
    X = pl.DataFrame({"image": images, "text": list(frame["text"])})
    assert X.schema["image"].base_type() == pl.Array
    specs = [("image", ImageFeatureExtractor("pixels", input_size=8), "image")]
    assert_allclose(
        FusionTransformer(specs).fit_transform(X),
        FusionTransformer(specs).fit_transform(frame.assign(image=list(images))),
    )


def test_set_output_polars(digits):
    frame, _, sr = digits
    fusion = _fusion(sr).set_output(transform="polars").fit(_as_lists(frame))
    out = fusion.transform(_as_lists(frame))
    assert isinstance(out, pl.DataFrame)
    assert out.columns == list(fusion.get_feature_names_out())
    assert_allclose(out.to_numpy(), _fusion(sr).fit_transform(frame), rtol=1e-5)


def test_predict_time_columns_by_name(digits):
    """Reordered and extra columns are fine at transform time, as with pandas;
    a missing one names the column."""
    frame, _, sr = digits
    X = _as_lists(frame)
    fusion = _fusion(sr).fit(X)
    shuffled = X.select("text", "audio", "image").with_columns(extra=pl.lit(1))
    assert_allclose(fusion.transform(shuffled), fusion.transform(X))
    with pytest.raises(ValueError, match="lacks the columns \\['text'\\]"):
        fusion.transform(X.drop("text"))


def test_missing_cell_named(digits):
    frame, _, sr = digits
    X = _as_lists(frame).with_columns(
        text=pl.when(pl.int_range(pl.len()) == 3).then(None).otherwise(pl.col("text"))
    )
    with pytest.raises(ValueError, match="Row 3 has a missing value .* 'text'"):
        _fusion(sr).fit(X)


@pytest.mark.parametrize("bad", [None, float("nan")])
def test_null_or_nan_item_in_audio_list_named(digits, bad):
    """Issue 22.7: a null item inside a List(Float64) clip is refused as
    clearly as a NaN item: the sample, the position and what to do."""
    frame, _, sr = digits
    clip = frame["audio"][4].astype(float).tolist()
    clip[17] = bad
    audio = [cell.astype(float).tolist() for cell in frame["audio"]]
    audio[4] = clip
    X = pl.DataFrame({"audio": pl.Series(audio, dtype=pl.List(pl.Float64))})
    what = "null \\(None\\)" if bad is None else "NaN or infinite"
    with pytest.raises(
        ValueError,
        match=rf"sample 4 .*waveform has 1 {what} sample\(s\) out of {len(clip)}, "
        r"the first at position 17\. Fill them .*fill_null.* or drop the sample",
    ):
        AudioFeatureExtractor(sr=sr, input_sr=sr).fit_transform(X)


def _late(sr):
    return LateFusionClassifier(
        [
            (
                "image",
                make_pipeline(
                    ImageFeatureExtractor("pixels", input_size=8), LogisticRegression()
                ),
                "image",
            ),
            (
                "text",
                make_pipeline(TextFeatureExtractor(), LogisticRegression()),
                "text",
            ),
        ]
    )


def test_late_fusion_and_modality_importance_equal_pandas(digits):
    frame, y, sr = digits
    X = _as_lists(frame)
    on_pandas, on_polars = _late(sr).fit(frame, y), _late(sr).fit(X, y)
    assert_allclose(on_polars.predict_proba(X), on_pandas.predict_proba(frame))
    expected = modality_importance(on_pandas, frame, y, n_repeats=2, random_state=0)
    result = modality_importance(on_polars, X, y, n_repeats=2, random_state=0)
    assert_allclose(result.importances, expected.importances)
    assert list(result.modalities) == list(expected.modalities)


def test_neural_fusion_classifier_polars(digits):
    frame, y, sr = digits
    X = _as_lists(frame)
    clf = NeuralFusionClassifier(
        [
            (
                "image",
                ImageFeatureExtractor("pixels", input_size=8),
                "image",
            ),
            ("text", TextFeatureExtractor(), "text"),
        ],
        hidden_units=(8,),
        projection_units=8,
        epochs=2,
        random_state=0,
    ).fit(X, y)
    on_pandas = clone(clf).fit(frame, y)
    assert_allclose(clf.predict_proba(X), on_pandas.predict_proba(frame), atol=1e-5)
    proba = clf.predict_proba(X)
    assert proba.shape == (len(y), len(clf.classes_))
    assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)


def test_pandas_input_does_not_import_polars():
    code = (
        "import sys, numpy as np, pandas as pd; "
        "from sklearn_mbm import FusionTransformer; "
        "X = pd.DataFrame({'a': [1.0, 2.0], 'b': [3.0, 4.0]}); "
        "FusionTransformer([('a', 'passthrough', ['a', 'b'])]).fit_transform(X)"
    )
    assert modules_loaded(code, ("polars",)) == []


def test_numeric_block_by_name_and_index():
    X = pd.DataFrame({"a": [1.0, 2.0, 5.0], "b": [3.0, 4.0, 0.0], "c": [0.0, 1, 2]})
    for key in (["a", "b"], [0, 1]):
        fusion = FusionTransformer([("ab", "passthrough", key)])
        assert_allclose(
            fusion.fit_transform(pl.from_pandas(X)), fusion.fit_transform(X)
        )
