#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_machine_info
short_description: Find MAAS machines by ID, hostname, MAC address, tag, zone, pool or status
version_added: 0.1.0
description:
  - Lists the MAAS machines that match every given filter, with one C(GET machines/) request that MAAS filters on
    the server, so finding a few machines does not download the whole fleet.
  - Within one filter any of the values matches (V(hostnames=[a, b]) finds both), except O(tags), where a machine
    must carry all of them. Different filters must all match.
  - With no filter at all, every machine the API key may see is listed.
  - Each machine is returned as a stable, documented summary rather than MAAS's full representation.
  - Makes no changes.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  system_ids:
    description:
      - System IDs of the machines to find.
      - An empty list matches no machine (no request is sent).
    type: list
    elements: str
  hostnames:
    description:
      - Short hostnames (without the domain) of the machines to find.
      - An empty list matches no machine (no request is sent).
    type: list
    elements: str
  mac_addresses:
    description:
      - MAC addresses of any interface of the machines to find.
      - An empty list matches no machine (no request is sent).
    type: list
    elements: str
  tags:
    description:
      - Tags a machine must all carry. Naming a tag MAAS does not know is an error.
    type: list
    elements: str
  not_tags:
    description:
      - Tags a machine must carry none of.
    type: list
    elements: str
  zone:
    description:
      - Name of the availability zone of the machines. Naming a zone MAAS does not know is an error.
    type: str
  pool:
    description:
      - Name of the resource pool of the machines.
    type: str
  status:
    description:
      - MAAS statuses the machines may be in, as lower-case status names.
      - An empty list matches no machine (no request is sent).
    type: list
    elements: str
    choices:
      - new
      - commissioning
      - failed_commissioning
      - missing
      - ready
      - reserved
      - deployed
      - retired
      - broken
      - deploying
      - allocated
      - failed_deployment
      - releasing
      - failed_releasing
      - disk_erasing
      - failed_disk_erasing
      - rescue_mode
      - entering_rescue_mode
      - failed_entering_rescue_mode
      - exiting_rescue_mode
      - failed_exiting_rescue_mode
      - testing
      - failed_testing
attributes:
  check_mode:
    support: full
    description: The module only reads, so it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
seealso:
  - module: gough.gough.maas_tag
"""

EXAMPLES = r"""
- name: Find two machines by hostname
  gough.gough.maas_machine_info:
    hostnames: [node-01, node-02]
  register: found

- name: Show their addresses
  ansible.builtin.debug:
    msg: "{{ found.machines | items2dict(key_name='hostname', value_name='ip_addresses') }}"

- name: Ready GPU machines in zone rack-a that are not reserved for CI
  gough.gough.maas_machine_info:
    tags: [gpu]
    not_tags: [ci]
    zone: rack-a
    status: [ready]
  register: gpu_ready

- name: Machines whose deployment failed
  gough.gough.maas_machine_info:
    status: [failed_deployment]
  register: failed

- name: The machine with this MAC address
  gough.gough.maas_machine_info:
    mac_addresses: ["52:54:00:12:34:56"]
"""

RETURN = r"""
count:
  description: Number of machines found.
  returned: success
  type: int
  sample: 1
machines:
  description: The machines found, sorted by MAAS's machine ID (oldest first).
  returned: success
  type: list
  elements: dict
  contains:
    system_id:
      description: MAAS system ID.
      returned: success
      type: str
      sample: 4y3h7n
    hostname:
      description: Short hostname.
      returned: success
      type: str
      sample: node-01
    fqdn:
      description: Fully qualified domain name.
      returned: success
      type: str
      sample: node-01.maas
    status:
      description: MAAS status label (MAAS's C(status_name)); the number is RV(machines[].status_code).
      returned: success
      type: str
      sample: Ready
    status_code:
      description: Numeric MAAS status (MAAS's C(status)).
      returned: success
      type: int
      sample: 4
    status_message:
      description: Latest status event, possibly empty.
      returned: success
      type: str
      sample: Ready
    power_state:
      description: Last known power state, V(on), V(off), V(unknown) or V(error).
      returned: success
      type: str
      sample: "off"
    power_type:
      description: Power driver, such as V(ipmi), V(redfish) or V(manual).
      returned: success
      type: str
      sample: ipmi
    architecture:
      description: Architecture and subarchitecture.
      returned: success
      type: str
      sample: amd64/generic
    osystem:
      description: Deployed operating system, empty when not deployed.
      returned: success
      type: str
      sample: ubuntu
    distro_series:
      description: Deployed release, empty when not deployed.
      returned: success
      type: str
      sample: jammy
    cpu_count:
      description: Number of CPU cores.
      returned: success
      type: int
      sample: 16
    memory:
      description: Memory in MiB.
      returned: success
      type: int
      sample: 65536
    storage:
      description: Total size of the physical disks in MB.
      returned: success
      type: float
      sample: 480000.0
    zone:
      description: Name of the availability zone.
      returned: success
      type: str
      sample: default
    pool:
      description: Name of the resource pool.
      returned: success
      type: str
      sample: default
    domain:
      description: Name of the DNS domain.
      returned: success
      type: str
      sample: maas
    tags:
      description: Tags of the machine, sorted (MAAS's C(tag_names)).
      returned: success
      type: list
      elements: str
      sample: [gpu]
    ip_addresses:
      description: IP addresses MAAS assigned (or DHCP ones when there are none).
      returned: success
      type: list
      elements: str
      sample: [10.20.0.15]
    interfaces:
      description: Network interfaces.
      returned: success
      type: list
      elements: dict
      contains:
        name:
          description: Interface name.
          returned: success
          type: str
          sample: eno1
        mac_address:
          description: MAC address.
          returned: success
          type: str
          sample: "52:54:00:00:00:08"
        vlan_name:
          description: Name of the VLAN the interface is on, null when it is on none.
          returned: success
          type: str
          sample: untagged
        vlan_vid:
          description: 802.1Q VLAN ID (V(0) for untagged), null when it is on no VLAN.
          returned: success
          type: int
          sample: 0
        ip_addresses:
          description: IP addresses linked to the interface.
          returned: success
          type: list
          elements: str
          sample: [10.20.0.15]
    owner:
      description: User the machine is allocated to, null when unowned.
      returned: success
      type: str
      sample: admin
    workload_annotations:
      description: Key/value annotations set by the owner.
      returned: success
      type: dict
      sample: {"team": "storage"}
    locked:
      description: Whether the machine is locked against changes.
      returned: success
      type: bool
      sample: false
    hardware_vendor:
      description: System vendor from the machine's hardware details, null when MAAS does not know it.
      returned: success
      type: str
      sample: Dell Inc.
    hardware_product:
      description: System product name from the machine's hardware details, null when MAAS does not know it.
      returned: success
      type: str
      sample: PowerEdge R640
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import project

# MAAS status filter names (lower-case NODE_STATUS names), in status-code order.
STATUS_FILTER_NAMES = [
    "new", "commissioning", "failed_commissioning", "missing", "ready", "reserved", "deployed", "retired",
    "broken", "deploying", "allocated", "failed_deployment", "releasing", "failed_releasing", "disk_erasing",
    "failed_disk_erasing", "rescue_mode", "entering_rescue_mode", "failed_entering_rescue_mode",
    "exiting_rescue_mode", "failed_exiting_rescue_mode", "testing", "failed_testing",
]
# Module option -> MAAS GET machines/ filter.
FILTERS = {
    "system_ids": "id", "hostnames": "hostname", "mac_addresses": "mac_address", "tags": "tags",
    "not_tags": "not_tags", "zone": "zone", "pool": "pool", "status": "status",
}
# Filters where an empty list must match nothing; sending no value would match everything instead.
MATCH_ANY_OPTIONS = ("system_ids", "hostnames", "mac_addresses", "status")
# The machine projection's fields this module returns for each machine.
SUMMARY_FIELDS = (
    "system_id", "hostname", "fqdn", "status", "status_code", "status_message", "power_state", "power_type",
    "architecture", "osystem", "distro_series", "cpu_count", "memory", "storage", "zone", "pool", "domain", "tags",
    "ip_addresses", "interfaces", "owner", "workload_annotations", "locked", "hardware_vendor", "hardware_product")


def machine_summary(machine):
    """The documented subset of one machine, under the collection's machine projection names."""
    return project(machine, SUMMARY_FIELDS)


def filter_error_message(exc):
    """A message naming the module option behind each MAAS form error of a 400 answer."""
    options = dict((maas_name, option) for option, maas_name in FILTERS.items())
    parts = []
    for field, messages in sorted(exc.field_errors.items()):
        messages = messages if isinstance(messages, list) else [messages]
        parts.append("%s: %s" % (options.get(field, field), " ".join(str(m) for m in messages)))
    return "MAAS refused the machine filters: %s" % "; ".join(parts)


def work(module):
    """The machines matching every filter given, summarised; an empty match list finds nothing without a request."""
    params = module.params
    if any(params[option] == [] for option in MATCH_ANY_OPTIONS):
        return dict(changed=False, machines=[], count=0)
    query = dict((maas_name, params[option]) for option, maas_name in FILTERS.items() if params[option])
    try:
        machines = module.client.get("machines/", params=query)
    except MAASError as exc:
        if exc.status == 400 and isinstance(exc.field_errors, dict):
            raise MAASError(filter_error_message(exc), status=exc.status, method=exc.method, url=exc.url,
                            maas_message=exc.maas_message, field_errors=exc.field_errors)
        raise
    if not isinstance(machines, list):
        raise MAASError("MAAS answered GET machines/ with something other than a JSON list; is the URL the MAAS root "
                        "(e.g. http://maas.example.com:5240/MAAS)?")
    summaries = [machine_summary(m) for m in machines]
    return dict(changed=False, machines=summaries, count=len(summaries))


def main():
    GoughModule("maas", dict(
        system_ids=dict(type="list", elements="str"),
        hostnames=dict(type="list", elements="str"),
        mac_addresses=dict(type="list", elements="str"),
        tags=dict(type="list", elements="str"),
        not_tags=dict(type="list", elements="str"),
        zone=dict(type="str"),
        pool=dict(type="str"),
        status=dict(type="list", elements="str", choices=STATUS_FILTER_NAMES),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
