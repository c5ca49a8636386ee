"""Audio features: MFCCs, deltas, spectral shape and log-mel, pooled per clip.

:class:`AudioFeatureExtractor` takes a column of audio cells (file paths,
encoded bytes, waveforms), loads and resamples them with
:func:`sklearn_mbm._io.load_audio_cell`, computes frame-level features for a
whole batch of clips at once (:mod:`sklearn_mbm._extractors._audio_features`, which
reproduces librosa) and pools each clip's frames into fixed-length statistics.
"""

import numbers

import librosa
import numpy as np

from sklearn_mbm._compat import Interval, StrOptions
from sklearn_mbm._extractors._audio_features import (
    FEATURE_FAMILIES,
    SPECTRAL_FEATURES,
    STATISTICS,
    Workspace,
    count_frames,
    frame_families,
    frame_features,
    pool_segments,
    time_segments,
)
from sklearn_mbm._extractors._base import _BaseExtractor, substitute
from sklearn_mbm._io import load_audio_cell, thread_count

__all__ = ["AudioFeatureExtractor"]

# Clips per batch of the batch loop (read in n_jobs threads, one batch ahead
# of the features): memory holds two batches of clips, however many. On 1,000
# FSDD clips the features took 0.14-0.16 s of CPU time with 16 to 1,000 clips
# per batch, no trend (a batch is split into groups of _FRAME_BATCH frames).
_CLIPS_PER_BATCH = 32
# Frames per feature batch (about 40 FSDD clips): bounds memory to the batch's
# spectra (2048 x (n_fft // 2 + 1) complex128, 6.6 MB at 25 ms / 16 kHz) and
# signal, whatever the number of clips. On 3,000 FSDD clips 1024 frames were
# 5 % slower and 4096 2 % faster (within noise).
_FRAME_BATCH = 2048


def _as_option_tuple(value, options, name):
    """Validate a str or sequence of str against ``options``; return a tuple."""
    values = (value,) if isinstance(value, str) else tuple(value)
    if not values:
        raise ValueError(f"{name} must name at least one of {options}, got {value!r}.")
    unknown = [item for item in values if item not in options]
    if unknown:
        raise ValueError(f"{name} has unknown entries {unknown!r}; allowed: {options}.")
    duplicated = sorted({item for item in values if values.count(item) > 1})
    if duplicated:
        raise ValueError(f"{name} lists {duplicated!r} more than once.")
    return values


@substitute("on_error", "verbose")
class AudioFeatureExtractor(_BaseExtractor):
    """Turn a column of audio cells into fixed-length clip features.

    Each clip is loaded, downmixed to mono and resampled to ``sr``; it is cut
    into overlapping frames of ``frame_length`` seconds every ``frame_step``
    seconds, frame-level features are computed, and each feature is pooled
    over the clip's own frames into the statistics ``stats``. The features
    equal librosa's (``librosa.feature.mfcc``, ``delta``,
    ``spectral_centroid``, ...; see Notes) but are computed for a batch of
    clips at once: one FFT, one mel product and one DCT per batch.

    Parameters
    ----------
    sr : float, default=16000
        Sample rate (Hz) all clips are resampled to before analysis.

    n_mfcc : int, default=20
        Number of MFCCs (at most ``n_mels``).

    n_mels : int, default=40
        Number of mel bands (Slaney mel filters up to ``sr / 2``).

    frame_length : float, default=0.025
        Frame (window and FFT) length in seconds:
        ``n_fft = win_length = round(frame_length * sr)`` samples (400 at
        16 kHz). It is not rounded up to a power of two: the FFT handles any
        size, and the window then spans exactly the frame.

    frame_step : float, default=0.010
        Hop between frames in seconds: ``hop_length = round(frame_step * sr)``.

    features : tuple of str, default=("mfcc", "delta", "spectral")
        Frame-level feature families, in output order:

        - ``"mfcc"``: ``n_mfcc`` MFCCs (``mfcc0`` ... ).
        - ``"delta"``: their first derivative over time (``delta_mfcc0`` ...).
        - ``"delta2"``: their second derivative (``delta2_mfcc0`` ...).
        - ``"spectral"``: ``spectral_centroid``, ``spectral_bandwidth``,
          ``spectral_rolloff`` (85 %), ``spectral_flatness``,
          ``zero_crossing_rate`` and ``rms``.
        - ``"logmel"``: ``n_mels`` log-mel energies in dB (``logmel0`` ...).

    stats : tuple of str, default=("mean", "std")
        Statistics of each frame-level feature over a clip's frames, among
        ``"mean"``, ``"std"`` (population, ``ddof=0``), ``"min"``, ``"max"``
        and ``"median"``.

    n_segments : int, default=3
        Also pool each clip's frames over this many equal time segments. With
        ``k > 1`` the output holds the whole-clip statistics (as with
        ``n_segments=1``, unchanged) followed by the same statistics over
        each of ``k`` consecutive segments of the clip's own frames
        (``mfcc0_mean_seg1``, ...), so the features keep the order of the
        sounds. ``n_segments=1`` gives the whole-clip statistics alone. The
        segments divide each clip's own frames, whatever its length; see
        Notes for clips with fewer frames than segments.

        .. versionchanged:: 0.1
           The default changed from 1 to 3: on spoken digits with unseen
           speakers (``benchmarks/bench_n_segments.py``) 3 segments raise a
           linear model's accuracy from 0.640 to 0.745, the best of 1 to 6
           (see the user guide). Pass ``n_segments=1`` for the former 92
           whole-clip features.

    input_sr : float, default=None
        Sample rate of cells given as bare numpy waveforms. Required for them
        (a clear error otherwise); files, bytes and ``(waveform,
        sample_rate)`` tuples carry their own rate.

    n_jobs : int, default=None
        Threads that read and resample files, and run the FFTs. ``None``
        means 1, ``-1`` all cores (joblib's convention).

    {on_error}

    {verbose}

    Attributes
    ----------
    n_fft_ : int
        Frame length in samples.

    hop_length_ : int
        Hop between frames in samples.

    n_features_out_ : int
        Number of output features.

    See Also
    --------
    sklearn_mbm.ImageFeatureExtractor : The same for images.
    sklearn_mbm.TextFeatureExtractor : The same for texts.
    sklearn_mbm.FusionTransformer : Fuse these features with other modalities.

    Notes
    -----
    Audio cells may be file paths, encoded bytes, 1-D or 2-D numpy waveforms,
    or ``(waveform, sample_rate)`` tuples; a 2-D waveform's channel axis is its
    shorter one and integer PCM is scaled to [-1, 1). See :ref:`data_model`
    for every form a cell may take.

    Frames follow librosa's conventions: ``center=True`` with zero padding of
    ``n_fft // 2`` samples on both sides of each clip (edge padding for the
    zero-crossing rate, as librosa), a periodic Hann window, power spectrum,
    ``power_to_db(ref=1, amin=1e-10, top_db=80)`` with the 80 dB floor taken
    from each clip's own maximum, a type-2 orthonormal DCT, and
    ``librosa.feature.delta(width=9, mode="interp")`` per clip, so the
    frame-level features equal those of ``librosa.feature.*`` called on each
    clip (to float64 rounding; librosa computes ``rms`` in float32).

    A clip gives ``1 + len // hop_length`` frames (even ``n_fft``), so a clip
    shorter than one frame still gives one zero-padded frame and finite
    features. librosa's delta refuses clips of fewer than 9 frames; here
    such a clip uses the largest odd filter width that fits, and a delta of 0
    when that width is too small for the derivative (1 frame for ``delta``, 1
    or 2 frames for ``delta2``). Silent clips give finite features (a
    centroid, bandwidth and roll-off of 0 and a flatness of 1, as librosa).
    Statistics are taken over each clip's own frames, never over padding.

    Time segment ``j`` (from 1) of a clip of ``n`` frames holds frames
    ``floor((j - 1) n / k)`` to ``floor(j n / k) - 1`` (the last takes the
    remainder, so segments differ by at most one frame). A clip with fewer
    frames than segments (``n < k``, e.g. a clip under 20 ms for ``k=3``
    at the default 10 ms step) leaves some segments without a frame of their
    own; such a segment takes the one frame whose time span contains it
    (frame ``floor((j - 1) n / k)``), so its mean, min, max and median are
    that frame's values and its std is 0: finite, and the segments still
    follow the clip in time.

    Clips are read in batches of 32 (in ``n_jobs`` threads, the next batch
    while the features of the current one are computed) and their features
    computed per group of at most about 2,000 frames, so memory stays bounded
    whatever the number of clips. Inside a batch the clips are laid out on one
    hop-aligned signal, so all frames form one strided view; the batch needs a
    single FFT, mel product and DCT, not one librosa call per clip and feature.

    Output columns are grouped by family, then statistic, then coefficient:
    ``mfcc0_mean ... mfcc19_mean, mfcc0_std, ..., delta_mfcc0_mean, ...``;
    with segments, the whole-clip block comes first, then one block in the
    same layout per segment (``mfcc0_mean_seg1 ...``). The feature names
    (:meth:`get_feature_names_out`) are ``"{feature}_{stat}"``, e.g.
    ``mfcc3_mean``, ``delta_mfcc3_std``, ``spectral_centroid_mean``,
    ``logmel7_max``, MFCCs and mel bands numbered from 0, then with
    ``n_segments=k > 1`` ``"{feature}_{stat}_seg{j}"`` for each time segment
    ``j = 1 .. k`` in time order (e.g. ``mfcc3_mean_seg2``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm import AudioFeatureExtractor
    >>> t = np.arange(8000) / 8000
    >>> clips = [np.sin(2 * np.pi * f * t) for f in (220.0, 440.0)]
    >>> extractor = AudioFeatureExtractor(input_sr=8000, n_segments=1)
    >>> features = extractor.fit_transform(clips)
    >>> features.shape
    (2, 92)
    >>> extractor.get_feature_names_out()[[0, 40, 80]].tolist()
    ['mfcc0_mean', 'delta_mfcc0_mean', 'spectral_centroid_mean']

    By default the statistics are also taken over 3 time segments, keeping
    the order of sounds:

    >>> segmented = AudioFeatureExtractor(input_sr=8000)
    >>> segmented.fit_transform(clips).shape
    (2, 368)
    >>> segmented.get_feature_names_out()[[92, 184, 367]].tolist()
    ['mfcc0_mean_seg1', 'mfcc0_mean_seg2', 'rms_std_seg3']
    """

    _unit = "clip"

    _parameter_constraints: dict = {
        **_BaseExtractor._parameter_constraints,
        "sr": [Interval(numbers.Real, 0, None, closed="neither")],
        "n_mfcc": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_mels": [Interval(numbers.Integral, 1, None, closed="left")],
        "frame_length": [Interval(numbers.Real, 0, None, closed="neither")],
        "frame_step": [Interval(numbers.Real, 0, None, closed="neither")],
        "features": [tuple, list, StrOptions(set(FEATURE_FAMILIES))],
        "stats": [tuple, list, StrOptions(set(STATISTICS))],
        "n_segments": [Interval(numbers.Integral, 1, None, closed="left")],
        "input_sr": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        sr=16000,
        n_mfcc=20,
        n_mels=40,
        frame_length=0.025,
        frame_step=0.010,
        features=("mfcc", "delta", "spectral"),
        stats=("mean", "std"),
        n_segments=3,
        input_sr=None,
        n_jobs=None,
        on_error="raise",
        verbose=False,
    ):
        self.sr = sr
        self.n_mfcc = n_mfcc
        self.n_mels = n_mels
        self.frame_length = frame_length
        self.frame_step = frame_step
        self.features = features
        self.stats = stats
        self.n_segments = n_segments
        self.input_sr = input_sr
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose

    def _fit(self, cells):
        """Fix the frame sizes and the output layout; no audio is read.

        The features are fixed functions of each clip, so fitting learns
        nothing from the data.
        """
        features = _as_option_tuple(self.features, FEATURE_FAMILIES, "features")
        stats = _as_option_tuple(self.stats, STATISTICS, "stats")
        uses_mfcc = bool({"mfcc", "delta", "delta2"} & set(features))
        if uses_mfcc and self.n_mfcc > self.n_mels:
            raise ValueError(
                f"n_mfcc={self.n_mfcc} cannot exceed n_mels={self.n_mels}: the "
                "MFCCs are the DCT of the n_mels log-mel energies."
            )
        n_fft = round(self.frame_length * self.sr)
        hop_length = round(self.frame_step * self.sr)
        if n_fft < 2:
            raise ValueError(
                f"frame_length={self.frame_length} s at sr={self.sr} Hz is "
                f"{n_fft} sample(s); a frame needs at least 2."
            )
        if hop_length < 1:
            raise ValueError(
                f"frame_step={self.frame_step} s at sr={self.sr} Hz rounds to 0 "
                "samples; it must be at least one sample."
            )
        self.n_fft_ = n_fft
        self.hop_length_ = hop_length
        self._features = features
        self._stats = stats
        self.n_features_out_ = len(self._feature_names())

    def _load_cell(self, cell, index):
        """The clip as a mono float waveform at ``sr``."""
        return load_audio_cell(cell, index, self.sr, self.input_sr)

    def _cells_per_batch(self):
        return _CLIPS_PER_BATCH

    def _batch_context(self):
        """The window, mel filters, column order, threads and workspace."""
        return (
            librosa.filters.get_window("hann", self.n_fft_, fftbins=True),
            librosa.filters.mel(sr=self.sr, n_fft=self.n_fft_, n_mels=self.n_mels),
            self._column_order(),
            thread_count(self.n_jobs),
            Workspace(),
        )

    def _run_batch(self, context, clips):
        """Pooled features of the clips, computed per batch of frames."""
        window, mel_basis, order, n_threads, workspace = context
        return np.vstack(
            [
                self._pooled_features(
                    [clips[i] for i in batch], window, mel_basis, n_threads, workspace
                )[:, order]
                for batch, _ in self._frame_batches(clips)
            ]
        )

    def _frame_batches(self, clips):
        """Split clips into consecutive batches of at most ``_FRAME_BATCH`` frames.

        Yields ``(clip indices, frame count)``; a clip longer than the budget
        forms a batch of its own.
        """
        lengths = [clip.shape[0] for clip in clips]
        n_frames = count_frames(lengths, self.n_fft_, self.hop_length_)
        batch, total = [], 0
        for i, count in enumerate(n_frames):
            if batch and total + count > _FRAME_BATCH:
                yield batch, total
                batch, total = [], 0
            batch.append(i)
            total += count
        if batch:
            yield batch, total

    def _pooled_features(self, clips, window, mel_basis, n_threads, workspace=None):
        """Pooled statistics of a batch: (n_clips, n_stats * n_frame_columns)."""
        blocks, n_frames = frame_features(
            clips,
            sr=self.sr,
            n_fft=self.n_fft_,
            hop_length=self.hop_length_,
            window=window,
            mel_basis=mel_basis,
            n_mfcc=self.n_mfcc,
            families=frame_families(self._features),
            workers=n_threads,
            workspace=workspace,
        )
        values = np.hstack([blocks[family] for family in self._features])
        pooled = pool_segments(values, n_frames, self._stats)
        parts = [np.hstack([pooled[stat] for stat in self._stats])]
        if self.n_segments > 1:
            rows, counts = time_segments(n_frames, self.n_segments)
            segment_values = values if rows is None else values[rows]
            by_segment = pool_segments(segment_values, counts, self._stats)
            n_clips, k = len(n_frames), self.n_segments
            stacked = np.hstack([by_segment[stat] for stat in self._stats])
            # rows are clip-major: (clip, segment) -> segment blocks side by side
            parts.append(stacked.reshape(n_clips, k * stacked.shape[1]))
        return np.hstack(parts)

    def _family_columns(self):
        """Frame-level column names of each requested family, in order."""
        names = {
            "mfcc": [f"mfcc{i}" for i in range(self.n_mfcc)],
            "delta": [f"delta_mfcc{i}" for i in range(self.n_mfcc)],
            "delta2": [f"delta2_mfcc{i}" for i in range(self.n_mfcc)],
            "spectral": list(SPECTRAL_FEATURES),
            "logmel": [f"logmel{i}" for i in range(self.n_mels)],
        }
        return [(family, names[family]) for family in self._features]

    def _column_order(self):
        """Map the pooled layout to the output's.

        Pooled: per block (the whole clip, then each segment), stat then frame
        column. Output: per block, family, then stat, then column.
        """
        families = self._family_columns()
        width = sum(len(columns) for _, columns in families)
        order, first = [], 0
        for _, columns in families:
            for s in range(len(self._stats)):
                order.extend(s * width + first + np.arange(len(columns)))
            first += len(columns)
        block = np.asarray(order, dtype=np.intp)
        n_blocks = 1 if self.n_segments == 1 else 1 + self.n_segments
        return np.concatenate([b * block.size + block for b in range(n_blocks)])

    def _feature_names(self):
        names = [
            f"{column}_{stat}"
            for _, columns in self._family_columns()
            for stat in self._stats
            for column in columns
        ]
        if self.n_segments == 1:
            return names
        return names + [
            f"{name}_seg{segment}"
            for segment in range(1, self.n_segments + 1)
            for name in names
        ]

    def _rows_are_independent(self):
        # each clip is framed, transformed and pooled on its own rows of the
        # batch (tests/test_audio.py checks subsets against the whole, bit for
        # bit), and fit reads no audio
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a 1-D column of cells (paths are strings)
        tags.input_tags.one_d_array = True
        tags.input_tags.string = True
        # the features are float32 (the schema sklearn_mbm.distributed gives)
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags
