"""A private nginx serving one directory on a free loopback port (http, or https with a given
certificate), for the HTTP tests and the benchmark (bench/http_vs_file.py imports it).

The configuration is generated into a work folder (``daemon off``, pid, error and access logs,
temp folders all there), so nothing of the system's nginx setup is used or touched. Static files
get byte-range support from nginx itself. The access log has one line per request (method, path,
Range header, status, body bytes), which the tests use to count requests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from local_server import LocalServer, free_port, stop_process  # noqa: F401 - re-exported for the tests

NGINX_CANDIDATES = ("nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx")


def find_nginx() -> str | None:
    for c in NGINX_CANDIDATES:
        found = shutil.which(c)
        if found:
            return found
    return None


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """(certificate, key) for https://127.0.0.1, made with the openssl command; the certificate
    is its own CA, so it doubles as the bundle a client trusts."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    range: str | None  # the Range header, None when absent
    status: int
    body_bytes: int


_CONF = """\
daemon off;
master_process on;
worker_processes 2;
{user}
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  log_format counted '$request_method $uri "$http_range" $status $body_bytes_sent';
  access_log {work}/access.log counted;
  client_body_temp_path {work}/tmp/body;
  proxy_temp_path {work}/tmp/proxy;
  fastcgi_temp_path {work}/tmp/fastcgi;
  uwsgi_temp_path {work}/tmp/uwsgi;
  scgi_temp_path {work}/tmp/scgi;
  types {{ }}
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 60s;
  server {{
    listen 127.0.0.1:{port}{ssl};
    {tls}
    root {root};
    location / {{ }}
  }}
}}
"""


class Nginx(LocalServer):
    """nginx serving ``root`` at ``http://127.0.0.1:<port>/`` until :meth:`stop` (or the end of
    a ``with`` block)."""

    name = "nginx"

    def __init__(self, root: Path, work: Path, *, executable: str | None = None,
                 tls: tuple[Path, Path] | None = None):
        """``tls``: (certificate, key) PEM files to serve https:// instead."""
        super().__init__()
        self.root = Path(root).resolve()
        self.work = Path(work)
        self.tls = tls
        self.executable = executable or find_nginx()
        if self.executable is None:
            raise FileNotFoundError("nginx is not installed (scripts/bootstrap installs it)")
        self.poll_interval = 0.02

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self, attempts: int = 5) -> "Nginx":
        (self.work / "tmp").mkdir(parents=True, exist_ok=True)
        return super().start(attempts)

    def _launch(self) -> subprocess.Popen:
        # As root, nginx's workers would switch to 'nobody', which cannot read a private tmp dir.
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = self.work / "nginx.conf"
        tls = f"ssl_certificate {self.tls[0]}; ssl_certificate_key {self.tls[1]};" if self.tls else ""
        conf.write_text(_CONF.format(work=self.work, root=self.root, port=self.port, user=user,
                                     ssl=" ssl" if self.tls else "", tls=tls))
        (self.work / "access.log").write_text("")
        return subprocess.Popen(
            [self.executable, "-p", str(self.work), "-e", str(self.work / "error.log"), "-c", str(conf)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )

    def _answers(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
            pass

    def _errors(self, proc: subprocess.Popen) -> str:
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        log = self.work / "error.log"
        return err + (log.read_text(errors="replace") if log.exists() else "")

    # ----------------------------------------------------------------------------------------
    # Access log

    def log_size(self) -> int:
        """A mark in the access log: requests() after it are the ones served since."""
        return (self.work / "access.log").stat().st_size

    def requests(self, since: int = 0, settle: float = 0.05) -> list[LoggedRequest]:
        """Requests logged after the mark ``since``. nginx writes a line when a request ends,
        which may be a moment after the client has its answer: wait until the log is still."""
        log = self.work / "access.log"
        size = -1
        while True:
            now = log.stat().st_size
            if now == size:
                break
            size = now
            time.sleep(settle)
        with open(log, "rb") as f:
            f.seek(since)
            lines = f.read().decode().splitlines()
        out = []
        for line in lines:
            method, path, rest = line.split(" ", 2)
            quoted, status, nbytes = rest.rsplit(" ", 2)
            rng = quoted.strip('"')
            out.append(LoggedRequest(method, path, None if rng == "-" else rng, int(status), int(nbytes)))
        return out
