"""Batched AudioFeatureExtractor against a plain per-clip librosa loop.

On the FSDD recordings (all 3,000 clips from ``../shared/data``; 600 with
``--quick``), computing the default features (20 MFCCs, their deltas and six
spectral features, each pooled to mean and std: 92 columns at 16 kHz), times

- the candidate: ``AudioFeatureExtractor(n_jobs=1).transform(paths)``, which
  reads each file, resamples it to 16 kHz, then frames a whole batch of clips
  at once (one FFT, one mel product, one DCT per batch);
- the baseline: a loop over clips, each read with ``soundfile.read``,
  resampled with ``librosa.resample`` (soxr_hq, as the extractor) and passed
  to ``librosa.feature.mfcc``, ``delta``, ``spectral_centroid``,
  ``spectral_bandwidth``, ``spectral_rolloff``, ``spectral_flatness``,
  ``zero_crossing_rate`` and ``rms`` with the same frame sizes, then pooled
  with numpy; the SAME 92 features;
- with ``n_segments=3`` (row ``audio_seg3``), both sides also pool the same
  statistics over 3 equal time segments of each clip's frames (368
  features): the extractor with ``AudioFeatureExtractor(n_segments=3)``, the
  loop by slicing each clip's librosa frames;
- the floors: reading the files alone (``soundfile.read``), and reading plus
  resampling, which both sides pay and no batching removes.

Both sides run single-threaded (``n_jobs=1`` and BLAS limited to one thread
with threadpoolctl), in the same process, after a warm-up on a few clips
(librosa's first calls compile and cache). The ratio is
``candidate / baseline`` (target <= 0.1, i.e. at least 10x faster); the
largest relative difference between the two outputs is printed (the
extractor returns float32, so ~1e-7 is expected; above 1e-4 of a feature's
scale the benchmark fails), and so is the ratio of CPU times, steadier than
wall-clock time when other processes share the cores.

Run: ``python benchmarks/bench_audio.py [--n-clips 3000] [--repeats 1]
[--n-segments 1,3]``.
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np

RECORDINGS = Path(__file__).resolve().parents[2] / "shared" / "data" / "fsdd"
RECORDINGS = RECORDINGS / "recordings"
SR = 16000
N_FFT, HOP = 400, 160  # AudioFeatureExtractor's 25 ms / 10 ms at 16 kHz
TARGET = 0.1
PARITY = 1e-4  # largest difference allowed, relative to each feature's scale


def clip_paths(n_clips):
    """Up to ``n_clips`` FSDD paths, spread over digits and speakers."""
    if not RECORDINGS.is_dir():
        raise SystemExit(f"FSDD recordings not found at {RECORDINGS}")
    files = sorted(RECORDINGS.glob("*.wav"))
    picks = np.linspace(0, len(files) - 1, min(n_clips, len(files))).astype(int)
    return [str(files[i]) for i in picks]


def _segments(n_frames, n_segments):
    """Frame ranges of the segments, as AudioFeatureExtractor documents them."""
    ranges = []
    for j in range(n_segments):
        start = min((j * n_frames) // n_segments, n_frames - 1)
        ranges.append((start, max(((j + 1) * n_frames) // n_segments, start + 1)))
    return ranges


def per_clip_librosa(paths, n_segments=1):
    """The plain loop: read, resample and call librosa.feature.* per clip."""
    import librosa
    import soundfile

    kw = {"n_fft": N_FFT, "hop_length": HOP, "win_length": N_FFT}
    rows = []
    for path in paths:
        y, rate = soundfile.read(path, dtype="float64")
        y = librosa.resample(y, orig_sr=rate, target_sr=SR)
        mfcc = librosa.feature.mfcc(y=y, sr=SR, n_mfcc=20, n_mels=40, **kw)
        delta = librosa.feature.delta(mfcc)
        spectral = np.vstack(
            [
                librosa.feature.spectral_centroid(y=y, sr=SR, **kw),
                librosa.feature.spectral_bandwidth(y=y, sr=SR, **kw),
                librosa.feature.spectral_rolloff(y=y, sr=SR, **kw),
                librosa.feature.spectral_flatness(y=y, **kw),
                librosa.feature.zero_crossing_rate(
                    y, frame_length=N_FFT, hop_length=HOP
                ),
                librosa.feature.rms(y=y, frame_length=N_FFT, hop_length=HOP),
            ]
        )
        # the extractor's layout: the whole clip, then each segment; in each,
        # family, then statistic, then coefficient
        parts = [(0, mfcc.shape[1])]
        if n_segments > 1:
            parts += _segments(mfcc.shape[1], n_segments)
        rows.append(
            np.concatenate(
                [
                    f(block[:, start:stop], axis=1)
                    for start, stop in parts
                    for block in (mfcc, delta, spectral)
                    for f in (np.mean, np.std)
                ]
            )
        )
    return np.asarray(rows, dtype=np.float32)


def read_only(paths, resample=False):
    import librosa
    import soundfile

    for path in paths:
        y, rate = soundfile.read(path, dtype="float64")
        if resample:
            librosa.resample(y, orig_sr=rate, target_sr=SR)


def _timed(func, *args):
    """Wall-clock seconds, CPU seconds of this process, and the result."""
    start, start_cpu = time.perf_counter(), time.process_time()
    result = func(*args)
    return time.perf_counter() - start, time.process_time() - start_cpu, result


def _compare(paths, n_segments, repeats):
    """Time the loop and the extractor on ``paths``; check their outputs agree."""
    from sklearn_mbm.audio import AudioFeatureExtractor

    extractor = AudioFeatureExtractor(sr=SR, n_jobs=1, n_segments=n_segments)
    extractor.fit(paths)
    # warm-up: librosa's first calls (resampler, caches), our first batch
    per_clip_librosa(paths[:20], n_segments)
    extractor.transform(paths[:20])
    base_times, cand_times = [], []
    for _ in range(repeats):  # alternate, best of `repeats`
        *seconds, baseline = _timed(per_clip_librosa, paths, n_segments)
        base_times.append(seconds)
        *seconds, candidate = _timed(extractor.transform, paths)
        cand_times.append(seconds)
    (base_s, base_cpu), (cand_s, cand_cpu) = min(base_times), min(cand_times)
    difference = np.abs(candidate.astype(np.float64) - baseline)
    scale = np.abs(baseline.astype(np.float64))
    # elementwise, over values that are not rounding noise around 0 (a
    # segment's std of a constant feature is 0 for librosa, ~1e-17 here)
    significant = scale > 1e-6 * scale.max(axis=0)
    relative = np.where(significant, difference, 0.0) / np.where(
        significant, scale, 1.0
    )
    column_relative = difference.max(axis=0) / np.maximum(scale.max(axis=0), 1e-30)
    if column_relative.max() > PARITY:
        # a speed-up that changed the features is no speed-up: fail loudly
        raise AssertionError(
            f"features differ from librosa's by {column_relative.max():.2e} of a "
            f"feature's scale (column {int(column_relative.argmax())}, "
            f"n_segments={n_segments}), more than {PARITY:g}."
        )
    label = "" if n_segments == 1 else f", n_segments={n_segments}"
    return {
        "baseline": f"per-clip librosa.feature calls{label}",
        "candidate": f"AudioFeatureExtractor.transform{label}",
        "baseline_s": base_s,
        "candidate_s": cand_s,
        "ratio": cand_s / base_s,
        "target": TARGET,
        "speedup": base_s / cand_s,
        "baseline_cpu_s": base_cpu,
        "candidate_cpu_s": cand_cpu,
        "cpu_speedup": base_cpu / cand_cpu,
        "n_clips": len(paths),
        "n_segments": n_segments,
        "n_features": candidate.shape[1],
        "max_rel_diff": float(relative.max()),
        "max_rel_diff_per_feature_scale": float(column_relative.max()),
    }


def run(quick=False, n_clips=None, repeats=1, n_segments=(1, 3)):
    """Time both sides for each ``n_segments``; return the benchmark rows.

    Returns ``{"audio": row, "audio_seg3": row}`` (see benchmarks/run.py):
    one row per entry of ``n_segments``, named ``audio`` for 1 and
    ``audio_seg{k}`` otherwise; the read floors are in each row.
    """
    from threadpoolctl import threadpool_limits

    paths = clip_paths(n_clips or (600 if quick else 3000))
    rows = {}
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for k in n_segments:
            rows["audio" if k == 1 else f"audio_seg{k}"] = _compare(paths, k, repeats)
        read_only(paths[:20], resample=True)
        read_s = min(_timed(read_only, paths)[0] for _ in range(max(repeats, 2)))
        read_resample_s = min(
            _timed(read_only, paths, True)[0] for _ in range(max(repeats, 2))
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    for row in rows.values():
        row.update(read_s=read_s, read_resample_s=read_resample_s, load_average=load)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-clips", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--n-segments", default="1,3", help="comma-separated values (default 1,3)"
    )
    parser.add_argument("--quick", action="store_true", help="600 clips")
    args = parser.parse_args()
    rows = run(
        quick=args.quick,
        n_clips=600 if args.quick else args.n_clips,
        repeats=args.repeats,
        n_segments=[int(k) for k in args.n_segments.split(",")],
    )
    for name, row in rows.items():
        n = row["n_clips"]
        print(
            f"[{name}] {n} FSDD clips -> {row['n_features']} features each "
            f"(n_segments={row['n_segments']}), n_jobs=1"
        )
        print(
            f"baseline  per-clip librosa loop : {row['baseline_s']:7.2f} s "
            f"({1e3 * row['baseline_s'] / n:.2f} ms/clip)"
        )
        print(
            f"candidate AudioFeatureExtractor : {row['candidate_s']:7.2f} s "
            f"({1e3 * row['candidate_s'] / n:.2f} ms/clip)"
        )
        print(f"speedup: {row['speedup']:.1f}x wall clock (target >= {1 / TARGET:g}x)")
        print(
            f"speedup: {row['cpu_speedup']:.1f}x CPU time of this process "
            f"({row['baseline_cpu_s']:.2f} s / {row['candidate_cpu_s']:.2f} s; "
            "steadier on a busy machine)"
        )
        print(
            f"max relative difference: {row['max_rel_diff']:.2e} elementwise, "
            f"{row['max_rel_diff_per_feature_scale']:.2e} of each feature's scale"
        )
        print(f"ratio candidate / baseline: {row['ratio']:.3f} (target <= {TARGET})")
        print()
    row = next(iter(rows.values()))
    print(f"floor: soundfile.read alone     : {row['read_s']:7.2f} s")
    print(f"floor: read + librosa.resample  : {row['read_resample_s']:7.2f} s")
    print(f"load average (1 min): {row['load_average']}")


if __name__ == "__main__":
    main()
