"""Allocation and release as ``maas_deploy`` does them for a ``count`` of machines: ``POST machines/?op=allocate``
with constraints and ``agent_name``, the set found again by ``machines/?agent_name=``, and ``op=release``.

On a real MAAS only Ready machines carrying ``GOUGH_CONTRACT_USE_TAG`` are allocated (the tag is a constraint of
every allocate here); without it these tests are skipped."""

import pytest

from conftest import CONFIG, MAASError, status_name
from contract_support import RELEASING, wait_for


def test_allocate_by_tag_gives_an_allocated_machine_owned_by_the_caller(client, run, me, spare_tag):
    """allocate with ``tags`` and ``agent_name`` answers the machine in Allocated (10), owned by the caller;
    ``machines/?agent_name=`` finds it; release brings it back to Ready without an owner."""
    ready = client.get("machines/", params={"tags": [spare_tag], "status": "ready"})
    if not [m for m in ready if not m.get("owner") and not m.get("locked")]:
        pytest.skip("no Ready, unowned machine carries tag %s: allocate and release need one" % spare_tag)
    form = {"tags": [spare_tag], "agent_name": run.agent_name, "comment": "gough contract run"}
    machine = client.post("machines/", op="allocate", data=form)
    sid = machine["system_id"]
    assert machine["status"] == 10 and status_name(machine) == "Allocated"
    assert machine["owner"] == me["username"]
    assert spare_tag in machine["tag_names"]
    members = client.get("machines/", params={"agent_name": run.agent_name})
    assert [m["system_id"] for m in members] == [sid]

    released = client.machine_op(sid, "release", data={"comment": "gough contract run"})
    # MAAS's _finalize_release goes back to New, not Ready, when the machine has no passed commissioning.
    assert status_name(released) != "New", (
        "%s was released to New: MAAS does that to a machine without passed commissioning results, so the spare "
        "machines tagged %s must be commissioned ones" % (released["hostname"], spare_tag))
    assert status_name(released) in ("Ready",) + RELEASING
    final = wait_for(lambda: client.get_machine(sid), lambda m: status_name(m) == "Ready", CONFIG.release_timeout)
    assert status_name(final) == "Ready" and final["owner"] is None


def test_release_of_a_ready_machine_is_a_no_op(client, spare_tag):
    """``op=release`` on a Ready machine answers 200 and leaves it Ready (maas_deploy's rerun of a release)."""
    ready = [m for m in client.get("machines/", params={"tags": [spare_tag], "status": "ready"})
             if not m.get("owner") and not m.get("locked")]
    if not ready:
        pytest.skip("no Ready, unowned machine carries tag %s" % spare_tag)
    answer = client.machine_op(ready[0]["system_id"], "release")
    assert status_name(answer) == "Ready"


def test_allocate_with_no_match_is_409_text(client, run, spare_tag):
    """No matching machine: 409 with MAAS's text ``No available machine matches constraints: ...`` and nothing
    allocated (maas_deploy reports it)."""
    with pytest.raises(MAASError) as caught:
        client.post("machines/", op="allocate",
                    data={"tags": [spare_tag], "cpu_count": 100000, "agent_name": run.agent_name})
    assert caught.value.status == 409
    assert caught.value.field_errors is None
    assert caught.value.maas_message.startswith("No available machine matches constraints:")
    assert client.get("machines/", params={"agent_name": run.agent_name}) == []


def test_allocate_of_a_new_machine_by_system_id_is_409(client, run, machine):
    """allocate ``system_id=`` of a machine that is not Ready: 409 ``No machine with system ID X available.``"""
    with pytest.raises(MAASError) as caught:
        client.post("machines/", op="allocate", data={"system_id": machine["system_id"], "agent_name": run.agent_name})
    assert caught.value.status == 409
    assert caught.value.maas_message == "No machine with system ID %s available." % machine["system_id"]
    assert status_name(client.get_machine(machine["system_id"])) == "New"


def test_allocate_with_unknown_tag_is_400_naming_tags(client, run):
    """An unknown tag constraint gives 400 naming ``tags`` (maas_deploy: "MAAS refused the constraints")."""
    missing = run.name("missing")
    with pytest.raises(MAASError) as caught:
        # The impossible cpu_count keeps any machine from being taken should a MAAS ever ignore the unknown tag.
        client.post("machines/", op="allocate",
                    data={"tags": [missing], "cpu_count": 100000, "agent_name": run.agent_name})
    assert caught.value.status == 400
    assert caught.value.field_errors == {"tags": ["No such tag(s): '%s'." % missing]}
    assert client.get("machines/", params={"agent_name": run.agent_name}) == []
