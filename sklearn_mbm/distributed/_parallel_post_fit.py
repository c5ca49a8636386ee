"""ParallelPostFit: fit in memory, apply partition by partition."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._compat import HasMethods, _fit_context
from sklearn_mbm.distributed._meta import conform, output_meta
from sklearn_mbm.distributed._shipping import ShippedEstimator

__all__ = ["ParallelPostFit"]

_SHIPPED_ATTR = "_shipped_cache"


def _has(method):
    """available_if check: the wrapped estimator has ``method``."""

    def check(self):
        getattr(self._fitted_estimator(check=False), method)
        return True

    return check


def apply_to_partition(part, shipped, method, meta):
    """One task: ``method`` of the shipped estimator on a pandas partition."""
    if len(part) == 0:  # dask may hand over an empty partition
        return meta.copy() if hasattr(meta, "copy") else meta
    output = getattr(shipped.estimator, method)(part)
    return conform(output, meta, part.index)


class ParallelPostFit(MetaEstimatorMixin, BaseEstimator):
    """Apply a fitted estimator to a Dask DataFrame, partition by partition.

    ``fit`` fits a clone of ``estimator`` in memory on what it is given, as
    usual (a sample of the data, for a tf-idf vocabulary or a scaler). An
    ``estimator`` that is already fitted needs no ``fit``: the wrapper uses it
    as it is. ``transform``, ``predict``, ``predict_proba``,
    ``decision_function`` and ``score`` take a ``dask.dataframe.DataFrame``
    and return lazy Dask collections; given a pandas or polars frame, a
    Series, a list or an array, they return what the wrapped estimator
    returns.

    The fitted estimator is pickled once and is one key of the task graph:
    each worker process receives and unpickles it once (a Keras model is
    rebuilt once per worker, a KerasHub preset loaded once), and a worker
    that already holds it from an earlier computation reuses it.

    Parameters
    ----------
    estimator : estimator object
        Any estimator of the package or of scikit-learn, or a Pipeline of
        them, fitted or not.

    Attributes
    ----------
    estimator_ : estimator object
        The fitted clone, set by :meth:`fit` (absent when the wrapper uses a
        fitted ``estimator`` as it is).
    n_features_in_ : int
        Of the fitted estimator, when it has one.
    classes_ : ndarray of shape (n_classes,)
        Of the fitted classifier.

    See Also
    --------
    transform_to_parquet : Write the features to disk, one file per partition.
    fit_incremental : Train a ``partial_fit`` estimator over partitions.

    Notes
    -----
    The output's schema comes from the fitted estimator, nothing is computed
    to learn it: ``transform`` gives a DataFrame whose columns are
    ``get_feature_names_out()`` (sparse features are made dense) and whose
    dtype follows the ``preserves_dtype`` tag; ``predict`` a Series of the
    classes' dtype (float64 for a regressor); ``predict_proba`` and
    ``decision_function`` a float64 Dask array with one row per input row.
    The index of each partition is kept.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_mbm.distributed import ParallelPostFit
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = ParallelPostFit(LogisticRegression()).fit(X, [0, 0, 1, 1])
    >>> predictions = model.predict(dd.from_pandas(X, npartitions=2))
    >>> predictions.compute().tolist()
    [0, 0, 1, 1]
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit"])],
    }

    def __init__(self, estimator):
        self.estimator = estimator

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, **fit_params):
        """Fit a clone of the estimator in memory.

        Parameters
        ----------
        X : DataFrame, array-like or sequence of cells
            What the estimator's ``fit`` takes (in memory).
        y : array-like, default=None
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit``.

        Returns
        -------
        self : object
            The fitted wrapper.
        """
        self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
        self.__dict__.pop(_SHIPPED_ATTR, None)
        return self

    @available_if(_has("fit_transform"))
    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None, **fit_params):
        """Fit a clone of the estimator in memory and transform ``X`` with it.

        Parameters
        ----------
        X : DataFrame, array-like or sequence of cells
            What the estimator's ``fit_transform`` takes (in memory).
        y : array-like, default=None
            Targets.
        **fit_params : dict
            Passed to the estimator's ``fit_transform``.

        Returns
        -------
        features : ndarray, DataFrame or sparse matrix
            What the estimator's ``fit_transform`` returns.
        """
        self.estimator_ = clone(self.estimator)
        self.__dict__.pop(_SHIPPED_ATTR, None)
        return self.estimator_.fit_transform(X, y, **fit_params)

    def _fitted_estimator(self, check=True):
        """``estimator_``, else ``estimator`` when it is fitted already."""
        if hasattr(self, "estimator_"):
            return self.estimator_
        if check:
            check_is_fitted(self.estimator)
        return self.estimator

    def __sklearn_is_fitted__(self):
        if hasattr(self, "estimator_"):
            return True
        try:
            check_is_fitted(self.estimator)
        except Exception:  # NotFittedError, or not an estimator at all
            return False
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = self.estimator.__sklearn_tags__()
        tags.estimator_type = inner.estimator_type
        tags.input_tags = inner.input_tags
        tags.target_tags = inner.target_tags
        tags.transformer_tags = inner.transformer_tags
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        return tags

    @property
    def n_features_in_(self):
        """Number of features seen by the fitted estimator's ``fit``."""
        return self._fitted_estimator().n_features_in_

    @property
    def classes_(self):
        """Class labels of the fitted classifier."""
        return self._fitted_estimator().classes_

    def _shipped(self):
        """The fitted estimator pickled once (kept until the next ``fit``)."""
        estimator = self._fitted_estimator()
        shipped = self.__dict__.get(_SHIPPED_ATTR)
        if shipped is None or shipped.estimator is not estimator:
            shipped = ShippedEstimator(estimator)
            self.__dict__[_SHIPPED_ATTR] = shipped
        return shipped

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop(_SHIPPED_ATTR, None)  # the estimator is pickled already
        return state

    def _apply(self, method, X):
        estimator = self._fitted_estimator()
        if not isinstance(X, dd.DataFrame):
            return getattr(estimator, method)(X)
        meta = output_meta(estimator, method, X._meta)
        # one graph key for the estimator, a dependency of every partition;
        # the partitions go through delayed calls (not map_partitions, which
        # in dask 2025.1 hands a Delayed argument over unresolved)
        shipped = dask.delayed(self._shipped(), pure=True)
        apply = dask.delayed(apply_to_partition, pure=True)
        parts = [apply(part, shipped, method, meta) for part in X.to_delayed()]
        if isinstance(meta, np.ndarray):
            blocks = [
                da.from_delayed(
                    part, shape=(np.nan, meta.shape[1]), dtype=meta.dtype, meta=meta
                )
                for part in parts
            ]
            return da.concatenate(blocks, axis=0)
        # the output keeps the estimator's dtypes (classes of object dtype
        # stay objects, as in memory), whatever dask's string conversion says
        with dask.config.set({"dataframe.convert-string": False}):
            return dd.from_delayed(
                parts, meta=meta, divisions=X.divisions, verify_meta=False
            )

    @available_if(_has("transform"))
    def transform(self, X):
        """The wrapped estimator's ``transform``, partition by partition.

        Parameters
        ----------
        X : dask DataFrame, or what the estimator's ``transform`` takes
            The rows to transform.

        Returns
        -------
        features : dask DataFrame, or what the estimator returns
            Lazy, one partition per input partition, columns
            ``get_feature_names_out()``.
        """
        return self._apply("transform", X)

    @available_if(_has("get_feature_names_out"))
    def get_feature_names_out(self, input_features=None):
        """The wrapped estimator's output feature names.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Passed to the wrapped estimator.

        Returns
        -------
        feature_names_out : ndarray of str objects
        """
        return self._fitted_estimator().get_feature_names_out(input_features)

    @available_if(_has("predict"))
    def predict(self, X):
        """The wrapped estimator's ``predict``, partition by partition.

        Parameters
        ----------
        X : dask DataFrame, or what the estimator's ``predict`` takes
            The rows to predict.

        Returns
        -------
        y_pred : dask Series, or what the estimator returns
            Lazy, named ``"predict"``, on the input's index.
        """
        return self._apply("predict", X)

    @available_if(_has("predict_proba"))
    def predict_proba(self, X):
        """The wrapped estimator's ``predict_proba``, partition by partition.

        Parameters
        ----------
        X : dask DataFrame, or what the estimator's ``predict_proba`` takes
            The rows to predict.

        Returns
        -------
        proba : dask array of shape (n_samples, n_classes), or what the \
estimator returns
            Lazy, float64, chunked as the input's partitions.
        """
        return self._apply("predict_proba", X)

    @available_if(_has("decision_function"))
    def decision_function(self, X):
        """The wrapped estimator's ``decision_function``, partition by partition.

        Parameters
        ----------
        X : dask DataFrame, or what the estimator's ``decision_function`` takes
            The rows to score.

        Returns
        -------
        scores : dask array of shape (n_samples, n_classes) or (n_samples, 1), \
or what the estimator returns
            Lazy, float64 (one column for a binary problem).
        """
        return self._apply("decision_function", X)

    @available_if(_has("score"))
    def score(self, X, y, sample_weight=None):
        """The wrapped estimator's score; computed for a dask DataFrame.

        For a dask DataFrame the predictions are computed partition by
        partition and only they (and ``y``) reach this process: accuracy for
        a classifier, R² for a regressor, as their ``score`` methods.

        Parameters
        ----------
        X : dask DataFrame, or what the estimator's ``score`` takes
            The rows.
        y : dask Series or array-like
            The true targets, in the rows' order.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights.

        Returns
        -------
        score : float
        """
        estimator = self._fitted_estimator()
        if not isinstance(X, dd.DataFrame):
            return estimator.score(X, y, sample_weight=sample_weight)
        y_pred, y_true, weights = dask.compute(self.predict(X), y, sample_weight)
        metric = accuracy_score if is_classifier(estimator) else r2_score
        return float(
            metric(np.asarray(y_true), y_pred.to_numpy(), sample_weight=weights)
        )
