"""Tests of the image cell loader, sklearn_mbm._io.load_image_cell."""

import gzip
import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from sklearn_mbm._io import load_image_cell

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_IMAGES = DATA / "mnist" / "t10k-images-idx3-ubyte.gz"

DOCUMENTED_ERRORS = (ValueError, TypeError, FileNotFoundError)


def read_mnist(n):
    """The first ``n`` MNIST test digits, uint8 (n, 28, 28), from the IDX file."""
    if not MNIST_IMAGES.exists():
        pytest.skip(f"MNIST data not found at {MNIST_IMAGES} (shared/ beside repo)")
    with gzip.open(MNIST_IMAGES, "rb") as f:
        data = np.frombuffer(f.read(), dtype=np.uint8, offset=16)  # 16-byte header
    return data.reshape(-1, 28, 28)[:n]


@pytest.fixture(scope="module")
def rgb():
    return np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)


def encode(array, fmt, **kwargs):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, fmt, **kwargs)
    return buffer.getvalue()


# --------------------------------------------------------------------------
# cell kinds
# --------------------------------------------------------------------------


def test_png_file_round_trip_is_exact(tmp_path, rgb):
    path = tmp_path / "a.png"
    Image.fromarray(rgb).save(path)
    for cell in (str(path), path):  # str and os.PathLike
        image = load_image_cell(cell, 0)
        assert image.dtype == np.float32 and image.shape == (12, 20, 3)
        np.testing.assert_array_equal(image, rgb)


def test_jpeg_file_is_close(tmp_path):
    rows, cols = np.mgrid[0:12, 0:20]
    smooth = np.stack([rows * 20, cols * 12, rows * 5 + cols * 5], axis=2)
    smooth = smooth.astype(np.uint8)
    path = tmp_path / "a.jpg"
    Image.fromarray(smooth).save(path, quality=95)
    image = load_image_cell(str(path), 0)
    assert image.shape == (12, 20, 3)
    assert np.abs(image - smooth).mean() < 4  # lossy, but the same picture


def test_large_jpeg_is_decoded_in_draft_mode_to_the_right_size(tmp_path):
    ramp = np.tile(np.linspace(0, 255, 400, dtype=np.uint8), (400, 1))
    path = tmp_path / "big.jpg"
    Image.fromarray(ramp).save(path, quality=95)
    image = load_image_cell(str(path), 0, size=(40, 50), mode="L")
    assert image.shape == (40, 50, 1)
    expected = load_image_cell(ramp, 0, size=(40, 50), mode="L")
    assert np.abs(image - expected).max() < 8


# EXIF orientation -> the PIL transpose that stores an upright picture so
# (its inverse turns it upright again: only ROTATE_90/270 differ).
_STORE_FOR_ORIENTATION = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def _upright_picture(height=48, width=32):
    """An upright picture no flip or rotation maps onto itself: colour blocks."""
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[: height // 2, : width // 2] = (250, 20, 20)  # red top-left
    picture[: height // 2, width // 2 :] = (20, 250, 20)  # green top-right
    picture[height // 2 :, : width // 2] = (20, 20, 250)  # blue bottom-left
    picture[height // 2 :, width // 2 :] = (240, 240, 240)  # white bottom-right
    return picture


def _phone_jpeg(path, upright, orientation, quality=95):
    """Save ``upright`` as a camera does: pixels as stored, EXIF tag 274 set."""
    stored = Image.fromarray(upright)
    if _STORE_FOR_ORIENTATION[orientation] is not None:
        stored = stored.transpose(_STORE_FOR_ORIENTATION[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored.save(path, quality=quality, exif=exif)
    return stored


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_to_paths_bytes_and_pil(tmp_path, orientation):
    from PIL import ImageOps

    upright = _upright_picture()
    path = tmp_path / f"photo_{orientation}.jpg"
    stored = _phone_jpeg(path, upright, orientation)
    with Image.open(path) as check:
        assert check.getexif()[0x0112] == orientation  # a real tag 274
        reference = np.asarray(ImageOps.exif_transpose(check).convert("RGB"))
    assert reference.shape == upright.shape
    cells = [path, str(path), path.read_bytes(), Image.open(path)]
    for cell in cells:
        image = load_image_cell(cell, 0)
        # exactly what PIL.ImageOps.exif_transpose gives, and the upright picture
        np.testing.assert_array_equal(image, reference)
        # lossy (chroma subsampling at the colour edges); any wrong
        # orientation is off by more than 50 on average
        assert np.abs(image - upright).mean() < 6
        # the size asked for is the upright image's
        assert load_image_cell(cell, 0, size=(24, 16)).shape == (24, 16, 3)
        # off: the pixels as stored
        raw = load_image_cell(cell, 0, exif_transpose=False)
        assert raw.shape[:2] == (stored.height, stored.width)
        if orientation in (2, 3, 4):  # same shape, other picture
            assert np.abs(raw - upright).mean() > 50
        elif orientation > 4:  # axes swapped
            assert raw.shape == (32, 48, 3)


@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation_with_draft_mode(tmp_path, orientation):
    # a large portrait photo stored landscape: draft mode must ask for the
    # stored (swapped) size, and the result is still upright at `size`
    from PIL import ImageOps

    upright = np.repeat(np.repeat(_upright_picture(), 20, axis=0), 20, axis=1)
    path = tmp_path / "portrait.jpg"
    _phone_jpeg(path, upright, orientation)
    image = load_image_cell(path, 0, size=(96, 64))
    assert image.shape == (96, 64, 3)
    with Image.open(path) as full:
        full_decode = ImageOps.exif_transpose(full).resize(
            (64, 96), Image.Resampling.BILINEAR
        )
    assert np.abs(image - np.asarray(full_decode)).mean() < 2
    expected = load_image_cell(upright, 0, size=(96, 64))
    assert np.abs(image - expected).mean() < 6


def test_bytes_pil_and_array_agree(rgb):
    png = encode(rgb, "PNG")
    expected = load_image_cell(rgb, 0)
    for cell in (png, bytearray(png), memoryview(png), Image.open(io.BytesIO(png))):
        np.testing.assert_array_equal(load_image_cell(cell, 0), expected)


def test_pil_image_is_not_closed_or_changed(rgb):
    image = Image.fromarray(rgb)
    load_image_cell(image, 0, size=4, mode="L")
    assert image.mode == "RGB" and image.size == (20, 12)
    np.testing.assert_array_equal(np.asarray(image), rgb)


@pytest.mark.parametrize(
    "dtype", [np.uint8, np.int64, np.uint16, np.int32, np.float32, np.float64, bool]
)
@pytest.mark.parametrize("channels", [None, 1, 3, 4])
def test_array_dtypes_and_shapes(dtype, channels):
    rng = np.random.default_rng(1)
    shape = (6, 7) if channels is None else (6, 7, channels)
    if dtype is bool:
        array = rng.random(shape) > 0.5
        expected = array.astype(np.float32) * 255
    elif np.issubdtype(dtype, np.floating):
        array = rng.random(shape).astype(dtype)
        expected = array.astype(np.float32) * np.float32(255)
    else:
        array = rng.integers(0, 256, shape).astype(dtype)
        expected = array.astype(np.float32)
    if channels is None:
        expected = expected[:, :, np.newaxis]
    expected = expected[:, :, :3]  # alpha dropped
    image = load_image_cell(array, 0, mode=None)
    assert image.dtype == np.float32
    np.testing.assert_allclose(image, expected, rtol=1e-6)
    rgb = load_image_cell(array, 0, mode="RGB")
    assert rgb.shape == (6, 7, 3)
    np.testing.assert_allclose(rgb, np.broadcast_to(expected, (6, 7, 3)), rtol=1e-6)


def test_float_convention_is_unit_range(rgb):
    """Floats in [0, 1] give the same image as uint8 in [0, 255]."""
    np.testing.assert_allclose(
        load_image_cell(rgb / 255.0, 0), load_image_cell(rgb, 0), atol=1e-4
    )
    # resized: the float path resizes in float, the uint8 one rounds to ints
    np.testing.assert_allclose(
        load_image_cell(rgb / 255.0, 0, size=5),
        load_image_cell(rgb, 0, size=5),
        atol=1.0,
    )


def test_mnist_digits_grey_and_rgb():
    digits = read_mnist(3)
    for index, digit in enumerate(digits):
        grey = load_image_cell(digit, index, mode=None)
        assert grey.shape == (28, 28, 1)
        np.testing.assert_array_equal(grey[:, :, 0], digit)
        rgb = load_image_cell(digit, index, size=32)
        assert rgb.shape == (32, 32, 3)
        np.testing.assert_array_equal(rgb[:, :, 0], rgb[:, :, 2])


@pytest.mark.parametrize(
    "pil_mode, grey", [("L", True), ("1", True), ("LA", True), ("RGB", False),
                       ("RGBA", False), ("P", False), ("CMYK", False)]
)  # fmt: skip
def test_pil_modes(pil_mode, grey, rgb):
    image = Image.fromarray(rgb).convert(pil_mode)
    native = load_image_cell(image, 0, mode=None)
    assert native.shape == (12, 20, 1 if grey else 3)
    assert load_image_cell(image, 0, mode="RGB").shape == (12, 20, 3)
    assert load_image_cell(image, 0, mode="L").shape == (12, 20, 1)
    assert native.min() >= 0 and native.max() <= 255


def test_palette_png_with_transparency(tmp_path, rgb):
    image = Image.fromarray(rgb).convert("P")
    image.info["transparency"] = 0
    path = tmp_path / "p.png"
    image.save(path, transparency=0)
    assert load_image_cell(str(path), 0).shape == (12, 20, 3)


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    deep = (np.arange(64, dtype=np.uint16).reshape(8, 8) * 1000).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(deep).save(path)
    image = load_image_cell(str(path), 0, mode=None)
    np.testing.assert_allclose(image[:, :, 0], deep / 65535.0 * 255.0, rtol=1e-5)


def test_gif_first_frame(tmp_path, rgb):
    path = tmp_path / "a.gif"
    Image.fromarray(rgb).save(path)
    assert load_image_cell(str(path), 0).shape == (12, 20, 3)


def test_resize_is_bilinear_without_overshoot():
    constant = np.full((9, 13, 3), 77, dtype=np.uint8)
    np.testing.assert_array_equal(load_image_cell(constant, 0, size=(4, 6)), 77)
    step = np.zeros((8, 8)) + np.eye(8)  # floats in [0, 1]
    image = load_image_cell(step, 0, size=(21, 17), mode=None)
    assert image.shape == (21, 17, 1)
    assert image.min() >= 0 and image.max() <= 255


def test_luma_matches_pillow(rgb):
    expected = np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.float32)
    np.testing.assert_array_equal(load_image_cell(rgb, 0, mode="L")[:, :, 0], expected)
    floats = load_image_cell(rgb / 255.0, 0, mode="L")[:, :, 0]
    np.testing.assert_allclose(floats, expected, atol=0.51)  # Pillow rounds


# --------------------------------------------------------------------------
# errors: each names the sample index, the path, and what was wrong
# --------------------------------------------------------------------------


def test_missing_file(tmp_path):
    path = tmp_path / "nope.png"
    with pytest.raises(FileNotFoundError, match=r"sample 3 \(path '.*nope\.png'\)"):
        load_image_cell(str(path), 3)
    with pytest.raises(FileNotFoundError, match="image file not found"):
        load_image_cell(path, 3)


def test_url_is_not_downloaded():
    with pytest.raises(FileNotFoundError, match="sample 0 .*URLs are not downloaded"):
        load_image_cell("https://example.com/cat.png", 0)


def test_directory(tmp_path):
    with pytest.raises(ValueError, match="sample 1 .*is a directory"):
        load_image_cell(str(tmp_path), 1)


def test_not_an_image_file(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is text, not a PNG")
    with pytest.raises(
        ValueError, match=r"sample 4 \(path .*notes\.png'\): not an"
    ) as e:
        load_image_cell(str(path), 4)
    assert e.value.__cause__ is not None  # Pillow's error is chained


@pytest.mark.parametrize("fmt, suffix", [("PNG", "png"), ("JPEG", "jpg")])
def test_truncated_file(tmp_path, rgb, fmt, suffix):
    data = encode(np.tile(rgb, (8, 8, 1)), fmt)
    path = tmp_path / f"cut.{suffix}"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=rf"sample 2 \(path .*cut\.{suffix}'\): trunc"):
        load_image_cell(str(path), 2)


def test_empty_file_and_bytes_and_path(tmp_path):
    path = tmp_path / "empty.png"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"sample 0 \(path .*empty\.png'\)"):
        load_image_cell(str(path), 0)
    with pytest.raises(ValueError, match=r"sample 5 \(0 bytes\): empty bytes"):
        load_image_cell(b"", 5)
    with pytest.raises(ValueError, match="sample 6 .*empty path"):
        load_image_cell("", 6)


def test_random_bytes():
    with pytest.raises(ValueError, match=r"sample 9 \(5 bytes\): not an image"):
        load_image_cell(b"hello", 9)


@pytest.mark.parametrize("missing", [None, float("nan"), np.float32("nan")])
def test_missing_cell(missing):
    with pytest.raises(ValueError, match="sample 7 is missing"):
        load_image_cell(missing, 7)


@pytest.mark.parametrize(
    "array, match",
    [
        (np.zeros(5), "must be 2-D .* got 1-D"),
        (np.zeros((2, 2, 2, 2)), "got 4-D"),
        (np.zeros((4, 4, 2)), "1, 3 or 4 channels .* got 2"),
        (np.zeros((0, 4)), "empty image"),
        (np.zeros((4, 0, 3)), "empty image"),
        (np.full((3, 3), np.nan), "9 NaN or infinite"),
        (np.array([[0.5, np.inf]]), "1 NaN or infinite"),
        (np.full((3, 3), 255.0), r"float pixel values must lie in \[0, 1\]"),
        (np.full((3, 3), -0.5), r"must lie in \[0, 1\]"),
        (np.full((3, 3), 300), r"integer pixel values must lie in \[0, 255\]"),
        (np.full((3, 3), -1, dtype=np.int8), r"\[0, 255\]"),
    ],
)
def test_bad_arrays_raise_value_error(array, match):
    with pytest.raises(ValueError, match=rf"sample 8 \(array of shape .*{match}"):
        load_image_cell(array, 8)


@pytest.mark.parametrize(
    "array",
    [
        np.zeros((3, 3), dtype=complex),
        np.array([["a", "b"], ["c", "d"]]),
        np.empty((2, 2), dtype=object),
        np.zeros((2, 2), dtype="datetime64[s]"),
    ],
)
def test_bad_dtypes_raise_type_error(array):
    with pytest.raises(TypeError, match="sample 1 .*unsupported image dtype"):
        load_image_cell(array, 1)


@pytest.mark.parametrize("cell", [5, 2.5, [[0, 1], [1, 0]], {"a": 1}, object()])
def test_unsupported_cell_type(cell):
    with pytest.raises(TypeError, match="sample 0 .*unsupported image cell"):
        load_image_cell(cell, 0)


def test_bad_parameters():
    with pytest.raises(ValueError, match="mode must be one of"):
        load_image_cell(np.zeros((2, 2)), 0, mode="CMYK")
    for size in (0, (3,), (2, -1), 2.5, (True, 2)):
        with pytest.raises(ValueError, match="size must be a positive int"):
            load_image_cell(np.zeros((2, 2)), 0, size=size)


def test_closed_pil_image():
    image = Image.open(io.BytesIO(encode(np.zeros((4, 4), np.uint8), "PNG")))
    image.load()
    image.close()
    with pytest.raises(ValueError, match="sample 0 .*object of type PngImageFile"):
        load_image_cell(image, 0)


def test_unopenable_path():
    """An OS refusal other than "not found" (here a NUL byte) is a ValueError."""
    with pytest.raises(ValueError, match="sample 2 .*cannot open the file"):
        load_image_cell("bad\0name.png", 2)


# --------------------------------------------------------------------------
# properties: any input raises a documented error or gives a finite image
# --------------------------------------------------------------------------


def _check_result(cell, size, mode):
    try:
        image = load_image_cell(cell, 11, size=size, mode=mode)
    except DOCUMENTED_ERRORS as exc:
        assert str(exc).startswith("sample 11"), str(exc)
        return
    assert image.dtype == np.float32 and image.ndim == 3
    assert image.shape[2] == {"RGB": 3, "L": 1}.get(mode, image.shape[2])
    if size is not None:
        assert image.shape[:2] == size
    assert np.isfinite(image).all()
    assert image.min() >= 0 and image.max() <= 255.0001


SIZES = st.none() | st.tuples(st.integers(1, 9), st.integers(1, 9))
MODES = st.sampled_from(["RGB", "L", None])


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), size=SIZES, mode=MODES)
def test_random_bytes_raise_documented_errors(data, size, mode):
    _check_result(data, size, mode)


@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
@settings(max_examples=40, deadline=None)
@given(
    cut=st.integers(0, 400),
    flip=st.integers(0, 400),
    fmt=st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "TIFF", "WEBP"]),
    size=SIZES,
)
def test_corrupted_encodings_raise_documented_errors(cut, flip, fmt, size):
    """Truncated or bit-flipped real files: a clear error or a valid image."""
    rng = np.random.default_rng(cut)
    data = bytearray(encode(rng.integers(0, 256, (9, 11, 3), dtype=np.uint8), fmt))
    data = data[: max(1, len(data) - cut)]
    data[flip % len(data)] ^= 0xFF
    _check_result(bytes(data), size, "RGB")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    array=hnp.arrays(
        dtype=st.sampled_from(
            [np.uint8, np.int16, np.int64, np.uint16, np.float16, np.float32,
             np.float64, np.bool_, np.complex64, np.str_]
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=6),
    ),
    size=SIZES,
    mode=MODES,
)  # fmt: skip
def test_random_arrays_raise_documented_errors(array, size, mode):
    _check_result(array, size, mode)
