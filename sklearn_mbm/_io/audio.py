"""Audio cells: one path, bytes, waveform or (waveform, rate) to mono float64.

:func:`load_audio_cell` is the loader :class:`~sklearn_mbm.AudioFeatureExtractor`
and :class:`~sklearn_mbm.AudioEmbedder` call for each cell. Plain PCM WAV files
are decoded with numpy (:mod:`sklearn_mbm._io._wav`), everything else with
soundfile, once a WAV, AIFF or AU file is seen to hold the length its header
declares (:mod:`sklearn_mbm._io._aiff_au`); waveforms are resampled with
soxr. soundfile and soxr are imported only when a cell needs them.
"""

import math
import numbers
import os

import numpy as np

from sklearn_mbm._io._aiff_au import truncation_problem
from sklearn_mbm._io._cells import (
    cell_error_message,
    is_missing,
    missing_cell_error,
    open_cell_file,
)
from sklearn_mbm._io._wav import decode_plain_pcm, read_riff_layout

# Integer PCM dtypes accepted as waveforms, with the divisor that maps them
# onto [-1, 1) exactly as libsndfile maps PCM files to float.
# Keys are dtype.str without the byte order ("i2" is int16), a fast look-up.
_AUDIO_PCM_DIVISORS = {"i1": 2.0**7, "i2": 2.0**15, "i4": 2.0**31}

# A 2-D waveform's channel axis is its shorter one; more channels than this
# means the array is not audio (an image, a stack of clips, ...).
AUDIO_MAX_CHANNELS = 16

# No audio, in any scaling (float, int32 PCM as float, ...), comes near this;
# far larger values would overflow the power spectrum (|X|**2) to inf.
_AUDIO_MAX_ABS_SAMPLE = 1e12

# Rates further apart than this factor are almost surely a wrong sample rate
# (8 kHz to 16 kHz is 2, 192 kHz to 8 kHz is 24); refuse them rather than
# spend minutes and gigabytes resampling.
_AUDIO_MAX_RESAMPLING_FACTOR = 256

# Frames per read, at most, for codecs libsndfile cannot seek in: 8 MiB of
# float64 per channel, a bound on what a lying header can make us allocate.
_AUDIO_UNSEEKABLE_BLOCK = 1 << 20

AUDIO_CELL_TYPES = (
    "an audio file path (str or os.PathLike), encoded audio bytes, a 1-D numpy "
    "waveform (with input_sr), or a (waveform, sample_rate) tuple"
)


def load_audio_cell(cell, index, sr, input_sr=None):
    """Load one audio cell as a finite mono float64 waveform sampled at ``sr``.

    Parameters
    ----------
    cell : str, os.PathLike, bytes, ndarray or tuple
        - a path to an audio file (any format libsndfile reads: WAV, FLAC,
          OGG/Vorbis, MP3, AIFF, ..., with any codec, including those it
          cannot seek in: GSM 6.10, G.721/G.723 and NMS ADPCM, ...), read
          with :mod:`soundfile`;
        - raw encoded bytes of such a file (except Sound Designer II, whose
          resource fork libsndfile only finds beside a path);
        - a numpy waveform, sampled at ``input_sr`` Hz;
        - a ``(waveform, sample_rate)`` tuple.

        A waveform is 1-D (mono) or 2-D. A 2-D waveform is downmixed to mono
        by averaging its channels; its channel axis is the shorter one, so
        ``(n_channels, n_samples)`` (librosa's layout) and
        ``(n_samples, n_channels)`` (soundfile's layout) both work; a square
        array counts as ``(n_channels, n_samples)``. It may have at most
        ``AUDIO_MAX_CHANNELS`` (16) channels. Float waveforms are used as they
        are (usually in [-1, 1]). Integer PCM is scaled to [-1, 1) as
        libsndfile does: int8 / 128, int16 / 32768, int32 / 2**31, and uint8
        (8-bit WAV, offset binary) as (x - 128) / 128. Other integer dtypes
        (int64, uint16, ...) are refused: an int64 array is usually a Python
        list of ints in an unknown scale, so convert it explicitly.
    index : int
        Position of the sample, for error messages.
    sr : float
        Target sample rate in Hz. The waveform is resampled to it with soxr
        (quality ``"soxr_hq"``) and its length fixed to
        ``ceil(n * sr / rate)``, exactly as ``librosa.resample`` does.
    input_sr : float or None, default=None
        Sample rate of bare numpy waveforms. Required for them, ignored for
        files, bytes and tuples (which carry their own rate).

    Returns
    -------
    waveform : ndarray of shape (n_samples,), dtype float64
        Finite, non-empty.

    Raises
    ------
    ValueError
        Missing cell (None/NaN), unreadable or truncated audio, wrong number
        of dimensions, empty waveform, NaN/inf or absurdly large samples
        (beyond 1e12), invalid sample rate, rates more than 256 times apart
        (surely a wrong rate), or a bare waveform without ``input_sr``.
        Files that cannot be opened for another reason (permissions) also
        give a ValueError. The underlying soundfile/soxr error is chained.
    TypeError
        A cell of an unsupported type or dtype.
    FileNotFoundError
        A path that does not exist.

    Every message names the sample index and, for files, the path.
    """
    if is_missing(cell):
        raise missing_cell_error(index)
    if isinstance(cell, (str, os.PathLike)):
        waveform, rate = _read_audio_file(cell, index)
    elif isinstance(cell, (bytes, bytearray, memoryview)):
        waveform, rate = _decode_audio_bytes(cell, index)
    elif isinstance(cell, tuple):
        if len(cell) != 2:
            raise TypeError(
                cell_error_message(
                    index,
                    cell,
                    "a tuple cell must be (waveform, sample_rate), got a tuple "
                    f"of length {len(cell)}.",
                )
            )
        rate = _check_sample_rate(
            cell[1], index, cell, "the sample rate of a (waveform, sample_rate) tuple"
        )
        waveform = _as_waveform(cell[0], index, cell)
    elif isinstance(cell, np.ndarray):
        if input_sr is None:
            raise ValueError(
                cell_error_message(
                    index,
                    cell,
                    "a bare waveform has no sample rate. Pass input_sr=<rate in "
                    "Hz> to the extractor, or give the cell as a "
                    "(waveform, sample_rate) tuple.",
                )
            )
        rate = _check_sample_rate(input_sr, index, cell, "input_sr")
        waveform = _as_waveform(cell, index, cell)
    else:
        raise TypeError(
            cell_error_message(
                index, cell, f"unsupported audio cell; expected {AUDIO_CELL_TYPES}."
            )
        )
    return _resample_waveform(waveform, rate, sr, index, cell)


def _check_sample_rate(rate, index, cell, what):
    """Return ``rate`` as a float after checking it is a positive finite number."""
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"{what} must be a number of Hz, got {type(rate).__name__}.",
            )
        )
    rate = float(rate)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(
            cell_error_message(
                index, cell, f"{what} must be a positive finite number, got {rate!r}."
            )
        )
    return rate


def _as_waveform(data, index, cell):
    """Validate a numpy waveform and return it as finite mono float64."""
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise TypeError(
            cell_error_message(index, cell, f"the waveform is not an array: {exc}")
        ) from exc
    if array.dtype == object:
        _refuse_null_samples(array, index, cell)
    kind, code = array.dtype.kind, array.dtype.str[1:]
    if array.dtype == np.float64:
        waveform = array
    elif kind == "f":
        with np.errstate(over="ignore"):  # float128 overflow is caught below
            waveform = array.astype(np.float64)
    elif code in _AUDIO_PCM_DIVISORS:
        waveform = array / _AUDIO_PCM_DIVISORS[code]
    elif code == "u1":
        waveform = (array.astype(np.float64) - 128.0) / 128.0
    elif kind in "iu":
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"integer waveform of dtype {array.dtype} has no known PCM "
                "scale; integer audio must be int8, uint8, int16 or int32 "
                "(scaled to [-1, 1)). Convert it to float yourself, e.g. "
                "waveform / 32768 for 16-bit samples.",
            )
        )
    else:
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"waveform dtype {array.dtype} is not audio; expected float "
                "samples or integer PCM (int8, uint8, int16, int32).",
            )
        )
    if waveform.ndim == 2:
        waveform = _downmix(waveform, index, cell)
    elif waveform.ndim != 1:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"expected a 1-D (mono) or 2-D (multichannel) waveform, got a "
                f"{waveform.ndim}-D array of shape {waveform.shape}.",
            )
        )
    return _check_samples(waveform, index, cell)


def _downmix(waveform, index, cell):
    """Average the channels of a 2-D waveform; the channel axis is the shorter."""
    rows, cols = waveform.shape
    if waveform.size == 0:
        raise ValueError(
            cell_error_message(
                index, cell, f"empty waveform of shape {waveform.shape} (no samples)."
            )
        )
    channel_axis = 0 if rows <= cols else 1
    n_channels = waveform.shape[channel_axis]
    if n_channels > AUDIO_MAX_CHANNELS:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"a 2-D waveform of shape {waveform.shape} would have "
                f"{n_channels} channels (the shorter axis), more than "
                f"{AUDIO_MAX_CHANNELS}; expected a 1-D waveform or 2-D "
                "(n_channels, n_samples) / (n_samples, n_channels).",
            )
        )
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN caught later
        return waveform.mean(axis=channel_axis)


def _bad_samples_message(bad, what, index, cell):
    """The error for the samples flagged in the boolean array ``bad``."""
    first = np.argwhere(bad)[0]
    position = int(first[0]) if first.size == 1 else tuple(int(i) for i in first)
    return cell_error_message(
        index,
        cell,
        f"waveform has {int(np.count_nonzero(bad))} {what} sample(s) out of "
        f"{bad.size}, the first at position {position}. Fill them (e.g. with "
        "0.0, or by interpolation; in polars "
        "`pl.col(c).list.eval(pl.element().fill_null(0.0))`) or drop the "
        "sample before extracting.",
    )


def _refuse_null_samples(array, index, cell):
    """Refuse an object waveform whose items are numbers and nulls (a polars
    List(Float64) clip with a null item) as clearly as a NaN sample."""
    items = array.ravel()
    null = np.fromiter((v is None for v in items), dtype=bool, count=items.size)
    if null.any() and all(isinstance(v, numbers.Real) for v in items[~null]):
        raise ValueError(
            _bad_samples_message(null.reshape(array.shape), "null (None)", index, cell)
        )


def _check_samples(waveform, index, cell):
    """Refuse empty waveforms and NaN, inf or absurdly large samples."""
    if waveform.size == 0:
        raise ValueError(cell_error_message(index, cell, "empty waveform (0 samples)."))
    # min and max propagate NaN and reach +-inf: two passes, no temporaries,
    # and the usual (clean) clip needs nothing more.
    low, high = float(waveform.min()), float(waveform.max())
    if -_AUDIO_MAX_ABS_SAMPLE <= low and high <= _AUDIO_MAX_ABS_SAMPLE:
        return waveform
    finite = np.isfinite(waveform)
    if not finite.all():
        raise ValueError(_bad_samples_message(~finite, "NaN or infinite", index, cell))
    peak = float(np.max(np.abs(waveform)))
    if peak > _AUDIO_MAX_ABS_SAMPLE:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"waveform has samples up to {peak:.3g} in magnitude, beyond "
                f"{_AUDIO_MAX_ABS_SAMPLE:.0e}; that is not audio (expected "
                "float samples, typically in [-1, 1], or integer PCM).",
            )
        )
    return waveform


def _read_audio_file(cell, index):
    """Read and decode an audio file; return (mono float64 waveform, rate)."""
    with open_cell_file(cell, index, "audio") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise ValueError(
                cell_error_message(index, cell, "empty file (0 bytes), not audio.")
            )
        decoded = _decode_plain_wav(file, size, index, cell)
    if decoded is not None:
        return decoded
    # libsndfile reads the path itself: faster than Python file callbacks.
    return _decode_audio(os.fspath(cell), index, cell)


def _decode_audio_bytes(cell, index):
    """Decode raw encoded bytes; return (mono float64 waveform, rate)."""
    import io

    data = bytes(cell)
    if len(data) == 0:
        raise ValueError(
            cell_error_message(index, cell, "empty bytes (0 bytes), not audio.")
        )
    source = io.BytesIO(data)
    decoded = _decode_plain_wav(source, len(data), index, cell)
    if decoded is not None:
        return decoded
    source.seek(0)
    return _decode_audio(source, index, cell)


def _decode_plain_wav(file, size, index, cell):
    """Refuse a truncated WAV, AIFF or AU file; decode a plain PCM WAV with numpy.

    Returns ``(mono float64 waveform, rate)``, or None when the data is not a
    plain PCM WAV (see :mod:`sklearn_mbm._io._wav`), which libsndfile then
    decodes. libsndfile itself reads a truncated WAV, AIFF or AU file without
    complaint, trimming its audio to the bytes present, so a file cut off
    mid-copy would silently give a shorter clip: the header checks catch it
    (:mod:`sklearn_mbm._io._aiff_au` for AIFF and AU).
    """
    layout = read_riff_layout(file, size)
    if layout is None:
        problem = truncation_problem(file, size)
        if problem is not None:
            raise ValueError(cell_error_message(index, cell, problem))
        return None
    if layout.data_offset is None:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated WAV file: it ends after {size} bytes, before "
                "its audio data chunk.",
            )
        )
    if layout.truncated:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated WAV file: its header declares {layout.data_size} "
                f"bytes of audio data but only {layout.data_present} are present.",
            )
        )
    decoded = decode_plain_pcm(file, layout)
    if decoded is None:
        return None
    samples, rate, integer_pcm = decoded
    return _as_mono(samples, index, cell, checked=integer_pcm), float(rate)


def _decode_audio(source, index, cell):
    """Decode a path or file object with soundfile into (mono float64, rate)."""
    import soundfile

    try:
        with soundfile.SoundFile(source) as sound:
            declared = sound.frames
            rate = sound.samplerate
            waveform = _read_all_frames(sound)
    except (RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"not a readable audio file ({_soundfile_refusal(exc)}); it may "
                "be corrupt, truncated or in an unsupported format.",
            )
        ) from exc
    if 0 < len(waveform) < declared:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated audio: the header declares {declared} frames but "
                f"only {len(waveform)} could be decoded.",
            )
        )
    return _as_mono(waveform, index, cell), float(rate)


def _read_all_frames(sound):
    """Every frame of an open ``soundfile.SoundFile``, ``(n_frames, n_channels)``.

    libsndfile cannot seek in some codecs (GSM 6.10, G.721/G.723 ADPCM, NMS
    ADPCM, XI DPCM), and for those soundfile refuses ``read()`` without a
    frame count. They are read in blocks of at most the declared frame count
    until a short read, so a header that overstates the length still ends at
    the data (and the caller reports it as truncated).
    """
    if sound.seekable():
        return sound.read(dtype="float64", always_2d=True)
    block = min(max(sound.frames, 1), _AUDIO_UNSEEKABLE_BLOCK)
    blocks = []
    while True:
        samples = sound.read(block, dtype="float64", always_2d=True)
        blocks.append(samples)
        if len(samples) < block:
            return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _soundfile_refusal(exc):
    """Who refused the audio and why: libsndfile itself, or the soundfile wrapper."""
    error_string = getattr(exc, "error_string", None)  # soundfile.LibsndfileError
    if error_string is not None:
        # e.g. "Format not recognised" for non-audio data, "flac decoder lost
        # sync" for a truncated FLAC file
        return f"libsndfile: {error_string.strip(' .')}"
    detail = str(exc).strip(" .") or type(exc).__name__
    return f"the soundfile package: {detail}"


def _as_mono(samples, index, cell, checked=False):
    """Check decoded ``(n_frames, n_channels)`` samples; average to mono.

    ``checked=True`` skips the value checks for samples known to be finite
    and within [-1, 1] (decoded integer PCM).
    """
    if samples.shape[0] == 0:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                "the audio file holds no samples (empty, or truncated before "
                "its first frame).",
            )
        )
    waveform = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)
    return waveform if checked else _check_samples(waveform, index, cell)


def _resample_waveform(waveform, rate, sr, index, cell):
    """Resample to ``sr`` as ``librosa.resample(res_type="soxr_hq")`` does."""
    if rate == sr:
        return waveform
    factor = max(sr / rate, rate / sr)
    if factor > _AUDIO_MAX_RESAMPLING_FACTOR:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"resampling from {rate:g} Hz to {sr:g} Hz is a factor of "
                f"{factor:.3g}, more than {_AUDIO_MAX_RESAMPLING_FACTOR}; check "
                "the sample rate.",
            )
        )
    n_out = math.ceil(waveform.shape[0] * float(sr) / rate)
    import soxr

    try:
        resampled = soxr.resample(waveform, rate, sr, quality="soxr_hq")
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ValueError(
            cell_error_message(
                index, cell, f"cannot resample from {rate:g} Hz to {sr:g} Hz: {exc}"
            )
        ) from exc
    # librosa.util.fix_length: trim or zero-pad to ceil(n * sr / rate)
    if resampled.shape[0] >= n_out:
        return np.ascontiguousarray(resampled[:n_out], dtype=np.float64)
    return np.pad(resampled.astype(np.float64), (0, n_out - resampled.shape[0]))
