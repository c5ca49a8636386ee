"""Multimodal (image, text, audio) learning with scikit-learn.

Per-modality feature extractors turn raw cells into numeric features,
:class:`~sklearn_mbm.FusionTransformer` merges them with tunable weights, and
any scikit-learn estimator learns from the result.

Public names are imported lazily on first access, so ``import sklearn_mbm``
stays light: it imports neither TensorFlow nor librosa.
"""

import importlib

from sklearn_mbm._version import __version__

# public name -> module that defines it
_LAZY_NAMES = {
    "ImageFeatureExtractor": "sklearn_mbm.image",
    "TextFeatureExtractor": "sklearn_mbm.text",
    "AudioFeatureExtractor": "sklearn_mbm.audio",
    "FusionTransformer": "sklearn_mbm.fusion",
    "fusion_weight_grid": "sklearn_mbm.fusion",
    "fusion_weight_distribution": "sklearn_mbm.fusion",
    "LateFusionClassifier": "sklearn_mbm.ensemble",
    "LateFusionRegressor": "sklearn_mbm.ensemble",
    "NeuralFusionClassifier": "sklearn_mbm.neural",
    "TextEmbedder": "sklearn_mbm.pretrained",
    "ImageEmbedder": "sklearn_mbm.pretrained",
    "AudioEmbedder": "sklearn_mbm.pretrained",
    "ZeroShotClassifier": "sklearn_mbm.pretrained",
    "NeuralFusionRegressor": "sklearn_mbm.neural",
    "load_av_digits": "sklearn_mbm.datasets",
    "fetch_av_digits": "sklearn_mbm.datasets",
}

__all__ = [*_LAZY_NAMES, "__version__"]


def __getattr__(name):
    try:
        module_name = _LAZY_NAMES[name]
    except KeyError:
        raise AttributeError(
            f"module 'sklearn_mbm' has no attribute {name!r}"
        ) from None
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted([*globals(), *_LAZY_NAMES])
