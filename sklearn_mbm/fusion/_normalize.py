"""Per-block normalisation used by FusionTransformer (the ``N_m`` of the maths).

``"standard"`` and ``"l2"`` are scikit-learn's own scalers. ``"block"`` centres a
block and divides it by the root of its mean squared row norm, so every block
carries unit energy whatever its width and a fusion weight ``w_m`` sets that
block's energy to ``w_m ** 2``: weights become comparable across blocks of
100 and 1,000 columns.
"""

import numpy as np
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import Normalizer, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data


class BlockNormalizer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Centre a block and scale it to unit mean squared row norm.

    After fitting, ``mean(||x_i - mean_||^2) * scale_^2 == 1`` on the training
    rows. A block with zero energy (constant columns) is only centred.

    Attributes
    ----------
    mean_ : ndarray of shape (n_features,)
        Column means of the training block.
    scale_ : float
        The factor applied after centring.
    """

    def fit(self, X, y=None):
        X = validate_data(self, X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        energy = float(np.mean(np.sum((X - self.mean_) ** 2, axis=1)))
        self.scale_ = 1.0 / np.sqrt(energy) if energy > 0 else 1.0
        return self

    def transform(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return (X - self.mean_) * self.scale_


class _Identity(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """No-op normaliser for ``normalize=None``."""

    def fit(self, X, y=None):
        validate_data(self, X, dtype=np.float64)
        return self

    def transform(self, X):
        check_is_fitted(self, "n_features_in_")
        return validate_data(self, X, dtype=np.float64, reset=False)


def make_normalizer(kind):
    """Return an unfitted normaliser for ``normalize`` = ``kind``."""
    if kind == "standard":
        return StandardScaler()
    if kind == "l2":
        return Normalizer(norm="l2")
    if kind == "block":
        return BlockNormalizer()
    if kind is None:
        return _Identity()
    raise ValueError(  # pragma: no cover - guarded by _parameter_constraints
        f"normalize must be 'standard', 'l2', 'block' or None, got {kind!r}."
    )
