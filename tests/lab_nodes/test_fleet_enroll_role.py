"""The fleet_enroll role (through playbooks/fleet.yml) on a real lab node with the osqueryd stand-in.

A systemd lab node on this run's network (reached over SSH as a sudo user, like a deployed server) enrolls in a
Fleet emulator that listens on the network's gateway with a certificate for that address. Enrollment, the team, the
flagfile, the secret's mode and a clean rerun are checked by the molecule scenario molecule/fleet_enroll; here:
check mode writes nothing to Fleet, a wrong secret or a flag Fleet cannot work with fails clearly, state absent
removes everything, and install_method apt installs from the node's own sources or a signed repository it is given.
"""

import email.utils
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from gough_lab import nodes, playbook_runner
from gough_lab.common.testing import lab_missing
from gough_lab.fleet.testing import start_fleet_emulator

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")
PLAYBOOK = os.path.join(ROOT, "playbooks", "fleet.yml")
HOSTNAME = "fleet-node-1"
SYSTEM_ID = "fleet01"


def node_exec(lab_net, *command):
    return subprocess.run(["docker", "exec", lab_net.name(SYSTEM_ID)] + list(command), capture_output=True,
                          text=True, timeout=60, check=False)


@pytest.fixture
def fleet_node(lab_net, tmp_path):
    """A booted lab node with the stand-in, and a Fleet emulator the node reaches at the network gateway."""
    check = subprocess.run(["docker", "run", "--rm", "--label", "gough-lab=1", lab_net.image, "test", "-x",
                            "/usr/local/sbin/osqueryd-lab"], capture_output=True, timeout=120, check=False)
    if check.returncode != 0:
        lab_missing("the node image %s has no osqueryd stand-in yet: run make lab-images" % lab_net.image)
    if shutil.which("ssh-keygen") is None:
        lab_missing("ssh-keygen is missing (apt-get install openssh-client)")
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)
    key = str(tmp_path / "id_ed25519")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gough-fleet-test", "-f", key], check=True)
    with open(key + ".pub", encoding="utf-8") as handle:
        public_key = handle.read().strip()
    user_data = ("#cloud-config\nusers:\n  - name: ops\n    shell: /bin/bash\n    sudo: \"ALL=(ALL) NOPASSWD:ALL\"\n"
                 "    ssh_authorized_keys: [%s]\n" % json.dumps(public_key))
    gateway = str(ipaddress.ip_network(lab_net.subnet).network_address + 1)
    fleet = start_fleet_emulator(str(tmp_path / "fleet"), listen="0.0.0.0:0", tls_sans=[gateway],
                                 distributed_interval=2, online_buffer=4)
    try:
        lab_net.boot(SYSTEM_ID, HOSTNAME, user_data)
        result = lab_net.wait_cloud_init(SYSTEM_ID, timeout=300)
        assert result.ok, result.message
        fleet.node_ssh = {"ansible_host": lab_net.address(SYSTEM_ID), "ansible_user": "ops",
                          "ansible_ssh_private_key_file": key, "ansible_python_interpreter": "/usr/bin/python3",
                          "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"}
        fleet.node_address = "%s:%d" % (gateway, fleet.port)
        fleet.request("POST", "/api/v1/fleet/teams", {"name": "lab-team"})
        yield fleet
    finally:
        nodes.docker("rm", "-f", "-v", lab_net.name(SYSTEM_ID), check=False)
        fleet.stop()


def run_role(_lab_net, fleet, tmp_path, *args, **overrides):
    inventory = {"all": {"hosts": {HOSTNAME: fleet.node_ssh}}}
    extra = {
        "gough_fleet_url": fleet.url, "gough_fleet_api_token": fleet.api_token,
        "gough_fleet_node_url": "https://%s" % fleet.node_address,  # the role drops the scheme
        "gough_fleet_enroll_secret": fleet.enroll_secret, "gough_ca_cert": fleet.ca_cert,
        "fleet_enroll_install_method": "preinstalled", "fleet_enroll_team": "lab-team",
        "fleet_enroll_timeout": 60, "fleet_enroll_poll_interval": 1, "fleet_enroll_interval": 2,
    }
    extra.update(overrides)
    job = playbook_runner.run_playbook(PLAYBOOK, str(tmp_path / ("job-%d" % time.monotonic_ns())), *args,
                                       inventory=inventory, extravars=extra, collections=COLLECTIONS,
                                       envvars={"ANSIBLE_PIPELINING": "True"}, timeout=600)
    with open(str(tmp_path / "ansible.log"), "a", encoding="utf-8") as log:
        log.write(" ".join(args) + json.dumps(sorted(overrides)) + "\n" + job.stdout)
    return job


def recap(output):
    for line in output.splitlines():
        match = re.match(r"^%s\s+: (.*)$" % re.escape(HOSTNAME), line)
        if match:
            return dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1)))
    raise AssertionError("no recap in:\n" + output[-3000:])


def fleet_hosts(fleet):
    return [h for h in fleet.request("GET", "/api/v1/fleet/hosts").json()["hosts"] if h["hostname"] == HOSTNAME]


def test_check_mode_writes_nothing_to_fleet_and_absent_removes_the_node_then_reruns_clean(lab_net, fleet_node,
                                                                                          tmp_path):
    """Enrollment itself (online, in the team, flags, secret mode, a clean rerun) is molecule/fleet_enroll's."""
    fleet = fleet_node
    first = run_role(lab_net, fleet, tmp_path)
    assert first.rc == 0, first.stdout[-5000:]
    assert len(fleet_hosts(fleet)) == 1
    assert fleet.enroll_secret not in first.stdout

    writes = fleet.stats()["writes"]
    checked = run_role(lab_net, fleet, tmp_path, "--check", fleet_enroll_interval=3)
    assert checked.rc == 0, checked.stdout[-5000:]
    assert fleet.stats()["writes"] == writes
    assert "--config_refresh=2\n" in node_exec(lab_net, "cat", "/etc/osquery/osquery.flags").stdout

    removed = run_role(lab_net, fleet, tmp_path, fleet_enroll_state="absent")
    assert removed.rc == 0, removed.stdout[-5000:]
    assert recap(removed.stdout)["changed"] > 0
    assert fleet_hosts(fleet) == []
    assert node_exec(lab_net, "systemctl", "is-active", "osqueryd").stdout.strip() != "active"
    assert node_exec(lab_net, "test", "-e", "/etc/osquery/enroll_secret").returncode != 0
    assert node_exec(lab_net, "test", "-e", "/etc/osquery/osquery.flags").returncode != 0
    removed_again = run_role(lab_net, fleet, tmp_path, fleet_enroll_state="absent")
    assert removed_again.rc == 0 and recap(removed_again.stdout)["changed"] == 0, removed_again.stdout[-5000:]


def test_wrong_secret_fails_at_once_and_a_bad_flag_fails_with_the_agents_reason(lab_net, fleet_node, tmp_path):
    fleet = fleet_node
    wrong = run_role(lab_net, fleet, tmp_path, gough_fleet_enroll_secret="not-a-fleet-secret")
    assert wrong.rc != 0
    assert "enroll_secret: Fleet does not know this enroll secret" in wrong.stdout
    assert "not-a-fleet-secret" not in wrong.stdout
    assert fleet_hosts(fleet) == []

    bad_flag = run_role(lab_net, fleet, tmp_path, fleet_enroll_timeout=12,
                        fleet_enroll_extra_flags=["--config_plugin=filesystem"])
    assert bad_flag.rc != 0
    output = bad_flag.stdout
    assert "hostname=%s did not enroll in Fleet" % HOSTNAME in output, output[-5000:]
    assert "config_plugin" in output, output[-5000:]  # the stand-in's own message, from its log
    assert fleet_hosts(fleet) == []


OSQUERY_VERSION = "5.0.0-lab1"


def build_signed_repository(directory):
    """A signed apt repository in the osquery project's layout (suite ``deb``, component ``main``) holding a small
    package named ``osquery``, with the public key it is signed with, armored (``key.asc``) and binary (``key.bin``).
    Returns the repository's directory."""
    for tool in ("gpg", "gpgconf", "dpkg-deb"):
        if shutil.which(tool) is None:
            lab_missing("%s is missing (apt-get install gnupg dpkg)" % tool)
    gnupg = directory / "gnupg"
    gnupg.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(gnupg))
    repo = directory / "repo"
    (repo / "pool" / "main").mkdir(parents=True)
    try:
        subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key",
                        "Gough lab repository <repo@lab.invalid>", "ed25519", "sign", "never"],
                       env=env, check=True, capture_output=True, timeout=60)
        for name, armor in (("key.asc", ["--armor"]), ("key.bin", [])):
            (repo / name).write_bytes(subprocess.run(["gpg"] + armor + ["--export"], env=env, check=True,
                                                     capture_output=True, timeout=60).stdout)
        _build_repository_index(repo, env)
    finally:
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], env=env, capture_output=True, timeout=60, check=False)
    return repo


def _build_repository_index(repo, env):
    """The package, its Packages index and the signed Release (InRelease) of ``repo``."""
    directory = repo.parent
    package = directory / "package"
    (package / "DEBIAN").mkdir(parents=True)
    (package / "usr" / "share" / "doc" / "osquery").mkdir(parents=True)
    (package / "usr" / "share" / "doc" / "osquery" / "README").write_text("lab stand-in for the osquery package\n")
    control = ("Package: osquery\nVersion: %s\nArchitecture: all\nMaintainer: Gough developers <dev@lab.invalid>\n"
               "Description: lab stand-in for the osquery package\n" % OSQUERY_VERSION)
    (package / "DEBIAN" / "control").write_text(control)
    deb = repo / "pool" / "main" / ("osquery_%s_all.deb" % OSQUERY_VERSION)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(package), str(deb)], check=True,
                   capture_output=True, timeout=60)
    data = deb.read_bytes()
    packages = "%sFilename: pool/main/%s\nSize: %d\nSHA256: %s\n\n" % (
        control, deb.name, len(data), hashlib.sha256(data).hexdigest())
    arch = subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True, text=True).stdout.strip()
    index = repo / "dists" / "deb" / "main" / ("binary-%s" % arch)
    index.mkdir(parents=True)
    (index / "Packages").write_text(packages)
    release = ("Origin: lab\nLabel: lab\nSuite: deb\nCodename: deb\nDate: %s\nArchitectures: %s\nComponents: main\n"
               "SHA256:\n %s %d main/binary-%s/Packages\n"
               % (email.utils.formatdate(usegmt=True), arch, hashlib.sha256(packages.encode()).hexdigest(),
                  len(packages.encode()), arch))
    (repo / "dists" / "deb" / "Release").write_text(release)
    subprocess.run(["gpg", "--batch", "--yes", "--clearsign", "--output", str(repo / "dists" / "deb" / "InRelease"),
                    str(repo / "dists" / "deb" / "Release")], env=env, check=True, capture_output=True, timeout=60)


def serve(directory, address):
    """Serve ``directory`` over HTTP on ``address`` (the lab network's gateway, which the node reaches) from a
    subprocess (a thread here would run beside the playbook runner's fork); returns the process and its base URL."""
    process = subprocess.Popen([sys.executable, "-u", "-m", "http.server", "0", "--bind", address, "--directory",
                                str(directory)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    match = re.search(r" port (\d+) ", process.stdout.readline())
    if match is None:
        process.kill()
        raise AssertionError("http.server did not say its port")
    return process, "http://%s:%s" % (address, match.group(1))


def installed(lab_net):
    return node_exec(lab_net, "dpkg-query", "--show", "--showformat=${db:Status-Status}", "osquery").stdout


def changed_tasks(job):
    """Names of the role's tasks that reported a change for the node (from the job's events, which name a role's
    task ``<role> : <name>``)."""
    return [task["task"]["name"].split(" : ", 1)[-1] for play in job.plays for task in play["tasks"]
            if task["hosts"].get(HOSTNAME, {}).get("changed")]


def node_result(job, name):
    """The node's result of the role's task called ``name`` (``skipped`` or ``failed`` set when it was)."""
    return job.task_results("gough.gough.fleet_enroll : " + name)[HOSTNAME]


def test_apt_installs_from_the_nodes_own_sources_or_a_signed_repository_it_is_given(lab_net, fleet_node, tmp_path):
    """No repository host is built in: by default the package comes from the node's own apt sources; a repository the
    user names is added as a signed deb822 source, its key read from a URL (armored) or used from a path on the
    node. A missing package, a repository without its key and a binary key URL fail clearly."""
    fleet = fleet_node
    repo = build_signed_repository(tmp_path)
    subprocess.run(["docker", "cp", str(repo), "%s:/srv/osquery-repo" % lab_net.name(SYSTEM_ID)], check=True,
                   capture_output=True, timeout=60)
    # Hermetic: the image's own Debian source is set aside; the node's apt sees only what this test gives it.
    for command in (["chmod", "-R", "a+rX", "/srv/osquery-repo"],
                    ["sh", "-c", "mv /etc/apt/sources.list /etc/apt/sources.list.off; rm -rf /var/lib/apt/lists/*"]):
        assert node_exec(lab_net, *command).returncode == 0
    source, keyring = "/etc/apt/sources.list.d/osquery.sources", "/etc/apt/keyrings/osquery.asc"
    apt = {"fleet_enroll_install_method": "apt"}
    given = dict(apt, fleet_enroll_apt_repository="file:/srv/osquery-repo")
    server, base = serve(repo, str(ipaddress.ip_network(lab_net.subnet).network_address + 1))
    try:
        missing = run_role(lab_net, fleet, tmp_path, **apt)
        assert missing.rc != 0
        assert "fleet_enroll_apt_repository is empty, so it was looked for in the node's own apt sources" \
            in missing.stdout, missing.stdout[-5000:]
        assert "No package matching 'osquery' is available" in missing.stdout
        assert installed(lab_net) != "installed"

        keyless = run_role(lab_net, fleet, tmp_path, **given)
        assert keyless.rc != 0
        assert "fleet_enroll_apt_key must be set with fleet_enroll_apt_repository (file:/srv/osquery-repo)" \
            in keyless.stdout, keyless.stdout[-5000:]
        # A key without a repository would sign nothing: refused, not ignored.
        unused_key = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_key=base + "/key.asc", **apt)
        assert unused_key.rc != 0
        assert "fleet_enroll_apt_key (%s/key.asc) is set but fleet_enroll_apt_repository is empty" % base \
            in unused_key.stdout, unused_key.stdout[-5000:]
        binary = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_key=base + "/key.bin", **given)
        assert binary.rc != 0
        assert "fleet_enroll_apt_key (%s/key.bin) could not be used" % base in binary.stdout, binary.stdout[-5000:]
        assert "It must be the URL of an ASCII-armored OpenPGP public key" in binary.stdout
        not_a_key = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_key=base + "/dists/deb/Release", **given)
        assert not_a_key.rc != 0
        assert "fleet_enroll_apt_key (%s/dists/deb/Release) could not be used: has no '-----BEGIN PGP PUBLIC KEY " \
            "BLOCK-----' line" % base in not_a_key.stdout, not_a_key.stdout[-5000:]
        assert node_exec(lab_net, "sh", "-c", "test -e %s || test -e %s" % (source, keyring)).returncode != 0

        given["fleet_enroll_apt_key"] = base + "/key.asc"
        checked = run_role(lab_net, fleet, tmp_path, "--check", **given)
        assert checked.rc == 0, checked.stdout[-5000:]
        assert {"Add the osquery apt repository (and its key, when given as a URL)",
                "Report that the package would be installed"} <= set(changed_tasks(checked)), checked.stdout
        assert node_exec(lab_net, "sh", "-c", "test -e %s || test -e %s" % (source, keyring)).returncode != 0
        assert installed(lab_net) != "installed"
        assert fleet_hosts(fleet) == []

        first = run_role(lab_net, fleet, tmp_path, **given)
        assert first.rc == 0, first.stdout[-5000:]
        assert installed(lab_net) == "installed"
        written = node_exec(lab_net, "cat", source).stdout
        assert "URIs: file:/srv/osquery-repo" in written and "Signed-By: %s" % keyring in written, written
        assert node_exec(lab_net, "cmp", keyring, "/srv/osquery-repo/key.asc").returncode == 0
        assert len(fleet_hosts(fleet)) == 1
        again = run_role(lab_net, fleet, tmp_path, **given)
        assert again.rc == 0 and recap(again.stdout)["changed"] == 0, again.stdout[-5000:]
        checked_again = run_role(lab_net, fleet, tmp_path, "--check", **given)
        assert checked_again.rc == 0 and changed_tasks(checked_again) == [], checked_again.stdout[-5000:]
        # A version pin, exact or with apt's wildcard, that the installed package matches runs no apt either.
        install = "Install the package, refreshing the apt lists first"
        for pin in (OSQUERY_VERSION, OSQUERY_VERSION.split(".", maxsplit=1)[0] + ".*"):
            pinned = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_package="osquery=" + pin, **given)
            assert pinned.rc == 0 and recap(pinned.stdout)["changed"] == 0, pinned.stdout[-5000:]
            assert node_result(pinned, install).get("skipped"), pinned.stdout[-5000:]
        # Another apt comparison is left to apt: it runs, and finds the package as wanted.
        at_least = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_package="osquery>=5.0", **given)
        assert at_least.rc == 0 and recap(at_least.stdout)["changed"] == 0, at_least.stdout[-5000:]
        ran = node_result(at_least, install)
        assert not ran.get("skipped") and not ran.get("changed"), at_least.stdout[-5000:]
        # A pin the installed package does not match goes to apt, which has no such version here.
        other = run_role(lab_net, fleet, tmp_path, fleet_enroll_apt_package="osquery=9.9.9", **given)
        assert other.rc != 0 and node_result(other, install).get("failed"), other.stdout[-5000:]
        assert "Installing osquery=9.9.9 on %s failed" % HOSTNAME in other.stdout
        assert installed(lab_net) == "installed"

        # A key path on the node is used as it is, and state absent leaves it (it is the user's).
        by_path = dict(given, fleet_enroll_apt_key="/srv/osquery-repo/key.asc")
        moved = run_role(lab_net, fleet, tmp_path, **by_path)
        assert moved.rc == 0 and recap(moved.stdout)["changed"] == 1, moved.stdout[-5000:]
        assert "Signed-By: /srv/osquery-repo/key.asc" in node_exec(lab_net, "cat", source).stdout
        assert node_exec(lab_net, "test", "-e", keyring).returncode != 0  # the role's key file from the URL is gone
        assert node_exec(lab_net, "apt-get", "update").returncode == 0  # apt accepts the source as written

        removed = run_role(lab_net, fleet, tmp_path, fleet_enroll_state="absent", fleet_enroll_remove_package=True,
                           **given)
        assert removed.rc == 0, removed.stdout[-5000:]
        assert installed(lab_net) != "installed"
        assert node_exec(lab_net, "sh", "-c", "test -e %s || test -e %s" % (source, keyring)).returncode != 0
        assert node_exec(lab_net, "test", "-e", "/srv/osquery-repo/key.asc").returncode == 0
        assert fleet_hosts(fleet) == []
    finally:
        server.kill()
        server.wait(timeout=30)

    # The default again, now with the repository among the node's own sources (as a mirror in its image would be).
    own = ("Types: deb\nURIs: file:/srv/osquery-repo\nSuites: deb\nComponents: main\n"
           "Signed-By: /srv/osquery-repo/key.asc\n")
    for command in (["dpkg", "--purge", "osquery"],
                    ["sh", "-c", "printf '%s' > /etc/apt/sources.list.d/mirror.sources" % own]):
        assert node_exec(lab_net, *command).returncode == 0
    from_own = run_role(lab_net, fleet, tmp_path, **apt)
    assert from_own.rc == 0, from_own.stdout[-5000:]
    assert installed(lab_net) == "installed"
    assert node_exec(lab_net, "test", "-e", source).returncode != 0
