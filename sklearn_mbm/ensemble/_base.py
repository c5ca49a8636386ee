"""The base of the late-fusion estimators, as scikit-learn's ``_BaseVoting``
is the base of VotingClassifier and VotingRegressor.

:class:`_BaseLateFusion` owns what does not depend on what is predicted:
checking the modalities and the table, fitting each modality's estimator on
the rows where its column is present (with out-of-fold outputs for
``method="stacking"``, on folds shared by every modality), the weights of
the modalities present in each row, the stacked meta-features (missing
outputs filled, missingness indicators, weights), ``sample_weight`` and
metadata routing (:mod:`sklearn_mbm.ensemble._fit_params`), tags and the HTML repr.

A subclass (:class:`~sklearn_mbm.LateFusionClassifier`,
:class:`~sklearn_mbm.LateFusionRegressor`) says what its modalities output
(``_modality_output``), how the target is checked and encoded
(``_check_target``, ``_encode_target``), what fills a missing output in the
meta-features (``_stack_fill``) and which final estimator stacking uses by
default (``_default_final_estimator``).
"""

import numpy as np
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import check_cv, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.utils import Bunch, get_tags
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_consistent_length, check_is_fitted

from sklearn_mbm._compat import (
    HasMethods,
    _check_sample_weight,
    _fit_context,
    _print_elapsed_time,
    _VisualBlock,
)
from sklearn_mbm._docstrings import substitute_docs
from sklearn_mbm.ensemble._fit_params import (
    modality_router,
    route_fit_params,
    rows_of,
    weight_params,
)
from sklearn_mbm.fusion._composition import (
    ModalityComposition,
    check_no_overflow,
    share_row_weights,
)
from sklearn_mbm.fusion._routing import take_rows


def _samples_text(rows):
    """``"sample 3"`` or ``"samples [3, 7, ...] (12 in all)"`` (row positions)."""
    rows = [int(r) for r in rows]
    if len(rows) == 1:
        return f"sample {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:10])
    more = f", ...] ({len(rows)} in all)" if len(rows) > 10 else "]"
    return f"samples [{shown}{more}"


def _accepts_strings(estimator):
    """Whether an estimator (or a Pipeline's first step) takes raw strings."""
    try:
        if isinstance(estimator, Pipeline) and estimator.steps:
            estimator = estimator.steps[0][1]
        return bool(get_tags(estimator).input_tags.string)
    except (AttributeError, TypeError, ValueError):
        return False


def _out_of_fold(estimator, data, y_fit, present, splits, method, params):
    """Out-of-fold ``method`` outputs of one modality on its present rows.

    The folds are computed once on all rows and restricted here to the rows
    where the modality is present, so every modality uses the same folds and
    a row's meta-features never come from a model that saw that row.
    """
    position = np.full(len(y_fit), -1)
    position[present] = np.arange(len(present))
    sub_splits = []
    for train, test in splits:
        sub_train, sub_test = position[train], position[test]
        sub_train, sub_test = sub_train[sub_train >= 0], sub_test[sub_test >= 0]
        if len(sub_test):
            sub_splits.append((sub_train, sub_test))
    return cross_val_predict(
        clone(estimator),
        data,
        y_fit[present],
        cv=sub_splits,
        method=method,
        params=params,
    )


def _fit_modality(
    estimator, data, y, y_fit, present, splits, method, params, name, message, owner
):
    """Fit one modality on its present rows (and its out-of-fold ``method``
    outputs); ``params`` (its fit parameters on all rows) follow the present
    rows. The estimator learns ``y`` (the original targets), the out-of-fold
    models ``y_fit`` (what the final estimator learns)."""
    if len(present) < len(y):
        params = rows_of(params, data, present)
        data = take_rows(data, present)
    try:
        oof = None
        if splits is not None:
            oof = _out_of_fold(estimator, data, y_fit, present, splits, method, params)
        with _print_elapsed_time(owner, message):
            estimator.fit(data, y[present], **params)
    except Exception as exc:
        if hasattr(exc, "add_note"):  # Python >= 3.11
            exc.add_note(
                f"{owner}: while fitting modality {name!r} on the "
                f"{len(present)} of {len(y)} samples where it is present."
            )
        raise
    return estimator, oof


# The parameters and attributes the late-fusion estimators document alike,
# put into their docstrings by ``_shared_docs``.
_SHARED_PARAMETERS = """n_jobs : int, default=None
        Number of modalities fitted in parallel. None means 1 unless in a
        :obj:`joblib.parallel_backend` context; -1 means all processors.

    verbose : bool, default=False
        Print the time taken to fit each modality.

"""

_SHARED_ATTRIBUTES = """estimators_ : list of estimators
        The fitted estimators, in ``estimators`` order, without dropped ones.

    named_estimators_ : :class:`~sklearn.utils.Bunch`
        The fitted estimators by name (``"drop"`` for a dropped one).

    weights_ : dict of str to float
        The weight of each modality that is not dropped.

    final_estimator_ : estimator
        The fitted final estimator (``method="stacking"`` only).

    n_features_in_ : int
        Number of columns seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of the columns seen during :term:`fit`, when ``X`` is a
        DataFrame with string column names.

"""


#: Puts the shared parameters and attributes into a late-fusion docstring.
_shared_docs = substitute_docs(
    shared_parameters=_SHARED_PARAMETERS.strip() + "\n",
    shared_attributes=_SHARED_ATTRIBUTES.strip() + "\n",
)


class _BaseLateFusion(ModalityComposition):
    """Base of the late-fusion estimators (see the module docstring).

    Subclasses set ``_kind`` (``"classifier"`` or ``"regressor"``, what each
    modality's estimator must be) and ``_stacked_method`` (the method whose
    outputs ``method="stacking"`` stacks) and write the hooks below; ``fit``
    is shared, ``predict`` (and the classifier's probabilities) are theirs.
    """

    _modalities_param = "estimators"

    _parameter_constraints: dict = {
        **ModalityComposition._parameter_constraints,
        "estimators": [list],
        "final_estimator": [None, HasMethods("fit")],
        "cv": ["cv_object"],
    }

    _kind = "classifier"
    _stacked_method = "predict_proba"

    # -- what subclasses define ------------------------------------------------

    #: The ``method`` options: {name: rule}
    #: (see :mod:`sklearn_mbm.ensemble._late_rules`).
    _rules: dict = {}

    def _rule(self):
        return self._rules[self.method]

    def _check_target(self, y):
        """Check ``y`` (not None) and return it 1-D."""
        raise NotImplementedError

    def _encode_target(self, y):
        """Set the target's fitted attributes; return what stacking learns."""
        return y

    def _stack_fill(self, y_fit):
        """The meta-features of a modality missing in a row (no weight)."""
        raise NotImplementedError

    def _oof_block(self, oof, y_present):
        """Out-of-fold outputs of one modality as a 2-D block."""
        return np.asarray(oof, dtype=float).reshape(len(oof), -1)

    def _meta_columns(self, block):
        """The columns of a modality's block that stacking keeps."""
        return block

    def _modality_output(self, estimator, cells, present, n_samples, method):
        """``method`` outputs of one modality on all ``n_samples`` rows (its
        present rows are ``present``, their cells ``cells``)."""
        raise NotImplementedError

    def _default_final_estimator(self):
        raise NotImplementedError

    # -- validation ---------------------------------------------------------------

    def _check_y(self, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        return self._check_target(y)

    def _check_modality_estimator(self, name, estimator):
        needed = self._rule().needed_method(self)
        right_kind = is_classifier if self._kind == "classifier" else is_regressor
        if not right_kind(estimator):
            raise ValueError(
                f"estimators: {name!r} must be a {self._kind} (or a Pipeline "
                f"ending in one), got {estimator!r}."
            )
        if not hasattr(estimator, needed):
            raise ValueError(
                f"estimators: {name!r} has no {needed} method, which "
                f"method={self.method!r} needs; got {estimator!r}."
            )

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

    # -- fit ------------------------------------------------------------------------

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
            The targets: class labels (str or int) for the classifier,
            values for the regressor.

        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed to each modality's estimator on the rows
            where that modality is present (to a Pipeline's final step), and
            with ``method="stacking"`` to the final estimator, as in
            :class:`~sklearn.ensemble.StackingClassifier` and
            :class:`~sklearn.ensemble.StackingRegressor`. Every estimator
            must take ``sample_weight`` unless metadata routing is enabled,
            in which case each gets it only if it requested it with
            ``set_fit_request(sample_weight=True)``.

        **fit_params : dict
            Other metadata for the modalities' ``fit``; only with
            ``sklearn.set_config(enable_metadata_routing=True)``, routed to
            the estimators that request them.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight, fit_params)

    def _fit(self, X, y, sample_weight, fit_params):
        X = self._check_table(X, reset=True)
        y = self._check_y(y)
        check_consistent_length(X, y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X)
        y_fit = self._encode_target(y)

        modalities = self._validate_modalities(X)
        active = [(m.name, m.estimator, m.key) for m in modalities]
        active_names = [m.name for m in modalities]
        self.weights_ = self._check_weights(active_names)

        data, present = zip(*self._select_all(X, fit=True))
        missing = ~np.vstack(present)
        self._raise_if_no_modality(missing, active_names, stage="learn")
        params = route_fit_params(
            self,
            [(name, estimator) for name, estimator, _ in active],
            sample_weight,
            fit_params,
        )

        splits = None
        if self._rule().stacks:
            cv = check_cv(self.cv, y, classifier=is_classifier(self))
            splits = list(cv.split(X, y))

        owner = type(self).__name__
        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_modality)(
                clone(estimator),
                column_data,
                y,
                y_fit,
                np.flatnonzero(~row_missing),
                splits,
                self._stacked_method,
                params[name],
                name,
                f"({i + 1} of {len(active)}) Processing {name}"
                if self.verbose
                else None,
                owner,
            )
            for i, ((name, estimator, _), column_data, row_missing) in enumerate(
                zip(active, data, missing)
            )
        )
        self.estimators_ = [estimator for estimator, _ in results]
        self._columns = [(name, key) for name, _, key in active]
        fitted = dict(zip(active_names, self.estimators_))
        self.named_estimators_ = Bunch(
            **{name: est for name, est, _ in self._fitted_specs(fitted)}
        )

        if self._rule().stacks:
            self._fill = self._stack_fill(y_fit)
            self._indicated = missing.any(axis=1)
            outputs = []
            for (_, oof), row_missing in zip(results, missing):
                block = self._oof_block(oof, y_fit[~row_missing])
                full = np.zeros((len(y), block.shape[1]))
                full[~row_missing] = block
                outputs.append(full)
            meta = self._stack_features(outputs, missing)
            final = self.final_estimator
            final = clone(self._default_final_estimator() if final is None else final)
            final_params = weight_params(
                final, sample_weight, owner=self, role="final_estimator"
            )
            self.final_estimator_ = final.fit(meta, y_fit, **final_params)
        elif hasattr(self, "final_estimator_"):
            del self.final_estimator_  # left over from a stacking fit
        return self

    # -- predict --------------------------------------------------------------------

    def _check_predict_input(self, X):
        check_is_fitted(self)
        # columns taken by name: extra, reordered or unused absent ones are fine
        return self._check_predict_table(X)

    def _modality_outputs(self, X, method):
        """Each modality's ``method`` outputs (see ``_modality_output``) on the
        rows where it is present, and the (n_modalities, n_samples) missing
        mask."""
        X = self._check_predict_input(X)
        n_samples = X.shape[0]
        outputs, missing = [], []
        for (data, rows), estimator in zip(self._select_all(X), self.estimators_):
            row_missing = ~rows
            present = np.flatnonzero(rows)
            cells = data if len(present) == n_samples else take_rows(data, present)
            outputs.append(
                self._modality_output(estimator, cells, present, n_samples, method)
            )
            missing.append(row_missing)
        missing = np.vstack(missing)
        names = [name for name, _ in self._columns]
        self._raise_if_no_modality(missing, names, stage="predict")
        return outputs, missing

    def _row_weights(self, missing):
        """Weights (n_modalities, n_samples) of the modalities present per row."""
        weights = np.array([self.weights_[name] for name, _ in self._columns])
        shares, _, no_weight = share_row_weights(weights, ~missing.T, total="one")
        rows = np.flatnonzero(no_weight)
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
        return shares.T

    def _weighted_mean(self, X, method):
        """The weighted mean, over the modalities present in each row, of
        their (n_samples, k) ``method`` outputs."""
        outputs, missing = self._modality_outputs(X, method)
        row_weights = self._row_weights(missing)
        return np.einsum("mn,mnk->nk", row_weights, np.stack(outputs))

    def _stack_features(self, outputs, missing):
        """Meta-features: weighted outputs, missing ones filled, plus indicators."""
        blocks = []
        for (name, _), block, row_missing, indicated in zip(
            self._columns, outputs, missing, self._indicated
        ):
            block = block.copy()
            block[row_missing] = self._fill
            block = self._meta_columns(block)
            if indicated:
                block = np.hstack([block, row_missing[:, None].astype(float)])
            blocks.append(self.weights_[name] * block)
        meta = np.hstack(blocks)
        # The final estimator squares its inputs (norms, variances, the
        # gradient of a linear model): refuse weights whose squares overflow
        # rather than let it fit nothing with a convergence warning.
        with np.errstate(over="ignore"):
            squares = np.einsum("ij,ij->i", meta, meta)
        check_no_overflow(squares, type(self).__name__, self.weights_)
        return meta

    def _stacked(self, X):
        outputs, missing = self._modality_outputs(X, self._stacked_method)
        return self._stack_features(outputs, missing)

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

    # -- tags and display -----------------------------------------------------------

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
        rule = self._rules.get(self.method)  # the repr may come before fit
        stacks = rule is not None and rule.stacks
        names, estimators, columns = zip(*self.estimators)
        parallel = _VisualBlock(
            "parallel",
            estimators,
            names=names,
            name_details=[str(column) for column in columns],
            dash_wrapped=not stacks,
        )
        if not stacks:
            return parallel
        final = self.final_estimator
        final = self._default_final_estimator() if final is None else final
        final_block = _VisualBlock(
            "parallel", [final], names=["final_estimator"], dash_wrapped=False
        )
        return _VisualBlock("serial", (parallel, final_block), dash_wrapped=False)
