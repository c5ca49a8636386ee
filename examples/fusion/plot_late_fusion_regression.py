"""
================================================
Late fusion for regression: how long is a clip?
================================================

:class:`~sklearn_mbm.LateFusionRegressor` is the regression counterpart of
:class:`~sklearn_mbm.LateFusionClassifier`: one regressor per modality,
fused by a weighted mean of their predictions (``method="mean"``) or by a
final regressor trained on their out-of-fold predictions
(``method="stacking"``). :class:`~sklearn_mbm.NeuralFusionRegressor` learns
the fusion weights inside a network instead.

The target is real and built from the bundled sample: the duration, in
seconds, of each spoken digit (FSDD clips are trimmed to the word). The
audio carries it; the image and the transcript say only which digit was
spoken, which explains about 7% of its variance. A good fusion should learn
to trust the audio. Every score is an R² on speakers the model never heard
(folds grouped by speaker), against a
:class:`~sklearn.dummy.DummyRegressor` that predicts the training mean.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    ImageFeatureExtractor,
    LateFusionRegressor,
    NeuralFusionRegressor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X = digits.data
duration = X["audio"].map(len).to_numpy() / digits.audio_sr
speakers = X["speaker"].to_numpy()
print(
    f"{len(X)} clips, {duration.mean():.2f} s on average "
    f"(std {duration.std():.2f})"
)

# %%
# One regressor per modality
# --------------------------
# Each pipeline sees only its own column; RidgeCV picks its own penalty.
alphas = np.logspace(-2, 3, 11)
audio_model = make_pipeline(
    AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
    StandardScaler(),
    RidgeCV(alphas=alphas),
)
image_model = make_pipeline(
    ImageFeatureExtractor(backbone="pixels"), RidgeCV(alphas=alphas)
)
text_model = make_pipeline(TextFeatureExtractor(), RidgeCV(alphas=alphas))
estimators = [
    ("audio", audio_model, "audio"),
    ("image", image_model, "image"),
    ("text", text_model, "text"),
]

neural = NeuralFusionRegressor(
    [
        (
            "audio",
            AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
            "audio",
        ),
        (
            "image",
            ImageFeatureExtractor(backbone="pixels", input_size=14),
            "image",
        ),
        ("text", TextFeatureExtractor(), "text"),
    ],
    hidden_units=(32,),
    projection_units=32,
    dropout=0.5,
    epochs=60,
    # a validation split of 4 speakers' clips says little
    early_stopping=False,
    learning_rate=0.003,
    random_state=0,
    run_eagerly=False,
)

models = {
    "dummy (training mean)": DummyRegressor(),
    "audio alone": LateFusionRegressor([estimators[0]]),
    "late, equal mean": LateFusionRegressor(estimators),
    "late, mean, audio x4": LateFusionRegressor(
        estimators, weights={"audio": 4.0, "image": 1.0, "text": 1.0}
    ),
    "late, stacking": LateFusionRegressor(estimators, method="stacking", cv=3),
    "neural, learned weights": neural,
}

# %%
# R² on unseen speakers
# ---------------------
# Three folds, each holding out two of the six speakers.
cv = GroupKFold(n_splits=3)
scores = {
    name: cross_val_score(
        model, X, duration, groups=speakers, cv=cv, scoring="r2"
    )
    for name, model in models.items()
}
for name, score in scores.items():
    print(f"{name:>24}: R² {score.mean():6.3f} +/- {score.std():.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
names = list(scores)
ax.barh(
    names,
    [scores[n].mean() for n in names],
    xerr=[scores[n].std() for n in names],
)
ax.axvline(0, color="black", linewidth=0.8)
ax.invert_yaxis()
ax.set_xlabel("R² on held-out speakers (clip duration)")
fig.tight_layout()

# %%
# What the fused models learned
# -----------------------------
# Stacking's final regressor weighs each modality's out-of-fold prediction;
# the network exposes its softmax fusion weights.
stack = models["late, stacking"].fit(X, duration)
coefs = stack.final_estimator_.coef_
print(
    "stacking coefficients:",
    {k: round(float(c), 2) for k, c in zip(stack.weights_, coefs)},
)
neural.fit(X, duration)
print(
    "neural fusion weights:",
    {k: round(v, 2) for k, v in neural.fusion_weights_.items()},
)

# %%
# Reading the scores
# ------------------
# Each fused model against the audio alone, in units of the spread of the
# audio's fold scores: with six speakers, each fold's score moves a lot with
# who is held out, so a difference smaller than that spread says little.
audio_alone = scores["audio alone"]
for name in list(models)[2:]:
    gain = scores[name].mean() - audio_alone.mean()
    print(f"{name:>24}: {gain:+.3f} ({gain / audio_alone.std():+.1f} spreads)")

# %%
# An equal mean lets two modalities that know little about the duration vote
# as much as the audio, so it is pulled towards their poor predictions.
# Weights fix that: given by hand (``audio x4``), searched with
# ``GridSearchCV(param_grid={"weights": fusion_weight_grid(names)})`` on
# speaker-grouped folds, or learned by stacking, whose coefficients above
# show how much it trusts each modality's prediction. The network learns its
# softmax weights together with its own projections from a few hundred
# clips; compare it with the ridge regressions on the scores above, not on
# its weights alone.
plt.show()
