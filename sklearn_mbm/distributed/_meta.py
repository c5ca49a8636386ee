"""What a method returns for one partition, known without computing.

Dask needs the schema of a lazy result (``meta``) before anything runs;
dask-ml learns it by running the estimator on fake rows, which a column of
file paths or texts cannot give. Here it comes from the fitted estimator:

- ``transform``: the columns are ``get_feature_names_out()`` and the dtype
  follows scikit-learn's ``preserves_dtype`` tag through the steps of a
  Pipeline (an input dtype in the list is kept, else the first one is
  returned: float32 for the image, audio and pretrained extractors, float64
  for FusionTransformer and the tf-idf text features);
- ``predict``: a classifier's ``classes_`` dtype, float64 for a regressor;
- ``predict_proba`` and ``decision_function``: float64, one column per class
  (one column for a binary ``decision_function``).

Each partition's output is checked against it (:func:`conform`): a lossless
cast (float32 to float64) is made, anything else raises.
"""

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline

__all__ = ["conform", "output_meta"]


def _transform_dtype(estimator, input_dtype):
    if isinstance(estimator, Pipeline):
        dtype = input_dtype
        for _, step in estimator.steps:
            if step is None or step == "passthrough":
                continue
            dtype = _transform_dtype(step, dtype)
        return dtype
    try:
        preserved = estimator.__sklearn_tags__().transformer_tags.preserves_dtype
    except AttributeError:  # no transformer tags: scikit-learn's default
        preserved = ["float64"]
    preserved = [np.dtype(d) for d in preserved] or [np.dtype("float64")]
    return input_dtype if input_dtype in preserved else preserved[0]


def _input_dtype(meta):
    """The dtype a numeric frame becomes (object for cells or mixed kinds)."""
    dtypes = set(meta.dtypes) if isinstance(meta, pd.DataFrame) else {meta.dtype}
    if len(dtypes) == 1 and next(iter(dtypes)).kind in "fiub":
        return np.dtype(next(iter(dtypes)))
    return np.dtype(object)


def _classes(estimator):
    final = estimator[-1] if isinstance(estimator, Pipeline) else estimator
    return np.asarray(final.classes_)


def output_meta(estimator, method, meta):
    """An empty pandas object shaped as ``method``'s output on a partition.

    ``meta`` is the input's empty partition (``ddf._meta``); its index
    becomes the output's.
    """
    index = meta.index
    if method == "transform":
        names = [str(n) for n in estimator.get_feature_names_out()]
        dtype = _transform_dtype(estimator, _input_dtype(meta))
        return pd.DataFrame(
            np.empty((0, len(names)), dtype=dtype), columns=names, index=index
        )
    if method == "predict":
        dtype = _classes(estimator).dtype if is_classifier(estimator) else np.float64
        return pd.Series(np.empty(0, dtype=dtype), index=index, name=method)
    classes = _classes(estimator)
    n_columns = len(classes)
    if method == "decision_function" and n_columns == 2:
        n_columns = 1
    return np.empty((0, n_columns), dtype=np.float64)


def conform(output, meta, index):
    """``output`` (one partition's result) as ``meta`` says, on ``index``."""
    if sp.issparse(output):  # tf-idf features: a DataFrame column is dense
        output = output.toarray()
    if isinstance(meta, np.ndarray):
        output = np.asarray(output)
        if output.ndim == 1:
            output = output.reshape(-1, 1)
        return _cast(output, meta.dtype)
    if isinstance(meta, pd.Series):
        values = _cast(np.asarray(output).reshape(-1), meta.dtype)
        return pd.Series(values, index=index, name=meta.name)
    values = output.to_numpy() if hasattr(output, "to_numpy") else output
    values = _cast(np.asarray(values), meta.dtypes.iloc[0] if meta.shape[1] else None)
    return pd.DataFrame(values, columns=meta.columns, index=index, copy=False)


def _cast(values, dtype):
    if dtype is None or values.dtype == dtype:
        return values
    if np.can_cast(values.dtype, dtype, casting="safe"):
        return values.astype(dtype)
    raise TypeError(
        f"The estimator returned {values.dtype} where {dtype} was expected from "
        "its fitted state (the preserves_dtype tag, or classes_); the result "
        "would lose precision. Cast its output in a last Pipeline step."
    )
