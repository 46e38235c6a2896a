# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_enroll with ``hosts``: a whole play's hosts in one task, one Fleet list request per poll for all of them,
each host with its own result and error (against the lab Fleet emulator, hosts enrolling through the osquery API).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import time

from fleet_lab import fleet_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.modules import fleet_enroll


def by_name(result):
    return dict((entry["name"], entry) for entry in result["host_results"])


def test_one_list_request_per_poll_for_every_waiting_host(fleet_lab, run_module, return_doc_problems):
    for index in range(6):
        fleet_lab.online_host("late-%d" % index, delay=0.4 * index)
    fleet_lab.emulator.reset_stats()
    items = [{"name": "inv-%d" % index, "hostname": "late-%d" % index} for index in range(6)]
    result = run_module(fleet_enroll, fleet_lab.args(hosts=items, poll_interval=0.3, wait_timeout=30))
    assert result["changed"] is False and result["failed_hosts"] == [], result
    entries = by_name(result)
    assert sorted(entries) == ["inv-%d" % index for index in range(6)]
    assert all(e["host"]["status"] == "online" and not e["failed"] for e in entries.values())
    assert entries["inv-5"]["host"]["hostname"] == "late-5" and entries["inv-5"]["waited"] >= 1.5
    stats = fleet_lab.stats()
    lists = stats["by_route"].get("GET hosts", 0)
    # Six hosts waited about 2 s at 0.3 s a poll: a handful of list requests, not six per poll.
    assert 2 <= lists <= 2.0 / 0.3 + 3 and stats["requests_total"] == lists, stats
    assert return_doc_problems(fleet_enroll, result) == []


def test_a_host_that_never_enrolls_fails_alone_with_its_own_message(fleet_lab, run_module, return_doc_problems):
    fleet_lab.online_host("node-1")
    items = [{"name": "a", "hostname": "node-1"}, {"name": "b", "hostname": "ghost"}]
    result = run_module(fleet_enroll, fleet_lab.args(hosts=items, poll_interval=0.2, wait_timeout=1))
    assert result["failed"] is True and result["failed_hosts"] == ["b"]
    entries = by_name(result)
    assert entries["a"]["failed"] is False and entries["a"]["host"]["status"] == "online"
    assert entries["b"]["failed"] is True and "hostname=ghost did not enroll in Fleet" in entries["b"]["msg"]
    assert result["msg"].startswith("1 of 2 hosts failed: b (hostname=ghost did not enroll")
    assert return_doc_problems(fleet_enroll, result) == []


def test_moves_hosts_into_their_teams_in_one_transfer_per_team_once(fleet_lab, run_module):
    for name in ("web-1", "web-2", "db-1"):
        fleet_lab.online_host(name)
    web = fleet_lab.api("POST", "teams", {"name": "web"})["team"]
    db = fleet_lab.api("POST", "teams", {"name": "db"})["team"]
    items = [{"hostname": "web-1"}, {"hostname": "web-2"}, {"hostname": "db-1", "team": "db"}]
    options = fleet_lab.args(hosts=items, team="web", _ansible_diff=True)
    writes = fleet_lab.writes()
    checked = run_module(fleet_enroll, dict(options, _ansible_check_mode=True))
    assert checked["changed"] is True and fleet_lab.writes() == writes
    assert by_name(checked)["db-1"]["host"]["team_id"] == db["id"]
    fleet_lab.emulator.reset_stats()
    moved = run_module(fleet_enroll, options)
    assert moved["changed"] is True and all(e["changed"] for e in moved["host_results"])
    assert fleet_lab.stats()["by_route"].get("POST hosts/transfer") == 2
    assert dict((h["hostname"], h["team_id"]) for h in fleet_lab.hosts()) == {
        "web-1": web["id"], "web-2": web["id"], "db-1": db["id"]}
    assert moved["diff"]["before"]["web-1"]["team_id"] is None and moved["diff"]["after"]["web-1"]["team_id"] == web["id"]
    writes = fleet_lab.writes()
    again = run_module(fleet_enroll, options)
    assert again["changed"] is False and fleet_lab.writes() == writes


def test_a_missing_team_or_wrong_secret_fails_only_the_hosts_that_use_it(fleet_lab, run_module):
    fleet_lab.online_host("node-1")
    fleet_lab.online_host("node-2")
    fleet_lab.online_host("node-3")
    items = [{"hostname": "node-1", "enroll_secret": fleet_lab.enroll_secret},
             {"hostname": "node-2", "team": "nowhere"},
             {"hostname": "node-3", "enroll_secret": "wrong-secret-123"}]
    result = run_module(fleet_enroll, fleet_lab.args(hosts=items, wait_timeout=5))
    assert result["failed"] is True and result["failed_hosts"] == ["node-2", "node-3"]
    entries = by_name(result)
    assert entries["node-1"]["host"]["status"] == "online"
    assert "team: Fleet has no team named 'nowhere'" in entries["node-2"]["msg"]
    assert entries["node-3"]["msg"].startswith("enroll_secret: Fleet does not know")
    assert "wrong-secret-123" not in json.dumps(result) and fleet_lab.enroll_secret not in json.dumps(result)


def test_check_mode_warns_about_hosts_not_enrolled_and_writes_nothing(fleet_lab, run_module):
    fleet_lab.online_host("node-1")
    items = [{"hostname": "node-1"}, {"hostname": "ghost-1"}, {"hostname": "ghost-2"}]
    result = run_module(fleet_enroll, fleet_lab.args(hosts=items, team="", _ansible_check_mode=True))
    assert result["changed"] is False and result["failed_hosts"] == []
    assert by_name(result)["ghost-1"]["host"] == {}
    assert "hostname=ghost-1, hostname=ghost-2 are not enrolled" in json.dumps(result.get("warnings", []))
    assert fleet_lab.writes() == 0


def test_replace_stale_and_absent_work_per_host(fleet_lab, run_module):
    old = fleet_lab.host("node-2")
    fleet_lab.online_host("node-2", host_uuid=old.uuid, serial=old.serial)
    fleet_lab.online_host("node-3")
    deadline = time.monotonic() + 15
    while sum(1 for h in fleet_lab.hosts() if h["hostname"] == "node-2" and h["status"] == "online") != 1:
        assert time.monotonic() < deadline, "the old node-2 stayed online"
        time.sleep(0.2)
    items = [{"hostname": "node-2"}, {"hostname": "node-3"}]
    ids = fleet_lab.host_ids("node-2")
    result = run_module(fleet_enroll, fleet_lab.args(hosts=items, replace_stale=True, wait_timeout=15,
                                                     poll_interval=0.5))
    entries = by_name(result)
    assert not result.get("failed"), result
    assert [h["id"] for h in entries["node-2"]["deleted_hosts"]] == [min(ids)]
    assert entries["node-2"]["host"]["id"] == max(ids) and entries["node-3"]["changed"] is False
    assert fleet_lab.host_ids("node-2") == [max(ids)]
    gone = run_module(fleet_enroll, fleet_lab.args(hosts=items, state="absent"))
    assert gone["changed"] is True and fleet_lab.hosts() == []
    assert [len(e["deleted_hosts"]) >= 1 for e in gone["host_results"]] == [True, True]
    assert run_module(fleet_enroll, fleet_lab.args(hosts=items, state="absent"))["changed"] is False


def test_each_item_needs_exactly_one_identifier_and_unique_names(fleet_lab, run_module):
    both = run_module(fleet_enroll, fleet_lab.args(hosts=[{"hostname": "a", "uuid": "b"}]))
    assert both["failed"] is True and both["msg"].startswith("hosts[0]: needs exactly one of hostname, uuid")
    twice = run_module(fleet_enroll, fleet_lab.args(hosts=[{"hostname": "a"}, {"name": "a", "uuid": "u"}]))
    assert twice["failed"] is True and "given more than once: a" in twice["msg"]
    mixed = run_module(fleet_enroll, fleet_lab.args(hosts=[{"hostname": "a"}], hostname="a"))
    assert mixed["failed"] is True and "mutually exclusive" in mixed["msg"]
    assert fleet_lab.stats()["requests_total"] == 0
