# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What ``maas_subnet``, ``maas_vlan`` and ``maas_subnet_info`` share: reading fabrics, VLANs, subnets, IP ranges
and rack controllers into small views, checking network input before any write, and reconciling a subnet's IP
ranges to a desired set.

The checks mirror the rules MAAS applies (so a bad task fails with the option's name and nothing written, rather
than half-way with MAAS's 400): a range inside its subnet, start not after end, the network and broadcast
addresses left out, no two ranges overlapping, no dynamic range over the gateway or a DNS server, an IPv6 dynamic
range of at least 256 addresses, and DHCP only with a dynamic range and a primary rack controller on the VLAN.

Runs inside modules, so it imports only the standard library and ``gough_module`` (for ``BadInput``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput

RANGE_FIELDS = ("type", "start_ip", "end_ip", "comment")
SUBNET_DEFAULTS = {"cidr": "", "name": "", "description": "", "gateway_ip": "", "dns_servers": [], "managed": True,
                   "fabric": "", "vlan": 0, "vlan_id": None}


# -- addresses --------------------------------------------------------------------------------------------------

def parse_cidr(text, field="cidr"):
    """``text`` as an ``ip_network``; raise ``BadInput`` unless it is a network address with a prefix length."""
    try:
        network = ipaddress.ip_network(str(text).strip())
    except ValueError:
        raise BadInput(field, "%r is not a network in CIDR notation, such as 10.20.0.0/24 (host bits must be 0)."
                       % (text,))
    if network.prefixlen == 0:
        raise BadInput(field, "the prefix length must be greater than 0 (MAAS refuses %s)." % network)
    return network


def parse_ip(text, field):
    """``text`` as an ``ip_address``, or ``BadInput`` naming ``field``."""
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        raise BadInput(field, "%r is not an IP address." % (text,))


def check_in_network(address, network, field):
    """Raise ``BadInput`` unless ``address`` lies in ``network``."""
    if address.version != network.version or address not in network:
        raise BadInput(field, "%s is not inside the subnet %s." % (address, network))


def check_gateway(text, network):
    """The gateway as text ("" for none); it must lie in the subnet (IPv6 link-local also passes, as in MAAS)."""
    if not text:
        return ""
    address = parse_ip(text, "gateway_ip")
    if not (network.version == 6 and address.version == 6 and address.is_link_local):
        check_in_network(address, network, "gateway_ip")
    return str(address)


def check_dns_servers(values):
    """The DNS servers as normalised address texts, in the given order."""
    return [str(parse_ip(value, "dns_servers")) for value in values]


def _ip_int(text):
    return int(ipaddress.ip_address(text))


def range_order(view):
    """Ranges are listed by start address, a reserved range before a dynamic one that starts with it."""
    return (_ip_int(view["start_ip"]), view["type"] != "reserved")


def check_ranges(ranges, network, gateway, dns_servers, managed=True):
    """Check ``ip_ranges`` as MAAS would and return them normalised and sorted by start address.

    Each range must lie in ``network`` with its start not after its end, leave out the network (and IPv4 broadcast)
    address, not overlap another range, and, when dynamic, not include the gateway or a DNS server in the subnet,
    be at least 256 addresses on IPv6 and stay clear of ``::1`` to ``::ffff:ffff``, which MAAS keeps on a /64.
    On an unmanaged subnet (``managed`` False) MAAS only uses addresses inside reserved ranges, so there a dynamic
    range must lie inside a reserved one instead of beside it.
    """
    result = []
    for index, item in enumerate(ranges):
        field = "ip_ranges[%d]" % index
        start = parse_ip(item["start_ip"], field + ".start_ip")
        end = parse_ip(item["end_ip"], field + ".end_ip")
        check_in_network(start, network, field + ".start_ip")
        check_in_network(end, network, field + ".end_ip")
        if end < start:
            raise BadInput(field, "start_ip %s is after end_ip %s." % (start, end))
        if start == network.network_address:
            raise BadInput(field + ".start_ip", "%s is the network address of %s; start after it." % (start, network))
        if network.version == 4 and network.prefixlen < 31 and end == network.broadcast_address:
            raise BadInput(field + ".end_ip", "%s is the broadcast address of %s; end before it." % (end, network))
        if network.version == 6 and network.prefixlen == 64 and int(start) - int(network.network_address) <= 0xFFFFFFFF:
            raise BadInput(field + ".start_ip", "MAAS keeps ::1 to ::ffff:ffff of a /64 for itself; start above %s."
                           % ipaddress.ip_address(int(network.network_address) + 0xFFFFFFFF))
        if item["type"] == "dynamic":
            if start.version == 6 and int(end) - int(start) + 1 < 256:
                raise BadInput(field, "an IPv6 dynamic range must have at least 256 addresses.")
            for name, point in [("gateway_ip", gateway)] + [("dns_servers", d) for d in dns_servers]:
                if point and start <= ipaddress.ip_address(point) <= end and ipaddress.ip_address(point) in network:
                    raise BadInput(field, "the dynamic range %s-%s includes %s %s; DHCP would hand it out."
                                   % (start, end, name, point))
        result.append({"type": item["type"], "start_ip": str(start), "end_ip": str(end),
                       "comment": item.get("comment") or "", "index": index})
    result.sort(key=range_order)
    groups = [result] if managed else [[r for r in result if r["type"] == kind] for kind in ("reserved", "dynamic")]
    for group in groups:
        for previous, following in zip(group, group[1:]):
            if _ip_int(following["start_ip"]) <= _ip_int(previous["end_ip"]):
                raise BadInput("ip_ranges[%d]" % following["index"], "%s-%s overlaps ip_ranges[%d] (%s-%s)."
                               % (following["start_ip"], following["end_ip"], previous["index"],
                                  previous["start_ip"], previous["end_ip"]))
    if not managed:
        _check_inside_reserved(result)
    return [dict((k, r[k]) for k in RANGE_FIELDS) for r in result]


def _check_inside_reserved(ranges):
    """On an unmanaged subnet each dynamic range must lie inside the reserved ranges (adjacent ones join up)."""
    blocks = []
    for item in ranges:
        if item["type"] != "reserved":
            continue
        first, last = _ip_int(item["start_ip"]), _ip_int(item["end_ip"])
        if blocks and first == blocks[-1][1] + 1:
            blocks[-1] = (blocks[-1][0], last)
        else:
            blocks.append((first, last))
    for item in ranges:
        if item["type"] == "dynamic" and not any(a <= _ip_int(item["start_ip"]) and _ip_int(item["end_ip"]) <= b
                                                 for a, b in blocks):
            raise BadInput("ip_ranges[%d]" % item["index"], "the subnet is unmanaged, so MAAS uses only addresses "
                           "inside its reserved ranges; put the dynamic range %s-%s inside a reserved one."
                           % (item["start_ip"], item["end_ip"]))


# -- reads ------------------------------------------------------------------------------------------------------

def find_fabric(client, key, field="fabric"):
    """The fabric named ``key`` (its name or id), with its ``vlans``; ``BadInput`` naming the known ones."""
    fabrics = client.get("fabrics/") or []
    for fabric in fabrics:
        if str(key) in (fabric["name"], str(fabric["id"])):
            return fabric
    raise BadInput(field, "MAAS has no fabric %s; it has: %s." % (key, ", ".join(f["name"] for f in fabrics)))


def default_fabric(client):
    """The fabric MAAS puts new subnets on when none is named (the one with the lowest id)."""
    return sorted(client.get("fabrics/") or [], key=lambda f: f["id"])[0]


def vlan_of(fabric, vid):
    """The VLAN with ``vid`` on ``fabric`` (from its ``vlans``), or None."""
    for vlan in fabric.get("vlans") or []:
        if vlan["vid"] == vid:
            return vlan
    return None


def subnet_view(subnet, ranges=None):
    """A subnet as the modules show it; ``ranges`` (views) become its ``ip_ranges`` when given."""
    vlan = subnet.get("vlan") or {}
    view = {"id": subnet["id"], "cidr": subnet["cidr"], "name": subnet.get("name") or "",
            "description": subnet.get("description") or "", "gateway_ip": subnet.get("gateway_ip") or "",
            "dns_servers": list(subnet.get("dns_servers") or []), "managed": bool(subnet.get("managed", True)),
            "fabric": vlan.get("fabric") or "", "vlan": vlan.get("vid"), "vlan_id": vlan.get("id")}
    if ranges is not None:
        view["ip_ranges"] = ranges
    return view


def find_network(subnet):
    """A MAAS subnet's CIDR as an ``ip_network`` (None if MAAS ever sent something else)."""
    try:
        return ipaddress.ip_network(subnet["cidr"], strict=False)
    except ValueError:
        return None


def find_subnet(client, network):
    """The MAAS subnet whose CIDR is ``network``, or None."""
    for subnet in client.get("subnets/") or []:
        if find_network(subnet) == network:
            return subnet
    return None


def range_view(iprange):
    """An IP range as the modules show it."""
    return {"type": iprange["type"], "start_ip": iprange["start_ip"], "end_ip": iprange["end_ip"],
            "comment": iprange.get("comment") or ""}


def ranges_by_subnet(client):
    """Every IP range, grouped by subnet id, sorted by start address: ``{subnet_id: [(id, view), ...]}``."""
    grouped = {}
    for iprange in client.get("ipranges/") or []:
        subnet = iprange.get("subnet")
        subnet_id = subnet.get("id") if isinstance(subnet, dict) else subnet
        grouped.setdefault(subnet_id, []).append((iprange["id"], range_view(iprange)))
    for items in grouped.values():
        items.sort(key=lambda pair: range_order(pair[1]))
    return grouped


def rack_controllers(client):
    """``{system_id: rack}`` of every rack controller, with ``hostname`` and ``vids`` (VIDs of its interfaces)."""
    racks = {}
    for rack in client.get("rackcontrollers/") or []:
        vids = set()
        for nic in rack.get("interface_set") or []:
            if isinstance(nic.get("vlan"), dict):
                vids.add(nic["vlan"].get("vid"))
        racks[rack["system_id"]] = {"system_id": rack["system_id"], "hostname": rack.get("hostname") or "",
                                    "vids": vids}
    return racks


def resolve_rack(racks, key, vid, field):
    """The system_id of the rack controller ``key`` (system_id or hostname) that can serve VID ``vid``; "" for ""."""
    if key == "":
        return ""
    for rack in racks.values():
        if key in (rack["system_id"], rack["hostname"]):
            if vid not in rack["vids"]:
                raise BadInput(field, "rack controller %s has no interface on VID %d, so MAAS will not let it serve "
                                      "this VLAN." % (key, vid))
            return rack["system_id"]
    raise BadInput(field, "MAAS has no rack controller %s; it has: %s."
                   % (key, ", ".join("%s (%s)" % (r["system_id"], r["hostname"]) for r in racks.values()) or "none"))


def vlan_has_dynamic_range(client, vlan_id):
    """Whether a subnet on the VLAN ``vlan_id`` has a dynamic IP range (MAAS's condition for DHCP)."""
    subnet_ids = set(s["id"] for s in client.get("subnets/") or [] if (s.get("vlan") or {}).get("id") == vlan_id)
    grouped = ranges_by_subnet(client)
    return any(view["type"] == "dynamic" for sid in subnet_ids for _id, view in grouped.get(sid, []))


# -- IP range reconciliation ------------------------------------------------------------------------------------

def plan_ranges(current, desired):
    """How to turn ``current`` ranges (``[(id, view)]``) into ``desired`` (views): ``(delete, update, create)``.

    A range with the same type and bounds is kept (its comment updated when it differs); a left-over range of the
    same type is moved to a new range's bounds (so a VLAN serving DHCP keeps a dynamic range throughout); the rest
    are deleted or created. ``update`` holds ``(id, fields)``; deletions run first, then updates, then creations.
    """
    def key(view):
        return (view["type"], view["start_ip"], view["end_ip"])
    wanted = dict((key(view), view) for view in desired)
    update, spare = [], []
    for range_id, view in current:
        target = wanted.pop(key(view), None)
        if target is None:
            spare.append((range_id, view))
        elif target["comment"] != view["comment"]:
            update.append((range_id, {"comment": target["comment"]}))
    create = [view for view in desired if key(view) in wanted]
    delete = []
    for range_id, view in spare:
        match = next((new for new in create if new["type"] == view["type"]), None)
        if match is None:
            delete.append(range_id)
            continue
        create.remove(match)
        update.append((range_id, dict((k, match[k]) for k in ("start_ip", "end_ip", "comment"))))
    return delete, update, create


def apply_ranges(client, subnet_id, current, desired):
    """Make the subnet's IP ranges ``desired``; returns True when anything was written."""
    delete, update, create = plan_ranges(current, desired)
    for range_id in delete:
        client.delete("ipranges/%d/" % range_id)
    for range_id, fields in update:
        client.put("ipranges/%d/" % range_id, data=fields)
    # Reserved ranges first: on an unmanaged subnet a dynamic range needs its reserved range to exist.
    for view in sorted(create, key=lambda v: v["type"] != "reserved"):
        client.post("ipranges/", data=dict(view, subnet=subnet_id))
    return bool(delete or update or create)
