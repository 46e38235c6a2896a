"""Gough's baseline Fleet policies, evaluated for real on a lab node booted from the base template.

One node is booted with the ``base`` template's user-data (rendered by ``gough.gough.cloudinit_template``), gets the
Gough agent (playbooks/agent.yml) and osqueryd (the stand-in, enrolled in a Fleet emulator on the lab network's
gateway). Then:

* every shipped policy's query, run by the stand-in inside the node (``osqueryi --json``), passes;
* for each policy, the node is broken for exactly that policy (the others still pass), the policy fails, and the
  node is restored; the query runs directly, so the "agent running" policy can be evaluated with the agent stopped;
* through the Fleet emulator: the compliance role applies the policies, the stand-in answers
  ``fleet_policy_query_<id>``, and Fleet's host view and policy counts show pass, then fail for a broken node.

The node is shared by the module's tests (each restores what it broke) to keep the run short.
"""

import ipaddress
import json
import os
import subprocess
import tempfile
import time

import pytest
import yaml

from gough_lab import nodes, playbook_runner
from gough_lab.playbook_runner import LOCALHOST
from gough_lab.fleet.testing import start_fleet_emulator
from test_agent_role import make_ca  # pylint: disable=import-error
from test_templates import render, template_vars  # pylint: disable=import-error

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
DEFAULTS = os.path.join(ROOT, "roles", "compliance", "defaults", "main", "policies.yml")
SYSTEM_ID = "cmp001"
HOSTNAME = "lab-compliant"

with open(DEFAULTS, encoding="utf-8") as _handle:
    POLICIES = dict((p["name"], p) for p in yaml.safe_load(_handle)["compliance_baseline_policies"])

# How to break a node for one policy, and how to restore it (sh -c scripts run as root on the node).
BREAKS = {
    "SSH root login disabled": (
        "printf 'PermitRootLogin yes\\n' > /etc/ssh/sshd_config.d/10-break.conf && sshd -t && systemctl reload ssh",
        "rm -f /etc/ssh/sshd_config.d/10-break.conf && systemctl reload ssh"),
    "SSH password authentication disabled": (
        "printf 'PasswordAuthentication yes\\n' > /etc/ssh/sshd_config.d/10-break.conf && sshd -t "
        "&& systemctl reload ssh",
        "rm -f /etc/ssh/sshd_config.d/10-break.conf && systemctl reload ssh"),
    "No world-writable files in /etc": ("chmod o+w /etc/hostname", "chmod o-w /etc/hostname"),
    "No second account with UID 0": ("useradd -o -u 0 -g 0 -M -N -s /usr/sbin/nologin toor", "userdel -f toor"),
    "Host firewall active": ("systemctl stop nftables.service", "systemctl start nftables.service"),
    "Unattended security upgrades enabled": (
        "mv /etc/apt/apt.conf.d/20auto-upgrades /root/20auto-upgrades.saved",
        "mv /root/20auto-upgrades.saved /etc/apt/apt.conf.d/20auto-upgrades"),
    "Time synchronisation active": ("systemctl stop chrony.service", "systemctl start chrony.service"),
    "osquery and Gough agent running": ("systemctl stop gough-agent.service", "systemctl start gough-agent.service"),
    "Journal persistent": (
        "mkdir -p /etc/systemd/journald.conf.d && printf '[Journal]\\nStorage=volatile\\n' "
        "> /etc/systemd/journald.conf.d/99-break.conf && systemctl restart systemd-journald && logger break",
        "rm /etc/systemd/journald.conf.d/99-break.conf && systemctl restart systemd-journald "
        "&& journalctl --flush"),
}

ROLE_PLAYBOOK = """
- name: Fleet policies
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Apply the policies
      ansible.builtin.include_role:
        name: gough.gough.compliance
        tasks_from: policies
"""


def node_sh(lab_net, script, check=True):
    """Run ``sh -c script`` as root on the node; returns the CompletedProcess."""
    result = subprocess.run(["docker", "exec", lab_net.name(SYSTEM_ID), "sh", "-c", script], capture_output=True,
                            text=True, timeout=120, check=False)
    if check:
        assert result.returncode == 0, "%s: %s %s" % (script, result.stdout, result.stderr)
    return result


def osqueryi(lab_net, sql):
    """Rows of ``sql`` run by the stand-in on the node (``osqueryi --json``)."""
    result = subprocess.run(["docker", "exec", lab_net.name(SYSTEM_ID), "osqueryi", "--json", sql],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def failing(lab_net):
    """Names of the shipped policies whose query returns no row on the node."""
    return sorted(name for name, policy in POLICIES.items() if not osqueryi(lab_net, policy["query"]))


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))
        time.sleep(0.5)


def run_playbook(playbook, inventory, variables, directory, *args):
    """``playbook`` through the tests' one runner (a private data directory under ``directory``); (rc, output)."""
    job = playbook_runner.run_playbook(playbook, tempfile.mkdtemp(prefix="job-", dir=directory), *args,
                                       inventory=inventory or LOCALHOST, extravars=variables, collections=COLLECTIONS,
                                       envvars={"ANSIBLE_HOST_KEY_CHECKING": "0"}, timeout=600)
    return job.rc, job.stdout


def gateway(lab_net):
    data = json.loads(nodes.docker("network", "inspect", lab_net.network))[0]
    for config in data["IPAM"]["Config"] or []:
        if config.get("Gateway"):
            return config["Gateway"]
    return str(next(ipaddress.ip_network(lab_net.subnet).hosts()))


@pytest.fixture(scope="module")
def compliant(lab_net, tmp_path_factory):
    """The booted, compliant node (agent and osqueryd running) and a Fleet emulator it is enrolled in."""
    directory = str(tmp_path_factory.mktemp("compliance"))
    key = os.path.join(directory, "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    with open(key + ".pub", encoding="utf-8") as handle:
        ssh_key = (key, handle.read().strip())
    rendered = render(os.path.join(directory, "render"), {"name": ["base"], "vars": template_vars(ssh_key),
                                                          "schema_validation": "never"})
    assert not rendered.get("failed"), rendered.get("msg")
    lab_net.boot(SYSTEM_ID, HOSTNAME, rendered["user_data"].encode())
    fleet = None
    try:
        result = lab_net.wait_cloud_init(SYSTEM_ID, timeout=300)
        assert result.ok, (result, (lab_net.read_file(SYSTEM_ID, "/var/log/cloud-init-output.log") or b"")[-3000:])
        # The Gough agent, by its role (as root through the docker connection).
        ca_cert, ca_key = make_ca(os.path.join(directory, "stack", "ca"))
        file_sd = os.path.join(directory, "stack", "file_sd")
        os.makedirs(file_sd)
        inventory = os.path.join(directory, "inventory.json")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {"labnode": {
                "ansible_connection": "community.docker.docker", "ansible_host": lab_net.name(SYSTEM_ID),
                "ansible_python_interpreter": "/usr/bin/python3", "agent_scrape_address": lab_net.address(SYSTEM_ID),
                "maas_system_id": SYSTEM_ID}}}}, handle)
        status, output = run_playbook(os.path.join(ROOT, "playbooks", "agent.yml"), inventory, {
            "gough_ca_cert": ca_cert, "gough_ca_key": ca_key, "gough_prometheus_file_sd_dir": file_sd,
            "agent_template": "base", "ansible_become": False,
            "agent_healthz_checks": ["cloud_init", "failed_units", "filesystems", "collectors"]}, directory)
        assert status == 0, output[-5000:]
        # osqueryd, enrolled in a Fleet emulator on the lab network's gateway (as roles/fleet_enroll writes it).
        address = gateway(lab_net)
        fleet = start_fleet_emulator(os.path.join(directory, "fleet"), listen="0.0.0.0:0", tls_sans=[address],
                                     distributed_interval=1, online_buffer=5)
        with open(fleet.ca_cert, encoding="utf-8") as handle:
            ca_pem = handle.read()
        flags = "\n".join([
            "--tls_hostname=%s:%d" % (address, fleet.port), "--tls_server_certs=/etc/osquery/fleet.pem",
            "--host_identifier=instance", "--enroll_secret_path=/etc/osquery/enroll_secret",
            "--enroll_tls_endpoint=/api/osquery/enroll", "--config_plugin=tls",
            "--config_tls_endpoint=/api/v1/osquery/config", "--config_refresh=10", "--disable_distributed=false",
            "--distributed_plugin=tls", "--distributed_interval=1",
            "--distributed_tls_read_endpoint=/api/v1/osquery/distributed/read",
            "--distributed_tls_write_endpoint=/api/v1/osquery/distributed/write", "--logger_plugin=tls",
            "--logger_tls_endpoint=/api/v1/osquery/log", "--logger_tls_period=10"]) + "\n"
        for path, text in (("/etc/osquery/osquery.flags", flags), ("/etc/osquery/fleet.pem", ca_pem),
                           ("/etc/osquery/enroll_secret", fleet.enroll_secret + "\n")):
            subprocess.run(["docker", "exec", "-i", lab_net.name(SYSTEM_ID), "sh", "-c",
                            "umask 077; cat > %s" % path], input=text, text=True, check=True, timeout=60)
        node_sh(lab_net, "systemctl enable --now osqueryd.service")
        wait_for(lambda: fleet.api("GET", "hosts").json()["hosts"], 60, "the node to enroll in Fleet")
        fleet.directory = directory
        yield fleet
    finally:
        lab_net.remove(SYSTEM_ID, erase=True)
        if fleet is not None:
            fleet.stop()


def test_every_shipped_policy_passes_on_the_compliant_node(lab_net, compliant):  # pylint: disable=unused-argument
    assert len(POLICIES) >= 8
    assert failing(lab_net) == []


@pytest.mark.parametrize("name", sorted(BREAKS))
def test_policy_fails_on_a_node_broken_for_it(lab_net, compliant, name):  # pylint: disable=unused-argument
    breaking, restoring = BREAKS[name]
    node_sh(lab_net, breaking)
    try:
        assert failing(lab_net) == [name]
    finally:
        node_sh(lab_net, restoring)
    assert osqueryi(lab_net, POLICIES[name]["query"]) != []


def test_every_shipped_policy_has_a_break_test():
    assert sorted(BREAKS) == sorted(POLICIES)


def test_fleet_evaluates_the_policies_through_the_standin(lab_net, compliant):
    fleet = compliant
    playbook = os.path.join(fleet.directory, "policies.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(ROLE_PLAYBOOK)
    status, output = run_playbook(playbook, None, {"gough_fleet_url": fleet.url, "gough_fleet_api_token":
                                                   fleet.api_token, "gough_ca_cert": fleet.ca_cert}, fleet.directory)
    assert status == 0, output[-4000:]
    host = fleet.api("GET", "hosts").json()["hosts"][0]

    def evaluated(expect_fail=None):
        doc = fleet.api("GET", "hosts/%d" % host["id"]).json()["host"]
        responses = dict((p["name"], p["response"]) for p in doc["policies"])
        if "" in responses.values():
            return None
        if expect_fail is not None and responses[expect_fail] != "fail":
            return None
        return doc, responses

    # New policies run at the host's next policy run; a refetch asks for it now (as in Fleet).
    fleet.api("POST", "hosts/%d/refetch" % host["id"])
    doc, responses = wait_for(evaluated, 60, "Fleet to get every policy's answer from the stand-in")
    assert set(responses.values()) == {"pass"} and len(responses) == len(POLICIES)
    assert doc["policy_updated_at"] and doc["issues"]["failing_policies_count"] == 0
    listed = fleet.api("GET", "global/policies").json()["policies"]
    assert all((p["passing_host_count"], p["failing_host_count"]) == (1, 0) for p in listed)

    breaking, restoring = BREAKS["SSH root login disabled"]
    node_sh(lab_net, breaking)
    try:
        fleet.api("POST", "hosts/%d/refetch" % host["id"])
        doc, responses = wait_for(lambda: evaluated("SSH root login disabled"), 60, "the failure to reach Fleet")
    finally:
        node_sh(lab_net, restoring)
    assert [n for n, r in responses.items() if r == "fail"] == ["SSH root login disabled"]
    assert doc["issues"]["failing_policies_count"] == 1
    hosts = fleet.api("GET", "hosts", params={"populate_policies": "true"}).json()["hosts"]
    assert [p["critical"] for p in hosts[0]["policies"] if p["response"] == "fail"] == [True]
    policy = next(p for p in fleet.api("GET", "global/policies").json()["policies"]
                  if p["name"] == "SSH root login disabled")
    assert (policy["passing_host_count"], policy["failing_host_count"]) == (0, 1)
