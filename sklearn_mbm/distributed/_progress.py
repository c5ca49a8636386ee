"""Compute a list of tasks with a progress bar over them.

With a ``distributed.Client``, dask's own ``progress`` (a bar in a terminal,
a widget in a notebook, and the dashboard); otherwise a tqdm bar advanced
as each of the tasks finishes on the local scheduler.
"""

import dask
from dask.callbacks import Callback

from sklearn_mbm.distributed._client import current_client

__all__ = ["compute_all"]


class _TqdmBar(Callback):
    """Advances a tqdm bar when one of ``keys`` finishes."""

    def __init__(self, keys, desc):
        super().__init__()
        self._keys, self._desc = set(keys), desc

    def _start(self, dsk):
        from tqdm.auto import tqdm

        self._bar = tqdm(total=len(self._keys), desc=self._desc, unit="partition")

    def _posttask(self, key, result, dsk, state, worker_id):
        if key in self._keys:
            self._bar.update(1)

    def _finish(self, dsk, state, errored):
        self._bar.close()


def compute_all(tasks, *, progress, desc):
    """``[task.compute() for task in tasks]`` in one computation."""
    client = current_client()
    if client is not None:
        futures = client.compute(tasks)
        if progress:
            from distributed import progress as dask_progress

            dask_progress(futures)
        return client.gather(futures)
    if not progress:
        return list(dask.compute(*tasks))
    keys = [task.key for task in tasks]
    with _TqdmBar(keys, desc):
        return list(dask.compute(*tasks))
