# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_subnet_info run in-process against the lab MAAS emulator: filters, ranges, DHCP settings, no writes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_subnet_info


@pytest.fixture
def lab(lab_maas_factory):
    """The default subnet serving DHCP from a dynamic range, and 10.30.0.0/24 on VLAN 100."""
    emulator = lab_maas_factory(machines=0)
    client = MAASClient(emulator.url, emulator.api_key)
    vlan = client.post("fabrics/0/vlans/", data={"vid": 100})
    client.post("subnets/", data={"cidr": "10.30.0.0/24", "vlan": vlan["id"]})
    client.post("ipranges/", data={"type": "dynamic", "start_ip": "10.20.200.1", "end_ip": "10.20.200.254",
                                   "comment": "PXE"})
    client.put("vlans/5001/", data={"dhcp_on": True, "primary_rack": "r4ckid"})
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


def test_lists_every_subnet_with_ranges_and_dhcp(lab, run_module, return_doc_problems):
    result = run_module(maas_subnet_info, args(lab))
    assert result["changed"] is False
    assert [s["cidr"] for s in result["subnets"]] == ["10.20.0.0/16", "10.30.0.0/24"]
    default = result["subnets"][0]
    assert default["dhcp_on"] is True and default["primary_rack"] == "r4ckid"
    assert default["ip_ranges"] == [{"type": "dynamic", "start_ip": "10.20.200.1", "end_ip": "10.20.200.254",
                                     "comment": "PXE"}]
    assert result["subnets"][1]["vlan"] == 100 and result["subnets"][1]["ip_ranges"] == []
    assert return_doc_problems(maas_subnet_info, result) == []
    assert lab.stats()["writes"] == 0


def test_filters_by_cidr_fabric_and_vlan(lab, run_module):
    assert [s["cidr"] for s in run_module(maas_subnet_info, args(lab, cidr="10.30.0.0/24"))["subnets"]] == [
        "10.30.0.0/24"]
    assert run_module(maas_subnet_info, args(lab, cidr="10.99.0.0/24"))["subnets"] == []
    assert [s["cidr"] for s in run_module(maas_subnet_info, args(lab, fabric="fabric-0", vlan=0))["subnets"]] == [
        "10.20.0.0/16"]


def test_unknown_fabric_fails_naming_it(lab, run_module):
    result = run_module(maas_subnet_info, args(lab, fabric="nope"))
    assert result["failed"] is True and result["field"] == "fabric" and "fabric-0" in result["msg"]
