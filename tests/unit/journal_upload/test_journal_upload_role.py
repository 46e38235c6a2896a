"""roles/journal_upload without a server: bad input fails before the first task that touches the host, and the
rendered drop-ins say what systemd-journal-upload reads (URL, key, certificates) and who it runs as.

The role's behaviour on real servers (install, certificate, upload, rerun, check mode, absent) is tested end to end
on lab nodes by tests/e2e/test_journal.py.
"""

import configparser
import os
import sys

import pytest
import yaml

from gough_lab.playbook_runner import run_playbook

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
TEMPLATES = os.path.join(ROOT, "roles", "journal_upload", "templates")


def _run(tmp_path, playbook, variables, *args):
    # A server that is never reached: every case below must stop before a task runs on it.
    inventory = {"all": {"hosts": {"web01": {
        "ansible_host": "192.0.2.1", "ansible_connection": "ssh", "ansible_ssh_common_args": "-o ConnectTimeout=1"}}}}
    return run_playbook(playbook, str(tmp_path / "job"), *args, inventory=inventory, extravars=variables,
                        envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "GOUGH_LAB_DIR": str(tmp_path / "no-lab")},
                        collections=COLLECTIONS, timeout=300)


GOOD = {"journal_upload_url": "https://stack.example.com:19532", "journal_upload_ca_cert": "/srv/ca/ca.crt",
        "journal_upload_ca_key": "/srv/ca/ca.key"}


@pytest.mark.parametrize("override, named", [
    ({"journal_upload_url": "http://stack.example.com:19532"}, "journal_upload_url must be https://host[:port]"),
    ({"journal_upload_url": ""}, "got (empty)"),
    ({"journal_upload_url": "https://stack.example.com:19532/upload"}, "journal_upload_url must be"),
    ({"journal_upload_ca_cert": ""}, "got journal_upload_ca_cert=(empty)"),
    ({"journal_upload_state": "off"}, "value of journal_upload_state must be one of: present, absent"),
    ({"journal_upload_check_timeout": "soon"}, "journal_upload_check_timeout"),
], ids=["http", "no-url", "path", "no-ca", "bad-state", "bad-timeout"])
def test_bad_input_fails_before_the_server_is_touched(tmp_path, override, named):
    process = _run(tmp_path, os.path.join(ROOT, "playbooks", "journal.yml"), dict(GOOD, **override))
    output = process.stdout
    assert process.rc == 2, output
    assert named in output
    # The only task that ran is the check (or the argument validation): nothing reached for the server.
    assert "UNREACHABLE" not in output and "Look for the package" not in output


def _render(tmp_path, variables):
    playbook = tmp_path / "render.yml"
    outputs = {name: str(tmp_path / name) for name in ("journal-upload.conf", "unit.conf")}
    tasks = [{"name": "Render " + name, "ansible.builtin.copy": {
        "content": "{{ lookup('ansible.builtin.template', '%s') }}" % os.path.join(TEMPLATES, source),
        "dest": outputs[name], "mode": "0600"}}
        for name, source in (("journal-upload.conf", "journal-upload.conf.j2"),
                             ("unit.conf", "systemd-journal-upload.service.conf.j2"))]
    playbook.write_text(yaml.safe_dump([{"name": "Render", "hosts": "localhost", "connection": "local",
                                         "gather_facts": False, "tasks": tasks}]))
    process = run_playbook(str(playbook), str(tmp_path / "job"), inventory={"all": {"hosts": {"localhost": {}}}},
                           extravars=dict(variables, ansible_python_interpreter=sys.executable), timeout=120)
    assert process.rc == 0, process.output
    parsed = {}
    for name, path in outputs.items():
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
        parsed[name] = parser
    return parsed


def test_drop_ins_point_the_uploader_at_the_receiver_with_its_own_key_and_user(tmp_path):
    parsed = _render(tmp_path, {"journal_upload_url": "https://stack.example.com:19532",
                                "journal_upload_config_dir": "/etc/gough-journal-upload",
                                "journal_upload_user": "gough-journal-upload"})
    upload = dict(parsed["journal-upload.conf"]["Upload"])
    assert upload == {"URL": "https://stack.example.com:19532",
                      "ServerKeyFile": "/etc/gough-journal-upload/tls/journal-upload.key",
                      "ServerCertificateFile": "/etc/gough-journal-upload/tls/journal-upload.crt",
                      "TrustedCertificateFile": "/etc/gough-journal-upload/tls/ca.crt"}
    service = dict(parsed["unit.conf"]["Service"])
    # A static user owns the 0600 key; what DynamicUser= implied is kept explicitly.
    assert service["DynamicUser"] == "no" and service["User"] == service["Group"] == "gough-journal-upload"
    assert service["SupplementaryGroups"] == "systemd-journal"
    for setting, value in (("ProtectSystem", "strict"), ("PrivateTmp", "yes"), ("NoNewPrivileges", "yes"),
                           ("RestrictSUIDSGID", "yes"), ("RemoveIPC", "yes")):
        assert service[setting] == value, setting
