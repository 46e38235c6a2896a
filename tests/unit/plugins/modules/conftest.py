# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for running modules in-process and checking their results against their RETURN documentation."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

import pytest
import yaml

from ansible.module_utils import _internal as _module_internal
from ansible.module_utils.testing import patch_module_args


@pytest.fixture
def run_module(capsys, monkeypatch):
    """``run_module(module, args)`` runs ``module.main()`` with ``args`` and returns its JSON result.

    The result is what exit_json or fail_json printed; ``_ansible_check_mode`` and ``_ansible_diff`` in ``args``
    switch on check and diff mode.
    """
    # A module runs on its target, never in the controller process. Once another test in this process has imported
    # controller code (an inventory or action plugin), ansible-core would send module warnings to the controller's
    # display instead of the result; running the module as on a target keeps them in the result.
    monkeypatch.setattr(_module_internal, "is_controller", False)

    def run(module, args):
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)
    return run


def undocumented_keys(value, contains, where="result"):
    """Paths of keys in ``value`` that the RETURN ``contains`` tree does not document, and documented keys
    missing from it whose ``returned`` is ``success``; recurses into dicts and lists of dicts."""
    problems = []
    items = value if isinstance(value, list) else [value]
    for index, item in enumerate(items):
        label = "%s[%d]" % (where, index) if isinstance(value, list) else where
        for key in sorted(set(item) - set(contains)):
            problems.append("%s.%s is not documented" % (label, key))
        for key, spec in contains.items():
            if key not in item:
                if spec.get("returned") == "success":
                    problems.append("%s.%s is documented as always returned but missing" % (label, key))
                continue
            if "contains" in spec and item[key]:
                problems.extend(undocumented_keys(item[key], spec["contains"], "%s.%s" % (label, key)))
    return problems


@pytest.fixture
def return_doc_problems():
    """``return_doc_problems(module, result)`` lists mismatches between ``result`` and the module's RETURN."""
    def check(module, result):
        documented = yaml.safe_load(module.RETURN)
        problems = []
        for key, spec in documented.items():
            if key not in result:
                if spec.get("returned") == "success":
                    problems.append("result.%s is documented as always returned but missing" % key)
                continue
            if "contains" in spec and result[key]:
                problems.extend(undocumented_keys(result[key], spec["contains"], "result.%s" % key))
        return problems
    return check
