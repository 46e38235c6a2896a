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


# Keys Ansible itself defines for every module result (common return values), which RETURN does not repeat.
COMMON_KEYS = frozenset(("changed", "failed", "msg", "invocation", "diff", "warnings", "deprecations", "skipped"))
ALWAYS = ("always", "success")


def return_mismatches(module, result):
    """Every mismatch between ``result`` and ``module``'s RETURN, as ``"<module>: <path> ..."`` strings: a key
    returned but not documented, or documented as returned ``always``/``success`` but missing; recurses through
    ``contains`` into dicts and lists of dicts."""
    name = module.__name__.rsplit(".", 1)[-1]
    documented = yaml.safe_load(module.RETURN) or {}
    problems = _compare(dict((k, v) for k, v in result.items() if k not in COMMON_KEYS), documented, "result")
    return ["%s: %s" % (name, problem) for problem in problems]


def _compare(value, contains, where):
    problems = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                problems.extend(_compare(item, contains, "%s[%d]" % (where, index)))
        return problems
    if not isinstance(value, dict):
        return ["%s is %r, not a dict as its documented contains says" % (where, value)]
    for key in sorted(set(value) - set(contains)):
        problems.append("%s.%s is returned but not documented" % (where, key))
    for key, spec in sorted(contains.items()):
        spec = spec or {}
        if key not in value:
            if spec.get("returned") in ALWAYS:
                problems.append("%s.%s is documented as returned %s but missing" % (where, key, spec["returned"]))
            continue
        if spec.get("contains") and value[key]:
            problems.extend(_compare(value[key], spec["contains"], "%s.%s" % (where, key)))
    return problems


@pytest.fixture
def return_doc_problems():
    """``return_doc_problems(module, result)`` lists mismatches between ``result`` and the module's RETURN
    (``return_mismatches``)."""
    return return_mismatches
