"""The stack role's lab profile for real: playbooks/stack.yml with stack_profile=lab on this machine's engine.

One stack per test run (own Compose project, own network and subnet, ports picked free, base dir under pytest's
tmp dir), brought up once; a second run must change nothing, and bad input must fail before anything starts.
"""

import json
import os
import socket
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from cryptography import x509

from stack_helpers import ROOT, docker, free_port, run_playbook

PLAYBOOK = os.path.join(ROOT, "playbooks", "stack.yml")
SERVICES = ("maas", "fleet", "nginx", "prometheus", "journal")
CONTROLLER_KEYS = {"gough_maas_url", "gough_maas_api_key", "gough_fleet_url", "gough_fleet_node_url",
                   "gough_fleet_api_token", "gough_fleet_enroll_secret", "gough_ca_cert", "gough_ca_key",
                   "gough_prometheus_url", "gough_prometheus_file_sd_dir", "gough_journal_url"}


def _secrets(base):
    folder = os.path.join(base, "secrets")
    values = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            values[name] = handle.read()
    return values


@pytest.fixture(scope="module")
def lab_stack(engine, run_id, tmp_path_factory):  # pylint: disable=unused-argument
    """The lab stack brought up twice (first run, rerun); torn down at the end."""
    from gough_lab import nodes  # pylint: disable=import-outside-toplevel
    base = str(tmp_path_factory.mktemp("stack") / "lab")
    project = "gough-stktest-%s" % run_id
    network = "gough-stktest-%s" % run_id
    variables = {
        "stack_profile": "lab",
        "stack_base_dir": base,
        "stack_project": project,
        "stack_network_name": network,
        "stack_network_subnet": nodes.free_subnet(start=180),
        "stack_port_maas": free_port(),
        "stack_port_fleet": free_port(),
        "stack_port_prometheus": free_port(),
        "stack_lab_fleet_alias": "fleet.%s.lab" % run_id,
        "stack_lab_maas_alias": "maas.%s.lab" % run_id,
        "stack_lab_journal_alias": "journal.%s.lab" % run_id,
        "stack_lab_node_prefix": "gough-stktest-%s-" % run_id,
        "stack_wait_timeout": 240,
    }
    stack = {"vars": variables, "base": base, "project": project, "network": network}
    try:
        stack["first"] = run_playbook(PLAYBOOK, variables)
        assert stack["first"].rc == 0, stack["first"].output[-6000:]
        stack["secrets_first"] = _secrets(base)
        stack["second"] = run_playbook(PLAYBOOK, variables)
        stack["secrets_second"] = _secrets(base)
        yield stack
    finally:
        nodes_left = docker("ps", "-aq", "--filter", "name=^%s" % variables["stack_lab_node_prefix"], check=False)
        if nodes_left.split():
            docker("rm", "-f", "-v", *nodes_left.split(), check=False)
        if os.path.exists(os.path.join(base, "compose.yml")):
            docker("compose", "-p", project, "-f", os.path.join(base, "compose.yml"), "down", "-v",
                   "--remove-orphans", check=False)
        docker("network", "rm", network, check=False)


def _controller(stack):
    with open(os.path.join(stack["base"], "controller.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _tls_context(stack):
    return ssl.create_default_context(cafile=os.path.join(stack["base"], "ca", "ca.crt"))


def _get(url, stack, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30, context=_tls_context(stack)) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_every_service_is_healthy(lab_stack):
    """Every container of the project runs and its health check passes."""
    out = docker("ps", "-a", "--filter", "label=com.docker.compose.project=%s" % lab_stack["project"],
                 "--format", "{{.Label \"com.docker.compose.service\"}} {{.State}} {{.Status}}")
    states = {line.split()[0]: line for line in out.splitlines()}
    assert sorted(states) == sorted(SERVICES), out
    for service, line in states.items():
        assert " running " in line and "(healthy)" in line, "%s: %s" % (service, line)


def test_nginx_serves_the_emulators_with_a_certificate_from_goughs_ca(lab_stack):
    """MAAS, Fleet and Prometheus answer through nginx; the chain verifies with Gough's CA only."""
    controller = _controller(lab_stack)
    status, body = _get(controller["gough_maas_url"] + "/api/2.0/version/", lab_stack)
    assert status == 200 and "capabilities" in json.loads(body)
    status, body = _get(controller["gough_fleet_url"] + "/api/v1/fleet/version", lab_stack,
                        {"Authorization": "Bearer %s" % controller["gough_fleet_api_token"]})
    assert status == 200 and "version" in json.loads(body)
    status, body = _get(controller["gough_prometheus_url"] + "/-/ready", lab_stack)
    assert status == 200
    # The served certificate is nginx's, issued by Gough's CA (and not trusted without that CA).
    port = lab_stack["vars"]["stack_port_maas"]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with _tls_context(lab_stack).wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    served = x509.load_der_x509_certificate(der)
    with open(controller["gough_ca_cert"], "rb") as handle:
        ca = x509.load_pem_x509_certificate(handle.read())
    assert served.issuer == ca.subject
    served.verify_directly_issued_by(ca)
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            ssl.create_default_context().wrap_socket(raw, server_hostname="localhost")


def test_maas_api_key_works_through_nginx(lab_stack):
    """The API key in controller.yml authenticates against the MAAS emulator behind nginx (OAuth PLAINTEXT)."""
    controller = _controller(lab_stack)
    consumer, token, secret = controller["gough_maas_api_key"].split(":")
    header = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
              'oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"'
              % (consumer, token, secret, uuid.uuid4().hex, time.time()))
    status, body = _get(controller["gough_maas_url"] + "/api/2.0/users/?op=whoami", lab_stack,
                        {"Authorization": header})
    assert status == 200, body
    assert json.loads(body)["is_superuser"] is True


def test_lab_nodes_reach_fleet_by_its_node_url(lab_stack):
    """A container on the stack's network reaches Fleet at gough_fleet_node_url with TLS from Gough's CA."""
    controller = _controller(lab_stack)
    result = subprocess.run(
        ["docker", "run", "--rm", "--label", "gough-lab=1", "--network", lab_stack["network"],
         "-v", "%s:/ca.crt:ro" % controller["gough_ca_cert"], "gough-lab/nginx:trixie",
         "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", "/ca.crt",
         "https://%s/api/v1/fleet/version" % controller["gough_fleet_node_url"]],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "401"  # TLS verified; Fleet itself wants a token


DEPLOY_PLAYBOOK = """
- name: Enlist, commission and deploy one machine through the stack's nginx
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Connection values
      ansible.builtin.include_vars:
        file: "{{ controller_file }}"
        name: stack
      no_log: true
    - name: Through MAAS
      module_defaults:
        group/gough.gough.maas:
          url: "{{ stack.gough_maas_url }}"
          api_key: "{{ stack.gough_maas_api_key }}"
          ca_path: "{{ stack.gough_ca_cert }}"
      block:
        - name: Enlist and commission
          gough.gough.maas_machine:
            hostname: stacktest-node
            mac_addresses: ["52:54:00:5a:c0:01"]
            architecture: amd64
            power_type: manual
            state: ready
            wait_timeout: 120
        - name: Deploy with user data
          gough.gough.maas_deploy:
            machines: [stacktest-node]
            distro_series: noble
            user_data: "#cloud-config\\nruncmd:\\n  - echo deployed-through-the-stack > /root/stack-test\\n"
            wait_timeout: 300
          register: deployed
        - name: Where it is
          ansible.builtin.copy:
            content: "{{ deployed.machines | to_json }}"
            dest: "{{ result_file }}"
            mode: "0600"
"""


def test_maas_emulator_boots_lab_nodes_from_its_container(lab_stack, tmp_path):
    """A deployment through nginx makes the containerised MAAS emulator boot a lab node on the stack's network
    (docker CLI and socket inside the emulators container); cloud-init runs the user data there."""
    playbook = tmp_path / "deploy.yml"
    playbook.write_text(DEPLOY_PLAYBOOK)
    result_file = tmp_path / "deployed.json"
    run = run_playbook(str(playbook), {"stack_base_dir": str(tmp_path / "deploy"),
                                       "controller_file": os.path.join(lab_stack["base"], "controller.yml"),
                                       "result_file": str(result_file)})
    assert run.rc == 0, run.output[-6000:]
    machine = json.loads(result_file.read_text())[0]
    assert machine["status"] == "Deployed", machine
    name = lab_stack["vars"]["stack_lab_node_prefix"] + machine["system_id"]
    networks = docker("inspect", "--format", "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}}{{end}}",
                      name).split()
    assert networks[0] == lab_stack["network"] and networks[1] in machine["ip_addresses"]
    assert docker("exec", name, "cat", "/root/stack-test").strip() == "deployed-through-the-stack"


def test_controller_file_and_secrets(lab_stack):
    """controller.yml (0600) carries every contract key; secret files are 0600 in a 0700 directory; CA key 0600."""
    base = lab_stack["base"]
    controller = _controller(lab_stack)
    assert set(controller) == CONTROLLER_KEYS
    assert all(controller[key] for key in CONTROLLER_KEYS)
    assert controller["gough_prometheus_file_sd_dir"] == os.path.join(base, "prometheus", "file_sd")
    assert controller["gough_fleet_node_url"] == "%s:8443" % lab_stack["vars"]["stack_lab_fleet_alias"]
    assert stat.S_IMODE(os.stat(os.path.join(base, "controller.yml")).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(base, "secrets")).st_mode) == 0o700
    assert sorted(lab_stack["secrets_first"]) == ["fleet_api_token", "fleet_enroll_secret", "maas_api_key"]
    for name in lab_stack["secrets_first"]:
        assert stat.S_IMODE(os.stat(os.path.join(base, "secrets", name)).st_mode) == 0o600, name
    assert stat.S_IMODE(os.stat(os.path.join(base, "ca", "ca.key")).st_mode) == 0o600
    assert controller["gough_maas_api_key"] == lab_stack["secrets_first"]["maas_api_key"]
    # No secret in the rendered Compose file or in the playbook output.
    with open(os.path.join(base, "compose.yml"), encoding="utf-8") as handle:
        compose = handle.read()
    for value in lab_stack["secrets_first"].values():
        assert value not in compose
        assert value not in lab_stack["first"].output and value not in lab_stack["second"].output


def test_rerun_changes_nothing_and_keeps_secrets(lab_stack):
    """The second run reports changed=0 and every secret keeps its value."""
    second = lab_stack["second"]
    assert second.rc == 0, second.output[-6000:]
    assert second.recap.get("changed") == 0 and second.recap.get("failed") == 0, second.output[-6000:]
    assert lab_stack["secrets_second"] == lab_stack["secrets_first"]


def test_check_mode_changes_nothing(lab_stack):
    """--check on the running stack reports no change and leaves the containers alone."""
    before = docker("ps", "-q", "--filter", "label=com.docker.compose.project=%s" % lab_stack["project"])
    run = run_playbook(PLAYBOOK, lab_stack["vars"], "--check")
    assert run.rc == 0, run.output[-6000:]
    assert run.recap.get("changed") == 0, run.output[-6000:]
    after = docker("ps", "-q", "--filter", "label=com.docker.compose.project=%s" % lab_stack["project"])
    assert sorted(before.split()) == sorted(after.split())


def _bad_run(tmp_path, run_id, **overrides):
    base = str(tmp_path / "bad")
    variables = {"stack_profile": "lab", "stack_base_dir": base, "stack_project": "gough-stkbad-%s" % run_id,
                 "stack_network_name": "gough-stkbad-%s" % run_id, "stack_network_subnet": "172.30.251.0/24",
                 "stack_port_maas": free_port(), "stack_port_fleet": free_port(),
                 "stack_port_prometheus": free_port()}
    variables.update(overrides)
    run = run_playbook(PLAYBOOK, variables, timeout=300)
    assert run.rc != 0, run.output[-4000:]
    assert not os.path.exists(base), "the stack created files before failing"
    return run


def test_bad_input_subnet_overlaps_a_docker_network(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """A subnet inside another Docker network's subnet fails before anything starts, naming that network."""
    from gough_lab import nodes  # pylint: disable=import-outside-toplevel
    subnet = nodes.free_subnet(start=200)
    other = "gough-stkclash-%s" % run_id
    docker("network", "create", "--label", "gough-lab=1", "--subnet", subnet, other)
    try:
        inner = subnet.replace(".0/24", ".128/25")
        run = _bad_run(tmp_path, run_id, stack_network_subnet=inner)
        assert "overlaps Docker network %s (%s)" % (other, subnet) in run.output, run.output[-4000:]
    finally:
        docker("network", "rm", other, check=False)


def test_bad_input_port_in_use(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """A published port some other program listens on fails before anything starts, naming the port."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        run = _bad_run(tmp_path, run_id, stack_port_fleet=port)
    assert "port %d on 127.0.0.1 is already in use" % port in run.output, run.output[-4000:]


def test_check_mode_on_a_new_stack_writes_nothing(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """--check before the first run succeeds and creates no file, network or container."""
    base = str(tmp_path / "new")
    project = "gough-stknew-%s" % run_id
    run = run_playbook(PLAYBOOK, {"stack_profile": "lab", "stack_base_dir": base, "stack_project": project,
                                  "stack_network_name": project, "stack_network_subnet": "172.30.252.0/24",
                                  "stack_port_maas": free_port(), "stack_port_fleet": free_port(),
                                  "stack_port_prometheus": free_port()}, "--check")
    assert run.rc == 0, run.output[-4000:]
    assert not os.path.exists(base)
    assert not docker("network", "ls", "-q", "--filter", "name=^%s$" % project).strip()
    assert not docker("ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % project).strip()


def test_bad_input_no_docker_engine(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """No engine at stack_docker_host: one clear error before anything starts."""
    run = _bad_run(tmp_path, run_id, stack_docker_host="unix://%s/missing.sock" % tmp_path)
    assert "no Docker engine answers at unix://%s/missing.sock" % tmp_path in run.output, run.output[-4000:]
