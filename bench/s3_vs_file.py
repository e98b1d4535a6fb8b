"""Read one Zarr array from its directory and over S3 from a local S3 server; report GB/s for both.

    python bench/s3_vs_file.py --dir /tmp/bench-s3 --size 64M --codec zstd --repeat 5 --json out.json
    python bench/s3_vs_file.py --store existing.zarr --device cuda    # an existing array, GPU reads

Writes (once) the same v3 float32 array as bench/http_vs_file.py (--codec raw, zstd or sharded),
starts moto's S3 server on a free loopback port (tests/python/s3_server.py; needs moto[server] and
boto3, the dev extras), uploads the store to a bucket, then times --repeat full reads of the array
with cuzarr from the file store and from s3://bucket/..., after one warm-up read of each. The S3
reads are signed (AWS Signature V4 by libcurl) and go straight to moto. Checks that the two reads
are equal, and counts the requests of one more S3 read through the signature-checking gateway of
the tests. Prints min and median seconds and GB/s (decoded bytes / time) per source; --json
writes the same. moto is a Python server: the S3 number measures cuzarr's request path against a
slow local server, not S3's bandwidth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "python"))

import cuzarr  # noqa: E402
from http_vs_file import rates, report, store_arguments, store_of  # noqa: E402
from s3_server import Credential, MotoServer, S3Gateway  # noqa: E402

BUCKET = "bench"
KEY, SECRET = "AKIACUZARRBENCH00001", "cuzarr-bench-secret"


def to_host(x) -> np.ndarray:
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


def measure(store: Path, repeat: int = 5, device: str = "cpu") -> dict:
    """Times full reads of the array store at ``store`` from the file and over S3 from a local
    moto server (for a benchmark harness to call); raises SystemExit when the two reads differ."""
    store = Path(store).resolve()
    with MotoServer() as moto:
        gateway = S3Gateway(moto).start()
        try:
            gateway.credentials[KEY] = Credential(SECRET)
            moto.client().create_bucket(Bucket=BUCKET)
            moto.upload_tree(store, BUCKET, store.name)
            url = f"s3://{BUCKET}/{store.name}"
            local = cuzarr.open(store, device=device)
            if not isinstance(local, cuzarr.Array):
                raise SystemExit(f"{store} is not an array store")
            remote = cuzarr.open(url, device=device,
                                 storage_options={"key": KEY, "secret": SECRET, "endpoint_url": moto.url})
            checked = cuzarr.open(url, device=device,
                                  storage_options={"key": KEY, "secret": SECRET, "endpoint_url": gateway.url})
            mark = gateway.mark()
            got = to_host(checked[...])
            requests = gateway.requests(mark)
            want = to_host(local[...])
            if not np.array_equal(got, want, equal_nan=True) or not np.array_equal(to_host(remote[...]), want,
                                                                                      equal_nan=True):
                raise SystemExit("the S3 read differs from the file read")
            nbytes = want.nbytes
            del got, want
            results = rates({"file": lambda: to_host(local[...]), "s3": lambda: to_host(remote[...])}, nbytes, repeat)
        finally:
            gateway.stop()
    return {
        "store": str(store), "bytes": nbytes, "shape": list(local.shape), "chunks": list(local.chunks),
        "device": device, "repeat": repeat, "requests_per_read": len(requests),
        "failed_requests_per_read": sum(r.status >= 300 and r.status != 404 for r in requests), "results": results,
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    store_arguments(p, "/tmp/cuzarr-bench-s3", "64M")
    p.add_argument("--device", default="cpu", help='"cpu" or "cuda" (CuPy results, copied back for the check)')
    args = p.parse_args(argv)
    store = store_of(args)
    result = measure(store, args.repeat, args.device)
    return report(args, store, result, f"device {args.device}, {result['requests_per_read']} S3 requests per read")


if __name__ == "__main__":
    sys.exit(main())
