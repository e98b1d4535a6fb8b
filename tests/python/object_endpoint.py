"""The object-store test endpoint (tests/endpoint/object_endpoint.cpp) on a free loopback port: one
directory served in S3's, GCS's (XML API) and Azure's path-style URL forms, with a first-byte
latency, a per-connection bandwidth and a connection cap, so throughput depends on the requests in
flight as against the real services. Used by the network tests and bench/object_store.py.

The server is one C++ file, compiled on first use with the system's C++ compiler (``$CXX`` or
``c++``) into ``build/endpoint/`` (again when the source is newer), so it needs no CMake tree and
runs the same on the GPU machine. ``CUZARR_OBJECT_ENDPOINT`` names a prebuilt binary instead.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from local_server import LocalServer

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "tests" / "endpoint" / "object_endpoint.cpp"
AZURE_ACCOUNT = "devstoreaccount1"


def endpoint_binary() -> str:
    """The server's executable, compiled from SOURCE when missing or older than it."""
    given = os.environ.get("CUZARR_OBJECT_ENDPOINT")
    if given:
        return given
    out = REPO / "build" / "endpoint" / "cuzarr_object_endpoint"
    if out.exists() and out.stat().st_mtime >= SOURCE.stat().st_mtime:
        return str(out)
    cxx = os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++") or "c++"
    out.parent.mkdir(parents=True, exist_ok=True)
    # Compiled to a private name and renamed: parallel test processes never run a half-written file.
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=".endpoint-")
    os.close(fd)
    try:
        subprocess.run([cxx, "-std=c++17", "-O2", "-Wall", "-Wextra", "-pthread", str(SOURCE), "-o", tmp],
                       check=True, capture_output=True, text=True)
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"compiling {SOURCE} failed:\n{e.stderr[-3000:]}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(out)


class ObjectEndpoint(LocalServer):
    """The endpoint serving ``root`` (its subfolders are the buckets and containers) until
    :meth:`stop`. ``latency_ms``: first-byte latency of every answer; ``rate_mb``: MB/s per
    connection (0: unpaced); ``max_connections``: connections served at once (more wait in the
    listen queue); ``max_rps``: requests in one second beyond which it answers 503 SlowDown
    (0: never)."""

    name = "the object-store test endpoint"

    def __init__(self, root, *, latency_ms: float = 30.0, rate_mb: float = 100.0, max_connections: int = 256,
                 max_rps: int = 0):
        super().__init__()
        self.root = Path(root)
        self.settings = {"--latency-ms": latency_ms, "--rate-mb": rate_mb, "--max-connections": max_connections,
                         "--max-rps": max_rps}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def azure_endpoint(self) -> str:
        """The blob endpoint in Azurite's form (the account in the path)."""
        return f"{self.url}/{AZURE_ACCOUNT}"

    @property
    def aggregate_limit(self) -> float:
        """Bytes per second the endpoint can send at most (connections x rate); inf when unpaced."""
        rate = float(self.settings["--rate-mb"])
        return float("inf") if rate <= 0 else rate * 1e6 * int(self.settings["--max-connections"])

    def _launch(self) -> subprocess.Popen:
        args = [endpoint_binary(), "--root", str(self.root), "--port", str(self.port), "--azure-account", AZURE_ACCOUNT]
        for k, v in self.settings.items():
            args += [k, str(v)]
        self._log = tempfile.TemporaryFile()
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)

    def _answers(self) -> None:
        self.stats()

    def _errors(self, proc: subprocess.Popen) -> str:
        self._log.seek(0)
        err = self._log.read().decode(errors="replace")
        self._log.close()
        return err

    def stats(self) -> dict:
        """The endpoint's counters: requests (those to buckets), gets, heads, lists, slowdowns,
        bytes sent, connections accepted, max_open_connections."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", "/_endpoint/stats")
            return json.loads(conn.getresponse().read())
        finally:
            conn.close()
