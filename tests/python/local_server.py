"""Servers on loopback ports for the test fixtures. ``LocalServer``: a server process on a free
port, the common part of nginx (nginx_server.py) and moto (s3_server.py): start with a few attempts (a port chosen free may be
taken before the server binds it), ready once the server answers, stop with SIGTERM then SIGKILL,
and keep what the process said for the error message of a failed start.

A subclass says how to launch the process on ``self.port`` (``_launch``), how to ask it whether
it is serving (``_answers``, raising OSError while not) and where its errors went (``_errors``).
``LoopbackHTTPServer``: an HTTP server in this process, on a thread of its own (the HTTP tests'
fault server, the S3 tests' gateway).
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM (nginx: fast shutdown of master and workers), then SIGKILL after 10 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LocalServer:
    """One server process until :meth:`stop` (or the end of a ``with`` block)."""

    name = "the server"
    ready_timeout = 10.0  # seconds a start may take
    poll_interval = 0.05  # seconds between readiness checks

    def __init__(self):
        self.port = 0
        self._proc: subprocess.Popen | None = None

    def _launch(self) -> subprocess.Popen:
        raise NotImplementedError

    def _answers(self) -> None:
        raise NotImplementedError

    def _errors(self, proc: subprocess.Popen) -> str:
        return ""

    def start(self, attempts: int = 3):
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            self._proc = self._launch()
            if self._wait_ready():
                return self
            last = self._stop_process()
        raise RuntimeError(f"{self.name} did not start on a loopback port: {last}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            try:
                self._answers()
                return True
            except OSError:
                time.sleep(self.poll_interval)
        return False

    def _stop_process(self) -> str:
        proc, self._proc = self._proc, None
        if proc is None:
            return ""
        stop_process(proc)
        return self._errors(proc).strip()[-2000:]

    def stop(self) -> None:
        self._stop_process()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class LoopbackHTTPServer(ThreadingHTTPServer):
    """``handler`` on 127.0.0.1 at a port the system picks, served by a daemon thread from
    :meth:`start` to :meth:`stop`. ``lock`` guards what subclasses record of the requests."""

    daemon_threads = True
    # socketserver's default backlog is 5: a client that opens more connections at once (cuzarr
    # reads with 16) gets SYNs dropped and retried after the kernel's 1 s timeout.
    request_queue_size = 128

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self):
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """An HTTP/1.1 handler that logs nothing and answers with :meth:`send` (the S3 gateway, the
    GCS and Azure stand-ins)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def send(self, status: int, headers: dict, payload: bytes = b"") -> None:
        """The status, the headers (Content-Length from the payload unless given, except to a HEAD)
        and, except to a HEAD, the payload; a client that went away is let go."""
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if self.command != "HEAD" and not any(k.lower() == "content-length" for k in headers):
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD" and payload:
            try:
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
