"""Loading raw cells: the one place that turns user input into arrays.

Extractors never open files themselves; they call the loaders here, so every
modality reports bad input the same way: the sample index, the file path when
there is one, and what was wrong.

Sections: common helpers (cells, missing values, errors), image cells, audio
cells. Each loader raises ``ValueError``, ``TypeError`` or
``FileNotFoundError`` with a message built by :func:`cell_error_message`.
"""

import math
import numbers
import os

import numpy as np

from sklearn_mbm._wav import decode_plain_pcm, read_riff_layout
from sklearn_mbm.exceptions import CellLoadWarning  # noqa: F401 (re-exported)

# --------------------------------------------------------------------------
# Common helpers
# --------------------------------------------------------------------------

ON_ERROR_OPTIONS = ("raise", "warn")


def is_missing(cell):
    """Return True if ``cell`` is a missing value (None, NaN, ``pd.NA``, ``NaT``).

    Arrays, strings, bytes and other objects are never missing, even when they
    contain NaN: a waveform with NaN samples is bad data, not a missing cell.
    """
    if cell is None:
        return True
    if isinstance(cell, numbers.Real) and not isinstance(cell, (bool, np.bool_)):
        return math.isnan(cell)
    # pd.NA and pd.NaT without importing pandas at module level
    type_name = type(cell).__name__
    return type_name in ("NAType", "NaTType")


def describe_cell(cell):
    """A short description of a cell for error messages (path, type, shape)."""
    if isinstance(cell, (str, os.PathLike)) and not isinstance(cell, bytes):
        text = os.fspath(cell)
        return f"path {text!r}" if len(text) < 300 else f"str of length {len(text)}"
    if isinstance(cell, (bytes, bytearray, memoryview)):
        return f"{len(cell)} bytes"
    if isinstance(cell, np.ndarray):
        return f"array of shape {cell.shape} and dtype {cell.dtype}"
    return f"object of type {type(cell).__name__}"


def position_text(labels, position):
    """``"4"``, or ``"'b' (position 4)"`` when the index label of the row at
    ``position`` is not ``position``, so that ``X.loc[...]`` finds the row a
    message names. ``labels`` is an index (or list of labels), or None."""
    if labels is None:
        return str(position)
    label = labels[position]
    if isinstance(label, numbers.Integral) and not isinstance(label, (bool, np.bool_)):
        if label == position:
            return str(position)
    return f"{label!r} (position {position})"


class SampleIndex(int):
    """A cell's position (an int, for indexing) that messages print with its
    index label: ``f"sample {index}"`` reads ``"sample 'b' (position 4)"``."""

    def __new__(cls, position, text):
        self = super().__new__(cls, position)
        self._text = text
        return self

    def __str__(self):
        return self._text

    def __format__(self, spec):
        return format(self._text, spec)


class Cells(list):
    """The cells :func:`as_cells` returns, with the index labels of a pandas
    input (None when there are none, or they are the positions)."""

    labels = None


def _index_labels(X):
    index = getattr(X, "index", None)
    if index is None:
        return None
    if type(index).__name__ == "RangeIndex" and index.start == 0 and index.step == 1:
        return None
    return list(index)


def sample_index(cells, position):
    """The index to pass to loaders and messages for the cell at ``position``:
    ``position`` itself, or a :class:`SampleIndex` naming its index label."""
    labels = getattr(cells, "labels", None)
    text = position_text(labels, position)
    return position if text == str(position) else SampleIndex(position, text)


def cell_error_message(index, cell, problem):
    """Build the message ``"sample 3 (path 'a/b.png'): <problem>"``."""
    return f"sample {index} ({describe_cell(cell)}): {problem}"


def thread_count(n_jobs):
    """Threads an extractor uses to load cells: None means 1, -1 all cores.

    Unlike :func:`joblib.effective_n_jobs`, None never follows an active joblib
    backend: inside a Dask or loky worker that already runs one task per core,
    loading threads must not multiply by the cluster's size.
    """
    if n_jobs is None:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, 1, 2, ... or -1.")
    return int(n_jobs)


def missing_cell_error(index):
    """The ValueError a lone extractor raises for a None/NaN cell."""
    return ValueError(
        f"sample {index} is missing (None or NaN). Drop it, use "
        "FusionTransformer(missing='zero' or 'mean') to fill it, or pass "
        "on_error='warn' to the extractor to get a row of NaN instead."
    )


def open_cell_file(cell, index, kind):
    """Open the file a path cell names, in binary mode.

    Every failure names the sample and the path: a missing file
    (FileNotFoundError, with a hint for URLs), a folder, an empty path or any
    other OS error (ValueError). ``kind`` ("image", "audio") words the message.
    """
    path = os.fspath(cell)
    if isinstance(path, bytes):  # os.PathLike may give bytes
        path = os.fsdecode(path)
    if path == "":
        raise ValueError(cell_error_message(index, cell, "empty path."))
    try:
        return open(path, "rb")
    except FileNotFoundError as exc:
        hint = ""
        if path.lower().startswith(("http://", "https://", "ftp://")):
            hint = " URLs are not downloaded: fetch the file first."
        raise FileNotFoundError(
            cell_error_message(index, cell, f"{kind} file not found.{hint}")
        ) from exc
    except IsADirectoryError as exc:
        raise ValueError(
            cell_error_message(index, cell, f"is a directory, not an {kind} file.")
        ) from exc
    except (OSError, ValueError) as exc:  # permissions, NUL in path, ...
        raise ValueError(
            cell_error_message(index, cell, f"cannot open the file: {exc}")
        ) from exc


def is_polars(X):
    """Whether ``X`` is a polars object (DataFrame or Series), without
    importing polars (it stays an optional dependency)."""
    return type(X).__module__.startswith("polars")


def polars_cells(series):
    """The cells of a polars Series as a 1-D object array.

    Cells of a List or Array column (an audio clip as a list of floats, an
    image as nested lists) become numpy arrays; an Object column keeps its
    Python objects (e.g. numpy arrays); nulls become None.
    """
    nested = series.dtype.base_type().__name__ in ("List", "Array")
    cells = np.empty(len(series), dtype=object)
    for i, cell in enumerate(series.to_list()):
        cells[i] = np.asarray(cell) if nested and cell is not None else cell
    return cells


def as_cells(X, *, estimator_name="extractor"):
    """Return the cells of a single-modality input as a sequence.

    Accepts a list or tuple of cells, a pandas Series, a one-column DataFrame,
    a 1-D object array, a 2-D array with one column, or a numeric array whose
    rows are cells (a stack of images ``(n, H, W[, C])``, or of equal-length
    waveforms ``(n, n_samples)``). Any other iterable is materialised as a list.

    Raises
    ------
    ValueError
        If the input is empty or a DataFrame / object array has more than one
        column.
    """
    if isinstance(X, Cells):  # already checked (fit_transform -> fit)
        return X
    labels = None
    if is_polars(X):
        if hasattr(X, "columns"):  # polars DataFrame
            if X.shape[1] != 1:
                raise ValueError(
                    f"{estimator_name} expects one column of cells, got a "
                    f"DataFrame with {X.shape[1]} columns {list(X.columns)!r}. "
                    "Select the column, or use FusionTransformer to route "
                    "several columns."
                )
            X = X.to_series(0)
        X = polars_cells(X)
    if hasattr(X, "iloc") and hasattr(X, "columns"):  # DataFrame
        if X.shape[1] != 1:
            raise ValueError(
                f"{estimator_name} expects one column of cells, got a DataFrame "
                f"with {X.shape[1]} columns {list(X.columns)!r}. Select the "
                "column, or use FusionTransformer to route several columns."
            )
        cells, labels = X.iloc[:, 0].tolist(), _index_labels(X)
    elif hasattr(X, "iloc"):  # Series
        cells, labels = X.tolist(), _index_labels(X)
    elif isinstance(X, np.ndarray):
        if X.dtype == object:
            if X.ndim == 2 and X.shape[1] == 1:
                cells = list(X[:, 0])
            elif X.ndim == 1:
                cells = list(X)
            else:
                raise ValueError(
                    f"{estimator_name} expects a 1-D sequence of cells or one "
                    f"column, got an object array of shape {X.shape}."
                )
        elif X.ndim == 0:
            raise ValueError(
                f"{estimator_name} expects a sequence of cells, got a scalar."
            )
        else:
            cells = list(X)  # rows of a numeric stack are the cells
    elif isinstance(X, (str, bytes)):
        raise TypeError(
            f"{estimator_name} expects a sequence of cells, got a single "
            f"{type(X).__name__}; wrap it in a list."
        )
    else:
        cells = list(X)
    if len(cells) == 0:
        raise ValueError(f"{estimator_name} got empty input: 0 samples.")
    cells = Cells(cells)
    cells.labels = labels
    return cells


# --------------------------------------------------------------------------
# Image cells (owned by sklearn_mbm.image)
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Audio cells (owned by sklearn_mbm.audio)
# --------------------------------------------------------------------------

# Integer PCM dtypes accepted as waveforms, with the divisor that maps them
# onto [-1, 1) exactly as libsndfile maps PCM files to float.
# Keys are dtype.str without the byte order ("i2" is int16), a fast look-up.
_AUDIO_PCM_DIVISORS = {"i1": 2.0**7, "i2": 2.0**15, "i4": 2.0**31}

# A 2-D waveform's channel axis is its shorter one; more channels than this
# means the array is not audio (an image, a stack of clips, ...).
AUDIO_MAX_CHANNELS = 16

# No audio, in any scaling (float, int32 PCM as float, ...), comes near this;
# far larger values would overflow the power spectrum (|X|**2) to inf.
_AUDIO_MAX_ABS_SAMPLE = 1e12

# Rates further apart than this factor are almost surely a wrong sample rate
# (8 kHz to 16 kHz is 2, 192 kHz to 8 kHz is 24); refuse them rather than
# spend minutes and gigabytes resampling.
_AUDIO_MAX_RESAMPLING_FACTOR = 256

# Frames per read, at most, for codecs libsndfile cannot seek in: 8 MiB of
# float64 per channel, a bound on what a lying header can make us allocate.
_AUDIO_UNSEEKABLE_BLOCK = 1 << 20

AUDIO_CELL_TYPES = (
    "an audio file path (str or os.PathLike), encoded audio bytes, a 1-D numpy "
    "waveform (with input_sr), or a (waveform, sample_rate) tuple"
)


def load_audio_cell(cell, index, sr, input_sr=None):
    """Load one audio cell as a finite mono float64 waveform sampled at ``sr``.

    Parameters
    ----------
    cell : str, os.PathLike, bytes, ndarray or tuple
        - a path to an audio file (any format libsndfile reads: WAV, FLAC,
          OGG/Vorbis, MP3, AIFF, ..., with any codec, including those it
          cannot seek in: GSM 6.10, G.721/G.723 and NMS ADPCM, ...), read
          with :mod:`soundfile`;
        - raw encoded bytes of such a file (except Sound Designer II, whose
          resource fork libsndfile only finds beside a path);
        - a numpy waveform, sampled at ``input_sr`` Hz;
        - a ``(waveform, sample_rate)`` tuple.

        A waveform is 1-D (mono) or 2-D. A 2-D waveform is downmixed to mono
        by averaging its channels; its channel axis is the shorter one, so
        ``(n_channels, n_samples)`` (librosa's layout) and
        ``(n_samples, n_channels)`` (soundfile's layout) both work; a square
        array counts as ``(n_channels, n_samples)``. It may have at most
        ``AUDIO_MAX_CHANNELS`` (16) channels. Float waveforms are used as they
        are (usually in [-1, 1]). Integer PCM is scaled to [-1, 1) as
        libsndfile does: int8 / 128, int16 / 32768, int32 / 2**31, and uint8
        (8-bit WAV, offset binary) as (x - 128) / 128. Other integer dtypes
        (int64, uint16, ...) are refused: an int64 array is usually a Python
        list of ints in an unknown scale, so convert it explicitly.
    index : int
        Position of the sample, for error messages.
    sr : float
        Target sample rate in Hz. The waveform is resampled to it with soxr
        (quality ``"soxr_hq"``) and its length fixed to
        ``ceil(n * sr / rate)``, exactly as ``librosa.resample`` does.
    input_sr : float or None, default=None
        Sample rate of bare numpy waveforms. Required for them, ignored for
        files, bytes and tuples (which carry their own rate).

    Returns
    -------
    waveform : ndarray of shape (n_samples,), dtype float64
        Finite, non-empty.

    Raises
    ------
    ValueError
        Missing cell (None/NaN), unreadable or truncated audio, wrong number
        of dimensions, empty waveform, NaN/inf or absurdly large samples
        (beyond 1e12), invalid sample rate, rates more than 256 times apart
        (surely a wrong rate), or a bare waveform without ``input_sr``.
        Files that cannot be opened for another reason (permissions) also
        give a ValueError. The underlying soundfile/soxr error is chained.
    TypeError
        A cell of an unsupported type or dtype.
    FileNotFoundError
        A path that does not exist.

    Every message names the sample index and, for files, the path.
    """
    if is_missing(cell):
        raise missing_cell_error(index)
    if isinstance(cell, (str, os.PathLike)):
        waveform, rate = _read_audio_file(cell, index)
    elif isinstance(cell, (bytes, bytearray, memoryview)):
        waveform, rate = _decode_audio_bytes(cell, index)
    elif isinstance(cell, tuple):
        if len(cell) != 2:
            raise TypeError(
                cell_error_message(
                    index,
                    cell,
                    "a tuple cell must be (waveform, sample_rate), got a tuple "
                    f"of length {len(cell)}.",
                )
            )
        rate = _check_sample_rate(
            cell[1], index, cell, "the sample rate of a (waveform, sample_rate) tuple"
        )
        waveform = _as_waveform(cell[0], index, cell)
    elif isinstance(cell, np.ndarray):
        if input_sr is None:
            raise ValueError(
                cell_error_message(
                    index,
                    cell,
                    "a bare waveform has no sample rate. Pass input_sr=<rate in "
                    "Hz> to the extractor, or give the cell as a "
                    "(waveform, sample_rate) tuple.",
                )
            )
        rate = _check_sample_rate(input_sr, index, cell, "input_sr")
        waveform = _as_waveform(cell, index, cell)
    else:
        raise TypeError(
            cell_error_message(
                index, cell, f"unsupported audio cell; expected {AUDIO_CELL_TYPES}."
            )
        )
    return _resample_waveform(waveform, rate, sr, index, cell)


def _check_sample_rate(rate, index, cell, what):
    """Return ``rate`` as a float after checking it is a positive finite number."""
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, numbers.Real):
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"{what} must be a number of Hz, got {type(rate).__name__}.",
            )
        )
    rate = float(rate)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(
            cell_error_message(
                index, cell, f"{what} must be a positive finite number, got {rate!r}."
            )
        )
    return rate


def _as_waveform(data, index, cell):
    """Validate a numpy waveform and return it as finite mono float64."""
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:  # ragged nested sequences
        raise TypeError(
            cell_error_message(index, cell, f"the waveform is not an array: {exc}")
        ) from exc
    kind, code = array.dtype.kind, array.dtype.str[1:]
    if array.dtype == np.float64:
        waveform = array
    elif kind == "f":
        with np.errstate(over="ignore"):  # float128 overflow is caught below
            waveform = array.astype(np.float64)
    elif code in _AUDIO_PCM_DIVISORS:
        waveform = array / _AUDIO_PCM_DIVISORS[code]
    elif code == "u1":
        waveform = (array.astype(np.float64) - 128.0) / 128.0
    elif kind in "iu":
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"integer waveform of dtype {array.dtype} has no known PCM "
                "scale; integer audio must be int8, uint8, int16 or int32 "
                "(scaled to [-1, 1)). Convert it to float yourself, e.g. "
                "waveform / 32768 for 16-bit samples.",
            )
        )
    else:
        raise TypeError(
            cell_error_message(
                index,
                cell,
                f"waveform dtype {array.dtype} is not audio; expected float "
                "samples or integer PCM (int8, uint8, int16, int32).",
            )
        )
    if waveform.ndim == 2:
        waveform = _downmix(waveform, index, cell)
    elif waveform.ndim != 1:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"expected a 1-D (mono) or 2-D (multichannel) waveform, got a "
                f"{waveform.ndim}-D array of shape {waveform.shape}.",
            )
        )
    return _check_samples(waveform, index, cell)


def _downmix(waveform, index, cell):
    """Average the channels of a 2-D waveform; the channel axis is the shorter."""
    rows, cols = waveform.shape
    if waveform.size == 0:
        raise ValueError(
            cell_error_message(
                index, cell, f"empty waveform of shape {waveform.shape} (no samples)."
            )
        )
    channel_axis = 0 if rows <= cols else 1
    n_channels = waveform.shape[channel_axis]
    if n_channels > AUDIO_MAX_CHANNELS:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"a 2-D waveform of shape {waveform.shape} would have "
                f"{n_channels} channels (the shorter axis), more than "
                f"{AUDIO_MAX_CHANNELS}; expected a 1-D waveform or 2-D "
                "(n_channels, n_samples) / (n_samples, n_channels).",
            )
        )
    with np.errstate(over="ignore", invalid="ignore"):  # inf/NaN caught later
        return waveform.mean(axis=channel_axis)


def _check_samples(waveform, index, cell):
    """Refuse empty waveforms and NaN, inf or absurdly large samples."""
    if waveform.size == 0:
        raise ValueError(cell_error_message(index, cell, "empty waveform (0 samples)."))
    # min and max propagate NaN and reach +-inf: two passes, no temporaries,
    # and the usual (clean) clip needs nothing more.
    low, high = float(waveform.min()), float(waveform.max())
    if -_AUDIO_MAX_ABS_SAMPLE <= low and high <= _AUDIO_MAX_ABS_SAMPLE:
        return waveform
    finite = np.isfinite(waveform)
    if not finite.all():
        n_bad = int(waveform.size - np.count_nonzero(finite))
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"waveform has {n_bad} NaN or infinite sample(s) out of "
                f"{waveform.size}.",
            )
        )
    peak = float(np.max(np.abs(waveform)))
    if peak > _AUDIO_MAX_ABS_SAMPLE:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"waveform has samples up to {peak:.3g} in magnitude, beyond "
                f"{_AUDIO_MAX_ABS_SAMPLE:.0e}; that is not audio (expected "
                "float samples, typically in [-1, 1], or integer PCM).",
            )
        )
    return waveform


def _read_audio_file(cell, index):
    """Read and decode an audio file; return (mono float64 waveform, rate)."""
    with open_cell_file(cell, index, "audio") as file:
        size = os.fstat(file.fileno()).st_size
        if size == 0:
            raise ValueError(
                cell_error_message(index, cell, "empty file (0 bytes), not audio.")
            )
        decoded = _decode_plain_wav(file, size, index, cell)
    if decoded is not None:
        return decoded
    # libsndfile reads the path itself: faster than Python file callbacks.
    return _decode_audio(os.fspath(cell), index, cell)


def _decode_audio_bytes(cell, index):
    """Decode raw encoded bytes; return (mono float64 waveform, rate)."""
    import io

    data = bytes(cell)
    if len(data) == 0:
        raise ValueError(
            cell_error_message(index, cell, "empty bytes (0 bytes), not audio.")
        )
    source = io.BytesIO(data)
    decoded = _decode_plain_wav(source, len(data), index, cell)
    if decoded is not None:
        return decoded
    source.seek(0)
    return _decode_audio(source, index, cell)


def _decode_plain_wav(file, size, index, cell):
    """Refuse a truncated WAV; decode a plain PCM one with numpy.

    Returns ``(mono float64 waveform, rate)``, or None when the data is not a
    plain PCM WAV (see :mod:`sklearn_mbm._wav`), which libsndfile then
    decodes. libsndfile itself reads a truncated WAV without complaint,
    trimming its data chunk to the bytes present, so a file cut off mid-copy
    would silently give a shorter clip: the chunk walk catches it.
    """
    layout = read_riff_layout(file, size)
    if layout is None:
        return None
    if layout.data_offset is None:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated WAV file: it ends after {size} bytes, before "
                "its audio data chunk.",
            )
        )
    if layout.truncated:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated WAV file: its header declares {layout.data_size} "
                f"bytes of audio data but only {layout.data_present} are present.",
            )
        )
    decoded = decode_plain_pcm(file, layout)
    if decoded is None:
        return None
    samples, rate, integer_pcm = decoded
    return _as_mono(samples, index, cell, checked=integer_pcm), float(rate)


def _decode_audio(source, index, cell):
    """Decode a path or file object with soundfile into (mono float64, rate)."""
    import soundfile

    try:
        with soundfile.SoundFile(source) as sound:
            declared = sound.frames
            rate = sound.samplerate
            waveform = _read_all_frames(sound)
    except (RuntimeError, ValueError, TypeError, OSError, EOFError) as exc:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"not a readable audio file ({_soundfile_refusal(exc)}); it may "
                "be corrupt, truncated or in an unsupported format.",
            )
        ) from exc
    if 0 < len(waveform) < declared:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"truncated audio: the header declares {declared} frames but "
                f"only {len(waveform)} could be decoded.",
            )
        )
    return _as_mono(waveform, index, cell), float(rate)


def _read_all_frames(sound):
    """Every frame of an open ``soundfile.SoundFile``, ``(n_frames, n_channels)``.

    libsndfile cannot seek in some codecs (GSM 6.10, G.721/G.723 ADPCM, NMS
    ADPCM, XI DPCM), and for those soundfile refuses ``read()`` without a
    frame count. They are read in blocks of at most the declared frame count
    until a short read, so a header that overstates the length still ends at
    the data (and the caller reports it as truncated).
    """
    if sound.seekable():
        return sound.read(dtype="float64", always_2d=True)
    block = min(max(sound.frames, 1), _AUDIO_UNSEEKABLE_BLOCK)
    blocks = []
    while True:
        samples = sound.read(block, dtype="float64", always_2d=True)
        blocks.append(samples)
        if len(samples) < block:
            return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def _soundfile_refusal(exc):
    """Who refused the audio and why: libsndfile itself, or the soundfile wrapper."""
    error_string = getattr(exc, "error_string", None)  # soundfile.LibsndfileError
    if error_string is not None:
        # e.g. "Format not recognised" for non-audio data, "flac decoder lost
        # sync" for a truncated FLAC file
        return f"libsndfile: {error_string.strip(' .')}"
    detail = str(exc).strip(" .") or type(exc).__name__
    return f"the soundfile package: {detail}"


def _as_mono(samples, index, cell, checked=False):
    """Check decoded ``(n_frames, n_channels)`` samples; average to mono.

    ``checked=True`` skips the value checks for samples known to be finite
    and within [-1, 1] (decoded integer PCM).
    """
    if samples.shape[0] == 0:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                "the audio file holds no samples (empty, or truncated before "
                "its first frame).",
            )
        )
    waveform = samples[:, 0] if samples.shape[1] == 1 else samples.mean(axis=1)
    return waveform if checked else _check_samples(waveform, index, cell)


def _resample_waveform(waveform, rate, sr, index, cell):
    """Resample to ``sr`` as ``librosa.resample(res_type="soxr_hq")`` does."""
    if rate == sr:
        return waveform
    factor = max(sr / rate, rate / sr)
    if factor > _AUDIO_MAX_RESAMPLING_FACTOR:
        raise ValueError(
            cell_error_message(
                index,
                cell,
                f"resampling from {rate:g} Hz to {sr:g} Hz is a factor of "
                f"{factor:.3g}, more than {_AUDIO_MAX_RESAMPLING_FACTOR}; check "
                "the sample rate.",
            )
        )
    n_out = math.ceil(waveform.shape[0] * float(sr) / rate)
    import soxr

    try:
        resampled = soxr.resample(waveform, rate, sr, quality="soxr_hq")
    except (ValueError, RuntimeError, TypeError) as exc:
        raise ValueError(
            cell_error_message(
                index, cell, f"cannot resample from {rate:g} Hz to {sr:g} Hz: {exc}"
            )
        ) from exc
    # librosa.util.fix_length: trim or zero-pad to ceil(n * sr / rate)
    if resampled.shape[0] >= n_out:
        return np.ascontiguousarray(resampled[:n_out], dtype=np.float64)
    return np.pad(resampled.astype(np.float64), (0, n_out - resampled.shape[0]))
