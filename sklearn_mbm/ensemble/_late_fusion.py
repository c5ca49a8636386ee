"""Late fusion: one estimator per modality, combined at the decision level.

:class:`LateFusionClassifier` routes each modality's column to its own
classifier (usually a Pipeline of a feature extractor and a classifier) and
fuses their outputs by a weighted mean of probabilities (``"soft"``), a
weighted vote (``"hard"``) or a final estimator learned on out-of-fold
probabilities (``"stacking"``). :class:`LateFusionRegressor` does the same
with regressors: a weighted mean of their predictions (``"mean"``) or
stacking. A missing cell only removes that modality's vote for that row.
What the two share lives in :mod:`sklearn_mbm.ensemble._base`.
"""

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.linear_model import LogisticRegression, RidgeCV
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from sklearn_mbm._compat import StrOptions
from sklearn_mbm.ensemble._base import _BaseLateFusion, _shared_docs
from sklearn_mbm.ensemble._late_rules import CLASSIFIER_RULES, REGRESSOR_RULES

__all__ = ["LateFusionClassifier", "LateFusionRegressor"]


@_shared_docs
class LateFusionClassifier(ClassifierMixin, _BaseLateFusion):
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

    {shared_parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.

    {shared_attributes}
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
        **_BaseLateFusion._parameter_constraints,
        "method": [StrOptions(set(CLASSIFIER_RULES))],
    }

    _rules = CLASSIFIER_RULES

    def __init__(
        self,
        estimators,
        *,
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

    _kind = "classifier"
    _stacked_method = "predict_proba"

    # -- target and outputs (the hooks of _BaseLateFusion) ------------------

    def _check_target(self, y):
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

    def _encode_target(self, y):
        self._label_encoder = LabelEncoder().fit(y)
        self.classes_ = self._label_encoder.classes_
        return self._label_encoder.transform(y)

    def _stack_fill(self, y_encoded):
        # the class prior of the training labels: the best guess without the
        # modality
        return np.bincount(y_encoded, minlength=len(self.classes_)) / len(y_encoded)

    def _oof_block(self, oof, y_present):
        # aligned to all classes (zero for a class absent from the present rows)
        aligned = np.zeros((len(oof), len(self.classes_)))
        aligned[:, np.unique(y_present)] = oof
        return aligned

    def _meta_columns(self, block):
        # with two classes the first column is 1 - the second
        return block[:, 1:] if block.shape[1] == 2 else block

    def _modality_output(self, estimator, cells, present, n_samples, method):
        """``predict_proba`` aligned to ``classes_`` (zero where missing), or
        ``predict`` as class indices (-1 where missing)."""
        if method == "predict_proba":
            out = np.zeros((n_samples, len(self.classes_)))
            if len(present):
                columns = self._label_encoder.transform(estimator.classes_)
                out[np.ix_(present, columns)] = estimator.predict_proba(cells)
        else:
            out = np.full(n_samples, -1)
            if len(present):
                out[present] = self._label_encoder.transform(estimator.predict(cells))
        return out

    def _default_final_estimator(self):
        return LogisticRegression()

    # -- predict ----------------------------------------------------------------------

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
        indices = self._rule().predict(self, X)
        return self.classes_.take(np.asarray(indices, dtype=int))

    def _check_proba(self):
        self._rule().check(self, "predict_proba")
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
        return self._rule().predict_proba(self, X)

    def _check_decision_function(self):
        self._rule().check(self, "decision_function")
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


@_shared_docs
class LateFusionRegressor(RegressorMixin, _BaseLateFusion):
    """Late fusion of one regressor per modality.

    The regression counterpart of :class:`LateFusionClassifier`, as
    :class:`~sklearn.ensemble.VotingRegressor` and
    :class:`~sklearn.ensemble.StackingRegressor` are of the voting and
    stacking classifiers. Each estimator sees only its own column and is
    fitted on the rows where that column is present. Their predictions are
    fused by a weighted mean, or by a final regressor trained on their
    out-of-fold predictions (stacking).

    Parameters
    ----------
    estimators : list of (str, estimator, column) tuples
        The modalities: a name, a regressor (usually a
        :class:`~sklearn.pipeline.Pipeline` of a feature extractor and a
        regressor) and the column it learns from, as in
        :class:`LateFusionClassifier`. An estimator may be ``"drop"``
        (through ``set_params``) to leave its modality out.

    weights : dict of str to float, array-like of shape (n_estimators,) \
            or None, default=None
        The weight of each modality: a dict ``{name: weight}`` (names not in
        it get 1.0), a sequence in ``estimators`` order, or None for equal
        weights. Weights must be finite and non-negative, and not all zero.
        With ``"mean"`` they weight the mean of the predictions; with
        ``"stacking"`` each modality's meta-features are multiplied by its
        weight (a zero weight removes the modality).

    method : {"mean", "stacking"}, default="mean"
        How the modalities are fused:

        - ``"mean"``: the weighted mean of the estimators' ``predict``, over
          the modalities present in each row;
        - ``"stacking"``: ``final_estimator`` learns from the estimators'
          out-of-fold predictions (computed with
          :func:`~sklearn.model_selection.cross_val_predict` on the folds of
          ``cv``); the estimators are then refitted on all rows.

    final_estimator : estimator, default=None
        The regressor learning from the stacked predictions when
        ``method="stacking"``. None means
        :class:`~sklearn.linear_model.RidgeCV`. Ignored otherwise.

    cv : int, cross-validation generator or iterable, default=5
        The folds for the out-of-fold predictions of ``method="stacking"``,
        as in :func:`~sklearn.model_selection.check_cv` (an int means
        :class:`~sklearn.model_selection.KFold`). The test folds must
        partition the samples. Ignored otherwise.

    {shared_parameters}
    Attributes
    ----------
    {shared_attributes}
    See Also
    --------
    LateFusionClassifier : The same fusion of per-modality classifiers.
    NeuralFusionRegressor : A network that learns the fusion weights.
    sklearn.ensemble.VotingRegressor : Weighted mean on shared features.
    sklearn.ensemble.StackingRegressor : Stacking on shared features.

    Notes
    -----
    Missing cells, weights, ``sample_weight`` and metadata routing work as in
    :class:`LateFusionClassifier`: a row whose cell is missing for a modality
    is left out of that modality's training rows and of its vote at predict
    time (the weights of the present modalities are renormalised). With
    ``"stacking"``, a missing modality's prediction is filled with the mean
    of the training targets, and a missingness indicator column is added for
    each modality that had missing cells during ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn_mbm import LateFusionRegressor
    >>> X, y = load_diabetes(return_X_y=True)
    >>> reg = LateFusionRegressor(
    ...     [
    ...         ("body", Ridge(), [0, 1, 2, 3]),
    ...         ("blood", Ridge(), [4, 5, 6, 7, 8, 9]),
    ...     ],
    ...     weights={"body": 1.0, "blood": 2.0},
    ... )
    >>> round(reg.fit(X, y).score(X, y), 3)
    0.348
    >>> stack = LateFusionRegressor(reg.estimators, method="stacking").fit(X, y)
    >>> stack.final_estimator_
    RidgeCV()
    """

    _parameter_constraints: dict = {
        **_BaseLateFusion._parameter_constraints,
        "method": [StrOptions(set(REGRESSOR_RULES))],
    }

    _rules = REGRESSOR_RULES

    _kind = "regressor"
    _stacked_method = "predict"

    def __init__(
        self,
        estimators,
        *,
        weights=None,
        method="mean",
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

    # -- target and outputs (the hooks of _BaseLateFusion) ------------------

    def _check_target(self, y):
        y = check_array(
            y, ensure_2d=False, dtype="numeric", input_name="y", ensure_min_samples=1
        )
        return column_or_1d(y, warn=True).astype(np.float64, copy=False)

    def _stack_fill(self, y):
        # the mean of the training targets: the best guess without the modality
        return np.array([y.mean()])

    def _modality_output(self, estimator, cells, present, n_samples, method):
        """``predict`` as a column (zero where missing)."""
        out = np.zeros((n_samples, 1))
        if len(present):
            out[present, 0] = np.ravel(estimator.predict(cells))
        return out

    def _default_final_estimator(self):
        return RidgeCV()

    # -- predict ----------------------------------------------------------------------

    def predict(self, X):
        """Predict target values.

        With ``method="mean"``, the weighted mean of the predictions of the
        modalities present in each row; with ``"stacking"``, the final
        estimator's prediction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            The records, laid out as in :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The predicted values.
        """
        check_is_fitted(self)
        return self._rule().predict(self, X)
