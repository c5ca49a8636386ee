"""Which modality does a fitted multimodal model rely on?

:func:`modality_importance` is grouped permutation importance: it shuffles the
rows of one modality's column(s) at a time, breaking that modality's link with
the target while keeping the others intact, and measures the drop in score.
In a Pipeline around a ``concat`` FusionTransformer it shuffles the rows of
each modality's block of fused features instead, so that modalities reading
the same column get one importance each.
"""

import numbers
import warnings

import numpy as np
from joblib import Parallel, delayed
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._io import is_polars
from sklearn_mbm._robustness import modality_robustness
from sklearn_mbm.fusion._routing import (
    _is_frame,
    column_values,
    resolve_column,
    with_columns,
)

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


def _find_composition(estimator):
    """``(owner, specs)``: the step of ``estimator`` holding the modality specs.

    Looks at the estimator itself, then the ``best_estimator_`` of a fitted
    search, then the steps of a Pipeline (the first with column specs);
    ``(None, None)`` when none has them.
    """
    specs = _specs_of(estimator)
    if specs is not None:
        return estimator, specs
    if hasattr(estimator, "best_estimator_"):
        return _find_composition(estimator.best_estimator_)
    if hasattr(estimator, "steps"):
        for _, step in estimator.steps:
            specs = _specs_of(step)
            if specs is not None:
                return step, specs
    return None, None


def _unused_modalities(owner, specs):
    """``{name: reason}`` of the modalities the fitted ``owner`` does not use:
    a ``"drop"`` transformer or estimator, or a fitted weight of 0."""
    unused = {
        name: "drop" for name, est, _ in specs if isinstance(est, str) and est == "drop"
    }
    weights = getattr(owner, "weights_", None)
    if isinstance(weights, dict):
        for name, weight in weights.items():
            if name not in unused and weight == 0:
                unused[name] = "weight 0"
    return unused


def _fusion_seam(estimator, scoring):
    """``(head, rest, slices, scorer)`` to shuffle fused blocks, or None.

    For a fitted Pipeline (or a search's ``best_estimator_``) whose fusion
    step is a ``concat`` FusionTransformer followed by more steps: ``head``
    runs the Pipeline up to the fusion step, ``rest`` the steps after it,
    ``slices`` are the fusion's ``output_slices_`` and ``scorer`` scores
    ``rest`` on fused features as ``scoring`` scores ``estimator``.
    """
    from sklearn_mbm.fusion import FusionTransformer

    pipeline, scorer = estimator, None
    if hasattr(estimator, "best_estimator_") and not hasattr(estimator, "steps"):
        pipeline = estimator.best_estimator_
        if scoring is None:
            # the search's own scorer (what search.score uses)
            scorer = estimator.scorer_
            if isinstance(scorer, dict):
                scorer = scorer.get(estimator.refit)
            if not callable(scorer):
                return None
    steps = getattr(pipeline, "steps", None)
    if not steps:
        return None
    for i, (_, step) in enumerate(steps):
        if _specs_of(step) is not None:
            break
    else:
        return None
    if (
        not isinstance(step, FusionTransformer)
        or step.method != "concat"
        or i == len(steps) - 1
    ):
        return None
    rest = pipeline[i + 1 :]
    if scorer is None:
        scorer = check_scoring(rest if scoring is None else estimator, scoring=scoring)
    return pipeline[: i + 1], rest, step.output_slices_, scorer


def _shared_groups(positions):
    """Modalities grouped when they read a common column of ``X``.

    Returns a list of name lists, in the order of ``positions``; a group of
    one modality reads columns no other modality reads.
    """
    groups = []
    for name, cols in positions.items():
        cols = set(cols.tolist())
        touching = [g for g in groups if g[1] & cols]
        merged = ([name], cols)
        for group in touching:
            groups.remove(group)
            merged = (group[0] + merged[0], group[1] | merged[1])
        groups.append(merged)
    order = list(positions)
    return sorted(
        (sorted(names, key=order.index) for names, _ in groups),
        key=lambda names: order.index(names[0]),
    )


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
    return with_columns(X, {col: column_values(X, col)[rows] for col in cols})


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


def _bunch(baseline, permuted, names, unused):
    """Importances = baseline minus permuted score, one row per modality."""
    importances = baseline - np.asarray(permuted, dtype=float)
    return Bunch(
        importances_mean=importances.mean(axis=1),
        importances_std=importances.std(axis=1),
        importances=importances,
        modalities=list(names),
        baseline_score=baseline,
        unused=dict(unused),
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

    The importances are what the fitted model uses. When the modalities are
    found from the estimator (``modalities=None``):

    - A modality whose transformer or estimator is ``"drop"`` is left out
      (it has no features in the model); a modality with a fitted weight of
      0 (``weights_``) gets an importance of exactly 0, without shuffling.
      ``unused`` in the result says which and why.
    - In a Pipeline whose fusion step is a FusionTransformer with
      ``method="concat"``, the shuffles are done on the fused features: the
      data go once through the steps up to the fusion, then the rows of each
      modality's block (``output_slices_``) are shuffled and the steps after
      the fusion score them. Two modalities reading the same column (word
      and character n-grams of one ``text`` column) so get one importance
      each. Each block holds the modality's features as the fitted fusion
      made them for that row (with ``missing="zero"`` or ``"mean"``, the fill
      of a missing cell travels with its block).
    - Otherwise (given ``modalities``, ``method="weighted_sum"``, a
      LateFusionClassifier or NeuralFusionClassifier), input columns are
      shuffled; modalities that read a common column cannot be shuffled
      apart, so they are reported as one group named ``"a+b"``, with a
      warning.

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
        Pipeline step that has them). Given modalities are input columns,
        shuffled as given (no block-level shuffle, no weight check).
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
            Modality names (or ``"a+b"`` groups of modalities sharing a
            column), in the order of the rows above.
        baseline_score : float
            Score on the unshuffled data.
        unused : dict of str to str
            Modalities the model does not use, with the reason: ``"drop"``
            (left out of the rows above) or ``"weight 0"`` (importance 0).

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

    unused, seam = {}, None
    if modalities is None:
        owner, specs = _find_composition(estimator)
        if specs is None:
            raise ValueError(
                f"Cannot find the modality columns of {type(estimator).__name__}: it "
                "has no `transformers` or `estimators` parameter of (name, "
                "estimator, column) triples, nor a Pipeline step that has one. "
                "Pass modalities={name: column(s)}."
            )
        unused = _unused_modalities(owner, specs)
        modalities = {
            name: column for name, _, column in specs if unused.get(name) != "drop"
        }
        seam = _fusion_seam(estimator, scoring)
    elif not isinstance(modalities, dict):
        raise TypeError(
            "modalities must be a dict {name: column(s)} or None; got "
            f"{type(modalities).__name__}."
        )
    if not modalities:
        raise ValueError("modalities is empty; give at least one modality.")

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

    if seam is not None:
        # shuffle each modality's block of fused features (see the docstring)
        head, scored, slices, scorer = seam
        data = head.transform(X)
        positions = {
            name: np.arange(slices[name].start, slices[name].stop)
            for name in modalities
        }
    else:
        scored, data = estimator, X
        scorer = check_scoring(estimator, scoring=scoring)
        positions = _column_positions(X, modalities)
        used = {k: v for k, v in positions.items() if k not in unused}
        positions = _grouped(used, positions)

    baseline = _score(scorer, scored, data, y, sample_weight)
    shuffled = [name for name in positions if name not in unused]
    permuted = Parallel(n_jobs=n_jobs)(
        delayed(_scores_for_modality)(
            scored, data, y, scorer, positions[name], n_repeats, seed, sample_weight
        )
        for name in shuffled
    )
    # a modality with weight 0: the model ignores it, its importance is 0
    by_name = dict(zip(shuffled, permuted))
    permuted = [by_name.get(name, [baseline] * n_repeats) for name in positions]
    names = list(positions)
    if isinstance(baseline, dict):
        return {
            metric: _bunch(
                baseline[metric],
                [[scores[metric] for scores in rows] for rows in permuted],
                names,
                unused,
            )
            for metric in baseline
        }
    return _bunch(baseline, permuted, names, unused)


def _grouped(used, positions):
    """``positions`` with the used modalities that share a column merged into
    one ``"a+b"`` entry (warned); unused ones (weight 0) kept apart."""
    group_of = {}
    for names in _shared_groups(used):
        for name in names:
            group_of[name] = names
        if len(names) > 1:
            shared = sorted(
                set.intersection(*(set(used[n].tolist()) for n in names))
                or set.union(*(set(used[n].tolist()) for n in names))
            )
            warnings.warn(
                f"Modalities {names!r} read common input column(s) (positions "
                f"{shared}): shuffling one shuffles the others, so they are "
                f"reported together as {'+'.join(names)!r}. To measure each "
                "on its own, fuse them with FusionTransformer(method='concat') "
                "in a Pipeline: its blocks of fused features are shuffled "
                "apart.",
                UserWarning,
                stacklevel=3,
            )
    grouped = {}
    for name, cols in positions.items():
        names = group_of.get(name, [name])
        if names[0] == name:  # a group appears where its first modality is
            grouped["+".join(names)] = np.unique(
                np.concatenate([positions[n] for n in names])
            )
    return grouped
