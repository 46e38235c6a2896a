# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What every Fleet module shares: the module and client set-up, error handling, and the entity lifecycle.

``FleetModule`` builds the ``AnsibleModule`` with the Fleet connection options, opens one ``FleetClient`` and runs
the module's work, turning a ``FleetError`` into one ``fail_json`` that names the field Fleet rejected.
``ensure_entity`` (the present/absent lifecycle: lookup result in, compare, act, diff, check mode with no write)
is the same one the MAAS modules use; Fleet modules describe their entity with an ``EntitySpec``.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gough.gough.plugins.module_utils.fleet import (
    FleetError,
    client_from_module,
    fleet_argument_spec,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_entity import (  # noqa: F401 pylint: disable=unused-import
    EntitySpec,
    entity_changes,
    entity_diff,
    ensure_entity,
)


class FleetModule(object):
    """An ``AnsibleModule`` with the Fleet connection options, check mode support and one ``FleetClient``.

    ``argument_spec`` holds the module's own options; the keyword arguments go to ``AnsibleModule``
    (``mutually_exclusive``, ``required_if``...). ``run(work)`` calls ``work(client)`` and exits with the dict it
    returns; any ``FleetError`` fails the task with its message, its HTTP details and, when Fleet named one, the
    rejected ``field``.
    """

    def __init__(self, argument_spec, **kwargs):
        spec = fleet_argument_spec()
        spec.update(argument_spec)
        kwargs.setdefault("supports_check_mode", True)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode

    def fail(self, msg, **kwargs):
        """Fail the task with ``msg``."""
        self.module.fail_json(msg=msg, **kwargs)

    def run(self, work):
        """Run ``work(client)`` and exit with its result dict (``changed`` included)."""
        client = client_from_module(self.module)
        try:
            result = work(client)
        except FleetError as exc:
            details = exc.details()
            if exc.field:
                details["field"] = exc.field
            client.close()
            self.module.fail_json(msg=str(exc), **details)
        except ValueError as exc:
            client.close()
            self.module.fail_json(msg=str(exc))
        client.close()
        self.module.exit_json(**result)


def pick(entity, fields):
    """``entity`` restricted to ``fields`` (missing ones as None); ``{}`` for no entity."""
    if not entity:
        return {}
    return dict((field, entity.get(field)) for field in fields)


def find_named(items, name):
    """The first item whose ``name`` is exactly ``name``, or None."""
    for item in items:
        if item.get("name") == name:
            return item
    return None


def resolve_team(client, name):
    """``(team_id, team_name)`` for team ``name``; ``(None, None)`` for the global scope (``name`` None or empty).

    Raises ``FleetError`` naming the field ``team`` when Fleet has no such team.
    """
    if not name:
        return None, None
    return client.team_id(name), name
