# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_machine_info run in-process against the lab MAAS emulator: each filter, one request, errors, RETURN."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_machine_info


@pytest.fixture
def lab(lab_maas_factory):
    """Five Ready machines: #0 and #1 tagged gpu (#1 also ci), #2 in zone rack-a, #3 allocated to admin."""
    emulator = lab_maas_factory(machines=5)
    client = MAASClient(emulator.url, emulator.api_key)
    machines = client.get("machines/")
    sids = [m["system_id"] for m in machines]
    for name in ("gpu", "ci"):
        client.post("tags/", data={"name": name})
    client.post("tags/gpu/", op="update_nodes", data={"add": sids[:2]})
    client.post("tags/ci/", op="update_nodes", data={"add": sids[1:2]})
    client.post("zones/", data={"name": "rack-a"})
    client.put("machines/%s/" % sids[2], data={"zone": "rack-a"})
    client.post("machines/", op="allocate", data={"system_id": sids[3]})
    emulator.sids = sids
    emulator.hostnames = [m["hostname"] for m in machines]
    emulator.macs = [m["interface_set"][0]["mac_address"] for m in machines]
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    return options


def found(result):
    assert "failed" not in result, result.get("msg")
    assert result["changed"] is False and result["count"] == len(result["machines"])
    return [m["system_id"] for m in result["machines"]]


def machine_reads(lab):
    return lab.stats()["by_op"].get("GET machines/ read", 0)


@pytest.mark.parametrize("options, expected", [
    ({"system_ids": ["#0", "#4"]}, [0, 4]),
    ({"hostnames": ["@1", "@2"]}, [1, 2]),
    ({"mac_addresses": ["mac3"]}, [3]),
    ({"tags": ["gpu"]}, [0, 1]),
    ({"tags": ["gpu", "ci"]}, [1]),
    ({"tags": ["gpu"], "not_tags": ["ci"]}, [0]),
    ({"zone": "rack-a"}, [2]),
    ({"pool": "default"}, [0, 1, 2, 3, 4]),
    ({"status": ["allocated"]}, [3]),
    ({"status": ["ready", "deployed"], "zone": "default"}, [0, 1, 4]),
    ({}, [0, 1, 2, 3, 4]),
])
def test_filters_are_applied_by_maas_in_one_request(lab, run_module, options, expected):
    def resolve(value):
        if value.startswith("#"):
            return lab.sids[int(value[1:])]
        if value.startswith("@"):
            return lab.hostnames[int(value[1:])]
        if value.startswith("mac"):
            return lab.macs[int(value[3:])]
        return value
    options = dict((k, [resolve(v) for v in val] if isinstance(val, list) else val) for k, val in options.items())
    result = run_module(maas_machine_info, args(lab, **options))
    assert found(result) == [lab.sids[i] for i in expected]
    assert machine_reads(lab) == 1 and lab.stats()["requests_total"] == 1


def test_machine_summary_carries_the_documented_fields(lab, run_module):
    result = run_module(maas_machine_info, args(lab, system_ids=[lab.sids[1]]))
    machine = result["machines"][0]
    raw = MAASClient(lab.url, lab.api_key).get_machine(lab.sids[1])
    assert machine["hostname"] == raw["hostname"] and machine["fqdn"] == raw["fqdn"]
    assert machine["status"] == "Ready" and machine["status_code"] == 4
    assert machine["zone"] == "default" and machine["pool"] == "default" and machine["domain"] == "maas"
    assert machine["tags"] == ["ci", "gpu"]
    assert machine["hardware_vendor"] == raw["hardware_info"]["system_vendor"]
    assert machine["hardware_product"] == raw["hardware_info"]["system_product"]
    first = machine["interfaces"][0]
    assert first["mac_address"] == lab.macs[1]
    assert first["vlan_name"] == raw["interface_set"][0]["vlan"]["name"]
    assert first["vlan_vid"] == raw["interface_set"][0]["vlan"]["vid"]
    assert machine["owner"] is None and machine["locked"] is False and machine["workload_annotations"] == {}


def test_allocated_machine_shows_its_owner(lab, run_module):
    result = run_module(maas_machine_info, args(lab, status=["allocated"]))
    assert result["machines"][0]["owner"] == "admin"


def test_unknown_hostname_finds_nothing(lab, run_module):
    result = run_module(maas_machine_info, args(lab, hostnames=["no-such-host"]))
    assert found(result) == []


@pytest.mark.parametrize("option", ["system_ids", "hostnames", "mac_addresses", "status"])
def test_empty_match_list_finds_nothing_without_a_request(lab, run_module, option):
    result = run_module(maas_machine_info, args(lab, **{option: []}))
    assert found(result) == [] and lab.stats()["requests_total"] == 0


def test_unknown_status_fails_before_any_request(lab, run_module):
    result = run_module(maas_machine_info, args(lab, status=["ready", "exploded"]))
    assert result["failed"] is True and "status" in result["msg"] and "exploded" in result["msg"]
    assert lab.stats()["requests_total"] == 0


@pytest.mark.parametrize("options, option, value", [
    ({"tags": ["nosuchtag"]}, "tags", "nosuchtag"),
    ({"zone": "nosuchzone"}, "zone", "nosuchzone"),
    ({"mac_addresses": ["ZZ:ZZ"]}, "mac_addresses", "ZZ:ZZ"),
])
def test_maas_filter_errors_name_the_module_option(lab, run_module, options, option, value):
    result = run_module(maas_machine_info, args(lab, **options))
    assert result["failed"] is True and result["status"] == 400
    assert result["msg"].startswith("MAAS refused the machine filters: %s: " % option)
    assert value in result["msg"]
    assert lab.stats()["writes"] == 0


def test_check_mode_reads_the_same(lab, run_module):
    normal = run_module(maas_machine_info, args(lab, tags=["gpu"]))
    checked = run_module(maas_machine_info, args(lab, tags=["gpu"], _ansible_check_mode=True))
    assert checked == normal
    assert lab.stats()["writes"] == 0


def test_returned_keys_match_the_documented_return_tree(lab, run_module, return_doc_problems):
    result = run_module(maas_machine_info, args(lab))
    assert result["count"] == 5
    assert return_doc_problems(maas_machine_info, result) == []
    assert all(machine["interfaces"] for machine in result["machines"])
