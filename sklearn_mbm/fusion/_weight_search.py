"""Candidates for searching fusion weights: a grid, or a distribution.

:func:`fusion_weight_grid` lists weight dicts for ``GridSearchCV``;
:func:`fusion_weight_distribution` draws them from a Dirichlet distribution
for ``RandomizedSearchCV`` and ``HalvingRandomSearchCV``. Both give dicts
``{name: weight}`` for a parameter such as ``"fusion__weights"`` of a
:class:`~sklearn_mbm.FusionTransformer` step (or ``"weights"`` of a
:class:`~sklearn_mbm.LateFusionClassifier`).
"""

from itertools import product
from numbers import Real

import numpy as np
from sklearn.utils import check_random_state

from sklearn_mbm.fusion._routing import check_unique_names

__all__ = ["fusion_weight_distribution", "fusion_weight_grid"]


def _check_names(names):
    """Modality names as a list: unique str, at least one."""
    names = list(names)
    check_unique_names(names, param="names")
    if not names:
        raise ValueError("names is empty: give at least one modality name.")
    return names


def fusion_weight_grid(
    names, values=(0.0, 0.5, 1.0), simplex=False, unique_up_to_scale=False
):
    """Weight dicts to search over, for ``param_grid={"fusion__weights": ...}``.

    Every combination of ``values`` over ``names``, without the all-zero
    point. Points that differ only in scale, such as (0.5, 0.5) and (1, 1),
    are distinct candidates: with a regularised final estimator (a
    ``LogisticRegression``, ``Ridge`` or ``SVC`` with its default ``C``) the
    scale of the fused features changes the fit, even after per-block
    normalisation. With the default ``values`` the grid contains the
    FusionTransformer's own default, every weight 1.

    Parameters
    ----------
    names : sequence of str
        Modality names, as in the FusionTransformer's ``transformers``.
    values : sequence of float, default=(0.0, 0.5, 1.0)
        Candidate values of each weight; finite and non-negative.
    simplex : bool, default=False
        If True, scale every point to sum to 1 (points on the simplex, e.g.
        for a ternary plot). Points equal up to scale then become the same
        point, which is listed once.
    unique_up_to_scale : bool, default=False
        If True, keep only the first point of each direction (drop (1, 1)
        when (0.5, 0.5) came first). Safe only when the final estimator's
        result does not change when all fused features are multiplied by one
        positive number: unpenalised linear models (``penalty=None``),
        nearest neighbours, tree ensembles, or a ``StandardScaler`` after the
        fusion step; or when the weights are normalised, as the ``"soft"``
        and ``"hard"`` votes of a LateFusionClassifier (its ``"stacking"``
        final estimator sees the scale). With a penalty (``C``, ``alpha``)
        or a fixed kernel ``gamma`` it is not safe.

    Returns
    -------
    grid : list of dict
        One ``{name: weight}`` dict per candidate, in the order of
        :func:`itertools.product` over ``values``; no dict appears twice.

    See Also
    --------
    fusion_weight_distribution : Random weights, for RandomizedSearchCV.

    Notes
    -----
    The grid grows as ``len(values) ** len(names) - 1``: 26 points for 3
    modalities and 3 values (19 with ``unique_up_to_scale=True``), 80 for
    4. Past 3 modalities, or for finer weights,
    :func:`fusion_weight_distribution` with a random search covers the
    simplex at a budget of your choice.

    Weights have no effect on tree-based final estimators (random forests,
    gradient boosting): scaling a feature does not change a split, so only
    the zero weights of a grid change what such a model sees.

    Examples
    --------
    >>> from sklearn_mbm import fusion_weight_grid
    >>> for weights in fusion_weight_grid(["image", "audio"], values=(0, 1)):
    ...     print(weights)
    {'image': 0.0, 'audio': 1.0}
    {'image': 1.0, 'audio': 0.0}
    {'image': 1.0, 'audio': 1.0}
    >>> len(fusion_weight_grid(["image", "audio", "text"]))
    26
    >>> len(fusion_weight_grid(["image", "audio", "text"], unique_up_to_scale=True))
    19
    """
    names = _check_names(names)
    values = [float(v) for v in values]
    if not values or any(not np.isfinite(v) or v < 0 for v in values):
        raise ValueError(f"values must be finite and >= 0, got {values}.")
    grid, seen = [], set()
    for point in product(values, repeat=len(names)):
        total = sum(point)
        if total == 0:
            continue
        direction = tuple(round(v / total, 12) for v in point)
        weights = direction if simplex else point
        key = direction if (simplex or unique_up_to_scale) else point
        if key in seen:
            continue
        seen.add(key)
        grid.append({name: float(w) for name, w in zip(names, weights)})
    return grid


class FusionWeightDistribution:
    """Dirichlet-distributed weight dicts; see :func:`fusion_weight_distribution`.

    Follows scipy's frozen-distribution protocol as scikit-learn's searches
    use it: ``rvs(random_state=...)`` returns one candidate.
    """

    def __init__(self, names, alpha, scale):
        self.names = names
        self.alpha = alpha
        self.scale = scale

    def rvs(self, size=None, random_state=None):
        """Draw weight dicts.

        Parameters
        ----------
        size : int, default=None
            None draws one dict; an int draws a list of that many.
        random_state : int, RandomState instance, Generator or None, \
                default=None
            The source of randomness; an int gives reproducible draws.
            RandomizedSearchCV passes its own ``RandomState``.

        Returns
        -------
        weights : dict of str to float, or list of dict
            ``{name: weight}``, the weights summing to 1 (or to ``scale``).
        """
        if not isinstance(random_state, np.random.Generator):
            random_state = check_random_state(random_state)
        n = 1 if size is None else size
        points = random_state.dirichlet(self.alpha, size=n)
        if self.scale is not None:
            points = points * self.scale
        draws = [
            {name: float(w) for name, w in zip(self.names, point)} for point in points
        ]
        return draws[0] if size is None else draws

    def mean(self):
        """The expected weights: ``alpha / alpha.sum()`` (times ``scale``)."""
        mean = np.asarray(self.alpha) / np.sum(self.alpha)
        if self.scale is not None:
            mean = mean * self.scale
        return {name: float(w) for name, w in zip(self.names, mean)}

    def __repr__(self):
        alpha = self.alpha
        if len(set(alpha)) == 1:
            alpha = alpha[0]
        return (
            f"fusion_weight_distribution({self.names!r}, alpha={alpha!r}, "
            f"scale={self.scale!r})"
        )


def _check_positive(value, what):
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{what} must be a real number, got {value!r}.")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{what} must be finite and > 0, got {value!r}.")
    return value


def fusion_weight_distribution(names, alpha=1.0, scale=None):
    """Random weight dicts, for ``RandomizedSearchCV`` over ``"fusion__weights"``.

    Each draw is a point of the simplex from a Dirichlet distribution: the
    weights are positive and sum to 1 (or to ``scale``). With ``alpha=1``
    every point of the simplex is equally likely; a larger ``alpha`` draws
    closer to equal weights, a smaller one closer to the corners (one
    modality dominating).

    Parameters
    ----------
    names : sequence of str
        Modality names, as in the FusionTransformer's ``transformers``.
    alpha : float, sequence of float or dict, default=1.0
        Concentration of the Dirichlet, finite and > 0: one value for all
        modalities, one per name (in ``names`` order), or a dict
        ``{name: alpha}`` naming every modality. The mean weight of modality
        ``m`` is ``alpha_m / sum(alpha)``.
    scale : float, default=None
        If given (finite, > 0), multiply every draw so its weights sum to
        ``scale`` instead of 1 (for a final estimator whose regularisation
        sees the absolute size of the fused features).

    Returns
    -------
    distribution : FusionWeightDistribution
        An object with ``rvs(size=None, random_state=None)`` (scipy's
        distribution protocol, which
        :class:`~sklearn.model_selection.RandomizedSearchCV` and
        :class:`~sklearn.model_selection.HalvingRandomSearchCV` call) and
        ``mean()``; each draw is a dict ``{name: weight}``.

    See Also
    --------
    fusion_weight_grid : A grid of weight dicts, for GridSearchCV.

    Notes
    -----
    A Dirichlet draw is never exactly 0, so a random search does not switch a
    modality off. To let it, search a list of two spaces (scikit-learn draws
    from one at random each time)::

        [{"fusion__weights": fusion_weight_distribution(names)},
         {"fusion__weights": fusion_weight_grid(names, values=(0, 1))}]

    Every draw has the same total (1, or ``scale``): a search over the
    simplex tries the ratios between weights at one scale. With a
    regularised final estimator the scale matters too; search ``scale``
    itself (e.g. run one search per ``scale``) or add a grid point such as
    all weights 1. A grid's size is ``len(values) ** len(names)``; a random
    search's budget (``n_iter``) is free, which suits 3 modalities or more
    (see the user guide's comparison).

    Examples
    --------
    >>> from sklearn_mbm import fusion_weight_distribution
    >>> weights = fusion_weight_distribution(["image", "audio", "text"])
    >>> weights
    fusion_weight_distribution(['image', 'audio', 'text'], alpha=1.0, scale=None)
    >>> draw = weights.rvs(random_state=0)
    >>> sorted(draw)
    ['audio', 'image', 'text']
    >>> round(sum(draw.values()), 6)
    1.0
    >>> fusion_weight_distribution(["image", "audio"], alpha=[3, 1]).mean()
    {'image': 0.75, 'audio': 0.25}

    In a search, ``RandomizedSearchCV(model, {"fusion__weights": weights},
    n_iter=20, random_state=0)`` tries 20 draws.
    """
    names = _check_names(names)
    if isinstance(alpha, dict):
        missing = [name for name in names if name not in alpha]
        unknown = [name for name in alpha if name not in names]
        if missing or unknown:
            raise ValueError(
                f"alpha as a dict must name every modality of names={names} "
                f"and no other; missing {missing}, unknown {unknown}."
            )
        alpha = [alpha[name] for name in names]
    if isinstance(alpha, (str, bytes)):
        raise TypeError(f"alpha must be a float or a sequence, got {alpha!r}.")
    if np.ndim(alpha) == 0:
        alpha = [_check_positive(alpha, "alpha")] * len(names)
    else:
        alpha = list(alpha)
        if len(alpha) != len(names):
            raise ValueError(
                f"alpha has {len(alpha)} values for {len(names)} names "
                f"{names}: give one per name, or a single float."
            )
        alpha = [
            _check_positive(a, f"alpha[{i}] ({names[i]!r})")
            for i, a in enumerate(alpha)
        ]
    if scale is not None:
        scale = _check_positive(scale, "scale")
    return FusionWeightDistribution(names, alpha, scale)
