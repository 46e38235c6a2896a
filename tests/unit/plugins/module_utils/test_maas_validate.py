# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Input validation shared by the MAAS modules: each bad value fails naming its option, good ones normalise."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import (
    POWER_TYPES,
    check_references,
    imported_series,
    normalize_architecture,
    normalize_distro_series,
    normalize_mac,
    normalize_macs,
    unknown_names,
    validate_hostname,
    validate_power_parameters,
    validate_power_type,
)


@pytest.mark.parametrize("given", ["52:54:00:AB:cd:01", "52-54-00-ab-cd-01", "5254.00ab.cd01", "525400ABCD01",
                                   " 52:54:00:ab:cd:01 "])
def test_mac_spellings_normalise_to_lower_case_colons(given):
    assert normalize_mac(given) == "52:54:00:ab:cd:01"


@pytest.mark.parametrize("given", ["52:54:00:ab:cd", "52:54:00:ab:cd:zz", "", "5254:00ab:cd01", None, 42,
                                   "52:54:00:ab:cd:01:02"])
def test_invalid_mac_fails_naming_the_field(given):
    with pytest.raises(BadInput) as caught:
        normalize_mac(given, field="mac_addresses")
    assert str(caught.value).startswith("mac_addresses: ")
    assert caught.value.field == "mac_addresses"


def test_mac_list_drops_repeats_and_keeps_order():
    assert normalize_macs(["AA:BB:CC:DD:EE:02", "aa-bb-cc-dd-ee-01", "aabbccddee02"]) == [
        "aa:bb:cc:dd:ee:02", "aa:bb:cc:dd:ee:01"]
    assert normalize_macs(None) == []


def test_validation_error_is_a_value_error():
    assert issubclass(BadInput, ValueError)


@pytest.mark.parametrize("given", ["node-01", "a", "N1", "x" * 63, "0node"])
def test_valid_hostnames_are_returned_unchanged(given):
    assert validate_hostname(given) == given


@pytest.mark.parametrize("given", ["-node", "node-", "no_de", "x" * 64, "", "node 1", "nöde", None])
def test_invalid_hostname_fails_naming_the_field(given):
    with pytest.raises(BadInput) as caught:
        validate_hostname(given)
    assert caught.value.field == "hostname"


def test_dotted_hostname_needs_allow_fqdn():
    with pytest.raises(BadInput, match="^hostname: .*without dots"):
        validate_hostname("node-01.maas")
    assert validate_hostname("node-01.maas", allow_fqdn=True) == "node-01.maas"
    with pytest.raises(BadInput):
        validate_hostname("node-01..maas", allow_fqdn=True)


@pytest.mark.parametrize("given,expected", [
    ("amd64", "amd64/generic"), ("amd64/generic", "amd64/generic"), ("AMD64", "amd64/generic"),
    ("arm64", "arm64/generic"), ("arm64/xgene-uboot", "arm64/xgene-uboot"), ("armhf", "armhf/generic"),
    ("i386", "i386/generic"), ("ppc64el", "ppc64el/generic"), ("s390x", "s390x/generic"),
    ("amd64/hwe-22.04", "amd64/hwe-22.04"),
])
def test_architecture_forms_normalise_to_arch_slash_subarch(given, expected):
    assert normalize_architecture(given) == expected


@pytest.mark.parametrize("given", ["x86_64", "amd64/", "amd64/Bad Sub", "", None, "sparc/generic"])
def test_unknown_architecture_fails_listing_the_known_ones(given):
    with pytest.raises(BadInput) as caught:
        normalize_architecture(given)
    assert caught.value.field == "architecture"


def test_unknown_architecture_message_lists_choices():
    with pytest.raises(BadInput, match="amd64, arm64"):
        normalize_architecture("x86_64")


def test_power_types_include_the_documented_drivers():
    for name in ("ipmi", "redfish", "virsh", "lxd", "manual", "amt", "webhook"):
        assert validate_power_type(name) == name
    with pytest.raises(BadInput, match="^power_type: 'ilo9' is not a MAAS power type; expected one of "):
        validate_power_type("ilo9")


@pytest.mark.parametrize("power_type,params,missing", [
    ("ipmi", {}, "power_address"),
    ("redfish", {"power_user": "admin"}, "power_address"),
    ("virsh", {"power_address": "qemu+ssh://h/system"}, "power_id"),
    ("virsh", {}, "power_address, power_id"),
    ("lxd", {"power_address": "10.0.0.1:8443"}, "instance_name"),
    ("ipmi", {"power_address": "  "}, "power_address"),
])
def test_missing_power_parameters_are_all_named(power_type, params, missing):
    with pytest.raises(BadInput) as caught:
        validate_power_parameters(power_type, params)
    assert caught.value.field == "power_parameters"
    assert str(caught.value).endswith("power type %s needs %s." % (power_type, missing))


def test_manual_needs_no_power_parameters_and_values_become_text():
    assert validate_power_parameters("manual", None) == {}
    assert validate_power_parameters("ipmi", {"power_address": "10.0.0.5", "power_port": 623, "x": True,
                                              "y": None}) == {"power_address": "10.0.0.5", "power_port": "623",
                                                              "x": "true"}


def test_power_parameters_must_be_a_dict():
    with pytest.raises(BadInput, match="^power_parameters: must be a dictionary"):
        validate_power_parameters("ipmi", ["power_address"])


def test_every_power_type_requirement_is_a_tuple_of_names():
    for required in POWER_TYPES.values():
        assert isinstance(required, tuple) and all(isinstance(key, str) for key in required)


@pytest.mark.parametrize("given", ["jammy", "ubuntu/jammy", "22.04", "Jammy", " ubuntu/22.04 "])
def test_distro_series_forms_normalise_to_the_codename(given):
    assert normalize_distro_series(given) == "jammy"


@pytest.mark.parametrize("given", ["jamy", "ubuntu/22.05", "centos/8", "", None])
def test_unknown_distro_series_fails_with_the_allowed_list(given):
    with pytest.raises(BadInput) as caught:
        normalize_distro_series(given)
    assert caught.value.field == "distro_series"


def test_unknown_series_message_lists_codenames_and_versions():
    with pytest.raises(BadInput, match=r"noble \(24\.04\)"):
        normalize_distro_series("jamy")


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator (boot resources focal, jammy, noble) with a client, plus a zone, a pool and a tag."""
    emulator = lab_maas_factory(machines=0)
    client = MAASClient(emulator.url, emulator.api_key)
    client.post("zones/", data={"name": "rack-a"})
    client.post("resourcepools/", data={"name": "gpu-pool"})
    client.post("tags/", data={"name": "gpu"})
    emulator.client = client
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def test_series_check_with_a_client_consults_boot_resources(lab):
    assert imported_series(lab.client) == ["focal", "jammy", "noble"]
    assert normalize_distro_series("24.04", client=lab.client) == "noble"
    with pytest.raises(BadInput, match="^distro_series: 'bionic' is not a series MAAS has boot images "
                                       "for; imported: focal, jammy, noble"):
        normalize_distro_series("bionic", client=lab.client)
    assert lab.stats()["by_op"] == {"GET boot-resources/ read": 3}


def test_existing_references_pass_with_one_get_per_kind(lab):
    check_references(lab.client, zone="rack-a", pool="gpu-pool", domain="maas", tags=["gpu"])
    check_references(lab.client, zone="default", pool="0", tags=[])
    stats = lab.stats()
    assert stats["writes"] == 0
    assert stats["by_op"]["GET zones/ read"] == 2
    assert stats["by_op"]["GET resourcepools/ read"] == 2
    assert stats["by_op"]["GET domains/ read"] == 1
    assert stats["by_op"]["GET tags/ read"] == 1


@pytest.mark.parametrize("kwargs,field,names", [
    ({"zone": "rack-z"}, "zone", "zone named rack-z"),
    ({"pool": "nope"}, "pool", "resource pool named nope"),
    ({"domain": "example.org"}, "domain", "domain named example.org"),
    ({"tags": ["gpu", "ssd", "nvme"]}, "tags", "tags named ssd, nvme"),
])
def test_unknown_references_fail_naming_field_and_every_unknown_name(lab, kwargs, field, names):
    with pytest.raises(BadInput) as caught:
        check_references(lab.client, **kwargs)
    assert caught.value.field == field
    assert str(caught.value) == "%s: MAAS has no %s." % (field, names)


def test_reference_field_names_can_be_overridden(lab):
    with pytest.raises(BadInput, match="^not_tags: "):
        check_references(lab.client, tags=["nope"], fields={"tag": "not_tags"})


def test_unknown_names_of_an_empty_list_costs_no_request(lab):
    assert unknown_names(lab.client, "zone", []) == []
    assert lab.stats()["requests_total"] == 0
