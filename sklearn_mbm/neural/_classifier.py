"""NeuralFusionClassifier: the neural fusion network with a softmax head."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from sklearn_mbm._compat import StrOptions, _fit_context
from sklearn_mbm.neural._base import _BaseNeuralFusion
from sklearn_mbm.neural._docs import shared_parameter_docs


@shared_parameter_docs
class NeuralFusionClassifier(ClassifierMixin, _BaseNeuralFusion):
    """Train a Keras model on several modalities with learned fusion weights.

    Each modality is a ``(name, transformer, column)`` triple, as in
    :class:`~sklearn_mbm.FusionTransformer`. A transformer (an extractor such
    as :class:`~sklearn_mbm.AudioFeatureExtractor`, any scikit-learn
    transformer, or ``"passthrough"``) is fit once and then frozen: its
    normalised output block is the modality's input to the network. A
    branch name instead makes a raw column a branch trained from scratch with
    the rest of the model: ``"cnn"`` for images (a small CNN), ``"rnn"`` for
    texts (``TextVectorization``, ``Embedding`` and a bidirectional GRU; the
    vocabulary is adapted in ``fit``), ``"mel_cnn"`` for audio (Conv1D over
    log-mel frame sequences). By default training uses modality dropout and
    one auxiliary loss per modality (``modality_dropout``,
    ``aux_loss_weight``), so that the fused network does not lean on one
    modality; see the user guide.

    The network projects each modality to ``projection_units`` (a Dense layer
    with ReLU), fuses the projections, then applies ``hidden_units`` Dense
    layers (ReLU, dropout) and a softmax head:

    - ``fusion="learned"``: ``sum_m w_m * p_m`` with ``w = softmax(a)``, one
      trainable scalar ``a_m`` per modality (the modality weights),
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
        validation split, ``val_loss``, ``val_accuracy``). With auxiliary
        heads ``loss`` is the total, ``head_loss`` the fused head's (what
        early stopping watches) and ``modality_{i}_head_loss`` each
        auxiliary head's; ``accuracy`` is the fused head's.

    n_iter_ : int
        Number of epochs run.

    transformers_ : list of (str, transformer, column)
        The fitted transformers (``"rnn"`` and ``"mel_cnn"`` slots are kept as
        strings, their state lives in ``model_``; a ``"cnn"`` slot shows the
        fitted ``ImageFeatureExtractor(backbone="pixels")`` that reads its
        images). A fine-tuned image extractor keeps its
        original backbone; the trained copy is the ``model_`` layer
        ``"modality_{i}_backbone"``.

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
    then frozen; only the network (with its branches and, with
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
        cnn_filters=32,
        cnn_input_size=None,
        mel_sr=16000,
        mel_input_sr=None,
        mel_filters=64,
        modality_dropout=0.5,
        aux_loss_weight=0.5,
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
            cnn_filters=cnn_filters,
            cnn_input_size=cnn_input_size,
            mel_sr=mel_sr,
            mel_input_sr=mel_input_sr,
            mel_filters=mel_filters,
            modality_dropout=modality_dropout,
            aux_loss_weight=aux_loss_weight,
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
    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Extract every modality, then build and train the network.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records, one column per modality (plus any others).
        y : array-like of shape (n_samples,)
            Class labels (str or int).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss (multiplied by ``class_weight``).
        groups : array-like of shape (n_samples,), default=None
            Group labels (speakers, patients). With early stopping, whole
            groups are held out for validation, so that it measures
            generalisation to unseen groups. Under metadata routing, request
            it with ``set_fit_request(groups=True)`` and a search passes the
            ``groups`` given to its ``fit`` (as it does to its splitter).

        Returns
        -------
        self : NeuralFusionClassifier
            The fitted classifier.
        """
        return self._fit(X, y, sample_weight, groups)

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
