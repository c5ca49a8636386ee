"""
========================================
Late fusion: one classifier per modality
========================================

Early fusion merges the modalities' features and trains one model. Late
fusion trains one classifier per modality and merges their predictions.
:class:`~sklearn_mbm.LateFusionClassifier` does it three ways:

- ``"soft"``: the weighted mean of the classifiers' probabilities;
- ``"hard"``: a weighted majority vote;
- ``"stacking"``: a final classifier learns from out-of-fold probabilities.

We compare them with early fusion, with folds grouped by speaker.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target

# %%
# One pipeline per modality
# -------------------------
# Each estimator sees only its own column. Logistic regressions give the
# probabilities that soft voting and stacking need.
image_model = make_pipeline(
    ImageFeatureExtractor(backbone="pixels"), LogisticRegression(C=0.1)
)
audio_model = make_pipeline(
    AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
    StandardScaler(),
    LogisticRegression(),
)
text_model = make_pipeline(TextFeatureExtractor(), LogisticRegression(C=10))
estimators = [
    ("image", image_model, "image"),
    ("audio", audio_model, "audio"),
    ("text", text_model, "text"),
]

models = {
    "late, soft": LateFusionClassifier(estimators, method="soft"),
    "late, hard": LateFusionClassifier(estimators, method="hard"),
    "late, stacking": LateFusionClassifier(
        estimators, method="stacking", cv=3
    ),
    "early (concat)": make_pipeline(
        FusionTransformer(
            [
                ("image", image_model[0], "image"),
                ("audio", audio_model[:2], "audio"),
                ("text", text_model[0], "text"),
            ],
            weights={"image": 1.0, "audio": 0.5, "text": 0.5},
            normalize="block",
        ),
        SVC(C=10),
    ),
}

cv = GroupKFold(n_splits=3)
scores = {
    name: cross_val_score(model, X, y, cv=cv, groups=X["speaker"])
    for name, model in models.items()
}
for name, s in scores.items():
    print(f"{name:>15}: accuracy {s.mean():.3f} +/- {s.std():.3f}")

# %%
fig, ax = plt.subplots(figsize=(6, 3))
names = list(scores)
ax.barh(
    names,
    [scores[n].mean() for n in names],
    xerr=[scores[n].std() for n in names],
)
ax.invert_yaxis()
ax.set_xlim(0, 1)
ax.set_xlabel("accuracy (3 speaker-grouped folds)")
fig.tight_layout()

# %%
# What each modality's classifier knows
# -------------------------------------
# After ``fit``, each modality's pipeline is available on its own in
# ``named_estimators_``. On two speakers held out of training, the soft vote
# does better than any of the classifiers it averages.
test = X["speaker"].isin(["jackson", "theo"]).to_numpy()
late = models["late, soft"].fit(X[~test], y[~test])
for name, estimator in late.named_estimators_.items():
    print(f"{name:>5} alone: {estimator.score(X[test][name], y[test]):.3f}")
print(f"soft vote:  {late.score(X[test], y[test]):.3f}")

# %%
# On this data early fusion does a little better: the classifier sees all
# the features at once. Soft voting and stacking come close; hard voting
# throws away each classifier's confidence and does worst. Late fusion cannot
# model interactions between modalities, but every
# modality's model is tuned on its own, models of different kinds mix freely,
# and a record missing a modality simply leaves it out of the vote. The
# modality weights are a parameter too: tune them with
# ``GridSearchCV(late, {"weights": fusion_weight_grid(["image", "audio",
# "text"])})``.
