"""The parameters both neural estimators document alike, put into their
docstrings by :func:`~sklearn_mbm._docstrings.substitute_docs`."""

from sklearn_mbm._docstrings import substitute_docs

_NETWORK_PARAMETERS = """\
    transformers : list of (str, transformer or str, column)
        The transformer is an extractor or any scikit-learn transformer
        (frozen after its fit), ``"passthrough"``, ``"drop"``, or a branch
        trained from scratch with the network: ``"cnn"`` (images), ``"rnn"``
        (texts) or ``"mel_cnn"`` (audio); see the user guide. ``column`` is
        a column name or integer index, a list of them (a 2-D block), or a
        callable returning those; a branch needs a single column of cells.
        Names must be unique and must not contain ``"__"``.
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

    modality_dropout : float, default=0.5
        Probability that a training record loses one of its modalities
        (chosen at random; a record keeps at least one) for one step: the
        fusion ignores it as it ignores a missing modality. The network then
        learns to predict from each modality alone as well as from all, so
        it does not lean on the modality that is easiest to fit and degrades
        to the others when one is missing at prediction time. 0 turns it
        off.

    aux_loss_weight : float, default=0.5
        Weight of the auxiliary losses: with two or more modalities, each
        modality's projection gets its own head, trained on the same targets
        (only where the modality is present), and its loss, times this
        weight, is added to the fused head's. Every branch so learns to
        predict on its own, however strong the others. Prediction and early
        stopping use the fused head alone. 0 turns it off.

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

    cnn_filters : int, default=32
        Channels of the first convolution block of a ``"cnn"`` image branch
        (doubling in each further block, at most 128).

    cnn_input_size : int, (int, int) or None, default=None
        Size ``(height, width)`` every image of a ``"cnn"`` branch is
        resized to; None takes the first training image's size.

    mel_sr : float, default=16000
        Sample rate (Hz) the clips of a ``"mel_cnn"`` audio branch are
        resampled to before their log-mel frames are computed.

    mel_input_sr : float or None, default=None
        Sample rate of audio cells given as bare waveforms (files, bytes and
        ``(waveform, rate)`` tuples carry their own).

    mel_filters : int, default=64
        Channels of the two Conv1D layers of a ``"mel_cnn"`` branch.

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
