"""``make demo``'s flow end to end on 2 lab nodes: playbooks/lab.yml, then playbooks/site.yml, then both again.

site.yml renders cloud-init, provisions through MAAS, checks each node over SSH, installs the Gough agent (scraped
by Prometheus over mTLS) and enrolls the node in Fleet through the osqueryd stand-in of the node image.

The lab is the stack role's lab profile on this machine's Docker engine (MAAS and Fleet emulators behind nginx,
Prometheus) with the MAAS emulator's Docker node backend, so every deployment boots a systemd container that runs
real cloud-init on the user data site.yml rendered. The test uses its own lab directory, Compose project, node
prefix and ports, so a running ``make demo`` is left alone; it takes the lab down at the end.
"""

import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB_SUBNET = ipaddress.ip_network("172.30.90.0/24")
NODES = 2


def _playbook(name, *args, env):
    """Run a playbook with the JSON callback; return (returncode, parsed result or None, raw output)."""
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), os.path.join(ROOT, "playbooks", name)] + list(args)
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800, check=False)
    # maas_deploy's live progress lines come before the callback's one JSON document.
    start = 0 if result.stdout.startswith("{") else result.stdout.find("\n{") + 1
    try:
        parsed = json.loads(result.stdout[start:])
    except ValueError:
        parsed = None
    return result.returncode, parsed, result.stdout[-6000:] + result.stderr[-3000:]


def _free_ports(count):
    """Ports nothing listens on now (the stack's preflight fails on a busy one, which is not this test's topic)."""
    sockets = [socket.socket() for _index in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def _changed(parsed):
    return dict((host, stats["changed"]) for host, stats in parsed["stats"].items())


def _task_results(parsed, task_name):
    """{host: result} of the task called ``task_name`` (the last play that has it)."""
    found = {}
    for play in parsed["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == task_name:
                found = task["hosts"]
    return found


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """The lab's variables and environment; takes the lab down afterwards."""
    tag = uuid.uuid4().hex[:6]
    ports = _free_ports(3)
    lab_dir = tmp_path_factory.mktemp("lab")
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_NOCOLOR="1", GOUGH_LAB_DIR=str(lab_dir))
    extra = ["-e", "lab_dir=%s" % lab_dir, "-e", "lab_machine_count=%d" % NODES,
             "-e", "lab_machine_prefix=e2e-%s-" % tag, "-e", "lab_build_images=false",
             "-e", "stack_project=gough-e2e-%s" % tag, "-e", "lab_node_prefix=gough-lab-e2e-%s-" % tag,
             "-e", "stack_port_maas=%d" % ports[0], "-e", "stack_port_fleet=%d" % ports[1],
             "-e", "stack_port_prometheus=%d" % ports[2]]
    yield {"dir": lab_dir, "env": env, "extra": extra, "tag": tag, "maas_port": ports[0]}
    _playbook("lab.yml", "-e", "lab_state=absent", *extra, env=env)
    leftover = subprocess.run(["docker", "ps", "-aq", "--filter", "label=gough.stack=gough-e2e-%s" % tag],
                              capture_output=True, text=True, check=False).stdout.split()
    if leftover:
        subprocess.run(["docker", "rm", "-f", "-v"] + leftover, capture_output=True, check=False)


@pytest.fixture(scope="module")
def first_run(lab):  # pylint: disable=redefined-outer-name
    """lab.yml and site.yml once, on a fresh lab directory."""
    rc, parsed, output = _playbook("lab.yml", *lab["extra"], env=lab["env"])
    assert rc == 0, output
    inventory = os.path.join(str(lab["dir"]), "inventory")
    rc, site, output = _playbook("site.yml", "-i", inventory, *lab["extra"], env=lab["env"])
    assert rc == 0, output
    return {"lab": parsed, "site": site, "inventory": inventory}


def _table(site):
    lines = _task_results(site, "Print the servers")["localhost"]["msg"]
    header = lines[0].split()
    return [dict(zip(header, line.split())) for line in lines[1:]]


def test_site_deploys_every_node_and_prints_the_table(lab, first_run):  # pylint: disable=redefined-outer-name
    rows = _table(first_run["site"])
    assert [row["HOSTNAME"] for row in rows] == ["e2e-%s-%02d" % (lab["tag"], n) for n in range(1, NODES + 1)]
    for row in rows:
        assert row["STATUS"] == "Deployed"
        assert ipaddress.ip_address(row["IP"]) in LAB_SUBNET
        assert row["CLOUD-INIT"] == "done"
        assert len(row["SYSTEM_ID"]) == 6
        assert row["AGENT"] == "healthy"
        assert row["PROMETHEUS"] == "up"
        assert row["FLEET"] == "online"
        assert row["FLEET_ID"].isdigit()


def _controller(lab):  # pylint: disable=redefined-outer-name
    path = os.path.join(str(lab["dir"]), "stack", "controller.yml")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _get(url, controller, headers=None):
    context = ssl.create_default_context(cafile=controller["gough_ca_cert"])
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read())


def test_fleet_knows_every_node_by_the_id_in_the_table(lab, first_run):  # pylint: disable=redefined-outer-name
    controller = _controller(lab)
    rows = _table(first_run["site"])
    # Fleet fills primary_ip from the host's answers to its detail queries, one distributed interval after enrolling.
    deadline = time.monotonic() + 60
    while True:
        hosts = _get(controller["gough_fleet_url"] + "/api/v1/fleet/hosts", controller,
                     {"Authorization": "Bearer %s" % controller["gough_fleet_api_token"]})["hosts"]
        by_name = dict((host["hostname"], host) for host in hosts)
        if all(by_name.get(row["HOSTNAME"], {}).get("primary_ip") for row in rows) or time.monotonic() > deadline:
            break
        time.sleep(2)
    for row in rows:
        assert by_name[row["HOSTNAME"]]["id"] == int(row["FLEET_ID"])
        assert by_name[row["HOSTNAME"]]["primary_ip"] == row["IP"]
        assert by_name[row["HOSTNAME"]]["status"] == "online"
    assert len(hosts) == NODES  # one identity per node, no duplicates


def test_prometheus_scrapes_every_agent_over_mtls(lab, first_run):  # pylint: disable=redefined-outer-name
    controller = _controller(lab)
    targets = _get(controller["gough_prometheus_url"] + "/api/v1/targets?state=active", controller)
    agents = [t for t in targets["data"]["activeTargets"] if t["labels"]["job"] == "gough-agent"]
    assert sorted(t["labels"]["instance"] for t in agents) == sorted(r["HOSTNAME"] for r in _table(first_run["site"]))
    for target in agents:
        assert target["health"] == "up", target
        assert target["scrapeUrl"].startswith("https://")


def test_nodes_answer_over_ssh_with_the_labs_key(lab, first_run):  # pylint: disable=redefined-outer-name
    key = os.path.join(str(lab["dir"]), "ssh", "id_ed25519")
    assert oct(os.stat(key).st_mode & 0o777) == "0o600"
    for row in _table(first_run["site"]):
        result = subprocess.run(
            ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "ops@%s" % row["IP"],
             "hostname; cloud-init status"], capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        assert result.stdout.split()[0] == row["HOSTNAME"]
        assert "status: done" in result.stdout


def test_lab_files_hold_secrets_only_for_their_owner(lab, first_run):  # pylint: disable=redefined-outer-name
    plugin_file = os.path.join(first_run["inventory"], "gough.maas.yml")
    assert oct(os.stat(plugin_file).st_mode & 0o777) == "0o600"
    with open(plugin_file, encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["plugin"] == "gough.gough.maas"
    assert config["url"].startswith("https://127.0.0.1:%d/" % lab["maas_port"])
    # The API key is never printed: not by lab.yml, not by site.yml.
    rc, _parsed, output = _playbook("site.yml", "-i", first_run["inventory"], "--check", *lab["extra"],
                                    env=dict(lab["env"], ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default"))
    assert rc == 0, output
    assert config["api_key"].split(":")[2] not in output


def test_second_run_changes_nothing(lab, first_run):  # pylint: disable=redefined-outer-name
    rc, parsed, output = _playbook("lab.yml", *lab["extra"], env=lab["env"])
    assert rc == 0, output
    assert _changed(parsed) == {"localhost": 0}, output
    rc, parsed, output = _playbook("site.yml", "-i", first_run["inventory"], *lab["extra"], env=lab["env"])
    assert rc == 0, output
    assert set(_changed(parsed).values()) == {0}, _changed(parsed)
    assert len(_changed(parsed)) == NODES + 1
