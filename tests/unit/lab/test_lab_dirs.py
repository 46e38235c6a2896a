"""The lab role's directories (lab/playbooks/roles/lab/tasks/dirs.yml): one gough.gough.files run makes the five,
a rerun changes nothing, and a changed or missing one alone is put right."""

import os
import stat
import sys

import yaml

from gough_lab.playbook_runner import run_playbook

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
ROLES = os.path.join(ROOT, "lab", "playbooks", "roles")
# The working tree as gough.gough (tests/unit/conftest.py links it there).
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
FILE_TASK = "lab : Make the lab's directories (those missing or not 0700)"


def made(result):
    """The directories the files task changed."""
    for play in result.plays:
        for task in play["tasks"]:
            if task["task"]["name"] == FILE_TASK:
                return sorted(entry["path"] for entry in task["hosts"]["localhost"]["files"] if entry["changed"])
    raise AssertionError("the task %r did not run:\n%s" % (FILE_TASK, result.output))


def test_a_rerun_changes_nothing_and_a_changed_directory_alone_is_put_right(tmp_path):
    lab = tmp_path / "lab"
    playbook = tmp_path / "dirs.yml"
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump([{"name": "Lab directories", "hosts": "localhost", "gather_facts": False, "tasks": [
            {"name": "Directories", "ansible.builtin.include_role": {"name": "lab", "tasks_from": "dirs"}}]}], handle)
    runs = []

    def run():
        runs.append(None)
        result = run_playbook(str(playbook), str(tmp_path / ("run%d" % len(runs))), "-c", "local",
                              inventory={"all": {"hosts": {"localhost": {}}}},
                              extravars={"lab_dir": str(lab), "ansible_python_interpreter": sys.executable},
                              envvars={"ANSIBLE_ROLES_PATH": ROLES, "ANSIBLE_COLLECTIONS_PATH": COLLECTIONS,
                                       "ANSIBLE_LOCALHOST_WARNING": "0"},
                              project_dir=str(tmp_path))
        assert result.rc == 0, result.output
        return result

    everything = sorted(str(p) for p in (lab, lab / "ssh", lab / "inventory", lab / "inventory" / "group_vars",
                                         lab / "backup"))
    assert made(run()) == everything
    assert all(stat.S_IMODE(os.stat(path).st_mode) == 0o700 for path in everything)
    again = run()
    assert made(again) == [] and again.changed() == {"localhost": 0}, again.output
    os.chmod(lab / "backup", 0o755)
    os.rmdir(lab / "inventory" / "group_vars")
    fixed = run()
    assert made(fixed) == sorted([str(lab / "backup"), str(lab / "inventory" / "group_vars")])
    assert stat.S_IMODE(os.stat(lab / "backup").st_mode) == 0o700 and (lab / "inventory" / "group_vars").is_dir()
