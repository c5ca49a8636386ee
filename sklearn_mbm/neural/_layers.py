"""Neural fusion's rules: the Keras fusion layers and the ``fusion`` options
as objects.

Keras cannot be imported when ``sklearn_mbm`` is, so the custom layers are
defined inside :func:`fusion_layers`, which imports Keras on first call and
caches the classes (registering them for ``.keras`` serialisation exactly
once, under the package name ``"sklearn_mbm"``).

Every fusion layer is called ``fusion(projections, present)`` (the
modalities' projections and their presence mask, see
:mod:`sklearn_mbm.neural._model`) and ignores absent modalities.
"""

import functools

import numpy as np

from sklearn_mbm._keras import import_keras


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

    class _WeightedFusion(keras.layers.Layer):
        """``sum_m w_m * p_m`` with the weights of ``modality_weights``
        (what the learned and attention fusions share)."""

        def call(self, projections, present):
            stacked = ops.stack(projections, axis=1)
            weights = self.modality_weights(projections, present)
            return ops.sum(stacked * ops.expand_dims(weights, -1), axis=1)

        def compute_output_shape(self, projections_shape, present_shape):
            return projections_shape[0]

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class LearnedWeightFusion(_WeightedFusion):
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

        def modality_weights(self, projections, present):
            """Per-sample weights, shape (n_samples, n_modalities); the
            projections are not used (one signature for every layer)."""
            scores = ops.broadcast_to(self.logits, ops.shape(present))
            return masked_softmax(scores, present)

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class AttentionFusion(_WeightedFusion):
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

    @keras.saving.register_keras_serializable(package="sklearn_mbm")
    class ModalityDropout(keras.layers.Layer):
        """Modality dropout on the presence mask, in training only.

        Each record loses one of its present modalities (chosen uniformly)
        with probability ``rate``; a record with one modality present keeps
        it. The fusion layer then ignores the lost modality as it ignores a
        missing one, so the network learns to predict from every subset of
        modalities and cannot lean on one alone. At inference the mask
        passes unchanged.
        """

        def __init__(self, rate, seed=None, **kwargs):
            super().__init__(**kwargs)
            self.rate = float(rate)
            self.seed = seed
            self.generator = keras.random.SeedGenerator(seed)

        def call(self, present, training=None):
            if not training or self.rate == 0:
                return present
            n, k = ops.shape(present)[0], ops.shape(present)[1]
            drop = keras.random.uniform((n, 1), seed=self.generator) < self.rate
            scores = (keras.random.uniform((n, k), seed=self.generator) + 1) * present
            victim = ops.one_hot(ops.argmax(scores, axis=1), k)
            several = ops.sum(present, axis=1, keepdims=True) > 1
            cut = ops.cast(ops.logical_and(drop, several), present.dtype) * victim
            return present * (1.0 - cut)

        def compute_output_shape(self, present_shape):
            return present_shape

        def get_config(self):
            return {**super().get_config(), "rate": self.rate, "seed": self.seed}

    return {
        "LearnedWeightFusion": LearnedWeightFusion,
        "AttentionFusion": AttentionFusion,
        "MaskedConcatFusion": MaskedConcatFusion,
        "ModalityDropout": ModalityDropout,
    }


def custom_objects():
    """The custom layers, for ``keras.saving.load_model(custom_objects=...)``."""
    from sklearn_mbm.neural._mel_cnn import mel_cnn_layers

    layers = {**fusion_layers(), **mel_cnn_layers()}
    return {f"sklearn_mbm>{k}": v for k, v in layers.items()}


class _NeuralRule:
    """Base of the ``fusion`` options of the neural estimators.

    A rule builds its fusion layer (:meth:`layer`) and says whether the
    layer weights the modalities (:attr:`weighted`, which makes
    ``fusion_weights_`` and ``predict_fusion_weights`` available); a weighted
    layer has ``modality_weights(projections, present)``. Adding a rule is
    one layer in :func:`fusion_layers`, one class here and one entry in
    :data:`NEURAL_FUSION`.
    """

    weighted = True

    def layer(self, estimator):
        raise NotImplementedError

    def fitted_weights(self, layer, row_weights):
        """The ``fusion_weights_`` values (one per modality, summing to 1)
        from the trained layer or the per-row weights (a callable)."""
        weights = row_weights().mean(axis=0)
        return weights / weights.sum()


class LearnedRule(_NeuralRule):
    """``sum_m softmax(a)_m * p_m`` with one trainable logit per modality."""

    def layer(self, estimator):
        return fusion_layers()["LearnedWeightFusion"](name="fusion")

    def fitted_weights(self, layer, row_weights):
        # the variable's own numpy(): convert_to_numpy on a Variable warns
        # under NumPy 2 ("__array__ implementation doesn't accept a copy")
        logits = np.array(layer.logits.numpy(), dtype=np.float64)
        weights = np.exp(logits - logits.max())
        return weights / weights.sum()


class AttentionRule(_NeuralRule):
    """A per-sample gate over the modalities; ``fusion_weights_`` is its
    mean over the training rows."""

    def layer(self, estimator):
        return fusion_layers()["AttentionFusion"](
            units=estimator.attention_units, name="fusion"
        )


class ConcatRule(_NeuralRule):
    """``[p_1, ..., p_k]``, absent modalities zeroed; no weights."""

    weighted = False

    def layer(self, estimator):
        return fusion_layers()["MaskedConcatFusion"](name="fusion")


#: The neural estimators' ``fusion`` options.
NEURAL_FUSION = {
    "learned": LearnedRule(),
    "attention": AttentionRule(),
    "concat": ConcatRule(),
}
