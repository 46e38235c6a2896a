# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every module's result keys match its documented RETURN, in representative runs against the lab emulators.

A key the module returns that RETURN does not document fails, and so does a key RETURN documents as returned
``always`` or on ``success`` that a successful run leaves out; the check recurses through ``contains`` into dicts
and lists of dicts, and names the module and the key path. (It lives beside the module tests for their
``run_module`` fixture and emulator fixtures.)
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import importlib.util
import os
import types

import pytest
import yaml

from fleet_lab import fleet_lab  # noqa: F401 pylint: disable=unused-import

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import (
    fleet_enroll, fleet_enroll_secret, fleet_host_info, fleet_policy, fleet_team, maas_boot_resources_info,
    maas_boot_source, maas_commission, maas_deploy, maas_dns, maas_machine, maas_machine_info, maas_tag)
from ansible_collections.gough.gough.plugins.modules import maas_subnet, maas_subnet_info, maas_vlan


def _checker():
    """The modules' conftest, loaded by path (several conftest.py files share that module name)."""
    spec = importlib.util.spec_from_file_location("gough_modules_conftest",
                                                  os.path.join(os.path.dirname(__file__), "conftest.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mismatches = _checker().return_mismatches


def succeeded(result):
    assert not result.get("failed"), result.get("msg")
    return result


def test_the_checker_names_undocumented_and_missing_keys_with_their_path():
    module = types.ModuleType("gough.demo")
    module.RETURN = yaml.safe_dump({"items": {"returned": "success", "type": "list", "elements": "dict", "contains": {
        "a": {"returned": "always", "type": "str"}, "b": {"returned": "when b", "type": "str"}}},
        "count": {"returned": "always", "type": "int"}})
    result = {"changed": False, "items": [{"a": "x"}, {"b": "y", "c": 1}], "extra": 1}
    assert mismatches(module, result) == [
        "demo: result.extra is returned but not documented",
        "demo: result.count is documented as returned always but missing",
        "demo: result.items[1].c is returned but not documented",
        "demo: result.items[1].a is documented as returned always but missing",
    ]


@pytest.fixture
def maas(lab_maas_factory):
    """Four Ready machines (#0 tagged gpu, #1 allocated), fast commissioning and deployment; a client on it."""
    emulator = lab_maas_factory(machines=4, extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2",
                                                        "--erase-seconds", "0.2"])
    client = MAASClient(emulator.url, emulator.api_key)
    emulator.configure(commission_seconds=0.2)
    emulator.machines = client.get("machines/")
    sids = [m["system_id"] for m in emulator.machines]
    client.post("tags/", data={"name": "gpu"})
    client.post("tags/gpu/", op="update_nodes", data={"add": sids[:1]})
    client.post("machines/", op="allocate", data={"system_id": sids[1]})
    emulator.sids = sids
    emulator.client = client
    try:
        yield emulator
    finally:
        client.close()


def maas_args(lab, **options):
    options.update(url=lab.url, api_key=lab.api_key)
    return options


def test_maas_machine_results_match_return(maas, run_module):
    new = dict(hostname="node-x", mac_addresses=["52:54:00:00:10:01"], architecture="amd64", power_type="manual",
               tags=["gpu"], poll_interval=0.05)
    results = [
        run_module(maas_machine, maas_args(maas, _ansible_check_mode=True, _ansible_diff=True, **new)),
        run_module(maas_machine, maas_args(maas, **new)),
        run_module(maas_machine, maas_args(maas, state="ready", **new)),
        run_module(maas_machine, maas_args(maas, hostname=maas.machines[0]["hostname"], description="db")),
        run_module(maas_machine, maas_args(maas, hostname="node-x", state="absent")),
    ]
    assert [m for result in results for m in mismatches(maas_machine, succeeded(result))] == []


def test_maas_machine_info_results_match_return(maas, run_module):
    results = [run_module(maas_machine_info, maas_args(maas)),
               run_module(maas_machine_info, maas_args(maas, tags=["gpu"])),
               run_module(maas_machine_info, maas_args(maas, status=["allocated"]))]
    assert [len(r["machines"]) for r in results] == [4, 1, 1]
    assert [m for result in results for m in mismatches(maas_machine_info, succeeded(result))] == []


def test_maas_deploy_results_match_return(maas, run_module):
    target = maas.machines[2]["hostname"]
    results = [
        run_module(maas_deploy, maas_args(maas, machines=[target], poll_interval=0.1, _ansible_check_mode=True,
                                          _ansible_diff=True)),
        run_module(maas_deploy, maas_args(maas, machines=[target], poll_interval=0.1)),
        run_module(maas_deploy, maas_args(maas, machines=[target], state="released", poll_interval=0.1)),
    ]
    assert [m["status"] for m in results[1]["machines"]] == ["Deployed"]
    assert [m for result in results for m in mismatches(maas_deploy, succeeded(result))] == []


def test_maas_commission_results_match_return(maas, run_module):
    maas.client.post("machines/", data={"hostname": "new-1", "architecture": "amd64", "commission": False,
                                        "mac_addresses": "52:54:00:00:11:01", "power_type": "manual"})
    results = [
        run_module(maas_commission, maas_args(maas, tags=["gpu"], testing_scripts=[], poll_interval=0.1,
                                              _ansible_check_mode=True)),
        run_module(maas_commission, maas_args(maas, tags=["gpu"], testing_scripts=[], poll_interval=0.1)),
        run_module(maas_commission, maas_args(maas, poll_interval=0.1)),
    ]
    assert results[1]["hostnames"] == ["new-1"]
    assert [m for result in results for m in mismatches(maas_commission, succeeded(result))] == []


def test_maas_tag_results_match_return(maas, run_module):
    host = maas.machines[2]["hostname"]
    results = [
        run_module(maas_tag, maas_args(maas, name="rack-a", machines=[host, "laptop-17"], machines_missing="ignore")),
        run_module(maas_tag, maas_args(maas, name="rack-a", comment="x")),
        run_module(maas_tag, maas_args(maas, name="rack-a", state="absent")),
    ]
    assert [m for result in results for m in mismatches(maas_tag, succeeded(result))] == []


def test_maas_dns_and_boot_results_match_return(lab_maas_factory, run_module):
    lab = lab_maas_factory(extra_args=["--import-seconds", "0.2"])
    wanted = [{"release": "jammy"}, {"release": "noble", "arches": ["amd64", "arm64"]}]
    checks = [
        (maas_dns, run_module(maas_dns, maas_args(lab, upstream_dns=["192.0.2.53"], _ansible_diff=True))),
        (maas_dns, run_module(maas_dns, maas_args(lab, dnssec_validation="no", _ansible_check_mode=True))),
        (maas_boot_source, run_module(maas_boot_source, maas_args(lab, selections=wanted, poll_interval=0.1,
                                                                  _ansible_check_mode=True, _ansible_diff=True))),
        (maas_boot_source, run_module(maas_boot_source, maas_args(lab, selections=wanted, poll_interval=0.1))),
        (maas_boot_source, run_module(maas_boot_source, maas_args(lab, selections=wanted, import_images=False))),
        (maas_boot_resources_info, run_module(maas_boot_resources_info, maas_args(lab))),
        (maas_boot_resources_info, run_module(maas_boot_resources_info, maas_args(lab, os="ubuntu"))),
    ]
    assert [m for module, result in checks for m in mismatches(module, succeeded(result))] == []


def test_fleet_team_policy_and_secret_results_match_return(fleet_lab, run_module):  # noqa: F811
    results = [
        (fleet_team, run_module(fleet_team, fleet_lab.args(name="web", description="Web"))),
        (fleet_policy, run_module(fleet_policy, fleet_lab.args(name="ssh off", query="SELECT 1;"))),
        (fleet_policy, run_module(fleet_policy, fleet_lab.args(name="ssh off", state="absent"))),
        (fleet_enroll_secret, run_module(fleet_enroll_secret, fleet_lab.args(secret="vault-secret-0001"))),
        (fleet_team, run_module(fleet_team, fleet_lab.args(name="web", state="absent"))),
    ]
    assert [m for module, result in results for m in mismatches(module, succeeded(result))] == []


def test_fleet_host_info_results_match_return(fleet_lab, run_module):  # noqa: F811
    fleet_lab.online_host("web-1")
    fleet_lab.host("db-1")
    results = [run_module(fleet_host_info, fleet_lab.args()),
               run_module(fleet_host_info, fleet_lab.args(hostname="web-1", policies=True))]
    assert results[0]["count"] == 2
    assert [m for result in results for m in mismatches(fleet_host_info, succeeded(result))] == []


def test_fleet_enroll_results_match_return(fleet_lab, run_module):  # noqa: F811
    fleet_lab.online_host("node-1")
    results = [run_module(fleet_enroll, fleet_lab.args(hostname="node-1")),
               run_module(fleet_enroll, fleet_lab.args(hostname="node-1", state="absent"))]
    assert results[0]["host"]["hostname"] == "node-1" and results[1]["changed"] is True
    assert [m for result in results for m in mismatches(fleet_enroll, succeeded(result))] == []


def test_maas_network_results_match_return(maas, run_module):
    ranges = [{"type": "dynamic", "start_ip": "10.30.0.100", "end_ip": "10.30.0.199", "comment": "PXE"}]
    results = [
        (maas_subnet, run_module(maas_subnet, maas_args(maas, cidr="10.30.0.0/24", ip_ranges=ranges,
                                                        _ansible_check_mode=True, _ansible_diff=True))),
        (maas_subnet, run_module(maas_subnet, maas_args(maas, cidr="10.30.0.0/24", ip_ranges=ranges))),
        (maas_vlan, run_module(maas_vlan, maas_args(maas, fabric="fabric-0", vid=0, dhcp_on=True,
                                                    primary_rack="r4ckid", _ansible_diff=True))),
        (maas_vlan, run_module(maas_vlan, maas_args(maas, fabric="fabric-0", vid=100, mtu=9000,
                                                    _ansible_check_mode=True))),
        (maas_subnet_info, run_module(maas_subnet_info, maas_args(maas))),
        (maas_vlan, run_module(maas_vlan, maas_args(maas, fabric="fabric-0", vid=0, dhcp_on=False))),
        (maas_subnet, run_module(maas_subnet, maas_args(maas, cidr="10.30.0.0/24", state="absent"))),
    ]
    assert results[4][1]["subnets"][1]["ip_ranges"] == ranges
    assert [m for module, result in results for m in mismatches(module, succeeded(result))] == []
