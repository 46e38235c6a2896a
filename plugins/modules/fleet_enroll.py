#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_enroll
short_description: Make sure a host is enrolled in Fleet and checking in, in the right team; or remove it
version_added: 0.1.0
description:
  - Hosts enroll themselves (osquery or fleetd on the host presents an enroll secret; the
    M(gough.gough.fleet_enroll) role sets that up). This module is the controller's half. It finds the host in
    Fleet by hostname, hardware UUID or hardware serial, waits until it is online (it has checked in recently),
    and moves it into a team. O(state=absent) deletes it from Fleet.
  - Re-provisioning a server makes it enroll again as a new Fleet host under the same name. With
    O(replace_stale=true), hosts with the same identifier that are offline while a newer one exists, or that
    enrolled before O(enrolled_after), are deleted first, so Fleet keeps one identity per server.
  - With O(enroll_secret), the module first checks that Fleet knows that secret (globally or for a team), so a
    wrong secret fails at once, with a message saying so, instead of at the end of a long wait.
  - Every wait is bounded by O(wait_timeout) and polls once per O(poll_interval) with one list request.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  hostname:
    description:
      - Hostname the host reports to Fleet (osquery's C(system_info.hostname)).
      - Exactly one of O(hostname), O(uuid) and O(hardware_serial) is required.
    type: str
  uuid:
    description:
      - Hardware UUID the host reports (osquery's C(system_info.uuid)), in either case.
    type: str
  hardware_serial:
    description:
      - Hardware serial number the host reports.
    type: str
  state:
    description:
      - V(present) finds the host, waits until it is online (with O(wait)) and moves it into O(team).
      - V(absent) deletes every Fleet host with this identifier. A host whose osquery still runs with a valid enroll
        secret enrolls again at its next check-in, so stop osquery first (the role does).
    type: str
    choices: [present, absent]
    default: present
  team:
    description:
      - Name of the team the host must be in. Left as it is when not set; V("") moves it out of any team.
    type: str
  wait:
    description:
      - Wait until the host has enrolled and is online. With V(false), the host must already be enrolled.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the host to enroll and be online.
    type: int
    default: 300
  poll_interval:
    description:
      - Seconds between two looks at Fleet while waiting.
    type: float
    default: 5
  replace_stale:
    description:
      - Delete stale Fleet hosts with the same identifier. A host is stale when it enrolled before O(enrolled_after),
        or when it is not online and a more recently enrolled host with the same identifier exists.
      - An online host is never deleted unless it enrolled before O(enrolled_after).
    type: bool
    default: false
  enrolled_after:
    description:
      - With O(replace_stale=true), hosts that enrolled before this time are stale, and the module waits for one
        that enrolled later. Use the time the server was (re)deployed.
      - An ISO 8601 time such as V(2026-03-01T10:00:00Z) (no zone means UTC), or seconds since the epoch.
    type: str
  enroll_secret:
    description:
      - The enroll secret the host was given. When set, the module checks that it is one of Fleet's global or team
        secrets before anything else, and fails naming O(enroll_secret) when it is not.
      - Reading the secrets needs a global admin or maintainer token.
    type: str
attributes:
  check_mode:
    support: full
    description: Finds the host and reports what would be deleted or moved, but sends no request that changes Fleet,
      and does not wait for a host that is not there yet.
  diff_mode:
    support: full
    description: Shows the Fleet host IDs with this identifier and the team before and after.
notes:
  - Idempotent. Once the host is enrolled, online and in its team, a second run reports no change.
  - Deleting hosts and moving them between teams needs a global admin or maintainer token.
seealso:
  - module: gough.gough.fleet_host_info
  - module: gough.gough.fleet_enroll_secret
"""

EXAMPLES = r"""
- name: Wait until the server is enrolled and online, and put it in the web team
  gough.gough.fleet_enroll:
    url: https://fleet.example.com
    api_token: "{{ fleet_api_token }}"
    ca_path: /etc/gough/ca.crt
    hostname: "{{ inventory_hostname_short }}"
    team: web
    wait_timeout: 600
  delegate_to: localhost
  register: fleet_host

- name: After re-deploying a server, drop its old Fleet identities and wait for the new one
  gough.gough.fleet_enroll:
    uuid: "{{ ansible_facts.product_uuid | lower }}"
    replace_stale: true
    enrolled_after: "{{ deployed_at }}"
  delegate_to: localhost

- name: Remove a decommissioned server from Fleet
  gough.gough.fleet_enroll:
    hostname: node-07
    state: absent
  delegate_to: localhost
"""

RETURN = r"""
host:
  description:
    - The Fleet host after the module ran (as predicted in check mode). Empty when O(state=absent), or in check mode
      when the host has not enrolled yet.
  returned: success
  type: dict
  contains:
    id:
      description: Fleet's ID of the host.
      returned: when the host exists
      type: int
      sample: 42
    hostname:
      description: Hostname the host reports.
      returned: when the host exists
      type: str
      sample: node-07
    display_name:
      description: Name Fleet shows for the host.
      returned: when the host exists
      type: str
      sample: node-07
    uuid:
      description: Hardware UUID.
      returned: when the host exists
      type: str
      sample: 4c4c4544-0047-3010-8056-b4c04f4d4e32
    hardware_serial:
      description: Hardware serial number.
      returned: when the host exists
      type: str
      sample: CZ2000XYZ
    platform:
      description: Platform, such as C(ubuntu) or C(debian).
      returned: when the host exists
      type: str
      sample: ubuntu
    os_version:
      description: Operating system and version.
      returned: when the host exists
      type: str
      sample: Ubuntu 24.04.1 LTS
    osquery_version:
      description: Version of osquery on the host.
      returned: when the host exists
      type: str
      sample: 5.14.1
    orbit_version:
      description: Version of fleetd (Orbit); null for plain osquery.
      returned: when the host exists
      type: str
      sample: null
    status:
      description: C(online), C(offline), C(new), C(mia) or C(missing), as Fleet computes it.
      returned: when the host exists
      type: str
      sample: online
    seen_time:
      description: Last time the host checked in.
      returned: when the host exists
      type: str
      sample: "2026-03-01T10:05:00Z"
    last_enrolled_at:
      description: When the host last enrolled.
      returned: when the host exists
      type: str
      sample: "2026-03-01T10:01:00Z"
    team_id:
      description: ID of the host's team; null for no team.
      returned: when the host exists
      type: int
      sample: 3
    team_name:
      description: Name of the host's team; null for no team.
      returned: when the host exists
      type: str
      sample: web
    primary_ip:
      description: Main IP address the host reports.
      returned: when the host exists
      type: str
      sample: 10.0.0.7
deleted_hosts:
  description: The Fleet hosts deleted (or in check mode that would be) as stale duplicates or for O(state=absent).
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Fleet's ID of the deleted host.
      returned: success
      type: int
      sample: 17
    hostname:
      description: Its hostname.
      returned: success
      type: str
      sample: node-07
    status:
      description: Its status when it was deleted.
      returned: success
      type: str
      sample: offline
    last_enrolled_at:
      description: When it had enrolled.
      returned: success
      type: str
      sample: "2026-02-01T09:00:00Z"
waited:
  description: Seconds spent waiting for the host to enroll or come online.
  returned: success
  type: float
  sample: 12.5
"""

import time

from ansible_collections.gough.gough.plugins.module_utils.fleet import host_summary, parse_time, resolve_team
from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput, GoughModule, check_wait, require_text)
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout, wait_until

IDENTIFIERS = ("hostname", "uuid", "hardware_serial")
EPOCH = parse_time(0)


def enrolled_time(host):
    """When ``host`` last enrolled (its creation time when Fleet has no enrollment time), or the epoch."""
    for field in ("last_enrolled_at", "created_at"):
        try:
            value = parse_time(host.get(field))
        except ValueError:
            value = None
        if value is not None:
            return value
    return EPOCH


def newest_first(hosts):
    """``hosts`` ordered by enrollment time, the most recent first (ties: higher ID first)."""
    return sorted(hosts, key=lambda h: (enrolled_time(h), h.get("id") or 0), reverse=True)


def stale_hosts(candidates, enrolled_after):
    """The candidates that are stale duplicates (see the ``replace_stale`` option)."""
    ordered = newest_first(candidates)
    stale = []
    for index, host in enumerate(ordered):
        if enrolled_after is not None and enrolled_time(host) < enrolled_after:
            stale.append(host)
        elif index > 0 and host.get("status") != "online":
            stale.append(host)
    return stale


def deleted_view(host):
    return dict((k, host.get(k)) for k in ("id", "hostname", "status", "last_enrolled_at"))


ARGUMENT_SPEC = dict(
    hostname=dict(type="str"),
    uuid=dict(type="str"),
    hardware_serial=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    team=dict(type="str"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    poll_interval=dict(type="float", default=5),
    replace_stale=dict(type="bool", default=False),
    enrolled_after=dict(type="str"),
    enroll_secret=dict(type="str", no_log=True),
)


def check_input(params):
    """``(field, value, enrolled_after)``: the identifier option given, its value, and ``enrolled_after`` parsed;
    raises ``BadInput`` naming the option, before any request."""
    field = next(name for name in IDENTIFIERS if params[name] is not None)
    value = require_text(params, field)
    check_wait(params, zero_timeout=True)
    require_text(params, "enroll_secret")
    enrolled_after = None
    if params["enrolled_after"]:
        try:
            enrolled_after = parse_time(params["enrolled_after"])
        except ValueError as exc:
            raise BadInput("enrolled_after", "%s." % exc)
    return field, value, enrolled_after


def work(module):
    """Find the host Fleet enrolled, delete stale duplicates, wait until it is online, move it to its team."""
    params, client = module.params, module.client
    field, value, enrolled_after = check_input(params)
    described = "%s=%s" % (field, value)

    def same(host):
        # UUIDs are case-insensitive (osquery reports them upper case, DMI tools lower case).
        found = host.get(field) or ""
        return found.lower() == value.lower() if field == "uuid" else found == value

    def candidates():
        # Fleet's search matches parts of hostnames, serials, UUIDs and addresses: keep exact matches only.
        found = dict((h["id"], h) for h in client.list_hosts(query=value) if same(h))
        direct = client.get_host_by_identifier(value)
        if direct and same(direct):
            found.setdefault(direct["id"], direct)
        return list(found.values())

    current = candidates()
    before_ids = sorted(h["id"] for h in current)
    if params["state"] == "absent":
        if not module.check_mode:
            for host in current:
                client.delete_host(host["id"])
        return dict(changed=bool(current), host={}, deleted_hosts=[deleted_view(h) for h in newest_first(current)],
                    waited=0.0, diff={"before": {"hosts": before_ids}, "after": {"hosts": []}})

    if params["enroll_secret"] is not None:
        check_secret(client, params["enroll_secret"].strip())
    team_id = resolve_team(client, params["team"])[0] if params["team"] else None

    deleted = stale_hosts(current, enrolled_after) if params["replace_stale"] else []
    if not module.check_mode:
        for host in deleted:
            client.delete_host(host["id"])
    deleted_ids = set(h["id"] for h in deleted)
    gone = [deleted_view(h) for h in deleted]

    def newest(hosts):
        kept = [h for h in hosts if h["id"] not in deleted_ids]
        if params["replace_stale"] and enrolled_after is not None:
            kept = [h for h in kept if enrolled_time(h) >= enrolled_after]
        return (newest_first(kept) or [None])[0]

    started = time.monotonic()
    host = newest(current)
    if params["wait"] and not module.check_mode:
        try:
            # A fixed interval: enrollment takes seconds, and wait_timeout bounds the wait.
            host = wait_until(lambda: newest(candidates()), lambda h: h is not None and h.get("status") == "online",
                              params["wait_timeout"], interval=params["poll_interval"],
                              max_interval=params["poll_interval"], backoff=1, initial=host)
        except WaitTimeout as exc:
            module.ansible.fail_json(msg=timeout_message(described, exc.last, params["wait_timeout"], client.api_url),
                                     host=host_summary(exc.last), deleted_hosts=gone)
    waited = round(time.monotonic() - started, 1)

    if host is None:
        if not module.check_mode:
            module.ansible.fail_json(
                msg="%s is not enrolled in Fleet (%s); enrollment is done by osquery or fleetd on the host (role "
                    "gough.gough.fleet_enroll), set wait=true to wait for it." % (described, client.api_url),
                deleted_hosts=gone)
        module.warn("%s is not enrolled in Fleet yet; check mode does not wait for it." % described)
        return dict(changed=bool(deleted), host={}, deleted_hosts=gone, waited=waited,
                    diff={"before": {"hosts": before_ids}, "after": {"hosts": sorted(set(before_ids) - deleted_ids)}})

    before_team = host.get("team_id")
    moved = params["team"] is not None and before_team != team_id
    if moved:
        if module.check_mode:
            host = dict(host, team_id=team_id, team_name=params["team"] or None)
        else:
            client.transfer_hosts(team_id, [host["id"]])
            host = client.get_host(host["id"]) or host
    after_ids = sorted(set(h["id"] for h in candidates()) if not module.check_mode else set(before_ids) - deleted_ids)
    if module.check_mode and host["id"] not in after_ids:
        after_ids = sorted(after_ids + [host["id"]])
    diff = {"before": {"hosts": before_ids, "team_id": before_team},
            "after": {"hosts": after_ids, "team_id": host.get("team_id")}}
    return dict(changed=bool(deleted) or moved, host=host_summary(host), deleted_hosts=gone, waited=waited, diff=diff)


def main():
    GoughModule("fleet", ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[IDENTIFIERS],
                mutually_exclusive=[IDENTIFIERS]).run(work)


def check_secret(client, secret):
    """Raise ``BadInput`` naming ``enroll_secret`` unless ``secret`` is a global or team enroll secret."""
    if any(s.get("secret") == secret for s in client.enroll_secrets()):
        return
    for team in client.list_teams():
        if any(s.get("secret") == secret for s in client.enroll_secrets(team["id"])):
            return
    raise BadInput("enroll_secret", "Fleet does not know this enroll secret (it is neither a global secret nor a "
                                    "team's), so osquery on the host cannot enroll with it; use a current secret "
                                    "(gough.gough.fleet_enroll_secret reads them).")


def timeout_message(described, host, timeout, api_url):
    """Why the wait ended: never enrolled, or enrolled but not online."""
    if host is None:
        return ("%s did not enroll in Fleet (%s) within %d seconds. Check on the host that osquery runs and can "
                "reach Fleet: the flagfile (tls_hostname, tls_server_certs, the endpoints), the CA certificate and "
                "the enroll secret; its log says why enrollment fails." % (described, api_url, timeout))
    return ("%s is enrolled in Fleet as host %s but not online within %d seconds (status %s, last seen %s). Check "
            "that osquery runs on the host and reaches Fleet." % (described, host.get("id"), timeout,
                                                                  host.get("status"), host.get("seen_time")))


if __name__ == "__main__":
    main()
