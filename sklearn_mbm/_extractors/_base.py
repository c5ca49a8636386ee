"""The base every feature extractor shares: cells, ``on_error``, the batch loop.

:class:`_BaseExtractor` is shaped as imbalanced-learn's base sampler: the
public ``fit``, ``fit_transform`` and ``transform`` validate (parameters,
input cells, fitted state) and a subclass writes only the private steps.
The base also owns

- the bad-cell rule, one wording and one warning location for every
  modality: with ``on_error="raise"`` the loader's error is raised; with
  ``"warn"`` a :class:`~sklearn_mbm.exceptions.CellLoadWarning` that points
  at the user's line and the sample gets a row of NaN;
- the batch loop (:meth:`_BaseExtractor._transform`): cells load in
  ``n_jobs`` threads one batch ahead of the batch being computed, bad cells
  raise or warn in sample order, their rows are NaN, and a progress bar runs
  when ``verbose``. A modality says how one cell loads (``_load_cell``) and
  how a batch of loaded cells becomes rows (``_run_batch``); see
  :class:`_BaseExtractor` for the optional hooks.

Shared parameter docs are substituted into the subclasses' docstrings by
:func:`substitute` (``{on_error}``, ``{verbose}``).
"""

import os
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

import sklearn_mbm
from sklearn_mbm._compat import StrOptions, _fit_context
from sklearn_mbm._docstrings import substitute_docs
from sklearn_mbm._io import (
    ON_ERROR_OPTIONS,
    as_cells,
    is_missing,
    missing_cell_error,
    sample_index,
    thread_count,
)
from sklearn_mbm.exceptions import CellLoadWarning

__all__ = ["CELL_ERRORS", "numbered_names", "substitute", "try_load"]

# What a cell loader raises for a bad cell; anything else is a bug and raises.
CELL_ERRORS = (ValueError, TypeError, FileNotFoundError)

# Frames in these folders are the package's or its machinery's (Pipeline,
# GridSearchCV, joblib.Memory), never the user's line a warning should show.
_INTERNAL_DIRS = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (sklearn_mbm.__file__, sklearn.__file__, joblib.__file__)
)

_SHARED_DOCS = {
    "on_error": """on_error : {"raise", "warn"}, default="raise"
        What to do with a bad cell (missing, unreadable or invalid):
        ``"raise"`` an error (``ValueError``, ``TypeError`` or
        ``FileNotFoundError``) naming the sample index, and the path for a
        file, or ``"warn"`` with a
        :class:`~sklearn_mbm.exceptions.CellLoadWarning` and give that
        sample a row of NaN (so that :class:`~sklearn_mbm.FusionTransformer`'s
        ``missing`` policy, or an imputer, can handle it).""",
    "verbose": """verbose : bool, default=False
        Show a progress bar (tqdm) during ``transform``.""",
}


def substitute(*names):
    """Class decorator: put the shared parameter docs ``names`` into ``__doc__``.

    Only the placeholders ``{name}`` of the given names are replaced, so the
    rest of the docstring keeps its braces (``{"raise", "warn"}``) as written.
    """

    return substitute_docs(**{name: _SHARED_DOCS[name] for name in names})


def try_load(load, *args):
    """``(load(*args), None)``, or ``(None, error)`` if it raises a cell error.

    Lets cells load in worker threads while the bad-cell rule runs in the
    calling thread, in sample order.
    """
    try:
        return load(*args), None
    except CELL_ERRORS as exc:
        return None, exc


def _user_stacklevel():
    """The ``stacklevel`` of the first frame outside the package and scikit-learn.

    Counted for a ``warnings.warn`` called by this function's caller, so the
    warning names the user's line whatever the path in between (``transform``,
    ``fit_transform``, the set_output wrapper, a Pipeline, a search).
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(
        _INTERNAL_DIRS
    ):
        frame = frame.f_back
        level += 1
    return level


class _BaseExtractor(TransformerMixin, BaseEstimator):
    """What ImageFeatureExtractor, TextFeatureExtractor, AudioFeatureExtractor
    and the pretrained embedders share.

    Subclasses extend ``_parameter_constraints`` and edit the tags
    (``super()`` first). The base's :meth:`_transform` is the batch loop, so
    a modality whose cells load one by one and compute in batches writes two
    hooks:

    - ``_load_cell(cell, index)``: one cell, loaded (runs in a thread);
    - ``_run_batch(context, inputs)``: the rows of a batch of loaded cells.

    and the parameters the loop reads: ``batch_size`` (cells per batch),
    ``n_jobs`` (loading threads), ``verbose`` (progress bar) and
    ``on_error``. The default :meth:`_fit` learns nothing but the output
    width (from the first cell that loads) and the default feature names are
    ``"{class name in lower case}{i}"``, as scikit-learn's
    ``ClassNamePrefixFeaturesOutMixin``. Optional hooks:
    ``_prepare_batch(context, values)`` (turn a batch of loaded cells into
    the batch function's inputs, in a thread, one batch ahead),
    ``_batch_context()`` (what every batch of one ``transform`` shares: the
    loaded network, filters), ``_cells_per_batch()`` and ``_unit`` (the
    progress bar's unit).

    A subclass whose features need all cells at once (TextFeatureExtractor's
    vectorizer) writes ``_transform(cells)`` itself, calling
    :meth:`_bad_cell` for each bad cell. Any subclass may write
    ``_fit(cells)`` (set the fitted attributes, ``n_features_out_`` among
    them), ``_fit_transform(cells)`` to compute the features once,
    ``_feature_names()``, and ``_output(features, X)`` to wrap the features.
    """

    _unit = "cell"  # the progress bar's unit

    _parameter_constraints: dict = {
        "on_error": [StrOptions(set(ON_ERROR_OPTIONS))],
    }

    # False where a parameter is a user object that may hold estimators
    # (TextFeatureExtractor's callable method): their validation then runs.
    _prefer_skip_nested_validation = True

    def fit(self, X, y=None):
        """Check the parameters and the cells, then fit.

        Parameters
        ----------
        X : sequence of cells
            A list, pandas or polars Series, one-column DataFrame or 1-D
            object array of cells (see the class docstring).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted extractor.
        """
        self._validated(self._fit, X)
        return self

    def fit_transform(self, X, y=None):
        """Fit to the cells, then return their features (reading ``X`` once).

        Parameters
        ----------
        X : sequence of cells
            As for :meth:`fit`; a generator works too (it is read once).
        y : None
            Ignored.

        Returns
        -------
        features : ndarray or sparse matrix of shape (n_samples, n_features_out)
            As :meth:`transform` returns.
        """
        return self._output(self._validated(self._fit_transform, X), X)

    def transform(self, X):
        """Return one row of features per cell.

        Parameters
        ----------
        X : sequence of cells
            As for :meth:`fit`.

        Returns
        -------
        features : ndarray or sparse matrix of shape (n_samples, n_features_out)
            One row per cell, in input order; a row of NaN for each bad cell
            when ``on_error="warn"``.
        """
        check_is_fitted(self)
        return self._output(self._transform(self._as_cells(X)), X)

    def _validated(self, step, X):
        """``step(cells)`` after the parameter and input checks."""

        @_fit_context(prefer_skip_nested_validation=self._prefer_skip_nested_validation)
        def run(estimator, X):
            return step(estimator._as_cells(X))

        return run(self, X)

    def _as_cells(self, X):
        return as_cells(X, estimator_name=type(self).__name__)

    def _fit_transform(self, cells):
        self._fit(cells)
        return self._transform(cells)

    def _output(self, features, X):
        """The features as returned; the set_output wrapper does the rest."""
        return features

    def _bad_cell(self, cell, index, error):
        """The bad-cell rule: raise ``error``, or warn that the row is NaN.

        Called in the calling thread, in sample order; the caller fills the
        sample's row with NaN when this returns.
        """
        if self.on_error == "raise":
            raise error
        message = (
            f"sample {index} is missing (None or NaN)."
            if is_missing(cell)
            else str(error)
        )
        warnings.warn(
            f"{message} Its row of features is NaN.",
            CellLoadWarning,
            stacklevel=_user_stacklevel(),
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, formed as the class docstring says.

        Parameters
        ----------
        input_features : None
            Ignored (a column of cells has no input feature names).

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_features_out_`` names.
        """
        check_is_fitted(self)
        return np.asarray(self._feature_names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # a column of cells, not a 2-D array of features
        tags.input_tags.two_d_array = False
        return tags

    def _rows_are_independent(self):
        """Whether each row of features is a function of its own cell and of
        the parameters and fitted state alone, bit for bit, whatever the other
        cells of the call (their number, order and sizes). Where it holds, a
        cached FusionTransformer reuses rows across the folds of a search
        (:mod:`sklearn_mbm._caching._row_cache`); say True only where a test proves it.
        """
        return False

    def _network_branch(self):
        """The trainable branch this extractor offers the neural fusion
        estimators, or None (the default: its output is a frozen block).

        An extractor that can be trained end to end returns a
        ``sklearn_mbm.neural._branches._Branch`` subclass (see its
        docstring); ImageFeatureExtractor with a Keras backbone returns its
        fine-tuning branch.
        """
        return None

    def _feature_names(self):
        """The fitted extractor's output names, a list or array of str.

        By default ``"{class name in lower case}{i}"``, as scikit-learn's
        ``ClassNamePrefixFeaturesOutMixin`` names features without a meaning.
        """
        return numbered_names(type(self).__name__.lower(), self.n_features_out_)

    # ----------------------------------------------------------------------
    # the batch loop and its hooks
    # ----------------------------------------------------------------------

    def _fit(self, cells):
        """Fix ``n_features_out_``: the width of the first good cell's row.

        The default for an extractor that learns nothing from the data: the
        first cell that loads runs through :meth:`_embed_batch` as a batch of
        one (so :meth:`_batch_context` must not need fitted state). Write
        ``_fit`` where fitting learns something, or knows the width without
        reading a cell.
        """
        value = self._first_loaded(cells, self._load_cell, "fix its output width")
        row = self._checked_rows(self._embed_batch(self._batch_context(), [value]), 1)
        self.n_features_out_ = int(row.shape[1])

    def _first_loaded(self, cells, load, purpose):
        """``load(cell, index)`` of the first cell that loads, for ``fit``.

        Missing cells are skipped (``transform`` reports them); another bad
        cell raises with ``on_error="raise"`` and is skipped with ``"warn"``
        (``transform`` warns about it). ``purpose`` completes the error
        raised when no cell loads ("... needs at least one valid cell in fit
        to {purpose}").
        """
        for position, cell in enumerate(cells):
            if is_missing(cell):
                continue
            try:
                return load(cell, sample_index(cells, position))
            except CELL_ERRORS:
                if self.on_error == "raise":
                    raise
        raise ValueError(
            f"{type(self).__name__} needs at least one valid cell in fit to "
            f"{purpose}; none of the {len(cells)} cells could be loaded."
        )

    def _transform(self, cells):
        """One row per cell: the batch loop.

        Batches of :meth:`_cells_per_batch` cells load in ``n_jobs`` threads
        (:meth:`_load_cell`), and one more thread turns the loaded cells into
        the batch's inputs (:meth:`_prepare_batch`), one batch ahead: batch
        ``k + 1`` loads and is prepared while :meth:`_run_batch` computes
        batch ``k`` in the calling thread. Memory holds at most three batches
        (the running one's inputs, the next one's loaded cells and its inputs
        while they are prepared), whatever the number of cells. Bad cells go
        through :meth:`_bad_cell` in the calling thread, in sample order,
        before their batch runs; only the good cells reach the hooks, and the
        bad ones' rows are NaN. The output is float32 of shape
        ``(n_cells, n_features_out_)``.
        """
        from tqdm.auto import tqdm

        context = self._batch_context()
        n_samples = len(cells)
        out = np.full((n_samples, self.n_features_out_), np.nan, dtype=np.float32)
        size = self._cells_per_batch()
        starts = range(0, n_samples, size)
        loader = ThreadPoolExecutor(max_workers=thread_count(self.n_jobs))
        preparer = ThreadPoolExecutor(max_workers=1)
        progress = tqdm(
            total=n_samples,
            disable=not self.verbose,
            desc=type(self).__name__,
            unit=self._unit,
        )

        def prepare(futures):
            """Wait for a batch's cells; return their errors and the inputs."""
            loaded = [future.result() for future in futures]
            errors = [error for _, error in loaded]
            values = [value for value, error in loaded if error is None]
            del loaded  # the prepared inputs replace the loaded values
            return errors, (self._prepare_batch(context, values) if values else None)

        def submit(start):
            indices = range(start, min(start + size, n_samples))
            futures = [
                loader.submit(
                    try_load, self._load_present, cells[i], sample_index(cells, i)
                )
                for i in indices
            ]
            return indices, preparer.submit(prepare, futures)

        pending = submit(0) if n_samples else None
        try:
            for batch in range(len(starts)):
                indices, prepared = pending
                errors, inputs = prepared.result()
                good = []
                for index, error in zip(indices, errors):
                    if error is None:
                        good.append(index)
                    else:  # raise or warn here, in sample order
                        self._bad_cell(cells[index], sample_index(cells, index), error)
                # load the next batch while this one runs
                nxt = batch + 1
                pending = submit(starts[nxt]) if nxt < len(starts) else None
                if good:
                    rows = self._run_batch(context, inputs)
                    out[good] = self._checked_rows(rows, len(good), out.shape[1])
                progress.update(len(indices))
        finally:  # on an error, this also cancels the cells not yet loaded
            loader.shutdown(wait=True, cancel_futures=True)
            preparer.shutdown(wait=True, cancel_futures=True)
            progress.close()
        return out

    def _load_present(self, cell, index):
        """:meth:`_load_cell`, after refusing a missing cell (None, NaN)."""
        if is_missing(cell):
            raise missing_cell_error(index)
        return self._load_cell(cell, index)

    def _checked_rows(self, rows, n_cells, n_features=None):
        """``rows`` as an array, if it is one row per cell of a batch of
        ``n_cells`` (of ``n_features`` values, where given)."""
        rows = np.asarray(rows)
        width = "n_features" if n_features is None else n_features
        shape_ok = rows.ndim == 2 and rows.shape[0] == n_cells
        if not shape_ok or n_features not in (None, rows.shape[1]):
            raise ValueError(
                f"{type(self).__name__}._run_batch returned an array of shape "
                f"{rows.shape} for a batch of {n_cells} cell(s); expected "
                f"({n_cells}, {width})."
            )
        return rows

    def _load_cell(self, cell, index):  # pragma: no cover - abstract
        """One cell, loaded and ready to batch (runs in a loader thread).

        ``index`` names the sample in messages (its position, or a
        ``sklearn_mbm._io._cells.SampleIndex`` naming its label too). A bad
        cell (unreadable, invalid) raises ``ValueError``, ``TypeError`` or
        ``FileNotFoundError`` naming ``index`` (and the path for a file); the
        loop then applies ``on_error``. Any other exception is a bug and
        propagates. The loop refuses missing cells (None, NaN) itself, before
        this hook. Must not depend on the other cells.
        """
        raise NotImplementedError

    def _run_batch(self, context, inputs):  # pragma: no cover - abstract
        """The rows of one batch: an array of shape (n_cells, n_features_out_).

        ``inputs`` is what :meth:`_prepare_batch` returned for the batch's
        good cells (by default the list of :meth:`_load_cell` values, in
        sample order; never empty), ``context`` what :meth:`_batch_context`
        returned. Runs in the calling thread while the next batch loads.
        Where each row depends on its own cell alone, bit for bit, say so in
        :meth:`_rows_are_independent`.
        """
        raise NotImplementedError

    def _prepare_batch(self, context, values):
        """The inputs of :meth:`_run_batch` for a batch of loaded cells.

        ``values`` are the good cells' :meth:`_load_cell` results, in sample
        order. Runs in a thread, one batch ahead of :meth:`_run_batch`: put
        here the CPU work that readies a batch (stacking, tokenizing, a
        spectrogram). By default the list itself.
        """
        return values

    def _embed_batch(self, context, values):
        """Rows of a batch of loaded cells: prepare, then run (no threads)."""
        return self._run_batch(context, self._prepare_batch(context, values))

    def _batch_context(self):
        """What every batch of one ``transform`` shares (passed to the batch
        hooks as ``context``): a loaded network, filters, a workspace.
        Computed once per call, in the calling thread. By default None.
        """
        return None

    def _cells_per_batch(self):
        """Cells per batch; by default the ``batch_size`` parameter."""
        return self.batch_size


def numbered_names(prefix, n_features):
    """``[prefix0, prefix1, ...]``: the names of features without a meaning."""
    return [f"{prefix}{i}" for i in range(n_features)]
