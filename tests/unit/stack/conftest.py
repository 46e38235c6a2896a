"""Fixtures for the stack role's unit tests (helpers in alerts_helpers.py)."""

import importlib.util

import pytest

from alerts_helpers import EXPORTER


@pytest.fixture(scope="session")
def exporter_module():
    """gough_fleet_exporter.py (shipped by the stack role, not a package) imported from its file."""
    spec = importlib.util.spec_from_file_location("gough_fleet_exporter", EXPORTER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
