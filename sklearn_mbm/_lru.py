"""Alias of :mod:`sklearn_mbm._caching._lru` (the cache now lives in one
folder); the same module object, so attributes set here are set there."""

import sys

from sklearn_mbm._caching import _lru as _module

sys.modules[__name__] = _module
