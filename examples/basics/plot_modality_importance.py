"""
==================================
Which modality does the model use?
==================================

:func:`~sklearn_mbm.inspection.modality_importance` is permutation
importance by modality: it shuffles one modality's column across the
records, keeping the others in place, and measures how much the score drops.
A model that relies on a modality loses accuracy when that modality no
longer matches the rest of the record.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)
from sklearn_mbm.inspection import modality_importance

digits = load_av_digits()
X, y = digits.data, digits.target

# Two speakers are held out: importance is measured on records the model has
# not seen, to show what it needs to generalise.
test = X["speaker"].isin(["jackson", "theo"]).to_numpy()
X_train, X_test, y_train, y_test = X[~test], X[test], y[~test], y[test]

model = make_pipeline(
    FusionTransformer(
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
    ),
    LogisticRegression(C=10),
)
model.fit(X_train, y_train)
print(f"accuracy on held-out speakers: {model.score(X_test, y_test):.3f}")

# %%
# The modalities are found from the fusion step of the pipeline.
result = modality_importance(
    model, X_test, y_test, n_repeats=10, random_state=0
)
for name, mean, std in zip(
    result.modalities, result.importances_mean, result.importances_std
):
    print(f"{name:>5}: accuracy drop {mean:.3f} +/- {std:.3f}")

# %%
fig, ax = plt.subplots(figsize=(5, 2.5))
ax.barh(
    result.modalities, result.importances_mean, xerr=result.importances_std
)
ax.invert_yaxis()
ax.set_xlabel("drop in accuracy when the modality is shuffled")
fig.tight_layout()

# %%
# The image matters most, then the audio; the text, noisier, least. Unlike
# fusion weights, these importances mean the same for any model: trees,
# late fusion or a neural network. They measure what this model relies on,
# not how much information a modality holds: a modality that duplicates
# another can be ignored by the model and show little importance.
