"""Fixtures for the gough-agent tests: a test PKI made with ``cryptography`` and the agent run as a subprocess.

The agent runs exactly as systemd runs it (``python3 -I -S gough_agent.py --config FILE``) on 127.0.0.1 with port 0;
the fixture reads the port from its start-up line.
"""

import datetime
import http.client
import ipaddress
import json
import os
import re
import select
import ssl
import subprocess
import sys
import time

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
AGENT = os.path.join(ROOT, "roles", "agent", "files", "gough_agent.py")
# The interpreter that runs the agent: this one, or GOUGH_AGENT_PYTHON (for example a Python 3.10, the oldest supported).
PYTHON = os.environ.get("GOUGH_AGENT_PYTHON") or sys.executable
LISTENING = re.compile(r"listening on \S+ port (\d+)")


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(directory, name):
    """A self-signed CA; returns (cert, key, cert path)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(_name(name))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False),
                           critical=True)
            .sign(key, hashes.SHA256()))
    path = os.path.join(directory, name + ".crt")
    with open(path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key, path


def issue(directory, name, ca, usage, not_before=None, not_after=None):
    """A leaf certificate from ``ca`` (server: SAN 127.0.0.1); returns (cert path, key path)."""
    ca_cert, ca_key, _path = ca
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(name)).issuer_name(ca_cert.subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before or now - datetime.timedelta(days=1))
               .not_valid_after(not_after or now + datetime.timedelta(days=10))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if usage == "server"
                                                     else ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if usage == "server":
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path = os.path.join(directory, name + ".crt")
    key_path = os.path.join(directory, name + ".key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(key_path, 0o600)
    return cert_path, key_path


class PKI:
    """Gough's test CA with a server and a client certificate, plus the certificates that must be refused."""

    def __init__(self, directory):
        self.dir = directory
        self.ca = make_ca(directory, "gough-test-ca")
        self.ca_cert = self.ca[2]
        self.server = issue(directory, "agent", self.ca, "server")
        self.client = issue(directory, "prometheus", self.ca, "client")
        other = make_ca(directory, "other-ca")
        self.other_client = issue(directory, "intruder", other, "client")
        past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=5)
        self.expired_client = issue(directory, "expired", self.ca, "client", not_before=past - datetime.timedelta(days=5),
                                    not_after=past)

    def client_context(self, client=None):
        """A client TLS context trusting the test CA, presenting ``client`` (cert, key) if given."""
        context = ssl.create_default_context(cafile=self.ca_cert)
        if client:
            context.load_cert_chain(*client)
        return context


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    """The test PKI (made once per session)."""
    return PKI(str(tmp_path_factory.mktemp("pki")))


class Agent:
    """A running agent subprocess."""

    def __init__(self, process, port, config_path, tls):
        self.process = process
        self.port = port
        self.config_path = config_path
        self.tls = tls

    def request(self, path, method="GET", context=None, headers=None, body=None):
        """(status, headers dict, body bytes) of one request on a fresh connection."""
        if self.tls:
            connection = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=10, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def stop(self):
        """SIGTERM and wait; return the exit status and the remaining stderr."""
        if self.process.poll() is None:
            self.process.terminate()
        try:
            _out, err = self.process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            _out, err = self.process.communicate()
        return self.process.returncode, err


def write_config(directory, config):
    """Write agent.json in ``directory``; return its path."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "agent.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path


def run_agent(config_path, *args, timeout=20):
    """Run the agent to completion (for --check-config and bad configurations)."""
    return subprocess.run([PYTHON, "-I", "-S", AGENT, "--config", config_path] + list(args),
                          capture_output=True, text=True, timeout=timeout, check=False)


def start_agent(config_path, tls=True, timeout=15):
    """Start the agent and wait for its 'listening' line; return an Agent."""
    process = subprocess.Popen([PYTHON, "-I", "-S", AGENT, "--config", config_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([process.stderr], [], [], 0.2)
        if ready:
            line = process.stderr.readline()
            if not line:
                break
            seen.append(line)
            match = LISTENING.search(line)
            if match:
                return Agent(process, int(match.group(1)), config_path, tls)
        elif process.poll() is not None:
            break
    process.kill()
    raise AssertionError("the agent did not start: %s" % "".join(seen + [process.stderr.read() or ""]))


@pytest.fixture
def agent_factory(tmp_path, pki):  # pylint: disable=redefined-outer-name
    """start(**config overrides) -> Agent with mTLS from the test PKI on 127.0.0.1:0; stops them all at the end."""
    started = []

    def start(tls=True, directory=None, **overrides):
        directory = str(directory or tmp_path)
        config = {"listen_address": "127.0.0.1", "port": 0, "state_dir": os.path.join(directory, "state"),
                  "maas_system_id": "abc123", "template": "base", "healthz_checks": ["collectors"]}
        if tls:
            config.update(tls_cert=pki.server[0], tls_key=pki.server[1], tls_client_ca=pki.ca_cert)
        else:
            config["plain_http"] = True
        config.update(overrides)
        agent = start_agent(write_config(directory, config), tls=tls)
        started.append(agent)
        return agent

    yield start
    for agent in started:
        agent.stop()
