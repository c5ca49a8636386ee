"""Tests for the ``sklearn_mbm._io`` package: its re-exports.

The cell helpers themselves are tested through the loaders
(``test_io_image.py``, ``test_io_audio.py``) and the extractors.
"""

import importlib

import pytest

import sklearn_mbm._io as cell_io


@pytest.mark.parametrize("name", cell_io.__all__)
def test_reexports_are_the_submodule_objects(name):
    """Each re-exported name is the object of the submodule that defines it."""
    module = importlib.import_module(f"sklearn_mbm._io.{cell_io._NAMES[name]}")
    assert getattr(cell_io, name) is getattr(module, name)
    assert name in dir(cell_io)


def test_submodules_import_by_name():
    from sklearn_mbm._io import _wav, audio, image

    assert image.load_image_cell is cell_io.load_image_cell
    assert audio.load_audio_cell is cell_io.load_audio_cell
    assert callable(_wav.decode_plain_pcm)


def test_unknown_attribute():
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        cell_io.nope  # noqa: B018
