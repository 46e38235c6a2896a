"""gough_tls_cert_not_after_seconds: the agent reports when its own certificates expire (GoughCertificateExpiring)."""

import datetime
import os
import shutil

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from conftest import issue, make_ca  # pylint: disable=import-error
from test_agent_metrics import load_module, parse_exposition, series  # pylint: disable=import-error


def not_after(path):
    """The certificate's notAfter (Unix seconds), read with cryptography."""
    with open(path, "rb") as handle:
        return x509.load_pem_x509_certificate(handle.read()).not_valid_after_utc.timestamp()


def metrics(agent, pki):
    status, _headers, body = agent.request("/metrics", context=pki.client_context(pki.client))
    assert status == 200
    return parse_exposition(body.decode("utf-8"))


def test_server_certificate_and_client_ca_expiry_are_exported(agent_factory, pki):
    """cert="server" is the agent's own certificate, cert="client_ca" the CA that signs the scrapers' certificates."""
    families = metrics(agent_factory(), pki)
    assert families["gough_tls_cert_not_after_seconds"]["type"] == "gauge"
    assert series(families, "gough_tls_cert_not_after_seconds", cert="server") == not_after(pki.server[0])
    assert series(families, "gough_tls_cert_not_after_seconds", cert="client_ca") == not_after(pki.ca_cert)
    assert series(families, "gough_agent_collector_success", collector="certificates") == 1


def test_a_renewed_certificate_file_is_read_again_without_a_restart(agent_factory, pki, tmp_path):
    """The file is parsed again when it changes (the stack's renewal replaces it), not on every scrape."""
    cert, key = (str(tmp_path / "agent.crt"), str(tmp_path / "agent.key"))
    shutil.copy(pki.server[0], cert)
    shutil.copy(pki.server[1], key)
    agent = agent_factory(tls_cert=cert, tls_key=key)
    assert series(metrics(agent, pki), "gough_tls_cert_not_after_seconds", cert="server") == not_after(cert)
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=400)
    renewed, _renewed_key = issue(str(tmp_path), "renewed", pki.ca, "server", not_after=later)
    os.replace(renewed, cert)
    assert series(metrics(agent, pki), "gough_tls_cert_not_after_seconds", cert="server") == not_after(cert)
    assert not_after(cert) == int(later.timestamp())


def test_an_unreadable_certificate_fails_only_its_collector(agent_factory, pki, tmp_path):
    """A CA file that stops being a certificate: collector "certificates" reports 0, the other metrics stay."""
    ca = str(tmp_path / "ca.crt")
    shutil.copy(pki.ca_cert, ca)
    agent = agent_factory(tls_client_ca=ca)
    with open(ca, "w", encoding="ascii") as handle:
        handle.write("not a certificate\n")
    families = metrics(agent, pki)
    assert series(families, "gough_agent_collector_success", collector="certificates") == 0
    assert "gough_tls_cert_not_after_seconds" not in families
    assert series(families, "gough_agent_collector_success", collector="cpu") == 1


def test_plain_http_has_no_certificate_metric(agent_factory):
    status, _headers, body = agent_factory(tls=False).request("/metrics")
    assert status == 200 and b"gough_tls_cert_not_after_seconds" not in body


def test_pem_parsing_matches_cryptography(tmp_path):
    """UTCTime (before 2050) and GeneralizedTime (from 2050, RFC 5280 4.1.2.5) notAfter; a bundle reports every
    certificate; text without a certificate or with a broken one is an error."""
    module = load_module()
    ca = make_ca(str(tmp_path), "bundle-ca")
    far = datetime.datetime(2051, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc)
    near = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(days=3)
    far_cert = issue(str(tmp_path), "far", ca, "server", not_after=far)[0]
    near_cert = issue(str(tmp_path), "near", ca, "client", not_after=near)[0]
    text = "".join(open(path, encoding="ascii").read() for path in (far_cert, ca[2], near_cert))
    assert module.pem_certificates_not_after(text) == [far.timestamp(), not_after(ca[2]), near.timestamp()]
    der = ca[0].public_bytes(serialization.Encoding.DER)
    assert module.certificate_not_after(der) == not_after(ca[2])
    for bad in ("no certificate here", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                "-----BEGIN CERTIFICATE-----\nMIIB"):
        with pytest.raises(ValueError):
            module.pem_certificates_not_after(bad)
