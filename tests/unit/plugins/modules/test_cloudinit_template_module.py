# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cloudinit_template module body: it only exists for its documentation and argument spec, and refuses to run
without its action plugin (which renders on the controller)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import yaml

from ansible_collections.gough.gough.plugins.modules import cloudinit_template


def test_running_the_module_directly_fails_and_points_to_the_action_plugin(run_module):
    result = run_module(cloudinit_template, {"name": ["base"]})
    assert result["failed"] is True and "action plugin" in result["msg"]


def test_argument_spec_matches_the_documented_options():
    documented = yaml.safe_load(cloudinit_template.DOCUMENTATION)["options"]
    spec = cloudinit_template.argument_spec()
    assert sorted(documented) == sorted(spec)
    for name, option in spec.items():
        assert documented[name]["type"] == option["type"], name
        assert documented[name].get("default") == option.get("default"), name
        assert documented[name].get("choices") == option.get("choices"), name
