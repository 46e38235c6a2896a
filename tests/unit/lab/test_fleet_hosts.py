"""Fleet emulator hosts: list filters, pagination and ordering, count, identifier lookup, delete, transfer, labels."""

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    """One emulator with five enrolled hosts (node-0..node-4, serials SER-0..SER-4)."""
    emulator = start_fleet_emulator(tmp_path_factory.mktemp("fleet"))
    fakes = [FakeOsqueryHost(emulator, "node-%d" % n, serial="SER-%d" % n, address="172.30.90.%d" % (10 + n))
             for n in range(5)]
    for fake in fakes:
        fake.checkin()
    emulator.fakes = fakes
    try:
        yield emulator
    finally:
        emulator.stop()


def names(response):
    assert response.status == 200, response
    return [h["hostname"] for h in response.json()["hosts"]]


def test_list_and_count(fleet):
    assert names(fleet.api("GET", "hosts")) == ["node-%d" % n for n in range(5)]
    assert fleet.api("GET", "hosts/count").json() == {"count": 5}
    assert fleet.api("GET", "hosts/count", params={"query": "node-3"}).json() == {"count": 1}


def test_pagination_and_order(fleet):
    first = fleet.api("GET", "hosts", params={"per_page": 2, "page": 0, "order_key": "hostname"}).json()
    assert [h["hostname"] for h in first["hosts"]] == ["node-0", "node-1"]
    assert first["meta"] == {"has_next_results": True, "has_previous_results": False}
    last = fleet.api("GET", "hosts", params={"per_page": 2, "page": 2, "order_key": "hostname"}).json()
    assert [h["hostname"] for h in last["hosts"]] == ["node-4"]
    assert last["meta"] == {"has_next_results": False, "has_previous_results": True}
    desc = names(fleet.api("GET", "hosts", params={"order_key": "hostname", "order_direction": "desc"}))
    assert desc == ["node-%d" % n for n in reversed(range(5))]
    after = names(fleet.api("GET", "hosts", params={"order_key": "hostname", "after": "node-2", "per_page": 1}))
    assert after == ["node-3"]
    assert fleet.api("GET", "hosts", params={"after": "node-2"}).status == 400
    bad = fleet.api("GET", "hosts", params={"order_direction": "up"})
    assert bad.status == 400 and bad.json()["errors"][0]["name"] == "order_direction"
    bad = fleet.api("GET", "hosts", params={"order_key": "nope"})
    assert bad.status == 400 and bad.json()["errors"][0]["name"] == "order_key"


def test_query_filter_matches_hostname_serial_uuid_ip(fleet):
    fake = fleet.fakes[2]
    for value in ("node-2", "SER-2", fake.uuid, "172.30.90.12"):
        assert names(fleet.api("GET", "hosts", params={"query": value})) == ["node-2"], value


def test_status_filter(fleet):
    assert len(names(fleet.api("GET", "hosts", params={"status": "online"}))) == 5
    assert names(fleet.api("GET", "hosts", params={"status": "offline"})) == []
    assert len(names(fleet.api("GET", "hosts", params={"status": "new"}))) == 5
    assert fleet.api("GET", "hosts", params={"status": "sleepy"}).status == 400


def test_by_id_and_identifier(fleet):
    host = fleet.api("GET", "hosts/identifier/SER-1").json()["host"]
    assert host["hostname"] == "node-1"
    assert fleet.api("GET", "hosts/identifier/%s" % fleet.fakes[1].uuid).json()["host"]["id"] == host["id"]
    by_id = fleet.api("GET", "hosts/%d" % host["id"]).json()["host"]
    assert by_id["hostname"] == "node-1" and "labels" in by_id and "policies" in by_id
    assert {l["name"] for l in by_id["labels"]} == {"All Hosts", "All Linux"}
    missing = fleet.api("GET", "hosts/identifier/ghost")
    assert missing.status == 404 and "identifier=ghost" in missing.json()["errors"][0]["reason"]
    assert fleet.api("GET", "hosts/99999").status == 404


def test_transfer_and_team_filter(fleet):
    team = fleet.api("POST", "teams", {"name": "transfer-team"}).json()["team"]
    ids = [fleet.api("GET", "hosts/identifier/node-%d" % n).json()["host"]["id"] for n in (0, 1)]
    assert fleet.api("POST", "hosts/transfer", {"team_id": team["id"], "hosts": ids}).status == 200
    assert names(fleet.api("GET", "hosts", params={"team_id": team["id"]})) == ["node-0", "node-1"]
    assert names(fleet.api("GET", "hosts", params={"fleet_id": team["id"]})) == ["node-0", "node-1"]
    assert len(names(fleet.api("GET", "hosts", params={"team_id": 0}))) == 3
    assert fleet.api("GET", "teams/%d" % team["id"]).json()["team"]["host_count"] == 2
    assert fleet.api("POST", "hosts/transfer", {"team_id": 9999, "hosts": ids}).status == 404
    # Back to no team via the filter form.
    assert fleet.api("POST", "hosts/transfer/filter",
                     {"team_id": None, "filters": {"team_id": team["id"]}}).status == 200
    assert len(names(fleet.api("GET", "hosts", params={"team_id": 0}))) == 5
    # And PATCH /teams/:id host_ids.
    fleet.api("PATCH", "teams/%d" % team["id"], {"host_ids": ids[:1]})
    assert names(fleet.api("GET", "hosts", params={"team_id": team["id"]})) == ["node-0"]
    fleet.api("DELETE", "teams/%d" % team["id"])
    assert fleet.api("GET", "hosts/%d" % ids[0]).json()["host"]["team_id"] is None


def test_labels(fleet):
    labels = fleet.api("GET", "labels").json()["labels"]
    builtin = {l["name"]: l for l in labels if l["label_type"] == "builtin"}
    assert builtin["All Hosts"]["query"] == "SELECT 1;" and builtin["All Hosts"]["count"] == 5
    manual = fleet.api("POST", "labels", {"name": "pets", "hosts": ["node-3", "SER-4"]}).json()["label"]
    assert manual["label_membership_type"] == "manual" and manual["count"] == 2
    hosts = fleet.api("GET", "labels/%d/hosts" % manual["id"]).json()["hosts"]
    assert [h["hostname"] for h in hosts] == ["node-3", "node-4"]
    assert fleet.api("GET", "hosts/count", params={"label_id": manual["id"]}).json()["count"] == 2
    assert fleet.api("PATCH", "labels/%d" % builtin["All Hosts"]["id"], {"name": "x"}).status == 422
    assert fleet.api("POST", "labels", {"name": "pets", "query": "SELECT 1"}).status == 409
    assert fleet.api("POST", "labels", {"name": "empty"}).json()["errors"][0]["name"] == "query"
    dynamic = fleet.api("POST", "labels", {"name": "has-lo", "query": "SELECT 1 FROM interface_addresses"})
    assert dynamic.status == 200
    label_id = dynamic.json()["label"]["id"]
    fleet.fakes[0].checkin()
    assert fleet.api("GET", "labels/%d" % label_id).json()["label"]["count"] == 1
    assert fleet.api("DELETE", "labels/pets").status == 200
    assert fleet.api("DELETE", "labels/id/%d" % label_id).status == 200
    assert fleet.api("GET", "labels/%d" % label_id).status == 404


def test_bulk_delete(tmp_path):
    with start_fleet_emulator(tmp_path / "f") as fleet:
        for n in range(4):
            FakeOsqueryHost(fleet, "bulk-%d" % n).enroll()
        ids = [h["id"] for h in fleet.api("GET", "hosts").json()["hosts"]]
        assert fleet.api("POST", "hosts/delete", {"ids": ids[:2]}).status == 200
        assert fleet.api("GET", "hosts/count").json()["count"] == 2
        assert fleet.api("POST", "hosts/delete", {"ids": ids, "filters": {"query": "x"}}).status == 400
        assert fleet.api("POST", "hosts/delete", {}).status == 400
        assert fleet.api("POST", "hosts/delete", {"filters": {"query": "bulk-3"}}).status == 200
        assert [h["hostname"] for h in fleet.api("GET", "hosts").json()["hosts"]] == ["bulk-2"]
