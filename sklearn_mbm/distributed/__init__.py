"""Beyond one machine: extract, predict and train over the partitions of a
Dask DataFrame (the ``distributed`` extra).

- :class:`ParallelPostFit` wraps a fitted estimator (or fits it in memory)
  and applies its ``transform``, ``predict``, ``predict_proba``,
  ``decision_function`` and ``score`` partition by partition, lazily;
- :func:`transform_to_parquet` writes one Parquet file per input partition,
  atomically and resumably;
- :func:`fit_incremental` trains a ``partial_fit`` estimator over stored
  feature partitions, one at a time;
- :func:`get_client` connects to a scheduler, or starts a
  ``LocalCluster`` of single-threaded worker processes and prints its
  dashboard address.

The fitted estimator reaches each worker process once, whatever the number
of partitions: it is one key of the task graph, and a worker that already
holds an estimator with the same token (from an earlier computation) reuses
it, so Keras models are rebuilt once per worker process.

This module imports Dask; ``import sklearn_mbm`` does not.
"""

try:
    import dask  # noqa: F401
    import dask.dataframe  # noqa: F401  (needs pandas and pyarrow)
except ImportError as exc:  # pragma: no cover - the test runs it in a subprocess
    raise ImportError(
        "sklearn_mbm.distributed needs Dask with its DataFrame and pyarrow: "
        "pip install 'sklearn-mbm[distributed]' "
        f"(the import failed with: {exc})"
    ) from exc

from sklearn_mbm.distributed._client import get_client
from sklearn_mbm.distributed._incremental import fit_incremental
from sklearn_mbm.distributed._parallel_post_fit import ParallelPostFit
from sklearn_mbm.distributed._parquet import transform_to_parquet

__all__ = ["ParallelPostFit", "fit_incremental", "get_client", "transform_to_parquet"]
