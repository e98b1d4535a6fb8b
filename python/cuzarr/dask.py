"""Reading one dataset across several GPUs with dask.distributed: one worker process per GPU.

    from cuzarr.dask import gpu_cluster
    import xarray as xr
    from dask.distributed import Client

    with gpu_cluster() as cluster, Client(cluster):
        ds = xr.open_dataset("data.zarr", engine="cuzarr", device="cuda", chunks={"time": 64})
        ds.air.mean("time").compute()

Each worker runs with ``CUDA_VISIBLE_DEVICES`` set to its own GPU, so inside a worker that GPU is
device 0 and ``device="cuda"`` reads land there: every dask chunk of the dataset is read by the
worker that computes it, straight into that worker's GPU, and a worker never creates a context on
another GPU. Results that travel between workers or back to the client are CuPy arrays, which
distributed serialises through host memory.
"""

from __future__ import annotations

import os

from ._device import gpu_count


def visible_gpus(gpus=None) -> list[str]:
    """The GPUs to give workers, as ``CUDA_VISIBLE_DEVICES`` entries.

    gpus: None (every GPU this process may use: the entries of ``CUDA_VISIBLE_DEVICES`` when it
    is set, else 0 .. count-1), a count N (the first N of those), or a list of GPU numbers or
    UUIDs.
    """
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None and listed.strip() != "":
        available = [g.strip() for g in listed.split(",") if g.strip()]
    else:
        available = [str(i) for i in range(gpu_count())]
    if gpus is None:
        chosen = available
    elif isinstance(gpus, bool) or not isinstance(gpus, (int, list, tuple)):
        raise TypeError(f"gpus must be None, a count or a list of GPUs, got {gpus!r}")
    elif isinstance(gpus, int):
        if not 1 <= gpus <= len(available):
            raise ValueError(f"gpus={gpus}: {len(available)} GPU(s) available ({', '.join(available) or 'none'})")
        chosen = available[:gpus]
    else:
        chosen = [str(g) for g in gpus]
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"gpus lists a GPU twice: {list(gpus)}")
    if not chosen:
        raise ValueError("no GPU to start workers on (this build or machine sees none); "
                         "pass gpus=[...] to name them")
    return chosen


def worker_specs(gpus, *, threads_per_worker: int = 1, memory_limit="auto", env=None) -> dict:
    """The worker specifications of :func:`gpu_cluster` (one Nanny per GPU), for building a
    ``distributed.SpecCluster`` by hand."""
    from distributed import Nanny

    specs = {}
    for gpu in gpus:
        worker_env = dict(env or {})
        worker_env["CUDA_VISIBLE_DEVICES"] = gpu
        specs[f"gpu-{gpu}"] = {"cls": Nanny, "options": {
            "nthreads": threads_per_worker, "memory_limit": memory_limit, "env": worker_env,
            "resources": {"GPU": 1}}}
    return specs


def gpu_cluster(gpus=None, *, threads_per_worker: int = 1, memory_limit="auto", env=None,
                dashboard_address=":0", **cluster_options):
    """A local dask.distributed cluster with one worker process per GPU.

    gpus: which GPUs (see :func:`visible_gpus`; default all). Each worker gets
    ``threads_per_worker`` threads (cuzarr reads with its own thread pool, so 1 is usually
    right), the environment ``env`` plus ``CUDA_VISIBLE_DEVICES=<its GPU>``, and a resource
    ``GPU=1``. Other keywords (``silence_logs``, ``security``, ``asynchronous``...) go to
    ``distributed.SpecCluster``, which is returned; use it as a context manager or close it.
    """
    from distributed import Scheduler, SpecCluster

    chosen = visible_gpus(gpus)
    scheduler = {"cls": Scheduler, "options": {"dashboard_address": dashboard_address}}
    return SpecCluster(workers=worker_specs(chosen, threads_per_worker=threads_per_worker,
                                            memory_limit=memory_limit, env=env),
                       scheduler=scheduler, name="cuzarr-gpu", **cluster_options)
