"""ImageEmbedder: a KerasHub vision backbone, or CLIP's projected image embedding."""

import numpy as np

from sklearn_mbm._compat import StrOptions
from sklearn_mbm._extractors._base import substitute
from sklearn_mbm._io import load_image_cell
from sklearn_mbm.pretrained._base import _BaseEmbedder
from sklearn_mbm.pretrained._hub import predict_function

__all__ = ["ImageEmbedder"]


@substitute("on_error", "verbose")
class ImageEmbedder(_BaseEmbedder):
    """Embed image cells with a pretrained KerasHub vision backbone.

    Each cell is decoded (the same cells as
    :class:`~sklearn_mbm.ImageFeatureExtractor`: paths, bytes, PIL images,
    arrays) at its own size and prepared by the preset's own KerasHub
    ``ImageConverter``, exactly as KerasHub prepares it: resized to the
    preset's image size with the converter's interpolation and antialias
    setting, cropped to the target aspect ratio first (or padded, or
    squashed) as the converter says, and rescaled. It is then passed through
    the backbone; a
    sequence of patch tokens or a feature map is pooled into one row. For a
    joint image-text preset (CLIP) the row is the projected image embedding,
    in the same space as :class:`TextEmbedder`'s rows for that preset, so
    their cosine similarity means something.

    Parameters
    ----------
    preset : str or os.PathLike
        A KerasHub preset name (``"clip_vit_base_patch32"``,
        ``"dinov2_small"``, ``"vit_base_patch16_224_imagenet"``, ...), an
        ``hf://`` or ``kaggle://`` URI, or a local preset directory (what
        ``save_to_preset`` writes). Loaded lazily at ``fit``, once per
        process.
    pooling : {"avg", "max", "cls"}, default="avg"
        How the backbone's output becomes one row: the mean or maximum over
        the patch tokens (after ViT's class token, after DINOv2's class and
        register tokens) or over the spatial axes of a feature map, or the
        class token (``"cls"``; an error at ``fit`` for a backbone without
        one). Ignored by joint presets, whose image embedding is defined by
        the model.
    batch_size : int, default=32
        Images per network call; memory grows with it, not with the number
        of images.
    n_jobs : int or None, default=None
        Threads that decode and convert (resize, rescale) images, one batch
        ahead of the network. ``None`` means 1.
    {on_error}
    {verbose}
    exif_transpose : bool, default=True
        Turn image files upright by their EXIF orientation, as the image
        extractor does.

    Attributes
    ----------
    backbone_family_ : str
        The backbone's family (``"clip"``, ``"vi_t"``, ...), the prefix of the
        feature names.
    image_size_ : tuple of int
        ``(height, width)`` images are resized to, from the preset's
        converter.
    joint_ : bool
        True for a joint image-text preset (projected embeddings).
    preset_fingerprint_ : str
        Digest of the preset folder's files at fit.
    n_features_out_ : int
        Width of an embedding.

    See Also
    --------
    sklearn_mbm.ImageFeatureExtractor : keras.applications CNN features.
    TextEmbedder : The text side of a joint preset.

    Notes
    -----
    A fitted embedder pickles without its weights and reloads its preset
    (once per process) on first use. See :ref:`pretrained`.

    Examples
    --------
    >>> from sklearn_mbm.pretrained import ImageEmbedder
    >>> embedder = ImageEmbedder("clip_vit_base_patch32")  # doctest: +SKIP
    >>> embedder.fit_transform(["cat.jpg", "dog.png"]).shape  # doctest: +SKIP
    (2, 512)
    """

    _kind = "image"
    _unit = "image"

    _parameter_constraints: dict = {
        **_BaseEmbedder._parameter_constraints,
        "pooling": [StrOptions({"avg", "max", "cls"})],
        "exif_transpose": ["boolean"],
    }

    def __init__(
        self,
        preset,
        *,
        pooling="avg",
        batch_size=32,
        n_jobs=None,
        on_error="raise",
        verbose=False,
        exif_transpose=True,
    ):
        self.preset = preset
        self.pooling = pooling
        self.batch_size = batch_size
        self.n_jobs = n_jobs
        self.on_error = on_error
        self.verbose = verbose
        self.exif_transpose = exif_transpose

    @staticmethod
    def _load_parts(keras_hub, preset):
        import keras

        backbone = keras_hub.models.Backbone.from_preset(preset)
        converter = keras_hub.layers.ImageConverter.from_preset(preset)
        joint = hasattr(backbone, "get_vision_embeddings")
        encoder = backbone.vision_encoder if joint else backbone
        shape = tuple(encoder.image_shape)
        if converter.image_size is None:
            # a converter that does not resize: the backbone's fixed size,
            # with the converter's own crop / pad and interpolation settings
            converter.image_size = shape[:2]
        size = tuple(int(n) for n in converter.image_size)
        if joint:
            images = keras.Input(shape=(*size, shape[-1]), name="images")
            model = keras.Model(images, backbone.get_vision_embeddings(images))
        else:
            outputs = backbone.output
            if isinstance(outputs, dict):
                outputs = outputs.get("sequence_output", next(iter(outputs.values())))
            inputs = backbone.input
            if isinstance(inputs, dict):  # DINOv2: {"images": ...}
                (inputs,) = inputs.values()
            model = keras.Model(inputs, outputs)
        return {
            "backbone": backbone,
            "converter": converter,
            "convert": image_converter_function(converter),
            "model": model,
            "predict": predict_function(model),
            "joint": joint,
            "size": size,
            "prefix_tokens": 0 if joint else prefix_tokens(backbone),
        }

    def _configure(self, parts):
        self.image_size_ = parts["size"]
        self.joint_ = bool(parts["joint"])
        sequence = len(parts["model"].output.shape) == 3
        if (
            self.pooling == "cls"
            and not self.joint_
            and not (sequence and parts["prefix_tokens"])
        ):
            raise ValueError(
                f"pooling='cls' needs a class token, and the "
                f"{type(parts['backbone']).__name__} of preset {self.preset!r} "
                "has none (a feature map, or a ViT without use_class_token): "
                "use pooling='avg' or 'max'."
            )
        probe = np.zeros((*self.image_size_, 3), dtype=np.float32)
        self.n_features_out_ = int(self._embed_batch(parts, [probe]).shape[1])

    def _load_cell(self, cell, index):
        # decoded at its own size: the preset's converter resizes it
        return load_image_cell(
            cell, index, mode="RGB", exif_transpose=self.exif_transpose
        )

    def _prepare_batch(self, parts, values):
        # each image through the preset's converter at its own size (crop or
        # pad to the aspect ratio, interpolation, antialias), as KerasHub does
        return parts["convert"](values)

    def _run_batch(self, parts, inputs):
        outputs = parts["predict"](inputs)
        return pool_tokens(outputs, self.pooling, parts["prefix_tokens"])


def image_converter_function(converter):
    """``f(images) -> ndarray``: a KerasHub ``ImageConverter`` on a batch of
    images of any sizes.

    Each image, ``(height, width, channels)``, goes through the converter as
    KerasHub's tasks pass it, in a TensorFlow graph (as in ``Task.predict``'s
    ``tf.data`` pipeline): its resize with crop or pad to the aspect ratio,
    interpolation and antialias, then scale and offset. Images of one size
    go in one call (the converter treats each image of a batch alone); the
    graph is traced once for every size. In a graph the converter takes
    pixels as float32 whatever their dtype, so an 8-bit image is not rounded
    to whole grey levels after the resize (as an eager call on a uint8 array
    is).
    """
    from sklearn_mbm._keras import import_tensorflow

    tf = import_tensorflow()
    spec = tf.TensorSpec((None, None, None, None), tf.float32)

    @tf.function(input_signature=[spec])
    def convert(images):
        return converter(images)

    def run(images):
        by_shape = {}
        for i, image in enumerate(images):
            by_shape.setdefault(np.shape(image), []).append(i)
        out = [None] * len(images)
        for indices in by_shape.values():
            batch = np.stack([np.asarray(images[i], np.float32) for i in indices])
            for i, row in zip(indices, convert(batch).numpy()):
                out[i] = row
        return np.stack(out)

    return run


def prefix_tokens(backbone):
    """How many tokens precede the patch tokens of a vision backbone's output.

    ViT: its class token (``use_class_token``); DINOv2 / DINOv3: the class
    token and the register tokens. Other backbones (feature maps, unknown
    token models) count none: all their positions are pooled.
    """
    if hasattr(backbone, "use_class_token"):
        return int(bool(backbone.use_class_token))
    if type(backbone).__name__ in ("DINOV2Backbone", "DINOV3Backbone"):
        return 1 + int(getattr(backbone, "num_register_tokens", 0))
    return 0


def pool_tokens(outputs, pooling, prefix=0):
    """Pool ``(n, tokens, dim)`` or ``(n, h, w, dim)`` outputs into rows.

    ``"cls"`` is the first token; ``"avg"`` and ``"max"`` pool the patch
    tokens, after the ``prefix`` class and register tokens.
    """
    outputs = np.asarray(outputs)
    if outputs.ndim == 2:
        return outputs.astype(np.float32)
    if outputs.ndim == 3:
        if pooling == "cls":
            return outputs[:, 0].astype(np.float32)
        outputs = outputs[:, prefix:]
    flat = outputs.reshape(outputs.shape[0], -1, outputs.shape[-1])
    if pooling == "max":
        return flat.max(axis=1).astype(np.float32)
    return flat.mean(axis=1).astype(np.float32)
