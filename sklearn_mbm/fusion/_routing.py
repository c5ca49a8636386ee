"""Column routing shared by FusionTransformer, LateFusionClassifier and the
neural fusion estimators: validate ``(name, estimator, column)`` specs, select
a modality's column from a DataFrame or a 2-D object array, and find its
missing cells (one error for a missing cell under ``missing="raise"``).

A scalar column key (a name or an integer) selects one column of cells and
hands it on as 1-D (a Series or a 1-D array), as ColumnTransformer does; a
list of keys selects a 2-D block (numeric features, for ``"passthrough"``).
"""

import numbers

import numpy as np

from sklearn_mbm._compat import _safe_indexing
from sklearn_mbm._io._cells import is_missing, is_polars, polars_cells, position_text


def _is_int(key):
    return isinstance(key, numbers.Integral) and not isinstance(key, (bool, np.bool_))


def _is_frame(X):
    """A pandas or a polars DataFrame (columns selectable by name)."""
    return hasattr(X, "columns") and (hasattr(X, "iloc") or is_polars(X))


def resolve_column(X, column, *, name):
    """Return ``(key, scalar)`` with callables applied and keys checked.

    Parameters
    ----------
    X : DataFrame or ndarray of shape (n_samples, n_columns)
    column : str, int, list of str or int, or callable
        A callable (e.g. :func:`sklearn.compose.make_column_selector`) is
        called with ``X`` and must return column keys.
    name : str
        The spec's name, for error messages.
    """
    return resolve_columns(X, [(name, column)])[0]


def resolve_columns(X, named_columns):
    """:func:`resolve_column` for several ``(name, column)`` pairs, looking
    at ``X``'s layout once."""
    frame = _is_frame(X)
    names = list(X.columns) if frame else None
    n_columns = X.shape[1]
    resolved = []
    for name, column in named_columns:
        if callable(column):
            column = column(X)
        resolved.append(_check_keys(column, name, frame, names, n_columns))
    return resolved


def _check_keys(column, name, frame, columns, n_columns):
    scalar = isinstance(column, str) or _is_int(column)
    try:
        keys = [column] if scalar else list(column)
    except TypeError:
        keys = [column]  # not a key nor a list of keys: reported below
    if not keys:
        raise ValueError(f"Modality {name!r} selects no column.")
    for key in keys:
        if isinstance(key, str):
            if not frame:
                raise ValueError(
                    f"Modality {name!r} selects column {key!r} by name, which "
                    "needs a pandas DataFrame or a polars DataFrame; with a "
                    "numpy array use integer column indices."
                )
            if key not in columns:
                raise ValueError(
                    f"Modality {name!r} selects column {key!r}, which is not in "
                    f"the data; columns are {columns!r}."
                )
        elif _is_int(key):
            if not -n_columns <= key < n_columns:
                raise ValueError(
                    f"Modality {name!r} selects column index {key}, but the "
                    f"data has {n_columns} columns."
                )
        else:
            raise TypeError(
                f"Modality {name!r}: a column must be a str, an int, a list of "
                f"them or a callable; got {key!r} of type {type(key).__name__}."
            )
    if len({type(k) is str for k in keys}) > 1:
        raise TypeError(f"Modality {name!r} mixes column names and indices: {keys!r}.")
    return (keys[0] if scalar else keys), scalar


def select_column(X, key):
    """Select a column (scalar key, 1-D result) or a block (list key, 2-D).

    From a polars DataFrame a column comes as a 1-D object array of cells
    (see :func:`~sklearn_mbm._io._cells.polars_cells`) and a block as an
    ndarray.
    """
    return select_columns(X, [key])[0]


def select_columns(X, keys):
    """:func:`select_column` for several keys, looking at ``X``'s type once."""
    if is_polars(X):
        # Not through _safe_indexing: scikit-learn 1.8 (the lower bound)
        # reaches polars 2 columns by name through the dataframe interchange
        # protocol, which polars 2 no longer offers ("only supported for
        # dataframes").
        selected = []
        for key in keys:
            if isinstance(key, list):
                names = [X.columns[k] if _is_int(k) else k for k in key]
                selected.append(X.select(names).to_numpy())
            else:
                series = X.to_series(key) if _is_int(key) else X.get_column(key)
                selected.append(polars_cells(series))
        return selected
    # scikit-learn's _safe_indexing (here and in take_rows) costs about 45
    # microseconds more per call than direct indexing on arrays and lists
    # (0.4 vs 28 for a column of a 600-row object array, 1.4 vs 47 for 540
    # of its rows) and the same on pandas (23 vs 30, 48 vs 56), on the bundled
    # sample with scikit-learn 1.9.1. Calls are once per modality per fit or
    # transform, so that is nothing next to extraction.
    return [_safe_indexing(X, key, axis=1) for key in keys]


def column_values(X, position):
    """The values of the column at integer ``position`` of a pandas frame or a
    2-D array, as an array."""
    return X.iloc[:, position].to_numpy() if _is_frame(X) else X[:, position]


def with_columns(X, columns):
    """A copy of a pandas frame (shallow) or a 2-D array whose columns at
    ``{position: values}`` hold the new values: set by position, so dtypes
    of other columns are kept and nothing aligns on the index."""
    if _is_frame(X):
        X_new = X.copy(deep=False)
        for position, values in columns.items():
            X_new.isetitem(int(position), values)
        return X_new
    to_object = any(values.dtype == object for values in columns.values())
    X_new = X.astype(object) if to_object else X.copy()
    for position, values in columns.items():
        X_new[:, position] = values
    return X_new


def describe_row(data, position):
    """``"row 4"``, or ``"row 'b' (position 4)"`` when the row's index label
    (of a Series or DataFrame) is not its position (see
    :func:`~sklearn_mbm._io._cells.position_text`)."""
    index = getattr(data, "index", None) if hasattr(data, "iloc") else None
    return f"row {position_text(index, position)}"


def present_rows(column, *, key, name, missing, fills=("zero", "mean")):
    """Presence mask of a modality's column (1-D cells or a 2-D block).

    With ``missing="raise"``, a missing cell raises a ValueError naming its
    row, the column and the modality, and the ``fills`` (values of
    ``missing``) that would accept it.
    """
    mask = missing_mask(column)
    if mask.any() and missing == "raise":
        row = describe_row(column, int(np.flatnonzero(mask)[0]))
        options = " or ".join(repr(fill) for fill in fills)
        raise ValueError(
            f"{row[0].upper()}{row[1:]} has a missing value (None or NaN) in column "
            f"{key!r} of modality {name!r} ({int(mask.sum())} missing in all). "
            f"Set missing={options} to fill missing modalities."
        )
    return ~mask


def take_rows(data, rows):
    """Index rows (positions or a boolean mask) of a Series, DataFrame,
    ndarray or list."""
    return _safe_indexing(data, rows)


def missing_mask(data):
    """Boolean mask of rows whose cell (1-D) or any block value (2-D) is missing."""
    if hasattr(data, "iloc"):
        data = data.to_numpy()
    data = np.asarray(data, dtype=object) if not isinstance(data, np.ndarray) else data
    if data.ndim == 1:
        if data.dtype.kind == "f":
            return np.isnan(data)
        if data.dtype == object:
            return np.fromiter(
                (is_missing(c) for c in data), dtype=bool, count=len(data)
            )
        return np.zeros(len(data), dtype=bool)
    if data.dtype.kind == "f":
        return np.isnan(data).any(axis=1)
    if data.dtype == object:
        flat = np.fromiter(
            (is_missing(c) for c in data.ravel()), dtype=bool, count=data.size
        )
        return flat.reshape(data.shape).any(axis=1)
    return np.zeros(len(data), dtype=bool)


def check_unique_names(names, *, param="transformers"):
    """Names must be unique strings without ``__`` (used by ``set_params``)."""
    seen = set()
    for name in names:
        if not isinstance(name, str):
            raise TypeError(f"{param}: names must be str, got {name!r}.")
        if "__" in name:
            raise ValueError(f"{param}: name {name!r} must not contain '__'.")
        if name in seen:
            raise ValueError(f"{param}: name {name!r} is used more than once.")
        seen.add(name)


def rows_to_object_array(rows):
    """A list of records (one sequence of cells per row) as a 2-D object array,
    without letting numpy broadcast array cells into extra dimensions."""
    rows = [list(row) if isinstance(row, (list, tuple)) else row for row in rows]
    if not rows or not all(isinstance(row, list) for row in rows):
        return np.asarray(rows)
    widths = {len(row) for row in rows}
    if len(widths) != 1:
        raise ValueError(f"Rows have different lengths {sorted(widths)}.")
    out = np.empty((len(rows), widths.pop()), dtype=object)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            out[i, j] = cell
    return out
