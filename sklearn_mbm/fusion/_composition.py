"""The base of estimators whose first parameter is a list of
``(name, estimator, column)`` modalities: FusionTransformer, the late-fusion
estimators and the neural fusion estimators.

It exposes ``(name, estimator)`` pairs to scikit-learn's ``_BaseComposition``
(as ColumnTransformer does), so that ``get_params`` / ``set_params`` reach a
modality's estimator by name (``set_params(image__backbone=...)``,
``set_params(text=other)``) and keep its column. It also holds what the
weighted compositions share, as scikit-learn's ``_BaseVoting`` does for the
voting estimators: the constraints of ``weights``, ``n_jobs`` and
``verbose``, and the rule for ``weights`` (:meth:`_check_weights`).

It owns the modality spec, as scikit-learn's
``_BaseHeterogeneousEnsemble._validate_estimators`` and
``ColumnTransformer._iter`` own theirs: :meth:`_validate_modalities` checks
the specs once into :class:`Modality` records (name, estimator, column key),
:meth:`_select_all` takes each modality's cells and present mask from
``X`` (the one place ``X`` is read), and :meth:`_check_fittable` is the
rule that holds only at fit (a modality with no present row cannot be
fitted). Every family (early, late, neural) asks
them; none checks a spec itself. :func:`share_row_weights` is the one rule
for the weights of the modalities present in a row.
"""

import math
from numbers import Integral, Real

import numpy as np
from scipy import sparse
from sklearn.utils.validation import check_array, validate_data

from sklearn_mbm._compat import _BaseComposition
from sklearn_mbm._io import is_polars
from sklearn_mbm.fusion._routing import (
    _is_frame,
    check_unique_names,
    present_rows,
    resolve_columns,
    rows_to_object_array,
    select_columns,
)


def is_drop(estimator):
    """Whether a modality's estimator is the string ``"drop"``."""
    return isinstance(estimator, str) and estimator == "drop"


class Modality:
    """One validated ``(name, estimator, column)`` spec.

    ``estimator`` is the spec's unfitted estimator or slot string
    (``"passthrough"``, a neural branch name); ``column`` the spec's column
    as given; ``key`` the column key resolved on the fitted table (a name or
    index, or a list of them) and ``scalar`` whether it selects one column of
    cells (1-D) rather than a block (2-D).
    """

    __slots__ = ("name", "estimator", "column", "key", "scalar")

    def __init__(self, name, estimator, column, key, scalar):
        self.name = name
        self.estimator = estimator
        self.column = column
        self.key = key
        self.scalar = scalar

    def __repr__(self):
        return f"Modality({self.name!r}, {self.estimator!r}, {self.key!r})"


def share_row_weights(weights, present, total):
    """The weights of the modalities present in each row.

    The one re-weighting rule of every family: in a row where some
    modalities are missing, the present ones share the row's whole weight
    ``total`` in proportion to their weights. Late fusion's weighted mean
    uses ``total=1`` (the weights of a mean sum to 1); FusionTransformer's
    ``weighted_sum`` uses the sum of all weights (a row with a missing
    modality keeps the scale of a complete row). The arithmetic runs on the
    weights' ratios to the largest, so weights near the float64 maximum
    do not overflow.

    Parameters
    ----------
    weights : ndarray of shape (n_modalities,)
        Non-negative weights, at least one positive.
    present : ndarray of shape (n_samples, n_modalities)
        True where the modality is present.
    total : {"one", "sum"}
        The row's whole weight: 1, or the sum of all weights (returned as a
        factor, see below).

    Returns
    -------
    shares : ndarray of shape (n_samples, n_modalities)
        Row weights; with ``total="sum"``, divided by the largest weight
        (multiply the combined result by ``scale``).
    scale : float
        1.0 for ``total="one"``, else the largest weight.
    no_weight : ndarray of shape (n_samples,)
        Rows whose present modalities all have zero weight (their shares are
        0; each family says what that means).
    """
    weights = np.asarray(weights, dtype=float)
    top = weights.max()
    ratios = weights / top
    kept = present.astype(float) * ratios
    kept_total = kept.sum(axis=1, keepdims=True)
    no_weight = kept_total[:, 0] == 0
    target = ratios.sum() if total == "sum" else 1.0
    shares = np.divide(
        kept * target, kept_total, out=np.zeros_like(kept), where=kept_total > 0
    )
    return shares, (top if total == "sum" else 1.0), no_weight


def check_no_overflow(values, owner, weights):
    """Refuse a weighted result that overflowed float64 (huge weights)."""
    if not np.isfinite(values).all():
        raise ValueError(
            f"{owner}: the weighted features overflow float64 with weights "
            f"{weights!r}; scale them down by a common factor (e.g. divide "
            "them all by their largest)."
        )
    return values


def default_output(estimator):
    """Make an internal step return its default container (an ndarray or a
    sparse matrix) whatever ``sklearn.set_config(transform_output=...)`` says,
    as scikit-learn's meta-estimators do for the steps they use internally.
    Estimators without ``set_output`` never follow the setting."""
    if hasattr(estimator, "set_output") and hasattr(estimator, "transform"):
        try:
            estimator.set_output(transform="default")
        except ValueError:  # a Pipeline with a step that has no set_output
            pass
    return estimator


def _names_of(columns):
    """The column names that column keys select, or None unless all are names."""
    names = []
    for key in columns or ():
        keys = [key] if isinstance(key, str) else key
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            return None
        names.extend(keys)
    return names or None


def check_named_columns(estimator, X, columns):
    """Check predict-time input whose modalities select columns by name.

    Returns True when every key in ``columns`` is a name and ``estimator``
    was fitted on a DataFrame: then only those columns must be in ``X``
    (in any order, among any others), as in ColumnTransformer. Returns
    False otherwise, for the caller to compare ``X`` with the fitted layout.

    Raises
    ------
    ValueError
        If ``X`` is not a DataFrame, or lacks a column that is used.
    """
    names = _names_of(columns)
    if names is None or not hasattr(estimator, "feature_names_in_"):
        return False
    if not _is_frame(X):
        raise ValueError(
            f"{type(estimator).__name__} was fitted on a DataFrame and selects "
            f"the columns {list(dict.fromkeys(names))!r} by name, but X is a "
            f"{type(X).__name__} without column names. Pass a DataFrame with "
            "these columns."
        )
    absent = [name for name in dict.fromkeys(names) if name not in X.columns]
    if absent:
        raise ValueError(
            f"X lacks the columns {absent!r} used during fit; its columns are "
            f"{list(X.columns)!r}."
        )
    return True


class ModalityComposition(_BaseComposition):
    """Mixin: nested parameters of ``(name, estimator, column)`` specs.

    Subclasses set ``_modalities_param`` to the name of that parameter.
    """

    _modalities_param = "transformers"

    #: The parameters the weighted compositions share; each extends this
    #: dict with its own (``{**ModalityComposition._parameter_constraints,
    #: ...}``) and its ``_modalities_param`` (``[list]``).
    _parameter_constraints: dict = {
        "weights": [None, dict, "array-like"],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    @property
    def _named_modalities(self):
        """(name, estimator) pairs for _BaseComposition; do not use otherwise."""
        specs = getattr(self, self._modalities_param)
        try:
            return [(name, estimator) for name, estimator, _ in specs]
        except (TypeError, ValueError):
            return specs

    @_named_modalities.setter
    def _named_modalities(self, value):
        specs = getattr(self, self._modalities_param)
        try:
            value = [
                (name, estimator, column)
                for (name, estimator), (_, _, column) in zip(value, specs)
            ]
        except (TypeError, ValueError):
            pass
        setattr(self, self._modalities_param, value)

    def get_params(self, deep=True):
        """Get parameters, including those of each modality's estimator.

        Parameters
        ----------
        deep : bool, default=True
            If True, also return each modality's estimator by name and its
            parameters as ``"{name}__{parameter}"``.

        Returns
        -------
        params : dict
            Parameter names mapped to their values.
        """
        return self._get_params("_named_modalities", deep=deep)

    def set_params(self, **params):
        """Set parameters, including ``"{name}__{parameter}"`` of modalities.

        A modality's estimator can be replaced by name
        (``set_params(text=other)``) or tuned
        (``set_params(text__max_features=100)``); its column is kept.

        Parameters
        ----------
        **params : dict
            Parameter names mapped to their new values.

        Returns
        -------
        self : estimator instance
            This estimator.
        """
        self._set_params("_named_modalities", **params)
        return self

    def _check_table(self, X, reset, columns=None):
        """Check a 2-D table (DataFrame or array); record or compare
        ``n_features_in_`` and ``feature_names_in_``.

        At predict time (``reset=False``) with ``columns`` (the column keys
        the fitted modalities use) all given by name, columns are found by
        name as in ColumnTransformer: reordered, extra or unused missing
        columns are fine (see :func:`check_named_columns`)."""
        if isinstance(X, (list, tuple)):
            X = rows_to_object_array(X)
        elif not _is_frame(X) and hasattr(X, "__array__"):
            X = np.asarray(X)
        if sparse.issparse(X):
            raise TypeError(
                f"{type(self).__name__} does not take sparse input: pass a "
                "DataFrame or a 2-D array with one column per modality."
            )
        if not hasattr(X, "shape") or len(X.shape) != 2:
            raise ValueError(
                "Expected a 2-D input (a DataFrame or a 2-D array with one column "
                f"per modality), got {type(X).__name__} of shape "
                f"{getattr(X, 'shape', None)}. Reshape your data, e.g. "
                "X.reshape(-1, 1) for a single column."
            )
        if X.shape[0] == 0:
            raise ValueError(
                f"Found array with 0 sample(s) (shape={X.shape}) while a minimum "
                f"of 1 is required by {type(self).__name__}."
            )
        if X.shape[1] == 0:
            raise ValueError(
                f"0 feature(s) (shape={X.shape}) while a minimum of 1 is required "
                f"by {type(self).__name__}."
            )
        if isinstance(X, np.ndarray) and X.dtype.kind in "biufc":
            # Numeric input: reject complex values before routing.
            check_array(X, ensure_all_finite=False)
        if reset or not check_named_columns(self, X, columns):
            validate_data(self, X, skip_check_array=True, reset=reset)
        if reset and is_polars(X) and not hasattr(self, "feature_names_in_"):
            # scikit-learn < 1.9 reads column names of pandas frames only
            names = list(X.columns)
            if names and all(isinstance(name, str) for name in names):
                self.feature_names_in_ = np.asarray(names, dtype=object)
        return X

    # -- the modality spec (validate -> resolve -> select -> missing) -----

    def _check_modality_estimator(self, name, estimator):
        """Check one modality's estimator (not ``"drop"``); each family says
        what it accepts. Raises TypeError or ValueError naming the modality."""

    def _validate_modalities(self, X):
        """Validate the specs once into :class:`Modality` records (dropped
        modalities left out), resolving each column on ``X``.

        Stores and returns the records as ``_modalities``; every later step
        (fit, transform, predict) iterates them.
        """
        param = self._modalities_param
        self._check_spec_names()
        kept = []
        for name, estimator, column in getattr(self, param):
            if is_drop(estimator):
                continue  # no column read, no output
            if isinstance(estimator, type):
                raise TypeError(
                    f"Modality {name!r}: expected an estimator instance, got the "
                    f"class {estimator.__name__}; write {estimator.__name__}()."
                )
            self._check_modality_estimator(name, estimator)
            kept.append((name, estimator, column))
        if not kept:
            raise ValueError(f"{param}: every modality is 'drop'; keep at least one.")
        keys = resolve_columns(X, [(name, column) for name, _, column in kept])
        records = []
        for (name, estimator, column), (key, scalar) in zip(kept, keys):
            if not scalar and len(set(key)) != len(key):
                repeated = sorted({k for k in key if key.count(k) > 1}, key=str)
                raise ValueError(
                    f"Modality {name!r} selects columns {repeated!r} more than once."
                )
            records.append(Modality(name, estimator, column, key, scalar))
        self._modalities = records
        return records

    def _fitted_specs(self, fitted):
        """The ``(name, fitted estimator or "drop", column)`` list of every
        spec, in spec order, from ``fitted`` ({name: fitted estimator})."""
        return [
            (name, fitted.get(name, "drop") if not is_drop(est) else "drop", column)
            for name, est, column in getattr(self, self._modalities_param)
        ]

    def _used_columns(self):
        """The column keys the fitted modalities read."""
        return [modality.key for modality in self._modalities]

    def _check_predict_table(self, X):
        """Check a predict-time table against the fitted layout."""
        return self._check_table(X, reset=False, columns=self._used_columns())

    def _select_all(self, X, missing="zero", fills=("zero", "mean"), fit=False):
        """Each modality's column (1-D cells or a 2-D block) and present
        mask, in ``_modalities`` order: the one place ``X`` is read.

        With ``missing="raise"`` a missing cell raises, naming the row, the
        column and the modality (and the ``fills`` that would accept it).
        With ``fit``, the fit-time rule :meth:`_check_fittable` applies;
        otherwise any rows are accepted, down to one, including rows where a
        modality is missing everywhere.
        """
        columns = select_columns(X, [m.key for m in self._modalities])
        selected = []
        for modality, column in zip(self._modalities, columns):
            present = present_rows(
                column,
                key=modality.key,
                name=modality.name,
                missing=missing,
                fills=fills,
            )
            if fit:
                self._check_fittable(modality, present)
            selected.append((column, present))
        return selected

    @staticmethod
    def _check_fittable(modality, present, what="missing (None or NaN)"):
        """The fit-time rule: a modality needs present rows to be fitted."""
        if not present.any():
            raise ValueError(
                f"Modality {modality.name!r} is {what} in every one of the "
                f"{len(present)} samples, so it cannot be fitted."
            )

    def _check_spec_names(self):
        """Check that the specs are ``(name, estimator, column)`` triples with
        unique names that do not clash with parameters; return the names."""
        param = self._modalities_param
        specs = getattr(self, param)
        try:
            names = [spec[0] for spec in specs]
            if any(len(spec) != 3 for spec in specs):
                raise TypeError
        except TypeError:
            raise ValueError(
                f"{param} must be a list of (name, estimator, column) tuples, "
                f"got {specs!r}."
            ) from None
        if not specs:
            raise ValueError(f"{param} is empty: give at least one modality.")
        check_unique_names(names, param=param)
        clash = set(names) & set(self.get_params(deep=False))
        if clash:
            raise ValueError(
                f"{param}: names {sorted(clash)} clash with parameters of "
                f"{type(self).__name__}; rename them."
            )
        return names

    def _check_weights(self, active_names):
        """The weights of the modalities ``active_names`` (those not dropped),
        as ``{name: float}``.

        ``weights`` is None (all 1), a dict ``{name: weight}`` (modalities not
        in it get 1) or a 1-D sequence with one weight per modality, dropped
        ones included. Each weight must be a finite, non-negative real number,
        and at least one active weight must be positive.
        """
        names = [spec[0] for spec in getattr(self, self._modalities_param)]
        weights = self.weights
        if weights is None:
            values = dict.fromkeys(active_names, 1.0)
        elif isinstance(weights, dict):
            unknown = [name for name in weights if name not in names]
            if unknown:
                raise ValueError(
                    f"weights names {unknown!r}, which are not modalities; the "
                    f"modalities are {names!r}."
                )
            values = {name: weights.get(name, 1.0) for name in active_names}
        else:
            if isinstance(weights, str) or np.ndim(weights) != 1:
                raise ValueError(
                    "weights must be None, a dict {name: weight} or a 1-D "
                    f"sequence with one weight per modality; got {weights!r}."
                )
            weights = list(weights)
            if len(weights) != len(names):
                raise ValueError(
                    f"weights has {len(weights)} values but there are "
                    f"{len(names)} modalities {names!r}; give one weight per "
                    "modality."
                )
            by_name = dict(zip(names, weights))
            values = {name: by_name[name] for name in active_names}
        for name, value in values.items():
            if not isinstance(value, Real) or isinstance(value, bool):
                raise ValueError(
                    f"weights[{name!r}] must be a real number, got {value!r}."
                )
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"weights[{name!r}] must be finite and non-negative, got {value!r}."
                )
        if not any(values.values()):
            raise ValueError(
                f"weights are all zero for the modalities {list(values)!r}; "
                "give at least one a positive weight."
            )
        return {name: float(value) for name, value in values.items()}
