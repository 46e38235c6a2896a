"""The stack's alerting, lab profile, for real (the ``lab_stack`` fixture of conftest.py): Debian's Alertmanager and
blackbox exporter, gough-fleet-exporter and the webhook sink wired to Prometheus; a critical Fleet policy that fails
reaches every person receiver and launches the compliance gate in AWX (the sink stands for both)."""

import json
import os
import ssl
import stat
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import yaml

from gough_lab.fleet.testing import FakeOsqueryHost, Response
from gough_lab.sink.testing import read_notifications

from stack_helpers import docker

RULES = {"GoughNodeDown", "GoughAgentDown", "GoughAgentCollectorFailing", "GoughAgentTLSHandshakeFailures",
         "GoughAgentRefusingConnections",
         "GoughAgentSlowScrape", "GoughCloudInitFailed", "GoughOsqueryNotRunning", "GoughTimeNotSynchronized",
         "GoughRebootRequired", "GoughFilesystemAlmostFull", "GoughCertificateExpiring", "GoughStackServiceDown",
         "GoughMonitoringDown", "GoughAlertNotificationsFailing", "GoughFleetUnreachable", "GoughFleetHostOffline",
         "GoughCriticalPolicyFailing", "GoughBackupStale"}
PROBED = {"nginx", "maas", "fleet", "prometheus", "alertmanager"}


def _controller(stack):
    with open(os.path.join(stack["base"], "controller.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _request(url, stack, method="GET", body=None, headers=None):
    context = ssl.create_default_context(cafile=os.path.join(stack["base"], "ca", "ca.crt"))
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method,
                                     headers=dict({"Content-Type": "application/json"} if data else {},
                                                  **(headers or {})))
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _json(url, stack):
    status, body = _request(url, stack)
    assert status == 200, (url, status, body[:300])
    return json.loads(body)


def _query(stack, expr):
    """An instant PromQL query through nginx; the result vector."""
    url = _controller(stack)["gough_prometheus_url"] + "/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    return _json(url, stack)["data"]["result"]


def _wait(what, check, timeout, interval=2.0):
    """Call ``check`` until it returns something true, at most ``timeout`` seconds; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "timed out after %ds waiting for %s" % (timeout, what)
        time.sleep(interval)


def test_prometheus_sends_alerts_to_the_stacks_alertmanager(lab_stack):
    url = _controller(lab_stack)["gough_prometheus_url"] + "/api/v1/alertmanagers"
    active = _json(url, lab_stack)["data"]["activeAlertmanagers"]
    assert [item["url"] for item in active] == ["http://%s-alertmanager-1:9093/api/v2/alerts" % lab_stack["project"]]


def test_every_rule_is_loaded_with_severity_summary_and_the_labs_durations(lab_stack):
    """The 19 rules load; each has a severity and summary, description and runbook annotations; the lab's `for:`
    durations are the short ones (GoughAgentDown 30 s, production 2 m)."""
    groups = _json(_controller(lab_stack)["gough_prometheus_url"] + "/api/v1/rules", lab_stack)["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {rule["name"] for rule in rules} == RULES
    assert len(rules) == len(RULES)
    for rule in rules:
        assert rule["type"] == "alerting" and rule["health"] == "ok", rule
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), rule["name"]
        assert {"summary", "description", "runbook"} <= set(rule["annotations"]), rule["name"]
    durations = {rule["name"]: rule["duration"] for rule in rules}
    assert durations["GoughAgentDown"] == 30 and durations["GoughNodeDown"] == 15


def test_blackbox_probes_every_stack_service_through_nginx(lab_stack):
    """probe_success is 1 for nginx, MAAS, Fleet, Prometheus and Alertmanager, each probed through nginx with TLS
    verified against Gough's CA; the certificate they serve is far from expiring."""
    def all_up():
        results = _query(lab_stack, 'probe_success{job="gough-stack"}')
        found = {item["metric"]["service"]: item["value"][1] for item in results}
        return found if set(found) == PROBED and set(found.values()) == {"1"} else None
    found = _wait("every stack probe up", all_up, 120)
    assert set(found) == PROBED
    for item in _query(lab_stack, 'probe_ssl_earliest_cert_expiry{job="gough-stack"} - time()'):
        assert float(item["value"][1]) > 21 * 86400, item
    assert all(item["metric"]["instance"].startswith("https://%s-nginx-1:" % lab_stack["project"])
               for item in _query(lab_stack, 'probe_success{job="gough-stack"}'))


def test_alertmanager_answers_through_nginx_and_keeps_secrets_in_files(lab_stack):
    """gough_alertmanager_url serves Alertmanager's API v2 with a certificate from Gough's CA. Its configuration holds
    no receiver URL and no token: those are 0600 files of Alertmanager's uid, and no container's definition shows
    the AWX token."""
    controller = _controller(lab_stack)
    assert controller["gough_alertmanager_url"] == "https://127.0.0.1:%d" % lab_stack["vars"]["stack_port_alertmanager"]
    status = _json(controller["gough_alertmanager_url"] + "/api/v2/status", lab_stack)
    config = yaml.safe_load(status["config"]["original"])
    names = [receiver["name"] for receiver in config["receivers"]]
    assert names == ["gough-critical", "gough-warning", "gough-info", "gough-awx"]
    assert config["route"]["group_by"] == ["alertname", "instance"]
    token = lab_stack["secrets_first"]["lab_awx_token"]
    sink = "%s-sink-1:9099" % lab_stack["project"]
    assert token not in status["config"]["original"] and sink + "/webhook" not in status["config"]["original"]
    folder = os.path.join(lab_stack["base"], "alertmanager", "secrets")
    info = os.stat(folder)
    assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == 990
    assert sorted(os.listdir(folder)) == ["awx_token", "chat_url_0", "webhook_url_0"]
    for name in os.listdir(folder):
        info = os.stat(os.path.join(folder, name))
        assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 990, name
    with open(os.path.join(folder, "awx_token"), encoding="utf-8") as handle:
        assert handle.read() == token
    containers = docker("ps", "-q", "--filter", "label=com.docker.compose.project=%s" % lab_stack["project"]).split()
    assert token not in docker("inspect", *containers)


class _FleetThroughNginx:
    """What FakeOsqueryHost needs of a Fleet: the stack's Fleet through nginx, TLS verified with Gough's CA."""

    def __init__(self, stack):
        self.stack = stack
        self.controller = _controller(stack)
        self.enroll_secret = self.controller["gough_fleet_enroll_secret"]

    def api(self, method, path, body=None):
        status, data = _request(self.controller["gough_fleet_url"] + "/api/v1/fleet/" + path, self.stack, method, body,
                                {"Authorization": "Bearer " + self.controller["gough_fleet_api_token"]})
        return Response(status, {}, data)

    def osquery(self, endpoint, body):
        status, data = _request(self.controller["gough_fleet_url"] + "/api/osquery/" + endpoint, self.stack, "POST",
                                body)
        return Response(status, {}, data)


def test_a_failing_critical_policy_reaches_people_and_launches_awx(lab_stack):
    """Fleet reports a critical policy failing on a host -> gough-fleet-exporter -> GoughCriticalPolicyFailing ->
    the real Alertmanager -> the sink gets the webhook, the chat message, the mail and the AWX launch request
    (POST /api/v2/job_templates/1/launch/ with a Bearer token the sink shows redacted)."""
    fleet = _FleetThroughNginx(lab_stack)
    created = fleet.api("POST", "global/policies", {"name": "Disk encrypted", "critical": True,
                                                    "query": "SELECT 1 FROM gough_disk_encrypted;"})
    assert created.status == 200, created
    host = FakeOsqueryHost(fleet, "stacktest-policy-01", answers={"gough_disk_encrypted": []})
    assert host.checkin()
    started = time.monotonic()
    _wait("gough_fleet_host_policy_failing in Prometheus",
          lambda: _query(lab_stack, 'gough_fleet_host_policy_failing{hostname="stacktest-policy-01"}'), 90)
    sink_file = os.path.join(lab_stack["base"], "sink", "notifications.jsonl")

    def delivered():
        found = {}
        for record in read_notifications(sink_file):
            body = record.get("body") if isinstance(record.get("body"), dict) else {}
            names = {alert["labels"].get("alertname") for alert in body.get("alerts", [])}
            text = json.dumps(body) + record.get("body_text", "") + record.get("headers", {}).get("Subject", "")
            if "GoughCriticalPolicyFailing" in names or "GoughCriticalPolicyFailing" in text:
                found.setdefault(record["path"], record)
        return found if {"/webhook", "/chat", "smtp", "/awx/api/v2/job_templates/1/launch/"} <= set(found) else None
    found = _wait("every receiver to get GoughCriticalPolicyFailing", delivered, 180)
    print("critical policy failing delivered %.0f s after the check-in" % (time.monotonic() - started))
    awx = found["/awx/api/v2/job_templates/1/launch/"]
    assert awx["method"] == "POST" and awx["headers"]["Authorization"] == "Bearer <redacted>"
    alert = awx["body"]["alerts"][0]
    assert awx["body"]["status"] == "firing" and awx["body"]["receiver"] == "gough-awx"
    assert alert["labels"]["hostname"] == alert["labels"]["instance"] == "stacktest-policy-01"
    assert alert["labels"]["policy"] == "Disk encrypted" and alert["labels"]["severity"] == "critical"
    assert found["/webhook"]["body"]["receiver"] == "gough-critical"
    assert found["/chat"]["body"]["attachments"][0]["title"] == \
        "[FIRING:1] GoughCriticalPolicyFailing on stacktest-policy-01"
    mail = found["smtp"]
    assert mail["smtp"]["rcpt_to"] == ["ops@gough.lab"]
    assert mail["headers"]["Subject"] == "[Gough FIRING:1] GoughCriticalPolicyFailing on stacktest-policy-01"
    assert "What to do: Open the host in Fleet" in mail["body_text"]
    with open(sink_file, encoding="utf-8") as handle:
        assert lab_stack["secrets_first"]["lab_awx_token"] not in handle.read()


def test_silences_with_amtool(lab_stack):
    """The silencing docs/alerts.md describes: amtool in the Alertmanager container adds, lists and expires one."""
    container = "%s-alertmanager-1" % lab_stack["project"]
    amtool = ["docker", "exec", container, "amtool", "--alertmanager.url=http://127.0.0.1:9093"]
    added = subprocess.run(amtool + ["silence", "add", "alertname=GoughRebootRequired", "instance=node-01",
                                     "--duration=2h", "--author=stack-test", "--comment=planned reboot window"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.strip()
    listed = subprocess.run(amtool + ["silence", "query", "-o", "json", "alertname=GoughRebootRequired"],
                            capture_output=True, text=True, timeout=60, check=False)
    silences = json.loads(listed.stdout)
    assert [item["id"] for item in silences] == [silence_id]
    assert silences[0]["comment"] == "planned reboot window" and silences[0]["status"]["state"] == "active"
    # The same silence through nginx's site (Alertmanager's API v2), as the UI and the compliance gate see it.
    status, body = _request(_controller(lab_stack)["gough_alertmanager_url"] + "/api/v2/silence/" + silence_id,
                            lab_stack)
    assert status == 200 and json.loads(body)["createdBy"] == "stack-test"
    expired = subprocess.run(amtool + ["silence", "expire", silence_id], capture_output=True, text=True, timeout=60,
                             check=False)
    assert expired.returncode == 0, expired.stderr
    listed = subprocess.run(amtool + ["silence", "query", "-o", "json"], capture_output=True, text=True, timeout=60,
                            check=False)
    assert json.loads(listed.stdout) == []
