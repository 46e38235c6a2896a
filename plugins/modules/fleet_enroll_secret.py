#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_enroll_secret
short_description: Read, set and rotate Fleet enroll secrets, global or of a team
version_added: 0.1.0
description:
  - Hosts enroll in Fleet with an enroll secret; a host that enrolls with a team's secret joins that team. This
    module makes sure the global scope or one team (O(team)) has the secrets you want, rotates them, or reads them.
  - With O(secret), that secret is made valid; with O(rotate=true), a new random secret is made. O(keep_old) decides
    whether the secrets valid before stay valid (a graceful rotation, while new hosts may still be set up with
    the old secret) or are replaced. Hosts already enrolled are never affected either way.
  - With neither, the module only makes sure at least one secret exists (creating one when there is none) and
    reports them.
  - Secrets are never returned unless O(return_secrets=true), and never logged. Each secret is reported by a
    fingerprint instead (the first 16 hex digits of its SHA-256), which is enough to compare them.
  - Needs a global admin or maintainer token (a team admin for a team's secrets).
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  team:
    description:
      - Name of the team whose secrets to manage. The global secrets when not set.
    type: str
  secret:
    description:
      - A secret that must be valid (O(state=present)) or must not be (O(state=absent)).
      - Mutually exclusive with O(rotate).
    type: str
  rotate:
    description:
      - Make a new random secret (32 bytes, URL-safe base64). Every run with V(true) rotates, so it always reports a
        change; run it when you mean to rotate.
    type: bool
    default: false
  keep_old:
    description:
      - When O(secret) is added or O(rotate=true), keep the secrets that were valid before, so hosts still
        configured with them can enroll. V(false) replaces them.
    type: bool
    default: false
  state:
    description:
      - V(present) makes O(secret) (or a rotated secret, or at least one secret) valid.
      - V(absent) removes O(secret); without O(secret), removes every secret of the scope, so no new host can enroll
        into it.
    type: str
    choices: [present, absent]
    default: present
  return_secrets:
    description:
      - Include the secret values in RV(secrets). Set C(no_log) to V(true) on the task when you use this, and keep
        the values out of files with loose modes.
      - A value passed in O(secret) is hidden in results by Ansible in any case.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the secrets and reports what would change, but sends no request that changes Fleet. A rotated
      secret is not generated in check mode.
  diff_mode:
    support: full
    description: Shows the fingerprints of the secrets before and after, never the secrets.
notes:
  - Idempotent unless O(rotate=true). With O(secret), a second run reports no change.
seealso:
  - module: gough.gough.fleet_team
  - module: gough.gough.fleet_enroll
"""

EXAMPLES = r"""
- name: Make the team's secret the one kept in the vault
  gough.gough.fleet_enroll_secret:
    team: web
    secret: "{{ vault_fleet_web_enroll_secret }}"

- name: Rotate the global secret, keeping the old one valid until every host is reconfigured
  gough.gough.fleet_enroll_secret:
    rotate: true
    keep_old: true
    return_secrets: true
  register: rotated
  no_log: true

- name: Read the team's secrets (creating one if it has none) to configure new hosts
  gough.gough.fleet_enroll_secret:
    team: web
    return_secrets: true
  register: web_secrets
  no_log: true

- name: Stop all new enrollments into the team
  gough.gough.fleet_enroll_secret:
    team: web
    state: absent
"""

RETURN = r"""
scope:
  description: V(global), or the name of the team whose secrets these are.
  returned: success
  type: str
  sample: web
team_id:
  description: ID of the team; null for the global secrets.
  returned: success
  type: int
  sample: 3
count:
  description: Number of valid secrets after the module ran.
  returned: success
  type: int
  sample: 1
secrets:
  description:
    - The valid secrets after the module ran (as predicted in check mode), newest first.
  returned: success
  type: list
  elements: dict
  contains:
    fingerprint:
      description: First 16 hex digits of the SHA-256 of the secret; a rotated secret in check mode has none.
      returned: success
      type: str
      sample: 3f9a0c1e77d2b5a4
    created_at:
      description: When Fleet recorded the secret (null for one predicted in check mode).
      returned: success
      type: str
      sample: "2026-01-05T10:01:12Z"
    secret:
      description: The secret itself.
      returned: when O(return_secrets=true)
      type: str
      sample: 9Ck2v0F2Vx3p8lH3yqzBv5H0p2f3c8Yd
"""

import hashlib
import secrets as random_secrets

from ansible_collections.gough.gough.plugins.module_utils.fleet import resolve_team
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule, require_text


def fingerprint(secret):
    """First 16 hex digits of the SHA-256 of ``secret``: safe to show, enough to tell secrets apart."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:16]


def plan(current, params, new_secret):
    """The list of secret values the scope must have, from the ``current`` ones (newest first)."""
    secret = params["secret"]
    if params["state"] == "absent":
        return [s for s in current if s != secret] if secret is not None else []
    if params["rotate"]:
        return [new_secret] + (current if params["keep_old"] else [])
    if secret is not None:
        if secret in current:
            return current
        return [secret] + (current if params["keep_old"] else [])
    return current if current else [new_secret]


def work(module):
    """Bring the enroll secrets of the global scope or a team to what the options ask; secrets show as fingerprints."""
    params, client = module.params, module.client
    require_text(params, "secret")
    if params["rotate"] and params["state"] == "absent":
        raise BadInput("rotate", "cannot be used with state=absent.")
    team_id, team_name = resolve_team(client, params["team"])
    records = client.enroll_secrets(team_id)
    records = sorted(records, key=lambda r: r.get("created_at") or "", reverse=True)
    created = dict((r["secret"], r.get("created_at")) for r in records)
    current = [r["secret"] for r in records]
    # In check mode no secret is generated: the placeholder is never sent and never returned.
    new_secret = None if module.check_mode else random_secrets.token_urlsafe(32)
    wanted = plan(current, params, new_secret)
    changed = wanted != current and set(wanted) != set(current)
    if changed and not module.check_mode:
        client.set_enroll_secrets(wanted, team_id)
        created.update((r["secret"], r.get("created_at")) for r in client.enroll_secrets(team_id))

    def describe(values):
        items = []
        for value in values:
            item = {"fingerprint": fingerprint(value) if value is not None else None,
                    "created_at": created.get(value) if value is not None else None}
            if params["return_secrets"]:
                item["secret"] = value
            items.append(item)
        return items

    after = wanted if changed else current
    diff = {"before": {"secrets": [fingerprint(s) for s in current]},
            "after": {"secrets": [fingerprint(s) if s is not None else "(new secret)" for s in after]}}
    return dict(changed=changed, scope=team_name or "global", team_id=team_id, count=len(after),
                secrets=describe(after), diff=diff)


def main():
    GoughModule("fleet", dict(
        team=dict(type="str"),
        secret=dict(type="str", no_log=True),
        rotate=dict(type="bool", default=False),
        keep_old=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        return_secrets=dict(type="bool", default=False),
    ), supports_check_mode=True, mutually_exclusive=[("secret", "rotate")]).run(work)


if __name__ == "__main__":
    main()
