#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_team
short_description: Create, update and delete Fleet teams
version_added: 0.1.0
description:
  - Makes sure a Fleet team exists with the given description, or does not exist.
  - Teams group hosts; each team has its own enroll secrets (see M(gough.gough.fleet_enroll_secret)) and policies
    (see M(gough.gough.fleet_policy)), and a host enrolled with a team's secret joins that team.
  - Teams are a Fleet Premium feature. Managing them needs a global admin or maintainer token.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  name:
    description:
      - Name of the team; the team is found again by this exact name.
    type: str
    required: true
  description:
    description:
      - Description of the team. Left as it is when not set.
    type: str
  state:
    description:
      - V(present) creates the team or brings its description in line; V(absent) deletes it. Fleet moves the hosts
        of a deleted team to no team.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes Fleet.
  diff_mode:
    support: full
    description: Shows the team's name and description before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
seealso:
  - module: gough.gough.fleet_enroll_secret
  - module: gough.gough.fleet_policy
"""

EXAMPLES = r"""
- name: A team for the web servers
  gough.gough.fleet_team:
    url: https://fleet.example.com
    api_token: "{{ fleet_api_token }}"
    ca_path: /etc/gough/ca.crt
    name: web
    description: Web front ends

- name: Delete a team
  gough.gough.fleet_team:
    name: old-team
    state: absent
"""

RETURN = r"""
team:
  description:
    - The team after the module ran (as predicted in check mode, where a new team has no C(id)).
    - Empty when O(state=absent).
  returned: success
  type: dict
  contains:
    id:
      description: Fleet's ID of the team.
      returned: when the team exists
      type: int
      sample: 3
    name:
      description: Name of the team.
      returned: when the team exists
      type: str
      sample: web
    description:
      description: Description of the team.
      returned: when the team exists
      type: str
      sample: Web front ends
    host_count:
      description: Number of hosts in the team.
      returned: when the team exists
      type: int
      sample: 12
    user_count:
      description: Number of users with a role on the team.
      returned: when the team exists
      type: int
      sample: 0
"""

from ansible_collections.gough.gough.plugins.module_utils.entity import EntitySpec, ensure_entity, pick
from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule, require_text

TEAM_FIELDS = ("id", "name", "description", "host_count", "user_count")


def work(module):
    """Bring team ``name`` to ``state``; the result carries the team and a diff of its name and description."""
    params, client = module.params, module.client
    name = require_text(params, "name")

    def read():
        team = client.find_team(name)
        return pick(team, TEAM_FIELDS) if team else None

    def create(payload):
        body = {"name": name}
        if payload.get("description") is not None:
            body["description"] = payload["description"]
        client.post("teams", body=body, confirm=read)
        return read()

    def update(entity, changes):
        client.patch("teams/%d" % entity["id"], body=changes,
                     confirm=lambda: all((read() or {}).get(k) == v for k, v in changes.items()))
        return read()

    def delete(entity):
        client.delete("teams/%d" % entity["id"], confirm=lambda: read() is None)

    spec = EntitySpec({"name": name, "description": "", "host_count": 0, "user_count": 0}, create, update, delete)
    desired = {"name": name, "description": params["description"]}
    result = ensure_entity(spec, read(), desired, params["state"], module.check_mode)
    diff = dict((side, pick(value, ("name", "description"))) for side, value in result["diff"].items())
    return dict(changed=result["changed"], team=result["entity"] or {}, diff=diff)


def main():
    GoughModule("fleet", dict(
        name=dict(type="str", required=True),
        description=dict(type="str"),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
