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
import time
from numbers import Integral

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import TransformerMixin, clone
from sklearn.decomposition import PCA
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    check_memory,
)

from sklearn_mbm import _row_cache as row_cache
from sklearn_mbm._cache import callables_token, fingerprint
from sklearn_mbm._cache_layer import cached_call
from sklearn_mbm._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _fit_context,
    _VisualBlock,
)
from sklearn_mbm._composition import ModalityComposition, default_output
from sklearn_mbm._normalize import make_normalizer
from sklearn_mbm._routing import (
    describe_row,
    present_rows,
    resolve_column,
    select_column,
    take_rows,
)

# re-exported: users of FusionTransformer look for its weight search helpers here
from sklearn_mbm._weight_search import fusion_weight_distribution, fusion_weight_grid

__all__ = ["FusionTransformer", "fusion_weight_distribution", "fusion_weight_grid"]


# --------------------------------------------------------------------------
# Extraction steps, module level so that joblib.Memory can cache them.
# --------------------------------------------------------------------------


def _fit_transform_one(key, transformer, X, y, reuse_rows=False):
    """Fit ``transformer`` on one modality's column and return it with its output.

    Cached on ``key`` alone (a fingerprint of the transformer's parameters, ``X``
    and ``y``), so joblib.Memory never hashes the data itself. With
    ``reuse_rows`` (a cache location is set), an extractor whose rows depend on
    their own cells only takes the rows other folds computed
    (:mod:`sklearn_mbm._row_cache`)."""
    if reuse_rows and row_cache.rows_are_independent(transformer):
        transformer.fit(X, y)
        return transformer, row_cache.transform(transformer, X)
    if hasattr(transformer, "fit_transform"):
        Xt = transformer.fit_transform(X, y)
    else:  # pragma: no cover - every sklearn transformer has fit_transform
        Xt = transformer.fit(X, y).transform(X)
    return transformer, Xt


def _transform_one(key, transformer, X, reuse_rows=False):
    """Transform one modality's column; cached on ``key`` alone (a fingerprint
    of the fit's key and ``X``); ``reuse_rows`` as for
    :func:`_fit_transform_one`."""
    if reuse_rows:
        return row_cache.transform(transformer, X)
    return transformer.transform(X)


_IGNORED = ["transformer", "X", "y"]  # the cache key stands for these


def _as_float_block(Xt, name, n_rows):
    """Check an extractor's output: 2-D, one row per input row, float64 dense."""
    if sparse.issparse(Xt):
        Xt = Xt.toarray()
    Xt = np.asarray(Xt)
    if Xt.ndim != 2 or Xt.shape[0] != n_rows:
        raise ValueError(
            f"The transformer of modality {name!r} returned an array of shape "
            f"{Xt.shape}; expected 2-D with {n_rows} rows."
        )
    return Xt.astype(np.float64, copy=False)


class _Block:
    """Fitted state of one modality (private; the public view is the ``*_``
    attributes of FusionTransformer)."""

    def __init__(self, name, transformer, key, scalar):
        self.name = name
        self.transformer = transformer  # unfitted param, or "passthrough"
        self.key = key
        self.scalar = scalar
        self.fitted = None
        self.fit_key = None
        self.normalizer = None
        self.projection = None
        self.fill = None
        self.n_input_features = None


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
      ``fit``: the weighted sum ``Y = a*X_image + b*X_text + c*X_audio``
      whose modality weights are ``a, b, c``.

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
        "method": [StrOptions({"concat", "weighted_sum"})],
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

    # -- validation -----------------------------------------------------------

    def _check_specs(self, X, routes=None):
        """The modalities' ``_Block``; ``routes`` ({name: (key, scalar)}) are
        columns already resolved on ``X`` by the caller."""
        self._check_spec_names()
        blocks = []
        for name, transformer, column in self.transformers:
            if isinstance(transformer, str) and transformer == "drop":
                continue  # no columns, no block: its column is never read
            if isinstance(transformer, type):
                raise TypeError(
                    f"Modality {name!r}: expected a transformer instance, got the "
                    f"class {transformer.__name__}; write {transformer.__name__}()."
                )
            if transformer != "passthrough" and not (
                hasattr(transformer, "fit") and hasattr(transformer, "transform")
            ):
                raise TypeError(
                    f"Modality {name!r}: the transformer must implement fit and "
                    f"transform, or be 'passthrough' or 'drop'; got {transformer!r}."
                )
            if routes is None:
                key, scalar = resolve_column(X, column, name=name)
            else:
                key, scalar = routes[name]
            blocks.append(_Block(name, transformer, key, scalar))
        if not blocks:
            raise ValueError(
                "Every modality's transformer is 'drop'; keep at least one."
            )
        return blocks

    # -- extraction -----------------------------------------------------------

    #: The values of ``missing`` named by the missing-cell error (the
    #: neural estimators, which have no "mean", set their own on theirs).
    _missing_fills = ("zero", "mean")

    def _present_rows(self, block, column):
        """Missing-cell mask of a column, raising for missing='raise'."""
        return present_rows(
            column,
            key=block.key,
            name=block.name,
            missing=self.missing,
            fills=self._missing_fills,
        )

    def _extract(self, block, column, y, fit, memory):
        """Run one block's transformer on its present rows."""
        start = time.perf_counter()
        cached = memory.location is not None
        if block.transformer == "passthrough":
            if hasattr(column, "to_numpy"):  # faster than a per-column dtype check
                column = column.to_numpy()
            Xt = check_array(column, dtype=np.float64, input_name=block.name)
            fitted, fit_key = "passthrough", None
        elif fit:
            # an internal step: our blocks must not follow a global
            # set_config(transform_output=...), as in sklearn's meta-estimators
            unfitted = default_output(clone(block.transformer))
            fit_key = fingerprint(unfitted, column, y) if cached else None
            fitted, Xt = cached_call(
                memory,
                _fit_transform_one,
                _IGNORED,
                fit_key,
                unfitted,
                column,
                y,
                cached,
            )
        else:
            fitted, fit_key = block.fitted, block.fit_key
            key = None
            if cached:
                # The fitted transformer's identity: the key of a cached fit, or
                # (fitted without memory, or memory set after fit / on a loaded
                # model) a hash of its fitted state. The code of callable
                # parameters is hashed as it is now, since a loaded model calls
                # today's code.
                fitted_id = fit_key or joblib.hash(fitted)
                key = fingerprint(fitted_id + callables_token(fitted), column)
            Xt = cached_call(
                memory, _transform_one, _IGNORED[:2], key, fitted, column, cached
            )
        if self.verbose:
            elapsed = time.perf_counter() - start
            print(f"[FusionTransformer] {block.name}: {elapsed:.2f}s", flush=True)
        return fitted, fit_key, Xt

    def _extract_all(self, blocks, X, y, fit):
        """Select, check and extract every block; return (outputs, present)."""
        memory = check_memory(self.memory)
        columns, present = [], []
        for block in blocks:
            column = select_column(X, block.key)
            rows = self._present_rows(block, column)
            if not rows.any():
                raise ValueError(
                    f"Every row of modality {block.name!r} (column {block.key!r}) "
                    "is missing."
                )
            present.append(rows)
            columns.append(column if rows.all() else take_rows(column, rows))
        y_rows = [
            None if y is None or rows.all() else take_rows(np.asarray(y), rows)
            for rows in present
        ]
        jobs = [
            (block, column, y if yr is None else yr, fit, memory)
            for block, column, yr in zip(blocks, columns, y_rows)
        ]
        if self.n_jobs in (None, 1) or len(jobs) == 1:
            # A plain loop: inside a Dask task, a Parallel would submit nested
            # tasks even for n_jobs=1 (joblib's dask backend ignores it),
            # shipping each column to another worker and the features back.
            results = [self._extract(*job) for job in jobs]
        else:
            results = Parallel(n_jobs=self.n_jobs)(
                delayed(self._extract)(*job) for job in jobs
            )
        outputs = []
        for i, (block, (fitted, fit_key, Xt)) in enumerate(zip(blocks, results)):
            if fit:
                block.fitted, block.fit_key = fitted, fit_key
            Xt = _as_float_block(Xt, block.name, int(present[i].sum()))
            Xt, present[i] = self._drop_failed_rows(block, Xt, present[i], X)
            outputs.append(Xt)
        return outputs, present

    def _drop_failed_rows(self, block, Xt, rows, X):
        """Rows an extractor returned as all-NaN (``on_error="warn"``) are
        missing cells; any other non-finite value is an error."""
        finite = np.isfinite(Xt)
        failed = ~finite.any(axis=1) if Xt.shape[1] else np.zeros(len(Xt), bool)
        bad = ~finite.all(axis=1) & ~failed
        row_ids = np.flatnonzero(rows)
        if bad.any():
            raise ValueError(
                f"The transformer of modality {block.name!r} returned NaN or "
                f"infinite values for {describe_row(X, int(row_ids[np.argmax(bad)]))}."
            )
        if failed.any():
            if self.missing == "raise":
                raise ValueError(
                    f"The transformer of modality {block.name!r} could not process "
                    f"{describe_row(X, int(row_ids[np.argmax(failed)]))} (it "
                    "returned a row of "
                    "NaN). Set missing='zero' or 'mean' to treat such rows as "
                    "missing."
                )
            rows = rows.copy()
            rows[row_ids[failed]] = False
            Xt = Xt[~failed]
        return Xt, rows

    # -- normalisation, projection, fill -------------------------------------

    def _fit_block_maps(self, blocks, outputs, n_samples):
        n_components = self._n_components(outputs, n_samples)
        for block, Xt in zip(blocks, outputs):
            if len(Xt) == 0:
                raise ValueError(
                    f"Every row of modality {block.name!r} is missing or failed."
                )
            block.n_input_features = Xt.shape[1]
            normalizer = default_output(make_normalizer(self.normalize))
            block.normalizer = normalizer.fit(Xt)
            block.projection = None
            if self.method == "weighted_sum":
                Xn = block.normalizer.transform(Xt)
                pca = default_output(PCA(n_components, svd_solver="full"))
                block.projection = pca.fit(Xn)
            if self.missing == "mean":
                block.fill = self._map_block(block, Xt).mean(axis=0)
            else:
                block.fill = np.zeros(n_components or Xt.shape[1])

    def _n_components(self, outputs, n_samples):
        if self.method != "weighted_sum":
            return None
        widths = {name: X.shape[1] for name, X in zip(self._names, outputs)}
        n_rows = min(len(X) for X in outputs)
        if self.n_components is None:
            return max(1, min(min(widths.values()), n_rows))
        narrowest = min(widths, key=widths.get)
        if self.n_components > widths[narrowest]:
            raise ValueError(
                f"n_components={self.n_components} is larger than the "
                f"{widths[narrowest]} features of modality {narrowest!r}; use "
                f"n_components <= {widths[narrowest]} or None."
            )
        if self.n_components > n_rows:
            raise ValueError(
                f"n_components={self.n_components} is larger than the "
                f"{n_rows} training rows of the smallest modality."
            )
        return self.n_components

    @staticmethod
    def _map_block(block, Xt):
        if Xt.shape[1] != block.n_input_features:
            raise ValueError(
                f"Modality {block.name!r} gave {Xt.shape[1]} features at transform "
                f"but {block.n_input_features} at fit."
            )
        Xn = block.normalizer.transform(Xt)
        return block.projection.transform(Xn) if block.projection is not None else Xn

    def _ready_blocks(self, blocks, outputs, present, n_samples):
        """Map and fill every block to ``n_samples`` rows (weights not applied)."""
        ready = []
        for block, Xt, rows in zip(blocks, outputs, present):
            mapped = self._map_block(block, Xt)
            full = np.empty((n_samples, mapped.shape[1]))
            full[rows] = mapped
            full[~rows] = block.fill
            ready.append(full)
        return ready

    def _combine(self, ready, present):
        weights = np.array([self.weights_[name] for name in self._names])
        if self.method == "concat":
            return np.hstack([w * B for w, B in zip(weights, ready)])
        present = np.column_stack(present).astype(float)
        row_weights = np.broadcast_to(weights, present.shape).copy()
        if self.missing == "zero":
            # Present blocks share the total weight of the row's blocks.
            kept = (present * weights).sum(axis=1, keepdims=True)
            scale = np.divide(
                weights.sum(), kept, out=np.zeros_like(kept), where=kept > 0
            )
            row_weights = present * weights * scale
        return sum(row_weights[:, [m]] * B for m, B in enumerate(ready))

    # -- public API -------------------------------------------------------------

    def _fit_blocks(self, X, y):
        X = self._check_table(X, reset=True)
        return self._fit_checked(X, y)

    def _fit_checked(self, X, y, routes=None):
        """Fit on a checked table; return the ready blocks and presence.

        Also the private hook of the neural fusion estimators, which check
        ``X`` and resolve the columns (``routes``) themselves: the blocks are
        normalised and filled, weights not applied.
        """
        blocks = self._check_specs(X, routes)
        self._names = [block.name for block in blocks]
        self.weights_ = self._check_weights(self._names)
        outputs, present = self._extract_all(blocks, X, y, fit=True)
        self._fit_block_maps(blocks, outputs, X.shape[0])
        self._blocks = blocks
        fitted = {b.name: b.fitted for b in blocks}
        self.transformers_ = [
            (name, fitted.get(name, "drop"), column)
            for name, _, column in self.transformers
        ]
        self.normalizers_ = {b.name: b.normalizer for b in blocks}
        self.projections_ = {
            b.name: b.projection for b in blocks if b.projection is not None
        }
        self.fill_values_ = {b.name: b.fill for b in blocks}
        ready = self._ready_blocks(blocks, outputs, present, X.shape[0])
        self.output_slices_ = self._output_slices([B.shape[1] for B in ready])
        return ready, present

    def _output_slices(self, widths):
        if self.method == "weighted_sum":
            return {name: slice(0, widths[0]) for name in self._names}
        ends = np.cumsum(widths)
        return {
            name: slice(int(end - width), int(end))
            for name, width, end in zip(self._names, widths, ends)
        }

    def _transform_ready(self, X):
        check_is_fitted(self)
        keys = [block.key for block in self._blocks]
        X = self._check_table(X, reset=False, columns=keys)
        return self._transform_checked(X)

    def _transform_checked(self, X):
        """``_transform_ready`` on a checked table (the neural hook)."""
        outputs, present = self._extract_all(self._blocks, X, None, fit=False)
        return self._ready_blocks(self._blocks, outputs, present, X.shape[0]), present

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
        ready, present = self._fit_blocks(X, y)
        return self._combine(ready, present)

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
        ready, present = self._transform_ready(X)
        return self._combine(ready, present)

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
        if self.method == "weighted_sum":
            width = next(iter(self.output_slices_.values())).stop
            return np.asarray([f"fused__pc{i}" for i in range(width)], dtype=object)
        names = []
        for block in self._blocks:
            width = (
                self.output_slices_[block.name].stop
                - self.output_slices_[block.name].start
            )
            names.extend(
                f"{block.name}__{f}" for f in self._block_features(block, width)
            )
        return np.asarray(names, dtype=object)

    def _block_features(self, block, width):
        if block.fitted == "passthrough":
            keys = block.key if isinstance(block.key, list) else [block.key]
            if hasattr(self, "feature_names_in_") or isinstance(keys[0], str):
                if isinstance(keys[0], str):
                    return [str(k) for k in keys]
                return [str(self.feature_names_in_[k]) for k in keys]
            return [f"x{k}" for k in keys]
        if hasattr(block.fitted, "get_feature_names_out"):
            try:
                names = block.fitted.get_feature_names_out()
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
