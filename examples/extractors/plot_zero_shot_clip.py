"""
===========================================
Zero-shot digit labels with a CLIP preset
===========================================

A joint image-text preset (CLIP, SigLIP) embeds images and texts in one
space. :class:`~sklearn_mbm.pretrained.ZeroShotClassifier` turns each class
into a prompt, "a photo of the digit three.", and labels an image by the
prompt the model scores highest: a classifier without training. It learns
nothing from ``y`` but the set of classes, so its cross-validated score is
the preset's zero-shot accuracy, a baseline for any model trained on the
labels.

With internet access, the preset is a KerasHub name such as
``"clip_vit_base_patch32"`` (or ``"siglip_base_patch16_224"``), or a local
copy of it. This gallery is built offline, so the example writes a **tiny,
randomly initialised CLIP** to a local folder with KerasHub's public API and
loads it through the same ``preset=`` path. Its scores are at chance level;
the :ref:`pretrained` guide says what a real preset gives.
"""

# %%
# The data: 150 handwritten digits
# --------------------------------
import tempfile

import keras_hub
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sklearn_mbm import FusionTransformer
from sklearn_mbm.pretrained import ImageEmbedder, ZeroShotClassifier

digits = load_digits()
n = 150
images = (digits.images[:n] * 255 / 16).astype(np.uint8)  # 8x8, [0, 255]
y = digits.target[:n]
X = pd.DataFrame({"image": list(images)})

# %%
# A stand-in for a downloaded preset
# ----------------------------------
# A real CLIP weighs 600 MB and needs a download. In its place: a CLIP with
# one-layer encoders, 16-pixel images and a byte-pair vocabulary of letters,
# written with ``save_to_preset`` as a downloaded preset would be saved.
# Its weights are random.
letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
tokens = [*letters, *(f"{c}</w>" for c in letters), "th", "the</w>"]
tokens += ["<|startoftext|>", "<|endoftext|>"]
vocabulary = {token: i for i, token in enumerate(tokens)}
backbone = keras_hub.models.CLIPBackbone(
    keras_hub.models.CLIPVisionEncoder(
        patch_size=4,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
        image_shape=(16, 16, 3),
    ),
    keras_hub.models.CLIPTextEncoder(
        vocabulary_size=len(vocabulary),
        embedding_dim=16,
        hidden_dim=16,
        num_layers=1,
        num_heads=2,
        intermediate_dim=32,
        max_sequence_length=32,
    ),
    projection_dim=8,
)
preset = f"{tempfile.mkdtemp()}/tiny_clip"
backbone.save_to_preset(preset)
keras_hub.tokenizers.CLIPTokenizer(
    vocabulary=vocabulary, merges=["t h", "th e</w>"]
).save_to_preset(preset)
mean, std = (0.4815, 0.4578, 0.4082), (0.2686, 0.2613, 0.2758)
keras_hub.layers.CLIPImageConverter(  # CLIP's own normalisation
    image_size=(16, 16),
    scale=[1 / (255 * s) for s in std],
    offset=[-m / s for m, s in zip(mean, std)],
).save_to_preset(preset)

# %%
# Zero-shot classification
# ------------------------
# One prompt per class; the scores are the model's own logits, the cosine
# similarity of image and prompt times CLIP's learned temperature.
words = "zero one two three four five six seven eight nine".split()
zero_shot = ZeroShotClassifier(
    preset,
    labels=dict(enumerate(words)),
    templates="a photo of the digit {}.",
)
zero_shot.fit(X["image"], y)
print(zero_shot.prompts_[3])
print(zero_shot.predict_proba(X["image"][:2]).round(2))

# %%
# Its cross-validated accuracy is the same as scoring it once on each test
# fold: the training folds only tell it the ten classes.
cv = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
scores = cross_val_score(zero_shot, X["image"], y, cv=cv)
print(f"zero-shot accuracy: {scores.mean():.2f} (chance: 0.10)")

# %%
# Next to a classifier trained on the same embeddings
# ---------------------------------------------------
# The image embeddings as a block of a FusionTransformer, with a logistic
# regression trained on the labels. Even random weights pass on something of
# the pixels, so the trained model beats chance here; with a real preset,
# the zero-shot score is the floor that a trained pipeline should beat.
trained = make_pipeline(
    FusionTransformer([("clip", ImageEmbedder(preset), "image")]),
    LogisticRegression(max_iter=500),
)
scores = cross_val_score(trained, X, y, cv=cv)
print(f"trained on the embeddings: {scores.mean():.2f}")
