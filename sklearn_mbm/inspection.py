"""Which modality does a fitted multimodal model rely on?

:func:`modality_importance` is grouped permutation importance: it shuffles the
rows of one modality's column(s) at a time, breaking that modality's link with
the target while keeping the others intact, and measures the drop in score.
"""

import numbers

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._io import is_polars
from sklearn_mbm._robustness import modality_robustness
from sklearn_mbm._routing import _is_frame, resolve_column

__all__ = ["modality_importance", "modality_robustness"]

# parameters of our multimodal estimators that hold (name, est, column) specs
_SPEC_PARAMS = ("transformers", "estimators")


def _specs_of(estimator):
    """The ``(name, est, column)`` specs of ``estimator``, or None."""
    if not hasattr(estimator, "get_params"):
        return None
    params = estimator.get_params(deep=False)
    for attr in _SPEC_PARAMS:
        specs = params.get(attr)
        if (
            isinstance(specs, (list, tuple))
            and specs
            and all(
                isinstance(spec, tuple) and len(spec) == 3 and isinstance(spec[0], str)
                for spec in specs
            )
        ):
            return specs
    return None


def _find_modalities(estimator):
    """Column groups of the fusion step in ``estimator``, as a dict, or None.

    Looks at the estimator itself, then the ``best_estimator_`` of a fitted
    search, then the steps of a Pipeline (the first with column specs).
    """
    specs = _specs_of(estimator)
    if specs is None and hasattr(estimator, "best_estimator_"):
        return _find_modalities(estimator.best_estimator_)
    if specs is None and hasattr(estimator, "steps"):
        for _, step in estimator.steps:
            specs = _specs_of(step)
            if specs is not None:
                break
    if specs is None:
        return None
    return {name: column for name, _, column in specs}


def _column_positions(X, modalities):
    """Map each modality to the integer positions of its columns in ``X``."""
    # Not scikit-learn's _get_column_indices: with scikit-learn 1.8 it fails
    # on a polars DataFrame (AttributeError, polars 2.1), and with 1.9 it
    # refuses a pandas DataFrame with any duplicated column name, even one no
    # modality selects (narwhals DuplicateError). Here only a selected
    # duplicate is refused, with a message naming the modality.
    positions = {}
    for name, column in modalities.items():
        if not isinstance(name, str):
            raise TypeError(f"modalities: names must be str, got {name!r}.")
        key, scalar = resolve_column(X, column, name=name)
        keys = [key] if scalar else key
        if is_polars(X):  # polars column names are unique
            cols = [
                X.columns.index(k) if isinstance(k, str) else k % X.shape[1]
                for k in keys
            ]
        elif _is_frame(X):
            by_name = isinstance(keys[0], str)
            cols = [X.columns.get_loc(k) if by_name else k % X.shape[1] for k in keys]
        else:
            cols = [k % X.shape[1] for k in keys]
        for col in cols:
            if not isinstance(col, numbers.Integral):
                raise ValueError(
                    f"Modality {name!r}: column {keys!r} is not unique in the "
                    "DataFrame; give columns unique names."
                )
        positions[name] = np.asarray(cols, dtype=int)
    return positions


def _permuted(X, cols, rows):
    """A copy of ``X`` whose columns ``cols`` hold the rows ``rows``."""
    if is_polars(X):
        X_perm = X.clone()  # polars copies are cheap (shared buffers)
        for col in cols:
            X_perm.replace_column(int(col), X.to_series(int(col)).gather(rows))
        return X_perm
    if _is_frame(X):
        X_perm = X.copy(deep=False)
        for col in cols:
            # position-based set keeps dtypes and never aligns on the index
            X_perm.isetitem(int(col), X.iloc[:, col].to_numpy()[rows])
        return X_perm
    X_perm = X.copy()
    X_perm[:, cols] = X[rows][:, cols]
    return X_perm


def _scores_for_modality(estimator, X, y, scorer, cols, n_repeats, seed, weights):
    """Scores after ``n_repeats`` shuffles of one modality's columns."""
    rng = np.random.RandomState(seed)
    scores = []
    for _ in range(n_repeats):
        rows = rng.permutation(X.shape[0])
        scores.append(_score(scorer, estimator, _permuted(X, cols, rows), y, weights))
    return scores


def _score(scorer, estimator, X, y, sample_weight):
    if sample_weight is None:
        return scorer(estimator, X, y)
    return scorer(estimator, X, y, sample_weight=sample_weight)


def _bunch(baseline, permuted, names):
    """Importances = baseline minus permuted score, one row per modality."""
    importances = baseline - np.asarray(permuted, dtype=float)
    return Bunch(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances=importances,
        modalities=list(names),
        baseline_score=baseline,
    )


def modality_importance(
    estimator,
    X,
    y,
    modalities=None,
    n_repeats=5,
    scoring=None,
    random_state=None,
    *,
    sample_weight=None,
    n_jobs=None,
):
    """Permutation importance of each modality of a fitted model.

    For each modality, the rows of its column(s) are shuffled together (a
    block of numeric columns keeps each row intact within the block) while the
    other columns stay in place; the importance is the score on the original
    data minus the score on the shuffled data, over ``n_repeats`` shuffles.
    Use held-out data to measure what the model needs to generalise.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator (usually a Pipeline starting with a
        :class:`~sklearn_mbm.FusionTransformer`, or a
        :class:`~sklearn_mbm.LateFusionClassifier` or
        :class:`~sklearn_mbm.NeuralFusionClassifier`) that accepts ``X``.
    X : DataFrame or ndarray of shape (n_samples, n_columns)
        Data with one column per modality (or a block of columns); a 2-D
        object array works too.
    y : array-like of shape (n_samples,) or None
        Targets.
    modalities : dict of str to column(s), default=None
        Modality name -> a column name, an integer index, a list of them or a
        callable, as in a FusionTransformer spec. When None, the specs of the
        estimator's ``transformers`` or ``estimators`` parameter are used (the
        estimator itself, the ``best_estimator_`` of a search, or the first
        Pipeline step that has them).
    n_repeats : int, default=5
        Number of shuffles per modality.
    scoring : str, callable, list, tuple, dict or None, default=None
        Scorer as in :func:`sklearn.inspection.permutation_importance`; None
        uses the estimator's ``score``. Several metrics give a dict of results,
        one per metric.
    random_state : int, RandomState instance or None, default=None
        Seeds the shuffles; the same shuffles are used for every modality.
        Pass an int for reproducible results.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights used in scoring.
    n_jobs : int, default=None
        Modalities scored in parallel (joblib); None means 1.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch` or dict of them
        With attributes:

        importances_mean : ndarray of shape (n_modalities,)
            Mean score drop over the repeats.
        importances_std : ndarray of shape (n_modalities,)
            Standard deviation of the score drop over the repeats.
        importances : ndarray of shape (n_modalities, n_repeats)
            The score drops.
        modalities : list of str
            Modality names, in the order of the rows above.
        baseline_score : float
            Score on the unshuffled data.

    Raises
    ------
    ValueError
        If the modalities cannot be found or a column is not in ``X``.

    See Also
    --------
    sklearn.inspection.permutation_importance : The same, one column at a time.
    sklearn_mbm.FusionTransformer : Defines the modality columns.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn_mbm.inspection import modality_importance
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, 200)
    >>> X = np.c_[y + rng.normal(0, .3, 200), rng.normal(size=(200, 2))]
    >>> model = LogisticRegression().fit(X, y)
    >>> result = modality_importance(
    ...     model, X, y, modalities={"signal": 0, "noise": [1, 2]}, random_state=0
    ... )
    >>> result.modalities
    ['signal', 'noise']
    >>> bool(result.importances_mean[0] > result.importances_mean[1])
    True
    """
    if not isinstance(n_repeats, numbers.Integral) or isinstance(n_repeats, bool):
        raise TypeError(f"n_repeats must be an int; got {n_repeats!r}.")
    if n_repeats < 1:
        raise ValueError(f"n_repeats must be at least 1; got {n_repeats}.")
    check_is_fitted(estimator)

    if not _is_frame(X):
        if not isinstance(X, np.ndarray):
            X = np.asarray(X, dtype=object)
        if X.ndim != 2:
            raise ValueError(
                "X must be a DataFrame or a 2-D array with one column per "
                f"modality; got an array of shape {X.shape}."
            )

    if modalities is None:
        modalities = _find_modalities(estimator)
        if modalities is None:
            raise ValueError(
                f"Cannot find the modality columns of {type(estimator).__name__}: it "
                "has no `transformers` or `estimators` parameter of (name, "
                "estimator, column) triples, nor a Pipeline step that has one. "
                "Pass modalities={name: column(s)}."
            )
    elif not isinstance(modalities, dict):
        raise TypeError(
            "modalities must be a dict {name: column(s)} or None; got "
            f"{type(modalities).__name__}."
        )
    if not modalities:
        raise ValueError("modalities is empty; give at least one modality.")
    positions = _column_positions(X, modalities)

    if y is not None:
        y = np.asarray(y) if not hasattr(y, "iloc") else y
        if len(y) != X.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} samples but y has {len(y)}; they must match."
            )

    random_state = check_random_state(random_state)
    # one seed for all modalities: each is shuffled the same way, so that
    # their importances differ by the modality, not by the luck of the draw
    seed = random_state.randint(np.iinfo(np.int32).max + 1)

    scorer = check_scoring(estimator, scoring=scoring)
    baseline = _score(scorer, estimator, X, y, sample_weight)
    permuted = Parallel(n_jobs=n_jobs)(
        delayed(_scores_for_modality)(
            estimator, X, y, scorer, cols, n_repeats, seed, sample_weight
        )
        for cols in positions.values()
    )
    names = list(positions)
    if isinstance(baseline, dict):
        return {
            metric: _bunch(
                baseline[metric],
                [[scores[metric] for scores in rows] for rows in permuted],
                names,
            )
            for metric in baseline
        }
    return _bunch(baseline, permuted, names)
