"""
===========================================
A neural network that learns fusion weights
===========================================

Instead of searching a grid of fusion weights, let a network learn them.
:class:`~sklearn_mbm.NeuralFusionClassifier` extracts each modality's
features as :class:`~sklearn_mbm.FusionTransformer` does, projects each
block to a common width, and fuses the projections before a small dense
classifier:

- ``fusion="learned"``: ``sum_m a_m p_m`` with ``a = softmax(logits)``, one
  trainable weight per modality: the ``a, b, c`` of
  ``Y = a*X_image + b*X_text + c*X_audio``, learned by gradient descent;
- ``fusion="attention"``: a per-sample gate, so each record gets its own
  weights;
- ``fusion="concat"``: the projections side by side.

TensorFlow is imported when the model is first fit.
"""

# %%
import matplotlib.pyplot as plt
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_mbm import (
    AudioFeatureExtractor,
    ImageFeatureExtractor,
    NeuralFusionClassifier,
    TextFeatureExtractor,
    load_av_digits,
)

digits = load_av_digits()
X, y = digits.data, digits.target
epochs = 60

# Two speakers are held out for testing.
test = X["speaker"].isin(["jackson", "theo"]).to_numpy()
X_train, X_test, y_train, y_test = X[~test], X[test], y[~test], y[test]

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

# %%
# Learned weights
# ---------------
# The extractors are fit once and frozen; the projections, the fusion weights
# and the classifier are trained together, with early stopping on a
# validation split of the training rows.
model = NeuralFusionClassifier(
    transformers,
    fusion="learned",
    hidden_units=(64,),
    epochs=epochs,
    random_state=0,
)
model.fit(X_train, y_train)
print(f"learned fusion: held-out accuracy {model.score(X_test, y_test):.3f}")
print(
    "learned weights:",
    {k: round(v, 3) for k, v in model.fusion_weights_.items()},
)

# %%
# The training history (``history_``) shows the loss on the training rows
# and on the validation split.
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(model.history_["loss"], label="training")
ax.plot(model.history_["val_loss"], label="validation")
ax.set_xlabel("epoch")
ax.set_ylabel("loss")
ax.legend()
fig.tight_layout()

# %%
# Other fusion layers
# -------------------
for fusion in ("attention", "concat"):
    other = NeuralFusionClassifier(
        transformers,
        fusion=fusion,
        hidden_units=(64,),
        epochs=epochs,
        random_state=0,
    ).fit(X_train, y_train)
    print(f"{fusion:>9} fusion: accuracy {other.score(X_test, y_test):.3f}")
    if other.fusion_weights_ is not None:
        weights = {k: round(v, 3) for k, v in other.fusion_weights_.items()}
        print("  mean gate over the training rows:", weights)

# %%
# The learned weights play the role of the grid-searched weights of
# :ref:`sphx_glr_auto_examples_fusion_plot_tune_fusion_weights.py`, at the
# cost of one training run instead of one fit per candidate. They move at the
# optimiser's pace (Adam changes each logit by about ``learning_rate`` per
# step), so after a short training they stay close to 1/3: read them as a
# ranking of the modalities, not as calibrated shares. They also multiply
# learned projections whose norms the network adapts too. To measure how much
# the model relies on each modality, use
# :func:`~sklearn_mbm.inspection.modality_importance`.
#
# ``NeuralFusionClassifier`` is a scikit-learn classifier: it clones, pickles,
# and works in ``cross_val_score`` or ``GridSearchCV`` (for instance over
# ``fusion`` or ``hidden_units``).
