"""pytest set-up shared by Gough's unit and emulator tests.

Collection code imports itself as ``ansible_collections.gough.gough``; outside ansible-test that package only
exists if something lays it out. We link the working tree into .build/pytest-collections so tests run
against the files being edited.
"""

import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
if COLLECTIONS not in sys.path:
    sys.path.insert(0, COLLECTIONS)


@pytest.fixture
def fleet(tmp_path):
    """A Fleet emulator with a fresh state directory (a module that needs other settings defines its own)."""
    from gough_lab.fleet.testing import start_fleet_emulator  # pylint: disable=import-outside-toplevel
    emulator = start_fleet_emulator(tmp_path / "fleet")
    try:
        yield emulator
    finally:
        emulator.stop()
