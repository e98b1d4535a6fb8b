"""Hostile servers: the network part of the bad-input corpus (tests/python/test_bad_input.py holds
the file-based part; docs/reliability.md, "Hostile servers and bounds").

A small server in this process answers every request from a script chosen by the first part of
the URL's path, and records what it received (headers) and how many body bytes it managed to send
before the client closed the connection. Each case runs under a timeout and checks the error type,
that the message names the URL (without user information) and the key, and that the client
stopped the transfer long before a runaway read would have (an endless body is sent until the
client hangs up or SENT_LIMIT bytes have gone).

Cases: endless bodies (200, 404, 500), a Content-Length of 2^62 and one longer than the body, an
endless chunked zarr.json (the metadata size cap), redirects to another origin with custom headers
(dropped) and to the same origin (kept), https -> http redirects (refused), a Content-Encoding that
was not asked for (refused), and CUZARR_HTTP_HEADERS with an S3 store (not sent; the request is
signed).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler

import pytest

import cuzarr
from local_server import LoopbackHTTPServer

pytestmark = pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no HTTP store (libcurl)")

CASE_TIMEOUT = 60.0  # seconds for one case: a generous hang guard, not a speed check
SENT_LIMIT = 256 << 20  # the server gives up an endless body here; a client must stop long before
PIECE = 64 << 10

# A v3 array of 8 uint8, one uncompressed chunk.
ARRAY_DOC = json.dumps({
    "zarr_format": 3, "node_type": "array", "shape": [8], "data_type": "uint8",
    "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": [8]}},
    "chunk_key_encoding": {"name": "default", "configuration": {"separator": "/"}},
    "fill_value": 7, "codecs": [{"name": "bytes"}], "attributes": {},
}).encode()
CHUNK = bytes(range(10, 18))
FILES = {"zarr.json": ARRAY_DOC, "c/0": CHUNK}
SECRET_HEADERS = {"X-Api-Key": "key-8d1f", "Authorization": "Bearer tok-5e2a"}


def within(seconds: float, fn, *args, **kwargs):
    """fn(*args, **kwargs) on a thread; fails the test when it has not returned in time."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn(*args, **kwargs)
        except BaseException as e:  # handed back to the test's thread
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(seconds)
    if t.is_alive():
        pytest.fail(f"no answer within {seconds} s: the read hangs")
    if "error" in out:
        raise out["error"]
    return out.get("value")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "HostileServer"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._serve()

    def do_HEAD(self):
        self._serve()

    # -- answers ------------------------------------------------------------------------------

    def _head(self, status: int, headers: dict):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()

    def _plain(self, status: int, payload: bytes, headers: dict | None = None):
        self._head(status, {"Content-Length": str(len(payload)), **(headers or {})})
        if self.command != "HEAD":
            self._write(payload)

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            return False

    def _endless(self, status: int, chunked: bool = False, headers: dict | None = None):
        """A body that goes on until the client hangs up (or SENT_LIMIT); records the bytes sent."""
        h = {"Transfer-Encoding": "chunked"} if chunked else {"Connection": "close"}
        self._head(status, {**h, **(headers or {})})
        self.close_connection = True
        if self.command == "HEAD":
            return
        sent = 0
        piece = b" " * PIECE
        frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
        while sent < SENT_LIMIT and self._write(frame):
            sent += len(piece)
        with self.server.lock:
            self.server.sent.append((self.path, sent))

    def _serve(self):
        mode, _, key = self.path.lstrip("/").partition("/")
        srv = self.server
        with srv.lock:
            srv.log.append((mode, self.command, key, {k.lower(): v for k, v in self.headers.items()}))
        script = srv.scripts.get(mode)
        if script is not None and script(self, key):
            return
        if key in FILES:
            self._plain(200, FILES[key])
        else:
            self._plain(404, b"not found")


class HostileServer(LoopbackHTTPServer):
    """scripts: mode -> fn(handler, key) returning True when it answered (else the store's files)."""

    def __init__(self, scripts: dict, tls_context: ssl.SSLContext | None = None):
        super().__init__(_Handler)
        self.scripts = scripts
        self.log: list[tuple] = []
        self.sent: list[tuple] = []
        if tls_context is not None:
            self.socket = tls_context.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls_context is not None else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}"

    def headers_seen(self, mode: str) -> list[dict]:
        with self.lock:
            return [h for m, _, _, h in self.log if m == mode]

    def largest_sent(self, wait: float = 20.0) -> int:
        """The most body bytes one endless answer got out, once some answer has ended (the
        server sees the client hang up a little after the client has moved on)."""
        deadline = time.monotonic() + wait
        while True:
            with self.lock:
                if self.sent or time.monotonic() > deadline:
                    return max((n for _, n in self.sent), default=0)
            time.sleep(0.02)


def endless_chunk(status: int):
    def script(h: _Handler, key: str) -> bool:
        if key != "c/0":
            return False
        h._endless(status)
        return True
    return script


def endless_everything(status: int, chunked: bool = False):
    def script(h: _Handler, key: str) -> bool:
        h._endless(status, chunked)
        return True
    return script


def content_length_of(n: int, give: int, keys=("zarr.json", "c/0")):
    """Announces n bytes, sends `give` of the real value (then closes)."""
    def script(h: _Handler, key: str) -> bool:
        if key not in keys:
            return False
        h._head(200, {"Content-Length": str(n), "Connection": "close"})
        h.close_connection = True
        if h.command != "HEAD":
            h._write(FILES[key][:give])
        return True
    return script


def chunked_metadata(h: _Handler, key: str) -> bool:
    if key != "zarr.json":
        return False
    h._endless(200, chunked=True)
    return True


def gzip_encoded(which: str):
    def script(h: _Handler, key: str) -> bool:
        if key != which:
            return False
        h._plain(200, gzip.compress(FILES[key]), {"Content-Encoding": "gzip"})
        return True
    return script


def redirect_to(target_base):
    """302 to the same key under target_base() (a function: the target may start later)."""
    def script(h: _Handler, key: str) -> bool:
        h._head(302, {"Location": f"{target_base()}/{key}", "Content-Length": "0"})
        return True
    return script


@pytest.fixture
def server():
    scripts: dict = {}
    srv = HostileServer(scripts).start()
    yield srv
    srv.stop()


@pytest.fixture
def other_origin():
    srv = HostileServer({}).start()
    yield srv
    srv.stop()


FAST = {"retries": 0, "timeout": 10}


# --------------------------------------------------------------------------------------------
# Endless bodies


def test_endless_200_body_of_a_chunk_is_cut(server):
    """A server that ignores Range and never ends its body: the read takes the bytes it asked for
    and hangs up."""
    server.scripts["e200"] = endless_chunk(200)
    a = cuzarr.open(f"{server.url}/e200", storage_options=FAST)
    # The chunk is 8 bytes; the first 8 of the endless answer are spaces. What matters: an answer.
    with pytest.raises(cuzarr.StoreError) as e:
        within(CASE_TIMEOUT, lambda: a[...])
    assert f"{server.url}/e200/c/0" in str(e.value)
    assert "no further" in str(e.value) or "Content-Length" in str(e.value)
    assert server.largest_sent() < 128 << 20


@pytest.mark.parametrize("status", [404, 500])
def test_endless_error_page_is_cut_at_its_cap(server, status):
    server.scripts["err"] = endless_chunk(status)
    a = cuzarr.open(f"{server.url}/err", storage_options=FAST)
    if status == 404:
        # A missing chunk reads as the fill value; the page behind it is not read on.
        assert within(CASE_TIMEOUT, lambda: a[...]).tolist() == [7] * 8
    else:
        with pytest.raises(cuzarr.StoreError, match="HTTP 500") as e:
            within(CASE_TIMEOUT, lambda: a[...])
        assert f"{server.url}/err/c/0" in str(e.value)
    assert 0 < server.largest_sent() < 64 << 20


def test_endless_404_for_every_metadata_document(server):
    server.scripts["e404"] = endless_everything(404)
    with pytest.raises(cuzarr.KeyNotFoundError, match="no Zarr array or group") as e:
        within(CASE_TIMEOUT, cuzarr.open, f"{server.url}/e404", storage_options=FAST)
    assert f"{server.url}/e404" in str(e.value)
    assert 0 < server.largest_sent() < 64 << 20


def test_endless_chunked_metadata_stops_at_the_cap(server):
    server.scripts["meta"] = chunked_metadata
    with pytest.raises(cuzarr.StoreError, match="metadata size cap of 67108864 bytes") as e:
        within(CASE_TIMEOUT, cuzarr.open, f"{server.url}/meta", storage_options=FAST)
    assert f"{server.url}/meta/zarr.json" in str(e.value)
    assert "CUZARR_MAX_METADATA_BYTES" in str(e.value)
    assert server.largest_sent() < SENT_LIMIT // 2


def test_metadata_cap_is_a_setting(server):
    """CUZARR_MAX_METADATA_BYTES lowers the cap (a child process: the configuration is read once)."""
    server.scripts["meta"] = chunked_metadata
    code = textwrap.dedent(f"""
        import cuzarr
        try:
            cuzarr.open("{server.url}/meta", storage_options={{"retries": 0}})
        except cuzarr.StoreError as e:
            print(e)
    """)
    env = dict(os.environ, CUZARR_MAX_METADATA_BYTES=str(1 << 20))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=CASE_TIMEOUT)
    assert "metadata size cap of 1048576 bytes" in out.stdout, out.stdout + out.stderr
    assert server.largest_sent() < 32 << 20
    # A document under the cap still opens.
    ok = subprocess.run([sys.executable, "-c", f"import cuzarr; print(cuzarr.open('{server.url}/plain')[...])"],
                        env=env, capture_output=True, text=True, timeout=CASE_TIMEOUT)
    assert "[10 11 12 13 14 15 16 17]" in ok.stdout, ok.stderr


# --------------------------------------------------------------------------------------------
# Lengths that lie


def test_huge_content_length_of_metadata_fails_before_allocating(server):
    server.scripts["huge"] = content_length_of(1 << 62, 100, keys=("zarr.json",))
    with pytest.raises(cuzarr.StoreError, match=f"is {1 << 62} bytes, over the metadata size cap") as e:
        within(CASE_TIMEOUT, cuzarr.open, f"{server.url}/huge", storage_options=FAST)
    assert f"{server.url}/huge/zarr.json" in str(e.value)


def test_huge_content_length_of_a_chunk_is_not_allocated(server):
    # The 8 bytes asked for come; the size the server claims is then checked against the chunk's.
    server.scripts["huge"] = content_length_of(1 << 62, 8, keys=("c/0",))
    a = cuzarr.open(f"{server.url}/huge", storage_options=FAST)
    with pytest.raises(cuzarr.CodecError, match=f"chunk is {1 << 62} bytes, expected 8") as e:
        within(CASE_TIMEOUT, lambda: a[...])
    assert f"{server.url}/huge" in str(e.value) and "c/0" in str(e.value)


@pytest.mark.parametrize("key", ["zarr.json", "c/0"])
def test_content_length_longer_than_the_body(server, key):
    server.scripts["lying"] = content_length_of(len(FILES[key]) + 1000, len(FILES[key]), keys=(key,))

    def read():
        return cuzarr.open(f"{server.url}/lying", storage_options=FAST)[...]
    # zarr.json: a truncated transfer (StoreError); the chunk: its 8 bytes came, and the size
    # claimed is not the chunk's (CodecError).
    with pytest.raises(cuzarr.StoreError if key == "zarr.json" else cuzarr.CodecError) as e:
        within(CASE_TIMEOUT, read)
    assert f"{server.url}/lying" in str(e.value) and key in str(e.value)


# --------------------------------------------------------------------------------------------
# Redirects


def test_redirect_to_another_origin_drops_custom_headers(server, other_origin):
    server.scripts["away"] = redirect_to(lambda: f"{other_origin.url}/store")
    opts = {**FAST, "headers": SECRET_HEADERS}
    got = within(CASE_TIMEOUT, lambda: cuzarr.open(f"{server.url}/away", storage_options=opts)[...])
    assert got.tolist() == list(CHUNK)
    first = server.headers_seen("away")
    assert first and all(h.get("x-api-key") == "key-8d1f" for h in first), first
    second = other_origin.headers_seen("store")
    assert second, "the redirect was not followed"
    for h in second:
        assert "x-api-key" not in h and "authorization" not in h, h


def test_redirect_within_the_origin_keeps_headers(server):
    server.scripts["here"] = redirect_to(lambda: f"{server.url}/store")
    opts = {**FAST, "headers": SECRET_HEADERS}
    got = within(CASE_TIMEOUT, lambda: cuzarr.open(f"{server.url}/here", storage_options=opts)[...])
    assert got.tolist() == list(CHUNK)
    seen = server.headers_seen("store")
    assert seen and all(h.get("x-api-key") == "key-8d1f" and h.get("authorization") == "Bearer tok-5e2a"
                        for h in seen), seen


def test_redirect_loop_ends(server):
    server.scripts["loop"] = redirect_to(lambda: f"{server.url}/loop")
    with pytest.raises(cuzarr.StoreError, match="more than 8 redirects") as e:
        within(CASE_TIMEOUT, cuzarr.open, f"{server.url}/loop", storage_options=FAST)
    assert f"{server.url}/loop/zarr.json" in str(e.value)


def test_redirect_to_another_scheme_is_refused(server):
    server.scripts["ftp"] = redirect_to(lambda: "ftp://127.0.0.1/store")
    with pytest.raises(cuzarr.StoreError, match="not http:// or https://"):
        within(CASE_TIMEOUT, cuzarr.open, f"{server.url}/ftp", storage_options=FAST)


@pytest.fixture
def tls_server(tmp_path, monkeypatch):
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed for a local https server")
    from nginx_server import self_signed_certificate

    cert, key = self_signed_certificate(tmp_path / "tls")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    srv = HostileServer({}, tls_context=context).start()
    yield srv
    srv.stop()


def test_https_to_http_redirect_is_refused(tls_server, other_origin):
    tls_server.scripts["down"] = redirect_to(lambda: f"{other_origin.url}/store")
    opts = {**FAST, "headers": SECRET_HEADERS}
    # The https server itself serves (its certificate is trusted through SSL_CERT_FILE).
    assert within(CASE_TIMEOUT, lambda: cuzarr.open(f"{tls_server.url}/plain", storage_options=opts)[...]).tolist() \
        == list(CHUNK)
    with pytest.raises(cuzarr.StoreError, match="redirected from https to http://127.0.0.1") as e:
        within(CASE_TIMEOUT, cuzarr.open, f"{tls_server.url}/down", storage_options=opts)
    assert f"{tls_server.url}/down/zarr.json" in str(e.value)
    assert other_origin.headers_seen("store") == [], "a request went out over plain http"


# --------------------------------------------------------------------------------------------
# Content-Encoding that was not asked for


@pytest.mark.parametrize("key", ["zarr.json", "c/0"])
def test_gzip_content_encoding_not_asked_for_is_refused(server, key):
    server.scripts["gz"] = gzip_encoded(key)
    with pytest.raises(cuzarr.StoreError, match="Content-Encoding 'gzip', which cuzarr did not ask for") as e:
        within(CASE_TIMEOUT, lambda: cuzarr.open(f"{server.url}/gz", storage_options=FAST)[...])
    assert f"{server.url}/gz/{key}" in str(e.value)
    for _, _, _, h in server.log:
        assert "accept-encoding" not in h, h


# --------------------------------------------------------------------------------------------
# Secrets in URLs


@pytest.mark.parametrize("password", ["x9/q7z", "x9?q7z", "x9#q7z", "x9@q7z", "x9:q7z"])
def test_url_password_never_appears_in_errors(server, password):
    server.scripts["gone"] = endless_everything(404)
    url = f"http://uzr41:{password}@127.0.0.1:{server.server_address[1]}/gone"
    with pytest.raises(cuzarr.Error) as e:
        within(CASE_TIMEOUT, cuzarr.open, url, storage_options=FAST)
    for part in ("x9", "q7z", "uzr41"):
        assert part not in str(e.value), str(e.value)


@pytest.mark.parametrize("password", ["x9q7z", "x9/q7z"])
def test_url_password_never_appears_in_xarray_errors(server, password):
    xr = pytest.importorskip("xarray")
    server.scripts["gone"] = endless_everything(404)
    url = f"http://uzr41:{password}@127.0.0.1:{server.server_address[1]}/gone"
    with pytest.raises(Exception) as e:
        within(CASE_TIMEOUT, xr.open_dataset, url, engine="cuzarr", storage_options=FAST)
    chain, err = [], e.value
    while err is not None:
        chain.append(str(err))
        err = err.__cause__ or err.__context__
    for part in ("x9", "q7z", "uzr41"):
        assert all(part not in text for text in chain), chain


# --------------------------------------------------------------------------------------------
# CUZARR_HTTP_HEADERS is for HTTP stores: an S3 request is signed and carries none of them


def fake_s3(h: _Handler, key: str) -> bool:
    """Path-style S3 for one bucket, "bucket", holding the store under "x.zarr"."""
    rest = key.partition("/")[2]  # mode is "bucket", key "x.zarr/<file>"
    if rest in FILES:
        h._plain(200, FILES[rest])
    else:
        h._plain(404, b"<?xml version='1.0'?><Error><Code>NoSuchKey</Code><Message>no</Message></Error>")
    return True


def test_environment_headers_do_not_go_to_s3(server):
    server.scripts["bucket"] = fake_s3
    code = textwrap.dedent(f"""
        import cuzarr
        a = cuzarr.open("s3://bucket/x.zarr", storage_options={{"endpoint_url": "{server.url}", "retries": 0}})
        print(a[...].tolist())
    """)
    env = dict(os.environ, CUZARR_HTTP_HEADERS=json.dumps(SECRET_HEADERS), AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
               AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", AWS_REGION="us-east-1")
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        env.pop(name, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=CASE_TIMEOUT)
    assert out.stdout.strip() == str(list(CHUNK)), out.stdout + out.stderr
    seen = server.headers_seen("bucket")
    assert seen
    for h in seen:
        assert h.get("authorization", "").startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), h
        assert "x-api-key" not in h, h
        assert "tok-5e2a" not in json.dumps(h), h


def test_explicit_authorization_header_with_a_signed_s3_store_is_refused(server):
    opts = {"endpoint_url": server.url, "key": "AKIDEXAMPLE", "secret": "s3cr3t", "headers": SECRET_HEADERS}
    with pytest.raises(cuzarr.StoreError, match="take the place of the request signature") as e:
        cuzarr.open("s3://bucket/x.zarr", storage_options=opts)
    assert "tok-5e2a" not in str(e.value) and "s3cr3t" not in str(e.value)
    assert server.headers_seen("bucket") == []
