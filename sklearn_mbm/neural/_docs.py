"""The parameters both neural estimators document alike, put into their
docstrings by :func:`~sklearn_mbm._docstrings.substitute_docs`."""

from sklearn_mbm._docstrings import substitute_docs

_NETWORK_PARAMETERS = """\
    transformers : list of (str, transformer or "passthrough", "drop", "rnn", column)
        ``column`` is a column name or integer index, a list of them (a 2-D
        block), or a callable returning those; ``"rnn"`` needs a single
        column of str. Names must be unique and must not contain ``"__"``.
        ``"drop"`` leaves the modality out of the network (it has no input
        and no fusion weight), as in :class:`~sklearn_mbm.FusionTransformer`.

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


#: Puts ``{network_parameters}`` and ``{input_parameters}`` into a docstring.
shared_parameter_docs = substitute_docs(
    network_parameters=_NETWORK_PARAMETERS.strip() + "\n",
    input_parameters=_INPUT_PARAMETERS.strip() + "\n",
)
