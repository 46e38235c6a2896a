"""gough-fleet-exporter against the lab's Fleet emulator (real REST API over TLS, osquery hosts checking in)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator

from alerts_helpers import EXPORTER, parse, series


@pytest.fixture
def fleet(tmp_path):
    """A Fleet emulator whose hosts go offline 2 s after their last check-in."""
    emulator = start_fleet_emulator(tmp_path / "fleet", distributed_interval=1, online_buffer=1)
    try:
        yield emulator
    finally:
        emulator.stop()


def token_file(tmp_path, token):
    """A 0600 token file like the one the stack role writes."""
    path = tmp_path / "fleet_api_token"
    path.write_text(token + "\n")
    os.chmod(path, 0o600)
    return str(path)


def make_exporter(module, fleet, tmp_path, **options):
    """An Exporter reading ``fleet`` with its API token, TLS verified against the emulator's CA."""
    exporter_options = {key: options.pop(key) for key in ("stale_seconds", "clock") if key in options}
    reader = module.FleetReader(fleet.url, token_file(tmp_path, options.pop("token", fleet.api_token)),
                                ca_file=options.pop("ca_file", fleet.ca_cert), timeout=5, **options)
    return module.Exporter(reader, interval=1, **exporter_options)


def policies_with_results(fleet):
    """Two hosts, a critical and a normal global policy; web-01 fails the critical one, db-01 the normal one."""
    critical = fleet.api("POST", "global/policies", {"name": "Disk encrypted", "critical": True,
                                                     "query": "SELECT 1 FROM gough_disk_check;"}).json()["policy"]
    normal = fleet.api("POST", "global/policies", {"name": 'sshd "hardened"',
                                                   "query": "SELECT 1 FROM gough_ssh_check;"}).json()["policy"]
    web = FakeOsqueryHost(fleet, "web-01", answers={"gough_disk_check": [], "gough_ssh_check": [{"1": "1"}]})
    db = FakeOsqueryHost(fleet, "db-01", address="172.30.90.51",
                         answers={"gough_disk_check": [{"1": "1"}], "gough_ssh_check": []})
    for host in (web, db):
        assert host.checkin()
    return critical, normal, web, db


def test_exports_host_status_and_the_policies_each_host_fails(exporter_module, fleet, tmp_path):
    """Fleet's host list with populate_policies=true becomes gough_fleet_host_online and one
    gough_fleet_host_policy_failing series per (host, failing policy), with the policy's critical flag."""
    critical, normal, _web, _db = policies_with_results(fleet)
    exporter = make_exporter(exporter_module, fleet, tmp_path)
    assert exporter.refresh() is True
    samples = parse(exporter.render())
    assert series(samples, "gough_fleet_up") == {frozenset(): 1.0}
    online = {dict(labels)["hostname"]: value for labels, value in series(samples, "gough_fleet_host_online").items()}
    assert online == {"web-01": 1.0, "db-01": 1.0}
    failing = {(dict(labels)["hostname"], dict(labels)["policy"], dict(labels)["critical"], dict(labels)["policy_id"])
               for labels in series(samples, "gough_fleet_host_policy_failing")}
    assert failing == {("web-01", "Disk encrypted", "true", str(critical["id"])),
                       ("db-01", 'sshd "hardened"', "false", str(normal["id"]))}
    per_policy = series(samples, "gough_fleet_policy_failing_hosts", policy="Disk encrypted", critical="true")
    assert list(per_policy.values()) == [1.0]
    assert list(series(samples, "gough_fleet_policy_passing_hosts", policy="Disk encrypted").values()) == [1.0]
    assert series(samples, "gough_fleet_hosts") == {frozenset({("status", "online")}): 2.0}


def test_a_host_that_stops_checking_in_is_exported_offline(exporter_module, fleet, tmp_path):
    """Fleet's status turns offline after distributed_interval + the online buffer without a check-in; the
    exporter reports gough_fleet_host_online 0 for that host and 1 for the one that keeps checking in."""
    _critical, _normal, web, db = policies_with_results(fleet)
    web.start(0.3)
    try:
        exporter = make_exporter(exporter_module, fleet, tmp_path)
        deadline = time.monotonic() + 15
        while True:
            assert exporter.refresh()
            samples = parse(exporter.render())
            online = {dict(labels)["hostname"]: value
                      for labels, value in series(samples, "gough_fleet_host_online").items()}
            if online.get("db-01") == 0.0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        web.stop()
    assert online == {"web-01": 1.0, "db-01": 0.0}
    assert series(samples, "gough_fleet_hosts") == {frozenset({("status", "online")}): 1.0,
                                                    frozenset({("status", "offline")}): 1.0}
    assert db.node_key  # it did enroll: offline, not unknown


def test_pages_through_every_host_with_one_list_call_per_page(exporter_module, fleet, tmp_path):
    """With per_page=2, five hosts take three GET /hosts calls per refresh, and none is lost between pages."""
    for number in range(5):
        assert FakeOsqueryHost(fleet, "node-%02d" % number, address="172.30.90.%d" % (60 + number)).checkin()
    exporter = make_exporter(exporter_module, fleet, tmp_path, per_page=2)
    fleet.reset_stats()
    assert exporter.refresh()
    routes = fleet.stats()["by_route"]
    assert {key: count for key, count in routes.items() if "hosts" in key} == {"GET hosts": 3}, routes
    names = {dict(labels)["hostname"] for labels in series(parse(exporter.render()), "gough_fleet_host_online")}
    assert names == {"node-%02d" % number for number in range(5)}


def test_max_pages_bounds_a_refresh(exporter_module, fleet, tmp_path):
    """A refresh never makes more than max_pages list calls; one that would need more fails and says so."""
    for number in range(3):
        assert FakeOsqueryHost(fleet, "node-%02d" % number, address="172.30.90.%d" % (70 + number)).checkin()
    exporter = make_exporter(exporter_module, fleet, tmp_path, per_page=1, max_pages=2)
    assert exporter.refresh() is False
    assert "more than 2 pages of 1 hosts" in exporter.last_error


def test_tls_is_verified_against_the_given_ca(exporter_module, fleet, tmp_path):
    """A CA that did not sign Fleet's certificate fails the refresh (gough_fleet_up 0, no host series)."""
    other = start_fleet_emulator(tmp_path / "other")  # its own lab CA, unrelated to fleet's
    try:
        policies_with_results(fleet)
        exporter = make_exporter(exporter_module, fleet, tmp_path, ca_file=other.ca_cert)
        assert exporter.refresh() is False
    finally:
        other.stop()
    assert "CERTIFICATE_VERIFY_FAILED" in exporter.last_error
    samples = parse(exporter.render())
    assert series(samples, "gough_fleet_up") == {frozenset(): 0.0}
    assert not series(samples, "gough_fleet_host_online")


def test_a_wrong_or_missing_token_reports_fleet_down_without_printing_it(exporter_module, fleet, tmp_path):
    """Fleet answers 401 to a wrong token; a missing token file is named. The token never reaches the error."""
    exporter = make_exporter(exporter_module, fleet, tmp_path, token="not-the-real-token-0123456789")
    assert exporter.refresh() is False
    assert "HTTP 401" in exporter.last_error and "not-the-real-token" not in exporter.last_error
    assert series(parse(exporter.render()), "gough_fleet_refresh_errors_total") == {frozenset(): 1.0}
    os.unlink(exporter.reader.token_file)
    assert exporter.refresh() is False
    assert "cannot read the token file %s" % exporter.reader.token_file in exporter.last_error


def test_host_data_survives_a_short_outage_and_is_dropped_after_stale_seconds(exporter_module, fleet, tmp_path):
    """After Fleet stops answering, the last host data is served for stale_seconds (so host alerts do not
    resolve and fire again), with gough_fleet_up 0; after that only the exporter's own series remain."""
    now = [1000.0]
    policies_with_results(fleet)
    exporter = make_exporter(exporter_module, fleet, tmp_path, stale_seconds=60, clock=lambda: now[0])
    assert exporter.refresh()
    fleet.stop()
    now[0] += 30
    assert exporter.refresh() is False
    samples = parse(exporter.render())
    assert series(samples, "gough_fleet_up") == {frozenset(): 0.0}
    assert len(series(samples, "gough_fleet_host_online")) == 2
    assert series(samples, "gough_fleet_last_success_timestamp_seconds") == {frozenset(): 1000.0}
    now[0] += 31
    samples = parse(exporter.render())
    assert not series(samples, "gough_fleet_host_online")
    assert not series(samples, "gough_fleet_host_policy_failing")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as response:
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.read().decode())


def test_command_serves_metrics_and_reads_the_token_file_again(fleet, tmp_path):
    """The command as the stack runs it: /metrics and /healthz over HTTP; a token file that appears after the
    start (the stack writes it after Fleet's bootstrap) is picked up at the next refresh."""
    port = _free_port()
    token = tmp_path / "fleet_api_token"
    process = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, EXPORTER, "--listen", "127.0.0.1:%d" % port, "--fleet-url", fleet.url, "--ca-file",
         fleet.ca_cert, "--token-file", str(token), "--interval", "0.5"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                samples = _metrics(port)
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None, "the exporter did not start"
                time.sleep(0.1)
        assert series(samples, "gough_fleet_up") == {frozenset(): 0.0}
        assert FakeOsqueryHost(fleet, "late-01").checkin()
        token.write_text(fleet.api_token)
        while series(samples, "gough_fleet_up") != {frozenset(): 1.0}:
            assert time.monotonic() < deadline, "the token file was not read again"
            time.sleep(0.2)
            samples = _metrics(port)
        assert [dict(labels)["hostname"] for labels in series(samples, "gough_fleet_host_online")] == ["late-01"]
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as response:
            assert response.status == 200
    finally:
        process.terminate()
        output = process.communicate(timeout=15)[0]
    assert process.returncode == 0, output
    assert "cannot read the token file" in output and fleet.api_token not in output


@pytest.mark.parametrize("argv, message", [
    (["--fleet-url", "http://fleet:8080", "--token-file", "t"], "must be an https:// URL"),
    (["--fleet-url", "https://fleet:8080", "--token-file", "t", "--interval", "0"], "expected a positive number"),
    (["--fleet-url", "https://fleet:8080"], "--token-file"),
])
def test_bad_command_line_is_refused_with_the_option_named(argv, message):
    """A plain-HTTP Fleet URL (the token would travel in clear), a zero interval or a missing token file option."""
    result = subprocess.run([sys.executable, EXPORTER] + argv, capture_output=True, text=True, timeout=30,
                            check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr
