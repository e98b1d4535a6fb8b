"""Reading one dataset across several GPUs: dask-cuda's ``LocalCUDACluster`` (one worker process
per GPU) with a ``dask.distributed`` client, the standard pattern:

    from dask_cuda import LocalCUDACluster
    from dask.distributed import Client
    import xarray as xr

    with LocalCUDACluster() as cluster, Client(cluster):
        ds = xr.open_dataset("data.zarr", engine="cuzarr", device="cuda", chunks={"time": 64})
        ds.air.mean("time").compute()

dask-cuda starts each worker with ``CUDA_VISIBLE_DEVICES`` listing its own GPU first, so inside a
worker that GPU is device 0 and ``device="cuda"`` reads land there; it also sets CPU affinity,
memory limits and device-memory spilling. Every dask chunk of the dataset is read by the worker
that computes it, straight into that worker's GPU. Install it with ``pip install
'cuzarr[dask-cuda]'``. :func:`gpu_cluster` is a thin helper that only chooses the GPUs.
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


def gpu_cluster(gpus=None, **options):
    """``dask_cuda.LocalCUDACluster(CUDA_VISIBLE_DEVICES=visible_gpus(gpus), **options)``: one
    worker per chosen GPU (default: all; a count N or a list of GPU numbers or UUIDs). Other
    keywords go to ``LocalCUDACluster`` (``threads_per_worker``, ``memory_limit``,
    ``device_memory_limit``, ``rmm_pool_size``, ``silence_logs``...); the dashboard takes any free
    port unless ``dashboard_address`` says otherwise. Needs dask-cuda (``cuzarr[dask-cuda]``)."""
    try:
        from dask_cuda import LocalCUDACluster
    except ImportError as e:
        raise ImportError("cuzarr.dask.gpu_cluster needs dask-cuda: pip install 'cuzarr[dask-cuda]'") from e
    options.setdefault("dashboard_address", ":0")
    return LocalCUDACluster(CUDA_VISIBLE_DEVICES=visible_gpus(gpus), **options)
