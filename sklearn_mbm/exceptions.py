"""Warnings and errors of sklearn-mbm."""

__all__ = ["CellLoadWarning"]


class CellLoadWarning(UserWarning):
    """A cell could not be loaded and became a row of NaN.

    Emitted by the extractors with ``on_error="warn"``; the message names the
    sample index, the file path when there is one, and what was wrong. A
    :class:`~sklearn_mbm.FusionTransformer` with ``missing="zero"`` or
    ``"mean"`` then treats that row as a missing cell.

    Examples
    --------
    >>> import warnings
    >>> from sklearn_mbm.exceptions import CellLoadWarning
    >>> warnings.simplefilter("error", CellLoadWarning)  # make bad cells fatal
    """
