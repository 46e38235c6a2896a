"""gough-agent security: mutual TLS refuses every client without a valid certificate from Gough's CA, and
nothing the agent serves carries a secret."""

import http.client
import os
import re
import ssl

import pytest

REFUSED = (ssl.SSLError, ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ConnectionAbortedError)


def handshake_failures(agent, pki):
    """The agent's own count of failed handshakes by reason (read with the good client certificate)."""
    body = agent.request("/metrics", context=pki.client_context(pki.client))[2].decode()
    return {reason: int(count) for reason, count in
            re.findall(r'^gough_agent_tls_handshake_failures_total\{reason="(\w+)"\} (\d+)$', body, re.M)}


@pytest.mark.parametrize("client", ["none", "other_ca", "expired", "server_cert_as_client"])
def test_client_without_a_valid_gough_certificate_is_refused(agent_factory, pki, client):
    agent = agent_factory()
    before = handshake_failures(agent, pki)
    cert = {"none": None, "other_ca": pki.other_client, "expired": pki.expired_client,
            "server_cert_as_client": pki.server}[client]
    for path in ("/metrics", "/healthz"):
        with pytest.raises(REFUSED):
            agent.request(path, context=pki.client_context(cert))
    # server_cert_as_client: a certificate for serverAuth only is not a client certificate (extended key usage).
    reason = "no_certificate" if client == "none" else "bad_certificate"
    after = handshake_failures(agent, pki)
    assert after[reason] == before[reason] + 2
    assert {key: value for key, value in after.items() if key != reason} == \
        {key: value for key, value in before.items() if key != reason}


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_tls_below_1_2_is_refused(agent_factory, pki):
    agent = agent_factory()
    context = pki.client_context(pki.client)
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises(REFUSED):
        agent.request("/metrics", context=context)


def test_the_good_client_gets_tls_1_2_or_newer(agent_factory, pki):
    agent = agent_factory()
    connection = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=10,
                                             context=pki.client_context(pki.client))
    try:
        connection.request("GET", "/healthz")
        assert connection.getresponse().status == 200
        assert connection.sock.version() in ("TLSv1.2", "TLSv1.3")
    finally:
        connection.close()


def test_metrics_and_healthz_never_carry_secrets(agent_factory, pki, tmp_path):
    secret = "hck-3f9a1c0e7b5d42aa9e61"  # the AWX host config key
    # A callback that cannot succeed (nothing listens), so the agent keeps the key in memory while serving.
    agent = agent_factory(callback_url="https://127.0.0.1:9/api/v2/job_templates/1/callback/",
                          callback_host_config_key=secret, callback_ca_file=pki.ca_cert,
                          callback_wait_cloud_init=False, callback_backoff_initial=0.05, callback_backoff_max=0.05,
                          callback_max_attempts=3, healthz_checks=["collectors", "registration"])
    with open(pki.server[1], encoding="ascii") as handle:
        key_pem = handle.read()
    key_body = "".join(line for line in key_pem.splitlines() if "-----" not in line)
    context = pki.client_context(pki.client)
    served = b""
    for path in ("/metrics", "/healthz", "/nope"):
        served += agent.request(path, context=context)[2]
    text = served.decode("utf-8")
    assert secret not in text
    assert "PRIVATE KEY" not in text and key_body[:40] not in text and key_body[-40:] not in text
    assert "host_config_key" not in text
    # The agent does say the callback is pending or failed, just not with what.
    assert 'gough_agent_registration_state{state="disabled"} 0' in text
    _code, stderr = agent.stop()
    assert secret not in stderr  # nor in its log (the journal)
    assert "provisioning callback attempt 1/3 failed" in stderr
    assert not os.path.exists(os.path.join(str(tmp_path), "state", "registration.json"))
