"""The base of the neural fusion estimators.

:class:`_BaseNeuralFusion` holds what :class:`~sklearn_mbm.NeuralFusionClassifier`
and :class:`~sklearn_mbm.NeuralFusionRegressor` share (the modality specs
through :class:`~sklearn_mbm.fusion._composition.ModalityComposition`, one branch per
modality (:mod:`sklearn_mbm.neural._branches`), the fusion rule
(:mod:`sklearn_mbm.neural._layers`), model building, training, fusion
weights, pickling), as scikit-learn's ``MLPClassifier`` and ``MLPRegressor``
share ``BaseMultilayerPerceptron``.

TensorFlow is imported only when a model is built, trained, used or
unpickled.
"""

import math
from numbers import Integral, Real

import numpy as np
from sklearn.model_selection import GroupShuffleSplit, train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, column_or_1d

from sklearn_mbm import _keras
from sklearn_mbm._compat import (
    Interval,
    StrOptions,
    _check_sample_weight,
    _num_samples,
)
from sklearn_mbm.fusion._composition import ModalityComposition
from sklearn_mbm.neural._branches import BRANCHES, branch_class
from sklearn_mbm.neural._layers import NEURAL_FUSION, custom_objects
from sklearn_mbm.neural._model import PRESENT_INPUT, build_model


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


def _seed_from(random_state):
    """An int seed for Keras/TF from an int or RandomState; None stays None."""
    if random_state is None:
        return None
    return int(check_random_state(random_state).randint(np.iinfo(np.int32).max))


def _history_key(key, n_aux):
    """Keras's name of a training metric, as ``history_`` shows it.

    With auxiliary heads Keras prefixes each output's metrics with the
    output's name; the fused head's metrics keep their plain names
    (``accuracy``, ``val_accuracy``) as without them. ``loss`` is the total
    (fused plus weighted auxiliary losses), ``head_loss`` the fused head's.
    """
    if not n_aux:
        return key
    prefix = "val_" if key.startswith("val_") else ""
    name = key[len(prefix) :]
    if name.startswith("head_") and name != "head_loss":
        return prefix + name[len("head_") :]
    return key


class _BaseNeuralFusion(ModalityComposition):
    """What NeuralFusionClassifier and NeuralFusionRegressor share.

    The data are routed once: ``fit`` checks ``X`` (``_check_table``),
    validates the specs into modality records (``_validate_modalities``,
    reused at predict time) and gives each modality its branch
    (``_branches``), which prepares the modality's model input;
    ``transformers_`` is set in one place (``_fit_branches``).

    Subclasses extend ``_parameter_constraints``, turn ``y`` into training
    targets (``_check_target``), may weight samples (``_loss_weights``),
    and give the head (``_head``), the loss and metrics (``_compile_args``).
    ``fit`` and ``predict`` stay in the subclasses, for their docstrings.
    """

    _parameter_constraints = {
        "transformers": [list],
        "fusion": [StrOptions(set(NEURAL_FUSION))],
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
        **{
            name: constraints
            for branch in BRANCHES.values()
            for name, constraints in branch.parameters.items()
        },
        "modality_dropout": [Interval(Real, 0, 1, closed="left")],
        "aux_loss_weight": [Interval(Real, 0, None, closed="left")],
        "fine_tune": ["boolean"],
        "run_eagerly": ["boolean"],
    }

    #: What ``y`` holds, for the error when it is None.
    _target_description = "targets"

    def __init__(self, transformers, **params):
        # The subclasses' explicit signatures are what get_params reads (the
        # scikit-learn idiom); the base only stores what they pass on, so the
        # parameter list is not written a third time here.
        self.transformers = transformers
        for name, value in params.items():
            setattr(self, name, value)

    # -- validation and branches -------------------------------------------------

    def _check_modality_estimator(self, name, estimator):
        if isinstance(estimator, str):
            if estimator != "passthrough" and estimator not in BRANCHES:
                raise ValueError(
                    f"Modality {name!r}: the transformer must be an estimator, "
                    f"'passthrough', 'drop' or a branch {sorted(BRANCHES)}; got "
                    f"{estimator!r}."
                )
        elif not (hasattr(estimator, "fit") and hasattr(estimator, "transform")):
            raise TypeError(
                f"Modality {name!r}: the transformer must implement fit and "
                f"transform, or be 'passthrough', 'drop' or a branch "
                f"{sorted(BRANCHES)}; got {estimator!r}."
            )

    def _make_branches(self, modalities):
        """Give every modality its branch."""
        branches = [
            branch_class(m.estimator, self.fine_tune)(m, self) for m in modalities
        ]
        if self.fine_tune and not any(
            not isinstance(m.estimator, str)
            and getattr(m.estimator, "_network_branch", lambda: None)() is not None
            for m in modalities
        ):
            raise ValueError(
                "fine_tune=True needs at least one transformer that offers a "
                "trainable branch (an ImageFeatureExtractor with a Keras "
                "backbone, not 'pixels') among the transformers."
            )
        return branches

    #: The values of ``missing`` that fill a missing cell, for the error
    #: that ``missing="raise"`` gives.
    _missing_fills = ("zero",)

    def _fit_branches(self, X, y):
        """Fit every branch on a checked table; return the model inputs and
        the presence (n, k) float32; set ``transformers_``."""
        self._branches = self._make_branches(self._validate_modalities(X))
        selected = self._select_all(X, self.missing, self._missing_fills, fit=True)
        inputs, masks = zip(
            *(
                branch.fit_transform(column, present, y)
                for branch, (column, present) in zip(self._branches, selected)
            )
        )
        self.transformers_ = self._fitted_specs(
            {b.modality.name: b.fitted_estimator for b in self._branches}
        )
        return list(inputs), np.column_stack(masks).astype(np.float32)

    def _transform_branches(self, X):
        selected = self._select_all(X, self.missing, self._missing_fills)
        inputs, masks = zip(
            *(
                branch.transform(column, present)
                for branch, (column, present) in zip(self._branches, selected)
            )
        )
        return list(inputs), np.column_stack(masks).astype(np.float32)

    # -- training -----------------------------------------------------------------

    def _loss_weights(self, y_train, sample_weight):
        """Per-sample weights of the loss (the checked ``sample_weight``)."""
        return sample_weight

    def _split(self, n_samples, y_encoded, seed, groups=None):
        """Train and validation row indices (validation empty if not used).

        With ``groups``, whole groups go to validation (``GroupShuffleSplit``:
        about ``validation_fraction`` of the groups, at least one), so early
        stopping measures generalisation to unseen groups. Otherwise the
        split is stratified on ``y_encoded`` when it is not None and that is
        possible.
        """
        rows = np.arange(n_samples)
        if not self.early_stopping or self.validation_fraction == 0:
            return rows, rows[:0]
        if groups is not None:
            if len(np.unique(groups)) < 2:
                raise ValueError(
                    "groups has a single group: the validation split of early "
                    "stopping needs at least 2 groups (or early_stopping=False, "
                    "or validation_fraction=0)."
                )
            splitter = GroupShuffleSplit(
                n_splits=1, test_size=self.validation_fraction, random_state=seed
            )
            return next(splitter.split(rows, groups=groups))
        n_val = math.ceil(self.validation_fraction * n_samples)
        if n_val < 1 or n_samples - n_val < 1:
            return rows, rows[:0]
        try:
            return train_test_split(
                rows, test_size=n_val, stratify=y_encoded, random_state=seed
            )
        except ValueError:  # a class too small to stratify
            return train_test_split(rows, test_size=n_val, random_state=seed)

    def _aux_heads(self):
        """Whether the model has one auxiliary head per modality."""
        return self.aux_loss_weight > 0 and len(self._branches) > 1

    def _dataset(self, inputs, present, y, sample_weight, seed):
        """A shuffled, batched ``tf.data`` pipeline of training rows.

        Built here rather than left to ``model.fit`` because Keras's array
        adapter rejects string columns (the ``"rnn"`` texts), and so that the
        shuffling is seeded with ``random_state``. With auxiliary heads every
        head has the same targets; a modality's head is weighted 0 where the
        modality is missing.
        """
        tf = _keras.import_tensorflow()
        features = self._feature_dict(inputs, present)
        if self._aux_heads():
            y = (y,) * (1 + present.shape[1])
            sample_weight = (
                sample_weight,
                *(sample_weight * present[:, m] for m in range(present.shape[1])),
            )
        dataset = tf.data.Dataset.from_tensor_slices((features, y, sample_weight))
        dataset = dataset.shuffle(
            len(present), seed=seed, reshuffle_each_iteration=True
        )
        return dataset.batch(self.batch_size)

    @staticmethod
    def _feature_dict(inputs, present):
        features = {f"modality_{i}": block for i, block in enumerate(inputs)}
        features[PRESENT_INPUT] = present
        return features

    def _build_model(self, inputs, train_rows, seed):
        n_outputs, activation = self._head()
        return build_model(
            self._branches,
            inputs,
            train_rows,
            NEURAL_FUSION[self.fusion].layer(self),
            n_outputs=n_outputs,
            output_activation=activation,
            projection_units=self.projection_units,
            hidden_units=_check_hidden_units(self.hidden_units),
            dropout=self.dropout,
            modality_dropout=self.modality_dropout,
            aux_heads=self._aux_heads(),
            seed=seed,
        )

    def _fit(self, X, y, sample_weight, groups=None):
        """Check the data, extract every modality, build and train the model."""
        _check_hidden_units(self.hidden_units)
        X = self._check_table(X, reset=True)
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
        if groups is not None:
            groups = column_or_1d(groups)
            if len(groups) != X.shape[0]:
                raise ValueError(
                    f"X has {X.shape[0]} samples but groups has {len(groups)}; "
                    "they must match."
                )
        y_train, stratify = self._check_target(y, sample_weight)
        weights = self._loss_weights(y_train, sample_weight).astype(np.float32)

        inputs, present = self._fit_branches(X, y)

        seed = _seed_from(self.random_state)
        _keras.set_random_seed(seed)
        train, val = self._split(X.shape[0], stratify, seed, groups)
        keras = _keras.import_keras()
        model = self._build_model(inputs, train, seed)
        loss, metrics = self._compile_args(keras)
        n_aux = len(self._branches) if self._aux_heads() else 0
        model.compile(
            run_eagerly=self.run_eagerly,
            optimizer=keras.optimizers.Adam(learning_rate=self.learning_rate),
            loss=[loss] * (1 + n_aux) if n_aux else loss,
            loss_weights=[1.0] + [self.aux_loss_weight] * n_aux if n_aux else None,
            weighted_metrics=[metrics] + [[]] * n_aux if n_aux else metrics,
        )

        def rows(r):
            return [block[r] for block in inputs], present[r]

        train_data = self._dataset(*rows(train), y_train[train], weights[train], seed)
        val_data = None
        if len(val):
            val_data = self._dataset(*rows(val), y_train[val], weights[val], seed)
        callbacks = []
        if self.early_stopping:
            # the fused head's loss, not the sum with the auxiliary ones
            monitor = "head_loss" if n_aux else "loss"
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=monitor if val_data is None else f"val_{monitor}",
                    mode="min",
                    patience=self.patience,
                    restore_best_weights=True,
                )
            )
        history = _keras.fit_model(
            model,
            train_data,
            validation_data=val_data,
            epochs=self.epochs,
            callbacks=callbacks,
            shuffle=False,  # the dataset reshuffles each epoch (seeded)
            verbose=self.verbose,
        )
        if n_aux:  # predict with the fused head alone
            model = keras.Model(model.inputs, model.get_layer("head").output)
        self.model_ = model
        self._predict_fn = _keras.make_predict_function(model, eager=self.run_eagerly)
        self.history_ = {
            _history_key(key, n_aux): [float(v) for v in values]
            for key, values in history.history.items()
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
        X = self._check_predict_table(X)
        return self._transform_branches(X)

    def _predict_outputs(self, X):
        """The network's outputs for ``X``, float64 (n_samples, n_outputs)."""
        inputs, present = self._checked_inputs(X)
        out = [self._predict_fn(batch) for batch in self._batches(inputs, present)]
        return np.concatenate(out, axis=0).astype(np.float64)

    # -- fusion weights ------------------------------------------------------------

    def _has_weighted_fusion(self):
        return NEURAL_FUSION[self.fusion].weighted

    def _weight_rows(self, inputs, present):
        """Per-sample fusion weights (n_samples, k) from the trained layer."""
        keras = _keras.import_keras()
        layer = self.model_.get_layer("fusion")
        projections = [
            self.model_.get_layer(f"modality_{i}_projection").output
            for i in range(len(inputs))
        ]
        sub = keras.Model(self.model_.inputs, projections)
        out = []
        for batch in self._batches(inputs, present):
            p = sub(batch, training=False)
            p = [p] if len(inputs) == 1 else list(p)
            out.append(np.asarray(layer.modality_weights(p, batch[PRESENT_INPUT])))
        return np.concatenate(out, axis=0)

    def _fusion_weights(self, inputs, present):
        rule = NEURAL_FUSION[self.fusion]
        if not rule.weighted:
            return None
        weights = rule.fitted_weights(
            self.model_.get_layer("fusion"),
            lambda: self._weight_rows(inputs, present),
        )
        names = [m.name for m in self._modalities]
        return {name: float(w) for name, w in zip(names, weights)}

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
        for branch in getattr(self, "_branches", ()):
            branch.owner = self
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
