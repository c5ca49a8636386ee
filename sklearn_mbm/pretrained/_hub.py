"""KerasHub glue: the lazy import, preset resolution, loading and offline errors.

The only module of :mod:`sklearn_mbm.pretrained` that imports ``keras_hub``,
and only inside functions: ``import keras_hub`` takes 8-10 s, so it happens
once per process, the first time an embedder is fitted or used.

A loaded preset is kept for the life of the process, keyed on the resolved
preset and its fingerprint (:func:`preset_fingerprint`), so every embedder of
the same preset (clones in a grid search, a pickled embedder loaded again)
shares one copy of the weights.
"""

import hashlib
import os
import socket
import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

import numpy as np

HUB_EXTRA_HINT = 'pip install "sklearn-mbm[hub]"'

_LOADED = {}
_LOCK = threading.RLock()

# Content digests of preset files, keyed on what os.stat says of the file:
# a file is read (and hashed) once per process and per version, and a check
# of an unchanged folder costs one stat per file.
_FILE_DIGESTS = {}


def import_keras_hub():
    """Import and return ``keras_hub``, with an ImportError naming the extra."""
    from sklearn_mbm._keras import import_keras

    import_keras()  # quiet TensorFlow's start-up logs first
    try:
        import keras_hub
    except ImportError as exc:
        raise ImportError(
            "The pretrained embedders (sklearn_mbm.pretrained) need the "
            f"keras-hub package, an optional extra of sklearn-mbm: {HUB_EXTRA_HINT}"
            f" (or pip install keras-hub). Import failed: {exc}"
        ) from exc
    return keras_hub


def is_local_preset(preset):
    """True for an os.PathLike or a str that names an existing path."""
    if isinstance(preset, os.PathLike):
        return True
    return "://" not in preset and os.path.exists(preset)


def resolve_preset(preset):
    """Return the preset as keras_hub takes it: an absolute folder, or as given.

    Raises
    ------
    FileNotFoundError
        A local path that is not a preset folder (no ``config.json``).
    """
    if not is_local_preset(preset):
        return str(preset)
    path = os.path.abspath(os.fspath(preset))
    if not os.path.isfile(os.path.join(path, "config.json")):
        what = "a folder" if os.path.isdir(path) else "not a folder"
        raise FileNotFoundError(
            f"preset {os.fspath(preset)!r} is {what} without a config.json: a "
            "local preset is the folder that KerasHub's save_to_preset writes "
            "(config.json, model.weights.h5, tokenizer.json, ...)."
        )
    return path


def preset_fingerprint(preset):
    """A digest of what determines a preset's output: its files' content.

    For a local folder: the relative path and the SHA-256 of the content of
    each of its files (config, weights, tokenizer and converter assets;
    hidden files such as ``.DS_Store`` are left out). Neither the folder's
    absolute path nor the files' times enter it, so a byte-for-byte copy of
    the folder, anywhere, has the same fingerprint, and any changed byte
    gives another. For a hub name or URI: the name itself (the hub serves a
    fixed version per handle).

    Each file is read once per process and per version (its size, times,
    inode as ``os.stat`` gives them): checking an unchanged folder again
    costs one ``os.stat`` per file. The first check reads the files once,
    which is less than loading them does (see :ref:`pretrained`).
    """
    if not isinstance(preset, (str, os.PathLike)) or not is_local_preset(preset):
        return f"hub:{preset}"
    root = os.path.abspath(os.fspath(preset))
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, root).replace(os.sep, "/")
            digest.update(f"{relative}:{file_digest(path)}|".encode())
    return digest.hexdigest()


def file_digest(path):
    """SHA-256 of a file's content, read once per version of the file."""
    stat = os.stat(path)
    key = (
        path,
        stat.st_size,
        stat.st_mtime_ns,
        stat.st_ctime_ns,
        stat.st_ino,
        stat.st_dev,
    )
    with _LOCK:
        known = _FILE_DIGESTS.get(key)
    if known is None:
        with open(path, "rb") as file:
            known = hashlib.file_digest(file, "sha256").hexdigest()
        with _LOCK:
            _FILE_DIGESTS[key] = known
    return known


def load_preset(preset, kind, loader):
    """Return ``loader(keras_hub, resolved_preset)``, computed once per process.

    ``kind`` names what is loaded (``"text"``, ``"image"``, ``"audio"``) so
    that the parts each modality needs are cached apart. Download and offline
    failures become errors that name the preset and say what to do.
    """
    keras_hub = import_keras_hub()
    resolved = resolve_preset(preset)
    key = (kind, resolved, preset_fingerprint(resolved))
    with _LOCK:
        if key not in _LOADED:
            with _offline_errors(resolved):
                _LOADED[key] = loader(keras_hub, resolved)
        return _LOADED[key]


def offline_error(preset, detail):
    """The error for a hub preset that cannot be fetched."""
    return ConnectionError(
        f"cannot load the KerasHub preset {preset!r}: it is not in the local "
        "cache and the model hub cannot be reached (this machine looks "
        f"offline: {detail}). Download the preset on a machine with internet "
        "access (keras_hub.models.Backbone.from_preset(...).save_to_preset("
        "folder), with its tokenizer or converter), copy the folder here, and "
        "pass the local directory as preset='/path/to/folder'."
    )


@contextmanager
def _offline_errors(preset):
    """Turn kagglehub / huggingface_hub network failures into clear errors."""
    if is_local_preset(preset):
        yield
        return
    offline_hf = preset.lower().startswith("hf://") and _hf_unreachable()
    if offline_hf and not _hf_cached(preset):
        # huggingface_hub would retry for about 24 s before failing
        raise offline_error(preset, offline_hf)
    try:
        if offline_hf:
            with _hf_offline_mode():
                yield
        else:
            yield
    except (ConnectionError, OSError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise offline_error(preset, f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:
        message = str(exc)
        if "has no config.json" in message or "Unknown preset" in message:
            raise ValueError(
                f"preset {preset!r} is neither a local preset directory nor a "
                "KerasHub preset that can be fetched (a built-in name such as "
                "'bert_tiny_en_uncased', an 'hf://org/model' or "
                "'kaggle://org/model/keras/variant' URI). If you are offline, "
                "pass a local directory written by save_to_preset instead."
            ) from exc
        raise
    except Exception as exc:
        # requests.ConnectionError derives from OSError; other network errors
        # of the hub clients are told by their module
        if type(exc).__module__.split(".")[0] in ("requests", "urllib3", "httpx"):
            raise offline_error(preset, f"{type(exc).__name__}: {exc}") from exc
        raise


def _hf_unreachable():
    """A reason string when the Hugging Face Hub cannot be reached, else ''."""
    import huggingface_hub.constants as constants

    if constants.HF_HUB_OFFLINE:
        return "HF_HUB_OFFLINE is set"
    url = urlsplit(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname, port), timeout=3).close()
    except OSError as exc:
        return f"cannot connect to {url.hostname}:{port} ({exc})"
    return ""


def _hf_cached(preset):
    import huggingface_hub

    repo_id = preset[len("hf://") :]
    try:
        found = huggingface_hub.try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # an invalid repo id: the load reports it
        return False
    return isinstance(found, str)


@contextmanager
def _hf_offline_mode():
    """Load a cached hf:// preset without asking the unreachable Hub."""
    import huggingface_hub.constants as constants

    previous = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = previous


def predict_function(model, preprocess=None):
    """``f(inputs) -> ndarray``: ``model`` in inference mode, traced once.

    ``preprocess`` (a KerasHub image converter) runs first, in the same
    trace.

    Inputs of any batch size and sequence length share one ``tf.function``
    trace (the non-feature axes are left unknown), so a batch of new shape
    costs no retracing.
    """
    from sklearn_mbm._keras import import_keras, import_tensorflow

    keras = import_keras()
    tf = import_tensorflow()

    def spec(tensor):
        shape = (None,) * (len(tensor.shape) - 1) + (tensor.shape[-1],)
        if len(tensor.shape) == 2:  # token ids / masks: (batch, length)
            shape = (None, None)
        if len(tensor.shape) == 4:  # images: fixed (height, width, channels)
            shape = (None, *tensor.shape[1:])
        return tf.TensorSpec(shape, dtype=tensor.dtype)

    signature = keras.tree.map_structure(spec, model.input)

    @tf.function(input_signature=[signature])
    def predict(x):
        if preprocess is not None:
            x = preprocess(x)
        return model(x, training=False)

    # numpy inputs in the dtypes the model declares (bool masks -> int),
    # converted without walking the input structure on every call
    if isinstance(signature, dict):
        dtypes = {name: s.dtype.as_numpy_dtype for name, s in signature.items()}

        def convert(x):
            return {name: np.asarray(x[name], dtype) for name, dtype in dtypes.items()}

    else:
        dtype = signature.dtype.as_numpy_dtype

        def convert(x):
            return np.asarray(x, dtype)

    def run(x):
        return predict(convert(x)).numpy()

    return run
