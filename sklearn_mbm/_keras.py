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


def _is_keras_model(value):
    keras = sys.modules.get("keras")  # no keras imported: cannot be a model
    return keras is not None and isinstance(value, keras.Model)


def keras_state(state, attrs):
    """A picklable copy of ``state`` (an estimator's ``__dict__``).

    The Keras models held by ``attrs`` are stored as ``.keras`` bytes under
    ``"_keras_models"`` (a model held by two of them is stored once), so that
    unpickling needs no live TensorFlow objects and works in a fresh process.
    An attribute that already holds bytes (a model never rebuilt since it was
    unpickled, see :func:`restore_keras_state`) is passed on as it is. The
    traced predict function (``_predict_fn``) is dropped: it is rebuilt from
    the model.
    """
    state = dict(state)  # object.__getstate__ returns the live __dict__
    state.pop("_predict_fn", None)
    models, first_holder = {}, {}
    for attr in attrs:
        value = state.get(attr)
        if isinstance(value, bytes):
            models[attr] = value
        elif _is_keras_model(value):
            if id(value) in first_holder:
                models[attr] = first_holder[id(value)]  # the same model
            else:
                first_holder[id(value)] = attr
                models[attr] = model_to_bytes(value)
        else:
            continue
        del state[attr]
    if models:
        state["_keras_models"] = models
    return state


def restore_keras_state(state, *, lazy=(), custom_objects=None):
    """Undo :func:`keras_state`: rebuild the models of a pickled ``state``.

    Attributes in ``lazy`` keep their bytes, for their owner to rebuild on
    first use (:func:`model_from_bytes`); the others are rebuilt now, with
    ``custom_objects`` passed to ``keras.saving.load_model``.
    """
    state = dict(state)
    models = state.pop("_keras_models", {})
    for attr, data in models.items():
        if isinstance(data, str):  # the model of an earlier attribute
            state[attr] = state[data]
        elif attr in lazy:
            state[attr] = data
        else:
            state[attr] = model_from_bytes(data, custom_objects=custom_objects)
    return state


def make_predict_function(model, *, eager=False):
    """Return ``f(x) -> ndarray``: ``model`` in inference mode.

    ``x`` is an array for a single-input model, else a dict of arrays or
    tensors by input name. On the TensorFlow backend the model is wrapped in
    a ``tf.function`` whose batch dimension is unknown, so batches of any
    size share one trace (traced on first call, so building the function is
    cheap). ``model.predict_on_batch`` would trace again for the first batch
    of a new size (about a second for a MobileNetV2) and retrace per model,
    and eager ``model(x)`` runs 3-5 times slower per batch. ``eager=True``
    calls the model eagerly, no trace: worth it for a few tiny batches
    (tests). Other backends fall back to ``predict_on_batch``.
    """
    keras = import_keras()
    if eager:

        def run_eagerly(x):
            return keras.ops.convert_to_numpy(model(x, training=False))

        return run_eagerly
    inputs = getattr(model, "inputs", None) or []
    if keras.backend.backend() != "tensorflow" or not inputs:
        return model.predict_on_batch
    import tensorflow as tf

    def spec(tensor):
        return tf.TensorSpec((None, *tensor.shape[1:]), dtype=tensor.dtype)

    if len(inputs) == 1:
        signature = spec(inputs[0])
    else:
        signature = {tensor.name: spec(tensor) for tensor in inputs}

    # A callable object rather than a nested function: TensorFlow counts
    # traces per Python code object, so one nested function per model makes
    # every new model's single trace look like a retrace of the last one
    # ("triggered tf.function retracing" in a grid search). An object is
    # its own key: each model's function is traced once for its signature.
    predict = tf.function(_Inference(model), input_signature=[signature])

    def run(x):
        return keras.ops.convert_to_numpy(predict(x))

    run.traced = predict  # for tests: predict.experimental_get_tracing_count()
    return run


class _Inference:
    """``model(x, training=False)`` as a callable object (see
    :func:`make_predict_function`)."""

    def __init__(self, model):
        self.model = model

    def __call__(self, x):
        return self.model(x, training=False)


class _PerModelTraceFilter:
    """Drop TensorFlow's "triggered tf.function retracing" warning about
    Keras's own per-model step functions while a fresh model trains.

    ``model.fit`` wraps the same nested step function in a new
    ``tf.function`` for each model; TensorFlow keys its retracing counter on
    that function's code, so fitting several small models in a row (a grid
    search) reports each model's first and only trace as a retrace. The
    warning is wrong there; any other message passes.
    """

    _KERAS_STEPS = (
        "multi_step_on_iterator",
        "one_step_on_data",
        "one_step_on_iterator",
    )

    def filter(self, record):
        message = record.getMessage()
        return not (
            "triggered tf.function retracing" in message
            and any(step in message for step in self._KERAS_STEPS)
        )


def fit_model(model, *args, **kwargs):
    """``model.fit(*args, **kwargs)`` without TensorFlow's false retracing
    warnings for a fresh model (see :class:`_PerModelTraceFilter`)."""
    import logging

    logger = logging.getLogger("tensorflow")
    quiet = _PerModelTraceFilter()
    logger.addFilter(quiet)
    try:
        return model.fit(*args, **kwargs)
    finally:
        logger.removeFilter(quiet)
