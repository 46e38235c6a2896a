# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_policy with ``policies``: many policies of one scope in one task, every entry checked before the first
write, the scope listed once, only what differs written; in-process against the lab Fleet emulator."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from fleet_lab import fleet_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.modules import fleet_policy

BASELINE = [
    {"name": "sshd running", "query": "SELECT 1 FROM processes WHERE name = 'sshd';", "critical": True,
     "platform": "linux"},
    {"name": "chrony running", "query": "SELECT 1 FROM processes WHERE name = 'chronyd';",
     "description": "Time is kept.", "platform": "linux"},
    {"name": "root login off", "query": "SELECT 1 FROM users WHERE username = 'root' AND shell LIKE '%nologin';",
     "resolution": "Set PermitRootLogin no."},
]


def global_policies(lab):
    return dict((p["name"], p) for p in lab.api("GET", "global/policies")["policies"])


def test_batch_creates_every_policy_then_a_rerun_lists_once_and_writes_nothing(fleet_lab, run_module,
                                                                               return_doc_problems):
    result = run_module(fleet_policy, fleet_lab.args(policies=BASELINE))
    assert result["changed"] is True, result
    assert [item["name"] for item in result["policies"]] == [p["name"] for p in BASELINE]
    assert all(item["changed"] and item["policy"]["id"] for item in result["policies"])
    assert return_doc_problems(fleet_policy, result) == []
    stored = global_policies(fleet_lab)
    assert stored["sshd running"]["critical"] is True and stored["chrony running"]["description"] == "Time is kept."
    assert fleet_lab.writes() == 3

    before = fleet_lab.stats()["requests_total"]
    again = run_module(fleet_policy, fleet_lab.args(policies=BASELINE))
    assert again["changed"] is False and not any(item["changed"] for item in again["policies"])
    assert [item["policy"]["id"] for item in again["policies"]] == [item["policy"]["id"] for item in result["policies"]]
    assert fleet_lab.writes() == 3
    # One list of the scope's policies for all three (the one-policy form lists once per policy).
    assert fleet_lab.stats()["requests_total"] - before == 1


def test_batch_updates_only_what_differs_and_deletes_absent_entries(fleet_lab, run_module):
    run_module(fleet_policy, fleet_lab.args(policies=BASELINE))
    changed = [dict(BASELINE[0]), dict(BASELINE[1], critical=True), {"name": "root login off", "state": "absent"}]
    result = run_module(fleet_policy, fleet_lab.args(policies=changed, _ansible_diff=True))
    assert [item["changed"] for item in result["policies"]] == [False, True, True]
    assert result["policies"][2]["policy"] == {}
    assert result["diff"]["before"]["chrony running"]["critical"] is False
    assert result["diff"]["after"]["chrony running"]["critical"] is True
    assert result["diff"]["after"]["root login off"] == {} or result["diff"]["after"]["root login off"] is None
    assert "sshd running" not in result["diff"]["before"]
    assert sorted(global_policies(fleet_lab)) == ["chrony running", "sshd running"]
    assert global_policies(fleet_lab)["chrony running"]["critical"] is True


def test_batch_check_mode_reports_and_writes_nothing(fleet_lab, run_module):
    result = run_module(fleet_policy, fleet_lab.args(policies=BASELINE, _ansible_check_mode=True))
    assert result["changed"] is True and all(item["changed"] for item in result["policies"])
    assert fleet_lab.writes() == 0 and global_policies(fleet_lab) == {}


def test_a_bad_entry_fails_naming_it_and_nothing_is_written(fleet_lab, run_module):
    bad_sql = BASELINE[:1] + [{"name": "broken", "query": "SELEC 1 FROM users;"}] + BASELINE[2:]
    result = run_module(fleet_policy, fleet_lab.args(policies=bad_sql))
    assert result["failed"] is True
    assert result["msg"].startswith("policies[1].query: policy 'broken' is not valid osquery SQL: "), result["msg"]
    assert result["field"] == "policies[1].query"

    no_query = run_module(fleet_policy, fleet_lab.args(policies=BASELINE + [{"name": "new without a query"}]))
    assert no_query["failed"] is True and no_query["msg"].startswith("policies[3].query: required to create")

    bad_platform = run_module(fleet_policy, fleet_lab.args(policies=[dict(BASELINE[0], platform="linux,beos")]))
    assert bad_platform["failed"] is True and bad_platform["msg"].startswith("policies[0].platform:")

    twice = run_module(fleet_policy, fleet_lab.args(policies=[BASELINE[0], BASELINE[0]]))
    assert twice["failed"] is True and twice["msg"].startswith("policies[1].name: policy 'sshd running' is listed")

    blank = run_module(fleet_policy, fleet_lab.args(policies=[dict(BASELINE[0], name="  ")]))
    assert blank["failed"] is True and blank["msg"].startswith("policies[0].name:")
    assert fleet_lab.writes() == 0 and global_policies(fleet_lab) == {}


def test_name_and_policies_are_mutually_exclusive_and_one_is_required(fleet_lab, run_module):
    both = run_module(fleet_policy, fleet_lab.args(name="x", query="SELECT 1;", policies=BASELINE))
    assert both["failed"] is True and "mutually exclusive" in both["msg"]
    neither = run_module(fleet_policy, fleet_lab.args(query="SELECT 1;"))
    assert neither["failed"] is True and "one of the following is required" in neither["msg"]
    assert fleet_lab.writes() == 0
