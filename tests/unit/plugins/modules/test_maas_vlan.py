# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_vlan run in-process against the lab MAAS emulator: lifecycle, DHCP, racks, relay, check mode, bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_vlan


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator without machines and a client for it (fabric-0, its untagged VLAN, subnet 10.20.0.0/16)."""
    emulator = lab_maas_factory(machines=0)
    client = MAASClient(emulator.url, emulator.api_key)
    emulator.client = client
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    options.setdefault("fabric", "fabric-0")
    options.setdefault("vid", 0)
    return options


def add_dynamic_range(lab):
    lab.client.post("ipranges/", data={"type": "dynamic", "start_ip": "10.20.200.1", "end_ip": "10.20.200.254"})
    lab.reset_stats()


def test_turns_dhcp_on_with_a_rack_then_a_second_run_changes_nothing(lab, run_module, return_doc_problems):
    add_dynamic_range(lab)
    options = args(lab, dhcp_on=True, primary_rack="gough-lab-maas")
    result = run_module(maas_vlan, options)
    assert result["changed"] is True, result
    assert result["vlan"]["dhcp_on"] is True and result["vlan"]["primary_rack"] == "r4ckid"
    vlan = lab.client.get("vlans/5001/")
    assert vlan["dhcp_on"] is True and vlan["primary_rack"] == "r4ckid"
    assert return_doc_problems(maas_vlan, result) == []
    writes = lab.stats()["writes"]
    again = run_module(maas_vlan, options)
    assert again["changed"] is False and lab.stats()["writes"] == writes


def test_check_mode_reports_dhcp_on_and_writes_nothing(lab, run_module):
    add_dynamic_range(lab)
    result = run_module(maas_vlan, args(lab, dhcp_on=True, primary_rack="r4ckid", _ansible_check_mode=True,
                                        _ansible_diff=True))
    assert result["changed"] is True and result["vlan"]["dhcp_on"] is True
    assert result["diff"]["before"]["dhcp_on"] is False and result["diff"]["after"]["dhcp_on"] is True
    assert lab.stats()["writes"] == 0 and lab.client.get("vlans/5001/")["dhcp_on"] is False


def test_creates_a_tagged_vlan_with_mtu_and_relay_then_deletes_it(lab, run_module):
    result = run_module(maas_vlan, args(lab, vid=100, name="storage", mtu=9000, relay_vlan="0"))
    assert result["changed"] is True, result
    vlan = result["vlan"]
    assert vlan["vid"] == 100 and vlan["mtu"] == 9000 and vlan["relay_vlan"] == "fabric-0.0"
    made = lab.client.get("fabrics/0/vlans/100/")
    assert made["name"] == "storage" and made["relay_vlan"]["id"] == 5001
    again = run_module(maas_vlan, args(lab, vid=100, name="storage", mtu=9000, relay_vlan="fabric-0.0"))
    assert again["changed"] is False
    gone = run_module(maas_vlan, args(lab, vid=100, state="absent"))
    assert gone["changed"] is True and gone["vlan"] == {}
    assert [v["vid"] for v in lab.client.get("fabrics/0/vlans/")] == [0]
    assert run_module(maas_vlan, args(lab, vid=100, state="absent"))["changed"] is False


def test_check_mode_create_writes_nothing(lab, run_module):
    result = run_module(maas_vlan, args(lab, vid=100, mtu=9000, _ansible_check_mode=True))
    assert result["changed"] is True and result["vlan"]["vid"] == 100 and "id" not in result["vlan"]
    assert lab.stats()["writes"] == 0


def test_dhcp_off_clears_and_racks_can_be_removed(lab, run_module):
    add_dynamic_range(lab)
    run_module(maas_vlan, args(lab, dhcp_on=True, primary_rack="r4ckid"))
    result = run_module(maas_vlan, args(lab, dhcp_on=False, primary_rack=""))
    assert result["changed"] is True
    vlan = lab.client.get("vlans/5001/")
    assert vlan["dhcp_on"] is False and vlan["primary_rack"] is None


@pytest.mark.parametrize("options, field, words", [
    ({"dhcp_on": True, "primary_rack": "r4ckid"}, "dhcp_on", "no dynamic IP range"),
    ({"fabric": "no-such-fabric"}, "fabric", "no fabric"),
    ({"primary_rack": "nosuch"}, "primary_rack", "no rack controller"),
    ({"vid": 100, "primary_rack": "r4ckid"}, "primary_rack", "no interface on VID 100"),
    ({"primary_rack": "r4ckid", "secondary_rack": "r4ckid"}, "secondary_rack", "must be another"),
    ({"mtu": 500}, "mtu", "552"),
    ({"vid": 5000}, "vid", "4094"),
    ({"dhcp_on": True, "relay_vlan": "0", "vid": 100}, "relay_vlan", "either serves DHCP or relays"),
    ({"vid": 100, "relay_vlan": "100"}, "relay_vlan", "MAAS has no VLAN"),
    ({"name": "prov"}, "name", "untagged"),
    ({"state": "absent"}, "vid", "untagged VLAN"),
])
def test_bad_input_fails_naming_the_option_and_writes_nothing(lab, run_module, options, field, words):
    result = run_module(maas_vlan, args(lab, **options))
    assert result["failed"] is True and result["field"] == field and words in result["msg"], result
    assert lab.stats()["writes"] == 0


def test_dhcp_without_a_rack_fails_before_writing(lab, run_module):
    add_dynamic_range(lab)
    result = run_module(maas_vlan, args(lab, dhcp_on=True))
    assert result["failed"] is True and result["field"] == "primary_rack"
    assert lab.stats()["writes"] == 0


def test_a_vlan_that_relays_cannot_be_a_relay_target(lab, run_module):
    """MAAS offers as relay VLANs only those that do not relay themselves."""
    run_module(maas_vlan, args(lab, vid=100, relay_vlan="0"))
    run_module(maas_vlan, args(lab, vid=200))
    lab.reset_stats()
    result = run_module(maas_vlan, args(lab, vid=200, relay_vlan="100"))
    assert result["failed"] is True and result["field"] == "relay_vlan" and "relays DHCP itself" in result["msg"]
    assert lab.stats()["writes"] == 0


def test_renames_a_tagged_vlan_and_shows_the_diff(lab, run_module):
    run_module(maas_vlan, args(lab, vid=100, name="storage"))
    result = run_module(maas_vlan, args(lab, vid=100, name="backup", mtu=9000, _ansible_diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"]["name"] == "storage" and result["diff"]["after"]["name"] == "backup"
    assert lab.client.get("fabrics/0/vlans/100/")["name"] == "backup"
