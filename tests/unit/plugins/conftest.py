# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the MAAS client tests: a scriptable fake MAAS on 127.0.0.1, and the lab emulator when present.

The fake is deliberately small: it records every request (headers and raw body included) and plays back
scripted answers or faults, so tests can assert on exactly what went over the wire.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import datetime
import ipaddress
import json
import os
import socket
import ssl
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

CONSUMER, TOKEN, SECRET = "cOnSuMeRkEy1234567", "tOkEnKeY7654321abc", "sEcReTvAlUe0123456789abcdefghijk"
API_KEY = "%s:%s:%s" % (CONSUMER, TOKEN, SECRET)


class Recorded(object):
    """One request as the fake server saw it."""

    def __init__(self, method, path, query, headers, body):
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body

    @property
    def op(self):
        return dict(self.query).get("op")

    def __repr__(self):
        return "Recorded(%s %s %r)" % (self.method, self.path, self.query)


class FakeMAAS(object):
    """A threaded HTTP/1.1 server that answers like MAAS, with scripted overrides.

    ``script(action, ...)`` queues actions consumed one per request, in order; when the queue is empty the
    default routes answer. Actions: ``("json", status, obj[, headers])``, ``("text", status, text[, headers])``,
    ``("reset",)`` (read the request, then abort the connection with RST), ``("close",)`` (read it, close
    without answering), ``("slow", seconds, action)`` (wait, then play ``action``), or a callable
    ``(handler, recorded) -> action`` for stateful behaviour. A ``"_drop": True`` entry in an action's headers
    closes the connection after the answer without announcing it (an idle keep-alive timeout, in effect).
    With ``ssl_context`` the server speaks HTTPS.
    """

    def __init__(self, ssl_context=None):
        self.requests = []
        self.actions = collections.deque()
        self.lock = threading.Lock()
        self.connections = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                BaseHTTPRequestHandler.setup(self)
                with fake.lock:
                    fake.connections += 1

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                                    dict((k.lower(), v) for k, v in self.headers.items()), body)
                with fake.lock:
                    fake.requests.append(recorded)
                    action = fake.actions.popleft() if fake.actions else None
                if callable(action):
                    action = action(self, recorded)
                if action is None:
                    action = fake.default(recorded)
                while action[0] == "slow":
                    time.sleep(action[1])
                    action = action[2]
                kind = action[0]
                if kind == "reset":
                    # SO_LINGER 0 makes close() send RST: the client sees a reset, not a clean EOF.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                if kind == "close":
                    self.close_connection = True
                    return
                status = action[1]
                headers = dict(action[3]) if len(action) > 3 else {}
                drop = headers.pop("_drop", False)
                if kind == "json":
                    payload = json.dumps(action[2]).encode()
                    content_type = "application/json; charset=utf-8"
                else:
                    payload = (action[2] or "").encode()
                    content_type = "text/plain; charset=utf-8"
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
                if drop:
                    self.wfile.flush()
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d/MAAS" % ("https" if ssl_context else "http", self.port)
        self.api_key = API_KEY
        self.secret_parts = (CONSUMER, TOKEN, SECRET)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def default(self, recorded):
        """MAAS-like answers for the few endpoints the tests touch; checks the OAuth header first."""
        if not check_oauth_header(recorded.headers.get("authorization", "")):
            return ("text", 401, "Authorization Error: Invalid API key.")
        if recorded.path == "/MAAS/api/2.0/version/":
            return ("json", 200, {"version": "3.6.1", "subversion": "", "capabilities": ["authenticate-api"]})
        if recorded.path == "/MAAS/api/2.0/users/" and recorded.op == "whoami":
            return ("json", 200, {"username": "admin", "email": "admin@example.com", "is_superuser": True,
                                  "is_local": True})
        return ("json", 200, {"method": recorded.method, "path": recorded.path})

    def script(self, *actions):
        """Queue actions for the next requests (see the class docstring)."""
        with self.lock:
            self.actions.extend(actions)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def check_oauth_header(value):
    """True if ``value`` is the exact PLAINTEXT header the client must send for the test key."""
    if not value.startswith("OAuth "):
        return False
    fields = {}
    for item in value[len("OAuth "):].split(", "):
        name, quoted = item.split("=", 1) if "=" in item else (item, "")
        if not (quoted.startswith('"') and quoted.endswith('"')):
            return False
        fields[name] = quoted[1:-1]
    return (fields.get("oauth_version") == "1.0" and fields.get("oauth_signature_method") == "PLAINTEXT"
            and fields.get("oauth_consumer_key") == CONSUMER and fields.get("oauth_token") == TOKEN
            and fields.get("oauth_signature") == "&" + SECRET and bool(fields.get("oauth_nonce"))
            and fields.get("oauth_timestamp", "").isdigit())


@pytest.fixture
def fake_maas():
    """A running ``FakeMAAS``; stopped after the test."""
    server = FakeMAAS()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def closed_port():
    """A TCP port on 127.0.0.1 that nothing listens on (bound, then released)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def lab_maas_factory(tmp_path):
    """Start lab MAAS emulators (``start_maas_emulator(tmp_dir, **kwargs)``); all are stopped after the test.

    The lab is part of the collection and `make setup` installs it, so its absence is an error, not a skip.
    """
    from gough_lab import testing  # pylint: disable=import-outside-toplevel
    started = []

    def start(**kwargs):
        state = tmp_path / ("maas-%d" % len(started))
        os.makedirs(str(state))
        emulator = testing.start_maas_emulator(str(state), **kwargs)
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in started:
            emulator.stop()


class TLSFiles(object):
    """Paths of a throw-away CA and a server certificate for 127.0.0.1 and localhost signed by it."""

    def __init__(self, ca_cert, server_cert, server_key, other_ca_cert, wrong_name_cert):
        self.ca_cert = ca_cert
        self.server_cert = server_cert
        self.server_key = server_key
        self.other_ca_cert = other_ca_cert
        self.wrong_name_cert = wrong_name_cert

    def server_context(self, cert=None):
        """Server-side SSL context presenting ``cert`` (default: the certificate for 127.0.0.1)."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert or self.server_cert, self.server_key)
        return context


def _make_ca(name):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A CA, a server certificate it signed (SAN 127.0.0.1 and localhost), one it signed for another name
    only (same key), and an unrelated second CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    directory = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _make_ca("Gough test CA")
    other_ca = _make_ca("Unrelated CA")[1]
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)

    def server_cert(names):
        return (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "maas.test")]))
                .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                               critical=False)
                .sign(ca_key, hashes.SHA256()))

    cert = server_cert([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    wrong_name = server_cert([x509.DNSName("maas.test")])
    paths = {}
    for name, obj in (("ca.pem", ca_cert), ("server.pem", cert), ("other-ca.pem", other_ca),
                      ("wrong-name.pem", wrong_name)):
        paths[name] = str(directory / name)
        with open(paths[name], "wb") as handle:
            handle.write(obj.public_bytes(serialization.Encoding.PEM))
    paths["server.key"] = str(directory / "server.key")
    with open(paths["server.key"], "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return TLSFiles(paths["ca.pem"], paths["server.pem"], paths["server.key"], paths["other-ca.pem"],
                    paths["wrong-name.pem"])


@pytest.fixture
def fake_maas_tls(tls_files):
    """A ``FakeMAAS`` speaking HTTPS with the ``tls_files`` server certificate."""
    server = FakeMAAS(ssl_context=tls_files.server_context())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def fake_maas_tls_wrong_name(tls_files):
    """A ``FakeMAAS`` on HTTPS whose certificate (signed by the test CA) names maas.test, not 127.0.0.1."""
    server = FakeMAAS(ssl_context=tls_files.server_context(tls_files.wrong_name_cert))
    try:
        yield server
    finally:
        server.stop()
