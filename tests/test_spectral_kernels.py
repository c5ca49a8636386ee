"""Tests for ``sklearn_mbm._extractors._spectral_kernels``: one-pass spectral
reductions.

The reference is librosa itself, called on spectrograms
(``librosa.feature.spectral_*(S=...)``), and numpy's dense mel product.
"""

from pathlib import Path

import librosa
import numpy as np
import pytest
import scipy.fft
import soundfile

from sklearn_mbm._extractors._spectral_kernels import (
    _TILE,
    reduce_spectra,
    sparse_mel,
    window_taps,
)

FSDD = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd" / "recordings"
SR, N_FFT, HOP = 16000, 400, 160
FREQ = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
MEL = librosa.filters.mel(sr=SR, n_fft=N_FFT, n_mels=40)


def _spectrum(y):
    """(n_frames, n_bins) one-sided spectra, librosa's framing and window."""
    return librosa.stft(y, n_fft=N_FFT, hop_length=HOP, pad_mode="constant").T


def _librosa_reference(spectrum):
    magnitude = np.abs(spectrum).T
    kw = {"sr": SR, "n_fft": N_FFT, "hop_length": HOP}
    shape = np.vstack(
        [
            librosa.feature.spectral_centroid(S=magnitude, **kw),
            librosa.feature.spectral_bandwidth(S=magnitude, **kw),
            librosa.feature.spectral_rolloff(S=magnitude, **kw),
            librosa.feature.spectral_flatness(S=magnitude, power=2.0),
        ]
    ).T
    mel = (magnitude.T**2) @ MEL.T.astype(np.float64)
    return mel, shape


def _clip():
    if FSDD.is_dir():
        y, rate = soundfile.read(FSDD / "7_jackson_12.wav", dtype="float64")
        return librosa.resample(y, orig_sr=rate, target_sr=SR)
    rng = np.random.default_rng(0)  # a chirp in noise when the data is absent
    t = np.arange(SR // 2) / SR
    return np.sin(2 * np.pi * (300 + 3000 * t) * t) + 0.01 * rng.normal(size=t.size)


def test_matches_librosa_on_a_recording():
    spectrum = _spectrum(_clip())
    rows = np.arange(spectrum.shape[0])
    mel, shape = reduce_spectra(
        spectrum, rows, freq=FREQ, mel=sparse_mel(MEL), shape=True
    )
    expected_mel, expected_shape = _librosa_reference(spectrum)
    np.testing.assert_allclose(mel, expected_mel, rtol=1e-12, atol=0)
    # centroid, bandwidth, flatness to rounding; roll-off is a bin frequency
    np.testing.assert_allclose(
        shape[:, [0, 1, 3]], expected_shape[:, [0, 1, 3]], rtol=1e-10
    )
    np.testing.assert_array_equal(shape[:, 2], expected_shape[:, 2])


@pytest.mark.parametrize("n_rows", [0, 1, _TILE - 1, _TILE, _TILE + 1, 3 * _TILE + 5])
def test_row_selection_and_partial_tiles(n_rows):
    """Rows come out in the order asked, whatever the tile boundaries."""
    spectrum = _spectrum(_clip())
    rng = np.random.default_rng(n_rows)
    rows = rng.integers(0, spectrum.shape[0], size=n_rows)
    mel, shape = reduce_spectra(
        spectrum, rows, freq=FREQ, mel=sparse_mel(MEL), shape=True
    )
    all_mel, all_shape = reduce_spectra(
        spectrum,
        np.arange(spectrum.shape[0]),
        freq=FREQ,
        mel=sparse_mel(MEL),
        shape=True,
    )
    assert mel.shape == (n_rows, 40) and shape.shape == (n_rows, 4)
    np.testing.assert_array_equal(mel, all_mel[rows])
    np.testing.assert_array_equal(shape, all_shape[rows])


def test_silent_frames_are_finite_like_librosa():
    spectrum = np.zeros((5, N_FFT // 2 + 1), dtype=np.complex128)
    mel, shape = reduce_spectra(
        spectrum, np.arange(5), freq=FREQ, mel=sparse_mel(MEL), shape=True
    )
    expected_mel, expected_shape = _librosa_reference(spectrum)
    np.testing.assert_array_equal(mel, 0.0)
    # centroid 0, bandwidth 0, roll-off at the first bin, flatness 1
    np.testing.assert_array_equal(shape[:, :3], 0.0)
    np.testing.assert_allclose(shape[:, 3], 1.0, rtol=1e-14)
    np.testing.assert_allclose(shape, expected_shape, rtol=1e-12)


def test_pure_tone_and_extreme_levels():
    """A pure tone (bandwidth near 0) and samples near the loader's 1e12 cap."""
    t = np.arange(SR // 4) / SR
    tone = np.sin(2 * np.pi * 1000 * t)
    for scale in (1e-6, 1.0, 1e12):
        spectrum = _spectrum(scale * tone)
        _, shape = reduce_spectra(
            spectrum, np.arange(spectrum.shape[0]), freq=FREQ, shape=True
        )
        _, expected = _librosa_reference(spectrum)
        assert np.all(np.isfinite(shape))
        np.testing.assert_allclose(shape[:, 0], expected[:, 0], rtol=1e-10)
        np.testing.assert_allclose(shape[:, 1], expected[:, 1], rtol=1e-8, atol=1e-6)
        np.testing.assert_array_equal(shape[:, 2], expected[:, 2])
        np.testing.assert_allclose(shape[:, 3], expected[:, 3], rtol=1e-10)


def test_flatness_of_white_noise_and_of_extreme_dynamic_range():
    rng = np.random.default_rng(1)
    noise = scipy.fft.rfft(rng.normal(size=(40, N_FFT)), axis=1)
    # bins spanning 1e-30 .. 1e28 in power: the mantissa product must not
    # overflow nor the exponents lose precision
    wild = noise * np.logspace(-15, 14, N_FFT // 2 + 1)
    for spectrum in (noise, wild):
        _, shape = reduce_spectra(spectrum, np.arange(40), freq=FREQ, shape=True)
        _, expected = _librosa_reference(spectrum)
        np.testing.assert_allclose(shape[:, 3], expected[:, 3], rtol=1e-10)


def test_parts_on_request():
    spectrum = _spectrum(_clip())[:10]
    rows = np.arange(10)
    mel, shape = reduce_spectra(spectrum, rows, freq=FREQ, mel=sparse_mel(MEL))
    assert shape is None and mel.shape == (10, 40)
    mel, shape = reduce_spectra(spectrum, rows, freq=FREQ, shape=True)
    assert mel is None and shape.shape == (10, 4)


def test_sparse_mel_is_the_dense_bank():
    indptr, bins, weights = sparse_mel(MEL)
    dense = np.zeros(MEL.shape)
    for band in range(MEL.shape[0]):
        span = slice(indptr[band], indptr[band + 1])
        dense[band, bins[span]] = weights[span]
    np.testing.assert_array_equal(dense, MEL.astype(np.float64))
    assert bins.size == np.count_nonzero(MEL)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("hann", [-0.25, 0.5, -0.25]),
        ("hamming", [-0.23, 0.54, -0.23]),
        ("boxcar", [1.0]),
    ],
)
@pytest.mark.parametrize("n_fft", [400, 551])
def test_window_taps_of_cosine_sum_windows(name, expected, n_fft):
    window = librosa.filters.get_window(name, n_fft, fftbins=True)
    np.testing.assert_allclose(window_taps(window), expected, atol=1e-15)


def test_window_taps_refuses_other_windows():
    n_fft = 400
    assert window_taps(librosa.filters.get_window("blackman", n_fft)) is not None
    assert (
        window_taps(librosa.filters.get_window("blackman", n_fft), max_half=1) is None
    )
    assert window_taps(librosa.filters.get_window(("kaiser", 8.0), n_fft)) is None
    # symmetric (fftbins=False) Hann is not a periodic cosine sum
    assert window_taps(librosa.filters.get_window("hann", n_fft, fftbins=False)) is None
    rng = np.random.default_rng(0)
    assert window_taps(rng.uniform(size=n_fft)) is None


@pytest.mark.parametrize("name", ["hann", "hamming", "blackman"])
@pytest.mark.parametrize("n_fft", [400, 551, 64])
def test_taps_on_plain_frames_equal_windowed_frames(name, n_fft):
    """Windowing the spectra equals windowing the frames, edge bins included."""
    rng = np.random.default_rng(n_fft)
    frames = rng.normal(size=(37, n_fft)) * np.logspace(-3, 1, 37)[:, None]
    frames[5] = 0.0  # a silent frame
    window = librosa.filters.get_window(name, n_fft, fftbins=True)
    freq = librosa.fft_frequencies(sr=SR, n_fft=n_fft)
    mel = sparse_mel(librosa.filters.mel(sr=SR, n_fft=n_fft, n_mels=16))
    rows = np.arange(37)
    tapped = reduce_spectra(
        scipy.fft.rfft(frames, axis=1),
        rows,
        taps=window_taps(window),
        n_fft=n_fft,
        freq=freq,
        mel=mel,
        shape=True,
    )
    windowed = reduce_spectra(
        scipy.fft.rfft(frames * window, axis=1), rows, freq=freq, mel=mel, shape=True
    )
    np.testing.assert_allclose(tapped[0], windowed[0], rtol=1e-11, atol=0)
    np.testing.assert_allclose(tapped[1], windowed[1], rtol=1e-10, atol=1e-12)


def test_taps_need_n_fft():
    spectrum = np.ones((2, 5), dtype=complex)
    with pytest.raises(ValueError, match="n_fft is required"):
        reduce_spectra(spectrum, np.arange(2), freq=np.arange(5.0), taps=np.ones(3))


def test_kernels_compile_without_a_writable_cache(monkeypatch):
    """Where numba finds no cache folder, kernels are compiled uncached."""
    import numba

    from sklearn_mbm._extractors import _spectral_kernels

    real_njit = numba.njit
    calls = []

    def njit(**options):
        calls.append(options.get("cache", False))
        if options.get("cache"):
            raise RuntimeError("cannot cache function: no locator available")
        return real_njit(**options)

    monkeypatch.setattr(numba, "njit", njit)

    def double(x):
        return 2 * x

    kernel = _spectral_kernels._jit(double)
    assert calls == [True, False]
    assert kernel(21) == 42
