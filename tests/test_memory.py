"""Bounded memory, cheap cache keys and progress output of extraction.

- Extraction streams: its peak memory grows with ``batch_size``, not with the
  number of samples. Measured with :mod:`tracemalloc`, which traces numpy's
  allocations; the output array ``(n_samples, n_features)``, which must grow
  with the number of samples, is subtracted.
- ``FusionTransformer(memory=...)`` keys its cache on the column's values: for
  a column of paths, the paths, never the decoded files. Known invalidation
  rule: **file contents changing under the same path do not invalidate the
  cache** (a new path does).
- ``verbose=True`` shows a tqdm progress bar per modality; the default is
  silent.
"""

import tracemalloc

import numpy as np
import pandas as pd
import pytest
import soundfile
from numpy.testing import assert_array_equal
from PIL import Image

import sklearn_mbm.audio
import sklearn_mbm.image
from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
)

N_FILES = 250  # distinct files; longer columns cycle through them
N_SMALL, N_LARGE = 500, 2000
SR = 8000


@pytest.fixture(scope="module")
def image_paths(tmp_path_factory):
    """250 small grey PNG files of random pixels (28x28, as MNIST)."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(N_FILES):
        path = folder / f"{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture(scope="module")
def audio_paths(tmp_path_factory):
    """250 short 8 kHz WAV files (50 ms of noisy tones, 6 frames each)."""
    folder = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    t = np.arange(400) / SR
    paths = []
    for i in range(N_FILES):
        path = folder / f"{i:04d}.wav"
        clip = 0.5 * np.sin(2 * np.pi * (200 + 10 * i) * t)
        clip += 0.05 * rng.standard_normal(t.size)
        soundfile.write(path, clip.astype(np.float32), SR, subtype="PCM_16")
        paths.append(str(path))
    return paths


def _cycle(paths, n):
    return [paths[i % len(paths)] for i in range(n)]


def _peak_extra_bytes(extractor, cells):
    """Peak traced memory of ``extractor.transform(cells)`` beyond its output."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = np.asarray(extractor.transform(cells))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - out.nbytes, out


# --------------------------------------------------------------------------
# bounded memory
# --------------------------------------------------------------------------


def test_image_extraction_memory_is_bounded_by_batch_size(image_paths):
    """Pixel extraction of 4N files needs no more memory than of N files
    (apart from the output); a larger batch_size needs more."""
    extractor = ImageFeatureExtractor(
        "pixels", input_size=32, batch_size=32, n_jobs=2
    ).fit(image_paths)
    small, _ = _peak_extra_bytes(extractor, _cycle(image_paths, N_SMALL))
    large, out = _peak_extra_bytes(extractor, _cycle(image_paths, N_LARGE))
    assert out.shape == (N_LARGE, 32 * 32)
    # the output alone grows 4x (6 MB more); the working memory must not
    assert large / small < 1.25, (small, large)
    # two batch buffers of 32 images of 32x32 float32 = 256 KiB: the working
    # memory is of that order, far below the 8 MB output
    assert large < out.nbytes / 8

    bigger_batches = ImageFeatureExtractor(
        "pixels", input_size=32, batch_size=256, n_jobs=2
    ).fit(image_paths)
    large_batch, out_large_batch = _peak_extra_bytes(
        bigger_batches, _cycle(image_paths, N_SMALL)
    )
    assert large_batch > 2 * small, (small, large_batch)
    assert_array_equal(out_large_batch, out[:N_SMALL])


def test_audio_extraction_memory_does_not_grow_with_samples(audio_paths):
    """Audio extraction of 4N files needs no more memory than of N files,
    apart from the output: clips are loaded and analysed in bounded batches."""
    extractor = AudioFeatureExtractor(sr=SR, n_jobs=2).fit(audio_paths)
    small, _ = _peak_extra_bytes(extractor, _cycle(audio_paths, N_SMALL))
    large, out = _peak_extra_bytes(extractor, _cycle(audio_paths, N_LARGE))
    assert out.shape == (N_LARGE, extractor.n_features_out_)
    assert np.isfinite(out).all()
    assert large / small < 1.25, (small, large)
    # cycling files gives cycling rows: the streaming kept the order
    assert_array_equal(out[N_FILES : 2 * N_FILES], out[:N_FILES])


# --------------------------------------------------------------------------
# cache keys of path columns
# --------------------------------------------------------------------------


class _CountLoads:
    """Wrap a module's cell loader to count the cells it decodes."""

    def __init__(self, monkeypatch, module, name):
        self.calls = 0
        loader = getattr(module, name)

        def counted(*args, **kwargs):
            self.calls += 1
            return loader(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)


def _write_tone(path, frequency):
    t = np.arange(400) / SR
    clip = 0.5 * np.sin(2 * np.pi * frequency * t)
    soundfile.write(path, clip.astype(np.float32), SR, subtype="PCM_16")


def test_fusion_cache_is_keyed_on_paths_not_file_contents(
    tmp_path, monkeypatch, audio_paths, image_paths
):
    """A FusionTransformer with memory= on path columns hashes the paths: a
    cache hit decodes no file at all, and rewriting a file under the same
    path does not invalidate the cache (documented rule); a new path does."""
    folder = tmp_path / "clips"
    folder.mkdir()
    paths = []
    for i in range(20):
        paths.append(str(folder / f"{i}.wav"))
        _write_tone(paths[-1], 300 + 20 * i)
    X = pd.DataFrame({"audio": paths, "image": image_paths[:20]})

    def fusion():
        return FusionTransformer(
            [
                ("audio", AudioFeatureExtractor(sr=SR), "audio"),
                ("image", ImageFeatureExtractor("pixels", input_size=8), "image"),
            ],
            memory=str(tmp_path / "cache"),
        )

    first = np.asarray(fusion().fit_transform(X))
    before = np.asarray(AudioFeatureExtractor(sr=SR).fit_transform(paths))

    audio_loads = _CountLoads(monkeypatch, sklearn_mbm.audio, "load_audio_cell")
    image_loads = _CountLoads(monkeypatch, sklearn_mbm.image, "load_image_cell")
    _write_tone(paths[0], 3000)  # new contents, same path
    cached = fusion().fit_transform(X)
    # the key was computed from the paths: no file was decoded ...
    assert (audio_loads.calls, image_loads.calls) == (0, 0)
    # ... so the stale features come back: the documented rule
    assert_array_equal(cached, first)

    # The file did change: without a cache its new contents show.
    after = np.asarray(AudioFeatureExtractor(sr=SR).fit_transform(paths))
    assert audio_loads.calls == len(paths)
    assert not np.allclose(after[0], before[0])
    assert_array_equal(after[1:], before[1:])

    # A new path is a new key: the cache misses and reads the new file.
    renamed = folder / "renamed.wav"
    (folder / "0.wav").rename(renamed)
    X.loc[0, "audio"] = str(renamed)
    audio_loads.calls = 0
    updated = fusion().fit_transform(X)
    assert audio_loads.calls == len(paths)
    assert not np.allclose(updated, first)


# --------------------------------------------------------------------------
# progress output
# --------------------------------------------------------------------------


def _records(image_paths, audio_paths, n=40):
    words = ["zero", "one", "two", "three", "four", "five"]
    return pd.DataFrame(
        {
            "image": image_paths[:n],
            "audio": audio_paths[:n],
            "text": [f"{words[i % 6]} {words[(i + 1) % 6]}" for i in range(n)],
        }
    )


def _verbose_fusion(verbose):
    return FusionTransformer(
        [
            (
                "image",
                ImageFeatureExtractor("pixels", input_size=8, verbose=verbose),
                "image",
            ),
            ("audio", AudioFeatureExtractor(sr=SR, verbose=verbose), "audio"),
            ("text", TextFeatureExtractor(), "text"),
        ],
        verbose=verbose,
    )


def test_extraction_is_silent_by_default(image_paths, audio_paths, capfd):
    X = _records(image_paths, audio_paths)
    fusion = _verbose_fusion(verbose=False)
    fusion.fit_transform(X)
    fusion.transform(X)
    ImageFeatureExtractor("pixels", input_size=8).fit_transform(X["image"])
    AudioFeatureExtractor(sr=SR).fit_transform(X["audio"])
    captured = capfd.readouterr()
    assert captured.out == ""
    assert captured.err == ""


def test_verbose_shows_progress_per_modality(image_paths, audio_paths, capfd):
    X = _records(image_paths, audio_paths)
    fused = _verbose_fusion(verbose=True).fit_transform(X)
    captured = capfd.readouterr()
    # a tqdm bar per extractor, run to completion over the 40 samples
    for name in ("ImageFeatureExtractor", "AudioFeatureExtractor"):
        bars = [line for line in captured.err.splitlines() if name in line]
        assert bars, f"no progress bar for {name}: {captured.err!r}"
        assert "40/40" in captured.err.split(name, 1)[1]
    # and FusionTransformer's time per modality
    for name in ("image", "audio", "text"):
        assert f"[FusionTransformer] {name}:" in captured.out
    # progress output changes nothing in the result
    assert_array_equal(fused, _verbose_fusion(verbose=False).fit_transform(X))
