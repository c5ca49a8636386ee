"""The audio-visual digits data set: spoken digits (FSDD) paired with
handwritten digits (MNIST) and a simulated noisy transcript.

``fetch_av_digits`` builds the full 3,000-record set from local files (or
downloads them); ``load_av_digits`` reads the 600-record sample shipped in the
package, which ``_build_sample.py`` cuts from the full set.
"""

import gzip
import hashlib
import os
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.datasets import get_data_home
from sklearn.utils import Bunch, check_random_state

__all__ = ["fetch_av_digits", "load_av_digits"]

AUDIO_SR = 8000
"""Sample rate (Hz) of every FSDD recording."""

DIGIT_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)

# --------------------------------------------------------------------------
# Sources, pinned and checksummed
# --------------------------------------------------------------------------

FSDD_COMMIT = "26eb9aaf76e81b692f806f9140c2d2777410d7a1"
FSDD_URL = (
    f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/{FSDD_COMMIT}.zip"
)
# sha256 over the sorted recordings: for each file name, the name, a NUL byte and
# the sha256 digest of the file's bytes. Computed from the local copy of FSDD
# at FSDD_COMMIT; the checksum of GitHub's zip archive itself is not pinned
# (it could not be computed offline, and GitHub does not promise stable archive
# bytes), so the extracted recordings are what gets verified.
FSDD_RECORDINGS_SHA256 = (
    "a2e8a660492f28d9eed6270b290d26cbc5c81d6077ce87d3c0ad5adf4d4ee696"
)

MNIST_FILES = {
    "images": "t10k-images-idx3-ubyte.gz",
    "labels": "t10k-labels-idx1-ubyte.gz",
}
# Mirrors of the original MNIST files, tried in order.
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
# sha256 of the *decompressed* IDX files: gzip headers differ between copies of
# the same data, the IDX bytes do not.
MNIST_IDX_SHA256 = {
    "images": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "labels": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

DOWNLOAD_TIMEOUT = 30  # seconds per connection attempt, so a dead network fails fast

_RECORDING = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")

_LAYOUT = (
    "  {root}/fsdd/recordings/{{digit}}_{{speaker}}_{{take}}.wav\n"
    "  {root}/mnist/t10k-images-idx3-ubyte.gz\n"
    "  {root}/mnist/t10k-labels-idx1-ubyte.gz"
)

# --------------------------------------------------------------------------
# Simulated transcripts
# --------------------------------------------------------------------------

# Probabilities of the transcript simulation; DESCR documents the same numbers.
P_WRONG_DIGIT = 0.20  # the transcript names another digit (uniform)
P_INAUDIBLE = 0.10  # no digit word, the token "inaudible" instead
P_TYPO = 0.25  # a named digit word gets one typo
P_FILLER_BEFORE = 0.40
P_FILLER_AFTER = 0.25
FILLERS_BEFORE = (
    "um",
    "uh",
    "er",
    "so",
    "okay",
    "the number is",
    "i heard",
    "it sounds like",
    "i think it's",
)
FILLERS_AFTER = ("please", "thanks", "i think", "maybe", "right", "again")
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _typo(word, rng):
    """One random edit (substitute, delete, insert, swap); always changes ``word``."""
    kind = rng.randint(4)
    if kind == 0:  # substitution by a different letter
        pos = rng.randint(len(word))
        letters = _LETTERS.replace(word[pos], "")
        return word[:pos] + letters[rng.randint(len(letters))] + word[pos + 1 :]
    if kind == 1:  # deletion
        pos = rng.randint(len(word))
        return word[:pos] + word[pos + 1 :]
    if kind == 2:  # insertion
        pos = rng.randint(len(word) + 1)
        return word[:pos] + _LETTERS[rng.randint(26)] + word[pos:]
    # transposition of two adjacent, different letters (swapping "ee" in
    # "three" would leave the word unchanged)
    swappable = [i for i in range(len(word) - 1) if word[i] != word[i + 1]]
    pos = swappable[rng.randint(len(swappable))]
    return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]


def simulate_transcripts(digits, random_state=0):
    """Simulated noisy transcripts of spoken digits, one per digit.

    For each digit, in order: with probability ``P_WRONG_DIGIT`` the transcript
    names another digit (uniform over the nine others), with probability
    ``P_INAUDIBLE`` it names none (the word ``"inaudible"``), otherwise the
    true digit. A digit word gets one typo (a random substitution, deletion,
    insertion or swap of two adjacent letters) with probability ``P_TYPO``.
    A filler phrase is put before it with probability ``P_FILLER_BEFORE`` and
    after it with probability ``P_FILLER_AFTER``, each drawn uniformly from
    ``FILLERS_BEFORE`` and ``FILLERS_AFTER``.

    Parameters
    ----------
    digits : array-like of int in [0, 9]
        The true digits.
    random_state : int, RandomState instance or None, default=0
        Seed; the same seed and digits give the same transcripts.

    Returns
    -------
    transcripts : list of str
    """
    rng = check_random_state(random_state)
    transcripts = []
    for digit in np.asarray(digits, dtype=int):
        draw = rng.random_sample()
        if draw < P_WRONG_DIGIT:
            word = DIGIT_WORDS[(digit + 1 + rng.randint(9)) % 10]
        elif draw < P_WRONG_DIGIT + P_INAUDIBLE:
            word = "inaudible"
        else:
            word = DIGIT_WORDS[digit]
        if word != "inaudible" and rng.random_sample() < P_TYPO:
            word = _typo(word, rng)
        parts = [word]
        if rng.random_sample() < P_FILLER_BEFORE:
            parts.insert(0, FILLERS_BEFORE[rng.randint(len(FILLERS_BEFORE))])
        if rng.random_sample() < P_FILLER_AFTER:
            parts.append(FILLERS_AFTER[rng.randint(len(FILLERS_AFTER))])
        transcripts.append(" ".join(parts))
    return transcripts


# --------------------------------------------------------------------------
# Reading the local files
# --------------------------------------------------------------------------


def _read_idx(path, kind):
    """Read a gzipped IDX file of MNIST images (n, 28, 28) or labels (n,)."""
    magic_expected, header = (2051, 16) if kind == "images" else (2049, 8)
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise OSError(f"Cannot read MNIST {kind} file {str(path)!r}: {exc}") from exc
    magic = int.from_bytes(raw[:4], "big") if len(raw) >= 4 else None
    if magic != magic_expected or len(raw) < header:
        raise ValueError(
            f"{str(path)!r} is not an MNIST {kind} IDX file (magic number "
            f"{magic}, expected {magic_expected})."
        )
    n = int.from_bytes(raw[4:8], "big")
    data = np.frombuffer(raw, dtype=np.uint8, offset=header)
    if kind == "images":
        rows, cols = (int.from_bytes(raw[i : i + 4], "big") for i in (8, 12))
        shape = (n, rows, cols)
    else:
        shape = (n,)
    if data.size != int(np.prod(shape)):
        raise ValueError(
            f"{str(path)!r} is truncated: the header announces shape {shape}, "
            f"the file holds {data.size} values."
        )
    return data.reshape(shape)


def _list_recordings(recordings_dir):
    """``(digit, speaker, take, path)`` of every FSDD clip, sorted."""
    if not recordings_dir.is_dir():
        return []
    clips = []
    for entry in os.scandir(recordings_dir):
        match = _RECORDING.match(entry.name)
        if match:
            digit, speaker, take = match.groups()
            clips.append((int(digit), speaker, int(take), entry.path))
    return sorted(clips)


def _missing_parts(root):
    """Which of the three inputs are absent under ``root``."""
    missing = []
    if not _list_recordings(root / "fsdd" / "recordings"):
        missing.append("fsdd")
    for kind, name in MNIST_FILES.items():
        if not (root / "mnist" / name).is_file():
            missing.append(kind)
    return missing


def _describe_missing(missing):
    names = {
        "fsdd": "FSDD recordings (fsdd/recordings/*.wav)",
        "images": f"MNIST test images (mnist/{MNIST_FILES['images']})",
        "labels": f"MNIST test labels (mnist/{MNIST_FILES['labels']})",
    }
    return ", ".join(names[part] for part in missing)


# --------------------------------------------------------------------------
# Downloading
# --------------------------------------------------------------------------


def _download(urls, target):
    """Download the first reachable URL of ``urls`` to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    failures = []
    for url in urls:
        try:
            with (
                urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response,
                open(partial, "wb") as out,
            ):
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            partial.unlink(missing_ok=True)
            failures.append(f"{url}: {exc}")
            continue
        os.replace(partial, target)
        return target
    raise OSError("\n  ".join(["Download failed:", *failures]))


def _recordings_sha256(recordings_dir):
    digest = hashlib.sha256()
    for name in sorted(os.listdir(recordings_dir)):
        content = (recordings_dir / name).read_bytes()
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).digest())
    return digest.hexdigest()


def _download_fsdd(root):
    archive = _download([FSDD_URL], root / f"fsdd-{FSDD_COMMIT[:8]}.zip")
    recordings = root / "fsdd" / "recordings"
    staging = root / "fsdd" / "recordings.part"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for member in zf.namelist():
            parent, _, name = member.rpartition("/")
            # only the flat recordings folder, by base name: nothing else of the
            # repository, and no path from the archive reaches the file system
            if parent.endswith("recordings") and _RECORDING.match(name):
                (staging / name).write_bytes(zf.read(member))
    found = _recordings_sha256(staging)
    if found != FSDD_RECORDINGS_SHA256:
        shutil.rmtree(staging, ignore_errors=True)
        raise OSError(
            f"The FSDD recordings extracted from {FSDD_URL} do not match the "
            f"pinned checksum (sha256 {found}, expected {FSDD_RECORDINGS_SHA256});"
            " they were deleted. Place the recordings by hand (see the layout)."
        )
    shutil.rmtree(recordings, ignore_errors=True)
    os.replace(staging, recordings)
    archive.unlink()


def _download_mnist(root, kind):
    name = MNIST_FILES[kind]
    target = _download([base + name for base in MNIST_MIRRORS], root / "mnist" / name)
    with gzip.open(target, "rb") as f:
        found = hashlib.sha256(f.read()).hexdigest()
    if found != MNIST_IDX_SHA256[kind]:
        target.unlink()
        raise OSError(
            f"The downloaded {name} does not match the pinned checksum of MNIST "
            f"(sha256 of its content {found}, expected {MNIST_IDX_SHA256[kind]}); "
            "it was deleted."
        )


def _ensure_files(root, download_if_missing):
    missing = _missing_parts(root)
    if not missing:
        return
    layout = _LAYOUT.format(root=root)
    if not download_if_missing:
        raise FileNotFoundError(
            f"The AV digits data is not in {str(root)!r}: missing "
            f"{_describe_missing(missing)}, and download_if_missing=False. Put "
            f"the files there with this layout:\n{layout}\nor call "
            "fetch_av_digits(download_if_missing=True) with internet access."
        )
    try:
        if "fsdd" in missing:
            _download_fsdd(root)
        for kind in ("images", "labels"):
            if kind in missing:
                _download_mnist(root, kind)
    except OSError as exc:
        raise OSError(
            f"Could not download the AV digits data into {str(root)!r} "
            f"({_describe_missing(missing)} missing): {exc}\nWithout network "
            f"access, place the files there by hand with this layout:\n{layout}"
            f"\nFSDD: {FSDD_URL}\nMNIST: {MNIST_MIRRORS[0]}"
        ) from exc


# --------------------------------------------------------------------------
# Bunch assembly
# --------------------------------------------------------------------------


def _descr():
    return (
        resources.files("sklearn_mbm.datasets")
        .joinpath("descr", "av_digits.rst")
        .read_text(encoding="utf-8")
    )


def _object_column(values):
    """A 1-D object array of cells (arrays stay whole cells, not broadcast)."""
    column = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        column[i] = value
    return column


def _bunch(columns, target, *, return_X_y, as_frame, **extra):
    """Package ``columns`` (dict name -> 1-D array) like sklearn's loaders."""
    feature_names = list(columns)
    target = np.asarray(target, dtype=np.int64)
    frame = None
    if as_frame:
        import pandas as pd

        data = pd.DataFrame(
            {
                name: pd.Series(values, dtype=values.dtype)
                for name, values in columns.items()
            }
        )
        target = pd.Series(target, name="digit")
        frame = data.assign(digit=target)
    else:
        data = np.empty((len(target), len(columns)), dtype=object)
        for j, values in enumerate(columns.values()):
            data[:, j] = values
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=np.arange(10),
        DESCR=_descr(),
        audio_sr=AUDIO_SR,
        **extra,
    )


# --------------------------------------------------------------------------
# Public loaders
# --------------------------------------------------------------------------


def fetch_av_digits(
    data_home=None,
    download_if_missing=True,
    random_state=0,
    return_X_y=False,
    as_frame=True,
):
    """Load the full audio-visual digits set (3,000 records), downloading if needed.

    Each of the 3,000 Free Spoken Digit Dataset (FSDD) recordings is paired
    with a different MNIST test image of the same digit and a simulated noisy
    transcript. Read :ref:`the description <av_digits_dataset>` (``DESCR``) for
    sources, licenses and how the transcripts are simulated.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Folder holding (or receiving) the files, laid out as::

            fsdd/recordings/{digit}_{speaker}_{take}.wav
            mnist/t10k-images-idx3-ubyte.gz
            mnist/t10k-labels-idx1-ubyte.gz

        By default ``av_digits`` inside scikit-learn's data home
        (:func:`sklearn.datasets.get_data_home`, ``~/scikit_learn_data``).
        A folder that already holds the files is only read, never written.
    download_if_missing : bool, default=True
        Download missing files (FSDD from GitHub at a pinned commit, MNIST from
        public mirrors), checking them against pinned checksums. If False, a
        missing file raises ``FileNotFoundError``.
    random_state : int, RandomState instance or None, default=0
        Seed of the pairing of clips with images (images drawn without
        replacement among the test images of the same digit) and of the
        transcripts. The same seed gives the same data set.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        ``data`` as a pandas DataFrame and ``target`` as a Series; otherwise a
        2-D object ndarray (columns in ``feature_names`` order) and an int array.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : DataFrame or ndarray of shape (3000, 5)
            Columns ``image`` (28x28 uint8 arrays), ``audio`` (paths of the
            WAV files, str), ``text`` (str), ``speaker`` (str) and ``take``
            (int, the recording's index for that speaker and digit).
        target : Series or ndarray of shape (3000,)
            The digit, 0-9.
        frame : DataFrame of shape (3000, 6) or None
            ``data`` with the ``digit`` column, when ``as_frame=True``.
        feature_names : list of str
            The columns of ``data``.
        target_names : ndarray of shape (10,)
            The digits 0-9.
        audio_sr : int
            The sample rate of the recordings, 8000 Hz.
        mnist_index : ndarray of shape (3000,)
            Index of each image in the MNIST test set.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    Raises
    ------
    FileNotFoundError
        If files are missing and ``download_if_missing=False``; the message
        names the folder and the layout to fill.
    OSError
        If files are missing and cannot be downloaded.

    See Also
    --------
    load_av_digits : The 600-record sample shipped with the package.

    Examples
    --------
    >>> from sklearn_mbm.datasets import fetch_av_digits
    >>> av = fetch_av_digits(data_home="path/to/data")  # doctest: +SKIP
    >>> av.data.columns.tolist()  # doctest: +SKIP
    ['image', 'audio', 'text', 'speaker', 'take']
    """
    if data_home is None:
        root = Path(get_data_home()) / "av_digits"
    else:
        root = Path(os.fspath(data_home)).expanduser()
    root = root.absolute()
    _ensure_files(root, download_if_missing)

    clips = _list_recordings(root / "fsdd" / "recordings")
    images = _read_idx(root / "mnist" / MNIST_FILES["images"], "images")
    labels = _read_idx(root / "mnist" / MNIST_FILES["labels"], "labels")
    if len(images) != len(labels):
        raise ValueError(
            f"MNIST images ({len(images)}) and labels ({len(labels)}) in "
            f"{str(root / 'mnist')!r} do not match."
        )

    digits = np.array([clip[0] for clip in clips], dtype=np.int64)
    rng = check_random_state(random_state)
    mnist_index = np.empty(len(clips), dtype=np.int64)
    for digit in range(10):
        rows = np.flatnonzero(digits == digit)
        candidates = np.flatnonzero(labels == digit)
        if len(rows) > len(candidates):
            raise ValueError(
                f"{len(rows)} recordings of digit {digit} but only "
                f"{len(candidates)} MNIST images of it: cannot pair without "
                "replacement."
            )
        mnist_index[rows] = rng.choice(candidates, size=len(rows), replace=False)
    texts = simulate_transcripts(digits, rng)

    columns = {
        "image": _object_column(list(images[mnist_index])),
        "audio": _object_column([clip[3] for clip in clips]),
        "text": _object_column(texts),
        "speaker": _object_column([clip[1] for clip in clips]),
        "take": np.array([clip[2] for clip in clips], dtype=np.int64),
    }
    return _bunch(
        columns,
        digits,
        return_X_y=return_X_y,
        as_frame=as_frame,
        mnist_index=mnist_index,
    )


SAMPLE_FILE = "av_digits_sample.npz"


def load_av_digits(return_X_y=False, as_frame=True):
    """Load the audio-visual digits sample shipped with the package (600 records).

    60 records per digit, 10 per speaker and digit, cut from
    ``fetch_av_digits(random_state=0)``: an MNIST image, an FSDD recording (as
    a waveform), a simulated noisy transcript and the speaker, with the digit
    as target. Works offline. Read :ref:`the description <av_digits_dataset>`
    (``DESCR``) for sources, licenses and how the transcripts are simulated.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    as_frame : bool, default=True
        ``data`` as a pandas DataFrame and ``target`` as a Series; otherwise a
        2-D object ndarray (columns in ``feature_names`` order) and an int array.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with attributes:

        data : DataFrame or ndarray of shape (600, 4)
            Columns ``image`` (28x28 uint8 arrays), ``audio`` (1-D float32
            waveforms in [-1, 1) at 8 kHz), ``text`` (str) and ``speaker``
            (str; use it as ``groups`` for speaker-independent splits).
        target : Series or ndarray of shape (600,)
            The digit, 0-9.
        frame : DataFrame of shape (600, 5) or None
            ``data`` with the ``digit`` column, when ``as_frame=True``.
        feature_names : list of str
            The columns of ``data``.
        target_names : ndarray of shape (10,)
            The digits 0-9.
        audio_sr : int
            The sample rate of the waveforms, 8000 Hz (pass it as the audio
            extractor's ``input_sr``).
        take : ndarray of shape (600,)
            The FSDD take of each recording (file ``{digit}_{speaker}_{take}.wav``).
        mnist_index : ndarray of shape (600,)
            Index of each image in the MNIST test set.
        DESCR : str
            Description of the data set.

    (data, target) : tuple if ``return_X_y`` is True

    See Also
    --------
    fetch_av_digits : The full set of 3,000 records.

    Examples
    --------
    >>> from sklearn_mbm.datasets import load_av_digits
    >>> av = load_av_digits()
    >>> av.data.shape
    (600, 4)
    >>> av.data.columns.tolist()
    ['image', 'audio', 'text', 'speaker']
    >>> av.audio_sr
    8000
    """
    source = resources.files("sklearn_mbm.datasets").joinpath("data", SAMPLE_FILE)
    with source.open("rb") as f, np.load(f, allow_pickle=False) as npz:
        sample = {key: npz[key] for key in npz.files}
    offsets = sample["audio_offsets"]
    # int16 PCM back to float32 in [-1, 1), as soundfile reads the WAV files
    waveforms = sample["audio_pcm"].astype(np.float32) / np.float32(32768)
    columns = {
        "image": _object_column(list(sample["images"])),
        "audio": _object_column(
            [waveforms[start:stop] for start, stop in zip(offsets[:-1], offsets[1:])]
        ),
        "text": _object_column(sample["text"].tolist()),
        "speaker": _object_column(sample["speaker"].tolist()),
    }
    return _bunch(
        columns,
        sample["digit"],
        return_X_y=return_X_y,
        as_frame=as_frame,
        take=sample["take"].astype(np.int64),
        mnist_index=sample["mnist_index"].astype(np.int64),
    )
