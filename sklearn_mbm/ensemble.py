"""Late fusion: one classifier per modality, combined at the decision level.

:class:`LateFusionClassifier` routes each modality's column to its own
classifier (usually a Pipeline of a feature extractor and a classifier) and
fuses their outputs by a weighted mean of probabilities (``"soft"``), a
weighted vote (``"hard"``) or a final estimator learned on out-of-fold
probabilities (``"stacking"``). A missing cell only removes that modality's
vote for that row.
"""

import math
import numbers
from numbers import Integral

import numpy as np
from scipy.sparse import issparse
from sklearn.base import ClassifierMixin, clone, is_classifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch, get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from sklearn_mbm._compat import (
    HasMethods,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _print_elapsed_time,
    _VisualBlock,
)
from sklearn_mbm._composition import ModalityComposition, check_named_columns
from sklearn_mbm._fit_params import (
    is_drop,
    modality_router,
    route_fit_params,
    rows_of,
    weight_params,
)
from sklearn_mbm._routing import (
    _is_frame,
    check_unique_names,
    missing_mask,
    resolve_column,
    select_column,
    take_rows,
)

_METHODS = ("soft", "hard", "stacking")


def _samples_text(rows):
    """``"sample 3"`` or ``"samples [3, 7, ...] (12 in all)"`` (row positions)."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"sample {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:10])
    more = f", ...] ({len(rows)} in all)" if len(rows) > 10 else "]"
    return f"samples [{shown}{more}"


def _check_2d_input(X):
    """Keep a DataFrame as is; make anything else a 2-D ndarray.

    Text and other non-numeric cells become an object array, so that numbers
    keep their type and strings are not padded into a fixed-width dtype.
    """
    if _is_frame(X):
        return X
    if issparse(X):
        raise TypeError(
            "LateFusionClassifier does not accept sparse input: it routes "
            "columns of cells to its estimators. Pass a pandas DataFrame or a "
            "dense 2-D array."
        )
    if not isinstance(X, np.ndarray):
        X = np.asarray(X)
        if X.dtype.kind in "OUS":
            X = np.asarray(X, dtype=object) if X.dtype.kind != "O" else X
    if X.ndim != 2:
        raise ValueError(
            "LateFusionClassifier expects 2-D input (a DataFrame or an array of "
            f"shape (n_samples, n_columns)), got an array of shape {X.shape}. "
            "Reshape your data, e.g. with X.reshape(-1, 1) for a single column."
        )
    return X


def _check_not_empty(X):
    # the wording of check_array's messages, which users and tools know
    for axis, what in ((0, "sample"), (1, "feature")):
        if X.shape[axis] == 0:
            raise ValueError(
                f"Found array with 0 {what}(s) (shape={tuple(X.shape)}) while a "
                "minimum of 1 is required by LateFusionClassifier."
            )


def _accepts_strings(estimator):
    """Whether an estimator (or a Pipeline's first step) takes raw strings."""
    try:
        if isinstance(estimator, Pipeline) and estimator.steps:
            estimator = estimator.steps[0][1]
        return bool(get_tags(estimator).input_tags.string)
    except (AttributeError, TypeError, ValueError):
        return False


def _out_of_fold_proba(estimator, data, y_encoded, present, splits, n_classes, params):
    """Out-of-fold ``predict_proba`` of one modality on its present rows.

    The folds are computed once on all rows and restricted here to the rows
    where the modality is present, so every modality uses the same folds and
    a row's meta-features never come from a model that saw that row.
    Columns are aligned to all ``n_classes`` classes (zero for a class that
    never occurs among the present rows).
    """
    position = np.full(len(y_encoded), -1)
    position[present] = np.arange(len(present))
    sub_splits = []
    for train, test in splits:
        sub_train, sub_test = position[train], position[test]
        sub_train, sub_test = sub_train[sub_train >= 0], sub_test[sub_test >= 0]
        if len(sub_test):
            sub_splits.append((sub_train, sub_test))
    y_present = y_encoded[present]
    proba = cross_val_predict(
        clone(estimator),
        data,
        y_present,
        cv=sub_splits,
        method="predict_proba",
        params=params,
    )
    aligned = np.zeros((len(present), n_classes))
    aligned[:, np.unique(y_present)] = proba
    return aligned


def _fit_modality(
    estimator, data, y, y_encoded, present, splits, n_classes, params, name, message
):
    """Fit one modality on its present rows (and its out-of-fold probabilities);
    ``params`` (its fit parameters on all rows) follow the present rows."""
    if len(present) < len(y):
        params = rows_of(params, data, present)
        data = take_rows(data, present)
    try:
        oof = None
        if splits is not None:
            oof = _out_of_fold_proba(
                estimator, data, y_encoded, present, splits, n_classes, params
            )
        with _print_elapsed_time("LateFusionClassifier", message):
            estimator.fit(data, y[present], **params)
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(
                f"LateFusionClassifier: while fitting modality {name!r} on the "
                f"{len(present)} of {len(y)} samples where it is present."
            )
        raise
    return estimator, oof


class LateFusionClassifier(ClassifierMixin, ModalityComposition):
    """Late fusion of one classifier per modality.

    Each estimator sees only its own column (a text column, an image column,
    a block of numeric columns, ...) and is fitted on the rows where that
    column is present. Their outputs are fused by a weighted mean of
    probabilities, a weighted vote, or a final estimator trained on
    out-of-fold probabilities (stacking).

    Parameters
    ----------
    estimators : list of (str, estimator, column) tuples
        The modalities: a name, a classifier (usually a
        :class:`~sklearn.pipeline.Pipeline` of a feature extractor and a
        classifier) and the column it learns from. A column is a name (with a
        DataFrame), an integer index, a list of them (a 2-D block passed on as
        is) or a callable returning one of these from ``X``. A scalar column
        is passed to the estimator as 1-D cells, a list as 2-D. Names must be
        unique; two modalities may read the same column. An estimator may be
        ``"drop"`` (through ``set_params``) to leave its modality out.

    weights : dict of str to float, array-like of shape (n_estimators,) \
            or None, default=None
        The weight of each modality: a dict ``{name: weight}`` (names not in
        it get 1.0), a sequence in ``estimators`` order, or None for equal
        weights. Weights must be finite and non-negative, and not all zero.
        With ``"soft"`` they weight the mean of probabilities, with ``"hard"``
        the vote; with ``"stacking"`` each modality's meta-features are
        multiplied by its weight (a zero weight removes the modality, and a
        larger weight makes the modality cheaper for a regularised final
        estimator to use). Tune them with
        ``GridSearchCV(param_grid={"weights": [...]})``.

    method : {"soft", "hard", "stacking"}, default="soft"
        How the modalities are fused:

        - ``"soft"``: the weighted mean of the estimators' ``predict_proba``;
        - ``"hard"``: a weighted majority vote of their ``predict`` (ties go
          to the class that comes first in ``classes_``);
        - ``"stacking"``: ``final_estimator`` learns from the estimators'
          out-of-fold probabilities (computed with
          :func:`~sklearn.model_selection.cross_val_predict` on the folds of
          ``cv``); the estimators are then refitted on all rows.

    final_estimator : estimator, default=None
        The classifier learning from the stacked probabilities when
        ``method="stacking"``. None means
        :class:`~sklearn.linear_model.LogisticRegression`. Ignored otherwise.

    cv : int, cross-validation generator or iterable, default=5
        The folds for the out-of-fold probabilities of ``method="stacking"``,
        as in :func:`~sklearn.model_selection.check_cv` (an int means
        :class:`~sklearn.model_selection.StratifiedKFold`). The test folds
        must partition the samples. Ignored otherwise.

    n_jobs : int, default=None
        Number of modalities fitted in parallel. None means 1 unless in a
        :obj:`joblib.parallel_backend` context; -1 means all processors.

    verbose : bool, default=False
        Print the time taken to fit each modality.

    Attributes
    ----------
    estimators_ : list of estimators
        The fitted estimators, in ``estimators`` order, without dropped ones.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The fitted estimators by name (``"drop"`` for a dropped one).

    weights_ : dict of str to float
        The weight of each modality that is not dropped.

    classes_ : ndarray of shape (n_classes,)
        The class labels.

    final_estimator_ : estimator
        The fitted final estimator (``method="stacking"`` only).

    n_features_in_ : int
        Number of columns seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :term:`fit`, when ``X`` is a
        DataFrame with string column names.

    See Also
    --------
    sklearn.ensemble.VotingClassifier : Soft and hard voting on shared features.
    sklearn.ensemble.StackingClassifier : Stacking on shared features.
    sklearn_mbm.FusionTransformer : Early fusion of the modalities' features.

    Notes
    -----
    **Searching weights.** ``GridSearchCV`` clones and refits every modality's
    estimator for each weight candidate. When an estimator is a Pipeline with
    a costly extractor, give that Pipeline a ``memory`` (scikit-learn caches
    its fitted transformers) so that weights-only candidates reuse them.

    **Missing cells.** A row whose cell is missing for a modality (None or
    NaN; for a 2-D block, any NaN in the row) is left out of that modality's
    training rows, and out of its vote at predict time: the weights of the
    modalities present in the row are renormalised. A row with every modality
    missing (or, with ``"soft"`` and ``"hard"``, with only zero-weight
    modalities present) raises a ValueError naming it, in ``fit`` and in
    ``predict``.

    Each estimator is fitted on the original labels of its rows, so
    ``named_estimators_[name]`` can be used on its own. When missing rows
    remove a class from a modality, its probability for that class is zero
    and the columns are still aligned to ``classes_``.

    **Stacking with missing cells.** The folds are computed once on all rows
    and restricted to each modality's present rows. Where a modality is
    missing, its probabilities are filled with the class prior of the
    training labels (the best guess without that modality), and, for each
    modality that had missing cells during ``fit``, a missingness indicator
    column is added so that the final estimator can learn how much to trust
    the fill (as :class:`~sklearn.impute.SimpleImputer` with
    ``add_indicator=True`` does). A modality never missing during ``fit``
    but missing at predict time gets the prior fill alone. With two classes
    only the second class's probability is kept, as in
    :class:`~sklearn.ensemble.StackingClassifier`.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_mbm import LateFusionClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = LateFusionClassifier(
    ...     [
    ...         ("sepal", LogisticRegression(), [0, 1]),
    ...         ("petal", LogisticRegression(), [2, 3]),
    ...     ],
    ...     weights={"sepal": 1.0, "petal": 3.0},
    ... )
    >>> round(clf.fit(X, y).score(X, y), 3)
    0.967
    >>> clf.predict_proba(X[:1]).round(2)
    array([[0.97, 0.03, 0.  ]])
    >>> stack = LateFusionClassifier(clf.estimators, method="stacking").fit(X, y)
    >>> stack.final_estimator_
    LogisticRegression()
    """

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", dict, None],
        "method": [StrOptions(set(_METHODS))],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object"],
        "n_jobs": [None, Integral],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        estimators,
        weights=None,
        method="soft",
        final_estimator=None,
        cv=5,
        n_jobs=None,
        verbose=False,
    ):
        self.estimators = estimators
        self.weights = weights
        self.method = method
        self.final_estimator = final_estimator
        self.cv = cv
        self.n_jobs = n_jobs
        self.verbose = verbose

    # nested parameters (``text__clf__C``) come from ModalityComposition
    _modalities_param = "estimators"

    # ------------------------------------------------------------------
    # Validation
    # ------------------------------------------------------------------

    def _validate_estimators(self, X):
        """Return the names and the ``(name, estimator, key)`` of active ones."""
        estimators = self.estimators
        if not estimators or not all(
            isinstance(item, (tuple, list)) and len(item) == 3 for item in estimators
        ):
            raise ValueError(
                "estimators must be a non-empty list of (name, estimator, "
                f"column) tuples; got {estimators!r}."
            )
        names = [item[0] for item in estimators]
        check_unique_names(names, param="estimators")
        clash = sorted(set(names) & set(self.get_params(deep=False)))
        if clash:
            raise ValueError(
                f"estimators: names {clash!r} clash with parameters of "
                "LateFusionClassifier; rename them."
            )
        needed = "predict" if self.method == "hard" else "predict_proba"
        active = []
        for name, estimator, column in estimators:
            if is_drop(estimator):
                continue
            if not is_classifier(estimator):
                raise ValueError(
                    f"estimators: {name!r} must be a classifier (or a Pipeline "
                    f"ending in one), got {estimator!r}."
                )
            if not hasattr(estimator, needed):
                raise ValueError(
                    f"estimators: {name!r} has no {needed} method, which "
                    f"method={self.method!r} needs; got {estimator!r}."
                )
            key, scalar = resolve_column(X, column, name=name)
            if not scalar and len(set(key)) != len(key):
                repeated = sorted({k for k in key if key.count(k) > 1}, key=str)
                raise ValueError(
                    f"Modality {name!r} selects columns {repeated!r} more than once."
                )
            active.append((name, estimator, key))
        if not active:
            raise ValueError(
                "estimators: every estimator is 'drop'; at least one is needed."
            )
        return names, active

    def _validate_weights(self, names, active_names):
        """Return the weights of the active modalities as a dict."""
        weights = self.weights
        if weights is None:
            raw = dict.fromkeys(active_names, 1.0)
        elif isinstance(weights, dict):
            unknown = [k for k in weights if k not in names]
            if unknown:
                raise ValueError(
                    f"weights names {unknown!r}, which are not estimators; "
                    f"the estimators are {names!r}."
                )
            raw = {name: weights.get(name, 1.0) for name in active_names}
        else:
            if isinstance(weights, str) or np.ndim(weights) != 1:
                raise ValueError(
                    "weights must be None, a dict {name: weight} or a 1-D "
                    f"sequence with one weight per estimator; got {weights!r}."
                )
            weights = list(weights)
            if len(weights) != len(names):
                raise ValueError(
                    f"weights has {len(weights)} values but there are "
                    f"{len(names)} estimators {names!r}."
                )
            by_name = dict(zip(names, weights))
            raw = {name: by_name[name] for name in active_names}
        checked = {}
        for name, value in raw.items():
            if not isinstance(value, numbers.Real) or isinstance(value, bool):
                raise ValueError(
                    f"weights[{name!r}] must be a real number, got {value!r}."
                )
            if not math.isfinite(value) or value < 0:
                raise ValueError(
                    f"weights[{name!r}] must be finite and non-negative, got {value!r}."
                )
            checked[name] = float(value)
        if not any(checked.values()):
            raise ValueError(
                f"weights are all zero for the estimators {active_names!r}; at "
                "least one must be positive."
            )
        return checked

    def _check_y(self, y):
        if y is None:
            raise ValueError(
                "LateFusionClassifier requires y to be passed, but the target y is "
                "None."
            )
        y_type = type_of_target(y, input_name="y")
        if y_type in ("unknown", "continuous"):
            raise ValueError(
                f"Unknown label type: {y_type}. LateFusionClassifier needs "
                "class labels (str or int)."
            )
        if y_type not in ("binary", "multiclass"):
            raise NotImplementedError(
                f"LateFusionClassifier supports binary and multiclass targets, "
                f"got {y_type!r}."
            )
        return column_or_1d(y, warn=True)

    @staticmethod
    def _raise_if_no_modality(missing, names, *, stage):
        """Raise for rows where every modality is missing."""
        rows = np.flatnonzero(missing.all(axis=0))
        if rows.size:
            raise ValueError(
                f"{_samples_text(rows)} (row positions): every modality "
                f"{names!r} is missing (None or NaN), so there is nothing to "
                f"{stage} from. Drop these rows or fill at least one modality."
            )

    # ------------------------------------------------------------------
    # Fit
    # ------------------------------------------------------------------

    @_fit_context(
        # the estimators and the final estimator are validated when fitted
        prefer_skip_nested_validation=False
    )
    def fit(self, X, y, sample_weight=None, **fit_params):
        """Fit each modality's estimator on its column (and the final estimator).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The records, one column (or block of columns) per modality.
            Missing cells are None or NaN.

        y : array-like of shape (n_samples,)
            The class labels (str or int).

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to each modality's estimator on the rows
            where that modality is present (to a Pipeline's final step), and
            with ``method="stacking"`` to the final estimator, as in
            :class:`~sklearn.ensemble.StackingClassifier`. Every estimator
            must take ``sample_weight`` unless metadata routing is enabled,
            in which case each gets it only if it requested it with
            ``set_fit_request(sample_weight=True)``.

        **fit_params : dict
            Other metadata for the modalities' ``fit``; only with
            ``sklearn.set_config(enable_metadata_routing=True)``, routed to
            the estimators that request them.

        Returns
        -------
        self : LateFusionClassifier
            The fitted estimator.
        """
        X = _check_2d_input(X)
        _check_not_empty(X)
        y = self._check_y(y)
        validate_data(self, X, skip_check_array=True, reset=True)
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        y_encoded = self._label_encoder.transform(y)
        n_classes = len(self.classes_)

        names, active = self._validate_estimators(X)
        active_names = [name for name, _, _ in active]
        self.weights_ = self._validate_weights(names, active_names)

        data = [select_column(X, key) for _, _, key in active]
        missing = np.vstack([missing_mask(d) for d in data])
        for name, row_missing in zip(active_names, missing):
            if row_missing.all():
                raise ValueError(
                    f"Modality {name!r} is missing (None or NaN) in every one of "
                    f"the {len(row_missing)} samples, so it cannot be fitted."
                )
        self._raise_if_no_modality(missing, active_names, stage="learn")
        params = route_fit_params(
            self,
            [(name, estimator) for name, estimator, _ in active],
            sample_weight,
            fit_params,
        )

        splits = None
        if self.method == "stacking":
            cv = check_cv(self.cv, y, classifier=True)
            splits = list(cv.split(X, y))

        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_modality)(
                clone(estimator),
                column_data,
                y,
                y_encoded,
                np.flatnonzero(~row_missing),
                splits,
                n_classes,
                params[name],
                name,
                f"({i + 1} of {len(active)}) Processing {name}"
                if self.verbose
                else None,
            )
            for i, ((name, estimator, _), column_data, row_missing) in enumerate(
                zip(active, data, missing)
            )
        )
        self.estimators_ = [estimator for estimator, _ in results]
        self._columns = [(name, key) for name, _, key in active]
        fitted = dict(zip(active_names, self.estimators_))
        self.named_estimators_ = Bunch(
            **{name: fitted.get(name, "drop") for name in names}
        )

        if self.method == "stacking":
            self._class_prior = np.bincount(y_encoded, minlength=n_classes) / len(y)
            self._indicated = missing.any(axis=1)
            probas = []
            for (_, oof), row_missing in zip(results, missing):
                proba = np.zeros((len(y), n_classes))
                proba[~row_missing] = oof
                probas.append(proba)
            meta = self._stack_features(probas, missing)
            final = self.final_estimator
            final = LogisticRegression() if final is None else final
            final = clone(final)
            final_params = weight_params(
                final, sample_weight, owner=self, role="final_estimator"
            )
            self.final_estimator_ = final.fit(meta, y_encoded, **final_params)
        elif hasattr(self, "final_estimator_"):
            del self.final_estimator_  # left over from a stacking fit
        return self

    # ------------------------------------------------------------------
    # Predict
    # ------------------------------------------------------------------

    def _check_predict_input(self, X):
        check_is_fitted(self)
        X = _check_2d_input(X)
        # columns taken by name: extra, reordered or unused absent ones are fine
        if not check_named_columns(self, X, [key for _, key in self._columns]):
            validate_data(self, X, skip_check_array=True, reset=False)
        for name, key in self._columns:
            resolve_column(X, key, name=name)
        return X

    def _modality_outputs(self, X, how):
        """Per-modality outputs on the rows where each modality is present.

        ``how="proba"`` gives float arrays (n_samples, n_classes) aligned to
        ``classes_``; ``how="predict"`` gives class indices (-1 if missing).
        Also returns the (n_modalities, n_samples) missing mask.
        """
        X = self._check_predict_input(X)
        n_samples = X.shape[0]
        outputs, missing = [], []
        for (_, key), estimator in zip(self._columns, self.estimators_):
            data = select_column(X, key)
            row_missing = missing_mask(data)
            present = np.flatnonzero(~row_missing)
            cells = data if len(present) == n_samples else take_rows(data, present)
            if how == "proba":
                out = np.zeros((n_samples, len(self.classes_)))
                if len(present):
                    columns = self._label_encoder.transform(estimator.classes_)
                    out[np.ix_(present, columns)] = estimator.predict_proba(cells)
            else:
                out = np.full(n_samples, -1)
                if len(present):
                    out[present] = self._label_encoder.transform(
                        estimator.predict(cells)
                    )
            outputs.append(out)
            missing.append(row_missing)
        missing = np.vstack(missing)
        names = [name for name, _ in self._columns]
        self._raise_if_no_modality(missing, names, stage="predict")
        return outputs, missing

    def _row_weights(self, missing):
        """Weights (n_modalities, n_samples) of the modalities present per row."""
        weights = np.array([self.weights_[name] for name, _ in self._columns])
        row_weights = weights[:, None] * ~missing
        total = row_weights.sum(axis=0)
        rows = np.flatnonzero(total == 0)
        if rows.size:
            present = [
                name for name, _ in self._columns if not missing[:, rows[0]].all()
            ]
            raise ValueError(
                f"{_samples_text(rows)} (row positions): only modalities with "
                f"zero weight are present (e.g. {present!r} in the first), so "
                "no estimator votes. Give them a positive weight or fill another "
                "modality."
            )
        return row_weights / total

    def _stack_features(self, probas, missing):
        """Meta-features: weighted probabilities, prior-filled, plus indicators."""
        blocks = []
        for (name, _), proba, row_missing, indicated in zip(
            self._columns, probas, missing, self._indicated
        ):
            proba = proba.copy()
            proba[row_missing] = self._class_prior
            if proba.shape[1] == 2:
                proba = proba[:, 1:]  # the first column is 1 - the second
            if indicated:
                proba = np.hstack([proba, row_missing[:, None].astype(float)])
            blocks.append(self.weights_[name] * proba)
        return np.hstack(blocks)

    def _soft_proba(self, X):
        probas, missing = self._modality_outputs(X, "proba")
        row_weights = self._row_weights(missing)
        return np.einsum("mn,mnk->nk", row_weights, np.stack(probas))

    def _stacked(self, X):
        probas, missing = self._modality_outputs(X, "proba")
        return self._stack_features(probas, missing)

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The records, laid out as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted class labels.
        """
        check_is_fitted(self)
        if self.method == "soft":
            indices = self._soft_proba(X).argmax(axis=1)
        elif self.method == "hard":
            predictions, missing = self._modality_outputs(X, "predict")
            row_weights = self._row_weights(missing)
            votes = np.zeros((len(predictions[0]), len(self.classes_)))
            rows = np.arange(len(predictions[0]))
            for prediction, weight in zip(predictions, row_weights):
                present = prediction >= 0
                np.add.at(votes, (rows[present], prediction[present]), weight[present])
            indices = votes.argmax(axis=1)
        else:
            indices = self.final_estimator_.predict(self._stacked(X))
        return self.classes_.take(np.asarray(indices, dtype=int))

    def _check_proba(self):
        if self.method == "hard":
            raise AttributeError(
                "predict_proba is not available when method='hard'; use "
                "method='soft' or 'stacking'."
            )
        if self.method == "stacking":
            final = getattr(self, "final_estimator_", self.final_estimator)
            if final is not None and not hasattr(final, "predict_proba"):
                raise AttributeError(
                    "predict_proba is not available: the final estimator "
                    f"{final!r} has no predict_proba."
                )
        return True

    @available_if(_check_proba)
    def predict_proba(self, X):
        """Predict class probabilities.

        With ``method="soft"``, the weighted mean of the probabilities of the
        modalities present in each row; with ``"stacking"``, the final
        estimator's probabilities.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The records, laid out as in :meth:`fit`.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        if self.method == "stacking":
            return self.final_estimator_.predict_proba(self._stacked(X))
        return self._soft_proba(X)

    def _check_decision_function(self):
        if self.method != "stacking":
            raise AttributeError(
                "decision_function is only available with method='stacking'."
            )
        final = getattr(self, "final_estimator_", self.final_estimator)
        if final is not None and not hasattr(final, "decision_function"):
            raise AttributeError(
                "decision_function is not available: the final estimator "
                f"{final!r} has no decision_function."
            )
        return True

    @available_if(_check_decision_function)
    def decision_function(self, X):
        """Decision function of the final estimator (``method="stacking"``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The records, laid out as in :meth:`fit`.

        Returns
        -------
        scores : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The final estimator's decision function.
        """
        check_is_fitted(self)
        return self.final_estimator_.decision_function(self._stacked(X))

    def get_metadata_routing(self):
        """Get the metadata routing of this object.

        ``fit`` routes metadata (such as ``sample_weight``) to each
        modality's estimator, which requests it with
        ``set_fit_request`` (scikit-learn's metadata routing, enabled with
        ``sklearn.set_config(enable_metadata_routing=True)``).

        Returns
        -------
        routing : MetadataRouter
            A :class:`~sklearn.utils.metadata_routing.MetadataRouter`
            encapsulating routing information.
        """
        return modality_router(self, self._named_modalities)

    # ------------------------------------------------------------------
    # Tags and display
    # ------------------------------------------------------------------

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a missing cell (None/NaN) drops that modality's vote for the row
        tags.input_tags.allow_nan = True
        try:
            tags.input_tags.string = any(
                _accepts_strings(est) for _, est, _ in self.estimators
            )
        except (TypeError, ValueError):
            pass  # estimators not validated yet
        return tags

    def _sk_visual_block_(self):
        names, estimators, columns = zip(*self.estimators)
        parallel = _VisualBlock(
            "parallel",
            estimators,
            names=names,
            name_details=[str(column) for column in columns],
            dash_wrapped=self.method != "stacking",
        )
        if self.method != "stacking":
            return parallel
        final = self.final_estimator
        final = LogisticRegression() if final is None else final
        final_block = _VisualBlock(
            "parallel", [final], names=["final_estimator"], dash_wrapped=False
        )
        return _VisualBlock("serial", (parallel, final_block), dash_wrapped=False)
