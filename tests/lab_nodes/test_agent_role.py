"""roles/agent on a real systemd lab node: check mode, a bad configuration, removal.

The install itself (sandbox, mTLS health and metrics from the host, file_sd, a clean rerun) is the molecule
scenario molecule/agent's.

The node is a lab container reached with the ``community.docker.docker`` connection; Gough's CA is made here with
``cryptography`` in a temporary directory that plays the stack's CA directory. The play runs without become
(the docker connection is root on the node) because the controller has no sudo for the delegated CA tasks.
"""

import datetime
import json
import os
import ssl
import subprocess
import urllib.error
import urllib.request

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gough_lab import playbook_runner

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")
SYSTEM_ID = "agt001"

PLAYBOOK = """
- name: The agent role
  ansible.builtin.import_playbook: {agent_playbook}

- name: Save what the role reported
  hosts: all
  gather_facts: false
  tasks:
    - name: Write agent_health
      ansible.builtin.copy:
        content: "{{{{ agent_health | default(None) | to_json }}}}"
        dest: "{facts_file}"
        mode: "0600"
      delegate_to: localhost
      changed_when: false  # the test's own bookkeeping, not the role's
"""


def _collections():
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        try:
            os.symlink(ROOT, LINK)
        except FileExistsError:
            pass
    return COLLECTIONS


def make_ca(directory):
    """Gough's CA as the stack lays it out: ca.crt (0644) and ca.key (0600)."""
    key = ec.generate_private_key(ec.SECP384R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Gough lab test CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    os.makedirs(directory, mode=0o700)
    cert_path, key_path = os.path.join(directory, "ca.crt"), os.path.join(directory, "ca.key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


class Lab:
    """The node, the controller-side files and a way to run the role."""

    def __init__(self, driver, directory):
        self.driver = driver
        self.dir = directory
        self.container = driver.name(SYSTEM_ID)
        self.address = driver.address(SYSTEM_ID)
        self.ca_cert, self.ca_key = make_ca(os.path.join(directory, "stack", "ca"))
        self.file_sd = os.path.join(directory, "stack", "prometheus", "file_sd")
        os.makedirs(self.file_sd)
        self.client_dir = os.path.join(directory, "stack", "ca", "agent-client")
        self.inventory = os.path.join(directory, "inventory.yml")
        host = {"ansible_connection": "community.docker.docker", "ansible_host": self.container,
                "ansible_python_interpreter": "/usr/bin/python3", "agent_scrape_address": self.address,
                "maas_system_id": SYSTEM_ID}
        group_vars = {"gough_ca_cert": self.ca_cert, "gough_ca_key": self.ca_key,
                      "gough_prometheus_file_sd_dir": self.file_sd, "agent_template": "base",
                      # A container cannot discipline the (host's) clock: time_sync stays reported, not required.
                      "agent_healthz_checks": ["cloud_init", "failed_units", "filesystems", "collectors"]}
        with open(self.inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": {"labnode": host}, "vars": group_vars}}, handle)

    def run(self, *extra, check=False, name="run"):
        """playbooks/agent.yml through the tests' one runner; return (recap counts of labnode, agent_health, output)."""
        facts_file = os.path.join(self.dir, name + "-facts.json")
        playbook = os.path.join(self.dir, name + ".yml")
        with open(playbook, "w", encoding="utf-8") as handle:
            handle.write(PLAYBOOK.format(agent_playbook=os.path.join(ROOT, "playbooks", "agent.yml"),
                                         facts_file=facts_file))
        options = ["-e", "ansible_become=false"] + list(extra) + (["--check"] if check else [])
        job = playbook_runner.run_playbook(playbook, os.path.join(self.dir, name + "-job"), *options,
                                           inventory=self.inventory, collections=_collections(),
                                           envvars={"ANSIBLE_HOST_KEY_CHECKING": "0"}, timeout=600)
        output = job.stdout
        assert job.rc == 0, output[-6000:]
        counters = job.stats.get("labnode")
        assert counters, output[-3000:]
        recap = {"ok": counters["ok"], "changed": counters["changed"], "unreachable": counters["unreachable"],
                 "failed": counters["failures"]}
        health = None
        if os.path.exists(facts_file):
            with open(facts_file, encoding="utf-8") as handle:
                health = json.load(handle)
        return recap, health, output

    def node(self, *command):
        """Run a command on the node; (exit status, stdout)."""
        result = subprocess.run(["docker", "exec", self.container] + list(command), capture_output=True, text=True,
                                timeout=60, check=False)
        return result.returncode, result.stdout

    def https(self, path, client=True):
        """GET https://<node>:9555<path> from the host; (status, body)."""
        context = ssl.create_default_context(cafile=self.ca_cert)
        if client:
            context.load_cert_chain(os.path.join(self.client_dir, "gough-agent-client.crt"),
                                    os.path.join(self.client_dir, "gough-agent-client.key"))
        try:
            with urllib.request.urlopen("https://%s:9555%s" % (self.address, path), context=context,
                                        timeout=15) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


@pytest.fixture(scope="module")
def lab(lab_net, tmp_path_factory):
    """A booted node and the controller files."""
    lab_net.boot(SYSTEM_ID, "agent-node")
    result = lab_net.wait_cloud_init(SYSTEM_ID, timeout=180)
    assert result.ok, result
    yield Lab(lab_net, str(tmp_path_factory.mktemp("agent-role")))
    lab_net.remove(SYSTEM_ID, erase=True)


def changed_tasks(output):
    """The tasks that reported changed, for assertion messages."""
    found, task = [], None
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line
        elif line.startswith("changed:") and task:
            found.append(task)
    return found


def test_check_mode_on_a_fresh_node_changes_nothing(lab):
    _recap, health, _output = lab.run(check=True, name="check-fresh")
    assert health is None  # no health check in check mode
    assert lab.node("test", "-e", "/etc/systemd/system/gough-agent.service")[0] != 0
    assert lab.node("getent", "passwd", "gough-agent")[0] != 0
    assert lab.node("test", "-e", "/etc/gough-agent")[0] != 0
    assert os.listdir(lab.file_sd) == []


def test_check_mode_after_install_changes_nothing(lab):
    """The installed agent itself (sandbox, mTLS metrics, file_sd, a clean rerun) is molecule/agent's."""
    recap, health, _output = lab.run(name="install")
    assert recap["failed"] == 0 and recap["changed"] > 0
    assert health["ok"] is True
    recap, _health, output = lab.run(check=True, name="installed-check")
    assert recap["changed"] == 0, changed_tasks(output)


def test_a_changed_system_user_is_put_right_and_only_that_changes(lab):
    """The role looks at its user with one getent read (stack's system_user tasks) and runs the group and user
    modules only when something differs: a login shell and an unlocked password set by hand are put back by the user
    module alone, and the next run changes nothing."""
    assert lab.node("sh", "-c", "usermod --shell /bin/sh gough-agent && passwd --unlock gough-agent "
                                "|| usermod --password '*' gough-agent")[0] == 0
    recap, health, output = lab.run(name="user-drift")
    assert health["ok"] is True
    assert [task.split(" : ", 1)[1].split("]")[0] for task in changed_tasks(output)] == [
        "System user (no login, no home made, password locked)"], changed_tasks(output)
    entry = lab.node("getent", "passwd", "gough-agent")[1].strip().split(":")
    assert entry[5:] == ["/var/lib/gough-agent", "/usr/sbin/nologin"], entry
    assert lab.node("getent", "shadow", "gough-agent")[1].split(":")[1].startswith("!")
    recap, _health, output = lab.run(name="user-clean")
    assert recap["changed"] == 0, changed_tasks(output)
    # Nothing differs, so the group and user modules do not run at all.
    for task in ("System group", "System user (no login, no home made, password locked)"):
        section = output.split("TASK [gough.gough.stack : %s]" % task, 1)[1].split("\nTASK [", 1)[0]
        assert "skipping: [labnode]" in section and "ok: [labnode]" not in section, section


def test_firewall_table_lets_the_controller_in_turns_off_and_is_loaded_again_when_gone(lab):
    """The role's nftables table (inet gough_agent) allows the controller's address (the health check passed
    through it) and drops the rest of port 9555; agent_firewall=false removes it and leaves every other table; a
    table gone from the kernel while its file and unit are in place is loaded again, and only that changes."""
    code, listed = lab.node("nft", "list", "table", "inet", "gough_agent")
    assert code == 0 and "tcp dport 9555" in listed and "drop" in listed, listed
    assert lab.node("systemctl", "is-enabled", "gough-agent-firewall.service")[1].strip() == "enabled"
    others = [line for line in lab.node("nft", "list", "tables")[1].splitlines() if "gough_agent" not in line]
    saved = {"/etc/gough-agent/firewall.nft": "/root/firewall.nft",
             "/etc/systemd/system/gough-agent-firewall.service": "/root/gough-agent-firewall.service"}
    for path, copy in saved.items():
        assert lab.node("cp", "-p", path, copy)[0] == 0
    recap, health, _output = lab.run("-e", "agent_firewall=false", name="firewall-off")
    assert recap["changed"] > 0 and health["ok"] is True
    assert lab.node("nft", "list", "table", "inet", "gough_agent")[0] != 0
    assert lab.node("test", "-e", "/etc/systemd/system/gough-agent-firewall.service")[0] != 0
    assert lab.node("nft", "list", "tables")[1].splitlines() == others
    # Put the file and the enabled unit back as they were, without loading the table: the kernel lost it.
    for path, copy in saved.items():
        assert lab.node("cp", "-p", copy, path)[0] == 0
    assert lab.node("sh", "-c", "systemctl daemon-reload && systemctl enable gough-agent-firewall.service")[0] == 0
    recap, health, output = lab.run(name="firewall-gone")
    assert health["ok"] is True
    assert [task.split(" : ", 1)[1].split("]")[0] for task in changed_tasks(output)] == [
        "Load the table (again only when it changed or is gone)"], changed_tasks(output)
    assert lab.node("nft", "list", "table", "inet", "gough_agent")[0] == 0


def test_bad_configuration_stops_the_agent_with_the_field_in_the_journal(lab):
    code, _out = lab.node("sh", "-c", "cp /etc/gough-agent/agent.json /root/agent.json.good && "
                                      "sed -i 's/\"port\": 9555/\"port\": \"many\"/' /etc/gough-agent/agent.json && "
                                      "systemctl restart gough-agent.service; sleep 2")
    assert code == 0
    try:
        props = dict(line.split("=", 1) for line in lab.node(
            "systemctl", "show", "gough-agent.service", "--property=ActiveState,ExecMainStatus,NRestarts")[1].splitlines())
        assert props["ActiveState"] == "failed" and props["ExecMainStatus"] == "78"
        journal = lab.node("journalctl", "-u", "gough-agent.service", "--no-pager", "-o", "cat", "-n", "20")[1]
        assert "bad configuration in /etc/gough-agent/agent.json: field 'port': must be integer" in journal
    finally:
        lab.node("sh", "-c", "cp /root/agent.json.good /etc/gough-agent/agent.json && "
                             "systemctl restart gough-agent.service")
    recap, health, output = lab.run(name="repaired")
    assert recap["changed"] == 0, changed_tasks(output)
    assert health["ok"] is True


def test_absent_removes_everything_and_reruns_clean(lab):
    recap, _health, _output = lab.run("-e", "agent_state=absent", name="absent")
    assert recap["changed"] > 0
    assert lab.node("test", "-e", "/etc/systemd/system/gough-agent.service")[0] != 0
    assert lab.node("systemctl", "is-active", "gough-agent.service")[1].strip() in ("inactive", "unknown")
    for path in ("/etc/gough-agent", "/usr/local/lib/gough-agent", "/var/lib/gough-agent"):
        assert lab.node("test", "-e", path)[0] != 0, path
    assert lab.node("getent", "passwd", "gough-agent")[0] != 0
    assert lab.node("getent", "group", "gough-agent")[0] != 0
    assert lab.node("nft", "list", "table", "inet", "gough_agent")[0] != 0
    assert lab.node("test", "-e", "/etc/systemd/system/gough-agent-firewall.service")[0] != 0
    assert os.listdir(lab.file_sd) == []
    with pytest.raises((urllib.error.URLError, ConnectionError, ssl.SSLError)):
        lab.https("/healthz")
    recap, _health, output = lab.run("-e", "agent_state=absent", name="absent-again")
    assert recap["changed"] == 0, changed_tasks(output)
