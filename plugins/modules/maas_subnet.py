#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_subnet
short_description: Create, update and delete MAAS subnets with their reserved and dynamic IP ranges
version_added: 0.1.0
description:
  - Makes sure a MAAS subnet with the given CIDR exists with the given name, VLAN, gateway, DNS servers and
    C(managed) flag, or does not exist.
  - With O(ip_ranges), the subnet's reserved and dynamic IP ranges become exactly that list. A dynamic range is the
    pool MAAS's DHCP server hands out; turn DHCP on for the VLAN with M(gough.gough.maas_vlan) once it exists.
  - Every option is checked before anything is written, as MAAS would check it, so a bad task fails naming the
    option and leaves MAAS as it was. Ranges must lie inside the subnet, start no later than they end, leave out
    the network and broadcast addresses, not overlap each other, and a dynamic range must not include the gateway
    or a DNS server.
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  cidr:
    description:
      - The subnet's network in CIDR notation, for example V(10.20.0.0/24) or V(2001:db8:1::/64). It identifies the
        subnet. Host bits must be zero.
    type: str
    required: true
  state:
    description:
      - V(present) creates the subnet or brings it in line with the options; V(absent) deletes it with its IP
        ranges.
      - MAAS does not delete a subnet whose VLAN serves DHCP from one of its dynamic ranges; turn DHCP off first.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the subnet. MAAS names a new subnet after its CIDR when not set. Left as it is when not set.
    type: str
  description:
    description:
      - Free-text description. Left as it is when not set.
    type: str
  fabric:
    description:
      - Fabric (name or id) of the VLAN the subnet is on, together with O(vlan).
      - When only O(vlan) is set, the subnet's current fabric is meant, or for a new subnet MAAS's default fabric.
    type: str
  vlan:
    description:
      - VID of the VLAN on O(fabric) that the subnet is on (V(0) is the fabric's untagged VLAN).
      - When neither O(fabric) nor O(vlan) is set, a new subnet goes on the default fabric's untagged VLAN and an
        existing one stays where it is; when only O(fabric) is set, V(0) is meant.
    type: int
  gateway_ip:
    description:
      - Default gateway of the subnet; it must lie inside O(cidr). V("") removes it. Left as it is when not set.
    type: str
  dns_servers:
    description:
      - DNS servers machines on the subnet use. An empty list removes them. Left as they are when not set.
    type: list
    elements: str
  managed:
    description:
      - Whether MAAS manages the subnet's addresses. On an unmanaged subnet MAAS only uses the addresses inside its
        reserved ranges, so a dynamic range must lie inside a reserved one. Left as it is when not set.
    type: bool
  ip_ranges:
    description:
      - The subnet's IP ranges, all of them. Ranges MAAS has but the list does not are deleted; an empty list
        deletes every range. Left as they are when not set.
      - A range that keeps its type but changes its bounds is moved rather than deleted and created, so a VLAN
        that serves DHCP keeps a dynamic range throughout.
    type: list
    elements: dict
    suboptions:
      type:
        description:
          - V(dynamic) is the pool the DHCP server hands out (to enlisting and commissioning machines);
            V(reserved) is kept out of MAAS's hands (routers, other servers).
        type: str
        choices: [dynamic, reserved]
        required: true
      start_ip:
        description: First address of the range.
        type: str
        required: true
      end_ip:
        description: Last address of the range.
        type: str
        required: true
      comment:
        description: What the range is for.
        type: str
        default: ""
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows the subnet's fields and its IP ranges before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
seealso:
  - module: gough.gough.maas_vlan
  - module: gough.gough.maas_subnet_info
"""

EXAMPLES = r"""
- name: The provisioning network, with a DHCP pool and addresses kept for the routers
  gough.gough.maas_subnet:
    cidr: 10.20.0.0/24
    name: provisioning
    gateway_ip: 10.20.0.1
    dns_servers: [10.20.0.2]
    ip_ranges:
      - type: reserved
        start_ip: 10.20.0.1
        end_ip: 10.20.0.9
        comment: routers
      - type: dynamic
        start_ip: 10.20.0.100
        end_ip: 10.20.0.199
        comment: PXE and commissioning

- name: A storage subnet on VLAN 100 of fabric-0
  gough.gough.maas_subnet:
    cidr: 10.30.0.0/24
    fabric: fabric-0
    vlan: 100
    managed: true

- name: Delete a subnet
  gough.gough.maas_subnet:
    cidr: 10.99.0.0/24
    state: absent
"""

RETURN = r"""
subnet:
  description:
    - The subnet after the module ran (as predicted in check mode). Empty when O(state=absent).
  returned: success
  type: dict
  contains:
    id:
      description: MAAS id of the subnet (not known yet in check mode for a new subnet).
      returned: when the subnet exists in MAAS
      type: int
      sample: 3
    cidr:
      description: The subnet's network.
      returned: when the subnet exists
      type: str
      sample: 10.20.0.0/24
    name:
      description: Name of the subnet.
      returned: when the subnet exists
      type: str
      sample: provisioning
    description:
      description: Description of the subnet.
      returned: when the subnet exists
      type: str
      sample: ""
    gateway_ip:
      description: Default gateway, empty when there is none.
      returned: when the subnet exists
      type: str
      sample: 10.20.0.1
    dns_servers:
      description: DNS servers of the subnet.
      returned: when the subnet exists
      type: list
      elements: str
      sample: [10.20.0.2]
    managed:
      description: Whether MAAS manages the subnet's addresses.
      returned: when the subnet exists
      type: bool
      sample: true
    fabric:
      description: Name of the fabric of the subnet's VLAN.
      returned: when the subnet exists
      type: str
      sample: fabric-0
    vlan:
      description: VID of the subnet's VLAN.
      returned: when the subnet exists
      type: int
      sample: 0
    vlan_id:
      description: MAAS id of the subnet's VLAN.
      returned: when the subnet exists
      type: int
      sample: 5001
    ip_ranges:
      description: The subnet's IP ranges, by start address.
      returned: when the subnet exists
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

from ansible_collections.gough.gough.plugins.module_utils.entity import EntitySpec, ensure_entity
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule
from ansible_collections.gough.gough.plugins.module_utils import maas_network as net

MANAGED = ("name", "description", "gateway_ip", "dns_servers", "managed", "vlan_id")


def target_vlan(client, params, current):
    """The VLAN (id, fabric name, vid) the options put the subnet on, or None when they leave it where it is."""
    if params["fabric"] is None and params["vlan"] is None:
        if current is not None:
            return None
        fabric = net.default_fabric(client)
    elif params["fabric"] is None and current is not None:
        fabric = net.find_fabric(client, current["fabric"])
    else:
        fabric = net.find_fabric(client, params["fabric"]) if params["fabric"] is not None \
            else net.default_fabric(client)
    vid = params["vlan"] or 0
    vlan = net.vlan_of(fabric, vid)
    if vlan is None:
        raise BadInput("vlan", "fabric %s has no VLAN with VID %d; create it with gough.gough.maas_vlan first."
                       % (fabric["name"], vid))
    return vlan["id"], fabric["name"], vid


class Subnet(object):
    """The subnet ``network`` as one entity; its IP ranges are reconciled beside it."""

    def __init__(self, client, network, vlan):
        self.client, self.network, self.vlan = client, network, vlan
        defaults = dict(net.SUBNET_DEFAULTS, cidr=str(network), name=str(network))
        if vlan is not None:
            defaults.update(vlan_id=vlan[0], fabric=vlan[1], vlan=vlan[2])
        self.spec = EntitySpec(defaults, self.create, self.update, self.delete)

    def read(self):
        subnet = net.find_subnet(self.client, self.network)
        return net.subnet_view(subnet) if subnet is not None else None

    @staticmethod
    def form(fields):
        form = dict((k, v) for k, v in fields.items() if k in MANAGED and k != "vlan_id")
        if "vlan_id" in fields:
            form["vlan"] = fields["vlan_id"]
        if form.get("dns_servers") == []:
            form["dns_servers"] = ""  # an empty list would send no field at all
        return form

    def create(self, payload):
        form = dict(self.form(payload), cidr=str(self.network))
        form.setdefault("vlan", self.vlan[0])
        self.client.post("subnets/", data=form, confirm=self.read)
        return self.read()

    def update(self, entity, changes):
        self.client.put("subnets/%d/" % entity["id"], data=self.form(changes))
        return self.read()

    def delete(self, entity):
        self.client.delete("subnets/%d/" % entity["id"], confirm=lambda: self.read() is None)


def check_absent(client, current):
    """MAAS refuses to delete a subnet serving DHCP from a dynamic range; say so before trying."""
    vlan = client.get("vlans/%d/" % current["vlan_id"])
    ranges = net.ranges_by_subnet(client).get(current["id"], [])
    if vlan.get("dhcp_on") and any(view["type"] == "dynamic" for _id, view in ranges):
        raise BadInput("state", "subnet %s serves DHCP from a dynamic range on VLAN %s.%s; turn DHCP off "
                       "(gough.gough.maas_vlan dhcp_on=false) or remove the dynamic range first."
                       % (current["cidr"], current["fabric"], current["vlan"]))


def work(module):
    """Bring the subnet and its IP ranges to ``state``."""
    params, client = module.params, module.client
    network = net.parse_cidr(params["cidr"])
    subnet = Subnet(client, network, None)
    current = subnet.read()
    if params["state"] == "absent":
        if current is not None:
            check_absent(client, current)
        result = ensure_entity(subnet.spec, current, {}, "absent", module.check_mode)
        return dict(changed=result["changed"], subnet={}, diff=result["diff"])
    gateway = net.check_gateway(params["gateway_ip"], network) if params["gateway_ip"] is not None else None
    dns = net.check_dns_servers(params["dns_servers"]) if params["dns_servers"] is not None else None
    desired_ranges = None
    if params["ip_ranges"] is not None:
        effective_gateway = gateway if gateway is not None else (current or {}).get("gateway_ip", "")
        effective_dns = dns if dns is not None else (current or {}).get("dns_servers", [])
        managed = params["managed"] if params["managed"] is not None else (current or {}).get("managed", True)
        desired_ranges = net.check_ranges(params["ip_ranges"], network, effective_gateway, effective_dns, managed)
    vlan = target_vlan(client, params, current)
    subnet = Subnet(client, network, vlan)
    desired = dict(name=params["name"], description=params["description"], gateway_ip=gateway, dns_servers=dns,
                   managed=params["managed"], vlan_id=vlan[0] if vlan else None)
    result = ensure_entity(subnet.spec, current, desired, "present", module.check_mode)
    entity = result["entity"]
    current_ranges = net.ranges_by_subnet(client).get(current["id"], []) if current else []
    before_ranges = [view for _id, view in current_ranges]
    after_ranges = before_ranges if desired_ranges is None else desired_ranges
    ranges_changed = after_ranges != before_ranges
    if ranges_changed and not module.check_mode:
        net.apply_ranges(client, entity["id"], current_ranges, desired_ranges)
        after_ranges = [view for _id, view in net.ranges_by_subnet(client).get(entity["id"], [])]
    if entity is not None and vlan is not None and module.check_mode:
        entity.update(fabric=vlan[1], vlan=vlan[2])
    entity = dict(entity, ip_ranges=after_ranges)
    diff = result["diff"]
    diff["before"] = dict(diff["before"], ip_ranges=before_ranges) if current else {}
    diff["after"] = dict(diff["after"], ip_ranges=after_ranges)
    return dict(changed=result["changed"] or ranges_changed, subnet=entity, diff=diff)


def main():
    GoughModule("maas", dict(
        cidr=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str"),
        description=dict(type="str"),
        fabric=dict(type="str"),
        vlan=dict(type="int"),
        gateway_ip=dict(type="str"),
        dns_servers=dict(type="list", elements="str"),
        managed=dict(type="bool"),
        ip_ranges=dict(type="list", elements="dict", options=dict(
            type=dict(type="str", choices=["dynamic", "reserved"], required=True),
            start_ip=dict(type="str", required=True),
            end_ip=dict(type="str", required=True),
            comment=dict(type="str", default=""),
        )),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
