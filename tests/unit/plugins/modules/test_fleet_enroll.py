# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""fleet_enroll against the lab Fleet emulator, with hosts enrolling through the osquery TLS API.

Hosts go offline 3 seconds after their last check-in (fleet_lab fixture), so waits and stale duplicates happen
in seconds.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import time

from fleet_lab import fleet_lab, wait_offline  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.modules import fleet_enroll


def test_enrolled_online_host_is_found_by_hostname_uuid_and_serial(fleet_lab, run_module, return_doc_problems):
    host = fleet_lab.online_host("node-1")
    fleet_lab.online_host("node-10")  # a search for node-1 also finds node-10: only exact matches count
    for key, value in (("hostname", "node-1"), ("uuid", host.uuid), ("uuid", host.uuid.lower()),
                       ("hardware_serial", host.serial)):
        result = run_module(fleet_enroll, fleet_lab.args(**{key: value}))
        assert result["changed"] is False, result
        assert result["host"]["hostname"] == "node-1" and result["host"]["status"] == "online"
        assert result["host"]["uuid"] == host.uuid and result["deleted_hosts"] == []
        assert return_doc_problems(fleet_enroll, result) == []
    assert fleet_lab.writes() == 0


def test_moves_the_host_into_its_team_once(fleet_lab, run_module):
    fleet_lab.online_host("node-1")
    team = fleet_lab.api("POST", "teams", {"name": "web"})["team"]
    options = fleet_lab.args(hostname="node-1", team="web", _ansible_diff=True)
    writes = fleet_lab.writes()
    checked = run_module(fleet_enroll, dict(options, _ansible_check_mode=True))
    assert checked["changed"] is True and checked["host"]["team_id"] == team["id"]
    assert fleet_lab.writes() == writes
    moved = run_module(fleet_enroll, options)
    assert moved["changed"] is True and moved["host"]["team_name"] == "web"
    assert moved["diff"]["before"]["team_id"] is None and moved["diff"]["after"]["team_id"] == team["id"]
    assert [h["team_id"] for h in fleet_lab.hosts()] == [team["id"]]
    writes = fleet_lab.writes()
    assert run_module(fleet_enroll, options)["changed"] is False
    assert fleet_lab.writes() == writes
    out = run_module(fleet_enroll, fleet_lab.args(hostname="node-1", team=""))
    assert out["changed"] is True and out["host"]["team_id"] is None
    assert [h["team_id"] for h in fleet_lab.hosts()] == [None]


def test_waits_for_a_host_that_enrolls_later(fleet_lab, run_module):
    fleet_lab.online_host("late-1", delay=1.5)
    result = run_module(fleet_enroll, fleet_lab.args(hostname="late-1", poll_interval=0.3, wait_timeout=30))
    assert result["changed"] is False
    assert result["host"]["status"] == "online" and result["waited"] >= 1.0


def test_wait_is_bounded_and_says_the_host_never_enrolled(fleet_lab, run_module):
    started = time.monotonic()
    result = run_module(fleet_enroll, fleet_lab.args(hostname="ghost", poll_interval=0.2, wait_timeout=1))
    assert time.monotonic() - started < 10
    assert result["failed"] is True
    assert "hostname=ghost did not enroll in Fleet" in result["msg"] and "within 1 seconds" in result["msg"]


def test_wait_false_fails_for_a_missing_host_but_check_mode_only_warns(fleet_lab, run_module):
    failed = run_module(fleet_enroll, fleet_lab.args(hostname="ghost", wait=False))
    assert failed["failed"] is True and "not enrolled" in failed["msg"]
    checked = run_module(fleet_enroll, fleet_lab.args(hostname="ghost", _ansible_check_mode=True))
    assert checked["changed"] is False and checked["host"] == {}
    assert "not enrolled" in json.dumps(checked.get("warnings", [])), checked


def test_wrong_enroll_secret_fails_at_once_naming_enroll_secret(fleet_lab, run_module):
    started = time.monotonic()
    result = run_module(fleet_enroll, fleet_lab.args(hostname="node-1", enroll_secret="wrong-secret-123",
                                                     wait_timeout=60))
    assert time.monotonic() - started < 10
    assert result["failed"] is True and result["msg"].startswith("enroll_secret: Fleet does not know")
    assert "wrong-secret-123" not in json.dumps(result)
    fleet_lab.online_host("node-1")
    good = run_module(fleet_enroll, fleet_lab.args(hostname="node-1", enroll_secret=fleet_lab.enroll_secret))
    assert good["changed"] is False and good["host"]["status"] == "online"


def test_ca_that_does_not_match_fails_with_certificate_verify_failed(fleet_lab, run_module, tls_files):
    result = run_module(fleet_enroll, fleet_lab.args(hostname="node-1", ca_path=tls_files.other_ca_cert))
    assert result["failed"] is True
    assert "certificate verify failed" in result["msg"] and "check ca_path" in result["msg"]


def test_unreachable_fleet_names_the_url(run_module, closed_port):
    url = "https://127.0.0.1:%d" % closed_port
    result = run_module(fleet_enroll, {"url": url, "api_token": "token-123456", "hostname": "node-1", "retries": 0})
    assert result["failed"] is True
    assert "Cannot connect to Fleet at %s" % url in result["msg"] and "connection refused" in result["msg"]


def test_replace_stale_deletes_the_offline_duplicate_of_a_reinstalled_server(fleet_lab, run_module):
    old = fleet_lab.host("node-2")
    new = fleet_lab.online_host("node-2", host_uuid=old.uuid, serial=old.serial)
    wait_offline_old(fleet_lab, "node-2")
    ids = fleet_lab.host_ids("node-2")
    assert len(ids) == 2
    options = fleet_lab.args(hostname="node-2", replace_stale=True, _ansible_diff=True)

    checked = run_module(fleet_enroll, dict(options, _ansible_check_mode=True))
    assert checked["changed"] is True and [h["id"] for h in checked["deleted_hosts"]] == [min(ids)]
    assert fleet_lab.writes() == 0 and fleet_lab.host_ids("node-2") == ids

    result = run_module(fleet_enroll, options)
    assert result["changed"] is True
    assert [h["id"] for h in result["deleted_hosts"]] == [min(ids)]
    assert result["host"]["id"] == max(ids) and result["host"]["status"] == "online"
    assert result["diff"] == {"before": {"hosts": ids, "team_id": None},
                              "after": {"hosts": [max(ids)], "team_id": None}}
    assert fleet_lab.host_ids("node-2") == [max(ids)]
    assert run_module(fleet_enroll, options)["changed"] is False
    assert new.node_key


def wait_offline_old(lab, hostname, timeout=15):
    """Wait until exactly one Fleet host named ``hostname`` is online (the old one went offline)."""
    deadline = time.monotonic() + timeout
    while sum(1 for h in lab.hosts() if h["hostname"] == hostname and h["status"] == "online") != 1:
        if time.monotonic() > deadline:
            raise AssertionError("no single online %s after %ss" % (hostname, timeout))
        time.sleep(0.2)


def test_enrolled_after_makes_older_enrollments_stale_and_waits_for_a_new_one(fleet_lab, run_module):
    host = fleet_lab.online_host("node-3")
    old_ids = fleet_lab.host_ids("node-3")
    time.sleep(1.1)
    deployed = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(1.1)
    host.stop()
    fleet_lab.online_host("node-3", delay=1.0, host_uuid=host.uuid)
    result = run_module(fleet_enroll, fleet_lab.args(hostname="node-3", replace_stale=True, enrolled_after=deployed,
                                                     poll_interval=0.3, wait_timeout=30))
    assert result["changed"] is True
    assert [h["id"] for h in result["deleted_hosts"]] == old_ids
    assert result["host"]["id"] not in old_ids and result["host"]["status"] == "online"
    assert fleet_lab.host_ids("node-3") == [result["host"]["id"]]


def test_enrolled_after_must_be_a_time(fleet_lab, run_module):
    result = run_module(fleet_enroll, fleet_lab.args(hostname="x", replace_stale=True, enrolled_after="yesterday"))
    assert result["failed"] is True and result["msg"].startswith("enrolled_after:")


def test_absent_deletes_every_host_with_the_identifier(fleet_lab, run_module, return_doc_problems):
    first = fleet_lab.host("node-4")
    fleet_lab.host("node-4", host_uuid=first.uuid)
    fleet_lab.host("node-5")
    options = fleet_lab.args(hostname="node-4", state="absent")
    checked = run_module(fleet_enroll, dict(options, _ansible_check_mode=True))
    assert checked["changed"] is True and len(checked["deleted_hosts"]) == 2 and fleet_lab.writes() == 0
    result = run_module(fleet_enroll, options)
    assert result["changed"] is True and result["host"] == {} and len(result["deleted_hosts"]) == 2
    assert return_doc_problems(fleet_enroll, result) == []
    assert [h["hostname"] for h in fleet_lab.hosts()] == ["node-5"]
    assert run_module(fleet_enroll, options)["changed"] is False
