"""Tests for AudioFeatureExtractor and its batched DSP
(sklearn_mbm._extractors._audio_features)."""

import pickle
import warnings
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
import pytest
import scipy.signal
import soundfile
from _sklearn_checks import (
    parametrize_data_free_checks,
    parametrize_extractor_checks,
    run_data_free_check,
    run_sklearn_check,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

import sklearn_mbm.audio as audio_module
from sklearn_mbm import AudioFeatureExtractor
from sklearn_mbm._extractors._audio_features import (
    frame_features,
    segment_delta,
    time_segments,
)
from sklearn_mbm._io import CellLoadWarning

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
if not FSDD.is_dir():
    pytest.skip(f"FSDD recordings not found at {FSDD}", allow_module_level=True)

# A handful of real clips: several digits and speakers, 0.2 s to 0.8 s.
NAMES = [
    "0_jackson_0.wav",
    "1_nicolas_3.wav",
    "3_theo_7.wav",
    "5_yweweler_12.wav",
    "7_george_20.wav",
    "9_lucas_41.wav",
]
FILES = [str(FSDD / name) for name in NAMES]
SR = 16000
N_FFT, HOP = 400, 160  # the defaults: 25 ms and 10 ms at 16 kHz
ALL_STATS = ("mean", "std", "min", "max", "median")


@pytest.fixture(scope="module")
def clips():
    """The FSDD clips resampled to 16 kHz, as librosa users would load them."""
    out = []
    for path in FILES:
        waveform, rate = soundfile.read(path, dtype="float64")
        out.append(librosa.resample(waveform, orig_sr=rate, target_sr=SR))
    return out


# --------------------------------------------------------------------------
# librosa reference, one clip at a time
# --------------------------------------------------------------------------


def librosa_frames(y, sr=SR, n_fft=N_FFT, hop=HOP, n_mfcc=20, n_mels=40):
    """Frame-level features of one clip with librosa.feature.* (rows: frames)."""
    kw = {"n_fft": n_fft, "hop_length": hop, "win_length": n_fft}
    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=n_mfcc, n_mels=n_mels, **kw)
    logmel = librosa.power_to_db(
        librosa.feature.melspectrogram(y=y, sr=sr, n_mels=n_mels, **kw)
    )
    spectral = np.vstack(
        [
            librosa.feature.spectral_centroid(y=y, sr=sr, **kw),
            librosa.feature.spectral_bandwidth(y=y, sr=sr, **kw),
            librosa.feature.spectral_rolloff(y=y, sr=sr, **kw),
            librosa.feature.spectral_flatness(y=y, **kw),
            librosa.feature.zero_crossing_rate(y, frame_length=n_fft, hop_length=hop),
            librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop),
        ]
    )
    frames = {"mfcc": mfcc.T, "spectral": spectral.T, "logmel": logmel.T}
    if mfcc.shape[1] >= 9:  # librosa's delta needs width=9 frames
        frames["delta"] = librosa.feature.delta(mfcc).T
        frames["delta2"] = librosa.feature.delta(mfcc, order=2).T
    return frames


def pooled(frames, stats):
    funcs = {
        "mean": np.mean,
        "std": np.std,
        "min": np.min,
        "max": np.max,
        "median": np.median,
    }
    return np.concatenate([funcs[stat](frames, axis=0) for stat in stats])


# --------------------------------------------------------------------------
# equality with librosa, per feature family
# --------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["mfcc", "delta", "delta2", "spectral", "logmel"])
def test_pooled_features_match_librosa(clips, family):
    extractor = AudioFeatureExtractor(features=(family,), stats=ALL_STATS, n_segments=1)
    ours = np.asarray(extractor.fit_transform(FILES))
    expected = np.array([pooled(librosa_frames(y)[family], ALL_STATS) for y in clips])
    assert ours.dtype == np.float32 and ours.shape == expected.shape
    # float32 output: 1e-4 relative is far above its rounding (6e-8)
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("sr", [8000, 22050])
def test_other_rates_match_librosa(sr):
    """Other frame sizes: 200/80 samples at 8 kHz; 551/220 at 22.05 kHz (odd
    n_fft, and frame sizes with no common block: the ZCR's fallback path)."""
    extractor = AudioFeatureExtractor(
        sr=sr,
        n_mels=32,
        features=("mfcc", "delta", "spectral"),
        stats=ALL_STATS,
        n_segments=1,
    )
    ours = extractor.fit_transform(FILES[:3])
    n_fft, hop = extractor.n_fft_, extractor.hop_length_
    expected = []
    for path in FILES[:3]:
        y, rate = soundfile.read(path, dtype="float64")
        y = librosa.resample(y, orig_sr=rate, target_sr=sr)
        frames = librosa_frames(y, sr=sr, n_fft=n_fft, hop=hop, n_mels=32)
        expected.append(
            np.concatenate(
                [pooled(frames[f], ALL_STATS) for f in ("mfcc", "delta", "spectral")]
            )
        )
    np.testing.assert_allclose(ours, np.array(expected), rtol=1e-4, atol=1e-7)


def test_frame_features_match_librosa_exactly(clips):
    """Frame-level features equal librosa's to float64 rounding, per clip."""
    rng = np.random.default_rng(0)
    batch = [
        *clips,
        rng.uniform(-0.5, 0.5, size=1500),  # 10 frames
        np.zeros(4000),  # silence
        *clips[:2],  # repeated: batches are order- and neighbour-free
    ]
    blocks, n_frames = frame_features(
        batch,
        sr=SR,
        n_fft=N_FFT,
        hop_length=HOP,
        window=librosa.filters.get_window("hann", N_FFT, fftbins=True),
        mel_basis=librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=40),
        n_mfcc=20,
        families=["mfcc", "delta", "delta2", "spectral", "logmel"],
    )
    start = 0
    for y, count in zip(batch, n_frames):
        expected = librosa_frames(y)
        for family, values in expected.items():
            ours = blocks[family][start : start + count]
            assert ours.shape == values.shape
            scale = np.abs(values).max(axis=0)
            # rms is computed in float32 by librosa; the rest in float64
            tol = 1e-6 if family == "spectral" else 1e-9
            # (+1e-12: the deltas of silence are rounding noise, ~1e-14)
            assert np.all(np.abs(ours - values) <= tol * scale + 1e-12), family
        start += count


def test_top_db_floor_is_per_clip(clips):
    """A loud neighbour in the batch must not raise a quiet clip's dB floor."""
    quiet = clips[0] * 1e-4
    loud = clips[1]
    extractor = AudioFeatureExtractor(
        input_sr=SR, features=("logmel",), stats=("min",), n_segments=1
    )
    alone = np.asarray(extractor.fit_transform([quiet]))
    together = np.asarray(extractor.transform([loud, quiet, loud]))
    np.testing.assert_array_equal(together[1], alone[0])
    expected = pooled(librosa_frames(quiet)["logmel"], ("min",))
    np.testing.assert_allclose(alone[0], expected, rtol=1e-5)


def test_frame_batches_do_not_change_results(monkeypatch):
    extractor = AudioFeatureExtractor(
        features=("mfcc", "delta", "spectral"), stats=ALL_STATS
    )
    reference = extractor.fit_transform(FILES)
    monkeypatch.setattr(audio_module, "_FRAME_BATCH", 60)  # ~ one clip per batch
    monkeypatch.setattr(audio_module, "_CLIPS_PER_BATCH", 4)
    np.testing.assert_array_equal(extractor.transform(FILES), reference)


def test_n_jobs_threads_give_same_result():
    one = AudioFeatureExtractor(n_jobs=1).fit_transform(FILES)
    two = AudioFeatureExtractor(n_jobs=2).fit_transform(FILES)
    np.testing.assert_array_equal(one, two)


# --------------------------------------------------------------------------
# every kind of cell gives the same features for the same clip
# --------------------------------------------------------------------------


def test_all_cell_kinds_agree(tmp_path):
    path = FILES[2]
    waveform, rate = soundfile.read(path, dtype="float64")
    pcm, _ = soundfile.read(path, dtype="int16")
    stereo_path = tmp_path / "stereo.wav"
    soundfile.write(stereo_path, np.column_stack([waveform, waveform]), rate)
    cells = [
        path,
        Path(path),
        Path(path).read_bytes(),
        waveform,
        (waveform, rate),
        pcm,
        np.vstack([waveform, waveform]),  # (channels, n)
        np.column_stack([waveform, waveform]),  # (n, channels)
        str(stereo_path),
    ]
    out = np.asarray(AudioFeatureExtractor(input_sr=rate).fit_transform(cells))
    assert np.isfinite(out).all()
    for row in out[1:]:
        np.testing.assert_array_equal(row, out[0])


def test_input_containers():
    extractor = AudioFeatureExtractor().fit(FILES)
    reference = extractor.transform(FILES)
    series = pd.Series(FILES, index=[f"id{i}" for i in range(len(FILES))])
    for X in (
        series,
        series.to_frame("audio"),
        np.array(FILES, dtype=object),
        np.array(FILES, dtype=object)[:, None],
        tuple(FILES),
    ):
        np.testing.assert_array_equal(extractor.transform(X), reference)


def test_numeric_stack_of_waveforms():
    rng = np.random.default_rng(2)
    stack = rng.uniform(-0.3, 0.3, size=(3, 2000))  # rows are clips
    extractor = AudioFeatureExtractor(input_sr=SR)
    np.testing.assert_array_equal(
        extractor.fit_transform(stack), extractor.transform(list(stack))
    )


def test_set_output_pandas():
    series = pd.Series(FILES[:3], index=[10, 20, 30])
    extractor = AudioFeatureExtractor().set_output(transform="pandas")
    frame = extractor.fit_transform(series)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.index) == [10, 20, 30]
    assert list(frame.columns) == list(extractor.get_feature_names_out())


# --------------------------------------------------------------------------
# statistics over time segments (n_segments)
# --------------------------------------------------------------------------


def reference_segments(n, k):
    """Per-clip reference of the documented segments: frame ranges of a clip
    of n frames; an empty one takes the frame whose time span contains it."""
    ranges = []
    for j in range(k):
        start, stop = (j * n) // k, ((j + 1) * n) // k
        if stop == start:
            stop = start + 1
        ranges.append((start, stop))
    return ranges


def segmented_reference(y, families, stats, k):
    """Whole-clip then per-segment statistics of librosa's frames, one clip."""
    frames = librosa_frames(y)
    values = np.hstack([frames[family] for family in families])
    columns = np.cumsum([0] + [frames[family].shape[1] for family in families])

    def block(part):
        return np.concatenate(
            [
                pooled(part[:, columns[i] : columns[i + 1]], stats)
                for i in range(len(families))
            ]
        )

    parts = [block(values)]
    for start, stop in reference_segments(len(values), k):
        parts.append(block(values[start:stop]))
    return np.concatenate(parts)


@pytest.mark.parametrize("n_segments", [2, 3, 5])
def test_segment_statistics_match_a_per_clip_librosa_loop(clips, n_segments):
    families = ("mfcc", "delta", "spectral")
    extractor = AudioFeatureExtractor(
        features=families, stats=ALL_STATS, n_segments=n_segments
    )
    ours = extractor.fit_transform(FILES)
    expected = np.array(
        [segmented_reference(y, families, ALL_STATS, n_segments) for y in clips]
    )
    assert ours.shape == expected.shape == (len(FILES), 230 * (1 + n_segments))
    np.testing.assert_allclose(ours, expected, rtol=1e-4, atol=1e-5)


def test_one_segment_is_the_whole_clip_and_a_prefix(clips):
    plain = np.asarray(AudioFeatureExtractor(n_segments=1).fit_transform(FILES))
    segmented = np.asarray(AudioFeatureExtractor(n_segments=3).fit_transform(FILES))
    # the default is 3 segments
    np.testing.assert_array_equal(
        AudioFeatureExtractor().fit_transform(FILES), segmented
    )
    # the whole-clip block is unchanged by segmenting
    np.testing.assert_array_equal(segmented[:, : plain.shape[1]], plain)


def test_segment_feature_names():
    extractor = AudioFeatureExtractor(n_segments=3).fit(FILES)
    names = list(extractor.get_feature_names_out())
    plain = AudioFeatureExtractor(n_segments=1).fit(FILES).get_feature_names_out()
    plain = list(plain)
    assert len(names) == extractor.n_features_out_ == 4 * 92
    assert names[:92] == plain
    assert names[92:184] == [f"{name}_seg1" for name in plain]
    assert names[184] == "mfcc0_mean_seg2" and names[-1] == "rms_std_seg3"
    assert len(set(names)) == len(names)
    out = extractor.set_output(transform="pandas").transform(FILES[:2])
    assert list(out.columns) == names


def test_segments_follow_time(clips):
    """A clip and its time reversal swap their first and last segments."""
    clip = clips[0]
    extractor = AudioFeatureExtractor(
        input_sr=SR, features=("mfcc",), stats=("mean",), n_segments=3
    )
    forward, backward = np.asarray(extractor.fit_transform([clip, clip[::-1].copy()]))
    first, last = slice(20, 40), slice(60, 80)  # mean MFCCs of seg1, seg3

    def distance(a, b):
        return np.linalg.norm(a - b)

    # frames of the reversed clip fall a few samples apart, so not equal, but
    # seg1 forward is close to seg3 backward and far from seg1 backward
    assert distance(forward[first], backward[last]) < 0.2 * distance(
        forward[first], backward[first]
    )
    assert distance(forward[last], backward[first]) < 0.2 * distance(
        forward[last], backward[last]
    )
    # the whole-clip means are the same either way
    np.testing.assert_allclose(forward[:20], backward[:20], rtol=0.05, atol=0.5)


@pytest.mark.parametrize("n_frames", [1, 2, 3, 4, 7, 10])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_time_segments_rows(n_frames, k):
    lengths = np.array([n_frames, 12, 1])
    rows, counts = time_segments(lengths, k)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    expected = [
        offsets[c] + np.arange(start, stop)
        for c, n in enumerate(lengths)
        for start, stop in reference_segments(n, k)
    ]
    assert counts.tolist() == [len(e) for e in expected]
    assert (counts >= 1).all()
    got = np.arange(lengths.sum()) if rows is None else rows
    np.testing.assert_array_equal(got, np.concatenate(expected))


@pytest.mark.parametrize("n_samples", [1, 160, 320, 480, 800])
def test_short_clips_with_fewer_frames_than_segments(n_samples):
    """1 to 6 frames over 5 segments: finite; an empty segment repeats the
    frame that spans it (std 0)."""
    rng = np.random.default_rng(n_samples)
    clip = rng.uniform(-0.5, 0.5, size=n_samples)
    extractor = AudioFeatureExtractor(
        input_sr=SR,
        features=("mfcc", "delta", "delta2", "spectral", "logmel"),
        stats=ALL_STATS,
        n_segments=5,
    )
    out = np.asarray(extractor.fit_transform([clip, np.zeros(n_samples)]))
    assert np.isfinite(out).all()
    one = AudioFeatureExtractor(
        input_sr=SR, features=("mfcc",), stats=("mean", "std"), n_segments=5
    )
    row = np.asarray(one.fit_transform([clip]))[0].reshape(
        6, 2, 20
    )  # block, stat, coef
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        mfcc = librosa_frames(clip)["mfcc"]
    for j, (start, stop) in enumerate(reference_segments(len(mfcc), 5)):
        np.testing.assert_allclose(
            row[1 + j, 0], mfcc[start:stop].mean(axis=0), rtol=1e-4, atol=1e-4
        )
        if stop - start == 1:
            assert np.all(row[1 + j, 1] == 0.0)


def test_invalid_n_segments():
    for value in (0, 1.5, "3"):
        with pytest.raises(InvalidParameterError, match="'n_segments' parameter"):
            AudioFeatureExtractor(n_segments=value).fit(FILES)


# --------------------------------------------------------------------------
# short clips, silence, deltas of few frames
# --------------------------------------------------------------------------


@pytest.mark.parametrize("n_samples", [1, 2, 10, 399, 400, 1000, 1500])
def test_short_clips_give_finite_features(n_samples):
    rng = np.random.default_rng(n_samples)
    clip = rng.uniform(-0.5, 0.5, size=n_samples)
    extractor = AudioFeatureExtractor(
        input_sr=SR,
        features=("mfcc", "delta", "delta2", "spectral", "logmel"),
        stats=ALL_STATS,
        n_segments=1,
    )
    out = np.asarray(extractor.fit_transform([clip, np.zeros(n_samples)]))
    assert np.isfinite(out).all()
    # the mfcc and spectral frames still equal librosa's (librosa warns that
    # n_fft exceeds the clip; its frames are the same zero-padded ones)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = librosa_frames(clip)
    for family in ("mfcc", "spectral", "logmel"):
        ours = np.asarray(
            extractor.set_params(features=(family,)).fit_transform([clip])
        )[0]
        np.testing.assert_allclose(
            ours, pooled(expected[family], ALL_STATS), rtol=1e-4, atol=1e-6
        )


def test_silence():
    names = (
        AudioFeatureExtractor(input_sr=SR, features=("spectral",))
        .fit([0])
        .get_feature_names_out()
    )
    out = AudioFeatureExtractor(input_sr=SR, features=("spectral", "mfcc", "delta"))
    features = np.asarray(out.fit_transform([np.zeros(8000)]))[0]
    assert np.isfinite(features).all()
    spectral = dict(zip(names, features[: len(names)]))  # first family
    # as librosa: 0 Hz centroid, bandwidth and roll-off, flatness 1, rms 0
    for name in ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff"):
        assert spectral[f"{name}_mean"] == 0.0
    assert spectral["spectral_flatness_mean"] == 1.0
    assert spectral["rms_mean"] == 0.0
    assert spectral["zero_crossing_rate_mean"] == 0.0


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("n_frames", [1, 2, 3, 4, 7, 8, 9, 10, 30])
def test_segment_delta(order, n_frames):
    """Long clips: librosa.feature.delta. Short: savgol with the widest odd width."""
    rng = np.random.default_rng(n_frames)
    lengths = np.array([12, n_frames, 9, n_frames])
    values = rng.normal(size=(lengths.sum(), 3))
    out = segment_delta(values, lengths, order=order)
    start = 0
    for length in lengths:
        segment = values[start : start + length]
        if length >= 9:
            expected = librosa.feature.delta(segment, order=order, axis=0)
        else:
            width = length if length % 2 else length - 1
            if width <= order:
                expected = np.zeros_like(segment)
            else:
                expected = scipy.signal.savgol_filter(
                    segment, width, order, deriv=order, axis=0, mode="interp"
                )
        np.testing.assert_allclose(out[start : start + length], expected, atol=1e-12)
        start += length


# --------------------------------------------------------------------------
# bad cells
# --------------------------------------------------------------------------


def test_bad_cell_raises_with_index_and_path(tmp_path):
    missing = tmp_path / "gone.wav"
    with pytest.raises(FileNotFoundError, match=r"sample 2 \(path '.*gone\.wav'\)"):
        AudioFeatureExtractor().fit_transform([FILES[0], FILES[1], str(missing)])
    with pytest.raises(ValueError, match=r"sample 1 is missing"):
        AudioFeatureExtractor().fit_transform([FILES[0], None])
    with pytest.raises(ValueError, match=r"sample 0 .*input_sr"):
        AudioFeatureExtractor().fit_transform([np.zeros(100)])
    # threads report the first bad sample too
    text = tmp_path / "text.wav"
    text.write_text("not audio" * 100)
    with pytest.raises(ValueError, match=r"sample 3 \(path '.*text\.wav'\)"):
        AudioFeatureExtractor(n_jobs=2).fit_transform([*FILES[:3], str(text)])


def test_on_error_warn_gives_nan_rows(tmp_path):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(Path(FILES[0]).read_bytes()[:2000])
    cells = [FILES[0], None, str(cut), FILES[1], float("nan"), np.array([np.nan])]
    extractor = AudioFeatureExtractor(on_error="warn", input_sr=SR)
    with pytest.warns(CellLoadWarning) as record:
        out = np.asarray(extractor.fit_transform(cells))
    messages = [str(w.message) for w in record if w.category is CellLoadWarning]
    assert len(messages) == 4
    assert messages[0].startswith("sample 1 is missing")
    assert "sample 2 (path" in messages[1] and "truncated" in messages[1]
    assert messages[2].startswith("sample 4 is missing")
    assert messages[3].startswith("sample 5 (array") and "NaN" in messages[3]
    assert out.shape == (6, extractor.n_features_out_)
    assert np.isnan(out[[1, 2, 4, 5]]).all()
    assert np.isfinite(out[[0, 3]]).all()
    np.testing.assert_array_equal(
        out[[0, 3]], AudioFeatureExtractor().fit_transform(FILES[:2])
    )


# --------------------------------------------------------------------------
# parameters, names, tags, progress
# --------------------------------------------------------------------------


def test_default_feature_names():
    # the default output is the 92 whole-clip features, then 3 segments of them
    extractor = AudioFeatureExtractor().fit(FILES)
    assert extractor.n_features_out_ == 4 * 92
    assert extractor.get_feature_names_out()[-1] == "rms_std_seg3"
    extractor = AudioFeatureExtractor(n_segments=1).fit(FILES)
    names = list(extractor.get_feature_names_out())
    assert len(names) == extractor.n_features_out_ == 2 * (20 + 20 + 6) == 92
    assert names[:2] == ["mfcc0_mean", "mfcc1_mean"]
    assert names[20] == "mfcc0_std"
    assert "mfcc3_mean" in names and "delta_mfcc3_std" in names
    assert names[80:86] == [
        "spectral_centroid_mean",
        "spectral_bandwidth_mean",
        "spectral_rolloff_mean",
        "spectral_flatness_mean",
        "zero_crossing_rate_mean",
        "rms_mean",
    ]
    assert len(set(names)) == len(names)
    assert extractor.n_fft_ == 400 and extractor.hop_length_ == 160


def test_feature_names_other_settings():
    extractor = AudioFeatureExtractor(
        n_mfcc=5, n_mels=8, features=["logmel", "delta2"], stats="max", n_segments=1
    ).fit(FILES)
    names = list(extractor.get_feature_names_out())
    assert names == [f"logmel{i}_max" for i in range(8)] + [
        f"delta2_mfcc{i}_max" for i in range(5)
    ]
    assert extractor.transform(FILES[:2]).shape == (2, 13)


def test_frame_sizes_follow_sr():
    extractor = AudioFeatureExtractor(sr=8000, n_mels=26).fit(FILES)
    assert (extractor.n_fft_, extractor.hop_length_) == (200, 80)
    out = np.asarray(extractor.transform(FILES[:2]))
    assert np.isfinite(out).all()


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"n_mfcc": 50}, ValueError, r"n_mfcc=50 cannot exceed n_mels=40"),
        ({"features": ("mfcc", "chroma")}, ValueError, r"unknown entries \['chroma'\]"),
        ({"features": ()}, ValueError, r"at least one"),
        ({"stats": ("mean", "mean")}, ValueError, r"\['mean'\] more than once"),
        ({"stats": ("mode",)}, ValueError, r"unknown entries"),
        ({"frame_length": 1e-5}, ValueError, r"frame needs at least 2"),
        ({"frame_step": 1e-6}, ValueError, r"at least one sample"),
        ({"sr": 0}, InvalidParameterError, r"'sr' parameter"),
        ({"on_error": "ignore"}, InvalidParameterError, r"'on_error' parameter"),
        ({"input_sr": -1}, InvalidParameterError, r"'input_sr' parameter"),
        ({"features": "mfccs"}, InvalidParameterError, r"'features' parameter"),
    ],
)
def test_invalid_params(params, error, message):
    with pytest.raises(error, match=message):
        AudioFeatureExtractor(**params).fit(FILES)


def test_n_mfcc_may_exceed_n_mels_without_mfcc_features():
    extractor = AudioFeatureExtractor(n_mfcc=50, n_mels=10, features=("spectral",))
    assert extractor.fit_transform(FILES[:1]).shape == (1, 4 * 12)


def test_empty_input():
    with pytest.raises(ValueError, match="0 samples"):
        AudioFeatureExtractor().fit([])


def test_verbose_progress(capsys):
    AudioFeatureExtractor(verbose=True).fit_transform(FILES)
    assert "AudioFeatureExtractor" in capsys.readouterr().err
    AudioFeatureExtractor().fit_transform(FILES)
    assert capsys.readouterr().err == ""


def test_tags():
    tags = AudioFeatureExtractor().__sklearn_tags__()
    assert tags.input_tags.two_d_array is False
    assert tags.input_tags.one_d_array is True
    assert tags.input_tags.string is True
    assert tags.requires_fit is True


# --------------------------------------------------------------------------
# scikit-learn's checks and our contract on real cells
# --------------------------------------------------------------------------


@parametrize_extractor_checks(
    [AudioFeatureExtractor(), AudioFeatureExtractor(features="logmel", stats="median")]
)
def test_sklearn_compatible_audio(estimator, check):
    run_sklearn_check(check, estimator)


@parametrize_data_free_checks([AudioFeatureExtractor()])
def test_data_free_checks(estimator, check):
    run_data_free_check(check, estimator)


def test_contract_on_real_cells():
    extractor = AudioFeatureExtractor(stats=ALL_STATS)
    assert extractor.fit(FILES) is extractor
    out = np.asarray(extractor.transform(FILES))
    assert out.shape == (len(FILES), extractor.n_features_out_)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    # fit is idempotent; fit_transform equals fit then transform
    np.testing.assert_array_equal(extractor.fit(FILES).transform(FILES), out)
    np.testing.assert_array_equal(clone(extractor).fit_transform(FILES), out)
    # order invariance: permuted clips give permuted rows
    order = np.random.default_rng(0).permutation(len(FILES))
    np.testing.assert_array_equal(
        extractor.transform([FILES[i] for i in order]), out[order]
    )
    # pickle round trip
    restored = pickle.loads(pickle.dumps(extractor))
    np.testing.assert_array_equal(restored.transform(FILES), out)
    np.testing.assert_array_equal(
        restored.get_feature_names_out(), extractor.get_feature_names_out()
    )
    # clone: same params, unfitted
    copy = clone(extractor)
    assert copy.get_params() == extractor.get_params()
    with pytest.raises(NotFittedError):
        copy.transform(FILES)


def test_in_a_pipeline_and_grid_search():
    files = sorted(FSDD.glob("[01]_*_[0-3].wav"))  # 2 digits x 6 speakers x 4
    X = pd.Series([str(f) for f in files], name="audio")
    y = np.array([f.name[0] for f in files])
    pipe = make_pipeline(
        AudioFeatureExtractor(features=("mfcc",)),
        StandardScaler(),
        LogisticRegression(max_iter=500),
    )
    search = GridSearchCV(
        pipe, {"audiofeatureextractor__stats": [("mean",), ("mean", "std")]}, cv=2
    )
    search.fit(X, y)
    assert search.best_score_ > 0.7  # "zero" and "one" are easy to tell apart


@settings(max_examples=25, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 2500), min_size=1, max_size=6),
    scales=st.lists(
        st.sampled_from([0.0, 1e-6, 1e-3, 1.0, 300.0]), min_size=6, max_size=6
    ),
    seed=st.integers(0, 2**16),
    n_segments=st.integers(1, 4),
)
def test_batch_rows_equal_single_clips(lengths, scales, seed, n_segments):
    """Property: a clip's row does not depend on its neighbours in the batch."""
    rng = np.random.default_rng(seed)
    clips = [rng.standard_normal(n) * scale for n, scale in zip(lengths, scales)]
    extractor = AudioFeatureExtractor(
        input_sr=SR,
        features=("mfcc", "delta", "delta2", "spectral", "logmel"),
        stats=ALL_STATS,
        n_segments=n_segments,
    )
    together = np.asarray(extractor.fit_transform(clips))
    assert np.isfinite(together).all()
    # bit for bit: a cached FusionTransformer reuses rows across folds
    # (_row_cache, AudioFeatureExtractor._rows_are_independent)
    assert extractor._rows_are_independent()
    for row, clip in zip(together, clips):
        np.testing.assert_array_equal(row, np.asarray(extractor.transform([clip]))[0])
    backwards = np.asarray(extractor.transform(clips[::-1]))
    np.testing.assert_array_equal(backwards, together[::-1])


@pytest.mark.parametrize("frame", [False, True])
def test_bad_cell_messages_name_the_index_label(tmp_path, frame):
    # X.loc[label] must find the row a message names (issue 14, point 8)
    gone = str(tmp_path / "gone.wav")
    cells = pd.Series([FILES[0], None, gone], index=["x", "y", "z"])
    X = cells.to_frame("audio") if frame else cells
    with pytest.raises(ValueError, match=r"sample 'y' \(position 1\) is missing"):
        AudioFeatureExtractor().fit_transform(X)
    with pytest.raises(
        FileNotFoundError, match=r"sample 'z' \(position 1\) \(path '.*gone\.wav'\)"
    ):
        AudioFeatureExtractor(n_jobs=2).fit_transform(X.iloc[[0, 2]])


def test_parameters_are_keyword_only():
    # as scikit-learn's estimators: AudioFeatureExtractor(*, sr=..., ...)
    with pytest.raises(TypeError, match="positional"):
        AudioFeatureExtractor(8000)
    assert AudioFeatureExtractor(sr=8000).sr == 8000
