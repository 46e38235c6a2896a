"""The role's wait for project syncs (AWX project updates): bounded, with a message that names the project, the
update and what to check, and a new sync on the rerun after a failed one. Runs only the organization and a project
against a fresh emulator (the other lists are empty), so each run takes seconds."""

import time

import pytest

from awx_play import Client, inputs, run_playbook  # pylint: disable=import-error
from gough_lab.awx.testing import git, start_awx_emulator

EMPTY_LISTS = ("controller_teams", "controller_user_accounts", "controller_credential_types", "controller_credentials",
               "controller_execution_environments", "controller_notifications", "controller_inventories",
               "controller_inventory_sources", "controller_templates", "controller_workflows", "controller_schedules",
               "controller_roles", "awx_config_extra_roles")


@pytest.fixture
def awx(tmp_path):
    """A fresh emulator per test (instead of the module-wide one): each test leaves its project in another state."""
    emulator = start_awx_emulator(tmp_path / "awx")
    try:
        yield emulator
    finally:
        emulator.stop()


def only_a_project(project_dir, url, **extra):
    """The role's inputs with the organization and one git project at ``url`` as the only objects."""
    lists = {name: [] for name in EMPTY_LISTS}
    lists["controller_projects"] = [{"name": "Gough", "organization": "Gough", "scm_type": "git", "scm_url": url,
                                     "scm_branch": "main"}]
    return inputs(project_dir, **lists, **extra)


def hold_project_updates(awx):
    """From now on project updates stay pending, as on an AWX none of whose instances runs them (awx-real.md:
    without a dispatcher a project update never leaves pending, and awx.awx's project module polls without end)."""
    awx.hold_project_updates(True)


def test_failed_sync_fails_the_role_naming_the_update_and_a_rerun_after_the_fix_syncs_again(awx, project_dir,
                                                                                            tmp_path):
    checkout = tmp_path / "checkout"  # missing for now: the sync fails, as with a wrong URL or branch
    variables = only_a_project(project_dir, "file://%s" % checkout)
    process, recap = run_playbook(awx, tmp_path, variables, expect_rc=2)
    assert recap["failed"] == 1, process.stdout
    project = Client(awx).one("projects", name="Gough")
    last = project["summary_fields"]["last_update"]["id"]
    assert project["status"] == "failed"
    assert "Project 'Gough': its project update %s (%s/#/jobs/project/%s/output" % (last, awx.url, last) in process.stdout
    assert "API %s/api/v2/project_updates/%s/" % (awx.url, last) in process.stdout
    assert "ended 'failed'" in process.stdout and "Rerunning the role starts a new sync" in process.stdout

    # The cause is fixed outside AWX (the project itself is unchanged): the repository appears at the URL (a
    # clone, since AWX's update is a git checkout), and the rerun starts a new sync and goes on.
    git(tmp_path, "clone", "--quiet", str(project_dir), str(checkout))
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, variables)
    assert recap["failed"] == 0 and recap["changed"] == 1, process.stdout
    assert awx.stats()["writes_by_path"] == {"POST /api/v2/projects/%s/update/" % project["id"]: 1}
    project = Client(awx).one("projects", name="Gough")
    assert project["status"] == "successful" and project["summary_fields"]["last_update"]["id"] != last

    # Synced: a further rerun starts nothing.
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, variables)
    assert recap["failed"] == 0 and recap["changed"] == 0, process.stdout
    assert awx.stats()["writes"] == 0


def test_sync_no_instance_runs_fails_after_the_timeout_saying_what_to_check(awx, project_dir, tmp_path):
    hold_project_updates(awx)
    variables = only_a_project(project_dir, "file://%s" % project_dir, awx_config_project_sync_timeout=3)
    started = time.monotonic()
    process, recap = run_playbook(awx, tmp_path, variables, expect_rc=2)
    elapsed = time.monotonic() - started
    assert recap["failed"] == 1, process.stdout
    project = Client(awx).one("projects", name="Gough")
    update = project["summary_fields"]["current_update"]["id"]
    assert "Project 'Gough': its project update %s (" % update in process.stdout
    assert "is still pending after 3 s (awx_config_project_sync_timeout)" in process.stdout
    assert "Administration > Instances" in process.stdout and "instance groups" in process.stdout
    # Bounded: a few polls, not awx.awx's endless loop; a pending update is waited for, not started again.
    assert elapsed < 60, elapsed
    assert awx.stats()["by_method"].get("GET", 0) < 40, awx.stats()
    assert not [path for path in awx.stats()["writes_by_path"] if path.endswith("/update/")]

    # Once an instance runs the update, the rerun goes on and changes nothing.
    awx.hold_project_updates(False)
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, variables)
    assert recap["failed"] == 0 and recap["changed"] == 0, process.stdout
    assert awx.stats()["writes"] == 0


def test_check_mode_does_not_wait_for_a_sync(awx, project_dir, tmp_path):
    """--check changes nothing and so waits for nothing, even for a sync that never ends."""
    hold_project_updates(awx)
    variables = only_a_project(project_dir, "file://%s" % project_dir, awx_config_project_sync_timeout=3)
    run_playbook(awx, tmp_path, variables, expect_rc=2)
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, dict(variables, awx_config_project_sync_timeout=600), "--check")
    assert recap["failed"] == 0 and recap["changed"] == 0, process.stdout
    assert awx.stats()["writes"] == 0
