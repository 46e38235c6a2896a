"""Run one of the collection's playbooks against a MAAS emulator the way a user does (ansible-playbook with the
collection laid out by the unit tests' conftest), for the provisioning playbook tests."""

import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
BIN = os.path.dirname(sys.executable)


def run_playbook(name, lab, tmp_path, variables, *args):
    """ansible-playbook playbooks/<name> with ``variables`` (a vars file) against the emulator ``lab`` (MAAS_URL and
    MAAS_API_KEY); returns (CompletedProcess, the recap's changed count for localhost, or None)."""
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               MAAS_URL=lab.url, MAAS_API_KEY=lab.api_key)
    process = subprocess.run([os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", name),
                              "-e", "@%s" % vars_file] + list(args),
                             env=env, capture_output=True, text=True, check=False, timeout=300)
    changed = None
    for line in process.stdout.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            changed = int(line.split("changed=")[1].split()[0])
    return process, changed
