"""The base every feature extractor shares: cells, ``on_error``, bad cells.

:class:`_BaseExtractor` is shaped as imbalanced-learn's base sampler: the
public ``fit``, ``fit_transform`` and ``transform`` validate (parameters,
input cells, fitted state) and a subclass writes only the private steps,
``_fit(cells)`` and ``_transform(cells)`` (and ``_fit_transform(cells)``
when fitting computes the features anyway). The base also owns the
bad-cell rule, one wording and one warning location for every modality:
with ``on_error="raise"`` the loader's error is raised; with ``"warn"`` a
:class:`~sklearn_mbm.exceptions.CellLoadWarning` that points at the user's
line and the sample gets a row of NaN.

Shared parameter docs are substituted into the subclasses' docstrings by
:func:`substitute` (``{on_error}``, ``{verbose}``).
"""

import os
import sys
import warnings

import joblib
import numpy as np
import sklearn
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._compat import StrOptions, _fit_context
from sklearn_mbm._docstrings import substitute_docs
from sklearn_mbm._io import ON_ERROR_OPTIONS, as_cells, is_missing
from sklearn_mbm.exceptions import CellLoadWarning

__all__ = ["CELL_ERRORS", "numbered_names", "substitute", "try_load"]

# What a cell loader raises for a bad cell; anything else is a bug and raises.
CELL_ERRORS = (ValueError, TypeError, FileNotFoundError)

# Frames in these folders are the package's or its machinery's (Pipeline,
# GridSearchCV, joblib.Memory), never the user's line a warning should show.
_INTERNAL_DIRS = tuple(
    os.path.dirname(os.path.abspath(path)) + os.sep
    for path in (__file__, sklearn.__file__, joblib.__file__)
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

    Subclasses extend ``_parameter_constraints`` and write ``_fit(cells)``
    (set the fitted attributes), ``_transform(cells)`` (one row per cell,
    calling :meth:`_bad_cell` for each cell that fails to load) and
    ``_feature_names()``, and edit the tags (``super()`` first); they may
    write ``_fit_transform(cells)`` to compute the features once, and
    ``_output(features, X)`` to wrap them themselves.
    """

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
        (:mod:`sklearn_mbm._row_cache`); say True only where a test proves it.
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

    def _fit(self, cells):  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform(self, cells):  # pragma: no cover - abstract
        raise NotImplementedError

    def _feature_names(self):  # pragma: no cover - abstract
        """The fitted extractor's output names, a list or array of str."""
        raise NotImplementedError


def numbered_names(prefix, n_features):
    """``[prefix0, prefix1, ...]``: the names of features without a meaning."""
    return [f"{prefix}{i}" for i in range(n_features)]
