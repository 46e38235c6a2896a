"""Fixtures for the MAAS emulator tests: a running emulator and small signed HTTP clients for it."""

import base64
import http.client
import json
import os
import sys
import time
import uuid
from urllib.parse import urlencode, urlsplit

import pytest

LAB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab"))
if LAB not in sys.path:
    sys.path.insert(0, LAB)

from gough_lab.testing import start_maas_emulator  # noqa: E402  pylint: disable=wrong-import-position

FAST = ("--commission-seconds", "0.3", "--deploy-seconds", "0.5", "--release-seconds", "0.3", "--erase-seconds", "0.5")


class Response:
    """What a test needs from a response."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def oauth_header(key, *, nonce=None, timestamp=None, quoted=True, realm=True, encoded_signature=False, version=True):
    """An OAuth PLAINTEXT Authorization header for ``ck:tk:ts``, in the spelling a test wants."""
    consumer, token, secret = key.split(":")
    signature = ("%26" if encoded_signature else "&") + secret
    fields = [("oauth_consumer_key", consumer), ("oauth_token", token), ("oauth_signature_method", "PLAINTEXT"),
              ("oauth_signature", signature), ("oauth_nonce", nonce or uuid.uuid4().hex),
              ("oauth_timestamp", str(int(time.time()) if timestamp is None else timestamp))]
    if version:
        fields.insert(0, ("oauth_version", "1.0"))
    if realm:
        fields.insert(0, ("realm", "OAuth"))
    fmt = '%s="%s"' if quoted else "%s=%s"
    return "OAuth " + ", ".join(fmt % pair for pair in fields)


def multipart(fields, base64_parts=True):
    """Encode ``[(name, value)]`` as multipart/form-data, parts base64-encoded like the MAAS CLI and libmaas."""
    boundary = uuid.uuid4().hex
    chunks = []
    for name, value in fields:
        data = value if isinstance(value, bytes) else str(value).encode()
        headers = 'Content-Disposition: form-data; name="%s"\r\n' % name
        if base64_parts:
            headers += "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n"
            data = base64.b64encode(data)
        chunks.append(b"--" + boundary.encode() + b"\r\n" + headers.encode() + b"\r\n" + data + b"\r\n")
    chunks.append(b"--" + boundary.encode() + b"--\r\n")
    return "multipart/form-data; boundary=%s" % boundary, b"".join(chunks)


def as_pairs(params):
    """Turn a dict (list values repeat the field) or list of pairs into pairs."""
    if params is None:
        return []
    if isinstance(params, dict):
        pairs = []
        for name, value in params.items():
            for item in (value if isinstance(value, (list, tuple)) else [value]):
                pairs.append((name, item))
        return pairs
    return list(params)


class MAASClient:
    """A tiny signed client; ``key=None`` sends anonymous requests."""

    def __init__(self, emulator, key):
        self.emulator = emulator
        self.key = key

    def request(self, method, path, params=None, *, query=None, encoding="multipart", headers=None, raw_body=None):
        """Send ``method`` to ``path`` (relative to api/2.0/ unless it starts with /)."""
        parts = urlsplit(self.emulator.url)
        full = path if path.startswith("/") else "/MAAS/api/2.0/" + path
        query_pairs = as_pairs(query)
        body = b""
        send_headers = dict(headers or {})
        if method in ("GET", "DELETE"):
            query_pairs += as_pairs(params)
        elif raw_body is not None:
            body = raw_body
        elif encoding == "multipart" and as_pairs(params):
            send_headers["Content-Type"], body = multipart(as_pairs(params))
        elif encoding == "urlencoded":
            send_headers["Content-Type"] = "application/x-www-form-urlencoded"
            body = urlencode(as_pairs(params)).encode()
        if query_pairs:
            full += "?" + urlencode(query_pairs)
        if self.key and "Authorization" not in send_headers:
            send_headers["Authorization"] = oauth_header(self.key)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        try:
            conn.request(method, full, body=body if method not in ("GET", "DELETE") else None, headers=send_headers)
            response = conn.getresponse()
            return Response(response.status, response.headers, response.read())
        finally:
            conn.close()

    def get(self, path, params=None, **kw):
        return self.request("GET", path, params, **kw)

    def post(self, path, params=None, **kw):
        return self.request("POST", path, params, **kw)

    def put(self, path, params=None, **kw):
        return self.request("PUT", path, params, **kw)

    def delete(self, path, params=None, **kw):
        return self.request("DELETE", path, params, **kw)

    def op(self, path, op, params=None, method="POST"):
        """Call ``op`` on ``path`` the way libmaas does (op in the query string)."""
        return self.request(method, path, params, query={"op": op})

    def machine(self, system_id):
        response = self.get("machines/%s/" % system_id)
        assert response.status == 200, response
        return response.json()

    def wait_status(self, system_id, statuses, timeout=15):
        """Poll until the machine's status_name is one of ``statuses``."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.machine(system_id)
            if data["status_name"] in statuses:
                return data
            if time.monotonic() > deadline:
                raise AssertionError("%s stayed %s, wanted %s" % (system_id, data["status_name"], statuses))
            time.sleep(0.05)


@pytest.fixture
def maas_emulator(tmp_path):
    """A MAAS emulator on a free port with a fresh state directory; stopped after the test."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=0, seed=1)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def lab(tmp_path):
    """A fast-timing emulator with 8 seeded Ready machines."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=8, seed=7, extra_args=FAST)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def admin(lab):
    """Admin client for ``lab``."""
    return MAASClient(lab, lab.api_key)


@pytest.fixture
def user(lab):
    """Non-admin client for ``lab``."""
    return MAASClient(lab, lab.user_api_key)


@pytest.fixture
def anon(lab):
    """Anonymous client for ``lab``."""
    return MAASClient(lab, None)
