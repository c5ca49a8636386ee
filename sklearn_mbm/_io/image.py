"""Image cells: one path, bytes, PIL image or array to a float32 array.

:func:`load_image_cell` is the loader :class:`~sklearn_mbm.ImageFeatureExtractor`
and :class:`~sklearn_mbm.ImageEmbedder` call for each cell; Pillow is imported
only when a cell needs it.
"""

import numbers
import os

import numpy as np

from sklearn_mbm._io._cells import (
    cell_error_message,
    is_missing,
    missing_cell_error,
    open_cell_file,
)

IMAGE_CELL_TYPES = (
    "an image file path (str or os.PathLike), encoded image bytes, a "
    "PIL.Image.Image, or a numpy array of shape (H, W) or (H, W, 1|3|4)"
)

IMAGE_MODES = ("RGB", "L", None)

# Pillow modes whose pixels are one grey value (possibly with alpha).
_GREY_PIL_MODES = frozenset({"1", "L", "LA", "La", "I", "F"})

# Pillow's integer modes hold 16-bit samples (16-bit PNG, TIFF); they are
# mapped from [0, 65535] onto [0, 255].
_SIXTEEN_BIT_MAX = 65535.0

# EXIF orientation (tag 274) -> the Pillow transpose that makes the image
# upright, as PIL.ImageOps.exif_transpose maps it; 1 (upright) is absent.
_EXIF_ORIENTATION_TAG = 0x0112
_EXIF_TRANSPOSES = {
    2: "FLIP_LEFT_RIGHT",
    3: "ROTATE_180",
    4: "FLIP_TOP_BOTTOM",
    5: "TRANSPOSE",
    6: "ROTATE_270",
    7: "TRANSVERSE",
    8: "ROTATE_90",
}

# ITU-R 601-2 luma, the weights Pillow uses for convert("L").
_LUMA_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)


def load_image_cell(cell, index, *, size=None, mode="RGB", exif_transpose=True):
    """Load one image cell as a float32 array ``(height, width, channels)``.

    Pixel values are in [0, 255] whatever the source, the range
    ``keras.applications`` models' ``preprocess_input`` expects.

    Parameters
    ----------
    cell : str, os.PathLike, bytes, PIL.Image.Image or ndarray
        - a path to an image file in any format Pillow reads (PNG, JPEG, GIF
          (first frame), BMP, TIFF, WebP, ...);
        - the raw encoded bytes of such a file;
        - a ``PIL.Image.Image``;
        - a numpy array of shape ``(H, W)`` (grey), ``(H, W, 1)`` (grey),
          ``(H, W, 3)`` (RGB) or ``(H, W, 4)`` (RGBA). The dtype sets the
          scale: integer arrays (uint8, int64, ...) hold values in [0, 255];
          **float arrays hold values in [0, 1]** (the convention of
          matplotlib and scikit-image), and are multiplied by 255; boolean
          arrays are 0 or 1 like floats. Values outside the range raise
          ``ValueError`` rather than being clipped silently: divide a float
          image in [0, 255] by 255 or cast it to uint8.

        16-bit images (Pillow modes ``"I;16"`` and ``"I"``) are scaled from
        [0, 65535] to [0, 255]; float images (mode ``"F"``) follow the float
        rule. An alpha channel is dropped (as ``keras.utils.load_img``);
        palette images are expanded; the EXIF orientation is applied (see
        ``exif_transpose``).
    index : int
        Position of the sample, for error messages.
    size : int, (int, int) or None, default=None
        Output ``(height, width)`` (an int means a square). The image is
        resized with Pillow's antialiased bilinear filter, without keeping
        the aspect ratio (as ``keras.utils.load_img(target_size=...)``).
        ``None`` keeps the image's own size. Large JPEG files are decoded at
        a reduced scale (Pillow's draft mode: 1/2, 1/4 or 1/8, by the DCT)
        when that still leaves at least ``size`` pixels, which is several
        times faster and differs from a full decode then resize by a few
        grey levels (see the extractors guide).
    mode : {"RGB", "L", None}, default="RGB"
        ``"RGB"`` gives 3 channels (grey images are repeated), ``"L"`` gives
        1 grey channel (colour images are converted with the ITU-R 601-2
        luma weights, as Pillow does), ``None`` keeps grey images grey
        (1 channel) and makes every other image RGB.
    exif_transpose : bool, default=True
        Turn files, bytes and ``PIL.Image.Image`` cells upright by their
        EXIF orientation (tag 274, as phone cameras write it), as
        ``PIL.ImageOps.exif_transpose`` does, before the resize; ``size`` is
        then the upright image's. ``False`` keeps the stored pixel layout
        (as ``keras.utils.load_img``). Arrays carry no EXIF.

    Returns
    -------
    image : ndarray of shape (height, width, channels), dtype float32
        Finite values in [0, 255]; ``channels`` is 1 or 3.

    Raises
    ------
    ValueError
        Missing cell (None/NaN); a file or bytes that are not an image Pillow
        can decode, or are truncated or corrupt; a directory; empty bytes or
        an empty image; an array of the wrong number of dimensions or
        channels; NaN or infinite pixels; pixel values outside the range of
        their dtype's convention.
    TypeError
        A cell of an unsupported type, or an array of an unsupported dtype
        (complex, str, object, ...).
    FileNotFoundError
        A path that does not exist.

    Every message names the sample index and, for files, the path. The
    original exception (Pillow's, the OS's) is chained as ``__cause__``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn_mbm._io import load_image_cell
    >>> grey = np.zeros((28, 28), dtype=np.uint8)
    >>> load_image_cell(grey, 0, size=32).shape
    (32, 32, 3)
    >>> load_image_cell(grey, 0, mode=None).shape
    (28, 28, 1)
    """
    if mode not in IMAGE_MODES:
        raise ValueError(f"mode must be one of {IMAGE_MODES}, got {mode!r}.")
    size = _image_size(size)
    if is_missing(cell):
        raise missing_cell_error(index)
    if isinstance(cell, np.ndarray):
        return _image_from_array(cell, index, cell, size, mode)
    from PIL import Image

    if isinstance(cell, Image.Image):
        orientation = _exif_orientation(cell) if exif_transpose else 1
        return _decode_pil_image(cell, index, cell, size, mode, orientation)
    if isinstance(cell, (str, os.PathLike)):
        return _read_image_file(cell, index, size, mode, exif_transpose)
    if isinstance(cell, (bytes, bytearray, memoryview)):
        if len(cell) == 0:
            raise ValueError(
                cell_error_message(index, cell, "empty bytes (0 bytes), not an image.")
            )
        import io

        return _open_and_decode(
            io.BytesIO(bytes(cell)), index, cell, size, mode, exif_transpose
        )
    raise TypeError(
        cell_error_message(
            index, cell, f"unsupported image cell; expected {IMAGE_CELL_TYPES}."
        )
    )


def _image_size(size):
    """Normalise ``size`` to ``(height, width)`` or None."""
    if size is None:
        return None
    if isinstance(size, numbers.Integral) and not isinstance(size, (bool, np.bool_)):
        size = (size, size)
    if (
        isinstance(size, (tuple, list))
        and len(size) == 2
        and all(
            isinstance(s, numbers.Integral) and not isinstance(s, (bool, np.bool_))
            for s in size
        )
        and min(size) >= 1
    ):
        return int(size[0]), int(size[1])
    raise ValueError(
        f"size must be a positive int or a (height, width) pair of positive "
        f"ints, got {size!r}."
    )


def _read_image_file(cell, index, size, mode, exif_transpose):
    with open_cell_file(cell, index, "image") as file:
        return _open_and_decode(file, index, cell, size, mode, exif_transpose)


def _exif_orientation(image):
    """The EXIF orientation (1-8) of a PIL image; 1 when absent or unreadable."""
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:  # a corrupt EXIF block: the pixels may still be fine
        return 1
    return orientation if orientation in _EXIF_TRANSPOSES else 1


def _open_and_decode(stream, index, cell, size, mode, exif_transpose):
    """Open an encoded image (file object) with Pillow and decode it."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(stream)
    except UnidentifiedImageError as exc:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                "not an image file Pillow can read (unknown or unsupported format).",
            )
        ) from exc
    except Image.DecompressionBombError as exc:
        raise ValueError(cell_error_message(index, cell, f"{exc}")) from exc
    except Exception as exc:  # Pillow raises many types on corrupt headers
        raise ValueError(
            cell_error_message(
                index, cell, f"corrupt image header ({type(exc).__name__}: {exc})."
            )
        ) from exc
    with image:
        orientation = _exif_orientation(image) if exif_transpose else 1
        if size is not None and image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers `size`:
            # the DCT does the downscaling, several times faster. The stored
            # image is `size` turned back, for orientations that swap axes.
            stored = (size[0], size[1]) if orientation >= 5 else (size[1], size[0])
            try:
                image.draft(image.mode, stored)
            except Exception:  # draft is only an optimisation
                pass
        return _decode_pil_image(image, index, cell, size, mode, orientation)


def _decode_pil_image(image, index, cell, size, mode, orientation=1):
    """Decode a PIL image (forcing the lazy load) and convert it to an array.

    ``orientation`` is the EXIF orientation to undo (1: none).
    """
    from PIL import Image

    try:
        image.load()
        if orientation != 1:
            image = image.transpose(
                getattr(Image.Transpose, _EXIF_TRANSPOSES[orientation])
            )
        # One-channel high-depth images go through the float path so that
        # nothing is clipped to 8 bits.
        high_depth = image.mode in ("F", "I") or image.mode.startswith("I;16")
        if high_depth:
            data = np.asarray(image, dtype=np.float32)
            if image.mode != "F":
                data = data / np.float32(_SIXTEEN_BIT_MAX)
        else:
            native_grey = image.mode in _GREY_PIL_MODES
            if image.mode in ("P", "PA"):
                # expand the palette (and its transparency) before dropping alpha
                image = image.convert("RGBA")
            target = mode or ("L" if native_grey else "RGB")
            # Grey to RGB: resize the one channel first, a third of the work.
            resize_first = image.mode == "L" and target == "RGB"
            if image.mode != target and not resize_first:
                image = image.convert(target)
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            if image.mode != target:
                image = image.convert(target)
            data = np.asarray(image, dtype=np.float32)
    except MemoryError:
        raise
    except (ValueError, TypeError) as exc:  # e.g. a mode Pillow cannot convert
        raise ValueError(
            cell_error_message(
                index, cell, f"cannot decode the image ({type(exc).__name__}: {exc})."
            )
        ) from exc
    except Exception as exc:  # OSError "image file is truncated", SyntaxError, ...
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated or corrupt image data ({type(exc).__name__}: {exc}).",
            )
        ) from exc
    if high_depth:
        return _image_from_array(data, index, cell, size, mode)
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.shape[0] == 0 or data.shape[1] == 0:
        raise ValueError(
            cell_error_message(index, cell, f"empty image of size {data.shape[:2]}.")
        )
    return data


def _image_from_array(array, index, cell, size, mode):
    """Validate a numpy image and return it as float32 (h, w, 1|3) in [0, 255]."""
    if array.ndim not in (2, 3):
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"an image array must be 2-D (H, W) or 3-D (H, W, C), got "
                f"{array.ndim}-D.",
            )
        )
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"an image array must have 1, 3 or 4 channels on its last axis "
                f"(grey, RGB, RGBA), got {array.shape[2]}.",
            )
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise ValueError(
            cell_error_message(index, cell, f"empty image of shape {array.shape}.")
        )
    kind = array.dtype.kind
    if kind == "b":
        array = array.astype(np.float32)
        kind = "f"
    if kind == "f":
        with np.errstate(over="ignore", invalid="ignore"):
            data = array.astype(np.float32)  # float64 > 3.4e38 becomes inf
        finite = np.isfinite(data)
        if not finite.all():
            n_bad = int(data.size - np.count_nonzero(finite))
            raise ValueError(
                cell_error_message(
                    index,
                    cell,
                    f"image has {n_bad} NaN or infinite pixel value(s).",
                )
            )
        low, high = float(data.min()), float(data.max())
        if low < 0.0 or high > 1.0:
            raise ValueError(
                cell_error_message(
                    index,
                    cell,
                    f"float pixel values must lie in [0, 1], got values in "
                    f"[{low:.4g}, {high:.4g}]. Divide an image in [0, 255] by "
                    "255 (or cast it to uint8).",
                )
            )
        data = data * np.float32(255.0)
    elif kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ValueError(
                cell_error_message(
                    index,
                    cell,
                    f"integer pixel values must lie in [0, 255], got values in "
                    f"[{low}, {high}]. Scale 16-bit data to 8 bits first, or "
                    "pass floats in [0, 1].",
                )
            )
        data = array.astype(np.uint8)
    else:
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"unsupported image dtype {array.dtype}; expected unsigned or "
                "signed integers in [0, 255], floats in [0, 1] or booleans.",
            )
        )
    if data.ndim == 2:
        data = data[:, :, np.newaxis]
    if data.shape[2] == 4:
        data = data[:, :, :3]  # drop alpha, as for PIL images
    grey = data.shape[2] == 1
    target_channels = {"RGB": 3, "L": 1, None: 1 if grey else 3}[mode]
    if target_channels == 1 and not grey:
        data = _luma(data)
    if size is not None and data.shape[:2] != size:
        data = _resize_array(data, size)
    data = np.asarray(data, dtype=np.float32)
    if target_channels == 3 and data.shape[2] == 1:
        data = np.repeat(data, 3, axis=2)
    return np.ascontiguousarray(data)


def _luma(data):
    """RGB (h, w, 3) -> grey (h, w, 1) with Pillow's ITU-R 601-2 weights."""
    if data.dtype == np.uint8:
        from PIL import Image

        grey = Image.fromarray(np.ascontiguousarray(data)).convert("L")
        return np.asarray(grey)[:, :, np.newaxis]
    return (data @ _LUMA_WEIGHTS)[:, :, np.newaxis]


def _resize_array(data, size):
    """Resize (h, w, c) uint8 or float32 with Pillow's antialiased bilinear."""
    from PIL import Image

    height, width = size
    if data.dtype == np.uint8:
        plane = data[:, :, 0] if data.shape[2] == 1 else data
        image = Image.fromarray(np.ascontiguousarray(plane))
        resized = np.asarray(image.resize((width, height), Image.Resampling.BILINEAR))
        return resized.reshape(height, width, data.shape[2])
    # float32: Pillow resizes one "F" (32-bit float) channel at a time
    channels = []
    for c in range(data.shape[2]):
        plane = Image.fromarray(np.ascontiguousarray(data[:, :, c], dtype=np.float32))
        channels.append(
            np.asarray(plane.resize((width, height), Image.Resampling.BILINEAR))
        )
    return np.stack(channels, axis=2)
