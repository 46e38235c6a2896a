"""Fabrics, VLANs, subnets, IP ranges and DHCP as ``maas_subnet``, ``maas_vlan`` and ``maas_subnet_info`` use them.

Everything happens on a fabric of this run (``gough-contract-<run id>-fab<n>``) with a subnet in 198.18.0.0/15 (the
benchmarking range), removed at the end; DHCP is never turned on, only its refusals are checked.
"""

import pytest

from conftest import MAASError


@pytest.fixture(scope="module")
def network(client, run):
    """A fabric of this run, its untagged VLAN and a /24 subnet on it; all deleted after the module."""
    fabric = client.post("fabrics/", data={"name": run.name("fab")})
    vlan = [v for v in fabric["vlans"] if v["vid"] == 0][0]
    cidr = "198.18.%d.0/24" % (int(run.id, 16) % 250)
    subnet = client.post("subnets/", data={"cidr": cidr, "vlan": vlan["id"], "gateway_ip": cidr[:-4] + "1",
                                           "dns_servers": cidr[:-4] + "2", "name": run.name("net")})
    try:
        yield {"fabric": fabric, "vlan": vlan, "subnet": subnet, "prefix": cidr[:-4]}
    finally:
        for iprange in client.get("ipranges/"):
            if iprange["subnet"]["id"] == subnet["id"]:
                client.delete("ipranges/%d/" % iprange["id"])
        client.delete("subnets/%d/" % subnet["id"])
        client.delete("fabrics/%d/" % fabric["id"])


def ranges_of(client, subnet):
    return [r for r in client.get("ipranges/") if r["subnet"]["id"] == subnet["id"]]


def form_error(call):
    with pytest.raises(MAASError) as caught:
        call()
    assert caught.value.status == 400, caught.value
    return caught.value.field_errors


def test_subnet_and_vlan_have_the_fields_the_modules_read(client, network):
    """A subnet shows cidr, name, gateway_ip, dns_servers, managed and its VLAN nested with fabric_id and vid; a VLAN
    shows mtu, dhcp_on, primary_rack, secondary_rack and relay_vlan."""
    subnet = client.get("subnets/%d/" % network["subnet"]["id"])
    assert subnet["cidr"] == network["prefix"] + "0/24" and subnet["gateway_ip"] == network["prefix"] + "1"
    assert subnet["dns_servers"] == [network["prefix"] + "2"] and subnet["managed"] is True
    assert subnet["vlan"]["fabric_id"] == network["fabric"]["id"] and subnet["vlan"]["vid"] == 0
    vlan = client.get("fabrics/%d/vlans/0/" % network["fabric"]["id"])
    for key in ("mtu", "dhcp_on", "primary_rack", "secondary_rack", "relay_vlan", "name", "fabric_id", "id"):
        assert key in vlan
    assert vlan["dhcp_on"] is False and vlan["mtu"] == 1500


def test_iprange_lifecycle(client, network):
    """``POST ipranges/`` creates a range (its subnet nested), ``PUT`` changes comment and bounds, ``DELETE`` removes
    it."""
    prefix, subnet = network["prefix"], network["subnet"]
    made = client.post("ipranges/", data={"type": "reserved", "start_ip": prefix + "10", "end_ip": prefix + "19",
                                          "subnet": subnet["id"], "comment": "contract"})
    assert made["type"] == "reserved" and made["subnet"]["id"] == subnet["id"] and made["comment"] == "contract"
    changed = client.put("ipranges/%d/" % made["id"], data={"end_ip": prefix + "29", "comment": "wider"})
    assert changed["end_ip"] == prefix + "29" and changed["comment"] == "wider"
    assert [r["id"] for r in ranges_of(client, subnet)] == [made["id"]]
    client.delete("ipranges/%d/" % made["id"])
    assert ranges_of(client, subnet) == []


def test_overlapping_and_outside_ranges_are_400_naming_start_and_end(client, network):
    """MAAS refuses a range over another range, over the gateway (dynamic), or outside the subnet, with errors on
    ``start_ip`` and ``end_ip``."""
    prefix, subnet = network["prefix"], network["subnet"]
    dynamic = client.post("ipranges/", data={"type": "dynamic", "start_ip": prefix + "100", "end_ip": prefix + "199",
                                             "subnet": subnet["id"]})
    try:
        errors = form_error(lambda: client.post("ipranges/", data={
            "type": "reserved", "start_ip": prefix + "150", "end_ip": prefix + "210", "subnet": subnet["id"]}))
        assert errors["start_ip"] == ["Requested reserved range conflicts with an existing range."]
        errors = form_error(lambda: client.post("ipranges/", data={
            "type": "dynamic", "start_ip": prefix + "1", "end_ip": prefix + "9", "subnet": subnet["id"]}))
        assert errors["end_ip"] == ["Requested dynamic range conflicts with an existing IP address or range."]
        errors = form_error(lambda: client.post("ipranges/", data={
            "type": "reserved", "start_ip": "192.0.2.10", "end_ip": "192.0.2.20", "subnet": subnet["id"]}))
        assert errors["start_ip"] == ["IP addresses must be within subnet: %s." % subnet["cidr"]]
        errors = form_error(lambda: client.post("ipranges/", data={
            "type": "reserved", "start_ip": prefix + "50", "end_ip": prefix + "40", "subnet": subnet["id"]}))
        assert errors == {"end_ip": ["End IP address must not be less than Start IP address."]}
    finally:
        client.delete("ipranges/%d/" % dynamic["id"])


def test_dhcp_without_a_dynamic_range_is_refused(client, network):
    """``dhcp_on`` needs a dynamic range on a subnet of the VLAN: 400 on the ``dhcp_on`` field."""
    errors = form_error(lambda: client.put("vlans/%d/" % network["vlan"]["id"], data={"dhcp_on": True}))
    assert errors == {"dhcp_on": ["dhcp can only be turned on when a dynamic IP range is defined."]}


def test_dhcp_without_a_primary_rack_is_refused(client, network):
    """With a dynamic range but no primary rack controller, ``dhcp_on`` is a non-field 400 error."""
    prefix, subnet = network["prefix"], network["subnet"]
    dynamic = client.post("ipranges/", data={"type": "dynamic", "start_ip": prefix + "100", "end_ip": prefix + "199",
                                             "subnet": subnet["id"]})
    try:
        errors = form_error(lambda: client.put("vlans/%d/" % network["vlan"]["id"], data={"dhcp_on": True}))
        assert errors == {"__all__": ["dhcp can only be turned on when a primary rack controller is set."]}
        assert client.get("vlans/%d/" % network["vlan"]["id"])["dhcp_on"] is False
    finally:
        client.delete("ipranges/%d/" % dynamic["id"])


def test_vlan_mtu_below_552_is_refused(client, network):
    """VLAN MTUs start at 552."""
    errors = form_error(lambda: client.put("vlans/%d/" % network["vlan"]["id"], data={"mtu": 500}))
    assert errors == {"mtu": ["Ensure this value is greater than or equal to 552."]}


def test_rackcontrollers_lists_system_ids(client):
    """``GET rackcontrollers/``: each rack controller with its system_id and node type (rack, or region and rack)."""
    racks = client.get("rackcontrollers/")
    assert racks, "MAAS has no rack controller"
    for rack in racks:
        assert rack["system_id"] and rack["node_type"] in (2, 4)
