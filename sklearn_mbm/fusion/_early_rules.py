"""Early fusion's rules: FusionTransformer's ``method`` options as objects.

Each rule owns what its option changes: the projection it asks the blocks
for (:meth:`_EarlyRule.projections`), how the weighted blocks are combined
(:meth:`_EarlyRule.combine`), where each modality lands in the output
(:meth:`_EarlyRule.slices`) and the output feature names
(:meth:`_EarlyRule.feature_names`). ``FusionTransformer`` looks its rule up
in :data:`EARLY_FUSION` by the ``method`` name; adding a rule is one class
here plus one table entry (and the option in ``_parameter_constraints``).
"""

import numpy as np
from sklearn.decomposition import PCA

from sklearn_mbm.fusion._composition import check_no_overflow, share_row_weights


class _EarlyRule:
    """Base of the early-fusion rules (see the module docstring)."""

    def projections(self, owner, outputs):
        """Unfitted projections of each block (None: the block as it is)."""
        return [None] * len(outputs)

    def combine(self, owner, ready, present):
        """The fused features from the normalised, filled blocks."""
        raise NotImplementedError

    def slices(self, names, widths):
        """``{name: slice}``: where each modality lands in the output."""
        raise NotImplementedError

    def feature_names(self, owner, block_names, slices):
        """The output feature names (``block_names(name, width)`` gives a
        modality's own names)."""
        raise NotImplementedError


class Concat(_EarlyRule):
    """``[w_1 * N_1(X_1), ..., w_k * N_k(X_k)]``."""

    def combine(self, owner, ready, present):
        weights = [owner.weights_[name] for name in owner._names]
        with np.errstate(over="ignore"):  # refused below, with a clear error
            fused = np.hstack([w * block for w, block in zip(weights, ready)])
        return check_no_overflow(fused, type(owner).__name__, owner.weights_)

    def slices(self, names, widths):
        ends = np.cumsum(widths)
        return {
            name: slice(int(end - width), int(end))
            for name, width, end in zip(names, widths, ends)
        }

    def feature_names(self, owner, block_names, slices):
        names = []
        for name, where in slices.items():
            width = where.stop - where.start
            names.extend(f"{name}__{f}" for f in block_names(name, width))
        return names


class WeightedSum(_EarlyRule):
    """``sum_m w_m * P_m(N_m(X_m))`` with ``P_m`` a PCA to a common width.

    With ``missing="zero"``, the present blocks of a row share the weight of
    the row's blocks (:func:`~sklearn_mbm.fusion._composition.share_row_weights`).
    """

    def projections(self, owner, outputs):
        n_components = self._n_components(owner, outputs)
        return [PCA(n_components, svd_solver="full") for _ in outputs]

    @staticmethod
    def _n_components(owner, outputs):
        widths = {name: X.shape[1] for name, X in zip(owner._names, outputs)}
        n_rows = min(len(X) for X in outputs)
        if owner.n_components is None:
            return max(1, min(min(widths.values()), n_rows))
        narrowest = min(widths, key=widths.get)
        if owner.n_components > widths[narrowest]:
            raise ValueError(
                f"n_components={owner.n_components} is larger than the "
                f"{widths[narrowest]} features of modality {narrowest!r}; use "
                f"n_components <= {widths[narrowest]} or None."
            )
        if owner.n_components > n_rows:
            raise ValueError(
                f"n_components={owner.n_components} is larger than the "
                f"{n_rows} training rows of the smallest modality."
            )
        return owner.n_components

    def combine(self, owner, ready, present):
        weights = np.array([owner.weights_[name] for name in owner._names])
        present = np.column_stack(present)
        if owner.missing != "zero":  # every row keeps every block's weight
            present = np.ones_like(present)
        shares, scale, _ = share_row_weights(weights, present, total="sum")
        fused = sum(shares[:, [m]] * block for m, block in enumerate(ready))
        with np.errstate(over="ignore"):
            fused = fused * scale
        return check_no_overflow(fused, type(owner).__name__, owner.weights_)

    def slices(self, names, widths):
        return {name: slice(0, widths[0]) for name in names}

    def feature_names(self, owner, block_names, slices):
        width = next(iter(slices.values())).stop
        return [f"fused__pc{i}" for i in range(width)]


#: FusionTransformer's ``method`` options.
EARLY_FUSION = {"concat": Concat(), "weighted_sum": WeightedSum()}
