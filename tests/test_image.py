"""Tests of sklearn_mbm.image.ImageFeatureExtractor."""

import gzip
import inspect
import io
import os
import pickle
import re
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from _probes import modules_loaded
from _sklearn_checks import (
    parametrize_data_free_checks,
    parametrize_extractor_checks,
    run_data_free_check,
    run_sklearn_check,
)
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from sklearn_mbm import ImageFeatureExtractor
from sklearn_mbm._io import CellLoadWarning

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MNIST_IMAGES = DATA / "mnist" / "t10k-images-idx3-ubyte.gz"
MNIST_LABELS = DATA / "mnist" / "t10k-labels-idx1-ubyte.gz"


def read_mnist(n):
    """First ``n`` MNIST test digits (uint8, 28x28) and labels, from the IDX files."""
    if not MNIST_IMAGES.exists():
        pytest.skip(f"MNIST data not found at {MNIST_IMAGES} (shared/ beside repo)")
    with gzip.open(MNIST_IMAGES, "rb") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16)  # 16-byte header
    with gzip.open(MNIST_LABELS, "rb") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)  # 8-byte header
    return images.reshape(-1, 28, 28)[:n], labels[:n]


@pytest.fixture(scope="module")
def digits():
    return read_mnist(12)[0]


@pytest.fixture(scope="module")
def keras():
    from sklearn_mbm._keras import import_keras

    return import_keras()


def tiny_cnn(keras, name="digit_cnn", channels=1, size=28):
    """A small random CNN whose output is a 4-D feature map."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((size, size, channels)),
            keras.layers.Rescaling(1 / 255),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Conv2D(6, 3),
        ],
        name=name,
    )


@pytest.fixture(scope="module")
def mobilenet(digits, keras):
    """A MobileNetV2 extractor with random weights at 32x32, fitted once."""
    keras.utils.set_random_seed(0)
    extractor = ImageFeatureExtractor(weights=None, input_size=32, batch_size=5)
    return extractor.fit(digits)


def write_pngs(folder, images):
    paths = []
    for i, image in enumerate(images):
        path = Path(folder) / f"img_{i}.png"
        Image.fromarray(image).save(path)
        paths.append(str(path))
    return paths


# --------------------------------------------------------------------------
# scikit-learn's checks
# --------------------------------------------------------------------------

CONFIGS = {
    "pixels": ImageFeatureExtractor(backbone="pixels"),
    "mobilenet_v2": ImageFeatureExtractor(weights=None, input_size=32),
}


# three_d_array=True and two_d_array=False, as PatchExtractor
@parametrize_extractor_checks(CONFIGS.values())
def test_sklearn_compatible_image(estimator, check):
    run_sklearn_check(check, estimator)


@parametrize_data_free_checks(CONFIGS)
def test_data_free_checks(estimator, check):
    run_data_free_check(check, estimator)


def test_tags():
    tags = ImageFeatureExtractor().__sklearn_tags__()
    assert tags.input_tags.three_d_array is True
    assert tags.input_tags.two_d_array is False
    assert tags.requires_fit is True
    assert tags.non_deterministic is False  # ImageNet weights
    assert ImageFeatureExtractor(weights=None).__sklearn_tags__().non_deterministic
    assert not ImageFeatureExtractor("pixels", weights=None).__sklearn_tags__(
    ).non_deterministic  # fmt: skip


# --------------------------------------------------------------------------
# contract on real image cells
# --------------------------------------------------------------------------


def _make(config, keras):
    if config == "pixels":
        return ImageFeatureExtractor("pixels")
    if config == "pixels_resized":
        return ImageFeatureExtractor("pixels", input_size=(8, 6), batch_size=5)
    if config == "keras_model":
        return ImageFeatureExtractor(tiny_cnn(keras), batch_size=4, n_jobs=2)
    return ImageFeatureExtractor(weights=None, input_size=32, batch_size=5)


@pytest.mark.parametrize(
    "config", ["pixels", "pixels_resized", "keras_model", "mobilenet_v2"]
)
def test_contract(config, digits, keras, tmp_path, request):
    if config == "mobilenet_v2":
        # fitted once for the module: MobileNetV2 takes seconds to build
        est = request.getfixturevalue("mobilenet")
    else:
        est = _make(config, keras)
        assert est.fit(digits) is est
    Z = np.asarray(est.transform(digits))
    assert Z.dtype == np.float32 and Z.shape == (len(digits), est.n_features_out_)
    assert np.isfinite(Z).all()
    names = est.get_feature_names_out()
    assert names.dtype == object and len(names) == est.n_features_out_
    # the same images from PNG files give the same features
    paths = write_pngs(tmp_path, digits)
    np.testing.assert_allclose(est.transform(paths), Z, rtol=1e-5, atol=1e-5)
    # the model is built once, in fit
    model = est.model_
    est.transform(digits[:3])
    assert est.model_ is model
    # pickle round trip gives identical output
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(digits), Z)
    # clone: same params, unfitted
    copy = clone(est)
    assert copy.get_params().keys() == est.get_params().keys()
    with pytest.raises(NotFittedError):
        copy.transform(digits)
    # order invariance: permuting the samples permutes the rows
    perm = np.random.RandomState(0).permutation(len(digits))
    np.testing.assert_allclose(est.transform(digits[perm]), Z[perm], atol=1e-5)
    if config == "mobilenet_v2":
        return  # weights=None: each fit draws a new network (non_deterministic)
    # idempotent fit, on shuffled samples
    np.testing.assert_allclose(est.fit(digits[perm]).transform(digits), Z, atol=1e-6)
    # fit_transform is fit then transform
    np.testing.assert_allclose(clone(est).fit_transform(digits), Z, atol=1e-6)


def test_joblib_dump_round_trip(digits, keras, tmp_path):
    est = ImageFeatureExtractor(tiny_cnn(keras)).fit(digits)
    path = tmp_path / "extractor.joblib"
    joblib.dump(est, path)
    restored = joblib.load(path)
    np.testing.assert_array_equal(restored.transform(digits), est.transform(digits))
    assert restored.model_ is not est.model_


def test_pixels_are_the_scaled_images(digits):
    est = ImageFeatureExtractor("pixels").fit(digits)
    assert est.input_size_ == (28, 28) and est.n_channels_ == 1
    assert est.model_ is None and est.backbone_name_ == "pixels"
    np.testing.assert_allclose(
        est.transform(digits), digits.reshape(len(digits), -1) / 255.0, rtol=1e-6
    )
    names = est.get_feature_names_out()
    assert names[0] == "pixel_0" and names[-1] == "pixel_783"


def test_pixels_colour_mode_follows_the_first_image(digits):
    colour = np.stack([digits[0]] * 3, axis=2)
    colour[:, :, 0] = 255 - colour[:, :, 0]
    est = ImageFeatureExtractor("pixels", input_size=10).fit([colour, digits[1]])
    assert est.n_channels_ == 3 and est.n_features_out_ == 300
    Z = np.asarray(est.transform([colour, digits[1]]))
    grey_as_rgb = Z[1].reshape(10, 10, 3)
    np.testing.assert_array_equal(grey_as_rgb[..., 0], grey_as_rgb[..., 1])

    est = ImageFeatureExtractor("pixels").fit([digits[1], colour])
    assert est.n_channels_ == 1 and est.n_features_out_ == 784
    luma = np.asarray(Image.fromarray(colour).convert("L"), dtype=np.float32)
    Z = np.asarray(est.transform([colour]))
    np.testing.assert_allclose(Z[0], luma.ravel() / 255)


@pytest.mark.parametrize("input_size", [None, 9])
def test_pixels_rows_are_independent_of_their_neighbours(input_size):
    # bit for bit, whatever the other cells and the batches: a cached
    # FusionTransformer reuses these rows across folds (_row_cache)
    images = list(read_mnist(40)[0]) + [np.zeros((14, 20), np.uint8)]
    est = ImageFeatureExtractor("pixels", input_size=input_size, batch_size=7)
    whole = np.asarray(est.fit_transform(images))
    assert est._rows_are_independent()
    rng = np.random.RandomState(0)
    for rows in ([40], [3], list(range(41))[::-1], sorted(rng.choice(41, 13, False))):
        part = np.asarray(est.transform([images[i] for i in rows]))
        np.testing.assert_array_equal(part, whole[rows])
    assert not ImageFeatureExtractor(weights=None)._rows_are_independent()


def test_pixels_does_not_import_tensorflow(tmp_path, digits):
    path = tmp_path / "digit.png"
    Image.fromarray(digits[0]).save(path)
    code = (
        "import sys, numpy as np\n"
        "from sklearn_mbm import ImageFeatureExtractor\n"
        "X = [np.zeros((5, 5), np.uint8), sys.argv[1]]\n"
        "Z = ImageFeatureExtractor('pixels', input_size=7).fit_transform(X)\n"
        "assert Z.shape == (2, 49), Z.shape\n"
    )
    assert modules_loaded(code, ("tensorflow", "keras"), path) == []


def test_cell_kinds_give_the_same_features(digits, tmp_path):
    image = np.stack([digits[0], digits[1], digits[2]], axis=2)  # RGB
    png = tmp_path / "rgb.png"
    Image.fromarray(image).save(png)
    cells = [
        str(png),
        png,
        png.read_bytes(),
        Image.fromarray(image),
        image,
        image.astype(np.int64),
        image / 255.0,
        np.concatenate([image, np.full((28, 28, 1), 255, np.uint8)], axis=2),  # RGBA
    ]
    Z = np.asarray(ImageFeatureExtractor("pixels", input_size=12).fit_transform(cells))
    for row in Z[1:]:
        np.testing.assert_allclose(row, Z[0], atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    "make",
    [
        list,
        tuple,
        pd.Series,
        lambda x: pd.DataFrame({"image": list(x)}),
        lambda x: np.asarray(list(x) + [None], dtype=object)[:-1],
        lambda x: np.asarray(x),  # numeric stack (n, H, W)
        lambda x: np.asarray(x)[..., np.newaxis],  # stack (n, H, W, 1)
        lambda x: (image for image in x),  # generator
    ],
    ids=["list", "tuple", "series", "frame", "object_1d", "stack", "stack4d", "gen"],
)
def test_input_containers(make, digits):
    expected = ImageFeatureExtractor("pixels").fit_transform(list(digits))
    got = ImageFeatureExtractor("pixels").fit_transform(make(list(digits)))
    np.testing.assert_array_equal(got, expected)


def test_bad_containers(digits):
    with pytest.raises(ValueError, match="0 samples"):
        ImageFeatureExtractor("pixels").fit([])
    frame = pd.DataFrame({"a": list(digits), "b": list(digits)})
    with pytest.raises(ValueError, match="one column of cells"):
        ImageFeatureExtractor("pixels").fit(frame)


def test_set_output_pandas(digits):
    index = [f"s{i}" for i in range(len(digits))]
    frame = pd.DataFrame({"image": list(digits)}, index=index)
    est = ImageFeatureExtractor("pixels", input_size=4).set_output(transform="pandas")
    out = est.fit_transform(frame)
    assert list(out.index) == index
    assert list(out.columns) == [f"pixel_{i}" for i in range(16)]


def test_pipeline_on_mnist_learns():
    images, labels = read_mnist(200)
    pipe = make_pipeline(
        ImageFeatureExtractor("pixels", input_size=14),
        LogisticRegression(max_iter=300),
    )
    scores = cross_val_score(pipe, list(images), labels, cv=3)
    assert scores.mean() > 0.6  # chance is 0.1


def test_batch_size_and_n_jobs_do_not_change_the_output(digits, keras):
    model = tiny_cnn(keras)
    expected = ImageFeatureExtractor(model, batch_size=64).fit_transform(digits)
    for batch_size, n_jobs in [(1, None), (5, 2), (7, -1)]:
        est = ImageFeatureExtractor(model, batch_size=batch_size, n_jobs=n_jobs)
        np.testing.assert_allclose(est.fit_transform(digits), expected, atol=1e-5)


def test_verbose_progress_bar(digits, capsys):
    ImageFeatureExtractor("pixels", batch_size=5, verbose=True).fit_transform(digits)
    err = capsys.readouterr().err
    assert "ImageFeatureExtractor" in err and "12/12" in err


# --------------------------------------------------------------------------
# Keras backbones
# --------------------------------------------------------------------------


def test_mobilenet_v2_random_weights(mobilenet, digits):
    Z = np.asarray(mobilenet.transform(digits))
    assert Z.shape == (len(digits), 1280) and Z.dtype == np.float32
    assert mobilenet.backbone_name_ == "mobilenet_v2"
    assert mobilenet.input_size_ == (32, 32) and mobilenet.n_channels_ == 3
    assert mobilenet.get_feature_names_out()[0] == "mobilenet_v2_0"
    from keras.applications import mobilenet_v2

    assert mobilenet.preprocess_ is mobilenet_v2.preprocess_input
    # the same as running the bare model on the prepared images
    prepared = np.stack(
        [
            mobilenet_v2.preprocess_input(
                np.asarray(Image.fromarray(d).convert("RGB").resize((32, 32), 2), "f4")
            )
            for d in digits
        ]
    )
    bare = mobilenet.model_(prepared, training=False)
    np.testing.assert_allclose(Z, np.asarray(bare), atol=1e-4)


def test_application_pooling_max(digits, keras):
    keras.utils.set_random_seed(0)
    est = ImageFeatureExtractor("MobileNetV2", weights=None, input_size=32)
    Z = est.set_params(pooling="max").fit_transform(digits[:3])
    assert Z.shape == (3, 1280) and est.backbone_name_ == "mobilenet_v2"


def test_application_names(keras):
    from sklearn_mbm._extractors._keras_applications import (
        applications,
        find_application,
        native_size,
    )

    snake = {name for _, name in applications(keras).values()}
    for expected in [
        "mobilenet_v2",
        "efficientnet_b0",
        "resnet50",
        "resnet50_v2",
        "convnext_tiny",
        "mobilenet_v3_small",
        "inception_v3",
        "densenet121",
        "nasnet_mobile",
        "efficientnet_v2_s",
        "vgg16",
        "xception",
    ]:
        assert expected in snake
        function, name, preprocess = find_application(keras, expected)
        assert name == expected and callable(function) and callable(preprocess)
    for spelling in ["MobileNetV2", "mobilenetv2", "MOBILENET_V2"]:
        assert find_application(keras, spelling)[1] == "mobilenet_v2"
    assert native_size("inception_v3") == 299
    assert native_size("efficientnet_b3") == 300
    assert native_size("resnet50") == 224


def test_local_weights_file(mobilenet, digits, tmp_path):
    source = mobilenet
    weights = tmp_path / "mobilenet_v2_no_top.weights.h5"
    source.model_.save_weights(weights)
    est = ImageFeatureExtractor(weights=str(weights), input_size=32).fit(digits[:1])
    np.testing.assert_allclose(
        est.transform(digits[:4]), source.transform(digits[:4]), atol=1e-6
    )


def test_weights_file_errors(digits, tmp_path):
    missing = tmp_path / "missing.weights.h5"
    with pytest.raises(FileNotFoundError, match="weights file .*missing.weights.h5"):
        ImageFeatureExtractor(weights=missing, input_size=32).fit(digits)
    garbage = tmp_path / "garbage.weights.h5"
    garbage.write_text("not weights")
    with pytest.raises(ValueError, match="cannot load the weights file .*garbage"):
        ImageFeatureExtractor(weights=garbage, input_size=32).fit(digits)
    with pytest.raises(ValueError, match="only applies to a keras.applications"):
        ImageFeatureExtractor("pixels", weights=garbage).fit(digits)


def test_offline_imagenet_error_names_the_weights_file(tmp_path):
    """No download possible: the error names the file and where to put it.

    A proxy on a closed local port makes the download fail at once on any
    machine, online or not; an empty KERAS_HOME makes sure no cached copy is
    found.
    """
    home = tmp_path / "keras_home"
    code = (
        "from sklearn_mbm import ImageFeatureExtractor\n"
        "try:\n"
        "    ImageFeatureExtractor('mobilenet_v2', input_size=96).fit([None])\n"
        "except FileNotFoundError as exc:\n"
        "    print('ERROR', exc)\n"
    )
    proxy = "http://127.0.0.1:9"
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        KERAS_HOME=str(home),
        https_proxy=proxy,
        HTTPS_PROXY=proxy,
        http_proxy=proxy,
        HTTP_PROXY=proxy,
        no_proxy="",
        NO_PROXY="",
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=180,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    message = out.stdout
    assert "ERROR cannot download the ImageNet weights" in message, message
    assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5" in message
    assert repr(str(home / "models")) in message
    assert "weights='/path/to/mobilenet_v2_weights" in message


def test_keras_model_backbone(digits, keras):
    model = tiny_cnn(keras)
    est = ImageFeatureExtractor(model).fit(digits)
    assert est.model_ is model and est.backbone_name_ == "digit_cnn"
    assert est.input_size_ == (28, 28) and est.n_channels_ == 1
    Z = est.transform(digits)
    maps = model.predict(digits[..., np.newaxis].astype("float32"), verbose=0)
    np.testing.assert_allclose(Z, maps.mean(axis=(1, 2)), atol=1e-5)
    assert list(est.get_feature_names_out()) == [f"digit_cnn_{i}" for i in range(6)]
    Z_max = est.set_params(pooling="max").fit_transform(digits)
    np.testing.assert_allclose(Z_max, maps.max(axis=(1, 2)), atol=1e-5)
    Z_flat = est.set_params(pooling=None).fit_transform(digits)
    np.testing.assert_allclose(Z_flat, maps.reshape(len(digits), -1), atol=1e-5)


def test_keras_model_backbone_survives_clone_and_pickle(digits, keras):
    model = tiny_cnn(keras)
    est = ImageFeatureExtractor(model)
    copy = clone(est)
    assert copy.backbone is not model  # clone deep-copies the model
    Z = est.fit_transform(digits)
    np.testing.assert_allclose(copy.fit_transform(digits), Z, atol=1e-6)
    restored = pickle.loads(pickle.dumps(est))
    assert restored.model_ is restored.backbone  # one model, as before
    np.testing.assert_array_equal(restored.transform(digits), Z)
    # the unfitted estimator pickles too
    unfitted = pickle.loads(pickle.dumps(clone(est)))
    np.testing.assert_allclose(unfitted.fit_transform(digits), Z, atol=1e-6)


def test_saved_keras_file_backbone(digits, keras, tmp_path):
    model = tiny_cnn(keras)
    path = tmp_path / "digit_cnn_v1.keras"
    model.save(path)
    expected = ImageFeatureExtractor(model).fit_transform(digits)
    for backbone in (str(path), path):
        est = ImageFeatureExtractor(backbone).fit(digits)
        assert est.backbone_name_ == "digit_cnn_v1"
        np.testing.assert_allclose(est.transform(digits), expected, atol=1e-6)
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.transform(digits), est.transform(digits))


def test_rgb_model_gets_rgb_and_any_size_model_needs_input_size(digits, keras):
    inputs = keras.Input((None, None, 3))
    outputs = keras.layers.Conv2D(5, 3)(keras.layers.Rescaling(1 / 255)(inputs))
    model = keras.Model(inputs, outputs, name="AnySize")
    with pytest.raises(ValueError, match="accepts any image size; set input_size"):
        ImageFeatureExtractor(model).fit(digits)
    est = ImageFeatureExtractor(model, input_size=(20, 24)).fit(digits)
    assert est.n_channels_ == 3 and est.input_size_ == (20, 24)
    assert est.transform(digits).shape == (len(digits), 5)
    assert est.get_feature_names_out()[0] == "any_size_0"


def test_bad_keras_backbones(digits, keras, tmp_path):
    with pytest.raises(ValueError, match="input_size=.* conflicts .* height is 28"):
        ImageFeatureExtractor(tiny_cnn(keras), input_size=32).fit(digits)
    with pytest.raises(ValueError, match="has no defined input"):
        ImageFeatureExtractor(keras.Sequential([keras.layers.Dense(2)])).fit(digits)
    with pytest.raises(ValueError, match="takes images with 2 channels"):
        ImageFeatureExtractor(tiny_cnn(keras, channels=2)).fit(digits)
    inputs = keras.Input((28, 28, 1))
    two = keras.Model(inputs, [keras.layers.Flatten()(inputs)] * 2)
    with pytest.raises(ValueError, match="must have one output"):
        ImageFeatureExtractor(two).fit(digits)
    inputs = keras.Input((None, None, 3))
    any_size = keras.Model(inputs, keras.layers.Conv2D(5, 3)(inputs))
    with pytest.raises(ValueError, match="cannot process images of size 2x2"):
        ImageFeatureExtractor(any_size, input_size=2).fit(digits)
    with pytest.raises(ValueError, match="weights file only applies"):
        ImageFeatureExtractor(tiny_cnn(keras), weights=__file__).fit(digits)
    # keras.applications' own size check comes through unchanged
    with pytest.raises(ValueError, match="at least 32x32"):
        ImageFeatureExtractor(weights=None, input_size=28).fit(digits)


@pytest.mark.parametrize("filters", [5, 3])
@pytest.mark.parametrize("input_size", [2, (1, 5), (8, 2)])
def test_backbone_probe_refuses_images_smaller_than_a_convolution(
    digits, keras, filters, input_size
):
    # TensorFlow 2.21's traced graph returns a blank (1, 2, 2, 3) array here
    # instead of raising: the probe at fit must refuse it, whatever the
    # filter count (3 filters give the very shape of the input).
    inputs = keras.Input((None, None, 3))
    any_size = keras.Model(
        inputs, keras.layers.Conv2D(filters, 3)(inputs), name="any_size"
    )
    extractor = ImageFeatureExtractor(any_size, input_size=input_size)
    with pytest.raises(
        ValueError,
        match=r"backbone 'any_size' cannot process images of size \d+x\d+ with 3 "
        rf"channel\(s\) \(input_size={re.escape(repr(input_size))}\)",
    ):
        extractor.fit(digits)
    # the same model at a size it can process works, 2-D and finite
    features = ImageFeatureExtractor(any_size, input_size=3).fit_transform(digits)
    features = np.asarray(features)
    assert features.shape == (len(digits), filters) and np.isfinite(features).all()


def test_backbone_probe_refuses_empty_and_non_finite_outputs(digits, keras):
    inputs = keras.Input((28, 28, 1))
    empty = keras.Model(inputs, keras.layers.Lambda(lambda x: x[:, :0])(inputs))
    with pytest.raises(
        ValueError,
        match=r"cannot process images of size 28x28 .*shape \(None, 0, 28, 1\)",
    ):
        ImageFeatureExtractor(empty).fit(digits)
    # log of a negative number: NaN features on every real image too
    log = keras.Model(
        inputs,
        keras.layers.Lambda(lambda x: keras.ops.log(x - 300.0))(inputs),
        name="log_model",
    )
    with pytest.raises(
        ValueError,
        match=r"backbone 'log_model' cannot process images of size 28x28 with 1 "
        r"channel\(s\) \(input_size=None\): 784 of its 784 features",
    ):
        ImageFeatureExtractor(log, pooling=None).fit(digits)


def test_bad_backbone_names_and_paths(digits, tmp_path):
    with pytest.raises(
        ValueError, match="unknown backbone 'mobilenet_v9'.*mobilenet_v2"
    ):
        ImageFeatureExtractor("mobilenet_v9").fit(digits)
    with pytest.raises(FileNotFoundError, match="saved Keras model file not found"):
        ImageFeatureExtractor(str(tmp_path / "model.keras")).fit(digits)
    with pytest.raises(ValueError, match="is a folder; Keras 3 loads"):
        ImageFeatureExtractor(tmp_path).fit(digits)
    not_a_model = tmp_path / "notes.keras"
    not_a_model.write_text("hello")
    with pytest.raises(ValueError, match="cannot load a Keras model from this file"):
        ImageFeatureExtractor(not_a_model).fit(digits)


@pytest.mark.parametrize(
    "params, error",
    [
        ({"input_size": 0}, InvalidParameterError),
        ({"input_size": (3, 0)}, ValueError),
        ({"input_size": (3, 4, 5)}, ValueError),
        ({"input_size": (3, "a")}, ValueError),
        ({"input_size": [3, 4]}, InvalidParameterError),
        ({"pooling": "mean"}, InvalidParameterError),
        ({"batch_size": 0}, InvalidParameterError),
        ({"on_error": "ignore"}, InvalidParameterError),
        ({"backbone": 3}, InvalidParameterError),
        ({"weights": 1}, InvalidParameterError),
    ],
)
def test_invalid_parameters(params, error, digits):
    with pytest.raises(error):
        ImageFeatureExtractor(**{"backbone": "pixels", **params}).fit(digits)


def test_not_fitted(digits):
    est = ImageFeatureExtractor("pixels")
    with pytest.raises(NotFittedError):
        est.transform(digits)
    with pytest.raises(NotFittedError):
        est.get_feature_names_out()


# --------------------------------------------------------------------------
# bad cells
# --------------------------------------------------------------------------


@pytest.fixture()
def bad_cells(digits, tmp_path):
    """Good digits with bad cells at 2 (missing file), 4 (None), 5 (truncated)."""
    cells = list(digits[:8])
    cells[2] = str(tmp_path / "missing.png")
    cells[4] = None
    buffer = io.BytesIO()
    Image.fromarray(np.tile(digits[5], (4, 4))).save(buffer, "PNG")
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(buffer.getvalue()[:300])
    cells[5] = str(truncated)
    return cells


@pytest.mark.parametrize("backbone", ["pixels", "keras_model"])
def test_first_bad_cell_raises_with_index_and_path(bad_cells, backbone, keras):
    est = ImageFeatureExtractor(
        tiny_cnn(keras) if backbone == "keras_model" else "pixels",
        batch_size=3,
        n_jobs=2,
    ).fit(bad_cells)
    with pytest.raises(
        FileNotFoundError, match=r"sample 2 \(path '.*missing\.png'\): image file"
    ):
        est.transform(bad_cells)
    with pytest.raises(ValueError, match="sample 4 is missing"):
        est.transform([bad_cells[i] for i in (0, 1, 3, 6, 4)])
    with pytest.raises(ValueError, match=r"sample 0 \(path '.*cut\.png'\): truncated"):
        est.transform(bad_cells[5:])


def test_missing_cell_message_index(bad_cells):
    est = ImageFeatureExtractor("pixels").fit(bad_cells)
    with pytest.raises(ValueError, match="sample 1 is missing .*on_error='warn'"):
        est.transform([bad_cells[0], None])
    with pytest.raises(TypeError, match=r"sample 1 \(object of type dict\)"):
        est.transform([bad_cells[0], {"not": "an image"}])


@pytest.mark.parametrize("backbone", ["pixels", "keras_model"])
def test_on_error_warn_gives_nan_rows(bad_cells, digits, backbone, keras):
    model = tiny_cnn(keras) if backbone == "keras_model" else "pixels"
    est = ImageFeatureExtractor(model, on_error="warn", batch_size=3).fit(bad_cells)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        Z = np.asarray(est.transform(bad_cells))
    messages = [str(w.message) for w in caught if w.category is CellLoadWarning]
    assert len(messages) == 3
    assert messages[0].startswith("sample 2 (path '") and "not found" in messages[0]
    assert (
        messages[1] == "sample 4 is missing (None or NaN). Its row of features is NaN."
    )
    assert messages[2].startswith("sample 5 (path '") and "truncated" in messages[2]
    bad = np.isnan(Z).all(axis=1)
    assert list(np.flatnonzero(bad)) == [2, 4, 5]
    assert not np.isnan(Z[~bad]).any()
    good = [i for i in range(8) if i not in (2, 4, 5)]
    clean = clone(est).set_params(on_error="raise").fit_transform(digits[good])
    np.testing.assert_allclose(Z[good], clean, atol=1e-5)


def test_pixels_fit_skips_bad_first_cells_when_warning(bad_cells, digits):
    cells = [None, "/no/such/file.png", *bad_cells]
    est = ImageFeatureExtractor("pixels", on_error="warn").fit(cells)
    assert est.input_size_ == (28, 28)
    with pytest.raises(FileNotFoundError, match="sample 1"):
        ImageFeatureExtractor("pixels").fit(cells)
    with pytest.raises(ValueError, match="none of the 2 cells could be loaded"):
        ImageFeatureExtractor("pixels", on_error="warn").fit([None, b"junk"])


# --------------------------------------------------------------------------
# memory: bounded by batch_size, not by the number of samples
# --------------------------------------------------------------------------


def test_memory_is_bounded_by_batch_size(tmp_path):
    """Peak memory beyond the output array is flat from 64 to 512 images."""
    path = tmp_path / "photo.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(path)
    est = ImageFeatureExtractor("pixels", batch_size=8, n_jobs=2).fit([path])

    def peak_beyond_output(n_images):
        cells = (str(path) for _ in range(n_images))  # generator-backed input
        tracemalloc.start()
        try:
            out = np.asarray(est.transform(cells))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert out.shape == (n_images, 48 * 48 * 3)
        return peak - out.nbytes

    small, large = peak_beyond_output(64), peak_beyond_output(512)
    one_image = 48 * 48 * 3 * 4
    # holding all decoded images would add 448 more images' worth
    assert large < 1.5 * small, (small, large)
    assert large - small < 32 * one_image, (small, large)


# --------------------------------------------------------------------------
# decoding overlaps the network
# --------------------------------------------------------------------------


def test_next_batch_is_decoded_while_the_network_runs(digits, monkeypatch):
    """While the network holds batch k, worker threads decode batch k + 1."""
    import threading

    import sklearn_mbm.image as image_module

    est = ImageFeatureExtractor("pixels", batch_size=4, n_jobs=2).fit(digits)
    next_batch_started = threading.Event()
    loader_threads = set()
    real_load = image_module.load_image_cell

    def recording_load(cell, index, **kwargs):
        loader_threads.add(threading.get_ident())
        if index >= 4:
            next_batch_started.set()
        return real_load(cell, index, **kwargs)

    seen_during_first_batch = []
    real_run_batch = est._run_batch

    def slow_run_batch(context, batch):
        if not seen_during_first_batch:
            # the network is busy with batch 0: batch 1 must be decoding
            seen_during_first_batch.append(next_batch_started.wait(timeout=30))
        return real_run_batch(context, batch)

    monkeypatch.setattr(image_module, "load_image_cell", recording_load)
    monkeypatch.setattr(est, "_run_batch", slow_run_batch)
    Z = est.transform(digits)
    assert seen_during_first_batch == [True]
    assert threading.get_ident() not in loader_threads  # decoded off the main thread
    np.testing.assert_allclose(Z, digits.reshape(len(digits), -1) / 255, rtol=1e-6)


def test_exif_orientation_on_by_default_and_off_by_parameter(tmp_path):
    # a phone photo stored upside down with EXIF orientation 3 (rotate 180)
    upright = np.zeros((16, 16, 3), dtype=np.uint8)
    upright[:8] = 250  # bright top half
    path = tmp_path / "upside_down.jpg"
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(upright[::-1, ::-1]).save(path, quality=95, exif=exif)
    expected = ImageFeatureExtractor("pixels").fit_transform([upright])
    turned = ImageFeatureExtractor("pixels").fit_transform([path])
    as_stored = ImageFeatureExtractor("pixels", exif_transpose=False).fit_transform(
        [path]
    )
    turned, as_stored, expected = map(np.asarray, (turned, as_stored, expected))
    assert np.abs(turned - expected).mean() < 0.02
    assert np.abs(as_stored - expected).mean() > 0.5
    np.testing.assert_array_equal(
        as_stored.reshape(16, 16, 3)[::-1, ::-1], turned.reshape(16, 16, 3)
    )
    with pytest.raises(InvalidParameterError, match="exif_transpose"):
        ImageFeatureExtractor("pixels", exif_transpose="yes").fit([path])


@pytest.mark.parametrize("frame", [False, True])
def test_bad_cell_messages_name_the_index_label(digits, tmp_path, frame):
    # X.loc[label] must find the row a message names (issue 14, point 8)
    gone = str(tmp_path / "gone.png")
    cells = pd.Series([digits[0], digits[1], gone], index=[30, 20, 10])
    X = cells.to_frame("image") if frame else cells
    with pytest.raises(
        FileNotFoundError, match=r"sample 10 \(position 2\) \(path '.*gone\.png'\)"
    ):
        ImageFeatureExtractor("pixels").fit_transform(X)
    fitted = ImageFeatureExtractor("pixels").fit(cells[:2])
    with pytest.raises(ValueError, match=r"sample 20 \(position 1\) is missing"):
        fitted.transform(pd.Series([digits[0], None], index=[10, 20]))
    with pytest.warns(CellLoadWarning, match=r"sample 20 \(position 1\) is missing"):
        ImageFeatureExtractor("pixels", on_error="warn").fit(cells[:2]).transform(
            pd.Series([digits[0], None], index=[10, 20])
        )


def test_parameters_after_the_first_are_keyword_only():
    first, *rest = inspect.signature(ImageFeatureExtractor).parameters.values()
    assert first.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in rest)
