"""Lazy Keras glue: the only module that imports TensorFlow / Keras, and only
inside functions, so ``import sklearn_mbm`` stays light.

Shared by the image extractor (backbones) and the neural fusion model.
"""

import os
import sys
import tempfile

# Files that exist only where an NVIDIA driver is loaded (Linux).
_NVIDIA_DRIVER_FILES = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


def quiet_tensorflow_logs():
    """Choose TensorFlow's C++ log level, unless the user did or TF is loaded.

    TensorFlow reads ``TF_CPP_MIN_LOG_LEVEL`` when it loads. Level 2 hides
    its start-up INFO and WARNING lines; on a machine without an NVIDIA
    driver, TensorFlow 2.21 still logs "failed call to cuInit" at ERROR level
    on its first operation, which only level 3 hides (``ABSL_MIN_LOG_LEVEL``
    does not). So: 3 without a driver, 2 with one (where an ERROR line can
    matter). A level the user set, or a TensorFlow already imported, is left
    alone.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    has_driver = any(os.path.exists(path) for path in _NVIDIA_DRIVER_FILES)
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2" if has_driver else "3"


def import_keras():
    """Import and return ``keras`` (Keras 3 on TensorFlow), with a clear error."""
    quiet_tensorflow_logs()
    try:
        import keras
    except ImportError as exc:  # pragma: no cover - tensorflow is a dependency
        raise ImportError(
            "This feature needs Keras 3 with TensorFlow: pip install tensorflow"
        ) from exc
    return keras


def import_tensorflow():
    """Import and return ``tensorflow`` (Keras's backend), after Keras.

    Used where Keras has no backend-neutral API: ``tf.data`` pipelines with
    string columns and string tensors for text inputs.
    """
    import_keras()
    import tensorflow as tf

    return tf


def set_random_seed(random_state):
    """Seed Python, NumPy and the Keras backend from an int (no-op for None)."""
    if random_state is None:
        return
    keras = import_keras()
    keras.utils.set_random_seed(int(random_state))


def model_to_bytes(model):
    """Serialise a Keras model (architecture + weights) to ``.keras`` bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def model_from_bytes(data, custom_objects=None):
    """Rebuild a Keras model from :func:`model_to_bytes` output."""
    keras = import_keras()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        with open(path, "wb") as f:
            f.write(data)
        return keras.saving.load_model(
            path, custom_objects=custom_objects, compile=False
        )


def make_predict_function(model):
    """Return ``f(x) -> ndarray``: ``model`` in inference mode, traced once.

    On the TensorFlow backend a single-input model is wrapped in a
    ``tf.function`` whose batch dimension is unknown, so batches of any size
    share one trace. ``model.predict_on_batch`` would trace again for the first
    batch of a new size (about a second for a MobileNetV2), and eager
    ``model(x)`` runs 3-5 times slower. Other backends or multi-input models
    fall back to ``predict_on_batch``.
    """
    keras = import_keras()
    inputs = getattr(model, "inputs", None) or []
    if keras.backend.backend() != "tensorflow" or len(inputs) != 1:
        return model.predict_on_batch
    import tensorflow as tf

    spec = tf.TensorSpec((None, *inputs[0].shape[1:]), dtype=inputs[0].dtype)

    @tf.function(input_signature=[spec])
    def predict(x):
        return model(x, training=False)

    def run(x):
        return keras.ops.convert_to_numpy(predict(x))

    return run
