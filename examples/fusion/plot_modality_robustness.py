"""
=====================================================
Early, late and neural fusion when a modality fails
=====================================================

A multimodal model should not collapse when one sensor breaks. We train
three models of the audio-visual digits on four speakers and test them on
two others:

- **early fusion**: the three extractors' features side by side
  (:class:`~sklearn_mbm.FusionTransformer`) and one logistic regression;
- **late fusion**: one logistic regression per modality, their
  probabilities averaged (:class:`~sklearn_mbm.LateFusionClassifier`);
- **neural fusion**: one network with a trainable branch per modality, an
  image CNN, a text RNN and a speech network over log-mel frames, fused by
  learned weights (:class:`~sklearn_mbm.NeuralFusionClassifier`), trained
  with its default modality dropout and auxiliary per-modality losses.

:func:`~sklearn_mbm.inspection.modality_robustness` then scores each model
with every modality removed, and corrupted at three levels: Gaussian noise
on the pixels and on the waveforms, words dropped from the transcripts.
"""

# %%
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    FusionTransformer,
    ImageFeatureExtractor,
    LateFusionClassifier,
    NeuralFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)
from sklearn_mbm.inspection import modality_robustness
from sklearn_mbm.plotting import plot_modality_robustness

digits = load_av_digits()  # 600 records, 6 speakers
X, y = digits.data, digits.target
test = X["speaker"].isin(["george", "lucas"]).to_numpy()
X_train, X_test, y_train, y_test = X[~test], X[test], y[~test], y[test]


def extractors():
    return {
        "image": ImageFeatureExtractor(backbone="pixels"),
        "audio": make_pipeline(
            AudioFeatureExtractor(sr=8000, input_sr=digits.audio_sr),
            StandardScaler(),
        ),
        "text": TextFeatureExtractor(analyzer="char_wb", ngram_range=(2, 3)),
    }


# %%
# Three models
# ------------
# The neural model is one line: a slot string per modality picks a branch
# trained from scratch with the rest of the network.
early = make_pipeline(
    FusionTransformer(
        [(name, ext, name) for name, ext in extractors().items()],
        missing="zero",
    ),
    LogisticRegression(max_iter=1000),
)
late = LateFusionClassifier(
    [
        (name, make_pipeline(ext, LogisticRegression(max_iter=1000)), name)
        for name, ext in extractors().items()
    ]
)
neural = NeuralFusionClassifier(
    [
        ("image", "cnn", "image"),
        ("audio", "mel_cnn", "audio"),
        ("text", "rnn", "text"),
    ],
    mel_sr=8000,
    mel_input_sr=digits.audio_sr,
    epochs=10,
    random_state=0,
)
models = {"early": early, "late": late, "neural": neural}
for name, model in models.items():
    model.fit(X_train, y_train)
    print(f"{name:>6}: held-out accuracy {model.score(X_test, y_test):.3f}")

# %%
# Robustness
# ----------
# The same seeded corruptions for every model.
results = {
    name: modality_robustness(model, X_test, y_test, random_state=0)
    for name, model in models.items()
}
print(results["neural"].frame.round(3).to_string(index=False))
plot_modality_robustness(results, title="held-out speakers")

# %%
# Reading the plot: early fusion is the most fragile to pixel noise (one
# linear model over all the features, dominated by the 784 pixels); late
# fusion degrades gracefully by construction, each modality having its own
# classifier. The neural model scores best on clean data and keeps its
# score under audio noise, word dropout and moderate pixel noise: it is
# trained with modality dropout (records lose a modality at random during
# training) and an auxiliary loss on each branch, so each branch learns to
# classify on its own. Here, with 400 training records and 10 epochs, its
# speech and text branches trained from scratch are still weaker than the
# logistic regressions on engineered features, so removing the images costs
# it more than it costs late fusion. On the full data set (2,000 training
# records, see :ref:`neural`) the same defaults keep 0.791 without the
# images, above the speech branch alone (0.741).
