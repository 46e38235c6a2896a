"""``make alerts-check``: render the stack's alerting files for both profiles and check them with the real tools.

The stack role's render entry (``tasks_from: render``) writes each profile's files into a temporary directory:
production with every receiver configured (webhook, chat, email with SMTP authentication, AWX), production with
the defaults (no receiver) and the lab; then promtool (``check rules``,
``check config``) and amtool (``check-config``) from the lab's Prometheus image (Debian's packages, built by
``make lab-images``) check what was rendered. Exit status 0 only when every check passes.

Usage: python tools/alerts_check.py [--keep]
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "lab"))
from gough_lab import images  # noqa: E402  pylint: disable=wrong-import-position
from gough_lab.common.testing import link_collection  # noqa: E402  pylint: disable=wrong-import-position
COLLECTIONS = os.path.join(ROOT, ".build", "alerts-check-collections")
BIN = os.path.dirname(sys.executable)
# Every receiver on, so amtool sees each kind of configuration the role can write.
PRODUCTION_VARS = {
    "stack_profile": "production", "stack_public_names": ["gough.example.com"],
    "stack_maas_advertise_address": "192.0.2.10",
    "stack_alert_webhook_urls": ["https://hooks.example.com/gough", "http://10.0.0.5:8080/alerts"],
    "stack_alert_chat_webhook_urls": ["https://chat.example.com/hooks/abc123"],
    "stack_alert_chat_channel": "#ops",
    "stack_alert_email_to": ["ops@example.com", "oncall@example.com"],
    "stack_alert_email_from": "gough@example.com",
    "stack_alert_smtp_smarthost": "smtp.example.com:587",
    "stack_alert_smtp_auth_username": "gough",
    "stack_alert_smtp_auth_password": "smtp-password-for-the-check",
    "stack_alert_awx_url": "https://awx.example.com",
    "stack_alert_awx_token": "awx-token-for-the-check",
    "stack_alert_awx_job_template_id": 12,
    "stack_alert_runbook_base_url": "https://docs.example.com/gough/alerts.html",
}
# What a production stack gets before anyone sets a receiver: routes to receivers without configurations.
DEFAULT_VARS = {"stack_profile": "production", "stack_public_names": ["gough.example.com"],
                "stack_maas_advertise_address": "192.0.2.10"}
LAB_VARS = {"stack_profile": "lab", "stack_project": "gough-alerts-check"}
PROFILES = (("production", PRODUCTION_VARS), ("production-defaults", DEFAULT_VARS), ("lab", LAB_VARS))
PLAYBOOK = [{"name": "Render the stack", "hosts": "localhost", "gather_facts": False, "tasks": [
    {"name": "Render", "ansible.builtin.include_role": {"name": "gough.gough.stack", "tasks_from": "render"}}]}]


def render(profile_vars, base):
    """Run the role's render entry with ``profile_vars`` into ``base``; returns (returncode, output)."""
    work = os.path.dirname(base)
    playbook = os.path.join(work, "render.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump(PLAYBOOK, handle)
    vars_file = os.path.join(work, "vars.yml")
    with open(vars_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(dict(profile_vars, stack_base_dir=base), handle)
    os.chmod(vars_file, 0o600)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=link_collection(ROOT, COLLECTIONS), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    result = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                             "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@" + vars_file, playbook],
                            capture_output=True, text=True, timeout=600, env=env, cwd=ROOT, check=False)
    return result.returncode, result.stdout + result.stderr


def image():
    """The lab's Prometheus image built from these sources (its content tag), or GOUGH_LAB_PROMETHEUS_IMAGE."""
    return os.environ.get("GOUGH_LAB_PROMETHEUS_IMAGE") or images.content_ref("prometheus")


def _tool(base, entrypoint, *args):
    # Root in the container: the secrets directories belong to the services' uids (0700).
    command = ["docker", "run", "--rm", "--label", "gough-lab=1", "--user", "0", "--network", "none",
               "--entrypoint", entrypoint, "-v", "%s/prometheus:/etc/prometheus:ro" % base,
               "-v", "%s/alertmanager:/etc/alertmanager:ro" % base, image()] + list(args)
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    return result.returncode, (result.stdout + result.stderr).strip()


def check(base):
    """promtool and amtool on the files under ``base``; returns [(what, returncode, output)]."""
    tls = os.path.join(base, "prometheus", "tls")
    os.makedirs(tls, exist_ok=True)
    for name in ("ca.crt", "prometheus-client.crt", "prometheus-client.key"):  # render issues no certificates
        if not os.path.exists(os.path.join(tls, name)):
            open(os.path.join(tls, name), "a", encoding="utf-8").close()
    return [
        ("promtool check rules",) + _tool(base, "promtool", "check", "rules", "--lint-fatal",
                                                "/etc/prometheus/rules/gough.yml"),
        ("promtool check config",) + _tool(base, "promtool", "check", "config", "--lint-fatal",
                                                 "/etc/prometheus/prometheus.yml"),
        ("amtool check-config",) + _tool(base, "amtool", "check-config", "/etc/alertmanager/alertmanager.yml"),
    ]


def main(argv=None):
    """Render both profiles and check them; print each result."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--keep", action="store_true", help="keep the rendered files and print where")
    args = parser.parse_args(argv)
    if subprocess.run(["docker", "image", "inspect", image()], capture_output=True, check=False).returncode:
        print("alerts-check: %s is missing (make lab-images)" % image(), file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="gough-alerts-check-")
    failed = False
    try:
        for profile, variables in PROFILES:
            base = os.path.join(work, profile, "stack")
            os.makedirs(os.path.dirname(base))
            rc, output = render(variables, base)
            if rc:
                print("alerts-check: %s: rendering failed:\n%s" % (profile, output[-4000:]), file=sys.stderr)
                failed = True
                continue
            for what, code, text in check(base):
                print("alerts-check: %s: %s: %s" % (profile, what, "ok" if code == 0 else "FAILED"))
                print("  " + text.replace("\n", "\n  "))
                failed = failed or code != 0
    finally:
        if args.keep:
            print("alerts-check: rendered files kept in %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
