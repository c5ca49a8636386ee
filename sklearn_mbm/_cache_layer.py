"""Alias of :mod:`sklearn_mbm._caching._cache_layer` (the cache now lives in one
folder); the same module object, so attributes set here are set there."""

import sys

from sklearn_mbm._caching import _cache_layer as _module

sys.modules[__name__] = _module
