"""The feature cache, in one folder: fingerprints of estimators and cells
(``_cache``), cached calls through ``joblib.Memory`` (``_cache_layer``),
rows shared between folds (``_row_cache``) and the bounded LRU tables they
use (``_lru``). See :ref:`caching` in the user guide.
"""
