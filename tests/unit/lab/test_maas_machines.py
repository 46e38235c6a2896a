"""Machines: representation, enlistment rules, list filters and their 400s, update and delete."""

import pytest

from conftest import multipart


def ready_ids(client):
    return [m["system_id"] for m in client.get("machines/").json() if m["status_name"] == "Ready"]


def test_machine_representation_has_maas_fields_and_types(admin):
    machines = admin.get("machines/").json()
    assert len(machines) == 8
    assert [m["hostname"] for m in machines] == ["node-%05d" % n for n in range(1, 9)]
    m = machines[0]
    assert len(m["system_id"]) == 6 and m["fqdn"] == m["hostname"] + ".maas"
    assert m["status"] == 4 and m["status_name"] == "Ready" and m["node_type"] == 0
    assert isinstance(m["cpu_count"], int) and m["cpu_count"] > 0 and isinstance(m["memory"], int)
    assert isinstance(m["storage"], float) and m["storage"] > 0
    assert m["architecture"] == "amd64/generic" and m["power_type"] == "ipmi" and m["power_state"] == "off"
    assert m["owner"] is None and m["owner_data"] == {} and m["locked"] is False and m["netboot"] is True
    assert m["zone"] == {"id": 1, "name": "default", "description": "", "resource_uri": "/MAAS/api/2.0/zones/default/"}
    assert m["pool"]["resource_uri"] == "/MAAS/api/2.0/resourcepool/0/" and m["pool"]["id"] == 0
    assert m["domain"]["name"] == "maas" and m["domain"]["is_default"] is True
    assert m["resource_uri"] == "/MAAS/api/2.0/machines/%s/" % m["system_id"]
    nic = m["interface_set"][0]
    assert nic["vlan"]["fabric"] == "fabric-0" and nic["links"][0]["mode"] == "auto"
    assert nic["links"][0]["subnet"]["cidr"] == "10.20.0.0/16"
    assert m["boot_interface"]["mac_address"] == nic["mac_address"]
    assert m["blockdevice_set"] and m["boot_disk"]["partitions"]
    assert m["commissioning_status_name"] == "Passed" and m["cpu_test_status"] == -1
    assert m["hardware_info"]["system_vendor"] != "Unknown"
    assert m["status_message"] == "Ready"
    for field in ("cpu_speed", "swap_size", "hardware_uuid", "min_hwe_kernel", "hwe_kernel", "osystem",
                  "distro_series", "tag_names", "ip_addresses", "default_gateways", "physicalblockdevice_set",
                  "virtualblockdevice_set", "volume_groups", "raids", "cache_sets", "bcaches", "special_filesystems",
                  "numanode_set", "bios_boot_method", "error_description", "current_commissioning_result_id",
                  "testing_status_name", "storage_test_status_name", "ephemeral_deploy", "enable_hw_sync",
                  "last_sync", "pod", "virtualmachine_id", "status_action", "description"):
        assert field in m, field


def test_seeded_hardware_is_varied_and_macs_unique(admin):
    machines = admin.get("machines/").json()
    assert len({(m["cpu_count"], m["memory"]) for m in machines}) >= 2
    macs = [nic["mac_address"] for m in machines for nic in m["interface_set"]]
    assert len(macs) == len(set(macs))


def test_machine_json_is_several_kilobytes(admin):
    body = admin.get("machines/").body
    per_machine = len(body) / 8
    assert 5000 < per_machine < 16000, per_machine


def test_admin_create_starts_commissioning_then_ready_with_hardware(admin):
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": ["52:54:00:00:00:01", "52-54-00-00-00-02"],
                                        "power_type": "ipmi", "power_parameters_power_address": "10.0.0.9",
                                        "power_parameters_power_user": "maas", "hostname": "made-by-admin"})
    assert response.status == 200, response
    m = response.json()
    assert m["status_name"] == "Commissioning" and m["architecture"] == "amd64/generic"
    assert [n["mac_address"] for n in m["interface_set"]] == ["52:54:00:00:00:01", "52:54:00:00:00:02"]
    assert m["cpu_count"] == 0
    ready = admin.wait_status(m["system_id"], {"Ready"})
    assert ready["cpu_count"] > 0 and ready["memory"] > 0 and ready["storage"] > 0 and ready["blockdevice_set"]
    assert ready["interface_set"][0]["mac_address"] == "52:54:00:00:00:01"
    assert ready["hardware_info"]["cpu_model"]
    params = admin.get("machines/%s/" % m["system_id"], query={"op": "power_parameters"}).json()
    assert params == {"power_address": "10.0.0.9", "power_user": "maas"}


def test_power_parameters_as_one_json_string(admin):
    response = admin.post("machines/", {"architecture": "amd64/generic", "mac_addresses": "52:54:00:00:01:01",
                                        "power_type": "virsh",
                                        "power_parameters": '{"power_address": "qemu+ssh://h/system", "power_id": "vm1"}'})
    sid = response.json()["system_id"]
    assert admin.get("machines/%s/" % sid, query={"op": "power_parameters"}).json()["power_id"] == "vm1"


def test_anonymous_enlistment_creates_new_machine(anon, admin):
    response = anon.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:00:02:01", "power_type": "manual"})
    assert response.status == 200, response
    assert response.json()["status_name"] == "New" and response.json()["owner"] is None
    assert admin.machine(response.json()["system_id"])["status_name"] == "New"


def test_user_create_stays_new(user):
    response = user.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:00:03:01", "power_type": "manual"})
    assert response.status == 200 and response.json()["status_name"] == "New"


def test_create_accepts_urlencoded_bodies(admin):
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": ["52:54:00:00:04:01", "52:54:00:00:04:02"],
                                        "power_type": "manual", "commission": "false"}, encoding="urlencoded")
    assert response.status == 200 and response.json()["status_name"] == "New"
    assert len(response.json()["interface_set"]) == 2


def test_create_requires_architecture_and_macs_and_manual_power_needs_interfaces(admin):
    """MAAS 3.5's machine form adds ``power_type: Can't set power type to manual without network interfaces`` to the
    missing-field errors when a non-ipmi power type comes without MACs (seen on a real 3.5.13 region)."""
    response = admin.post("machines/", {"power_type": "manual"})
    assert response.status == 400
    assert response.json() == {"architecture": ["This field is required."], "mac_addresses": ["This field is required."],
                               "power_type": ["Can't set power type to manual without network interfaces"]}


def test_unknown_placement_is_a_field_error_on_create_and_update(admin):
    bad = "Select a valid choice. That choice is not one of the available choices."
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:40:00:01",
                                        "power_type": "manual", "zone": "nowhere", "pool": "nopool", "domain": "nodom"})
    assert response.status == 400
    assert response.json() == {"zone": [bad], "pool": [bad], "domain": [bad]}
    admin.post("zones/", {"name": "rack-b"})
    sid = admin.get("machines/").json()[0]["system_id"]
    response = admin.request("PUT", "machines/%s/" % sid, {"zone": "rack-b", "pool": "nopool"})
    assert response.status == 400 and response.json() == {"pool": [bad]}
    # A rejected form changes nothing, as with MAAS's Django forms.
    assert admin.get("machines/%s/" % sid).json()["zone"]["name"] == "default"
    response = admin.request("PUT", "machines/%s/" % sid, {"zone": "rack-b"})
    assert response.status == 200 and response.json()["zone"]["name"] == "rack-b"


def test_create_ipmi_needs_no_macs(admin):
    response = admin.post("machines/", {"power_type": "ipmi", "power_parameters_power_address": "10.1.1.1"})
    assert response.status == 200, response


def test_create_deployed_true_is_deployed(admin):
    response = admin.post("machines/", {"deployed": "true", "hostname": "already-there"})
    assert response.status == 200 and response.json()["status_name"] == "Deployed"


def test_duplicate_mac_is_400_naming_the_host(admin):
    """MAAS 3.5.13 names the host holding the MAC and, as no MAC passed validation, power_type manual too."""
    existing = admin.get("machines/").json()[0]
    mac = existing["interface_set"][0]["mac_address"]
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": mac.upper(), "power_type": "manual"})
    assert response.status == 400
    assert response.json() == {"mac_addresses": ["MAC address %s already in use on %s." % (mac, existing["hostname"])],
                               "power_type": ["Can't set power type to manual without network interfaces"]}


def test_invalid_mac_and_kernel_and_power_type_are_field_errors(admin):
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "zz:zz", "power_type": "frob",
                                        "min_hwe_kernel": "linux-6"})
    assert response.status == 400
    errors = response.json()
    assert errors["mac_addresses"] == ["'zz:zz' is not a valid MAC address."]
    assert set(errors) == {"mac_addresses", "power_type", "min_hwe_kernel"}


def test_zero_part_multipart_is_400_empty_body(admin):
    content_type, body = multipart([])
    response = admin.request("POST", "machines/", raw_body=body, headers={"Content-Type": content_type})
    assert response.status == 400 and response.body == b""


def test_plain_multipart_parts_without_base64_are_accepted(admin):
    content_type, body = multipart([("architecture", "amd64"), ("mac_addresses", "52:54:00:00:05:01"),
                                    ("power_type", "manual")], base64_parts=False)
    response = admin.request("POST", "machines/", raw_body=body, headers={"Content-Type": content_type})
    assert response.status == 200, response


# --- filters ----------------------------------------------------------------------------------------------------
def test_filter_hostname_is_or(admin):
    result = admin.get("machines/", {"hostname": ["node-00001", "node-00003"]}).json()
    assert [m["hostname"] for m in result] == ["node-00001", "node-00003"]


def test_filter_id_and_not_id(admin):
    ids = [m["system_id"] for m in admin.get("machines/").json()]
    assert [m["system_id"] for m in admin.get("machines/", {"id": ids[:3]}).json()] == ids[:3]
    assert len(admin.get("machines/", {"not_id": ids[:3]}).json()) == 5


def test_filter_status_and_not_status(admin):
    sid = admin.get("machines/").json()[0]["system_id"]
    admin.op("machines/", "allocate", {"system_id": sid})
    assert [m["system_id"] for m in admin.get("machines/", {"status": "allocated"}).json()] == [sid]
    assert len(admin.get("machines/", {"status": ["allocated", "ready"]}).json()) == 8
    assert len(admin.get("machines/", {"not_status": "allocated"}).json()) == 7


def test_filter_tags_require_all_and_not_tags_excludes_any(admin):
    ids = [m["system_id"] for m in admin.get("machines/").json()]
    for name in ("gpu", "rack1"):
        assert admin.post("tags/", {"name": name}).status == 200
    admin.op("tags/gpu/", "update_nodes", {"add": ids[:3]})
    admin.op("tags/rack1/", "update_nodes", {"add": ids[2:5]})
    both = admin.get("machines/", {"tags": ["gpu", "rack1"]}).json()
    assert [m["system_id"] for m in both] == [ids[2]]
    assert len(admin.get("machines/", {"not_tags": ["gpu", "rack1"]}).json()) == 3


def test_filter_minimums_and_combination_is_and(admin):
    machines = admin.get("machines/").json()
    top = max(m["cpu_count"] for m in machines)
    big = admin.get("machines/", {"cpu_count": top}).json()
    assert big and all(m["cpu_count"] == top for m in big)
    assert admin.get("machines/", {"cpu_count": top, "hostname": "no-such"}).json() == []
    assert len(admin.get("machines/", {"mem": 1}).json()) == 8


def test_filter_mac_address_and_zone_and_pool(admin):
    m = admin.get("machines/").json()[4]
    found = admin.get("machines/", {"mac_address": m["interface_set"][0]["mac_address"].upper()}).json()
    assert [x["system_id"] for x in found] == [m["system_id"]]
    assert len(admin.get("machines/", {"zone": "default", "pool": "default"}).json()) == 8
    assert admin.get("machines/", {"not_in_zone": "default"}).json() == []


def test_unknown_filter_is_400_no_such_constraint(admin):
    response = admin.get("machines/", {"foo": "bar"})
    assert response.status == 400 and response.json() == {"foo": ["No such constraint."]}


def test_unknown_tag_zone_and_bad_mac_are_400(admin):
    assert admin.get("machines/", {"tags": "x"}).json() == {"tags": ["No such tag(s): 'x'."]}
    assert admin.get("machines/", {"zone": "x"}).json() == {"zone": ["No such zone(s): x."]}
    response = admin.get("machines/", {"mac_address": "00:11:22:33:44:ZZ"})
    assert response.status == 400
    assert response.json() == {"mac_address": ["'00:11:22:33:44:ZZ' is not a valid MAC address."]}


def test_users_only_see_unowned_and_their_own_machines(admin, user):
    ids = ready_ids(admin)
    admin.op("machines/", "allocate", {"system_id": ids[0]})
    user.op("machines/", "allocate", {"system_id": ids[1]})
    visible = {m["system_id"] for m in user.get("machines/").json()}
    assert ids[0] not in visible and ids[1] in visible and len(visible) == 7
    assert user.get("machines/%s/" % ids[0]).status == 403


def test_unknown_machine_is_404_text(admin):
    response = admin.get("machines/nosuch/")
    assert response.status == 404 and response.text == "No Machine matches the given query."


# --- update and delete ------------------------------------------------------------------------------------------
def test_admin_updates_hostname_zone_and_power(admin):
    admin.post("zones/", {"name": "rack-a"})
    sid = ready_ids(admin)[0]
    response = admin.put("machines/%s/" % sid, {"hostname": "renamed", "zone": "rack-a", "power_parameters_power_user": "x"})
    assert response.status == 200, response
    data = response.json()
    assert data["hostname"] == "renamed" and data["zone"]["name"] == "rack-a"
    assert admin.get("machines/", {"zone": "rack-a"}).json()[0]["system_id"] == sid


def test_update_and_delete_are_admin_only(admin, user):
    sid = ready_ids(admin)[0]
    denied = user.put("machines/%s/" % sid, {"hostname": "nope"})
    assert denied.status == 403 and denied.body == b""
    assert user.delete("machines/%s/" % sid).status == 403
    assert admin.delete("machines/%s/" % sid).status == 204
    assert admin.get("machines/%s/" % sid).status == 404


@pytest.mark.parametrize("value,expected", [("true", True), ("1", True), ("on", True), ("false", False), ("0", False)])
def test_boolean_spellings(admin, value, expected):
    response = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:00:09:0%d" % expected,
                                        "power_type": "manual", "commission": value})
    assert response.status == 200
    assert (response.json()["status_name"] == "Commissioning") is expected
