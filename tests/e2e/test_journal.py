"""Log collection end to end (see conftest.py for the lab): every node forwards its journal with
systemd-journal-upload to systemd-journal-remote on the stack host, through nginx's mutual TLS with Gough's CA.

A line a node logs is readable on the stack host with ``journalctl --directory`` within 30 s; a client without a
certificate from Gough's CA gets no further than the TLS handshake, while the same upload with a certificate from
Gough's CA is stored (so the refusal is the certificate's doing). The role's ``state: absent`` and check mode run on
one node, which is then put back as it was (test_site.py's last test reruns site.yml expecting no change).
"""

import base64
import datetime
import json
import os
import subprocess
import time
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from e2e_helpers import changed, container, controller, playbook, table

RECEIVER_DIR = "/var/log/journal/remote"
WITHIN = 30.0


def _docker(*args, timeout=120):
    return subprocess.run(["docker"] + list(args), capture_output=True, text=True, timeout=timeout, check=False)


def _receiver(lab):
    return "gough-e2e-%s-journal-1" % lab["tag"]


def _received(lab, identifier):
    """Entries with SYSLOG_IDENTIFIER ``identifier`` in the stack host's received journals, read with journalctl."""
    result = _docker("exec", _receiver(lab), "journalctl", "--directory", RECEIVER_DIR, "--no-pager",
                     "--output", "json", "--identifier", identifier)
    assert result.returncode in (0, 1), result.stderr  # 1: no entry matches yet
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def _wait_for_message(lab, identifier, message, timeout=WITHIN):
    """Seconds until an entry with MESSAGE ``message`` arrived, and the entry; (None, None) after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        for entry in _received(lab, identifier):
            if entry.get("MESSAGE") == message:
                return time.monotonic() - started, entry
        time.sleep(0.5)
    return None, None


def _ssh(lab, row, command):
    key = os.path.join(str(lab["dir"]), "ssh", "id_ed25519")
    return subprocess.run(
        ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
         "-o", "ConnectTimeout=10", "ops@%s" % row["IP"], command], capture_output=True, text=True, timeout=60,
        check=False)


def test_a_line_logged_on_each_node_is_read_on_the_stack_host_within_30_seconds(lab, first_run):  # pylint: disable=redefined-outer-name
    for row in table(first_run["site"]):
        marker = str(uuid.uuid4())
        result = _ssh(lab, row, "logger -t gough-test %s" % marker)
        assert result.returncode == 0, result.stderr
        elapsed, entry = _wait_for_message(lab, "gough-test", marker)
        assert entry is not None, "%s: %s did not arrive within %.0f s" % (row["HOSTNAME"], marker, WITHIN)
        print("%s: logger line readable on the stack host after %.1f s" % (row["HOSTNAME"], elapsed))
        assert entry["_HOSTNAME"] == row["HOSTNAME"]
        assert entry["SYSLOG_IDENTIFIER"] == "gough-test"


def test_received_journals_stay_within_the_disk_limit_and_are_private(lab, first_run):  # pylint: disable=redefined-outer-name,unused-argument
    base = os.path.join(str(lab["dir"]), "stack")
    with open(os.path.join(base, "journal", "journal-remote.conf"), encoding="utf-8") as handle:
        settings = dict(line.strip().split("=", 1) for line in handle if "=" in line and not line.startswith("#"))
    assert settings["MaxUse"] == "512M" and settings["KeepFree"] and settings["MaxFileSize"] == "64M"
    directory = os.path.join(base, "journal", "remote")
    status = os.stat(directory)
    assert (status.st_uid, oct(status.st_mode & 0o777)) == (992, "0o750")
    files = os.listdir(directory)
    assert files and all(name.endswith(".journal") for name in files)
    assert all(os.stat(os.path.join(directory, name)).st_mode & 0o007 == 0 for name in files)


def test_fleet_writes_the_nodes_osquery_status_logs_to_a_file_on_the_stack_host(lab, first_run):  # pylint: disable=redefined-outer-name
    directory = os.path.join(str(lab["dir"]), "stack", "fleet", "osquery-logs")
    path = os.path.join(directory, "osqueryd.status.log")
    assert oct(os.stat(directory).st_mode & 0o777) == "0o750"
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"  # a file Fleet's rotation (lumberjack) created
    with open(path, encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle.read().splitlines()]
    # One JSON object per line, as osquery sent it: every node's stand-in reported at least once.
    assert all(isinstance(record, dict) and record["message"] for record in records)
    assert len({record["hostIdentifier"] for record in records}) == len(table(first_run["site"]))


def test_each_node_uploads_as_its_own_user_with_a_private_key(lab, first_run, deployed_nodes):  # pylint: disable=redefined-outer-name
    url = controller(lab)["gough_journal_url"]
    assert url == "https://journal.e2e-%s.lab:19532" % lab["tag"]
    for row in table(first_run["site"]):
        node = deployed_nodes[container(lab, row)]
        name = container(lab, row)
        unit = node.systemd_service(name="systemd-journal-upload")[name]
        assert unit.is_successful, dict(unit)
        status = unit["status"]
        assert (status["UnitFileState"], status["ActiveState"], status["User"]) == \
            ("enabled", "active", "gough-journal-upload"), status
        key = node.stat(path="/etc/gough-journal-upload/tls/journal-upload.key")[name]["stat"]
        assert (key["mode"], key["pw_name"]) == ("0600", "gough-journal-upload")
        conf = node.slurp(src="/etc/systemd/journal-upload.conf.d/60-gough.conf")[name]
        lines = base64.b64decode(conf["content"]).decode().splitlines()
        assert [line for line in lines if line.startswith("URL=")] == ["URL=" + url]


def _ca(directory, name):
    """A CA (key, certificate) in memory; when ``directory`` is given, Gough's CA loaded from there instead."""
    if directory:
        with open(os.path.join(directory, "ca.key"), "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=None)
        with open(os.path.join(directory, "ca.crt"), "rb") as handle:
            return key, x509.load_pem_x509_certificate(handle.read())
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _client_cert(folder, name, issuer, self_signed=False):
    """Write ``<name>.key`` and ``<name>.crt``: a clientAuth certificate signed by ``issuer`` (or by itself)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    issuer_key, issuer_cert = (key, None) if self_signed else issuer
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(subject if self_signed else issuer_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(issuer_key, hashes.SHA256()))
    with open(os.path.join(folder, name + ".key"), "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    with open(os.path.join(folder, name + ".crt"), "wb") as handle:
        handle.write(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def clients(lab, tmp_path_factory):  # pylint: disable=redefined-outer-name
    """Client certificates: one from Gough's CA, one from another CA, one self-signed; and Gough's CA certificate."""
    folder = str(tmp_path_factory.mktemp("journal-clients"))
    os.chmod(folder, 0o755)
    ca_dir = os.path.join(str(lab["dir"]), "stack", "ca")
    _client_cert(folder, "gough", _ca(ca_dir, "Gough CA"))
    _client_cert(folder, "other-ca", _ca(None, "Not Gough's CA"))
    _client_cert(folder, "self-signed", None, self_signed=True)
    with open(os.path.join(ca_dir, "ca.crt"), "rb") as source, open(os.path.join(folder, "ca.crt"), "wb") as target:
        target.write(source.read())
    for name in os.listdir(folder):
        os.chmod(os.path.join(folder, name), 0o644)  # read by the throwaway client container only
    return folder


def _upload(lab, folder, client, marker, url=None):
    """POST one journal entry (export format) from a container on the lab network, as systemd-journal-upload does;
    ``client`` names the certificate it presents (None: none). Returns the CompletedProcess of curl."""
    url = url or controller(lab)["gough_journal_url"] + "/upload"
    entry = ("__REALTIME_TIMESTAMP=%d\n_BOOT_ID=%s\n_HOSTNAME=journal-client\nSYSLOG_IDENTIFIER=gough-client\n"
             "MESSAGE=%s\n\n" % (time.time() * 1e6, uuid.uuid4().hex, marker))
    command = ["curl", "-sS", "--max-time", "20", "--cacert", "/certs/ca.crt", "-o", "/dev/null", "-w", "%{http_code}",
               "-H", "Content-Type: application/vnd.fdo.journal", "--data-binary", entry, url]
    if client:
        command[1:1] = ["--cert", "/certs/%s.crt" % client, "--key", "/certs/%s.key" % client]
    network = _docker("inspect", "--format", "{{range $name, $_ := .NetworkSettings.Networks}}{{$name}} {{end}}",
                      "gough-e2e-%s-nginx-1" % lab["tag"]).stdout.split()
    lab_network = [name for name in network if not name.endswith("_journal")][0]
    return _docker("run", "--rm", "--label", "gough-lab=1", "--network", lab_network, "-v", "%s:/certs:ro" % folder,
                   "gough-lab/nginx:trixie", *command)


def test_an_upload_with_a_certificate_from_goughs_ca_is_stored(lab, first_run, clients):  # pylint: disable=redefined-outer-name,unused-argument
    marker = "accepted-%s" % uuid.uuid4()
    result = _upload(lab, clients, "gough", marker)
    assert result.returncode == 0 and result.stdout.startswith("2"), result.stdout + result.stderr
    elapsed, entry = _wait_for_message(lab, "gough-client", marker, timeout=10)
    assert entry is not None and elapsed is not None


@pytest.mark.parametrize("client", ["other-ca", "self-signed", None], ids=["other-ca", "self-signed", "no-cert"])
def test_a_client_without_a_certificate_from_goughs_ca_is_refused_at_the_tls_layer(  # pylint: disable=unused-argument
        lab, first_run, clients, client):  # pylint: disable=redefined-outer-name
    marker = "refused-%s" % uuid.uuid4()
    result = _upload(lab, clients, client, marker)
    # nginx ends the TLS session before any HTTP: curl gets no status at all (000), only a TLS or connection error.
    assert result.returncode != 0 and result.stdout == "000", result.stdout + result.stderr
    # Checked after the accepted upload above had a few seconds to land: nothing of this client reached the receiver.
    time.sleep(2)
    assert marker not in [entry.get("MESSAGE") for entry in _received(lab, "gough-client")]


def test_the_receiver_is_not_reachable_from_the_servers_network(lab, first_run, clients):  # pylint: disable=redefined-outer-name,unused-argument
    marker = "direct-%s" % uuid.uuid4()
    # journal-remote listens with plain HTTP on the stack's internal journal network only: no way around nginx.
    result = _upload(lab, clients, "gough", marker, url="http://%s:19532/upload" % _receiver(lab))
    assert result.returncode != 0 and result.stdout == "000", result.stdout + result.stderr


def test_absent_stops_forwarding_and_present_puts_it_back(lab, first_run, deployed_nodes):  # pylint: disable=redefined-outer-name
    row = table(first_run["site"])[0]
    name = container(lab, row)
    node = deployed_nodes[name]

    def exists(path):
        return node.stat(path=path)[name]["stat"]["exists"]

    def has_user():
        return node.getent(database="passwd", key="gough-journal-upload", fail_key=False)[name][
            "ansible_facts"]["getent_passwd"].get("gough-journal-upload") is not None

    base = ["-i", first_run["inventory"], "--limit", row["HOSTNAME"]] + lab["extra"]

    rc, parsed, output = playbook("journal.yml", *base, "-e", "journal_upload_state=absent", env=lab["env"])
    assert rc == 0, output
    assert changed(parsed)[row["HOSTNAME"]] > 0
    status = node.systemd_service(name="systemd-journal-upload")[name]["status"]
    assert (status["UnitFileState"], status["ActiveState"]) == ("disabled", "inactive"), status
    for path in ("/etc/gough-journal-upload", "/etc/systemd/journal-upload.conf.d/60-gough.conf",
                 "/etc/systemd/system/systemd-journal-upload.service.d/60-gough.conf", "/var/lib/systemd/journal-upload"):
        assert not exists(path), path
    assert not has_user()

    rc, parsed, output = playbook("journal.yml", *base, "-e", "journal_upload_state=absent", env=lab["env"])
    assert rc == 0 and changed(parsed)[row["HOSTNAME"]] == 0, output

    # Check mode on a host that no longer forwards: it reports what it would do and writes nothing.
    rc, parsed, output = playbook("journal.yml", *base, "--check", env=lab["env"])
    assert rc == 0 and changed(parsed)[row["HOSTNAME"]] > 0, output
    assert not exists("/etc/gough-journal-upload")
    assert not has_user()

    rc, parsed, output = playbook("journal.yml", *base, env=lab["env"])
    assert rc == 0 and changed(parsed)[row["HOSTNAME"]] > 0, output
    marker = str(uuid.uuid4())
    assert _ssh(lab, row, "logger -t gough-test %s" % marker).returncode == 0
    _elapsed, entry = _wait_for_message(lab, "gough-test", marker)
    assert entry is not None and entry["_HOSTNAME"] == row["HOSTNAME"]
