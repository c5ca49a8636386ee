"""Kept for imports of the former module: the neural model now lives in
:mod:`sklearn_mbm.neural` (``_layers``, ``_model``, ``_branches``)."""

from sklearn_mbm.neural._layers import custom_objects, fusion_layers  # noqa: F401
from sklearn_mbm.neural._model import PRESENT_INPUT, build_model  # noqa: F401
