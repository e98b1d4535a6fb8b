"""Local stand-ins for Google Cloud Storage (XML API) and Azure Blob Storage, for the gs:// and
az:// tests: one in-process HTTP server per service that serves buckets (containers) from
directories of the local file system and checks every request's credentials the way the service
does.

GCS (path style, ``/<bucket>/<key>``):

* ``Authorization: Bearer <token>`` must name a token this server issued (or was given) and that
  has not expired; ``GOOG4-HMAC-SHA256`` signatures (HMAC keys) are checked by the Signature V4
  implementation of s3_server.py in its GOOG4 dialect. Anything else on a private bucket is 401 /
  403 with GCS's XML error document.
* ``POST /token`` is an OAuth2 token endpoint: the JWT bearer grant of a service account (the
  assertion's RS256 signature checked with the account's public key by ``cryptography``, its
  ``iss``, ``aud``, ``scope``, ``iat`` and ``exp`` checked), and the refresh-token grant of an
  authorized user (client id, secret and refresh token checked). Tokens last ``token_lifetime``
  seconds.
* ListObjectsV2 (``list-type=2``) with ``page_size`` keys a page (continuation tokens).

Azure (Azurite's path style, ``/<account>/<container>/<blob>``):

* ``SharedKey`` signatures are recomputed with the Azure SDK's own signing policy
  (``azure.storage.blob._shared.authentication.SharedKeyCredentialPolicy``), its Range slot fed
  with the request's Range header as the service signs it; x-ms-date must be within 15 minutes.
* SAS tokens are recomputed with the SDK's ``generate_container_sas`` from the token's own fields
  (permissions, start, expiry) and compared; expired or lacking the permission ('r' to read, 'l'
  to list) is 403.
* Anonymous requests reach only public containers. Suffix ranges (``bytes=-N``) are ignored, as
  the service ignores them (the whole blob, 200).
* List Blobs (``restype=container&comp=list``) with ``page_size`` results a page (NextMarker).

Every request is logged (service, method, path, query, Range, status, how it authenticated).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit
from xml.sax.saxutils import escape

from local_server import LoopbackHTTPServer, QuietHandler
from s3_server import GOOG4, Credential, check_signature

READ_SCOPE = "https://www.googleapis.com/auth/devstorage.read_only"


@dataclass(frozen=True)
class Logged:
    method: str
    path: str
    query: str
    range: str | None
    status: int
    auth: str  # "anon", "bearer", "hmac", "sharedkey", "sas", or "" for the token endpoint


def _error_xml(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error>").encode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class _Handler(QuietHandler):
    server: "CloudServer"

    def do_GET(self):
        self.server.serve(self)

    def do_HEAD(self):
        self.server.serve(self)

    def do_POST(self):
        self.server.serve(self)


class CloudServer(LoopbackHTTPServer):
    """The common part: buckets from directories, ranged reads, the request log."""

    service = ""

    def __init__(self):
        super().__init__(_Handler)
        self.buckets: dict[str, Path] = {}  # bucket or container -> directory
        self.public: set[str] = set()
        self.page_size = 0  # > 0: listings answer in pages of this many names
        self.log: list[Logged] = []

    def record(self, handler, status: int, auth: str) -> None:
        path, _, query = handler.path.partition("?")
        with self.lock:
            self.log.append(Logged(handler.command, unquote(path), query, handler.headers.get("Range"), status, auth))

    def mark(self) -> int:
        with self.lock:
            return len(self.log)

    def requests(self, since: int = 0) -> list[Logged]:
        with self.lock:
            return list(self.log[since:])

    def fail(self, handler, status: int, code: str, message: str, auth: str) -> None:
        self.record(handler, status, auth)
        body = _error_xml(code, message)
        handler.send(status, {"Content-Type": "application/xml"}, body if handler.command != "HEAD" else b"")

    def file_of(self, bucket: str, key: str) -> Path | None:
        root = self.buckets[bucket]
        path = (root / key).resolve()
        if not key or not str(path).startswith(str(root.resolve())) or not path.is_file():
            return None
        return path

    def send_object(self, handler, path: Path, auth: str, *, suffix_ranges: bool) -> None:
        data = path.read_bytes()
        size = len(data)
        rng = handler.headers.get("Range")
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if rng and rng.startswith("bytes=") and not (rng.startswith("bytes=-") and not suffix_ranges):
            first, _, last = rng[len("bytes="):].partition("-")
            if first == "":
                start, end = max(0, size - int(last)), size - 1
            else:
                start, end = int(first), min(int(last) if last else size - 1, size - 1)
            if start >= size:
                self.record(handler, 416, auth)
                handler.send(416, {"Content-Range": f"bytes */{size}"}, b"")
                return
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            self.record(handler, 206, auth)
            handler.send(206, headers, data[start:end + 1])
            return
        self.record(handler, 200, auth)
        headers["Content-Length"] = str(size)
        handler.send(200, headers, data)

    def names_under(self, bucket: str, prefix: str) -> list[tuple[str, bool]]:
        """(name, is_prefix) directly under `prefix` in `bucket`, sorted."""
        root = self.buckets[bucket]
        out = []
        for dirpath, dirnames, filenames in os.walk(root):
            for f in filenames:
                key = os.path.relpath(os.path.join(dirpath, f), root).replace(os.sep, "/")
                if key.startswith(prefix):
                    rest = key[len(prefix):]
                    out.append((prefix + rest.split("/", 1)[0] + ("/" if "/" in rest else ""), "/" in rest))
        return sorted(set(out))

    def page(self, names: list, after: str) -> tuple[list, str]:
        """The names after the marker `after`, cut to page_size; the next marker or ""."""
        start = 0
        if after:
            start = next((i for i, (n, _) in enumerate(names) if n > after), len(names))
        size = self.page_size or len(names) or 1
        chunk = names[start:start + size]
        more = start + size < len(names)
        return chunk, (chunk[-1][0] if more and chunk else "")


class GcsServer(CloudServer):
    service = "gcs"

    def __init__(self):
        super().__init__()
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch seconds)
        self.hmac_keys: dict[str, Credential] = {}
        self.service_accounts: dict[str, bytes] = {}  # client_email -> public key (PEM)
        self.users: dict[str, tuple[str, str]] = {}  # refresh token -> (client_id, client_secret)
        self.token_lifetime = 3600
        self.issued: list[str] = []  # grant types of the tokens issued, in order

    @property
    def token_uri(self) -> str:
        return self.url + "/token"

    def serve(self, h) -> None:
        split = urlsplit(h.path)
        if split.path == "/computeMetadata/v1/instance/service-accounts/default/token":
            self.metadata_token(h)
            return
        if h.command == "POST":
            if split.path == "/token":
                self.token_endpoint(h)
            else:
                self.fail(h, 405, "MethodNotAllowed", "only GET and HEAD are served", "")
            return
        bucket, _, key = unquote(split.path).lstrip("/").partition("/")
        if bucket not in self.buckets:
            self.fail(h, 404, "NoSuchBucket", "The specified bucket does not exist.", "anon")
            return
        auth = h.headers.get("Authorization", "")
        how = "anon"
        if auth.startswith("Bearer "):
            how = "bearer"
            expiry = self.tokens.get(auth[len("Bearer "):])
            if expiry is None or expiry < time.time():
                self.fail(h, 401, "AuthenticationRequired", "Invalid Credentials", how)
                return
        elif auth.startswith("GOOG4-HMAC-SHA256 "):
            how = "hmac"
            raw_path, _, raw_query = h.path.partition("?")
            verdict = check_signature(h.command, raw_path, raw_query, h.headers, self.hmac_keys, GOOG4)
            if verdict.status:
                self.fail(h, verdict.status, verdict.code, verdict.message, how)
                return
        elif auth:
            self.fail(h, 400, "InvalidArgument", "Unsupported Authorization Type", "other")
            return
        elif bucket not in self.public:
            self.fail(h, 403, "AccessDenied",
                      "Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.",
                      how)
            return
        query = parse_qs(split.query, keep_blank_values=True)
        if not key and "list-type" in query:
            self.list_objects(h, bucket, query, how)
            return
        path = self.file_of(bucket, key)
        if path is None:
            self.fail(h, 404, "NoSuchKey", "The specified key does not exist.", how)
            return
        self.send_object(h, path, how, suffix_ranges=True)

    def list_objects(self, h, bucket: str, query: dict, how: str) -> None:
        prefix = query.get("prefix", [""])[0]
        token = query.get("continuation-token", [""])[0]
        names = self.names_under(bucket, prefix)
        chunk, nxt = self.page(names, _b64url_decode(token).decode() if token else "")
        parts = [f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix><KeyCount>{len(chunk)}</KeyCount>"]
        for name, is_prefix in chunk:
            if is_prefix:
                parts.append(f"<CommonPrefixes><Prefix>{escape(name)}</Prefix></CommonPrefixes>")
            else:
                parts.append(f"<Contents><Key>{escape(name)}</Key></Contents>")
        parts.append(f"<IsTruncated>{'true' if nxt else 'false'}</IsTruncated>")
        if nxt:
            token = base64.urlsafe_b64encode(nxt.encode()).decode().rstrip("=")
            parts.append(f"<NextContinuationToken>{token}</NextContinuationToken>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult '
                'xmlns="http://doc.s3.amazonaws.com/2006-03-01">' + "".join(parts) + "</ListBucketResult>").encode()
        self.record(h, 200, how)
        h.send(200, {"Content-Type": "application/xml"}, body)

    def token_endpoint(self, h) -> None:
        length = int(h.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(h.rfile.read(length).decode(), keep_blank_values=True).items()}

        def refuse(error: str, description: str) -> None:
            self.record(h, 400, "")
            h.send(400, {"Content-Type": "application/json"},
                   json.dumps({"error": error, "error_description": description}).encode())

        grant = form.get("grant_type", "")
        if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
            why = self.check_jwt(form.get("assertion", ""))
            if why:
                refuse("invalid_grant", why)
                return
        elif grant == "refresh_token":
            user = self.users.get(form.get("refresh_token", ""))
            if user is None or user != (form.get("client_id"), form.get("client_secret")):
                refuse("invalid_grant", "Bad Request")
                return
        else:
            refuse("unsupported_grant_type", f"Invalid grant_type: {grant}")
            return
        token = "ya29.test-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.issued.append(grant)
        self.record(h, 200, "")
        h.send(200, {"Content-Type": "application/json"},
               json.dumps({"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}).encode())

    def metadata_token(self, h) -> None:
        """A Google Cloud machine's metadata server: the default service account's token, to
        requests that say Metadata-Flavor: Google (as the real one insists)."""
        if h.headers.get("Metadata-Flavor") != "Google" or h.command != "GET":
            self.record(h, 403, "")
            h.send(403, {"Content-Type": "text/html"}, b"Missing Metadata-Flavor:Google header.")
            return
        token = "ya29.metadata-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
            self.issued.append("metadata")
        self.record(h, 200, "")
        h.send(200, {"Content-Type": "application/json"},
               json.dumps({"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}).encode())

    def check_jwt(self, assertion: str) -> str:
        """Why the service-account assertion is refused ("" when it holds)."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding

        try:
            head, body, sig = assertion.split(".")
            header = json.loads(_b64url_decode(head))
            claims = json.loads(_b64url_decode(body))
        except ValueError:
            return "the assertion is not a JWT"
        if header.get("alg") != "RS256" or header.get("typ") != "JWT":
            return "the assertion is not an RS256 JWT"
        pem = self.service_accounts.get(claims.get("iss", ""))
        if pem is None:
            return "Invalid JWT Signature."
        try:
            serialization.load_pem_public_key(pem).verify(_b64url_decode(sig), f"{head}.{body}".encode(),
                                                          padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "Invalid JWT Signature."
        now = time.time()
        if claims.get("aud") != self.token_uri:
            return "Invalid JWT: the audience is not the token endpoint"
        if claims.get("scope") != READ_SCOPE:
            return "Invalid JWT: unexpected scope"
        if not (claims.get("iat", 0) - 300 <= now < claims.get("exp", 0)) or claims["exp"] - claims["iat"] > 3600:
            return "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."
        return ""


class AzureServer(CloudServer):
    service = "azure"

    def __init__(self, account: str, key: str):
        super().__init__()
        self.account = account
        self.key = key  # base64, as the portal shows it
        # Microsoft Entra ID: (tenant, client_id) -> client secret of the service principals it
        # knows, and the access tokens it issued (token -> expiry); its token endpoint is
        # {url}/{tenant}/oauth2/v2.0/token (AZURE_AUTHORITY_HOST = url).
        self.principals: dict[tuple[str, str], str] = {}
        self.tokens: dict[str, float] = {}
        self.token_lifetime = 3600
        # The default credentials of anon=False: workload identities ((tenant, client_id) -> the
        # federated token it accepts as client_assertion), the App Service identity endpoint's
        # secret header ({url}/msi/token), and IMDS ({url}/metadata/identity/oauth2/token).
        self.federated: dict[tuple[str, str], str] = {}
        self.identity_header = ""
        self.imds = False

    def issue_token(self) -> str:
        token = "eyJ0eXAi.entra-" + secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.time() + self.token_lifetime
        return token

    def managed_identity(self, h, split) -> None:
        """IMDS (header Metadata: true; expires_in as a string, as Azure writes it) or the App
        Service endpoint (header X-IDENTITY-HEADER; expires_on in seconds since the epoch)."""
        query = parse_qs(split.query)
        if query.get("resource") != ["https://storage.azure.com/"]:
            answer = (400, {"error": "invalid_resource", "error_description": "resource"})
        elif split.path == "/metadata/identity/oauth2/token":
            if not self.imds or h.headers.get("Metadata") != "true":
                answer = (400, {"error": "invalid_request", "error_description": "Required metadata header not specified"})
            else:
                answer = (200, {"access_token": self.issue_token(), "expires_in": str(self.token_lifetime),
                                "token_type": "Bearer", "resource": "https://storage.azure.com/"})
        elif not self.identity_header or h.headers.get("X-IDENTITY-HEADER") != self.identity_header:
            answer = (401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER"})
        else:
            answer = (200, {"access_token": self.issue_token(), "expires_on": str(int(time.time()) + self.token_lifetime),
                            "token_type": "Bearer", "resource": "https://storage.azure.com/"})
        self.record(h, answer[0], "")
        h.send(answer[0], {"Content-Type": "application/json"}, json.dumps(answer[1]).encode())

    @property
    def endpoint(self) -> str:
        return f"{self.url}/{self.account}"

    def serve(self, h) -> None:
        split = urlsplit(h.path)
        account, _, rest = split.path.lstrip("/").partition("/")
        container, _, blob = unquote(rest).partition("/")
        query = parse_qs(split.query, keep_blank_values=True)
        if h.command == "GET" and split.path in ("/metadata/identity/oauth2/token", "/msi/token"):
            self.managed_identity(h, split)
            return
        if h.command == "POST":
            if rest == "oauth2/v2.0/token":
                self.entra_token(h, tenant=account)
                return
            self.fail(h, 405, "UnsupportedHttpVerb", "The resource doesn't support the specified HTTP verb.", "")
            return
        if account != self.account:
            self.fail(h, 404, "ResourceNotFound", "The specified resource does not exist.", "anon")
            return
        if not h.headers.get("x-ms-version"):
            self.fail(h, 400, "MissingRequiredHeader", "An HTTP header that's mandatory for this request is not specified.",
                      "anon")
            return
        listing = not blob and query.get("comp") == ["list"] and query.get("restype") == ["container"]
        auth = h.headers.get("Authorization", "")
        if auth.startswith("SharedKey "):
            how = "sharedkey"
            why = self.check_shared_key(h, auth)
        elif auth.startswith("Bearer "):
            how = "bearer"
            expiry = self.tokens.get(auth[len("Bearer "):])
            why = "" if expiry is not None and expiry > time.time() else "The token is expired or not valid."
        elif "sig" in query:
            how = "sas"
            why = self.check_sas(query, container, "l" if listing else "r")
        elif auth:
            how, why = "other", "Authentication scheme not supported"
        else:
            how = "anon"
            why = "" if container in self.public else "anon"
        if why == "anon":
            # A private container answers anonymous callers as if nothing were there.
            self.fail(h, 404, "ResourceNotFound", "The specified resource does not exist.", how)
            return
        if why:
            code = "AuthorizationFailure" if how == "sas" else "AuthenticationFailed"
            self.fail(h, 403, code, "Server failed to authenticate the request. " + why, how)
            return
        if container not in self.buckets:
            self.fail(h, 404, "ContainerNotFound", "The specified container does not exist.", how)
            return
        if listing:
            self.list_blobs(h, container, query, how)
            return
        path = self.file_of(container, blob)
        if path is None:
            self.fail(h, 404, "BlobNotFound", "The specified blob does not exist.", how)
            return
        self.send_object(h, path, how, suffix_ranges=False)

    def entra_token(self, h, tenant: str) -> None:
        """The client-credentials grant of Microsoft Entra ID, for the Blob service's scope."""
        length = int(h.headers.get("Content-Length", "0"))
        form = {k: v[0] for k, v in parse_qs(h.rfile.read(length).decode(), keep_blank_values=True).items()}
        secret = self.principals.get((tenant, form.get("client_id", "")))
        assertion = self.federated.get((tenant, form.get("client_id", "")))
        if form.get("grant_type") != "client_credentials" or form.get("scope") != "https://storage.azure.com/.default":
            answer = (400, {"error": "invalid_request", "error_description": "AADSTS900144: grant or scope"})
        elif "client_assertion" in form:
            if (form.get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
                    or assertion is None or not secrets.compare_digest(assertion, form["client_assertion"])):
                answer = (401, {"error": "invalid_client", "error_description": "AADSTS700024: Client assertion is not valid."})
            else:
                answer = (200, {"token_type": "Bearer", "expires_in": self.token_lifetime,
                                "access_token": self.issue_token()})
        elif secret is None or not secrets.compare_digest(secret, form.get("client_secret", "")):
            answer = (401, {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
        else:
            answer = (200, {"token_type": "Bearer", "expires_in": self.token_lifetime, "access_token": self.issue_token()})
        self.record(h, answer[0], "")
        h.send(answer[0], {"Content-Type": "application/json"}, json.dumps(answer[1]).encode())

    def check_shared_key(self, h, auth: str) -> str:
        from azure.core.pipeline import PipelineContext, PipelineRequest
        from azure.core.pipeline.transport import HttpRequest
        from azure.storage.blob._shared.authentication import SharedKeyCredentialPolicy

        date = h.headers.get("x-ms-date", "")
        try:
            if abs(parsedate_to_datetime(date).timestamp() - time.time()) > 900:
                return "x-ms-date is more than 15 minutes away"
        except (TypeError, ValueError):
            return "x-ms-date is not an HTTP date"
        headers = {k.lower(): v for k, v in h.headers.items()}
        # The SDK sends x-ms-range and leaves the standard Range slot to a name no request has;
        # the service signs the Range header there.
        if "range" in headers:
            headers["byte_range"] = headers["range"]
        request = HttpRequest(h.command, f"http://{h.headers.get('Host')}{h.path}", headers=headers)
        SharedKeyCredentialPolicy(self.account, self.key).on_request(PipelineRequest(request, PipelineContext(None)))
        if not secrets.compare_digest(request.headers["Authorization"], auth):
            return "The MAC signature found in the HTTP request is not the same as any computed signature."
        return ""

    def check_sas(self, query: dict, container: str, permission: str) -> str:
        from azure.storage.blob import generate_container_sas

        fields = {k: v[0] for k, v in query.items()}
        if fields.get("sr") != "c":
            return "Signature fields not well formed."
        want = generate_container_sas(self.account, container, account_key=self.key, permission=fields.get("sp"),
                                      expiry=fields.get("se"), start=fields.get("st"))
        want_sig = parse_qs(want)["sig"][0]
        if not secrets.compare_digest(want_sig, fields.get("sig", "")) or parse_qs(want).get("sv") != [fields.get("sv")]:
            return "Signature did not match."
        expiry = fields.get("se", "")
        if not expiry or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()) >= expiry:
            return "Signed expiry time has to be after signed start time / the token has expired."
        if permission not in fields.get("sp", ""):
            return "This request is not authorized to perform this operation using this permission."
        return ""

    def list_blobs(self, h, container: str, query: dict, how: str) -> None:
        prefix = query.get("prefix", [""])[0]
        marker = query.get("marker", [""])[0]
        names = self.names_under(container, prefix)
        chunk, nxt = self.page(names, marker)
        items = []
        for name, is_prefix in chunk:
            if is_prefix:
                items.append(f"<BlobPrefix><Name>{escape(name)}</Name></BlobPrefix>")
            else:
                items.append(f"<Blob><Name>{escape(name)}</Name><Properties /></Blob>")
        body = ('<?xml version="1.0" encoding="utf-8"?>'
                f'<EnumerationResults ServiceEndpoint="{self.endpoint}/" ContainerName="{escape(container)}">'
                f"<Prefix>{escape(prefix)}</Prefix><Delimiter>/</Delimiter><Blobs>{''.join(items)}</Blobs>"
                f"<NextMarker>{escape(nxt)}</NextMarker></EnumerationResults>").encode()
        self.record(h, 200, how)
        h.send(200, {"Content-Type": "application/xml"}, body)


def rsa_key_pair() -> tuple[str, bytes]:
    """A fresh 2048-bit RSA key: (private key as PKCS#8 PEM text, public key PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def sdk_available() -> bool:
    try:
        import azure.storage.blob  # noqa: F401
        import cryptography  # noqa: F401
    except ImportError:
        return False
    return True


def account_key() -> str:
    """A random account key as Azure shows one (64 bytes, base64)."""
    return base64.b64encode(hashlib.sha512(secrets.token_bytes(32)).digest()).decode()
