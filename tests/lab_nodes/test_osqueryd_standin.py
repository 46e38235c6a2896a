"""The osqueryd stand-in under systemd on a real lab node, enrolling in the Fleet emulator over the lab network.

The emulator listens on the node network's gateway address (the host's side of the bridge), with that address in
its certificate; the node gets the flagfile, the enroll secret (0600) and the CA the way roles/fleet_enroll writes
them, then ``systemctl start osqueryd``.
"""

import ipaddress
import json
import subprocess
import time

import pytest

from gough_lab import nodes
from gough_lab.fleet.testing import start_fleet_emulator
from gough_lab.fleet.tlsca import ensure_certificates

NODE = "osqn0d"
HOSTNAME = "lab-osquery"


def gateway(network, subnet):
    """The gateway address of a Docker network (the host, as the nodes see it)."""
    data = json.loads(nodes.docker("network", "inspect", network))[0]
    for config in data["IPAM"]["Config"] or []:
        if config.get("Gateway"):
            return config["Gateway"]
    return str(next(ipaddress.ip_network(subnet).hosts()))


def node_exec(driver, *command, stdin=None, check=True):
    """Run a command in the node; returns (exit status, stdout + stderr)."""
    result = subprocess.run(["docker", "exec", "-i", driver.name(NODE)] + list(command), input=stdin,
                            capture_output=True, text=True, timeout=120, check=False)
    if check and result.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (command, result.returncode, result.stdout, result.stderr))
    return result.returncode, result.stdout + result.stderr


def put(driver, path, text, mode="0644"):
    node_exec(driver, "sh", "-c", "umask 077; cat > %s && chmod %s %s" % (path, mode, path), stdin=text)


def flagfile(hostport, drop=()):
    flags = [
        "--tls_hostname=%s" % hostport, "--tls_server_certs=/etc/osquery/fleet.pem", "--host_identifier=instance",
        "--enroll_secret_path=/etc/osquery/enroll_secret", "--enroll_tls_endpoint=/api/osquery/enroll",
        "--config_plugin=tls", "--config_tls_endpoint=/api/v1/osquery/config", "--config_refresh=10",
        "--disable_distributed=false", "--distributed_plugin=tls", "--distributed_interval=2",
        "--distributed_tls_max_attempts=3", "--distributed_tls_read_endpoint=/api/v1/osquery/distributed/read",
        "--distributed_tls_write_endpoint=/api/v1/osquery/distributed/write", "--logger_plugin=tls",
        "--logger_tls_endpoint=/api/v1/osquery/log", "--logger_tls_period=10",
    ]
    return "# Fleet enrollment (test)\n" + "\n".join(f for f in flags if not any(f.startswith("--%s=" % d) for d in drop)) + "\n"


def journal(driver, since):
    return node_exec(driver, "journalctl", "-u", "osqueryd", "--no-pager", "-o", "cat", "--since", since, check=False)[1]


def journal_with(driver, since, text):
    """The journal since ``since`` if it contains ``text``, else None."""
    found = journal(driver, since)
    return found if text in found else None


def restart(driver):
    node_exec(driver, "systemctl", "reset-failed", "osqueryd", check=False)
    node_exec(driver, "systemctl", "restart", "osqueryd", check=False)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


@pytest.fixture(scope="module")
def setup(lab_net, tmp_path_factory):  # pylint: disable=redefined-outer-name
    """A Fleet emulator on the network's gateway and a booted lab node."""
    gw = gateway(lab_net.network, lab_net.subnet)
    fleet = start_fleet_emulator(tmp_path_factory.mktemp("fleet"), listen="%s:0" % gw, tls_sans=[gw],
                                 distributed_interval=2)
    try:
        lab_net.boot(NODE, HOSTNAME, b"#cloud-config\nhostname: %s\n" % HOSTNAME.encode())
        result = lab_net.wait_cloud_init(NODE, timeout=180)
        assert result.status == "done", result
        yield fleet, lab_net, "%s:%d" % (gw, fleet.port)
    finally:
        fleet.stop()
        lab_net.remove(NODE, erase=True)


def test_unit_installed_not_enabled(setup):
    _fleet, driver, _hostport = setup
    assert node_exec(driver, "systemctl", "is-enabled", "osqueryd", check=False)[1].strip() == "disabled"
    assert node_exec(driver, "systemctl", "is-active", "osqueryd", check=False)[1].strip() == "inactive"


def test_enrolls_and_fleet_sees_the_node(setup):
    fleet, driver, hostport = setup
    node_exec(driver, "mkdir", "-p", "/etc/osquery")
    put(driver, "/etc/osquery/fleet.pem", open(fleet.ca_cert, encoding="utf-8").read())
    put(driver, "/etc/osquery/enroll_secret", fleet.enroll_secret + "\n", "0600")
    put(driver, "/etc/osquery/osquery.flags", flagfile(hostport))
    node_exec(driver, "systemctl", "start", "osqueryd")

    def detailed():
        hosts = fleet.api("GET", "hosts", params={"query": HOSTNAME}).json()["hosts"]
        return hosts[0] if hosts and hosts[0]["detail_updated_at"] else None
    host = wait_for(detailed, 60, "the node in Fleet with details")
    os_release = dict(line.split("=", 1) for line in
                      node_exec(driver, "cat", "/etc/os-release")[1].splitlines() if "=" in line)
    assert host["hostname"] == HOSTNAME and host["status"] == "online"
    assert host["os_version"] == "%s %s" % (os_release["NAME"].strip('"'), os_release["VERSION_ID"].strip('"'))
    assert host["platform"] == "debian" and host["osquery_version"].endswith("-lab")
    assert host["uptime"] > 0 and host["memory"] > 0
    assert host["primary_ip"] == driver.address(NODE)
    machine_id = node_exec(driver, "cat", "/etc/machine-id")[1].strip()
    assert host["uuid"].replace("-", "").lower() == machine_id
    mode = node_exec(driver, "stat", "-c", "%a", "/var/osquery/osqueryd-lab.node_key")[1].strip()
    assert mode == "600"
    # A live query answered by the node.
    query = fleet.api("POST", "queries", {"name": "hostname", "query": "SELECT hostname FROM system_info"}).json()
    doc = fleet.api("POST", "queries/%d/run" % query["query"]["id"], {"host_ids": [host["id"]]}).json()
    assert doc["results"][0]["rows"] == [{"hostname": HOSTNAME}]


def test_wrong_secret_is_logged_and_never_enrolls(setup):
    fleet, driver, hostport = setup
    since = node_exec(driver, "date", "+%Y-%m-%d %H:%M:%S")[1].strip()
    for host in fleet.api("GET", "hosts").json()["hosts"]:
        fleet.api("DELETE", "hosts/%d" % host["id"])
    put(driver, "/etc/osquery/enroll_secret", "not-the-secret\n", "0600")
    put(driver, "/etc/osquery/osquery.flags", flagfile(hostport))
    restart(driver)
    text = wait_for(lambda: journal_with(driver, since, "enrollment refused"), 30, "the enrollment error in the journal")
    assert "check the enroll secret in /etc/osquery/enroll_secret" in text
    time.sleep(3)
    assert fleet.api("GET", "hosts").json()["hosts"] == []
    put(driver, "/etc/osquery/enroll_secret", fleet.enroll_secret + "\n", "0600")


def test_wrong_ca_is_logged_and_never_enrolls(setup, tmp_path):
    fleet, driver, hostport = setup
    _cert, _key, other_ca = ensure_certificates(str(tmp_path))
    since = node_exec(driver, "date", "+%Y-%m-%d %H:%M:%S")[1].strip()
    for host in fleet.api("GET", "hosts").json()["hosts"]:
        fleet.api("DELETE", "hosts/%d" % host["id"])
    put(driver, "/etc/osquery/fleet.pem", open(other_ca, encoding="utf-8").read())
    put(driver, "/etc/osquery/enroll_secret", fleet.enroll_secret + "\n", "0600")
    node_exec(driver, "rm", "-f", "/var/osquery/osqueryd-lab.node_key")
    restart(driver)
    text = wait_for(lambda: journal_with(driver, since, "TLS verification of"), 30, "the TLS error in the journal")
    assert "--tls_server_certs=/etc/osquery/fleet.pem" in text
    time.sleep(3)
    assert fleet.api("GET", "hosts").json()["hosts"] == []
    put(driver, "/etc/osquery/fleet.pem", open(fleet.ca_cert, encoding="utf-8").read())


@pytest.mark.parametrize("flag", ["tls_server_certs", "disable_distributed"])
def test_missing_flag_fails_the_unit(setup, flag):
    _fleet, driver, hostport = setup
    since = node_exec(driver, "date", "+%Y-%m-%d %H:%M:%S")[1].strip()
    put(driver, "/etc/osquery/osquery.flags", flagfile(hostport, drop=(flag,)))
    restart(driver)
    wait_for(lambda: node_exec(driver, "systemctl", "is-failed", "osqueryd", check=False)[1].strip() == "failed", 30,
             "osqueryd to fail")
    text = journal(driver, since)
    assert "--%s" % flag in text and "osqueryd-lab:" in text, text
    status = node_exec(driver, "systemctl", "show", "-p", "ExecMainStatus", "osqueryd")[1].strip()
    assert status == "ExecMainStatus=78"
