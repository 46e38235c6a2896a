"""Helpers of the end-to-end tests (tests/e2e): playbook runs through ansible-runner, the lab's files and APIs.

The fixtures that stand the lab up once for every e2e test file are in conftest.py.
"""

import ipaddress
import json
import os
import socket
import ssl
import tempfile
import time
import urllib.request

import yaml

from gough_lab.playbook_runner import run_playbook
from gough_lab.sink.testing import read_notifications

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The working tree as ansible_collections/gough/gough (``make e2e`` runs ``make tree``, which lays it out there).
COLLECTIONS = os.path.join(ROOT, ".build")
LAB_SUBNET = ipaddress.ip_network("172.30.90.0/24")
NODES = 2


def _baseline_policies():
    path = os.path.join(ROOT, "roles", "compliance", "defaults", "main", "policies.yml")
    with open(path, encoding="utf-8") as handle:
        return [policy["name"] for policy in yaml.safe_load(handle)["compliance_baseline_policies"]]


# The policies site.yml applies (the compliance role's baseline).
BASELINE_POLICIES = _baseline_policies()


def playbook_path(name):
    """The repository's lab/playbooks/<name> (lab.yml: repository tooling), else the collection's playbooks/<name>."""
    lab = os.path.join(ROOT, "lab", "playbooks", name)
    return lab if os.path.isfile(lab) else os.path.join(ROOT, "playbooks", name)


def playbook(name, *args, env):
    """Run a playbook as an AWX job (ansible-runner, a new private data directory next to the lab directory, ``env``
    as env/envvars, ``-e`` options as env/extravars); return (returncode, PlaybookRun, the end of the job output)."""
    jobs = os.path.join(os.path.dirname(env["GOUGH_LAB_DIR"]), "jobs")
    os.makedirs(jobs, mode=0o700, exist_ok=True)
    private_data_dir = tempfile.mkdtemp(prefix=os.path.splitext(name)[0] + "-", dir=jobs)
    run = run_playbook(playbook_path(name), private_data_dir, *args, envvars=env, collections=COLLECTIONS,
                       timeout=1800)
    return run.rc, run, run.output


def free_ports(count):
    """Ports nothing listens on now (the stack's preflight fails on a busy one, which is not this test's topic)."""
    sockets = [socket.socket() for _index in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def changed(run):
    """{host: number of changed tasks} of a job's recap."""
    return run.changed()


def task_results(run, task_name):
    """{host: result} of the task called ``task_name`` (the last one that ran)."""
    return run.task_results(task_name)


def table(site):
    """The rows of site.yml's final table, as dicts keyed by the header (from the job event of the task)."""
    lines = task_results(site, "Print the servers")["localhost"]["msg"]
    header = lines[0].split()
    return [dict(zip(header, line.split())) for line in lines[1:]]


def container(lab, row):
    """The Docker container of the node in ``row`` of site.yml's table (the MAAS emulator names it by system ID)."""
    return "gough-lab-e2e-%s-%s" % (lab["tag"], row["SYSTEM_ID"])


def controller(lab):
    """The stack's controller.yml (it must be readable by its owner only)."""
    path = os.path.join(str(lab["dir"]), "stack", "controller.yml")
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def get(url, connection, headers=None):
    """GET JSON from the stack, verifying TLS with Gough's CA."""
    context = ssl.create_default_context(cafile=connection["gough_ca_cert"])
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return json.loads(response.read())


def sink_path(lab):
    """The lab webhook sink's file: every notification Alertmanager sent, one JSON record per line."""
    return os.path.join(str(lab["dir"]), "stack", "sink", "notifications.jsonl")


def wait_for_alert(path, seen, alertname, status="firing", timeout=90, where=lambda alert: True):
    """The first alert ``alertname`` with ``status`` for which ``where(alert)`` holds, in a webhook payload the
    sink received after record ``seen`` (waits). A payload lists every active alert of its group, older ones too."""
    deadline = time.monotonic() + timeout
    while True:
        for record in read_notifications(path)[seen:]:
            body = record.get("body")
            if record.get("path") != "/webhook" or not isinstance(body, dict):
                continue
            for alert in body.get("alerts", []):
                if alert["labels"].get("alertname") == alertname and alert.get("status") == status and where(alert):
                    return alert
        assert time.monotonic() < deadline, "no %s %s in %s within %d s" % (status, alertname, path, timeout)
        time.sleep(2)
