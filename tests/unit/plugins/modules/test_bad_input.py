# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""One way to report bad input: the same mistake fails with the same message and ``field`` in every module on
``GoughModule``, before any request."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.modules import (
    fleet_enroll_secret,
    fleet_host_info,
    fleet_policy,
    fleet_team,
    maas_boot_resources_info,
    maas_boot_source,
    maas_dns,
    maas_machine_info,
    maas_server_info,
    maas_tag,
)
from ansible_collections.gough.gough.plugins.modules import maas_subnet, maas_subnet_info, maas_vlan

# A syntactically good key; nothing listens on port 9 of 127.0.0.1, so a request would fail with "Cannot connect".
MAAS = {"url": "http://127.0.0.1:9/MAAS", "api_key": "consumer:token:secret-value"}
FLEET = {"url": "http://127.0.0.1:9", "api_token": "fleet-token-value"}
MODULES = [
    (maas_tag, MAAS, {"name": "gpu"}),
    (maas_server_info, MAAS, {}),
    (maas_machine_info, MAAS, {}),
    (maas_dns, MAAS, {"dnssec_validation": "auto"}),
    (maas_boot_source, MAAS, {"selections": [{"release": "noble"}]}),
    (maas_boot_resources_info, MAAS, {}),
    (fleet_team, FLEET, {"name": "web"}),
    (fleet_enroll_secret, FLEET, {}),
    (fleet_policy, FLEET, {"name": "sshd", "query": "SELECT 1;"}),
    (fleet_host_info, FLEET, {}),
]
# The network modules (issue 19).
MODULES += [
    (maas_subnet, MAAS, {"cidr": "10.30.0.0/24"}),
    (maas_vlan, MAAS, {"fabric": "fabric-0", "vid": 0}),
    (maas_subnet_info, MAAS, {}),
]
MISTAKES = [
    ({"timeout": 0}, "timeout", "timeout: must be a positive number of seconds, got 0."),
    ({"timeout": -5}, "timeout", "timeout: must be a positive number of seconds, got -5."),
    ({"retries": -1}, "retries", "retries: must be 0 or more, got -1."),
]


@pytest.mark.parametrize("options, field, message", MISTAKES)
def test_the_same_connection_mistake_gives_the_same_message_in_every_module(run_module, options, field, message):
    for module, connection, own in MODULES:
        result = run_module(module, dict(connection, **dict(own, **options)))
        assert result["failed"] is True, module.__name__
        assert (result["msg"], result["field"]) == (message, field), module.__name__


@pytest.mark.parametrize("connection", [MAAS, FLEET])
def test_a_url_without_scheme_fails_naming_url_with_one_message_per_service(run_module, connection):
    messages = set()
    for module, service, own in MODULES:
        if service is connection:
            result = run_module(module, dict(connection, url="maas-or-fleet.example", **own))
            assert result["failed"] is True and result["field"] == "url", module.__name__
            assert result["msg"].startswith("url: ") and "Cannot connect" not in result["msg"]
            messages.add(result["msg"])
    assert len(messages) == 1


@pytest.mark.parametrize("module", [fleet_team, fleet_policy])
def test_a_blank_name_fails_with_the_same_message_in_every_fleet_module(run_module, module):
    result = run_module(module, dict(FLEET, name="  ", **({"query": "SELECT 1;"} if module is fleet_policy else {})))
    assert result["failed"] is True
    assert (result["msg"], result["field"]) == ("name: must not be empty.", "name")
