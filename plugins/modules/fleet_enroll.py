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
  - Every wait is bounded by O(wait_timeout) and looks at Fleet once per O(poll_interval).
  - With O(hosts), one task enrolls (or removes) many hosts at once, the way the M(gough.gough.fleet_enroll) role
    does for every host of a play from one C(run_once) task. Each look at Fleet is then one list of every Fleet host
    (pages of 500), however many hosts wait, instead of a search and a lookup per host; enroll secrets and teams
    are checked once each, and hosts moving to the same team move in one request. Each host gets its own result
    and its own error in RV(host_results).
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  hostname:
    description:
      - Hostname the host reports to Fleet (osquery's C(system_info.hostname)).
      - Exactly one of O(hostname), O(uuid), O(hardware_serial) and O(hosts) is required.
    type: str
  uuid:
    description:
      - Hardware UUID the host reports (osquery's C(system_info.uuid)), in either case.
    type: str
  hardware_serial:
    description:
      - Hardware serial number the host reports.
    type: str
  hosts:
    description:
      - Many hosts in one task, each with its own identifier, instead of one O(hostname), O(uuid) or
        O(hardware_serial). O(team), O(enrolled_after) and O(enroll_secret) apply to every item that does not set
        its own; the other options apply to all.
      - The task fails when any host fails, and RV(host_results) says which and why.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - Key of the host's entry in RV(host_results) and RV(failed_hosts), such as its inventory name. Unique.
          - Defaults to the identifier's value.
        type: str
      hostname:
        description:
          - Hostname the host reports. Exactly one of O(hosts[].hostname), O(hosts[].uuid) and
            O(hosts[].hardware_serial) per item.
        type: str
      uuid:
        description:
          - Hardware UUID the host reports, in either case.
        type: str
      hardware_serial:
        description:
          - Hardware serial number the host reports.
        type: str
      team:
        description:
          - This host's team; see O(team).
        type: str
      enrolled_after:
        description:
          - This host's cut-off for stale enrollments; see O(enrolled_after).
        type: str
      enroll_secret:
        description:
          - The enroll secret this host was given; see O(enroll_secret). Each distinct secret is checked once.
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
    description: Shows the Fleet host IDs with this identifier and the team before and after; with O(hosts), per
      host name.
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

- name: Wait for every host of the play with one Fleet list request per poll
  gough.gough.fleet_enroll:
    hosts: "{{ ansible_play_batch | map('extract', hostvars) | map(attribute='fleet_identity') }}"
    team: web
    wait_timeout: 600
  run_once: true
  delegate_to: localhost
  register: fleet_hosts

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
  returned: success, when O(hosts) is not set
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
  returned: success, when O(hosts) is not set
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
  returned: success, when O(hosts) is not set
  type: float
  sample: 12.5
host_results:
  description:
    - With O(hosts), each host's outcome, in the order of O(hosts); also when the task failed.
  returned: when O(hosts) is set
  type: list
  elements: dict
  contains:
    name:
      description: The host's O(hosts[].name).
      returned: always
      type: str
      sample: web-01
    host:
      description: The Fleet host, as RV(host) for one host; empty when the host failed before it was found.
      returned: always
      type: dict
      sample: {id: 42, hostname: web-01, status: online, team_id: 3, team_name: web}
    deleted_hosts:
      description: The host's deleted Fleet hosts, as RV(deleted_hosts).
      returned: always
      type: list
      elements: dict
    waited:
      description: Seconds this host waited for the host to enroll or come online.
      returned: always
      type: float
      sample: 12.5
    changed:
      description: Whether anything was (or in check mode would be) deleted or moved for this host.
      returned: always
      type: bool
    failed:
      description: Whether this host failed.
      returned: always
      type: bool
    msg:
      description: Why this host failed; empty when it did not.
      returned: always
      type: str
failed_hosts:
  description: With O(hosts), the names of the hosts that failed.
  returned: when O(hosts) is set
  type: list
  elements: str
  sample: [web-07]
"""

from ansible_collections.gough.gough.plugins.module_utils.fleet import host_summary
from ansible_collections.gough.gough.plugins.module_utils.fleet_enrollment import (
    IDENTIFIERS, Enrollment, Target, batch_lister, parse_enrolled_after, single_lister)
from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput, GoughModule, check_wait, require_text)

HOST_ITEM = dict(
    name=dict(type="str"),
    hostname=dict(type="str"),
    uuid=dict(type="str"),
    hardware_serial=dict(type="str"),
    team=dict(type="str"),
    enrolled_after=dict(type="str"),
    enroll_secret=dict(type="str", no_log=True),
)

ARGUMENT_SPEC = dict(
    hostname=dict(type="str"),
    uuid=dict(type="str"),
    hardware_serial=dict(type="str"),
    hosts=dict(type="list", elements="dict", options=HOST_ITEM),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    team=dict(type="str"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
    poll_interval=dict(type="float", default=5),
    replace_stale=dict(type="bool", default=False),
    enrolled_after=dict(type="str"),
    enroll_secret=dict(type="str", no_log=True),
)


def item_target(params, item, index):
    """The ``Target`` of ``hosts[index]``; its team, enrolled_after and secret default to the module's."""
    label = "hosts[%d]" % index
    given = [name for name in IDENTIFIERS if item.get(name) is not None]
    if len(given) != 1:
        raise BadInput(label, "needs exactly one of %s, got %s." % (", ".join(IDENTIFIERS), ", ".join(given) or "none"))
    value = require_text(item, given[0])
    team = item["team"] if item.get("team") is not None else params["team"]
    after = parse_enrolled_after(item.get("enrolled_after") or params["enrolled_after"], label + ".enrolled_after")
    secret = item["enroll_secret"] if item.get("enroll_secret") is not None else params["enroll_secret"]
    if secret is not None and not secret.strip():
        raise BadInput(label + ".enroll_secret", "must not be empty.")
    name = require_text(item, "name") or value
    return Target(name, given[0], value, team, after, secret.strip() if secret else None)


def check_input(params):
    """The targets, checked before any request; raises ``BadInput`` naming the option."""
    check_wait(params, zero_timeout=True)
    require_text(params, "enroll_secret")
    if params["hosts"] is None:
        field = next(name for name in IDENTIFIERS if params[name] is not None)
        secret = params["enroll_secret"].strip() if params["enroll_secret"] else None
        return [Target(field, field, require_text(params, field), params["team"],
                       parse_enrolled_after(params["enrolled_after"]), secret)]
    if not params["hosts"]:
        raise BadInput("hosts", "must list at least one host.")
    targets = [item_target(params, item, index) for index, item in enumerate(params["hosts"])]
    names = [t.name for t in targets]
    twice = sorted(set(n for n in names if names.count(n) > 1))
    if twice:
        raise BadInput("hosts", "names must be unique; given more than once: %s." % ", ".join(twice))
    return targets


def work(module):
    """Enroll or remove one host (hostname, uuid or hardware_serial) or every host of ``hosts`` at once."""
    params, client = module.params, module.client
    targets = check_input(params)
    batch = params["hosts"] is not None
    lister = batch_lister(client) if batch else single_lister(client, targets[0])
    Enrollment(client, params, targets, lister, check_mode=module.check_mode, batch=batch).run()
    missing = [t.described for t in targets if t.msg is None and t.host is None and params["state"] == "present"]
    if missing:
        module.warn("%s %s not enrolled in Fleet yet; check mode does not wait for %s." % (
            ", ".join(missing), "is" if len(missing) == 1 else "are", "it" if len(missing) == 1 else "them"))
    if not batch:
        target = targets[0]
        if target.msg is not None:
            module.ansible.fail_json(msg=target.msg, host=host_summary(target.host),
                                     deleted_hosts=target.result()["deleted_hosts"])
        result = target.result()
        return dict(changed=target.changed, host=result["host"], deleted_hosts=result["deleted_hosts"],
                    waited=result["waited"], diff={"before": target.diff[0], "after": target.diff[1]})
    failed = [t for t in targets if t.msg is not None]
    result = dict(changed=any(t.changed for t in targets), host_results=[dict(t.result(), name=t.name) for t in targets],
                  failed_hosts=[t.name for t in failed],
                  diff={"before": dict((t.name, t.diff[0]) for t in targets if t.diff),
                        "after": dict((t.name, t.diff[1]) for t in targets if t.diff)})
    if failed:
        result.update(failed=True, msg="%d of %d hosts failed: %s" % (
            len(failed), len(targets), "; ".join("%s (%s)" % (t.name, t.msg) for t in failed[:20])
            + (" and %d more" % (len(failed) - 20) if len(failed) > 20 else "")))
    return result


def main():
    GoughModule("fleet", ARGUMENT_SPEC, supports_check_mode=True, required_one_of=[IDENTIFIERS + ("hosts",)],
                mutually_exclusive=[IDENTIFIERS + ("hosts",)]).run(work)


if __name__ == "__main__":
    main()
