"""Loading raw cells: the one place that turns user input into arrays.

Extractors never open files themselves; they call the loaders here, so every
modality reports bad input the same way: the sample index, the file path when
there is one, and what was wrong.

Sections: common helpers (cells, missing values, errors), image cells, audio
cells. Each loader raises ``ValueError``, ``TypeError`` or
``FileNotFoundError`` with a message built by :func:`cell_error_message`.
"""

import math
import numbers
import os
import warnings

import numpy as np

# --------------------------------------------------------------------------
# Common helpers
# --------------------------------------------------------------------------

ON_ERROR_OPTIONS = ("raise", "warn")


class CellLoadWarning(UserWarning):
    """Warning emitted when ``on_error="warn"`` turns a bad cell into a NaN row."""


def is_missing(cell):
    """Return True if ``cell`` is a missing value (None, NaN, ``pd.NA``, ``NaT``).

    Arrays, strings, bytes and other objects are never missing, even when they
    contain NaN: a waveform with NaN samples is bad data, not a missing cell.
    """
    if cell is None:
        return True
    if isinstance(cell, numbers.Real) and not isinstance(cell, (bool, np.bool_)):
        return math.isnan(cell)
    # pd.NA and pd.NaT without importing pandas at module level
    type_name = type(cell).__name__
    return type_name in ("NAType", "NaTType")


def describe_cell(cell):
    """A short description of a cell for error messages (path, type, shape)."""
    if isinstance(cell, (str, os.PathLike)) and not isinstance(cell, bytes):
        text = os.fspath(cell)
        return f"path {text!r}" if len(text) < 300 else f"str of length {len(text)}"
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return f"{len(cell)} bytes"
    if isinstance(cell, np.ndarray):
        return f"array of shape {cell.shape} and dtype {cell.dtype}"
    return f"object of type {type(cell).__name__}"


def cell_error_message(index, cell, problem):
    """Build the message ``"sample 3 (path 'a/b.png'): <problem>"``."""
    return f"sample {index} ({describe_cell(cell)}): {problem}"


def missing_cell_error(index):
    """The ValueError a lone extractor raises for a None/NaN cell."""
    return ValueError(
        f"sample {index} is missing (None or NaN). Drop it, use "
        "FusionTransformer(missing='zero' or 'mean') to fill it, or pass "
        "on_error='warn' to the extractor to get a row of NaN instead."
    )


def as_cells(X, *, estimator_name="extractor"):
    """Return the cells of a single-modality input as a sequence.

    Accepts a list or tuple of cells, a pandas Series, a one-column DataFrame,
    a 1-D object array, a 2-D array with one column, or a numeric array whose
    rows are cells (a stack of images ``(n, H, W[, C])``, or of equal-length
    waveforms ``(n, n_samples)``). Any other iterable is materialised as a list.

    Raises
    ------
    ValueError
        If the input is empty or a DataFrame / object array has more than one
        column.
    """
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"{estimator_name} expects one column of cells, got a DataFrame "
                f"with {X.shape[1]} columns {list(X.columns)!r}. Select the "
                "column, or use FusionTransformer to route several columns."
            )
        cells = X.iloc[:, 0].tolist()
    elif hasattr(X, "iloc"):  # Series
        cells = X.tolist()
    elif isinstance(X, np.ndarray):
        if X.dtype == object:
            if X.ndim == 2 and X.shape[1] == 1:
                cells = list(X[:, 0])
            elif X.ndim == 1:
                cells = list(X)
            else:
                raise ValueError(
                    f"{estimator_name} expects a 1-D sequence of cells or one "
                    f"column, got an object array of shape {X.shape}."
                )
        elif X.ndim == 0:
            raise ValueError(f"{estimator_name} expects a sequence of cells, got a scalar.")
        else:
            cells = list(X)  # rows of a numeric stack are the cells
    elif isinstance(X, (str, bytes)):
        raise TypeError(
            f"{estimator_name} expects a sequence of cells, got a single "
            f"{type(X).__name__}; wrap it in a list."
        )
    else:
        cells = list(X)
    if len(cells) == 0:
        raise ValueError(f"{estimator_name} got empty input: 0 samples.")
    return cells


# --------------------------------------------------------------------------
# Image cells (owned by sklearn_mbm.image)
# --------------------------------------------------------------------------


# --------------------------------------------------------------------------
# Audio cells (owned by sklearn_mbm.audio)
# --------------------------------------------------------------------------
