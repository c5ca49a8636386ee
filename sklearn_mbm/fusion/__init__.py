"""Early fusion and what every fusion family shares.

Public: :class:`FusionTransformer` (``_fusion_transformer.py``) and the weight
search helpers :func:`fusion_weight_grid` and
:func:`fusion_weight_distribution` (``_weight_search.py``). Private, shared by
the early, late (:mod:`sklearn_mbm.ensemble`) and neural
(:mod:`sklearn_mbm.neural`) families: the composition base
(``_composition.py``), column routing (``_routing.py``) and the per-block steps
(``_blocks.py``, ``_normalize.py``); early fusion's rules are in
``_early_rules.py``. See :ref:`architecture`.
"""

from sklearn_mbm.fusion._fusion_transformer import FusionTransformer
from sklearn_mbm.fusion._weight_search import (
    fusion_weight_distribution,
    fusion_weight_grid,
)

__all__ = ["FusionTransformer", "fusion_weight_distribution", "fusion_weight_grid"]
