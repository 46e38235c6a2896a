"""Networks: fabrics, VLANs, subnets, IP ranges and the rack controllers, with MAAS 3.5's validation and texts.

The rules follow MAAS 3.5's models and forms (``VLANForm``, ``VLAN.clean``, ``SubnetForm``, ``Subnet.delete``,
``IPRange.clean`` with ``Subnet.get_ipranges_available_for_*_range``); each has a test in
tests/unit/lab/test_maas_network.py naming the behaviour it mirrors.
"""

import ipaddress
import re

from .api import Handler, Reply, json_reply
from .errors import APIError, admin_only, bad_request, forbidden, form_errors, not_found
from .render import API, by_key, fabric_json, subnet_json, user_json, vlan_json

# The lab region is one region+rack controller, connected to the untagged VLAN (VID 0) of fabric-0.
LAB_RACK = {"system_id": "r4ckid", "hostname": "gough-lab-maas", "vids": (0,), "interface_vlan_id": 5001}
IPRANGE_TYPES = ("dynamic", "reserved")
INVALID_MODEL_CHOICE = "Select a valid choice. That choice is not one of the available choices."
IP_SPLIT = re.compile(r"[,\s]+")


def _require_admin(call):
    if not call.is_admin:
        raise admin_only()


def _next_id(table, start=1):
    return max(list(table) + [start - 1]) + 1


def _deleted():
    return Reply(204, b"", "text/plain; charset=utf-8")


def _ip(text):
    """``text`` as an address, or None when it is not one."""
    try:
        return ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------------------
# rack controllers
def racks(region):
    """The rack controllers of the lab region (one region+rack controller)."""
    del region
    return [LAB_RACK]


def rack_for(region, key, vid):
    """The rack controller named ``key`` (system_id or hostname) connected to a VLAN with ``vid``, or None.

    MAAS's VLANForm offers only ``RackController.objects.filter_by_vids([vlan.vid])``.
    """
    for rack in racks(region):
        if key in (rack["system_id"], rack["hostname"]) and vid in rack["vids"]:
            return rack
    return None


def rack_json(region, rack):
    """A rack controller as ``rackcontrollers/`` shows it (the fields Gough and libmaas read)."""
    vlan = region.vlans.get(rack["interface_vlan_id"])
    nic_vlan = _vlan_out(region, vlan) if vlan else None
    return {"system_id": rack["system_id"], "hostname": rack["hostname"], "fqdn": rack["hostname"] + ".maas",
            "description": "", "domain": {"id": 0, "name": "maas"}, "architecture": "amd64/generic",
            "node_type": 4, "node_type_name": "Region and rack controller", "version": region.version_string,
            "osystem": "ubuntu", "distro_series": "noble", "power_type": "", "power_state": "unknown",
            "zone": {"id": 1, "name": "default"}, "status_action": "",
            "interface_set": [{"id": 1, "name": "eth0", "type": "physical", "enabled": True, "vlan": nic_vlan,
                               "links": []}],
            "ip_addresses": [],
            "service_set": [{"name": "rackd", "status": "running", "status_info": ""},
                            {"name": "dhcpd", "status": "running" if _serves_dhcp(region, rack) else "off",
                             "status_info": ""}],
            "resource_uri": API + "rackcontrollers/%s/" % rack["system_id"]}


def _serves_dhcp(region, rack):
    return any(v["dhcp_on"] and rack["system_id"] in (v.get("primary_rack"), v.get("secondary_rack"))
               for v in region.vlans.values())


def list_racks(call):
    """Every rack controller."""
    region = call.region
    with region.lock:
        return json_reply([rack_json(region, r) for r in racks(region)])


def read_rack(call):
    """One rack controller by system_id."""
    region = call.region
    with region.lock:
        for rack in racks(region):
            if rack["system_id"] == call.args["system_id"]:
                return json_reply(rack_json(region, rack))
    raise not_found("RackController")


# ---------------------------------------------------------------------------------------------------------------
# fabrics
def _fabric_json(region, fabric):
    vlans = [_vlan_out(region, v) for v in by_key(region.vlans) if v["fabric_id"] == fabric["id"]]
    return fabric_json(fabric, vlans)


def _fabric(call, key="id"):
    fabric = call.region.fabric_by_key(call.args[key])
    if fabric is None:
        raise not_found("Fabric")
    return fabric


def list_fabrics(call):
    """Every fabric with its VLANs."""
    region = call.region
    with region.lock:
        return json_reply([_fabric_json(region, f) for f in by_key(region.fabrics)])


def create_fabric(call):
    """Create a fabric with its untagged VLAN (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        fabric_id = _next_id(region.fabrics, 0)
        fabric = {"id": fabric_id, "name": call.params.get("name") or "fabric-%d" % fabric_id,
                  "class_type": call.params.get("class_type")}
        region.fabrics[fabric_id] = fabric
        region.store.save_object("fabric", fabric)
        vlan = {"id": _next_id(region.vlans, 5001), "vid": 0, "name": "untagged", "fabric_id": fabric_id, "mtu": 1500,
                "dhcp_on": False, "relay_vlan": None, "space": None, "primary_rack": None, "secondary_rack": None,
                "description": ""}
        region.vlans[vlan["id"]] = vlan
        region.store.save_object("vlan", vlan)
        return json_reply(_fabric_json(region, fabric))


def read_fabric(call):
    """One fabric."""
    with call.region.lock:
        return json_reply(_fabric_json(call.region, _fabric(call)))


def update_fabric(call):
    """Rename a fabric (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        fabric = _fabric(call)
        if call.params.get("name"):
            fabric["name"] = call.params.get("name")
        if "class_type" in call.params:
            fabric["class_type"] = call.params.get("class_type") or None
        region.store.save_object("fabric", fabric)
        region.invalidate_all()
        return json_reply(_fabric_json(region, fabric))


def delete_fabric(call):
    """Delete a fabric that no interface uses (admin)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        fabric = _fabric(call)
        vlan_ids = {v["id"] for v in region.vlans.values() if v["fabric_id"] == fabric["id"]}
        if fabric["id"] == 0 or any(nic.get("vlan_id") in vlan_ids for m in region.machines.values()
                                    for nic in m["interfaces"]):
            raise bad_request("Can't delete fabric; it has interfaces or is the default fabric.")
        for subnet in [s for s in region.subnets.values() if s["vlan_id"] in vlan_ids]:
            _drop_subnet(region, subnet)
        for vlan_id in vlan_ids:
            del region.vlans[vlan_id]
            region.store.delete_object("vlan", vlan_id)
        del region.fabrics[fabric["id"]]
        region.store.delete_object("fabric", fabric["id"])
        return _deleted()


# ---------------------------------------------------------------------------------------------------------------
# VLANs
def _vlan_out(region, vlan, depth=0):
    """A VLAN as MAAS renders it: the fabric's default VLAN is named ``untagged``; ``relay_vlan`` is the relay
    VLAN's object (piston renders the foreign key with the VLAN handler's fields)."""
    relay = region.vlans.get(vlan.get("relay_vlan")) if vlan.get("relay_vlan") is not None else None
    relay_out = _vlan_out(region, relay, depth + 1) if relay is not None and depth == 0 else None
    return vlan_json(vlan, region.fabrics[vlan["fabric_id"]], relay_out)


def _vlan(call):
    region = call.region
    if "fabric_id" in call.args:
        fabric = _fabric(call, "fabric_id")
        for vlan in region.vlans.values():
            if vlan["fabric_id"] == fabric["id"] and str(vlan["vid"]) == call.args["vid"]:
                return vlan
        raise not_found("VLAN")
    vlan = region.vlans.get(int(call.args["vlan_id"])) if call.args["vlan_id"].isdigit() else None
    if vlan is None:
        raise APIError(404, "VLAN with specified ID does not exist.")
    return vlan


def list_vlans(call):
    """The VLANs of a fabric."""
    region = call.region
    with region.lock:
        fabric = _fabric(call, "fabric_id")
        return json_reply([_vlan_out(region, v) for v in by_key(region.vlans) if v["fabric_id"] == fabric["id"]])


def _vid_errors(region, fabric_id, vid, except_id=None):
    """MAAS's VLAN.clean_vid and its (vid, fabric) uniqueness message."""
    if vid is None or not 0 <= vid <= 4094:
        return {"vid": ["VID must be between 0 and 4094."]}
    if any(v["fabric_id"] == fabric_id and v["vid"] == vid and v["id"] != except_id for v in region.vlans.values()):
        return {"__all__": ["A VLAN with the specified VID already exists in the destination fabric."]}
    return {}


def _mtu(params, errors, default):
    """The ``mtu`` field: VLANForm's IntegerField(min_value=552), then VLAN.clean_mtu's upper bound."""
    if "mtu" not in params or params.get("mtu") == "":
        return default
    try:
        mtu = int(params.get("mtu"))
    except ValueError:
        errors["mtu"] = ["Enter a whole number."]
        return default
    if mtu < 552:
        errors["mtu"] = ["Ensure this value is greater than or equal to 552."]
    elif mtu > 65535:
        errors["mtu"] = ["MTU must be between 552 and 65535."]
    return mtu


def create_vlan(call):
    """Create a VLAN on a fabric (admin)."""
    _require_admin(call)
    region = call.region
    params = call.params
    with region.lock:
        fabric = _fabric(call, "fabric_id")
        errors = {}
        try:
            vid = int(params.get("vid")) if params.get("vid") not in (None, "") else None
        except ValueError:
            errors["vid"] = ["Enter a whole number."]
            vid = None
        if params.get("vid") in (None, ""):
            errors["vid"] = ["This field is required."]
        mtu = _mtu(params, errors, 1500)
        if not errors:
            errors.update(_vid_errors(region, fabric["id"], vid))
        if errors:
            raise form_errors(errors)
        vlan = {"id": _next_id(region.vlans, 5001), "vid": vid, "name": params.get("name") or None,
                "description": params.get("description") or "", "fabric_id": fabric["id"], "mtu": mtu,
                "dhcp_on": False, "relay_vlan": None, "space": params.get("space") or None, "primary_rack": None,
                "secondary_rack": None}
        region.vlans[vlan["id"]] = vlan
        region.store.save_object("vlan", vlan)
        return json_reply(_vlan_out(region, vlan))


def read_vlan(call):
    """One VLAN."""
    region = call.region
    with region.lock:
        return json_reply(_vlan_out(region, _vlan(call)))


def dynamic_addresses(region, cidr):
    """The addresses of the dynamic ranges of the subnet ``cidr`` (an IPv4 network; none when MAAS has no such
    subnet), in order: where a machine booting on that network gets its address from MAAS's DHCP."""
    try:
        wanted = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return
    for subnet in sorted(region.subnets.values(), key=lambda s: s["id"]):
        if ipaddress.ip_network(subnet["cidr"], strict=False) != wanted:
            continue
        for iprange in sorted((r for r in region.ipranges.values()
                               if r["subnet_id"] == subnet["id"] and r["type"] == "dynamic"),
                              key=lambda r: ipaddress.ip_address(r["start_ip"])):
            start, end = int(ipaddress.ip_address(iprange["start_ip"])), int(ipaddress.ip_address(iprange["end_ip"]))
            for value in range(start, end + 1):
                yield str(ipaddress.ip_address(value))


def has_dynamic_range(region, vlan):
    """Whether a subnet of ``vlan`` has a dynamic IP range (VLANForm.clean_dhcp_on's condition)."""
    subnet_ids = {s["id"] for s in region.subnets.values() if s["vlan_id"] == vlan["id"]}
    return any(r["type"] == "dynamic" and r["subnet_id"] in subnet_ids for r in region.ipranges.values())


def _rack_field(region, vlan, params, name, errors):
    """A primary_rack/secondary_rack value: "" clears it; else a rack on the VLAN's VID (NodeChoiceField)."""
    if name not in params:
        return vlan.get(name)
    value = params.get(name) or ""
    if not value:
        return None
    rack = rack_for(region, value, vlan["vid"])
    if rack is None:
        errors[name] = ["Select a valid choice. %s is not one of the available choices." % value]
        return vlan.get(name)
    return rack["system_id"]


def _relay_field(region, vlan, params, errors):
    """relay_vlan: a VLAN id among VLANs that relay nowhere themselves, not this VLAN; none while DHCP is on
    (only the current relay stays valid) -- VLANForm._set_up_relay_vlan."""
    if "relay_vlan" not in params:
        return vlan.get("relay_vlan")
    value = params.get("relay_vlan") or ""
    if not value:
        return None
    target = region.vlans.get(int(value)) if value.isdigit() else None
    if vlan["dhcp_on"]:
        allowed = target is not None and target["id"] == vlan.get("relay_vlan")
    else:
        allowed = target is not None and target.get("relay_vlan") is None and target["id"] != vlan["id"]
    if not allowed:
        errors["relay_vlan"] = [INVALID_MODEL_CHOICE]
        return vlan.get("relay_vlan")
    return target["id"]


def _rack_rules(vlan, primary, secondary, dhcp_on):
    """VLANForm.clean: promote the secondary, refuse a duplicate, and need a primary for DHCP; returns
    (primary, secondary, error text or None)."""
    if not primary and vlan.get("secondary_rack"):
        primary, secondary = vlan["secondary_rack"], None
    if primary and primary == vlan.get("secondary_rack"):
        secondary = None
    if secondary and secondary == vlan.get("primary_rack"):
        return primary, secondary, "%s is already set as the primary rack controller" % secondary
    if primary and secondary and primary == secondary:
        return primary, secondary, "The primary and secondary rack must be different"
    if dhcp_on and not primary and not vlan.get("primary_rack"):
        return primary, secondary, "dhcp can only be turned on when a primary rack controller is set."
    return primary, secondary, None


def update_vlan(call):
    """Change a VLAN (admin): name, description, vid, mtu, dhcp_on, primary_rack, secondary_rack, relay_vlan,
    space -- validated as MAAS's VLANForm does, all fields before anything is saved."""
    _require_admin(call)
    region = call.region
    params = call.params
    with region.lock:
        vlan = _vlan(call)
        errors = {}
        vid = vlan["vid"]
        if "vid" in params:
            vid = params.int("vid")
            errors.update(_vid_errors(region, vlan["fabric_id"], vid, vlan["id"]))
        mtu = _mtu(params, errors, vlan["mtu"])
        dhcp_on = params.bool("dhcp_on") if "dhcp_on" in params else vlan["dhcp_on"]
        if dhcp_on and not has_dynamic_range(region, vlan):
            errors["dhcp_on"] = ["dhcp can only be turned on when a dynamic IP range is defined."]
        primary = _rack_field(region, vlan, params, "primary_rack", errors)
        secondary = _rack_field(region, vlan, params, "secondary_rack", errors)
        relay = _relay_field(region, vlan, params, errors)
        primary, secondary, problem = _rack_rules(vlan, primary, secondary, dhcp_on and "dhcp_on" not in errors)
        if problem:
            errors["__all__"] = [problem]
        if errors:
            raise form_errors(errors)
        if "name" in params:
            vlan["name"] = params.get("name") or None
        if "description" in params:
            vlan["description"] = params.get("description") or ""
        if "space" in params:
            space = params.get("space") or None
            vlan["space"] = None if space == "undefined" else space
        vlan.update(vid=vid, mtu=mtu, dhcp_on=dhcp_on, primary_rack=primary, secondary_rack=secondary,
                    relay_vlan=None if dhcp_on else relay)
        region.store.save_object("vlan", vlan)
        region.invalidate_all()
        return json_reply(_vlan_out(region, vlan))


def delete_vlan(call):
    """Delete a VLAN (admin); the fabric's default VLAN cannot go, subnets move to it (VLAN.delete)."""
    _require_admin(call)
    region = call.region
    with region.lock:
        vlan = _vlan(call)
        default = min(v["id"] for v in region.vlans.values() if v["fabric_id"] == vlan["fabric_id"])
        if vlan["id"] == default:
            raise bad_request("This VLAN is the default VLAN in the fabric, it cannot be deleted.")
        for subnet in region.subnets.values():
            if subnet["vlan_id"] == vlan["id"]:
                subnet["vlan_id"] = default
                region.store.save_object("subnet", subnet)
        for other in region.vlans.values():
            if other.get("relay_vlan") == vlan["id"]:
                other["relay_vlan"] = None
                region.store.save_object("vlan", other)
        del region.vlans[vlan["id"]]
        region.store.delete_object("vlan", vlan["id"])
        region.invalidate_all()
        return _deleted()


# ---------------------------------------------------------------------------------------------------------------
# subnets
def _subnet(call):
    subnet = call.region.subnet_by_key(call.args["id"])
    if subnet is None:
        raise not_found("Subnet")
    return subnet


def _subnet_out(region, subnet):
    return subnet_json(subnet, _vlan_out(region, region.vlans[subnet["vlan_id"]]))


def list_subnets(call):
    """Every subnet."""
    region = call.region
    with region.lock:
        return json_reply([_subnet_out(region, s) for s in by_key(region.subnets)])


def _network(cidr):
    """``cidr`` as a network (host bits allowed, as netaddr's IPNetwork), or None."""
    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return None


def _cidr_errors(cidr):
    """SubnetForm.clean_cidr."""
    if not cidr:
        return ["This field is required."]
    network = _network(cidr) if "/" in cidr else None
    if network is None:
        return ["Required format: <network>/<prefixlen>."]
    if network.prefixlen == 0:
        return ["Prefix length must be greater than 0."]
    return []


def _dns_servers(params, errors):
    """SubnetForm._clean_dns_servers with IPListFormField's text for a bad address."""
    servers = []
    for value in params.getlist("dns_servers"):
        for item in [i for i in IP_SPLIT.split(value) if i]:
            if _ip(item) is None:
                errors["dns_servers"] = ["Invalid IP address: %s; provide a list of space-separated IP addresses"
                                         % item]
                return []
            servers.append(item)
    return servers


def _gateway_errors(gateway, cidr):
    """Subnet.validate_gateway_ip: inside the CIDR, or IPv6 link-local on an IPv6 subnet."""
    if not gateway:
        return []
    address, network = _ip(gateway), _network(cidr)
    if address is None:
        return ["Enter a valid IPv4 or IPv6 address."]
    if network is None or address.version != network.version:
        return ["Gateway IP must be within CIDR range."]
    if address in network or (network.version == 6 and address.is_link_local):
        return []
    return ["Gateway IP must be within CIDR range."]


def _create_vlan_for(region, params, errors):
    """SubnetForm._clean_vlan: vlan (id), else fabric and vid, else the default fabric's VLAN with that vid."""
    vlan_key, fabric_key, vid = params.get("vlan"), params.get("fabric"), params.get("vid")
    vlan = None
    if vlan_key:
        vlan = region.vlans.get(int(vlan_key)) if vlan_key.isdigit() else None
        if vlan is None:
            errors["vlan"] = [INVALID_MODEL_CHOICE]
            return None
    fabric = None
    if fabric_key:
        fabric = region.fabrics.get(int(fabric_key)) if fabric_key.isdigit() else None
        if fabric is None:
            errors["fabric"] = [INVALID_MODEL_CHOICE]
            return None
    if vid and not vid.isdigit():
        errors["vid"] = ["Enter a whole number."]
        return None
    if vlan is not None:
        if fabric is not None and vlan["fabric_id"] != fabric["id"]:
            errors["vlan"] = ["VLAN %s is not in fabric %s." % (_vlan_label(region, vlan), fabric["name"])]
        return vlan
    fabric = fabric or region.fabrics[0]
    wanted = int(vid) if vid else 0
    for candidate in by_key(region.vlans):
        if candidate["fabric_id"] == fabric["id"] and candidate["vid"] == wanted:
            return candidate
    if fabric_key:
        errors["vid"] = ["No VLAN with vid %s in fabric %s." % (vid, fabric["name"])]
    else:
        errors["vid"] = ["No VLAN with vid %s in default fabric." % vid]
    return None


def _vlan_label(region, vlan):
    """str(VLAN) in MAAS: ``<fabric name>.<vlan name>``."""
    name = "untagged" if vlan["vid"] == 0 else vlan.get("name")
    return "%s.%s" % (region.fabrics[vlan["fabric_id"]]["name"], name)


def create_subnet(call):
    """Create a subnet (admin): cidr, name, description, vlan or fabric/vid, gateway_ip, dns_servers, managed."""
    _require_admin(call)
    region = call.region
    params = call.params
    with region.lock:
        errors = {}
        cidr = params.get("cidr") or ""
        cidr_errors = _cidr_errors(cidr)
        if cidr_errors:
            errors["cidr"] = cidr_errors
        else:
            cidr = str(_network(cidr))
            if any(other["cidr"] == cidr for other in region.subnets.values()):
                errors["cidr"] = ["Subnet with this Cidr already exists."]
        vlan = _create_vlan_for(region, params, errors)
        dns = _dns_servers(params, errors)
        gateway = params.get("gateway_ip") or None
        if "cidr" not in errors and _gateway_errors(gateway, cidr):
            errors["gateway_ip"] = _gateway_errors(gateway, cidr)
        managed = params.bool("managed", True) if "managed" in params else True
        if errors:
            raise form_errors(errors)
        subnet = {"id": _next_id(region.subnets), "name": params.get("name") or cidr, "cidr": cidr,
                  "vlan_id": vlan["id"], "gateway_ip": gateway, "dns_servers": dns,
                  "description": params.get("description") or "", "managed": managed}
        region.subnets[subnet["id"]] = subnet
        region.store.save_object("subnet", subnet)
        return json_reply(_subnet_out(region, subnet))


def read_subnet(call):
    """One subnet, by id, name or CIDR."""
    with call.region.lock:
        return json_reply(_subnet_out(call.region, _subnet(call)))


def update_subnet(call):
    """Change a subnet (admin): name, description, vlan, gateway_ip, dns_servers, managed."""
    _require_admin(call)
    region = call.region
    params = call.params
    with region.lock:
        subnet = _subnet(call)
        errors = {}
        vlan_id = subnet["vlan_id"]
        if params.get("vlan"):
            key = params.get("vlan")
            if not key.isdigit() or int(key) not in region.vlans:
                errors["vlan"] = [INVALID_MODEL_CHOICE]
            else:
                vlan_id = int(key)
        gateway = (params.get("gateway_ip") or None) if "gateway_ip" in params else subnet.get("gateway_ip")
        if _gateway_errors(gateway, subnet["cidr"]):
            errors["gateway_ip"] = _gateway_errors(gateway, subnet["cidr"])
        dns = _dns_servers(params, errors) if "dns_servers" in params else subnet.get("dns_servers", [])
        managed = params.bool("managed") if "managed" in params else subnet.get("managed", True)
        if errors:
            raise form_errors(errors)
        if "name" in params:
            subnet["name"] = params.get("name") or subnet["cidr"]
        if "description" in params:
            subnet["description"] = params.get("description") or ""
        subnet.update(vlan_id=vlan_id, gateway_ip=gateway, dns_servers=dns, managed=managed)
        region.store.save_object("subnet", subnet)
        region.invalidate_all()
        return json_reply(_subnet_out(region, subnet))


def _drop_subnet(region, subnet):
    for iprange in [r for r in region.ipranges.values() if r["subnet_id"] == subnet["id"]]:
        del region.ipranges[iprange["id"]]
        region.store.delete_object("iprange", iprange["id"])
    del region.subnets[subnet["id"]]
    region.store.delete_object("subnet", subnet["id"])


def delete_subnet(call):
    """Delete a subnet (admin); not while it serves a dynamic range with DHCP on, nor while machines link to it."""
    _require_admin(call)
    region = call.region
    with region.lock:
        subnet = _subnet(call)
        vlan = region.vlans[subnet["vlan_id"]]
        if vlan["dhcp_on"] and any(r["subnet_id"] == subnet["id"] and r["type"] == "dynamic"
                                   for r in region.ipranges.values()):
            raise bad_request("Cannot delete a subnet that is actively servicing a dynamic IP range. (Delete the "
                              "dynamic range or disable DHCP first.)")
        if any(link.get("subnet_id") == subnet["id"] for m in region.machines.values() for nic in m["interfaces"]
               for link in nic["links"]):
            raise bad_request("Can't delete subnet; interfaces are linked to it.")
        _drop_subnet(region, subnet)
        return _deleted()


def subnet_statistics(call):
    """Address usage of a subnet."""
    region = call.region
    with region.lock:
        subnet = _subnet(call)
        prefix = int(subnet["cidr"].split("/")[1])
        total = 2 ** ((128 if ":" in subnet["cidr"] else 32) - prefix) - 2
        used = len(allocated_ips(region, subnet))
        return json_reply({"num_available": total - used, "largest_available": total - used, "num_unavailable": used,
                           "total_addresses": total, "usage": used / total if total else 0,
                           "usage_string": "%.0f%%" % (100.0 * used / total if total else 0),
                           "available_string": "%.0f%%" % (100.0 - 100.0 * used / total if total else 0),
                           "first_address": None, "last_address": None,
                           "ip_version": 6 if ":" in subnet["cidr"] else 4})


def allocated_ips(region, subnet):
    """The addresses machines hold on ``subnet`` (MAAS's allocated StaticIPAddresses)."""
    return {link["ip"] for m in region.machines.values() for nic in m["interfaces"] for link in nic["links"]
            if link.get("subnet_id") == subnet["id"] and link.get("ip")}


# ---------------------------------------------------------------------------------------------------------------
# IP ranges
def iprange_json(region, iprange):
    """An IP range with its subnet and user expanded (DISPLAYED_IPRANGE_FIELDS)."""
    user = region.users.get(iprange.get("user"))
    return {"id": iprange["id"], "type": iprange["type"], "start_ip": iprange["start_ip"],
            "end_ip": iprange["end_ip"], "comment": iprange.get("comment", ""),
            "user": user_json(user) if user else None,
            "subnet": _subnet_out(region, region.subnets[iprange["subnet_id"]]),
            "resource_uri": API + "ipranges/%d/" % iprange["id"]}


def _iprange(call):
    key = call.args["id"]
    iprange = call.region.ipranges.get(int(key)) if key.isdigit() else None
    if iprange is None:
        raise not_found("IPRange")
    return iprange


def list_ipranges(call):
    """Every IP range."""
    region = call.region
    with region.lock:
        return json_reply([iprange_json(region, r) for r in by_key(region.ipranges)])


def read_iprange(call):
    """One IP range."""
    region = call.region
    with region.lock:
        return json_reply(iprange_json(region, _iprange(call)))


def best_subnet_for(region, address):
    """The most specific subnet holding ``address`` (Subnet.objects.get_best_subnet_for_ip), or None."""
    best = None
    for subnet in region.subnets.values():
        network = _network(subnet["cidr"])
        if network is not None and network.version == address.version and address in network:
            if best is None or network.prefixlen > _network(best["cidr"]).prefixlen:
                best = subnet
    return best


def _both(message):
    return {"start_ip": [message], "end_ip": [message]}


def _merge(blocks):
    """Sorted, merged (first, last) integer intervals."""
    merged = []
    for first, last in sorted(blocks):
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _unused(network, used):
    """The free intervals of ``network`` around ``used`` (MAASIPSet.get_unused_ranges: the network address, and
    the broadcast address of IPv4 networks, are never free)."""
    first, last = int(network.network_address), int(network.broadcast_address)
    small = (network.version == 4 and network.prefixlen >= 31) or (network.version == 6 and network.prefixlen >= 127)
    if not small:
        first += 1
        if network.version == 4:
            last -= 1
    free, cursor = [], first
    for start, end in _merge(used):
        if start > cursor:
            free.append((cursor, min(start - 1, last)))
        cursor = max(cursor, end + 1)
    if cursor <= last:
        free.append((cursor, last))
    return [(a, b) for a, b in free if a <= b]


def _in_use(region, subnet, network, rtype, exclude_id, include_reserved=True):
    """Subnet.get_ipranges_in_use as the range checks call it: IPv6 reserved blocks, the other ranges, and for a
    dynamic range also the gateway, the DNS servers in the subnet and the allocated addresses."""
    used = []
    if network.version == 6:
        base = int(network.network_address)
        if network.prefixlen == 64:
            used.append((base + 1, base + 0xFFFFFFFF))
        if network.prefixlen < 127:
            used.append((base, base))
    if rtype == "dynamic":
        points = [subnet.get("gateway_ip")] + list(subnet.get("dns_servers") or []) + \
            sorted(allocated_ips(region, subnet))
        for point in points:
            address = _ip(point) if point else None
            if address is not None and address.version == network.version and address in network:
                used.append((int(address), int(address)))
    for other in region.ipranges.values():
        if other["subnet_id"] != subnet["id"] or other["id"] == exclude_id:
            continue
        if other["type"] == "reserved" and not include_reserved:
            continue
        used.append((int(_ip(other["start_ip"])), int(_ip(other["end_ip"]))))
    return used


def _available(region, subnet, network, rtype, exclude_id):
    """Subnet.get_ipranges_available_for_reserved_range / _for_dynamic_range: on an unmanaged subnet a dynamic
    range may only use the free addresses inside its reserved ranges."""
    used = _in_use(region, subnet, network, rtype, exclude_id)
    if subnet.get("managed", True) or rtype == "reserved":
        return _unused(network, used)
    outside_reserved = _unused(network, used)
    return _unused(network, _in_use(region, subnet, network, rtype, exclude_id, include_reserved=False)
                   + outside_reserved)


def iprange_errors(region, subnet, rtype, start, end, exclude_id=None):
    """IPRange.clean: the form errors for a range, or {} when it is valid (checks in MAAS's order)."""
    if start.version != end.version:
        return _both("Start IP address and end IP address must be in the same address family.")
    if end < start:
        return {"end_ip": ["End IP address must not be less than Start IP address."]}
    network = _network(subnet["cidr"])
    cidr = subnet["cidr"]
    inside = (start.version == network.version and start in network, end.version == network.version and end in network)
    if not any(inside):
        return _both("IP addresses must be within subnet: %s." % cidr)
    if not inside[0]:
        return {"start_ip": ["Start IP address must be within subnet: %s." % cidr]}
    if not inside[1]:
        return {"end_ip": ["End IP address must be within subnet: %s." % cidr]}
    if start == network.network_address:
        return {"start_ip": ["Reserved network address cannot be included in IP range."]}
    if network.version == 4 and end == network.broadcast_address:
        return {"end_ip": ["Broadcast address cannot be included in IP range."]}
    if start.version == 6 and rtype == "dynamic" and int(end) - int(start) + 1 < 256:
        return _both("IPv6 dynamic range must be at least 256 addresses in size.")
    free = _available(region, subnet, network, rtype, exclude_id)
    if not free:
        return _both("There is no room for any %s ranges on this subnet." % rtype)
    if any(a <= int(start) and int(end) <= b for a, b in free):
        return {}
    what = "range." if rtype == "reserved" else "IP address or range."
    return _both("Requested %s range conflicts with an existing %s" % (rtype, what))


def _range_fields(region, params, current, errors):
    """The form fields of a range: type, start_ip, end_ip, subnet, comment (current values for an update)."""
    current = current or {}
    rtype = params.get("type") if "type" in params else current.get("type")
    if not rtype:
        errors["type"] = ["This field is required."]
    elif rtype not in IPRANGE_TYPES:
        errors["type"] = ["Select a valid choice. %s is not one of the available choices." % rtype]
    ips = {}
    for field in ("start_ip", "end_ip"):
        value = params.get(field) if field in params else current.get(field)
        if not value:
            errors[field] = ["This field is required."]
        elif _ip(value) is None:
            errors[field] = ["Enter a valid IPv4 or IPv6 address."]
        else:
            ips[field] = _ip(value)
    subnet = region.subnets.get(current.get("subnet_id"))
    if params.get("subnet"):
        # A ModelChoiceField: the subnet's id only (not its name or CIDR).
        key = params.get("subnet")
        subnet = region.subnets.get(int(key)) if key.isdigit() else None
        if subnet is None:
            errors["subnet"] = [INVALID_MODEL_CHOICE]
    elif subnet is None and "start_ip" in ips:
        subnet = best_subnet_for(region, ips["start_ip"])
    if subnet is None and "subnet" not in errors:
        errors["subnet"] = ["This field is required."]
    comment = params.get("comment") if "comment" in params else current.get("comment", "")
    if comment and len(comment) > 255:
        errors["comment"] = ["Ensure this value has at most 255 characters (it has %d)." % len(comment)]
    return rtype, ips.get("start_ip"), ips.get("end_ip"), subnet, comment or ""


def create_iprange(call):
    """Create an IP range; dynamic ranges are for admins only (IPRangesHandler.create)."""
    region = call.region
    params = call.params
    if params.get("type") == "dynamic" and not call.is_admin:
        raise forbidden("Unable to create dynamic IP range. You don't have sufficient privileges.")
    with region.lock:
        errors = {}
        rtype, start, end, subnet, comment = _range_fields(region, params, None, errors)
        if not errors:
            errors = iprange_errors(region, subnet, rtype, start, end)
        if errors:
            raise form_errors(errors)
        iprange = {"id": _next_id(region.ipranges), "type": rtype, "start_ip": str(start), "end_ip": str(end),
                   "subnet_id": subnet["id"], "comment": comment, "user": call.user}
        region.ipranges[iprange["id"]] = iprange
        region.store.save_object("iprange", iprange)
        return json_reply(iprange_json(region, iprange))


def _check_owner(call, iprange):
    if not call.is_admin and iprange.get("user") != call.user:
        raise forbidden("Unable to modify IP range. You don't own the IP range.")


def update_iprange(call):
    """Change a range's start_ip, end_ip, comment (or type); only its owner or an admin may."""
    region = call.region
    with region.lock:
        iprange = _iprange(call)
        _check_owner(call, iprange)
        errors = {}
        rtype, start, end, subnet, comment = _range_fields(region, call.params, iprange, errors)
        if not errors:
            errors = iprange_errors(region, subnet, rtype, start, end, exclude_id=iprange["id"])
        if errors:
            raise form_errors(errors)
        iprange.update(type=rtype, start_ip=str(start), end_ip=str(end), subnet_id=subnet["id"], comment=comment)
        region.store.save_object("iprange", iprange)
        return json_reply(iprange_json(region, iprange))


def delete_iprange(call):
    """Delete a range; only its owner or an admin may."""
    region = call.region
    with region.lock:
        iprange = _iprange(call)
        _check_owner(call, iprange)
        del region.ipranges[iprange["id"]]
        region.store.delete_object("iprange", iprange["id"])
        return _deleted()


def network_handlers():
    """The network handlers, as (auth, anon) pairs for the routing table."""
    def make(name, path, params, doc, actions):
        handler = Handler(name, path, params, doc)
        for method, op, func in actions:
            handler.add(method, op, func)
        return handler

    crud = (("GET", None), ("PUT", None), ("DELETE", None))
    return [
        (make("FabricsHandler", "fabrics/", [], "Manage fabrics.",
              [("GET", None, list_fabrics), ("POST", None, create_fabric)]), None),
        (make("FabricHandler", "fabrics/{id}/", ["id"], "Manage a fabric.",
              [m + (f,) for m, f in zip(crud, (read_fabric, update_fabric, delete_fabric))]), None),
        (make("VlanByIdHandler", "vlans/{vlan_id}/", ["vlan_id"], "Manage a VLAN by its database id.",
              [m + (f,) for m, f in zip(crud, (read_vlan, update_vlan, delete_vlan))]), None),
        (make("VlansHandler", "fabrics/{fabric_id}/vlans/", ["fabric_id"], "Manage the VLANs of a fabric.",
              [("GET", None, list_vlans), ("POST", None, create_vlan)]), None),
        (make("VlanHandler", "fabrics/{fabric_id}/vlans/{vid}/", ["fabric_id", "vid"], "Manage a VLAN on a fabric.",
              [m + (f,) for m, f in zip(crud, (read_vlan, update_vlan, delete_vlan))]), None),
        (make("SubnetsHandler", "subnets/", [], "Manage subnets.",
              [("GET", None, list_subnets), ("POST", None, create_subnet)]), None),
        (make("SubnetHandler", "subnets/{id}/", ["id"], "Manage a subnet.",
              [m + (f,) for m, f in zip(crud, (read_subnet, update_subnet, delete_subnet))]
              + [("GET", "statistics", subnet_statistics)]), None),
        (make("IPRangesHandler", "ipranges/", [], "Manage IP ranges.",
              [("GET", None, list_ipranges), ("POST", None, create_iprange)]), None),
        (make("IPRangeHandler", "ipranges/{id}/", ["id"], "Manage IP range.",
              [m + (f,) for m, f in zip(crud, (read_iprange, update_iprange, delete_iprange))]), None),
        (make("RackControllersHandler", "rackcontrollers/", [], "Manage rack controllers.",
              [("GET", None, list_racks)]), None),
        (make("RackControllerHandler", "rackcontrollers/{system_id}/", ["system_id"], "Manage a rack controller.",
              [("GET", None, read_rack)]), None),
    ]
