"""Loading raw cells: the one place that turns user input into arrays.

Extractors never open files themselves; they call the loaders here, so every
modality reports bad input the same way: the sample index, the file path when
there is one, and what was wrong. Each loader raises ``ValueError``,
``TypeError`` or ``FileNotFoundError`` with a message built by
:func:`cell_error_message`.

- :mod:`~sklearn_mbm._io._cells`: what all modalities share (turning input
  into cells, missing values, sample indices, error messages, opening files);
- :mod:`~sklearn_mbm._io.image`: :func:`load_image_cell`;
- :mod:`~sklearn_mbm._io.audio`: :func:`load_audio_cell`, which decodes plain
  PCM WAV files with :mod:`~sklearn_mbm._io._wav`.

The names other modules use are re-exported here, so they import them from
``sklearn_mbm._io`` whichever file holds them. The re-exports are lazy (as in
``sklearn_mbm/__init__.py``): a module that imports from
``sklearn_mbm._io._cells`` loads neither loader.
"""

import importlib

# name -> submodule that defines it
_NAMES = {
    "ON_ERROR_OPTIONS": "_cells",
    "CellLoadWarning": "_cells",
    "as_cells": "_cells",
    "cell_error_message": "_cells",
    "is_missing": "_cells",
    "is_polars": "_cells",
    "missing_cell_error": "_cells",
    "polars_cells": "_cells",
    "position_text": "_cells",
    "sample_index": "_cells",
    "thread_count": "_cells",
    "load_image_cell": "image",
    "AUDIO_MAX_CHANNELS": "audio",
    "load_audio_cell": "audio",
}

__all__ = list(_NAMES)


def __getattr__(name):
    try:
        module_name = f"{__name__}.{_NAMES[name]}"
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted({*globals(), *_NAMES})
