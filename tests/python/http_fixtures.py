"""Servers for the HTTP tests: nginx serving a folder of stores, and a fault-injecting server.

The fault server (``http.server`` on 127.0.0.1) serves a folder with byte ranges like nginx, but
the first part of a URL's path picks a misbehaviour, applied to chunk keys only (metadata is
served normally so that the store opens):

  /ok/...           correct answers
  /fail-once/...    500 for the first request of each key, then correct answers
  /fail/...         always 500
  /truncate/...     the promised Content-Length, half the body, then the connection closes
  /short-length/... a Content-Length (and body) half of what the Content-Range says
  /slow/...         waits ``slow_seconds`` before answering
  /norange/...      ignores Range and sends the whole value with 200
  /redirect/...     302 to the same key under /ok/ (every key, metadata too)
"""

from __future__ import annotations

import os
import re
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from local_server import LoopbackHTTPServer

METADATA = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"}


def publish(www: Path, name: str, path: Path) -> str:
    """Makes the store at ``path`` appear as ``www/name`` (a symbolic link); returns name."""
    link = Path(www) / name
    if not link.exists():
        try:
            os.symlink(path, link, target_is_directory=Path(path).is_dir())
        except FileExistsError:
            pass
    return name


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "FaultServer"

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        self._serve(body=True)

    def do_HEAD(self):
        self._serve(body=False)

    def _send(self, status, headers, payload=b"", body=True):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        if body and payload:
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client had what it wanted (a 200 cut short)

    def _serve(self, body: bool):
        mode, _, rest = self.path.lstrip("/").partition("/")
        srv = self.server
        with srv.lock:
            srv.log.append((mode, self.command, rest, self.headers.get("Range"), dict(self.headers)))
            first = (mode, rest) not in srv.seen
            srv.seen.add((mode, rest))
        if mode == "redirect":
            self._send(302, {"Location": f"/ok/{rest}", "Content-Length": "0"}, body=body)
            return
        rel = os.path.normpath(rest)
        file = srv.root / rel
        if rel.startswith("..") or os.path.isabs(rel) or not file.is_file():
            msg = b"not found"
            self._send(404, {"Content-Length": str(len(msg))}, msg, body)
            return
        data = file.read_bytes()
        fault = "ok" if file.name in METADATA else mode
        if fault == "fail" or (fault == "fail-once" and first):
            msg = b"injected failure"
            self._send(500, {"Content-Length": str(len(msg))}, msg, body)
            return
        if fault == "slow":
            time.sleep(srv.slow_seconds)
        status, start, end = 200, 0, len(data)
        headers = {"Content-Type": "application/octet-stream"}
        rng = self.headers.get("Range")
        if rng and mode != "norange":
            m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
            if m and m.group(1):
                start = int(m.group(1))
                end = min(len(data), int(m.group(2)) + 1) if m.group(2) else len(data)
            elif m and m.group(2):
                start, end = max(0, len(data) - int(m.group(2))), len(data)
            if not m or start >= len(data) or start >= end:
                self._send(416, {"Content-Range": f"bytes */{len(data)}", "Content-Length": "0"}, body=body)
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{len(data)}"
        payload = data[start:end]
        if fault == "short-length":
            payload = payload[: len(payload) // 2]
        headers["Content-Length"] = str(len(payload))
        if fault == "truncate" and body:
            self._send(status, headers, payload[: len(payload) // 2], body)
            self.wfile.flush()
            self.close_connection = True
            return
        self._send(status, headers, payload, body)


class FaultServer(LoopbackHTTPServer):
    def __init__(self, root: Path):
        super().__init__(_Handler)
        self.root = Path(root)
        self.log: list[tuple] = []
        self.seen: set = set()
        self.slow_seconds = 5.0

    def requests(self, mode: str | None = None) -> list[tuple]:
        with self.lock:
            return [r for r in self.log if mode is None or r[0] == mode]
