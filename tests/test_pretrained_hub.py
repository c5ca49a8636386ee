"""The preset fingerprint (sklearn_mbm.pretrained._hub): content, not place.

A fitted embedder must accept a byte-for-byte copy of its preset folder
(where it was, or elsewhere, times kept or not) and refuse changed content,
even when the change keeps each file's size and modification time.
"""

import os
import pickle
import shutil

import numpy as np
import pytest

from sklearn_mbm import TextEmbedder

keras_hub = pytest.importorskip("keras_hub")  # the [hub] extra, part of [test]
from sklearn_mbm.pretrained import _tiny  # noqa: E402
from sklearn_mbm.pretrained._hub import preset_fingerprint  # noqa: E402

TEXTS = ["the digit three", "nine", "a photo of the digit seven"]


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    return _tiny.save_tiny_bert(tmp_path_factory.mktemp("hub") / "bert")


@pytest.fixture
def fitted(bert, tmp_path):
    folder = shutil.copytree(bert, tmp_path / "fitted")
    est = TextEmbedder(folder, batch_size=2).fit(TEXTS)
    return folder, pickle.dumps(est), est.transform(TEXTS)


@pytest.mark.parametrize("keep_times", [True, False])
def test_identical_copy_elsewhere_is_accepted(fitted, tmp_path, keep_times):
    folder, blob, Z = fitted
    copy = shutil.copytree(
        folder,
        tmp_path / "elsewhere" / "bert",
        copy_function=shutil.copy2 if keep_times else shutil.copyfile,
    )
    assert preset_fingerprint(copy) == preset_fingerprint(folder)
    shutil.rmtree(folder)  # the original is gone (another machine)
    est = pickle.loads(blob).set_params(preset=str(copy))
    np.testing.assert_array_equal(est.transform(TEXTS), Z)


def test_identical_copy_at_the_same_path_is_accepted(fitted, tmp_path):
    folder, blob, Z = fitted
    saved = shutil.copytree(folder, tmp_path / "saved", copy_function=shutil.copyfile)
    shutil.rmtree(folder)
    shutil.copytree(saved, folder, copy_function=shutil.copyfile)  # new times
    np.testing.assert_array_equal(pickle.loads(blob).transform(TEXTS), Z)


def test_changed_content_of_same_size_and_times_is_refused(fitted):
    folder, blob, _ = fitted
    weights = os.path.join(folder, "model.weights.h5")
    before = os.stat(weights)
    with open(weights, "r+b") as file:  # one byte of the last weight, flipped
        file.seek(-1, os.SEEK_END)
        last = file.read(1)
        file.seek(-1, os.SEEK_END)
        file.write(bytes([last[0] ^ 0xFF]))
    os.utime(weights, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(weights)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with pytest.raises(ValueError, match="changed since this TextEmbedder"):
        pickle.loads(blob).transform(TEXTS)


def test_changed_tokenizer_asset_is_refused(fitted):
    folder, blob, _ = fitted
    vocabulary = os.path.join(folder, "assets", "tokenizer", "vocabulary.txt")
    with open(vocabulary, "a") as file:
        file.write("eleven\n")
    with pytest.raises(ValueError, match="changed since this TextEmbedder"):
        pickle.loads(blob).transform(TEXTS)


def test_hidden_files_do_not_count(fitted):
    folder, blob, Z = fitted
    with open(os.path.join(folder, ".DS_Store"), "wb") as file:
        file.write(b"finder")
    np.testing.assert_array_equal(pickle.loads(blob).transform(TEXTS), Z)
