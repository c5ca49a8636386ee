"""Pretrained "big model" embedders: KerasHub presets as scikit-learn transformers.

:class:`TextEmbedder`, :class:`ImageEmbedder` and :class:`AudioEmbedder` turn
a column of cells into embeddings from a KerasHub preset (BERT-like text
backbones, CLIP, vision transformers, Whisper). ``keras-hub`` is an optional
extra (``pip install "sklearn-mbm[hub]"``), imported the first time an
embedder is fitted, never by ``import sklearn_mbm``.
:class:`ZeroShotClassifier` classifies images or texts by a joint preset's
similarity to prompts naming the classes, without training.
"""

from sklearn_mbm.pretrained._audio import AudioEmbedder
from sklearn_mbm.pretrained._image import ImageEmbedder
from sklearn_mbm.pretrained._text import TextEmbedder
from sklearn_mbm.pretrained._zero_shot import ZeroShotClassifier

__all__ = ["AudioEmbedder", "ImageEmbedder", "TextEmbedder", "ZeroShotClassifier"]
