"""Helpers of the stack role's alerting unit tests: paths, a Prometheus text-format parser, playbook runs."""

import os
import re
import sys

import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
from gough_lab.playbook_runner import run_playbook as run_job  # noqa: E402  pylint: disable=wrong-import-position

EXPORTER = os.path.join(ROOT, "roles", "stack", "files", "fleet_exporter", "gough_fleet_exporter.py")
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """[(name, {labels}, value)] of a Prometheus text exposition (comments skipped)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, "not a sample line: %r" % line
        labels = {key: value.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
                  for key, value in LABEL.findall(match.group(2) or "")}
        samples.append((match.group(1), labels, float(match.group(3))))
    return samples


def series(samples, name, **match):
    """{frozenset(labels): value} of ``name`` whose labels include ``match``."""
    return {frozenset(labels.items()): value for metric, labels, value in samples
            if metric == name and all(labels.get(k) == v for k, v in match.items())}


def render_playbook(path, tasks_from="render", check_mode=False):
    """Write a one-play playbook that includes the stack role's ``tasks_from`` entry on localhost (in check mode when
    ``check_mode``)."""
    play = {"name": "Render", "hosts": "localhost", "gather_facts": False, "tasks": [
        {"name": "Render the stack", "ansible.builtin.include_role": {
            "name": "gough.gough.stack", "tasks_from": tasks_from}}]}
    if check_mode:
        play["check_mode"] = True
    with open(path, "w", encoding="utf-8") as handle:
        yaml.safe_dump([play], handle)
    return path


def run_playbook(playbook, variables, private_data_dir, timeout=300):
    """``playbook`` on localhost as a job (gough_lab.playbook_runner: ``variables`` in env/extravars, 0600);
    returns the PlaybookRun."""
    return run_job(playbook, private_data_dir, "-c", "local", inventory={"all": {"hosts": {"localhost": {}}}},
                   extravars=dict(variables, ansible_python_interpreter=sys.executable),
                   envvars={"ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCALHOST_WARNING": "0",
                            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0"},
                   collections=COLLECTIONS, timeout=timeout)
