"""Building or joining the Dask cluster a job runs on."""

from __future__ import annotations

import logging
import os
from contextlib import contextmanager

log = logging.getLogger(__name__)


def available_cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. in batch jobs)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@contextmanager
def dask_client(
    scheduler: str | None = None,
    *,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    memory_limit: str | int = "auto",
):
    """A ``distributed.Client``: joined to ``scheduler`` or on a new local cluster.

    Parameters
    ----------
    scheduler : str, optional
        Address of a running scheduler (``tcp://host:8786``) or a scheduler file
        (path ending in ``.json``). When None a local cluster is started.
    n_workers : int, optional
        Local worker processes (default: one per available core).
    threads_per_worker : int
        Threads in each local worker process.
    memory_limit : str or int
        Per local worker, as ``distributed.LocalCluster`` takes it.

    Yields
    ------
    distributed.Client
        On leaving the context the client is closed, and a local cluster stopped.
    """
    from distributed import Client, LocalCluster

    if scheduler is not None:
        log.info("joining the Dask cluster at %s", scheduler)
        kwargs = {"scheduler_file": scheduler} if scheduler.endswith(".json") else {"address": scheduler}
        with Client(**kwargs) as client:
            yield client
        return
    n_workers = n_workers or available_cores()
    log.info("starting a local Dask cluster: %d worker processes x %d threads", n_workers, threads_per_worker)
    with LocalCluster(
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        memory_limit=memory_limit,
        dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        yield client
