"""Fleet emulator osquery TLS API: enroll, config, distributed read/write, log, node_invalid, host identity."""

import time

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


def host_by_name(fleet, hostname):
    response = fleet.api("GET", "hosts/identifier/%s" % hostname)
    assert response.status == 200, response
    return response.json()["host"]


@pytest.mark.parametrize("prefix", ["/api/osquery/", "/api/v1/osquery/"])
def test_enroll_creates_host_with_details(fleet, prefix):
    fake = FakeOsqueryHost(fleet, "node-1", serial="SER-1")
    response = fleet.request("POST", prefix + "enroll", {
        "enroll_secret": fleet.enroll_secret, "host_identifier": fake.identifier,
        "host_details": {"os_version": fake.tables()["os_version"][0],
                         "system_info": fake.tables()["system_info"][0],
                         "osquery_info": fake.tables()["osquery_info"][0]}}, token=None)
    assert response.status == 200
    node_key = response.json()["node_key"]
    assert node_key
    host = host_by_name(fleet, "node-1")
    assert host["os_version"] == "Debian GNU/Linux 13" and host["platform"] == "debian"
    assert host["uuid"] == fake.uuid and host["hardware_serial"] == "SER-1"
    assert host["osquery_version"] == "5.14.1-lab" and host["status"] == "online"
    assert host["osquery_host_id"] == fake.identifier
    # The node key works on the other endpoints of the same prefix.
    assert fleet.request("POST", prefix + "config", {"node_key": node_key}, token=None).status == 200


def test_bad_secret_and_bad_node_key_are_node_invalid(fleet):
    response = FakeOsqueryHost(fleet, "node-x", secret="wrong").enroll()
    assert response.status == 401
    doc = response.json()
    assert doc["node_invalid"] is True and "enroll failed" in doc["error"]
    assert fleet.api("GET", "hosts").json()["hosts"] == []
    for endpoint in ("config", "distributed/read", "distributed/write", "log"):
        response = fleet.osquery(endpoint, {"node_key": "nope", "log_type": "status", "data": []})
        assert response.status == 401 and response.json()["node_invalid"] is True, endpoint
        assert "invalid node key" in response.json()["error"]
    assert fleet.stats()["osquery_errors"]["node_invalid"] == 5


def test_config_has_options_and_packs_at_top_level(fleet):
    fake = FakeOsqueryHost(fleet, "node-c")
    fake.enroll()
    fleet.api("POST", "queries", {"name": "uptime-every-minute", "query": "SELECT * FROM uptime;", "interval": 60})
    config = fleet.osquery("config", {"node_key": fake.node_key}).json()
    assert config["options"]["distributed_interval"] == 10 and config["options"]["distributed_plugin"] == "tls"
    assert "decorators" in config
    assert config["packs"]["Global"]["queries"]["uptime-every-minute"]["interval"] == 60


def test_detail_queries_fill_the_host_and_refetch_sends_them_again(fleet):
    fake = FakeOsqueryHost(fleet, "node-d", address="172.30.90.77")
    fake.enroll()
    read = fleet.osquery("distributed/read", {"node_key": fake.node_key}).json()
    assert "fleet_detail_query_os_version" in read["queries"] and "fleet_detail_query_uptime" in read["queries"]
    fake.checkin()
    host = host_by_name(fleet, "node-d")
    assert host["primary_ip"] == "172.30.90.77" and host["uptime"] == 1234 * 10 ** 9
    assert host["memory"] == 4 << 30 and host["cpu_logical_cores"] == 4 and host["detail_updated_at"]
    assert fleet.osquery("distributed/read", {"node_key": fake.node_key}).json()["queries"] == {}
    assert fleet.api("POST", "hosts/%d/refetch" % host["id"]).status == 200
    assert host_by_name(fleet, "node-d")["refetch_requested"] is True
    assert "fleet_detail_query_system_info" in fleet.osquery("distributed/read",
                                                             {"node_key": fake.node_key}).json()["queries"]
    fake.checkin()
    assert host_by_name(fleet, "node-d")["refetch_requested"] is False


def test_reenroll_of_same_identifier_updates_the_same_host(fleet):
    fake = FakeOsqueryHost(fleet, "node-r")
    fake.enroll()
    first_key = fake.node_key
    first = host_by_name(fleet, "node-r")
    fake.hostname = "node-r-renamed"
    fake.enroll()
    assert fake.node_key != first_key
    hosts = fleet.api("GET", "hosts").json()["hosts"]
    assert len(hosts) == 1 and hosts[0]["id"] == first["id"] and hosts[0]["hostname"] == "node-r-renamed"
    # The old node key is no longer valid.
    assert fleet.osquery("config", {"node_key": first_key}).json()["node_invalid"] is True


def test_deleted_host_reenrolls_as_a_new_host(fleet):
    fake = FakeOsqueryHost(fleet, "node-del")
    fake.checkin()
    old = host_by_name(fleet, "node-del")
    assert fleet.api("DELETE", "hosts/%d" % old["id"]).status == 200
    assert fleet.api("GET", "hosts/%d" % old["id"]).status == 404
    assert fake.checkin() is True and fake.enrollments == 2
    new = host_by_name(fleet, "node-del")
    assert new["id"] != old["id"]


def test_team_secret_enrolls_into_the_team(fleet):
    team = fleet.api("POST", "teams", {"name": "web"}).json()["team"]
    fake = FakeOsqueryHost(fleet, "node-t", secret=team["secrets"][0]["secret"])
    assert fake.enroll().status == 200
    host = host_by_name(fleet, "node-t")
    assert host["team_id"] == team["id"] and host["team_name"] == "web" and host["fleet_id"] == team["id"]
    # Re-enrolling with the global secret keeps the team; a transfer sticks across re-enrollment.
    fake.secret = fleet.enroll_secret
    fake.enroll()
    assert host_by_name(fleet, "node-t")["team_id"] == team["id"]
    other = FakeOsqueryHost(fleet, "node-u")
    other.enroll()
    fleet.api("POST", "hosts/transfer", {"team_id": team["id"], "hosts": [host_by_name(fleet, "node-u")["id"]]})
    other.enroll()
    assert host_by_name(fleet, "node-u")["team_id"] == team["id"]


@pytest.mark.parametrize("mode,expected", [("uuid", "uuid"), ("hostname", "hostname"), ("instance", "instance")])
def test_server_host_identifier_setting(tmp_path, mode, expected):
    with start_fleet_emulator(tmp_path / "f", osquery_host_identifier=mode) as fleet:
        fake = FakeOsqueryHost(fleet, "node-i", identifier="provided-value")
        fake.enroll()
        host = host_by_name(fleet, "node-i")
        wanted = {"uuid": fake.uuid, "hostname": "node-i", "instance": "instance-" + fake.uuid}[expected]
        assert host["osquery_host_id"] == wanted


def test_logs_plain_and_gzip(fleet):
    fake = FakeOsqueryHost(fleet, "node-l")
    fake.enroll()
    body = {"node_key": fake.node_key, "log_type": "status", "data": [{"severity": "0", "message": "hello"}]}
    assert fleet.osquery("log", body).status == 200
    assert fleet.osquery("log", dict(body, log_type="result", data=[{"name": "q", "columns": {"a": "1"}}]),
                         gzipped=True).status == 200
    host_id = host_by_name(fleet, "node-l")["id"]
    logs = fleet.logs()[str(host_id)]
    assert logs["received"] == {"status": 1, "result": 1} and logs["status"][0]["message"] == "hello"
    bad = fleet.osquery("log", dict(body, log_type="other"))
    assert bad.status == 400 and "error" in bad.json()


def test_status_goes_offline_after_the_interval(tmp_path):
    with start_fleet_emulator(tmp_path / "f", distributed_interval=1, online_buffer=0.5) as fleet:
        fake = FakeOsqueryHost(fleet, "node-s")
        fake.enroll()
        assert host_by_name(fleet, "node-s")["status"] == "online"
        assert fleet.api("GET", "hosts/count", params={"status": "online"}).json()["count"] == 1
        time.sleep(1.7)
        assert host_by_name(fleet, "node-s")["status"] == "offline"
        assert fleet.api("GET", "hosts/count", params={"status": "offline"}).json()["count"] == 1
        fake.checkin()
        assert host_by_name(fleet, "node-s")["status"] == "online"


def test_concurrent_checkins_and_listing(fleet):
    fakes = [FakeOsqueryHost(fleet, "busy-%d" % n).start(0.05) for n in range(6)]
    try:
        statuses = set()
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            response = fleet.api("GET", "hosts", params={"populate_policies": "true"})
            statuses.add(response.status)
            fleet.api("GET", "teams")
    finally:
        for fake in fakes:
            fake.stop()
    assert statuses == {200}
    assert fleet.api("GET", "hosts/count").json()["count"] == 6
    stats = fleet.stats()
    assert stats["by_status"].get("500", 0) == 0 and stats["osquery"]["distributed/read"] >= 6
