"""Build the AV digits sample shipped in ``sklearn_mbm/datasets/data``.

Run once, from the repository root, when the sample must change::

    python -m sklearn_mbm.datasets._build_sample --data-home /work/shared/data

It cuts the sample from ``fetch_av_digits(data_home, random_state=0)``: for
each digit and speaker, ``TAKES_PER_SPEAKER`` takes drawn with seed
``SAMPLE_SEED``, so every sample row equals a row of the full set. The audio is
stored losslessly as int16 PCM (the recordings' own format) concatenated with
offsets, in a compressed ``.npz`` that loads without pickle.
"""

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf

from sklearn_mbm.datasets._av_digits import SAMPLE_FILE, fetch_av_digits

TAKES_PER_SPEAKER = 10
SAMPLE_SEED = 0
PAIRING_SEED = 0


def select_rows(bunch, takes_per_speaker=TAKES_PER_SPEAKER, seed=SAMPLE_SEED):
    """Rows of the full set in the sample, in the full set's order."""
    rng = np.random.RandomState(seed)
    frame = bunch.frame
    rows = []
    for (_, _), group in frame.groupby(["digit", "speaker"], sort=True):
        rows.extend(
            rng.choice(group.index.to_numpy(), takes_per_speaker, replace=False)
        )
    return np.sort(np.asarray(rows))


def build_sample(data_home, output):
    full = fetch_av_digits(
        data_home=data_home, download_if_missing=False, random_state=PAIRING_SEED
    )
    rows = select_rows(full)
    part = full.frame.iloc[rows]
    waveforms = []
    for path in part["audio"]:
        pcm, sr = sf.read(path, dtype="int16")
        if sr != 8000 or pcm.ndim != 1:
            raise ValueError(f"{path!r}: expected mono 8 kHz audio, got sr={sr}.")
        waveforms.append(pcm)
    offsets = np.concatenate([[0], np.cumsum([len(w) for w in waveforms])])
    arrays = {
        "images": np.stack(part["image"].tolist()).astype(np.uint8),
        "audio_pcm": np.concatenate(waveforms).astype(np.int16),
        "audio_offsets": offsets.astype(np.int64),
        "text": np.asarray(part["text"].tolist(), dtype=str),
        "speaker": np.asarray(part["speaker"].tolist(), dtype=str),
        "take": part["take"].to_numpy(dtype=np.int16),
        "digit": part["digit"].to_numpy(dtype=np.int8),
        "mnist_index": full.mnist_index[rows].astype(np.int16),
    }
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(output, **arrays)
    return output


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data-home", required=True, help="folder with fsdd/ and mnist/"
    )
    parser.add_argument(
        "--output",
        default=str(Path(__file__).parent / "data" / SAMPLE_FILE),
        help="where to write the .npz (default: the package data folder)",
    )
    args = parser.parse_args(argv)
    path = build_sample(args.data_home, args.output)
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
