"""AudioEmbedder: Whisper encoder states pooled over each clip's own frames."""

import math
import numbers

import numpy as np

from sklearn_mbm._compat import Interval, StrOptions
from sklearn_mbm._extractors._base import substitute
from sklearn_mbm._io import load_audio_cell
from sklearn_mbm.pretrained._base import _BaseEmbedder
from sklearn_mbm.pretrained._hub import predict_function

__all__ = ["AudioEmbedder"]


@substitute("on_error", "verbose")
class AudioEmbedder(_BaseEmbedder):
    """Embed audio cells with a pretrained KerasHub audio encoder (Whisper).

    Each cell is loaded (the same cells as
    :class:`~sklearn_mbm.AudioFeatureExtractor`: paths, bytes, waveforms,
    ``(waveform, rate)`` tuples), resampled to the preset's rate, padded to
    the converter's fixed window (30 s for Whisper) and turned into a log-mel
    spectrogram by the preset's audio converter; the encoder's states are
    pooled over the frames that cover the clip itself, never over the
    padding. A clip longer than the window is not cut: it is split into
    consecutive windows, and the pooling runs over the clip's frames of all
    of them.

    Parameters
    ----------
    preset : str or os.PathLike
        A KerasHub Whisper preset name (``"whisper_tiny_en"``, ...), an
        ``hf://`` or ``kaggle://`` URI, or a local preset directory (what
        ``save_to_preset`` writes). Loaded lazily at ``fit``, once per
        process.
    pooling : {"mean", "max"}, default="mean"
        Mean or element-wise maximum of the encoder states over the clip's
        own frames.
    batch_size : int, default=8
        Windows per encoder call. A window is always the converter's full
        length, so memory grows with ``batch_size``, not with the number or
        length of the clips.
    input_sr : float or None, default=None
        Sample rate of cells given as bare numpy waveforms (required for
        them, as for AudioFeatureExtractor).
    n_jobs : int or None, default=None
        Threads that read and resample clips while the encoder runs.
        ``None`` means 1.
    {on_error}
    {verbose}

    Attributes
    ----------
    backbone_family_ : str
        ``"whisper"``: the prefix of the feature names.
    sampling_rate_ : float
        Rate clips are resampled to, from the preset's converter.
    window_length_ : int
        Samples per window (the converter's fixed input length).
    hop_length_ : int
        Samples per spectrogram frame (the converter's stride).
    frames_per_window_ : int
        Encoder states per window (the spectrogram frames, after the
        encoder's own downsampling).
    preset_fingerprint_ : str
        Digest of the preset folder's files at fit.
    n_features_out_ : int
        Width of an embedding.

    See Also
    --------
    sklearn_mbm.AudioFeatureExtractor : MFCC statistics, no model.

    Notes
    -----
    A clip of ``n`` samples covers ``ceil(n / hop_length_)`` spectrogram
    frames of its window, and the matching share of the encoder's states
    (``frames_per_window_`` per window): those are pooled. The log-mel
    floor of Whisper's converter is taken per window. A fitted embedder
    pickles without its weights and reloads its preset on first use. See
    :ref:`pretrained`.

    Examples
    --------
    >>> from sklearn_mbm.pretrained import AudioEmbedder
    >>> embedder = AudioEmbedder("whisper_tiny_en")  # doctest: +SKIP
    >>> embedder.fit_transform(["seven.wav"]).shape  # doctest: +SKIP
    (1, 384)
    """

    _kind = "audio"
    _unit = "clip"

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "pooling": [StrOptions({"mean", "max"})],
        "input_sr": [Interval(numbers.Real, 0, None, closed="neither"), None],
    }

    def __init__(
        self,
        preset,
        *,
        pooling="mean",
        batch_size=8,
        input_sr=None,
        n_jobs=None,
        on_error="raise",
        verbose=False,
    ):
        self.preset = preset
        self.pooling = pooling
        self.batch_size = batch_size
        self.input_sr = input_sr
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose

    @staticmethod
    def _load_parts(keras_hub, preset):
        import keras

        backbone = keras_hub.models.Backbone.from_preset(preset)
        inputs, outputs = backbone.input, backbone.output
        if not (isinstance(inputs, dict) and "encoder_features" in inputs):
            raise ValueError(
                f"preset {preset!r} holds a {type(backbone).__name__}; "
                "AudioEmbedder needs an audio encoder that takes log-mel "
                "'encoder_features' (a Whisper preset)."
            )
        converter = keras_hub.layers.AudioConverter.from_preset(preset)
        encoder = keras.Model(
            inputs["encoder_features"], outputs["encoder_sequence_output"]
        )
        return {
            "backbone": backbone,
            "converter": converter,
            "model": encoder,
            "predict": predict_function(encoder),
        }

    def _configure(self, parts):
        import keras

        converter = parts["converter"]
        self.sampling_rate_ = float(converter.sampling_rate)
        self.window_length_ = int(converter.num_samples)
        self.hop_length_ = int(converter.stride)
        blank = np.zeros((1, self.window_length_), dtype=np.float32)
        features = keras.ops.convert_to_numpy(converter(blank))
        states = parts["predict"](features)
        self._mel_frames = int(features.shape[1])
        self.frames_per_window_ = int(states.shape[1])
        self.n_features_out_ = int(states.shape[-1])

    def _load_cell(self, cell, index):
        return load_audio_cell(cell, index, self.sampling_rate_, self.input_sr)

    def _windows(self, waveform):
        """``(window, n_own_states)`` pairs covering the whole clip."""
        size = self.window_length_
        for start in range(0, waveform.shape[0], size):
            piece = waveform[start : start + size]
            mel = min(self._mel_frames, math.ceil(piece.shape[0] / self.hop_length_))
            own = math.ceil(mel * self.frames_per_window_ / self._mel_frames)
            window = np.zeros(size, dtype=np.float32)
            window[: piece.shape[0]] = piece
            yield window, max(1, own)

    def _prepare_batch(self, parts, values):
        import keras

        windows, owners, owns = [], [], []
        for clip, waveform in enumerate(values):
            for window, own in self._windows(waveform):
                windows.append(window)
                owners.append(clip)
                owns.append(own)
        features = [
            keras.ops.convert_to_numpy(
                parts["converter"](np.stack(windows[start : start + self.batch_size]))
            )
            for start in range(0, len(windows), self.batch_size)
        ]
        return features, owners, owns

    def _run_batch(self, parts, inputs):
        features, owners, owns = inputs
        states = [row for chunk in features for row in parts["predict"](chunk)]
        n_clips = owners[-1] + 1
        out = np.empty((n_clips, self.n_features_out_), dtype=np.float32)
        owners = np.asarray(owners)
        for clip in range(n_clips):
            frames = np.concatenate(
                [states[w][: owns[w]] for w in np.flatnonzero(owners == clip)]
            )
            out[clip] = frames.max(axis=0) if self.pooling == "max" else frames.mean(0)
        return out
