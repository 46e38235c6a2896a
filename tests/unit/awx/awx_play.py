"""Helpers of the AWX configuration tests: the role's inputs, playbook runs (ansible-runner) and an API reader."""

import json
import os
import subprocess
import sys
import tempfile

from gough_lab.playbook_runner import run_playbook as run_job

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
BIN = os.path.dirname(sys.executable)
PLAYBOOK = os.path.join(ROOT, "playbooks", "awx.yml")
# The controller settings a job must not inherit from the environment the tests run in.
UNSET = ("CONTROLLER_OAUTH_TOKEN", "CONTROLLER_USERNAME", "CONTROLLER_PASSWORD", "TOWER_HOST", "TOWER_OAUTH_TOKEN",
         "CONTROLLER_VERIFY_SSL")


def inputs(project_dir, **extra):
    """The role's required inputs for a lab run (fake secrets), plus ``extra``."""
    values = {
        "awx_config_scm_url": "file://%s" % project_dir,
        "awx_config_maas_url": "http://127.0.0.1:5240/MAAS",
        "awx_config_maas_api_key": "consumer:token:maas-secret-value",
        "awx_config_maas_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        "awx_config_fleet_url": "https://127.0.0.1:8412",
        "awx_config_fleet_api_token": "fleet-secret-value",
        "awx_config_fleet_enroll_secret": "enroll-secret-value",
        "awx_config_fleet_node_address": "fleet.example.invalid:8412",
        "awx_config_prometheus_file_sd_dir": "/srv/gough/prometheus/file_sd",
        "awx_config_prometheus_file_sd_host": "stack.example.invalid",
        "awx_config_ssh_private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nssh-secret-value\n"
                                      "-----END OPENSSH PRIVATE KEY-----\n",
        "awx_config_host_config_key": "callback-key-0123456789",
        "awx_config_ca_cert": "-----BEGIN CERTIFICATE-----\nMIIC-gough-ca\n-----END CERTIFICATE-----\n",
        "awx_config_ca_key": "-----BEGIN PRIVATE KEY-----\nca-key-secret-value\n-----END PRIVATE KEY-----\n",
        # As docs/awx.md shows it: the servers get the callback key through Gough provision's variables.
        "awx_config_provision_extra_vars": {"provision_cloudinit_vars": {
            "cloudinit_ssh_authorized_keys": ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGough ops@example"],
            "gough_awx_host_config_key": "{{ awx_config_host_config_key }}"}},
        "awx_config_notification_url": "https://hooks.example.invalid/gough",
        "awx_config_alertmanager_url": "https://stack.example.invalid:9093",
        "awx_config_backup_recipients": ["age1mz5ym2yqxv5ph70xgwr70xdlyqzrvyjgg50sga3ptlr5qdfxya4q87jttz"],
        "awx_config_backup_identity": "AGE-SECRET-KEY-1AGEIDENTITYSECRETVALUE0000000000000000000000000000000000000",
        "awx_config_backup_extra_vars": {"stack_backup_dir": "/srv/gough-backups"},
        "awx_config_journal_url": "https://stack.example.invalid:19532",
        "awx_config_commission_tags": ["discovered", "rack-a"],
        "controller_user_accounts": [{"username": "alice", "password": "alice-secret-value",
                                      "email": "alice@example.invalid"},
                                     {"username": "bob", "password": "bob-secret-value",
                                      "email": "bob@example.invalid"}],
        "awx_config_extra_roles": [{"user": "alice", "target_teams": ["operators"], "role": "member"},
                                   {"user": "bob", "target_teams": ["admins"], "role": "member"}],
    }
    values.update(extra)
    return values


def run_playbook(awx, tmp_path, variables, *args, auth="token", expect_rc=0):
    """playbooks/awx.yml against ``awx`` as a job (gough_lab.playbook_runner: ``variables`` in env/extravars, the
    controller's URL and credentials in env/envvars); returns (PlaybookRun, recap counters of localhost with
    ``failed`` for failures)."""
    env = {"ANSIBLE_DEPRECATION_WARNINGS": "0", "ANSIBLE_LOCALHOST_WARNING": "0",
           "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0", "CONTROLLER_HOST": awx.url}
    if auth == "token":
        env["CONTROLLER_OAUTH_TOKEN"] = awx.token
    else:
        env["CONTROLLER_USERNAME"], env["CONTROLLER_PASSWORD"] = awx.username, awx.password
    # Not from this process's environment: only what the job is given.
    removed = {name: os.environ.pop(name) for name in UNSET if name in os.environ and name not in env}
    try:
        run = run_job(PLAYBOOK, tempfile.mkdtemp(prefix="job-", dir=tmp_path), *args, extravars=variables,
                      envvars=env, collections=COLLECTIONS, timeout=600)
    finally:
        os.environ.update(removed)
    assert run.rc == expect_rc, run.output
    counters = run.stats.get("localhost", {})
    recap = dict(counters, failed=counters.get("failures", 0)) if counters else {}
    return run, recap


class Client:
    """Reads the emulator's API as the admin (bearer token)."""

    def __init__(self, awx):
        self.awx = awx

    def get(self, path):
        """GET a path under /api/v2/ (or a full /api/ path); returns the JSON body."""
        import urllib.request  # pylint: disable=import-outside-toplevel

        url = self.awx.url + (path if path.startswith("/") else "/api/v2/" + path)
        request = urllib.request.Request(url, headers={"Authorization": "Bearer " + self.awx.token})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def all(self, path):
        """Every result of a list (following next)."""
        page = self.get(path)
        results = list(page["results"])
        while page["next"]:
            page = self.get(page["next"])
            results.extend(page["results"])
        return results

    def one(self, collection, **filters):
        """The single object of ``collection`` matching ``filters``."""
        from urllib.parse import urlencode  # pylint: disable=import-outside-toplevel

        found = self.all("%s/?%s" % (collection, urlencode(filters)))
        assert len(found) == 1, (collection, filters, found)
        return found[0]


def launch_examples(markdown_path):
    """The awx.awx launch commands of a Markdown page: [(module, args dict)] from each ``console`` block line
    ``$ ansible localhost -m awx.awx.<job|workflow>_launch -a '<JSON>'`` (continuation lines included)."""
    import re  # pylint: disable=import-outside-toplevel
    import shlex  # pylint: disable=import-outside-toplevel

    with open(markdown_path, encoding="utf-8") as handle:
        text = handle.read()
    examples = []
    for indent, body in re.findall(r"^( *)```console\n(.*?)^\1```", text, re.M | re.S):
        lines = [line[len(indent):] for line in body.splitlines()]
        commands = []
        for line in lines:
            if line.startswith("$ "):
                commands.append(line[2:])
            elif commands:
                commands[-1] += "\n" + line
        for command in commands:
            words = shlex.split(command.replace("\\\n", " "))
            while words and re.match(r"^[A-Z_]+=", words[0]):
                words.pop(0)
            if words[:2] != ["ansible", "localhost"] or "-m" not in words:
                continue
            module = words[words.index("-m") + 1]
            if module not in ("awx.awx.job_launch", "awx.awx.workflow_launch"):
                continue
            examples.append((module, json.loads(words[words.index("-a") + 1])))
    return examples


def run_module(awx, module, args, username, password):
    """``ansible localhost -m <module> -a <JSON args>`` against ``awx`` as ``username``; returns CompletedProcess."""
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_LOCALHOST_WARNING="0",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="0", CONTROLLER_HOST=awx.url, CONTROLLER_USERNAME=username,
               CONTROLLER_PASSWORD=password)
    for name in ("CONTROLLER_OAUTH_TOKEN", "TOWER_HOST", "TOWER_OAUTH_TOKEN", "CONTROLLER_VERIFY_SSL"):
        env.pop(name, None)
    return subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-m", module, "-a", json.dumps(args)],
                          env=env, capture_output=True, text=True, check=False, timeout=300)


def get_as(awx, path, username, password):
    """GET a path under /api/v2/ as another user (Basic auth); returns (HTTP status, JSON body)."""
    import base64  # pylint: disable=import-outside-toplevel
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    credentials = base64.b64encode(("%s:%s" % (username, password)).encode()).decode()
    request = urllib.request.Request(awx.url + "/api/v2/" + path, headers={"Authorization": "Basic " + credentials})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
