"""NeuralFusionRegressor: the neural fusion network with a linear head."""

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.utils.validation import check_array

from sklearn_mbm._compat import StrOptions, _fit_context
from sklearn_mbm.neural._base import _BaseNeuralFusion
from sklearn_mbm.neural._docs import shared_parameter_docs


@shared_parameter_docs
class NeuralFusionRegressor(RegressorMixin, _BaseNeuralFusion):
    """Train a Keras regression model on several modalities with learned
    fusion weights.

    The network of :class:`NeuralFusionClassifier` (frozen extractors or
    branches trained from scratch, ``"cnn"``, ``"rnn"``, ``"mel_cnn"``, with
    modality dropout and auxiliary heads; per-modality projections, a fusion
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
        ``val_loss``), on the standardised targets; with auxiliary heads
        ``loss`` is the total and ``head_loss`` the fused head's.

    n_iter_ : int
        Number of epochs run.

    transformers_ : list of (str, transformer, column)
        The fitted transformers, as for :class:`NeuralFusionClassifier`.

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
    def fit(self, X, y, sample_weight=None, *, groups=None):
        """Extract every modality, then build and train the network.

        Parameters
        ----------
        X : DataFrame or ndarray of shape (n_samples, n_columns)
            Multimodal records, one column per modality (plus any others).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values (finite floats).
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights in the loss.
        groups : array-like of shape (n_samples,), default=None
            Group labels (speakers, patients). With early stopping, whole
            groups are held out for validation, so that it measures
            generalisation to unseen groups. Under metadata routing, request
            it with ``set_fit_request(groups=True)`` and a search passes the
            ``groups`` given to its ``fit`` (as it does to its splitter).

        Returns
        -------
        self : NeuralFusionRegressor
            The fitted regressor.
        """
        return self._fit(X, y, sample_weight, groups)

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
