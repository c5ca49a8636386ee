"""How does a fitted multimodal model hold up when a modality fails?

:func:`modality_robustness` scores a fitted estimator on held-out data as
given, then with each modality removed (its cells missing in every row) and
with each modality corrupted at a few noise levels: Gaussian noise on
pixels and on audio waveforms, word dropout on texts. Where
:func:`~sklearn_mbm.inspection.modality_importance` asks what the model
uses, this asks what happens when a sensor breaks or a recording is noisy.
"""

import numpy as np
from sklearn.metrics import check_scoring
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._io import (
    cell_error_message,
    is_missing,
    is_polars,
    load_audio_cell,
    load_image_cell,
)
from sklearn_mbm.fusion._routing import _is_frame, column_values, with_columns

__all__ = ["modality_robustness"]

KINDS = ("image", "audio", "text")
# what corrupting each kind of modality means, for the result's frame
PERTURBATIONS = {
    "image": "gaussian noise (sd, pixels in [0, 1])",
    "audio": "gaussian noise (rms, relative to the clip's)",
    "text": "word dropout (probability)",
}
_DEFAULT_AUDIO_SR = 16000


def _first_step(estimator):
    """The extractor at the head of nested Pipelines."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[0][1]
    return estimator


def _reader(owner, estimator):
    """What reads a modality's cells (its extractor, or for a neural branch
    slot the branch's reader), whose ``sr``, ``input_sr``, ``exif_transpose``
    the corruptions load cells with; None for the loaders' defaults."""
    if isinstance(estimator, str):
        from sklearn_mbm.neural._branches import BRANCHES

        branch = BRANCHES.get(estimator)
        return None if branch is None else branch.cell_reader(owner)
    return _first_step(estimator)


def _kind_of(estimator):
    """``"image"``, ``"audio"``, ``"text"`` for the package's extractors and
    the neural estimators' branch slots, else None."""
    from sklearn_mbm.audio import AudioFeatureExtractor
    from sklearn_mbm.image import ImageFeatureExtractor
    from sklearn_mbm.pretrained import AudioEmbedder, ImageEmbedder, TextEmbedder
    from sklearn_mbm.text import TextFeatureExtractor

    if isinstance(estimator, str):  # a neural branch's slot ("cnn", "rnn", ...)
        from sklearn_mbm.neural._branches import BRANCHES

        branch = BRANCHES.get(estimator)
        return None if branch is None else branch.kind
    extractor = _first_step(estimator)
    for kind, classes in (
        ("image", (ImageFeatureExtractor, ImageEmbedder)),
        ("audio", (AudioFeatureExtractor, AudioEmbedder)),
        ("text", (TextFeatureExtractor, TextEmbedder)),
    ):
        if isinstance(extractor, classes):
            return kind
    return None


def _noisy_image(cell, index, level, rng, extractor):
    image = load_image_cell(
        cell,
        index,
        mode=None,
        exif_transpose=getattr(extractor, "exif_transpose", True),
    )
    image = image / 255.0 + rng.normal(0.0, level, image.shape)
    # a float image in [0, 1] is what every image extractor reads as pixels
    return np.clip(image, 0.0, 1.0).astype(np.float32)


def _noisy_audio(cell, index, level, rng, extractor):
    sr = getattr(extractor, "sr", None) or _DEFAULT_AUDIO_SR
    waveform = load_audio_cell(cell, index, sr, getattr(extractor, "input_sr", None))
    rms = np.sqrt(np.mean(np.square(waveform)))
    return (waveform + rng.normal(0.0, level * rms, waveform.shape), sr)


def _word_dropout(cell, index, level, rng, extractor):
    if not isinstance(cell, str):
        raise TypeError(
            cell_error_message(
                index, cell, "a text cell must be a str to drop words from."
            )
        )
    words = cell.split()
    kept = rng.random(len(words)) >= level
    return " ".join(word for word, keep in zip(words, kept) if keep)


_CORRUPT = {"image": _noisy_image, "audio": _noisy_audio, "text": _word_dropout}


def _corrupted_cells(cells, kind, level, rng, extractor):
    """Each present cell corrupted (in sample order); missing cells stay."""
    out = np.empty(len(cells), dtype=object)
    for index, cell in enumerate(cells):
        out[index] = (
            cell
            if is_missing(cell)
            else _CORRUPT[kind](cell, index, level, rng, extractor)
        )
    return out


def _removed(X, positions):
    """``X`` with the columns at ``positions`` missing in every row."""
    n = X.shape[0]
    columns = {}
    for position in positions:
        dtype = column_values(X, position).dtype
        # a numeric column stays numeric (NaN); a column of cells gets None
        columns[position] = (
            np.full(n, np.nan)
            if dtype.kind in "fiub"
            else np.full(n, None, dtype=object)
        )
    return with_columns(X, columns)


def _check_levels(levels):
    levels = np.asarray(levels, dtype=float).ravel()
    if levels.size == 0 or not np.all(np.isfinite(levels)) or np.any(levels < 0):
        raise ValueError(
            f"levels must be a non-empty sequence of finite numbers >= 0; got "
            f"{levels.tolist()!r}."
        )
    return levels


def modality_robustness(
    estimator,
    X,
    y,
    *,
    modalities=None,
    kinds=None,
    levels=(0.1, 0.25, 0.5),
    scoring=None,
    random_state=None,
    sample_weight=None,
):
    """Scores of a fitted model with each modality removed or corrupted.

    For each modality the model is scored on ``X`` with that modality's
    cells missing in every row (as when a sensor is off: the model must
    handle missing cells, e.g. ``FusionTransformer(missing="zero")``,
    :class:`~sklearn_mbm.LateFusionClassifier` or
    :class:`~sklearn_mbm.NeuralFusionClassifier`), then with its present
    cells corrupted at each of ``levels``, the other modalities intact:

    - images: Gaussian noise of standard deviation ``level`` on the pixels
      scaled to [0, 1], clipped to [0, 1] (the cell becomes a float array);
    - audio: Gaussian noise of root-mean-square ``level`` times the clip's
      own (``level=0.1`` is a signal-to-noise ratio of 20 dB, 0.5 of 6 dB),
      on the waveform loaded at the extractor's ``sr`` (the cell becomes a
      ``(waveform, sr)`` tuple);
    - texts: each word (split on whitespace) dropped with probability
      ``level``.

    Parameters
    ----------
    estimator : estimator
        A fitted estimator of the package that accepts ``X``: a Pipeline
        starting with a :class:`~sklearn_mbm.FusionTransformer`, a
        :class:`~sklearn_mbm.LateFusionClassifier` or ``Regressor``, a
        :class:`~sklearn_mbm.NeuralFusionClassifier` or ``Regressor``, or a
        search over one of them.
    X : DataFrame or ndarray of shape (n_samples, n_columns)
        Held-out data, one column of cells per modality. A polars DataFrame
        is converted to pandas (the corrupted cells are Python objects).
    y : array-like of shape (n_samples,)
        Targets.
    modalities : dict of str to column, default=None
        Modality name -> its column (name or index; a list for a block of
        numeric columns, which is only removed). None takes the specs of
        the estimator's ``transformers`` or ``estimators`` parameter, as
        :func:`~sklearn_mbm.inspection.modality_importance` does; a
        ``"drop"`` modality is left out. Modalities that read a common
        column (word and character n-grams of one text) are removed and
        corrupted together, as one entry named ``"word+char"``.
    kinds : dict of str to {"image", "audio", "text"} or None, default=None
        What each modality holds, which decides how it is corrupted. Missing
        entries are found from the modality's extractor (the package's image,
        audio and text extractors and embedders, also at the head of a
        Pipeline); a modality whose kind is None is only removed, and its
        corrupted scores are NaN.
    levels : sequence of float, default=(0.1, 0.25, 0.5)
        Corruption levels (see above), each >= 0.
    scoring : str, callable or None, default=None
        One scorer, as in :func:`sklearn.metrics.check_scoring`; None uses
        the estimator's ``score``.
    random_state : int, RandomState instance or None, default=None
        Seeds the noise. The noise of modality ``m`` at level ``l`` is drawn
        from its own generator, so adding a level or a modality leaves the
        others' draws unchanged. Pass an int for reproducible results.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights used in scoring.

    Returns
    -------
    result : :class:`~sklearn.utils.Bunch`
        With attributes:

        baseline_score : float
            Score on ``X`` as given.
        modalities : list of str
            Modality names, in the order of the rows below.
        kinds : list of str or None
            Each modality's kind (None: not corrupted).
        levels : ndarray of shape (n_levels,)
            The corruption levels.
        removed_scores : ndarray of shape (n_modalities,)
            Score with each modality missing in every row.
        corrupted_scores : ndarray of shape (n_modalities, n_levels)
            Score with each modality corrupted at each level (NaN where the
            kind is None).
        frame : pandas.DataFrame
            The same in long form, one row per score: ``modality``, ``kind``,
            ``perturbation`` (``"none"``, ``"removed"`` or what the noise
            is), ``level`` (NaN for none and removed), ``score`` and
            ``drop`` (baseline minus score).

    Raises
    ------
    ValueError
        If the modalities cannot be found, a column is not in ``X``, a kind
        or a level is invalid; a cell that cannot be loaded raises the
        loader's error naming its sample.

    See Also
    --------
    sklearn_mbm.inspection.modality_importance : What the model relies on.
    sklearn_mbm.plotting.plot_modality_robustness : Plot the result.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn_mbm import LateFusionClassifier, TextFeatureExtractor
    >>> from sklearn_mbm.inspection import modality_robustness
    >>> words = np.array(["zero", "one"])
    >>> rng = np.random.RandomState(0)
    >>> y = rng.randint(0, 2, 40)
    >>> X = pd.DataFrame({
    ...     "said": [f"I said {w}" for w in words[y]],
    ...     "noise": [f"I heard {w}" for w in rng.choice(words, 40)],
    ... })
    >>> model = LateFusionClassifier([
    ...     (name, make_pipeline(TextFeatureExtractor(), LogisticRegression()),
    ...      name)
    ...     for name in ("said", "noise")
    ... ]).fit(X, y)
    >>> result = modality_robustness(model, X, y, random_state=0)
    >>> result.modalities, result.kinds
    (['said', 'noise'], ['text', 'text'])
    >>> result.corrupted_scores.shape
    (2, 3)
    >>> bool(result.removed_scores[0] < result.baseline_score)
    True
    """
    import pandas as pd

    from sklearn_mbm.inspection import (
        _column_positions,
        _find_composition,
        _shared_groups,
    )

    check_is_fitted(estimator)
    if is_polars(X):
        X = X.to_pandas()
    if not _is_frame(X):
        X = np.asarray(X, dtype=object) if not isinstance(X, np.ndarray) else X
        if X.ndim != 2:
            raise ValueError(
                "X must be a DataFrame or a 2-D array with one column per "
                f"modality; got an array of shape {X.shape}."
            )
    levels = _check_levels(levels)

    owner, specs = _find_composition(estimator)
    # a "drop" modality is not used by the model: nothing to remove
    extractors = {
        name: est
        for name, est, _ in specs or ()
        if not (isinstance(est, str) and est == "drop")
    }
    if modalities is None:
        if specs is None:
            raise ValueError(
                f"Cannot find the modality columns of {type(estimator).__name__}; "
                "pass modalities={name: column}."
            )
        modalities = {name: col for name, _, col in specs if name in extractors}
    elif not isinstance(modalities, dict) or not modalities:
        raise ValueError(
            "modalities must be a non-empty dict {name: column} or None; got "
            f"{modalities!r}."
        )
    kinds = dict(kinds or {})
    unknown = set(kinds) - set(modalities)
    if unknown:
        raise ValueError(
            f"kinds names {sorted(unknown)}, which are not modalities "
            f"{list(modalities)}."
        )
    for name in modalities:
        if name not in kinds:
            kinds[name] = _kind_of(extractors.get(name))
        elif kinds[name] is not None and kinds[name] not in KINDS:
            raise ValueError(
                f"kinds[{name!r}] must be one of {KINDS} or None; got {kinds[name]!r}."
            )
    positions = _column_positions(X, modalities)
    # Modalities that read a common column (word and character n-grams of
    # one text) break together: one entry "a+b", corrupted as their common
    # kind, if they have one.
    grouped = {}
    for names in _shared_groups(positions):
        group = "+".join(names)
        grouped[group] = np.unique(np.concatenate([positions[n] for n in names]))
        group_kinds = {kinds[n] for n in names}
        kinds[group] = group_kinds.pop() if len(group_kinds) == 1 else None
        extractors.setdefault(group, extractors.get(names[0]))
    positions = grouped
    for name, cols in positions.items():
        if kinds[name] is not None and len(cols) != 1:
            raise ValueError(
                f"Modality {name!r} is a block of {len(cols)} "
                f"columns; only a column of cells can be corrupted as "
                f"{kinds[name]!r}. Give it kinds[{name!r}]=None."
            )

    y = np.asarray(y) if not hasattr(y, "iloc") else y
    if len(y) != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} samples but y has {len(y)}; they must match."
        )
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    scorer = check_scoring(estimator, scoring=scoring)

    def score(data):
        if sample_weight is None:
            return float(scorer(estimator, data, y))
        return float(scorer(estimator, data, y, sample_weight=sample_weight))

    baseline = score(X)
    names = list(positions)
    removed = np.array([score(_removed(X, positions[name])) for name in names])
    corrupted = np.full((len(names), len(levels)), np.nan)
    for m, name in enumerate(names):
        if kinds[name] is None:
            continue
        position = int(positions[name][0])
        cells = column_values(X, position)
        for j, level in enumerate(levels):
            rng = np.random.default_rng([seed, m, j])
            noisy = _corrupted_cells(
                cells, kinds[name], level, rng, _reader(owner, extractors.get(name))
            )
            corrupted[m, j] = score(with_columns(X, {position: noisy}))

    rows = [("", None, "none", np.nan, baseline)]
    for m, name in enumerate(names):
        rows.append((name, kinds[name], "removed", np.nan, removed[m]))
        if kinds[name] is not None:
            rows.extend(
                (name, kinds[name], PERTURBATIONS[kinds[name]], level, corrupted[m, j])
                for j, level in enumerate(levels)
            )
    frame = pd.DataFrame(
        rows, columns=["modality", "kind", "perturbation", "level", "score"]
    )
    frame["drop"] = baseline - frame["score"]
    return Bunch(
        baseline_score=baseline,
        modalities=names,
        kinds=[kinds[name] for name in names],
        levels=levels,
        removed_scores=removed,
        corrupted_scores=corrupted,
        frame=frame,
    )
