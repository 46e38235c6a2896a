"""``make demo``'s flow end to end on 2 lab nodes: lab/playbooks/lab.yml, then playbooks/site.yml once for every test
file of tests/e2e (session fixtures), then both again (test_site.py's last test).

Every playbook runs as AWX runs a job: through ansible-runner with its own private data directory (the inventory
copied into ``inventory/``, variables in ``env/extravars``, environment in ``env/envvars``), and the tests assert on
its job events and artifacts (gough_lab.playbook_runner). Secrets reach the jobs as files only: the lab's inventory
(the MAAS plugin's configuration) and the stack's controller.yml, both 0600.

site.yml renders cloud-init, provisions through MAAS, checks each node over SSH, installs the Gough agent (scraped
by Prometheus over mTLS) and enrolls the node in Fleet through the osqueryd stand-in of the node image.

The lab is the stack role's lab profile on this machine's Docker engine (MAAS and Fleet emulators behind nginx,
Prometheus) with the MAAS emulator's Docker node backend, so every deployment boots a systemd container that runs
real cloud-init on the user data site.yml rendered. Checks on the deployed nodes run Ansible modules
there through pytest-ansible's ``ansible_adhoc`` fixture (``deployed_nodes``; ``make e2e`` enables the plugin, see
pytest.ini). The tests use their own lab directory, Compose project, node
prefix and ports, so a running ``make demo`` is left alone; the lab is taken down at the end. A test that changes
a node puts it back as it found it, so the rerun at the end still changes nothing.
"""

import json
import os
import subprocess
import uuid

import pytest

from e2e_helpers import NODES, container, free_ports, playbook, table
from gough_lab import images

# The stack role's variable of each lab image.
LAB_IMAGE_VARS = {"emulators": "stack_lab_emulators_image", "nginx": "stack_lab_nginx_image",
                  "prometheus": "stack_lab_prometheus_image", "node": "stack_lab_node_image",
                  "journal": "stack_lab_journal_image"}

LAST = "test_second_run_changes_nothing"


def pytest_collection_modifyitems(items):
    """The idempotent rerun goes last, after every test file that changes and restores nodes."""
    items.sort(key=lambda item: item.name == LAST)


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """The lab's variables and environment; takes the lab down afterwards."""
    tag = uuid.uuid4().hex[:6]
    ports = free_ports(4)
    lab_dir = tmp_path_factory.mktemp("lab")
    # The jobs' environment (env/envvars of each job's private data directory): no secret goes here.
    env = {"GOUGH_LAB_DIR": str(lab_dir)}
    extra = ["-e", "lab_dir=%s" % lab_dir, "-e", "lab_machine_count=%d" % NODES,
             "-e", "lab_machine_prefix=e2e-%s-" % tag, "-e", "lab_build_images=false",
             "-e", "lab_noncompliant_machine=%d" % NODES,
             "-e", "stack_project=gough-e2e-%s" % tag, "-e", "lab_node_prefix=gough-lab-e2e-%s-" % tag,
             "-e", "stack_port_maas=%d" % ports[0], "-e", "stack_port_fleet=%d" % ports[1],
             "-e", "stack_port_prometheus=%d" % ports[2], "-e", "stack_port_alertmanager=%d" % ports[3],
             # The lab network is shared with a running demo and other test runs: the nodes must reach this lab's
             # nginx, not another one that answers to the same alias with another CA's certificate.
             "-e", "stack_lab_fleet_alias=fleet.e2e-%s.lab" % tag, "-e", "stack_lab_maas_alias=maas.e2e-%s.lab" % tag,
             "-e", "stack_lab_journal_alias=journal.e2e-%s.lab" % tag]
    # This checkout's lab images by their content tags: other checkouts on the engine move the gough-lab/*:trixie
    # tags when they build, and a stack recreated from a moved tag changes on a rerun.
    extra += ["-e", json.dumps({variable: images.content_ref(name) for name, variable in LAB_IMAGE_VARS.items()})]
    # More variables for every playbook, as JSON ({"stack_lab_node_image": "gough-lab/node:trixie-<hash>", ...}).
    if os.environ.get("GOUGH_E2E_EXTRA_VARS"):
        extra += ["-e", os.environ["GOUGH_E2E_EXTRA_VARS"]]
    yield {"dir": lab_dir, "env": env, "extra": extra, "tag": tag, "maas_port": ports[0]}
    playbook("lab.yml", "-e", "lab_state=absent", *extra, env=env)
    leftover = subprocess.run(["docker", "ps", "-aq", "--filter", "label=gough.stack=gough-e2e-%s" % tag],
                              capture_output=True, text=True, check=False).stdout.split()
    if leftover:
        subprocess.run(["docker", "rm", "-f", "-v"] + leftover, capture_output=True, check=False)
    # lab_state=absent keeps the stack's volumes (the stack role never drops data); the test's lab is done with them.
    volumes = subprocess.run(["docker", "volume", "ls", "-q", "--filter", "label=gough.stack=gough-e2e-%s" % tag],
                             capture_output=True, text=True, check=False).stdout.split()
    if volumes:
        subprocess.run(["docker", "volume", "rm"] + volumes, capture_output=True, check=False)


@pytest.fixture(scope="session")
def first_run(lab):  # pylint: disable=redefined-outer-name
    """lab.yml and site.yml once, on a fresh lab directory."""
    rc, parsed, output = playbook("lab.yml", *lab["extra"], env=lab["env"])
    assert rc == 0, output
    inventory = os.path.join(str(lab["dir"]), "inventory")
    # maas_deploy prints a progress line every second (its default is 30), so the job output shows some.
    rc, site, output = playbook("site.yml", "-i", inventory, *lab["extra"], "-e", "provision_progress_interval=1",
                                env=lab["env"])
    assert rc == 0, output
    return {"lab": parsed, "site": site, "inventory": inventory}


@pytest.fixture
def deployed_nodes(ansible_adhoc, lab, first_run):  # pylint: disable=redefined-outer-name
    """pytest-ansible's host manager for the deployed nodes' containers (community.docker.docker connection, named
    by MAAS system ID): ``deployed_nodes[container].<module>(...)`` runs a module there and returns its results."""
    names = [container(lab, row) for row in table(first_run["site"])]
    return ansible_adhoc(inventory=",".join(names) + ",", connection="community.docker.docker", host_pattern="all")
