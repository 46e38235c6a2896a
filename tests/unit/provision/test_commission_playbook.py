"""playbooks/commission.yml (role gough.gough.commission) against the MAAS emulator: the New machines are tagged and
commissioned in one batch, machines in every other status are left alone, check mode writes nothing, a rerun
changes nothing, a bad tag name fails before any request, and the wait is bounded."""

import os
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
NEW = ("node-new-1", "node-new-2", "node-new-3", "node-new-4")

from gough_lab.testing import start_maas_emulator  # noqa: E402  pylint: disable=wrong-import-position
from playbook_run import run_playbook  # noqa: E402  pylint: disable=wrong-import-position,import-error
# pylint: disable-next=wrong-import-position,import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402


@pytest.fixture
def lab(tmp_path):
    """Two Ready machines, one Deployed, one Broken, one Commissioning (for minutes) and four New; counters zeroed."""
    emulator = start_maas_emulator(tmp_path / "maas", machines=3, extra_args=["--commission-seconds", "600"])
    try:
        with MAASClient(emulator.url, emulator.api_key) as client:
            ready = client.get("machines/")
            # MAAS lets only the owner mark a machine broken: allocate it first (MAAS then leaves it Broken, unowned).
            client.post("machines/", op="allocate", data={"system_id": ready[2]["system_id"]})
            client.machine_op(ready[2]["system_id"], "mark_broken", data={"comment": "bad disk"})
            client.post("machines/", data={"hostname": "deployed-1", "architecture": "amd64", "power_type": "manual",
                                           "mac_addresses": "52:54:00:00:02:01", "deployed": True})
            # An administrator's enlistment with a power type starts commissioning at once; it takes 600 s.
            client.post("machines/", data={"hostname": "busy-1", "architecture": "amd64", "power_type": "manual",
                                           "mac_addresses": "52:54:00:00:02:02"})
            for index, hostname in enumerate(NEW):
                client.post("machines/", data={"hostname": hostname, "architecture": "amd64", "power_type": "manual",
                                               "mac_addresses": "52:54:00:00:03:%02x" % index, "commission": False})
        emulator.configure(commission_seconds=0.3)
        emulator.before = machines(emulator)
        emulator.reset_stats()
        yield emulator
    finally:
        emulator.stop()


def machines(lab):
    """hostname -> (status, sorted tags)."""
    with MAASClient(lab.url, lab.api_key) as client:
        return dict((m["hostname"], (m["status_name"], sorted(m["tag_names"]))) for m in client.get("machines/"))


def run(lab, tmp_path, variables, *args):
    """ansible-playbook playbooks/commission.yml with ``variables``; returns (CompletedProcess, changed count)."""
    return run_playbook("commission.yml", lab, tmp_path, dict(commission_poll_interval=0.2, **variables), *args)


def test_new_machines_are_commissioned_and_tagged_others_untouched_check_mode_and_rerun_change_nothing(
        lab, tmp_path):
    # What the AWX survey sends: tags as comma-separated text.
    variables = {"commission_tags": "rack-a, discovered", "commission_testing_scripts": []}
    check, changed = run(lab, tmp_path, variables, "--check")
    assert check.rc == 0, check.stdout[-4000:]
    assert changed == 1 and lab.stats()["writes"] == 0
    assert "4 New machines would be commissioned (node-new-1, node-new-2, node-new-3, node-new-4)" in check.stdout
    assert machines(lab) == lab.before

    lab.reset_stats()
    started = time.monotonic()
    first, changed = run(lab, tmp_path, variables)
    elapsed = time.monotonic() - started
    assert first.rc == 0, first.stdout[-4000:]
    assert changed == 1
    stats = lab.stats()
    after = machines(lab)
    for hostname in NEW:
        assert after[hostname] == ("Ready", ["discovered", "rack-a"]), hostname
    for hostname, state in lab.before.items():
        if hostname not in NEW:
            assert after[hostname] == state, hostname
    assert sorted(status for status, _tags in after.values()) == ["Broken", "Commissioning", "Deployed"] + ["Ready"] * 6
    # The summary names the machines, the tags and the final statuses.
    assert ("4 New machines commissioned (node-new-1, node-new-2, node-new-3, node-new-4), tagged rack-a, "
            "discovered: 4 Ready, 0 failed") in first.stdout
    assert "node-new-1 " in first.stdout and " Ready" in first.stdout
    # Two tags created, one update_nodes each, one commission per New machine: nothing sent per other machine.
    assert stats["writes"] == 2 + 2 + 4
    assert sorted(h for h in stats["machine_ops"]) == sorted(
        m["system_id"] for m in _listed(lab) if m["hostname"] in NEW)
    print("commissioning 4 machines: %.1f s, %d requests (%d list calls)" % (
        elapsed, stats["requests_total"], stats["by_op"]["GET machines/ read"]))

    lab.reset_stats()
    again, changed = run(lab, tmp_path, variables)
    assert again.rc == 0, again.stdout[-4000:]
    assert changed == 0 and lab.stats()["writes"] == 0
    assert "No New machine to commission; nothing changed." in again.stdout


def _listed(lab):
    with MAASClient(lab.url, lab.api_key) as client:
        return client.get("machines/")


def test_a_bad_tag_name_fails_naming_it_before_any_request(lab, tmp_path):
    process, _changed = run(lab, tmp_path, {"commission_tags": ["rack-a", "rack b"]})
    assert process.rc != 0
    assert "tags: 'rack b' is not a valid MAAS tag name" in process.stdout, process.stdout[-3000:]
    assert lab.stats()["requests_total"] == 0
    assert machines(lab) == lab.before


def test_match_limits_the_batch_and_the_wait_is_bounded(lab, tmp_path):
    lab.configure(commission_seconds=300)
    started = time.monotonic()
    process, _changed = run(lab, tmp_path, {"commission_match": "node-new-1,node-new-2", "commission_timeout": 2})
    assert time.monotonic() - started < 60
    assert process.rc != 0
    assert "2 of 2 machines were not commissioned" in process.stdout
    assert "node-new-1 (" in process.stdout and "still Commissioning after wait_timeout=2s" in process.stdout
    after = machines(lab)
    assert after["node-new-1"][0] == after["node-new-2"][0] == "Commissioning"
    assert after["node-new-3"][0] == after["node-new-4"][0] == "New"
