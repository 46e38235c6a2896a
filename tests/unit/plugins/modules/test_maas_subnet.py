# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_subnet run in-process against the lab MAAS emulator: lifecycle, IP ranges, check mode, diff, bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_subnet

PXE = [{"type": "reserved", "start_ip": "10.30.0.1", "end_ip": "10.30.0.9", "comment": "routers"},
       {"type": "dynamic", "start_ip": "10.30.0.100", "end_ip": "10.30.0.199", "comment": "PXE"}]


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator without machines, a client for it, and VLAN 100 on fabric-0."""
    emulator = lab_maas_factory(machines=0)
    client = MAASClient(emulator.url, emulator.api_key)
    emulator.vlan100 = client.post("fabrics/0/vlans/", data={"vid": 100, "name": "storage"})
    emulator.client = client
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    options.setdefault("cidr", "10.30.0.0/24")
    return options


def maas_ranges(lab, cidr="10.30.0.0/24"):
    return sorted((r["type"], r["start_ip"], r["end_ip"], r["comment"]) for r in lab.client.get("ipranges/")
                  if r["subnet"]["cidr"] == cidr)


def test_creates_subnet_with_ranges_then_a_second_run_changes_nothing(lab, run_module, return_doc_problems):
    options = args(lab, name="prov", gateway_ip="10.30.0.1", dns_servers=["10.30.0.2"], ip_ranges=PXE)
    result = run_module(maas_subnet, options)
    assert result["changed"] is True, result
    subnet = result["subnet"]
    assert subnet["cidr"] == "10.30.0.0/24" and subnet["name"] == "prov" and subnet["gateway_ip"] == "10.30.0.1"
    assert subnet["fabric"] == "fabric-0" and subnet["vlan"] == 0 and subnet["dns_servers"] == ["10.30.0.2"]
    assert [r["start_ip"] for r in subnet["ip_ranges"]] == ["10.30.0.1", "10.30.0.100"]
    assert maas_ranges(lab) == [("dynamic", "10.30.0.100", "10.30.0.199", "PXE"),
                                ("reserved", "10.30.0.1", "10.30.0.9", "routers")]
    assert return_doc_problems(maas_subnet, result) == []
    writes = lab.stats()["writes"]
    again = run_module(maas_subnet, options)
    assert again["changed"] is False and again["subnet"] == subnet
    assert lab.stats()["writes"] == writes


def test_check_mode_predicts_the_subnet_and_writes_nothing(lab, run_module):
    result = run_module(maas_subnet, args(lab, ip_ranges=PXE, gateway_ip="10.30.0.1", _ansible_check_mode=True,
                                          _ansible_diff=True))
    assert result["changed"] is True
    assert result["subnet"]["cidr"] == "10.30.0.0/24" and result["subnet"]["ip_ranges"] == PXE
    assert result["diff"]["before"] == {} and result["diff"]["after"]["ip_ranges"] == PXE
    assert lab.stats()["writes"] == 0
    assert [s["cidr"] for s in lab.client.get("subnets/")] == ["10.20.0.0/16"]


def test_ranges_are_reconciled_to_the_desired_set(lab, run_module):
    run_module(maas_subnet, args(lab, gateway_ip="10.30.0.1", ip_ranges=PXE))
    dynamic_id = [r["id"] for r in lab.client.get("ipranges/") if r["type"] == "dynamic"][0]
    moved = [{"type": "dynamic", "start_ip": "10.30.0.50", "end_ip": "10.30.0.99", "comment": "PXE"}]
    result = run_module(maas_subnet, args(lab, ip_ranges=moved, _ansible_diff=True))
    assert result["changed"] is True
    assert maas_ranges(lab) == [("dynamic", "10.30.0.50", "10.30.0.99", "PXE")]
    # The dynamic range was moved, not deleted and recreated (a VLAN serving DHCP keeps one throughout).
    assert [r["id"] for r in lab.client.get("ipranges/")] == [dynamic_id]
    assert len(result["diff"]["before"]["ip_ranges"]) == 2 and result["diff"]["after"]["ip_ranges"] == moved
    cleared = run_module(maas_subnet, args(lab, ip_ranges=[]))
    assert cleared["changed"] is True and maas_ranges(lab) == []


def test_updates_fields_and_moves_to_another_vlan(lab, run_module):
    run_module(maas_subnet, args(lab, gateway_ip="10.30.0.1", dns_servers=["10.30.0.2"]))
    result = run_module(maas_subnet, args(lab, vlan=100, description="storage net", dns_servers=[], gateway_ip="",
                                          managed=False, _ansible_diff=True))
    assert result["changed"] is True
    subnet = lab.client.get("subnets/%d/" % result["subnet"]["id"])
    assert subnet["vlan"]["vid"] == 100 and subnet["description"] == "storage net" and subnet["managed"] is False
    assert subnet["dns_servers"] == [] and subnet["gateway_ip"] is None
    assert result["diff"]["before"]["vlan_id"] == 5001 and result["diff"]["after"]["vlan_id"] == lab.vlan100["id"]


def test_absent_deletes_the_subnet_and_is_idempotent(lab, run_module):
    run_module(maas_subnet, args(lab, ip_ranges=PXE[:1]))
    result = run_module(maas_subnet, args(lab, state="absent"))
    assert result["changed"] is True and result["subnet"] == {}
    assert [s["cidr"] for s in lab.client.get("subnets/")] == ["10.20.0.0/16"] and maas_ranges(lab) == []
    assert run_module(maas_subnet, args(lab, state="absent"))["changed"] is False


def test_absent_refuses_a_subnet_serving_dhcp_before_writing(lab, run_module):
    run_module(maas_subnet, args(lab, ip_ranges=PXE[1:]))
    lab.client.put("vlans/5001/", data={"dhcp_on": True, "primary_rack": "r4ckid"})
    lab.reset_stats()
    result = run_module(maas_subnet, args(lab, state="absent"))
    assert result["failed"] is True and result["field"] == "state" and "turn DHCP off" in result["msg"]
    assert lab.stats()["writes"] == 0


def test_unmanaged_subnet_takes_a_dynamic_range_inside_a_reserved_one(lab, run_module):
    """MAAS uses only reserved addresses of an unmanaged subnet: the dynamic range goes inside a reserved one."""
    ranges = [{"type": "dynamic", "start_ip": "10.30.0.120", "end_ip": "10.30.0.150"},
              {"type": "reserved", "start_ip": "10.30.0.100", "end_ip": "10.30.0.200"}]
    result = run_module(maas_subnet, args(lab, managed=False, ip_ranges=ranges))
    assert result["changed"] is True, result
    assert maas_ranges(lab) == [("dynamic", "10.30.0.120", "10.30.0.150", ""),
                                ("reserved", "10.30.0.100", "10.30.0.200", "")]
    assert run_module(maas_subnet, args(lab, managed=False, ip_ranges=ranges))["changed"] is False
    lab.reset_stats()
    outside = [{"type": "dynamic", "start_ip": "10.30.0.10", "end_ip": "10.30.0.20"}]
    failed = run_module(maas_subnet, args(lab, ip_ranges=outside))
    assert failed["failed"] is True and failed["field"] == "ip_ranges[0]" and "unmanaged" in failed["msg"]
    assert lab.stats()["writes"] == 0


@pytest.mark.parametrize("ranges, field, words", [
    ([{"type": "dynamic", "start_ip": "10.30.0.100", "end_ip": "10.30.0.150"},
      {"type": "reserved", "start_ip": "10.30.0.140", "end_ip": "10.30.0.160"}], "ip_ranges[1]", "overlaps"),
    ([{"type": "reserved", "start_ip": "10.31.0.1", "end_ip": "10.31.0.9"}], "ip_ranges[0].start_ip",
     "not inside the subnet"),
    ([{"type": "reserved", "start_ip": "10.30.0.50", "end_ip": "10.30.0.40"}], "ip_ranges[0]", "after end_ip"),
    ([{"type": "dynamic", "start_ip": "10.30.0.1", "end_ip": "10.30.0.40"}], "ip_ranges[0]", "gateway_ip"),
    ([{"type": "reserved", "start_ip": "10.30.0.200", "end_ip": "10.30.0.255"}], "ip_ranges[0].end_ip", "broadcast"),
    ([{"type": "reserved", "start_ip": "10.30.0.x", "end_ip": "10.30.0.9"}], "ip_ranges[0].start_ip",
     "not an IP address"),
])
def test_bad_ranges_fail_naming_the_range_and_write_nothing(lab, run_module, ranges, field, words):
    result = run_module(maas_subnet, args(lab, gateway_ip="10.30.0.1", ip_ranges=ranges))
    assert result["failed"] is True and result["field"] == field and words in result["msg"], result
    assert lab.stats()["writes"] == 0


@pytest.mark.parametrize("options, field", [
    ({"fabric": "no-such-fabric"}, "fabric"),
    ({"vlan": 999}, "vlan"),
    ({"cidr": "10.30.0.5/24"}, "cidr"),
    ({"gateway_ip": "10.99.0.1"}, "gateway_ip"),
    ({"dns_servers": ["dns.example"]}, "dns_servers"),
])
def test_bad_options_fail_naming_the_option_and_write_nothing(lab, run_module, options, field):
    result = run_module(maas_subnet, args(lab, **options))
    assert result["failed"] is True and result["field"] == field, result
    assert lab.stats()["writes"] == 0
