"""roles/fleet_enroll's wait for the play's hosts, against two lab Fleet emulators: hosts whose Fleet settings
differ are waited for with their own settings, one module run (one list request per poll) for each Fleet, and each
host takes its own result. Before, the one run_once wait took the URL, token and CA of the play's first host for
every host, so the hosts of a second Fleet timed out.

The role runs with ``fleet_enroll_manage_node: false`` (the node is not touched; only the wait runs); the hosts
enroll through each emulator's osquery API, as osqueryd does. The rest of the role is tested on lab nodes
(tests/lab_nodes/test_fleet_enroll_role.py).
"""

import os
import sys

import yaml

from gough_lab.fleet.testing import start_fleet_emulator
from gough_lab.playbook_runner import run_playbook

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
WAIT_TASK = ("gough.gough.fleet_enroll : Wait until the play's hosts are enrolled and online in Fleet "
             "(one wait for each Fleet and its settings)")


def enroll(emulator, hostname, index):
    """One osquery host enrolls in ``emulator`` with the enroll secret (POST /api/osquery/enroll)."""
    body = {"enroll_secret": emulator.enroll_secret, "host_identifier": "wait-%s" % hostname,
            "host_details": {"system_info": {"hostname": hostname, "uuid": "00000000-0000-4000-8000-%012d" % index,
                                             "hardware_serial": "WAIT%06d" % index}}}
    response = emulator.osquery("enroll", body)
    assert response.status == 200 and not response.json().get("node_invalid"), response
    return response


def host_vars(emulator, fleet, name):
    """Inventory variables of a host that enrolls in ``emulator`` (the role leaves the node alone)."""
    return {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
            "fleet_enroll_url": emulator.url, "fleet_enroll_api_token": emulator.api_token,
            "fleet_enroll_ca_cert": emulator.ca_cert, "fleet_enroll_secret": emulator.enroll_secret,
            "fleet_enroll_node_address": "fleet-%s.lab:8412" % fleet, "fleet_enroll_hostname": name}


def run_role(tmp_path, hosts, timeout):
    """The fleet_enroll role on ``hosts`` (inventory variables by name), then each host's Fleet host shown."""
    playbook = tmp_path / "enroll.yml"
    playbook.write_text(yaml.safe_dump([{
        "name": "Wait for two Fleets' hosts", "hosts": "all", "gather_facts": False,
        "vars": {"fleet_enroll_manage_node": False, "fleet_enroll_poll_interval": 0.3,
                 "fleet_enroll_timeout": timeout},
        "roles": ["gough.gough.fleet_enroll"],
        "tasks": [{"name": "Show the Fleet host", "ansible.builtin.debug": {"var": "fleet_enroll_host.hostname"}},
                  {"name": "Show the Fleet host id", "ansible.builtin.debug": {"var": "fleet_enroll_host.id"}}]}]))
    return run_playbook(str(playbook), str(tmp_path / "job"), inventory={"all": {"hosts": hosts}},
                        envvars={"ANSIBLE_LOCALHOST_WARNING": "0"}, collections=COLLECTIONS,
                        project_dir=str(tmp_path), timeout=300)


def test_hosts_of_two_fleets_each_wait_on_their_own_fleet(tmp_path):
    fleets = {"a": start_fleet_emulator(str(tmp_path / "fleet-a"), seed=1, online_buffer=3600),
              "b": start_fleet_emulator(str(tmp_path / "fleet-b"), seed=2, online_buffer=3600)}
    try:
        hosts = {}
        for index, (name, fleet) in enumerate([("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")]):
            emulator = fleets[fleet]
            enroll(emulator, name, index)
            hosts[name] = host_vars(emulator, fleet, name)
        for emulator in fleets.values():
            emulator.reset_stats()
        result = run_role(tmp_path, hosts, 15)
        assert result.rc == 0, result.output

        # One module run for each Fleet, each with its own two hosts.
        waits = result.task_results(WAIT_TASK)
        assert len(waits) == 1, waits
        runs = list(waits.values())[0]["results"]
        assert len(runs) == 2
        waited = sorted(sorted(entry["name"] for entry in run["host_results"]) for run in runs)
        assert waited == [["a1", "a2"], ["b1", "b2"]]
        # Each Fleet was asked about its own hosts only: list requests (and one read of its enroll secrets, which
        # the hosts' secret is checked against), no per-host search or lookup.
        for fleet, emulator in fleets.items():
            routes = emulator.stats()["by_route"]
            assert routes.get("GET hosts", 0) >= 1 and routes.get("GET spec/enroll_secret", 0) == 1, (fleet, routes)
            assert set(routes) == {"GET hosts", "GET spec/enroll_secret"}, (fleet, routes)
        # Each host got the id its own Fleet gave it.
        names = dict((host, value["fleet_enroll_host.hostname"])
                     for host, value in result.task_results("Show the Fleet host").items())
        assert names == {"a1": "a1", "a2": "a2", "b1": "b1", "b2": "b2"}
        ids = dict((host, value["fleet_enroll_host.id"])
                   for host, value in result.task_results("Show the Fleet host id").items())
        for host, fleet in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b")):
            listed = fleets[fleet].api("GET", "hosts").json()["hosts"]
            assert ids[host] in [entry["id"] for entry in listed if entry["hostname"] == host], (host, listed)
        # The tokens are in no output or artifact (the wait's loop items hold host names only).
        assert result.artifacts_holding([emulator.api_token for emulator in fleets.values()]) == []
    finally:
        for emulator in fleets.values():
            emulator.stop()


def test_a_host_that_never_enrolls_fails_alone_and_other_settings_wait_apart(tmp_path):
    fleets = {"a": start_fleet_emulator(str(tmp_path / "fleet-a"), seed=1, online_buffer=3600),
              "b": start_fleet_emulator(str(tmp_path / "fleet-b"), seed=2, online_buffer=3600)}
    try:
        enroll(fleets["a"], "a1", 0)
        enroll(fleets["a"], "a2", 1)
        enroll(fleets["b"], "b1", 2)
        hosts = {"a1": host_vars(fleets["a"], "a", "a1"), "b1": host_vars(fleets["b"], "b", "b1"),
                 # b2 never enrolls; a2 is on Fleet A but keeps stale duplicates, so it waits in a run of its own.
                 "b2": host_vars(fleets["b"], "b", "b2"),
                 "a2": dict(host_vars(fleets["a"], "a", "a2"), fleet_enroll_replace_stale=False)}
        result = run_role(tmp_path, hosts, 3)
        assert result.rc != 0, result.output
        runs = list(result.task_results(WAIT_TASK).values())[0]["results"]
        assert sorted(run["__fleet_enroll_hosts"] for run in runs) == [["a1"], ["a2"], ["b1", "b2"]]
        # Only b2 failed, with its own reason; the others went on and show their Fleet host.
        assert result.stats["b2"]["failures"] == 1, result.stats
        assert all(result.stats[name]["failures"] == 0 for name in ("a1", "a2", "b1")), result.stats
        assert "hostname=b2 did not enroll in Fleet" in result.failures(), result.failures()
        names = dict((host, value["fleet_enroll_host.hostname"])
                     for host, value in result.task_results("Show the Fleet host").items())
        assert names == {"a1": "a1", "a2": "a2", "b1": "b1"}
    finally:
        for emulator in fleets.values():
            emulator.stop()
