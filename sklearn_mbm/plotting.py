"""Plots of fusion-weight searches.

:func:`plot_fusion_weights` shows how the cross-validated score of a
:class:`~sklearn.model_selection.GridSearchCV` (or a random or
successive-halving search) varies across the fusion weights it tried: a line
for one varying weight, a heatmap for two (a line against the share of one
when they do not fill a grid, as random draws), a ternary (simplex) plot for
three.

matplotlib is an optional dependency (the ``plot`` extra); it is imported only
when a function here is called.
"""

import numbers

import numpy as np

from sklearn_mbm._plot_robustness import plot_modality_robustness

__all__ = ["plot_fusion_weights", "plot_modality_robustness"]

_KINDS = ("auto", "line", "heatmap", "ternary")
_SQRT3_2 = np.sqrt(3.0) / 2.0


def _import_pyplot():
    """Import ``matplotlib.pyplot`` or explain how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            "Plotting needs matplotlib, which is not installed. Install it with "
            "`pip install sklearn-mbm[plot]` (or `pip install matplotlib`)."
        ) from exc
    return plt


# --------------------------------------------------------------------------
# Reading the search results
# --------------------------------------------------------------------------


def _is_weights_value(value):
    return isinstance(value, dict)


def _find_weights_param(results, param):
    """Return the ``param_*`` key of ``results`` that holds the weights."""
    if param is not None:
        key = param if param.startswith("param_") else f"param_{param}"
        if key not in results:
            available = [k[len("param_") :] for k in results if k.startswith("param_")]
            raise ValueError(
                f"param={param!r} is not a parameter of this search; its "
                f"parameters are {available!r}."
            )
        return key
    candidates = []
    for key, values in results.items():
        if not key.startswith("param_"):
            continue
        values = np.ma.asarray(values)
        present = values.compressed() if np.ma.is_masked(values) else values.ravel()
        if any(_is_weights_value(v) for v in present):
            candidates.append(key)
    if not candidates:
        available = [k[len("param_") :] for k in results if k.startswith("param_")]
        raise ValueError(
            "Found no fusion-weight parameter in this search: no parameter takes "
            f"dict values (parameters: {available!r}). Search over "
            "'<step>__weights' with dicts, e.g. from fusion_weight_grid, or name "
            "the parameter with param=."
        )
    if len(candidates) > 1:
        names = [k[len("param_") :] for k in candidates]
        raise ValueError(
            f"Several parameters take dict values: {names!r}; choose one with param=."
        )
    return candidates[0]


def _modality_names(search, param_key, weight_values):
    """Names of the weighted blocks, in transformer order when it is known."""
    names = []
    # the estimator's own transformer list gives the order and the names of
    # sequence weights; "fusion__weights" -> "fusion__transformers"
    estimator = getattr(search, "estimator", None)
    param_name = param_key[len("param_") :]
    prefix = param_name[: -len("weights")] if param_name.endswith("weights") else None
    if (
        estimator is not None
        and prefix is not None
        and hasattr(estimator, "get_params")
    ):
        params = estimator.get_params()
        for attr in ("transformers", "estimators"):
            specs = params.get(prefix + attr)
            if isinstance(specs, (list, tuple)) and all(
                isinstance(s, tuple) and s and isinstance(s[0], str) for s in specs
            ):
                names = [s[0] for s in specs]
                break
    for value in weight_values:
        if isinstance(value, dict):
            names.extend(k for k in value if k not in names)
    return names


def _weights_matrix(weight_values, names, param_name):
    """One row of weights per candidate; a missing name or ``None`` means 1."""
    rows = []
    for value in weight_values:
        if value is None:
            rows.append(np.ones(len(names)))
        elif isinstance(value, dict):
            rows.append([float(value.get(name, 1.0)) for name in names])
        elif isinstance(value, (list, tuple, np.ndarray)):
            value = np.asarray(value, dtype=float).ravel()
            if names and len(value) != len(names):
                raise ValueError(
                    f"{param_name}: a weight sequence has {len(value)} values but "
                    f"there are {len(names)} modalities ({names!r})."
                )
            rows.append(value)
        else:
            raise TypeError(
                f"{param_name}: cannot read weights from {value!r} of type "
                f"{type(value).__name__}; expected a dict, a sequence or None."
            )
    return np.asarray(rows, dtype=float)


def _score_key(results, score, search):
    """Accept ``"mean_test_score"``, ``"mean_test_f1"`` or just ``"f1"``."""
    if score in results:
        return score
    if f"mean_test_{score}" in results:
        return f"mean_test_{score}"
    refit = getattr(search, "refit", None)
    if score == "mean_test_score" and isinstance(refit, str):
        key = f"mean_test_{refit}"
        if key in results:
            return key
    available = sorted(
        k for k in results if k.startswith(("mean_test_", "mean_train_"))
    )
    raise ValueError(
        f"score={score!r} is not in the search results; available scores are "
        f"{available!r}."
    )


def _score_label(score_key, search):
    """Label for an axis: ``mean_test_score`` with accuracy -> ``mean CV accuracy``."""
    split = "train" if score_key.startswith("mean_train_") else "CV"
    metric = score_key.split("_", 2)[-1]
    if metric == "score":
        scoring = getattr(search, "scoring", None)
        metric = scoring if isinstance(scoring, str) else "score"
    return f"mean {split} {metric}".replace("_", " ")


def _last_rounds(results, rows):
    """Of ``rows``, those at the last round their candidate reached.

    A successive-halving search (``HalvingGridSearchCV``,
    ``HalvingRandomSearchCV``) lists a candidate once per round it reached,
    each score on that round's resources; a candidate is known by its
    ``params``.
    """
    rounds = np.asarray(results["iter"])
    params = results.get("params")
    if params is None:
        return rows
    last = {}
    for i in rows:
        key = repr(sorted(params[i].items()))
        if key not in last or rounds[i] >= rounds[last[key]]:
            last[key] = i
    return np.array(sorted(last.values()), dtype=int)


def _collect(search, param, score):
    """Read the search: a dict with ``names``, ``weights``, ``scores``,
    ``stds`` (one row per distinct weight vector), ``best`` (its index),
    ``label``, ``param_name``, ``reduced`` and ``rounds`` (None, or the
    halving round of each point and a note on it).

    Candidates with the same weights (differing in other parameters) are
    reduced to the best score among them. In a successive-halving search
    each candidate counts at the last round it reached, and the best is the
    best of the final round, as the search's ``best_score_``.
    """
    if hasattr(search, "cv_results_"):
        results = search.cv_results_
    elif isinstance(search, dict):
        results, search = search, None
    else:
        raise TypeError(
            "search must be a fitted GridSearchCV-like object (with cv_results_) "
            f"or its cv_results_ dict; got {type(search).__name__}."
        )
    param_key = _find_weights_param(results, param)
    param_name = param_key[len("param_") :]
    score_key = _score_key(results, score, search)
    values = np.ma.asarray(results[param_key])
    mask = np.ma.getmaskarray(values).ravel()
    scores_all = np.asarray(results[score_key], dtype=float)
    std_key = "std" + score_key[len("mean") :]
    stds_all = np.asarray(results.get(std_key, np.zeros_like(scores_all)), dtype=float)
    keep = np.flatnonzero(~mask & np.isfinite(scores_all))
    if keep.size == 0:
        raise ValueError(f"No candidate of the search has a finite {score_key!r}.")
    halving = "iter" in results
    if halving:
        keep = _last_rounds(results, keep)
    rounds_all = np.asarray(results["iter"]) if halving else np.zeros(len(mask), int)
    weight_values = [values.data.ravel()[i] for i in keep]
    names = _modality_names(search, param_key, weight_values)
    weights = _weights_matrix(weight_values, names, param_name)
    if not names:
        names = [f"weight {i}" for i in range(weights.shape[1])]
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise ValueError(f"{param_name}: weights must be finite and non-negative.")

    # best over other parameters for each distinct weight vector; in a
    # halving search a later round outranks any score of an earlier one
    best = {}
    for row, i in zip(weights, keep):
        key = tuple(row)
        rank = (rounds_all[i], scores_all[i])
        if key not in best or rank > best[key][0]:
            best[key] = (rank, stds_all[i])
    reduced = len(best) < len(keep)
    ranks = list(best.values())
    info = {
        "names": names,
        "weights": np.array(list(best), dtype=float),
        "scores": np.array([rank[1] for rank, _ in ranks]),
        "stds": np.array([sd for _, sd in ranks]),
        "best": max(range(len(ranks)), key=lambda k: ranks[k][0]),
        "label": _score_label(score_key, search),
        "param_name": param_name,
        # other parameters searched, or the same weights drawn again
        "reduced": reduced
        and (
            "best over the other searched parameters"
            if any(k.startswith("param_") and k != param_key for k in results)
            else "best of the candidates with these weights"
        ),
        "rounds": None,
    }
    if halving:
        point_rounds = np.array([rank[0] for rank, _ in ranks])
        last = int(point_rounds.max())
        resources = np.asarray(results["n_resources"])[np.asarray(rounds_all) == last]
        info["rounds"] = point_rounds
        info["round_note"] = (
            "each candidate at the last round it reached;\n"
            f"best of round {last} ({int(resources[0])} resources), as best_score_"
        )
    return info


def _format_weights(names, row):
    return ", ".join(f"{n}={w:.2g}" for n, w in zip(names, row))


# --------------------------------------------------------------------------
# The three kinds of plot
# --------------------------------------------------------------------------


def _plot_line(ax, names, weights, scores, stds, label, j, b):
    order = np.argsort(weights[:, j], kind="stable")
    x, y, sd = weights[order, j], scores[order], stds[order]
    ax.plot(x, y, marker="o", color="C0", label=label)
    if np.any(sd > 0):
        ax.fill_between(x, y - sd, y + sd, color="C0", alpha=0.2, label="± 1 std")
    ax.plot(
        weights[b, j],
        scores[b],
        marker="*",
        markersize=16,
        color="C3",
        linestyle="none",
        label=f"best: {names[j]}={weights[b, j]:.2g} ({scores[b]:.3f})",
    )
    ax.set_xlabel(f"weight of {names[j]}")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return None


def _plot_share(ax, names, weights, scores, stds, label, cols, b):
    """Score against the share ``w_j / (w_i + w_j)``, one line per total.

    Draws of :func:`~sklearn_mbm.fusion_weight_distribution` for two
    modalities all sum to 1 (or ``scale``): they lie on one line of the
    weight plane, which a heatmap would show as a sparse grid.
    """
    i, j = cols
    totals = weights[:, i] + weights[:, j]
    if np.any(totals <= 0):
        raise ValueError(
            f"A candidate gives {names[i]!r} and {names[j]!r} both weight 0: it "
            "has no share to plot; use kind='heatmap'."
        )
    shares = weights[:, j] / totals
    groups = np.unique(np.round(totals, 9))
    for k, total in enumerate(groups):
        rows = np.flatnonzero(np.isclose(totals, total, rtol=1e-9, atol=0))
        rows = rows[np.argsort(shares[rows], kind="stable")]
        x, y, sd = shares[rows], scores[rows], stds[rows]
        which = label if len(groups) == 1 else f"{names[i]} + {names[j]} = {total:.3g}"
        ax.plot(x, y, marker="o", color=f"C{k % 10}", label=which)
        if len(groups) == 1 and np.any(sd > 0):
            ax.fill_between(x, y - sd, y + sd, color="C0", alpha=0.2, label="± 1 std")
    ax.plot(
        shares[b],
        scores[b],
        marker="*",
        markersize=16,
        color="C3",
        linestyle="none",
        label=(
            f"best: {_format_weights([names[i], names[j]], weights[b, [i, j]])} "
            f"({scores[b]:.3f})"
        ),
    )
    ax.set_xlim(-0.03, 1.03)
    ax.set_xlabel(f"share of {names[j]}: w_{names[j]} / (w_{names[i]} + w_{names[j]})")
    ax.set_ylabel(label)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best")
    return None


def _plot_heatmap(ax, names, weights, scores, label, cols, cmap, annotate, b):
    i, j = cols
    xs = np.unique(weights[:, j])
    ys = np.unique(weights[:, i])
    grid = np.full((len(ys), len(xs)), np.nan)
    for row, s in zip(weights, scores):
        grid[np.searchsorted(ys, row[i]), np.searchsorted(xs, row[j])] = s
    masked = np.ma.masked_invalid(grid)
    finite = grid[np.isfinite(grid)]
    mesh = ax.imshow(
        masked,
        origin="lower",
        cmap=cmap,
        aspect="auto",
        vmin=finite.min(),
        vmax=finite.max(),
        interpolation="nearest",
    )
    # untried cells (e.g. the all-zero point fusion_weight_grid leaves out)
    ax.set_facecolor("0.9")
    ax.set_xticks(range(len(xs)), [f"{v:.2g}" for v in xs])
    ax.set_yticks(range(len(ys)), [f"{v:.2g}" for v in ys])
    ax.set_xlabel(f"weight of {names[j]}")
    ax.set_ylabel(f"weight of {names[i]}")
    # label untried cells only while they are the exception; the grey
    # background already marks them on a mostly empty grid
    label_untried = finite.size >= grid.size - finite.size
    if annotate:
        mid = (finite.min() + finite.max()) / 2
        for r in range(len(ys)):
            for c in range(len(xs)):
                if np.isfinite(grid[r, c]):
                    ax.text(
                        c,
                        r,
                        f"{grid[r, c]:.3f}",
                        ha="center",
                        va="center",
                        fontsize=9,
                        # dark text on the light end of the colour map
                        color="black" if grid[r, c] > mid else "white",
                    )
                elif label_untried:
                    ax.text(
                        c,
                        r,
                        "not tried",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="0.4",
                    )
    r = np.searchsorted(ys, weights[b, i])
    c = np.searchsorted(xs, weights[b, j])
    ax.add_patch(
        _rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="C3", linewidth=2.5)
    )
    ax.plot(
        [],
        [],
        color="C3",
        linewidth=2.5,
        label=f"best: {names[i]}={ys[r]:.2g}, {names[j]}={xs[c]:.2g}",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), frameon=False)
    cbar = ax.figure.colorbar(mesh, ax=ax)
    cbar.set_label(label)
    return mesh


def _rectangle(*args, **kwargs):
    from matplotlib.patches import Rectangle

    return Rectangle(*args, **kwargs)


def _to_cartesian(shares):
    """Barycentric ``(a, b, c)`` -> xy with a at (0, 0), b at (1, 0), c on top."""
    shares = np.atleast_2d(shares)
    x = shares[:, 1] + 0.5 * shares[:, 2]
    y = _SQRT3_2 * shares[:, 2]
    return x, y


def _plot_ternary(ax, names, weights, scores, label, cmap, annotate, rounds):
    totals = weights.sum(axis=1)
    keep = totals > 0
    shares = weights[keep] / totals[keep, None]
    ranks = list(zip(rounds[keep], scores[keep]))
    # points equal up to scale land on the same spot: keep the best of them
    # (in a halving search, the one of the latest round)
    best = {}
    for share, rank in zip(np.round(shares, 10), ranks):
        key = tuple(share)
        if key not in best or rank > best[key]:
            best[key] = rank
    shares = np.array(list(best))
    ranks = list(best.values())
    scores = np.array([score for _, score in ranks])

    corners = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, _SQRT3_2]])
    ax.fill(
        corners[:, 0],
        corners[:, 1],
        facecolor="0.97",
        edgecolor="black",
        linewidth=1.2,
        zorder=0,
    )
    # grid lines of constant share (0.25, 0.5, 0.75) for each modality
    for t in (0.25, 0.5, 0.75):
        for m in range(3):
            a, b = np.zeros(3), np.zeros(3)
            a[m], b[m] = t, t
            a[(m + 1) % 3], b[(m + 2) % 3] = 1 - t, 1 - t
            (xa, xb), (ya, yb) = _to_cartesian(np.vstack([a, b]))
            ax.plot([xa, xb], [ya, yb], color="0.85", linewidth=0.8, zorder=1)
    corner_labels = [(-0.06, 0.0, "right"), (1.06, 0.0, "left")]
    corner_labels.append((0.5, _SQRT3_2 + 0.06, "center"))
    for name, (x, y, ha) in zip(names, corner_labels):
        ax.text(x, y, name, ha=ha, va="center", fontsize=12, fontweight="bold")
    ax.text(
        0.0,
        _SQRT3_2,
        "position = weight shares w / sum(w)\ncorner = that modality alone\n"
        "centre = equal weights\ngrid lines every 0.25",
        ha="left",
        va="top",
        fontsize=8,
        color="0.35",
    )

    x, y = _to_cartesian(shares)
    points = ax.scatter(
        x, y, c=scores, cmap=cmap, s=140, edgecolors="black", linewidths=0.6, zorder=3
    )
    if annotate:
        for xi, yi, s in zip(x, y, scores):
            ax.annotate(
                f"{s:.3f}",
                (xi, yi),
                textcoords="offset points",
                xytext=(0, -14),
                ha="center",
                va="center",
                fontsize=7,
                zorder=4,
                bbox={
                    "facecolor": "white",
                    "edgecolor": "none",
                    "alpha": 0.7,
                    "pad": 0.3,
                },
            )
    b = max(range(len(ranks)), key=ranks.__getitem__)
    ax.scatter(
        x[b],
        y[b],
        marker="*",
        s=420,
        facecolors="none",
        edgecolors="C3",
        linewidths=2,
        zorder=5,
        label=f"best shares: {_format_weights(names, shares[b])} ({scores[b]:.3f})",
    )
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.02), frameon=False)
    ax.set_xlim(-0.2, 1.2)
    ax.set_ylim(-0.1, _SQRT3_2 + 0.1)
    ax.set_aspect("equal")
    ax.axis("off")
    cbar = ax.figure.colorbar(points, ax=ax, shrink=0.7)
    cbar.set_label(label)
    return points


# --------------------------------------------------------------------------
# Public function
# --------------------------------------------------------------------------


def plot_fusion_weights(
    search,
    *,
    ax=None,
    score="mean_test_score",
    param=None,
    kind="auto",
    cmap="viridis",
    annotate=True,
    title=None,
):
    """Plot the cross-validated score of a search across fusion weights.

    The kind of plot follows the number of weights that vary across the
    search: one gives a line (with ± one standard deviation of the folds), two
    a heatmap (one axis per weight, colour = score, cells annotated), three a
    ternary plot, where each weight vector is normalised to shares summing to
    1 and drawn in barycentric coordinates (each corner is one modality alone).
    The best candidate is marked in every kind.

    Two varying weights that do not fill a grid (fewer than half the cells
    of the heatmap tried, as the draws of
    :func:`~sklearn_mbm.fusion_weight_distribution` in a random search, which
    all sum to 1) give a line of the score against the share of the second
    weight, ``w_b / (w_a + w_b)``: one line per total ``w_a + w_b`` when the
    candidates have several (draws plus a grid of corners, say).

    When the search also tunes other parameters, each weight vector shows the
    best score over them. On the ternary plot, weight vectors equal up to
    scale share a point, which shows the best of them.

    In a successive-halving search (``HalvingGridSearchCV``,
    ``HalvingRandomSearchCV``) each candidate is drawn with its score at the
    last round it reached (on that round's resources), and the best marked
    is the best of the final round, the search's ``best_score_``; the title
    says so.

    Parameters
    ----------
    search : GridSearchCV, RandomizedSearchCV or dict
        A fitted search, or its ``cv_results_`` dict, over a parameter whose
        values are weight dicts ``{name: weight}`` (as given by
        :func:`~sklearn_mbm.fusion_weight_grid`), sequences or ``None``.
        A name left out of a dict, or ``None``, counts as weight 1.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure is made when None.
    score : str, default="mean_test_score"
        Key of ``cv_results_`` to plot, or a metric name of a multi-metric
        search (``"f1_macro"`` means ``"mean_test_f1_macro"``). With
        multi-metric scoring the default uses the ``refit`` metric.
    param : str, default=None
        The weights parameter, e.g. ``"fusion__weights"``; found
        automatically when exactly one parameter takes dict values.
    kind : {"auto", "line", "heatmap", "ternary"}, default="auto"
        ``"auto"`` picks from the number of varying weights (1, 2 or 3) and,
        for two, from how much of the grid they fill. ``"line"`` with two
        varying weights draws the score against the share of the second.
    cmap : str or Colormap, default="viridis"
        Colour map of the heatmap and the ternary plot.
    annotate : bool, default=True
        Write the score on each heatmap cell or ternary point.
    title : str, default=None
        Axes title; a descriptive one is made when None.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.

    Raises
    ------
    ImportError
        If matplotlib is not installed.
    ValueError
        If no weights parameter is found, the weights do not vary, or more
        than three weights vary.

    See Also
    --------
    sklearn_mbm.fusion_weight_grid : Build the weight grid to search.
    sklearn_mbm.FusionTransformer : The weighted fusion step.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from sklearn_mbm.plotting import plot_fusion_weights
    >>> results = {
    ...     "param_fusion__weights": [{"image": 1.0, "audio": w} for w in (0, .5, 1)],
    ...     "mean_test_score": [0.7, 0.8, 0.75],
    ...     "std_test_score": [0.02, 0.01, 0.03],
    ... }
    >>> ax = plot_fusion_weights(results)
    >>> ax.get_xlabel()
    'weight of audio'
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS!r}; got {kind!r}.")
    if not isinstance(annotate, (bool, np.bool_, numbers.Integral)):
        raise TypeError(f"annotate must be a bool; got {annotate!r}.")
    info = _collect(search, param, score)
    names, weights, scores, stds = (
        info["names"],
        info["weights"],
        info["scores"],
        info["stds"],
    )
    label, param_name, b = info["label"], info["param_name"], info["best"]
    varying = [j for j in range(weights.shape[1]) if np.ptp(weights[:, j]) > 0]
    if kind == "auto":
        if not varying:
            raise ValueError(
                f"{param_name}: every candidate has the same weights "
                f"({_format_weights(names, weights[0])}); nothing to plot."
            )
        if len(varying) > 3:
            raise ValueError(
                f"{param_name}: {len(varying)} weights vary "
                f"({[names[j] for j in varying]!r}); plot_fusion_weights draws at "
                "most three (line, heatmap, ternary). Fix all but three weights, "
                "or pass cv_results_ restricted to the candidates to show."
            )
        kind = ("line", "heatmap", "ternary")[len(varying) - 1]
        if kind == "heatmap" and _sparse_grid(weights[:, varying]):
            kind = "line"
    needed = {"line": 1, "heatmap": 2, "ternary": 3}[kind]
    if kind == "line" and len(varying) == 2:
        needed = 2  # the score against the share of the second weight
    if kind == "ternary":
        if len(names) != 3:
            raise ValueError(
                f"kind='ternary' needs exactly three modalities; {param_name} has "
                f"{len(names)} ({names!r})."
            )
        cols = [0, 1, 2]
    else:
        if len(varying) > needed:
            raise ValueError(
                f"kind={kind!r} shows {needed} varying weight(s) but "
                f"{len(varying)} vary: {[names[j] for j in varying]!r}."
            )
        # pad with fixed weights so that a constant one can still be an axis
        cols = varying + [j for j in range(len(names)) if j not in varying]
        cols = cols[:needed]
        if len(cols) < needed:
            raise ValueError(
                f"kind={kind!r} needs {needed} weights; {param_name} has {len(names)}."
            )

    plt = _import_pyplot()
    if ax is None:
        figsize = {"line": (6.4, 4.4), "heatmap": (6.4, 5.2), "ternary": (7.4, 6.0)}
        _, ax = plt.subplots(figsize=figsize[kind], layout="constrained")

    if kind == "line" and needed == 2:
        _plot_share(ax, names, weights, scores, stds, label, cols, b)
    elif kind == "line":
        _plot_line(ax, names, weights, scores, stds, label, cols[0], b)
    elif kind == "heatmap":
        _plot_heatmap(ax, names, weights, scores, label, cols, cmap, annotate, b)
    else:
        rounds = info["rounds"] if info["rounds"] is not None else np.zeros(len(scores))
        _plot_ternary(ax, names, weights, scores, label, cmap, annotate, rounds)

    if title is None:
        if kind == "line" and needed == 2:
            title = f"{label} against the share of {names[cols[1]]}"
        else:
            title = {
                "line": f"{label} against the weight of {names[cols[0]]}",
                "heatmap": f"{label} across fusion weights",
                "ternary": f"{label} across fusion weight shares",
            }[kind]
        if info["reduced"]:
            title += f"\n({info['reduced']})"
        if info["rounds"] is not None:
            title += f"\n({info['round_note']})"
    ax.set_title(title)
    return ax


def _sparse_grid(weights):
    """Whether two weight columns fill fewer than half the cells of their grid
    (a heatmap of them would be mostly "not tried")."""
    cells = len(np.unique(weights[:, 0])) * len(np.unique(weights[:, 1]))
    return len(weights) < 0.5 * cells
