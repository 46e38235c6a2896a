# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cloudinit_template action plugin through ansible-playbook: every library template renders and validates,
parts merge by cloud-init's rules, multipart output, the size limit, each kind of bad input, a schema validator
(a small fake one here: real cloud-init is not installed on this controller), secrets kept out of the output, and
check mode."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import email
import importlib.util
import json
import os
import sys
import time
import textwrap

import pytest
import yaml

from gough_lab import playbook_runner
from gough_lab.playbook_runner import LOCALHOST

from ansible_collections.gough.gough.plugins.modules import cloudinit_template
from ansible_collections.gough.gough.plugins.plugin_utils import cloudinit

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGough0test0key0only0for0tests admin@example"
CA_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfakeCAcertificateForTests\n-----END CERTIFICATE-----\n"
CALLBACK_KEY = "host-config-KEY-marker-4711"
CALLBACK_URL = "https://awx.example.com/api/v2/job_templates/12/callback/"
PLAY_VARS = {"cloudinit_ssh_authorized_keys": [SSH_KEY], "gough_ca_cert": CA_CERT}

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  vars: {play_vars}
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
      check_mode: false
      no_log: true
"""

FAKE_VALIDATOR = textwrap.dedent("""\
    #!{python}
    # Stand-in for `cloud-init schema --config-file FILE`: same exit codes and error format, two rules only.
    import sys, yaml
    with open(sys.argv[-1]) as f:
        text = f.read()
    with open({calls!r}, "a") as log:
        log.write("called\\n")
    data = yaml.safe_load(text)
    errors = []
    for index, user in enumerate(data.get("users") or []):
        if isinstance(user, dict) and not isinstance(user.get("ssh_authorized_keys", []), list):
            errors.append("users.%d.ssh_authorized_keys: %r is not of type 'array'" % (index, user["ssh_authorized_keys"]))
    if not isinstance(data.get("package_update", False), bool):
        errors.append("package_update: %r is not of type 'boolean'" % data["package_update"])
    if errors:
        print("Found cloud-config data types: user-data")
        print("")
        print("1. user-data at " + sys.argv[-1] + ":")
        print("  Invalid user-data " + sys.argv[-1])
        print("  Error: Cloud config schema errors: " + ", ".join(errors))
        sys.exit(1)
    print("Valid schema " + sys.argv[-1])
    """)


def return_doc_problems(module, result):
    """Mismatches between ``result`` and the module's RETURN, with the modules' conftest's checker."""
    spec = importlib.util.spec_from_file_location("gough_modules_conftest",
                                                  os.path.join(HERE, "..", "modules", "conftest.py"))
    checker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(checker)
    return checker.return_mismatches(module, result)


def run_play(tmp_path, options, play_vars=None, extra_args=(), env=None):
    """Run one cloudinit_template task through the tests' one runner; return (PlaybookRun, registered result)."""
    result_file = tmp_path / "result.json"
    if result_file.exists():
        result_file.unlink()
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK.format(play_vars=json.dumps(PLAY_VARS if play_vars is None else play_vars),
                                        options=json.dumps(options), result_file=result_file))
    # The validator comes from the options or ``env``, never from this process's environment (empty: none).
    environ = {cloudinit.VALIDATOR_ENV: "", "ANSIBLE_DEPRECATION_WARNINGS": "0"}
    environ.update(env or {})
    process = playbook_runner.run_playbook(str(playbook), str(tmp_path / ("job-%d" % time.monotonic_ns())),
                                           *extra_args, inventory=LOCALHOST, collections=COLLECTIONS,
                                           envvars=environ, timeout=120)
    assert process.rc == 0, process.stdout
    return process, json.loads(result_file.read_text())


@pytest.fixture
def fake_validator(tmp_path):
    """Path of a fake `cloud-init schema` command and of the file it appends one line to per call."""
    calls = tmp_path / "validator-calls"
    script = tmp_path / "fake-cloud-init-schema"
    script.write_text(FAKE_VALIDATOR.format(python=sys.executable, calls=str(calls)))
    script.chmod(0o755)
    return str(script), calls


def cloud_config_of(result):
    """The cloud-config dict inside a result's user_data (plain or multipart)."""
    text = result["user_data"]
    if result["output"] == "multipart":
        message = email.message_from_string(text)
        text = [p.get_payload() for p in message.walk() if p.get_content_type() == "text/cloud-config"][0]
    assert text.startswith("#cloud-config\n")
    return yaml.safe_load(text)


@pytest.mark.parametrize("name", cloudinit.library_names())
def test_every_library_template_renders_valid_cloud_config(tmp_path, fake_validator, name):
    validator, calls = fake_validator
    _process, result = run_play(tmp_path, {"name": name, "validator": validator})
    assert not result.get("failed"), result.get("msg")
    config = cloud_config_of(result)
    assert result["schema_validated"] is True and result["validator"] == validator
    assert calls.read_text().count("called") == 1
    assert base64.b64decode(result["user_data_base64"]).decode() == result["user_data"]
    assert result["size"] == len(result["user_data"].encode()) <= 16384
    assert result["changed"] is False
    if name != "gough-bootstrap":
        assert config["users"][0]["ssh_authorized_keys"] == [SSH_KEY]
        assert config["ssh_pwauth"] is False and config["disable_root"] is True
        assert config["ntp"] == {"enabled": True, "ntp_client": "chrony"}
        assert "PermitRootLogin no" in config["write_files"][0]["content"]


def test_result_keys_match_the_return_documentation(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "parts": ["#!/bin/sh\ntrue\n"]})
    assert return_doc_problems(cloudinit_template, result) == []


def test_docker_host_extends_base_and_adds_docker(tmp_path):
    _process, result = run_play(tmp_path, {"name": "docker-host", "vars": {"cloudinit_admin_user": "deploy"}})
    config = cloud_config_of(result)
    assert result["templates"] == ["template base", "template docker-host"]
    assert config["packages"] == ["chrony", "unattended-upgrades", "nftables", "docker.io"]
    daemon = [f for f in config["write_files"] if f["path"] == "/etc/docker/daemon.json"][0]
    assert json.loads(daemon["content"])["log-driver"] == "json-file"
    assert ["usermod", "-aG", "docker", "deploy"] in config["runcmd"]
    assert config["users"][0]["name"] == "deploy"


def test_base_makes_a_compliant_server_by_default(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base"})
    config = cloud_config_of(result)
    files = dict((f["path"], f) for f in config["write_files"])
    sshd = files["/etc/ssh/sshd_config.d/60-gough-hardening.conf"]["content"]
    assert "PermitRootLogin no\n" in sshd and "PasswordAuthentication no\n" in sshd
    assert "Storage=persistent" in files["/etc/systemd/journald.conf.d/60-gough-persistent.conf"]["content"]
    # Gough's own table, never "flush ruleset" (that drops Docker's rules, its container DNS included).
    ruleset = files["/etc/nftables.conf"]["content"]
    assert "table inet gough {" in ruleset and "flush ruleset" not in ruleset
    assert "ExecStop=/usr/sbin/nft delete table inet gough" in \
        files["/etc/systemd/system/nftables.service.d/60-gough.conf"]["content"]
    assert "nftables" in config["packages"] and "unattended-upgrades" in config["packages"]
    assert ["systemctl", "enable", "--now", "nftables.service"] in config["runcmd"]


def test_base_can_deploy_a_non_compliant_node_on_purpose(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "vars": {
        "cloudinit_ssh_permit_root_login": "yes", "cloudinit_firewall": False,
        "cloudinit_nftables_conf": "table inet filter {}\n"}})
    config = cloud_config_of(result)
    files = dict((f["path"], f) for f in config["write_files"])
    assert "PermitRootLogin yes\n" in files["/etc/ssh/sshd_config.d/60-gough-hardening.conf"]["content"]
    assert "nftables" not in config["packages"] and "/etc/nftables.conf" not in files
    assert ["systemctl", "enable", "--now", "nftables.service"] not in config["runcmd"]


def test_base_refuses_an_unknown_permit_root_login_value(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "vars": {"cloudinit_ssh_permit_root_login": "maybe"}})
    assert result.get("failed") is True
    assert "cloudinit_ssh_permit_root_login must be no, prohibit-password, forced-commands-only or yes, not maybe" \
        in result["msg"]


def test_kvm_hypervisor_writes_a_bridge_only_when_interfaces_are_given(tmp_path):
    _process, plain = run_play(tmp_path, {"name": "kvm-hypervisor"})
    assert not any(f["path"].startswith("/etc/netplan") for f in cloud_config_of(plain)["write_files"])
    _process, bridged = run_play(tmp_path, {"name": "kvm-hypervisor", "vars": {
        "cloudinit_kvm_bridge_interfaces": ["eno1"], "cloudinit_kvm_bridge_dhcp": False,
        "cloudinit_kvm_bridge_addresses": ["192.0.2.10/24"], "cloudinit_kvm_bridge_gateway": "192.0.2.1"}})
    config = cloud_config_of(bridged)
    netplan = [f for f in config["write_files"] if f["path"] == "/etc/netplan/60-gough-bridge.yaml"][0]
    assert netplan["permissions"] == "0600"
    network = yaml.safe_load(netplan["content"])["network"]
    assert network["bridges"]["br0"]["interfaces"] == ["eno1"]
    assert network["bridges"]["br0"]["addresses"] == ["192.0.2.10/24"]
    assert network["bridges"]["br0"]["routes"] == [{"to": "default", "via": "192.0.2.1"}]
    assert network["ethernets"] == {"eno1": {"dhcp4": False}}
    assert ["netplan", "apply"] in config["runcmd"]


def test_gough_bootstrap_without_a_callback_writes_the_ca_and_installs_what_ansible_needs(tmp_path):
    _process, result = run_play(tmp_path, {"name": ["base", "gough-bootstrap"]})
    config = cloud_config_of(result)
    # Nothing the agent and Fleet roles do not read: no user, group or enroll secret of its own.
    assert [u["name"] for u in config["users"]] == ["ops"] and "groups" not in config
    assert {"python3", "curl", "chrony"} <= set(config["packages"])
    files = dict((f["path"], f) for f in config["write_files"])
    assert files["/etc/gough/ca.pem"] == {"path": "/etc/gough/ca.pem", "owner": "root:root", "permissions": "0644",
                                          "content": CA_CERT}
    assert not [path for path in files if "callback" in path]
    assert not [command for command in config["runcmd"] if "gough-awx-callback.service" in command]


def test_gough_bootstrap_with_a_callback_keeps_the_key_root_only_and_calls_after_cloud_init(tmp_path):
    _process, result = run_play(tmp_path, {"name": ["base", "gough-bootstrap"], "vars": {
        "gough_awx_callback_url": CALLBACK_URL, "gough_awx_host_config_key": CALLBACK_KEY,
        "gough_awx_callback_timeout": 600, "gough_awx_callback_retry_delay": 5}})
    config = cloud_config_of(result)
    files = dict((f["path"], f) for f in config["write_files"])
    key = files["/etc/gough/awx-callback.key"]
    assert (key["owner"], key["permissions"], key["content"]) == ("root:root", "0600", CALLBACK_KEY)
    # The key is in its file only: not in the settings, the script, the unit or a command line.
    others = [f for path, f in files.items() if path != "/etc/gough/awx-callback.key"]
    assert not [f["path"] for f in others if CALLBACK_KEY in f["content"]]
    assert CALLBACK_KEY not in json.dumps(config["runcmd"])
    settings = files["/etc/gough/awx-callback.env"]["content"].splitlines()
    assert settings == ["GOUGH_AWX_CALLBACK_URL=" + CALLBACK_URL,
                        "GOUGH_AWX_CALLBACK_KEY_FILE=/etc/gough/awx-callback.key",
                        "GOUGH_AWX_CALLBACK_CA_FILE=/etc/gough/ca.pem",
                        "GOUGH_AWX_CALLBACK_TIMEOUT=600", "GOUGH_AWX_CALLBACK_RETRY_DELAY=5"]
    script = files["/usr/local/sbin/gough-awx-callback"]
    assert script["permissions"] == "0755" and script["content"].startswith("#!/bin/sh\n")
    # TLS verified with the CA, https only, the key read by curl from its file; never -k.
    assert '--proto \'=https\' --cacert "$ca_file"' in script["content"]
    assert '--data-urlencode "host_config_key@$key_file"' in script["content"]
    assert " -k " not in script["content"] and "--insecure" not in script["content"]
    unit = files["/etc/systemd/system/gough-awx-callback.service"]["content"]
    assert "After=network-online.target cloud-final.service\n" in unit
    assert "ConditionPathExists=!/var/lib/gough/awx-callback.done\n" in unit
    assert config["runcmd"][-3:] == [["systemctl", "daemon-reload"], ["systemctl", "enable", "gough-awx-callback.service"],
                                     ["systemctl", "start", "--no-block", "gough-awx-callback.service"]]
    # A CA of AWX's own replaces Gough's for the callback.
    _process, result = run_play(tmp_path, {"name": "gough-bootstrap", "vars": {
        "gough_awx_callback_url": CALLBACK_URL, "gough_awx_host_config_key": CALLBACK_KEY,
        "gough_awx_callback_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIBawx\n-----END CERTIFICATE-----"}})
    files = dict((f["path"], f) for f in cloud_config_of(result)["write_files"])
    assert files["/etc/gough/awx-ca.pem"]["content"].startswith("-----BEGIN CERTIFICATE-----\nMIIBawx")
    assert "GOUGH_AWX_CALLBACK_CA_FILE=/etc/gough/awx-ca.pem\n" in files["/etc/gough/awx-callback.env"]["content"]


@pytest.mark.parametrize("variables, message", [
    ({"gough_awx_callback_url": "http://awx.example.com/api/v2/job_templates/1/callback/",
      "gough_awx_host_config_key": CALLBACK_KEY}, "gough_awx_callback_url must be an https:// URL"),
    ({"gough_awx_callback_url": "https://awx.example.com/$(reboot)", "gough_awx_host_config_key": CALLBACK_KEY},
     "gough_awx_callback_url must be an https:// URL"),
    ({"gough_awx_callback_url": CALLBACK_URL}, "gough_awx_host_config_key is required when gough_awx_callback_url"),
    ({"gough_awx_callback_url": CALLBACK_URL, "gough_awx_host_config_key": CALLBACK_KEY, "gough_awx_callback_timeout": "soon"},
     "gough_awx_callback_timeout must be a whole number of seconds above 0, not soon"),
    ({"gough_awx_callback_url": CALLBACK_URL, "gough_awx_host_config_key": CALLBACK_KEY, "gough_awx_callback_retry_delay": 0},
     "gough_awx_callback_retry_delay must be a whole number of seconds above 0, not 0"),
    ({"gough_config_dir": "etc/gough"}, "gough_config_dir must be an absolute path"),
], ids=["http", "shell", "no-key", "timeout", "delay", "relative-dir"])
def test_gough_bootstrap_refuses_bad_callback_settings_naming_the_variable(tmp_path, variables, message):
    _process, result = run_play(tmp_path, {"name": "gough-bootstrap", "vars": variables})
    assert result.get("failed") and message in result["msg"], result.get("msg")
    assert CALLBACK_KEY not in result["msg"]


def test_parts_replace_top_level_keys_by_default_like_cloud_init(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "parts": [
        {"packages": ["jq"], "ntp": {"servers": ["ntp.example"]}},
        "#cloud-config\ntimezone: Europe/Berlin\n"]})
    config = cloud_config_of(result)
    assert config["packages"] == ["jq"]
    assert config["ntp"] == {"servers": ["ntp.example"]}
    assert config["timezone"] == "Europe/Berlin"
    assert [p["source"] for p in result["parts"]] == ["template base", "parts[0]", "parts[1]"]


def test_parts_append_lists_and_recurse_into_mappings_with_merge_how_append(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "merge_how": "append", "parts": [
        {"packages": ["jq"], "ntp": {"servers": ["ntp.example"], "enabled": False}, "timezone": "Europe/Berlin"}]})
    config = cloud_config_of(result)
    assert config["packages"] == ["chrony", "unattended-upgrades", "nftables", "jq"]
    # Mappings merge key by key; a scalar set in both keeps the earlier value (cloud-init's no_replace).
    assert config["ntp"] == {"enabled": True, "ntp_client": "chrony", "servers": ["ntp.example"]}
    assert config["timezone"] == "Etc/UTC"


def test_scripts_make_a_multipart_with_shellscript_parts_in_order(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "parts": [
        "#!/bin/sh\necho one\n", {"packages": ["jq"]}, "#!/bin/bash\necho two\n"]})
    assert result["output"] == "multipart"
    message = email.message_from_string(result["user_data"])
    parts = [(p.get_content_type(), p.get_filename(), p.get_payload()) for p in message.walk()
             if not p.is_multipart()]
    assert [p[0] for p in parts] == ["text/cloud-config", "text/x-shellscript", "text/x-shellscript"]
    assert parts[1][1:] == ("part-000.sh", "#!/bin/sh\necho one\n")
    assert parts[2][1:] == ("part-002.sh", "#!/bin/bash\necho two\n")
    assert cloud_config_of(result)["packages"] == ["jq"]
    _process, again = run_play(tmp_path, {"name": "base", "parts": [
        "#!/bin/sh\necho one\n", {"packages": ["jq"]}, "#!/bin/bash\necho two\n"]})
    assert again["user_data"] == result["user_data"], "the same input must give the same bytes"


def test_scripts_with_output_cloud_config_fail_naming_the_parts(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "output": "cloud-config",
                                           "parts": ["#!/bin/sh\ntrue\n"]})
    assert result["failed"] is True and "parts[0]" in result["msg"] and "multipart" in result["msg"]


def test_user_data_over_max_size_fails_with_both_sizes(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "max_size": 300})
    assert result["failed"] is True
    assert "over max_size (300 bytes)" in result["msg"] and "user_data" not in result
    _process, result = run_play(tmp_path, {"name": "base", "parts": [{"bootcmd": ["x" * 17000]}]})
    assert result["failed"] is True and "16384" in result["msg"]


def test_unknown_template_name_lists_the_known_ones(tmp_path):
    _process, result = run_play(tmp_path, {"name": "docker-hots"})
    assert result["failed"] is True
    assert result["msg"] == ("name: unknown template 'docker-hots'; the library has: "
                             "base, docker-host, gough-bootstrap, kvm-hypervisor.")


def test_missing_required_variable_is_named(tmp_path):
    _process, result = run_play(tmp_path, {"name": "gough-bootstrap"}, play_vars={})
    assert result["failed"] is True
    assert result["msg"].startswith("template gough-bootstrap: required variable 'gough_ca_cert' is not defined")


def test_undefined_variable_in_a_user_template_is_named(tmp_path):
    (tmp_path / "mine.yml.j2").write_text("#cloud-config\nhostname: {{ node_name }}\n")
    _process, result = run_play(tmp_path, {"src": "mine.yml.j2"})
    assert result["failed"] is True and "required variable 'node_name' is not defined" in result["msg"]


def test_user_template_renders_with_play_vars_and_task_vars(tmp_path):
    (tmp_path / "mine.yml.j2").write_text("#cloud-config\nhostname: {{ node_name }}\npackages: {{ pkgs | to_json }}\n")
    _process, result = run_play(tmp_path, {"src": "mine.yml.j2", "vars": {"node_name": "web-01"}},
                                play_vars={"pkgs": ["htop"]})
    assert cloud_config_of(result) == {"hostname": "web-01", "packages": ["htop"]}


def test_invalid_yaml_in_a_user_template_gives_line_and_column(tmp_path):
    (tmp_path / "bad.yml.j2").write_text("#cloud-config\npackages:\n  - jq\n bad: [\n")
    _process, result = run_play(tmp_path, {"src": "bad.yml.j2"})
    assert result["failed"] is True
    assert result["msg"].startswith("src bad.yml.j2: invalid YAML at line 4, column 2")


def test_user_template_without_the_cloud_config_header_fails(tmp_path):
    (tmp_path / "noheader.yml.j2").write_text("packages: [jq]\n")
    _process, result = run_play(tmp_path, {"src": "noheader.yml.j2"})
    assert result["failed"] is True and "must start with the line '#cloud-config'" in result["msg"]


def test_schema_violation_names_the_key_path(tmp_path, fake_validator):
    validator, _calls = fake_validator
    _process, result = run_play(tmp_path, {"name": "base", "validator": validator, "vars": {
        "cloudinit_ssh_authorized_keys": "ssh-ed25519 AAAA-not-a-list"}})
    assert result["failed"] is True
    assert "cloud-init schema validation failed" in result["msg"]
    assert "users[0].ssh_authorized_keys: 'ssh-ed25519 AAAA-not-a-list' is not of type 'array'" in result["msg"]
    assert str(tmp_path) not in result["msg"]


def test_validator_from_the_environment_variable_is_used(tmp_path, fake_validator):
    validator, calls = fake_validator
    _process, result = run_play(tmp_path, {"name": "base", "parts": [{"package_update": "yes please"}]},
                                env={cloudinit.VALIDATOR_ENV: validator})
    assert result["failed"] is True and "package_update: 'yes please' is not of type 'boolean'" in result["msg"]
    assert calls.read_text().count("called") == 1


def test_without_a_validator_schema_validated_is_false_with_a_warning(tmp_path):
    if importlib.util.find_spec("cloudinit"):
        pytest.skip("cloud-init's Python package is installed on this controller")
    # PATH without any directory that holds a cloud-init command (the venv's first: the job runs its ansible-playbook).
    path = [d for d in [os.path.dirname(sys.executable)] + os.environ["PATH"].split(os.pathsep)
            if not os.path.exists(os.path.join(d, "cloud-init"))]
    env = {"PATH": os.pathsep.join(path)}
    process, result = run_play(tmp_path, {"name": "base"}, env=env)
    assert result["schema_validated"] is False and result["validator"] is None
    assert any("schema validator is not available" in w for w in result["warnings"])
    assert "schema validator is not available" in process.stdout
    _process, required = run_play(tmp_path, {"name": "base", "schema_validation": "required"}, env=env)
    assert required["failed"] is True and required["msg"].startswith("schema_validation=required")


def test_secrets_stay_out_of_verbose_output_but_reach_the_registered_variable(tmp_path):
    options = {"name": ["base", "gough-bootstrap"], "vars": {"gough_awx_callback_url": CALLBACK_URL,
                                                             "gough_awx_host_config_key": CALLBACK_KEY}}
    process, result = run_play(tmp_path, options, extra_args=["-vvv", "--diff"])
    output = process.stdout
    assert CALLBACK_KEY not in output
    assert "censored" in output
    assert CALLBACK_KEY in result["user_data"]
    assert base64.b64encode(CALLBACK_KEY.encode()).decode()[:12] not in output
    # The diff, kept in the registered variable, is redacted too.
    assert CALLBACK_KEY not in result["diff"]["after"] and "<redacted>" in result["diff"]["after"]


def test_show_user_data_displays_the_result(tmp_path):
    process, _result = run_play(tmp_path, {"name": "gough-bootstrap", "show_user_data": True, "vars": {
        "gough_awx_callback_url": CALLBACK_URL, "gough_awx_host_config_key": CALLBACK_KEY}}, extra_args=["-v"])
    assert CALLBACK_KEY in process.stdout


def test_check_mode_renders_and_validates_the_same(tmp_path, fake_validator):
    validator, calls = fake_validator
    _process, normal = run_play(tmp_path, {"name": "docker-host", "validator": validator})
    _process, checked = run_play(tmp_path, {"name": "docker-host", "validator": validator}, extra_args=["--check"])
    assert checked["user_data"] == normal["user_data"] and checked["changed"] is False
    assert checked["schema_validated"] is True and calls.read_text().count("called") == 2


def test_bad_options_fail_before_rendering(tmp_path):
    _process, result = run_play(tmp_path, {"name": "base", "src": "x.j2"})
    assert result["failed"] is True and "mutually exclusive" in result["msg"]
    _process, result = run_play(tmp_path, {"name": "base", "parts": [42]})
    assert result["failed"] is True and result["msg"].startswith("parts[0]: must be a cloud-config mapping")
