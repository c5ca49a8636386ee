"""The per-block steps of early fusion: extract, normalise, project, fill.

:class:`ModalityBlocks` is the collaborator that FusionTransformer and the
neural estimators' frozen branches share: for each :class:`Modality` it
selects the column, finds its missing cells, runs the modality's extractor on
the present rows (through ``memory`` when one is set), turns the rows that
an extractor returned as all-NaN into missing ones, fits and applies the
block's normaliser (and a projection a fusion rule asks for), and fills the
missing rows. Weights are not its business: the fusion rule applies them.
"""

import time

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import clone
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_array, check_memory

from sklearn_mbm._caching import _row_cache as row_cache
from sklearn_mbm._caching._cache import callables_token, fingerprint
from sklearn_mbm._caching._cache_layer import cached_call
from sklearn_mbm.fusion._composition import ModalityComposition, default_output
from sklearn_mbm.fusion._normalize import make_normalizer
from sklearn_mbm.fusion._routing import describe_row, take_rows

__all__ = ["ModalityBlocks"]


# Extraction steps, module level so that joblib.Memory can cache them.


def _fit_transform_one(key, transformer, X, y, reuse_rows=False):
    """Fit ``transformer`` on one modality's column and return it with its output.

    Cached on ``key`` alone (a fingerprint of the transformer's parameters, ``X``
    and ``y``), so joblib.Memory never hashes the data itself. With
    ``reuse_rows`` (a cache location is set), an extractor whose rows depend on
    their own cells only takes the rows other folds computed
    (:mod:`sklearn_mbm._caching._row_cache`)."""
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


class _BlockState:
    """Fitted state of one modality's block."""

    def __init__(self, modality):
        self.modality = modality
        self.fitted = None  # fitted transformer, or "passthrough"
        self.fit_key = None
        self.normalizer = None
        self.projection = None
        self.fill = None
        self.n_input_features = None

    @property
    def name(self):
        return self.modality.name


class ModalityBlocks:
    """Extract, normalise, project and fill the blocks of some modalities.

    Parameters
    ----------
    modalities : list of Modality
        Validated by the owner's ``_validate_modalities``.
    normalize, missing, memory, n_jobs, verbose
        As in :class:`~sklearn_mbm.FusionTransformer` (the owner's values).
    fills : tuple of str
        The values of the owner's ``missing`` that fill a missing cell, for
        the error ``missing="raise"`` gives.
    owner : str
        The owner's class name, for messages.

    Attributes
    ----------
    states : list of _BlockState
        One per modality, in order, after :meth:`fit`.
    """

    def __init__(
        self,
        modalities,
        *,
        normalize,
        missing,
        memory=None,
        n_jobs=None,
        verbose=False,
        fills=("zero", "mean"),
        owner="FusionTransformer",
    ):
        self.states = [_BlockState(modality) for modality in modalities]
        self.normalize = normalize
        self.missing = missing
        self.memory = memory
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.fills = fills
        self.owner = owner

    # -- public steps --------------------------------------------------------

    def fit(self, selected, y, projections=None):
        """Fit every block; return ``(ready, present)``.

        ``selected`` holds each modality's ``(column, present)``, from the
        owner's ``_select_all(X, ..., fit=True)``.

        ``projections`` is a callable ``(outputs) -> list`` of unfitted
        projections (or Nones) that a fusion rule asks for, given each
        block's extracted rows. ``ready`` holds each block normalised,
        projected and filled to ``len(X)`` rows (weights not applied);
        ``present`` each block's present mask.
        """
        outputs, present = self._extract_all(selected, y, fit=True)
        for state, rows in zip(self.states, present):
            ModalityComposition._check_fittable(
                state.modality, rows, "missing or failed"
            )
        unfitted = projections(outputs) if projections else [None] * len(outputs)
        for state, Xt, projection in zip(self.states, outputs, unfitted):
            state.n_input_features = Xt.shape[1]
            state.normalizer = default_output(make_normalizer(self.normalize)).fit(Xt)
            state.projection = None
            if projection is not None:
                Xn = state.normalizer.transform(Xt)
                state.projection = default_output(projection).fit(Xn)
            mapped = self._map(state, Xt)
            if self.missing == "mean":
                state.fill = mapped.mean(axis=0)
            else:
                state.fill = np.zeros(mapped.shape[1])
        return self._ready(outputs, present), present

    def transform(self, selected, missing=None):
        """``(ready, present)`` of predict-time ``selected`` columns: any
        rows, down to one, including rows where a modality is missing
        everywhere.

        ``missing`` is the owner's current value (it may be set after fit);
        the fill values stay those of fit."""
        if missing is not None:
            self.missing = missing
        outputs, present = self._extract_all(selected, None, fit=False)
        return self._ready(outputs, present), present

    # -- extraction ------------------------------------------------------------

    def _extract(self, state, column, y, fit, memory):
        """Run one block's transformer on its present rows."""
        start = time.perf_counter()
        cached = memory.location is not None
        transformer = state.modality.estimator
        if isinstance(transformer, str) and transformer == "passthrough":
            if hasattr(column, "to_numpy"):  # faster than a per-column dtype check
                column = column.to_numpy()
            Xt = check_array(column, dtype=np.float64, input_name=state.name)
            fitted, fit_key = "passthrough", None
        elif fit:
            # an internal step: our blocks must not follow a global
            # set_config(transform_output=...), as in sklearn's meta-estimators
            unfitted = default_output(clone(transformer))
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
            fitted, fit_key = state.fitted, state.fit_key
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
            print(f"[{self.owner}] {state.name}: {elapsed:.2f}s", flush=True)
        return fitted, fit_key, Xt

    def _extract_all(self, selected, y, fit):
        """Extract every block on its present rows; return (outputs, present)."""
        memory = check_memory(self.memory)
        present = [rows for _, rows in selected]
        columns = [
            column if rows.all() else take_rows(column, rows)
            for column, rows in selected
        ]
        y_rows = [
            None if y is None or rows.all() else take_rows(np.asarray(y), rows)
            for rows in present
        ]
        jobs = []
        for state, column, yr, rows in zip(self.states, columns, y_rows, present):
            if not fit and not rows.any():
                jobs.append(None)  # nothing to extract: every row is filled
            else:
                jobs.append((state, column, y if yr is None else yr, fit, memory))
        todo = [job for job in jobs if job is not None]
        if self.n_jobs in (None, 1) or len(todo) == 1:
            # A plain loop: inside a Dask task, a Parallel would submit nested
            # tasks even for n_jobs=1 (joblib's dask backend ignores it),
            # shipping each column to another worker and the features back.
            done = iter([self._extract(*job) for job in todo])
        else:
            done = iter(
                Parallel(n_jobs=self.n_jobs)(
                    delayed(self._extract)(*job) for job in todo
                )
            )
        outputs = []
        for i, (state, job) in enumerate(zip(self.states, jobs)):
            if job is None:
                width = state.n_input_features
                outputs.append(np.empty((0, width)))
                continue
            fitted, fit_key, Xt = next(done)
            if fit:
                state.fitted, state.fit_key = fitted, fit_key
            Xt = _as_float_block(Xt, state.name, int(present[i].sum()))
            Xt, present[i] = self._drop_failed_rows(
                state, Xt, present[i], selected[i][0]
            )
            outputs.append(Xt)
        return outputs, present

    def _drop_failed_rows(self, state, Xt, rows, column):
        """Rows an extractor returned as all-NaN (``on_error="warn"``) are
        missing cells; any other non-finite value is an error (``column``,
        the whole column, names the row by its index label)."""
        finite = np.isfinite(Xt)
        failed = ~finite.any(axis=1) if Xt.shape[1] else np.zeros(len(Xt), bool)
        bad = ~finite.all(axis=1) & ~failed
        row_ids = np.flatnonzero(rows)
        if bad.any():
            row = describe_row(column, int(row_ids[np.argmax(bad)]))
            raise ValueError(
                f"The transformer of modality {state.name!r} returned NaN or "
                f"infinite values for {row}."
            )
        if failed.any():
            if self.missing == "raise":
                raise ValueError(
                    f"The transformer of modality {state.name!r} could not process "
                    f"{describe_row(column, int(row_ids[np.argmax(failed)]))} (it "
                    "returned a row of NaN). Set missing="
                    + " or ".join(repr(fill) for fill in self.fills)
                    + " to treat such rows as missing."
                )
            rows = rows.copy()
            rows[row_ids[failed]] = False
            Xt = Xt[~failed]
        return Xt, rows

    # -- normalisation, projection, fill ----------------------------------------

    @staticmethod
    def _map(state, Xt):
        if Xt.shape[1] != state.n_input_features:
            raise ValueError(
                f"Modality {state.name!r} gave {Xt.shape[1]} features at transform "
                f"but {state.n_input_features} at fit."
            )
        Xn = state.normalizer.transform(Xt)
        return state.projection.transform(Xn) if state.projection is not None else Xn

    def _ready(self, outputs, present):
        """Map and fill every block to all rows (weights not applied)."""
        ready = []
        for state, Xt, rows in zip(self.states, outputs, present):
            n_samples = len(rows)
            width = len(state.fill)
            full = np.empty((n_samples, width))
            if rows.any():
                full[rows] = self._map(state, Xt)
            full[~rows] = state.fill
            ready.append(full)
        return ready
