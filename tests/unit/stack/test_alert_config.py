"""The stack role's alerting files, rendered by its render entry: promtool and amtool accept them (``make
alerts-check``), the rules behave as docs/alerts.md says (``promtool test rules`` on series), and bad receivers fail
before anything is written."""

import os
import subprocess
import sys

import pytest
import yaml

from gough_lab.common.testing import lab_missing

from alerts_helpers import ROOT, render_playbook, run_playbook

sys.path.insert(0, os.path.join(ROOT, "tools"))
import alerts_check  # noqa: E402  pylint: disable=wrong-import-position,import-error


def _engine_and_image():
    """The lab's Prometheus image (promtool, amtool). Without an engine or the image the test is skipped, except under
    ``make test`` (it builds the images first; GOUGH_TEST_REQUIRE_LAB), where that is a failure."""
    try:
        image = alerts_check.image()
        missing = subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                                 check=False).returncode != 0
    except Exception as exc:  # pylint: disable=broad-except
        image, missing = "the lab's prometheus image (%s)" % exc, True
    if missing:
        lab_missing("%s is missing (make lab-images): promtool and amtool come from it" % image)
    return image


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Both profiles rendered once by the role's render entry: production with every receiver and with none."""
    found = {}
    for profile, variables in alerts_check.PROFILES:
        base = str(tmp_path_factory.mktemp(profile) / "stack")
        rc, output = alerts_check.render(variables, base)
        assert rc == 0, output[-4000:]
        found[profile] = base
    return found


@pytest.mark.parametrize("profile", [name for name, _variables in alerts_check.PROFILES])
def test_rendered_rules_prometheus_and_alertmanager_configuration_pass_promtool_and_amtool(rendered, profile):
    """What ``make alerts-check`` runs: promtool check rules (lint fatal), promtool check config, amtool check-config."""
    _engine_and_image()
    results = alerts_check.check(rendered[profile])
    for what, code, output in results:
        assert code == 0, "%s: %s" % (what, output)
    assert "SUCCESS: 19 rules found" in results[0][2]
    # gough-awx only where AWX is configured; without receivers the three severity receivers send nothing.
    assert ("3 receivers" if profile == "production-defaults" else "4 receivers") in results[2][2]


def test_without_receivers_alerts_are_routed_but_sent_nowhere(rendered):
    """The production defaults: the severity routes exist and their receivers have no configuration (Alertmanager
    keeps the alerts for its UI and API); no AWX route, no SMTP settings, no secret files."""
    base = rendered["production-defaults"]
    with open(os.path.join(base, "alertmanager", "alertmanager.yml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    assert config["receivers"] == [{"name": "gough-critical"}, {"name": "gough-warning"}, {"name": "gough-info"}]
    routes = [route["receiver"] for route in config["route"]["routes"]]
    assert routes == ["gough-critical", "gough-warning", "gough-info"]
    assert "smtp_smarthost" not in config["global"]
    assert os.listdir(os.path.join(base, "alertmanager", "secrets")) == []


def _rules(base):
    with open(os.path.join(base, "prometheus", "rules", "gough.yml"), encoding="utf-8") as handle:
        groups = yaml.safe_load(handle)["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_every_rule_has_a_severity_and_what_a_person_needs(rendered):
    """severity critical, warning or info; summary, description and runbook; production durations by default and
    the lab's short ones (GoughAgentDown 2m / 30s)."""
    production, lab = _rules(rendered["production"]), _rules(rendered["lab"])
    assert len(production) == 19 and set(production) == set(lab)
    for name, rule in production.items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert {"summary", "description", "runbook", "runbook_url"} <= set(rule["annotations"]), name
        assert rule["annotations"]["runbook_url"] == "https://docs.example.com/gough/alerts.html#" + name.lower()
    assert (production["GoughAgentDown"]["for"], lab["GoughAgentDown"]["for"]) == ("2m", "30s")
    assert "runbook_url" not in lab["GoughAgentDown"]["annotations"]


def _annotations(rule, **values):
    """A rule's annotations with the Prometheus template fields this test needs filled in."""
    found = {}
    for key, text in rule["annotations"].items():
        for name, value in values.items():
            text = text.replace("{{ $labels.%s }}" % name, value)
        found[key] = text
    return found


def test_rules_fire_on_the_series_they_watch(rendered, tmp_path):
    """promtool test rules on the production rules: which alerts fire (and which do not) for given series."""
    image = _engine_and_image()
    rules = _rules(rendered["production"])
    agent = {"job": "gough-agent", "instance": "node-01"}
    tests = {"rule_files": ["gough.yml"], "evaluation_interval": "1m", "tests": [
        {"interval": "1m",
         "input_series": [
             # node-01: the agent is down, the server answers on SSH -> GoughAgentDown, not GoughNodeDown.
             {"series": 'up{job="gough-agent", instance="node-01"}', "values": "0x10"},
             {"series": 'probe_success{job="gough-node", instance="node-01"}', "values": "1x10"},
             # node-02: nothing answers -> GoughNodeDown (after 1m) as well as GoughAgentDown.
             {"series": 'up{job="gough-agent", instance="node-02"}', "values": "0x10"},
             {"series": 'probe_success{job="gough-node", instance="node-02"}', "values": "0x10"},
             # Fleet: web-01 fails a critical policy; db-01 fails a normal one (no alert).
             {"series": 'gough_fleet_host_policy_failing{job="gough-fleet-exporter", instance="exp:9556", '
                        'hostname="web-01", host_id="3", team="", policy="Disk encrypted", policy_id="7", '
                        'critical="true"}', "values": "1x10"},
             {"series": 'gough_fleet_host_policy_failing{job="gough-fleet-exporter", instance="exp:9556", '
                        'hostname="db-01", host_id="4", team="", policy="sshd", policy_id="8", '
                        'critical="false"}', "values": "1x10"},
             # Filesystems at 5 % free: the read-write one alerts, the read-only one does not.
             {"series": 'node_filesystem_avail_bytes{job="gough-agent", instance="node-03", device="/dev/vda1", '
                        'fstype="ext4", mountpoint="/"}', "values": "5x30"},
             {"series": 'node_filesystem_size_bytes{job="gough-agent", instance="node-03", device="/dev/vda1", '
                        'fstype="ext4", mountpoint="/"}', "values": "100x30"},
             {"series": 'node_filesystem_readonly{job="gough-agent", instance="node-03", device="/dev/vda1", '
                        'fstype="ext4", mountpoint="/"}', "values": "0x30"},
             {"series": 'node_filesystem_avail_bytes{job="gough-agent", instance="node-03", device="/dev/sr0", '
                        'fstype="udf", mountpoint="/media/cdrom"}', "values": "5x30"},
             {"series": 'node_filesystem_size_bytes{job="gough-agent", instance="node-03", device="/dev/sr0", '
                        'fstype="udf", mountpoint="/media/cdrom"}', "values": "100x30"},
             {"series": 'node_filesystem_readonly{job="gough-agent", instance="node-03", device="/dev/sr0", '
                        'fstype="udf", mountpoint="/media/cdrom"}', "values": "1x30"},
             # osquery stopped: node-04 is enrolled (alert), node-05 never was (no alert), node-06 cannot tell (alert).
             {"series": 'gough_osquery_running{job="gough-agent", instance="node-04"}', "values": "0x30"},
             {"series": 'gough_osquery_enrolled{job="gough-agent", instance="node-04"}', "values": "1x30"},
             {"series": 'gough_osquery_running{job="gough-agent", instance="node-05"}', "values": "0x30"},
             {"series": 'gough_osquery_enrolled{job="gough-agent", instance="node-05"}', "values": "0x30"},
             {"series": 'gough_osquery_running{job="gough-agent", instance="node-06"}', "values": "0x30"},
             # Certificates: the agent's server certificate ends on day 10 (alert), its CA on day 300 (none).
             {"series": 'gough_tls_cert_not_after_seconds{job="gough-agent", instance="node-07", cert="server"}',
              "values": "864000x90"},
             {"series": 'gough_tls_cert_not_after_seconds{job="gough-agent", instance="node-07", cert="client_ca"}',
              "values": "25920000x90"},
             # The stack host's metrics files (renew.yml, backup.yml): nginx's certificate ends on day 5 (alert);
             # the last backup was at hour 0 and the evaluation is at 40h, past the 36h limit (alert).
             {"series": 'gough_tls_cert_not_after_seconds{job="gough-stack-files", instance="stack:9101", '
                        'file="certificates.prom", cert="nginx", path="/opt/gough/tls/nginx.crt"}',
              "values": "432000x90"},
             {"series": 'gough_backup_last_success_timestamp_seconds{job="gough-stack-files", instance="stack:9101", '
                        'file="backup.prom"}', "values": "0x2500"},
             # node-08 refuses 3 connections a minute and evicts 1 (alert); node-09 refuses 1 every 2 minutes (none).
             {"series": 'gough_agent_connections_refused_total{job="gough-agent", instance="node-08", '
                        'reason="per_source_limit"}', "values": "0+3x30"},
             {"series": 'gough_agent_connections_evicted_total{job="gough-agent", instance="node-08", '
                        'reason="connection_limit"}', "values": "0+1x30"},
             {"series": 'gough_agent_connections_refused_total{job="gough-agent", instance="node-09", '
                        'reason="per_source_limit"}', "values": "0+0.5x30"},
             {"series": 'gough_agent_connections_evicted_total{job="gough-agent", instance="node-09", '
                        'reason="connection_limit"}', "values": "0x30"},
         ],
         "alert_rule_test": [
             {"eval_time": "3m", "alertname": "GoughAgentDown", "exp_alerts": [
                 {"exp_labels": dict(agent, severity="critical"),
                  "exp_annotations": _annotations(rules["GoughAgentDown"], instance="node-01")},
                 {"exp_labels": dict(agent, instance="node-02", severity="critical"),
                  "exp_annotations": _annotations(rules["GoughAgentDown"], instance="node-02")}]},
             {"eval_time": "3m", "alertname": "GoughNodeDown", "exp_alerts": [
                 {"exp_labels": {"job": "gough-node", "instance": "node-02", "severity": "critical"},
                  "exp_annotations": _annotations(rules["GoughNodeDown"], instance="node-02")}]},
             {"eval_time": "1m", "alertname": "GoughAgentDown", "exp_alerts": []},  # for: 2m not yet over
             {"eval_time": "6m", "alertname": "GoughCriticalPolicyFailing", "exp_alerts": [
                 {"exp_labels": {"job": "gough-fleet-exporter", "instance": "web-01", "hostname": "web-01",
                                 "host_id": "3", "policy": "Disk encrypted", "policy_id": "7", "critical": "true",
                                 "severity": "critical"},
                  "exp_annotations": _annotations(rules["GoughCriticalPolicyFailing"], hostname="web-01",
                                                  policy="Disk encrypted", policy_id="7")}]},
             {"eval_time": "20m", "alertname": "GoughFilesystemAlmostFull", "exp_alerts": [
                 {"exp_labels": {"job": "gough-agent", "instance": "node-03", "device": "/dev/vda1",
                                 "fstype": "ext4", "mountpoint": "/", "severity": "warning"},
                  "exp_annotations": dict(_annotations(rules["GoughFilesystemAlmostFull"], mountpoint="/",
                                                       instance="node-03", device="/dev/vda1"),
                                          summary="/ on node-03 has 5.0% free")}]},
             {"eval_time": "15m", "alertname": "GoughOsqueryNotRunning", "exp_alerts": [
                 {"exp_labels": {"job": "gough-agent", "instance": name, "severity": "warning"},
                  "exp_annotations": _annotations(rules["GoughOsqueryNotRunning"], instance=name)}
                 for name in ("node-04", "node-06")]},
             {"eval_time": "80m", "alertname": "GoughCertificateExpiring", "exp_alerts": [
                 {"exp_labels": {"job": "gough-agent", "instance": "node-07", "cert": "server",
                                 "severity": "warning"},
                  "exp_annotations": dict(rules["GoughCertificateExpiring"]["annotations"],
                                          summary="the server certificate of gough-agent on node-07 expires in 10 "
                                                  "days",
                                          description="gough-agent's server certificate (server: its own; "
                                                      "client_ca: the CA it trusts for scrapers) expires in less "
                                                      "than 21 days; after that Prometheus cannot scrape it.")},
                 {"exp_labels": {"job": "gough-stack-files", "instance": "stack:9101", "file": "certificates.prom",
                                 "cert": "nginx", "path": "/opt/gough/tls/nginx.crt", "severity": "warning"},
                  "exp_annotations": dict(rules["GoughCertificateExpiring"]["annotations"],
                                          summary="the stack's nginx certificate expires in 5 days",
                                          description="/opt/gough/tls/nginx.crt on the stack host expires in less "
                                                      "than 21 days.")}]},
             {"eval_time": "20m", "alertname": "GoughAgentRefusingConnections", "exp_alerts": [
                 {"exp_labels": {"job": "gough-agent", "instance": "node-08", "severity": "warning"},
                  "exp_annotations": dict(_annotations(rules["GoughAgentRefusingConnections"], instance="node-08"),
                                          description=rules["GoughAgentRefusingConnections"]["annotations"]
                                          ["description"].replace("{{ $labels.instance }}", "node-08")
                                          .replace("{{ $value | humanize }}", "40"))}]},
             {"eval_time": "4m", "alertname": "GoughAgentRefusingConnections", "exp_alerts": []},
             {"eval_time": "30h", "alertname": "GoughBackupStale", "exp_alerts": []},
             {"eval_time": "40h", "alertname": "GoughBackupStale", "exp_alerts": [
                 {"exp_labels": {"job": "gough-stack-files", "instance": "stack:9101", "file": "backup.prom",
                                 "severity": "warning"},
                  "exp_annotations": dict(rules["GoughBackupStale"]["annotations"],
                                          summary="the last backup of the Gough stack is 40 hours old")}]},
         ]},
    ]}
    with open(tmp_path / "gough.test.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump(tests, handle, sort_keys=False)
    rules_dir = os.path.join(rendered["production"], "prometheus", "rules")
    result = subprocess.run(
        ["docker", "run", "--rm", "--label", "gough-lab=1", "--network", "none", "--entrypoint", "promtool",
         "-v", "%s/gough.yml:/t/gough.yml:ro" % rules_dir, "-v", "%s/gough.test.yml:/t/gough.test.yml:ro" % tmp_path,
         image, "test", "rules", "/t/gough.test.yml"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


BAD_RECEIVERS = {
    "stack_profile": "production", "stack_public_names": ["gough.example.com"],
    "stack_alert_webhook_urls": ["https://ok.example.com/hook", "htp://hooks.example.com/services/T0/B0/key-3f9a",
                                 "https:///no-host/key-3f9a", "hooks.slack.example/services/key-3f9a"],
    "stack_alert_chat_webhook_urls": "https://chat.example.com/hooks/x",
    "stack_alert_email_to": ["ops@example.com", "ops@", "not an address"],
    "stack_alert_email_from": "gough",
    "stack_alert_smtp_smarthost": "smtp.example.com",
    "stack_alert_smtp_auth_username": "gough",
    "stack_alert_awx_url": "awx.example.com", "stack_alert_awx_job_template_id": "gate",
    "stack_alert_email_severities": ["critical", "urgent"],
    "stack_alert_group_wait": "soon",
    "stack_alert_repeat_intervals": {"critical": "4h", "warning": "12h"},
    "stack_alert_for": {"GoughAgentDown": "2 minutes", "GoughNoSuchAlert": "1m"},
    "stack_alert_cert_expiry_days": 0,
    "stack_alert_backup_max_age_hours": "a day",
}
EXPECTED = [
    'stack_alert_webhook_urls[1]: "htp://hooks.example.com..." is not an http:// or https:// URL with a host',
    'stack_alert_webhook_urls[2]: "https://..." is not an http:// or https:// URL with a host',
    'stack_alert_webhook_urls[3]: "hooks.slack.example..." is not an http:// or https:// URL with a host',
    "stack_alert_chat_webhook_urls must be a list of URLs",
    'stack_alert_email_to[1]: "ops@" is not an email address (name@example.com)',
    'stack_alert_email_to[2]: "not an address" is not an email address (name@example.com)',
    'stack_alert_email_from: "gough" is not an email address (needed with stack_alert_email_to)',
    'stack_alert_smtp_smarthost: "smtp.example.com" is not HOST:PORT (needed with stack_alert_email_to)',
    "stack_alert_smtp_auth_password is empty while stack_alert_smtp_auth_username is set",
    'stack_alert_awx_url: "awx.example.com" is not an http:// or https:// URL with a host',
    'stack_alert_awx_job_template_id: "gate" is not the id of a job template (a positive number)',
    "stack_alert_awx_token is empty while stack_alert_awx_url is set",
    'stack_alert_email_severities: ["critical", "urgent"] must be a list of critical, warning, info',
    'stack_alert_group_wait: "soon" is not a duration like 30s, 5m or 1h30m',
    "stack_alert_repeat_intervals must map each of critical, warning, info to a duration",
    'stack_alert_for.GoughAgentDown: "2 minutes" is not a duration like 30s, 5m or 0s',
    "stack_alert_for: unknown alert GoughNoSuchAlert (known: GoughAgentCollectorFailing",
    'stack_alert_cert_expiry_days: "0" must be a positive number of days',
    'stack_alert_backup_max_age_hours: "a day" must be a positive number of hours',
]


def test_bad_receivers_fail_before_anything_is_written(tmp_path):
    """Every malformed URL and email address (and bad route, duration and AWX input) is named in one error, with
    its variable and index; webhook URLs are shown without the path that carries their key; the render writes
    nothing (the preflight runs first, in render and in every real run)."""
    base = tmp_path / "stack"
    result = run_playbook(render_playbook(str(tmp_path / "render.yml")), dict(BAD_RECEIVERS, stack_base_dir=str(base)),
                          str(tmp_path / "job"))
    output = result.stdout
    assert result.rc != 0
    for message in EXPECTED:
        assert message in output, message
    assert "key-3f9a" not in output
    assert result.artifacts_holding(["key-3f9a"]) == []  # nor in the job events
    assert not base.exists()


GOOD_RECEIVERS = {
    "stack_profile": "production", "stack_public_names": ["gough.example.com"],
    "stack_alert_webhook_urls": ["http://10.0.0.5:8080/alerts", "https://user:pass@hooks.example.com/x?y=1",
                                 "https://[2001:db8::5]:8443/hook", "http://alert-relay/"],
    "stack_alert_chat_webhook_urls": ["https://mattermost.example.com/hooks/xyz"],
    "stack_alert_email_to": ["first.last+gough@example.co.uk", "ops@mail.example.com"],
    "stack_alert_email_from": "gough@example.com", "stack_alert_smtp_smarthost": "[2001:db8::25]:25",
    "stack_alert_awx_url": "https://awx.example.com/awx/", "stack_alert_awx_token": "t",
    "stack_alert_awx_job_template_id": 3, "stack_alert_for": {"GoughAgentDown": "1h30m", "GoughCloudInitFailed": "0s"},
}


def test_valid_receivers_of_every_shape_pass(tmp_path):
    """IP addresses, ports, IPv6, user info and query strings in URLs; plus-addresses and sub-domains in mail."""
    with open(tmp_path / "check.yml", "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Check", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Check the alerting input", "ansible.builtin.include_role": {
                "name": "gough.gough.stack", "tasks_from": "preflight_alerts"}}]}], handle)
    result = run_playbook(str(tmp_path / "check.yml"), dict(GOOD_RECEIVERS, stack_base_dir=str(tmp_path / "s")),
                          str(tmp_path / "job"))
    assert result.rc == 0, result.output
