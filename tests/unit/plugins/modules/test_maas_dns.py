# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_dns run in-process against the lab MAAS emulator: set, rerun, check mode, diff and bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_dns


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator, an admin client for it and zeroed request counters."""
    emulator = lab_maas_factory()
    emulator.client = MAASClient(emulator.url, emulator.api_key)
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        emulator.client.close()


def args(lab, **options):
    return dict(options, url=lab.url, api_key=lab.api_key)


def setting(lab, name):
    return lab.client.get("maas/", op="get_config", params={"name": name})


def test_sets_both_settings_then_a_rerun_changes_nothing(lab, run_module):
    options = args(lab, upstream_dns=["192.0.2.53", "2001:db8::53"], dnssec_validation="yes")
    result = run_module(maas_dns, options)
    assert result["changed"] is True
    assert result["dns"] == {"upstream_dns": ["192.0.2.53", "2001:db8::53"], "dnssec_validation": "yes"}
    assert result["changed_settings"] == ["upstream_dns", "dnssec_validation"]
    assert setting(lab, "upstream_dns") == "192.0.2.53 2001:db8::53"
    assert setting(lab, "dnssec_validation") == "yes"
    writes = lab.stats()["writes"]
    assert writes == 2
    again = run_module(maas_dns, options)
    assert again["changed"] is False and again["changed_settings"] == [] and again["dns"] == result["dns"]
    assert lab.stats()["writes"] == writes


def test_only_the_options_given_are_touched(lab, run_module):
    lab.client.post("maas/", op="set_config", data={"name": "dnssec_validation", "value": "no"})
    result = run_module(maas_dns, args(lab, upstream_dns=["192.0.2.1"]))
    assert result["dns"] == {"upstream_dns": ["192.0.2.1"], "dnssec_validation": "no"}
    assert result["changed_settings"] == ["upstream_dns"]


def test_check_mode_reports_the_change_and_writes_nothing(lab, run_module):
    result = run_module(maas_dns, args(lab, upstream_dns=["192.0.2.53"], dnssec_validation="no",
                                       _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True
    assert result["diff"]["before"] == {"upstream_dns": [], "dnssec_validation": "auto"}
    assert result["diff"]["after"] == {"upstream_dns": ["192.0.2.53"], "dnssec_validation": "no"}
    assert lab.stats()["writes"] == 0
    assert setting(lab, "upstream_dns") is None and setting(lab, "dnssec_validation") == "auto"


def test_an_empty_list_removes_every_forwarder(lab, run_module):
    lab.client.post("maas/", op="set_config", data={"name": "upstream_dns", "value": "192.0.2.53"})
    result = run_module(maas_dns, args(lab, upstream_dns=[]))
    assert result["changed"] is True and result["dns"]["upstream_dns"] == []
    assert setting(lab, "upstream_dns") == ""


def test_yaml_booleans_mean_yes_and_no(lab, run_module):
    """``dnssec_validation: no`` unquoted is YAML's false; it means MAAS's 'no', not an error."""
    result = run_module(maas_dns, args(lab, dnssec_validation=False))
    assert result["dns"]["dnssec_validation"] == "no" and setting(lab, "dnssec_validation") == "no"


def test_a_bad_address_fails_naming_it_and_writes_nothing(lab, run_module):
    result = run_module(maas_dns, args(lab, upstream_dns=["192.0.2.53", "dns.example.com"], dnssec_validation="no"))
    assert result["failed"] is True and result["field"] == "upstream_dns[1]"
    assert "'dns.example.com' is not an IP address" in result["msg"]
    assert lab.stats()["writes"] == 0
    assert setting(lab, "dnssec_validation") == "auto"


def test_a_bad_dnssec_value_fails_naming_it_and_writes_nothing(lab, run_module):
    result = run_module(maas_dns, args(lab, upstream_dns=["192.0.2.53"], dnssec_validation="maybe"))
    assert result["failed"] is True and result["field"] == "dnssec_validation"
    assert result["msg"] == "dnssec_validation: must be one of auto, yes, no, got 'maybe'."
    assert lab.stats()["writes"] == 0


def test_addresses_compare_in_canonical_form(lab, run_module):
    """MAAS stores ``upstream_dns`` as sent; an address written differently by hand is the same address."""
    lab.client.post("maas/", op="set_config", data={"name": "upstream_dns", "value": "2001:DB8:0::53"})
    lab.reset_stats()
    result = run_module(maas_dns, args(lab, upstream_dns=["2001:db8::53"]))
    assert result["changed"] is False and result["dns"]["upstream_dns"] == ["2001:db8::53"]
    assert lab.stats()["writes"] == 0
