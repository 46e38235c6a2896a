#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: fleet_host_info
short_description: Find Fleet hosts and report their status, team and policy results
version_added: 0.1.0
description:
  - Lists the hosts Fleet knows, with Fleet's server-side filters (O(query), O(team), O(status)), or looks up hosts by
    exact O(hostname), O(uuid) or O(hardware_serial). Pages through the list, so any number of hosts is returned.
  - With O(policies=true), each host carries its policy results and a summary of them (passing, total, failing and
    failing critical policies). Fleet adds them to the same list requests (C(populate_policies)), so a thousand hosts
    with their results take a few requests.
  - Changes nothing.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.fleet
options:
  hostname:
    description:
      - Only hosts whose hostname is exactly this. Mutually exclusive with O(uuid) and O(hardware_serial).
    type: str
  uuid:
    description:
      - Only hosts whose hardware UUID is exactly this.
    type: str
  hardware_serial:
    description:
      - Only hosts whose hardware serial is exactly this.
    type: str
  query:
    description:
      - Fleet's search text, matched against parts of hostnames, serials, UUIDs and IP addresses.
    type: str
  team:
    description:
      - Only hosts in this team. V("") means hosts in no team.
    type: str
  status:
    description:
      - Only hosts with this status.
    type: str
    choices: [new, online, offline, mia, missing]
  policies:
    description:
      - Add each host's policy results (RV(hosts[].policies)) and their summary (RV(hosts[].policies_passing),
        RV(hosts[].policies_total), RV(hosts[].failing_policies), RV(hosts[].failing_critical_policies),
        RV(hosts[].critical_compliant)).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: The module changes nothing, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to show.
seealso:
  - module: gough.gough.fleet_enroll
"""

EXAMPLES = r"""
- name: Every host Fleet knows
  gough.gough.fleet_host_info:
  register: fleet_hosts

- name: One server, with its policy results
  gough.gough.fleet_host_info:
    hostname: node-07
    policies: true
  register: node

- name: Offline hosts of the web team
  gough.gough.fleet_host_info:
    team: web
    status: offline
"""

RETURN = r"""
count:
  description: Number of hosts found.
  returned: success
  type: int
  sample: 2
hosts:
  description: The hosts found, by ID.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Fleet's ID of the host.
      returned: success
      type: int
      sample: 42
    hostname:
      description: Hostname the host reports.
      returned: success
      type: str
      sample: node-07
    display_name:
      description: Name Fleet shows for the host.
      returned: success
      type: str
      sample: node-07
    uuid:
      description: Hardware UUID.
      returned: success
      type: str
      sample: 4c4c4544-0047-3010-8056-b4c04f4d4e32
    hardware_serial:
      description: Hardware serial number.
      returned: success
      type: str
      sample: CZ2000XYZ
    platform:
      description: Platform, such as C(ubuntu) or C(debian).
      returned: success
      type: str
      sample: ubuntu
    os_version:
      description: Operating system and version.
      returned: success
      type: str
      sample: Ubuntu 24.04.1 LTS
    osquery_version:
      description: Version of osquery on the host.
      returned: success
      type: str
      sample: 5.14.1
    orbit_version:
      description: Version of fleetd (Orbit); null for plain osquery.
      returned: success
      type: str
      sample: null
    status:
      description: C(online), C(offline), C(new), C(mia) or C(missing).
      returned: success
      type: str
      sample: online
    seen_time:
      description: Last time the host checked in.
      returned: success
      type: str
      sample: "2026-03-01T10:05:00Z"
    last_enrolled_at:
      description: When the host last enrolled.
      returned: success
      type: str
      sample: "2026-03-01T10:01:00Z"
    team_id:
      description: ID of the host's team; null for no team.
      returned: success
      type: int
      sample: 3
    team_name:
      description: Name of the host's team; null for no team.
      returned: success
      type: str
      sample: web
    primary_ip:
      description: Main IP address the host reports.
      returned: success
      type: str
      sample: 10.0.0.7
    policies:
      description: The host's policy results.
      returned: when O(policies=true)
      type: list
      elements: dict
      contains:
        id:
          description: ID of the policy.
          returned: success
          type: int
          sample: 7
        name:
          description: Name of the policy.
          returned: success
          type: str
          sample: sshd without passwords
        response:
          description: C(pass), C(fail), or empty when the host has not answered yet.
          returned: success
          type: str
          sample: pass
        critical:
          description: Whether Fleet treats a failure of this policy as critical.
          returned: success
          type: bool
          sample: true
    policies_passing:
      description: How many of the host's policies it last passed.
      returned: when O(policies=true)
      type: int
      sample: 8
    policies_total:
      description: How many policies apply to the host (answered or not).
      returned: when O(policies=true)
      type: int
      sample: 9
    policies_pending:
      description:
        - How many of them have no answer (a new host answers within its check-in interval; a query that fails on
          the host, such as one using a table its osquery lacks, stays without an answer until it is fixed).
      returned: when O(policies=true)
      type: int
      sample: 0
    policies_reported:
      description:
        - Whether the host has run its policies since it last enrolled (Fleet's C(policy_updated_at) is later than
          C(last_enrolled_at)); a host that has not has no results to judge yet.
      returned: when O(policies=true)
      type: bool
      sample: true
    failing_policies:
      description: Names of the policies the host last failed, sorted.
      returned: when O(policies=true)
      type: list
      elements: str
      sample: [SSH root login disabled]
    failing_critical_policies:
      description: Names of the critical policies the host last failed, sorted.
      returned: when O(policies=true)
      type: list
      elements: str
      sample: [SSH root login disabled]
    critical_compliant:
      description:
        - V(true) when the host passes every critical policy that applies to it, V(false) when it fails one, and
          null while a critical policy has no answer yet (or no critical policy applies).
      returned: when O(policies=true)
      type: bool
      sample: false
"""

from ansible_collections.gough.gough.plugins.module_utils.fleet import host_summary, parse_time, resolve_team
from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule

IDENTIFIERS = ("hostname", "uuid", "hardware_serial")
# Fleet's "never" for detail, label and policy update times.
EPOCH_DAY = parse_time("1970-01-02T00:00:00Z")


def policies_reported(host):
    """Whether Fleet has a policy run from ``host`` since it last enrolled (Fleet writes 1970-01-02 for never)."""
    try:
        ran = parse_time(host.get("policy_updated_at"))
        enrolled = parse_time(host.get("last_enrolled_at")) or EPOCH_DAY
    except ValueError:
        return False
    return ran is not None and ran > EPOCH_DAY and ran >= enrolled


def policy_summary(policies):
    """The host's policy results as documented (``policies``) and what the compliance gate needs from them."""
    results = [dict(id=p.get("id"), name=p.get("name"), response=p.get("response") or "",
                    critical=bool(p.get("critical"))) for p in policies]
    critical = [p for p in results if p["critical"]]
    failing_critical = sorted(p["name"] for p in critical if p["response"] == "fail")
    if failing_critical:
        compliant = False
    elif critical and all(p["response"] == "pass" for p in critical):
        compliant = True
    else:
        compliant = None
    return dict(policies=results, policies_passing=sum(1 for p in results if p["response"] == "pass"),
                policies_total=len(results), policies_pending=sum(1 for p in results if not p["response"]),
                failing_policies=sorted(p["name"] for p in results if p["response"] == "fail"),
                failing_critical_policies=failing_critical, critical_compliant=compliant)


def work(module):
    """The hosts matching the options, sorted by ID, with their policy results when asked."""
    params, client = module.params, module.client
    filters = {"status": params["status"]}
    if params["team"] is not None:
        filters["team_id"] = resolve_team(client, params["team"])[0] if params["team"] else 0
    exact = [(name, params[name]) for name in IDENTIFIERS if params[name] is not None]
    search = exact[0][1] if exact else params["query"]
    if search:
        filters["query"] = search
    if params["policies"]:
        filters["populate_policies"] = True
    hosts = client.list_hosts(**filters)
    if exact:
        name, value = exact[0]
        hosts = [h for h in hosts if h.get(name) == value]
        if params["query"]:
            needle = params["query"].lower()
            hosts = [h for h in hosts if any(needle in str(h.get(k) or "").lower()
                                             for k in ("hostname", "uuid", "hardware_serial", "primary_ip"))]
    result = []
    for host in sorted(hosts, key=lambda h: h["id"]):
        item = host_summary(host)
        if params["policies"]:
            item.update(policy_summary(host.get("policies") or []))
            item["policies_reported"] = policies_reported(host)
        result.append(item)
    return dict(changed=False, count=len(result), hosts=result)


def main():
    GoughModule("fleet", dict(
        hostname=dict(type="str"),
        uuid=dict(type="str"),
        hardware_serial=dict(type="str"),
        query=dict(type="str"),
        team=dict(type="str"),
        status=dict(type="str", choices=["new", "online", "offline", "mia", "missing"]),
        policies=dict(type="bool", default=False),
    ), supports_check_mode=True, mutually_exclusive=[IDENTIFIERS]).run(work)


if __name__ == "__main__":
    main()
