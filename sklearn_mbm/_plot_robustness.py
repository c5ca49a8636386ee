"""Plot of :func:`~sklearn_mbm.inspection.modality_robustness` results.

matplotlib is imported only when the function is called.
"""

import numpy as np

__all__ = ["plot_modality_robustness"]


def _check_result(result, label):
    needed = ("baseline_score", "modalities", "levels", "removed_scores")
    if not all(hasattr(result, key) for key in (*needed, "corrupted_scores")):
        raise TypeError(
            f"{label} is not a modality_robustness result (a Bunch with "
            f"{', '.join(needed)} and corrupted_scores); got "
            f"{type(result).__name__}."
        )


def plot_modality_robustness(results, *, axes=None, title=None):
    """Plot scores with each modality clean, corrupted and removed.

    One panel per modality: the x axis runs from the clean data (level 0,
    the baseline score) through the corruption levels to the modality
    removed, and each model is one line. A modality that was only removed
    (its kind unknown) shows the clean and removed points alone.

    Parameters
    ----------
    results : Bunch or dict of str to Bunch
        What :func:`~sklearn_mbm.inspection.modality_robustness` returned,
        or several such results by model name (e.g. ``{"early": ...,
        "late": ..., "neural": ...}``) to compare models; they must share
        their modalities and levels.
    axes : array-like of matplotlib Axes, default=None
        One Axes per modality; a new figure of one row of panels is made
        when None.
    title : str, default=None
        Figure title (``suptitle``); none when None.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        One per modality, in the results' order.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    TypeError
        If a result is not a ``modality_robustness`` result.
    ValueError
        If the results differ in modalities or levels, or ``axes`` has not
        one Axes per modality.

    See Also
    --------
    sklearn_mbm.inspection.modality_robustness : Compute the scores.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.utils import Bunch
    >>> from sklearn_mbm.plotting import plot_modality_robustness
    >>> result = Bunch(
    ...     baseline_score=0.9, modalities=["image", "audio"],
    ...     kinds=["image", "audio"], levels=np.array([0.1, 0.5]),
    ...     removed_scores=np.array([0.6, 0.8]),
    ...     corrupted_scores=np.array([[0.88, 0.7], [0.85, 0.82]]),
    ... )
    >>> axes = plot_modality_robustness({"late fusion": result})
    >>> len(axes)
    2
    """
    from sklearn_mbm.plotting import _import_pyplot

    if not isinstance(results, dict) or "baseline_score" in results:
        results = {None: results}  # one result (a Bunch is a dict too)
    if not results:
        raise ValueError("results is empty; give at least one result.")
    for label, result in results.items():
        _check_result(result, "results" if label is None else f"results[{label!r}]")
    first = next(iter(results.values()))
    names, levels = list(first.modalities), np.asarray(first.levels, dtype=float)
    for label, result in results.items():
        if list(result.modalities) != names or not np.array_equal(
            np.asarray(result.levels, dtype=float), levels
        ):
            raise ValueError(
                f"results[{label!r}] has modalities {list(result.modalities)} "
                f"and levels {list(result.levels)}; the first result has "
                f"{names} and {list(levels)}. Compare results computed alike."
            )

    plt = _import_pyplot()
    if axes is None:
        fig, axes = plt.subplots(
            1,
            len(names),
            figsize=(3.2 * len(names), 3.2),
            sharey=True,
            squeeze=False,
        )
        axes = axes[0]
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != len(names):
        raise ValueError(
            f"axes has {len(axes)} Axes; give one per modality ({len(names)})."
        )
    x_removed = len(levels) + 1
    ticks = ["clean", *(f"{level:g}" for level in levels), "removed"]
    for m, (ax, name) in enumerate(zip(axes, names)):
        for label, result in results.items():
            corrupted = np.asarray(result.corrupted_scores, dtype=float)[m]
            scores = [result.baseline_score, *corrupted]
            xs = np.arange(len(scores))
            keep = ~np.isnan(scores)
            (line,) = ax.plot(xs[keep], np.asarray(scores)[keep], "o-", label=label)
            ax.plot(
                [xs[keep][-1], x_removed],
                [np.asarray(scores)[keep][-1], result.removed_scores[m]],
                ":",
                color=line.get_color(),
            )
            ax.plot(x_removed, result.removed_scores[m], "s", color=line.get_color())
        kind = getattr(first, "kinds", [None] * len(names))[m]
        ax.set_title(name if kind is None else f"{name} ({kind})")
        ax.set_xticks(np.arange(len(ticks)), ticks)
        ax.set_xlabel("corruption level")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("score")
    if None not in results:
        axes[0].legend(loc="lower left", fontsize="small")
    if title is not None:
        axes[0].figure.suptitle(title)
    return axes
