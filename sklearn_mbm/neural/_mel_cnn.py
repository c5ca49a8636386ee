"""The ``"mel_cnn"`` branch's network: log-mel frame sequences through Conv1D.

:func:`audio_frames` turns waveforms into padded log-mel frame sequences with
the package's batched kernels (:func:`sklearn_mbm._extractors._audio_features
.frame_features`, the same frames as ``librosa.feature.melspectrogram`` then
``power_to_db``), one clip's frames after another, zero-padded to the longest
clip. :func:`build_mel_cnn` encodes such a sequence into one vector:
convolutions over time, then the mean and the maximum over each clip's own
frames (padding masked out), so clips of any length are compared on their
sounds, not on their silence.

Keras is imported by the caller and passed in; this module imports no
TensorFlow at import time.
"""

import functools

import numpy as np

from sklearn_mbm._extractors._audio_features import count_frames, frame_features

__all__ = ["audio_frames", "build_mel_cnn", "mel_cnn_layers"]

#: Mel bands per frame.
N_MELS = 40
# Frames per feature batch, as AudioFeatureExtractor: bounds the memory of the
# spectra whatever the number of clips.
_FRAME_BATCH = 2048


def audio_frames(
    waveforms,
    *,
    sr,
    n_mels=N_MELS,
    frame_length=0.025,
    frame_step=0.010,
    max_frames=None,
    normalize="clip",
):
    """Log-mel frame sequences of waveforms, zero-padded to a common length.

    Parameters
    ----------
    waveforms : list of ndarray of shape (n_samples_i,)
        Finite mono float64 waveforms at ``sr`` Hz.
    sr : float
        Their sample rate.
    n_mels : int, default=40
        Mel bands per frame.
    frame_length, frame_step : float, default=0.025, 0.010
        Frame length and hop in seconds (as :class:`AudioFeatureExtractor`).
    max_frames : int or None, default=None
        Keep at most this many frames of each clip (its first ones); None
        keeps all and pads to the longest clip.
    normalize : {"clip", None}, default="clip"
        ``"clip"`` subtracts each clip's mean log-mel frame over its own
        frames (cepstral mean normalisation: a speaker's or microphone's
        constant spectral colour is removed), ``None`` keeps the dB values.

    Returns
    -------
    frames : ndarray of shape (n_clips, n_frames_max, n_mels), float32
        Clip ``i``'s frames in rows ``:n_frames[i]``, zeros after.
    n_frames : ndarray of shape (n_clips,)
        Frames kept per clip (at least 1).
    """
    import librosa

    n_fft = round(frame_length * sr)
    hop_length = round(frame_step * sr)
    window = librosa.filters.get_window("hann", n_fft, fftbins=True)
    mel_basis = librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels)
    lengths = [w.shape[0] for w in waveforms]
    counts = count_frames(lengths, n_fft, hop_length)
    if max_frames is not None:
        counts = np.minimum(counts, max_frames)
    out = np.zeros((len(waveforms), int(counts.max(initial=1)), n_mels), np.float32)
    start = 0
    while start < len(waveforms):
        # one batch of clips holding about _FRAME_BATCH frames
        stop, total = start, 0
        while stop < len(waveforms) and (stop == start or total < _FRAME_BATCH):
            total += count_frames(lengths[stop], n_fft, hop_length)
            stop += 1
        blocks, n_frames = frame_features(
            list(waveforms[start:stop]),
            sr=sr,
            n_fft=n_fft,
            hop_length=hop_length,
            window=window,
            mel_basis=mel_basis,
            n_mfcc=n_mels,
            families=("logmel",),
        )
        log_mel = blocks["logmel"]
        offset = 0
        for i, n in zip(range(start, stop), n_frames):
            clip = log_mel[offset : offset + min(n, counts[i])]
            if normalize == "clip":
                clip = clip - clip.mean(axis=0)
            out[i, : clip.shape[0]] = clip
            offset += n
        start = stop
    return out, counts


@functools.cache
def mel_cnn_layers():
    """Define (once) and return the branch's custom layers as a dict by name."""
    from sklearn_mbm._keras import import_keras

    keras = import_keras()
    ops = keras.ops

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class MaskedTemporalPooling(keras.layers.Layer):
        """Mean and max of a sequence over its real frames, padding masked.

        ``call(features, frames)``: ``frames`` is the raw zero-padded input,
        whose all-zero rows are padding (a real log-mel frame, less its
        clip's mean, is never all zero); ``features`` its encoding, of the
        same length. A clip with no real frame gives zeros.
        """

        def call(self, features, frames):
            mask = ops.cast(ops.any(ops.not_equal(frames, 0.0), axis=-1), "float32")
            mask = ops.expand_dims(mask, -1)
            count = ops.sum(mask, axis=1)
            mean = ops.sum(features * mask, axis=1) / ops.maximum(count, 1.0)
            lowest = ops.min(features, axis=1, keepdims=True)
            masked = features * mask + (lowest - 1.0) * (1.0 - mask)
            peak = ops.max(masked, axis=1) * ops.cast(count > 0, "float32")
            return ops.concatenate([mean, peak], axis=-1)

        def compute_output_shape(self, features_shape, frames_shape):
            return (features_shape[0], 2 * features_shape[-1])

    return {"MaskedTemporalPooling": MaskedTemporalPooling}


def build_mel_cnn(
    keras, frames_input, *, filters=64, kernel_size=5, n_blocks=2, index=0
):
    """Encode a padded frame sequence ``(time, n_mels)`` into one vector.

    ``n_blocks`` Conv1D layers (``filters`` channels, ``kernel_size`` frames,
    ReLU, batch normalisation, "same" padding so frames keep their place),
    then :class:`MaskedTemporalPooling`: the mean and the max of each channel
    over the clip's own frames. Output width ``2 * filters``.
    """
    x = frames_input
    for block in range(n_blocks):
        x = keras.layers.Conv1D(
            filters,
            kernel_size,
            padding="same",
            name=f"modality_{index}_conv{block}",
        )(x)
        x = keras.layers.BatchNormalization(name=f"modality_{index}_bn{block}")(x)
        x = keras.layers.Activation("relu", name=f"modality_{index}_relu{block}")(x)
    pooling = mel_cnn_layers()["MaskedTemporalPooling"](name=f"modality_{index}_pool")
    return pooling(x, frames_input)
