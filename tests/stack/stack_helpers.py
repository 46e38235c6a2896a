"""Helpers of the stack role's tests: the collection laid out under .build, ansible-playbook from the venv.

``make stack-test`` runs these after ``make lab-images`` (the lab profile needs gough-lab/emulators, nginx,
prometheus, journal and node). Everything the tests start carries the label gough-lab=1 and a per-run project
name, and is removed at the end (``docker compose down`` for the test's own project and its own network only).
"""

import os
import socket
import subprocess
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".build", "stack-test-collections")
PLAYBOOK = os.path.join(ROOT, "playbooks", "stack.yml")


from gough_lab import images  # noqa: E402  pylint: disable=wrong-import-position
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


class PlaybookRun:
    """The outcome of one ansible-playbook run: return code, output and the recap counters."""

    def __init__(self, result):
        self.rc = result.returncode
        self.output = result.stdout + result.stderr
        self.recap = {}
        for line in self.output.splitlines():
            if line.startswith("localhost") and "ok=" in line:
                self.recap = {k: int(v) for k, v in (p.split("=") for p in line.split(":", 1)[1].split())}

    def __repr__(self):
        return "PlaybookRun(rc=%d, recap=%r)" % (self.rc, self.recap)


def run_playbook(playbook, extra_vars, *options, timeout=900):
    """Run ``playbook`` on localhost with ``extra_vars`` (written to a vars file) and return a PlaybookRun."""
    link_collection(ROOT, COLLECTIONS)
    vars_file = os.path.join(extra_vars["stack_base_dir"] + ".vars.yml")
    os.makedirs(os.path.dirname(vars_file), exist_ok=True)
    with open(vars_file, "w", encoding="utf-8") as handle:
        yaml.safe_dump(extra_vars, handle)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_RETRY_FILES_ENABLED="0")
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@" + vars_file, playbook]
    command += list(options)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT,
                            check=False)
    return PlaybookRun(result)


def docker(*args, check=True, timeout=300):
    """Run the docker CLI; return its stdout."""
    result = subprocess.run(("docker",) + args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError("docker %s failed: %s" % (" ".join(args[:3]), result.stderr[-2000:]))
    return result.stdout
