"""Image features: a Keras backbone (or raw pixels) as a scikit-learn transformer."""

import numbers
import os
import re
from pathlib import Path

import numpy as np

from sklearn_mbm._compat import HasMethods, Interval, StrOptions
from sklearn_mbm._extractors._base import _BaseExtractor, numbered_names, substitute
from sklearn_mbm._extractors._keras_applications import (
    build_application,
    find_application,
    load_saved_model,
    model_input_shape,
    native_size,
)
from sklearn_mbm._io import load_image_cell

__all__ = ["ImageFeatureExtractor"]

PIXELS = "pixels"

# Saved-model file endings a str backbone may have.
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


@substitute("on_error", "verbose")
class ImageFeatureExtractor(_BaseExtractor):
    """Turn image cells into a feature matrix with a Keras network or raw pixels.

    Each image is decoded, converted to RGB (or grey), resized to
    ``input_size`` and passed through a convolutional network without its
    classification head; the pooled last feature map is the sample's row.
    ``backbone="pixels"`` instead flattens the resized pixels (no TensorFlow).

    Decoding and resizing run in ``n_jobs`` threads, one batch ahead of the
    network, so the CPU decodes batch ``k + 1`` while the network processes
    batch ``k``. Memory holds at most three batches of images, whatever the
    number of samples.

    Parameters
    ----------
    backbone : str, os.PathLike or keras.Model, default="mobilenet_v2"
        - The name of a ``keras.applications`` model, in snake case or as
          Keras spells it, case and underscores ignored: ``"mobilenet_v2"``,
          ``"efficientnet_b0"``, ``"resnet50"``, ``"convnext_tiny"``,
          ``"MobileNetV3Small"``, ... It is built with ``include_top=False``
          and the images are prepared by the model's own ``preprocess_input``.
        - A ``keras.Model`` with one image input ``(None, H, W, C)``, ``C`` 1
          (grey) or 3 (RGB). It receives float32 pixels in [0, 255]; include
          any rescaling in the model (e.g. a ``keras.layers.Rescaling``). An
          output with spatial axes is pooled as ``pooling`` says. The fitted
          estimator uses this very model (not a copy); ``clone`` copies it.
        - The path of a saved model (``.keras``), used as above.
        - ``"pixels"``: resize and flatten, pixel values scaled to [0, 1].
          TensorFlow is never imported.
    weights : {"imagenet"}, str, os.PathLike or None, default="imagenet"
        Weights of a ``keras.applications`` backbone: ``"imagenet"``
        (downloaded once by Keras into its cache folder, ``~/.keras/models``
        or ``$KERAS_HOME/models``), ``None`` for random initialisation (a
        new random network at each ``fit``; for tests), or the path of a
        local weights file for the headless model (``..._no_top.h5``). When
        the ImageNet weights cannot be downloaded (offline), ``fit`` raises
        ``FileNotFoundError`` naming the file to place in the cache folder or
        to pass as ``weights``. ``"imagenet"`` and ``None`` are ignored for
        the other backbones; a file path there is an error.
    input_size : int, (int, int) or None, default=None
        ``(height, width)`` images are resized to (an int means a square),
        without keeping the aspect ratio. ``None``: the backbone's native
        size (224 for most ``keras.applications`` models, 299 for Inception
        and Xception, 240-600 for EfficientNet B1-B7, ...), the input size of
        a ``keras.Model`` backbone, or, for ``"pixels"``, the size of the
        first image that loads in ``fit``'s training cells: set it (e.g.
        ``input_size=(28, 28)``) so that the size does not depend on which
        image happens to come first.
    pooling : {"avg", "max"} or None, default="avg"
        Global pooling of the last feature map (``keras.applications``
        ``pooling=``; for a ``keras.Model`` backbone, applied over the spatial
        axes of an output with more than 2 dimensions). ``None`` flattens the
        feature map instead. Ignored by ``"pixels"``.
    exif_transpose : bool, default=True
        Turn each image upright by its EXIF orientation (tag 274, which
        phone cameras write instead of rotating the pixels) before the
        resize, as ``PIL.ImageOps.exif_transpose`` does, for file, bytes and
        ``PIL.Image.Image`` cells; a portrait photo then reaches the network
        as a person sees it. ``False`` uses the pixels as stored (as
        ``keras.utils.load_img`` does). Arrays carry no orientation.
    batch_size : int, default=32
        Images per network call. Memory use grows with it, not with the
        number of samples.
    n_jobs : int or None, default=None
        Threads that decode and resize images. ``None`` means 1 (still one
        batch ahead of the network), also inside a joblib or Dask worker;
        ``-1`` means all CPUs.
    {on_error}
    {verbose}

    Attributes
    ----------
    model_ : keras.Model or None
        The network (``None`` for ``"pixels"``), built once by ``fit``.
    backbone_name_ : str
        Snake-case name of the backbone (``"mobilenet_v2"``, ``"pixels"``,
        the model's name, or the saved model's file stem). The feature names
        are ``"{backbone_name_}_{i}"``, or ``"pixel_{i}"`` for ``"pixels"``.
    input_size_ : tuple of int
        ``(height, width)`` of the images fed to the backbone.
    n_channels_ : int
        3 (RGB) or 1 (grey). ``keras.applications`` models take RGB; a
        ``keras.Model`` sets it by its input; ``"pixels"`` keeps grey images
        grey: 1 if the first image that loads in ``fit`` is grey (every
        image is then converted to grey), else 3. ``input_size`` does not
        change this; see the Notes to fix it.
    preprocess_ : callable or None
        Function applied to each float32 image in [0, 255] before the
        network (the application's ``preprocess_input``), or ``None``.
    n_features_out_ : int
        Number of output features.

    See Also
    --------
    sklearn_mbm.TextFeatureExtractor : Features from text cells.
    sklearn_mbm.AudioFeatureExtractor : Features from audio cells.
    sklearn_mbm.FusionTransformer : Fuse the features of several modalities.

    Notes
    -----
    Cells may be file paths, encoded bytes, ``PIL.Image.Image`` objects or
    numpy arrays; integer arrays hold values in [0, 255] and float arrays
    values in [0, 1] (see :ref:`data_model` for every form a cell may
    take). A numeric stack ``(n, H, W)`` or ``(n, H, W, C)`` is a
    sequence of ``n`` cells. Error messages name a sample by its position
    (0-based), and by its index label too when the input is a Series or
    one-column DataFrame whose index is not the positions
    (``"sample 'b' (position 4)"``), so that ``X.loc[...]`` finds it.

    **Size and colour mode with** ``"pixels"``. Both come from the first
    training cell that loads (missing and, with ``on_error="warn"``, bad
    cells are skipped), unless ``input_size`` is given, which fixes the
    size (the colour mode still comes from that first cell). So a grey
    image first makes every image grey, and a shuffled training set can
    change the output width. To fix them: pass ``input_size=(height,
    width)``, and give cells of one colour mode (convert them before, e.g.
    ``PIL.Image.open(path).convert("RGB")``, or stack grey arrays into
    ``(n, H, W, 3)``); ``n_channels_`` and ``input_size_`` show what
    ``fit`` chose.

    Like :class:`~sklearn.feature_extraction.text.CountVectorizer`, the
    input is a sequence of cells rather than columns, so ``n_features_in_``
    is not set. ``fit`` builds the network and reads no image except, for
    ``"pixels"``, the first one (to fix the size and the colour mode). It
    runs the network once on a test image and raises ``ValueError``, naming
    the backbone and ``input_size``, if the output is empty, of another shape
    than Keras infers, or not finite (e.g. images smaller than a valid
    convolution).

    Images are turned upright by their EXIF orientation unless
    ``exif_transpose=False``. Large JPEG files are decoded at reduced scale
    (Pillow's draft mode: 1/2, 1/4 or 1/8) when that still leaves at least
    ``input_size`` pixels, then resized: on a 3840x2560 photo resized to
    224x224 this is about 3 times faster than a full decode, and the pixels
    differ by 0.75 grey levels on average (at most 10, of 255).

    The estimator pickles (the Keras model is stored as ``.keras`` bytes, so
    models with custom layers need them registered with
    ``keras.saving.register_keras_serializable``).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm import ImageFeatureExtractor
    >>> images = np.random.default_rng(0).integers(0, 256, (4, 28, 28), np.uint8)
    >>> extractor = ImageFeatureExtractor(backbone="pixels", input_size=8)
    >>> extractor.fit_transform(images).shape
    (4, 64)
    >>> extractor.get_feature_names_out()[:3]
    array(['pixel_0', 'pixel_1', 'pixel_2'], dtype=object)

    With a pretrained network (downloads the ImageNet weights once):

    >>> extractor = ImageFeatureExtractor("mobilenet_v2")  # doctest: +SKIP
    >>> extractor.fit_transform(["cat.jpg", "dog.png"]).shape  # doctest: +SKIP
    (2, 1280)
    """

    _unit = "image"

    _parameter_constraints: dict = {
        **_BaseExtractor._parameter_constraints,
        "backbone": [str, os.PathLike, HasMethods(["predict_on_batch", "get_config"])],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple, None],
        "pooling": [StrOptions({"avg", "max"}), None],
        "exif_transpose": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        backbone="mobilenet_v2",
        *,
        weights="imagenet",
        input_size=None,
        pooling="avg",
        exif_transpose=True,
        batch_size=32,
        n_jobs=None,
        on_error="raise",
        verbose=False,
    ):
        self.backbone = backbone
        self.weights = weights
        self.input_size = input_size
        self.pooling = pooling
        self.exif_transpose = exif_transpose
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose

    def _fit(self, cells):
        """Build the backbone (once) and fix the image size and colour mode.

        Only ``"pixels"`` reads an image (the first valid one).
        """
        input_size = _check_input_size(self.input_size)
        self._predict_fn = None
        if self._uses_pixels():
            self._fit_pixels(cells, input_size)
        else:
            self._fit_keras(input_size)

    def _fit_pixels(self, cells, input_size):
        if self.weights not in ("imagenet", None):
            raise ValueError(_weights_not_used_message(self.weights, "'pixels'"))
        first = self._first_loaded(
            cells,
            self._native_image,
            "fix the image size and colour mode of backbone='pixels'",
        )
        self.model_ = None
        self.backbone_name_ = PIXELS
        self.preprocess_ = _scale_to_unit
        self.input_size_ = input_size or tuple(int(s) for s in first.shape[:2])
        self.n_channels_ = int(first.shape[2])
        height, width = self.input_size_
        self.n_features_out_ = height * width * self.n_channels_

    def _native_image(self, cell, index):
        """Cell ``index`` decoded in its native size and colour mode."""
        return load_image_cell(
            cell, index, mode=None, exif_transpose=self.exif_transpose
        )

    def _fit_keras(self, input_size):
        from sklearn_mbm._keras import import_keras, make_predict_function

        keras = import_keras()
        backbone = self.backbone
        if isinstance(backbone, keras.Model):
            self._check_weights_unused("a keras.Model")
            model, preprocess = backbone, None
            name = _clean_name(model.name)
        elif isinstance(backbone, (str, os.PathLike)):
            path = os.fspath(backbone)
            application = None
            if not os.path.exists(path) and not path.lower().endswith(_MODEL_SUFFIXES):
                application = find_application(keras, path)
            if application is None:
                self._check_weights_unused(f"a saved model ({path!r})")
                model, preprocess = load_saved_model(keras, path), None
                name = _clean_name(Path(path).stem)
            else:
                function, name, preprocess = application
                size = input_size or (native_size(name),) * 2
                model = build_application(
                    function, name, self.weights, size, self.pooling
                )
        else:
            raise TypeError(
                f"backbone must be 'pixels', a keras.applications model name, "
                f"a keras.Model or the path of a saved .keras model; got an "
                f"object of type {type(backbone).__name__}."
            )
        height, width, channels = model_input_shape(model, input_size)
        self.model_ = model
        self.backbone_name_ = name
        self.preprocess_ = preprocess
        self.input_size_ = (height, width)
        self.n_channels_ = channels
        self._predict_fn = make_predict_function(model)
        self.n_features_out_ = self._probe_backbone()

    def _probe_backbone(self):
        """Run the fitted backbone once on a probe image; return its feature count.

        One image at ``input_size_`` traces the inference function and shows
        what the network gives. Keras's shape inference and the output itself
        must agree on one array with no empty axis, finite on the probe, and
        2-D after pooling: some TensorFlow versions return a blank array of
        the wrong shape for an image smaller than a valid convolution instead
        of raising, which would be silent garbage features.
        """
        model, name = self.model_, self.backbone_name_
        height, width = self.input_size_
        channels = self.n_channels_
        refused = (
            f"the backbone {name!r} cannot process images of size "
            f"{height}x{width} with {channels} channel(s) (input_size="
            f"{self.input_size!r})"
        )
        try:
            expected = model.compute_output_shape((None, height, width, channels))
        except NotImplementedError:  # a custom layer without shape inference
            expected = None
        except Exception as exc:
            raise ValueError(f"{refused}: {exc}") from exc
        # a smooth colour gradient, prepared as real images are
        rows = np.linspace(0.0, 255.0, height, dtype=np.float32)[:, None, None]
        cols = np.linspace(255.0, 0.0, width, dtype=np.float32)[None, :, None]
        image = np.broadcast_to((rows + cols) / 2, (height, width, channels))
        image = np.array(image, dtype=np.float32)
        if self.preprocess_ is not None:
            image = self.preprocess_(image)
        try:
            raw = self._predict_fn(image[np.newaxis])
        except Exception as exc:
            raise ValueError(f"{refused}: {exc}") from exc
        problem = _probe_problem(raw, expected)
        if problem is not None:
            raise ValueError(f"{refused}: {problem}.")
        # (1, n_features) with n_features >= 1: no axis of raw is empty
        features = self._pool(np.asarray(raw, dtype=np.float32))
        if not np.isfinite(features).all():
            n_bad = int(features.size - np.count_nonzero(np.isfinite(features)))
            raise ValueError(
                f"{refused}: {n_bad} of its {features.size} features of a test "
                "image are NaN or infinite."
            )
        return int(features.shape[1])

    def _check_weights_unused(self, what):
        if self.weights not in ("imagenet", None):
            raise ValueError(_weights_not_used_message(self.weights, what))

    def _network_input(self, cell, index):
        """Cell ``index`` as the network takes it: decoded, resized to
        ``input_size_``, in ``n_channels_`` channels and preprocessed, a
        float32 array of shape (height, width, channels). A bad cell raises
        (ValueError, TypeError or FileNotFoundError naming the sample).

        Also used by NeuralFusionClassifier(fine_tune=True) to feed raw images
        to its trainable copy of the backbone.
        """
        mode = "L" if self.n_channels_ == 1 else "RGB"
        image = load_image_cell(
            cell,
            index,
            size=self.input_size_,
            mode=mode,
            exif_transpose=self.exif_transpose,
        )
        return image if self.preprocess_ is None else self.preprocess_(image)

    def _load_cell(self, cell, index):
        """The batch loop's loader: :meth:`_network_input`."""
        return self._network_input(cell, index)

    def _prepare_batch(self, context, images):
        """One float32 array ``(n, height, width, channels)``."""
        return np.stack(images)

    def _run_batch(self, context, batch):
        """Backbone output for a batch of prepared images, as 2-D float32."""
        if self.model_ is None:  # pixels
            return batch.reshape(batch.shape[0], -1)
        predict = getattr(self, "_predict_fn", None)
        if predict is None:
            from sklearn_mbm._keras import make_predict_function

            predict = self._predict_fn = make_predict_function(self.model_)
        features = np.asarray(predict(batch), dtype=np.float32)
        if features.size == 0:  # e.g. a valid convolution larger than the map
            raise ValueError(f"the network gives an empty output {features.shape}")
        return self._pool(features)

    def _pool(self, features):
        """Backbone output ``(n, ...)`` as 2-D: spatial axes pooled or flattened."""
        if features.ndim > 2:
            spatial = tuple(range(1, features.ndim - 1))
            if self.pooling == "avg":
                features = features.mean(axis=spatial)
            elif self.pooling == "max":
                features = features.max(axis=spatial)
            else:
                features = features.reshape(features.shape[0], -1)
        elif features.ndim == 1:
            features = features[:, np.newaxis]
        return features

    def _feature_names(self):
        prefix = "pixel" if self.backbone_name_ == PIXELS else self.backbone_name_
        return numbered_names(f"{prefix}_", self.n_features_out_)

    def _network_branch(self):
        """The neural fusion estimators' fine-tuning branch (a trainable copy
        of the Keras backbone), or None for ``"pixels"``."""
        if self._uses_pixels():
            return None
        from sklearn_mbm.neural._branches import ImageFineTuneBranch

        return ImageFineTuneBranch

    def _uses_pixels(self):
        """Whether ``backbone`` is ``"pixels"`` (no network)."""
        return isinstance(self.backbone, str) and self.backbone == PIXELS

    def _rows_are_independent(self):
        # raw pixels: each image is decoded, resized and scaled on its own
        # (tests/test_image.py checks subsets against the whole, bit for bit).
        # Not a network: its batched products may round differently with
        # the batch's size.
        return self._uses_pixels()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        # weights=None draws a new random network at each fit
        tags.non_deterministic = self.weights is None and not self._uses_pixels()
        return tags

    # ----------------------------------------------------------------------
    # pickling: Keras models travel as .keras bytes
    # ----------------------------------------------------------------------

    # The fitted Keras model is stored as ``_model`` behind the ``model_``
    # property, and pickles as ``.keras`` bytes that are rebuilt on first use:
    # a fitted extractor loaded from FusionTransformer's cache (or shipped to a
    # worker) whose output is already known never pays for rebuilding it.
    @property
    def model_(self):
        """The fitted Keras model, or None for ``"pixels"``."""
        state = self.__dict__
        if isinstance(state.get("_model"), bytes):  # unpickled, not yet used
            from sklearn_mbm._keras import model_from_bytes

            state["_model"] = model_from_bytes(state["_model"])
        try:
            return state["_model"]
        except KeyError:
            raise AttributeError(
                f"'{type(self).__name__}' object has no attribute 'model_'"
            ) from None

    @model_.setter
    def model_(self, value):
        self.__dict__.pop("_predict_fn", None)
        self.__dict__["_model"] = value

    def __getstate__(self):
        from sklearn_mbm._keras import keras_state

        # a model_ that is the backbone itself is stored once
        return keras_state(super().__getstate__(), ("backbone", "_model"))

    def __setstate__(self, state):
        from sklearn_mbm._keras import restore_keras_state

        super().__setstate__(restore_keras_state(state, lazy=("_model",)))


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _probe_problem(output, expected):
    """What is wrong with a backbone's output on one probe image, or None.

    ``expected`` is Keras's inferred output shape (batch axis first) or None.
    """
    if isinstance(output, (list, tuple, dict)):
        return f"it gives {len(output)} outputs, not one"
    shape = tuple(np.shape(output))
    if expected is not None:
        if isinstance(expected, (list, dict)) or (
            expected and isinstance(expected[0], (tuple, list))
        ):
            return f"it declares {len(expected)} outputs, not one"
        if any(d is not None and d < 1 for d in expected[1:]):
            return f"Keras infers an output of shape {tuple(expected)}"
    if len(shape) < 1 or shape[0] != 1 or min(shape) < 1:
        return f"it gives an output of shape {shape} for a batch of one image"
    if expected is not None and (
        len(expected) != len(shape)
        or any(d is not None and d != s for d, s in zip(expected[1:], shape[1:]))
    ):
        return (
            f"it gives an output of shape {shape} where Keras infers {tuple(expected)}"
        )
    return None


def _scale_to_unit(image):
    """Pixel features: [0, 255] -> [0, 1]."""
    image *= np.float32(1.0 / 255.0)
    return image


def _check_input_size(input_size):
    if input_size is None:
        return None
    if isinstance(input_size, numbers.Integral):
        return int(input_size), int(input_size)
    if (
        len(input_size) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, bool)
            for s in input_size
        )
        and min(input_size) >= 1
    ):
        return int(input_size[0]), int(input_size[1])
    raise ValueError(
        "input_size must be None, a positive int or a (height, width) pair of "
        f"positive ints, got {input_size!r}."
    )


def _weights_not_used_message(weights, what):
    return (
        f"weights={weights!r} is a weights file, but the backbone is {what}; "
        "a weights file only applies to a keras.applications backbone. Load "
        "the weights into your model (model.load_weights) instead."
    )


def _clean_name(name):
    """A model or file name as a feature-name prefix (snake case, [a-z0-9_])."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", str(name)).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_") or "model"
