"""Keras side of :class:`~sklearn_mbm.NeuralFusionClassifier` and
:class:`~sklearn_mbm.NeuralFusionRegressor`: fusion layers and the model
builder.

Keras cannot be imported when ``sklearn_mbm`` is, so the custom layers are
defined inside :func:`fusion_layers`, which imports Keras on first call and
caches the classes (registering them for ``.keras`` serialisation exactly
once, under the package name ``"sklearn_mbm"``).

The model takes one input per modality (a float block, or a string column
for a trainable ``"rnn"`` text branch) plus a ``(n_samples, n_modalities)``
float mask that is 1 where the modality is present. Each modality is
projected to a common width; the fusion layer mixes the projections while
ignoring absent modalities (a masked softmax renormalises the weights of the
present ones per sample); hidden layers and a head follow (softmax for
classification, linear for regression).
"""

import functools

from sklearn_mbm._keras import import_keras

#: Name of the model input that carries the presence mask. Modality names
#: cannot contain ``"__"`` (see ``_routing.check_unique_names``), so it
#: cannot clash with a modality.
PRESENT_INPUT = "present__mask"


@functools.cache
def fusion_layers():
    """Define (once) and return the custom fusion layers as a dict by name."""
    keras = import_keras()
    ops = keras.ops

    def masked_softmax(scores, present):
        """Softmax over the last axis restricted to ``present`` entries.

        A sample with no modality present gets all-zero weights (not NaN), so
        its fused vector is zero and the head falls back to its biases.
        """
        scores = ops.where(present > 0, scores, ops.full_like(scores, -1e9))
        scores = scores - ops.max(scores, axis=-1, keepdims=True)
        weights = ops.exp(scores) * present
        total = ops.sum(weights, axis=-1, keepdims=True)
        return weights / ops.maximum(total, 1e-12)

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class LearnedWeightFusion(keras.layers.Layer):
        """Weighted sum of projections with trainable softmax-normalised weights.

        ``fused = sum_m w_m * p_m`` with ``w = softmax(logits)`` restricted to
        the modalities present in each sample. The logits start at zero
        (equal weights).
        """

        def build(self, projections_shape, present_shape):
            self.logits = self.add_weight(
                name="logits",
                shape=(len(projections_shape),),
                initializer="zeros",
                trainable=True,
            )

        def modality_weights(self, present):
            """Per-sample weights, shape (n_samples, n_modalities)."""
            scores = ops.broadcast_to(self.logits, ops.shape(present))
            return masked_softmax(scores, present)

        def call(self, projections, present):
            stacked = ops.stack(projections, axis=1)
            weights = self.modality_weights(present)
            return ops.sum(stacked * ops.expand_dims(weights, -1), axis=1)

        def compute_output_shape(self, projections_shape, present_shape):
            return projections_shape[0]

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class AttentionFusion(keras.layers.Layer):
        """Per-sample attention gate over modalities.

        A small shared scorer ``v . tanh(W p_m + b)`` rates each projection;
        a masked softmax over the present modalities turns the scores into
        the sample's weights.
        """

        def __init__(self, units=32, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.score_hidden = keras.layers.Dense(
                units, activation="tanh", name="score_hidden"
            )
            self.score_out = keras.layers.Dense(1, use_bias=False, name="score_out")

        def build(self, projections_shape, present_shape):
            width = projections_shape[0][-1]
            self.score_hidden.build((None, len(projections_shape), width))
            self.score_out.build((None, len(projections_shape), self.units))

        def modality_weights(self, projections, present):
            """Per-sample weights, shape (n_samples, n_modalities)."""
            stacked = ops.stack(projections, axis=1)
            scores = ops.squeeze(self.score_out(self.score_hidden(stacked)), -1)
            return masked_softmax(scores, present)

        def call(self, projections, present):
            stacked = ops.stack(projections, axis=1)
            weights = self.modality_weights(projections, present)
            return ops.sum(stacked * ops.expand_dims(weights, -1), axis=1)

        def compute_output_shape(self, projections_shape, present_shape):
            return projections_shape[0]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class MaskedConcatFusion(keras.layers.Layer):
        """Concatenation of projections, absent modalities zeroed.

        A projection of an all-zero block is not zero (biases), so absent
        modalities are multiplied by their mask rather than left to the
        extractor's zero fill.
        """

        def call(self, projections, present):
            return ops.concatenate(
                [p * present[:, m : m + 1] for m, p in enumerate(projections)],
                axis=-1,
            )

        def compute_output_shape(self, projections_shape, present_shape):
            width = sum(shape[-1] for shape in projections_shape)
            return (*projections_shape[0][:-1], width)

    return {
        "LearnedWeightFusion": LearnedWeightFusion,
        "AttentionFusion": AttentionFusion,
        "MaskedConcatFusion": MaskedConcatFusion,
    }


def custom_objects():
    """The custom layers, for ``keras.saving.load_model(custom_objects=...)``."""
    return {f"sklearn_mbm>{k}": v for k, v in fusion_layers().items()}


def build_rnn_branch(keras, text_input, texts, *, index, params):
    """Vectorise, embed and encode a raw text input with a bidirectional GRU.

    The vocabulary is adapted on ``texts`` (the training column) here, before
    the model is trained, so it is part of the model's saved state.
    """
    vectorize = keras.layers.TextVectorization(
        max_tokens=params["max_tokens"],
        output_sequence_length=params["sequence_length"],
        name=f"modality_{index}_vectorize",
    )
    vectorize.adapt(texts, batch_size=256)
    tokens = vectorize(text_input)
    embedded = keras.layers.Embedding(
        input_dim=vectorize.vocabulary_size(),
        output_dim=params["embedding_dim"],
        mask_zero=True,
        name=f"modality_{index}_embedding",
    )(tokens)
    return keras.layers.Bidirectional(
        keras.layers.GRU(params["units"]), name=f"modality_{index}_gru"
    )(embedded)


def _freeze_batch_norm(keras, layer):
    """Set ``trainable=False`` on every BatchNormalization inside ``layer``."""
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
    for sub in getattr(layer, "layers", ()):
        _freeze_batch_norm(keras, sub)


def build_image_branch(keras, image_input, backbone, *, index, pooling):
    """A trainable copy of a Keras image backbone, pooled to a vector.

    The copy keeps the extractor's own backbone untouched. Its
    batch-normalisation layers are frozen, which in Keras also runs them in
    inference mode (moving statistics): the usual recipe for fine-tuning on
    small data. A ``training=False`` call argument would not do: a
    functional model passes the outer ``training`` flag on to nested
    models, so batch statistics would be used in ``fit`` and moving ones in
    ``predict``. Every other weight is trained.
    """
    copy = keras.models.clone_model(backbone)
    copy.set_weights(backbone.get_weights())
    copy.trainable = True
    _freeze_batch_norm(keras, copy)
    copy.name = f"modality_{index}_backbone"
    features = copy(image_input)
    rank = len(features.shape)
    if rank == 4 and pooling in ("avg", "max"):
        layer = (
            keras.layers.GlobalAveragePooling2D
            if pooling == "avg"
            else keras.layers.GlobalMaxPooling2D
        )
        features = layer(name=f"modality_{index}_pool")(features)
    elif rank > 2:
        features = keras.layers.Flatten(name=f"modality_{index}_flatten")(features)
    return features


def build_model(
    specs,
    *,
    n_outputs,
    output_activation,
    fusion,
    projection_units,
    attention_units,
    hidden_units,
    dropout,
    rnn_params,
):
    """Build the uncompiled fusion model.

    Parameters
    ----------
    specs : list of dict
        One per modality, in transformer order: ``{"kind": "block", "width":
        int}`` for a numeric block, ``{"kind": "rnn", "texts": ndarray of
        str}`` for a raw text column (its vocabulary is adapted on
        ``texts``), or ``{"kind": "image", "shape": (H, W, C), "backbone":
        keras.Model, "pooling": str or None}`` for raw images through a
        trainable copy of the backbone.
    n_outputs : int
        Units of the head: the number of classes, or of targets.
    output_activation : {"softmax"} or None
        Activation of the head: ``"softmax"`` for class probabilities, None
        for a linear (regression) head.
    fusion : {"learned", "concat", "attention"}
    projection_units : int
        Common width of the per-modality projections.
    attention_units : int
        Width of the attention scorer (``fusion="attention"`` only).
    hidden_units : tuple of int
    dropout : float
    rnn_params : dict
        ``max_tokens``, ``sequence_length``, ``embedding_dim``, ``units``.

    Returns
    -------
    model : keras.Model
        Inputs ``[modality_0, ..., modality_{k-1}, present__mask]``; output
        the head's ``(n_samples, n_outputs)``. The fusion layer is named ``"fusion"``.
    """
    keras = import_keras()
    layers = fusion_layers()
    inputs, projections = [], []
    for index, spec in enumerate(specs):
        if spec["kind"] == "rnn":
            inp = keras.Input(shape=(), dtype="string", name=f"modality_{index}")
            encoded = build_rnn_branch(
                keras, inp, spec["texts"], index=index, params=rnn_params
            )
        elif spec["kind"] == "image":
            inp = keras.Input(shape=tuple(spec["shape"]), name=f"modality_{index}")
            encoded = build_image_branch(
                keras, inp, spec["backbone"], index=index, pooling=spec["pooling"]
            )
        else:
            inp = keras.Input(shape=(spec["width"],), name=f"modality_{index}")
            encoded = inp
        inputs.append(inp)
        projections.append(
            keras.layers.Dense(
                projection_units,
                activation="relu",
                name=f"modality_{index}_projection",
            )(encoded)
        )
    present = keras.Input(shape=(len(specs),), name=PRESENT_INPUT)
    if fusion == "learned":
        fusion_layer = layers["LearnedWeightFusion"](name="fusion")
    elif fusion == "attention":
        fusion_layer = layers["AttentionFusion"](units=attention_units, name="fusion")
    else:
        fusion_layer = layers["MaskedConcatFusion"](name="fusion")
    x = fusion_layer(projections, present)
    for i, units in enumerate(hidden_units):
        x = keras.layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)
        if dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    outputs = keras.layers.Dense(n_outputs, activation=output_activation, name="head")(
        x
    )
    return keras.Model([*inputs, present], outputs, name="neural_fusion")
