"""metrics/certificates.prom (roles/stack/tasks/cert_metrics.yml): one command reads every certificate Gough issued
on the stack host; each present one gets its notAfter as gough_tls_cert_not_after_seconds, a missing one (no ACME
certificate yet) is left out, a file that is not a certificate fails the run, and a rerun changes nothing."""

import os

import yaml
from cryptography import x509

from alerts_helpers import run_playbook


def write_playbook(path, tasks_from, check_mode=False):
    play = {"name": "Metrics", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Stack tasks", "ansible.builtin.include_role": {"name": "gough.gough.stack",
                                                                 "tasks_from": tasks_from}}]}
    if check_mode:
        play["check_mode"] = True
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump([play], handle)
    return path


def not_after(path):
    with open(path, "rb") as handle:
        return int(x509.load_pem_x509_certificate(handle.read()).not_valid_after_utc.timestamp())


def samples(path):
    with open(path, encoding="utf-8") as handle:
        return [line for line in handle.read().splitlines() if line and not line.startswith("#")]


def test_present_certificates_are_reported_missing_ones_left_out_and_a_broken_one_fails(tmp_path):
    base = tmp_path / "stack"
    variables = {"stack_base_dir": str(base), "stack_profile": "lab"}
    ca_run = run_playbook(write_playbook(str(tmp_path / "ca.yml"), "ca"), variables, str(tmp_path / "run0"))
    assert ca_run.rc == 0, ca_run.output
    os.makedirs(base / "metrics")
    # The CA certificate without its final newline, and a second certificate where the ACME one goes (any PEM
    # certificate will do for the metric), read after it: the two files are told apart all the same.
    with open(base / "ca" / "ca.crt", "rb") as handle:
        pem = handle.read().rstrip(b"\n")
    with open(base / "ca" / "ca.crt", "wb") as handle:
        handle.write(pem)
    os.makedirs(base / "tls" / "nginx")
    with open(base / "tls" / "nginx" / "acme.crt", "wb") as copy:
        copy.write(pem)
    playbook = write_playbook(str(tmp_path / "metrics.yml"), "cert_metrics")
    prom = base / "metrics" / "certificates.prom"

    first = run_playbook(playbook, variables, str(tmp_path / "run1"))
    assert first.rc == 0, first.output
    ca_seconds = not_after(base / "ca" / "ca.crt")
    assert samples(prom) == [
        'gough_tls_cert_not_after_seconds{cert="ca",path="%s"} %d' % (base / "ca" / "ca.crt", ca_seconds),
        'gough_tls_cert_not_after_seconds{cert="acme",path="%s"} %d'
        % (base / "tls" / "nginx" / "acme.crt", ca_seconds)]
    again = run_playbook(playbook, variables, str(tmp_path / "run2"))
    assert again.rc == 0 and again.changed() == {"localhost": 0}, again.output

    os.remove(base / "tls" / "nginx" / "acme.crt")
    checked = run_playbook(write_playbook(str(tmp_path / "check.yml"), "cert_metrics", check_mode=True), variables,
                           str(tmp_path / "run3"))
    assert checked.rc == 0 and checked.changed() == {"localhost": 1}, checked.output
    assert len(samples(prom)) == 2  # check mode wrote nothing

    with open(base / "tls" / "nginx" / "acme.crt", "w", encoding="ascii") as handle:
        handle.write("not a certificate\n")
    broken = run_playbook(playbook, variables, str(tmp_path / "run4"))
    assert broken.rc != 0
    assert "acme: %s" % (base / "tls" / "nginx" / "acme.crt") in broken.output, broken.output
    assert "Unable to load PEM file" in broken.output, broken.output
    assert len(samples(prom)) == 2  # the last good file stays
