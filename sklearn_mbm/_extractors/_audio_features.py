"""Batched frame-level audio features that reproduce librosa, clip by clip.

Calling ``librosa.feature.*`` once per clip costs a Python round trip, an STFT
per feature and a fresh window per call. Here a whole batch of clips is framed
into one stacked array, so the batch needs one FFT, one mel matrix product and
one DCT; everything that must not leak between clips (the top-dB floor of
``power_to_db``, the edges of the delta filter, pooling) is done per clip with
segment operations over each clip's own frames.

The results match ``librosa.feature.mfcc``, ``delta``, ``spectral_centroid``,
``spectral_bandwidth``, ``spectral_rolloff``, ``spectral_flatness``,
``zero_crossing_rate`` and ``rms`` called on each clip with
``n_fft = win_length = frame_length``, ``hop_length`` and librosa's defaults
(``center=True``, ``pad_mode="constant"``, Hann window, Slaney mel filters,
``top_db=80``, delta ``width=9`` with ``mode="interp"``); ``tests/test_audio.py``
checks it on real recordings.
"""

import functools
import math

import numpy as np
import scipy.fft
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

FEATURE_FAMILIES = ("mfcc", "delta", "delta2", "spectral", "logmel")
STATISTICS = ("mean", "std", "min", "max", "median")
SPECTRAL_FEATURES = (
    "spectral_centroid",
    "spectral_bandwidth",
    "spectral_rolloff",
    "spectral_flatness",
    "zero_crossing_rate",
    "rms",
)

# librosa's defaults, which the features reproduce
DELTA_WIDTH = 9  # librosa.feature.delta(width=9)
_TOP_DB = 80.0  # librosa.power_to_db(top_db=80)
_AMIN = 1e-10  # power_to_db(amin=...) and spectral_flatness(amin=...)
_ROLL_PERCENT = 0.85  # spectral_rolloff(roll_percent=...)
_DB_PER_NEPER = 10.0 / math.log(10.0)  # 10 log10(x) = this * ln(x)
_ZC_THRESHOLD = 1e-10  # zero_crossings(threshold=...): |x| <= it counts as 0


def count_frames(lengths, n_fft, hop_length):
    """Number of centred frames of clips of the given lengths (librosa.stft)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    return 1 + (lengths + 2 * (n_fft // 2) - n_fft) // hop_length


def frame_families(features):
    """The per-frame blocks ``features`` needs, in computation order."""
    need = set(features)
    if need & {"delta", "delta2"}:
        need.add("mfcc")
    return [family for family in FEATURE_FAMILIES if family in need]


class Workspace:
    """Large arrays reused from one batch to the next.

    A fresh array of several megabytes is paid for again in page faults the
    first time it is written; across the batches of one ``transform`` the
    same few buffers (the laid-out signal, the windowed frames) serve again.
    One workspace serves one thread and one set of frame parameters.
    """

    def __init__(self):
        self._arrays = {}
        self._values = {}

    def value(self, name, compute):
        """``compute()``, computed on the first call for ``name`` only.

        For what is fixed for one ``transform`` (window taps, mel filters).
        """
        if name not in self._values:
            self._values[name] = compute()
        return self._values[name]

    def array(self, name, shape, dtype=np.float64):
        """An uninitialised array of ``shape``, reusing the buffer ``name``."""
        size = math.prod(shape)
        flat = self._arrays.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self._arrays[name] = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


def frame_features(
    clips,
    *,
    sr,
    n_fft,
    hop_length,
    window,
    mel_basis,
    n_mfcc,
    families,
    workers=None,
    workspace=None,
):
    """Frame-level features of a batch of clips, stacked clip after clip.

    Parameters
    ----------
    clips : list of ndarray of shape (n_samples_i,)
        Finite float64 mono waveforms at ``sr`` Hz, each at least 1 sample.
    sr : float
        Sample rate.
    n_fft, hop_length : int
        Frame (and FFT, and window) length and hop, in samples.
    window : ndarray of shape (n_fft,)
        Analysis window (``librosa.filters.get_window(..., fftbins=True)``).
    mel_basis : ndarray of shape (n_mels, n_fft // 2 + 1)
        ``librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)``.
    n_mfcc : int
        Number of MFCCs kept.
    families : iterable of str
        Blocks to compute, among :data:`FEATURE_FAMILIES`.
    workers : int or None
        Threads for the FFT and DCT (``scipy.fft`` ``workers``).
    workspace : Workspace or None
        Buffers to reuse across calls (one per thread); None allocates.

    Returns
    -------
    blocks : dict of str to ndarray of shape (n_total_frames, n_columns)
        One block per family; rows ``offsets[i]:offsets[i] + n_frames[i]``
        belong to clip ``i``.
    n_frames : ndarray of shape (n_clips,)
        Frames per clip (``1 + len // hop_length`` for even ``n_fft``).
    """
    # numba (about 0.3 s to import) loads with the first batch, not with
    # the package
    from sklearn_mbm._extractors._spectral_kernels import (
        reduce_spectra,
        sparse_mel,
        window_taps,
    )

    families = set(families)
    lengths = np.array([clip.shape[0] for clip in clips], dtype=np.int64)
    n_frames = count_frames(lengths, n_fft, hop_length)
    offsets = _offsets(n_frames)
    pad = n_fft // 2

    # Lay the clips out in one signal on a grid of hop_length: each clip,
    # with its own n_fft // 2 zeros on both sides (librosa's center=True,
    # pad_mode="constant"), starts on a grid point. Then the frames of the
    # whole batch are one strided view (frame g starts at g * hop_length),
    # with no copy; the few grid frames that straddle two clips (about
    # n_fft / hop_length per clip) are computed and dropped.
    slots = -(-(lengths + 2 * pad) // hop_length)  # grid frames per clip
    grid_starts = _offsets(slots)
    clip_starts = grid_starts * hop_length + pad  # first sample of each clip
    n_grid = int(slots.sum())
    if workspace is None:
        workspace = Workspace()
    signal = workspace.array("signal", (n_grid * hop_length + n_fft,))
    signal.fill(0.0)
    for start, clip in zip(clip_starts, clips):
        signal[start : start + clip.shape[0]] = clip
    frames = sliding_window_view(signal, n_fft)[::hop_length][:n_grid]
    # grid row of each clip's frames, clip after clip
    rows = np.repeat(grid_starts, n_frames) + (
        np.arange(n_frames.sum()) - np.repeat(offsets, n_frames)
    )

    blocks = {}
    taps = workspace.value("taps", lambda: window_taps(window))
    if taps is None:  # not a cosine-sum window: window each frame
        windowed = np.multiply(
            frames, window, out=workspace.array("frames", frames.shape)
        )
    else:  # the FFT reads the overlapping frames straight from `signal`, and
        windowed = frames  # the window is applied to the spectra: no copy
    spectrum = scipy.fft.rfft(windowed, axis=1, workers=workers)
    # Power, mel energies and spectral shape of each clip frame in one
    # compiled pass over the spectra (no (frames x bins) temporaries).
    mel_power, shape = reduce_spectra(
        spectrum,
        rows,
        taps=taps,
        n_fft=n_fft,
        freq=np.fft.rfftfreq(n_fft, d=1.0 / sr),  # librosa.fft_frequencies
        mel=(
            workspace.value("mel", lambda: sparse_mel(mel_basis))
            if families & {"mfcc", "logmel"}
            else None
        ),
        shape="spectral" in families,
        roll_percent=_ROLL_PERCENT,
        amin=_AMIN,
    )
    del spectrum
    if mel_power is not None:
        log_mel = _power_to_db(mel_power, offsets)
        if "logmel" in families:
            blocks["logmel"] = log_mel
        if "mfcc" in families:
            mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=1, workers=workers)
            blocks["mfcc"] = mfcc[:, :n_mfcc]
    if "delta" in families:
        blocks["delta"] = segment_delta(blocks["mfcc"], n_frames, order=1)
    if "delta2" in families:
        blocks["delta2"] = segment_delta(blocks["mfcc"], n_frames, order=2)
    if "spectral" in families:
        zcr = _zero_crossing_rate(
            signal, clip_starts, lengths, pad, rows * hop_length, hop_length, n_fft
        )
        # librosa.feature.rms(y=...) frames the zero-padded clip, unwindowed
        energy = _frame_sums(np.square(signal), rows * hop_length, hop_length, n_fft)
        if energy is None:  # tiny blocks: sum over the strided frames instead
            energy = np.einsum("ij,ij->i", frames, frames)[rows]
        rms = np.sqrt(energy / n_fft)
        blocks["spectral"] = np.column_stack([shape, zcr, rms])
    return blocks, n_frames


def _offsets(counts):
    """Start of each segment given segment lengths."""
    starts = np.zeros(len(counts), dtype=np.int64)
    np.cumsum(counts[:-1], out=starts[1:])
    return starts


def _power_to_db(mel_power, offsets):
    """``librosa.power_to_db(S, ref=1.0, amin=1e-10, top_db=80)`` per clip.

    The floor ``max - top_db`` is each clip's own maximum: a batched
    ``power_to_db`` would take it over the whole batch, letting a loud clip
    change the features of a quiet one. Overwrites ``mel_power``.
    """
    # 10 log10(x) as (10 / ln 10) ln(x): numpy's natural log is about twice
    # as fast; the two differ by a unit in the last place.
    log_spec = np.log(np.maximum(_AMIN, mel_power, out=mel_power), out=mel_power)
    log_spec *= _DB_PER_NEPER
    clip_max = np.maximum.reduceat(log_spec.max(axis=1), offsets)
    floor = np.repeat(clip_max - _TOP_DB, np.diff(np.append(offsets, len(log_spec))))
    return np.maximum(log_spec, floor[:, None], out=log_spec)


def _zero_crossing_rate(
    signal, clip_starts, lengths, pad, frame_starts, hop_length, n_fft
):
    """``librosa.feature.zero_crossing_rate`` of each frame, from block sums.

    librosa pads with the edge samples (not zeros) here, so each clip's pads
    take the sign of its first / last sample. A frame starting at ``a``
    counts the sign changes between consecutive samples ``a .. a + n_fft - 1``
    (not the one entering the frame) and divides by ``n_fft``; samples within
    the threshold count as positive.
    """
    negative = signal < -_ZC_THRESHOLD
    steps = np.arange(pad)
    last = clip_starts + lengths - 1
    negative[clip_starts[:, None] - pad + steps] = negative[clip_starts][:, None]
    negative[last[:, None] + 1 + steps] = negative[last][:, None]
    changes = np.zeros(signal.shape[0], dtype=np.int8)  # changes[j]: j-1 -> j
    np.not_equal(negative[1:], negative[:-1], out=changes[1:].view(bool))
    count = _frame_sums(changes, frame_starts, hop_length, n_fft, dtype=np.int64)
    if count is None:  # many small blocks: a running count is cheaper (exact)
        cumulative = np.cumsum(changes, dtype=np.int64)
        count = cumulative[frame_starts + n_fft - 1] - cumulative[frame_starts]
    else:
        count -= changes[frame_starts]  # the change entering the frame
    return count / n_fft


def _frame_sums(values, frame_starts, hop_length, n_fft, dtype=None):
    """``values[a : a + n_fft].sum()`` for each frame start ``a``, from block sums.

    Frames start on multiples of ``hop_length`` and span ``n_fft`` samples:
    both are whole numbers of blocks of ``gcd(n_fft, hop_length)`` samples
    (400 and 160: blocks of 80), so a frame's sum is the sum of a few block
    sums (``len(values)`` must be a multiple of the block). Returns None when
    a frame would span more than 32 blocks.
    """
    block = math.gcd(n_fft, hop_length)
    span = n_fft // block
    if span > 32:
        return None
    block_sums = values.reshape(-1, block).sum(axis=1, dtype=dtype)
    first = frame_starts // block
    total = block_sums[first]
    for k in range(1, span):
        total += block_sums[first + k]
    return total


@functools.lru_cache(maxsize=16)
def _savgol_operator(width, order):
    """Savitzky-Golay weights as ``scipy.signal.savgol_filter(mode="interp")``.

    Row ``i`` gives output frame ``i`` of a ``width``-frame signal as weights
    of its ``width`` frames: the middle row is the interior convolution, the
    first and last ``width // 2`` rows the polynomial fits at the edges.
    """
    return scipy.signal.savgol_filter(
        np.eye(width), width, polyorder=order, deriv=order, axis=0, mode="interp"
    )


def segment_delta(values, n_frames, *, order, width=DELTA_WIDTH):
    """``librosa.feature.delta(values_i, order=order, axis=0)`` for each clip.

    Parameters
    ----------
    values : ndarray of shape (n_total_frames, n_columns)
        Frames of all clips, stacked.
    n_frames : ndarray of shape (n_clips,)
        Frames per clip.
    order : int
        Derivative order (1 for delta, 2 for delta-delta).
    width : int, default=9
        Filter width, as in librosa.

    Returns
    -------
    ndarray of shape (n_total_frames, n_columns)

    Notes
    -----
    Interior frames use one convolution over the stacked array; each clip's
    first and last ``width // 2`` frames are then overwritten with the edge
    fit over that clip's own first/last ``width`` frames, so nothing leaks
    across clips. librosa refuses clips shorter than ``width`` frames; here
    such a clip uses the largest odd width that fits (and a delta of 0 when
    that is no larger than ``order``), applied to all clips of that length at
    once.
    """
    n_frames = np.asarray(n_frames, dtype=np.int64)
    offsets = _offsets(n_frames)
    out = np.zeros_like(values)
    half = width // 2
    operator = _savgol_operator(width, order)
    long_clips = n_frames >= width
    if np.any(long_clips):
        kernel = operator[half]
        interior = np.zeros((values.shape[0] - 2 * half, values.shape[1]))
        for shift in range(width):
            interior += kernel[shift] * values[shift : shift + interior.shape[0]]
        out[half : values.shape[0] - half] = interior
        starts = offsets[long_clips]
        ends = starts + n_frames[long_clips]
        steps = np.arange(width)
        edge_rows = np.arange(half)
        head = values[starts[:, None] + steps]  # (n_long, width, n_columns)
        tail = values[ends[:, None] - width + steps]
        out[starts[:, None] + edge_rows] = np.einsum(
            "ij,cjf->cif", operator[:half], head
        )
        out[ends[:, None] - half + edge_rows] = np.einsum(
            "ij,cjf->cif", operator[width - half :], tail
        )
    # The convolution above also ran over short clips: clear them.
    out[np.repeat(~long_clips, n_frames)] = 0.0
    for length in np.unique(n_frames[~long_clips]):
        short_width = length if length % 2 else length - 1
        if short_width <= order:
            continue  # too few frames for a slope: delta stays 0
        rows = offsets[n_frames == length][:, None] + np.arange(length)
        out[rows] = scipy.signal.savgol_filter(
            values[rows],
            short_width,
            polyorder=order,
            deriv=order,
            axis=1,
            mode="interp",
        )
    return out


def pool_segments(values, n_frames, stats):
    """Statistics of each clip's own frames (segments of stacked rows).

    Parameters
    ----------
    values : ndarray of shape (n_total_frames, n_columns)
        Frames of all clips, stacked; every clip has at least one frame.
    n_frames : ndarray of shape (n_clips,)
        Frames per clip.
    stats : iterable of str
        Among :data:`STATISTICS`.

    Returns
    -------
    dict of str to ndarray of shape (n_clips, n_columns)
    """
    n_frames = np.asarray(n_frames, dtype=np.int64)
    offsets = _offsets(n_frames)
    counts = n_frames[:, None].astype(values.dtype)
    pooled = {}
    mean = np.add.reduceat(values, offsets, axis=0) / counts
    for stat in stats:
        if stat == "mean":
            pooled[stat] = mean
        elif stat == "std":
            # Two passes (deviations from each clip's mean): no cancellation.
            deviation = values - np.repeat(mean, n_frames, axis=0)
            pooled[stat] = np.sqrt(
                np.add.reduceat(deviation**2, offsets, axis=0) / counts
            )
        elif stat == "min":
            pooled[stat] = np.minimum.reduceat(values, offsets, axis=0)
        elif stat == "max":
            pooled[stat] = np.maximum.reduceat(values, offsets, axis=0)
        elif stat == "median":
            pooled[stat] = _segment_median(values, n_frames, offsets)
        else:
            raise ValueError(f"unknown statistic {stat!r}; allowed: {STATISTICS}.")
    return pooled


def time_segments(n_frames, n_segments):
    """Frames of each of ``n_segments`` equal time segments of every clip.

    Segment ``j`` of a clip of ``n`` frames holds frames
    ``floor(j * n / k) .. floor((j + 1) * n / k) - 1``; when ``n >= k`` the
    segments partition the clip's frames. A clip with fewer frames than
    segments leaves some segments with no frame of their own: such a segment
    takes the one frame whose time span contains it (frame
    ``floor(j * n / k)``), so every segment has at least one frame and finite
    statistics.

    Parameters
    ----------
    n_frames : ndarray of shape (n_clips,)
        Frames per clip (each at least 1), stacked clip after clip.
    n_segments : int
        Segments per clip (``k``).

    Returns
    -------
    rows : ndarray of shape (n_rows,) or None
        Stacked-frame rows of the segments, segment after segment within each
        clip, clip after clip; None when they are all the rows in order
        (every clip has at least ``n_segments`` frames).
    counts : ndarray of shape (n_clips * n_segments,)
        Frames per segment, in the same order.
    """
    n_frames = np.asarray(n_frames, dtype=np.int64)
    j = np.arange(n_segments + 1)
    bounds = (n_frames[:, None] * j) // n_segments  # (n_clips, k + 1)
    starts = np.minimum(bounds[:, :-1], n_frames[:, None] - 1)
    counts = np.maximum(bounds[:, 1:], starts + 1) - starts
    counts = counts.ravel()
    if np.all(n_frames >= n_segments):
        return None, counts
    starts = (starts + _offsets(n_frames)[:, None]).ravel()
    within = np.arange(counts.sum()) - np.repeat(_offsets(counts), counts)
    return np.repeat(starts, counts) + within, counts


def _segment_median(values, n_frames, offsets):
    """Median of each column over each segment, with two vectorised sorts.

    Sorting every column by value and then, stably, by clip leaves each
    clip's frames sorted within its own segment.
    """
    by_value = np.argsort(values, axis=0, kind="stable")
    clip_of_row = np.repeat(np.arange(len(n_frames)), n_frames)
    by_clip = np.argsort(clip_of_row[by_value], axis=0, kind="stable")
    ordered = np.take_along_axis(values, np.take_along_axis(by_value, by_clip, 0), 0)
    low = ordered[offsets + (n_frames - 1) // 2]
    high = ordered[offsets + n_frames // 2]
    return (low + high) / 2.0
