#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_subnet_info
short_description: Read MAAS subnets with their IP ranges and their VLAN's DHCP settings
version_added: 0.1.0
description:
  - Lists MAAS subnets, optionally only the one with a given CIDR or those on a given fabric or VLAN, each with its
    reserved and dynamic IP ranges and whether its VLAN serves DHCP and from which rack controllers.
  - Two requests whatever the number of subnets (C(subnets/) and C(ipranges/)), three with O(fabric)
    (C(fabrics/)).
  - Makes no changes.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  cidr:
    description:
      - Only the subnet with this network, for example V(10.20.0.0/24). No match gives an empty list.
    type: str
  fabric:
    description:
      - Only subnets on this fabric (name or id). An unknown fabric fails naming the ones MAAS has.
    type: str
  vlan:
    description:
      - Only subnets on VLANs with this VID (on O(fabric) when it is set).
    type: int
attributes:
  check_mode:
    support: full
    description: The module only reads, so it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
seealso:
  - module: gough.gough.maas_subnet
  - module: gough.gough.maas_vlan
"""

EXAMPLES = r"""
- name: Every subnet
  gough.gough.maas_subnet_info:
  register: nets

- name: The provisioning subnet's DHCP pool
  gough.gough.maas_subnet_info:
    cidr: 10.20.0.0/24
  register: prov

- name: Show it
  ansible.builtin.debug:
    msg: "{{ prov.subnets[0].ip_ranges | selectattr('type', 'equalto', 'dynamic') | list }}"
"""

RETURN = r"""
subnets:
  description: The subnets that match, by id.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: MAAS id of the subnet.
      returned: always
      type: int
      sample: 1
    cidr:
      description: The subnet's network.
      returned: always
      type: str
      sample: 10.20.0.0/24
    name:
      description: Name of the subnet.
      returned: always
      type: str
      sample: provisioning
    description:
      description: Description of the subnet.
      returned: always
      type: str
      sample: ""
    gateway_ip:
      description: Default gateway, empty when there is none.
      returned: always
      type: str
      sample: 10.20.0.1
    dns_servers:
      description: DNS servers of the subnet.
      returned: always
      type: list
      elements: str
      sample: [10.20.0.2]
    managed:
      description: Whether MAAS manages the subnet's addresses.
      returned: always
      type: bool
      sample: true
    fabric:
      description: Name of the fabric of the subnet's VLAN.
      returned: always
      type: str
      sample: fabric-0
    vlan:
      description: VID of the subnet's VLAN.
      returned: always
      type: int
      sample: 0
    vlan_id:
      description: MAAS id of the subnet's VLAN.
      returned: always
      type: int
      sample: 5001
    dhcp_on:
      description: Whether MAAS serves DHCP on the subnet's VLAN.
      returned: always
      type: bool
      sample: true
    primary_rack:
      description: System ID of the VLAN's primary rack controller, empty when there is none.
      returned: always
      type: str
      sample: 4y3h7n
    secondary_rack:
      description: System ID of the VLAN's secondary rack controller, empty when there is none.
      returned: always
      type: str
      sample: ""
    ip_ranges:
      description: The subnet's IP ranges, by start address.
      returned: always
      type: list
      elements: dict
      contains:
        type:
          description: V(dynamic) or V(reserved).
          returned: always
          type: str
          sample: dynamic
        start_ip:
          description: First address.
          returned: always
          type: str
          sample: 10.20.0.100
        end_ip:
          description: Last address.
          returned: always
          type: str
          sample: 10.20.0.199
        comment:
          description: What the range is for.
          returned: always
          type: str
          sample: PXE and commissioning
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule
from ansible_collections.gough.gough.plugins.module_utils import maas_network as net


def work(module):
    """List the subnets that match, with their ranges and DHCP settings."""
    params, client = module.params, module.client
    network = net.parse_cidr(params["cidr"]) if params["cidr"] is not None else None
    fabric = net.find_fabric(client, params["fabric"]) if params["fabric"] is not None else None
    ranges = net.ranges_by_subnet(client)
    subnets = []
    for subnet in sorted(client.get("subnets/") or [], key=lambda s: s["id"]):
        vlan = subnet.get("vlan") or {}
        if network is not None and net.find_network(subnet) != network:
            continue
        if fabric is not None and vlan.get("fabric_id") != fabric["id"]:
            continue
        if params["vlan"] is not None and vlan.get("vid") != params["vlan"]:
            continue
        view = net.subnet_view(subnet, [v for _id, v in ranges.get(subnet["id"], [])])
        view.update(dhcp_on=bool(vlan.get("dhcp_on")), primary_rack=vlan.get("primary_rack") or "",
                    secondary_rack=vlan.get("secondary_rack") or "")
        subnets.append(view)
    return dict(changed=False, subnets=subnets)


def main():
    GoughModule("maas", dict(
        cidr=dict(type="str"),
        fabric=dict(type="str"),
        vlan=dict(type="int"),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
