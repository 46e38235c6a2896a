"""Fleet emulator: how Fleet computes policy results per host, and its failing policies webhook automation.

Each test names the Fleet behaviour it mirrors (server/service/osquery.go, server/datastore/mysql/policies.go,
server/webhooks/failing_policies.go, the automations cron).
"""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator


@pytest.fixture
def fleet(tmp_path):
    emulator = start_fleet_emulator(tmp_path / "fleet", live_query_seconds=5)
    try:
        yield emulator
    finally:
        emulator.stop()


class Sink:
    """A local HTTP server that records each JSON POST (the webhook's destination)."""

    def __init__(self, status=200):
        self.received = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # pylint: disable=invalid-name
                length = int(self.headers.get("Content-Length") or 0)
                sink.received.append(json.loads(self.rfile.read(length)))
                self.send_response(sink.status)
                self.end_headers()

            def log_message(self, *_args):
                pass
        self.status = status
        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/fleet-webhook" % self.server.server_address[1]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def sink():
    receiver = Sink()
    try:
        yield receiver
    finally:
        receiver.close()


def host_named(fleet, name):
    return fleet.api("GET", "hosts/identifier/%s" % name).json()["host"]


def response_of(fleet, name, policy_id):
    return next(p["response"] for p in host_named(fleet, name)["policies"] if p["id"] == policy_id)


def run_automation(fleet):
    return fleet._lab("POST", "/_lab/webhooks/run")["delivered"]  # pylint: disable=protected-access


def test_status_not_zero_is_neither_pass_nor_fail_like_fleets_null_passes(fleet):
    broken = FakeOsqueryHost(fleet, "broken", answers={"FROM augeas": "no such table: augeas"})
    policy = fleet.api("POST", "global/policies", {"name": "sshd", "query": "SELECT 1 FROM augeas"}).json()["policy"]
    broken.checkin()
    assert response_of(fleet, "broken", policy["id"]) == ""
    doc = fleet.api("GET", "global/policies/%d" % policy["id"]).json()["policy"]
    assert (doc["passing_host_count"], doc["failing_host_count"]) == (0, 0)
    assert host_named(fleet, "broken")["issues"]["failing_policies_count"] == 0


def test_team_policy_counts_cover_team_hosts_and_global_counts_all_hosts(fleet):
    team = fleet.api("POST", "teams", {"name": "db"}).json()["team"]
    inside = FakeOsqueryHost(fleet, "in-team", secret=team["secrets"][0]["secret"], answers={"FROM users": []})
    outside = FakeOsqueryHost(fleet, "no-team", answers={"FROM users": []})
    global_policy = fleet.api("POST", "global/policies", {"name": "g", "query": "SELECT 1 FROM users"}).json()
    team_policy = fleet.api("POST", "teams/%d/policies" % team["id"], {"name": "t", "query": "SELECT 1 FROM users"})
    inside.checkin()
    outside.checkin()
    g = fleet.api("GET", "global/policies/%d" % global_policy["policy"]["id"]).json()["policy"]
    t = fleet.api("GET", "teams/%d/policies/%d" % (team["id"], team_policy.json()["policy"]["id"])).json()["policy"]
    assert (g["passing_host_count"], g["failing_host_count"]) == (0, 2)
    assert (t["passing_host_count"], t["failing_host_count"]) == (0, 1)
    # Moving the host out of the team drops its result of the team's policy (Fleet cleans policy membership).
    fleet.api("POST", "hosts/transfer", {"team_id": None, "hosts": [host_named(fleet, "in-team")["id"]]})
    t = fleet.api("GET", "teams/%d/policies/%d" % (team["id"], team_policy.json()["policy"]["id"])).json()["policy"]
    assert (t["passing_host_count"], t["failing_host_count"]) == (0, 0)


def test_policy_updated_at_moves_when_the_host_reports_policies_and_policies_run_on_fleets_schedule(fleet):
    fake = FakeOsqueryHost(fleet, "sched", answers={"FROM users": [{"uid": "0"}]})
    fake.checkin()  # no policy yet: Fleet sends the no-policies wildcard, which sets policy_updated_at
    assert "fleet_no_policies_wildcard" in fake.answered
    first = host_named(fleet, "sched")["policy_updated_at"]
    assert first is not None
    policy = fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1 FROM users"}).json()["policy"]
    fake.answered.clear()
    fake.checkin()
    # Fleet runs a new policy on a host only at the host's next policy run (policy_update_interval) or a refetch.
    assert "fleet_policy_query_%d" % policy["id"] not in fake.answered
    assert response_of(fleet, "sched", policy["id"]) == ""
    time.sleep(1.1)  # policy_updated_at has one-second resolution
    fleet.api("POST", "hosts/%d/refetch" % host_named(fleet, "sched")["id"])
    fake.checkin()
    assert "fleet_policy_query_%d" % policy["id"] in fake.answered
    host = host_named(fleet, "sched")
    assert host["policy_updated_at"] > first and response_of(fleet, "sched", policy["id"]) == "pass"
    fleet.configure(policy_interval=0)
    fake.answered.clear()
    fake.checkin()
    assert "fleet_policy_query_%d" % policy["id"] in fake.answered


def test_hosts_list_populate_policies_gives_each_hosts_responses(fleet):
    passing = FakeOsqueryHost(fleet, "p1", answers={"FROM users": [{"uid": "0"}]})
    failing = FakeOsqueryHost(fleet, "f1", answers={"FROM users": []})
    policy = fleet.api("POST", "global/policies", {"name": "root", "query": "SELECT 1 FROM users"}).json()["policy"]
    passing.checkin()
    failing.checkin()
    plain = fleet.api("GET", "hosts").json()["hosts"]
    assert all("policies" not in h for h in plain)
    hosts = fleet.api("GET", "hosts", params={"populate_policies": "true"}).json()["hosts"]
    answers = dict((h["hostname"], [(p["id"], p["response"]) for p in h["policies"]]) for h in hosts)
    assert answers == {"p1": [(policy["id"], "pass")], "f1": [(policy["id"], "fail")]}
    assert dict((h["hostname"], h["issues"]["failing_policies_count"]) for h in hosts) == {"p1": 0, "f1": 1}


def test_policy_with_attach_is_refused_as_fleet_verifies_policy_payloads(fleet):
    response = fleet.api("POST", "global/policies", {"name": "x", "query": "ATTACH '/tmp/x.db' AS x; SELECT 1"})
    assert response.status == 400
    assert response.json()["errors"][0]["reason"] == "policy payload verification: invalid policy query"
    # Fleet checks nothing else of the SQL: an unknown table is accepted (and fails on every host).
    assert fleet.api("POST", "global/policies", {"name": "y", "query": "SELECT 1 FROM no_such_table"}).status == 200


def enable_global_webhook(fleet, url, policy_ids, batch=0):
    return fleet.api("PATCH", "config", {"webhook_settings": {"failing_policies_webhook": {
        "enable_failing_policies_webhook": True, "destination_url": url, "policy_ids": policy_ids,
        "host_batch_size": batch}}})


def test_failing_policies_webhook_posts_fleets_payload_for_failing_hosts_only(fleet, sink):
    policy = fleet.api("POST", "global/policies", {"name": "root login", "query": "SELECT 1 FROM augeas",
                                                   "critical": True}).json()["policy"]
    config = enable_global_webhook(fleet, sink.url, [policy["id"]])
    assert config.status == 200
    assert config.json()["webhook_settings"]["failing_policies_webhook"]["policy_ids"] == [policy["id"]]
    assert fleet.api("GET", "config").json()["webhook_settings"]["interval"] == "24h0m0s"
    bad = FakeOsqueryHost(fleet, "bad-node", answers={"FROM augeas": []})
    good = FakeOsqueryHost(fleet, "good-node", answers={"FROM augeas": [{"value": "no"}]})
    bad.checkin()
    good.checkin()
    assert run_automation(fleet) == 1
    assert len(sink.received) == 1
    payload = sink.received[0]
    assert set(payload) == {"timestamp", "policy", "hosts"}
    assert payload["policy"]["id"] == policy["id"] and payload["policy"]["critical"] is True
    assert payload["policy"]["failing_host_count"] == 1
    host_id = host_named(fleet, "bad-node")["id"]
    assert payload["hosts"] == [{"id": host_id, "hostname": "bad-node", "display_name": "bad-node",
                                 "url": "%s/hosts/%d" % (fleet.url, host_id)}]
    # Sent hosts leave the failing set: the next run sends nothing until a host newly fails again.
    assert run_automation(fleet) == 0 and len(sink.received) == 1


def test_failing_policies_webhook_batches_by_host_batch_size_in_host_id_order(fleet, sink):
    policy = fleet.api("POST", "global/policies", {"name": "fw", "query": "SELECT 1 FROM systemd_units"}).json()
    enable_global_webhook(fleet, sink.url, [policy["policy"]["id"]], batch=2)
    for n in range(5):
        FakeOsqueryHost(fleet, "node-%d" % n, answers={"FROM systemd_units": []}).checkin()
    assert run_automation(fleet) == 3
    batches = [[h["hostname"] for h in p["hosts"]] for p in sink.received]
    assert batches == [["node-0", "node-1"], ["node-2", "node-3"], ["node-4"]]


def test_failing_policies_webhook_disabled_sends_nothing(fleet, sink):
    policy = fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1 FROM users"}).json()["policy"]
    fleet.api("PATCH", "config", {"webhook_settings": {"failing_policies_webhook": {
        "enable_failing_policies_webhook": False, "destination_url": sink.url, "policy_ids": [policy["id"]]}}})
    FakeOsqueryHost(fleet, "n", answers={"FROM users": []}).checkin()
    assert run_automation(fleet) == 0 and sink.received == []


def test_failing_policies_webhook_only_for_newly_failing_hosts_and_recovered_hosts_leave(fleet, sink):
    policy = fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1 FROM users"}).json()["policy"]
    fleet.configure(policy_interval=0)
    answers = {"FROM users": []}
    fake = FakeOsqueryHost(fleet, "flappy", answers=answers)
    fake.checkin()  # failing from its first run: enters the set
    enable_global_webhook(fleet, sink.url, [policy["id"]])
    fake.checkin()  # Fleet tracks flips only while the webhook is on: still failing is no new failure
    assert run_automation(fleet) == 0
    answers["FROM users"] = [{"uid": "0"}]
    fake.answers = answers
    fake.checkin()
    answers["FROM users"] = []
    fake.answers = answers
    fake.checkin()  # pass -> fail: newly failing
    fake.answers = {"FROM users": [{"uid": "0"}]}
    other = FakeOsqueryHost(fleet, "recovers", answers={"FROM users": []})
    other.checkin()
    other.answers = {"FROM users": [{"uid": "0"}]}
    other.checkin()  # failed, then passed before the run: left the set
    assert run_automation(fleet) == 1
    assert [h["hostname"] for h in sink.received[0]["hosts"]] == ["flappy"]


def test_team_failing_policies_webhook_uses_the_teams_settings(fleet, sink):
    team = fleet.api("POST", "teams", {"name": "web"}).json()["team"]
    policy = fleet.api("POST", "teams/%d/policies" % team["id"], {"name": "t", "query": "SELECT 1 FROM users"}).json()
    patched = fleet.api("PATCH", "teams/%d" % team["id"], {"webhook_settings": {"failing_policies_webhook": {
        "enable_failing_policies_webhook": True, "destination_url": sink.url,
        "policy_ids": [policy["policy"]["id"]]}}})
    assert patched.status == 200
    assert patched.json()["team"]["webhook_settings"]["failing_policies_webhook"]["enable_failing_policies_webhook"]
    FakeOsqueryHost(fleet, "team-host", secret=team["secrets"][0]["secret"], answers={"FROM users": []}).checkin()
    assert run_automation(fleet) == 1
    assert sink.received[0]["policy"]["team_id"] == team["id"]
    assert [h["hostname"] for h in sink.received[0]["hosts"]] == ["team-host"]


def test_webhook_config_rules_and_deleted_policies_leave_policy_ids(fleet, sink):
    missing_url = fleet.api("PATCH", "config", {"webhook_settings": {"failing_policies_webhook": {
        "enable_failing_policies_webhook": True}}})
    assert missing_url.status == 422
    assert missing_url.json()["errors"][0]["name"] == "webhook_settings.failing_policies_webhook.destination_url"
    assert fleet.api("PATCH", "config", {"webhook_settings": {"interval": "soon"}}).status == 400
    policy = fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1"}).json()["policy"]
    enable_global_webhook(fleet, sink.url, [policy["id"]])
    fleet.api("POST", "global/policies/delete", {"ids": [policy["id"]]})
    hook = fleet.api("GET", "config").json()["webhook_settings"]["failing_policies_webhook"]
    assert hook["policy_ids"] == [] and hook["enable_failing_policies_webhook"] is True


def test_webhook_runs_on_the_schedule_from_a_background_thread_and_survives_a_dead_destination(fleet, sink):
    policy = fleet.api("POST", "global/policies", {"name": "p", "query": "SELECT 1 FROM users"}).json()["policy"]
    enable_global_webhook(fleet, "http://127.0.0.1:9/nothing-listens", [policy["id"]])
    FakeOsqueryHost(fleet, "n1", answers={"FROM users": []}).checkin()
    fleet.configure(webhook_interval_seconds=0.5, webhook_timeout_seconds=2)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        deliveries = fleet._lab("GET", "/_lab/webhooks")["deliveries"]  # pylint: disable=protected-access
        if deliveries:
            break
        time.sleep(0.2)
    assert deliveries and "error" in deliveries[0]  # logged, the host stays in the set for the next run
    enable_global_webhook(fleet, sink.url, [policy["id"]])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not sink.received:
        time.sleep(0.2)
    assert [h["hostname"] for h in sink.received[0]["hosts"]] == ["n1"]
    assert fleet.api("GET", "version").status == 200
