"""
==========================================
Your own Keras backbone and text embedding
==========================================

The extractors are thin wrappers: bring your own models.

- :class:`~sklearn_mbm.ImageFeatureExtractor` takes any ``keras.Model`` as
  ``backbone`` (or the path of a saved ``.keras`` model), besides the
  ``keras.applications`` names such as ``"mobilenet_v2"``.
- :class:`~sklearn_mbm.TextFeatureExtractor` takes any callable that maps a
  list of strings to a 2-D array as ``method``: a sentence-embedding model,
  an API client, or a hand-written function.

Here both are tiny and need no download: a small convolutional network with
random weights, and a text "embedding" that scores each transcript against
the ten digit words, tolerating typos.
"""

# %%
import difflib

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target
cv = GroupKFold(n_splits=3)

# %%
# A Keras backbone
# ----------------
# The backbone receives float32 images with pixel values in [0, 255], of the
# size of its input (the 28x28 grey digits are resized to it), so rescaling
# belongs in the model. An output with spatial axes is pooled as ``pooling``
# says; ``pooling=None`` flattens it instead, keeping where each pattern was
# found: 6x6 positions times 16 filters here.
keras.utils.set_random_seed(0)
inputs = keras.Input(shape=(28, 28, 1))
x = keras.layers.Rescaling(1 / 255)(inputs)
x = keras.layers.Conv2D(16, 5, activation="relu")(x)
x = keras.layers.MaxPooling2D(4)(x)
backbone = keras.Model(inputs, x, name="tiny_cnn")

images = ImageFeatureExtractor(backbone=backbone, pooling=None, batch_size=64)
features = images.fit_transform(X["image"])
print(features.shape, images.get_feature_names_out()[:3])

# %%
# Even with random weights, random convolutions followed by pooling are a
# classic feature map for digits: a linear classifier on them beats one on
# the raw pixels. A trained or pretrained network (e.g.
# ``backbone="mobilenet_v2"`` with ImageNet weights) would do better still.
scores = cross_val_score(
    make_pipeline(images, StandardScaler(), LogisticRegression(C=0.1)),
    X["image"],
    y,
    cv=cv,
    groups=X["speaker"],
)
print(f"random tiny CNN features: accuracy {scores.mean():.3f}")

# %%
# A text embedding callable
# -------------------------
# Any function ``f(list_of_str) -> array of shape (n_texts, d)``. To swap in a
# sentence-embedding model, return ``model.encode(texts)``. Define it at module
# level (not as a lambda) so that the extractor can be pickled.
DIGIT_WORDS = "zero one two three four five six seven eight nine".split()


def digit_word_similarity(texts):
    """Each text's best similarity of any of its words to each digit word."""
    rows = []
    for text in texts:
        words = text.split() or [""]
        similarity = difflib.SequenceMatcher
        rows.append(
            [
                max(similarity(None, w, digit).ratio() for w in words)
                for digit in DIGIT_WORDS
            ]
        )
    return np.asarray(rows)


print(digit_word_similarity(["um sevne please"]).round(2))

# %%
# Typos such as ``"sevne"`` still score high against ``"seven"``, where a
# bag of words sees an unknown word.
for method in ("tfidf", digit_word_similarity):
    text = TextFeatureExtractor(method=method)
    scores = cross_val_score(
        make_pipeline(text, LogisticRegression(max_iter=2000)),
        X["text"],
        y,
        cv=cv,
        groups=X["speaker"],
    )
    name = method if isinstance(method, str) else method.__name__
    print(f"{name:>22}: accuracy {scores.mean():.3f}")

# %%
# Both in one fusion
# ------------------
fusion = FusionTransformer(
    [
        ("image", images, "image"),
        ("text", TextFeatureExtractor(method=digit_word_similarity), "text"),
    ],
)
scores = cross_val_score(
    make_pipeline(fusion, LogisticRegression(C=0.1)),
    X,
    y,
    cv=cv,
    groups=X["speaker"],
)
print(f"fused: accuracy {scores.mean():.3f}")
