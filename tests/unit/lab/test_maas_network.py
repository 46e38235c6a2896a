"""Fabrics, VLANs, subnets, IP ranges, DHCP and rack controllers: each rule is one of MAAS 3.5's (named in the test).

Sources of the rules: maasserver/models/iprange.py (IPRange.clean), models/subnet.py (get_ipranges_in_use,
validate_gateway_ip, delete), forms/subnet.py, forms/vlan.py (VLANForm), models/vlan.py, api/ipranges.py.
"""

import pytest


@pytest.fixture
def net(admin):
    """A subnet 10.30.0.0/24 (gateway .1, DNS .2) on a new VLAN 100 of fabric-0; returns (subnet, vlan)."""
    vlan = admin.post("fabrics/0/vlans/", {"vid": "100", "name": "storage"}).json()
    subnet = admin.post("subnets/", {"cidr": "10.30.0.0/24", "vlan": str(vlan["id"]), "gateway_ip": "10.30.0.1",
                                     "dns_servers": "10.30.0.2"}).json()
    return subnet, vlan


def rng(admin, subnet, rtype, start, end, **extra):
    return admin.post("ipranges/", dict({"type": rtype, "start_ip": start, "end_ip": end,
                                         "subnet": str(subnet["id"])}, **extra))


def both(message):
    return {"start_ip": [message], "end_ip": [message]}


# ---------------------------------------------------------------------------------------------------------------
# IP ranges: IPRange.clean and the ipranges handlers
def test_iprange_create_renders_subnet_and_user_like_displayed_iprange_fields(admin, net):
    subnet, _vlan = net
    created = rng(admin, subnet, "dynamic", "10.30.0.100", "10.30.0.199", comment="PXE")
    assert created.status == 200, created
    body = created.json()
    assert body["type"] == "dynamic" and body["start_ip"] == "10.30.0.100" and body["end_ip"] == "10.30.0.199"
    assert body["comment"] == "PXE" and body["subnet"]["id"] == subnet["id"] and body["user"]["username"] == "admin"
    assert body["resource_uri"] == "/MAAS/api/2.0/ipranges/%d/" % body["id"]
    assert [r["id"] for r in admin.get("ipranges/").json()] == [body["id"]]
    assert admin.get("ipranges/%d/" % body["id"]).json() == body


def test_iprange_subnet_defaults_to_best_subnet_for_start_ip(admin, net):
    """IPRangeForm: without ``subnet``, MAAS picks Subnet.objects.get_best_subnet_for_ip(start_ip); ``subnet`` is a
    ModelChoiceField, so only the id names one."""
    subnet, _vlan = net
    created = admin.post("ipranges/", {"type": "reserved", "start_ip": "10.30.0.10", "end_ip": "10.30.0.20"})
    assert created.json()["subnet"]["id"] == subnet["id"]
    by_cidr = admin.post("ipranges/", {"type": "reserved", "start_ip": "10.30.0.30", "end_ip": "10.30.0.40",
                                       "subnet": "10.30.0.0/24"})
    assert by_cidr.json() == {"subnet": ["Select a valid choice. That choice is not one of the available choices."]}
    orphan = admin.post("ipranges/", {"type": "reserved", "start_ip": "192.0.2.10", "end_ip": "192.0.2.20"})
    assert orphan.status == 400 and orphan.json() == {"subnet": ["This field is required."]}


def test_iprange_outside_subnet_is_refused_with_maas_texts(admin, net):
    """IPRange.clean: both ends outside, the start outside, the end outside -- each with MAAS's message."""
    subnet, _vlan = net
    outside = rng(admin, subnet, "reserved", "10.31.0.10", "10.31.0.20")
    assert outside.status == 400 and outside.json() == both("IP addresses must be within subnet: 10.30.0.0/24.")
    start = rng(admin, subnet, "reserved", "10.29.255.250", "10.30.0.20")
    assert start.json() == {"start_ip": ["Start IP address must be within subnet: 10.30.0.0/24."]}
    end = rng(admin, subnet, "reserved", "10.30.0.250", "10.30.1.5")
    assert end.json() == {"end_ip": ["End IP address must be within subnet: 10.30.0.0/24."]}
    assert admin.get("ipranges/").json() == []


def test_iprange_start_after_end_is_refused(admin, net):
    """IPRange.clean: 'End IP address must not be less than Start IP address.' on end_ip."""
    subnet, _vlan = net
    response = rng(admin, subnet, "reserved", "10.30.0.50", "10.30.0.40")
    assert response.status == 400
    assert response.json() == {"end_ip": ["End IP address must not be less than Start IP address."]}


def test_iprange_network_and_broadcast_addresses_are_refused(admin, net):
    """IPRange.clean: the network address cannot start a range and the IPv4 broadcast cannot end one."""
    subnet, _vlan = net
    assert rng(admin, subnet, "reserved", "10.30.0.0", "10.30.0.9").json() == {
        "start_ip": ["Reserved network address cannot be included in IP range."]}
    assert rng(admin, subnet, "reserved", "10.30.0.240", "10.30.0.255").json() == {
        "end_ip": ["Broadcast address cannot be included in IP range."]}


def test_iprange_mixed_address_families_are_refused(admin, net):
    """IPRange.clean: start and end in the same address family."""
    subnet, _vlan = net
    assert rng(admin, subnet, "reserved", "10.30.0.5", "2001:db8::5").json() == both(
        "Start IP address and end IP address must be in the same address family.")


def test_iprange_type_and_addresses_are_form_validated(admin, net):
    """IPRangeForm fields: type is a choice, start_ip and end_ip are required GenericIPAddressFields."""
    subnet, _vlan = net
    bad = admin.post("ipranges/", {"type": "static", "start_ip": "nonsense", "subnet": str(subnet["id"])})
    assert bad.json() == {"type": ["Select a valid choice. static is not one of the available choices."],
                          "start_ip": ["Enter a valid IPv4 or IPv6 address."],
                          "end_ip": ["This field is required."]}


def test_overlapping_ranges_are_refused_with_maas_texts(admin, net):
    """IPRange._validate_duplicates_and_overlaps: a reserved range may not overlap another range; a dynamic
    range may not overlap a range or an address in use."""
    subnet, _vlan = net
    assert rng(admin, subnet, "dynamic", "10.30.0.100", "10.30.0.199").status == 200
    reserved = rng(admin, subnet, "reserved", "10.30.0.150", "10.30.0.210")
    assert reserved.status == 400
    assert reserved.json() == both("Requested reserved range conflicts with an existing range.")
    dynamic = rng(admin, subnet, "dynamic", "10.30.0.90", "10.30.0.100")
    assert dynamic.json() == both("Requested dynamic range conflicts with an existing IP address or range.")
    assert rng(admin, subnet, "reserved", "10.30.0.200", "10.30.0.210").status == 200
    assert len(admin.get("ipranges/").json()) == 2


def test_dynamic_range_over_gateway_or_dns_server_is_refused_but_reserved_is_not(admin, net):
    """Subnet.get_ipranges_available_for_dynamic_range counts the gateway and DNS servers as in use; the
    reserved-range check (ranges_only) does not."""
    subnet, _vlan = net
    assert rng(admin, subnet, "dynamic", "10.30.0.1", "10.30.0.50").json() == both(
        "Requested dynamic range conflicts with an existing IP address or range.")
    assert rng(admin, subnet, "dynamic", "10.30.0.2", "10.30.0.50").status == 400
    assert rng(admin, subnet, "reserved", "10.30.0.1", "10.30.0.9").status == 200


def test_dynamic_range_over_a_deployed_machines_address_is_refused(admin, lab):
    """Allocated addresses (StaticIPAddress) are in use for a dynamic range."""
    machine = admin.get("machines/").json()[0]
    admin.op("machines/", "allocate", {"system_id": machine["system_id"]})
    admin.op("machines/%s/" % machine["system_id"], "deploy")
    deployed = admin.wait_status(machine["system_id"], ("Deployed",))
    address = deployed["ip_addresses"][0]
    response = admin.post("ipranges/", {"type": "dynamic", "start_ip": address, "end_ip": address, "subnet": "1"})
    assert response.json() == both("Requested dynamic range conflicts with an existing IP address or range.")


def test_ipv6_slash_64_keeps_its_first_addresses_reserved(admin):
    """Subnet.get_ipranges_in_use: on a /64, ::1 to ::ffff:ffff are reserved for MAAS (and the anycast ::)."""
    subnet = admin.post("subnets/", {"cidr": "2001:db8:2::/64"}).json()
    assert rng(admin, subnet, "reserved", "2001:db8:2::10", "2001:db8:2::20").json() == both(
        "Requested reserved range conflicts with an existing range.")


def test_no_room_left_for_a_range(admin):
    """IPRange: 'There is no room for any reserved ranges on this subnet.' when the subnet is full."""
    subnet = admin.post("subnets/", {"cidr": "10.40.0.0/30"}).json()
    assert rng(admin, subnet, "reserved", "10.40.0.1", "10.40.0.2").status == 200
    assert rng(admin, subnet, "reserved", "10.40.0.1", "10.40.0.1").json() == both(
        "There is no room for any reserved ranges on this subnet.")


def test_ipv6_dynamic_range_needs_256_addresses(admin):
    """IPRange.clean: 'IPv6 dynamic range must be at least 256 addresses in size.'"""
    subnet = admin.post("subnets/", {"cidr": "2001:db8:1::/64"}).json()
    small = rng(admin, subnet, "dynamic", "2001:db8:1::1:0:0", "2001:db8:1::1:0:ff")
    assert small.status == 200, small
    tiny = rng(admin, subnet, "dynamic", "2001:db8:1::2:0:0", "2001:db8:1::2:0:10")
    assert tiny.json() == both("IPv6 dynamic range must be at least 256 addresses in size.")


def test_unmanaged_subnet_dynamic_range_must_lie_in_a_reserved_range(admin):
    """Subnet.get_ipranges_not_in_use on an unmanaged subnet: only addresses inside reserved ranges are free."""
    subnet = admin.post("subnets/", {"cidr": "10.50.0.0/24", "managed": "false"}).json()
    assert subnet["managed"] is False
    assert rng(admin, subnet, "dynamic", "10.50.0.10", "10.50.0.20").json() == both(
        "There is no room for any dynamic ranges on this subnet.")
    assert rng(admin, subnet, "reserved", "10.50.0.100", "10.50.0.200").status == 200
    assert rng(admin, subnet, "dynamic", "10.50.0.10", "10.50.0.20").status == 400
    assert rng(admin, subnet, "dynamic", "10.50.0.120", "10.50.0.150").status == 200


def test_iprange_update_checks_the_changed_range_and_ignores_itself(admin, net):
    """IPRangeHandler.update: the form re-validates with the range itself excluded from the overlap check."""
    subnet, _vlan = net
    first = rng(admin, subnet, "dynamic", "10.30.0.100", "10.30.0.199").json()
    rng(admin, subnet, "reserved", "10.30.0.200", "10.30.0.220")
    grown = admin.put("ipranges/%d/" % first["id"], {"start_ip": "10.30.0.90", "comment": "bigger"})
    assert grown.status == 200 and grown.json()["start_ip"] == "10.30.0.90" and grown.json()["comment"] == "bigger"
    clash = admin.put("ipranges/%d/" % first["id"], {"end_ip": "10.30.0.205"})
    assert clash.json() == both("Requested dynamic range conflicts with an existing IP address or range.")
    assert admin.get("ipranges/%d/" % first["id"]).json()["end_ip"] == "10.30.0.199"
    assert admin.delete("ipranges/%d/" % first["id"]).status == 204
    assert admin.get("ipranges/%d/" % first["id"]).status == 404


def test_only_admins_create_dynamic_ranges_and_owners_change_theirs(admin, user, net):
    """api/ipranges.py: dynamic ranges need a superuser; a range is changed only by its owner or an admin."""
    subnet, _vlan = net
    denied = rng(user, subnet, "dynamic", "10.30.0.100", "10.30.0.199")
    assert denied.status == 403
    assert denied.text == "Unable to create dynamic IP range. You don't have sufficient privileges."
    mine = rng(user, subnet, "reserved", "10.30.0.10", "10.30.0.20").json()
    assert mine["user"]["username"] != "admin"
    theirs = rng(admin, subnet, "reserved", "10.30.0.30", "10.30.0.40").json()
    refused = user.put("ipranges/%d/" % theirs["id"], {"comment": "mine now"})
    assert refused.status == 403 and refused.text == "Unable to modify IP range. You don't own the IP range."
    assert user.delete("ipranges/%d/" % theirs["id"]).status == 403
    assert user.put("ipranges/%d/" % mine["id"], {"comment": "ok"}).status == 200


# ---------------------------------------------------------------------------------------------------------------
# DHCP on a VLAN: VLANForm
def test_dhcp_needs_a_dynamic_range_on_a_subnet_of_the_vlan(admin):
    """VLANForm.clean_dhcp_on: 'dhcp can only be turned on when a dynamic IP range is defined.'"""
    response = admin.put("vlans/5001/", {"dhcp_on": "true", "primary_rack": "r4ckid"})
    assert response.status == 400
    assert response.json() == {"dhcp_on": ["dhcp can only be turned on when a dynamic IP range is defined."]}
    assert admin.get("vlans/5001/").json()["dhcp_on"] is False


def test_dhcp_needs_a_primary_rack_controller(admin):
    """VLANForm.clean: 'dhcp can only be turned on when a primary rack controller is set.' (non-field error)."""
    admin.post("ipranges/", {"type": "dynamic", "start_ip": "10.20.200.1", "end_ip": "10.20.200.254"})
    response = admin.put("vlans/5001/", {"dhcp_on": "true"})
    assert response.status == 400
    assert response.json() == {"__all__": ["dhcp can only be turned on when a primary rack controller is set."]}
    enabled = admin.put("fabrics/0/vlans/0/", {"dhcp_on": "true", "primary_rack": "r4ckid"})
    assert enabled.status == 200, enabled
    assert enabled.json()["dhcp_on"] is True and enabled.json()["primary_rack"] == "r4ckid"
    # The hostname names the same rack (NodeChoiceField accepts system_id or hostname).
    assert admin.put("vlans/5001/", {"primary_rack": "gough-lab-maas"}).json()["primary_rack"] == "r4ckid"


def test_rack_must_be_connected_to_the_vlans_vid(admin, net):
    """VLANForm offers only RackController.objects.filter_by_vids([vlan.vid]); the lab rack is on VID 0."""
    _subnet, vlan = net
    response = admin.put("vlans/%d/" % vlan["id"], {"primary_rack": "r4ckid"})
    assert response.json() == {"primary_rack": ["Select a valid choice. r4ckid is not one of the available choices."]}
    unknown = admin.put("vlans/5001/", {"secondary_rack": "nosuch"})
    assert unknown.json() == {"secondary_rack": ["Select a valid choice. nosuch is not one of the available choices."]}


def test_secondary_rack_cannot_be_the_primary(admin):
    """VLANForm.clean: '<id> is already set as the primary rack controller'."""
    assert admin.put("vlans/5001/", {"primary_rack": "r4ckid"}).status == 200
    response = admin.put("vlans/5001/", {"secondary_rack": "r4ckid"})
    assert response.json() == {"__all__": ["r4ckid is already set as the primary rack controller"]}


def test_primary_and_secondary_rack_must_differ(admin):
    """VLANForm.clean: 'The primary and secondary rack must be different'."""
    response = admin.put("vlans/5001/", {"primary_rack": "r4ckid", "secondary_rack": "r4ckid"})
    assert response.json() == {"__all__": ["The primary and secondary rack must be different"]}


def test_dhcp_on_clears_the_relay_and_relay_targets_are_limited(admin, net):
    """VLANForm: relay_vlan choices exclude the VLAN itself and VLANs that relay; saving with DHCP on clears it."""
    _subnet, vlan = net
    relayed = admin.put("vlans/%d/" % vlan["id"], {"relay_vlan": "5001"})
    assert relayed.status == 200 and relayed.json()["relay_vlan"]["id"] == 5001
    itself = admin.put("vlans/%d/" % vlan["id"], {"relay_vlan": str(vlan["id"])})
    assert itself.json() == {"relay_vlan": ["Select a valid choice. That choice is not one of the available choices."]}
    chained = admin.put("vlans/5001/", {"relay_vlan": str(vlan["id"])})
    assert chained.json() == {"relay_vlan": ["Select a valid choice. That choice is not one of the available choices."]}
    admin.put("vlans/%d/" % vlan["id"], {"relay_vlan": ""})
    admin.post("ipranges/", {"type": "dynamic", "start_ip": "10.20.200.1", "end_ip": "10.20.200.254"})
    on = admin.put("vlans/5001/", {"dhcp_on": "true", "primary_rack": "r4ckid", "relay_vlan": str(vlan["id"])})
    assert on.status == 200 and on.json()["relay_vlan"] is None


def test_vlan_mtu_bounds(admin):
    """VLANForm's mtu IntegerField(min_value=552) and VLAN.clean_mtu's 'MTU must be between 552 and 65535.'"""
    assert admin.put("vlans/5001/", {"mtu": "500"}).json() == {
        "mtu": ["Ensure this value is greater than or equal to 552."]}
    assert admin.put("vlans/5001/", {"mtu": "70000"}).json() == {"mtu": ["MTU must be between 552 and 65535."]}
    assert admin.put("vlans/5001/", {"mtu": "9000"}).json()["mtu"] == 9000


def test_vlan_vid_rules(admin):
    """VLAN.clean_vid ('VID must be between 0 and 4094.') and the (vid, fabric) unique message."""
    assert admin.post("fabrics/0/vlans/", {"vid": "5000"}).json() == {"vid": ["VID must be between 0 and 4094."]}
    assert admin.post("fabrics/0/vlans/", {"vid": "0"}).json() == {
        "__all__": ["A VLAN with the specified VID already exists in the destination fabric."]}
    created = admin.post("fabrics/0/vlans/", {"vid": "200"}).json()
    assert created["name"] is None and created["vid"] == 200


def test_default_vlan_cannot_be_deleted(admin):
    """VLAN.delete: 'This VLAN is the default VLAN in the fabric, it cannot be deleted.'"""
    response = admin.delete("vlans/5001/")
    assert response.status == 400
    assert response.text == "This VLAN is the default VLAN in the fabric, it cannot be deleted."


def test_deleting_a_vlan_moves_its_subnets_to_the_default_vlan(admin, net):
    """VLAN.manage_connected_subnets: subnets go to the fabric's default VLAN."""
    subnet, vlan = net
    assert admin.delete("vlans/%d/" % vlan["id"]).status == 204
    assert admin.get("subnets/%d/" % subnet["id"]).json()["vlan"]["id"] == 5001


def test_vlans_are_only_changed_by_admins(user):
    """VLANForm's permission_edit is NodePermission.admin."""
    assert user.put("vlans/5001/", {"mtu": "9000"}).status == 403


# ---------------------------------------------------------------------------------------------------------------
# subnets: SubnetForm and Subnet
def test_subnet_gateway_must_be_inside_the_cidr(admin):
    """Subnet.validate_gateway_ip: 'Gateway IP must be within CIDR range.'"""
    response = admin.post("subnets/", {"cidr": "10.60.0.0/24", "gateway_ip": "10.61.0.1"})
    assert response.json() == {"gateway_ip": ["Gateway IP must be within CIDR range."]}
    subnet = admin.post("subnets/", {"cidr": "10.60.0.0/24", "gateway_ip": "10.60.0.1"}).json()
    assert admin.put("subnets/%d/" % subnet["id"], {"gateway_ip": "10.99.0.1"}).status == 400


def test_subnet_dns_servers_must_be_addresses(admin):
    """IPListFormField: 'Invalid IP address: x; provide a list of space-separated IP addresses'."""
    response = admin.post("subnets/", {"cidr": "10.60.0.0/24", "dns_servers": "10.60.0.2 dns.example"})
    assert response.json() == {"dns_servers": [
        "Invalid IP address: dns.example; provide a list of space-separated IP addresses"]}
    made = admin.post("subnets/", {"cidr": "10.60.0.0/24", "dns_servers": "10.60.0.2, 10.60.0.3"}).json()
    assert made["dns_servers"] == ["10.60.0.2", "10.60.0.3"]


def test_subnet_vlan_from_fabric_and_vid(admin, net):
    """SubnetForm._clean_vlan: fabric plus vid finds the VLAN; an unknown vid names the fabric."""
    _subnet, vlan = net
    made = admin.post("subnets/", {"cidr": "10.61.0.0/24", "fabric": "0", "vid": "100"}).json()
    assert made["vlan"]["id"] == vlan["id"]
    missing = admin.post("subnets/", {"cidr": "10.62.0.0/24", "fabric": "0", "vid": "300"})
    assert missing.json() == {"vid": ["No VLAN with vid 300 in fabric fabric-0."]}
    default = admin.post("subnets/", {"cidr": "10.62.0.0/24", "vid": "300"})
    assert default.json() == {"vid": ["No VLAN with vid 300 in default fabric."]}
    assert admin.post("subnets/", {"cidr": "10.62.0.0/24", "fabric": "99"}).status == 400


def test_subnet_cidr_rules(admin):
    """SubnetForm.clean_cidr and the unique cidr."""
    def cidr_errors(cidr):
        return admin.post("subnets/", {"cidr": cidr}).json()["cidr"]
    assert cidr_errors("not-a-cidr") == ["Required format: <network>/<prefixlen>."]
    assert cidr_errors("0.0.0.0/0") == ["Prefix length must be greater than 0."]
    assert cidr_errors("10.20.0.0/16") == ["Subnet with this Cidr already exists."]


def test_subnet_serving_dhcp_cannot_be_deleted(admin):
    """Subnet.delete: refused while DHCP is on and it has a dynamic range, as MAAS's plain-text 400."""
    subnet = admin.post("subnets/", {"cidr": "10.70.0.0/24"}).json()
    admin.post("ipranges/", {"type": "dynamic", "start_ip": "10.70.0.100", "end_ip": "10.70.0.200"})
    assert admin.put("vlans/5001/", {"dhcp_on": "true", "primary_rack": "r4ckid"}).status == 200
    response = admin.delete("subnets/%d/" % subnet["id"])
    assert response.status == 400
    assert response.text == ("Cannot delete a subnet that is actively servicing a dynamic IP range. (Delete the "
                             "dynamic range or disable DHCP first.)")
    assert admin.put("vlans/5001/", {"dhcp_on": "false"}).status == 200
    assert admin.delete("subnets/%d/" % subnet["id"]).status == 204
    assert admin.get("ipranges/").json() == []


# ---------------------------------------------------------------------------------------------------------------
# rack controllers
def test_rackcontrollers_lists_the_lab_region_rack(admin):
    """rackcontrollers/: the lab is one region+rack controller (node_type 4) on fabric-0's untagged VLAN."""
    listed = admin.get("rackcontrollers/").json()
    assert [r["system_id"] for r in listed] == ["r4ckid"]
    rack = listed[0]
    assert rack["node_type"] == 4 and rack["node_type_name"] == "Region and rack controller"
    assert rack["interface_set"][0]["vlan"]["id"] == 5001
    assert admin.get("rackcontrollers/r4ckid/").json()["hostname"] == rack["hostname"]
    assert admin.get("rackcontrollers/nosuch/").status == 404


def test_fresh_lab_vlan_has_dhcp_off_like_a_fresh_maas(admin):
    """A fresh MAAS serves no DHCP until a dynamic range and a rack controller are set."""
    vlan = admin.get("vlans/5001/").json()
    assert vlan["dhcp_on"] is False and vlan["primary_rack"] is None and vlan["name"] == "untagged"
    # DISPLAYED_VLAN_FIELDS has no description, though VLANForm accepts one.
    assert "description" not in vlan
