"""gough-agent reloads its certificate on SIGHUP (systemctl reload, run by playbooks/renew.yml): new connections
get the new certificate, a connection already open finishes on the old one, and a certificate that does not load
leaves the old one in use."""

import http.client
import os
import select
import shutil
import signal
import time

from cryptography import x509

from conftest import issue


def peer_serial(connection):
    """Serial number of the certificate the agent presented on this connection."""
    return x509.load_der_x509_certificate(connection.sock.getpeercert(binary_form=True)).serial_number


def file_serial(path):
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read()).serial_number


def get(connection, path="/healthz"):
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    return response.status


def wait_for_log(agent, text, timeout=10):
    """Read the agent's stderr until a line containing ``text`` (the agent logs every reload)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        ready, _w, _x = select.select([agent.process.stderr], [], [], 0.2)
        if not ready:
            continue
        line = agent.process.stderr.readline()
        seen.append(line)
        if text in line:
            return line
    raise AssertionError("no %r in the agent's log: %s" % (text, "".join(seen)))


def copy_server_cert(pki, directory):
    cert, key = os.path.join(directory, "agent.crt"), os.path.join(directory, "agent.key")
    shutil.copy(pki.server[0], cert)
    shutil.copy(pki.server[1], key)
    return cert, key


def test_sighup_serves_the_renewed_certificate_to_new_connections_and_lets_open_ones_finish(
        agent_factory, pki, tmp_path):
    cert, key = copy_server_cert(pki, str(tmp_path))
    agent = agent_factory(tls_cert=cert, tls_key=key)
    old = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=10, context=pki.client_context(pki.client))
    try:
        assert get(old) == 200
        assert peer_serial(old) == file_serial(cert)
        old_serial = peer_serial(old)
        # The renewal writes a new key and certificate in place, then reloads the agent.
        os.makedirs(tmp_path / "new")
        renewed = issue(str(tmp_path / "new"), "agent", pki.ca, "server")
        shutil.copy(renewed[0], cert)
        shutil.copy(renewed[1], key)
        agent.process.send_signal(signal.SIGHUP)
        wait_for_log(agent, "reloaded the TLS certificate")
        new = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=10, context=pki.client_context(pki.client))
        try:
            assert get(new, "/metrics") == 200
            assert peer_serial(new) == file_serial(cert) != old_serial
        finally:
            new.close()
        # The connection opened before the reload keeps working (keep-alive, as Prometheus scrapes) on its certificate.
        assert get(old, "/metrics") == 200
        assert peer_serial(old) == old_serial
    finally:
        old.close()
    assert agent.process.poll() is None


def test_sighup_with_a_broken_certificate_keeps_the_old_one(agent_factory, pki, tmp_path):
    cert, key = copy_server_cert(pki, str(tmp_path))
    agent = agent_factory(tls_cert=cert, tls_key=key)
    before = agent.request("/healthz", context=pki.client_context(pki.client))[0]
    with open(cert, "w", encoding="utf-8") as handle:
        handle.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
    agent.process.send_signal(signal.SIGHUP)
    line = wait_for_log(agent, "SIGHUP")
    assert "keeping the current certificate" in line and "tls_cert" in line
    connection = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=10,
                                             context=pki.client_context(pki.client))
    try:
        assert before == 200 and get(connection) == 200
        assert peer_serial(connection) == file_serial(pki.server[0])
    finally:
        connection.close()
    assert agent.process.poll() is None
