"""Every library template through real cloud-init: ``cloud-init schema`` of the lab node image, then a real boot.

1. Each template (and the documented combinations) is rendered by ``gough.gough.cloudinit_template`` through
   the tests' one runner (``gough_lab.playbook_runner``), with realistic variables (an SSH key made here) and the
   lab's validator (``gough-lab cloudinit validate``, which runs ``cloud-init schema --config-file`` in the node
   image). Each must come back ``schema_validated: true``; a deliberately broken part must fail naming the key path.
2. The rendered user-data boots in lab nodes (systemd containers, NoCloud seed) to ``cloud-init status: done``,
   and the ``base`` node accepts an SSH login with the template's key. The nodes install packages from Debian's
   mirror, so the boots start together and each test waits for its own node; each prints its boot time.

What a container can and cannot show:

* ``docker-host`` boots with a ``cloudinit_docker_daemon`` fit for a container (``iptables: false``, ``bridge: none``,
  ``storage-driver: vfs``), leaving the node's own nftables ruleset (the base template's firewall) to itself. With a
  daemon.json dockerd cannot run with (``storage-driver: overlay2``: overlay2 cannot stack on the container's own
  overlay file system) the same template must fail the boot in ``scripts-user``, which is tested too. (Nodes have
  CAP_NET_ADMIN for their own network namespace, so Docker's default daemon.json would work there.)
* ``kvm-hypervisor`` boots with its defaults: libvirtd runs and ``qemu:///system`` answers for the admin user. Not
  shown: guests. A lab node has no ``/dev/kvm`` (the host's KVM is not passed to it), so QEMU could only emulate
  (TCG), and no guest image is available offline. The optional bridge (``cloudinit_kvm_bridge_interfaces``) is not
  booted either: enslaving the node's only interface (Docker's veth) would cut it off the lab network, and the
  Debian node image has no netplan. Its rendered
  netplan file passes the schema check above and the unit tests check its content.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from gough_lab import nodes, playbook_runner
from gough_lab.common.testing import lab_missing
from gough_lab.playbook_runner import LOCALHOST

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")
BIN = os.path.dirname(sys.executable)
VALIDATOR = "%s cloudinit validate" % os.path.join(BIN, "gough-lab")
BOOT_TIMEOUT = 300
CA_CERT = ("-----BEGIN CERTIFICATE-----\nMIIBlab0CA0certificate0for0the0gough0lab0node0tests\n"
           "-----END CERTIFICATE-----\n")

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Render user-data
      gough.gough.cloudinit_template: {options}
      register: rendered
      ignore_errors: true
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ rendered | to_json }}}}"
        dest: "{result_file}"
        mode: "0600"
      no_log: true
"""
# dockerd inside a lab node: no iptables rules and no bridge of its own (the node's nftables ruleset stays the base
# template's) and no overlay on the container's overlay file system (so vfs). See the docstring.
CONTAINER_DOCKER_DAEMON = {"iptables": False, "ip6tables": False, "bridge": "none", "storage-driver": "vfs",
                           "log-driver": "json-file", "log-opts": {"max-size": "10m", "max-file": "3"}}

# What each boot renders: template names and variables beyond the common ones (template_vars). The slowest first.
BOOTS = {
    "kvm-hypervisor": (["kvm-hypervisor"], {}),
    "docker-host": (["docker-host"], {"cloudinit_docker_daemon": CONTAINER_DOCKER_DAEMON}),
    "docker-host-overlay2": (["docker-host"], {"cloudinit_docker_daemon": {"storage-driver": "overlay2"}}),
    "base": (["base"], {"cloudinit_packages": ["less", "jq"], "cloudinit_hostname": "lab-base"}),
    "gough-bootstrap": (["gough-bootstrap"], {}),
}


def _collections():
    """The working tree as ansible_collections/gough/gough (the link tests/unit/conftest.py makes)."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        try:
            os.symlink(ROOT, LINK)
        except FileExistsError:
            pass
    return COLLECTIONS


def render(directory, options):
    """Run one cloudinit_template task with ``options``; return the registered result."""
    os.makedirs(directory, exist_ok=True)
    result_file = os.path.join(directory, "result.json")
    playbook = os.path.join(directory, "play.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAYBOOK.format(options=yaml.safe_dump(options, default_flow_style=True, width=10 ** 6).strip(),
                                     result_file=result_file))
    # The validator comes from the options here, never from the environment (an empty value is no validator).
    job = playbook_runner.run_playbook(playbook, os.path.join(directory, "job"), inventory=LOCALHOST,
                                       collections=_collections(), envvars={"GOUGH_CLOUDINIT_VALIDATOR": ""},
                                       timeout=180)
    assert job.rc == 0, job.output
    with open(result_file, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@pytest.fixture(scope="module")
def ssh_key(engine, tmp_path_factory):  # pylint: disable=unused-argument
    """(private key path, public key text): a fresh ed25519 key pair."""
    if shutil.which("ssh-keygen") is None:
        lab_missing("ssh-keygen is missing (apt-get install openssh-client)")
    path = str(tmp_path_factory.mktemp("ssh") / "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gough-lab-test", "-f", path], check=True)
    with open(path + ".pub", encoding="utf-8") as handle:
        return path, handle.read().strip()


def template_vars(ssh_key, extra=None):  # pylint: disable=redefined-outer-name
    """Realistic variables for every template, plus ``extra``."""
    variables = {"cloudinit_ssh_authorized_keys": [ssh_key[1]], "cloudinit_admin_user": "ops",
                 "cloudinit_timezone": "Europe/Berlin", "cloudinit_ntp_pools": ["2.debian.pool.ntp.org"],
                 "gough_ca_cert": CA_CERT}
    variables.update(extra or {})
    return variables


@pytest.mark.parametrize("names", [["base"], ["docker-host"], ["kvm-hypervisor"], ["gough-bootstrap"],
                                   ["base", "gough-bootstrap"], ["docker-host", "gough-bootstrap"]],
                         ids="+".join)
def test_template_passes_real_cloud_init_schema(tmp_path, ssh_key, names):  # pylint: disable=redefined-outer-name
    extra = {"cloudinit_packages": ["less"], "cloudinit_apt_proxy": "http://apt-cache.lab.example:3142",
             "cloudinit_apt_mirror": "http://apt-mirror.lab.example/debian", "cloudinit_admin_groups": ["adm"],
             "cloudinit_kvm_bridge_interfaces": ["eth1"], "cloudinit_kvm_bridge_nameservers": ["192.0.2.53"],
             "gough_awx_callback_url": "https://awx.lab.example/api/v2/job_templates/7/callback/",
             "gough_awx_host_config_key": "s3cret"}
    result = render(str(tmp_path), {"name": names, "vars": template_vars(ssh_key, extra),
                                    "validator": VALIDATOR, "schema_validation": "required"})
    assert not result.get("failed"), result.get("msg")
    assert result["schema_validated"] is True
    assert result["validator"].endswith("gough-lab cloudinit validate")


def test_schema_error_names_the_key_path(tmp_path, ssh_key):  # pylint: disable=redefined-outer-name
    broken = {"users": [{"name": "broken", "ssh_authorized_keys": ssh_key[1]}]}  # a string, not a list
    result = render(str(tmp_path), {"name": ["base"], "vars": template_vars(ssh_key), "parts": [broken],
                                    "merge_how": "append", "validator": VALIDATOR})
    assert result.get("failed"), result
    assert "cloud-init schema validation failed" in result["msg"]
    assert "users[1].ssh_authorized_keys:" in result["msg"], result["msg"]
    assert "is not of type 'array'" in result["msg"]


@pytest.fixture(scope="module")
def booted(lab_net, ssh_key, tmp_path_factory):  # pylint: disable=redefined-outer-name
    """Render each entry of BOOTS and start all its nodes at once; {template: (system_id, started)}."""
    started = {}
    directory = tmp_path_factory.mktemp("boots")
    for index, (label, (names, extra)) in enumerate(BOOTS.items()):
        result = render(str(directory / label), {"name": names, "vars": template_vars(ssh_key, extra),
                                                 "validator": VALIDATOR})
        assert result.get("schema_validated") is True, result.get("msg")
        system_id = "tpl%03d" % index
        lab_net.boot(system_id, "lab-%s" % label, result["user_data"].encode())
        started[label] = (system_id, time.monotonic())
    yield started
    for system_id, _started in started.values():
        lab_net.remove(system_id, erase=True)


def wait_done(lab_net, booted, label):  # pylint: disable=redefined-outer-name
    """Wait for the node of ``label`` to finish cloud-init; assert done; return its system_id."""
    system_id, started = booted[label]
    result = lab_net.wait_cloud_init(system_id, timeout=BOOT_TIMEOUT)
    print("template %s: boot to cloud-init %s in %.1f s" % (label, result.status, time.monotonic() - started))
    if result.status != "done":
        log = lab_net.read_file(system_id, "/var/log/cloud-init-output.log") or b""
        pytest.fail("%s: %r\n%s" % (label, result, log.decode(errors="replace")[-3000:]))
    return system_id


def test_base_boots_and_accepts_the_templates_ssh_key(lab_net, booted, ssh_key):  # pylint: disable=redefined-outer-name
    system_id = wait_done(lab_net, booted, "base")
    assert lab_net.read_file(system_id, "/etc/hostname").strip() == b"lab-base"
    assert b"PermitRootLogin no" in lab_net.read_file(system_id, "/etc/ssh/sshd_config.d/60-gough-hardening.conf")
    assert nodes.docker("exec", lab_net.name(system_id), "sh", "-c", "command -v jq && command -v less")
    assert b"ops" in nodes.docker("exec", lab_net.name(system_id), "id", "-nG", "ops").encode()
    if shutil.which("ssh") is None:
        pytest.fail("the ssh client is missing: apt-get install openssh-client")
    address = lab_net.address(system_id)
    command = ["ssh", "-i", ssh_key[0], "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "ops@%s" % address]
    login = subprocess.run(command + ["sudo", "-n", "true", "&&", "hostname"], capture_output=True, text=True,
                           timeout=60, check=False)
    assert login.returncode == 0, login.stderr
    assert login.stdout.strip() == "lab-base"
    # The hardening holds: no root logins, no passwords.
    root = subprocess.run(command[:-1] + ["root@%s" % address, "true"], capture_output=True, text=True, timeout=60,
                          check=False)
    assert root.returncode != 0


def test_gough_bootstrap_boots(lab_net, booted):  # pylint: disable=redefined-outer-name
    system_id = wait_done(lab_net, booted, "gough-bootstrap")
    listing = nodes.docker("exec", lab_net.name(system_id), "stat", "-c", "%U:%G %a %n", "/etc/gough/ca.pem")
    assert listing.strip() == "root:root 644 /etc/gough/ca.pem"
    assert lab_net.read_file(system_id, "/etc/gough/ca.pem") == CA_CERT.encode()
    assert nodes.docker("exec", lab_net.name(system_id), "sh", "-c", "command -v curl && command -v python3")
    # Without a callback URL there is no callback unit (tests/lab_nodes/test_first_boot.py boots one with it).
    assert lab_net.read_file(system_id, "/etc/systemd/system/gough-awx-callback.service") is None


def test_docker_host_boots_with_a_running_docker(lab_net, booted):  # pylint: disable=redefined-outer-name
    system_id = wait_done(lab_net, booted, "docker-host")
    name = lab_net.name(system_id)
    assert nodes.docker("exec", name, "systemctl", "is-active", "docker.service").strip() == "active"
    info = nodes.docker("exec", "-u", "ops", name, "docker", "info", "--format", "{{.Driver}} {{.LoggingDriver}}")
    assert info.strip() == "vfs json-file"  # as ops: the docker group works; daemon.json is in force
    assert "docker" in nodes.docker("exec", name, "id", "-nG", "ops").split()


def test_docker_host_fails_the_boot_when_dockerd_cannot_run(lab_net, booted):  # pylint: disable=redefined-outer-name
    system_id, started = booted["docker-host-overlay2"]
    result = lab_net.wait_cloud_init(system_id, timeout=BOOT_TIMEOUT)
    print("template docker-host (storage-driver overlay2): cloud-init %s in %.1f s"
          % (result.status, time.monotonic() - started))
    assert result.status == "error", result
    assert result.module == "scripts-user"
    assert "docker.service" in (lab_net.read_file(system_id, "/var/log/cloud-init-output.log") or b"").decode()


def test_kvm_hypervisor_boots_with_a_running_libvirt(lab_net, booted):  # pylint: disable=redefined-outer-name
    system_id = wait_done(lab_net, booted, "kvm-hypervisor")
    name = lab_net.name(system_id)
    assert nodes.docker("exec", name, "systemctl", "is-active", "libvirtd.service").strip() == "active"
    version = nodes.docker("exec", "-u", "ops", name, "virsh", "-c", "qemu:///system", "version")
    assert "Running hypervisor: QEMU" in version  # as ops: the libvirt group works
    assert {"libvirt", "kvm"} <= set(nodes.docker("exec", name, "id", "-nG", "ops").split())
