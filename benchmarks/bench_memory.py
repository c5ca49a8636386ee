"""Benchmark: peak memory of extraction grows with the batch, not with the data.

Writes ``--n-files`` small files (28x28 grey PNG images, 0.25 s 8 kHz WAV
clips) to a temporary folder, then extracts ``n`` and ``4 n`` items (the file
list cycled) with

- ``ImageFeatureExtractor(backbone="pixels", input_size=32, batch_size=32)``;
- ``AudioFeatureExtractor(sr=8000, n_segments=1)`` (whole-clip statistics,
  the setting of the recorded ratios; the default is now 3 segments);

and measures the peak memory traced by :mod:`tracemalloc` (which sees numpy's
allocations) during ``transform``, minus the output array (``n_samples x
n_features`` float32, which must grow with ``n``). Ratio ``peak(4 n) /
peak(n)``: 1.0 means streaming (memory set by the batch), 4.0 means memory
proportional to the data. Target ``<= 1.25``.

Run: ``python benchmarks/bench_memory.py [--n 1000] [--n-files 500]``
"""

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import soundfile
from PIL import Image

from sklearn_mbm import AudioFeatureExtractor, ImageFeatureExtractor

SR = 8000
TARGET = 1.25


def write_files(folder, n_files, seed=0):
    """``n_files`` PNG images and WAV clips; return their path lists."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    t = np.arange(SR // 4) / SR
    images, clips = [], []
    for i in range(n_files):
        path = folder / f"{i:05d}.png"
        Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
        images.append(str(path))
        path = folder / f"{i:05d}.wav"
        clip = 0.5 * np.sin(2 * np.pi * (150 + 3 * i) * t)
        clip += 0.05 * rng.standard_normal(t.size)
        soundfile.write(path, clip.astype(np.float32), SR, subtype="PCM_16")
        clips.append(str(path))
    return images, clips


def peak_beyond_output(extractor, cells):
    """(peak traced bytes of transform minus its output, seconds)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        start = time.perf_counter()
        out = extractor.transform(cells)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - out.nbytes, seconds


def run(quick=False, n=None, n_files=None):
    """Return ``{"memory_image": {...}, "memory_audio": {...}}``."""
    n = n or (500 if quick else 1000)
    n_files = n_files or (250 if quick else 500)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        images, clips = write_files(tmp, n_files)
        extractors = {
            "memory_image": (
                ImageFeatureExtractor(
                    "pixels", input_size=32, batch_size=32, n_jobs=2
                ).fit(images),
                images,
            ),
            "memory_audio": (
                AudioFeatureExtractor(sr=SR, n_jobs=2, n_segments=1).fit(clips),
                clips,
            ),
        }
        for row, (extractor, files) in extractors.items():
            extractor.transform(files[:8])  # warm-up: lazy imports, caches
            peaks = {}
            for count in (n, 4 * n):
                cells = [files[i % len(files)] for i in range(count)]
                peaks[count] = peak_beyond_output(extractor, cells)
            results[row] = {
                "baseline": f"{type(extractor).__name__}, {n} items",
                "candidate": f"{4 * n} items",
                "baseline_mb": peaks[n][0] / 1e6,
                "candidate_mb": peaks[4 * n][0] / 1e6,
                "ratio": peaks[4 * n][0] / peaks[n][0],
                "target": TARGET,
                "seconds": peaks[4 * n][1],
            }
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--n-files", type=int, default=500)
    args = parser.parse_args(argv)
    results = run(n=args.n, n_files=args.n_files)
    for row, r in results.items():
        verdict = "OK" if r["ratio"] <= r["target"] else "MISSED"
        print(
            f"{row}: {r['baseline']}: {r['baseline_mb']:.2f} MB; "
            f"{r['candidate']}: {r['candidate_mb']:.2f} MB (beyond the output)"
        )
        print(
            f"  ratio {r['ratio']:.3f} (target <= {r['target']}; 4.0 = linear) "
            f"{verdict}"
        )
    return results


if __name__ == "__main__":
    main()
