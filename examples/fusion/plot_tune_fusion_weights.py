"""
========================================
Tuning fusion weights with a grid search
========================================

How much should each modality count? The weights of
:class:`~sklearn_mbm.FusionTransformer` are ordinary parameters, so
:class:`~sklearn.model_selection.GridSearchCV` tunes them like any other.
:func:`~sklearn_mbm.fusion_weight_grid` builds the candidates and
:func:`~sklearn_mbm.plotting.plot_fusion_weights` shows the scores: here a
ternary plot, one corner per modality.

With ``memory``, each modality's features are extracted once per training
fold and reused for every weight candidate.
"""

# %%
# Data and extractors
# -------------------
import tempfile

import numpy as np
from joblib import Memory
from sklearn.model_selection import GridSearchCV, GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    fusion_weight_grid,
    load_av_digits,
)
from sklearn_mbm.plotting import plot_fusion_weights

digits = load_av_digits()
X, y = digits.data, digits.target

# %%
# We use ``normalize="block"``: every block is centred and scaled to unit mean
# squared row norm, so a weight ``w`` gives its block an energy of ``w**2``
# whatever the block's width (784 pixels, 92 audio statistics, a few hundred
# words). Block normalisation keeps the relative scale of the features inside
# a block, so we standardise the audio statistics first: they mix units (an
# MFCC mean of -300 next to a zero-crossing rate of 0.1), and the loudest
# would otherwise drown the others.
cache = Memory(tempfile.mkdtemp(prefix="sklearn_mbm_example_"), verbose=0)

fusion = FusionTransformer(
    [
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
    ],
    normalize="block",
    memory=cache,
)
# An RBF SVM measures distances, so the weights change what it sees (a tree
# ensemble would not care, see the user guide).
model = Pipeline([("fusion", fusion), ("clf", SVC(C=10))])

# %%
# The weight grid
# ---------------
# Every combination of ``values`` for the three modalities, without the
# all-zero point: 26 candidates. Candidates equal up to scale, such as
# (0.5, 0.5, 0.5) and (1, 1, 1), are both kept: the SVC's penalty sees the
# scale of the fused features even after block normalisation.
# (``unique_up_to_scale=True`` keeps one per direction, 19 candidates, for
# final estimators that the scale does not change.)
values = (0.0, 0.5, 1.0)
grid = fusion_weight_grid(["image", "audio", "text"], values=values)
print(f"{len(grid)} weight candidates, e.g. {grid[:3]}")

# %%
# Search, with folds grouped by speaker
# -------------------------------------
search = GridSearchCV(
    model, {"fusion__weights": grid}, cv=GroupKFold(n_splits=3)
)
search.fit(X, y, groups=X["speaker"])
print("best weights:", search.best_params_["fusion__weights"])
print(f"best accuracy: {search.best_score_:.3f}")

# %%
# The five best candidates:
results = search.cv_results_
for rank in np.argsort(results["rank_test_score"])[:5]:
    print(
        f"{results['mean_test_score'][rank]:.3f} +/- "
        f"{results['std_test_score'][rank]:.3f}  "
        f"{results['param_fusion__weights'][rank]}"
    )

# %%
# Scores across the weights
# -------------------------
# Each point is a weight vector drawn as shares that sum to one: a corner is
# one modality alone, the centre is equal weights. Vectors equal up to scale
# share a point, which shows the best of them.
ax = plot_fusion_weights(search)

# %%
# The image carries most of the information; the audio adds a view that is
# independent of it (the image and the voice come from different people), and
# the noisy transcripts help at a smaller weight.
#
# A closer look at one weight
# ---------------------------
# Fix the image and audio weights at the best values and vary the text weight
# alone: with one varying weight, ``plot_fusion_weights`` draws a line with
# one standard deviation of the folds. The features are in the cache, keyed
# on each modality's extractor parameters and column data, so this second
# search extracts nothing: only the weights changed. (On this small sample
# extraction is quick; with a CNN backbone it is most of the cost.)
best = search.best_params_["fusion__weights"]
text_values = (0.0, 0.25, 0.5, 1.0, 2.0)
text_grid = [{**best, "text": w} for w in text_values]
search.set_params(param_grid={"fusion__weights": text_grid})
search.fit(X, y, groups=X["speaker"])
ax = plot_fusion_weights(search)

# %%
# The cache lives in a temporary folder here; point ``memory`` at a lasting
# folder to reuse features across sessions, and clear it when the files
# behind a column of paths change (their contents are not part of the key).
cache.clear(warn=False)
