"""Overhead and memory of the pretrained embedders over their bare backbones.

Builds random KerasHub presets offline with
:mod:`sklearn_mbm.pretrained._tiny` at two sizes, writes them with
``save_to_preset`` to a temporary folder and loads them through ``preset=``
as a user would:

- the size users run: a DistilBERT-base-sized text backbone (6 layers,
  hidden 768, a 30522-token WordPiece vocabulary, ``distil_bert_base_en``'s
  shape) and a ViT-B/32 vision backbone (12 layers, hidden 768, 224x224
  images: the size of CLIP ViT-B/32's vision tower);
- tiny models (a BERT of hidden 128 and 2 layers, a CLIP with 64x64 images,
  a Whisper of hidden 8), where tokenizing and decoding weigh most, since
  the network does almost nothing.

At the same batch size it times

- the embedder from raw cells: ``TextEmbedder.transform(texts)`` (tokenizing
  in the loop), ``ImageEmbedder.transform(png_paths)`` (decoding in
  threads, one batch ahead of the network),
  ``AudioEmbedder.transform(waveforms)``;
- the baseline: the bare backbone's traced function called on batches
  preprocessed beforehand (token ids and masks, converter outputs; not
  timed).

Timings are process CPU seconds (all threads) of ``repeats`` alternating
runs after a warm-up: on a shared machine CPU time is steadier than wall
time. ``baseline_s`` and ``candidate_s`` are medians, ``ratio`` the median
of the ratios of adjacent pairs. The details give the CPU cost of the work
the baseline leaves out, measured alone: tokenizing and framing
(``prepare_ms_per_text``), reading, decoding and resizing
(``decode_ms_per_image``), and its share of the network's time
(``*_share``), the overhead to expect if nothing else cost anything.

Target: ratio <= 1.1 for text and images, at both sizes. The tiny rows show
the fixed cost per text or image: tokenizing a text or decoding a PNG costs
about as much as a tiny network does, so they can miss it; at the size users
run that cost is a few percent. Audio is reported against 1.5: its converter,
the STFT, runs inside the loop and is part of the embedder's work.
The memory row measures the peak traced memory (tracemalloc) of
``ImageEmbedder.transform`` on ``n`` and ``4 n`` paths at batch sizes 8 and
32: it is set by ``batch_size``, not by the number of rows (target <= 1.25).

Run: ``python benchmarks/bench_embedders.py [--quick] [--no-base]``.
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_memory import peak_beyond_output
from PIL import Image

from sklearn_mbm._io import load_image_cell
from sklearn_mbm.pretrained import AudioEmbedder, ImageEmbedder, TextEmbedder, _tiny
from sklearn_mbm.pretrained._hub import predict_function


def _cpu_seconds(function):
    start = time.process_time()
    function()
    return time.process_time() - start


def _compare(transform, cells, batches, predict, repeats):
    """CPU seconds of the baseline and the candidate, alternating runs.

    Returns the medians of each side and the median of the ratios of
    adjacent pairs (steadier than the ratio of medians when the machine's
    load drifts).
    """
    transform(cells)  # warm-up: traces, thread pools, caches

    def baseline():
        for batch in batches:
            predict(batch)

    baseline()
    base, cand = [], []
    for _ in range(repeats):  # alternate, so load changes hit both
        base.append(_cpu_seconds(baseline))
        cand.append(_cpu_seconds(lambda: transform(cells)))
    ratio = np.median(np.divide(cand, base))
    return float(np.median(base)), float(np.median(cand)), float(ratio)


def _row(baseline, candidate, timings, target, **details):
    base, cand, ratio = timings
    return {
        "baseline": baseline,
        "candidate": candidate,
        "baseline_s": base,
        "candidate_s": cand,
        "ratio": ratio,
        "target": target,
        **details,
    }


def _texts(vocabulary, n, longest, seed=0):
    """Texts of 4 to ``longest`` words: most in the vocabulary, one in five
    made up (WordPiece splits those into letters)."""
    rng = np.random.default_rng(seed)
    words = [w for w in vocabulary if w.isalpha()]
    texts = []
    for _ in range(n):
        chosen = list(rng.choice(words, rng.integers(4, longest + 1)))
        for i in range(0, len(chosen), 5):
            chosen[i] = "".join(rng.choice(list("etaoinshrdlu"), 7))
        texts.append(" ".join(chosen))
    return texts


def _text_row(preset, label, texts, repeats, batch_size, max_length):
    est = TextEmbedder(preset, max_length=max_length, batch_size=batch_size)
    est.fit(texts)
    parts = est._parts()
    # the bare backbone's inputs, prepared beforehand (not timed)
    batches = [
        est._prepare_batch(parts, texts[s : s + batch_size])[0]
        for s in range(0, len(texts), batch_size)
    ]
    tokens = sum(int(b["padding_mask"].sum()) for b in batches)
    timings = _compare(est.transform, texts, batches, parts["predict"], repeats)

    def prepare():  # tokenize and frame every batch, no network
        for s in range(0, len(texts), batch_size):
            est._prepare_batch(parts, texts[s : s + batch_size])

    prepare_s = float(np.median([_cpu_seconds(prepare) for _ in range(3)]))
    return _row(
        f"bare {label} on token ids",
        "TextEmbedder on str",
        timings,
        1.1,
        n_texts=len(texts),
        batch_size=batch_size,
        tokens_per_text=tokens / len(texts),
        prepare_ms_per_text=1e3 * prepare_s / len(texts),
        prepare_share=prepare_s / timings[0],
    )


def _write_pngs(folder, n, side, seed=1):
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = Path(folder) / f"{side}_{i:05d}.png"
        pixels = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
        paths.append(str(path))
    return paths


def _image_row(preset, label, paths, repeats, batch_size):
    est = ImageEmbedder(preset, batch_size=batch_size, n_jobs=2).fit(paths)
    parts = est._parts()
    import keras

    decoded = np.stack(
        [load_image_cell(p, i, size=est.image_size_) for i, p in enumerate(paths)]
    )
    # converter outputs, made beforehand (not timed), into the bare network
    batches = [
        keras.ops.convert_to_numpy(parts["converter"](decoded[s : s + batch_size]))
        for s in range(0, len(paths), batch_size)
    ]
    bare = predict_function(parts["model"])
    timings = _compare(est.transform, paths, batches, bare, repeats)

    def decode():  # read, decode and resize every file, no network
        for i, path in enumerate(paths):
            est._load_cell(path, i)

    decode_s = float(np.median([_cpu_seconds(decode) for _ in range(3)]))
    return _row(
        f"bare {label} on converted batches",
        "ImageEmbedder on PNG paths",
        timings,
        1.1,
        n_images=len(paths),
        batch_size=batch_size,
        decode_ms_per_image=1e3 * decode_s / len(paths),
        decode_share=decode_s / timings[0],
    )


def _audio_row(folder, n, repeats, batch_size=8):
    rng = np.random.default_rng(2)
    preset = _tiny.save_tiny_whisper(Path(folder) / "whisper")
    clips = [0.1 * rng.standard_normal(rng.integers(800, 3000)) for _ in range(n)]
    est = AudioEmbedder(preset, input_sr=1600, batch_size=batch_size).fit(clips)
    parts = est._parts()
    import keras

    windows = np.stack([np.pad(c, (0, 3200 - len(c))) for c in clips]).astype("f4")
    batches = [
        keras.ops.convert_to_numpy(parts["converter"](windows[s : s + batch_size]))
        for s in range(0, n, batch_size)
    ]
    timings = _compare(est.transform, clips, batches, parts["predict"], repeats)
    return _row(
        "bare tiny Whisper encoder on log-mels",
        "AudioEmbedder on waveforms",
        timings,
        1.5,
        n_clips=n,
    )


def _memory_row(paths, preset, n):
    peaks = {}
    for batch_size in (8, 32):
        est = ImageEmbedder(preset, batch_size=batch_size).fit(paths)
        est.transform(paths[:batch_size])
        for count in (n, 4 * n):
            cells = [paths[i % len(paths)] for i in range(count)]
            peaks[batch_size, count] = peak_beyond_output(est, cells)[0] / 1e6
    return {
        "baseline": f"ImageEmbedder peak, {n} paths",
        "candidate": f"{4 * n} paths",
        "baseline_mb": peaks[32, n],
        "candidate_mb": peaks[32, 4 * n],
        "ratio": peaks[32, 4 * n] / peaks[32, n],
        "target": 1.25,
        **{f"peak_mb_batch_{b}_rows_{c}": v for (b, c), v in peaks.items()},
    }


def run(quick=False, base=True):
    """Rows ``embed_text_base``, ``embed_image_base`` (the sizes users run),
    ``embed_text_tiny``, ``embed_image_tiny``, ``embed_audio_tiny`` and
    ``memory_embed``."""
    n = 128 if quick else 256
    repeats = 3 if quick else 5  # medians of CPU seconds
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if base:
            distil = _tiny.save_tiny_distil_bert(
                folder / "distil_bert_base",
                vocabulary_size=30522,
                hidden_dim=768,
                num_layers=6,
                num_heads=12,
                intermediate_dim=3072,
                max_sequence_length=512,
            )
            vocabulary = _tiny.word_vocabulary(30522)
            rows["embed_text_base"] = _text_row(
                distil,
                "DistilBERT-base (random)",
                _texts(vocabulary, 64, 24),
                repeats,
                batch_size=32,
                max_length=128,
            )
            vit = _tiny.save_tiny_vit(
                folder / "vit_b32",
                image_size=224,
                patch_size=32,
                hidden_dim=768,
                num_layers=12,
                num_heads=12,
                mlp_dim=3072,
            )
            rows["embed_image_base"] = _image_row(
                vit,
                "ViT-B/32 (random)",
                _write_pngs(folder, 32, 256),
                repeats,
                batch_size=16,
            )
        bert = _tiny.save_tiny_bert(
            folder / "bert", hidden_dim=128, num_layers=2, max_sequence_length=64
        )
        texts = _texts(_tiny.word_vocabulary(0), n, 40)
        rows["embed_text_tiny"] = _text_row(
            bert, "tiny BERT", texts, repeats, batch_size=32, max_length=64
        )
        paths = _write_pngs(folder, n, 96)
        clip = _tiny.save_tiny_clip(
            folder / "clip", image_size=64, patch_size=8, hidden_dim=128
        )
        rows["embed_image_tiny"] = _image_row(
            clip, "tiny CLIP vision", paths, repeats, batch_size=32
        )
        rows["embed_audio_tiny"] = _audio_row(folder, n // 4, repeats)
        # 64 rows: two batches of the largest batch size, so one is in flight
        rows["memory_embed"] = _memory_row(paths, clip, 64)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--no-base", action="store_true", help="tiny models only (fast)"
    )
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    start = time.perf_counter()
    for name, row in run(quick=args.quick, base=not args.no_base).items():
        details = {
            k: round(v, 4) if isinstance(v, float) else v for k, v in row.items()
        }
        print(name, details)
    print(f"total wall time: {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
