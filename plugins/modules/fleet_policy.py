#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_policy
short_description: Manage Fleet policies, global or of a team
version_added: 0.1.0
description:
  - Makes sure a Fleet policy (a yes/no osquery query every host answers) exists with the given query and
    settings, or does not exist.
  - A policy is global (every host answers it) or belongs to one team (O(team)). It is found by its exact name
    within that scope.
  - Each host's answer shows in M(gough.gough.fleet_host_info) with O(gough.gough.fleet_host_info#module:policies=true).
  - With O(policies), one task manages many policies of one scope. Every entry is checked (its SQL, its platform, a
    query for a policy to create) and the team looked up before the first change, the scope's policies are listed
    once, and only the policies that differ are written.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  name:
    description:
      - Name of the policy, unique within its scope.
      - Required unless O(policies) is set; the two are mutually exclusive.
    type: str
  policies:
    description:
      - Many policies of the same scope (O(team)) in one task, instead of O(name) and the options of one policy.
      - Each entry takes the options of a single policy; O(policies[].state) is per entry.
      - "Nothing is written when any entry is bad; the error names the entry, for example
        C(policies[2].query: policy 'sshd' is not valid osquery SQL: no such table: foo)."
    type: list
    elements: dict
    version_added: 0.1.0
    suboptions:
      name:
        description: Name of the policy, unique within its scope.
        type: str
        required: true
      query:
        description: The osquery SQL, as O(query).
        type: str
      description:
        description: What the policy checks, as O(description).
        type: str
      resolution:
        description: What to do on a failing host, as O(resolution).
        type: str
      platform:
        description: Platforms the policy targets, as O(platform).
        type: str
      critical:
        description: Whether Fleet treats a failure as critical, as O(critical).
        type: bool
      state:
        description: As O(state).
        type: str
        choices: [present, absent]
        default: present
  team:
    description:
      - Name of the team the policy belongs to. Global policy when not set.
    type: str
  query:
    description:
      - The osquery SQL; the host passes when it returns at least one row.
      - Required to create the policy; left as it is when not set.
      - "Checked before anything is sent to Fleet. It must be one statement that compiles in SQLite (osquery's SQL
        dialect) against osquery's Linux tables and columns (osquery 5.23); a syntax error, an unknown table or an
        unknown column fails the task naming the policy and SQLite's message, for example
        C(query: policy 'sshd' is not valid osquery SQL: no such table: foo), and nothing is created or changed.
        Fleet itself does not check the SQL: every host would answer with that error instead."
    type: str
  description:
    description:
      - What the policy checks. Left as it is when not set.
    type: str
  resolution:
    description:
      - What to do on a failing host. Left as it is when not set.
    type: str
  platform:
    description:
      - Comma-separated platforms the policy targets, from V(linux), V(darwin), V(windows) and V(chrome); V("") is every
        platform. Left as it is when not set.
    type: str
  critical:
    description:
      - Whether Fleet treats a failure as critical. Left as it is when not set.
    type: bool
  state:
    description:
      - V(present) creates the policy or updates the fields that differ; V(absent) deletes it.
      - Not used with O(policies), whose entries each have their own.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes Fleet.
  diff_mode:
    support: full
    description: Shows the policy's managed fields before and after (with O(policies), keyed by policy name).
notes:
  - Idempotent. A second run with the same options reports no change.
  - The SQL check needs Python's C(sqlite3) module where the module runs; a Python built without it skips the check
    with a warning.
  - The check knows osquery's Linux tables (from osquery's table specs). A query for a macOS or Windows table, or
    one of an osquery extension, fails the check; such policies cannot be managed with this module yet.
seealso:
  - module: gough.gough.fleet_team
  - module: gough.gough.fleet_host_info
"""

EXAMPLES = r"""
- name: Every Linux host must run sshd with password logins disabled
  gough.gough.fleet_policy:
    name: sshd without passwords
    query: >-
      SELECT 1 FROM augeas WHERE path = '/etc/ssh/sshd_config' AND label = 'PasswordAuthentication' AND value = 'no';
    description: Password authentication is off in sshd_config.
    resolution: Set PasswordAuthentication no and restart sshd.
    platform: linux
    critical: true

- name: A policy for the web team only
  gough.gough.fleet_policy:
    name: nginx running
    team: web
    query: SELECT 1 FROM processes WHERE name = 'nginx';

- name: Remove a global policy
  gough.gough.fleet_policy:
    name: old check
    state: absent

- name: Several global policies in one task (all checked before the first change)
  gough.gough.fleet_policy:
    policies:
      - name: sshd running
        query: SELECT 1 FROM processes WHERE name = 'sshd';
        critical: true
      - name: chrony running
        query: SELECT 1 FROM processes WHERE name = 'chronyd';
        platform: linux
      - name: old check
        state: absent
  register: baseline
"""

RETURN = r"""
policies:
  description:
    - With O(policies), one result per entry, in their order.
  returned: success, when O(policies) is set
  type: list
  elements: dict
  contains:
    name:
      description: The entry's policy name.
      type: str
      sample: sshd running
    changed:
      description: Whether this policy was (or in check mode would be) created, updated or deleted.
      type: bool
      sample: false
    policy:
      description: The policy after the module ran, as RV(policy) of a single policy; empty when deleted or absent.
      type: dict
      sample: {id: 7, name: sshd running, critical: true}
  version_added: 0.1.0
policy:
  description:
    - The policy after the module ran (as predicted in check mode, where a new policy has no C(id)).
    - Empty when O(state=absent).
    - Not returned with O(policies).
  returned: success, when O(name) is set
  type: dict
  contains:
    id:
      description: Fleet's ID of the policy.
      returned: when the policy exists
      type: int
      sample: 7
    name:
      description: Name of the policy.
      returned: when the policy exists
      type: str
      sample: nginx running
    query:
      description: The osquery SQL.
      returned: when the policy exists
      type: str
      sample: SELECT 1 FROM processes WHERE name = 'nginx';
    description:
      description: What the policy checks.
      returned: when the policy exists
      type: str
      sample: ""
    resolution:
      description: What to do on a failing host.
      returned: when the policy exists
      type: str
      sample: ""
    platform:
      description: Platforms the policy targets; empty for all.
      returned: when the policy exists
      type: str
      sample: linux
    critical:
      description: Whether a failure is critical.
      returned: when the policy exists
      type: bool
      sample: false
    team_id:
      description: ID of the team the policy belongs to; null for a global policy.
      returned: when the policy exists
      type: int
      sample: 3
    passing_host_count:
      description: Hosts that last answered pass.
      returned: when the policy exists
      type: int
      sample: 10
    failing_host_count:
      description: Hosts that last answered fail.
      returned: when the policy exists
      type: int
      sample: 2
"""

from ansible_collections.gough.gough.plugins.module_utils.entity import EntitySpec, ensure_entity, find_named, pick
from ansible_collections.gough.gough.plugins.module_utils.fleet import resolve_team
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule, require_text
from ansible_collections.gough.gough.plugins.module_utils.osquery_sql import HAS_SQLITE3, query_error

MANAGED = ("name", "query", "description", "resolution", "platform", "critical")
POLICY_FIELDS = ("id",) + MANAGED + ("team_id", "passing_host_count", "failing_host_count")
VALID_PLATFORMS = ("linux", "darwin", "windows", "chrome")


def check_input(module, params, name, field=""):
    """Raise ``BadInput`` for a blank or invalid query or an unknown platform, before any request. ``field`` prefixes
    the option names in the message (``policies[2].``)."""
    try:
        query = require_text(params, "query")
    except BadInput as exc:
        raise BadInput(field + "query", exc.message)
    if query is not None:
        if HAS_SQLITE3:
            error = query_error(params["query"])
            if error:
                raise BadInput(field + "query", "policy %r is not valid osquery SQL: %s" % (name, error))
        else:
            module.warn("query of policy %r not checked: this Python has no sqlite3 module" % name)
    if params.get("platform"):
        unknown = [p for p in params["platform"].split(",") if p.strip() not in VALID_PLATFORMS]
        if unknown:
            raise BadInput(field + "platform", "%s not one of %s (comma-separated)."
                           % (", ".join(repr(p) for p in unknown), ", ".join(VALID_PLATFORMS)))


def entries(module):
    """``[(field prefix, name, params)]``: the one policy of O(name), or every entry of O(policies), each checked."""
    params = module.params
    if params["policies"] is None:
        name = require_text(params, "name")
        check_input(module, params, name)
        return [("", name, params)]
    found, seen = [], set()
    for index, entry in enumerate(params["policies"]):
        field = "policies[%d]." % index
        try:
            name = require_text(entry, "name")
        except BadInput as exc:
            raise BadInput(field + "name", exc.message)
        if name in seen:
            raise BadInput(field + "name", "policy %r is listed twice." % name)
        seen.add(name)
        check_input(module, entry, name, field)
        found.append((field, name, entry))
    return found


def work(module):
    """Bring policy ``name`` (or every entry of ``policies``) of the global scope or a team to its state; the diff
    shows the managed fields."""
    params = module.params
    wanted = entries(module)
    client = module.client
    team_id = resolve_team(client, params["team"])[0]
    collection = client.policies_path(team_id)

    def read(name):
        policy = find_named(client.list_policies(team_id), name)
        return pick(policy, POLICY_FIELDS) if policy else None

    def spec_for(name):
        def create(payload):
            body = dict((k, v) for k, v in payload.items() if k in MANAGED)
            client.post(collection, body=body, confirm=lambda: read(name) is not None)
            return read(name)

        def update(entity, changes):
            client.patch("%s/%d" % (collection, entity["id"]), body=changes,
                         confirm=lambda: all((read(name) or {}).get(k) == v for k, v in changes.items()))
            return read(name)

        def delete(entity):
            client.post("%s/delete" % collection, body={"ids": [entity["id"]]}, confirm=lambda: read(name) is None)

        defaults = {"name": name, "query": "", "description": "", "resolution": "", "platform": "",
                    "critical": False, "team_id": team_id, "passing_host_count": 0, "failing_host_count": 0}
        return EntitySpec(defaults, create, update, delete)

    # The scope's policies are listed once; a policy to create without a query fails before the first write.
    existing = client.list_policies(team_id)
    currents = []
    for field, name, entry in wanted:
        current = find_named(existing, name)
        current = pick(current, POLICY_FIELDS) if current else None
        if current is None and (entry.get("state") or "present") == "present" and not entry.get("query"):
            raise BadInput(field + "query", "required to create policy %r, which does not exist yet." % name)
        currents.append(current)
    results = []
    for (field, name, entry), current in zip(wanted, currents):
        desired = dict((key, entry.get(key)) for key in MANAGED)
        desired["name"] = name
        result = ensure_entity(spec_for(name), current, desired, entry.get("state") or "present", module.check_mode)
        diff = dict((side, pick(value, MANAGED)) for side, value in result["diff"].items())
        results.append(dict(name=name, changed=result["changed"], policy=result["entity"] or {}, diff=diff))
    if params["policies"] is None:
        return dict((key, results[0][key]) for key in ("changed", "policy", "diff"))
    changed = [item for item in results if item["changed"]]
    diff = {"before": dict((item["name"], item["diff"]["before"]) for item in changed),
            "after": dict((item["name"], item["diff"]["after"]) for item in changed)}
    return dict(changed=bool(changed), diff=diff,
                policies=[dict((key, item[key]) for key in ("name", "changed", "policy")) for item in results])


def main():
    policy = dict(query=dict(type="str"), description=dict(type="str"), resolution=dict(type="str"),
                  platform=dict(type="str"), critical=dict(type="bool"),
                  state=dict(type="str", choices=["present", "absent"], default="present"))
    GoughModule("fleet", dict(
        policy,
        name=dict(type="str"),
        policies=dict(type="list", elements="dict", options=dict(policy, name=dict(type="str", required=True))),
        team=dict(type="str"),
    ), supports_check_mode=True, mutually_exclusive=[("name", "policies")],
        required_one_of=[("name", "policies")]).run(work)


if __name__ == "__main__":
    main()
