"""Fleet emulator policies (global and team, per-host responses) and saved and live queries."""

import time

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


@pytest.fixture
def fleet(tmp_path):
    """An emulator with a short live-query wait."""
    emulator = start_fleet_emulator(tmp_path / "fleet", live_query_seconds=5)
    try:
        yield emulator
    finally:
        emulator.stop()


def test_global_policy_crud_and_errors(fleet):
    created = fleet.api("POST", "global/policies", {"name": "sshd", "query": "SELECT 1 FROM processes",
                                                    "platform": "linux", "critical": True})
    assert created.status == 200
    policy = created.json()["policy"]
    assert policy["team_id"] is None and policy["critical"] is True and policy["author_email"] == "gough-api@gough.lab"
    assert policy["passing_host_count"] == 0
    assert fleet.api("POST", "global/policies", {"name": "sshd", "query": "SELECT 1"}).status == 409
    error = fleet.api("POST", "global/policies", {"name": "x", "query": ""}).json()
    assert error["message"] == "Validation Failed" and error["errors"][0]["name"] == "query"
    error = fleet.api("POST", "global/policies", {"name": "y", "query": "SELECT 1", "platform": "plan9"}).json()
    assert error["errors"][0]["name"] == "platform"
    patched = fleet.api("PATCH", "global/policies/%d" % policy["id"], {"resolution": "start sshd"}).json()["policy"]
    assert patched["resolution"] == "start sshd"
    assert fleet.api("GET", "policies/count").json() == {"count": 1}
    assert fleet.api("GET", "global/policies").json()["policies"][0]["name"] == "sshd"
    assert fleet.api("POST", "global/policies/delete", {"ids": [policy["id"]]}).json() == {"deleted": 1}
    assert fleet.api("GET", "global/policies/%d" % policy["id"]).status == 404


def test_policy_responses_come_from_the_hosts(fleet):
    passing = FakeOsqueryHost(fleet, "pass-host", answers={"FROM deb_packages": [{"name": "openssh-server"}]})
    failing = FakeOsqueryHost(fleet, "fail-host", answers={"FROM deb_packages": []})
    broken = FakeOsqueryHost(fleet, "broken-host", answers={"FROM deb_packages": "no such table: deb_packages"})
    policy = fleet.api("POST", "global/policies", {"name": "ssh installed",
                                                   "query": "SELECT 1 FROM deb_packages WHERE name='openssh-server'"}
                       ).json()["policy"]
    for fake in (passing, failing, broken):
        fake.checkin()
        assert "fleet_policy_query_%d" % policy["id"] in fake.answered
    doc = fleet.api("GET", "global/policies/%d" % policy["id"]).json()["policy"]
    assert (doc["passing_host_count"], doc["failing_host_count"]) == (1, 1)

    def response_of(hostname):
        host = fleet.api("GET", "hosts/identifier/%s" % hostname).json()["host"]
        return next(p["response"] for p in host["policies"] if p["id"] == policy["id"]), host

    assert response_of("pass-host")[0] == "pass"
    response, host = response_of("fail-host")
    assert response == "fail" and host["issues"]["failing_policies_count"] == 1
    assert response_of("broken-host")[0] == ""
    failing_ids = fleet.api("GET", "hosts", params={"policy_id": policy["id"], "policy_response": "failing"}).json()
    assert [h["hostname"] for h in failing_ids["hosts"]] == ["fail-host"]
    # A changed query forgets the old responses; like Fleet, the host is asked again at its next policy run (its
    # policy_updated_at older than the policy update interval) or, as here, after a refetch.
    fleet.api("PATCH", "global/policies/%d" % policy["id"], {"query": "SELECT 1 FROM deb_packages LIMIT 1"})
    assert response_of("pass-host")[0] == ""
    passing.checkin()
    assert response_of("pass-host")[0] == ""
    fleet.api("POST", "hosts/%d/refetch" % response_of("pass-host")[1]["id"])
    passing.checkin()
    assert response_of("pass-host")[0] == "pass"


def test_team_policies_apply_to_team_hosts_only(fleet):
    team = fleet.api("POST", "teams", {"name": "db"}).json()["team"]
    inside = FakeOsqueryHost(fleet, "in-team", secret=team["secrets"][0]["secret"])
    outside = FakeOsqueryHost(fleet, "no-team")
    fleet.api("POST", "global/policies", {"name": "global one", "query": "SELECT 1"})
    created = fleet.api("POST", "teams/%d/policies" % team["id"], {"name": "team one", "query": "SELECT 1;"})
    assert created.status == 200 and created.json()["policy"]["team_id"] == team["id"]
    listed = fleet.api("GET", "fleets/%d/policies" % team["id"]).json()
    assert [p["name"] for p in listed["policies"]] == ["team one"]
    assert [p["name"] for p in listed["inherited_policies"]] == ["global one"]
    merged = fleet.api("GET", "teams/%d/policies" % team["id"], params={"merge_inherited": "true"}).json()
    assert {p["name"] for p in merged["policies"]} == {"team one", "global one"}
    inside.checkin()
    outside.checkin()
    in_host = fleet.api("GET", "hosts/identifier/in-team").json()["host"]
    out_host = fleet.api("GET", "hosts/identifier/no-team").json()["host"]
    assert {p["name"]: p["response"] for p in in_host["policies"]} == {"global one": "pass", "team one": "pass"}
    assert {p["name"] for p in out_host["policies"]} == {"global one"}
    policy_id = created.json()["policy"]["id"]
    assert fleet.api("GET", "teams/%d/policies/%d" % (team["id"], policy_id)).status == 200
    assert fleet.api("GET", "global/policies/%d" % policy_id).status == 404
    assert fleet.api("POST", "teams/%d/policies/delete" % team["id"], {"ids": [policy_id]}).json() == {"deleted": 1}


def test_saved_queries_crud(fleet):
    created = fleet.api("POST", "queries", {"name": "os", "query": "SELECT * FROM os_version", "interval": 0,
                                            "logging": "snapshot"})
    assert created.status == 200
    query = created.json()["query"]
    assert query["name"] == "os" and query["team_id"] is None and query["saved"] is True
    assert fleet.api("POST", "queries", {"name": "os", "query": "SELECT 1"}).status == 409
    assert fleet.api("POST", "queries", {"name": "bad", "query": "SELECT 1", "logging": "loud"}
                     ).json()["errors"][0]["name"] == "logging"
    listed = fleet.api("GET", "queries").json()
    assert listed["count"] == 1 and listed["queries"][0]["id"] == query["id"] and "meta" in listed
    assert fleet.api("GET", "reports/%d" % query["id"]).json()["query"]["name"] == "os"
    assert fleet.api("PATCH", "queries/%d" % query["id"], {"description": "d"}).json()["query"]["description"] == "d"
    assert fleet.api("DELETE", "queries/os").status == 200
    assert fleet.api("GET", "queries/%d" % query["id"]).status == 404
    second = fleet.api("POST", "queries", {"name": "q2", "query": "SELECT 2"}).json()["query"]
    assert fleet.api("DELETE", "queries/id/%d" % second["id"]).status == 200


def test_live_query_gets_answers_from_hosts(fleet):
    fakes = [FakeOsqueryHost(fleet, "live-%d" % n).start(0.1) for n in range(2)]
    try:
        deadline = time.monotonic() + 10
        while fleet.api("GET", "hosts/count").json()["count"] < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        ids = [h["id"] for h in fleet.api("GET", "hosts").json()["hosts"]]
        query = fleet.api("POST", "queries", {"name": "hostname", "query": "SELECT hostname FROM system_info"}
                          ).json()["query"]
        response = fleet.api("POST", "queries/%d/run" % query["id"], {"host_ids": ids})
        assert response.status == 200
        doc = response.json()
        assert doc["query_id"] == query["id"] and doc["targeted_host_count"] == 2
        assert doc["responded_host_count"] == 2
        by_host = {r["host_id"]: r for r in doc["results"]}
        assert {by_host[i]["rows"][0]["hostname"] for i in ids} == {"live-0", "live-1"}
        assert all(r["error"] is None for r in doc["results"])
        # Unknown table: an error per host, no rows.
        bad = fleet.api("POST", "queries", {"name": "bad", "query": "SELECT * FROM missing_table"}).json()["query"]
        doc = fleet.api("POST", "queries/%d/run" % bad["id"], {"host_ids": ids[:1]}).json()
        assert doc["results"][0]["error"].startswith("no such table") and doc["results"][0]["rows"] == []
        # Ad-hoc query on one host.
        one = fleet.api("POST", "hosts/%d/query" % ids[0], {"query": "SELECT 1"}).json()
        assert one["status"] == "online" and one["rows"] == [{"1": "1"}] and one["error"] is None
        assert fleet.api("POST", "queries/%d/run" % query["id"], {"host_ids": []}).status == 422
        # Live queries are not writes.
        assert fleet.stats()["writes"] == 2
    finally:
        for fake in fakes:
            fake.stop()


def test_live_query_wait_is_bounded(tmp_path):
    with start_fleet_emulator(tmp_path / "f", live_query_seconds=1) as fleet:
        FakeOsqueryHost(fleet, "silent").enroll()
        host_id = fleet.api("GET", "hosts").json()["hosts"][0]["id"]
        query = fleet.api("POST", "queries", {"name": "q", "query": "SELECT 1"}).json()["query"]
        started = time.monotonic()
        doc = fleet.api("POST", "queries/%d/run" % query["id"], {"host_ids": [host_id]}).json()
        assert 0.9 <= time.monotonic() - started < 5
        assert doc["targeted_host_count"] == 1 and doc["responded_host_count"] == 0 and doc["results"] == []
