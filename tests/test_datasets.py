"""Tests of sklearn_mbm.datasets: the bundled sample and the full set."""

import gzip
import re
import shutil
import urllib.error
import urllib.request
import zipfile
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sklearn_mbm.datasets import _av_digits, fetch_av_digits, load_av_digits
from sklearn_mbm.datasets._av_digits import (
    DIGIT_WORDS,
    FSDD_COMMIT,
    FSDD_RECORDINGS_SHA256,
    MNIST_IDX_SHA256,
    simulate_transcripts,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "fsdd" / "recordings").is_dir(),
    reason=f"the real FSDD/MNIST data folder {DATA} is absent",
)
SPEAKERS = {"george", "jackson", "lucas", "nicolas", "theo", "yweweler"}
COLUMNS = ["image", "audio", "text", "speaker"]


def _names_true_digit(digits, texts):
    """Whether each transcript contains its true digit word, spelled right."""
    return np.array([DIGIT_WORDS[d] in t.split() for d, t in zip(digits, texts)])


@pytest.fixture(scope="module")
def full():
    if not (DATA / "fsdd" / "recordings").is_dir():
        pytest.skip(f"the real FSDD/MNIST data folder {DATA} is absent")
    return fetch_av_digits(data_home=DATA, download_if_missing=False)


@pytest.fixture(scope="module")
def mnist():
    with gzip.open(DATA / "mnist" / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(DATA / "mnist" / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


# --------------------------------------------------------------------------
# load_av_digits: the bundled sample (no external data needed)
# --------------------------------------------------------------------------


def test_load_av_digits_bunch():
    av = load_av_digits()
    assert isinstance(av.data, pd.DataFrame)
    assert av.data.shape == (600, 4)
    assert list(av.data.columns) == COLUMNS == av.feature_names
    assert list(av.frame.columns) == [*COLUMNS, "digit"]
    assert av.target.name == "digit"
    assert av.target.dtype == np.int64
    assert av.audio_sr == 8000
    np.testing.assert_array_equal(av.target_names, np.arange(10))
    # balanced: 60 per digit, 10 per speaker and digit, all 6 speakers
    assert av.target.value_counts().to_dict() == dict.fromkeys(range(10), 60)
    counts = av.frame.groupby(["digit", "speaker"]).size()
    assert set(av.data["speaker"]) == SPEAKERS
    assert len(counts) == 60 and (counts == 10).all()
    for image in av.data["image"]:
        assert isinstance(image, np.ndarray)
        assert image.shape == (28, 28) and image.dtype == np.uint8
    for wave in av.data["audio"]:
        assert wave.ndim == 1 and wave.dtype == np.float32
        assert 0.1 * 8000 < wave.size < 2.5 * 8000
        assert -1 <= wave.min() and wave.max() < 1
        assert np.abs(wave).max() > 0.01  # real speech, not silence
    assert all(isinstance(t, str) and t for t in av.data["text"])
    assert len(av.take) == len(av.mnist_index) == 600
    assert len(set(av.mnist_index.tolist())) == 600  # images without replacement
    for words in ("simulated", "8000", "CC BY-SA 4.0", "CC BY-SA 3.0", FSDD_COMMIT):
        assert words in av.DESCR


def test_load_av_digits_return_X_y_and_arrays():
    X, y = load_av_digits(return_X_y=True)
    assert isinstance(X, pd.DataFrame) and isinstance(y, pd.Series)
    assert X.shape == (600, 4) and y.shape == (600,)

    av = load_av_digits(as_frame=False)
    assert av.frame is None
    assert isinstance(av.data, np.ndarray) and av.data.dtype == object
    assert av.data.shape == (600, 4)
    assert isinstance(av.target, np.ndarray) and av.target.dtype == np.int64
    assert av.data[0, 0].shape == (28, 28)
    assert av.data[0, 1].dtype == np.float32
    assert isinstance(av.data[0, 2], str) and av.data[0, 3] in SPEAKERS

    X2, y2 = load_av_digits(return_X_y=True, as_frame=False)
    np.testing.assert_array_equal(y2, y.to_numpy())
    np.testing.assert_array_equal(X2[:, 2], X["text"].to_numpy())


def test_sample_text_is_moderately_informative():
    av = load_av_digits()
    named = _names_true_digit(av.target, av.data["text"]).mean()
    # about 70% * 75% name it spelled right; informative, far from perfect
    assert 0.40 < named < 0.65
    assert len(set(av.data["text"])) > 100


def test_sample_audio_matches_licensed_source_files():
    """The bundled PCM is the recordings' own samples (lossless)."""
    if not (DATA / "fsdd" / "recordings").is_dir():
        pytest.skip(f"the real FSDD data folder {DATA} is absent")
    av = load_av_digits()
    for i in (0, 137, 599):
        name = f"{av.target[i]}_{av.data['speaker'][i]}_{av.take[i]}.wav"
        wave, sr = sf.read(DATA / "fsdd" / "recordings" / name, dtype="float32")
        assert sr == av.audio_sr
        np.testing.assert_array_equal(av.data["audio"][i], wave)


# --------------------------------------------------------------------------
# simulated transcripts
# --------------------------------------------------------------------------


def test_simulate_transcripts_rates_and_determinism():
    digits = np.tile(np.arange(10), 2000)
    texts = simulate_transcripts(digits, random_state=3)
    assert texts == simulate_transcripts(digits, random_state=3)
    assert texts != simulate_transcripts(digits, random_state=4)

    spoken = []  # the word left after removing the fillers
    for text in texts:
        words = text
        for filler in sorted(_av_digits.FILLERS_BEFORE, key=len, reverse=True):
            if words.startswith(filler + " "):
                words = words[len(filler) + 1 :]
                break
        for filler in sorted(_av_digits.FILLERS_AFTER, key=len, reverse=True):
            if words.endswith(" " + filler):
                words = words[: -len(filler) - 1]
                break
        spoken.append(words)
    spoken = np.array(spoken)
    inaudible = spoken == "inaudible"
    correct = spoken == np.array(DIGIT_WORDS)[digits]
    other_word = np.isin(spoken, DIGIT_WORDS) & ~correct
    typo = ~inaudible & ~np.isin(spoken, DIGIT_WORDS)
    # P(inaudible) = 0.10; P(correct, no typo) = 0.70 * 0.75;
    # P(other digit, no typo) = 0.20 * 0.75; P(typo) = 0.90 * 0.25
    assert abs(inaudible.mean() - 0.10) < 0.01
    assert abs(correct.mean() - 0.525) < 0.015
    assert abs(other_word.mean() - 0.15) < 0.01
    assert abs(typo.mean() - 0.225) < 0.01
    # a typo is one edit away from a digit word
    for word in spoken[typo][:200]:
        assert min(abs(len(word) - len(w)) for w in DIGIT_WORDS) <= 1
    # fillers are independent of the digit and frequent
    with_filler = np.array([t != s for t, s in zip(texts, spoken)])
    assert abs(with_filler.mean() - (1 - 0.6 * 0.75)) < 0.015


def test_typo_always_changes_the_word():
    rng = np.random.RandomState(0)
    for word in DIGIT_WORDS * 20:
        assert _av_digits._typo(word, rng) != word


# --------------------------------------------------------------------------
# fetch_av_digits on the real local files
# --------------------------------------------------------------------------


def test_fetch_av_digits_full_set(full, mnist):
    images, labels = mnist
    assert full.data.shape == (3000, 5)
    assert list(full.data.columns) == [*COLUMNS, "take"] == full.feature_names
    assert full.target.value_counts().to_dict() == dict.fromkeys(range(10), 300)
    assert full.data["speaker"].value_counts().to_dict() == dict.fromkeys(SPEAKERS, 500)
    assert set(full.data["take"]) == set(range(50))
    assert full.audio_sr == 8000
    # audio cells are paths of the clip of that digit, speaker and take
    pattern = re.compile(r"(\d)_([a-z]+)_(\d+)\.wav$")
    for i in range(0, 3000, 97):
        path = Path(full.data["audio"][i])
        assert path.is_absolute() and path.is_file()
        digit, speaker, take = pattern.search(path.name).groups()
        assert int(digit) == full.target[i]
        assert speaker == full.data["speaker"][i]
        assert int(take) == full.data["take"][i]
    # each image is the MNIST test image it claims to be, of the same digit,
    # and no image is used twice
    index = full.mnist_index
    assert len(np.unique(index)) == 3000
    np.testing.assert_array_equal(labels[index], full.target.to_numpy())
    np.testing.assert_array_equal(np.stack(full.data["image"]), images[index])
    named = _names_true_digit(full.target, full.data["text"]).mean()
    assert 0.45 < named < 0.60


@needs_data
def test_fetch_av_digits_pairing_is_deterministic(full):
    again = fetch_av_digits(data_home=DATA, download_if_missing=False, random_state=0)
    np.testing.assert_array_equal(again.mnist_index, full.mnist_index)
    assert again.data["text"].tolist() == full.data["text"].tolist()
    other = fetch_av_digits(data_home=str(DATA), random_state=1)
    assert (other.mnist_index != full.mnist_index).mean() > 0.9
    assert other.data["text"].tolist() != full.data["text"].tolist()
    # the clips and their order do not depend on the seed
    assert other.data["audio"].tolist() == full.data["audio"].tolist()


@needs_data
def test_fetch_av_digits_return_X_y_and_arrays(full):
    X, y = fetch_av_digits(data_home=DATA, return_X_y=True)
    pd.testing.assert_series_equal(y, full.target)
    assert X.columns.tolist() == full.feature_names
    av = fetch_av_digits(data_home=DATA, as_frame=False)
    assert av.frame is None and av.data.shape == (3000, 5)
    assert av.data.dtype == object and av.target.dtype == np.int64
    assert av.data[5, 1] == full.data["audio"][5]


def test_sample_is_a_subset_of_the_full_set(full):
    sample = load_av_digits()
    key = full.frame.set_index(["digit", "speaker", "take"]).index
    rows = key.get_indexer(
        pd.MultiIndex.from_arrays(
            [sample.target, sample.data["speaker"], sample.take],
            names=["digit", "speaker", "take"],
        )
    )
    assert (rows >= 0).all()
    np.testing.assert_array_equal(full.mnist_index[rows], sample.mnist_index)
    assert full.data["text"].iloc[rows].tolist() == sample.data["text"].tolist()
    for i in (0, 300, 599):
        np.testing.assert_array_equal(
            full.data["image"].iloc[rows[i]], sample.data["image"][i]
        )


@needs_data
def test_local_files_match_pinned_checksums():
    found = _av_digits._recordings_sha256(DATA / "fsdd" / "recordings")
    assert found == FSDD_RECORDINGS_SHA256
    import hashlib

    for kind, name in _av_digits.MNIST_FILES.items():
        with gzip.open(DATA / "mnist" / name) as f:
            assert hashlib.sha256(f.read()).hexdigest() == MNIST_IDX_SHA256[kind]


# --------------------------------------------------------------------------
# missing files and downloads (no network is used: see each test)
# --------------------------------------------------------------------------


def test_fetch_offline_error_names_folder_and_layout(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        fetch_av_digits(data_home=tmp_path, download_if_missing=False)
    message = str(info.value)
    assert str(tmp_path) in message
    assert "fsdd/recordings/{digit}_{speaker}_{take}.wav" in message
    assert "mnist/t10k-images-idx3-ubyte.gz" in message
    assert "download_if_missing=False" in message
    assert not any(tmp_path.iterdir())  # nothing was written


@needs_data
def test_fetch_names_only_the_missing_part(tmp_path):
    (tmp_path / "fsdd").symlink_to(DATA / "fsdd")
    with pytest.raises(FileNotFoundError, match="MNIST test images") as info:
        fetch_av_digits(data_home=tmp_path, download_if_missing=False)
    assert "FSDD recordings" not in str(info.value).split("with this layout")[0]


def test_fetch_default_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv("SCIKIT_LEARN_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "av_digits"))):
        fetch_av_digits(download_if_missing=False)


def test_fetch_without_network_fails_clearly(tmp_path, monkeypatch):
    """No real network call: urlopen is replaced by one that raises URLError,
    as it does offline, and records that a timeout was always passed."""
    calls = []

    def offline(url, *args, timeout=None, **kwargs):
        calls.append((url, timeout))
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(OSError, match="Could not download") as info:
        fetch_av_digits(data_home=tmp_path / "home")
    message = str(info.value)
    assert str(tmp_path / "home") in message
    assert "name resolution" in message
    assert "fsdd/recordings/{digit}_{speaker}_{take}.wav" in message
    assert calls and calls[0][0] == _av_digits.FSDD_URL
    assert all(timeout is not None and timeout > 0 for _, timeout in calls)
    assert not list((tmp_path / "home").rglob("*.part"))


def _fsdd_archive(path, names):
    """A zip laid out as GitHub's archive of the FSDD repository."""
    top = f"free-spoken-digit-dataset-{FSDD_COMMIT}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(f"{top}/README.md", "FSDD")
        zf.writestr(f"{top}/acquire_data/x.py", "")
        for name in names:
            zf.write(DATA / "fsdd" / "recordings" / name, f"{top}/recordings/{name}")
    return path


@needs_data
def test_fetch_downloads_and_verifies(tmp_path, monkeypatch, full):
    """The download path, end to end, from file:// URLs (urllib serves them)."""
    recordings = sorted(p.name for p in (DATA / "fsdd" / "recordings").iterdir())
    archive = _fsdd_archive(tmp_path / "fsdd.zip", recordings)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    for name in _av_digits.MNIST_FILES.values():
        shutil.copy(DATA / "mnist" / name, mirror / name)
    monkeypatch.setattr(_av_digits, "FSDD_URL", archive.as_uri())
    # the first mirror is dead: the second one must be used
    monkeypatch.setattr(
        _av_digits,
        "MNIST_MIRRORS",
        ((tmp_path / "dead").as_uri() + "/", mirror.as_uri() + "/"),
    )
    home = tmp_path / "home"
    got = fetch_av_digits(data_home=home)
    assert len(list((home / "fsdd" / "recordings").iterdir())) == 3000
    assert not (home / "fsdd" / "recordings.part").exists()
    assert not list(home.glob("*.zip"))  # the archive is removed after extraction
    np.testing.assert_array_equal(got.mnist_index, full.mnist_index)
    assert got.data["text"].tolist() == full.data["text"].tolist()
    assert Path(got.data["audio"][0]).parent == (home / "fsdd" / "recordings")


@needs_data
def test_fetch_rejects_a_corrupt_download(tmp_path, monkeypatch):
    # an archive with only some recordings does not match the pinned checksum
    archive = _fsdd_archive(tmp_path / "fsdd.zip", ["0_george_0.wav", "1_theo_3.wav"])
    monkeypatch.setattr(_av_digits, "FSDD_URL", archive.as_uri())
    home = tmp_path / "home"
    with pytest.raises(OSError, match="do not match the pinned checksum"):
        fetch_av_digits(data_home=home)
    assert not (home / "fsdd" / "recordings").exists()


def test_corrupt_mnist_file_is_reported(tmp_path):
    (tmp_path / "fsdd" / "recordings").mkdir(parents=True)
    sf.write(tmp_path / "fsdd" / "recordings" / "3_theo_0.wav", np.zeros(800), 8000)
    (tmp_path / "mnist").mkdir()
    for name in _av_digits.MNIST_FILES.values():
        with gzip.open(tmp_path / "mnist" / name, "wb") as f:
            f.write(b"not an idx file at all")
    with pytest.raises(ValueError, match="is not an MNIST images IDX file"):
        fetch_av_digits(data_home=tmp_path, download_if_missing=False)


@needs_data
def test_build_script_reproduces_the_bundled_sample(tmp_path):
    from sklearn_mbm.datasets import _build_sample

    out = _build_sample.build_sample(DATA, tmp_path / "sample.npz")
    shipped = resources.files("sklearn_mbm.datasets").joinpath(
        "data", _av_digits.SAMPLE_FILE
    )
    with np.load(out) as built, shipped.open("rb") as f, np.load(f) as bundled:
        assert sorted(built.files) == sorted(bundled.files)
        for key in built.files:
            np.testing.assert_array_equal(built[key], bundled[key], err_msg=key)
            assert built[key].dtype == bundled[key].dtype
