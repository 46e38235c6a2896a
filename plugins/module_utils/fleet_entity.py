# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The old Fleet module base, kept only until every Fleet module runs on ``gough_module.GoughModule``.

``FleetModule`` is now ``GoughModule("fleet", ...)`` with the old calling convention: ``work(client)`` instead of
``work(module)``, ``fail(msg)`` and ``module``. The helpers moved where they belong: ``pick``, ``find_named`` and
the entity lifecycle to ``entity``, ``resolve_team`` to ``fleet``; they are re-exported here so imports hold.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.entity import (  # noqa: F401 pylint: disable=unused-import
    EntitySpec,
    entity_changes,
    entity_diff,
    ensure_entity,
    find_named,
    pick,
)
from ansible_collections.gough.gough.plugins.module_utils.fleet import resolve_team  # noqa: F401 pylint: disable=unused-import
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule


class FleetModule(GoughModule):
    """``GoughModule("fleet", argument_spec, supports_check_mode=True, **kwargs)`` with the old calling convention.

    ``run(work)`` calls ``work(client)``; a plain ``ValueError`` whose text starts with the option name fails the
    task with that text, as before. New code uses ``GoughModule`` and raises ``BadInput``.
    """

    def __init__(self, argument_spec, **kwargs):
        kwargs.setdefault("supports_check_mode", True)
        super(FleetModule, self).__init__("fleet", argument_spec, **kwargs)
        self.module = self.ansible

    def fail(self, msg, **kwargs):
        """Fail the task with ``msg``."""
        self.ansible.fail_json(msg=msg, **kwargs)

    def run(self, work):
        """Run ``work(client)`` on ``GoughModule.run``."""
        def call(module):
            try:
                return work(module.client)
            except BadInput:
                raise
            except ValueError as exc:
                module.ansible.fail_json(msg=str(exc))
        super(FleetModule, self).run(call)
