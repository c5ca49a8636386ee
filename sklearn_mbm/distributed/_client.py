"""Which scheduler runs a computation: a Client in use, or one we start."""

import importlib.util
import os

__all__ = ["current_client", "get_client"]


def current_client():
    """The ``distributed.Client`` in use in this process, or None (then dask's
    default scheduler runs: threads for a DataFrame). A scheduler chosen with
    ``dask.config.set(scheduler="threads")`` (or "processes", "sync") wins
    over a Client, as it does for ``compute``."""
    import dask

    if dask.config.get("scheduler", None) not in (None, "dask.distributed"):
        return None
    try:
        from distributed import default_client
    except ImportError:  # dask without distributed: the threaded scheduler
        return None
    try:
        return default_client()
    except ValueError:  # "No clients found"
        return None


def get_client(address=None, *, n_workers=None, **cluster_kwargs):
    """A ``distributed.Client``: to ``address``, the one in use, or a new
    ``LocalCluster``.

    With no ``address`` and no Client in use, starts a ``LocalCluster`` of
    ``n_workers`` single-threaded worker processes (one per core by
    default: feature extraction holds the GIL, so processes, not threads,
    run in parallel) and prints its dashboard address. A scheduler address
    is all that changes to run the same code on a cluster.

    Parameters
    ----------
    address : str or None, default=None
        A scheduler address (``"tcp://host:8786"``). None: the Client in use,
        else a new LocalCluster.
    n_workers : int or None, default=None
        Worker processes of a new LocalCluster; None: one per core.
    **cluster_kwargs : dict
        More ``distributed.LocalCluster`` arguments (``memory_limit``,
        ``dashboard_address``...).

    Returns
    -------
    client : distributed.Client

    Examples
    --------
    >>> from sklearn_mbm.distributed import get_client
    >>> client = get_client(n_workers=1)  # doctest: +SKIP
    Dask dashboard: http://127.0.0.1:8787/status
    """
    from distributed import Client, LocalCluster

    if address is not None:
        return Client(address)
    client = current_client()
    if client is not None:
        return client
    cluster_kwargs.setdefault("threads_per_worker", 1)
    cluster_kwargs.setdefault("processes", True)
    cluster = LocalCluster(n_workers=n_workers or os.cpu_count() or 1, **cluster_kwargs)
    client = Client(cluster)
    if importlib.util.find_spec("bokeh") is None:
        print(
            "Dask dashboard: not served (it needs bokeh: "
            "pip install 'sklearn-mbm[distributed]')",
            flush=True,
        )
    else:
        print(f"Dask dashboard: {client.dashboard_link}", flush=True)
    return client
