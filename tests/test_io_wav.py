"""Tests for ``sklearn_mbm._io._wav``: numpy decoding of plain PCM WAV files.

The reference is libsndfile (through soundfile) on the same bytes: every
layout the fast path decodes must give the identical float64 array, and
every other layout must be handed back (``None``) to libsndfile.
"""

import io
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_mbm._io import load_audio_cell
from sklearn_mbm._io._wav import decode_plain_pcm, read_riff_layout

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
needs_fsdd = pytest.mark.skipif(
    not FSDD.is_dir(), reason=f"FSDD recordings not found at {FSDD}"
)


# the sub-format GUID of WAVE_FORMAT_EXTENSIBLE after its first two bytes
GUID_TAIL = bytes.fromhex("000000001000800000aa00389b71")


def _decode(data):
    source = io.BytesIO(data)
    layout = read_riff_layout(source, len(data))
    return None if layout is None else decode_plain_pcm(source, layout)


def _libsndfile(data):
    samples, rate = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return samples, rate


def _written(samples, rate, subtype, fmt="WAV", endian="FILE"):
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, subtype=subtype, format=fmt, endian=endian)
    return buffer.getvalue()


def _chunk(tag, body):
    return tag + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1)


def _riff(*chunks):
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(tag, channels, rate, bits, block_align=None):
    if block_align is None:
        block_align = channels * bits // 8
    return struct.pack(
        "<HHIIHH", tag, channels, rate, rate * block_align, block_align, bits
    )


@pytest.fixture(scope="module")
def noise():
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, size=(301, 3))


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_32", "FLOAT", "DOUBLE"])
@pytest.mark.parametrize("channels", [1, 2, 3])
@pytest.mark.parametrize("fmt", ["WAV", "WAVEX"])
def test_plain_layouts_equal_libsndfile(noise, subtype, channels, fmt):
    data = _written(noise[:, :channels], 11025, subtype, fmt)
    decoded = _decode(data)
    assert decoded is not None, "a plain layout must not fall back"
    samples, rate, integer = decoded
    assert integer == subtype.startswith("PCM")
    expected, expected_rate = _libsndfile(data)
    assert rate == expected_rate == 11025
    assert samples.dtype == np.float64 and samples.shape == (301, channels)
    np.testing.assert_array_equal(samples, expected)


@pytest.mark.parametrize(
    "subtype, fmt, endian",
    [
        ("PCM_24", "WAV", "FILE"),  # 3-byte samples
        ("PCM_16", "WAV", "BIG"),  # RIFX
        ("ULAW", "WAV", "FILE"),
        ("MS_ADPCM", "WAV", "FILE"),
    ],
)
def test_other_layouts_fall_back_to_libsndfile(noise, subtype, fmt, endian):
    data = _written(noise[:, :2], 8000, subtype, fmt, endian)
    assert _decode(data) is None
    expected, _ = _libsndfile(data)
    np.testing.assert_array_equal(
        load_audio_cell(data, 0, sr=8000), expected.mean(axis=1)
    )


def test_chunks_around_the_data_and_odd_padding():
    pcm = np.array([0, 1, -1, 32767, -32768, 1234], dtype="<i2")
    data = _riff(
        _chunk(b"fmt ", _fmt(1, 1, 8000, 16)),
        _chunk(b"LIST", b"INFOodd"),  # 7 bytes: padded to 8
        _chunk(b"data", pcm.tobytes()),
        _chunk(b"cue ", b"\0" * 4),
    )
    samples, rate, _ = _decode(data)
    np.testing.assert_array_equal(samples[:, 0], pcm / 32768.0)
    np.testing.assert_array_equal(samples, _libsndfile(data)[0])
    assert rate == 8000


def test_trailing_partial_frame_dropped_like_libsndfile():
    pcm = np.arange(-6, 6, dtype="<i2")
    data = _riff(
        _chunk(b"fmt ", _fmt(1, 2, 8000, 16)), _chunk(b"data", pcm.tobytes()[:-2])
    )
    samples, _, _ = _decode(data)
    assert samples.shape == (5, 2)
    np.testing.assert_array_equal(samples, _libsndfile(data)[0])


def test_streaming_placeholder_size_falls_back():
    pcm = np.arange(100, dtype="<i2")
    header = _riff(_chunk(b"fmt ", _fmt(1, 1, 8000, 16)))
    data = header + b"data" + struct.pack("<I", 0xFFFFFFFF) + pcm.tobytes()
    assert _decode(data) is None


def test_layout_of_non_riff_and_truncated_files():
    assert read_riff_layout(io.BytesIO(b"fLaC" + b"\0" * 40), 44) is None
    assert read_riff_layout(io.BytesIO(b"RIFF"), 4) is None
    header_only = _riff(_chunk(b"fmt ", _fmt(1, 1, 8000, 16)))
    layout = read_riff_layout(io.BytesIO(header_only), len(header_only))
    assert layout.data_offset is None and layout.truncated
    cut = _riff(_chunk(b"fmt ", _fmt(1, 1, 8000, 16)), _chunk(b"data", b"\1" * 40))
    layout = read_riff_layout(io.BytesIO(cut[:-10]), len(cut) - 10)
    assert (layout.data_size, layout.data_present) == (40, 30) and layout.truncated
    assert _decode(cut[:-10]) is None


@needs_fsdd
def test_every_fsdd_recording_equals_libsndfile():
    paths = sorted(FSDD.glob("*.wav"))
    assert len(paths) == 3000
    for path in paths:
        data = path.read_bytes()
        decoded = _decode(data)
        assert decoded is not None, path
        expected, rate = _libsndfile(data)
        assert decoded[1] == rate
        np.testing.assert_array_equal(decoded[0], expected, err_msg=str(path))


@settings(max_examples=150, deadline=None)
@given(
    tag=st.sampled_from([1, 2, 3, 6, 0xFFFE]),
    channels=st.integers(0, 4),
    rate=st.sampled_from([0, 1, 8000, 44100]),
    bits=st.sampled_from([0, 8, 12, 16, 24, 32, 64]),
    align_error=st.sampled_from([0, 0, 0, 1, -1]),
    valid_bits_error=st.sampled_from([0, 0, -4]),
    guid_tail=st.sampled_from([GUID_TAIL, GUID_TAIL, bytes(14)]),
    payload=st.binary(min_size=0, max_size=64),
)
def test_random_headers_decode_like_libsndfile_or_fall_back(
    tag, channels, rate, bits, align_error, valid_bits_error, guid_tail, payload
):
    """Whatever the fast path decodes, libsndfile decodes identically."""
    block_align = max(channels * bits // 8 + align_error, 0)
    fmt = _fmt(tag, channels, rate, bits, block_align)
    if tag == 0xFFFE:
        guid = struct.pack("<H", 1 if bits != 64 else 3) + guid_tail
        fmt += struct.pack("<HHI", 22, max(bits + valid_bits_error, 0), 0) + guid
    data = _riff(_chunk(b"fmt ", fmt), _chunk(b"data", payload))
    decoded = _decode(data)
    if decoded is None:
        return
    samples, decoded_rate, _ = decoded
    expected, expected_rate = _libsndfile(data)
    assert decoded_rate == expected_rate
    np.testing.assert_array_equal(samples, expected)


def test_float_wav_with_nan_or_inf_is_refused():
    samples = np.array([0.0, 0.5, np.nan, -0.5, np.inf], dtype=np.float32)
    data = _written(samples, 8000, "FLOAT")
    assert _decode(data)[2] is False  # float samples: the loader checks them
    with pytest.raises(ValueError, match=r"sample 3 .*2 NaN or infinite"):
        load_audio_cell(data, 3, sr=8000)


def test_loader_decodes_plain_pcm_without_libsndfile(monkeypatch, noise):
    """Plain PCM takes the NumPy path (the speed of the audio extractor relies
    on it); anything else still reaches libsndfile."""
    import soundfile as soundfile_module

    plain = _written(noise[:, :1], 8000, "PCM_16")
    other = _written(noise[:, :1], 8000, "PCM_24")
    expected = _libsndfile(plain)[0][:, 0]
    opened = []
    real = soundfile_module.SoundFile

    def spy(*args, **kwargs):
        opened.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(soundfile_module, "SoundFile", spy)
    np.testing.assert_array_equal(load_audio_cell(plain, 0, sr=8000), expected)
    assert opened == []
    load_audio_cell(other, 1, sr=8000)
    assert len(opened) == 1
