"""The branches of the neural fusion model: one per modality.

The branch protocol
-------------------
Every modality of :class:`~sklearn_mbm.NeuralFusionClassifier` and
:class:`~sklearn_mbm.NeuralFusionRegressor` enters the network through a
*branch*: an object that turns the modality's cells into a model input on
the host (NumPy) and builds the Keras layers between that input and the
modality's projection. A branch class is chosen per modality, once per fit:

- a transformer slot string (``"rnn"``) is looked up in :data:`BRANCHES`;
- with ``fine_tune=True``, an extractor that offers a trainable branch
  (its ``_network_branch()`` hook returns a branch class; the default on
  ``_BaseExtractor`` returns None) gets that branch;
- anything else (an extractor, any transformer, ``"passthrough"``) gets
  :class:`FrozenBranch`: its output block, normalised and filled by the
  shared :class:`~sklearn_mbm.fusion._blocks.ModalityBlocks`, is the input.

A subclass of :class:`_Branch` writes:

``fit_transform(column, present, y)`` and ``transform(column, present)``
    Host-side preparation from the modality's cells and presence.
    ``column`` is what the modality selects from ``X`` (1-D cells for a
    scalar column key, a 2-D block for a list; ``self.modality.scalar``
    says which) and ``present`` its boolean present mask, both from the
    estimator's ``_select_all`` (which has applied ``missing`` and, at fit,
    the rule that a modality needs present rows). Return ``(inputs,
    present)``: an array with one entry per row (any dtype Keras takes; a
    placeholder where the cell is missing) and the mask (the branch may
    clear entries, e.g. for cells its extractor failed on).
    ``fit_transform`` fits what the branch needs (an extractor, on the
    present rows); ``transform`` takes any rows, down to one, including
    rows where the modality is missing everywhere.
``input_spec(inputs)``
    ``{"shape": per-row shape, "dtype": Keras dtype}`` of the Keras input.
``build(keras, tensor, index, train_inputs)``
    The Keras sub-network from the input ``tensor`` to the modality's
    features (a rank-2 tensor) *before* the per-modality projection, which
    the model adds. ``train_inputs`` are the training rows of the host
    inputs (a vocabulary adapts on them). Name layers
    ``f"modality_{index}_..."``; the layer names are the saved model's
    contract.
``fitted_estimator``
    What ``transformers_`` shows for the modality (the fitted extractor, or
    the slot string).
``parameters`` (class attribute)
    The estimator parameters the branch reads, with their constraints, so
    that the estimators' ``_parameter_constraints`` include them.

Adding a branch is one subclass here plus one entry in :data:`BRANCHES`
(for a slot string), or a ``_network_branch()`` returning it on the
extractor that offers it.
"""

from numbers import Integral, Real
from types import SimpleNamespace

import numpy as np
from sklearn.base import clone

from sklearn_mbm._compat import Interval
from sklearn_mbm._io import cell_error_message
from sklearn_mbm.fusion._blocks import ModalityBlocks


class _Branch:
    """One modality's way into the network (see the module docstring).

    Parameters
    ----------
    modality : Modality
        The validated spec.
    owner : _BaseNeuralFusion
        The estimator, for its parameters (``missing``, ``rnn_*``, ...).
    """

    #: Estimator parameters the branch reads: {name: constraints}.
    parameters: dict = {}

    #: What the branch's cells hold ("image", "audio", "text"), for
    #: :func:`~sklearn_mbm.inspection.modality_robustness`; None if unknown.
    kind = None

    @classmethod
    def cell_reader(cls, owner):
        """What reads this branch's cells, for code outside the network
        (``modality_robustness`` loads and corrupts cells as the branch
        would): an object with the loader's settings (``sr``, ``input_sr``
        for audio), or None for the loaders' defaults."""
        return None

    def __init__(self, modality, owner):
        self.modality = modality
        self.owner = owner
        self.fitted_estimator = modality.estimator

    def fit_transform(self, column, present, y):
        raise NotImplementedError

    def transform(self, column, present):
        raise NotImplementedError

    def input_spec(self, inputs):
        return {"shape": inputs.shape[1:], "dtype": "float32"}

    def build(self, keras, tensor, index, train_inputs):
        return tensor

    # -- helpers for subclasses ---------------------------------------------------

    def _cells(self, column, what):
        """The modality's cells as a 1-D array; it must select one column."""
        modality = self.modality
        if not modality.scalar:
            raise ValueError(
                f"Modality {modality.name!r} is {what} and needs a single column "
                f"of cells, got the block {modality.key!r}."
            )
        return np.asarray(column.to_numpy() if hasattr(column, "to_numpy") else column)


class FrozenBranch(_Branch):
    """A frozen extractor's normalised output block (or a ``"passthrough"``
    block), through the shared :class:`~sklearn_mbm.fusion._blocks.ModalityBlocks`."""

    def _blocks(self):
        return ModalityBlocks(
            [self.modality],
            normalize=self.owner.normalize,
            missing=self.owner.missing,
            fills=self.owner._missing_fills,
            owner=type(self.owner).__name__,
        )

    def fit_transform(self, column, present, y):
        self.blocks = self._blocks()
        (ready,), (present,) = self.blocks.fit([(column, present)], y)
        self.fitted_estimator = self.blocks.states[0].fitted
        return ready.astype(np.float32), present

    def transform(self, column, present):
        (ready,), (present,) = self.blocks.transform(
            [(column, present)], self.owner.missing
        )
        return ready.astype(np.float32), present


class RnnBranch(_Branch):
    """A raw text column through ``TextVectorization``, an ``Embedding`` and
    a bidirectional GRU, trained with the model (slot ``"rnn"``)."""

    kind = "text"

    parameters = {
        "rnn_max_tokens": [Interval(Integral, 3, None, closed="left")],
        "rnn_sequence_length": [Interval(Integral, 1, None, closed="left")],
        "rnn_embedding_dim": [Interval(Integral, 1, None, closed="left")],
        "rnn_units": [Interval(Integral, 1, None, closed="left")],
    }

    def _texts(self, column, present):
        cells = self._cells(column, "an 'rnn' text branch")
        texts = []
        for i, (cell, here) in enumerate(zip(cells, present)):
            if not here:
                texts.append("")
            elif isinstance(cell, str):
                texts.append(cell)
            else:
                raise TypeError(
                    f"Modality {self.modality.name!r} (column "
                    f"{self.modality.key!r}), "
                    + cell_error_message(i, cell, "the 'rnn' branch needs a str.")
                )
        return np.asarray(texts, dtype=str), present

    def fit_transform(self, column, present, y):
        return self._texts(column, present)

    def transform(self, column, present):
        return self._texts(column, present)

    def input_spec(self, inputs):
        return {"shape": (), "dtype": "string"}

    def build(self, keras, tensor, index, train_inputs):
        """Vectorise, embed and encode the text with a bidirectional GRU.

        The vocabulary is adapted on the training texts here, before the
        model is trained, so it is part of the model's saved state.
        """
        owner = self.owner
        vectorize = keras.layers.TextVectorization(
            max_tokens=owner.rnn_max_tokens,
            output_sequence_length=owner.rnn_sequence_length,
            name=f"modality_{index}_vectorize",
        )
        vectorize.adapt(train_inputs, batch_size=256)
        tokens = vectorize(tensor)
        embedded = keras.layers.Embedding(
            input_dim=vectorize.vocabulary_size(),
            output_dim=owner.rnn_embedding_dim,
            mask_zero=True,
            name=f"modality_{index}_embedding",
        )(tokens)
        return keras.layers.Bidirectional(
            keras.layers.GRU(owner.rnn_units), name=f"modality_{index}_gru"
        )(embedded)


def _freeze_batch_norm(keras, layer):
    """Set ``trainable=False`` on every BatchNormalization inside ``layer``."""
    if isinstance(layer, keras.layers.BatchNormalization):
        layer.trainable = False
    for sub in getattr(layer, "layers", ()):
        _freeze_batch_norm(keras, sub)


class ImageFineTuneBranch(_Branch):
    """Raw images through a trainable copy of an ImageFeatureExtractor's
    Keras backbone (offered by its ``_network_branch()``; ``fine_tune=True``).

    Images are decoded and preprocessed as the fitted extractor feeds its
    network (zeros where the cell is missing) and all held in memory.
    """

    def fit_transform(self, column, present, y):
        cells = self._cells(column, "a fine-tuned image branch")
        self.fitted_estimator = clone(self.modality.estimator).fit(cells[present])
        return self._images(cells, present), present

    def transform(self, column, present):
        cells = self._cells(column, "a fine-tuned image branch")
        return self._images(cells, present), present

    def _images(self, cells, present):
        extractor = self.fitted_estimator
        height, width = extractor.input_size_
        images = np.zeros(
            (len(cells), height, width, extractor.n_channels_), dtype=np.float32
        )
        for index in np.flatnonzero(present):
            images[index] = extractor._network_input(cells[index], int(index))
        return images

    def build(self, keras, tensor, index, train_inputs):
        """A trainable copy of the backbone, pooled to a vector.

        The copy keeps the extractor's own backbone untouched. Its
        batch-normalisation layers are frozen, which in Keras also runs them
        in inference mode (moving statistics): the usual recipe for
        fine-tuning on small data. A ``training=False`` call argument would
        not do: a functional model passes the outer ``training`` flag on to
        nested models, so batch statistics would be used in ``fit`` and
        moving ones in ``predict``. Every other weight is trained.
        """
        backbone = self.fitted_estimator.model_
        pooling = self.fitted_estimator.pooling
        copy = keras.models.clone_model(backbone)
        copy.set_weights(backbone.get_weights())
        copy.trainable = True
        _freeze_batch_norm(keras, copy)
        copy.name = f"modality_{index}_backbone"
        features = copy(tensor)
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


class CnnBranch(ImageFineTuneBranch):
    """Raw images through a small CNN trained from scratch (slot ``"cnn"``).

    The images are read as ``ImageFeatureExtractor(backbone="pixels",
    input_size=cnn_input_size)`` reads them (fitted on the present training
    cells; it shows in ``transformers_``): pixels in [0, 1], every image
    resized to ``cnn_input_size`` or to the first training image's size,
    grey if that image is grey, else colour. The network is
    :func:`~sklearn_mbm.neural._cnn.build_cnn`: blocks of two 3x3
    convolutions and a 2x2 max pooling, as many as bring the smaller side
    near 7 pixels, ``cnn_filters`` channels in the first block, doubling.
    """

    kind = "image"

    parameters = {
        "cnn_filters": [Interval(Integral, 1, None, closed="left")],
        "cnn_input_size": [Interval(Integral, 1, None, closed="left"), tuple, None],
    }

    def fit_transform(self, column, present, y):
        from sklearn_mbm.image import ImageFeatureExtractor

        cells = self._cells(column, "a 'cnn' image branch")
        self.fitted_estimator = ImageFeatureExtractor(
            backbone="pixels", input_size=self.owner.cnn_input_size
        ).fit(cells[present])
        return self._images(cells, present), present

    def build(self, keras, tensor, index, train_inputs):
        from sklearn_mbm.neural._cnn import build_cnn

        return build_cnn(keras, tensor, filters=self.owner.cnn_filters, index=index)


class MelCnnBranch(_Branch):
    """Raw audio as log-mel frame sequences through a Conv1D network (slot
    ``"mel_cnn"``).

    Each clip is loaded at ``mel_sr`` Hz (a bare waveform is sampled at
    ``mel_input_sr``) and cut into 25 ms frames every 10 ms; each frame's 40
    log-mel energies (the package's batched kernels, as the ``"logmel"``
    features of :class:`~sklearn_mbm.AudioFeatureExtractor`), less the
    clip's mean frame, form a sequence padded with zeros to the longest
    clip. :func:`~sklearn_mbm.neural._mel_cnn.build_mel_cnn` convolves over
    time (two Conv1D layers of ``mel_filters`` channels) and pools the mean
    and the max over each clip's own frames, so clips of any length give
    one vector.
    """

    kind = "audio"

    @classmethod
    def cell_reader(cls, owner):
        return SimpleNamespace(sr=owner.mel_sr, input_sr=owner.mel_input_sr)

    parameters = {
        "mel_sr": [Interval(Real, 0, None, closed="neither")],
        "mel_input_sr": [Interval(Real, 0, None, closed="neither"), None],
        "mel_filters": [Interval(Integral, 1, None, closed="left")],
    }

    def _frames(self, column, present):
        from sklearn_mbm._io import load_audio_cell
        from sklearn_mbm.neural._mel_cnn import N_MELS, audio_frames

        cells = self._cells(column, "a 'mel_cnn' audio branch")
        owner = self.owner
        rows = np.flatnonzero(present)
        waveforms = [
            load_audio_cell(cells[i], int(i), owner.mel_sr, owner.mel_input_sr)
            for i in rows
        ]
        frames, _ = audio_frames(waveforms, sr=owner.mel_sr, n_mels=N_MELS)
        out = np.zeros((len(cells), *frames.shape[1:]), dtype=np.float32)
        out[rows] = frames
        return out, present

    def fit_transform(self, column, present, y):
        return self._frames(column, present)

    def transform(self, column, present):
        return self._frames(column, present)

    def input_spec(self, inputs):
        # any number of frames: a clip longer than the training ones fits
        return {"shape": (None, inputs.shape[2]), "dtype": "float32"}

    def build(self, keras, tensor, index, train_inputs):
        from sklearn_mbm.neural._mel_cnn import build_mel_cnn

        return build_mel_cnn(keras, tensor, filters=self.owner.mel_filters, index=index)


#: Transformer slot strings that select a trainable branch.
BRANCHES = {"rnn": RnnBranch, "cnn": CnnBranch, "mel_cnn": MelCnnBranch}


def branch_class(estimator, fine_tune):
    """The branch class of a modality's estimator or slot string."""
    if isinstance(estimator, str):
        return BRANCHES.get(estimator, FrozenBranch)  # "passthrough": frozen
    offered = getattr(estimator, "_network_branch", None)
    if fine_tune and offered is not None:
        return offered() or FrozenBranch
    return FrozenBranch
