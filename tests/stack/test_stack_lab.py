"""The stack role's lab profile for real: playbooks/stack.yml with stack_profile=lab on this machine's engine.

One stack per test run (own Compose project, own network and subnet, ports picked free, base dir under pytest's
tmp dir; the ``lab_stack`` fixture in conftest.py, shared with test_stack_alerts.py), brought up twice. The stack's
health, its TLS endpoints, controller.yml and a rerun that changes nothing are the molecule scenario
molecule/stack_lab's; here: the MAAS key, lab nodes booted by the containerised emulator, secrets, check mode, and
bad input that must fail before anything starts.
"""

import ipaddress
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

import yaml

from stack_helpers import PLAYBOOK, docker, free_port, run_playbook


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


def _maas_get(stack, path):
    """GET <gough_maas_url>/api/2.0/<path> with controller.yml's API key (OAuth PLAINTEXT): (status, body)."""
    controller = _controller(stack)
    consumer, token, secret = controller["gough_maas_api_key"].split(":")
    header = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
              'oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"'
              % (consumer, token, secret, uuid.uuid4().hex, time.time()))
    return _get(controller["gough_maas_url"] + "/api/2.0/" + path, stack, {"Authorization": header})


def _maas_json(stack, path):
    status, body = _maas_get(stack, path)
    assert status == 200, body
    return json.loads(body)


def test_maas_api_key_works_through_nginx(lab_stack):
    """The API key in controller.yml authenticates against the MAAS emulator behind nginx (OAuth PLAINTEXT)."""
    assert _maas_json(lab_stack, "users/?op=whoami")["is_superuser"] is True


def test_lab_nodes_reach_fleet_by_its_node_url(lab_stack):
    """A container on the stack's network reaches Fleet at gough_fleet_node_url with TLS from Gough's CA."""
    controller = _controller(lab_stack)
    result = subprocess.run(
        ["docker", "run", "--rm", "--label", "gough-lab=1", "--network", lab_stack["network"],
         "-v", "%s:/ca.crt:ro" % controller["gough_ca_cert"], lab_stack["vars"]["stack_lab_nginx_image"],
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
    # The node's address is a lease from the dynamic range the stack gave MAAS on this network (its upper half).
    subnet = ipaddress.ip_network(lab_stack["vars"]["stack_network_subnet"])
    assert subnet[128] <= ipaddress.ip_address(networks[1]) <= subnet[254], networks
    assert docker("exec", name, "cat", "/root/stack-test").strip() == "deployed-through-the-stack"


def test_secrets_are_private_files_and_never_in_the_compose_file_or_output(lab_stack):
    """Every secret is a 0600 file in secrets/, controller.yml carries the same value, and no secret is in the
    rendered Compose file or the run's output (controller.yml's keys and modes, secrets kept on rerun:
    molecule/stack_lab)."""
    base = lab_stack["base"]
    controller = _controller(lab_stack)
    assert sorted(lab_stack["secrets_first"]) == ["fleet_api_token", "fleet_enroll_secret", "lab_awx_token",
                                                  "maas_api_key"]
    for name in lab_stack["secrets_first"]:
        assert stat.S_IMODE(os.stat(os.path.join(base, "secrets", name)).st_mode) == 0o600, name
    assert controller["gough_maas_api_key"] == lab_stack["secrets_first"]["maas_api_key"]
    with open(os.path.join(base, "compose.yml"), encoding="utf-8") as handle:
        compose = handle.read()
    for value in lab_stack["secrets_first"].values():
        assert value not in compose
        assert value not in lab_stack["first"].output


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
                 "stack_port_prometheus": free_port(), "stack_port_alertmanager": free_port()}
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
                                  "stack_port_prometheus": free_port(), "stack_port_alertmanager": free_port()},
                       "--check")
    assert run.rc == 0, run.output[-4000:]
    assert not os.path.exists(base)
    assert not docker("network", "ls", "-q", "--filter", "name=^%s$" % project).strip()
    assert not docker("ps", "-aq", "--filter", "label=com.docker.compose.project=%s" % project).strip()


def test_bad_input_no_docker_engine(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """No engine at stack_docker_host: one clear error before anything starts."""
    run = _bad_run(tmp_path, run_id, stack_docker_host="unix://%s/missing.sock" % tmp_path)
    assert "no Docker engine answers at unix://%s/missing.sock" % tmp_path in run.output, run.output[-4000:]


def test_bad_input_malformed_receiver_fails_before_anything_starts(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """A webhook URL that is not http(s) and an email address without a domain: one error naming both variables
    (the URL shown without its path, which carries a webhook's key), and no file or container is made."""
    run = _bad_run(tmp_path, run_id, stack_alert_webhook_urls=["htp://hooks.example.com/services/T000/secret-key"],
                   stack_alert_email_to=["ops@"])
    assert ('stack_alert_webhook_urls[0]: "htp://hooks.example.com..." is not an http:// or https:// URL with a host'
            in run.output), run.output[-4000:]
    assert 'stack_alert_email_to[0]: "ops@" is not an email address' in run.output
    assert "secret-key" not in run.output
    assert not docker("ps", "-aq", "--filter", "label=com.docker.compose.project=gough-stkbad-%s" % run_id).strip()


def test_maas_is_ready_to_provision_networks_dns_and_boot_images(lab_stack):
    """The stack role configures MAAS through the collection's modules (tasks/maas_config.yml, the lab's defaults):
    the lab subnet has its gateway, the reserved and the dynamic range; DHCP is on for its VLAN from the lab's rack;
    the boot-source selections are the releases of stack_maas_boot_images, and they are what MAAS has imported."""
    nodes = next(s for s in _maas_json(lab_stack, "subnets/") if s["cidr"] == lab_stack["vars"]["stack_network_subnet"])
    node_ranges = [(r["type"], r["start_ip"], r["end_ip"]) for r in _maas_json(lab_stack, "ipranges/")
                   if r["subnet"]["id"] == nodes["id"]]
    prefix = lab_stack["vars"]["stack_network_subnet"].rsplit(".", 1)[0]
    assert node_ranges == [("dynamic", prefix + ".128", prefix + ".254")]
    subnet = next(s for s in _maas_json(lab_stack, "subnets/") if s["cidr"] == "10.20.0.0/16")
    assert subnet["gateway_ip"] == "10.20.0.1" and subnet["name"] == "lab"
    ranges = sorted((r["type"], r["start_ip"], r["end_ip"]) for r in _maas_json(lab_stack, "ipranges/")
                    if r["subnet"]["id"] == subnet["id"])
    assert ranges == [("dynamic", "10.20.255.1", "10.20.255.254"), ("reserved", "10.20.254.1", "10.20.254.254")]
    vlan = _maas_json(lab_stack, "vlans/%d/" % subnet["vlan"]["id"])
    assert vlan["dhcp_on"] is True and vlan["primary_rack"]
    racks = {rack["system_id"]: rack["hostname"] for rack in _maas_json(lab_stack, "rackcontrollers/")}
    assert racks[vlan["primary_rack"]] == "gough-lab-maas"
    source = _maas_json(lab_stack, "boot-sources/")[0]
    selections = _maas_json(lab_stack, "boot-sources/%d/selections/" % source["id"])
    assert sorted(s["release"] for s in selections) == ["jammy", "noble"]
    imported = {r["name"] for r in _maas_json(lab_stack, "boot-resources/") if r["name"].startswith("ubuntu/")}
    assert imported == {"ubuntu/jammy", "ubuntu/noble"}
    assert _maas_json(lab_stack, "boot-resources/?op=is_importing") is False


def test_bad_input_dhcp_without_a_dynamic_range_fails_before_anything_starts(engine, run_id, tmp_path):  # pylint: disable=unused-argument
    """A network with dhcp: true but no dynamic range: the run fails naming stack_maas_networks[0] before any file or
    container is made (MAAS would refuse DHCP on a VLAN without one)."""
    run = _bad_run(tmp_path, run_id, stack_maas_networks=[{"cidr": "10.30.0.0/24", "dhcp": True, "ip_ranges": [
        {"type": "reserved", "start_ip": "10.30.0.10", "end_ip": "10.30.0.20"}]}])
    assert "stack_maas_networks[0]: each network needs a cidr; DHCP" in run.output, run.output[-4000:]
    assert not docker("ps", "-aq", "--filter", "label=com.docker.compose.project=gough-stkbad-%s" % run_id).strip()
