# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_commission run in-process against the lab MAAS emulator: the New machines are tagged and commissioned in one
batch while machines in every other status are left alone; check mode, reruns, patterns, refusals, failed
commissioning, bad tag names and the bounded wait."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.module_utils.maas_commissioning import plan_commission
from ansible_collections.gough.gough.plugins.modules import maas_commission


@pytest.fixture
def lab(lab_maas_factory):
    """Two Ready machines, one Deployed, one Broken, one still Commissioning (for minutes), and three New machines
    (rack-b-1, rack-b-2, other-1); tag rack-a exists, and other-1 already carries it. Counters zeroed."""
    emulator = lab_maas_factory(machines=3)
    client = MAASClient(emulator.url, emulator.api_key)
    ready = client.get("machines/")
    client.post("tags/", data={"name": "rack-a"})
    # MAAS lets only the owner mark a machine broken: allocate it first (MAAS then leaves it Broken, unowned).
    client.post("machines/", op="allocate", data={"system_id": ready[2]["system_id"]})
    client.machine_op(ready[2]["system_id"], "mark_broken", data={"comment": "bad disk"})
    client.post("machines/", data={"hostname": "deployed-1", "architecture": "amd64", "mac_addresses": mac(90),
                                   "power_type": "manual", "deployed": True})
    emulator.configure(commission_seconds=600)
    client.post("machines/", data={"hostname": "busy-1", "architecture": "amd64", "mac_addresses": mac(91),
                                   "power_type": "manual"})
    emulator.configure(commission_seconds=0.3)
    emulator.new = {}
    for index, hostname in enumerate(("rack-b-1", "rack-b-2", "other-1")):
        emulator.new[hostname] = new_machine(client, hostname, index)
    client.post("tags/rack-a/", op="update_nodes", data={"add": emulator.new["other-1"]})
    emulator.client = client
    emulator.before = statuses(emulator)
    assert sorted(emulator.before.values()) == ["Broken", "Commissioning", "Deployed", "New", "New", "New", "Ready",
                                                "Ready"]
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def mac(index):
    return "52:54:00:00:01:%02x" % index


def new_machine(client, hostname, index, power_type="manual"):
    """Enlist a machine that stays New (commission=false), as MAAS shows a machine it discovered; its system ID."""
    data = {"hostname": hostname, "architecture": "amd64", "mac_addresses": mac(index), "commission": False}
    if power_type:
        data["power_type"] = power_type
    return client.post("machines/", data=data)["system_id"]


def statuses(lab):
    return dict((m["hostname"], m["status_name"]) for m in lab.client.get("machines/"))


def tags_of(lab):
    return dict((m["hostname"], sorted(m["tag_names"])) for m in lab.client.get("machines/"))


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    options.setdefault("poll_interval", 0.2)
    return options


def test_new_machines_are_tagged_and_commissioned_in_one_batch_and_others_left_alone(
        lab, run_module, return_doc_problems):
    others = dict((name, status) for name, status in lab.before.items() if status != "New")
    tags_before = tags_of(lab)
    lab.reset_stats()
    result = run_module(maas_commission, args(lab, tags=["rack-a", "discovered"], testing_scripts=[]))
    stats = lab.stats()
    assert not return_doc_problems(maas_commission, result)
    assert result["changed"] is True and not result.get("failed"), result.get("msg")
    assert result["hostnames"] == ["rack-b-1", "rack-b-2", "other-1"] and result["failed_machines"] == []
    assert result["tags_created"] == ["discovered"]
    sids = [lab.new[h] for h in ("rack-b-1", "rack-b-2", "other-1")]
    assert result["plan"] == [["create_tag", "discovered"], ["tag", "rack-a", sids[:2]], ["tag", "discovered", sids],
                              ["commission", sids]]
    assert [m["status"] for m in result["machines"]] == ["Ready"] * 3
    assert result["machines"][2]["tags_added"] == ["discovered"]
    assert result["summary"] == ("3 New machines commissioned (rack-b-1, rack-b-2, other-1), tagged rack-a, "
                                 "discovered: 3 Ready, 0 failed")
    now = statuses(lab)
    assert all(now[h] == "Ready" for h in lab.new)
    assert dict((h, now[h]) for h in others) == others
    tags_now = tags_of(lab)
    for hostname in lab.new:
        assert tags_now[hostname] == ["discovered", "rack-a"]
    assert dict((h, tags_now[h]) for h in others) == dict((h, tags_before[h]) for h in others)
    # Writes: one tag created, one update_nodes per tag, one commission per New machine, nothing else.
    assert sorted(stats["machine_ops"]) == sorted(sids)
    assert stats["machine_ops"] == dict((sid, {"tag": 2, "commission": 1}) for sid in sids[:2]) | {
        sids[2]: {"tag": 1, "commission": 1}}  # other-1 carried rack-a already
    assert stats["by_op"]["POST tags/{name}/ update_nodes"] == 2 and stats["writes"] == 1 + 2 + 3
    # Reads: one list call finds the New machines, the polls are list calls too: never a read per machine.
    assert stats["by_op"]["GET machines/ read"] == 1 + result["polls"]
    assert "GET machines/{system_id}/ read" not in stats["by_op"]


def test_rerun_with_no_new_machine_changes_nothing(lab, run_module):
    first = run_module(maas_commission, args(lab, tags=["rack-a"]))
    assert first["changed"] is True
    lab.reset_stats()
    again = run_module(maas_commission, args(lab, tags=["rack-a", "never-created"]))
    assert again["changed"] is False and again["machines"] == [] and again["plan"] == []
    assert again["summary"] == "No New machine to commission; nothing changed."
    assert lab.stats()["writes"] == 0
    assert "never-created" not in [t["name"] for t in lab.client.get("tags/")]


def test_check_mode_reports_the_plan_and_writes_nothing(lab, run_module):
    result = run_module(maas_commission, args(lab, tags=["discovered"], _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True and result["tags_created"] == ["discovered"]
    assert [step[0] for step in result["plan"]] == ["create_tag", "tag", "commission"]
    assert result["diff"]["before"]["machines"] == {"rack-b-1": "New", "rack-b-2": "New", "other-1": "New"}
    assert result["diff"]["after"]["machines"] == {"rack-b-1": "Ready", "rack-b-2": "Ready", "other-1": "Ready"}
    assert result["summary"].startswith("3 New machines would be commissioned")
    stats = lab.stats()
    assert stats["writes"] == 0 and stats["requests_total"] == 2  # the list of New machines and the tags
    assert statuses(lab) == lab.before


def test_match_limits_the_batch_by_hostname_or_system_id(lab, run_module):
    result = run_module(maas_commission, args(lab, match=["rack-b-*", lab.new["other-1"]], wait=False))
    assert result["hostnames"] == ["rack-b-1", "rack-b-2", "other-1"]
    result = run_module(maas_commission, args(lab, match=["nothing-*"], _ansible_check_mode=True))
    assert result["changed"] is False and result["summary"] == "No New machine matches nothing-*; nothing changed."


def test_match_pattern_leaves_unmatched_new_machines_new(lab, run_module):
    result = run_module(maas_commission, args(lab, match=["rack-b-?"]))
    assert result["hostnames"] == ["rack-b-1", "rack-b-2"]
    assert statuses(lab)["other-1"] == "New"
    assert sorted(lab.stats()["machine_ops"]) == sorted([lab.new["rack-b-1"], lab.new["rack-b-2"]])


@pytest.mark.parametrize("bad, reason", [("rack a", "use only letters"), ("rack/a", "use only letters"),
                                         ("t" * 257, "at most 256 characters (it has 257)")])
def test_bad_tag_name_fails_naming_it_before_any_request(lab, run_module, bad, reason):
    result = run_module(maas_commission, args(lab, tags=["good", bad]))
    assert result["failed"] is True
    assert result["msg"].startswith("tags: %r is not a valid MAAS tag name" % bad) and reason in result["msg"]
    assert lab.stats()["requests_total"] == 0
    assert statuses(lab) == lab.before


def test_maas_refusal_names_the_machine_and_the_others_are_still_commissioned(lab, run_module):
    # MAAS refuses to commission a machine without a power type (503 "Unconfigured power type").
    unpowered = new_machine(lab.client, "no-power", 20, power_type=None)
    lab.reset_stats()
    result = run_module(maas_commission, args(lab))
    assert result["failed"] is True and result["failed_machines"] == ["no-power"]
    assert result["msg"].startswith("1 of 4 machines were not commissioned: no-power (%s): MAAS refused to "
                                    "commission it" % unpowered)
    assert "Unconfigured power type" in result["msg"]
    now = statuses(lab)
    assert now["no-power"] == "New" and all(now[h] == "Ready" for h in lab.new)


def test_failed_commissioning_fails_with_maas_message_and_events(lab, run_module):
    lab.configure(fail_commission=1.0)
    result = run_module(maas_commission, args(lab, match=["rack-b-1"]))
    assert result["failed"] is True and result["failed_machines"] == ["rack-b-1"]
    (machine,) = result["machines"]
    assert machine["status"] == "Failed commissioning" and machine["events"]
    assert "rack-b-1 (%s): commissioning ended in Failed commissioning" % lab.new["rack-b-1"] in result["msg"]
    assert "Latest events:" in result["msg"]


def test_wait_is_bounded_by_wait_timeout_and_names_the_machines_still_commissioning(lab, run_module):
    lab.configure(commission_seconds=120)
    started = time.monotonic()
    result = run_module(maas_commission, args(lab, match=["rack-b-*"], wait_timeout=2, poll_interval=0.5))
    elapsed = time.monotonic() - started
    assert elapsed < 10
    assert result["failed"] is True and result["failed_machines"] == ["rack-b-1", "rack-b-2"]
    assert "rack-b-1 (%s): still Commissioning after wait_timeout=2s" % lab.new["rack-b-1"] in result["msg"]
    # The machines keep commissioning in MAAS; a later run does not touch them (they are no longer New).
    assert statuses(lab)["rack-b-1"] == "Commissioning"


def test_no_wait_returns_once_commissioning_started(lab, run_module):
    lab.configure(commission_seconds=120)
    result = run_module(maas_commission, args(lab, wait=False))
    assert not result.get("failed") and result["polls"] == 0
    assert [m["status"] for m in result["machines"]] == ["Commissioning"] * 3


def test_commissioning_options_reach_maas_form(lab, run_module, monkeypatch):
    sent = []
    original = MAASClient.machine_op

    def recording(self, system_id, op, data=None, **kwargs):
        sent.append((op, dict(data or {})))
        return original(self, system_id, op, data=data, **kwargs)
    monkeypatch.setattr(MAASClient, "machine_op", recording)
    run_module(maas_commission, args(lab, match=["other-1"], skip_storage=True, commissioning_scripts=["a", "b"],
                                     testing_scripts=[], comment="rack b", wait=False))
    assert sent == [("commission", {"enable_ssh": False, "skip_networking": False, "skip_storage": True,
                                    "comment": "rack b", "commissioning_scripts": "a,b", "testing_scripts": "none"})]


def test_plan_creates_tags_only_for_machines_to_carry_them():
    machines = [{"system_id": "aaaaaa", "tag_names": ["web"]}, {"system_id": "bbbbbb", "tag_names": []}]
    assert plan_commission([], set(), ["web"]) == []
    assert plan_commission(machines, {"web"}, ["web", "new"]) == [
        ("create_tag", "new"), ("tag", "web", ["bbbbbb"]), ("tag", "new", ["aaaaaa", "bbbbbb"]),
        ("commission", ["aaaaaa", "bbbbbb"])]
