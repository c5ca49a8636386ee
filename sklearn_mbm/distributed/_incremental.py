"""fit_incremental: train a partial_fit estimator one partition at a time."""

import dask
import numpy as np
from sklearn.base import is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import check_random_state

__all__ = ["fit_incremental"]


def _final_step(estimator):
    if isinstance(estimator, Pipeline):
        return estimator[:-1], estimator.steps[-1][1]
    return None, estimator


def fit_incremental(
    estimator,
    features,
    y,
    *,
    classes=None,
    epochs=1,
    shuffle=True,
    random_state=None,
    progress=True,
):
    """Fit a ``partial_fit`` estimator over the partitions of a Dask DataFrame.

    Each epoch visits every partition once (in a random order with
    ``shuffle``): the partition and its targets are computed (on the Client
    in use, else locally), and ``partial_fit`` runs on them in this process.
    Only one partition is in memory at a time, so the training set may be
    larger than memory: typically features written once by
    :func:`transform_to_parquet` and read back with
    ``dask.dataframe.read_parquet``.

    ``estimator`` may be a Pipeline whose steps before the last are fitted
    already (on a sample: a scaler, a FusionTransformer over stored blocks
    with ``"passthrough"``); each partition goes through their
    ``transform``, then the last step's ``partial_fit``. Extractors are fit
    on a sample first, in memory: a tf-idf vocabulary or a normaliser needs
    all its rows at once and barely changes past a few thousand rows, while
    the classifier learns from every row.

    Parameters
    ----------
    estimator : estimator with partial_fit, or Pipeline
        ``SGDClassifier``, ``SGDRegressor``, ``MultinomialNB``,
        ``MiniBatchKMeans``, ``MLPClassifier``...; fitted in place.
    features : dask DataFrame
        The training rows.
    y : dask Series, str or None
        The targets, partitioned as ``features``; or the name of a column of
        ``features`` that holds them (dropped from the features); None for
        an unsupervised estimator.
    classes : array-like or None, default=None
        All the classes, for a classifier's first ``partial_fit``; None:
        computed from ``y`` (one pass over the targets alone).
    epochs : int, default=1
        Passes over the partitions.
    shuffle : bool, default=True
        Visit the partitions in a new random order each epoch.
    random_state : int, RandomState or None, default=None
        Seeds the order of the partitions.
    progress : bool, default=True
        Show a tqdm bar over the partitions.

    Returns
    -------
    estimator : estimator
        ``estimator``, fitted.

    See Also
    --------
    transform_to_parquet : Write the features once.
    ParallelPostFit : Predict with the trained estimator, partition by partition.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from sklearn.linear_model import SGDClassifier
    >>> from sklearn_mbm.distributed import fit_incremental
    >>> frame = pd.DataFrame({"x": [0.0, 0.1, 0.9, 1.0] * 5, "y": [0, 0, 1, 1] * 5})
    >>> data = dd.from_pandas(frame, npartitions=4)
    >>> model = fit_incremental(
    ...     SGDClassifier(random_state=0), data, "y", epochs=3, progress=False
    ... )
    >>> model.predict(pd.DataFrame({"x": [0.0, 1.0]})).tolist()
    [0, 1]
    """
    transformer, final = _final_step(estimator)
    if not hasattr(final, "partial_fit"):
        raise TypeError(
            f"{type(final).__name__} has no partial_fit: fit_incremental needs "
            "an estimator that learns batch by batch (SGDClassifier, "
            "SGDRegressor, MultinomialNB, MiniBatchKMeans, ...)."
        )
    if isinstance(y, str):
        targets = features[y]
        features = features.drop(columns=[y])
    else:
        targets = y
    x_parts = features.to_delayed()
    y_parts = targets.to_delayed() if targets is not None else [None] * len(x_parts)
    if len(y_parts) != len(x_parts):
        raise ValueError(
            f"y has {len(y_parts)} partitions and the features {len(x_parts)}; "
            "give y partitioned as the features (or a column name)."
        )
    fit_params = {}
    if is_classifier(final):
        if classes is None:
            if targets is None:
                raise ValueError("A classifier needs y.")
            classes = np.unique(targets.unique().compute())
        fit_params["classes"] = np.asarray(classes)
    rng = check_random_state(random_state)
    order = np.arange(len(x_parts))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=epochs * len(order), desc="partial_fit", unit="partition")
    try:
        for _ in range(epochs):
            if shuffle:
                rng.shuffle(order)
            for i in order:
                X_i, y_i = dask.compute(x_parts[i], y_parts[i])
                if len(X_i) == 0:
                    continue
                if transformer is not None:
                    X_i = transformer.transform(X_i)
                args = (X_i,) if y_i is None else (X_i, np.asarray(y_i))
                final.partial_fit(*args, **fit_params)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return estimator
