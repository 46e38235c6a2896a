"""Machine create, read, update and delete as ``maas_machine`` sends them, and the machine fields Gough's modules
and inventory read."""

import pytest

from conftest import CONFIG, MAASError
from contract_support import OTHER_ARCHITECTURES, random_mac

# MAAS's machine form on a non-ipmi power type when no MAC passed validation.
NO_INTERFACES = ["Can't set power type to manual without network interfaces"]


def test_create_from_mac_with_manual_power_gives_a_new_machine(machine, me):
    """``POST machines/`` with hostname, architecture, one MAC, power_type manual and commission=false (what
    maas_machine sends) gives a machine in New with those values."""
    assert len(machine["system_id"]) == 6
    assert machine["status"] == 0 and machine["status_name"] == "New"
    assert machine["power_type"] == "manual"
    assert machine["architecture"] == CONFIG.architecture
    assert machine["owner"] in (None, me["username"])
    assert machine["fqdn"].startswith(machine["hostname"] + ".")


def test_machine_carries_the_fields_gough_reads(client, machine):
    """Every field maas_machine, maas_machine_info and the inventory read is there, with the type they expect."""
    fresh = client.get_machine(machine["system_id"])
    for field in ("system_id", "hostname", "fqdn", "status_name", "architecture", "power_type", "power_state",
                  "description"):
        assert isinstance(fresh[field], str), field
    for field in ("status", "cpu_count", "memory"):
        assert isinstance(fresh[field], int), field
    for field in ("domain", "zone", "pool"):
        assert isinstance(fresh[field]["name"], str), field
    assert fresh["zone"]["name"] == "default" and fresh["pool"]["name"] == "default"
    assert isinstance(fresh["tag_names"], list) and isinstance(fresh["ip_addresses"], list)
    assert fresh["power_state"] in ("on", "off", "unknown", "error")
    assert isinstance(fresh["storage"], (int, float))
    assert isinstance(fresh.get("hardware_info", {}), dict)
    # maas_deployment reads view["osystem"] and view["distro_series"]: MAAS lists both in DISPLAYED_MACHINE_FIELDS
    # (src/maasserver/api/machines.py), model CharFields that stay "" until a deployment sets them (real MAAS 3.5.13
    # answered "" for both even on machines added with deployed=true), so both are strings on every machine.
    for field in ("osystem", "distro_series"):
        assert field in fresh, field
        assert isinstance(fresh[field], str), (field, fresh[field])
    annotations = fresh.get("workload_annotations", fresh.get("owner_data"))
    assert isinstance(annotations, dict)


def test_created_mac_is_the_machines_interface(client, machine):
    """The MAC given at creation is an interface's ``mac_address`` (maas_machine compares MACs through it)."""
    macs = [nic["mac_address"] for nic in client.get_machine(machine["system_id"])["interface_set"]]
    assert len(macs) == 1 and macs[0] == macs[0].lower()
    assert client.get("machines/", params={"mac_address": macs[0]})[0]["system_id"] == machine["system_id"]


def test_mac_only_machine_shapes_match_real_maas(client, machine):
    """Real MAAS (3.5.13): interface ``params`` is ``{}``, ``vlan`` is null, status_message/action are null."""
    fresh = client.get_machine(machine["system_id"])
    nic = fresh["interface_set"][0]
    assert nic["params"] == {}
    assert nic["vlan"] is None
    assert fresh["status_message"] is None and fresh["status_action"] is None


def test_power_parameters_of_a_manual_machine_are_a_dict(client, machine):
    """``GET machines/{id}/?op=power_parameters`` (maas_machine compares power parameters) answers a JSON object."""
    assert isinstance(client.get("machines/%s/" % machine["system_id"], op="power_parameters"), dict)


def test_update_by_put_changes_description_and_returns_the_machine(client, machine):
    """``PUT machines/{id}/`` with the fields maas_machine changes (here description, power_type resent) applies them
    and returns the machine."""
    sid = machine["system_id"]
    answer = client.put("machines/%s/" % sid, data={"description": "contract check", "power_type": "manual"})
    assert answer["system_id"] == sid and answer["description"] == "contract check"
    assert client.get_machine(sid)["description"] == "contract check"


def test_update_hostname_moves_the_hostname_filter(client, run, machine):
    """A hostname changed by PUT is what ``machines/?hostname=`` finds afterwards (maas_machine finds by hostname)."""
    sid = machine["system_id"]
    new = run.name()
    run.hostnames.append(new)
    client.put("machines/%s/" % sid, data={"hostname": new})
    assert [m["system_id"] for m in client.get("machines/", params={"hostname": new})] == [sid]
    assert client.get("machines/", params={"hostname": machine["hostname"]}) == []


def test_delete_answers_no_content_and_the_machine_is_gone(client, create_machine):
    """``DELETE machines/{id}/`` answers 204 (no body); afterwards the machine is 404 and no filter finds it."""
    created = create_machine()
    sid = created["system_id"]
    assert client.delete("machines/%s/" % sid) is None
    with pytest.raises(MAASError) as caught:
        client.get_machine(sid)
    assert caught.value.status == 404
    assert client.get("machines/", params={"hostname": created["hostname"]}) == []


def test_create_with_a_mac_in_use_is_400_naming_mac_addresses(client, run, machine, architecture):
    """A MAC already in use gives 400 ``{"mac_addresses": ["MAC address X already in use on <host>."]}``. MAAS 3.5.13
    also names ``power_type`` here: its form checks interfaces against the MACs that passed validation, and none did."""
    mac = client.get_machine(machine["system_id"])["interface_set"][0]["mac_address"]
    hostname = run.name()
    run.hostnames.append(hostname)
    with pytest.raises(MAASError) as caught:
        client.post("machines/", data={"hostname": hostname, "architecture": architecture, "mac_addresses": [mac],
                                       "power_type": "manual", "commission": False})
    exc = caught.value
    assert exc.status == 400
    assert exc.field_errors.get("power_type", NO_INTERFACES) == NO_INTERFACES
    assert sorted(exc.field_errors) in (["mac_addresses"], ["mac_addresses", "power_type"])
    assert exc.field_errors["mac_addresses"] == ["MAC address %s already in use on %s." % (mac, machine["hostname"])]
    assert exc.maas_message.startswith("mac_addresses: MAC address %s already in use" % mac)


def test_create_manual_without_mac_is_400_naming_mac_addresses(client, run, architecture):
    """A manual machine without a MAC is refused: 400 with a ``mac_addresses`` field error."""
    hostname = run.name()
    run.hostnames.append(hostname)
    with pytest.raises(MAASError) as caught:
        client.post("machines/", data={"hostname": hostname, "architecture": architecture, "power_type": "manual",
                                       "commission": False})
    assert caught.value.status == 400 and "mac_addresses" in caught.value.field_errors


def test_create_manual_without_mac_also_names_power_type(client, run, architecture):
    """Real MAAS adds ``power_type: Can't set power type to manual without network interfaces``."""
    hostname = run.name()
    run.hostnames.append(hostname)
    with pytest.raises(MAASError) as caught:
        client.post("machines/", data={"hostname": hostname, "architecture": architecture, "power_type": "manual",
                                       "commission": False})
    assert caught.value.field_errors.get("power_type") == NO_INTERFACES


def test_architecture_without_imported_images_is_400_not_valid_architecture(client, run):
    """An architecture with no imported images gives 400 ``architecture: '<arch>' is not a valid architecture. It
    should be one of: ...`` (a fresh MAAS lists none)."""
    imported = set(r["architecture"].partition("/")[0] for r in client.get("boot-resources/") or [])
    candidates = [a for a in OTHER_ARCHITECTURES if a.partition("/")[0] not in imported]
    if not candidates:
        pytest.skip("this MAAS has images for every architecture the test could pick")
    hostname = run.name()
    run.hostnames.append(hostname)
    with pytest.raises(MAASError) as caught:
        client.post("machines/", data={"hostname": hostname, "architecture": candidates[0],
                                       "mac_addresses": [random_mac()], "power_type": "manual", "commission": False})
    assert caught.value.status == 400
    assert "is not a valid architecture" in " ".join(caught.value.field_errors["architecture"])
