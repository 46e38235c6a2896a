# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""maas_machine run in-process against the lab MAAS emulator: every state, idempotency, check mode, diff, bad
input that must fail before any write, failed commissioning and retries under injected faults."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient
from ansible_collections.gough.gough.plugins.modules import maas_machine

MAC = "52:54:00:00:10:01"


@pytest.fixture
def lab(lab_maas_factory):
    """An emulator with two Ready machines, zone rack-a, pool compute and tags rack-a and gpu; fast commissioning."""
    emulator = lab_maas_factory(machines=2)
    client = MAASClient(emulator.url, emulator.api_key)
    emulator.configure(commission_seconds=0.2)
    client.post("zones/", data={"name": "rack-a"})
    client.post("resourcepools/", data={"name": "compute"})
    for tag in ("rack-a", "gpu"):
        client.post("tags/", data={"name": tag})
    emulator.client = client
    emulator.ready = [(m["system_id"], m["hostname"]) for m in client.get("machines/")]
    emulator.reset_stats()
    try:
        yield emulator
    finally:
        client.close()


def args(lab, **options):
    options.setdefault("url", lab.url)
    options.setdefault("api_key", lab.api_key)
    options.setdefault("poll_interval", 0.05)
    return options


def new_machine(lab, **options):
    """Options that enlist a manual-power amd64 machine node-x with one MAC."""
    base = dict(hostname="node-x", mac_addresses=[MAC], architecture="amd64", power_type="manual")
    base.update(options)
    return args(lab, **base)


def by_hostname(lab, hostname):
    found = lab.client.get("machines/", params={"hostname": hostname})
    return found[0] if found else None


def test_present_enlists_a_new_machine_that_stays_new_then_changes_nothing(lab, run_module, return_doc_problems):
    options = new_machine(lab, zone="rack-a", pool="compute", tags=["rack-a"], description="spare",
                          mac_addresses=["52-54-00-00-10-01"])
    result = run_module(maas_machine, options)
    assert result["changed"] is True, result
    assert result["actions"] == ["create", "tag rack-a"]
    machine = result["machine"]
    assert machine["status"] == "New" and machine["hostname"] == "node-x"
    assert machine["mac_addresses"] == [MAC] and machine["architecture"] == "amd64/generic"
    assert (machine["zone"], machine["pool"], machine["tags"], machine["description"]) == (
        "rack-a", "compute", ["rack-a"], "spare")
    assert return_doc_problems(maas_machine, result) == []
    server = by_hostname(lab, "node-x")
    assert server["status_name"] == "New" and server["tag_names"] == ["rack-a"]
    writes = lab.stats()["writes"]
    again = run_module(maas_machine, options)
    assert again["changed"] is False and again["actions"] == []
    assert again["machine"] == dict(machine, fqdn=again["machine"]["fqdn"])
    assert lab.stats()["writes"] == writes


def test_present_updates_only_the_fields_that_differ_with_one_put(lab, run_module):
    sid, hostname = lab.ready[0]
    result = run_module(maas_machine, args(lab, system_id=sid, hostname="renamed", zone="rack-a",
                                           description="moved", _ansible_diff=True))
    assert result["changed"] is True
    assert result["actions"] == ["update description, hostname, zone"]
    assert result["diff"]["before"]["hostname"] == hostname and result["diff"]["after"]["hostname"] == "renamed"
    assert result["diff"]["before"]["zone"] == "default" and result["diff"]["after"]["zone"] == "rack-a"
    stats = lab.stats()
    assert stats["by_op"]["PUT machines/{system_id}/ update"] == 1 and stats["writes"] == 1
    fresh = lab.client.get_machine(sid)
    assert (fresh["hostname"], fresh["zone"]["name"], fresh["description"]) == ("renamed", "rack-a", "moved")


def test_pool_and_domain_given_by_numeric_id_change_nothing_on_a_rerun(lab, run_module):
    sid = lab.ready[0][0]
    pool = [p for p in lab.client.get("resourcepools/") if p["name"] == "compute"][0]
    domain = lab.client.get("domains/")[0]
    options = args(lab, system_id=sid, pool=str(pool["id"]), domain=str(domain["id"]))
    first = run_module(maas_machine, options)
    assert first.get("failed") is not True, first.get("msg")
    assert first["machine"]["pool"] == "compute" and first["machine"]["domain"] == domain["name"]
    writes = lab.stats()["writes"]
    again = run_module(maas_machine, options)
    assert again["changed"] is False and again["actions"] == []
    assert lab.stats()["writes"] == writes


def test_machine_found_by_mac_is_renamed(lab, run_module):
    lab.client.post("machines/", data={"hostname": "auto-1", "architecture": "amd64", "mac_addresses": MAC,
                                       "power_type": "manual", "commission": False})
    result = run_module(maas_machine, args(lab, hostname="node-x", mac_addresses=[MAC.upper()]))
    assert result["changed"] is True and result["machine"]["hostname"] == "node-x"
    assert by_hostname(lab, "auto-1") is None


def test_tags_are_added_and_purged_with_update_nodes(lab, run_module):
    sid = lab.ready[0][0]
    lab.client.post("tags/gpu/", op="update_nodes", data={"add": sid})
    lab.reset_stats()
    kept = run_module(maas_machine, args(lab, system_id=sid, tags=["rack-a"]))
    assert kept["machine"]["tags"] == ["gpu", "rack-a"]
    purged = run_module(maas_machine, args(lab, system_id=sid, tags=["rack-a"], purge_tags=True))
    assert purged["actions"] == ["untag gpu"] and purged["machine"]["tags"] == ["rack-a"]
    assert lab.stats()["by_op"]["POST tags/{name}/ update_nodes"] == 2


def test_power_parameters_are_compared_and_passwords_hidden(lab, run_module):
    options = new_machine(lab, power_type="ipmi", power_parameters={"power_address": "10.0.0.5", "power_user": "maas"},
                          power_password="s3cr3t-pass", _ansible_diff=True)
    result = run_module(maas_machine, options)
    assert result["changed"] is True
    sid = result["machine"]["system_id"]
    stored = lab.client.get("machines/%s/" % sid, op="power_parameters")
    assert stored["power_pass"] == "s3cr3t-pass" and stored["power_address"] == "10.0.0.5"
    assert "s3cr3t-pass" not in repr(result)
    assert result["diff"]["after"]["power_parameters"]["power_pass"] == "********"
    again = run_module(maas_machine, options)
    assert again["changed"] is False
    moved = run_module(maas_machine, dict(options, power_parameters={"power_address": "10.0.0.6"}))
    assert moved["actions"] == ["update power_parameters"]
    assert lab.client.get("machines/%s/" % sid, op="power_parameters")["power_address"] == "10.0.0.6"


def test_a_numeric_power_password_is_hidden_in_the_result(lab, run_module):
    options = new_machine(lab, power_type="ipmi", _ansible_diff=True,
                          power_parameters={"power_address": "10.0.0.5", "power_pass": 98765432123})
    result = run_module(maas_machine, options)
    assert result["changed"] is True, result
    assert "98765432123" not in repr(result)
    assert result["invocation"]["module_args"]["power_parameters"]["power_address"] == "10.0.0.5"


@pytest.mark.parametrize("drop,bad", [
    (("hostname", "mac_addresses"), {}),  # required_one_of fails in AnsibleModule itself
    ((), {"no_such_option": 1}),          # so does an unsupported option
    ((), {"state": "deployed"}),          # and a value outside the choices
])
def test_a_power_password_is_hidden_when_argument_validation_fails(lab, run_module, drop, bad):
    options = new_machine(lab, power_type="ipmi",
                          power_parameters={"power_address": "10.0.0.5", "power_pass": "bmc-s3cret-77"})
    for name in drop:
        del options[name]
    options.update(bad)
    result = run_module(maas_machine, options)
    assert result["failed"] is True
    assert "bmc-s3cret-77" not in repr(result)
    assert lab.stats()["requests_total"] == 0


def test_ready_commissions_a_new_machine_and_waits_for_ready(lab, run_module, return_doc_problems):
    result = run_module(maas_machine, new_machine(lab, state="commissioned", testing_scripts=[], enable_ssh=True))
    assert result["changed"] is True, result
    assert result["actions"] == ["create", "commission"]
    assert result["machine"]["status"] == "Ready"
    assert return_doc_problems(maas_machine, result) == []
    sid = result["machine"]["system_id"]
    assert lab.stats()["machine_ops"][sid] == {"create": 1, "commission": 1}
    again = run_module(maas_machine, new_machine(lab, state="ready"))
    assert again["changed"] is False


def test_ready_recommissions_a_broken_machine(lab, run_module):
    sid = lab.ready[0][0]
    # MAAS lets only the owner mark a machine broken.
    lab.client.post("machines/", op="allocate", data={"system_id": sid})
    lab.client.machine_op(sid, "mark_broken", data={"comment": "bad disk"})
    result = run_module(maas_machine, args(lab, system_id=sid, state="ready"))
    assert result["actions"] == ["commission"] and result["machine"]["status"] == "Ready"


def test_ready_leaves_a_deployed_machine_alone_so_provisioning_reruns_are_idempotent(lab, run_module):
    sid = lab.ready[0][0]
    lab.configure(deploy_seconds=0)
    lab.client.machine_op(sid, "deploy")
    lab.reset_stats()
    result = run_module(maas_machine, args(lab, system_id=sid, state="ready"))
    assert result["changed"] is False and result["actions"] == [], result
    assert result["machine"]["status"] == "Deployed"
    assert lab.client.get_machine(sid)["status_name"] == "Deployed"
    assert lab.stats()["writes"] == 0


def test_ready_refuses_a_failed_deployment_without_writing(lab, run_module):
    sid = lab.ready[0][0]
    lab.configure(deploy_seconds=0, fail_deploy=1.0)
    lab.client.machine_op(sid, "deploy")
    assert lab.client.get_machine(sid)["status_name"] == "Failed deployment"
    lab.reset_stats()
    result = run_module(maas_machine, args(lab, system_id=sid, state="ready"))
    assert result["failed"] is True and result["msg"].startswith("state: ")
    assert "Failed deployment" in result["msg"] and "released" in result["msg"]
    assert lab.stats()["writes"] == 0


def test_failed_commissioning_reports_status_message_and_events(lab, run_module):
    lab.configure(fail_commission=1.0)
    result = run_module(maas_machine, new_machine(lab, state="ready"))
    assert result["failed"] is True
    assert "Commissioning of node-x" in result["msg"] and "Failed commissioning" in result["msg"]
    assert result["machine"]["status_message"] and result["machine"]["status_message"] in result["msg"]
    assert result["events"] and result["events"][0]["type"]
    assert len(result["events"]) <= 5
    assert result["actions"] == ["create", "commission"]


def test_wait_timeout_fails_naming_the_status(lab, run_module):
    lab.configure(commission_seconds=30)
    result = run_module(maas_machine, new_machine(lab, state="ready", wait_timeout=0))
    assert result["failed"] is True
    assert "did not finish within 0 seconds" in result["msg"] and "Commissioning" in result["msg"]


def test_broken_allocates_a_ready_unowned_machine_first_then_marks_it_and_is_idempotent(lab, run_module):
    """MAAS lets only a machine's owner mark it broken (403 with an empty body otherwise, even for an admin): a Ready
    machine without owner is allocated to the caller first; MAAS leaves the Broken machine without owner."""
    sid = lab.ready[0][0]
    result = run_module(maas_machine, args(lab, system_id=sid, state="broken", comment="PSU failed"))
    assert result["changed"] is True and result["machine"]["status"] == "Broken"
    assert result["actions"] == ["allocate", "mark_broken"]
    machine = lab.client.get_machine(sid)
    assert (machine["error_description"], machine["owner"]) == ("PSU failed", None)
    assert lab.stats()["machine_ops"][sid] == {"allocate": 1, "mark_broken": 1}
    again = run_module(maas_machine, args(lab, system_id=sid, state="broken", comment="PSU failed"))
    assert again["changed"] is False


def test_broken_marks_a_machine_the_caller_owns_directly(lab, run_module):
    sid = lab.ready[0][0]
    lab.client.post("machines/", op="allocate", data={"system_id": sid})
    lab.reset_stats()
    result = run_module(maas_machine, args(lab, system_id=sid, state="broken", comment="fan"))
    assert result["actions"] == ["mark_broken"] and result["machine"]["status"] == "Broken"


def test_broken_fails_before_any_write_for_a_machine_another_user_owns(lab, run_module):
    """MAAS answers 403 with an empty body when an admin marks another user's machine broken: the module says so,
    names the owner and what to do, and writes nothing."""
    sid, hostname = lab.ready[0]
    with MAASClient(lab.url, lab.user_api_key) as other:
        other.post("machines/", op="allocate", data={"system_id": sid})
    lab.reset_stats()
    result = run_module(maas_machine, args(lab, system_id=sid, state="broken", comment="fan"))
    assert result["failed"] is True and result["msg"].startswith("state: ")
    assert "allocated to user" in result["msg"] and "only a machine's owner" in result["msg"]
    assert "state=released" in result["msg"] and hostname in result["msg"]
    assert lab.stats()["writes"] == 0
    assert lab.client.get_machine(sid)["status_name"] == "Allocated"


def test_broken_fails_before_any_write_for_a_new_machine_maas_cannot_allocate(lab, run_module):
    """An unowned machine that is not Ready cannot be allocated first, so under MAAS's owner rule nobody can mark it
    broken: the module fails before writing and suggests commissioning or deleting it."""
    created = run_module(maas_machine, new_machine(lab))
    lab.reset_stats()
    result = run_module(maas_machine, args(lab, system_id=created["machine"]["system_id"], state="broken"))
    assert result["failed"] is True and "is New and has no owner" in result["msg"]
    assert "state=ready" in result["msg"] and "state=absent" in result["msg"]
    assert lab.stats()["writes"] == 0


def test_broken_in_check_mode_predicts_the_allocation_without_writing(lab, run_module):
    sid = lab.ready[0][0]
    result = run_module(maas_machine, args(lab, system_id=sid, state="broken", _ansible_check_mode=True))
    assert result["changed"] is True and result["actions"] == ["allocate", "mark_broken"]
    assert lab.stats()["writes"] == 0


def test_broken_needs_an_existing_machine(lab, run_module):
    result = run_module(maas_machine, args(lab, hostname="ghost", state="broken"))
    assert result["failed"] is True and result["msg"].startswith("state: ")


def test_absent_deletes_then_reports_no_change(lab, run_module):
    sid, hostname = lab.ready[1]
    result = run_module(maas_machine, args(lab, hostname=hostname, state="absent", _ansible_diff=True))
    assert result["changed"] is True and result["machine"] == {}
    assert result["diff"]["before"]["hostname"] == hostname and result["diff"]["after"] == {}
    assert by_hostname(lab, hostname) is None
    again = run_module(maas_machine, args(lab, system_id=sid, state="absent"))
    assert again["changed"] is False


def test_absent_refuses_a_machine_in_use_unless_forced(lab, run_module):
    sid = lab.ready[0][0]
    lab.client.post("machines/", op="allocate", data={"system_id": sid})
    lab.reset_stats()
    refused = run_module(maas_machine, args(lab, system_id=sid, state="absent"))
    assert refused["failed"] is True and refused["msg"].startswith("force: ") and "Allocated" in refused["msg"]
    assert lab.stats()["writes"] == 0
    forced = run_module(maas_machine, args(lab, system_id=sid, state="absent", force=True))
    assert forced["changed"] is True
    assert lab.client.get("machines/", params={"id": sid}) == []


@pytest.mark.parametrize("state", ["present", "ready", "broken", "absent"])
def test_check_mode_writes_nothing_and_predicts_the_result(lab, run_module, state):
    sid = lab.ready[0][0]
    if state == "ready":
        options = new_machine(lab, state="ready", tags=["gpu"])
    else:
        options = args(lab, system_id=sid, state=state, description="changed")
    result = run_module(maas_machine, dict(options, _ansible_check_mode=True, _ansible_diff=True))
    assert result["changed"] is True, result
    assert lab.stats()["writes"] == 0
    if state == "ready":
        assert result["actions"] == ["create", "tag gpu", "commission"]
        assert result["machine"]["status"] == "Ready" and result["diff"]["before"] == {}
    elif state == "absent":
        assert result["machine"] == {} and lab.client.get_machine(sid)
    else:
        assert result["diff"]["after"]["description"] == "changed"
        assert lab.client.get_machine(sid)["description"] == ""
    if state == "broken":
        assert result["machine"]["status"] == "Broken"


BAD_INPUTS = [
    ({"mac_addresses": ["52:54:00:zz:00:01"]}, "mac_addresses: "),
    ({"hostname": "bad_host"}, "hostname: "),
    ({"architecture": "x86_64"}, "architecture: "),
    ({"power_type": "ipmi", "power_parameters": {"power_user": "maas"}}, "power_parameters: power type ipmi needs "
                                                                         "power_address."),
    ({"power_type": "virsh", "power_parameters": {"power_address": "qemu:///system"}}, "power_parameters: power type "
                                                                                       "virsh needs power_id."),
    ({"power_type": "lxd", "power_parameters": {}}, "power_parameters: power type lxd needs power_address, "
                                                    "instance_name."),
    ({"zone": "rack-z"}, "zone: MAAS has no zone named rack-z."),
    ({"pool": "nope"}, "pool: MAAS has no resource pool named nope."),
    ({"domain": "example.org"}, "domain: MAAS has no domain named example.org."),
    ({"tags": ["gpu", "ssd"]}, "tags: MAAS has no tag named ssd."),
    ({"architecture": None}, "architecture: required"),
]


@pytest.mark.parametrize("change,message", BAD_INPUTS)
def test_bad_input_fails_naming_the_field_before_any_write(lab, run_module, change, message):
    options = new_machine(lab, state="ready")
    options.update(change)
    result = run_module(maas_machine, options)
    assert result["failed"] is True
    assert result["msg"].startswith(message), result["msg"]
    assert lab.stats()["writes"] == 0


def test_unknown_power_type_is_refused_by_its_choices(lab, run_module):
    result = run_module(maas_machine, new_machine(lab, power_type="ilo9"))
    assert result["failed"] is True and "power_type" in result["msg"]
    assert lab.stats()["requests_total"] == 0


def test_mac_of_another_interface_is_refused_on_an_existing_machine(lab, run_module):
    sid = lab.ready[0][0]
    result = run_module(maas_machine, args(lab, system_id=sid, mac_addresses=["52:54:00:99:99:99"]))
    assert result["failed"] is True and result["msg"].startswith("mac_addresses: 52:54:00:99:99:99 not on machine")
    assert lab.stats()["writes"] == 0


def test_unknown_system_id_fails(lab, run_module):
    result = run_module(maas_machine, args(lab, system_id="nosuch"))
    assert result["failed"] is True and result["msg"] == "system_id: MAAS has no machine nosuch."


def test_one_create_and_one_commission_per_machine_under_faults(lab, run_module):
    lab.configure(fault_503=0.1, fault_reset=0.05, commission_seconds=0.1)
    sids = []
    for index in range(8):
        mac = "52:54:00:00:20:%02x" % index
        result = run_module(maas_machine, new_machine(lab, hostname="fault-%d" % index, mac_addresses=[mac],
                                                      state="ready", retries=10))
        assert result.get("failed") is not True, result["msg"]
        assert result["machine"]["status"] == "Ready"
        sids.append(result["machine"]["system_id"])
    stats = lab.stats()
    faults = stats["faults"]
    assert faults["503"] + faults["reset_before"] + faults["reset_after"] > 0
    for sid in sids:
        ops = stats["machine_ops"][sid]
        assert ops.get("commission") == 1 and ops.get("create") == 1, (sid, ops)


def deployed(lab, index=0):
    """Deploy the lab's Ready machine ``index``; return its system ID, hostname and boot MAC. Stats are reset."""
    sid, hostname = lab.ready[index]
    lab.configure(deploy_seconds=0)
    lab.client.machine_op(sid, "deploy")
    # With deploy_seconds=0 the emulator's clock still moves the machine on after the deploy's answer: on a loaded
    # machine it can be read as Deploying first. Bounded wait.
    deadline = time.monotonic() + 10
    while lab.client.get_machine(sid)["status_name"] != "Deployed" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert lab.client.get_machine(sid)["status_name"] == "Deployed"
    lab.reset_stats()
    return sid, hostname, lab.client.get_machine(sid)["interface_set"][0]["mac_address"]


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_deployed_machine_found_by_mac_is_not_renamed_and_nothing_is_written(lab, run_module, check_mode):
    """The issue's reproduction: hostname=ok4 with the MAC of a Deployed machine used to rename it to ok4 (its DNS
    name) and report success. It now fails before any write, naming both hostnames and the MAC; so does check mode."""
    sid, hostname, mac = deployed(lab)
    result = run_module(maas_machine, args(lab, hostname="ok4", mac_addresses=[mac], power_type="manual",
                                           _ansible_check_mode=check_mode))
    assert result["failed"] is True and result["msg"].startswith("hostname: "), result
    for name in (hostname, "ok4", mac, "Deployed", "rename_in_use=true"):
        assert name in result["msg"]
    assert lab.stats()["writes"] == 0
    assert lab.client.get_machine(sid)["hostname"] == hostname


def test_a_machine_in_use_is_renamed_when_rename_in_use_is_set(lab, run_module):
    sid, hostname, mac = deployed(lab)
    result = run_module(maas_machine, args(lab, hostname="ok4", mac_addresses=[mac], rename_in_use=True))
    assert result["changed"] is True and result["actions"] == ["update hostname"], result
    assert result["plan"] == [{"action": "update", "args": {"hostname": "ok4"}}]
    assert lab.client.get_machine(sid)["hostname"] == "ok4" and by_hostname(lab, hostname) is None
    assert lab.stats()["writes"] == 1


def test_a_ready_machine_found_by_mac_is_renamed_without_the_option(lab, run_module):
    sid, hostname = lab.ready[0]
    mac = lab.client.get_machine(sid)["interface_set"][0]["mac_address"]
    result = run_module(maas_machine, args(lab, hostname="ok4", mac_addresses=[mac]))
    assert result["changed"] is True and result["machine"]["hostname"] == "ok4", result
    assert by_hostname(lab, hostname) is None


def test_an_allocated_machine_given_by_system_id_is_not_renamed_without_the_option(lab, run_module):
    sid, hostname = lab.ready[0]
    lab.client.post("machines/", op="allocate", data={"system_id": sid})
    lab.reset_stats()
    refused = run_module(maas_machine, args(lab, system_id=sid, hostname="ok4", description="x"))
    assert refused["failed"] is True
    assert refused["msg"].startswith("hostname: system_id %s is machine %s" % (sid, hostname))
    assert "ok4" in refused["msg"] and "Allocated" in refused["msg"]
    assert lab.stats()["writes"] == 0
    renamed = run_module(maas_machine, args(lab, system_id=sid, hostname="ok4", rename_in_use=True))
    assert renamed["machine"]["hostname"] == "ok4" and renamed["machine"]["status"] == "Allocated"


def test_renaming_to_the_hostname_of_another_machine_fails_before_any_write(lab, run_module):
    """MAAS hostnames are unique (MAAS answers 400 "Node with hostname ... already exists."): the module says which
    machine has the name before it sends anything."""
    (sid, hostname), (other_sid, other) = lab.ready
    result = run_module(maas_machine, args(lab, system_id=sid, hostname=other))
    assert result["failed"] is True and result["msg"].startswith("hostname: %s is machine %s (%s)"
                                                                 % (other, other, other_sid))
    assert hostname in result["msg"] and sid in result["msg"]
    assert lab.stats()["writes"] == 0


def test_mac_of_another_machine_is_refused_naming_that_machine(lab, run_module):
    (sid, hostname), (other_sid, other) = lab.ready
    mac = lab.client.get_machine(other_sid)["interface_set"][0]["mac_address"]
    result = run_module(maas_machine, args(lab, hostname=hostname, mac_addresses=[mac], description="x"))
    assert result["failed"] is True
    assert result["msg"].startswith("mac_addresses: %s not on machine %s (%s)" % (mac, hostname, sid))
    assert "belong to machine %s (%s)" % (other, other_sid) in result["msg"]
    assert lab.stats()["writes"] == 0


@pytest.mark.parametrize("found_by", ["mac_addresses", "system_id"])
def test_absent_deletes_nothing_when_hostname_names_another_machine(lab, run_module, found_by):
    """Deleting is worse than renaming: a mistyped hostname beside the MAC or system ID of a Ready machine fails."""
    sid, hostname = lab.ready[0]
    mac = lab.client.get_machine(sid)["interface_set"][0]["mac_address"]
    ident = {"mac_addresses": [mac]} if found_by == "mac_addresses" else {"system_id": sid}
    result = run_module(maas_machine, args(lab, hostname="ok4", state="absent", **ident))
    assert result["failed"] is True and result["msg"].startswith("hostname: ")
    assert hostname in result["msg"] and "ok4" in result["msg"] and "nothing is deleted" in result["msg"]
    assert lab.stats()["writes"] == 0 and lab.client.get_machine(sid)


@pytest.mark.parametrize("options", [
    dict(zone="rack-a", tags=["gpu"], description="moved"),
    dict(state="ready", hostname="fresh", mac_addresses=["52:54:00:00:10:77"], architecture="amd64",
         power_type="manual", tags=["rack-a"]),
    dict(state="broken", comment="fan"),
])
def test_a_real_run_executes_exactly_the_plan_check_mode_returned(lab, run_module, options):
    sid = lab.ready[0][0]
    if "mac_addresses" not in options:
        options = dict(options, system_id=sid)
    checked = run_module(maas_machine, args(lab, _ansible_check_mode=True, **options))
    assert checked["changed"] is True and lab.stats()["writes"] == 0
    done = run_module(maas_machine, args(lab, **options))
    assert done["plan"] == checked["plan"] and done["actions"] == checked["actions"], (checked, done)
    # What MAAS chooses (IDs, defaults for zone, pool and domain, interfaces commissioning finds) is not predicted.
    predicted = dict((k, v) for k, v in checked["machine"].items() if v not in ("", None) and k not in (
        "system_id", "fqdn", "status_message", "power_state", "ip_addresses", "mac_addresses"))
    assert dict((k, done["machine"][k]) for k in predicted) == predicted
    assert set(checked["machine"]["mac_addresses"]) <= set(done["machine"]["mac_addresses"])


@pytest.mark.parametrize("options, field, message", [
    ({"timeout": 0}, "timeout", "timeout: must be a positive number of seconds, got 0."),
    ({"wait_timeout": -1}, "wait_timeout", "wait_timeout: must be 0 or more seconds, got -1."),
    ({"poll_interval": 0}, "poll_interval", "poll_interval: must be a positive number of seconds, got 0."),
    ({"wait_timeout": 5, "poll_interval": 10}, "poll_interval",
     "poll_interval: must not be longer than wait_timeout (10 > 5 seconds)."),
])
def test_connection_and_wait_mistakes_fail_with_the_framework_messages_before_any_request(
        run_module, options, field, message):
    """The same mistake gives the same message and field as in every module on GoughModule; nothing listens on port
    9, so a request would fail with another message."""
    result = run_module(maas_machine, dict(url="http://127.0.0.1:9/MAAS", api_key="consumer:token:secret-value",
                                           hostname="node-x", **options))
    assert result["failed"] is True
    assert (result["msg"], result["field"]) == (message, field)
