# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's join and numbers (module_utils/report_data.py), on plain data."""

from ansible_collections.gough.gough.plugins.module_utils import report_data as data

NOW = 1796472000.0
MACHINES = [
    {"hostname": "node-02", "system_id": "bbb222", "status": "Deployed", "ip_addresses": ["10.0.0.2"],
     "zone": "z1", "pool": "web", "tags": ["web", "gough-quarantine"]},
    {"hostname": "node-01", "system_id": "aaa111", "status": "Deployed", "ip_addresses": ["10.0.0.1"],
     "zone": "z1", "pool": "web", "tags": ["web"]},
    {"hostname": "node-03", "system_id": "ccc333", "status": "Ready", "ip_addresses": [], "zone": "z2",
     "pool": "default", "tags": []},
]
FLEET = [
    {"hostname": "node-01.maas", "status": "online", "policies_passing": 3, "policies_total": 3,
     "failing_critical_policies": [],
     "policies": [{"name": "root login", "response": "pass", "critical": True},
                  {"name": "journal", "response": "pass", "critical": False}]},
    {"hostname": "node-02", "status": "offline", "policies_passing": 1, "policies_total": 3,
     "failing_critical_policies": ["root login"],
     "policies": [{"name": "root login", "response": "fail", "critical": True},
                  {"name": "journal", "response": "", "critical": False}]},
    {"hostname": "stray", "primary_ip": "10.9.9.9", "status": "online", "policies_passing": 0, "policies_total": 0,
     "failing_critical_policies": [], "policies": []},
]


def test_each_maas_machine_is_one_row_joined_with_its_fleet_host_and_agent_by_short_hostname():
    rows = data.join_hosts(MACHINES, FLEET, {"node-01": "up", "node-02": "down"})
    assert [row[:3] for row in rows] == [["node-01", "aaa111", "Deployed"], ["node-02", "bbb222", "Deployed"],
                                         ["node-03", "ccc333", "Ready"], ["stray", "", "not in MAAS"]]
    node1, node2, node3, stray = (dict(zip(data.COLUMNS, row)) for row in rows)
    assert (node1["agent"], node1["fleet"], node1["policies"], node1["quarantine"]) == ("up", "online", "3/3", "no")
    # The quarantine tag is its own column, not one of the tags.
    assert (node2["agent"], node2["fleet"], node2["tags"], node2["quarantine"]) == ("down", "offline", "web", "yes")
    assert (node3["agent"], node3["fleet"], node3["policies"], node3["ip"]) == ("-", "-", "-", "")
    assert stray["ip"] == "10.9.9.9"


def test_an_unavailable_source_shows_a_question_mark_in_its_columns_not_a_dash():
    rows = data.join_hosts(MACHINES, None, None)
    assert set(row[7] for row in rows) == {"?"} and set(row[8] for row in rows) == {"?"}


def test_a_failed_or_skipped_task_is_an_error_with_secrets_and_url_credentials_blanked():
    failed = {"failed": True, "status": -1,
              "msg": "Request failed: https://admin:pw@fleet:8443/api token-ABCDEF refused"}
    assert data.source_error(failed, ["token-ABCDEF"], "Fleet") == \
        "Request failed: https://fleet:8443/api ******** refused"
    assert data.source_error({"failed": True, "status": 503, "msg": "Service Unavailable"}) == \
        "HTTP 503: Service Unavailable"
    assert "not read" in data.source_error({"skipped": True}, (), "Fleet")
    assert data.source_error({"changed": False, "hosts": []}) is None


def test_a_prometheus_answer_without_success_is_an_error_naming_what_prometheus_said():
    samples, error = data.prometheus_result({"json": {"status": "error", "error": "parse error at char 3"}})
    assert samples == [] and "parse error at char 3" in error
    samples, error = data.prometheus_result({"json": {"status": "success", "data": {"result": [{"value": [1, "1"]}]}}})
    assert samples == [{"value": [1, "1"]}] and error is None


def test_agents_are_up_or_down_by_instance_without_port_or_domain():
    samples = [{"metric": {"instance": "node-01.maas:9100"}, "value": [NOW, "1"]},
               {"metric": {"instance": "node-02"}, "value": [NOW, "0"]}]
    assert data.agent_states(samples) == {"node-01": "up", "node-02": "down"}


def test_summary_counts_each_tile_from_its_source():
    deploys = [{"hostname": "node-01", "action": "deploy", "seconds": 300, "failed": False, "time": NOW - 3600},
               {"hostname": "node-01", "action": "deploy", "seconds": 320, "failed": False, "time": NOW - 7200},
               {"hostname": "node-02", "action": "deploy", "seconds": 400, "failed": False, "time": NOW - 2 * 86400},
               {"hostname": "node-03", "action": "released", "seconds": 90, "failed": True, "time": NOW - 60}]
    certs = [{"metric": {"cert": "agent", "instance": "node-01"}, "value": [NOW, str(NOW + 5 * 86400)]},
             {"metric": {"cert": "nginx", "instance": "stack"}, "value": [NOW, str(NOW + 300 * 86400)]}]
    summary = data.summarize(MACHINES, None, FLEET, None, {"node-01": "up", "node-02": "down"}, None, deploys,
                             ["gough-20261201T020000Z", "gough-20261204T020000Z", "not-a-backup"], certs, None, NOW)
    assert summary["machines"] == 3 and summary["machines_by_status"] == {"Deployed": 2, "Ready": 1}
    assert summary["deployed_last_24h"] == 1  # node-01 twice in 24 h, node-02 too long ago, node-03 failed
    assert summary["failing_critical_policies"] == 1
    assert (summary["agents_down"], summary["agents_up"], summary["quarantined"]) == (1, 1, 1)
    assert summary["certificates_expiring"] == 1
    assert summary["earliest_certificate"] == {"not_after": NOW + 5 * 86400, "cert": "agent", "instance": "node-01"}
    assert summary["last_backup"] == data.backup_time("gough-20261204T020000Z") and summary["backups"] == 2
    assert summary["unavailable"] == {}


def test_summary_of_unavailable_sources_has_no_number_and_says_why():
    summary = data.summarize([], "MAAS refused", None, "Fleet down", {}, "Prometheus down", [], [], [], "no answer",
                             NOW)
    assert summary["machines"] is None and summary["quarantined"] is None
    assert summary["failing_critical_policies"] is None and summary["agents_down"] is None
    assert summary["certificates_expiring"] is None
    assert summary["unavailable"] == {"maas": "MAAS refused", "fleet": "Fleet down", "agents": "Prometheus down",
                                      "certificates": "no answer"}


def test_deploy_durations_fall_in_whole_minute_buckets_that_cover_every_deploy():
    buckets = data.duration_buckets([61, 65, 300, 1800])
    assert sum(count for _label, count in buckets) == 4
    # [1, 5) minutes holds 61 s and 65 s; 300 s is 5 minutes, in [5, 9).
    assert buckets[:2] == [("1-5 min", 2), ("5-9 min", 1)] and buckets[-1] == ("29-33 min", 1)
    assert data.duration_buckets([]) == []


def test_pass_rate_counts_only_answered_results_per_policy():
    assert data.policy_pass_rates(FLEET) == [("journal", 1, 1, False), ("root login", 1, 2, True)]


def test_machines_by_status_are_grouped_by_zone_and_pool():
    assert data.status_by_zone_pool(MACHINES) == {"z1 / web": {"Deployed": 2}, "z2 / default": {"Ready": 1}}
