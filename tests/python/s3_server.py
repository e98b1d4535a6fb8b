"""A local S3 for the S3 tests and the benchmark (bench/s3_vs_file.py imports it): moto's
standalone server (``python -m moto.server``) holds the buckets, and a gateway in front of it
plays the parts of S3 that moto leaves out or that the tests must see:

* AWS Signature V4 is checked on every request (moto checks none on object reads) by a separate
  implementation written here from the AWS documentation, so that what libcurl signs is judged
  independently: unknown key ids get InvalidAccessKeyId, a wrong secret SignatureDoesNotMatch, an
  expired session token ExpiredToken, an unsigned request to a private bucket AccessDenied, each
  as S3's XML error document.
* Virtual-host style requests (``bucket.localhost:port``) are passed on in path style.
* ``page_size`` makes ListObjectsV2 answer in small pages (the client must follow continuation
  tokens).
* Every request is logged (method, bucket, key, query, Range header, the key id it was signed
  with), so tests count them and see which credentials signed them.
* Fault modes for chunk reads (metadata documents are always served): ``slowdown-once`` (503
  SlowDown for the first GET of each key), ``retry-after-once`` (the same with ``Retry-After:
  <retry_after>``), ``slowdown`` (always), ``internal-once`` (500
  InternalError once per key), ``truncate`` (the promised Content-Length, half the body, then the
  connection closes) and ``short-length`` (a Content-Length and body half of the range).

Uploads go straight to moto with boto3 (:meth:`MotoServer.client`).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote

from local_server import LocalServer, LoopbackHTTPServer, QuietHandler

METADATA = {"zarr.json", ".zarray", ".zgroup", ".zattrs", ".zmetadata"}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def moto_available() -> bool:
    try:
        import boto3  # noqa: F401
        import moto.server  # noqa: F401
    except ImportError:
        return False
    return True


def _die_with_parent() -> None:
    """In the child: SIGTERM when the process that started it dies, so a test run that is killed
    leaves no server behind (Linux; elsewhere nothing)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class MotoServer(LocalServer):
    """moto's server on a free loopback port until :meth:`stop` (or the end of a ``with``)."""

    name = "moto's server"
    ready_timeout = 30.0
    poll_interval = 0.1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _launch(self) -> subprocess.Popen:
        env = dict(os.environ)
        # moto's own auth stays off: the gateway checks signatures.
        env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
        # moto logs a line per request: into a file, as a pipe nobody reads fills up and stops
        # the server.
        self._log = tempfile.TemporaryFile()
        return subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log, env=env,
            preexec_fn=_die_with_parent,
        )

    def _answers(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
        try:
            conn.request("GET", "/moto-api/")
            conn.getresponse().read()
        finally:
            conn.close()

    def _errors(self, proc: subprocess.Popen) -> str:
        self._log.seek(0)
        err = self._log.read().decode(errors="replace")
        self._log.close()
        return err

    def client(self):
        """A boto3 S3 client talking to moto directly (moto accepts any credentials)."""
        import boto3
        from botocore.config import Config

        config = Config(connect_timeout=10, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1", config=config,
                            aws_access_key_id="moto-admin", aws_secret_access_key="moto-admin-secret")

    def upload_tree(self, local: Path, bucket: str, prefix: str, *, public: bool = False) -> int:
        """Puts every file under ``local`` at ``prefix/<relative path>`` (with a public-read ACL
        when ``public``); returns the count."""
        client = self.client()
        n = 0
        local = Path(local)
        for path in sorted(local.rglob("*")):
            if path.is_file():
                rel = path.relative_to(local).as_posix()
                extra = {"ACL": "public-read"} if public else {}
                client.put_object(Bucket=bucket, Key=f"{prefix}/{rel}" if prefix else rel, Body=path.read_bytes(),
                                  **extra)
                n += 1
        return n


@dataclass
class Credential:
    secret: str
    token: str | None = None
    expired: bool = False


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    bucket: str
    key: str
    query: str
    range: str | None
    status: int
    virtual_host: bool = False  # the bucket came in the Host header
    key_id: str = ""  # the access key id the request was signed with ("" unsigned)


@dataclass
class _Verdict:
    status: int = 0
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class SigningDialect:
    """Signature V4 as one service spells it: S3's AWS4-HMAC-SHA256, or the GOOG4-HMAC-SHA256 of
    Google Cloud Storage's XML API (HMAC keys), which differs only in these names."""

    algorithm: str
    date_header: str
    payload_header: str
    header_prefix: str
    service: str
    terminal: str
    key_prefix: str


AWS4 = SigningDialect("AWS4-HMAC-SHA256", "x-amz-date", "x-amz-content-sha256", "x-amz-", "s3", "aws4_request", "AWS4")
GOOG4 = SigningDialect("GOOG4-HMAC-SHA256", "x-goog-date", "x-goog-content-sha256", "x-goog-", "storage",
                       "goog4_request", "GOOG4")


def _signing_key(secret: str, date: str, region: str, service: str, dialect: SigningDialect = AWS4) -> bytes:
    key = (dialect.key_prefix + secret).encode()
    for part in (date, region, service, dialect.terminal):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _canonical_query(raw: str) -> str:
    pairs = []
    for item in raw.split("&") if raw else []:
        name, _, value = item.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def check_signature(method: str, raw_path: str, raw_query: str, headers, credentials: dict[str, Credential],
                    dialect: SigningDialect = AWS4) -> _Verdict:
    """Signature V4 as S3 (or GCS, with GOOG4) checks it (header form); an empty verdict when it holds."""
    auth = headers.get("Authorization", "")
    if not auth.startswith(dialect.algorithm + " "):
        return _Verdict(400, "InvalidArgument", "Unsupported Authorization Type")
    fields = {}
    for part in auth[len(dialect.algorithm) + 1:].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        key_id, date, region, service, terminal = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        signature = fields["Signature"]
    except (KeyError, ValueError):
        return _Verdict(400, "AuthorizationHeaderMalformed", "The authorization header is malformed")
    cred = credentials.get(key_id)
    if cred is None:
        return _Verdict(403, "InvalidAccessKeyId",
                        "The AWS Access Key Id you provided does not exist in our records.")
    if service != dialect.service or terminal != dialect.terminal:
        return _Verdict(400, "AuthorizationHeaderMalformed", f"The credential scope is not for {dialect.service}")
    amz_date = headers.get(dialect.date_header, "")
    payload = headers.get(dialect.payload_header)
    if payload is None:
        return _Verdict(400, "InvalidRequest", f"Missing required header for this request: {dialect.payload_header}")
    if payload not in (EMPTY_SHA256, "UNSIGNED-PAYLOAD") and method in ("GET", "HEAD"):
        return _Verdict(400, "XAmzContentSHA256Mismatch", f"The provided '{dialect.payload_header}' header does not match")
    if not amz_date.startswith(date):
        return _Verdict(403, "SignatureDoesNotMatch", f"{dialect.date_header} does not match the credential scope date")
    needed = ({"host", dialect.date_header, dialect.payload_header}
              | {h.lower() for h in headers if h.lower().startswith(dialect.header_prefix)})
    if not needed <= set(signed):
        return _Verdict(403, "AccessDenied", f"There were headers present in the request which were not signed: "
                                             f"{', '.join(sorted(needed - set(signed)))}")
    token = headers.get("x-amz-security-token")
    if cred.token is not None and token != cred.token:
        return _Verdict(403, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    canonical_headers = "".join(f"{h}:{' '.join(str(headers.get(h, '')).split())}\n" for h in signed)
    canonical = "\n".join([method, raw_path, _canonical_query(raw_query), canonical_headers, ";".join(signed), payload])
    scope = f"{date}/{region}/{service}/{dialect.terminal}"
    to_sign = "\n".join([dialect.algorithm, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    want = hmac.new(_signing_key(cred.secret, date, region, service, dialect), to_sign.encode(),
                    hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return _Verdict(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided. "
                        "Check your key and signing method.")
    if cred.expired:
        return _Verdict(400, "ExpiredToken", "The provided token has expired.")
    return _Verdict()


def _key_id(headers) -> str:
    """The key id of a request's Signature V4 ("" when it is not signed)."""
    auth = headers.get("Authorization", "")
    marker = "Credential="
    at = auth.find(marker)
    return auth[at + len(marker):].split("/", 1)[0] if at >= 0 else ""


def error_document(code: str, message: str, resource: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f"<Resource>{resource}</Resource><RequestId>cuzarr-test</RequestId></Error>").encode()


class _Handler(QuietHandler):
    server: "S3Gateway"

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    def _error(self, verdict: _Verdict, resource: str, bucket, key, query, rng):
        body = error_document(verdict.code, verdict.message, resource)
        self.server.record(LoggedRequest(self.command, bucket, key, query, rng, verdict.status,
                                         key_id=_key_id(self.headers)))
        self.send(verdict.status, {"Content-Type": "application/xml", "Content-Length": str(len(body))}, body)

    def _serve(self):
        srv = self.server
        raw_path, _, raw_query = self.path.partition("?")
        host = self.headers.get("Host", "")
        hostname = host.rsplit(":", 1)[0]
        virtual = hostname.endswith(".localhost")
        if virtual:  # virtual-host style
            bucket = hostname[: -len(".localhost")]
            key = unquote(raw_path.lstrip("/"))
            moto_path = f"/{quote(bucket)}{raw_path if raw_path != '/' else '/'}"
        else:
            bucket, _, rest = raw_path.lstrip("/").partition("/")
            bucket = unquote(bucket)
            key = unquote(rest)
            moto_path = raw_path
        rng = self.headers.get("Range")
        resource = f"/{bucket}/{key}"
        if "Authorization" in self.headers:
            verdict = check_signature(self.command, raw_path, raw_query, self.headers, srv.credentials)
            if verdict.status:
                self._error(verdict, resource, bucket, key, raw_query, rng)
                return
        elif bucket not in srv.public_buckets:
            self._error(_Verdict(403, "AccessDenied", "Access Denied"), resource, bucket, key, raw_query, rng)
            return
        with srv.lock:
            first = (srv.mode, bucket, key) not in srv.seen
            srv.seen.add((srv.mode, bucket, key))
            mode = srv.mode
        chunk = bool(key) and key.rsplit("/", 1)[-1] not in METADATA and not raw_query
        fault = mode if chunk and self.command == "GET" else "ok"
        if fault == "slowdown" or (fault == "slowdown-once" and first):
            self._error(_Verdict(503, "SlowDown", "Please reduce your request rate."), resource, bucket, key, raw_query, rng)
            return
        if fault == "retry-after-once" and first:
            body = error_document("SlowDown", "Please reduce your request rate.", resource)
            self.server.record(LoggedRequest(self.command, bucket, key, raw_query, rng, 503,
                                             key_id=_key_id(self.headers)))
            self.send(503, {"Content-Type": "application/xml", "Content-Length": str(len(body)),
                             "Retry-After": str(srv.retry_after)}, body)
            return
        if fault == "internal-once" and first:
            self._error(_Verdict(500, "InternalError", "We encountered an internal error. Please try again."),
                        resource, bucket, key, raw_query, rng)
            return
        query = raw_query
        if srv.page_size and "list-type=2" in query:
            query += f"&max-keys={srv.page_size}"  # small pages: the client must follow continuation tokens
        status, headers, body = srv.forward(self.command, moto_path + ("?" + query if query else ""), rng,
                                            self.headers.get("Authorization"))
        srv.record(LoggedRequest(self.command, bucket, key, raw_query, rng, status, virtual, _key_id(self.headers)))
        if fault == "short-length" and status in (200, 206):
            body = body[: len(body) // 2]
            headers["Content-Length"] = str(len(body))
        if fault == "truncate" and status in (200, 206):
            headers["Content-Length"] = str(len(body))
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.send(status, headers, body)


class S3Gateway(LoopbackHTTPServer):
    """The checking, counting and fault-injecting front of a :class:`MotoServer`."""

    def __init__(self, moto: MotoServer):
        super().__init__(_Handler)
        self.moto = moto
        self.credentials: dict[str, Credential] = {}
        self.public_buckets: set[str] = set()
        self.mode = "ok"
        self.page_size = 0  # > 0: ListObjectsV2 pages of at most this many entries
        self.retry_after = 1  # the Retry-After value of the retry-after-once mode
        self.log: list[LoggedRequest] = []
        self.seen: set = set()

    @property
    def virtual_host_url(self) -> str:
        """The endpoint for virtual-host style: buckets become ``<bucket>.localhost``."""
        return f"http://localhost:{self.server_address[1]}"

    def set_mode(self, mode: str) -> None:
        with self.lock:
            self.mode = mode
            self.seen.clear()

    def record(self, entry: LoggedRequest) -> None:
        with self.lock:
            self.log.append(entry)

    def mark(self) -> int:
        with self.lock:
            return len(self.log)

    def requests(self, since: int = 0) -> list[LoggedRequest]:
        with self.lock:
            return list(self.log[since:])

    def forward(self, method: str, path: str, rng: str | None, authorization: str | None) -> tuple[int, dict, bytes]:
        """The request passed on to moto. moto reads a request with an Authorization header as
        signed (it checks no signature) and one without as anonymous (then the object's ACL
        decides)."""
        # A fresh connection each time: simple, and loopback connections are cheap.
        headers = {"Host": f"127.0.0.1:{self.moto.port}", "Connection": "close"}
        if rng:
            headers["Range"] = rng
        if authorization:
            headers["Authorization"] = authorization
        conn = http.client.HTTPConnection("127.0.0.1", self.moto.port, timeout=60)
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        keep = {"content-type", "content-range", "etag", "last-modified", "accept-ranges", "content-length"}
        out = {k: v for k, v in resp.getheaders() if k.lower() in keep}
        if method == "HEAD":
            out.setdefault("Content-Length", resp.getheader("Content-Length", "0"))
        else:
            out["Content-Length"] = str(len(body))
        return resp.status, out, body
