"""
===========================================
Few labels: self-training on fused features
===========================================

Labelling multimodal records is expensive. With most labels hidden,
:class:`~sklearn.semi_supervised.SelfTrainingClassifier` fits a classifier on
the labelled records, labels the unlabelled ones it is most confident about,
and refits, over and over. Here it runs on fused image, audio and text
features, with only a few labels per digit (unlabelled records have the
label ``-1``), and we see when it helps and when it hurts.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import SelfTrainingClassifier

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target.to_numpy()

# Two speakers are held out for testing.
test = X["speaker"].isin(["jackson", "theo"]).to_numpy()
X_train, X_test, y_train, y_test = X[~test], X[test], y[~test], y[test]

# %%
# The features are extracted once: the extractors need no labels, so the
# fusion step is fit on all training records, labelled or not.
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
    weights={"image": 1.0, "audio": 0.5, "text": 0.5},
    normalize="block",
)
Z_train = fusion.fit_transform(X_train)
Z_test = fusion.transform(X_test)
print(Z_train.shape)

# %%
# Hide most labels
# ----------------
# Keep ``n`` labels per digit and set the others to -1; compare a classifier
# trained on the labelled records alone with self-training on all of them.
rng = np.random.RandomState(0)
label_counts = (2, 5, 10, 20)
supervised, self_trained = [], []
for n in label_counts:
    y_partial = np.full_like(y_train, -1)
    for digit in range(10):
        rows = np.flatnonzero(y_train == digit)
        y_partial[rng.choice(rows, min(n, len(rows)), replace=False)] = digit
    labelled = y_partial != -1

    base = LogisticRegression(C=10)
    base.fit(Z_train[labelled], y_train[labelled])
    supervised.append(base.score(Z_test, y_test))

    self_training = SelfTrainingClassifier(
        LogisticRegression(C=10), threshold=0.5, max_iter=10
    )
    self_training.fit(Z_train, y_partial)
    self_trained.append(self_training.score(Z_test, y_test))
    print(
        f"{n:>2} labels per digit ({labelled.sum():>3} of {len(y_train)}): "
        f"labelled only {supervised[-1]:.3f}, "
        f"self-training {self_trained[-1]:.3f}"
    )

# %%
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.plot(label_counts, supervised, marker="o", label="labelled records only")
ax.plot(label_counts, self_trained, marker="o", label="self-training")
ax.set_xscale("log")
ax.set_xticks(label_counts, [str(n) for n in label_counts])
ax.set_xlabel("labels per digit")
ax.set_ylabel("accuracy on held-out speakers")
ax.legend()
fig.tight_layout()

# %%
# Self-training is only as good as its first classifier. With two labels per
# digit, that classifier is often wrong, and its confident mistakes become
# training labels: self-training does worse than the labelled records alone.
# With five or ten labels per digit, most confident predictions are right
# (fused features help: a record whose image is ambiguous may have a clear
# voice), and the unlabelled records improve the classifier. With many
# labels there is little left to gain. Check on held-out data before relying
# on it, and raise ``threshold`` to add fewer, surer pseudo-labels.
