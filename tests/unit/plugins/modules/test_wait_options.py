# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The modules that wait (maas_deploy, maas_commission, fleet_enroll) reject the same bad wait or connection option
with the same message, naming the option, before any request (the API URL points at a closed port, so a request
would fail differently)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.modules import fleet_enroll, maas_boot_source, maas_commission, maas_deploy


def module_args(module, port, **options):
    """Arguments that are valid apart from ``options``; the URL is a port nothing listens on."""
    if module is fleet_enroll:
        options.update(url="https://127.0.0.1:%d" % port, api_token="token", hostname="node-1")
    else:
        options.update(url="http://127.0.0.1:%d/MAAS" % port, api_key="consumer:token:secret")
    if module is maas_deploy:
        options.update(machines=["node-1"])
    if module is maas_boot_source:
        options.update(selections=[{"release": "noble"}])
    return options


@pytest.mark.parametrize("options, field, message", [
    ({"timeout": 0}, "timeout", "timeout: must be a positive number of seconds, got 0."),
    ({"poll_interval": 0}, "poll_interval", "poll_interval: must be a positive number of seconds, got 0."),
    ({"poll_interval": -2.5}, "poll_interval", "poll_interval: must be a positive number of seconds, got -2.5."),
    ({"wait_timeout": 10, "poll_interval": 30}, "poll_interval",
     "poll_interval: must not be longer than wait_timeout (30 > 10 seconds)."),
])
@pytest.mark.parametrize("module", [maas_deploy, maas_commission, fleet_enroll, maas_boot_source],
                         ids=["maas_deploy", "maas_commission", "fleet_enroll", "maas_boot_source"])
def test_the_same_bad_wait_option_gives_the_same_message_in_every_module(
        run_module, closed_port, module, options, field, message):
    result = run_module(module, module_args(module, closed_port, **options))
    assert result["failed"] is True
    assert result["msg"] == message and result["field"] == field


@pytest.mark.parametrize("module", [maas_deploy, maas_commission], ids=["maas_deploy", "maas_commission"])
def test_concurrency_below_one_gives_the_same_message_in_both_batch_modules(run_module, closed_port, module):
    result = run_module(module, module_args(module, closed_port, concurrency=0))
    assert result["msg"] == "concurrency: must be 1 or more, got 0." and result["field"] == "concurrency"
