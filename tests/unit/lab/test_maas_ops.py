"""Per-machine operations, allocation and the status machine, with MAAS's error codes and bodies."""

import base64

from conftest import MAASClient


def first_ready(client):
    return [m["system_id"] for m in client.get("machines/").json() if m["status_name"] == "Ready"]


def deploy(client, sid, **params):
    return client.op("machines/%s/" % sid, "deploy", dict({"distro_series": "jammy"}, **params))


def deployed(client, sid):
    assert deploy(client, sid).status == 200
    return client.wait_status(sid, {"Deployed"})


# --- deploy -----------------------------------------------------------------------------------------------------
def test_deploy_ready_machine_allocates_to_caller_and_completes_on_timer(admin):
    sid = first_ready(admin)[0]
    user_data = base64.b64encode(b"#cloud-config\npackages: [htop]\n").decode()
    response = deploy(admin, sid, user_data=user_data, agent_name="gough", distro_series="ubuntu/jammy")
    assert response.status == 200, response
    data = response.json()
    assert data["status_name"] == "Deploying" and data["owner"] == "admin"
    assert data["osystem"] == "ubuntu" and data["distro_series"] == "jammy" and data["ip_addresses"]
    done = admin.wait_status(sid, {"Deployed", "Failed deployment"})
    assert done["status_name"] == "Deployed" and done["power_state"] == "on"
    assert done["status_message"] == "Deployed"
    assert [m["system_id"] for m in admin.get("machines/", {"agent_name": "gough"}).json()] == [sid]


def test_deploy_accepts_version_numbers_as_series(admin):
    sid = first_ready(admin)[0]
    assert deploy(admin, sid, distro_series="24.04").json()["distro_series"] == "noble"


def test_deploy_with_bad_series_is_400_listing_choices(admin):
    sid = first_ready(admin)[0]
    response = deploy(admin, sid, distro_series="bionic")
    assert response.status == 400
    message = response.json()["distro_series"][0]
    assert message.startswith("'bionic' is not a valid distro_series.  It should be one of: ''")
    assert "'ubuntu/jammy'" in message


def test_deploy_with_bad_base64_user_data_is_400(admin):
    response = deploy(admin, first_ready(admin)[0], user_data="not base64!!")
    assert response.status == 400 and "user_data" in response.json()


def test_deploy_from_failed_deployment_is_409(lab, admin):
    lab.configure(fail_deploy=1.0)
    sid = first_ready(admin)[0]
    deploy(admin, sid)
    failed = admin.wait_status(sid, {"Failed deployment"})
    assert failed["status_message"].startswith("Failed deployment - Node installation failure")
    assert failed["error_description"]
    response = deploy(admin, sid)
    assert response.status == 409
    assert response.text == "Can't deploy a machine that is in the 'Failed deployment' state"
    events = admin.get("events/", {"op": "query", "id": sid}).json()["events"]
    assert events[0]["type"] == "Failed deployment" and events[0]["level"] == "ERROR"


def test_deploy_machine_owned_by_someone_else_is_403_empty(admin, user):
    sid = first_ready(admin)[0]
    admin.op("machines/", "allocate", {"system_id": sid})
    response = deploy(user, sid)
    assert response.status == 403 and response.body == b""


# --- commission -------------------------------------------------------------------------------------------------
def test_commission_ready_machine_runs_again(admin):
    sid = first_ready(admin)[0]
    response = admin.op("machines/%s/" % sid, "commission", {"enable_ssh": "1", "skip_networking": "0"})
    assert response.status == 200 and response.json()["status_name"] == "Commissioning"
    assert admin.wait_status(sid, {"Ready"})["commissioning_status_name"] == "Passed"


def test_commission_from_deployed_is_400_form_error(admin):
    sid = first_ready(admin)[0]
    deployed(admin, sid)
    response = admin.op("machines/%s/" % sid, "commission", {"enable_ssh": "0"})
    assert response.status == 400
    assert response.json() == {"__all__": ["Commission is not available because of the current state of the node."]}


def test_commission_is_admin_only(admin, user):
    response = user.op("machines/%s/" % first_ready(admin)[0], "commission", {"enable_ssh": "0"})
    assert response.status == 403 and response.body == b""


def test_failed_commissioning_sets_status_message_and_event(lab, admin):
    lab.configure(fail_commission=1.0)
    sid = first_ready(admin)[0]
    admin.op("machines/%s/" % sid, "commission", {"enable_ssh": "0"})
    failed = admin.wait_status(sid, {"Failed commissioning"})
    assert failed["status_message"].startswith("Failed commissioning - ")
    assert failed["commissioning_status_name"] == "Failed"
    assert admin.op("machines/%s/" % sid, "commission", {"enable_ssh": "0"}).status == 200


# --- release ----------------------------------------------------------------------------------------------------
def test_release_with_erase_goes_through_disk_erasing_to_ready(admin):
    sid = first_ready(admin)[0]
    deployed(admin, sid)
    response = admin.op("machines/%s/" % sid, "release", {"erase": "true", "quick_erase": "true", "comment": "bye"})
    assert response.status == 200 and response.json()["status_name"] == "Disk erasing"
    ready = admin.wait_status(sid, {"Ready"})
    assert ready["owner"] is None and ready["ip_addresses"] == [] and ready["distro_series"] == ""


def test_release_plain_goes_through_releasing(admin):
    sid = first_ready(admin)[0]
    deployed(admin, sid)
    assert admin.op("machines/%s/" % sid, "release", {"comment": "x"}).json()["status_name"] == "Releasing"
    admin.wait_status(sid, {"Ready"})


def test_release_ready_is_a_noop(admin, lab):
    sid = first_ready(admin)[0]
    lab.reset_stats()
    response = admin.op("machines/%s/" % sid, "release", {"comment": "x"})
    assert response.status == 200 and response.json()["status_name"] == "Ready"


def test_release_new_machine_is_409(admin):
    sid = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:10:00:01",
                                   "power_type": "manual", "commission": "false"}).json()["system_id"]
    response = admin.op("machines/%s/" % sid, "release", {"comment": "x"})
    assert response.status == 409 and response.text == "Machine cannot be released in its current state ('New')."


def test_bulk_release_returns_released_ids(admin):
    ids = first_ready(admin)[:2]
    for sid in ids:
        admin.op("machines/", "allocate", {"system_id": sid})
    response = admin.op("machines/", "release", {"machines": ids})
    assert response.status == 200 and sorted(response.json()) == sorted(ids)
    for sid in ids:
        admin.wait_status(sid, {"Ready"})


def test_bulk_release_with_bad_state_is_409_and_changes_nothing(admin):
    ids = first_ready(admin)[:2]
    admin.op("machines/", "allocate", {"system_id": ids[0]})
    new = admin.post("machines/", {"architecture": "amd64", "mac_addresses": "52:54:00:10:00:02",
                                   "power_type": "manual", "commission": "false"}).json()["system_id"]
    response = admin.op("machines/", "release", {"machines": [ids[0], new]})
    assert response.status == 409
    assert admin.machine(ids[0])["status_name"] == "Allocated"


# --- abort, broken, fixed ---------------------------------------------------------------------------------------
def test_abort_deploying_returns_to_allocated(lab, admin):
    lab.configure(deploy_seconds=30)
    sid = first_ready(admin)[0]
    deploy(admin, sid)
    response = admin.op("machines/%s/" % sid, "abort", {"comment": "stop"})
    assert response.status == 200 and response.json()["status_name"] == "Allocated"


def test_abort_commissioning_returns_to_new(lab, admin):
    lab.configure(commission_seconds=30)
    sid = first_ready(admin)[0]
    admin.op("machines/%s/" % sid, "commission", {"enable_ssh": "0"})
    assert admin.op("machines/%s/" % sid, "abort", {"comment": "stop"}).json()["status_name"] == "New"


def test_abort_disk_erasing_fails_the_erase(lab, admin):
    sid = first_ready(admin)[0]
    deployed(admin, sid)
    lab.configure(erase_seconds=30)
    admin.op("machines/%s/" % sid, "release", {"erase": "true"})
    assert admin.op("machines/%s/" % sid, "abort", {"comment": "stop"}).json()["status_name"] == "Failed disk erasing"


def test_abort_ready_is_409(admin):
    sid = first_ready(admin)[0]
    response = admin.op("machines/%s/" % sid, "abort", {"comment": "x"})
    assert response.status == 409
    assert response.text == "Cannot abort in current state: node %s is in state Ready." % sid


def test_mark_broken_and_fixed_return_deployed_machine_to_deployed(admin):
    sid = first_ready(admin)[0]
    deployed(admin, sid)
    broken = admin.op("machines/%s/" % sid, "mark_broken", {"comment": "disk smoke"}).json()
    assert broken["status_name"] == "Broken" and broken["error_description"] == "disk smoke"
    fixed = admin.op("machines/%s/" % sid, "mark_fixed", {"comment": "new disk"}).json()
    assert fixed["status_name"] == "Deployed" and fixed["error_description"] == ""


def test_mark_broken_ready_then_fixed_is_ready(admin):
    sid = first_ready(admin)[0]
    admin.op("machines/", "allocate", {"system_id": sid})
    broken = admin.op("machines/%s/" % sid, "mark_broken", {"comment": "psu"}).json()
    assert broken["status_name"] == "Broken" and broken["owner"] is None
    assert admin.op("machines/%s/" % sid, "mark_fixed", {"comment": "ok"}).json()["status_name"] == "Ready"


def test_mark_broken_of_a_machine_the_caller_does_not_own_is_403_empty_even_for_an_admin(admin, user):
    """MAAS 3.5/3.6 ``MachineHandler.mark_broken`` raises MAASAPIForbidden unless ``node.owner == request.user``:
    403 with an empty body, for admins too, on unowned machines (a Broken one included) and others' machines."""
    sid, other = first_ready(admin)[:2]
    response = admin.op("machines/%s/" % sid, "mark_broken", {"comment": "psu"})
    assert (response.status, response.body) == (403, b"")
    assert admin.machine(sid)["status_name"] == "Ready"
    user.op("machines/", "allocate", {"system_id": other})
    response = admin.op("machines/%s/" % other, "mark_broken", {"comment": "psu"})
    assert (response.status, response.body) == (403, b"")
    assert user.op("machines/%s/" % other, "mark_broken", {"comment": "psu"}).json()["status_name"] == "Broken"
    again = user.op("machines/%s/" % other, "mark_broken", {"comment": "psu"})
    assert (again.status, again.body) == (403, b"")


def test_mark_fixed_non_broken_is_409_and_admin_only(admin, user):
    sid = first_ready(admin)[0]
    response = admin.op("machines/%s/" % sid, "mark_fixed", {"comment": "x"})
    assert response.status == 409 and response.text == "Can't mark a non-broken node as 'Ready'."
    assert user.op("machines/%s/" % sid, "mark_fixed", {"comment": "x"}).status == 403


def test_mark_broken_needs_owner_for_users(admin, user):
    sid = first_ready(admin)[0]
    assert user.op("machines/%s/" % sid, "mark_broken", {"comment": "x"}).status == 403
    user.op("machines/", "allocate", {"system_id": sid})
    assert user.op("machines/%s/" % sid, "mark_broken", {"comment": "x"}).json()["status_name"] == "Broken"


# --- power ------------------------------------------------------------------------------------------------------
def test_power_on_unallocated_is_409(admin):
    response = admin.op("machines/%s/" % first_ready(admin)[0], "power_on", {"comment": "x"})
    assert response.status == 409 and response.text == "Can't start node: it hasn't been allocated."


def test_power_on_off_and_query(admin):
    sid = first_ready(admin)[0]
    admin.op("machines/", "allocate", {"system_id": sid})
    assert admin.op("machines/%s/" % sid, "power_on", {"comment": "x"}).json()["power_state"] == "on"
    assert admin.get("machines/%s/" % sid, query={"op": "query_power_state"}).json() == {"state": "on"}
    assert admin.op("machines/%s/" % sid, "power_off", {"stop_mode": "soft"}).json()["power_state"] == "off"
    assert admin.post("machines/%s/" % sid, query={"op": "query_power_state"}).status == 400


# --- lock -------------------------------------------------------------------------------------------------------
def test_lock_rules(admin):
    sid = first_ready(admin)[0]
    response = admin.op("machines/%s/" % sid, "lock", {"comment": "x"})
    assert response.status == 409 and response.text == "Can't lock, node is not deployed or deploying"
    deployed(admin, sid)
    assert admin.op("machines/%s/" % sid, "lock", {"comment": "x"}).json()["locked"] is True
    again = admin.op("machines/%s/" % sid, "lock", {"comment": "x"})
    assert again.status == 409 and again.text == "Machine is already locked"
    blocked = admin.op("machines/%s/" % sid, "release", {"comment": "x"})
    assert blocked.status == 403 and blocked.body == b""
    assert admin.put("machines/%s/" % sid, {"description": "x"}).status == 403
    assert admin.op("machines/%s/" % sid, "unlock", {"comment": "x"}).json()["locked"] is False
    not_locked = admin.op("machines/%s/" % sid, "unlock", {"comment": "x"})
    assert not_locked.status == 409 and not_locked.text == "Machine is not locked"


# --- workload annotations -------------------------------------------------------------------------------------
def test_workload_annotations_need_acquisition_and_clear_on_release(admin):
    sid = first_ready(admin)[0]
    response = admin.op("machines/%s/" % sid, "set_workload_annotations", {"team": "infra"})
    assert response.status == 409 and response.text == "Cannot set workload annotation: it hasn't been acquired."
    admin.op("machines/", "allocate", {"system_id": sid})
    data = admin.op("machines/%s/" % sid, "set_workload_annotations", {"team": "infra", "app": "db"}).json()
    assert data["owner_data"] == {"team": "infra", "app": "db"} and data["workload_annotations"] == data["owner_data"]
    data = admin.op("machines/%s/" % sid, "set_owner_data", {"app": ""}).json()
    assert data["owner_data"] == {"team": "infra"}
    admin.op("machines/%s/" % sid, "release", {"comment": "x"})
    assert admin.wait_status(sid, {"Ready"})["owner_data"] == {}


# --- allocate ---------------------------------------------------------------------------------------------------
def test_allocate_picks_cheapest_matching_and_sets_owner(admin):
    machines = admin.get("machines/").json()
    cheapest = min(machines, key=lambda m: (m["cpu_count"] + m["memory"] / 1024.0, m["system_id"] and 0))
    response = admin.op("machines/", "allocate", {"agent_name": "gough", "comment": "for test"})
    assert response.status == 200
    data = response.json()
    assert data["status_name"] == "Allocated" and data["owner"] == "admin" and "constraints_by_type" in data
    assert data["cpu_count"] + data["memory"] / 1024.0 == cheapest["cpu_count"] + cheapest["memory"] / 1024.0


def test_allocate_by_constraints(admin):
    machines = admin.get("machines/").json()
    target = max(machines, key=lambda m: m["cpu_count"])
    admin.post("tags/", {"name": "big"})
    admin.op("tags/big/", "update_nodes", {"add": target["system_id"]})
    response = admin.op("machines/", "allocate", {"tags": "big", "cpu_count": str(target["cpu_count"]),
                                                  "mem": "1024", "arch": "amd64", "zone": "default", "pool": "default"})
    assert response.status == 200 and response.json()["system_id"] == target["system_id"]
    by_name = admin.op("machines/", "allocate", {"name": machines[0]["hostname"] + ".maas"})
    assert by_name.json()["system_id"] == machines[0]["system_id"]
    not_tagged = admin.op("machines/", "allocate", {"not_tags": "big", "not_in_zone": "nowhere-zone"})
    assert not_tagged.status == 400 and not_tagged.json() == {"not_in_zone": ["No such zone(s): nowhere-zone."]}


def test_allocate_dry_run_takes_nothing(admin):
    sid = admin.op("machines/", "allocate", {"dry_run": "true"}).json()["system_id"]
    assert admin.machine(sid)["status_name"] == "Ready"


def test_allocate_409_texts(admin):
    response = admin.op("machines/", "allocate", {"zone": "default", "cpu_count": "4096"})
    assert response.status == 409
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == ("No available machine matches constraints: [('zone', ['default']), ('cpu_count', ['4096'])]"
                             " (resolved to \"cpu_count=4096 zone=default\")")
    sid = admin.get("machines/").json()[0]["system_id"]
    admin.op("machines/", "allocate", {"system_id": sid})
    taken = admin.op("machines/", "allocate", {"system_id": sid})
    assert taken.status == 409 and taken.text == "No machine with system ID %s available." % sid
    for _count in range(7):
        assert admin.op("machines/", "allocate", {"comment": "x"}).status == 200
    assert admin.op("machines/", "allocate", {"comment": "x"}).text == "No machine available."


def test_allocate_unknown_constraint_tag_and_libmaas_not_in_zones_are_400(admin):
    assert admin.op("machines/", "allocate", {"not_in_zones": "a"}).json() == {"not_in_zones": ["No such constraint."]}
    assert admin.op("machines/", "allocate", {"tags": "nope"}).json() == {"tags": ["No such tag(s): 'nope'."]}


# --- transitions ------------------------------------------------------------------------------------------------
def test_illegal_transition_is_409_invalid_transition(lab, admin):
    lab.configure(deploy_seconds=30)
    sid = first_ready(admin)[0]
    deploy(admin, sid)
    response = admin.op("machines/%s/" % sid, "test", {"comment": "x"})
    assert response.status == 409 and response.text == "Invalid transition: Deploying -> Testing."


def test_test_op_returns_to_previous_status(admin):
    sid = first_ready(admin)[0]
    assert admin.op("machines/%s/" % sid, "test", {"comment": "x"}).json()["status_name"] == "Testing"
    assert admin.wait_status(sid, {"Ready"})["testing_status_name"] == "Passed"


def test_status_table_transitions_unit():
    from gough_lab.maas import enums  # pylint: disable=import-outside-toplevel
    assert enums.transition_allowed(enums.READY, enums.ALLOCATED)
    assert enums.transition_allowed(enums.DEPLOYING, enums.FAILED_DEPLOYMENT)
    assert not enums.transition_allowed(enums.NEW, enums.DEPLOYING)
    assert all(enums.transition_allowed(status, enums.BROKEN) for status in enums.STATUSES)
    assert enums.FAILURE_STATUS[enums.DISK_ERASING] == enums.FAILED_DISK_ERASING
    assert [enums.status_label(code) for code in (13, 18, 22)] == ["Releasing failed", "Failed to enter rescue mode",
                                                                   "Failed testing"]


def test_details_is_bson(admin):
    response = admin.get("machines/%s/" % first_ready(admin)[0], query={"op": "details"})
    assert response.status == 200 and response.headers["Content-Type"] == "application/bson"
    assert int.from_bytes(response.body[:4], "little") == len(response.body) and b"lshw" in response.body


def test_user_can_deploy_and_release_own_machine(lab, user):
    sid = first_ready(user)[0]
    assert deploy(user, sid).json()["owner"] == "user"
    user.wait_status(sid, {"Deployed"})
    assert user.op("machines/%s/" % sid, "release", {"comment": "x"}).status == 200
    other = MAASClient(lab, lab.api_key)
    assert other.machine(sid)["status_name"] in ("Releasing", "Ready")
