"""Day 2 on the demo's lab (a backup that restores, certificates that renew), on the session's lab of 2 nodes
(conftest.py):

* a backup that restores: change MAAS and Fleet, back up (with an off-host copy to a lab node over SSH), check the
  backup with restore.yml --check (it writes nothing), destroy the stack and its whole directory, restore, and MAAS
  and Fleet answer as before while Prometheus scrapes the agents again with the restored CA;
* certificates that renew: the agents get 1-day certificates, renew.yml with renew_before_days 2 gives each a new
  one while Prometheus is polled (the targets stay up throughout), and a rerun changes nothing.

Every change is undone at the end, so test_site.py's rerun (last) still changes nothing.
"""

import hashlib
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid

from cryptography import x509

from e2e_helpers import NODES, ROOT, changed, controller, get, playbook, table


def day2_args(lab, first_run, *more):
    """Inventory and variables for the day-2 playbooks on this lab (its project, ports and node prefix)."""
    return ["-i", first_run["inventory"], *lab["extra"], "-e", "stack_profile=lab", *more]


def ssh(lab, address, command):
    key = os.path.join(str(lab["dir"]), "ssh", "id_ed25519")
    return subprocess.run(["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                           "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "ops@%s" % address, command],
                          capture_output=True, text=True, timeout=120, check=False)


class Stack:
    """MAAS and Fleet of the lab through nginx, TLS verified with Gough's CA, with the keys from controller.yml."""

    def __init__(self, lab):
        self.connection = controller(lab)
        self.context = ssl.create_default_context(cafile=self.connection["gough_ca_cert"])

    def maas(self, method, path, data=None):
        consumer, token, secret = self.connection["gough_maas_api_key"].split(":")
        header = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
                  'oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"'
                  % (consumer, token, secret, uuid.uuid4().hex, time.time()))
        body = urllib.parse.urlencode(data or {}, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.connection["gough_maas_url"] + "/api/2.0/" + path, data=body,
                                         method=method, headers={"Authorization": header})
        if body is not None:
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None

    def fleet(self, method, path, body=None, token=True):
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = "Bearer %s" % self.connection["gough_fleet_api_token"]
        request = urllib.request.Request(self.connection["gough_fleet_url"] + path, method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        with urllib.request.urlopen(request, context=self.context, timeout=30) as response:
            text = response.read()
        return json.loads(text) if text.strip() else None

    def answers(self):
        """What MAAS and Fleet say about the lab, in the fields a restore must keep."""
        machines = sorted((m["system_id"], m["hostname"], m["status_name"], tuple(sorted(m["tag_names"])),
                           tuple(m["ip_addresses"])) for m in self.maas("GET", "machines/"))
        tags = sorted((t["name"], t["comment"]) for t in self.maas("GET", "tags/"))
        hosts = sorted((h["id"], h["hostname"], h["uuid"], h["primary_ip"])
                       for h in self.fleet("GET", "/api/v1/fleet/hosts")["hosts"])
        secrets = sorted(s["secret"] for s in self.fleet("GET", "/api/v1/fleet/spec/enroll_secret")["spec"]["secrets"])
        return {"machines": machines, "tags": tags, "hosts": hosts, "enroll_secrets": secrets}


def agent_targets(connection):
    """{instance: (health, lastError)} of the gough-agent targets Prometheus scrapes."""
    targets = get(connection["gough_prometheus_url"] + "/api/v1/targets?state=active", connection)
    return dict((t["labels"]["instance"], (t["health"], t["lastError"]))
                for t in targets["data"]["activeTargets"] if t["labels"]["job"] == "gough-agent")


def wait_agents_up(connection, names, timeout=180):
    deadline = time.monotonic() + timeout
    seen = {}
    while time.monotonic() < deadline:
        try:
            seen = agent_targets(connection)
        except OSError:
            seen = {}
        if all(seen.get(name, ("", ""))[0] == "up" for name in names):
            return seen
        time.sleep(3)
    raise AssertionError("agents not scraped within %d s: %s" % (timeout, seen))


def tree(path):
    """{relative path: (size, mtime, mode)} of every file under ``path`` (to prove a run wrote nothing), but what the
    running services write themselves: the emulators' live state (osquery check-ins), the journals the nodes upload
    and the notifications the sink receives."""
    found = {}
    for root, _dirs, files in os.walk(path):
        where = os.path.relpath(root, path).split(os.sep)[:2]
        if where in (["maas", "state"], ["fleet", "state"], ["journal", "remote"], ["sink"]):
            continue
        for name in files:
            full = os.path.join(root, name)
            info = os.lstat(full)
            found[os.path.relpath(full, path)] = (info.st_size, info.st_mtime_ns, info.st_mode)
    return found


def failures(run):
    """The messages of the failed tasks (and failed loop items) of a job, in one text."""
    return run.failures()


def backup_identity(lab, path=None):
    """The secret key of an age identity file (the AGE-SECRET-KEY line): ``path``, default the lab's backup
    identity."""
    with open(path or os.path.join(str(lab["dir"]), "backup", "identity.txt"), encoding="utf-8") as handle:
        (key,) = [line.strip() for line in handle if line.startswith("AGE-SECRET-KEY-")]
    return key


def refused(lab, first_run, backups, name, *more, identity=None):
    """The failure messages of a restore.yml --check that must fail (nothing is touched: the caller checks). The
    identity it was given (``identity``, default the lab's) is in none of its output and artifacts: a failure that
    says why must not say it with the key."""
    path = name if name.startswith("/") else os.path.join(backups, name)
    rc, parsed, output = playbook("restore.yml", *day2_args(lab, first_run, "-e", "stack_restore_backup=%s" % path,
                                                            *more),
                                  "--check", env=lab["env"])
    assert rc != 0 and parsed, output
    key = identity or backup_identity(lab)
    leaked = key in parsed.stdout
    assert not leaked and parsed.artifacts_holding([key]) == []
    return failures(parsed)


def test_backup_destroy_restore_and_maas_fleet_and_scrapes_come_back(lab, first_run, tmp_path):
    stack = Stack(lab)
    rows = table(first_run["site"])
    node = rows[0]
    base = os.path.join(str(lab["dir"]), "stack")
    backups = os.path.join(str(lab["dir"]), "backups")  # off the stack's directory, which the test destroys
    marker = "day2-%s" % lab["tag"]
    original_secrets = stack.answers()["enroll_secrets"]
    machine = None
    fake_host = None
    try:
        # 1. Change the state: a tag on a machine, a new machine, a new Fleet host, a second enroll secret.
        stack.maas("POST", "tags/", {"name": marker, "comment": "day 2 backup marker"})
        stack.maas("POST", "tags/%s/?op=update_nodes" % marker, {"add": [node["SYSTEM_ID"]]})
        machine = stack.maas("POST", "machines/", {"architecture": "amd64/generic", "hostname": marker,
                                                   "mac_addresses": "52:54:00:d2:%s:%s" % (lab["tag"][:2], lab["tag"][2:4]),
                                                   "power_type": "manual", "commission": "false"})["system_id"]
        stack.fleet("POST", "/api/v1/fleet/spec/enroll_secret",
                    {"spec": {"secrets": [{"secret": s} for s in original_secrets] + [{"secret": marker}]}})
        stack.fleet("POST", "/api/osquery/enroll", {"enroll_secret": marker, "host_identifier": marker}, token=False)
        fake_host = next(h["id"] for h in stack.fleet("GET", "/api/v1/fleet/hosts")["hosts"] if h["hostname"] == marker)
        before = stack.answers()
        assert (node["SYSTEM_ID"], node["HOSTNAME"]) in [m[:2] for m in before["machines"] if marker in m[3]]
        assert marker in before["enroll_secrets"] and len(before["hosts"]) == NODES + 1
        controller_before = open(os.path.join(base, "controller.yml"), encoding="utf-8").read()

        # 2. Back up, with a copy to node 1 over SSH.
        started = time.monotonic()
        rc, parsed, output = playbook("backup.yml", *day2_args(
            lab, first_run, "-e", "stack_backup_dir=%s" % backups, "-e", "stack_backup_offhost_host=%s" % node["IP"],
            "-e", "stack_backup_offhost_user=ops", "-e", "stack_backup_offhost_dir=/home/ops/gough-backups",
            "-e", "stack_backup_offhost_ssh_key=%s" % os.path.join(str(lab["dir"]), "ssh", "id_ed25519"),
            "-e", '{"stack_backup_offhost_ssh_options": ["StrictHostKeyChecking=no", "UserKnownHostsFile=/dev/null"]}'),
            env=lab["env"])
        assert rc == 0, output
        print("backup: %.0f s" % (time.monotonic() - started))
        (name,) = os.listdir(backups)
        with open(os.path.join(backups, name, "manifest.json"), encoding="utf-8") as handle:
            manifest = json.load(handle)
        assert manifest["profile"] == "lab" and manifest["gough_version"]
        assert {f["name"] for f in manifest["files"]} == {"maas-state.tar.age", "fleet-state.tar.age",
                                                          "secrets.tar.age", "ca.tar.age", "config.tar.age"}
        # Nothing in clear: every part is an age file, and no secret of the stack is in any file of the backup.
        for part in manifest["files"]:
            with open(os.path.join(backups, name, part["name"]), "rb") as handle:
                data = handle.read()
            assert data.startswith(b"age-encryption.org/v1\n")
            assert hashlib.sha256(data).hexdigest() == part["sha256"]
            for secret in (stack.connection["gough_maas_api_key"].split(":")[2],
                           stack.connection["gough_fleet_api_token"], marker):
                assert secret.encode() not in data
        copied = ssh(lab, node["IP"], "cd /home/ops/gough-backups/%s && sha256sum *.age" % name)
        assert copied.returncode == 0, copied.stderr
        assert dict(reversed(line.split()) for line in copied.stdout.splitlines()) == dict(
            (f["name"], f["sha256"]) for f in manifest["files"])

        # 3. restore.yml --check verifies everything and writes nothing.
        retag_lab_images()
        files_before = tree(base)
        # The backup is named by its path: the stack keeps its own stack_backup_dir (a backup fetched from elsewhere).
        rc, parsed, output = playbook("restore.yml", *day2_args(lab, first_run, "-e", "stack_restore_backup=%s/%s"
                                                                % (backups, name)), "--check", env=lab["env"])
        assert rc == 0, output
        assert changed(parsed) == {"localhost": 0}
        assert tree(base) == files_before
        # The identity reaches age through the tasks' stdin: never in the job's output or events (what AWX keeps).
        identity = backup_identity(lab)
        leaked = identity in parsed.stdout
        assert not leaked and parsed.artifacts_holding([identity]) == []

        # Refusals, each naming the file, before anything is touched: a damaged file, a wrong key, another CA.
        damaged = str(tmp_path / name)
        shutil.copytree(os.path.join(backups, name), damaged)
        with open(os.path.join(damaged, "secrets.tar.age"), "ab") as handle:
            handle.write(b"x")
        output = refused(lab, first_run, backups, damaged)
        assert "%s/secrets.tar.age does not match its checksum" % damaged in output
        other_key = str(tmp_path / "other.key")
        subprocess.run(["age-keygen", "-o", other_key], capture_output=True, check=True)
        output = refused(lab, first_run, backups, name, "-e", "stack_backup_identity_file=%s" % other_key,
                         identity=backup_identity(lab, other_key))
        assert "cannot decrypt %s/%s/maas-state.tar.age with the identity in %s" % (backups, name, other_key) in output
        other_ca = tmp_path / "other-ca"
        other_ca.mkdir()
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", str(other_ca / "ca.key"), "-out", str(other_ca / "ca.crt"), "-subj", "/CN=Gough CA",
                        "-days", "30"], capture_output=True, check=True)
        output = refused(lab, first_run, backups, name, "-e", "stack_ca_dir=%s" % other_ca)
        assert "the backup's CA (%s/%s/ca.tar.age" % (backups, name) in output
        assert "is not the running CA %s/ca.crt" % other_ca in output
        assert tree(base) == files_before

        # 4. Destroy the stack: its containers, its volume and its whole directory (CA, secrets, state, config).
        compose = os.path.join(base, "compose.yml")
        subprocess.run(["docker", "compose", "-p", "gough-e2e-%s" % lab["tag"], "-f", compose, "down", "-v"],
                       capture_output=True, timeout=300, check=True)
        shutil.rmtree(base)

        # 5. Restore.
        started = time.monotonic()
        rc, parsed, output = playbook("restore.yml", *day2_args(lab, first_run, "-e", "stack_restore_backup=%s/%s"
                                                                % (backups, name)), env=lab["env"])
        assert rc == 0, output
        print("restore: %.0f s" % (time.monotonic() - started))
        leaked = identity in parsed.stdout
        assert not leaked and parsed.artifacts_holding([identity]) == []
        with open(os.path.join(base, "controller.yml"), encoding="utf-8") as handle:
            assert handle.read() == controller_before  # same keys, token, enroll secret, CA paths
        stack = Stack(lab)
        assert stack.answers() == before
        # The agents are scraped again: Prometheus's new client certificate comes from the restored CA they trust.
        wait_agents_up(stack.connection, [row["HOSTNAME"] for row in rows])
        # That the restored stack is the one lab.yml makes (its rerun changes nothing) is test_site.py's last test,
        # which runs after this file.
    finally:
        stack = Stack(lab)
        if fake_host is not None:
            stack.fleet("DELETE", "/api/v1/fleet/hosts/%d" % fake_host)
        stack.fleet("POST", "/api/v1/fleet/spec/enroll_secret",
                    {"spec": {"secrets": [{"secret": s} for s in original_secrets]}})
        if machine:
            stack.maas("DELETE", "machines/%s/" % machine)
        try:
            stack.maas("DELETE", "tags/%s/" % marker)
        except OSError:
            pass
        ssh(lab, node["IP"], "rm -rf /home/ops/gough-backups")
        shutil.rmtree(backups, ignore_errors=True)


def changed_tasks(run):
    """[(host, task name)] of the tasks a job reports as changed."""
    return [(host, task["task"]["name"]) for play in run.plays for task in play["tasks"]
            for host, result in task["hosts"].items() if result.get("changed")]


def stack_serials(lab):
    """Serial numbers of the stack's own certificates (nginx, emulators, Prometheus's client certificate)."""
    base = os.path.join(str(lab["dir"]), "stack")
    serials = {}
    for path in ("tls/nginx/nginx.crt", "tls/maas/maas.crt", "tls/fleet/fleet.crt",
                 "prometheus/tls/prometheus-client.crt"):
        with open(os.path.join(base, path), "rb") as handle:
            serials[path] = x509.load_pem_x509_certificate(handle.read()).serial_number
    return serials


def retag_lab_images():
    """Point the lab's image tags at this checkout's images again (other runs on this engine move the shared tags;
    the restore check runs the emulators' image): `make lab-images`, quick when nothing changed."""
    subprocess.run([sys.executable, "-m", "gough_lab.images", "build"], capture_output=True, timeout=900, check=True,
                   env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, "lab")))


def served_certificate(address, client_dir):
    """The agent's certificate as it serves it now (a fresh mutual-TLS handshake)."""
    context = ssl.create_default_context(cafile=os.path.join(os.path.dirname(client_dir), "ca.crt"))
    context.load_cert_chain(os.path.join(client_dir, "gough-agent-client.crt"),
                            os.path.join(client_dir, "gough-agent-client.key"))
    context.check_hostname = False
    with socket.create_connection((address, 9555), timeout=10) as sock:
        with context.wrap_socket(sock) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def test_renew_gives_every_agent_a_new_certificate_without_a_lost_scrape(lab, first_run):
    rows = table(first_run["site"])
    names = [row["HOSTNAME"] for row in rows]
    connection = controller(lab)
    client_dir = os.path.join(os.path.dirname(connection["gough_ca_cert"]), "agent-client")
    # 1. Every agent gets a certificate valid for 1 day (renew_before_days above their whole validity: all due).
    rc, parsed, output = playbook("renew.yml", *day2_args(lab, first_run, "-e", "renew_before_days=1000",
                                                          "-e", "agent_cert_not_after=+1d", "-e", "stack_hosts=none"),
                                  env=lab["env"])
    assert rc == 0, output
    short = {}
    for row in rows:
        cert = served_certificate(row["IP"], client_dir)
        assert cert.not_valid_after_utc.timestamp() - time.time() < 86400 + 120, row["HOSTNAME"]
        short[row["HOSTNAME"]] = cert.serial_number
    wait_agents_up(connection, names)

    # 2. renew_before_days 2: each is due. Poll Prometheus's targets all along.
    stack_before = stack_serials(lab)
    samples = []
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                samples.append(agent_targets(connection))
            except OSError as exc:
                samples.append({"error": (str(exc), "")})
            stop.wait(1)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        started = time.monotonic()
        rc, parsed, output = playbook("renew.yml", *day2_args(lab, first_run, "-e", "renew_before_days=2"),
                                      env=lab["env"])
        elapsed = time.monotonic() - started
        time.sleep(20)  # a scrape interval and more after the reload
    finally:
        stop.set()
        poller.join()
    assert rc == 0, output
    print("renew: %.0f s, %d target samples" % (elapsed, len(samples)))
    assert all(changed(parsed)[name] >= 1 for name in names), changed(parsed)
    # Nothing of the stack was due: its certificates are the same (only metrics/certificates.prom changes, for the
    # controller's client certificate renewed with the agents').
    assert stack_serials(lab) == stack_before
    assert len(samples) >= 10
    for sample in samples:
        for name in names:
            assert sample.get(name, ("missing", ""))[0] == "up", sample
    for row in rows:
        cert = served_certificate(row["IP"], client_dir)
        assert cert.serial_number != short[row["HOSTNAME"]]
        assert cert.not_valid_after_utc.timestamp() - time.time() > 800 * 86400

    # 3. Nothing is due any more: the rerun changes nothing. (The stack is still as lab.yml makes it: test_site.py's
    # last test reruns lab.yml and site.yml after this file.)
    rc, parsed, output = playbook("renew.yml", *day2_args(lab, first_run, "-e", "renew_before_days=2"), env=lab["env"])
    assert rc == 0, output
    assert set(changed(parsed).values()) == {0}, changed_tasks(parsed)


def test_bad_input_is_refused_before_anything_runs(lab, first_run, tmp_path):
    rc, parsed, output = playbook("renew.yml", *day2_args(lab, first_run, "-e", "renew_before_days=0"),
                                  env=lab["env"])
    assert rc != 0 and "renew_before_days must be a whole number of days above 0, got 0" in failures(parsed), output
    # A backup target that cannot be written fails before any dump starts.
    target = str(tmp_path / "file")
    open(target, "w", encoding="utf-8").close()
    rc, parsed, output = playbook("backup.yml", *day2_args(lab, first_run, "-e", "stack_backup_dir=%s/b" % target),
                                  env=lab["env"])
    assert rc != 0 and "the backup target %s/b is not writable" % target in failures(parsed), output
    assert "Dump the databases" not in json.dumps(parsed.plays)
