"""Fleet emulator: state across restart and kill -9, fault injection, lab config, TLS options."""

import http.client
import os
import ssl

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


def test_state_survives_restart_and_kill(fleet):
    team = fleet.api("POST", "teams", {"name": "keep"}).json()["team"]
    fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1"})
    fake = FakeOsqueryHost(fleet, "persist-1")
    fake.checkin()
    before = fleet.api("GET", "hosts/identifier/persist-1").json()["host"]
    token, secret, url, ca = fleet.api_token, fleet.enroll_secret, fleet.url, open(fleet.ca_cert).read()
    login = fleet.api("POST", "login", fleet.admin, token=None).json()["token"]
    for how in ("restart", "kill"):
        if how == "kill":
            fleet.kill()
            fleet.restart()
        else:
            fleet.restart()
        assert (fleet.api_token, fleet.enroll_secret, fleet.url) == (token, secret, url)
        assert open(fleet.ca_cert).read() == ca
        after = fleet.api("GET", "hosts/identifier/persist-1").json()["host"]
        for key in ("id", "uuid", "os_version", "primary_ip", "created_at"):
            assert after[key] == before[key], key
        assert after["policies"][0]["response"] == "pass"
        assert fleet.api("GET", "teams/%d" % team["id"]).json()["team"]["name"] == "keep"
        assert fleet.api("GET", "me", token=login).status == 200
        # The node key still works: no re-enrollment needed.
        assert fake.checkin() and fake.enrollments == 1
    assert fleet.api("POST", "teams", {"name": "new"}).json()["team"]["id"] == team["id"] + 1


def test_503_502_429_are_answered_without_processing(fleet):
    fleet.reset_stats()
    for setting, status in (("fault_503", 503), ("fault_502", 502), ("fault_429", 429)):
        fleet.configure(**{setting: 1.0})
        response = fleet.api("POST", "teams", {"name": "t%d" % status})
        assert response.status == status
        assert response.json()["message"]
        if status == 429:
            assert response.headers["Retry-After"] == "1"
        fleet.configure(**{setting: 0.0})
    stats = fleet.stats()
    assert stats["faults"]["503"] == stats["faults"]["502"] == stats["faults"]["429"] == 1
    assert stats["writes"] == 0 and fleet.api("GET", "teams").json()["teams"] == []


def test_osquery_api_is_not_faulted(fleet):
    fleet.configure(fault_503=1.0)
    assert FakeOsqueryHost(fleet, "f").enroll().status == 200
    assert fleet.api("GET", "hosts").status == 503


def test_connection_resets_act_at_most_once(fleet):
    fleet.configure(fault_reset=1.0)
    fleet.reset_stats()
    attempts = 10
    for number in range(attempts):
        with pytest.raises((ConnectionError, http.client.RemoteDisconnected, http.client.BadStatusLine, ssl.SSLError)):
            fleet.api("POST", "teams", {"name": "reset-%d" % number})
    fleet.configure(fault_reset=0.0)
    stats = fleet.stats()
    after = stats["faults"]["reset_after"]
    assert stats["faults"]["reset_before"] + after == attempts and after > 0
    assert len(fleet.api("GET", "teams").json()["teams"]) == after == stats["writes"]


def test_slow_and_config_validation(fleet):
    fleet.configure(fault_slow=1.0, slow_seconds=0.3)
    assert fleet.api("GET", "me").status == 200
    assert fleet.stats()["faults"]["slow"] == 1
    with pytest.raises(Exception) as info:
        fleet.configure(fault_503=2)
    assert "400" in str(info.value)
    with pytest.raises(Exception):
        fleet.configure(bogus=1)


def test_fault_sequence_is_reproducible(tmp_path):
    runs = []
    for run in range(2):
        with start_fleet_emulator(tmp_path / ("r%d" % run), seed=5, fault_503=0.5) as fleet:
            runs.append([fleet.api("GET", "me").status for _attempt in range(20)])
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503}


def test_extra_sans_and_reissue(tmp_path):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    state = tmp_path / "f"
    with start_fleet_emulator(state, tls_sans=["fleet.lab", "172.30.90.1"]) as fleet:
        cert = x509.load_pem_x509_certificate(open(os.path.join(fleet.state_dir, "server.crt"), "rb").read())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert {str(v.value) for v in sans} == {"127.0.0.1", "localhost", "fleet.lab", "172.30.90.1"}
        ca_before = open(fleet.ca_cert).read()
    with start_fleet_emulator(state) as fleet:
        cert = x509.load_pem_x509_certificate(open(os.path.join(fleet.state_dir, "server.crt"), "rb").read())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert {str(v.value) for v in sans} == {"127.0.0.1", "localhost"}
        assert open(fleet.ca_cert).read() == ca_before
        assert fleet.api("GET", "me").status == 200


def test_own_certificate(tmp_path):
    """--tls-cert/--tls-key/--tls-ca: serve another CA's certificate; ca.crt is that CA."""
    from gough_lab.fleet.tlsca import ensure_certificates  # pylint: disable=import-outside-toplevel
    other = tmp_path / "other"
    other.mkdir()
    cert, key, ca = ensure_certificates(str(other))
    with start_fleet_emulator(tmp_path / "f", extra_args=["--tls-cert", cert, "--tls-key", key, "--tls-ca", ca]) as fleet:
        assert open(fleet.ca_cert).read() == open(ca).read()
        assert fleet.api("GET", "me").status == 200
        assert not os.path.exists(os.path.join(fleet.state_dir, "ca.key"))
