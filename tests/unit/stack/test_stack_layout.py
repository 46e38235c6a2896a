"""The stack role's directories (roles/stack/tasks/layout.yml): one gough.gough.files run makes those that are missing
and puts right the mode and owner of those that differ, so a rerun on a stack that is as it should be changes
nothing. Check mode reports what differs and writes nothing."""

import os
import stat

from alerts_helpers import render_playbook, run_playbook

FIX_TASK = "gough.gough.stack : The stack's directories, with their modes and owners"


def fixed_items(result):
    """The directories the files task changed (or in check mode would change)."""
    for play in result.plays:
        for task in play["tasks"]:
            if task["task"]["name"] == FIX_TASK:
                outcome = task["hosts"]["localhost"]
                return sorted(entry["path"] for entry in outcome["files"] if entry["changed"])
    raise AssertionError("the task %r did not run:\n%s" % (FIX_TASK, result.output))


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_rerun_changes_nothing_and_a_changed_directory_alone_is_put_right(tmp_path):
    base = tmp_path / "stack"
    playbook = render_playbook(str(tmp_path / "layout.yml"), tasks_from="layout")
    variables = {"stack_base_dir": str(base), "stack_profile": "lab"}

    first = run_playbook(playbook, variables, str(tmp_path / "run1"))
    assert first.rc == 0, first.output
    made = fixed_items(first)
    assert str(base) in made and str(base / "secrets") in made and len(made) >= 20
    assert mode_of(base / "secrets") == 0o700 and mode_of(base / "prometheus" / "rules") == 0o755
    assert os.stat(base / "fleet-exporter" / "secret").st_uid == 65534

    again = run_playbook(playbook, variables, str(tmp_path / "run2"))
    assert again.rc == 0 and again.changed() == {"localhost": 0}, again.output
    assert fixed_items(again) == []

    # A mode, an owner and a missing directory: only those three differ.
    os.chmod(base / "blackbox", 0o777)
    os.chown(base / "fleet-exporter" / "secret", 1234, 1234)
    os.rmdir(base / "sink")
    check_playbook = render_playbook(str(tmp_path / "layout-check.yml"), tasks_from="layout", check_mode=True)
    checked = run_playbook(check_playbook, variables, str(tmp_path / "run3"))
    assert checked.rc == 0, checked.output
    differ = sorted([str(base / "blackbox"), str(base / "fleet-exporter" / "secret"), str(base / "sink")])
    assert fixed_items(checked) == differ
    assert mode_of(base / "blackbox") == 0o777 and not (base / "sink").exists()  # check mode wrote nothing

    fixed = run_playbook(playbook, variables, str(tmp_path / "run4"))
    assert fixed.rc == 0 and fixed.changed() == {"localhost": 1}, fixed.output
    assert fixed_items(fixed) == differ
    assert mode_of(base / "blackbox") == 0o755 and mode_of(base / "sink") == 0o755
    assert os.stat(base / "fleet-exporter" / "secret").st_uid == 65534


def test_the_production_layout_in_check_mode_then_for_real(tmp_path):
    # The production profile's own list: Grafana's directories, and the received journals and osquery logs owned by
    # the receiver's and Fleet's uids. Check mode on a fresh host reports every directory and makes none.
    base = tmp_path / "opt-gough"
    playbook = render_playbook(str(tmp_path / "layout.yml"), tasks_from="layout")
    variables = {"stack_base_dir": str(base), "stack_profile": "production"}
    check_playbook = render_playbook(str(tmp_path / "layout-check.yml"), tasks_from="layout", check_mode=True)
    checked = run_playbook(check_playbook, variables, str(tmp_path / "run1"))
    assert checked.rc == 0, checked.output
    planned = fixed_items(checked)
    assert str(base / "grafana" / "provisioning" / "dashboards") in planned and len(planned) >= 20
    assert not base.exists()

    made = run_playbook(playbook, variables, str(tmp_path / "run2"))
    assert made.rc == 0, made.output
    assert fixed_items(made) == planned
    logs = base / "fleet" / "osquery-logs"
    assert mode_of(logs) == 0o750 and (os.stat(logs).st_uid, os.stat(logs).st_gid) == (100, 100)
    journal = base / "journal" / "remote"
    assert mode_of(journal) == 0o750 and os.stat(journal).st_uid != 0
    # The parent above the osquery logs is not in the list: made root's, with the default mode.
    assert os.stat(base / "fleet").st_uid == 0
    assert run_playbook(playbook, variables, str(tmp_path / "run3")).changed() == {"localhost": 0}
