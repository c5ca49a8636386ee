"""Compiled per-frame reductions of a batch of spectra (numba).

After the batched FFT, every feature but the MFCC pipeline reduces each
frame's spectrum to a few numbers: the mel energies, the centroid, bandwidth,
roll-off and flatness. With numpy each of those is one or more passes over the
whole ``(n_frames, n_bins)`` array, a few megabytes per batch, so the time
goes into memory traffic, not arithmetic. :func:`reduce_spectra` makes one
pass instead: for each frame it forms the power and magnitude spectra in a
small buffer that stays in the L1 cache and derives every requested
reduction from it as librosa defines it: the same sums (split for
vectorisation, so they move by rounding only) and, for the roll-off, the
running sum in librosa's order, so the chosen bin is the same.

numba is a dependency of librosa, so it is always installed beside it; this
module imports it, and is itself imported by the first audio batch, not by
the package. The kernels are compiled on first use (about 3 s) and cached on
disk where numba finds a writable cache folder (the package's
``__pycache__`` or the user cache), so a later process loads them in about
0.4 s; if numba finds no such folder they are compiled once per process.
"""

import math

import numba
import numpy as np


def _jit(function):
    """Compile with numba, cached on disk when a cache folder is usable.

    ``fastmath={"reassoc", "contract"}`` lets sums be split into several
    running sums (and use fused multiply-adds), so they vectorise; results
    move by a few units in the last place, as any BLAS sum does. No other
    fast-math licence is taken (NaN and inf keep their IEEE meaning).
    """
    options = {"nogil": True, "fastmath": {"reassoc", "contract"}}
    try:
        return numba.njit(cache=True, **options)(function)
    except RuntimeError:  # numba found no writable cache location
        return numba.njit(**options)(function)


_LN2 = math.log(2.0)
_EXPONENT_MASK = np.uint64(0x7FF0000000000000)
_MANTISSA_MASK = np.uint64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.uint64(0x3FF0000000000000)  # the bits of 1.0
_TILE = 16  # frames reduced side by side


@_jit
def _spectrum_bin(spectrum, row, index, n_fft):
    """Bin ``index`` of the full spectrum (any integer) from the one-sided one."""
    index %= n_fft
    if index < spectrum.shape[1]:
        return spectrum[row, index]
    return np.conj(spectrum[row, n_fft - index])  # real input: X[N - k] = X[k]*


@_jit
def _windowed_bin(spectrum, row, taps, n_fft, k):
    """``Y[k] = sum_m taps[m] X[k - m]`` for any bin (the general, slow path)."""
    half = taps.shape[0] // 2
    value = taps[half] * spectrum[row, k]
    for m in range(1, half + 1):
        value += taps[half + m] * (
            _spectrum_bin(spectrum, row, k - m, n_fft)
            + _spectrum_bin(spectrum, row, k + m, n_fft)
        )
    return value


@_jit
def _windowed_power(spectrum, parts, row, taps, n_fft, out):
    """``|Y[k]|**2`` where ``Y[k] = sum_m taps[m] X[k - m]`` (taps symmetric).

    ``parts`` is ``spectrum`` viewed as float64 (real and imaginary parts
    side by side), which the hot loops read so that they vectorise.
    """
    n_bins = spectrum.shape[1]
    half = taps.shape[0] // 2
    if half == 0:  # windowed already (taps == [1.0]) or a scaled window
        scale = taps[0] * taps[0]
        for k in range(n_bins):
            re = parts[row, 2 * k]
            im = parts[row, 2 * k + 1]
            out[k] = scale * (re * re + im * im)
        return
    if half == 1 and n_bins > 2:  # Hann, Hamming: three taps
        centre = taps[1]
        side = taps[2]
        for k in range(1, n_bins - 1):
            re = centre * parts[row, 2 * k] + side * (
                parts[row, 2 * k - 2] + parts[row, 2 * k + 2]
            )
            im = centre * parts[row, 2 * k + 1] + side * (
                parts[row, 2 * k - 1] + parts[row, 2 * k + 3]
            )
            out[k] = re * re + im * im
        for k in (0, n_bins - 1):  # these reach round to conjugate bins
            value = _windowed_bin(spectrum, row, taps, n_fft, k)
            out[k] = value.real * value.real + value.imag * value.imag
        return
    for k in range(n_bins):
        value = _windowed_bin(spectrum, row, taps, n_fft, k)
        out[k] = value.real * value.real + value.imag * value.imag


@_jit
def _reduce_spectra(
    spectrum,
    rows,
    taps,
    n_fft,
    freq,
    mel_indptr,
    mel_bins,
    mel_weights,
    roll_percent,
    amin,
    mel_out,
    shape_out,
):
    n_rows = rows.shape[0]
    n_bins = spectrum.shape[1]
    n_mels = mel_out.shape[1]
    parts = spectrum.view(np.float64)
    want_shape = shape_out.shape[1] > 0
    power = np.zeros((_TILE, n_bins))
    mel_tile = np.empty((n_mels, _TILE))
    magnitude = np.empty(n_bins)
    floored = np.empty(n_bins)
    bits = floored.view(np.uint64)
    mantissa_bits = np.empty(n_bins, dtype=np.uint64)
    mantissas = mantissa_bits.view(np.float64)
    tiny = np.finfo(np.float64).tiny
    for start in range(0, n_rows, _TILE):
        n = min(_TILE, n_rows - start)
        for t in range(n):
            _windowed_power(spectrum, parts, rows[start + t], taps, n_fft, power[t])
        # Mel energies, the sparse product with librosa's mel filters, a tile
        # of frames at a time: each band's sum over its few bins is a short
        # chain of dependent additions, and the frames of the tile (innermost)
        # run _TILE such chains side by side.
        for band in range(n_mels):
            for t in range(_TILE):
                mel_tile[band, t] = 0.0
            for j in range(mel_indptr[band], mel_indptr[band + 1]):
                weight = mel_weights[j]
                k = mel_bins[j]
                for t in range(_TILE):
                    mel_tile[band, t] += weight * power[t, k]
        for t in range(n):
            for band in range(n_mels):
                mel_out[start + t, band] = mel_tile[band, t]
        if not want_shape:
            continue
        for t in range(n):
            out = start + t
            # centroid, bandwidth and roll-off from the magnitude (librosa's
            # power=1)
            total = 0.0
            first = 0.0
            for k in range(n_bins):
                magnitude[k] = math.sqrt(power[t, k])
                total += magnitude[k]
                first += magnitude[k] * freq[k]
            # librosa.util.normalize(norm=1) leaves frames whose sum is below
            # `tiny` (silent frames) unnormalised: a centroid of 0, not 0/0.
            norm = 1.0 if total < tiny else total
            centroid = first / norm
            second = 0.0
            for k in range(n_bins):
                deviation = freq[k] - centroid
                second += magnitude[k] * deviation * deviation
            shape_out[out, 0] = centroid
            shape_out[out, 1] = math.sqrt(second / norm)
            # roll-off: the first bin whose running sum reaches roll_percent
            # of the total, found in running-sum order as librosa's cumsum
            threshold = roll_percent * total
            running = 0.0
            rolloff = n_bins - 1
            for k in range(n_bins):
                running += magnitude[k]
                if not running < threshold:
                    rolloff = k
                    break
            shape_out[out, 2] = freq[rolloff]
            # flatness, from the amin-floored power (librosa's power=2):
            # geometric over arithmetic mean. log x = e ln 2 + log m for
            # x = m * 2**e with m in [1, 2): the exponents add as integers and
            # the product of the mantissas stays below 2**n_bins, so a frame
            # needs one log, not one per bin (floored values are normal
            # numbers: no subnormal case).
            arithmetic = 0.0
            for k in range(n_bins):
                floored[k] = max(power[t, k], amin)
                arithmetic += floored[k]
            exponents = 0
            for k in range(n_bins):
                exponents += np.int64((bits[k] & _EXPONENT_MASK) >> np.uint64(52))
                mantissa_bits[k] = (bits[k] & _MANTISSA_MASK) | _ONE_BITS
            product = 1.0
            for k in range(n_bins):
                product *= mantissas[k]
            log_sum = (exponents - 1023 * n_bins) * _LN2 + math.log(product)
            shape_out[out, 3] = math.exp(log_sum / n_bins) / (arithmetic / n_bins)


def sparse_mel(mel_basis):
    """CSR parts ``(indptr, bins, weights)`` of a ``(n_mels, n_bins)`` filter bank."""
    mel_basis = np.asarray(mel_basis, dtype=np.float64)
    bands, bins = np.nonzero(mel_basis)  # row-major: by band, then by bin
    indptr = np.zeros(mel_basis.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(bands, minlength=mel_basis.shape[0]), out=indptr[1:])
    return indptr, bins.astype(np.int64), mel_basis[bands, bins]


def window_taps(window, *, max_half=3):
    """The window as a short convolution of spectra, when it is one.

    Multiplying a frame by a cosine-sum window (Hann, Hamming, Blackman, as
    ``librosa.filters.get_window(..., fftbins=True)`` makes them) is, in the
    frequency domain, a convolution with a few real taps: Hann's
    ``0.5 - 0.5 cos(2 pi n / N)`` gives ``Y[k] = 0.5 X[k] - 0.25 (X[k-1] +
    X[k+1])``. Applying it there spares a windowed copy of every frame.

    Parameters
    ----------
    window : ndarray of shape (n_fft,)
    max_half : int
        Most taps on each side of the centre.

    Returns
    -------
    taps : ndarray of shape (2 * half + 1,) or None
        Centred taps, symmetric; None when the window is not such a sum (its
        spectrum has more than ``2 * max_half + 1`` bins above rounding, or is
        not real and symmetric).
    """
    window = np.asarray(window, dtype=np.float64)
    n = window.shape[0]
    coefficients = np.fft.fft(window) / n
    tol = 1e-13 * max(np.abs(coefficients).max(), 1e-300)
    real = coefficients.real
    if np.abs(coefficients.imag).max() > tol or n < 2 * max_half + 2:
        return None
    nonzero = np.flatnonzero(np.abs(real) > tol)
    distance = np.minimum(nonzero, n - nonzero)  # from bin 0, round the circle
    half = int(distance.max()) if nonzero.size else 0
    if half > max_half:
        return None
    side = real[1 : half + 1]
    if np.abs(side - real[n - 1 : n - half - 1 : -1]).max(initial=0.0) > tol:
        return None  # asymmetric: the taps would be complex
    return np.concatenate([side[::-1], real[:1], side])


def reduce_spectra(
    spectrum,
    rows,
    *,
    freq,
    taps=None,
    n_fft=None,
    mel=None,
    shape=False,
    roll_percent=0.85,
    amin=1e-10,
):
    """Mel energies and spectral shape of the selected rows of ``spectrum``.

    Parameters
    ----------
    spectrum : ndarray of shape (n_frames, n_bins), complex128
        One-sided spectra: ``rfft`` of windowed frames, or of plain frames
        with ``taps`` from :func:`window_taps`.
    rows : ndarray of shape (n_rows,), int
        Frames to reduce, in output order.
    taps : ndarray of shape (2 * half + 1,) or None
        Window to apply to the spectra (:func:`window_taps`); None when they
        are windowed already.
    n_fft : int or None
        Frame length, required with ``taps`` (bins near the edges wrap
        round to conjugate bins).
    freq : ndarray of shape (n_bins,)
        Centre frequency of each bin (``librosa.fft_frequencies``).
    mel : tuple of (indptr, bins, weights) or None
        Mel filter bank from :func:`sparse_mel`; ``None`` skips mel energies.
    shape : bool
        Whether to compute centroid, bandwidth, roll-off and flatness.
    roll_percent, amin : float
        As ``librosa.feature.spectral_rolloff(roll_percent=...)`` and
        ``spectral_flatness(amin=...)``.

    Returns
    -------
    mel_power : ndarray of shape (n_rows, n_mels) or None
        ``|X|**2`` through the mel filters (``None`` without ``mel``).
    spectral_shape : ndarray of shape (n_rows, 4) or None
        Centroid, bandwidth, roll-off (Hz) and flatness, as
        ``librosa.feature.spectral_*`` (``None`` unless ``shape``).
    """
    n_rows = rows.shape[0]
    if mel is None:
        mel = (np.zeros(1, dtype=np.int64), np.zeros(0, np.int64), np.zeros(0))
    n_mels = mel[0].shape[0] - 1
    mel_out = np.empty((n_rows, n_mels))
    shape_out = np.empty((n_rows, 4 if shape else 0))
    if taps is None:
        taps, n_fft = np.ones(1), 2 * (spectrum.shape[1] - 1)
    elif n_fft is None:
        raise ValueError("n_fft is required with taps.")
    _reduce_spectra(
        np.ascontiguousarray(spectrum, dtype=np.complex128),
        np.ascontiguousarray(rows, dtype=np.int64),
        np.ascontiguousarray(taps, dtype=np.float64),
        int(n_fft),
        np.ascontiguousarray(freq, dtype=np.float64),
        *mel,
        float(roll_percent),
        float(amin),
        mel_out,
        shape_out,
    )
    return (mel_out if n_mels else None), (shape_out if shape else None)
