"""Tests for ``sklearn_mbm._io._aiff_au``: cut-off AIFF and AU files are refused.

libsndfile reads an AIFF or AU file that ends before its header's length
silently shorter; the loader must name the sample, the path and both lengths.
The files are real ones written by soundfile, then cut on disk.
"""

import io
import re
import struct
import warnings

import numpy as np
import pytest
import soundfile
from hypothesis import given, settings
from hypothesis import strategies as st

from sklearn_mbm import AudioFeatureExtractor
from sklearn_mbm._io import CellLoadWarning, load_audio_cell

RATE = 8000
N_FRAMES = 4000
PCM_CASES = [
    (fmt, subtype, channels)
    for fmt in ("AIFF", "AU")
    for subtype in ("PCM_16", "PCM_24", "FLOAT")
    for channels in (1, 2)
]


def _clip(channels=1):
    t = np.arange(N_FRAMES) / RATE
    waveform = 0.5 * np.sin(2 * np.pi * 440 * t)
    return waveform if channels == 1 else np.c_[waveform, -0.5 * waveform]


def _encode(fmt, subtype, channels=1, **kwargs):
    buffer = io.BytesIO()
    soundfile.write(
        buffer, _clip(channels), RATE, format=fmt, subtype=subtype, **kwargs
    )
    return buffer.getvalue()


def _mono(data):
    samples, _ = soundfile.read(io.BytesIO(data), dtype="float64", always_2d=True)
    return samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]


@pytest.mark.parametrize("fmt, subtype, channels", PCM_CASES)
def test_intact_file_reads_as_soundfile_reads_it(tmp_path, fmt, subtype, channels):
    data = _encode(fmt, subtype, channels)
    path = tmp_path / f"clip.{fmt.lower()}"
    path.write_bytes(data)
    expected = _mono(data)
    assert expected.shape == (N_FRAMES,)
    np.testing.assert_array_equal(load_audio_cell(path, 0, sr=RATE), expected)
    np.testing.assert_array_equal(load_audio_cell(data, 0, sr=RATE), expected)


@pytest.mark.parametrize("fmt, subtype, channels", PCM_CASES)
@pytest.mark.parametrize("keep", [0.5, 0.99])
def test_cut_file_names_path_and_both_lengths(tmp_path, fmt, subtype, channels, keep):
    data = _encode(fmt, subtype, channels)
    cut = data[: int(len(data) * keep)]
    held = len(_mono(cut))  # what libsndfile silently reads
    assert 0 < held < N_FRAMES
    path = tmp_path / f"cut.{fmt.lower()}"
    path.write_bytes(cut)
    message = (
        rf"truncated {fmt} file: its header declares {N_FRAMES} frames but the "
        rf"file holds {held}\."
    )
    with pytest.raises(
        ValueError, match=rf"^sample 7 \(path '{re.escape(str(path))}'\): {message}$"
    ):
        load_audio_cell(path, 7, sr=RATE)
    with pytest.raises(ValueError, match=rf"^sample 7 \({len(cut)} bytes\): {message}"):
        load_audio_cell(cut, 7, sr=RATE)


def _declared_data_bytes(data):
    if data[:4] == b".snd":  # AU: the data_size field
        return struct.unpack(">I", data[8:12])[0]
    ssnd = data.index(b"SSND")  # AIFF: the SSND size, less offset and blockSize
    return struct.unpack(">I", data[ssnd + 4 : ssnd + 8])[0] - 8


@pytest.mark.parametrize("fmt, subtype", [("AIFF", "GSM610"), ("AU", "G721_32")])
def test_cut_unseekable_codec(tmp_path, fmt, subtype):
    # these codecs count packets, not frames: the data size is compared
    data = _encode(fmt, subtype)
    path = tmp_path / f"clip.{fmt.lower()}"
    path.write_bytes(data)
    with soundfile.SoundFile(path) as sound:
        assert not sound.seekable()
        expected = sound.read(sound.frames, dtype="float64")
    np.testing.assert_array_equal(load_audio_cell(path, 0, sr=RATE), expected)
    declared = _declared_data_bytes(data)
    cut = tmp_path / f"cut.{fmt.lower()}"
    cut.write_bytes(data[:-300])
    with pytest.raises(
        ValueError,
        match=rf"sample 2 \(path '.*cut\.{fmt.lower()}'\): truncated {fmt} file: "
        rf"its (header|SSND chunk) declares {declared} bytes of (audio|sound) data "
        rf"but only {declared - 300} are present\.",
    ):
        load_audio_cell(cut, 2, sr=RATE)


def test_au_of_unknown_size_is_accepted():
    data = _encode("AU", "PCM_16")
    assert struct.unpack(">I", data[8:12]) == (2 * N_FRAMES,)
    unknown = data[:8] + b"\xff\xff\xff\xff" + data[12:]  # a streamed AU
    np.testing.assert_array_equal(load_audio_cell(unknown, 0, sr=RATE), _mono(data))
    # nothing declared, so nothing is missing: the audio ends with the file
    shorter = unknown[: 24 + 2 * 1000]
    waveform = load_audio_cell(shorter, 0, sr=RATE)
    np.testing.assert_array_equal(waveform, _mono(data)[:1000])


def test_little_endian_au():
    data = _encode("AU", "PCM_16", endian="LITTLE")
    assert data[:4] == b"dns."
    np.testing.assert_array_equal(load_audio_cell(data, 0, sr=RATE), _mono(data))
    with pytest.raises(
        ValueError, match=rf"declares {N_FRAMES} frames but the file holds 1000\."
    ):
        load_audio_cell(data[: 24 + 2 * 1000 + 1], 0, sr=RATE)


def _ssnd(data):
    return data.index(b"SSND")


def test_aiff_placeholder_ssnd_size_is_accepted():
    data = _encode("AIFF", "PCM_16")
    at = _ssnd(data) + 4
    for placeholder in (b"\0\0\0\0", b"\xff\xff\xff\xff"):
        streamed = data[:at] + placeholder + data[at + 4 :]
        np.testing.assert_array_equal(
            load_audio_cell(streamed, 0, sr=RATE), _mono(data)
        )


def test_aiff_headers_that_declare_more_than_the_data():
    data = bytearray(_encode("AIFF", "PCM_16"))
    comm = data.index(b"COMM")
    more = bytearray(data)
    more[comm + 10 : comm + 14] = struct.pack(">I", N_FRAMES + 500)
    with pytest.raises(
        ValueError,
        match=rf"sample 1 .*declares {N_FRAMES + 500} frames but the file holds "
        rf"{N_FRAMES}\.",
    ):
        load_audio_cell(bytes(more), 1, sr=RATE)
    # an SSND chunk shorter than the COMM chunk's frames: libsndfile would
    # read only the SSND chunk's
    short = bytearray(data)
    ssnd = _ssnd(data)
    short[ssnd + 4 : ssnd + 8] = struct.pack(">I", 8 + 2 * 1000)
    with pytest.raises(
        ValueError,
        match=rf"damaged AIFF file: its COMM chunk declares {N_FRAMES} frames "
        r"but its SSND chunk holds 1000\.",
    ):
        load_audio_cell(bytes(short), 1, sr=RATE)


def test_aiff_cut_before_its_sound_data(tmp_path):
    data = _encode("AIFF", "PCM_16")
    path = tmp_path / "cut.aiff"
    path.write_bytes(data[: _ssnd(data) + 4])
    with pytest.raises(
        ValueError,
        match=r"sample 0 \(path '.*cut\.aiff'\): truncated AIFF file: it ends "
        rf"after {_ssnd(data) + 4} bytes, before its sound data \(SSND\) chunk\.",
    ):
        load_audio_cell(path, 0, sr=RATE)


def test_extractor_warns_and_gives_a_nan_row(tmp_path):
    intact = tmp_path / "clip.aiff"
    intact.write_bytes(_encode("AIFF", "PCM_16"))
    cut_aiff, cut_au = tmp_path / "cut.aiff", tmp_path / "cut.au"
    cut_aiff.write_bytes(intact.read_bytes()[:3000])
    cut_au.write_bytes(_encode("AU", "FLOAT")[:3000])
    cells = [str(intact), str(cut_aiff), cut_au.read_bytes()]
    extractor = AudioFeatureExtractor(sr=RATE, on_error="warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = np.asarray(extractor.fit_transform(cells))
    messages = [str(w.message) for w in caught if w.category is CellLoadWarning]
    assert len(messages) == 2
    assert messages[0].startswith(
        f"sample 1 (path {str(cut_aiff)!r}): truncated AIFF file: its header "
        f"declares {N_FRAMES} frames but the file holds"
    )
    assert messages[1].startswith("sample 2 (3000 bytes): truncated AU file")
    assert np.isnan(out[1:]).all()
    np.testing.assert_array_equal(
        out[:1], AudioFeatureExtractor(sr=RATE).fit_transform(cells[:1])
    )
    with pytest.raises(ValueError, match=r"sample 1 \(path '.*cut\.aiff'\)"):
        AudioFeatureExtractor(sr=RATE).fit_transform(cells)


def _form(form_type, chunks):
    body = form_type + b"".join(
        cid + size.to_bytes(4, "big") + payload for cid, size, payload in chunks
    )
    return b"FORM" + len(body).to_bytes(4, "big") + body


@settings(max_examples=100, deadline=None)
@given(
    form_type=st.sampled_from([b"AIFF", b"AIFC"]),
    chunks=st.lists(
        st.tuples(
            st.sampled_from([b"COMM", b"SSND", b"FVER", b"MARK"]),
            st.integers(0, 2**32 - 1),
            st.binary(max_size=40),
        ),
        max_size=4,
    ),
)
def test_random_aiff_structures(form_type, chunks):
    """Fuzz the chunk walk and libsndfile with plausible-looking AIFF headers."""
    try:
        out = load_audio_cell(_form(form_type, chunks), 3, sr=RATE)
    except (ValueError, TypeError) as exc:
        assert str(exc).startswith("sample 3 (")
    else:
        assert out.dtype == np.float64 and out.ndim == 1 and out.size >= 1
        assert np.isfinite(out).all()


@settings(max_examples=100, deadline=None)
@given(
    fields=st.tuples(
        st.sampled_from([0, 23, 24, 28, 2**32 - 1]),  # data_offset
        st.sampled_from([0, 1, 100, 2**32 - 2, 2**32 - 1]),  # data_size
        st.sampled_from([0, 1, 3, 6, 7, 23, 27, 99]),  # encoding
        st.sampled_from([0, 1, 8000]),  # sample rate
        st.sampled_from([0, 1, 2, 2**32 - 1]),  # channels
    ),
    payload=st.binary(max_size=120),
)
def test_random_au_headers(fields, payload):
    """Fuzz the AU check and libsndfile with plausible-looking AU headers."""
    data = b".snd" + b"".join(field.to_bytes(4, "big") for field in fields) + payload
    try:
        out = load_audio_cell(data, 4, sr=RATE)
    except (ValueError, TypeError) as exc:
        assert str(exc).startswith("sample 4 (")
    else:
        assert out.dtype == np.float64 and out.ndim == 1 and out.size >= 1
        assert np.isfinite(out).all()
