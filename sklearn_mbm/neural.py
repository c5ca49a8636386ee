"""Neural fusion: a Keras model that learns how much each modality counts.

:class:`NeuralFusionClassifier` and :class:`NeuralFusionRegressor` route each
modality's column through its (frozen) extractor as
:class:`~sklearn_mbm.FusionTransformer` does, or through a trainable text
branch (``"rnn"``), project every modality to a common width, fuse the
projections (learned softmax weights, concatenation or a per-sample attention
gate, always ignoring missing modalities) and train hidden layers and a head
on top: softmax for the classifier, linear for the regressor. What they share
(routing, extraction, model building, training, fusion weights, pickling)
lives in :class:`_BaseNeuralFusion`, as scikit-learn's ``MLPClassifier`` and
``MLPRegressor`` share ``BaseMultilayerPerceptron``.

TensorFlow is imported only when a model is built, trained, used or
unpickled; the Keras side lives in :mod:`sklearn_mbm._neural_model`.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin, clone
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from sklearn_mbm import _keras
from sklearn_mbm._compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _fit_context,
    _num_samples,
)
from sklearn_mbm._composition import ModalityComposition
from sklearn_mbm._io import cell_error_message
from sklearn_mbm._neural_model import PRESENT_INPUT, build_model, custom_objects
from sklearn_mbm._routing import present_rows, resolve_column, select_column
from sklearn_mbm.fusion import FusionTransformer

__all__ = ["NeuralFusionClassifier", "NeuralFusionRegressor"]

#: Transformer slot value for the trainable text branch.
RNN = "rnn"

#: The values of ``missing`` that fill a missing cell, for the error that
#: ``missing="raise"`` gives.
_MISSING_FILLS = ("zero",)


def _check_hidden_units(hidden_units):
    """``hidden_units`` as a tuple of positive ints (an int is one layer)."""
    if isinstance(hidden_units, Integral) and not isinstance(hidden_units, bool):
        hidden_units = (hidden_units,)
    try:
        units = tuple(hidden_units)
    except TypeError:
        units = None
    if units is None or not all(
        isinstance(u, Integral) and not isinstance(u, bool) and u >= 1 for u in units
    ):
        raise ValueError(
            "hidden_units must be a sequence of positive ints (one per hidden "
            f"layer; () for none), got {hidden_units!r}."
        )
    return tuple(int(u) for u in units)


def _is_keras_image_extractor(transformer):
    """An image extractor with a Keras backbone (duck-typed on the
    ``backbone`` parameter of :class:`~sklearn_mbm.ImageFeatureExtractor`,
    so that this module does not import the image module)."""
    if isinstance(transformer, str) or not hasattr(transformer, "get_params"):
        return False
    params = transformer.get_params(deep=False)
    if "backbone" not in params:
        return False
    backbone = params["backbone"]
    return not (isinstance(backbone, str) and backbone == "pixels")


def _seed_from(random_state):
    """An int seed for Keras/TF from an int or RandomState; None stays None."""
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _images(extractor, cells, present):
    """Raw images of a fine-tuned modality as its fitted extractor feeds its
    network (zeros where the cell is missing), shape (n, H, W, C)."""
    height, width = extractor.input_size_
    images = np.zeros(
        (len(cells), height, width, extractor.n_channels_), dtype=np.float32
    )
    for index in np.flatnonzero(present):
        images[index] = extractor._network_input(cells[index], int(index))
    return images


def _texts(cells, present, name, key):
    """The raw texts of an ``"rnn"`` modality ("" where missing)."""
    texts = []
    for i, (cell, here) in enumerate(zip(cells, present)):
        if not here:
            texts.append("")
        elif isinstance(cell, str):
            texts.append(cell)
        else:
            raise TypeError(
                f"Modality {name!r} (column {key!r}), "
                + cell_error_message(i, cell, "the 'rnn' branch needs a str.")
            )
    return np.asarray(texts, dtype=str)


_NETWORK_PARAMETERS = """\
    transformers : list of (str, transformer, "passthrough" or "rnn", column)
        ``column`` is a column name or integer index, a list of them (a 2-D
        block), or a callable returning those; ``"rnn"`` needs a single
        column of str. Names must be unique and must not contain ``"__"``.

    fusion : {"learned", "concat", "attention"}, default="learned"
        How the modality projections are fused (see above).

    hidden_units : tuple of int, default=(128,)
        Width of each hidden Dense layer after the fusion; ``()`` for none.

    dropout : float, default=0.2
        Dropout rate after each hidden layer, in ``[0, 1)``.

    epochs : int, default=50
        Maximum number of passes over the training data.

    batch_size : int, default=32
        Samples per gradient step (and per batch at prediction).

    learning_rate : float, default=1e-3
        Learning rate of the Adam optimiser.

    validation_fraction : float, default=0.1
        Fraction of the training data held out (stratified by class for
        the classifier, when possible) to monitor ``val_loss`` for early
        stopping. Only used when ``early_stopping=True``; with 0, early
        stopping monitors the training loss instead.

    early_stopping : bool, default=True
        Stop when the monitored loss has not improved for ``patience`` epochs
        and restore the weights of the best epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds Python, NumPy and TensorFlow (through
        ``keras.utils.set_random_seed``, which also reseeds NumPy's and
        Python's global generators), the validation split and the shuffling,
        so that training on CPU is reproducible. None leaves the seeds alone.

    verbose : int, default=0
        Keras's training verbosity (0 silent, 1 progress bar, 2 one line per
        epoch).

    projection_units : int, default=64
        Common width every modality is projected to.

    attention_units : int, default=32
        Width of the attention scorer (``fusion="attention"`` only).

    patience : int, default=10
        Epochs without improvement before early stopping.

"""

_INPUT_PARAMETERS = """\
    normalize : {"standard", "l2", "block"} or None, default="standard"
        Normaliser of each extracted block, as in
        :class:`~sklearn_mbm.FusionTransformer`.

    missing : {"zero", "raise"}, default="zero"
        ``"zero"`` masks a missing modality out of the sample's fusion (see
        above); ``"raise"`` raises a ValueError naming the row and modality.

    rnn_max_tokens : int, default=10000
        Vocabulary size of an ``"rnn"`` text branch (including the padding
        and out-of-vocabulary tokens).

    rnn_sequence_length : int, default=64
        Tokens kept per text (longer texts are cut, shorter ones padded).

    rnn_embedding_dim : int, default=32
        Width of the token embedding.

    rnn_units : int, default=32
        Units of the GRU in each direction.

    fine_tune : bool, default=False
        Train Keras image backbones end to end. With True, every modality
        whose transformer is an :class:`~sklearn_mbm.ImageFeatureExtractor`
        with a Keras backbone (not ``"pixels"``) feeds raw images, decoded
        and preprocessed as the extractor does, through a trainable copy of
        the backbone (batch normalisation kept in inference mode) instead of
        frozen features. All training images are held in memory, so keep
        ``input_size`` small. Other transformers stay frozen.

    run_eagerly : bool, default=False
        Train with Keras's eager execution instead of a compiled
        ``tf.function``. Each step is slower, but the roughly one second of
        graph tracing per fit is skipped: worth it only for tiny data sets
        and few epochs (tests, smoke runs). The same choice applies to
        prediction: False traces one inference function per fitted model
        (on its first call), True calls the model eagerly.

"""


def _shared_parameter_docs(cls):
    """Put the parameters both estimators share into ``cls``'s docstring."""
    cls.__doc__ = cls.__doc__.replace(
        "    {network_parameters}\n", _NETWORK_PARAMETERS
    ).replace("    {input_parameters}\n", _INPUT_PARAMETERS)
    return cls


class _BaseNeuralFusion(ModalityComposition):
    """What NeuralFusionClassifier and NeuralFusionRegressor share.

    The data are routed once: ``fit`` checks ``X`` (``_check_table``),
    resolves every modality's column (``_keys``, reused at predict time),
    hands the frozen modalities to one internal FusionTransformer on the
    checked table and reads the ``"rnn"`` and fine-tuned image columns
    itself; ``transformers_`` is set in one place (``_extract``).

    Subclasses extend ``_parameter_constraints``, turn ``y`` into training
    targets (``_check_target``), may weight samples (``_loss_weights``),
    and give the head (``_head``), the loss and metrics (``_compile_args``).
    ``fit`` and ``predict`` stay in the subclasses, for their docstrings.
    """

    _parameter_constraints = {
        "transformers": [list],
        "fusion": [StrOptions({"learned", "concat", "attention"})],
        "hidden_units": ["array-like", Interval(Integral, 1, None, closed="left")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "validation_fraction": [Interval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "projection_units": [Interval(Integral, 1, None, closed="left")],
        "attention_units": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "normalize": [StrOptions({"standard", "l2", "block"}), None],
        "missing": [StrOptions({"zero", "raise"})],
        "rnn_max_tokens": [Interval(Integral, 3, None, closed="left")],
        "rnn_sequence_length": [Interval(Integral, 1, None, closed="left")],
        "rnn_embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "rnn_units": [Interval(Integral, 1, None, closed="left")],
        "fine_tune": ["boolean"],
        "run_eagerly": ["boolean"],
    }

    #: What ``y`` holds, for the error when it is None.
    _target_description = "targets"

    def __init__(
        self,
        transformers,
        *,
        fusion,
        hidden_units,
        dropout,
        epochs,
        batch_size,
        learning_rate,
        validation_fraction,
        early_stopping,
        random_state,
        verbose,
        projection_units,
        attention_units,
        patience,
        normalize,
        missing,
        rnn_max_tokens,
        rnn_sequence_length,
        rnn_embedding_dim,
        rnn_units,
        fine_tune,
        run_eagerly,
    ):
        self.transformers = transformers
        self.fusion = fusion
        self.hidden_units = hidden_units
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.random_state = random_state
        self.verbose = verbose
        self.projection_units = projection_units
        self.attention_units = attention_units
        self.patience = patience
        self.normalize = normalize
        self.missing = missing
        self.rnn_max_tokens = rnn_max_tokens
        self.rnn_sequence_length = rnn_sequence_length
        self.rnn_embedding_dim = rnn_embedding_dim
        self.rnn_units = rnn_units
        self.fine_tune = fine_tune
        self.run_eagerly = run_eagerly

    # -- validation -----------------------------------------------------------

    def _check_specs(self):
        """Validate ``transformers``; return the names and the branch kinds
        (``"frozen"``, ``"rnn"`` or ``"image"``)."""
        names = self._check_spec_names()
        kinds = []
        for _, transformer, _ in self.transformers:
            if isinstance(transformer, str) and transformer == RNN:
                kinds.append("rnn")
            elif self.fine_tune and _is_keras_image_extractor(transformer):
                kinds.append("image")
            else:
                kinds.append("frozen")
        if self.fine_tune and "image" not in kinds:
            raise ValueError(
                "fine_tune=True needs at least one ImageFeatureExtractor with a "
                "Keras backbone (not 'pixels') among the transformers."
            )
        return names, kinds

    # -- routing and extraction -------------------------------------------------

    def _raw_cells(self, X, name, key, scalar, what):
        """One column of raw cells (1-D array) and its presence mask."""
        if not scalar:
            raise ValueError(
                f"Modality {name!r} is {what} and needs a single column of "
                f"cells, got the block {key!r}."
            )
        column = select_column(X, key)
        present = present_rows(
            column, key=key, name=name, missing=self.missing, fills=_MISSING_FILLS
        )
        cells = column.to_numpy() if hasattr(column, "to_numpy") else column
        return np.asarray(cells), present

    def _used_columns(self):
        """Column keys the fitted modalities read, as resolved by ``fit``."""
        return [key for key, _ in self._keys]

    def _extract(self, X, y, fit):
        """Model inputs (list, transformer order) and presence (n, k) float32
        of a checked table ``X``.

        With ``fit=True``, resolves the columns, fits the extractors (the
        frozen ones in one FusionTransformer, the fine-tuned image ones on
        their present cells) and sets ``transformers_``.
        """
        kinds = self._route_kinds
        if fit:
            self._keys = [
                resolve_column(X, column, name=name)
                for name, _, column in self.transformers
            ]
            frozen = [
                spec for spec, kind in zip(self.transformers, kinds) if kind == "frozen"
            ]
            self.fusion_transformer_ = None
            if frozen:
                self.fusion_transformer_ = FusionTransformer(
                    frozen,
                    method="concat",
                    normalize=self.normalize,
                    missing=self.missing,
                )
                self.fusion_transformer_._missing_fills = _MISSING_FILLS
        ft = self.fusion_transformer_
        if ft is not None:
            if fit:
                routes = {
                    name: keys
                    for (name, _, _), keys in zip(self.transformers, self._keys)
                }
                blocks, present = ft._fit_checked(X, y, routes)
            else:
                blocks, present = ft._transform_checked(X)
            frozen_blocks = iter(zip(blocks, present))
        specs = self.transformers if fit else self.transformers_
        fitted, inputs, masks = {}, [], []
        for (name, transformer, _), kind, (key, scalar) in zip(
            specs, kinds, self._keys
        ):
            if kind == "frozen":
                block, here = next(frozen_blocks)
                inputs.append(block.astype(np.float32))
            elif kind == "rnn":
                cells, here = self._raw_cells(
                    X, name, key, scalar, "an 'rnn' text branch"
                )
                inputs.append(_texts(cells, here, name, key))
            else:
                cells, here = self._raw_cells(
                    X, name, key, scalar, "a fine-tuned image branch"
                )
                if fit:
                    transformer = fitted[name] = clone(transformer).fit(cells[here])
                inputs.append(_images(transformer, cells, here))
            masks.append(here)
        if fit:
            if ft is not None:
                fitted.update(ft.named_transformers_)
            self.transformers_ = [
                (name, fitted.get(name, transformer), column)
                for name, transformer, column in self.transformers
            ]
        return inputs, np.column_stack(masks).astype(np.float32)

    # -- training -----------------------------------------------------------------

    def _loss_weights(self, y_train, sample_weight):
        """Per-sample weights of the loss (the checked ``sample_weight``)."""
        return sample_weight

    def _split(self, n_samples, y_encoded, seed):
        """Train and validation row indices (validation empty if not used);
        stratified on ``y_encoded`` when it is not None and that is possible."""
        rows = np.arange(n_samples)
        if not self.early_stopping or self.validation_fraction == 0:
            return rows, rows[:0]
        n_val = math.ceil(self.validation_fraction * n_samples)
        if n_val < 1 or n_samples - n_val < 1:
            return rows, rows[:0]
        try:
            return train_test_split(
                rows, test_size=n_val, stratify=y_encoded, random_state=seed
            )
        except ValueError:  # a class too small to stratify
            return train_test_split(rows, test_size=n_val, random_state=seed)

    def _dataset(self, inputs, present, y, sample_weight, seed):
        """A shuffled, batched ``tf.data`` pipeline of training rows.

        Built here rather than left to ``model.fit`` because Keras's array
        adapter rejects string columns (the ``"rnn"`` texts), and so that the
        shuffling is seeded with ``random_state``.
        """
        tf = _keras.import_tensorflow()
        features = self._feature_dict(inputs, present)
        dataset = tf.data.Dataset.from_tensor_slices((features, y, sample_weight))
        dataset = dataset.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
        return dataset.batch(self.batch_size)

    @staticmethod
    def _feature_dict(inputs, present):
        features = {f"modality_{i}": block for i, block in enumerate(inputs)}
        features[PRESENT_INPUT] = present
        return features

    def _build_model(self, inputs, train_rows):
        specs = []
        for block, kind, (_, fitted, _) in zip(
            inputs, self._route_kinds, self.transformers_
        ):
            if kind == "rnn":
                specs.append({"kind": "rnn", "texts": block[train_rows]})
            elif kind == "image":
                specs.append(
                    {
                        "kind": "image",
                        "shape": block.shape[1:],
                        "backbone": fitted.model_,
                        "pooling": fitted.pooling,
                    }
                )
            else:
                specs.append({"kind": "block", "width": block.shape[1]})
        n_outputs, activation = self._head()
        return build_model(
            specs,
            n_outputs=n_outputs,
            output_activation=activation,
            fusion=self.fusion,
            projection_units=self.projection_units,
            attention_units=self.attention_units,
            hidden_units=_check_hidden_units(self.hidden_units),
            dropout=self.dropout,
            rnn_params={
                "max_tokens": self.rnn_max_tokens,
                "sequence_length": self.rnn_sequence_length,
                "embedding_dim": self.rnn_embedding_dim,
                "units": self.rnn_units,
            },
        )

    def _fit(self, X, y, sample_weight):
        """Check the data, extract every modality, build and train the model."""
        _check_hidden_units(self.hidden_units)
        X = self._check_table(X, reset=True)
        names, kinds = self._check_specs()
        if y is None:
            raise ValueError(
                "requires y to be passed, but the target y is None. "
                f"{type(self).__name__} needs {self._target_description}."
            )
        if _num_samples(y) != X.shape[0]:
            raise ValueError(
                f"X has {X.shape[0]} samples but y has {_num_samples(y)}; they "
                "must match."
            )
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        y_train, stratify = self._check_target(y, sample_weight)
        weights = self._loss_weights(y_train, sample_weight).astype(np.float32)

        self._route_names, self._route_kinds = names, kinds
        inputs, present = self._extract(X, y, fit=True)

        seed = _seed_from(self.random_state)
        _keras.set_random_seed(seed)
        train, val = self._split(X.shape[0], stratify, seed)
        keras = _keras.import_keras()
        model = self._build_model(inputs, train)
        loss, metrics = self._compile_args(keras)
        model.compile(
            run_eagerly=self.run_eagerly,
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss=loss,
            weighted_metrics=metrics,
        )

        def rows(r):
            return [block[r] for block in inputs], present[r]

        train_data = self._dataset(*rows(train), y_train[train], weights[train], seed)
        val_data = None
        if len(val):
            val_data = self._dataset(*rows(val), y_train[val], weights[val], seed)
        callbacks = []
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss" if val_data is not None else "loss",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        history = model.fit(
            train_data,
            validation_data=val_data,
            epochs=self.epochs,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles each epoch (seeded)
            verbose=self.verbose,
        )
        self.model_ = model
        self._predict_fn = _keras.make_predict_function(model, eager=self.run_eagerly)
        self.history_ = {
            key: [float(v) for v in values] for key, values in history.history.items()
        }
        self.n_iter_ = len(self.history_["loss"])
        self.fusion_weights_ = self._fusion_weights(inputs, present)
        return self

    # -- prediction --------------------------------------------------------------

    def _batches(self, inputs, present):
        """Yield feature dicts of at most ``max(batch_size, 256)`` rows as
        tensors (string columns need TF string tensors)."""
        tf = _keras.import_tensorflow()
        features = self._feature_dict(inputs, present)
        step = max(self.batch_size, 256)
        for start in range(0, len(present), step):
            yield {
                key: tf.convert_to_tensor(value[start : start + step])
                for key, value in features.items()
            }

    def _checked_inputs(self, X):
        """Model inputs and presence of predict-time ``X``."""
        check_is_fitted(self)
        X = self._check_table(X, reset=False, columns=self._used_columns())
        return self._extract(X, None, fit=False)

    def _predict_outputs(self, X):
        """The network's outputs for ``X``, float64 (n_samples, n_outputs)."""
        inputs, present = self._checked_inputs(X)
        out = [self._predict_fn(batch) for batch in self._batches(inputs, present)]
        return np.concatenate(out, axis=0).astype(np.float64)

    # -- fusion weights ------------------------------------------------------------

    def _has_weighted_fusion(self):
        return self.fusion in ("learned", "attention")

    def _weight_rows(self, inputs, present):
        """Per-sample fusion weights (n_samples, k) from the trained layer."""
        keras = _keras.import_keras()
        layer = self.model_.get_layer("fusion")
        if self.fusion == "learned":
            return np.asarray(layer.modality_weights(keras.ops.array(present)))
        projections = [
            self.model_.get_layer(f"modality_{i}_projection").output
            for i in range(len(inputs))
        ]
        sub = keras.Model(self.model_.inputs, projections)
        out = []
        for batch in self._batches(inputs, present):
            p = sub(batch, training=False)
            out.append(
                np.asarray(layer.modality_weights(list(p), batch[PRESENT_INPUT]))
            )
        return np.concatenate(out, axis=0)

    def _fusion_weights(self, inputs, present):
        if not self._has_weighted_fusion():
            return None
        if self.fusion == "learned":
            # the variable's own numpy(): convert_to_numpy on a Variable warns
            # under NumPy 2 ("__array__ implementation doesn't accept a copy")
            logits = np.array(
                self.model_.get_layer("fusion").logits.numpy(), dtype=np.float64
            )
            weights = np.exp(logits - logits.max())
            weights /= weights.sum()
        else:
            weights = self._weight_rows(inputs, present).mean(axis=0)
            weights = weights / weights.sum()
        return {name: float(w) for name, w in zip(self._route_names, weights)}

    @available_if(_has_weighted_fusion)
    def predict_fusion_weights(self, X):
        """Per-sample fusion weights (``"learned"`` and ``"attention"`` only).

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records with the columns seen in ``fit``.

        Returns
        -------
        weights : ndarray of shape (n_samples, n_modalities)
            Weight of each modality (transformer order) in each sample's
            fusion; rows sum to 1 over the present modalities (0 for a
            missing one; all 0 if every modality is missing).
        """
        inputs, present = self._checked_inputs(X)
        return self._weight_rows(inputs, present).astype(np.float64)

    # -- pickling ---------------------------------------------------------------

    def __getstate__(self):
        return _keras.keras_state(super().__getstate__(), ("model_",))

    def __setstate__(self, state):
        if "_keras_models" in state:  # custom_objects() imports Keras
            state = _keras.restore_keras_state(state, custom_objects=custom_objects())
        super().__setstate__(state)
        if "model_" in state:
            self._predict_fn = _keras.make_predict_function(
                self.model_, eager=self.run_eagerly
            )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.allow_nan = self.missing != "raise"
        tags.non_deterministic = self.random_state is None
        return tags


@_shared_parameter_docs
class NeuralFusionClassifier(ClassifierMixin, _BaseNeuralFusion):
    """Train a Keras model on several modalities with learned fusion weights.

    Each modality is a ``(name, transformer, column)`` triple, as in
    :class:`~sklearn_mbm.FusionTransformer`. A transformer (an extractor such
    as :class:`~sklearn_mbm.AudioFeatureExtractor`, any scikit-learn
    transformer, or ``"passthrough"``) is fit once and then frozen: its
    normalised output block is the modality's input to the network. The
    string ``"rnn"`` instead makes a raw text column a trainable branch
    (``TextVectorization``, ``Embedding`` and a bidirectional GRU, trained
    with the rest of the model; its vocabulary is adapted in ``fit``).

    The network projects each modality to ``projection_units`` (a Dense layer
    with ReLU), fuses the projections, then applies ``hidden_units`` Dense
    layers (ReLU, dropout) and a softmax head:

    - ``fusion="learned"``: ``sum_m w_m * p_m`` with ``w = softmax(a)``, one
      trainable scalar ``a_m`` per modality (the modality weights ``a, b, c``
      of ``Y = a*X_image + b*X_text + c*X_audio``, learned),
      exposed after fit as :attr:`fusion_weights_`;
    - ``fusion="concat"``: ``[p_1, ..., p_k]``;
    - ``fusion="attention"``: ``sum_m g_m(x) * p_m``, a per-sample gate
      ``g(x) = softmax_m(v . tanh(W p_m + b))``.

    A missing cell (None or NaN) with ``missing="zero"`` removes its modality
    from that sample's fusion: the weights of the present modalities are
    renormalised per sample (a masked softmax) and, with ``"concat"``, the
    absent projection is zero.

    Parameters
    ----------
    {network_parameters}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes (keys are the original labels) multiplying the
        sample weights in the loss; ``"balanced"`` uses
        ``n_samples / (n_classes * np.bincount(y))``.

    {input_parameters}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    model_ : keras.Model
        The trained network. Its inputs are ``modality_0``, ...,
        ``modality_{k-1}`` (in transformer order) and ``present__mask``.

    fusion_weights_ : dict or None
        ``{name: weight}``, summing to 1. ``"learned"``: the trained softmax
        weights. ``"attention"``: the mean per-sample gate over the training
        rows. ``"concat"``: None.

    history_ : dict of list of float
        Per-epoch training metrics (``loss``, ``accuracy`` and, with a
        validation split, ``val_loss``, ``val_accuracy``).

    n_iter_ : int
        Number of epochs run.

    transformers_ : list of (str, transformer, column)
        The fitted transformers (``"rnn"`` slots are kept as ``"rnn"``; their
        state lives in ``model_``). A fine-tuned image extractor keeps its
        original backbone; the trained copy is the ``model_`` layer
        ``"modality_{i}_backbone"``.

    fusion_transformer_ : FusionTransformer or None
        The internal transformer that routes, extracts and normalises the
        frozen modalities (all but ``"rnn"`` and fine-tuned ones).

    n_features_in_ : int
        Number of columns of the input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of the input, when it is a DataFrame with string columns.

    See Also
    --------
    sklearn_mbm.FusionTransformer : Early fusion with fixed, tunable weights.
    sklearn_mbm.LateFusionClassifier : Fusion of per-modality predictions.

    Notes
    -----
    The extractors are fit once on all of ``X`` (before the validation split),
    then frozen; only the network (with ``"rnn"`` branches and, with
    ``fine_tune=True``, image backbones) is trained. Each
    ``fit`` builds a fresh Keras model with fixed layer names; nothing is
    shared between fits. Pickling stores the model as ``.keras`` bytes.

    The learned fusion weights move at the optimiser's pace: Adam changes
    each logit by about ``learning_rate`` per step at most, so after a short
    training (or with early stopping) they stay close to ``1 / k``. Read
    them as a ranking of the modalities, not as calibrated shares.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm import NeuralFusionClassifier
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat([0, 1], 20)
    >>> X = np.column_stack([y + rng.normal(0, 0.3, 40), rng.normal(size=40)])
    >>> clf = NeuralFusionClassifier(
    ...     [("signal", "passthrough", [0]), ("noise", "passthrough", [1])],
    ...     hidden_units=(8,), epochs=5, random_state=0,
    ... ).fit(X, y)
    >>> sorted(clf.fusion_weights_)
    ['noise', 'signal']
    >>> clf.predict_proba(X).shape
    (40, 2)
    """

    _parameter_constraints = {
        **_BaseNeuralFusion._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    _target_description = "class labels"

    def __init__(
        self,
        transformers,
        *,
        fusion="learned",
        hidden_units=(128,),
        dropout=0.2,
        epochs=50,
        batch_size=32,
        learning_rate=1e-3,
        validation_fraction=0.1,
        early_stopping=True,
        random_state=None,
        verbose=0,
        projection_units=64,
        attention_units=32,
        patience=10,
        class_weight=None,
        normalize="standard",
        missing="zero",
        rnn_max_tokens=10000,
        rnn_sequence_length=64,
        rnn_embedding_dim=32,
        rnn_units=32,
        fine_tune=False,
        run_eagerly=False,
    ):
        super().__init__(
            transformers,
            fusion=fusion,
            hidden_units=hidden_units,
            dropout=dropout,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            random_state=random_state,
            verbose=verbose,
            projection_units=projection_units,
            attention_units=attention_units,
            patience=patience,
            normalize=normalize,
            missing=missing,
            rnn_max_tokens=rnn_max_tokens,
            rnn_sequence_length=rnn_sequence_length,
            rnn_embedding_dim=rnn_embedding_dim,
            rnn_units=rnn_units,
            fine_tune=fine_tune,
            run_eagerly=run_eagerly,
        )
        self.class_weight = class_weight

    def _check_target(self, y, sample_weight):
        """Encoded labels (int64), also the stratification of the split."""
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in "
                f"the data, but it contains only one class: {self.classes_[0]!r}."
            )
        y_encoded = encoder.transform(y).astype(np.int64)
        return y_encoded, y_encoded

    def _loss_weights(self, y_encoded, sample_weight):
        """``sample_weight`` times the weight of each sample's class."""
        if self.class_weight is None:
            return sample_weight
        if isinstance(self.class_weight, dict):
            unknown = [k for k in self.class_weight if k not in self.classes_]
            if unknown:
                raise ValueError(
                    f"class_weight has labels {unknown} that are not in y; "
                    f"classes are {self.classes_.tolist()}."
                )
        per_class = compute_class_weight(
            self.class_weight,
            classes=self.classes_,
            y=self.classes_[y_encoded],
        )
        return sample_weight * per_class[y_encoded]

    def _head(self):
        return len(self.classes_), "softmax"

    def _compile_args(self, keras):
        return "sparse_categorical_crossentropy", ["accuracy"]

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Extract every modality, then build and train the network.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records, one column per modality (plus any others).
        y : array-like of shape (n_samples,)
            Class labels (str or int).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss (multiplied by ``class_weight``).

        Returns
        -------
        self : NeuralFusionClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight)

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records with the columns seen in ``fit``.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``.
        """
        proba = self._predict_outputs(X)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records with the columns seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        proba = self.predict_proba(X)  # checks is-fitted before classes_
        return self.classes_[np.argmax(proba, axis=1)]


@_shared_parameter_docs
class NeuralFusionRegressor(RegressorMixin, _BaseNeuralFusion):
    """Train a Keras regression model on several modalities with learned
    fusion weights.

    The network of :class:`NeuralFusionClassifier` (frozen extractors or
    trainable ``"rnn"`` text branches, per-modality projections, a fusion
    layer that ignores missing modalities, hidden Dense layers) with a linear
    head of one unit per target, trained on the mean squared error (or the
    Huber loss).

    The targets are standardised for training: each column of ``y`` is
    centred and scaled to unit variance with the mean and standard deviation
    of the training targets, weighted by ``sample_weight`` (a constant
    target is only centred), and
    predictions are mapped back to the original scale. So the learning rate
    and the Huber ``delta`` of 1 do not depend on the target's unit, and
    ``history_`` reports losses on the standardised scale.

    Parameters
    ----------
    {network_parameters}
    loss : {"mse", "huber"}, default="mse"
        Training loss on the standardised targets: the mean squared error,
        or the Huber loss (quadratic within one standard deviation of the
        target, linear beyond: less pulled by outliers).

    {input_parameters}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets (columns of a 2-D ``y``; 1 for a 1-D ``y``).

    model_ : keras.Model
        The trained network. Its inputs are ``modality_0``, ...,
        ``modality_{k-1}`` (in transformer order) and ``present__mask``; its
        outputs are standardised targets.

    fusion_weights_ : dict or None
        ``{name: weight}``, summing to 1. ``"learned"``: the trained softmax
        weights. ``"attention"``: the mean per-sample gate over the training
        rows. ``"concat"``: None.

    history_ : dict of list of float
        Per-epoch training loss (``loss`` and, with a validation split,
        ``val_loss``), on the standardised targets.

    n_iter_ : int
        Number of epochs run.

    transformers_ : list of (str, transformer, column)
        The fitted transformers, as for :class:`NeuralFusionClassifier`.

    fusion_transformer_ : FusionTransformer or None
        The internal transformer that extracts and normalises the frozen
        modalities (all but ``"rnn"`` and fine-tuned ones).

    n_features_in_ : int
        Number of columns of the input.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of the input, when it is a DataFrame with string columns.

    See Also
    --------
    NeuralFusionClassifier : The same network with a softmax head.
    sklearn_mbm.FusionTransformer : Early fusion with fixed, tunable weights.

    Notes
    -----
    As for the classifier, the extractors are fit once on all of ``X`` and
    frozen, each ``fit`` builds a fresh Keras model, pickling stores it as
    ``.keras`` bytes, and the learned fusion weights are a ranking of the
    modalities rather than calibrated shares.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm import NeuralFusionRegressor
    >>> rng = np.random.RandomState(0)
    >>> signal = rng.normal(size=60)
    >>> X = np.column_stack([signal, rng.normal(size=60)])
    >>> y = 3.0 * signal + 10.0
    >>> reg = NeuralFusionRegressor(
    ...     [("signal", "passthrough", [0]), ("noise", "passthrough", [1])],
    ...     hidden_units=(8,), epochs=5, random_state=0,
    ... ).fit(X, y)
    >>> sorted(reg.fusion_weights_)
    ['noise', 'signal']
    >>> reg.predict(X).shape
    (60,)
    """

    _parameter_constraints = {
        **_BaseNeuralFusion._parameter_constraints,
        "loss": [StrOptions({"mse", "huber"})],
    }

    _target_description = "target values"

    def __init__(
        self,
        transformers,
        *,
        fusion="learned",
        hidden_units=(128,),
        dropout=0.2,
        epochs=50,
        batch_size=32,
        learning_rate=1e-3,
        validation_fraction=0.1,
        early_stopping=True,
        random_state=None,
        verbose=0,
        projection_units=64,
        attention_units=32,
        patience=10,
        loss="mse",
        normalize="standard",
        missing="zero",
        rnn_max_tokens=10000,
        rnn_sequence_length=64,
        rnn_embedding_dim=32,
        rnn_units=32,
        fine_tune=False,
        run_eagerly=False,
    ):
        super().__init__(
            transformers,
            fusion=fusion,
            hidden_units=hidden_units,
            dropout=dropout,
            epochs=epochs,
            batch_size=batch_size,
            learning_rate=learning_rate,
            validation_fraction=validation_fraction,
            early_stopping=early_stopping,
            random_state=random_state,
            verbose=verbose,
            projection_units=projection_units,
            attention_units=attention_units,
            patience=patience,
            normalize=normalize,
            missing=missing,
            rnn_max_tokens=rnn_max_tokens,
            rnn_sequence_length=rnn_sequence_length,
            rnn_embedding_dim=rnn_embedding_dim,
            rnn_units=rnn_units,
            fine_tune=fine_tune,
            run_eagerly=run_eagerly,
        )
        self.loss = loss

    def _check_target(self, y, sample_weight):
        """Standardised float32 targets (n_samples, n_outputs); no strata."""
        y = check_array(
            y, ensure_2d=False, dtype=np.float64, input_name="y", ensure_min_samples=1
        )
        self._y_1d = y.ndim == 1
        y = y.reshape(len(y), -1)
        self.n_outputs_ = y.shape[1]
        # weighted, so that a sample of weight 0 has no effect at all
        weights = sample_weight if sample_weight.sum() > 0 else None
        self._y_mean = np.average(y, axis=0, weights=weights)
        scale = np.sqrt(np.average((y - self._y_mean) ** 2, axis=0, weights=weights))
        self._y_scale = np.where(scale > 0, scale, 1.0)
        return ((y - self._y_mean) / self._y_scale).astype(np.float32), None

    def _head(self):
        return self.n_outputs_, None

    def _compile_args(self, keras):
        loss = keras.losses.Huber(delta=1.0) if self.loss == "huber" else "mse"
        return loss, None

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, sample_weight=None):
        """Extract every modality, then build and train the network.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records, one column per modality (plus any others).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (finite floats).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss.

        Returns
        -------
        self : NeuralFusionRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight)

    def predict(self, X):
        """Predicted target values.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records with the columns seen in ``fit``.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions on the scale of ``y``, 1-D when ``y`` was.
        """
        pred = self._predict_outputs(X) * self._y_scale + self._y_mean
        return pred.ravel() if self._y_1d else pred

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
