"""
===============================
Records with missing modalities
===============================

Real records are often incomplete: a clip that was never recorded, a
transcript that was lost. A missing cell is ``None`` (or NaN), and
:class:`~sklearn_mbm.FusionTransformer`'s ``missing`` parameter says what to
do with it:

- ``"raise"`` (default): stop with an error naming the row and column;
- ``"zero"``: the missing block is zero after normalisation (the training
  mean of a centred block); with ``method="weighted_sum"`` the weights of the
  record's present blocks are renormalised to keep their total;
- ``"mean"``: the missing block is the mean of the block's training rows, and
  weights are left alone.

Here we hide a growing share of the audio and text cells, in training and
test data alike, and compare the policies on speakers left out of training.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target

# Two speakers are held out for testing.
test = X["speaker"].isin(["jackson", "theo"]).to_numpy()


def hide_cells(X, fraction, seed=0):
    """Copy of X where each audio and each text cell is None with probability
    ``fraction`` (independently); the image is always there."""
    rng = np.random.RandomState(seed)
    X = X.copy()
    for column in ("audio", "text"):
        hidden = rng.rand(len(X)) < fraction
        X[column] = X[column].where(~hidden, None)
    return X


X_missing = hide_cells(X, 0.3)
print(X_missing[["audio", "text"]].isna().mean())

# %%
# The default is to refuse
# ------------------------
# Missing data is never filled behind your back: the error names the first
# missing row and its column.
transformers = [
    ("image", ImageFeatureExtractor(backbone="pixels"), "image"),
    (
        "audio",
        make_pipeline(
            AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
            StandardScaler(),
        ),
        "audio",
    ),
    ("text", TextFeatureExtractor(), "text"),
]
weights = {"image": 1.0, "audio": 0.5, "text": 0.5}
try:
    FusionTransformer(transformers, weights=weights).fit(X_missing)
except ValueError as error:
    print(error)

# %%
# Comparing the policies
# ----------------------
# Each extractor is fit only on the rows where its cell is present. With the
# ``"block"`` normaliser the training mean of a block is zero, so ``"zero"``
# and ``"mean"`` fill the same values with ``concat``; they differ with
# ``weighted_sum``, where ``"zero"`` renormalises the weights of the present
# blocks.
fractions = (0.0, 0.2, 0.4, 0.6, 0.8)
settings = [
    ("concat", "zero"),
    ("weighted_sum", "zero"),
    ("weighted_sum", "mean"),
]
scores = {setting: [] for setting in settings}
image_only = []
for fraction in fractions:
    X_missing = hide_cells(X, fraction)
    X_train, X_test = X_missing[~test], X_missing[test]
    y_train, y_test = y[~test], y[test]
    for method, missing in settings:
        fusion = FusionTransformer(
            transformers,
            method=method,
            weights=weights,
            normalize="block",
            missing=missing,
        )
        model = make_pipeline(fusion, SVC(C=10)).fit(X_train, y_train)
        scores[method, missing].append(model.score(X_test, y_test))
    image_model = make_pipeline(
        FusionTransformer(transformers[:1], normalize="block"), SVC(C=10)
    )
    image_only.append(image_model.fit(X_train, y_train).score(X_test, y_test))

# %%
fig, ax = plt.subplots(figsize=(6, 4))
for (method, missing), values in scores.items():
    ax.plot(
        fractions, values, marker="o", label=f"{method}, missing={missing!r}"
    )
ax.plot(fractions, image_only, "k--", label="image alone")
ax.set_xlabel("share of audio and text cells missing")
ax.set_ylabel("accuracy on held-out speakers")
ax.legend()
fig.tight_layout()

for (method, missing), values in scores.items():
    print(f"{method:>12}, {missing}: " + "  ".join(f"{v:.3f}" for v in values))
print(f"{'image alone':>20}: " + "  ".join(f"{v:.3f}" for v in image_only))

# %%
# Concatenation degrades gracefully: as audio and text cells go missing its
# accuracy slides towards that of the image alone, which every record still
# has, and stays above it while most cells are present. No record had to be
# dropped.
#
# The weighted sum starts lower here (its shared low-dimensional space loses
# information, see :ref:`sphx_glr_auto_examples_fusion_plot_concat_vs_weighted_sum.py`),
# and renormalising the present weights (``"zero"``) or imputing the mean
# (``"mean"``) makes little difference on this data: both keep the fused row
# of an incomplete record usable.
