"""Fixtures for the AWX configuration tests: an AWX emulator, a project checkout and an API reader."""

import os
import shutil
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
if HERE not in sys.path:
    sys.path.insert(0, HERE)
# Playbooks the job templates name. Those another part of Gough has not written yet get a one-play stand-in in
# the test project, so the emulator's project scan (AWX's "Playbook not found for project") still checks paths.
TEMPLATE_PLAYBOOKS = ("stack", "provision", "agent", "fleet", "decommission")

from gough_lab.awx.testing import (  # noqa: E402  pylint: disable=wrong-import-position
    git_repository, start_awx_emulator)
from awx_play import Client  # noqa: E402  pylint: disable=wrong-import-position,import-error


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    """The project's git repository: the repository's playbooks/ and inventory/ (AWX reads both from the project)
    committed on branch main (awx_config_scm_branch's default), since AWX's project update is a git checkout of
    the URL at scm_branch: a directory that is not a repository fails it."""
    root = tmp_path_factory.mktemp("gough-project")
    shutil.copytree(os.path.join(ROOT, "playbooks"), root / "playbooks")
    shutil.copytree(os.path.join(ROOT, "inventory"), root / "inventory")
    for name in TEMPLATE_PLAYBOOKS:
        path = root / "playbooks" / ("%s.yml" % name)
        if not path.exists():
            path.write_text("---\n- name: Stand-in for playbooks/%s.yml\n  hosts: all\n  tasks: []\n" % name)
    git_repository(root, branch="main", message="Gough's playbooks and inventory")
    return root


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    """An AWX emulator for one test module."""
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    """Admin reader of the module's emulator."""
    return Client(awx)
