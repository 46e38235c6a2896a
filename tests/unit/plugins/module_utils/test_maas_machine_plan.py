# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_machine's plan as pure data, without a server: which steps (before, desired) give, in which order, which
refusals come before any write (the rename rule above all), and the machine check mode predicts from a plan."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas_machine_plan import (
    COMMISSIONABLE,
    RENAME_GUARDED,
    BadInput,
    broken_mode,
    WRITES,
    label,
    machine_result,
    make_plan,
    machine_view,
    outcome,
    public_plan,
)

MAC = "52:54:00:00:10:01"
FORM = {"enable_ssh": False, "skip_networking": False, "skip_storage": False}


def view(**fields):
    """A machine view of web-01 (Ready, zone default, tag rack-a, one MAC), with ``fields`` changed."""
    machine = machine_view({"system_id": "abc123", "hostname": "web-01", "status": 4, "status_name": "Ready",
                            "architecture": "amd64/generic", "power_type": "manual", "zone": {"name": "default"},
                            "pool": {"name": "default"}, "domain": {"name": "maas"}, "tag_names": ["rack-a"],
                            "interface_set": [{"mac_address": MAC}]})
    machine.update(fields)
    return machine


def goal(**options):
    base = dict(state="present", macs=[], power_parameters={}, purge_tags=False, wait=True, wait_timeout=1800,
                commission=FORM, comment=None, mark=None, force=False, found_by="hostname", rename_in_use=False)
    base.update(options)
    return base


def test_a_missing_machine_is_created_tagged_commissioned_and_waited_for_in_that_order():
    desired = {"hostname": "node-x", "architecture": "amd64/generic", "power_type": "ipmi", "tags": ["gpu", "rack-a"]}
    steps = make_plan(None, desired, goal(state="ready", macs=[MAC], power_parameters={"power_address": "10.0.0.5"}))
    assert steps == [
        ("create", {"hostname": "node-x", "architecture": "amd64/generic", "power_type": "ipmi",
                    "mac_addresses": [MAC], "power_parameters": {"power_address": "10.0.0.5"}}),
        ("tag", {"name": "gpu"}), ("tag", {"name": "rack-a"}),
        ("commission", FORM),
        ("wait", {"until": "Ready", "timeout": 1800}),
    ]
    assert [label(step) for step in steps] == ["create", "tag gpu", "tag rack-a", "commission", "wait"]


def test_an_existing_machine_gets_one_update_with_only_the_differing_fields():
    steps = make_plan(view(), {"hostname": "web-01", "zone": "rack-a", "description": "spare"}, goal())
    assert steps == [("update", {"zone": "rack-a", "description": "spare"})]
    assert label(steps[0]) == "update description, zone"


def test_a_machine_as_desired_gives_an_empty_plan():
    assert make_plan(view(), {"hostname": "web-01", "zone": "default", "tags": ["rack-a"]}, goal()) == []


def test_tags_are_added_and_only_purged_with_purge_tags():
    before = view(tags=["gpu", "rack-a"])
    assert make_plan(before, {"tags": ["ssd"]}, goal()) == [("tag", {"name": "ssd"})]
    assert make_plan(before, {"tags": ["rack-a", "ssd"]}, goal(purge_tags=True)) == [
        ("tag", {"name": "ssd"}), ("untag", {"name": "gpu"})]


def test_only_power_parameters_that_differ_are_updated():
    before = view(power_parameters={"power_address": "10.0.0.5", "power_user": "maas"})
    steps = make_plan(before, {}, goal(power_parameters={"power_address": "10.0.0.6", "power_user": "maas"}))
    assert steps == [("update", {"power_parameters": {"power_address": "10.0.0.6"}})]


@pytest.mark.parametrize("status", COMMISSIONABLE)
def test_ready_commissions_from_every_commissionable_status(status):
    assert [step[0] for step in make_plan(view(status=status), {}, goal(state="ready"))] == ["commission", "wait"]


def test_ready_only_waits_for_a_machine_already_commissioning_and_not_at_all_without_wait():
    assert make_plan(view(status="Testing"), {}, goal(state="ready")) == [
        ("wait", {"until": "Ready", "timeout": 1800})]
    assert make_plan(view(status="Testing"), {}, goal(state="ready", wait=False)) == []
    assert make_plan(view(status="New"), {}, goal(state="ready", wait=False)) == [("commission", FORM)]


@pytest.mark.parametrize("status", ["Ready", "Allocated", "Deploying", "Deployed"])
def test_ready_leaves_ready_and_in_use_machines_alone(status):
    assert make_plan(view(status=status), {}, goal(state="ready")) == []


def test_ready_refuses_a_failed_deployment_naming_the_state_option():
    with pytest.raises(BadInput, match=r"^state: machine web-01 \(abc123\) is Failed deployment; it must "
                                       r"be released"):
        make_plan(view(status="Failed deployment"), {}, goal(state="ready"))


def test_broken_allocates_first_only_when_broken_mode_says_so():
    assert make_plan(view(), {}, goal(state="broken", mark="allocate", comment="fan")) == [
        ("allocate", {}), ("mark_broken", {"comment": "fan"})]
    assert make_plan(view(), {}, goal(state="broken", mark="mark")) == [("mark_broken", {"comment": None})]
    assert make_plan(view(status="Broken"), {}, goal(state="broken")) == []


def test_broken_mode_follows_the_maas_owner_rule():
    """MAAS lets only a machine's owner mark it broken (403 with an empty body otherwise, even for an admin)."""
    machine = {"system_id": "abc123", "hostname": "web-01", "status_name": "Ready", "owner": None}
    assert broken_mode(machine, "admin") == "allocate"
    assert broken_mode(dict(machine, owner="admin", status_name="Deployed"), "admin") == "mark"
    with pytest.raises(BadInput, match="allocated to bob"):
        broken_mode(dict(machine, owner="bob", status_name="Deployed"), "admin")
    with pytest.raises(BadInput, match="is New and has no owner"):
        broken_mode(dict(machine, status_name="New"), "admin")
    with pytest.raises(BadInput, match="is locked"):
        broken_mode(dict(machine, owner="admin", locked=True), "admin")


def test_absent_deletes_an_existing_machine_and_refuses_one_in_use_without_force():
    assert make_plan(None, {}, goal(state="absent")) == []
    assert make_plan(view(), {}, goal(state="absent")) == [("delete", {})]
    with pytest.raises(BadInput, match=r"^force: machine web-01 \(abc123\) is Deployed"):
        make_plan(view(status="Deployed"), {}, goal(state="absent"))
    assert make_plan(view(status="Deployed"), {}, goal(state="absent", force=True)) == [("delete", {})]


@pytest.mark.parametrize("status", RENAME_GUARDED)
def test_a_machine_in_use_found_by_mac_is_not_renamed_and_the_message_names_both_hostnames_and_the_mac(status):
    with pytest.raises(BadInput) as caught:
        make_plan(view(status=status), {"hostname": "ok4"}, goal(found_by="mac_addresses", macs=[MAC]))
    message = str(caught.value)
    assert message.startswith("hostname: MAAS has no machine ok4, and mac_addresses %s belong to machine web-01 "
                              "(abc123), which is %s" % (MAC, status))
    assert "rename_in_use=true" in message


def test_the_rescue_mode_statuses_and_allocated_deploying_deployed_are_guarded():
    assert set(RENAME_GUARDED) == {"Allocated", "Deploying", "Deployed", "Rescue mode", "Entering rescue mode",
                                   "Failed to enter rescue mode", "Exiting rescue mode", "Failed to exit rescue mode"}


@pytest.mark.parametrize("found_by", ["mac_addresses", "system_id"])
def test_a_machine_in_use_is_renamed_with_rename_in_use(found_by):
    steps = make_plan(view(status="Deployed"), {"hostname": "ok4"},
                      goal(found_by=found_by, macs=[MAC], rename_in_use=True))
    assert steps == [("update", {"hostname": "ok4"})]


@pytest.mark.parametrize("status", ["New", "Ready", "Broken", "Failed commissioning", "Failed deployment"])
def test_a_machine_not_in_use_is_renamed_without_the_option(status):
    steps = make_plan(view(status=status), {"hostname": "ok4"}, goal(found_by="mac_addresses", macs=[MAC]))
    assert steps == [("update", {"hostname": "ok4"})]


def test_a_machine_in_use_given_by_system_id_is_not_renamed_either():
    with pytest.raises(BadInput, match=r"^hostname: system_id abc123 is machine web-01, which is "
                                       r"Allocated: renaming a machine in use from web-01 to ok4"):
        make_plan(view(status="Allocated"), {"hostname": "ok4"}, goal(found_by="system_id"))


@pytest.mark.parametrize("status", ["Ready", "Deployed"])
def test_absent_refuses_a_hostname_that_names_another_machine_even_with_rename_in_use(status):
    with pytest.raises(BadInput, match="nothing is deleted"):
        make_plan(view(status=status), {"hostname": "ok4"},
                  goal(state="absent", found_by="mac_addresses", macs=[MAC], force=True, rename_in_use=True))


def test_outcome_predicts_the_machine_from_the_plan_alone():
    before = view(tags=["gpu", "rack-a"], power_parameters={"power_pass": "old"})
    steps = [("update", {"zone": "rack-a", "power_parameters": {"power_pass": "new"}}), ("tag", {"name": "ssd"}),
             ("untag", {"name": "gpu"}), ("commission", FORM), ("wait", {"until": "Ready", "timeout": 5})]
    after = outcome(before, steps)
    assert (after["zone"], after["tags"], after["power_parameters"]) == ("rack-a", ["rack-a", "ssd"],
                                                                         {"power_pass": "new"})
    assert (after["status"], after["status_code"]) == ("Ready", 4)
    assert before["zone"] == "default" and before["tags"] == ["gpu", "rack-a"]
    assert outcome(before, [("commission", FORM)])["status"] == "Commissioning"
    broken = outcome(before, [("allocate", {}), ("mark_broken", {"comment": "fan"})])
    assert (broken["status"], broken["error_description"]) == ("Broken", "fan")
    assert outcome(before, [("delete", {})]) is None
    created = outcome(None, make_plan(None, {"hostname": "n1", "tags": ["gpu"]}, goal(macs=[MAC])))
    assert (created["hostname"], created["status"], created["tags"], created["mac_addresses"]) == (
        "n1", "New", ["gpu"], [MAC])


def test_the_returned_plan_masks_secret_power_parameters():
    steps = [("create", {"hostname": "n1", "power_parameters": {"power_address": "10.0.0.5", "power_pass": "s3"}}),
             ("tag", {"name": "gpu"})]
    assert public_plan(steps) == [
        {"action": "create", "args": {"hostname": "n1",
                                      "power_parameters": {"power_address": "10.0.0.5", "power_pass": "********"}}},
        {"action": "tag", "args": {"name": "gpu"}}]
    assert steps[0][1]["power_parameters"]["power_pass"] == "s3"


def test_a_plan_that_only_waits_reports_no_change_and_the_result_hides_power_parameters():
    before = view(status="Commissioning", power_parameters={"power_pass": "s3"})
    steps = make_plan(before, {}, goal(state="ready", power_parameters={"power_pass": "s3"}))
    result = machine_result(before, outcome(before, steps), steps, [label(s) for s in steps if s[0] in WRITES])
    assert steps == [("wait", {"until": "Ready", "timeout": 1800})]
    assert result["changed"] is False and result["actions"] == []
    assert result["plan"] == [{"action": "wait", "args": {"until": "Ready", "timeout": 1800}}]
    assert "power_parameters" not in result["machine"] and result["machine"]["status"] == "Ready"
    assert result["diff"]["after"]["power_parameters"] == {"power_pass": "********"}
