"""Neural fusion: a Keras model that learns how much each modality counts.

:class:`NeuralFusionClassifier` and :class:`NeuralFusionRegressor` route each
modality's column through its branch: a frozen extractor's normalised block
(as :class:`~sklearn_mbm.FusionTransformer` extracts it), a branch trained
from scratch (``"cnn"`` for images, ``"rnn"`` for texts, ``"mel_cnn"`` for
speech) or, with ``fine_tune=True``, a trainable copy of an image backbone.
They project every modality to a common width, fuse the projections
(learned softmax weights, concatenation or a per-sample attention gate,
always ignoring missing modalities) and train hidden layers and a head on
top: softmax for the classifier, linear for the regressor. By default,
modality dropout and one auxiliary head per modality train each branch to
stand on its own.
"""

# One concept per module: _base (what both estimators share), _classifier and
# _regressor, _branches (the branch protocol and its table), _cnn and
# _mel_cnn (the trainable image and speech branches), _layers (the Keras
# fusion layers and the fusion rules), _model (the model builder), _docs (the
# shared parameter docs).

from sklearn_mbm.neural._base import _seed_from  # noqa: F401 (tests)
from sklearn_mbm.neural._classifier import NeuralFusionClassifier
from sklearn_mbm.neural._regressor import NeuralFusionRegressor

__all__ = ["NeuralFusionClassifier", "NeuralFusionRegressor"]
