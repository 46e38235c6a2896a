"""playbooks/decommission.yml against the MAAS emulator (simulated machines) and the Fleet emulator.

The servers are already gone (their SSH port refuses connections), which is the case a rerun meets anyway: the
playbook must still remove them from Fleet and release them in MAAS with the chosen erase, touch only the
servers given with --limit, refuse to run without --limit, and change nothing the second time.
"""

import os
import re
import socket
import subprocess
import time

import pytest

from gough_lab import playbook_runner
from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator
from gough_lab.testing import start_maas_emulator

from conftest import MAAS
from test_fleet_enroll_role import HOSTNAME, SYSTEM_ID, fleet_node, run_role  # noqa: F401 pylint: disable=unused-import

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")
PLAYBOOK = os.path.join(ROOT, "playbooks", "decommission.yml")


def closed_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


@pytest.fixture
def lab(tmp_path):
    """Two Deployed machines in a MAAS emulator, both enrolled (and checking in) in a Fleet emulator."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    maas_emulator = start_maas_emulator(
        tmp_path / "maas", machines=2,
        extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2", "--erase-seconds", "0.3"])
    fleet = start_fleet_emulator(str(tmp_path / "fleet"))
    agents = []
    try:
        maas = MAAS(maas_emulator)
        machines = sorted(maas.machines(), key=lambda m: m["hostname"])
        for machine in machines:
            maas.deploy(machine["system_id"], b"#cloud-config\n")
        for machine in machines:
            maas.wait_status(machine["system_id"], ("Deployed",), timeout=60)
            agent = FakeOsqueryHost(fleet, machine["hostname"])
            assert agent.enroll().status == 200
            agent.start(interval=0.5)
            agents.append(agent)
        yield maas, fleet, machines, agents, tmp_path
    finally:
        for agent in agents:
            agent.stop()
        fleet.stop()
        maas_emulator.stop()


def run_playbook(tmp_path, maas, fleet, machines, limit, erase=True, inventory=None, extra_vars=None, args=()):
    port = closed_port()
    inventory = inventory or {"all": {"hosts": dict(
        (m["hostname"], {"ansible_host": "127.0.0.1", "ansible_port": port, "ansible_user": "gough"})
        for m in machines)}}
    extra = {
        "gough_fleet_url": fleet.url, "gough_fleet_api_token": fleet.api_token, "gough_ca_cert": fleet.ca_cert,
        "decommission_maas_url": maas.emulator.url, "decommission_maas_api_key": maas.emulator.api_key,
        "decommission_maas_ca_path": "", "decommission_erase": erase, "decommission_connect_timeout": 2,
        "decommission_release_timeout": 120,
    }
    extra.update(extra_vars or {})
    options = (["--limit", limit] if limit else []) + list(args)
    return playbook_runner.run_playbook(PLAYBOOK, str(tmp_path / ("job-%d" % time.monotonic_ns())), *options,
                                        inventory=inventory, extravars=extra, collections=COLLECTIONS,
                                        envvars={"ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_PIPELINING": "True"},
                                        timeout=600)


def recap(output):
    """{host: {ok, changed, failed, ...}} from the PLAY RECAP."""
    counts = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+)\s+: (.*)$", line)
        if match and "ok=" in match.group(2):
            counts[match.group(1)] = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2)))
    return counts


def fleet_hostnames(fleet):
    return sorted(h["hostname"] for h in fleet.request("GET", "/api/v1/fleet/hosts").json()["hosts"])


def test_decommission_removes_from_fleet_and_releases_with_erase_then_changes_nothing(lab):
    maas, fleet, machines, agents, tmp_path = lab
    gone, kept = machines
    agents[0].stop()  # the server is gone: its osquery no longer checks in (or re-enrolls)
    # The agent role's Prometheus targets (file_sd on the controller, the default agent_prometheus_file_sd_host).
    file_sd = tmp_path / "file_sd"
    file_sd.mkdir()
    for machine in machines:
        (file_sd / ("%s.json" % machine["hostname"])).write_text('[{"targets": ["127.0.0.1:9555"]}]\n')
    file_sd_vars = {"agent_prometheus_file_sd_dir": str(file_sd)}

    check = run_playbook(tmp_path, maas, fleet, machines, gone["hostname"], extra_vars=file_sd_vars,
                         args=["--check"])
    assert check.rc == 0, check.stdout[-4000:]
    assert (file_sd / ("%s.json" % gone["hostname"])).exists()
    assert maas.machine(gone["system_id"])["status_name"] == "Deployed"

    first = run_playbook(tmp_path, maas, fleet, machines, gone["hostname"], extra_vars=file_sd_vars)
    assert first.rc == 0, first.stdout[-4000:]
    # Unreachable, yet Prometheus stops scraping it; the other server's target stays.
    assert sorted(p.name for p in file_sd.iterdir()) == ["%s.json" % kept["hostname"]]
    counts = recap(first.stdout)
    assert set(counts) == {gone["hostname"], "localhost"} or set(counts) == {gone["hostname"]}, counts
    assert counts[gone["hostname"]]["failed"] == 0 and counts[gone["hostname"]]["changed"] >= 2

    assert fleet_hostnames(fleet) == [kept["hostname"]]
    released = maas.machine(gone["system_id"])
    assert released["status_name"] == "Ready"
    events = maas.request("GET", "events/", {"op": "query", "id": gone["system_id"]})["events"]
    assert any("erase" in (e.get("type", "") + e.get("description", "")).lower() for e in events), events
    assert maas.machine(kept["system_id"])["status_name"] == "Deployed"

    again = run_playbook(tmp_path, maas, fleet, machines, gone["hostname"], extra_vars=file_sd_vars)
    assert again.rc == 0, again.stdout[-4000:]
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(again.stdout).values()), again.stdout[-3000:]
    assert fleet_hostnames(fleet) == [kept["hostname"]]


def test_decommission_refuses_to_run_without_limit(lab):
    maas, fleet, machines, _agents, tmp_path = lab
    result = run_playbook(tmp_path, maas, fleet, machines, None)
    assert result.rc != 0
    assert "Name the servers to decommission with --limit" in result.stdout
    assert len(fleet_hostnames(fleet)) == 2
    assert all(maas.machine(m["system_id"])["status_name"] == "Deployed" for m in machines)


def test_decommission_of_a_reachable_enrolled_node_stops_osquery_and_releases_it(lab_net, fleet_node, tmp_path):
    fleet = fleet_node
    enrolled = run_role(lab_net, fleet, tmp_path)
    assert enrolled.rc == 0, enrolled.stdout[-5000:]
    maas_emulator = start_maas_emulator(tmp_path / "maas", machines=1,
                                        extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2"])
    try:
        maas = MAAS(maas_emulator)
        machine = maas.machines()[0]
        maas.deploy(machine["system_id"], b"#cloud-config\n")
        maas.wait_status(machine["system_id"], ("Deployed",), timeout=60)
        # The lab node plays the deployed server; its MAAS name is the emulator's machine.
        inventory = {"all": {"hosts": {HOSTNAME: dict(fleet.node_ssh, decommission_machine=machine["hostname"])}}}
        first = run_playbook(tmp_path, maas, fleet, [machine], HOSTNAME, erase=False, inventory=inventory)
        assert first.rc == 0, first.stdout[-5000:]
        assert recap(first.stdout)[HOSTNAME]["changed"] > 0
        assert fleet.request("GET", "/api/v1/fleet/hosts").json()["hosts"] == []
        node = ["docker", "exec", lab_net.name(SYSTEM_ID)]
        assert subprocess.run(node + ["systemctl", "is-active", "osqueryd"], capture_output=True, text=True,
                              check=False).stdout.strip() != "active"
        assert subprocess.run(node + ["test", "-e", "/etc/osquery/enroll_secret"], check=False).returncode != 0
        assert maas.machine(machine["system_id"])["status_name"] == "Ready"

        again = run_playbook(tmp_path, maas, fleet, [machine], HOSTNAME, erase=False, inventory=inventory)
        assert again.rc == 0, again.stdout[-5000:]
        assert recap(again.stdout)[HOSTNAME]["changed"] == 0, again.stdout[-5000:]
    finally:
        maas_emulator.stop()


def erase_events(maas, system_id):
    events = maas.request("GET", "events/", {"op": "query", "id": system_id})["events"]
    return [e for e in events if "erasing" in e.get("type", "").lower()]


def release_args(output):
    """The erase options maas_deploy was invoked with (from -vvv output)."""
    match = re.search(r'"module_args": \{[^}]*?"erase": (true|false)[^}]*?"quick_erase": (true|false)[^}]*?'
                      r'"secure_erase": (true|false)', output, re.S)
    assert match, output[-3000:]
    return tuple(value == "true" for value in match.groups())


@pytest.mark.parametrize("mode, expected", [("none", (False, False, False)), ("quick", (True, True, False)),
                                            ("secure", (True, False, True))])
def test_decommission_erase_mode_chooses_the_erase(lab, mode, expected):
    maas, fleet, machines, agents, tmp_path = lab
    gone = machines[0]
    agents[0].stop()
    # decommission_erase=true is overridden by the survey's decommission_erase_mode.
    result = run_playbook(tmp_path, maas, fleet, machines, gone["hostname"],
                          extra_vars={"decommission_erase_mode": mode}, args=["-vvv"])
    assert result.rc == 0, result.stdout[-4000:]
    assert release_args(result.stdout) == expected
    assert maas.machine(gone["system_id"])["status_name"] == "Ready"
    assert bool(erase_events(maas, gone["system_id"])) == (mode != "none")


def test_decommission_rejects_an_unknown_erase_mode_before_any_change(lab):
    maas, fleet, machines, _agents, tmp_path = lab
    result = run_playbook(tmp_path, maas, fleet, machines, machines[0]["hostname"],
                          extra_vars={"decommission_erase_mode": "shred"})
    assert result.rc != 0
    assert "decommission_erase_mode must be none, quick, full or secure, not shred" in result.stdout
    assert len(fleet_hostnames(fleet)) == 2
    assert all(maas.machine(m["system_id"])["status_name"] == "Deployed" for m in machines)


@pytest.fixture
def failed_lab(tmp_path):
    """Three machines: one Deployed (enrolled in Fleet), one Failed deployment, one Ready."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    maas_emulator = start_maas_emulator(
        tmp_path / "maas", machines=3,
        extra_args=["--deploy-seconds", "0.3", "--release-seconds", "0.2", "--erase-seconds", "0.3"])
    fleet = start_fleet_emulator(str(tmp_path / "fleet"))
    agent = None
    try:
        maas = MAAS(maas_emulator)
        good, bad, idle = sorted(maas.machines(), key=lambda m: m["hostname"])
        maas.deploy(good["system_id"], b"#cloud-config\n")
        maas.wait_status(good["system_id"], ("Deployed",), timeout=60)
        agent = FakeOsqueryHost(fleet, good["hostname"])
        assert agent.enroll().status == 200
        maas_emulator.configure(fail_deploy=1.0)
        maas.deploy(bad["system_id"], b"#cloud-config\n")
        maas.wait_status(bad["system_id"], ("Failed deployment",), timeout=60)
        maas_emulator.configure(fail_deploy=0.0)
        yield maas, fleet, (good, bad, idle), tmp_path
    finally:
        fleet.stop()
        maas_emulator.stop()


def statuses(maas, machines):
    return [maas.machine(m["system_id"])["status_name"] for m in machines]


def test_failed_only_without_limit_releases_only_failed_deployments(failed_lab):
    """The AWX workflow's on-failure node: no --limit, decommission_failed_only=true."""
    maas, fleet, machines, tmp_path = failed_lab
    extra = {"decommission_failed_only": True, "decommission_erase_mode": "quick"}
    first = run_playbook(tmp_path, maas, fleet, machines, None, extra_vars=extra)
    assert first.rc == 0, first.stdout[-4000:]
    assert statuses(maas, machines) == ["Deployed", "Ready", "Ready"]
    assert erase_events(maas, machines[1]["system_id"])
    assert fleet_hostnames(fleet) == [machines[0]["hostname"]]
    assert recap(first.stdout)["localhost"]["changed"] == 1

    again = run_playbook(tmp_path, maas, fleet, machines, None, extra_vars=extra)
    assert again.rc == 0, again.stdout[-4000:]
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in recap(again.stdout).values()), again.stdout[-3000:]
    assert statuses(maas, machines) == ["Deployed", "Ready", "Ready"]


def test_failed_only_with_limit_releases_only_the_failed_hosts_of_the_limit(failed_lab):
    maas, fleet, machines, tmp_path = failed_lab
    good, bad, _idle = machines
    limit = "%s,%s" % (good["hostname"], bad["hostname"])
    result = run_playbook(tmp_path, maas, fleet, machines, limit, erase=False,
                          extra_vars={"decommission_failed_only": True})
    assert result.rc == 0, result.stdout[-4000:]
    assert statuses(maas, machines) == ["Deployed", "Ready", "Ready"]
    assert not erase_events(maas, bad["system_id"])  # the older booleans still work: decommission_erase=false
    assert fleet_hostnames(fleet) == [good["hostname"]]
    counts = recap(result.stdout)
    assert counts[good["hostname"]]["changed"] == 0 and counts[bad["hostname"]]["changed"] >= 1
