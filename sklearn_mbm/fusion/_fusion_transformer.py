"""Early fusion: route each modality's column through its extractor, normalise
each block, and merge the blocks with weights that GridSearchCV can tune.

Two merges are offered (``N_m`` is the block's normaliser, ``P_m`` a projection
learned in ``fit``)::

    concat:        [w_1 * N_1(X_1), ..., w_k * N_k(X_k)]
    weighted_sum:  sum_m w_m * P_m(N_m(X_m))

The extractor of each modality can be cached with ``memory``: its fit and its
output are keyed on that modality's transformer parameters and column data only,
so a search over ``weights``, ``normalize`` or ``method`` never extracts twice.
"""

import os
from numbers import Integral

import numpy as np
from sklearn.base import TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _VisualBlock,
)
from sklearn_mbm.fusion._blocks import ModalityBlocks
from sklearn_mbm.fusion._composition import ModalityComposition
from sklearn_mbm.fusion._early_rules import EARLY_FUSION

# re-exported: users of FusionTransformer look for its weight search helpers here
from sklearn_mbm.fusion._weight_search import (
    fusion_weight_distribution,
    fusion_weight_grid,
)

__all__ = ["FusionTransformer", "fusion_weight_distribution", "fusion_weight_grid"]


class FusionTransformer(TransformerMixin, ModalityComposition):
    """Extract features per modality and fuse them with tunable weights.

    Each modality is a ``(name, transformer, column)`` triple, as in
    :class:`~sklearn.compose.ColumnTransformer`. Its column goes through the
    transformer (an extractor such as
    :class:`~sklearn_mbm.ImageFeatureExtractor`, or ``"passthrough"`` for a
    block that is already numeric), then through a per-block normaliser
    ``N_m``; the blocks are then merged:

    - ``method="concat"``: ``[w_1 * N_1(X_1), ..., w_k * N_k(X_k)]``;
    - ``method="weighted_sum"``: ``sum_m w_m * P_m(N_m(X_m))``, where ``P_m``
      is a PCA of block ``m`` to ``n_components`` dimensions learned in
      ``fit``: the weighted sum of the modalities, with the modality
      weights ``w_m``.

    Parameters
    ----------
    transformers : list of (str, transformer or "passthrough" or "drop", column) tuples
        ``column`` is a column name or integer index (the column's cells are
        passed on 1-D), a list of them (a 2-D block), or a callable such as
        :func:`~sklearn.compose.make_column_selector` returning those. Names
        must be unique and must not contain ``"__"``. ``"drop"`` leaves the
        modality out: no columns in the output, no entry in
        ``output_slices_``, and its column is not read. At least one modality
        must not be dropped.

        Columns given by name are found by name at transform time, as in
        ColumnTransformer: the columns may come in another order, with extra
        columns, and without the columns no modality uses (a grouping column
        such as ``speaker``, say); a column that is used must be present.

    method : {"concat", "weighted_sum"}, default="concat"
        How blocks are merged (see above).

    weights : dict, array-like of shape (n_modalities,) or None, default=None
        Weight of each block: ``{name: weight}`` (unnamed modalities get 1),
        a sequence in transformer order, or None for all 1. Weights must be
        finite and non-negative, and not all zero. A weight of 0 keeps the
        block's columns (as zeros) so that the output width does not depend on
        the weights; a transformer ``"drop"`` removes the modality and its
        columns (a search can try subsets of modalities with
        ``{"fusion__audio": ["drop", AudioFeatureExtractor()]}``).

    normalize : {"standard", "l2", "block"} or None, default="standard"
        Per-block normaliser ``N_m``: ``"standard"`` scales each feature to
        zero mean and unit variance; ``"l2"`` scales each row to unit norm;
        ``"block"`` centres the block and scales it to unit mean squared row
        norm, so that every block has the same energy whatever its width and a
        weight ``w_m`` sets the block's energy to ``w_m ** 2``; None leaves
        blocks as they are.

    n_components : int, default=None
        Output width of ``weighted_sum`` (ignored by ``concat``). None uses
        the width of the narrowest block (capped by the number of training
        rows).

    missing : {"raise", "zero", "mean"}, default="raise"
        What a missing cell (None or NaN; for a block of columns, a NaN in any
        of them; or a row of NaN returned by an extractor with
        ``on_error="warn"``) does. ``"raise"``: a ValueError naming the row
        and column. ``"zero"``: the row's block is zero after normalisation
        (with ``"standard"``, the training mean); for ``weighted_sum`` the
        weights of the present blocks are renormalised per row so they keep
        their total. ``"mean"``: the row's block is the mean of the block's
        training rows (an imputation; weights are not renormalised).
        Extractors are fit only on present cells.

    memory : str, os.PathLike or joblib.Memory, default=None
        Cache for each modality's fitted extractor and output, keyed on that
        modality's transformer parameters and column data (and ``y``). A
        search that changes only ``weights``, ``normalize``, ``method``,
        ``n_components`` or ``missing`` reuses extracted features. Within a
        process, the audio extractor and the image extractor on raw pixels
        also reuse the rows of in-memory cells (arrays) that an earlier fold
        extracted with the same fitted state, so a k-fold search extracts
        each such record once (see :ref:`caching`).

    n_jobs : int, default=None
        Number of modalities extracted in parallel with joblib (its active
        backend, e.g. Dask, applies). None and 1 extract them one after the
        other in this process: inside a search task on a Dask worker, that
        worker extracts its own modalities.

    verbose : bool, default=False
        Print the time taken by each modality.

    Attributes
    ----------
    transformers_ : list of (str, transformer or "passthrough", column)
        The fitted transformers.

    named_transformers_ : dict
        Fitted transformers by name.

    weights_ : dict
        Validated weight of each modality.

    output_slices_ : dict of slice
        Where each modality lands in the output. With ``weighted_sum`` every
        modality maps to the whole output.

    normalizers_ : dict
        Fitted normaliser of each block.

    projections_ : dict
        Fitted PCA of each block (``weighted_sum`` only; empty for concat).

    fill_values_ : dict of ndarray
        Row used for a missing cell of each block (``missing="mean"``/``"zero"``).

    n_features_in_ : int
        Number of columns of the input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of the input, when it is a DataFrame with string columns.

    See Also
    --------
    fusion_weight_grid : Weight dicts to search over with GridSearchCV.
    sklearn_mbm.LateFusionClassifier : Fusion of per-modality predictions.
    sklearn.compose.ColumnTransformer : Routing columns without fusion.

    Notes
    -----
    Block weights rescale features. Tree-based final estimators (random
    forests, gradient boosting) are invariant to scaling a feature, so a
    weight only matters to them when it is zero; tune weights with linear
    models, kernels, neighbours or neural networks.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm import FusionTransformer
    >>> X = np.arange(24, dtype=float).reshape(6, 4)
    >>> fusion = FusionTransformer(
    ...     [("a", "passthrough", [0, 1]), ("b", "passthrough", [2, 3])],
    ...     weights={"a": 1.0, "b": 0.5},
    ... )
    >>> fusion.fit_transform(X).shape
    (6, 4)
    >>> fusion.output_slices_
    {'a': slice(0, 2, None), 'b': slice(2, 4, None)}
    """

    _parameter_constraints = {
        **ModalityComposition._parameter_constraints,
        "transformers": [list],
        "method": [StrOptions(set(EARLY_FUSION))],
        "normalize": [StrOptions({"standard", "l2", "block"}), None],
        "n_components": [Interval(Integral, 1, None, closed="left"), None],
        "missing": [StrOptions({"raise", "zero", "mean"})],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
    }

    def __init__(
        self,
        transformers,
        *,
        method="concat",
        weights=None,
        normalize="standard",
        n_components=None,
        missing="raise",
        memory=None,
        n_jobs=None,
        verbose=False,
    ):
        self.transformers = transformers
        self.method = method
        self.weights = weights
        self.normalize = normalize
        self.n_components = n_components
        self.missing = missing
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose

    def _check_modality_estimator(self, name, estimator):
        if isinstance(estimator, str) and estimator == "passthrough":
            return
        if not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
            raise TypeError(
                f"Modality {name!r}: the transformer must implement fit and "
                f"transform, or be 'passthrough' or 'drop'; got {estimator!r}."
            )

    def _fit_blocks(self, X, y):
        """Check ``X``, fit every block; return the fused features."""
        X = self._check_table(X, reset=True)
        modalities = self._validate_modalities(X)
        self._names = [modality.name for modality in modalities]
        self.weights_ = self._check_weights(self._names)
        rule = EARLY_FUSION[self.method]
        blocks = ModalityBlocks(
            modalities,
            normalize=self.normalize,
            missing=self.missing,
            memory=self.memory,
            n_jobs=self.n_jobs,
            verbose=self.verbose,
        )
        ready, present = blocks.fit(
            self._select_all(X, self.missing, fit=True),
            y,
            projections=lambda outputs: rule.projections(self, outputs),
        )
        self._blocks = blocks
        states = blocks.states
        self.transformers_ = self._fitted_specs({b.name: b.fitted for b in states})
        self.normalizers_ = {b.name: b.normalizer for b in states}
        self.projections_ = {
            b.name: b.projection for b in states if b.projection is not None
        }
        self.fill_values_ = {b.name: b.fill for b in states}
        self.output_slices_ = rule.slices(self._names, [B.shape[1] for B in ready])
        return rule.combine(self, ready, present)

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Fit every modality's transformer, normaliser and projection.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records, one column per modality (plus any others).
        y : array-like of shape (n_samples,), default=None
            Targets, passed on to the transformers.

        Returns
        -------
        self : FusionTransformer
            The fitted transformer.
        """
        self._fit_blocks(X, y)
        return self

    @_fit_context(prefer_skip_nested_validation=False)
    def fit_transform(self, X, y=None):
        """Fit, then return the fused features (extracting each block once).

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records.
        y : array-like of shape (n_samples,), default=None
            Targets, passed on to the transformers.

        Returns
        -------
        X_fused : ndarray of shape (n_samples, n_features_out)
            Fused features.
        """
        return self._fit_blocks(X, y)

    def transform(self, X):
        """Extract, normalise and fuse the modalities of ``X``.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records with the columns seen in ``fit``.

        Returns
        -------
        X_fused : ndarray of shape (n_samples, n_features_out)
            Fused features.
        """
        check_is_fitted(self)
        X = self._check_predict_table(X)
        selected = self._select_all(X, self.missing)
        ready, present = self._blocks.transform(selected, self.missing)
        return EARLY_FUSION[self.method].combine(self, ready, present)

    @property
    def named_transformers_(self):
        """Fitted transformers by name (a dict)."""
        check_is_fitted(self)
        return {name: trans for name, trans, _ in self.transformers_}

    def get_feature_names_out(self, input_features=None):
        """Output feature names: ``"{name}__{feature}"``.

        With ``method="weighted_sum"`` the output dimensions are shared by all
        modalities and are named ``"fused__pc0"``, ``"fused__pc1"``, ...

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Ignored except for a consistency check against
            ``feature_names_in_``.

        Returns
        -------
        feature_names_out : ndarray of str objects
            Output feature names.
        """
        check_is_fitted(self)
        if input_features is not None and hasattr(self, "feature_names_in_"):
            if not np.array_equal(np.asarray(input_features), self.feature_names_in_):
                raise ValueError("input_features is not equal to feature_names_in_.")
        names = EARLY_FUSION[self.method].feature_names(
            self, self._block_features, self.output_slices_
        )
        return np.asarray(names, dtype=object)

    def _block_features(self, name, width):
        """A modality's own output names (``width`` of them)."""
        state = next(b for b in self._blocks.states if b.name == name)
        key = state.modality.key
        if state.fitted == "passthrough":
            keys = key if isinstance(key, list) else [key]
            if hasattr(self, "feature_names_in_") or isinstance(keys[0], str):
                if isinstance(keys[0], str):
                    return [str(k) for k in keys]
                return [str(self.feature_names_in_[k]) for k in keys]
            return [f"x{k}" for k in keys]
        if hasattr(state.fitted, "get_feature_names_out"):
            try:
                names = state.fitted.get_feature_names_out()
            except (AttributeError, ValueError, TypeError, NotImplementedError):
                names = None
            if names is not None and len(names) == width:
                return [str(n) for n in names]
        return [f"f{i}" for i in range(width)]

    def _sk_visual_block_(self):
        names, transformers, columns = zip(*self.transformers)
        details = [str(c) for c in columns]
        return _VisualBlock("parallel", transformers, names=names, name_details=details)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing != "raise"
        tags.input_tags.string = True
        tags.transformer_tags.preserves_dtype = ["float64"]
        return tags
