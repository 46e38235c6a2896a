# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_tag run in-process against the lab MAAS emulator: every state, membership modes, check mode and diff."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_tag


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator with four Ready machines, a client for it and their system IDs and hostnames."""
    emulator = lab_maas_factory(machines=4)
    client = MAASClient(emulator.url, emulator.api_key)
    emulator.machines = [(m["system_id"], m["hostname"]) for m in client.get("machines/")]
    emulator.client = client
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    return options


def members(lab, name):
    return sorted(m["system_id"] for m in lab.client.get("tags/%s/" % name, op="machines"))


def test_creates_a_tag_then_a_second_run_changes_nothing(lab, run_module):
    options = args(lab, name="gpu", comment="GPU nodes", kernel_opts="nouveau.modeset=0")
    result = run_module(maas_tag, options)
    assert result["changed"] is True
    assert result["tag"] == {"name": "gpu", "comment": "GPU nodes", "definition": "",
                             "kernel_opts": "nouveau.modeset=0"}
    assert lab.client.get("tags/gpu/")["comment"] == "GPU nodes"
    writes = lab.stats()["writes"]
    again = run_module(maas_tag, options)
    assert again["changed"] is False and again["tag"] == result["tag"]
    assert lab.stats()["writes"] == writes


def test_updates_only_the_fields_given(lab, run_module):
    lab.client.post("tags/", data={"name": "gpu", "comment": "old", "kernel_opts": "quiet"})
    result = run_module(maas_tag, args(lab, name="gpu", comment="new", _ansible_diff=True))
    assert result["changed"] is True
    assert result["tag"]["kernel_opts"] == "quiet" and result["tag"]["comment"] == "new"
    assert result["diff"]["before"]["comment"] == "old" and result["diff"]["after"]["comment"] == "new"
    assert lab.client.get("tags/gpu/")["comment"] == "new"


def test_absent_deletes_the_tag_and_is_idempotent(lab, run_module):
    lab.client.post("tags/", data={"name": "old"})
    result = run_module(maas_tag, args(lab, name="old", state="absent"))
    assert result["changed"] is True and result["tag"] == {}
    assert [t["name"] for t in lab.client.get("tags/")] == []
    again = run_module(maas_tag, args(lab, name="old", state="absent"))
    assert again["changed"] is False


def test_adds_machines_by_hostname_and_system_id_with_one_update_nodes(lab, run_module):
    sid1, host2 = lab.machines[0][0], lab.machines[1][1]
    result = run_module(maas_tag, args(lab, name="rack-a", machines=[sid1, host2]))
    expected = sorted([sid1, lab.machines[1][0]])
    assert result["changed"] is True
    assert result["tag"]["machines"] == expected and result["machines_added"] == expected
    assert members(lab, "rack-a") == expected
    stats = lab.stats()
    assert stats["by_op"]["POST tags/{name}/ update_nodes"] == 1
    again = run_module(maas_tag, args(lab, name="rack-a", machines=[sid1, host2]))
    assert again["changed"] is False and again["machines_added"] == []
    assert lab.stats()["writes"] == stats["writes"]


def test_hostnames_are_resolved_with_one_filtered_machines_call(lab, run_module):
    hosts = [machine[1] for machine in lab.machines[:3]]
    run_module(maas_tag, args(lab, name="rack-a", machines=hosts))
    assert lab.stats()["by_op"]["GET machines/ read"] == 1


def test_remove_mode_takes_the_tag_off_only_the_given_machines(lab, run_module):
    sids = [machine[0] for machine in lab.machines]
    run_module(maas_tag, args(lab, name="rack-a", machines=sids[:3]))
    result = run_module(maas_tag, args(lab, name="rack-a", machines=[sids[0], sids[3]], machines_mode="remove"))
    assert result["changed"] is True and result["machines_removed"] == [sids[0]]
    assert members(lab, "rack-a") == sorted(sids[1:3])


def test_set_mode_makes_the_given_machines_exactly_the_members(lab, run_module):
    sids = [machine[0] for machine in lab.machines]
    run_module(maas_tag, args(lab, name="rack-a", machines=sids[:2]))
    result = run_module(maas_tag, args(lab, name="rack-a", machines=sids[1:3], machines_mode="set",
                                       _ansible_diff=True))
    assert result["changed"] is True
    assert result["machines_added"] == [sids[2]] and result["machines_removed"] == [sids[0]]
    assert result["diff"]["before"]["machines"] == sorted(sids[:2])
    assert result["diff"]["after"]["machines"] == sorted(sids[1:3])
    assert members(lab, "rack-a") == sorted(sids[1:3])
    cleared = run_module(maas_tag, args(lab, name="rack-a", machines=[], machines_mode="set"))
    assert cleared["changed"] is True and members(lab, "rack-a") == []


def test_check_mode_writes_nothing_for_every_kind_of_change(lab, run_module):
    sids = [machine[0] for machine in lab.machines]
    lab.client.post("tags/", data={"name": "existing", "comment": "old"})
    lab.client.post("tags/existing/", op="update_nodes", data={"add": sids[:2]})
    lab.reset_stats()
    created = run_module(maas_tag, args(lab, name="new", comment="c", machines=sids[:1], _ansible_check_mode=True,
                                        _ansible_diff=True))
    assert created["changed"] is True
    assert created["tag"] == {"name": "new", "comment": "c", "definition": "", "kernel_opts": "",
                              "machines": sids[:1]}
    assert created["diff"]["before"] == {}
    updated = run_module(maas_tag, args(lab, name="existing", comment="new", machines=sids[2:], machines_mode="set",
                                        _ansible_check_mode=True))
    assert updated["changed"] is True and updated["tag"]["machines"] == sorted(sids[2:])
    assert updated["machines_removed"] == sorted(sids[:2])
    deleted = run_module(maas_tag, args(lab, name="existing", state="absent", _ansible_check_mode=True))
    assert deleted["changed"] is True
    assert lab.stats()["writes"] == 0
    assert lab.client.get("tags/existing/")["comment"] == "old" and members(lab, "existing") == sorted(sids[:2])
    assert [t["name"] for t in lab.client.get("tags/")] == ["existing"]


def test_unknown_machines_fail_naming_them_before_any_write(lab, run_module):
    result = run_module(maas_tag, args(lab, name="rack-a", machines=[lab.machines[0][1], "ghost-1", "zzzzzz"]))
    assert result["failed"] is True
    assert "ghost-1" in result["msg"] and "zzzzzz" in result["msg"] and lab.machines[0][1] not in result["msg"]
    assert lab.stats()["writes"] == 0


@pytest.mark.parametrize("name", ["bad name", "tag/1", "ünï", "", "t" * 257])  # MAAS: regex, max_length=256
def test_invalid_tag_name_fails_before_any_request(lab, run_module, name):
    result = run_module(maas_tag, args(lab, name=name))
    assert result["failed"] is True and result["msg"].startswith("name: ")
    assert lab.stats()["requests_total"] == 0


def test_maas_errors_fail_with_the_http_details(lab, run_module):
    result = run_module(maas_tag, args(lab, name="gpu", api_key=lab.user_api_key))
    assert result["failed"] is True and result["status"] == 403


def test_returned_keys_match_the_documented_return_tree(lab, run_module, return_doc_problems):
    with_machines = run_module(maas_tag, args(lab, name="rack-a", machines=[lab.machines[0][0]]))
    without = run_module(maas_tag, args(lab, name="rack-a", comment="x"))
    absent = run_module(maas_tag, args(lab, name="rack-a", state="absent"))
    for result in (with_machines, without, absent):
        assert "failed" not in result
        assert return_doc_problems(maas_tag, result) == []
    assert set(with_machines["tag"]) == {"name", "comment", "definition", "kernel_opts", "machines"}


def test_missing_names_can_be_ignored_and_are_reported_with_hostnames(lab, run_module, return_doc_problems):
    (sid1, host1), (sid2, host2) = lab.machines[0], lab.machines[1]
    lab.client.post("tags/", data={"name": "quarantine"})
    lab.client.post("tags/quarantine/", op="update_nodes", data={"add": [sid2]})
    added = run_module(maas_tag, args(lab, name="quarantine", machines=[host1, "laptop-17"],
                                      machines_missing="ignore"))
    assert added["changed"] is True and return_doc_problems(maas_tag, added) == []
    assert (added["machines_added"], added["hostnames_added"]) == ([sid1], [host1])
    assert added["machines_missing"] == ["laptop-17"]
    removed = run_module(maas_tag, args(lab, name="quarantine", machines=[host2, "laptop-17"],
                                        machines_mode="remove", machines_missing="ignore"))
    assert (removed["machines_removed"], removed["hostnames_removed"]) == ([sid2], [host2])
    assert members(lab, "quarantine") == [sid1]


def test_remove_machines_go_in_the_same_update_nodes_as_the_added_ones(lab, run_module):
    (sid1, host1), (sid2, host2), (sid3, _host3) = lab.machines[0], lab.machines[1], lab.machines[2]
    lab.client.post("tags/", data={"name": "quarantine"})
    lab.client.post("tags/quarantine/", op="update_nodes", data={"add": [sid2, sid3]})
    lab.reset_stats()
    result = run_module(maas_tag, args(lab, name="quarantine", machines=[host1, sid3], remove_machines=[host2, sid3]))
    assert result["changed"] is True
    assert (result["machines_added"], result["machines_removed"], result["hostnames_removed"]) == (
        [sid1], [sid2], [host2])
    assert members(lab, "quarantine") == sorted([sid1, sid3])  # in both lists: keeps the tag
    assert lab.stats()["by_op"]["POST tags/{name}/ update_nodes"] == 1
    again = run_module(maas_tag, args(lab, name="quarantine", machines=[host1, sid3], remove_machines=[host2, sid3]))
    assert again["changed"] is False
    bad = run_module(maas_tag, args(lab, name="quarantine", machines=[host1], remove_machines=[host2],
                                    machines_mode="set"))
    assert bad["failed"] is True and bad["msg"].startswith("remove_machines: ")
