"""The Keras backbones of ImageFeatureExtractor.

The ``keras.applications`` registry (a model's snake-case name, native input
size and ``preprocess_input``, found by any spelling of its name), building a
headless application with clear errors for missing or offline weights, and
loading a saved ``.keras`` model and checking its image input. Keras is passed
in by the caller, which imports it lazily.
"""

import os
import re
import sys

__all__ = [
    "applications",
    "build_application",
    "find_application",
    "load_saved_model",
    "model_input_shape",
    "native_size",
]

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


def applications(keras):
    """{normalised name: (attribute, snake name)} of keras.applications models."""
    found = {}
    for attr in dir(keras.applications):
        function = getattr(keras.applications, attr)
        if attr[:1].isupper() and callable(function):
            found[_normalise(attr)] = (attr, _snake_name(attr, function))
    return found


def find_application(keras, name):
    """Return ``(function, snake_name, preprocess_input)`` for a model name."""
    found = applications(keras)
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


def native_size(snake_name):
    return _NATIVE_SIZES.get(_normalise(snake_name), _DEFAULT_NATIVE_SIZE)


def build_application(function, name, weights, size, pooling):
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


def load_saved_model(keras, path):
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


def model_input_shape(model, input_size):
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
