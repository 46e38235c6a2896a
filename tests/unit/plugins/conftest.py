# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the MAAS client and module tests: the lab MAAS emulator (the one MAAS the tests use), and a wire
tap in front of it.

The tap records every request (headers and raw body included) and forwards it to the emulator, or plays back what
the test scripted on the wire (resets, closes, a proxy's error page), so tests can assert on exactly what went over
the wire while MAAS's answers come from the emulator.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import datetime
import http.client
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

# Response headers that belong to one hop: the tap sets its own.
HOP_HEADERS = ("connection", "keep-alive", "transfer-encoding", "content-length")


class Recorded(object):
    """One request as the tap saw it."""

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


class MAASWireTap(object):
    """An HTTP hop between the client under test and the lab MAAS emulator: it records every request (headers and
    raw body included) and forwards it to the emulator, which answers as MAAS does, unless the test scripted
    what happens on the wire instead.

    The tap is not a MAAS: it has no MAAS behaviour of its own. What it scripts is what a network, a proxy or load
    balancer in front of MAAS, or a MAAS that crashed mid-request can do, and what the emulator's rate-based fault
    injection cannot put in a fixed order. ``script(action, ...)`` queues actions consumed one per request, in
    order; when the queue is empty requests are forwarded. Actions: ``("forward",)``; ``("forward_then_reset",)``
    (MAAS handles the request, then the connection dies before the answer: the effect happened, the client cannot
    know); ``("reset",)`` (read the request, abort the connection with RST without forwarding it); ``("close",)``
    (read it, close without answering); ``("json", status, obj[, headers])`` and ``("text", status, text[,
    headers])`` (answer without forwarding, as a proxy's error page or a misbehaving server would); ``("slow",
    seconds, action)`` (wait, then play ``action``); or a callable ``(handler, recorded) -> action``. A ``"_drop":
    True`` entry in an action's headers closes the connection after the answer without announcing it (an idle
    keep-alive timeout, in effect). With ``ssl_context`` the tap speaks HTTPS to the client.
    """

    def __init__(self, upstream, ssl_context=None):
        self.upstream = upstream
        self.requests = []
        self.actions = collections.deque()
        self.lock = threading.Lock()
        self.connections = 0
        tap = self
        target = urlsplit(upstream.url)

        def forward(recorded, raw_path):
            headers = {name: value for name, value in recorded.headers.items()
                       if name not in ("host", "connection", "keep-alive")}
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
            try:
                conn.request(recorded.method, raw_path, body=recorded.body, headers=headers)
                response = conn.getresponse()
                return (response.status, [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_HEADERS],
                        response.read())
            finally:
                conn.close()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                BaseHTTPRequestHandler.setup(self)
                with tap.lock:
                    tap.connections += 1

            def _reset(self):
                # SO_LINGER 0 makes close() send RST: the client sees a reset, not a clean EOF.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def _answer(self, status, headers, payload, drop=False):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                if drop:
                    self.wfile.flush()
                    self.close_connection = True

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                recorded = Recorded(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True),
                                    dict((k.lower(), v) for k, v in self.headers.items()), body)
                with tap.lock:
                    tap.requests.append(recorded)
                    action = tap.actions.popleft() if tap.actions else None
                if callable(action):
                    action = action(self, recorded)
                action = action or ("forward",)
                while action[0] == "slow":
                    time.sleep(action[1])
                    action = action[2]
                kind = action[0]
                if kind == "reset":
                    self._reset()
                    return
                if kind == "close":
                    self.close_connection = True
                    return
                if kind in ("forward", "forward_then_reset"):
                    status, headers, payload = forward(recorded, self.path)
                    if kind == "forward_then_reset":
                        self._reset()
                        return
                    self._answer(status, headers, payload)
                    return
                headers = dict(action[3]) if len(action) > 3 else {}
                drop = headers.pop("_drop", False)
                if kind == "json":
                    payload = json.dumps(action[2]).encode()
                    content_type = "application/json; charset=utf-8"
                else:
                    payload = (action[2] or "").encode()
                    content_type = "text/plain; charset=utf-8"
                self._answer(status=action[1], headers=[("Content-Type", content_type)] + list(headers.items()),
                             payload=payload, drop=drop)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.url = "%s://127.0.0.1:%d/MAAS" % ("https" if ssl_context else "http", self.port)
        self.api_key = upstream.api_key
        self.secret_parts = tuple(upstream.api_key.split(":"))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def script(self, *actions):
        """Queue actions for the next requests (see the class docstring)."""
        with self.lock:
            self.actions.extend(actions)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def tap_upstream(tmp_path_factory):
    """One lab MAAS emulator (4 Ready machines) behind the taps of a session; tests name what they create."""
    from gough_lab import testing  # pylint: disable=import-outside-toplevel
    emulator = testing.start_maas_emulator(str(tmp_path_factory.mktemp("maas-behind-tap")), machines=4)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def maas_tap(tap_upstream):
    """A ``MAASWireTap`` in front of the session's MAAS emulator; stopped after the test."""
    tap = MAASWireTap(tap_upstream)
    try:
        yield tap
    finally:
        tap.stop()


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
def maas_tap_tls(tap_upstream, tls_files):
    """A ``MAASWireTap`` speaking HTTPS with the ``tls_files`` server certificate."""
    tap = MAASWireTap(tap_upstream, ssl_context=tls_files.server_context())
    try:
        yield tap
    finally:
        tap.stop()


@pytest.fixture
def maas_tap_tls_wrong_name(tap_upstream, tls_files):
    """A ``MAASWireTap`` on HTTPS whose certificate (signed by the test CA) names maas.test, not 127.0.0.1."""
    tap = MAASWireTap(tap_upstream, ssl_context=tls_files.server_context(tls_files.wrong_name_cert))
    try:
        yield tap
    finally:
        tap.stop()
