"""Run one of the collection's playbooks against a MAAS emulator as an AWX job would (gough_lab.playbook_runner:
ansible-runner, the collection laid out by the unit tests' conftest), for the provisioning playbook tests."""

import os
import tempfile

from gough_lab.playbook_runner import ROOT, run_playbook as run_job

COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")


def run_playbook(name, lab, tmp_path, variables, *args):
    """playbooks/<name> with ``variables`` (env/extravars) against the emulator ``lab``, whose MAAS_URL and
    MAAS_API_KEY the job gets as the MAAS credential's environment; returns (PlaybookRun, the recap's changed count
    for localhost, or None)."""
    run = run_job(os.path.join("playbooks", name), tempfile.mkdtemp(prefix="job-", dir=tmp_path), *args, extravars=variables,
                  envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
                           "MAAS_URL": lab.url, "MAAS_API_KEY": lab.api_key},
                  collections=COLLECTIONS, timeout=300)
    return run, run.changed().get("localhost")
