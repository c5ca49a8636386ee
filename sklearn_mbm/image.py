"""Image features: a Keras backbone (or raw pixels) as a scikit-learn transformer."""

import numbers
import os
import re
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from sklearn_mbm._compat import HasMethods, Interval, StrOptions, _fit_context
from sklearn_mbm._io import (
    ON_ERROR_OPTIONS,
    CellLoadWarning,
    as_cells,
    is_missing,
    load_image_cell,
    sample_index,
    thread_count,
)

__all__ = ["ImageFeatureExtractor"]

PIXELS = "pixels"

# Input size each keras.applications model was trained at, by normalised name
# (lower case, no underscores). include_top=False models accept other sizes
# too, so only the ones that differ from 224 are listed.
_NATIVE_SIZES = {
    "inceptionv3": 299,
    "inceptionresnetv2": 299,
    "xception": 299,
    "nasnetlarge": 331,
    "efficientnetb1": 240,
    "efficientnetb2": 260,
    "efficientnetb3": 300,
    "efficientnetb4": 380,
    "efficientnetb5": 456,
    "efficientnetb6": 528,
    "efficientnetb7": 600,
    "efficientnetv2b1": 240,
    "efficientnetv2b2": 260,
    "efficientnetv2b3": 300,
    "efficientnetv2s": 384,
    "efficientnetv2m": 480,
    "efficientnetv2l": 480,
}
_DEFAULT_NATIVE_SIZE = 224

# Saved-model file endings a str backbone may have.
_MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


class ImageFeatureExtractor(TransformerMixin, BaseEstimator):
    """Turn image cells into a feature matrix with a Keras network or raw pixels.

    Each image is decoded, converted to RGB (or grey), resized to
    ``input_size`` and passed through a convolutional network without its
    classification head; the pooled last feature map is the sample's row.
    ``backbone="pixels"`` instead flattens the resized pixels (no TensorFlow).

    Decoding and resizing run in ``n_jobs`` threads, one batch ahead of the
    network, so the CPU decodes batch ``k + 1`` while the network processes
    batch ``k``. Memory holds two batches of images, whatever the number of
    samples.

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
    on_error : {"raise", "warn"}, default="raise"
        What to do with a bad cell (missing, unreadable, wrong shape, ...):
        ``"raise"`` an error naming the sample index, the path and what was
        wrong, or ``"warn"`` with a :class:`~sklearn_mbm.exceptions.CellLoadWarning`
        and give that sample a row of NaN (so that
        :class:`~sklearn_mbm.FusionTransformer`'s ``missing`` policy, or an
        imputer, can handle it).
    verbose : bool, default=False
        Show a progress bar (tqdm) during ``transform``.

    Attributes
    ----------
    model_ : keras.Model or None
        The network (``None`` for ``"pixels"``), built once by ``fit``.
    backbone_name_ : str
        Snake-case name of the backbone (``"mobilenet_v2"``, ``"pixels"``,
        the model's name, or the saved model's file stem); the prefix of
        the feature names.
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
    values in [0, 1] (see :func:`sklearn_mbm._io.load_image_cell` for all
    the rules). A numeric stack ``(n, H, W)`` or ``(n, H, W, C)`` is a
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

    _parameter_constraints: dict = {
        "backbone": [str, os.PathLike, HasMethods(["predict_on_batch", "get_config"])],
        "weights": [str, os.PathLike, None],
        "input_size": [Interval(numbers.Integral, 1, None, closed="left"), tuple, None],
        "pooling": [StrOptions({"avg", "max"}), None],
        "exif_transpose": ["boolean"],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "n_jobs": [numbers.Integral, None],
        "on_error": [StrOptions(set(ON_ERROR_OPTIONS))],
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

    # ------------------------------------------------------------------
    # fit
    # ------------------------------------------------------------------

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the backbone (once) and fix the image size and colour mode.

        Parameters
        ----------
        X : sequence of image cells
            A list, pandas Series, one-column DataFrame, 1-D object array or
            numeric stack ``(n, H, W[, C])`` of image cells. Only
            ``"pixels"`` reads an image (the first valid one).
        y : None
            Ignored.

        Returns
        -------
        self : ImageFeatureExtractor
            The fitted extractor.
        """
        cells = as_cells(X, estimator_name=type(self).__name__)
        input_size = _check_input_size(self.input_size)
        self._predict_fn = None
        if isinstance(self.backbone, str) and self.backbone == PIXELS:
            self._fit_pixels(cells, input_size)
        else:
            self._fit_keras(input_size)
        return self

    def fit_transform(self, X, y=None):
        """Fit to the cells, then extract their features (reading ``X`` once).

        Parameters
        ----------
        X : sequence of image cells
            As for :meth:`fit`; a generator works too (it is read once).
        y : None
            Ignored.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), dtype float32
            As :meth:`transform` returns.
        """
        cells = as_cells(X, estimator_name=type(self).__name__)
        # _extract, not transform: the set_output wrapper of this method must
        # see the caller's X (its DataFrame index), not an already-wrapped output
        return self.fit(cells)._extract(cells)

    def _fit_pixels(self, cells, input_size):
        if self.weights not in ("imagenet", None):
            raise ValueError(_weights_not_used_message(self.weights, "'pixels'"))
        first = self._first_image(cells)
        self.model_ = None
        self.backbone_name_ = PIXELS
        self.preprocess_ = _scale_to_unit
        self.input_size_ = input_size or tuple(int(s) for s in first.shape[:2])
        self.n_channels_ = int(first.shape[2])
        height, width = self.input_size_
        self.n_features_out_ = height * width * self.n_channels_

    def _first_image(self, cells):
        """The first cell that loads, in its native size and colour mode."""
        for index, cell in enumerate(cells):
            if is_missing(cell):
                continue  # transform reports it
            try:
                return load_image_cell(
                    cell,
                    sample_index(cells, index),
                    mode=None,
                    exif_transpose=self.exif_transpose,
                )
            except (ValueError, TypeError, FileNotFoundError):
                if self.on_error == "raise":
                    raise
        raise ValueError(
            f"{type(self).__name__}(backbone='pixels') needs at least one "
            f"valid image in fit to fix the image size and colour mode; none "
            f"of the {len(cells)} cells could be loaded."
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
                application = _find_application(keras, path)
            if application is None:
                self._check_weights_unused(f"a saved model ({path!r})")
                model, preprocess = _load_saved_model(keras, path), None
                name = _clean_name(Path(path).stem)
            else:
                function, name, preprocess = application
                size = input_size or (_native_size(name),) * 2
                model = _build_application(
                    function, name, self.weights, size, self.pooling
                )
        else:
            raise TypeError(
                f"backbone must be 'pixels', a keras.applications model name, "
                f"a keras.Model or the path of a saved .keras model; got an "
                f"object of type {type(backbone).__name__}."
            )
        height, width, channels = _model_input_shape(model, input_size)
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

    # ------------------------------------------------------------------
    # transform
    # ------------------------------------------------------------------

    def transform(self, X):
        """Extract one row of features per image.

        Parameters
        ----------
        X : sequence of image cells
            A list, pandas Series, one-column DataFrame, 1-D object array or
            numeric stack ``(n, H, W[, C])`` of image cells (see Notes).

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), dtype float32
            One row per cell, in input order; a row of NaN for each bad cell
            when ``on_error="warn"``.
        """
        check_is_fitted(self)
        cells = as_cells(X, estimator_name=type(self).__name__)
        return self._extract(cells)

    def _extract(self, cells):
        from tqdm.auto import tqdm

        n_samples = len(cells)
        height, width = self.input_size_
        channels = self.n_channels_
        raise_errors = self.on_error == "raise"
        batch_size = min(self.batch_size, n_samples)
        out = np.empty((n_samples, self.n_features_out_), dtype=np.float32)
        # Two buffers: the threads fill one while the network reads the other.
        buffers = [
            np.empty((batch_size, height, width, channels), dtype=np.float32)
            for _ in range(2)
        ]

        def load_into(buffer, row, index):
            """Decode cell ``index`` into ``buffer[row]``; return an error or None."""
            cell = cells[index]
            index = sample_index(cells, index)
            try:
                buffer[row] = self._network_input(cell, index)
            except (ValueError, TypeError, FileNotFoundError) as exc:
                if raise_errors:
                    raise
                buffer[row] = 0.0  # a blank image keeps the batch shape
                if is_missing(cell):
                    return f"sample {index} is missing (None or NaN)."
                return str(exc)
            return None

        starts = range(0, n_samples, batch_size)
        n_workers = max(1, thread_count(self.n_jobs))
        pool = ThreadPoolExecutor(max_workers=n_workers)

        def submit(batch):
            start = starts[batch]
            stop = min(start + batch_size, n_samples)
            buffer = buffers[batch % 2]
            futures = [
                pool.submit(load_into, buffer, row, index)
                for row, index in enumerate(range(start, stop))
            ]
            return start, stop, buffer, futures

        progress = tqdm(
            total=n_samples,
            disable=not self.verbose,
            desc=type(self).__name__,
            unit="image",
        )
        pending = submit(0)
        try:
            for batch in range(len(starts)):
                start, stop, buffer, futures = pending
                # result() re-raises a worker's error, the first bad cell first
                errors = [future.result() for future in futures]
                # Decode the next batch into the other buffer during the network.
                pending = submit(batch + 1) if batch + 1 < len(starts) else None
                out[start:stop] = self._features(buffer[: stop - start])
                for row, error in enumerate(errors):
                    if error is not None:
                        out[start + row] = np.nan
                        warnings.warn(
                            f"{error} Its row of features is NaN.",
                            CellLoadWarning,
                            stacklevel=4,  # the caller of transform
                        )
                progress.update(stop - start)
        except BaseException:
            if pending is not None:
                for future in pending[3]:
                    future.cancel()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            progress.close()
        return out

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

    def _features(self, batch):
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

    def get_feature_names_out(self, input_features=None):
        """Feature names: ``"{backbone_name_}_{i}"``, or ``"pixel_{i}"``.

        Parameters
        ----------
        input_features : None
            Ignored (the input is cells, not named columns).

        Returns
        -------
        feature_names_out : ndarray of str objects
            ``n_features_out_`` names.
        """
        check_is_fitted(self)
        prefix = "pixel" if self.backbone_name_ == PIXELS else self.backbone_name_
        return np.asarray(
            [f"{prefix}_{i}" for i in range(self.n_features_out_)], dtype=object
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        # weights=None draws a new random network at each fit
        tags.non_deterministic = self.weights is None and not (
            isinstance(self.backbone, str) and self.backbone == PIXELS
        )
        return tags

    # ------------------------------------------------------------------
    # pickling: Keras models travel as .keras bytes
    # ------------------------------------------------------------------

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


# ----------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------


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


def _normalise(name):
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _snake_name(attr, function):
    """Snake-case name of a keras.applications function: MobileNetV2 -> mobilenet_v2.

    The defining module usually spells the family (``mobilenet_v2``,
    ``efficientnet``, ``resnet``); the rest of the name is the variant.
    """
    module = function.__module__.rsplit(".", 1)[-1]
    lower = attr.lower()
    flat = module.replace("_", "")
    if lower.startswith(flat):
        rest = lower[len(flat) :]
        if not rest:
            return module
        return module + rest if rest.isdigit() else f"{module}_{rest}"
    return re.sub(r"(v\d+)$", r"_\1", lower)  # ResNet50V2 -> resnet50_v2


def _applications(keras):
    """{normalised name: (attribute, snake name)} of keras.applications models."""
    found = {}
    for attr in dir(keras.applications):
        function = getattr(keras.applications, attr)
        if attr[:1].isupper() and callable(function):
            found[_normalise(attr)] = (attr, _snake_name(attr, function))
    return found


def _find_application(keras, name):
    """Return ``(function, snake_name, preprocess_input)`` for a model name."""
    found = _applications(keras)
    key = _normalise(name)
    if key not in found:
        names = ", ".join(sorted(snake for _, snake in found.values()))
        raise ValueError(
            f"unknown backbone {name!r}: expected 'pixels', a keras.applications "
            f"model name ({names}), a keras.Model, or the path of a saved "
            ".keras model (no such file)."
        )
    attr, snake = found[key]
    function = getattr(keras.applications, attr)
    module_name = function.__module__.rsplit(".", 1)[-1]
    module = getattr(keras.applications, module_name, None)
    if module is None or not hasattr(module, "preprocess_input"):
        module = sys.modules[function.__module__]
    return function, snake, module.preprocess_input


def _native_size(snake_name):
    return _NATIVE_SIZES.get(_normalise(snake_name), _DEFAULT_NATIVE_SIZE)


def _build_application(function, name, weights, size, pooling):
    """Build a headless keras.applications model, with clear weight errors."""
    if weights is not None and weights != "imagenet":
        weights = os.fspath(weights)
        if not os.path.isfile(weights):
            raise FileNotFoundError(
                f"weights file {weights!r} for backbone {name!r} not found; "
                "weights must be 'imagenet', None or the path of an existing "
                "weights file."
            )
    height, width = size
    try:
        return function(
            include_top=False,
            weights=weights,
            input_shape=(height, width, 3),
            pooling=pooling,
        )
    except Exception as exc:
        message = str(exc)
        if weights == "imagenet" and "URL fetch failure" in message:
            raise _weights_download_error(name, message) from exc
        if weights not in (None, "imagenet"):
            raise ValueError(
                f"cannot load the weights file {weights!r} into backbone "
                f"{name!r} (include_top=False, input {height}x{width}x3): "
                f"{message}. It must hold the weights of the model without its "
                "classification head (a '..._no_top' file)."
            ) from exc
        raise


def _keras_cache_dir():
    """The folder where keras.utils.get_file caches application weights."""
    try:
        from keras.src.backend.config import keras_home

        home = keras_home()
    except Exception:  # private API moved: mirror Keras's own rule
        home = os.environ.get("KERAS_HOME") or os.path.join(
            os.path.expanduser("~"), ".keras"
        )
    return os.path.join(os.path.expanduser(home), "models")


def _weights_download_error(name, message):
    match = re.search(r"(https?://\S+?)(?::\s|\s|$)", message)
    url = match.group(1) if match else None
    file_name = url.rsplit("/", 1)[-1] if url else None
    cache = _keras_cache_dir()
    if file_name:
        where = (
            f"Keras wanted the file {file_name!r} (from {url}). Download it "
            f"elsewhere and either place it in the Keras cache folder "
            f"{cache!r} (set KERAS_HOME to use another folder), or pass its "
            f"local path as weights='/path/to/{file_name}'."
        )
    else:
        where = (
            f"Place the weights file in the Keras cache folder {cache!r} (set "
            "KERAS_HOME to use another folder), or pass its local path as "
            "weights=."
        )
    return FileNotFoundError(
        f"cannot download the ImageNet weights of backbone {name!r}; this "
        f"machine seems to be offline ({message}). {where} Or use "
        "weights=None for a randomly initialised network."
    )


def _load_saved_model(keras, path):
    if os.path.isdir(path):
        raise ValueError(
            f"backbone {path!r} is a folder; Keras 3 loads models saved as one "
            ".keras file (model.save('model.keras')). Load a TensorFlow "
            "SavedModel folder yourself (keras.layers.TFSMLayer) and pass the "
            "keras.Model."
        )
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"backbone {path!r}: saved Keras model file not found (a str "
            "backbone is 'pixels', a keras.applications model name, or the "
            "path of a saved .keras model)."
        )
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:
        raise ValueError(
            f"backbone {path!r}: cannot load a Keras model from this file: {exc}"
        ) from exc


def _model_input_shape(model, input_size):
    """``(height, width, channels)`` the model takes, checked against input_size."""
    try:
        inputs = model.inputs
    except (AttributeError, ValueError) as exc:
        raise ValueError(
            f"the backbone model {model.name!r} has no defined input; start it "
            "with keras.Input(shape=(height, width, channels)) or build it."
        ) from exc
    if inputs is None or len(inputs) != 1 or len(inputs[0].shape) != 4:
        shapes = [tuple(t.shape) for t in inputs or []]
        raise ValueError(
            f"the backbone model {model.name!r} must have one image input of "
            f"shape (None, height, width, channels), got inputs {shapes}."
        )
    outputs = model.outputs
    if outputs is not None and len(outputs) != 1:
        raise ValueError(
            f"the backbone model {model.name!r} must have one output, got "
            f"{len(outputs)}."
        )
    _, height, width, channels = inputs[0].shape
    channels = 3 if channels is None else channels
    if channels not in (1, 3):
        raise ValueError(
            f"the backbone model {model.name!r} takes images with {channels} "
            "channels; image cells give 1 (grey) or 3 (RGB) channels."
        )
    if input_size is not None:
        for axis, fixed, wanted in (
            ("height", height, input_size[0]),
            ("width", width, input_size[1]),
        ):
            if fixed is not None and fixed != wanted:
                raise ValueError(
                    f"input_size={input_size} conflicts with the backbone "
                    f"model {model.name!r}, whose input {axis} is {fixed}; "
                    "leave input_size=None to use the model's."
                )
        return input_size[0], input_size[1], channels
    if height is None or width is None:
        raise ValueError(
            f"the backbone model {model.name!r} accepts any image size; set "
            "input_size=(height, width)."
        )
    return int(height), int(width), int(channels)
