"""S3 credentials and retries (issue 30): the AWS environment is read when a store is opened (so
rotated keys are used by the next open), temporary credentials from a container credential
endpoint or the EC2 instance metadata service (IMDSv2) are fetched and renewed while the store
is in use, throttled requests wait as Retry-After says, the number of attempts is a setting, and
S3 options hold only what they may (a region that would change the host, an endpoint with a
password) with no secret in any message. The servers are moto behind the checking gateway of
s3_server.py and small fake credential endpoints written here."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

import cuzarr
import stores
from local_server import LoopbackHTTPServer
from s3_server import Credential, MotoServer, S3Gateway, moto_available

pytestmark = [
    pytest.mark.skipif(not cuzarr._core.http_built(), reason="this build of cuzarr has no S3 store (libcurl)"),
    pytest.mark.skipif(not moto_available(), reason="moto[server] and boto3 are not installed (pip install -e .[dev])"),
]

KEY, SECRET = "AKIACUZARRCRED000001", "cuzarr/Cred+Secret=0001abcdefghijklmnop"
ROTATED_KEY, ROTATED_SECRET = "AKIACUZARRCRED000002", "rotated/secret+0002"
TEMP1, TEMP1_SECRET, TEMP1_TOKEN = "ASIACUZARRCONTAINER1", "container/secret+1", "container-token-1"
TEMP2, TEMP2_SECRET, TEMP2_TOKEN = "ASIACUZARRCONTAINER2", "container/secret+2", "container-token-2"
IMDS_KEY, IMDS_SECRET, IMDS_TOKEN = "ASIACUZARRINSTANCE01", "instance/secret+3", "instance-token-3"
NAME = "zarr_v3_float64"


@pytest.fixture(scope="module")
def s3():
    with MotoServer() as moto:
        gateway = S3Gateway(moto).start()
        for key, secret, token in [(KEY, SECRET, None), (ROTATED_KEY, ROTATED_SECRET, None),
                                   (TEMP1, TEMP1_SECRET, TEMP1_TOKEN), (TEMP2, TEMP2_SECRET, TEMP2_TOKEN),
                                   (IMDS_KEY, IMDS_SECRET, IMDS_TOKEN)]:
            gateway.credentials[key] = Credential(secret, token=token)
        moto.client().create_bucket(Bucket="private")
        try:
            yield moto, gateway
        finally:
            gateway.stop()


@pytest.fixture(scope="module")
def array_url(s3, store_factory):
    moto, _ = s3
    path = store_factory.path(NAME)
    assert moto.upload_tree(path, "private", NAME) > 0
    return f"s3://private/{NAME}", cuzarr.open(path)[...]


@pytest.fixture()
def gateway(s3):
    yield s3[1]
    s3[1].set_mode("ok")


@pytest.fixture()
def aws_env(monkeypatch, tmp_path):
    """No AWS setting of this machine in os.environ; the test sets what it needs."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


def iso(seconds_from_now: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeCredentialServer(LoopbackHTTPServer):
    """A container credential endpoint (GET /creds) and an EC2 instance metadata service (IMDSv2
    under /latest/) in one; ``answers`` are the credential documents served in turn (the last
    one again when they run out), ``log`` the (method, path, headers) of every request."""

    def __init__(self):
        super().__init__(_CredentialHandler)
        self.answers: list[dict] = []
        self.served = 0
        self.down = False  # True: the credential document is answered with a 500
        self.log: list[tuple[str, str, dict]] = []

    def next_document(self) -> bytes:
        with self.lock:
            doc = self.answers[min(self.served, len(self.answers) - 1)]
            self.served += 1
        return json.dumps(doc).encode()


class _CredentialHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeCredentialServer
    TOKEN = "imds-session-token"

    def log_message(self, *args):
        pass

    def _answer(self, status: int, body: bytes, content_type: str = "application/json"):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _record(self):
        with self.server.lock:
            self.server.log.append((self.command, self.path, dict(self.headers)))

    def do_PUT(self):
        self._record()
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._answer(200, self.TOKEN.encode(), "text/plain")
        else:
            self._answer(400, b"")

    def do_GET(self):
        self._record()
        if self.path == "/creds":
            if self.server.down:
                self._answer(500, b"{}")
            else:
                self._answer(200, self.server.next_document())
            return
        if not self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            self._answer(404, b"")
            return
        if self.headers.get("X-aws-ec2-metadata-token") != self.TOKEN:
            self._answer(401, b"")  # IMDSv2 only
            return
        role = self.path.rsplit("/", 1)[1]
        if role == "":
            self._answer(200, b"cuzarr-role", "text/plain")
        elif role == "cuzarr-role":
            self._answer(200, self.server.next_document())
        else:
            self._answer(404, b"")


@pytest.fixture()
def fake_endpoint():
    server = FakeCredentialServer().start()
    try:
        yield server
    finally:
        server.stop()


def key_ids(gateway, since: int) -> list[str]:
    return [r.key_id for r in gateway.requests(since)]


def test_environment_is_read_when_a_store_is_opened(array_url, s3, tmp_path):
    """Keys set, then rotated, in os.environ after the first cuzarr call are used by the next open."""
    url, want = array_url
    gateway = s3[1]
    code = f"""
        import os, cuzarr, hashlib
        try:
            cuzarr.open({url!r})
        except cuzarr.StoreError as e:
            print("unsigned:", "AccessDenied" in str(e))
        os.environ["AWS_ACCESS_KEY_ID"] = {KEY!r}
        os.environ["AWS_SECRET_ACCESS_KEY"] = {SECRET!r}
        a = cuzarr.open({url!r})
        print("first:", hashlib.sha256(a[...].tobytes()).hexdigest())
        os.environ["AWS_ACCESS_KEY_ID"] = {ROTATED_KEY!r}
        os.environ["AWS_SECRET_ACCESS_KEY"] = {ROTATED_SECRET!r}
        b = cuzarr.open({url!r})
        print("rotated:", hashlib.sha256(b[...].tobytes()).hexdigest())
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(HOME=str(tmp_path), AWS_ENDPOINT_URL=gateway.url, AWS_EC2_METADATA_DISABLED="true")
    mark = gateway.mark()
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    total = hashlib.sha256(np.ascontiguousarray(want).tobytes()).hexdigest()
    assert "unsigned: True" in out.stdout
    assert f"first: {total}" in out.stdout and f"rotated: {total}" in out.stdout
    ids = key_ids(gateway, mark)
    assert ids[0] == "" and KEY in ids and ROTATED_KEY in ids
    assert ids.index(ROTATED_KEY) > max(i for i, k in enumerate(ids) if k == KEY)
    assert SECRET not in out.stdout + out.stderr


def test_container_credentials_are_renewed_while_in_use(array_url, gateway, aws_env, fake_endpoint):
    url, want = array_url
    # The first credentials live four seconds: renewed after half their lifetime.
    fake_endpoint.answers = [
        {"AccessKeyId": TEMP1, "SecretAccessKey": TEMP1_SECRET, "Token": TEMP1_TOKEN, "Expiration": iso(4)},
        {"AccessKeyId": TEMP2, "SecretAccessKey": TEMP2_SECRET, "Token": TEMP2_TOKEN, "Expiration": iso(3600)},
    ]
    aws_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{fake_endpoint.url}/creds")
    aws_env.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-auth-token")
    aws_env.setenv("AWS_ENDPOINT_URL", gateway.url)
    mark = gateway.mark()
    a = cuzarr.open(url)
    stores.assert_same_array(a[...], want)
    first = key_ids(gateway, mark)
    assert first and set(first) == {TEMP1}, first
    assert fake_endpoint.served == 1
    time.sleep(3.0)
    mark = gateway.mark()
    stores.assert_same_array(a[...], want)
    later = key_ids(gateway, mark)
    assert later and set(later) == {TEMP2}, later
    assert fake_endpoint.served == 2
    assert all(h.get("Authorization") == "container-auth-token" for _, _, h in fake_endpoint.log)
    # The renewed key is used from then on, without asking again.
    stores.assert_same_array(a[0:1], want[0:1])
    assert fake_endpoint.served == 2


def test_credentials_that_expire_unrenewed_are_a_clear_error(array_url, gateway, aws_env, fake_endpoint):
    url, want = array_url
    fake_endpoint.answers = [{"AccessKeyId": TEMP1, "SecretAccessKey": TEMP1_SECRET, "Token": TEMP1_TOKEN,
                              "Expiration": iso(2)}]
    aws_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{fake_endpoint.url}/creds")
    aws_env.setenv("AWS_ENDPOINT_URL", gateway.url)
    a = cuzarr.open(url)
    fake_endpoint.down = True
    time.sleep(3.0)
    with pytest.raises(cuzarr.StoreError, match=r"GET s3://private/.*have expired and could not be renewed.*HTTP 500") as e:
        a[...]
    assert TEMP1_SECRET not in str(e.value) and TEMP1_TOKEN not in str(e.value)
    # Back up: the next request renews them and reads.
    fake_endpoint.down = False
    fake_endpoint.answers = [{"AccessKeyId": TEMP2, "SecretAccessKey": TEMP2_SECRET, "Token": TEMP2_TOKEN,
                              "Expiration": iso(3600)}]
    fake_endpoint.served = 0
    time.sleep(1.1)  # a failed renewal of expired credentials is tried again after a second
    stores.assert_same_array(a[...], want)


def test_container_endpoint_token_file_and_refusals(array_url, gateway, aws_env, fake_endpoint, tmp_path):
    url, want = array_url
    fake_endpoint.answers = [{"AccessKeyId": TEMP2, "SecretAccessKey": TEMP2_SECRET, "Token": TEMP2_TOKEN,
                              "Expiration": iso(3600)}]
    token_file = tmp_path / "token"
    token_file.write_text("token-from-file\n")
    aws_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"{fake_endpoint.url}/creds")
    aws_env.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    aws_env.setenv("AWS_ENDPOINT_URL", gateway.url)
    stores.assert_same_array(cuzarr.open(url)[...], want)
    assert fake_endpoint.log[-1][2].get("Authorization") == "token-from-file"
    # A document that is not credentials: a clear error naming the endpoint, never the secret.
    fake_endpoint.answers = [{"AccessKeyId": TEMP2, "Token": "leaked-token-value"}]
    fake_endpoint.served = 0
    with pytest.raises(cuzarr.StoreError, match="container credential endpoint.*SecretAccessKey") as e:
        cuzarr.open(url)
    assert "leaked-token-value" not in str(e.value)
    # Plain http to another host would carry credentials in clear text: refused.
    aws_env.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://user:pw-secret@192.0.2.1/creds")
    with pytest.raises(cuzarr.StoreError, match="use https") as e:
        cuzarr.open(url)
    assert "pw-secret" not in str(e.value)


def test_imds_v2_flow(array_url, gateway, aws_env, fake_endpoint):
    url, want = array_url
    fake_endpoint.answers = [{"Code": "Success", "LastUpdated": iso(0), "Type": "AWS-HMAC", "AccessKeyId": IMDS_KEY,
                              "SecretAccessKey": IMDS_SECRET, "Token": IMDS_TOKEN, "Expiration": iso(6 * 3600)}]
    aws_env.setenv("AWS_ENDPOINT_URL", gateway.url)
    aws_env.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", fake_endpoint.url)
    # Disabled: the service is not asked, and the requests go unsigned.
    with pytest.raises(cuzarr.StoreError, match="AccessDenied.*no credentials were found"):
        cuzarr.open(url)
    assert fake_endpoint.log == []
    aws_env.delenv("AWS_EC2_METADATA_DISABLED")
    mark = gateway.mark()
    stores.assert_same_array(cuzarr.open(url)[...], want)
    assert set(key_ids(gateway, mark)) == {IMDS_KEY}
    steps = [(method, path) for method, path, _ in fake_endpoint.log]
    assert steps == [("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                     ("GET", "/latest/meta-data/iam/security-credentials/cuzarr-role")]
    assert all(h.get("X-aws-ec2-metadata-token") == "imds-session-token" for _, _, h in fake_endpoint.log[1:])


def test_no_instance_metadata_service_does_not_stall_an_open(array_url, gateway, aws_env):
    """Nothing listens at the endpoint: the chain ends in unsigned requests, quickly."""
    url, _ = array_url
    aws_env.delenv("AWS_EC2_METADATA_DISABLED")
    aws_env.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9")  # discard port: refused
    aws_env.setenv("AWS_ENDPOINT_URL", gateway.url)
    start = time.monotonic()
    with pytest.raises(cuzarr.StoreError, match="no credentials were found"):
        cuzarr.open(url)
    assert time.monotonic() - start < 30  # a hang guard only


def test_retry_after_is_honoured(array_url, gateway):
    url, want = array_url
    a = cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET, "endpoint_url": gateway.url, "retries": 3})
    gateway.retry_after = 1
    gateway.set_mode("retry-after-once")
    mark = gateway.mark()
    start = time.monotonic()
    stores.assert_same_array(a[...], want)
    elapsed = time.monotonic() - start
    # Without Retry-After the first retry waits at most 0.2 s; with it, a second.
    assert 0.9 <= elapsed < 60, elapsed
    statuses = {}
    for r in gateway.requests(mark):
        statuses.setdefault(r.key, []).append(r.status)
    chunks = [k for k in statuses if "/c" in k]
    assert chunks and all(statuses[k][0] == 503 and statuses[k][1:] in ([200], [206]) for k in chunks), statuses


@pytest.mark.parametrize("retries", [0, 2])
def test_attempts_are_a_setting(array_url, gateway, retries):
    url, _ = array_url
    a = cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET, "endpoint_url": gateway.url,
                                          "retries": retries})
    gateway.set_mode("slowdown")
    mark = gateway.mark()
    with pytest.raises(cuzarr.StoreError, match="SlowDown") as e:
        a[0:1]
    attempts = retries + 1
    assert f"after {attempts} attempt" in str(e.value)
    per_key = {}
    for r in gateway.requests(mark):
        per_key[r.key] = per_key.get(r.key, 0) + 1
    assert set(per_key.values()) == {attempts}, per_key


def test_bad_region_is_refused_before_any_request(array_url, gateway, aws_env):
    url, _ = array_url
    mark = gateway.mark()
    for options in ({"region": "x@evil.invalid#"}, {"region": "us-east-1.evil.invalid"}):
        with pytest.raises(cuzarr.StoreError, match="invalid S3 region.*letters, digits and '-'"):
            cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET, **options})
    aws_env.setenv("AWS_REGION", "x@evil.invalid#")
    with pytest.raises(cuzarr.StoreError, match="invalid S3 region"):
        cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET, "endpoint_url": gateway.url})
    assert gateway.requests(mark) == []


def test_endpoint_userinfo_never_appears(array_url, gateway, aws_env, cuzarr_cli):
    url, _ = array_url
    host = gateway.url.split("://", 1)[1]
    endpoint = f"http://admin:pa55-SECRET-word@{host}"
    with pytest.raises(cuzarr.StoreError, match="user name or password") as e:
        cuzarr.open("s3://no-such-bucket/x", storage_options={"key": KEY, "secret": SECRET, "endpoint_url": endpoint})
    assert "pa55" not in str(e.value) and "admin" not in str(e.value)
    aws_env.setenv("AWS_ENDPOINT_URL", endpoint)
    with pytest.raises(cuzarr.StoreError) as e:
        cuzarr.open(url, storage_options={"key": KEY, "secret": SECRET})
    assert "pa55" not in str(e.value) and "AWS_ENDPOINT_URL" in str(e.value)
    out = subprocess.run([cuzarr_cli, "info", "s3://no-such-bucket/x", "-S", f"endpoint_url={endpoint}", "-S",
                          f"key={KEY}", "-S", f"secret={SECRET}"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "pa55" not in out.stdout + out.stderr and SECRET not in out.stdout + out.stderr
    # Without userinfo the NoSuchBucket hint names the endpoint as given.
    with pytest.raises(cuzarr.StoreError, match="NoSuchBucket.*does not exist at http://") as e:
        cuzarr.open("s3://no-such-bucket/x", storage_options={"key": KEY, "secret": SECRET,
                                                             "endpoint_url": gateway.url})
