# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_host_info against the lab Fleet emulator: filters, exact lookups, policies, pagination, no writes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from fleet_lab import fleet_lab, wait_offline  # noqa: F401 pylint: disable=unused-import
from gough_lab.fleet.testing import FakeOsqueryHost

from ansible_collections.gough.gough.plugins.modules import fleet_host_info


def test_lists_filters_and_looks_up_hosts_exactly(fleet_lab, run_module, return_doc_problems):
    team = fleet_lab.api("POST", "teams", {"name": "web"})["team"]
    web = fleet_lab.online_host("web-1")
    fleet_lab.api("POST", "hosts/transfer", {"team_id": team["id"], "hosts": fleet_lab.host_ids("web-1")})
    fleet_lab.host("web-10")
    for index in range(3):
        fleet_lab.host("db-%d" % index)
    writes = fleet_lab.writes()

    every = run_module(fleet_host_info, fleet_lab.args())
    assert every["changed"] is False and every["count"] == 5
    assert return_doc_problems(fleet_host_info, every) == []

    exact = run_module(fleet_host_info, fleet_lab.args(hostname="web-1"))
    assert [h["hostname"] for h in exact["hosts"]] == ["web-1"]
    assert run_module(fleet_host_info, fleet_lab.args(uuid=web.uuid))["hosts"][0]["hostname"] == "web-1"
    assert run_module(fleet_host_info, fleet_lab.args(query="web"))["count"] == 2
    in_team = run_module(fleet_host_info, fleet_lab.args(team="web"))
    assert [h["team_name"] for h in in_team["hosts"]] == ["web"]
    assert run_module(fleet_host_info, fleet_lab.args(team=""))["count"] == 4
    wait_offline(fleet_lab, "db-0")
    assert run_module(fleet_host_info, fleet_lab.args(status="online"))["hosts"][0]["hostname"] == "web-1"
    assert fleet_lab.writes() == writes


def test_policies_are_reported_per_host(fleet_lab, run_module, return_doc_problems):
    policy = fleet_lab.api("POST", "global/policies", {"name": "always", "query": "SELECT 1;"})["policy"]
    fleet_lab.online_host("node-1")
    result = run_module(fleet_host_info, fleet_lab.args(hostname="node-1", policies=True))
    assert result["hosts"][0]["policies"][0]["id"] == policy["id"]
    assert result["hosts"][0]["policies"][0]["name"] == "always"
    assert result["hosts"][0]["policies"][0]["response"] in ("", "pass", "fail")
    assert return_doc_problems(fleet_host_info, result) == []


def test_policy_summary_names_failing_critical_policies_from_list_requests(
        fleet_lab, run_module, return_doc_problems):
    """Fleet's host list with populate_policies carries each host's results: no request per host."""
    root = "SELECT 1 FROM os_version WHERE name = 'root login off';"
    fleet_lab.api("POST", "global/policies", {"name": "root login", "query": root, "critical": True})
    fleet_lab.api("POST", "global/policies", {"name": "journal", "query": "SELECT 1;"})
    FakeOsqueryHost(fleet_lab.emulator, "bad-1", answers={root: []}).checkin()
    FakeOsqueryHost(fleet_lab.emulator, "good-1", answers={root: [{"1": "1"}]}).checkin()
    fresh = FakeOsqueryHost(fleet_lab.emulator, "fresh-1")  # enrolled, has not answered any policy yet
    assert fresh.enroll().status == 200
    before = fleet_lab.stats()["requests_total"]

    result = run_module(fleet_host_info, fleet_lab.args(policies=True))

    assert fleet_lab.stats()["requests_total"] - before == 1
    assert return_doc_problems(fleet_host_info, result) == []
    by_name = dict((h["hostname"], h) for h in result["hosts"])
    assert by_name["bad-1"]["failing_critical_policies"] == ["root login"]
    assert by_name["bad-1"]["failing_policies"] == ["root login"]
    assert by_name["bad-1"]["critical_compliant"] is False
    assert (by_name["bad-1"]["policies_passing"], by_name["bad-1"]["policies_total"]) == (1, 2)
    assert by_name["good-1"]["critical_compliant"] is True and by_name["good-1"]["failing_policies"] == []
    assert by_name["fresh-1"]["critical_compliant"] is None and by_name["fresh-1"]["policies_passing"] == 0
    assert (by_name["fresh-1"]["policies_pending"], by_name["bad-1"]["policies_pending"]) == (2, 0)
    assert (by_name["fresh-1"]["policies_reported"], by_name["bad-1"]["policies_reported"]) == (False, True)
    assert [p["critical"] for p in by_name["good-1"]["policies"]] == [True, False]


def test_unknown_team_fails_naming_team(fleet_lab, run_module):
    result = run_module(fleet_host_info, fleet_lab.args(team="nope"))
    assert result["failed"] is True and result["msg"].startswith("team:")
