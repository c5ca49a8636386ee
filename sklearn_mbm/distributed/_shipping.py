"""A fitted estimator as it travels to the workers: pickled once, unpickled
once per worker process.

dask-ml's ``ParallelPostFit`` passes the estimator to every task, so the
graph holds one copy per partition (scheduler memory grows with partitions
x model size, dask-ml #842) and every task unpickles it again (Keras models
rebuilt per task, dask/distributed #2333). Here the estimator is one object
of the graph, :class:`ShippedEstimator`, on which every partition's task
depends: the scheduler holds its pickle once and a worker receives it once
per computation. Its unpickling looks up a table of this process first,
keyed on the sha1 of the pickle, so a worker that already rebuilt the
same fitted estimator (an earlier ``compute``) reuses it.
"""

import hashlib
import threading

import cloudpickle

from sklearn_mbm._caching._lru import BoundedLRU

__all__ = ["ShippedEstimator"]


class _ProcessEstimators(BoundedLRU):
    """The estimators this process unpickled, by the sha1 of their pickle."""

    @staticmethod
    def _entry_bytes(entry):
        return entry[1]

    def get_or_load(self, token, payload):
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._touch(token)
                return entry[0]
        # unpickled outside the table's lock (which guards its bookkeeping);
        # ShippedEstimator._received holds _LOAD_LOCK, so a process rebuilds
        # an estimator once even with several threads
        estimator = cloudpickle.loads(payload)
        with self._lock:
            self._store(token, (estimator, len(payload)))
        return estimator


# A few fitted estimators per worker process (a search over a handful of
# models); the payload bytes bound it too (the live models weigh about that).
_ESTIMATORS = _ProcessEstimators(max_bytes=16 * 2**30, max_entries=4).process_wide()
_LOAD_LOCK = threading.Lock()


def _restore(token, payload):
    return ShippedEstimator._received(token, payload)


class ShippedEstimator:
    """Holds a fitted estimator; pickles as ``(sha1, pickle bytes)``.

    In the process that made it, :attr:`estimator` is the very object
    given (the threaded scheduler copies nothing). Unpickled in a worker, it
    reuses the estimator already loaded there under the same sha1.
    """

    def __init__(self, estimator):
        self.estimator = estimator
        self.payload = cloudpickle.dumps(estimator, protocol=5)
        self.token = hashlib.sha1(self.payload).hexdigest()

    @classmethod
    def _received(cls, token, payload):
        shipped = cls.__new__(cls)
        shipped.token, shipped.payload = token, payload
        with _LOAD_LOCK:  # one rebuild per process, even with several threads
            shipped.estimator = _ESTIMATORS.get_or_load(token, payload)
        return shipped

    def __reduce__(self):
        return _restore, (self.token, self.payload)

    def __dask_tokenize__(self):
        return ("sklearn_mbm.ShippedEstimator", self.token)
