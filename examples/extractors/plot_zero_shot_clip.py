"""
==========================================
Zero-shot digit labels with a CLIP preset
==========================================

A joint image-text preset (CLIP, SigLIP) embeds images and texts in one
space: :class:`~sklearn_mbm.pretrained.ImageEmbedder` and
:class:`~sklearn_mbm.pretrained.TextEmbedder` return its *projected*
embeddings, so the cosine similarity of an image row and a prompt row is the
model's own score. Labelling each digit image by its most similar prompt,
"a photo of the digit three", needs no training at all.

Nothing can be downloaded where this gallery is built, so the example writes
a **tiny, randomly initialised CLIP** to a local preset folder and loads it
through the same ``preset=`` path a downloaded preset takes. Its numbers are
therefore at chance level: with a real preset, e.g.
``ImageEmbedder("clip_vit_base_patch32")`` (or a local copy of it), the
zero-shot accuracy and the fused pipeline's score become meaningful.
"""

# %%
# A local preset
# --------------
import tempfile

import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import FusionTransformer, ImageFeatureExtractor
from sklearn_mbm.pretrained import ImageEmbedder, TextEmbedder
from sklearn_mbm.pretrained._tiny import save_tiny_clip

folder = tempfile.mkdtemp()
preset = save_tiny_clip(f"{folder}/clip")  # stands for "clip_vit_base_patch32"

digits = load_digits()
n = 150
images = (digits.images[:n] * 255 / 16).astype(np.uint8)  # 8x8 grey, [0, 255]
y = digits.target[:n]

# %%
# Zero-shot labels from prompts
# -----------------------------
words = "zero one two three four five six seven eight nine".split()
prompts = [f"a photo of the digit {word}" for word in words]

image_rows = ImageEmbedder(preset).fit_transform(list(images))
prompt_rows = TextEmbedder(preset).fit_transform(prompts)


def unit(rows):
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


similarity = unit(image_rows) @ unit(prompt_rows).T  # (n_images, 10)
predicted = similarity.argmax(axis=1)
print(f"zero-shot accuracy: {np.mean(predicted == y):.2f} (chance: 0.10)")

# %%
# Next to a fused, trained pipeline
# ---------------------------------
# The same embeddings as one block of a FusionTransformer, next to the raw
# pixels, with a classifier trained on labels.
import pandas as pd  # noqa: E402

X = pd.DataFrame({"image": list(images)})
fusion = FusionTransformer(
    [
        ("clip", ImageEmbedder(preset), "image"),
        ("pixels", ImageFeatureExtractor("pixels"), "image"),
    ],
    normalize="block",
)
pipeline = make_pipeline(fusion, StandardScaler(), LogisticRegression(max_iter=500))
scores = cross_val_score(pipeline, X, y, cv=3)
print(f"fused pipeline accuracy: {scores.mean():.2f}")
