"""Tests for the audio cell loader, ``sklearn_mbm._io.load_audio_cell``."""

import io
import math
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sklearn_mbm._io import AUDIO_MAX_CHANNELS, load_audio_cell

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
needs_fsdd = pytest.mark.skipif(
    not FSDD.is_dir(), reason=f"FSDD recordings not found at {FSDD}"
)
CLIP = FSDD / "3_theo_7.wav"


def _read(path):
    waveform, rate = soundfile.read(path, dtype="float64")
    return waveform, rate


# --------------------------------------------------------------------------
# accepted cells
# --------------------------------------------------------------------------


@needs_fsdd
@pytest.mark.parametrize("as_path", [str, Path])
def test_file_path_native_rate(as_path):
    expected, rate = _read(CLIP)
    waveform = load_audio_cell(as_path(CLIP), 0, sr=rate)
    assert waveform.dtype == np.float64 and waveform.ndim == 1
    np.testing.assert_array_equal(waveform, expected)


@needs_fsdd
def test_file_resampled_like_librosa():
    librosa = pytest.importorskip("librosa")
    expected, rate = _read(CLIP)
    expected = librosa.resample(expected, orig_sr=rate, target_sr=16000)
    waveform = load_audio_cell(str(CLIP), 0, sr=16000)
    assert waveform.shape == expected.shape == (math.ceil(len(_read(CLIP)[0]) * 2),)
    np.testing.assert_allclose(waveform, expected, rtol=0, atol=1e-12)


@needs_fsdd
def test_bytes_equal_file():
    data = CLIP.read_bytes()
    from_file = load_audio_cell(str(CLIP), 0, sr=16000)
    for cell in (data, bytearray(data), memoryview(data)):
        np.testing.assert_array_equal(load_audio_cell(cell, 0, sr=16000), from_file)


def test_waveform_needs_input_sr():
    waveform = np.sin(np.linspace(0, 100, 800))
    with pytest.raises(ValueError, match=r"sample 4 .*input_sr"):
        load_audio_cell(waveform, 4, sr=8000)
    np.testing.assert_array_equal(
        load_audio_cell(waveform, 4, sr=8000, input_sr=8000), waveform
    )


def test_tuple_carries_its_rate():
    waveform = np.sin(np.linspace(0, 100, 800))
    # the tuple's own rate wins over input_sr
    out = load_audio_cell((waveform, 8000), 0, sr=8000, input_sr=123)
    np.testing.assert_array_equal(out, waveform)
    up = load_audio_cell((waveform, 4000), 0, sr=8000)
    assert up.shape == (1600,)
    # a list waveform and a numpy-int rate are fine inside a tuple
    out = load_audio_cell((waveform.tolist(), np.int64(8000)), 0, sr=8000)
    np.testing.assert_array_equal(out, waveform)


@pytest.mark.parametrize("layout", ["channels_last", "channels_first"])
def test_stereo_downmixed_by_mean(layout):
    rng = np.random.default_rng(0)
    stereo = rng.uniform(-1, 1, size=(2, 500))
    cell = stereo if layout == "channels_first" else stereo.T.copy()
    out = load_audio_cell(cell, 0, sr=8000, input_sr=8000)
    np.testing.assert_allclose(out, stereo.mean(axis=0))
    # a (1, n) or (n, 1) array is mono
    np.testing.assert_array_equal(
        load_audio_cell(stereo[:1], 0, sr=8000, input_sr=8000), stereo[0]
    )
    np.testing.assert_array_equal(
        load_audio_cell(stereo[:1].T, 0, sr=8000, input_sr=8000), stereo[0]
    )


def test_square_array_is_channels_first():
    cell = np.array([[1.0, 0.0], [0.0, 0.0]]) * 0.5
    # channels first: mean over rows -> [0.25, 0]
    np.testing.assert_array_equal(
        load_audio_cell(cell, 0, sr=8000, input_sr=8000), [0.25, 0.0]
    )


@needs_fsdd
def test_int_pcm_scaled_like_soundfile():
    as_float, _ = soundfile.read(CLIP, dtype="float64")
    as_int16, _ = soundfile.read(CLIP, dtype="int16")
    np.testing.assert_array_equal(
        load_audio_cell(as_int16, 0, sr=8000, input_sr=8000), as_float
    )
    as_int32, _ = soundfile.read(CLIP, dtype="int32")
    np.testing.assert_array_equal(
        load_audio_cell(as_int32, 0, sr=8000, input_sr=8000), as_float
    )


def test_int8_and_uint8_pcm():
    np.testing.assert_array_equal(
        load_audio_cell(np.array([-128, 0, 64], dtype=np.int8), 0, 8000, 8000),
        [-1.0, 0.0, 0.5],
    )
    # 8-bit WAV samples are unsigned with 128 as zero
    np.testing.assert_array_equal(
        load_audio_cell(np.array([0, 128, 192], dtype=np.uint8), 0, 8000, 8000),
        [-1.0, 0.0, 0.5],
    )


def test_float32_and_float16_waveforms():
    for dtype in (np.float32, np.float16):
        out = load_audio_cell(np.array([0.5, -0.25], dtype=dtype), 0, 8000, 8000)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, [0.5, -0.25])


def test_files_in_other_formats(tmp_path):
    rng = np.random.default_rng(1)
    stereo = rng.uniform(-0.5, 0.5, size=(4000, 2))
    flac = tmp_path / "clip.flac"
    soundfile.write(flac, stereo, 8000, subtype="PCM_24")
    out = load_audio_cell(flac, 0, sr=8000)
    expected = soundfile.read(flac)[0].mean(axis=1)
    np.testing.assert_allclose(out, expected)
    np.testing.assert_allclose(out, stereo.mean(axis=1), atol=1e-6)
    u8 = tmp_path / "clip_u8.wav"
    soundfile.write(u8, stereo[:, 0], 8000, subtype="PCM_U8")
    np.testing.assert_allclose(load_audio_cell(u8, 0, sr=8000), stereo[:, 0], atol=1e-2)


# Codecs libsndfile cannot seek in: soundfile's read() refuses them without a
# frame count, so the loader reads them in blocks.
UNSEEKABLE_CODECS = [
    ("WAV", "GSM610"),
    ("WAV", "G721_32"),
    ("WAV", "NMS_ADPCM_16"),
    ("WAV", "NMS_ADPCM_24"),
    ("WAV", "NMS_ADPCM_32"),
    ("AIFF", "GSM610"),
    ("W64", "GSM610"),
    ("AU", "G721_32"),
    ("AU", "G723_24"),
    ("AU", "G723_40"),
    ("XI", "DPCM_16"),
    ("XI", "DPCM_8"),
]


def _write_codec(path, fmt, subtype, n_frames=20000, rate=8000):
    assert subtype in soundfile.available_subtypes(fmt)  # this libsndfile has it
    t = np.arange(n_frames) / rate
    noise = np.random.default_rng(3).normal(0.0, 0.05, n_frames)
    waveform = 0.5 * np.sin(2 * np.pi * 440 * t) + noise
    soundfile.write(path, waveform, rate, format=fmt, subtype=subtype)


@pytest.mark.parametrize("fmt, subtype", UNSEEKABLE_CODECS)
def test_unseekable_codecs_read_like_soundfile(tmp_path, fmt, subtype):
    path = tmp_path / f"clip.{fmt.lower()}"
    _write_codec(path, fmt, subtype)
    with soundfile.SoundFile(path) as sound:
        assert not sound.seekable()  # the case soundfile's read() refuses
    expected, rate = soundfile.read(path, dtype="float64")
    # block codecs pad the last block (GSM 6.10: 320 frames)
    assert expected.ndim == 1 and 20000 <= len(expected) < 21000
    assert np.abs(expected).max() > 0.3
    np.testing.assert_array_equal(load_audio_cell(path, 0, sr=rate), expected)
    np.testing.assert_array_equal(
        load_audio_cell(path.read_bytes(), 0, sr=rate), expected
    )
    # resampled like any other file
    np.testing.assert_array_equal(
        load_audio_cell(path, 0, sr=16000), load_audio_cell((expected, rate), 0, 16000)
    )


def test_unseekable_codec_longer_than_one_read_block(tmp_path, monkeypatch):
    import sklearn_mbm._io.audio as io_module

    path = tmp_path / "clip.wav"
    _write_codec(path, "WAV", "GSM610")
    monkeypatch.setattr(io_module, "_AUDIO_UNSEEKABLE_BLOCK", 999)  # 21 blocks
    expected, rate = soundfile.read(path, dtype="float64")
    np.testing.assert_array_equal(load_audio_cell(path, 0, sr=rate), expected)


@pytest.mark.parametrize("subtype", ["GSM610", "NMS_ADPCM_24"])
def test_truncated_unseekable_wav(tmp_path, subtype):
    path = tmp_path / "clip.wav"
    _write_codec(path, "WAV", subtype)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(
        ValueError, match=r"sample 4 \(path '.*cut\.wav'\).*truncated WAV file"
    ):
        load_audio_cell(cut, 4, sr=8000)


def test_decoder_errors_say_who_refused(tmp_path):
    from sklearn_mbm._io.audio import _soundfile_refusal

    not_audio = tmp_path / "notes.wav"
    not_audio.write_text("this is text, not sound\n" * 50)
    with pytest.raises(
        ValueError,
        match=r"not a readable audio file \(libsndfile: Format not recognised\)",
    ):
        load_audio_cell(not_audio, 0, sr=8000)
    # a refusal of the Python wrapper is not blamed on libsndfile
    gsm = tmp_path / "clip.wav"
    _write_codec(gsm, "WAV", "GSM610")
    with soundfile.SoundFile(gsm) as sound, pytest.raises(ValueError) as info:
        sound.read()
    assert _soundfile_refusal(info.value) == (
        "the soundfile package: frames must be specified for non-seekable files"
    )


# --------------------------------------------------------------------------
# errors: each names the sample index, the path for files, and the problem
# --------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.wav"
    with pytest.raises(
        FileNotFoundError,
        match=rf"sample 3 \(path '{re.escape(str(path))}'\).*not found",
    ):
        load_audio_cell(path, 3, sr=16000)


def test_not_an_audio_file(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is text, not sound\n" * 50)
    with pytest.raises(
        ValueError, match=r"sample 2 \(path '.*notes\.wav'\).*not a readable audio file"
    ) as info:
        load_audio_cell(str(path), 2, sr=16000)
    # the libsndfile error is chained, not lost
    assert isinstance(info.value.__cause__, soundfile.SoundFileError)


def test_directory(tmp_path):
    with pytest.raises(ValueError, match=r"sample 0 \(path .*\).*directory"):
        load_audio_cell(tmp_path, 0, sr=16000)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"sample 1 \(path '.*empty\.wav'\).*empty"):
        load_audio_cell(path, 1, sr=16000)


@needs_fsdd
@pytest.mark.parametrize("keep", [0.5, 0.99, 30 / 4000])
def test_truncated_wav_file(tmp_path, keep):
    data = CLIP.read_bytes()
    path = tmp_path / "cut.wav"
    path.write_bytes(data[: max(int(len(data) * keep), 30)])
    with pytest.raises(ValueError, match=r"sample 5 \(path '.*cut\.wav'\).*truncated"):
        load_audio_cell(path, 5, sr=16000)
    with pytest.raises(ValueError, match=r"sample 5 \(\d+ bytes\).*truncated"):
        load_audio_cell(path.read_bytes(), 5, sr=16000)


@pytest.mark.parametrize("fmt", ["FLAC", "MP3"])
def test_truncated_compressed_file(tmp_path, fmt):
    waveform = np.sin(np.linspace(0, 2000, 8000)) * 0.5
    buffer = io.BytesIO()
    soundfile.write(buffer, waveform, 8000, format=fmt)
    data = buffer.getvalue()
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(data[: int(len(data) * 0.6)])
    # libsndfile either fails to decode (FLAC) or decodes fewer frames than
    # the header declares (MP3): both are reported, with the path
    with pytest.raises(
        ValueError,
        match=rf"sample 9 \(path '.*cut\.{fmt.lower()}'\).*(truncated|corrupt)",
    ):
        load_audio_cell(path, 9, sr=8000)


@pytest.mark.parametrize("cell", [None, float("nan"), np.nan, np.float32("nan")])
def test_missing_cell(cell):
    with pytest.raises(ValueError, match=r"sample 6 is missing \(None or NaN\)"):
        load_audio_cell(cell, 6, sr=16000, input_sr=16000)


@pytest.mark.parametrize(
    "cell, error, message",
    [
        (np.zeros((2, 3, 4)), ValueError, r"3-D array of shape \(2, 3, 4\)"),
        (np.array(0.5), ValueError, r"0-D array"),
        (np.zeros(0), ValueError, r"empty waveform"),
        (np.zeros((2, 0)), ValueError, r"empty waveform"),
        (
            np.array([0.1, np.nan, 0.2]),
            ValueError,
            r"1 NaN or infinite sample\(s\) out of 3, the first at position 1",
        ),
        (
            np.array([0.1, None, 0.2, None]),
            ValueError,
            r"2 null \(None\) sample\(s\) out of 4, the first at position 1\. Fill",
        ),
        (
            np.array([[0.1, 0.2], [0.3, None]], dtype=object),
            ValueError,
            r"1 null \(None\) sample\(s\) out of 4, the first at position \(1, 1\)",
        ),
        (np.array([None, None]), ValueError, r"2 null \(None\) sample\(s\) out of 2"),
        (np.array([0.1, None, "a"]), TypeError, r"dtype object is not audio"),
        (np.array([0.1, np.inf, -np.inf]), ValueError, r"2 NaN or infinite sample"),
        (np.array([0.1, 1e200]), ValueError, r"not audio"),
        (
            np.zeros((40, 40)),
            ValueError,
            rf"40 channels .*more than {AUDIO_MAX_CHANNELS}",
        ),
        (np.array([1, 2, 3]), TypeError, r"int64 has no known PCM scale"),
        (np.array([True, False]), TypeError, r"dtype bool is not audio"),
        (np.array([1j, 2j]), TypeError, r"dtype complex128 is not audio"),
        (np.array(["a", "b"]), TypeError, r"is not audio"),
        (
            np.array([object(), 1], dtype=object),
            TypeError,
            r"dtype object is not audio",
        ),
    ],
)
def test_bad_waveforms(cell, error, message):
    with pytest.raises(error, match=rf"sample 7 \(array of shape .*\): .*{message}"):
        load_audio_cell(cell, 7, sr=16000, input_sr=16000)


@pytest.mark.parametrize(
    "cell, error, message",
    [
        (12, TypeError, r"unsupported audio cell; expected an audio file path"),
        ([0.1, 0.2], TypeError, r"unsupported audio cell"),
        ({"a": 1}, TypeError, r"unsupported audio cell"),
        ((np.zeros(10),), TypeError, r"tuple of length 1"),
        ((np.zeros(10), 8000, 1), TypeError, r"tuple of length 3"),
        ((np.zeros(10), 0), ValueError, r"positive finite number, got 0.0"),
        ((np.zeros(10), -8000), ValueError, r"positive finite number"),
        ((np.zeros(10), float("inf")), ValueError, r"positive finite number"),
        ((np.zeros(10), "8000"), TypeError, r"must be a number of Hz, got str"),
        ((np.zeros(10), True), TypeError, r"must be a number of Hz, got bool"),
        (("a.wav", 8000), TypeError, r"dtype <U5 is not audio"),
        (([[0.1], [0.2, 0.3]], 8000), TypeError, r"not an array"),
        (b"", ValueError, r"empty bytes"),
        (b"not audio at all" * 10, ValueError, r"not a readable audio file"),
    ],
)
def test_bad_cells(cell, error, message):
    with pytest.raises(error, match=rf"sample 8 .*{message}"):
        load_audio_cell(cell, 8, sr=16000, input_sr=16000)


def test_absurd_resampling_ratio_refused():
    with pytest.raises(
        ValueError, match=r"sample 0 .*factor of 1.6e\+07, more than 256"
    ):
        load_audio_cell((np.zeros(1000), 1e-3), 0, sr=16000)


def test_downsampling_to_less_than_one_sample_keeps_one():
    # librosa.resample fixes the length to ceil(n * sr / rate) >= 1
    out = load_audio_cell((np.ones(3), 48000), 0, sr=8000)
    assert out.shape == (1,) and np.isfinite(out).all()


# --------------------------------------------------------------------------
# property tests: only the documented errors, or a finite 1-D float64 array
# --------------------------------------------------------------------------

DOCUMENTED = (ValueError, TypeError, FileNotFoundError)


def _check_result(cell, index, **kwargs):
    try:
        out = load_audio_cell(cell, index, **kwargs)
    except DOCUMENTED as exc:
        assert f"sample {index}" in str(exc)
        return None
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64 and out.ndim == 1 and out.size >= 1
    assert np.isfinite(out).all()
    return out


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400), index=st.integers(0, 10**6))
def test_random_bytes(data, index):
    _check_result(data, index, sr=8000)


def _riff(body):
    return b"RIFF" + len(body).to_bytes(4, "little") + b"WAVE" + body


@settings(max_examples=150, deadline=None)
@given(
    chunks=st.lists(
        st.tuples(
            st.sampled_from([b"fmt ", b"data", b"LIST", b"fact", b"\x00\x00\x00\x00"]),
            st.integers(0, 2**32 - 1),
            st.binary(max_size=64),
        ),
        max_size=4,
    )
)
def test_random_riff_structures(chunks):
    """Fuzz the RIFF walker and libsndfile with plausible-looking WAV headers."""
    body = b"".join(
        cid + size.to_bytes(4, "little") + payload for cid, size, payload in chunks
    )
    _check_result(_riff(body), 0, sr=8000)


@needs_fsdd
@settings(max_examples=60, deadline=None)
@given(
    cut=st.integers(0, 10_000), flip=st.integers(0, 10_000), byte=st.integers(0, 255)
)
def test_damaged_real_wav(cut, flip, byte):
    data = bytearray(CLIP.read_bytes())
    data[flip % len(data)] = byte
    _check_result(bytes(data[: cut % (len(data) + 1)]), 1, sr=8000)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=hnp.scalar_dtypes(),
        shape=hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=24),
    ),
    rate=st.one_of(st.none(), st.sampled_from([8000, 11025.5, 16000, 44100])),
    as_tuple=st.booleans(),
)
def test_random_arrays(array, rate, as_tuple):
    cell = (array, rate if rate else 8000) if as_tuple else array
    out = _check_result(cell, 3, sr=16000, input_sr=rate)
    if out is not None and rate == 16000 and array.ndim == 1:
        assert out.shape == array.shape


@settings(max_examples=100, deadline=None)
@given(
    rate=st.one_of(
        st.integers(-5, 200_000),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
        st.none(),
    ),
    n=st.integers(0, 50),
)
def test_random_tuple_rates(rate, n):
    _check_result((np.linspace(-0.5, 0.5, n), rate), 2, sr=8000)


def test_unreadable_file(tmp_path, monkeypatch):
    """An OSError other than a missing file (here: permission) is a ValueError."""
    import sklearn_mbm._io._cells as cell_io

    path = tmp_path / "locked.wav"
    path.write_bytes(b"RIFF")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    # a module-level `open` shadows the builtin inside _io._cells only
    monkeypatch.setattr(cell_io, "open", refuse, raising=False)
    with pytest.raises(ValueError, match=r"sample 0 \(path .*\).*cannot open.*denied"):
        load_audio_cell(path, 0, sr=8000)
