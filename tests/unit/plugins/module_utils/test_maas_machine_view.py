# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one machine projection: canonical names from a machine as MAAS's API returns it, and the inventory's form."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import (
    FIELDS, HOSTVARS_DEFAULT, HOSTVARS_DETAIL, hostvar_fields, hostvars, project)

MACHINE = {
    "system_id": "abc123", "hostname": "web-01", "fqdn": "web-01.maas", "status": 6, "status_name": "Deployed",
    "zone": {"name": "rack-a"}, "pool": {"name": "default"}, "domain": {"name": "maas"},
    "tag_names": ["web", "gpu"], "owner": "admin",
    "hardware_info": {"system_vendor": "Dell Inc.", "system_product": "Not Specified"},
    "interface_set": [{"name": "eno1", "mac_address": "52:54:00:AA:00:01", "vlan": {"name": "untagged", "vid": 0},
                       "links": [{"ip_address": "10.0.0.5"}, {}]}],
}


def test_status_is_the_label_status_code_the_number_and_tags_the_sorted_tag_names():
    view = project(MACHINE)
    assert (view["status"], view["status_code"], view["tags"]) == ("Deployed", 6, ["gpu", "web"])
    assert (view["zone"], view["pool"], view["domain"]) == ("rack-a", "default", "maas")
    assert view["interfaces"] == [{"name": "eno1", "mac_address": "52:54:00:aa:00:01", "vlan_name": "untagged",
                                   "vlan_vid": 0, "ip_addresses": ["10.0.0.5"]}]
    assert view["mac_addresses"] == ["52:54:00:aa:00:01"]
    assert (view["hardware_vendor"], view["hardware_product"]) == ("Dell Inc.", None)
    assert "status_name" not in view and "tag_names" not in view


def test_either_status_field_alone_gives_both_names():
    assert project({"status": 4}, ["status", "status_code"]) == {"status": "Ready", "status_code": 4}
    assert project({"status_name": "Broken"}, ["status", "status_code"]) == {"status": "Broken", "status_code": 8}


def test_a_subset_keeps_the_names_and_an_empty_machine_gives_empty_values():
    assert project(MACHINE, ("hostname", "tags")) == {"hostname": "web-01", "tags": ["gpu", "web"]}
    empty = project({})
    assert set(empty) == set(FIELDS) and empty["status"] == "" and empty["status_code"] is None


def test_hostvars_are_the_fields_with_the_maas_prefix_and_unknown_hardware_left_out():
    variables = hostvars(MACHINE)
    assert set(variables) == set("maas_" + name for name in FIELDS) - {"maas_hardware_product"}
    assert (variables["maas_status"], variables["maas_status_code"], variables["maas_tags"]) == (
        "Deployed", 6, ["gpu", "web"])


def test_every_field_is_a_default_hostvar_or_in_exactly_one_detail_group():
    placed = list(HOSTVARS_DEFAULT) + [name for group in HOSTVARS_DETAIL.values() for name in group]
    assert sorted(placed) == sorted(FIELDS)


def test_hostvar_fields_are_the_default_plus_the_chosen_groups_in_field_order():
    assert set(hostvar_fields()) == set(HOSTVARS_DEFAULT)
    chosen = hostvar_fields(["interfaces", "hardware"])
    assert set(chosen) == set(HOSTVARS_DEFAULT) | set(HOSTVARS_DETAIL["interfaces"]) | set(HOSTVARS_DETAIL["hardware"])
    assert list(chosen) == [name for name in FIELDS if name in chosen]
    assert hostvar_fields(["all"]) == tuple(FIELDS)


def test_an_unknown_detail_group_is_named_in_the_error():
    with pytest.raises(ValueError, match="disks"):
        hostvar_fields(["hardware", "disks"])


def test_hostvars_of_chosen_fields_leave_the_others_out():
    variables = hostvars(MACHINE, hostvar_fields())
    assert set(variables) == set("maas_" + name for name in HOSTVARS_DEFAULT)
    assert variables["maas_tags"] == ["gpu", "web"] and variables["maas_ip_addresses"] == []
