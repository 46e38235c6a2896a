"""The stack role's issue_certificate tasks: a rerun on a certificate that is as these tasks would leave it runs
gough.gough.certificate_status and skips the key, CSR, signing and copy tasks; anything that differs (a mode, the
names, the CA copy, the key type, the signer) still goes through those tasks and is put right, check mode writes
nothing, and stack_cert_force issues a new certificate whatever the old one holds."""

import datetime
import os
import stat

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from alerts_helpers import run_playbook

SLURP = "gough.gough.stack : Read Gough's CA certificate (on the CA host)"
STATUS = "gough.gough.stack : Is the certificate already what these tasks make? (one read on the target, writes nothing)"
SIGN = "gough.gough.stack : Sign the request with Gough's CA (on the CA host)"


def write_playbook(path, check_mode=False):
    """Gough's CA (tasks_from: ca), then issue_certificate, on localhost."""
    play = {"name": "Issue", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "CA", "ansible.builtin.include_role": {"name": "gough.gough.stack", "tasks_from": "ca"}},
        {"name": "Certificate", "ansible.builtin.include_role": {"name": "gough.gough.stack",
                                                                 "tasks_from": "issue_certificate"}}]}
    if check_mode:
        play["check_mode"] = True
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump([play], handle)
    return path


def task_outcome(result, name):
    for play in result.plays:
        for task in play["tasks"]:
            if task["task"]["name"] == name:
                return task["hosts"]["localhost"]
    raise AssertionError("task %r did not run:\n%s" % (name, result.output))


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def sans_of(path):
    cert = x509.load_pem_x509_certificate(read(path))
    return [str(name.value) for name in cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value]


@pytest.fixture(name="issued")
def issued_fixture(tmp_path):
    """A CA and a certificate issued by a first run; returns a runner for further runs."""
    dest = tmp_path / "tls"
    variables = {"stack_base_dir": str(tmp_path / "stack"), "stack_cert_name": "svc", "stack_cert_usage": "server",
                 "stack_cert_dest": str(dest), "stack_cert_sans": ["DNS:svc.example.com", "IP:192.0.2.10"]}
    playbook = write_playbook(str(tmp_path / "issue.yml"))
    check_playbook = write_playbook(str(tmp_path / "check.yml"), check_mode=True)
    runs = []

    def run(check=False, **extra):
        runs.append(None)
        result = run_playbook(check_playbook if check else playbook, dict(variables, **extra),
                              str(tmp_path / ("run%d" % len(runs))))
        assert result.rc == 0, result.output
        return result

    first = run()
    assert task_outcome(first, STATUS)["current"] is False
    assert task_outcome(first, SIGN).get("changed") is True
    run.dest = dest
    run.ca_dir = tmp_path / "stack" / "ca"
    return run


def test_a_rerun_reads_once_and_skips_the_issuing_tasks(issued):
    before = {name: read(issued.dest / name) for name in ("svc.crt", "svc.key", "ca.crt")}
    again = issued()
    status = task_outcome(again, STATUS)
    assert status["current"] is True and status["findings"] == [], status
    assert task_outcome(again, SIGN).get("skipped") is True
    assert again.changed() == {"localhost": 0}, again.output
    assert {name: read(issued.dest / name) for name in before} == before
    assert datetime.datetime.fromisoformat(status["not_after"]) > datetime.datetime.now(datetime.timezone.utc)


def test_a_target_that_is_not_the_ca_host_compares_with_the_ca_host_s_certificate(issued):
    """The stack host reads its CA certificate itself (ca_path); another host gets it by slurp from stack_ca_host
    (here 127.0.0.1, ansible's implicit localhost), passes it as ca_certificate, and a stale ca.crt is rewritten
    from it."""
    local = issued()
    assert task_outcome(local, SLURP).get("skipped") is True
    assert task_outcome(local, STATUS)["ca_certificate"].encode("ascii") == read(issued.ca_dir / "ca.crt")
    with open(issued.dest / "ca.crt", "wb") as handle:
        handle.write(b"stale\n")
    remote = issued(stack_ca_host="127.0.0.1")
    assert "content" in task_outcome(remote, SLURP)
    assert any("is not Gough's CA certificate" in line for line in task_outcome(remote, STATUS)["findings"])
    assert remote.changed() == {"localhost": 1}, remote.output
    assert read(issued.dest / "ca.crt") == read(issued.ca_dir / "ca.crt")
    assert task_outcome(issued(stack_ca_host="127.0.0.1"), STATUS)["current"] is True


def test_a_changed_mode_or_ca_copy_goes_through_the_tasks_and_is_put_right(issued):
    os.chmod(issued.dest / "svc.crt", 0o600)
    with open(issued.dest / "ca.crt", "ab") as handle:
        handle.write(b"\n")
    checked = issued(check=True)
    findings = task_outcome(checked, STATUS)["findings"]
    assert any("has mode 0600, not 0644" in line for line in findings), findings
    assert any("is not Gough's CA certificate" in line for line in findings), findings
    assert checked.changed() == {"localhost": 2}, checked.output
    assert stat.S_IMODE(os.stat(issued.dest / "svc.crt").st_mode) == 0o600  # check mode wrote nothing

    fixed = issued()
    assert fixed.changed() == {"localhost": 2}, fixed.output
    assert stat.S_IMODE(os.stat(issued.dest / "svc.crt").st_mode) == 0o644
    assert read(issued.dest / "ca.crt") == read(issued.ca_dir / "ca.crt")
    assert task_outcome(issued(), STATUS)["current"] is True


def test_new_names_reissue_the_certificate(issued):
    names = ["DNS:svc.example.com", "DNS:svc2.example.com", "IP:192.0.2.10"]
    result = issued(stack_cert_sans=names)
    assert "extensions" in " ".join(task_outcome(result, STATUS)["findings"])
    assert task_outcome(result, SIGN).get("changed") is True
    assert sans_of(issued.dest / "svc.crt") == ["svc.example.com", "svc2.example.com", "192.0.2.10"]
    # The same names in another order are another SAN extension for x509_certificate_pipe too.
    reordered = issued(stack_cert_sans=list(reversed(names)))
    assert task_outcome(reordered, SIGN).get("changed") is True
    assert task_outcome(issued(stack_cert_sans=list(reversed(names))), STATUS)["current"] is True


def test_a_key_of_another_type_is_made_again_and_the_certificate_with_it(issued):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with open(issued.dest / "svc.key", "wb") as handle:
        handle.write(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    result = issued()
    findings = task_outcome(result, STATUS)["findings"]
    assert any("is not an ECC secp256r1 key" in line for line in findings), findings
    key = serialization.load_pem_private_key(read(issued.dest / "svc.key"), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    cert = x509.load_pem_x509_certificate(read(issued.dest / "svc.crt"))
    assert cert.public_key().public_numbers() == key.public_key().public_numbers()


def test_a_certificate_from_another_ca_is_replaced(issued):
    """Same key, names and usages, but signed by a stranger: issuer, signature and AKI all differ."""
    old = x509.load_pem_x509_certificate(read(issued.dest / "svc.crt"))
    key = serialization.load_pem_private_key(read(issued.dest / "svc.key"), password=None)
    stranger = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(old.subject)
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Not Gough")]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(old.not_valid_before_utc).not_valid_after(old.not_valid_after_utc))
    for ext in old.extensions:
        if not isinstance(ext.value, x509.AuthorityKeyIdentifier):
            builder = builder.add_extension(ext.value, ext.critical)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(stranger.public_key()), False)
    with open(issued.dest / "svc.crt", "wb") as handle:
        handle.write(builder.sign(stranger, hashes.SHA256()).public_bytes(serialization.Encoding.PEM))
    result = issued()
    findings = " ".join(task_outcome(result, STATUS)["findings"])
    assert "not signed by Gough's CA" in findings and "issuer is not Gough's CA" in findings, findings
    ca = x509.load_pem_x509_certificate(read(issued.ca_dir / "ca.crt"))
    assert x509.load_pem_x509_certificate(read(issued.dest / "svc.crt")).issuer == ca.subject


def test_force_issues_a_new_certificate_without_asking(issued):
    serial = x509.load_pem_x509_certificate(read(issued.dest / "svc.crt")).serial_number
    result = issued(stack_cert_force=True)
    assert task_outcome(result, STATUS).get("skipped") is True
    assert task_outcome(result, SIGN).get("changed") is True
    assert x509.load_pem_x509_certificate(read(issued.dest / "svc.crt")).serial_number != serial


def test_what_the_check_does_not_model_is_a_finding_and_a_bad_ca_names_the_option(issued):
    """A SAN type other than DNS and IP is left to the full tasks; a CA that is not PEM fails naming ca_certificate."""
    import sys  # pylint: disable=import-outside-toplevel
    from alerts_helpers import COLLECTIONS  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.gough.gough.plugins.module_utils import x509_status  # pylint: disable=import-outside-toplevel
    wanted = {"name": "svc", "sans": ["DNS:svc.example.com", "IP:192.0.2.10"], "usage": "server",
              "dest": str(issued.dest), "owner": None, "group": None, "copy_ca": True}
    ca_pem = read(issued.ca_dir / "ca.crt")
    assert x509_status.findings(wanted, ca_pem)[0] == []
    found, certificate = x509_status.findings(dict(wanted, sans=["email:ops@example.com"]), ca_pem)
    assert certificate is not None and any("not a DNS name or IP address" in line for line in found), found
    found, _cert = x509_status.findings(dict(wanted, usage="client", owner=str(os.getuid())), ca_pem)
    assert found == ["the certificate's extensions (names, usages, constraints) differ from the request"]
    with pytest.raises(x509_status.BadCA):
        x509_status.findings(wanted, b"not a certificate")


def test_several_certificates_in_one_run_and_the_directory_mode(issued, tmp_path):
    """certificates: one run reports each certificate against the same CA, in order (the stack role asks this way for
    its service certificates); directory_mode is the mode the directory must have (0755 unless given)."""
    playbook = tmp_path / "status.yml"
    entry = {"name": "svc", "usage": "server", "dest": str(issued.dest),
             "sans": ["DNS:svc.example.com", "IP:192.0.2.10"]}
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Status", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Status", "gough.gough.certificate_status": {
                "certificates": "{{ certificates }}", "ca_path": str(issued.ca_dir / "ca.crt")}}]}], handle)

    runs = []

    def status(*entries):
        runs.append(None)
        result = run_playbook(str(playbook), {"certificates": list(entries)}, str(tmp_path / ("out%d" % len(runs))))
        assert result.rc == 0, result.output
        return task_outcome(result, "Status")

    missing = dict(entry, name="other", dest=str(tmp_path / "nowhere"))
    both = status(entry, missing)
    assert [(one["name"], one["current"]) for one in both["certificates"]] == [("svc", True), ("other", False)]
    assert both["current"] is False
    assert both["findings"] == both["certificates"][1]["findings"] != []
    os.chmod(issued.dest, 0o700)
    assert status(entry)["certificates"][0]["findings"] == [
        "directory %s has mode 0700, not 0755" % issued.dest]
    assert status(dict(entry, directory_mode="0700"))["current"] is True
