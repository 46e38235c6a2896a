"""A first boot that registers itself: gough-bootstrap's AWX provisioning callback, end to end in the lab.

1. The AWX emulator (as strict as AWX 24) is configured by the real role (playbooks/awx.yml). It sits behind a TLS
   proxy on the lab network's gateway with a certificate from Gough's CA, as AWX sits behind its web server: the
   emulator reads the caller's address from X-Forwarded-For (AWX's REMOTE_HOST_HEADERS).
2. A lab node boots user-data that ``gough.gough.cloudinit_template`` rendered from gough-bootstrap with the
   callback URL and key of "Gough first boot". Until the MAAS inventory lists the node, AWX answers 400 "No
   matching host could be found!" and the node retries; the test then adds the node to the ``MAAS`` inventory
   with the variables the MAAS inventory source gives a deployed machine (standing in for its sync, which the
   emulator cannot run), and the next attempt starts a job limited to that host.
3. That job runs as AWX runs it: ansible-runner with the template's playbook, the job's limit and extra variables,
   the inventory's host and the credentials injected as AWX injects them (``AWXEmulator.runner_args``). The chain
   must end with the agent healthy over mutual TLS and the node online in the Fleet emulator.
A second node with a wrong key gets AWX's 403 and no job; it gives up at once and says why in its journal.
"""

import datetime
import ipaddress
import json
import os
import shlex
import shutil
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from http.client import HTTPConnection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gough_lab.awx.testing import git_repository, start_awx_emulator
from gough_lab.common.testing import lab_missing
from gough_lab.fleet.testing import start_fleet_emulator
from gough_lab.playbook_runner import run_playbook as run_job
from test_agent_role import make_ca  # pylint: disable=import-error
from test_templates import VALIDATOR, render  # pylint: disable=import-error

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "unit", "awx"))
from awx_play import COLLECTIONS, inputs, run_playbook  # noqa: E402  pylint: disable=import-error,wrong-import-position

BIN = os.path.dirname(sys.executable)
NODE, NODE_ID = "first-boot-1", "fb0001"
WRONG, WRONG_ID = "first-boot-wrong", "fb0002"
BOOT_TIMEOUT = 300


def read(path):
    """A text file's content."""
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def issue_server_cert(ca_cert, ca_key, address, directory):
    """A server certificate for ``address`` (an IP) signed by the CA; returns (cert path, key path)."""
    with open(ca_cert, "rb") as handle:
        issuer = x509.load_pem_x509_certificate(handle.read())
    with open(ca_key, "rb") as handle:
        signer = serialization.load_pem_private_key(handle.read(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, address)]))
            .issuer_name(issuer.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), False)
            .sign(signer, hashes.SHA256()))
    cert_path, key_path = os.path.join(directory, "awx.crt"), os.path.join(directory, "awx.key")
    with open(cert_path, "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return cert_path, key_path


class TLSProxy:
    """AWX's web server in front of the emulator: TLS on ``address``, the peer's address as X-Forwarded-For."""

    def __init__(self, address, cert, key, upstream):
        target = urllib.parse.urlsplit(upstream)

        class Handler(BaseHTTPRequestHandler):
            """Forwards one request to the emulator."""

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "x-forwarded-for")}
                headers["X-Forwarded-For"] = self.client_address[0]
                connection = HTTPConnection(target.hostname, target.port, timeout=60)
                connection.request(self.command, self.path, body, headers)
                response = connection.getresponse()
                payload = response.read()
                self.send_response(response.status)
                for name, value in response.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                connection.close()

            do_GET = do_POST = _forward  # noqa: N815

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer((address, 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = "https://%s:%d" % (address, self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()


def wait_for(what, predicate, timeout, interval=1.0):
    """Poll ``predicate`` until it returns something true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail("%s: not within %ss" % (what, timeout))
        time.sleep(interval)


def node_exec(lab_net, system_id, *command, user=None):
    """Run a command on a node; CompletedProcess."""
    prefix = ["docker", "exec"] + (["-u", user] if user else []) + [lab_net.name(system_id)]
    return subprocess.run(prefix + list(command), capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture(scope="module")
def chain(lab_net, tmp_path_factory):  # pylint: disable=too-many-locals
    """Everything of the first-boot chain, up to both nodes booting; removes all of it at the end."""
    if shutil.which("ssh-keygen") is None:
        lab_missing("ssh-keygen is missing (apt-get install openssh-client)")
    started = time.monotonic()
    directory = tmp_path_factory.mktemp("first-boot")
    gateway = str(ipaddress.ip_network(lab_net.subnet).network_address + 1)
    key = str(directory / "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gough-first-boot", "-f", key], check=True)
    with open(key, encoding="utf-8") as handle:
        private_key = handle.read()
    with open(key + ".pub", encoding="utf-8") as handle:
        public_key = handle.read().strip()
    ca_cert, ca_key = make_ca(str(directory / "ca"))
    ca_pem = read(ca_cert)
    project = directory / "project"
    shutil.copytree(os.path.join(ROOT, "playbooks"), project / "playbooks")
    shutil.copytree(os.path.join(ROOT, "inventory"), project / "inventory")
    git_repository(str(project))  # a git project: AWX (and its emulator) checks the branch out
    file_sd = directory / "file_sd"
    file_sd.mkdir()
    host_config_key = uuid.uuid4().hex + uuid.uuid4().hex
    stack = {"fleet": None, "awx": None, "proxy": None}
    try:
        fleet = stack["fleet"] = start_fleet_emulator(str(directory / "fleet"), listen="0.0.0.0:0",
                                                      tls_sans=[gateway], distributed_interval=2, online_buffer=4)
        awx = stack["awx"] = start_awx_emulator(directory / "awx", remote_host_headers=["X-Forwarded-For"])
        variables = inputs(project, awx_config_ssh_user="ops", awx_config_ssh_private_key=private_key,
                           awx_config_host_config_key=host_config_key, awx_config_ca_cert=ca_pem,
                           awx_config_ca_key=read(ca_key),
                           awx_config_fleet_url=fleet.url, awx_config_fleet_api_token=fleet.api_token,
                           awx_config_fleet_ca_cert=read(fleet.ca_cert),
                           awx_config_fleet_enroll_secret=fleet.enroll_secret,
                           awx_config_fleet_node_address="%s:%d" % (gateway, fleet.port),
                           awx_config_prometheus_file_sd_dir=str(file_sd),
                           awx_config_prometheus_file_sd_host="localhost")
        process, recap = run_playbook(awx, directory, variables)
        assert recap.get("failed") == 0, process.stdout[-3000:]
        api = awx.client()
        template = api.one("job_templates", "Gough first boot")
        proxy = stack["proxy"] = TLSProxy(gateway, *issue_server_cert(ca_cert, ca_key, gateway, str(directory)),
                                          awx.url)
        callback_url = "%s/api/v2/job_templates/%s/callback/" % (proxy.url, template["id"])
        ops = {"users": [{"name": "ops", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL",
                          "ssh_authorized_keys": [public_key]}]}
        for system_id, hostname, key_given in ((NODE_ID, NODE, host_config_key), (WRONG_ID, WRONG, "not-the-key")):
            rendered = render(str(directory / hostname), {
                "name": "gough-bootstrap", "parts": [ops], "merge_how": "append", "validator": VALIDATOR,
                "vars": {"gough_ca_cert": ca_pem, "gough_awx_callback_url": callback_url,
                         "gough_awx_host_config_key": key_given, "gough_awx_callback_retry_delay": 2,
                         "gough_awx_callback_timeout": 240}})
            assert rendered.get("schema_validated") is True, rendered.get("msg")
            lab_net.boot(system_id, hostname, rendered["user_data"].encode())
        yield {"awx": awx, "api": api, "fleet": fleet, "template": template, "key": host_config_key,
               "ssh_key": private_key, "ca_cert": ca_cert, "file_sd": str(file_sd), "dir": directory,
               "inventory": api.one("inventories", "MAAS"), "started": started}
    finally:
        for system_id in (NODE_ID, WRONG_ID):
            lab_net.remove(system_id, erase=True)
        for name in ("proxy", "awx", "fleet"):
            if stack[name] is not None:
                stack[name].stop()


def add_to_maas_inventory(chain, hostname, system_id, address):  # pylint: disable=redefined-outer-name
    """What the MAAS source's sync gives a deployed machine: its hostname, address and system id. The lab's own
    inventory variables ride along (the node image's osquery stand-in; no clock to keep in a container)."""
    variables = {"ansible_host": address, "maas_system_id": system_id, "maas_status": "Deployed",
                 "fleet_enroll_install_method": "preinstalled", "fleet_enroll_timeout": 90,
                 "fleet_enroll_poll_interval": 1, "fleet_enroll_interval": 2, "agent_template": "gough-bootstrap",
                 "agent_healthz_checks": ["cloud_init", "failed_units", "filesystems", "collectors"]}
    status, body = chain["api"].post("hosts/", {"name": hostname, "inventory": chain["inventory"]["id"],
                                                "variables": json.dumps(variables)})
    assert status == 201, body


def callbacks_from(chain, address):  # pylint: disable=redefined-outer-name
    return [c for c in chain["awx"].callbacks()
            if c["template"] == chain["template"]["id"] and c["remote_host"] == address]


def run_job_as_awx(chain, job_id):  # pylint: disable=redefined-outer-name
    """The job run with what AWX hands ansible-runner for it (gough_lab.playbook_runner); returns (PlaybookRun,
    its job output)."""
    args = chain["awx"].runner_args(job_id, str(chain["dir"] / ("job-%s" % job_id)))
    # The execution environment has gough.gough installed; here it is this checkout.
    envvars = dict(args["envvars"], ANSIBLE_HOST_KEY_CHECKING="False", ANSIBLE_PIPELINING="True")
    chain["awx"].set_job_status(job_id, "running")
    run = run_job(args["playbook"], args["private_data_dir"], *shlex.split(args["cmdline"] or ""),
                  inventory=args["inventory"], extravars=args["extravars"], envvars=envvars, limit=args["limit"],
                  ssh_key=args["ssh_key"], collections=COLLECTIONS, timeout=900)
    chain["awx"].set_job_status(job_id, "successful" if run.status == "successful" else "failed")
    return run, run.stdout


def test_first_boot_registers_itself_and_ends_healthy_and_online_in_fleet(lab_net, chain):  # pylint: disable=redefined-outer-name
    address = lab_net.address(NODE_ID)
    # Not in the inventory yet: AWX answers 400 and the node keeps trying (after cloud-init is done).
    refused = wait_for("a callback from %s" % address, lambda: callbacks_from(chain, address), BOOT_TIMEOUT)
    assert refused[0]["status"] == 400 and refused[0]["answer"] == {"msg": "No matching host could be found!"}
    assert refused[0]["job"] is None
    assert lab_net.wait_cloud_init(NODE_ID, timeout=30).status == "done"
    add_to_maas_inventory(chain, NODE, NODE_ID, address)
    accepted = wait_for("AWX starting the first-boot job for %s" % NODE,
                        lambda: [c for c in callbacks_from(chain, address) if c["status"] == 201], 60)
    assert accepted[0]["host"] == NODE and len(accepted) == 1
    job = [j for j in chain["awx"].jobs() if j["id"] == accepted[0]["job"]][0]
    assert (job["limit"], job["launch_type"], job["playbook"]) == (NODE, "callback", "playbooks/first_boot.yml")

    started = time.monotonic()
    runner, output = run_job_as_awx(chain, job["id"])
    print("first-boot job through ansible-runner: %s in %.1f s" % (runner.status, time.monotonic() - started))
    assert runner.status == "successful" and runner.rc == 0, output[-6000:]
    assert chain["key"] not in output and chain["fleet"].enroll_secret not in output
    assert runner.artifacts_holding([chain["key"], chain["fleet"].enroll_secret]) == []
    assert runner.stats[NODE]["failures"] == 0 and runner.stats[NODE]["ok"] > 0, runner.stats

    # The agent answers over mutual TLS with the controller's client certificate the job issued.
    client_dir = os.path.join(str(chain["dir"] / ("job-%s" % job["id"])), "agent-client")
    context = ssl.create_default_context(cafile=chain["ca_cert"])
    context.load_cert_chain(os.path.join(client_dir, "gough-agent-client.crt"),
                            os.path.join(client_dir, "gough-agent-client.key"))
    with urllib.request.urlopen("https://%s:9555/healthz" % address, context=context, timeout=15) as response:
        assert response.status == 200 and json.loads(response.read())["ok"] is True
    with urllib.request.urlopen("https://%s:9555/metrics" % address, context=context, timeout=15) as response:
        metrics = response.read().decode()
    assert 'gough_provisioning_info{maas_system_id="%s",template="gough-bootstrap"} 1' % NODE_ID in metrics
    with open(os.path.join(chain["file_sd"], "%s.json" % NODE), encoding="utf-8") as handle:
        assert json.load(handle)[0]["targets"] == ["%s:9555" % address]
    # Online in Fleet.
    hosts = [h for h in chain["fleet"].request("GET", "/api/v1/fleet/hosts").json()["hosts"] if h["hostname"] == NODE]
    assert len(hosts) == 1 and hosts[0]["status"] == "online", hosts

    # Once only: the marker is there, and the unit's condition keeps a later boot from calling again.
    assert node_exec(lab_net, NODE_ID, "test", "-e", "/var/lib/gough/awx-callback.done").returncode == 0
    node_exec(lab_net, NODE_ID, "systemctl", "start", "gough-awx-callback.service")
    shown = node_exec(lab_net, NODE_ID, "systemctl", "show", "-p", "ConditionResult", "gough-awx-callback.service")
    assert shown.stdout.strip() == "ConditionResult=no"
    assert [c["status"] for c in callbacks_from(chain, address)].count(201) == 1
    journal = node_exec(lab_net, NODE_ID, "journalctl", "-u", "gough-awx-callback.service", "--no-pager").stdout
    assert "No matching host could be found!" in journal and "AWX accepted the provisioning callback" in journal
    # The key never reaches the journal or a file an unprivileged user can read (cloud-init's outputs included).
    assert chain["key"] not in journal
    readable = node_exec(lab_net, NODE_ID, "grep", "-rlsF", chain["key"], "/etc", "/var/log", "/var/lib", "/run",
                         "/tmp", user="nobody")
    assert readable.stdout == "", readable.stdout
    mode = node_exec(lab_net, NODE_ID, "stat", "-c", "%U %a", "/etc/gough/awx-callback.key").stdout.split()
    assert mode == ["root", "600"]
    print("first boot chain (both nodes booted, role configured AWX): %.1f s" % (time.monotonic() - chain["started"]))


def test_a_wrong_host_config_key_is_refused_and_runs_nothing(lab_net, chain):  # pylint: disable=redefined-outer-name
    address = lab_net.address(WRONG_ID)
    add_to_maas_inventory(chain, WRONG, WRONG_ID, address)
    refused = wait_for("a callback from %s" % address, lambda: callbacks_from(chain, address), BOOT_TIMEOUT)
    assert (refused[0]["status"], refused[0]["job"]) == (403, None)
    assert not [j for j in chain["awx"].jobs() if j["limit"] == WRONG]
    # It gives up at once (a wrong key does not fix itself) and says why; no marker, so a restart tries again.
    wait_for("gough-awx-callback to fail on %s" % WRONG, lambda: node_exec(
        lab_net, WRONG_ID, "systemctl", "is-failed", "gough-awx-callback.service").stdout.strip() == "failed", 30)
    journal = node_exec(lab_net, WRONG_ID, "journalctl", "-u", "gough-awx-callback.service", "--no-pager").stdout
    assert "AWX refused the host config key (403)" in journal
    assert len(callbacks_from(chain, address)) == 1
    assert node_exec(lab_net, WRONG_ID, "test", "-e", "/var/lib/gough/awx-callback.done").returncode != 0
