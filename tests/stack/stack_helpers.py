"""Helpers of the stack role's tests: the collection laid out under .build, jobs through gough_lab.playbook_runner.

``make stack-test`` runs these after ``make lab-images`` (the lab profile needs gough-lab/emulators, nginx,
prometheus, journal and node). Everything the tests start carries the label gough-lab=1 and a per-run project
name, and is removed at the end (``docker compose down`` for the test's own project and its own network only).
"""

import os
import socket
import subprocess
import sys
import tempfile


ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".build", "stack-test-collections")
PLAYBOOK = os.path.join(ROOT, "playbooks", "stack.yml")


from gough_lab import images, playbook_runner  # noqa: E402  pylint: disable=wrong-import-position
from gough_lab.common.testing import link_collection  # noqa: E402  pylint: disable=wrong-import-position

# The role variable of each lab image.
IMAGE_VARS = {"emulators": "stack_lab_emulators_image", "nginx": "stack_lab_nginx_image",
              "prometheus": "stack_lab_prometheus_image", "node": "stack_lab_node_image",
              "journal": "stack_lab_journal_image"}


def pinned_lab_images():
    """{role variable: content tag} of the lab images these sources build to (``make lab-images``).

    Other checkouts on the same engine move the ``:trixie`` tags when they build; a stack that a test brings up
    with the content tags (``trixie-<hash>``, fixed per content) runs this checkout's images for its whole run.
    """
    return {variable: images.content_ref(name) for name, variable in IMAGE_VARS.items()}


def free_port():
    """A TCP port nothing listens on right now (the kernel's pick)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class StackRun:
    """One stack job's outcome: ``rc``, ``output`` (the whole job output) and ``recap`` (localhost's recap
    counters: ok, changed, failed, unreachable, skipped, rescued, ignored)."""

    RECAP_NAMES = {"failures": "failed"}

    def __init__(self, job):
        self.job = job
        self.rc = job.rc
        self.output = job.stdout
        counters = job.stats.get("localhost") or {}
        self.recap = {self.RECAP_NAMES.get(name, name): value for name, value in counters.items()}

    def __repr__(self):
        return "StackRun(rc=%r, recap=%r)" % (self.rc, self.recap)


def run_playbook(playbook, extra_vars, *options, timeout=900):
    """Run ``playbook`` on localhost with ``extra_vars`` through the tests' one runner (gough_lab.playbook_runner:
    ansible-runner, a private data directory next to ``stack_base_dir``); return a StackRun."""
    link_collection(ROOT, COLLECTIONS)
    base = extra_vars["stack_base_dir"]
    os.makedirs(os.path.dirname(base), exist_ok=True)
    private = tempfile.mkdtemp(prefix=os.path.basename(base) + ".job-", dir=os.path.dirname(base))
    inventory = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                                 "ansible_python_interpreter": sys.executable}}}}
    job = playbook_runner.run_playbook(playbook, private, *options, inventory=inventory, extravars=extra_vars,
                                       collections=COLLECTIONS, timeout=timeout)
    return StackRun(job)


def docker(*args, check=True, timeout=300):
    """Run the docker CLI; return its stdout."""
    result = subprocess.run(("docker",) + args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args[:3]), result.stderr[-2000:]))
    return result.stdout
