"""Rules of a real MAAS 3.5/3.6 region that the emulator mirrors, as a MAAS 3.5.13 region answered them.

Each test names the MAAS behaviour it mirrors; a real 3.5.13 region showed every one of them.
"""

import time

import pytest

from conftest import FAST, MAASClient, multipart
from gough_lab.testing import start_maas_emulator


@pytest.fixture
def fresh(tmp_path):
    """A fresh MAAS: no boot images imported, no machines."""
    emulator = start_maas_emulator(tmp_path / "fresh", extra_args=FAST + ("--boot-images", "none"))
    try:
        yield MAASClient(emulator, emulator.api_key)
    finally:
        emulator.stop()


@pytest.fixture
def maas35(tmp_path):
    """An emulator behaving as MAAS 3.5 with 2 Ready machines."""
    emulator = start_maas_emulator(tmp_path / "maas35", machines=2, extra_args=FAST + ("--maas-version", "3.5"))
    try:
        yield MAASClient(emulator, emulator.api_key)
    finally:
        emulator.stop()


def first_ready(client):
    return [m["system_id"] for m in client.get("machines/").json() if m["status_name"] == "Ready"]


def create(client, **fields):
    params = {"architecture": "amd64/generic", "mac_addresses": "52:54:00:16:00:01", "power_type": "manual",
              "commission": "false"}
    params.update(fields)
    return client.post("machines/", params)


# --- boot resources and architectures ----------------------------------------------------------------------------
def test_fresh_maas_accepts_no_architecture_until_images_are_imported(fresh):
    """A fresh MAAS (no boot resources) answers ``architecture: 'amd64/generic' is not a valid architecture.  It
    should be one of: ''.``; after ``boot-resources/?op=import`` finishes, amd64/generic is valid."""
    assert fresh.get("boot-resources/").json() == []
    response = create(fresh)
    assert response.status == 400
    assert response.json()["architecture"] == [
        "'amd64/generic' is not a valid architecture.  It should be one of: ''."]
    assert fresh.get("machines/").json() == []
    assert fresh.op("boot-resources/", "import").status == 200
    deadline = time.monotonic() + 10
    while fresh.get("boot-resources/", {"op": "is_importing"}).json() is True:
        assert time.monotonic() < deadline, "the import never finished"
        time.sleep(0.2)
    assert "ubuntu/jammy" in [r["name"] for r in fresh.get("boot-resources/").json()]
    assert create(fresh).status == 200


def test_fresh_maas_deploys_no_series_until_images_are_imported(fresh):
    """MAAS's deploy form accepts only series with imported images: with none, even the default is refused."""
    response = fresh.op("maas/", "set_config", {"name": "default_distro_series", "value": "jammy"})
    assert response.status == 400 and "value" in response.json()


def test_architectures_are_those_of_imported_boot_resources(admin):
    """MAAS's BootResource.get_usable_architectures: arch/subarch of imported images (hwe-/ga- kernels left out);
    the seeded emulator imported amd64 Ubuntu images only, so arm64/generic is not valid."""
    response = create(admin, architecture="arm64/generic")
    assert response.status == 400
    assert response.json()["architecture"] == [
        "'arm64/generic' is not a valid architecture.  It should be one of: 'amd64/generic'."]
    assert create(admin, architecture="amd64").status == 200


# --- mark_broken --------------------------------------------------------------------------------------------------
def test_mark_broken_needs_the_caller_to_own_the_machine_and_leaves_it_unowned(admin):
    """``MachineHandler.mark_broken``: owner only (403, empty body, for an admin too); MAAS releases an allocated
    machine first and the Broken machine has no owner."""
    sid = first_ready(admin)[0]
    denied = admin.op("machines/%s/" % sid, "mark_broken", {"comment": "fan"})
    assert (denied.status, denied.body) == (403, b"")
    admin.op("machines/", "allocate", {"system_id": sid, "agent_name": "set-a"})
    broken = admin.op("machines/%s/" % sid, "mark_broken", {"comment": "fan"}).json()
    assert broken["status_name"] == "Broken" and broken["owner"] is None and broken["error_description"] == "fan"


# --- deploy whose power action fails -----------------------------------------------------------------------------
def test_deploy_whose_power_action_fails_keeps_ready_to_allocated_and_answers_503(lab, admin):
    """MAAS 3.5 with no rack controller able to reach the BMC: 503 ``No rack controllers can access the BMC of node
    <hostname>``, and the machine stays Allocated and owned by the caller (the allocation is kept)."""
    lab.configure(fail_power=1.0)
    machine = admin.get("machines/").json()[0]
    sid = machine["system_id"]
    response = admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy", "agent_name": "web"})
    assert response.status == 503
    assert response.text == "No rack controllers can access the BMC of node %s" % machine["hostname"]
    after = admin.machine(sid)
    assert (after["status_name"], after["owner"]) == ("Allocated", "admin")
    lab.configure(fail_power=0.0)
    assert admin.op("machines/%s/" % sid, "deploy", {"distro_series": "jammy"}).json()["status_name"] == "Deploying"


# --- deployed=true enlistment -------------------------------------------------------------------------------------
def test_machine_added_as_deployed_has_no_os_unknown_power_and_pending_commissioning(admin):
    """``POST machines/`` with ``deployed=true`` on MAAS 3.5: Deployed, ``osystem ""``, ``distro_series ""``,
    ``power_state "unknown"``, commissioning Pending."""
    response = create(admin, deployed="true", hostname="brownfield-1")
    assert response.status == 200
    data = response.json()
    assert data["status_name"] == "Deployed"
    assert (data["osystem"], data["distro_series"], data["power_state"]) == ("", "", "unknown")
    assert (data["commissioning_status"], data["commissioning_status_name"]) == (0, "Pending")


def test_release_of_a_machine_without_passed_commissioning_ends_in_new(admin):
    """MAAS's ``_finalize_release``: Ready only with passed commissioning results, else New (a machine added with
    deployed=true has none)."""
    sid = create(admin, deployed="true", hostname="brownfield-2").json()["system_id"]
    assert admin.op("machines/%s/" % sid, "release", {"comment": "retire"}).status == 200
    released = admin.wait_status(sid, {"New", "Ready"})
    assert released["status_name"] == "New" and released["owner"] is None


# --- JSON shapes ---------------------------------------------------------------------------------------------------
def test_json_shapes_of_a_machine_created_from_a_mac_as_real_maas_sends_them(admin):
    """MAAS 3.5 JSON: interface ``params`` is ``{}``, ``vlan`` is null for an interface known only by its MAC,
    ``status_message`` and ``status_action`` are null before any INFO event, ``current_commissioning_result_id`` is
    an int."""
    data = create(admin, hostname="shape-1").json()
    assert data["boot_interface"]["params"] == {} and data["interface_set"][0]["params"] == {}
    assert data["interface_set"][0]["vlan"] is None
    assert data["status_message"] is None and data["status_action"] is None
    assert isinstance(data["current_commissioning_result_id"], int)
    seeded = admin.machine(first_ready(admin)[0])
    assert seeded["interface_set"][0]["params"] == {} and seeded["interface_set"][0]["vlan"]["vid"] == 0


def test_create_with_mac_in_use_or_invalid_also_names_power_type(maas35):
    """MAAS 3.5.13's machine form checks interfaces against the MACs that passed validation: a MAC in use or an
    invalid MAC with power type manual gives ``mac_addresses`` and ``power_type: Can't set power type to manual
    without network interfaces``; without a power type (or with ipmi) only the MAC error (seen on a real region)."""
    no_interfaces = ["Can't set power type to manual without network interfaces"]
    mac = maas35.machine(first_ready(maas35)[0])["interface_set"][0]["mac_address"]
    in_use = maas35.post("machines/", {"architecture": "amd64/generic", "mac_addresses": mac, "power_type": "manual",
                                       "commission": "false"})
    assert in_use.status == 400
    assert in_use.json()["power_type"] == no_interfaces
    assert in_use.json()["mac_addresses"][0].startswith("MAC address %s already in use on " % mac)
    invalid = create(maas35, mac_addresses="zz:bad")
    assert invalid.status == 400
    assert invalid.json() == {"mac_addresses": ["'zz:bad' is not a valid MAC address."], "power_type": no_interfaces}
    no_power_type = maas35.post("machines/", {"architecture": "amd64/generic", "mac_addresses": mac,
                                              "commission": "false"})
    assert no_power_type.status == 400 and list(no_power_type.json()) == ["mac_addresses"]
    assert create(maas35, mac_addresses="52:54:00:16:00:09").status == 200


def test_manual_power_type_without_interfaces_is_refused_on_update(admin):
    """MAAS's machine form: ``power_type: Can't set power type to <type> without network interfaces`` when the
    machine has none (ipmi excepted)."""
    sid = admin.post("machines/", {"power_type": "ipmi", "power_parameters_power_address": "10.9.9.9",
                                   "commission": "false"}).json()["system_id"]
    response = admin.put("machines/%s/" % sid, {"power_type": "manual"})
    assert response.status == 400
    assert response.json() == {"power_type": ["Can't set power type to manual without network interfaces"]}


# --- version-dependent behaviour --------------------------------------------------------------------------------
def test_enable_kernel_crash_dump_exists_only_from_maas_3_6(admin, maas35):
    """``enable_kernel_crash_dump`` came with MAAS 3.6: the default (3.6) emulator sends it, a 3.5 one does not and
    reports version 3.5.13."""
    assert "enable_kernel_crash_dump" in admin.get("machines/").json()[0]
    assert admin.get("version/").json()["version"] == "3.6.1"
    assert "enable_kernel_crash_dump" not in maas35.get("machines/").json()[0]
    assert maas35.get("version/").json()["version"] == "3.5.13"


def test_empty_multipart_body_is_refused_only_from_maas_3_6(admin, maas35):
    """MAAS 3.6 answers a multipart body with zero parts with 400 and an empty body; 3.5 reads it as an empty form."""
    ctype, body = multipart([])
    sid = first_ready(admin)[0]
    refused = admin.request("POST", "machines/%s/" % sid, query={"op": "release"}, raw_body=body,
                            headers={"Content-Type": ctype})
    assert (refused.status, refused.body) == (400, b"")
    sid35 = first_ready(maas35)[0]
    accepted = maas35.request("POST", "machines/%s/" % sid35, query={"op": "release"}, raw_body=body,
                              headers={"Content-Type": ctype})
    assert accepted.status == 200
