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


# --------------------------------------------------------------------------
# polars_cells: numeric List and Array columns through one polars call
# --------------------------------------------------------------------------


def _cell_by_cell(series):
    """The cells as polars_cells builds them without the one-call path."""
    import numpy as np

    return [None if c is None else np.asarray(c) for c in series.to_list()]


@pytest.mark.parametrize(
    "dtype, values, cell_dtype",
    [
        ("List(Float32)", [[0.5, -1.25], None, [], [3.0]], "float32"),
        ("List(Int16)", [[1, 2, 3], [4], None], "int16"),
        ("Array(UInt8, (2, 2))", [[[1, 2], [3, 4]], None, [[5, 6], [7, 8]]], "uint8"),
        ("Array(Float64, 3)", [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], "float64"),
        ("Array(UInt8, 2)", [None, None], None),
    ],
)
def test_polars_numeric_columns_keep_their_dtype(dtype, values, cell_dtype):
    import numpy as np
    import polars as pl

    series = pl.Series("x", values, dtype=eval(dtype, vars(pl)))  # noqa: S307
    cells = cell_io.polars_cells(series)
    assert cells.dtype == object and cells.shape == (len(values),)
    for cell, reference in zip(cells, _cell_by_cell(series)):
        if reference is None:  # a null cell is None, not an array of NaN
            assert cell is None
            continue
        np.testing.assert_array_equal(cell, reference)
        # the column's own dtype (cell by cell, to_list gave float64 / int64)
        assert cell.dtype == cell_dtype


def test_polars_null_items_and_nested_lists_go_cell_by_cell():
    import numpy as np
    import polars as pl

    with_null = pl.Series("x", [[1.0, None], [2.0]], dtype=pl.List(pl.Float64))
    cells = cell_io.polars_cells(with_null)
    assert cells[0].dtype == object  # not a silent NaN: the loaders refuse it
    nested = pl.Series("x", [[[1, 2]], [[3], [4]]], dtype=pl.List(pl.List(pl.UInt8)))
    cells = cell_io.polars_cells(nested)
    np.testing.assert_array_equal(cells[1], [[3], [4]])
    paths = cell_io.polars_cells(pl.Series("s", ["a.wav", None]))
    assert paths.tolist() == ["a.wav", None]
