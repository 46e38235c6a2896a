# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deployment engine's typed per-machine record: what it returns, how the action plugin reads it back (a
replaced machine by its replaced_by field, not by its message), and the progress counts the engine reports."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.maas_deployment import (
    MachineDeployment,
    MachineRecord,
    Progress,
    progress_counts,
)

PARAMS = {"state": "deployed", "count": 2, "agent_name": "web", "on_failure": "replace", "wait_timeout": 60}


def machine(sid, status, hostname=None):
    return {"system_id": sid, "hostname": hostname or "host-" + sid, "fqdn": "%s.maas" % (hostname or sid),
            "status_name": status, "owner": "admin", "ip_addresses": ["10.0.0.1"], "status_message": status,
            "distro_series": "noble"}


def test_record_takes_in_the_machine_and_returns_exactly_the_documented_keys():
    record = MachineRecord("aaaaaa", "deploy")
    record.update(machine("aaaaaa", "Deploying", "web-01"))
    result = record.to_result()
    assert sorted(result) == sorted(MachineRecord.RESULT_KEYS)
    assert result["hostname"] == "web-01" and result["status"] == "Deploying" and result["action"] == "deploy"
    assert result["replaced_by"] is None and result["failed"] is False
    # The run's own bookkeeping stays out of the result.
    assert "status_before" not in result and "distro_series" not in result


def test_record_read_back_from_its_result_is_the_same_record():
    record = MachineRecord("aaaaaa", "deploy")
    record.update(machine("aaaaaa", "Failed deployment"))
    record.fail("Failed deployment: curtin failed")
    record.replaced_by = "bbbbbb"
    record.events = [{"type": "Failed deployment", "description": "curtin", "created": "", "level": "ERROR"}]
    again = MachineRecord.from_result(record.to_result())
    assert again.to_result() == record.to_result()
    assert again.status_before == "Failed deployment"


def test_resumed_run_knows_a_replaced_machine_by_replaced_by_whatever_its_message_says():
    replaced = MachineRecord("aaaaaa", "released")
    replaced.update(machine("aaaaaa", "Ready"))
    replaced.fail("deploy failed")  # No "replaced by" in the text: the field alone says so.
    replaced.replaced_by = "cccccc"
    replacement = MachineRecord("cccccc", "replacement")
    replacement.update(machine("cccccc", "Deployed"))
    kept = MachineRecord("bbbbbb", "none")
    kept.update(machine("bbbbbb", "Deployed"))
    module_result = {"changed": True, "machines": [r.to_result() for r in (replaced, kept, replacement)]}
    result = MachineDeployment(None, PARAMS).resume(module_result).result()
    assert "failed" not in result
    assert result["system_ids"] == ["bbbbbb", "cccccc"] and result["failed_machines"] == []
    assert result["machines"][0]["replaced_by"] == "cccccc"


def test_resumed_run_still_fails_for_a_failed_machine_that_was_not_replaced():
    failed = MachineRecord("aaaaaa", "deploy")
    failed.update(machine("aaaaaa", "Failed deployment"))
    failed.fail("deploy failed; replaced by nothing")
    result = MachineDeployment(None, PARAMS).resume({"changed": True, "machines": [failed.to_result()]}).result()
    assert result["failed"] is True and result["failed_machines"] == ["host-aaaaaa"]
    assert result["system_ids"] == ["aaaaaa"]


def test_resumed_run_waits_only_for_machines_still_moving():
    records = [MachineRecord(sid) for sid in ("aaaaaa", "bbbbbb", "cccccc")]
    for record, status in zip(records, ("Deploying", "Deployed", "Deploying")):
        record.update(machine(record.system_id, status))
    records[2].fail("deploy: refused")
    run = MachineDeployment(None, PARAMS).resume({"machines": [r.to_result() for r in records]})
    assert run.pending == ["aaaaaa"]


def test_progress_counts_done_moving_and_failed_machines():
    machines = dict((sid, machine(sid, status)) for sid, status in (
        ("a", "Deployed"), ("b", "Deploying"), ("c", "Allocated"), ("d", "Failed deployment"), ("e", "Deployed")))
    assert progress_counts(machines, "deployed") == Progress("deployed", 2, 2, 1, 5)
    released = dict((sid, machine(sid, status)) for sid, status in (
        ("a", "Ready"), ("b", "New"), ("c", "Releasing"), ("d", "Failed disk erasing")))
    assert progress_counts(released, "released") == Progress("released", 2, 1, 1, 4)
