#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_vlan
short_description: Create, update and delete MAAS VLANs, and turn MAAS-managed DHCP on or off
version_added: 0.1.0
description:
  - Makes sure the VLAN with VID O(vid) exists on O(fabric) with the given name, MTU, DHCP setting, rack
    controllers and DHCP relay, or does not exist.
  - A VLAN's description is left alone, because MAAS's API does not show it and so a module could not tell whether
    it is already right.
  - DHCP is what lets machines PXE-boot from MAAS. MAAS turns it on only when a subnet of the VLAN has a dynamic IP
    range (see M(gough.gough.maas_subnet)) and a primary rack controller is set; the module checks both, and that
    the rack controllers are connected to the VLAN, before it writes anything.
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  fabric:
    description:
      - Fabric of the VLAN, by name or id.
    type: str
    required: true
  vid:
    description:
      - VLAN ID, V(0) to V(4094); V(0) is the fabric's untagged VLAN, which always exists.
    type: int
    required: true
  state:
    description:
      - V(present) creates the VLAN or brings it in line with the options; V(absent) deletes it (its subnets move
        to the fabric's untagged VLAN). The untagged VLAN cannot be deleted.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the VLAN. Left as it is when not set. MAAS always calls the untagged VLAN C(untagged).
    type: str
  mtu:
    description:
      - MTU of the VLAN, V(552) to V(65535). Left as it is when not set (MAAS creates VLANs with 1500).
    type: int
  dhcp_on:
    description:
      - Whether MAAS serves DHCP (and so PXE) on the VLAN. Left as it is when not set.
      - V(true) needs a dynamic IP range on a subnet of the VLAN and a primary rack controller (O(primary_rack),
        or one the VLAN already has).
    type: bool
  primary_rack:
    description:
      - Rack controller (system ID or hostname) that serves DHCP on the VLAN. It must have an interface on a VLAN
        with this VID. V("") removes it, together with O(secondary_rack) (MAAS would promote the secondary). Left as
        it is when not set.
    type: str
  secondary_rack:
    description:
      - Rack controller (system ID or hostname) that serves DHCP when the primary fails; it must differ from the
        primary. V("") removes it. Left as it is when not set.
    type: str
  relay_vlan:
    description:
      - VLAN whose DHCP serves this VLAN through a DHCP relay (which you run; MAAS does not), as the VID of a VLAN
        on O(fabric) or as C(<fabric>.<vid>) for one on another fabric. V("") removes the relay.
      - Not together with O(dhcp_on=true), since a VLAN either serves DHCP or relays it. The relay VLAN must not
        relay itself.
    type: str
attributes:
  check_mode:
    support: full
    description: Reads as usual and reports what would change, but sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows the VLAN's fields before and after.
notes:
  - Idempotent. A second run with the same options reports no change.
seealso:
  - module: gough.gough.maas_subnet
  - module: gough.gough.maas_subnet_info
"""

EXAMPLES = r"""
- name: Serve DHCP and PXE on the untagged VLAN of fabric-0 from the region's rack controller
  gough.gough.maas_vlan:
    fabric: fabric-0
    vid: 0
    dhcp_on: true
    primary_rack: maas-region-1

- name: A storage VLAN with jumbo frames
  gough.gough.maas_vlan:
    fabric: fabric-0
    vid: 100
    name: storage
    mtu: 9000

- name: VLAN 200 gets its DHCP from the untagged VLAN through a relay
  gough.gough.maas_vlan:
    fabric: fabric-0
    vid: 200
    relay_vlan: "0"

- name: Delete a VLAN
  gough.gough.maas_vlan:
    fabric: fabric-0
    vid: 300
    state: absent
"""

RETURN = r"""
vlan:
  description:
    - The VLAN after the module ran (as predicted in check mode). Empty when O(state=absent).
  returned: success
  type: dict
  contains:
    id:
      description: MAAS id of the VLAN (not known yet in check mode for a new VLAN).
      returned: when the VLAN exists in MAAS
      type: int
      sample: 5002
    fabric:
      description: Name of the fabric.
      returned: when the VLAN exists
      type: str
      sample: fabric-0
    vid:
      description: VLAN ID.
      returned: when the VLAN exists
      type: int
      sample: 100
    name:
      description: Name of the VLAN (C(untagged) for VID 0), empty when it has none.
      returned: when the VLAN exists
      type: str
      sample: storage
    mtu:
      description: MTU.
      returned: when the VLAN exists
      type: int
      sample: 9000
    dhcp_on:
      description: Whether MAAS serves DHCP on the VLAN.
      returned: when the VLAN exists
      type: bool
      sample: false
    primary_rack:
      description: System ID of the primary rack controller, empty when there is none.
      returned: when the VLAN exists
      type: str
      sample: 4y3h7n
    secondary_rack:
      description: System ID of the secondary rack controller, empty when there is none.
      returned: when the VLAN exists
      type: str
      sample: ""
    relay_vlan:
      description: The relay VLAN as C(<fabric>.<vid>), empty when there is none.
      returned: when the VLAN exists
      type: str
      sample: fabric-0.0
"""

from ansible_collections.gough.gough.plugins.module_utils.entity import EntitySpec, ensure_entity
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, GoughModule
from ansible_collections.gough.gough.plugins.module_utils import maas_network as net

DEFAULTS = {"fabric": "", "vid": 0, "name": "", "mtu": 1500, "dhcp_on": False,
            "primary_rack": "", "secondary_rack": "", "relay_vlan": ""}


def vlan_view(vlan, vlan_names):
    """A VLAN as the module shows it; ``vlan_names`` maps VLAN ids to ``<fabric>.<vid>``."""
    relay = vlan.get("relay_vlan")
    relay_id = relay.get("id") if isinstance(relay, dict) else relay
    return {"id": vlan["id"], "fabric": vlan["fabric"], "vid": vlan["vid"], "name": vlan.get("name") or "",
            "mtu": vlan["mtu"], "dhcp_on": bool(vlan["dhcp_on"]),
            "primary_rack": vlan.get("primary_rack") or "", "secondary_rack": vlan.get("secondary_rack") or "",
            "relay_vlan": vlan_names.get(relay_id, "") if relay_id is not None else ""}


class Vlans(object):
    """Every VLAN of every fabric, by id and by ``<fabric>.<vid>``; the one the task is about is ``fabric.vid``."""

    def __init__(self, client, fabric_key, vid):
        self.client, self.vid = client, vid
        self.fabric = net.find_fabric(client, fabric_key)
        self.load()

    def load(self):
        self.by_label, self.names = {}, {}
        for fabric in self.client.get("fabrics/") or []:
            for vlan in fabric.get("vlans") or []:
                label = "%s.%d" % (fabric["name"], vlan["vid"])
                self.by_label[label], self.names[vlan["id"]] = vlan, label
        self.label = "%s.%d" % (self.fabric["name"], self.vid)

    def read(self):
        self.load()
        vlan = self.by_label.get(self.label)
        return vlan_view(vlan, self.names) if vlan else None

    def relay_label(self, text):
        """The relay VLAN option as ``<fabric>.<vid>`` ("" stays ""), checked like MAAS's relay choices."""
        if text == "":
            return ""
        label = "%s.%s" % (self.fabric["name"], text) if text.isdigit() else text
        target = self.by_label.get(label)
        if target is None:
            raise BadInput("relay_vlan", "MAAS has no VLAN %s (give a VID on fabric %s or <fabric>.<vid>)."
                           % (label, self.fabric["name"]))
        if label == self.label or target.get("relay_vlan"):
            raise BadInput("relay_vlan", "%s cannot be the relay VLAN: it is this VLAN or relays DHCP itself." % label)
        return label

    def form(self, fields):
        form = dict((k, v) for k, v in fields.items() if k in DEFAULTS and k not in ("fabric", "vid"))
        if form.get("relay_vlan"):
            form["relay_vlan"] = self.by_label[form["relay_vlan"]]["id"]
        return form

    def create(self, payload):
        base = dict((k, v) for k, v in self.form(payload).items() if k in ("name", "mtu"))
        self.client.post("fabrics/%d/vlans/" % self.fabric["id"], data=dict(base, vid=self.vid), confirm=self.read)
        rest = dict((k, v) for k, v in self.form(payload).items() if k not in base)
        if rest:
            self.client.put("fabrics/%d/vlans/%d/" % (self.fabric["id"], self.vid), data=rest)
        return self.read()

    def update(self, entity, changes):
        self.client.put("vlans/%d/" % entity["id"], data=self.form(changes))
        return self.read()

    def delete(self, entity):
        self.client.delete("vlans/%d/" % entity["id"], confirm=lambda: self.read() is None)


def desired_state(module, vlans, current):
    """The fields the task sets, checked and in MAAS's spelling; ``BadInput`` for anything MAAS would refuse."""
    params = module.params
    if params["mtu"] is not None and not 552 <= params["mtu"] <= 65535:
        raise BadInput("mtu", "must be between 552 and 65535, got %d." % params["mtu"])
    if params["dhcp_on"] and params["relay_vlan"]:
        raise BadInput("relay_vlan", "not with dhcp_on=true: a VLAN either serves DHCP or relays it.")
    if vlans.vid == 0 and params["name"] not in (None, "untagged"):
        raise BadInput("name", "MAAS always names the untagged VLAN (VID 0) untagged.")
    desired = dict((k, params[k]) for k in ("name", "mtu", "dhcp_on"))
    racks = None
    for field in ("primary_rack", "secondary_rack"):
        if params[field] is not None:
            racks = racks if racks is not None else net.rack_controllers(module.client)
            desired[field] = net.resolve_rack(racks, params[field], vlans.vid, field)
    desired["relay_vlan"] = vlans.relay_label(params["relay_vlan"]) if params["relay_vlan"] is not None else None
    now = current or DEFAULTS
    primary = desired.get("primary_rack") if desired.get("primary_rack") is not None else now["primary_rack"]
    secondary = desired.get("secondary_rack") if desired.get("secondary_rack") is not None else now["secondary_rack"]
    if desired.get("primary_rack") == "" and secondary:
        raise BadInput("primary_rack", "set secondary_rack to \"\" too, or MAAS promotes the secondary (%s) to "
                       "primary." % secondary)
    if primary and primary == secondary:
        raise BadInput("secondary_rack", "%s is the primary rack controller; the secondary must be another one."
                       % primary)
    if params["dhcp_on"]:
        if not primary:
            raise BadInput("primary_rack", "DHCP needs a primary rack controller; set primary_rack.")
        if current is None or not net.vlan_has_dynamic_range(module.client, current["id"]):
            raise BadInput("dhcp_on", "VLAN %s has no dynamic IP range on any of its subnets; add one with "
                           "gough.gough.maas_subnet (ip_ranges, type dynamic) first." % vlans.label)
        if now["relay_vlan"] and desired["relay_vlan"] is None:
            desired["relay_vlan"] = ""  # MAAS drops the relay when DHCP goes on; say so in the diff
    return desired


def work(module):
    """Bring the VLAN to ``state``."""
    params = module.params
    if not 0 <= params["vid"] <= 4094:
        raise BadInput("vid", "must be between 0 and 4094, got %d." % params["vid"])
    vlans = Vlans(module.client, params["fabric"], params["vid"])
    current = vlans.read()
    spec = EntitySpec(dict(DEFAULTS, fabric=vlans.fabric["name"], vid=params["vid"]), vlans.create, vlans.update,
                      vlans.delete)
    if params["state"] == "absent":
        if params["vid"] == 0 and current is not None:
            raise BadInput("vid", "VID 0 is the untagged VLAN of fabric %s; MAAS does not delete it."
                           % vlans.fabric["name"])
        result = ensure_entity(spec, current, {}, "absent", module.check_mode)
        return dict(changed=result["changed"], vlan={}, diff=result["diff"])
    result = ensure_entity(spec, current, desired_state(module, vlans, current), "present", module.check_mode)
    return dict(changed=result["changed"], vlan=result["entity"], diff=result["diff"])


def main():
    GoughModule("maas", dict(
        fabric=dict(type="str", required=True),
        vid=dict(type="int", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        name=dict(type="str"),
        mtu=dict(type="int"),
        dhcp_on=dict(type="bool"),
        primary_rack=dict(type="str"),
        secondary_rack=dict(type="str"),
        relay_vlan=dict(type="str"),
    ), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
