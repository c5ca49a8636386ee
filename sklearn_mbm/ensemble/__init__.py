"""Late fusion: one estimator per modality, combined at the decision level.

Public: :class:`LateFusionClassifier` and :class:`LateFusionRegressor`
(``_late_fusion.py``). Private: their ``_BaseVoting``-like base
(``_base.py``), the fusion rules (``_late_rules.py``) and metadata routing
(``_fit_params.py``). See :ref:`architecture`.
"""

from sklearn_mbm.ensemble._late_fusion import LateFusionClassifier, LateFusionRegressor

__all__ = ["LateFusionClassifier", "LateFusionRegressor"]
