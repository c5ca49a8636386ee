"""
==========================================
Quickstart: fusing images, speech and text
==========================================

Each record of the audio-visual digits sample holds a handwritten digit
(image), the same digit spoken by one of six speakers (audio) and a noisy
transcript of what was said (text). We extract features from each modality,
fuse them with :class:`~sklearn_mbm.FusionTransformer` and compare the fused
model with one model per modality, using folds grouped by speaker so that
every score is measured on voices the model has not heard.
"""

# %%
# Load the sample
# ---------------
# ``load_av_digits`` returns a DataFrame with one column per modality, plus
# the speaker (to group the folds) and the digit as target. It ships with the
# package, so this works offline.
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target
print(X.shape)
X.head()

# %%
# A cell of ``image`` is a 28x28 array, a cell of ``audio`` a waveform sampled
# at 8 kHz, a cell of ``text`` a string.
print(
    X["image"].iloc[0].shape, X["audio"].iloc[0].shape, repr(X["text"].iloc[0])
)

# %%
# One extractor per modality
# --------------------------
# ``backbone="pixels"`` resizes and flattens the images (no neural network);
# the audio extractor summarises MFCCs, their deltas and spectral features
# over each clip; the text extractor computes tf-idf features.
extractors = {
    "image": ImageFeatureExtractor(backbone="pixels"),
    "audio": AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
    "text": TextFeatureExtractor(),
}

# %%
# Fuse them
# ---------
# :class:`~sklearn_mbm.FusionTransformer` routes each column to its
# extractor, standardises each block's features (``normalize="standard"``,
# the default) and concatenates the blocks. Every modality has weight 1 here;
# the next examples tune the weights.
fusion = FusionTransformer(
    [(name, extractor, name) for name, extractor in extractors.items()]
)
model = make_pipeline(fusion, LogisticRegression(max_iter=2000))

# %%
# Cross-validate with folds grouped by speaker
# --------------------------------------------
# Each test fold holds speakers absent from its training folds.
cv = GroupKFold(n_splits=3)
groups = X["speaker"]

scores = {}
for name, extractor in extractors.items():
    unimodal = make_pipeline(
        FusionTransformer([(name, extractor, name)]),
        LogisticRegression(max_iter=2000),
    )
    scores[name] = cross_val_score(unimodal, X, y, cv=cv, groups=groups)
scores["fused"] = cross_val_score(model, X, y, cv=cv, groups=groups)

for name, s in scores.items():
    print(f"{name:>6}: accuracy {s.mean():.3f} +/- {s.std():.3f}")

# %%
# The fused model beats every modality alone: the image and the voice are
# independent views of the digit, and the transcript adds a third.
fig, ax = plt.subplots(figsize=(5, 3))
names = list(scores)
ax.barh(
    names,
    [scores[n].mean() for n in names],
    xerr=[scores[n].std() for n in names],
    color="tab:blue",
)
ax.set_xlabel("accuracy (3 speaker-grouped folds)")
ax.set_xlim(0, 1)
ax.set_title("One modality vs all three")
fig.tight_layout()

# %%
# The fitted fusion step names every output column after its modality.
model.fit(X, y)
names_out = model[0].get_feature_names_out()
print(len(names_out), names_out[:3], model[0].output_slices_)
