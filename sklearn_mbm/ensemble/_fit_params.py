"""``sample_weight`` and metadata routing for estimators that fit one
estimator per modality (late fusion), whatever they predict.

As in :class:`~sklearn.ensemble.VotingClassifier` and
:class:`~sklearn.multioutput.MultiOutputClassifier`: without metadata
routing, ``sample_weight`` goes to every modality's estimator (a clear error
names a modality whose estimator cannot take it); with
``sklearn.set_config(enable_metadata_routing=True)``, each estimator gets the
metadata it requested (``set_fit_request``) through :func:`process_routing`.
A modality fitted on the rows where it is present gets those rows' values
(:func:`rows_of`).
"""

from sklearn.pipeline import Pipeline
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.validation import has_fit_parameter

from sklearn_mbm._compat import (
    _check_method_params,
    _raise_for_params,
    _routing_enabled,
)
from sklearn_mbm.fusion._composition import is_drop


def modality_router(owner, named_estimators):
    """The :class:`~sklearn.utils.metadata_routing.MetadataRouter` of
    ``owner``: its ``fit`` routes to each modality's ``fit``."""
    router = MetadataRouter(owner=owner)
    for name, estimator in named_estimators:
        if not is_drop(estimator):
            router.add(
                **{name: estimator},
                method_mapping=MethodMapping().add(caller="fit", callee="fit"),
            )
    return router


def weight_params(estimator, sample_weight, *, owner, role):
    """``fit`` keyword arguments giving ``sample_weight`` to ``estimator``.

    A :class:`~sklearn.pipeline.Pipeline` (which takes no ``sample_weight``
    of its own without routing) gets it for its final step, as
    ``"{step}__sample_weight"``.

    Raises
    ------
    TypeError
        If the estimator (or the Pipeline's final step) does not take
        ``sample_weight`` in ``fit``; the message names ``role``.
    """
    if sample_weight is None:
        return {}
    target, key = estimator, "sample_weight"
    if isinstance(estimator, Pipeline) and estimator.steps:
        step_name, target = estimator.steps[-1]
        key = f"{step_name}__sample_weight"
    if not is_drop(target) and has_fit_parameter(target, "sample_weight"):
        return {key: sample_weight}
    raise TypeError(
        f"{type(owner).__name__} was given sample_weight, but the estimator of "
        f"{role} ({type(target).__name__}) does not take sample_weight in fit. "
        "Use an estimator that supports it, or enable metadata routing "
        "(sklearn.set_config(enable_metadata_routing=True)) and request it "
        "only where it is supported with set_fit_request(sample_weight=...)."
    )


def route_fit_params(owner, named_estimators, sample_weight, fit_params):
    """The ``fit`` parameters of each active modality, on all rows.

    Parameters
    ----------
    owner : estimator
        The late-fusion estimator (its ``get_metadata_routing`` must come
        from :func:`modality_router`).
    named_estimators : list of (str, estimator)
        The active (not dropped) modalities.
    sample_weight : array-like of shape (n_samples,) or None
    fit_params : dict
        Other metadata; only allowed with metadata routing.

    Returns
    -------
    params : dict of str to dict
        Modality name mapped to the keyword arguments of its ``fit``.
    """
    if _routing_enabled():
        if sample_weight is not None:
            fit_params = {**fit_params, "sample_weight": sample_weight}
        routed = process_routing(owner, "fit", **fit_params)
        return {name: dict(routed[name].fit) for name, _ in named_estimators}
    _raise_for_params(fit_params, owner, "fit")
    return {
        name: weight_params(
            estimator, sample_weight, owner=owner, role=f"modality {name!r}"
        )
        for name, estimator in named_estimators
    }


def rows_of(params, X, rows):
    """``params`` restricted to ``rows`` of ``X`` (per-sample values such as
    ``sample_weight`` are indexed, other values are kept)."""
    return _check_method_params(X, params=params, indices=rows)
