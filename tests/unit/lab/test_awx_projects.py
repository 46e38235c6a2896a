"""AWX emulator project updates: the scan fills playbook_files and inventory_files as AWX 24.6.1 does, job
templates must name a scanned playbook, and an update that could read nothing fails."""

import os

import pytest

from gough_lab.awx.projects import scan
from gough_lab.awx.testing import git, git_repository, start_awx_emulator

PLAY = "---\n- name: A play\n  hosts: all\n  tasks: []\n"


def write(root, relative, text, mode=None):
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)


@pytest.fixture()
def checkout(tmp_path):
    """A project with playbooks, task files, roles, vars and inventories in the places AWX looks and skips."""
    root = tmp_path / "checkout"
    write(root, "site.yml", PLAY)
    write(root, "playbooks/provision.yaml", "- hosts: localhost\n  gather_facts: false\n")
    write(root, "playbooks/imports.yml", "---\n- ansible.builtin.import_playbook: site.yml\n")
    write(root, "playbooks/vaulted.yml", "$ANSIBLE_VAULT;1.1;AES256\n6162\n")
    write(root, "playbooks/tasks/setup.yml", PLAY)
    write(root, "roles/agent/tests/test.yml", PLAY)
    write(root, "inventory/group_vars/all.yml", PLAY)
    write(root, ".github/workflows/ci.yml", PLAY)
    write(root, "vars/settings.yml", "---\nanswer: 42\n")
    write(root, "inventory/maas.yml", "---\nplugin: gough.gough.maas\n")
    write(root, "inventory/hosts", "[all]\nnode1\n")
    write(root, "inventory/lab.ini", "[lab]\nnode2\n")
    write(root, "inventory/dynamic.sh", "#!/bin/sh\necho {}\n", mode=0o755)
    write(root, "README", "# not an inventory\n")
    git_repository(root)  # AWX's project update is a git checkout of the URL
    return root


def test_scan_lists_playbooks_and_inventories_as_awx_does(checkout):
    """could_be_playbook (hosts/import_playbook lines or a vault header, .yml/.yaml only) and skip_directory
    (roles/, tasks/, group_vars/, host_vars/, dot directories); could_be_inventory never lists .yml files."""
    playbooks, inventories = scan(str(checkout))
    assert playbooks == ["playbooks/imports.yml", "playbooks/provision.yaml", "playbooks/vaulted.yml", "site.yml"]
    assert inventories == ["inventory/dynamic.sh", "inventory/hosts", "inventory/lab.ini"]


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    remote = tmp_path_factory.mktemp("remote-checkout")
    write(remote, "remote.yml", PLAY)
    git_repository(remote)  # --project-checkout stands in for the URL: a git repository, like it
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state", project_checkout=remote)
    emulator.org = emulator.client().create("organizations/", {"name": "Lab"})
    emulator.inv = emulator.client().create("inventories/", {"name": "Inv", "organization": emulator.org["id"]})
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture()
def api(awx):
    return awx.client()


def project(api, awx, name, url):
    return api.create("projects/", {"name": name, "organization": awx.org["id"], "scm_type": "git", "scm_url": url})


def test_update_of_a_local_repository_fills_playbook_files(api, awx, checkout):
    """A project update lists playbooks at /projects/N/playbooks/ and succeeds."""
    created = project(api, awx, "local", "file://%s" % checkout)
    assert created["summary_fields"]["current_update"]["status"] == "successful"
    assert api.get("projects/%s/playbooks/" % created["id"])[1] == [
        "playbooks/imports.yml", "playbooks/provision.yaml", "playbooks/vaulted.yml", "site.yml"]
    assert api.get("projects/%s/" % created["id"])[1]["status"] == "successful"


def test_job_template_with_a_playbook_not_in_the_project_is_refused_on_create_and_patch(api, awx, checkout):
    """JobOptionsSerializer.validate: "Playbook not found for project." on create, and on any later write."""
    created = project(api, awx, "pb-check", "file://%s" % checkout)
    base = {"name": "jt", "project": created["id"], "inventory": awx.inv["id"]}
    for playbook in ("missing.yml", "playbooks/tasks/setup.yml", "vars/settings.yml", "inventory/maas.yml"):
        assert api.post("job_templates/", dict(base, playbook=playbook)) == (
            400, {"playbook": ["Playbook not found for project."]}), playbook
    jt = api.create("job_templates/", dict(base, playbook="site.yml"))
    assert api.patch("job_templates/%s/" % jt["id"], {"playbook": "nope.yml"}) == (
        400, {"playbook": ["Playbook not found for project."]})
    assert api.post("job_templates/", dict(base, name="jt2", playbook="")) == (
        400, {"playbook": ["Must select playbook for project."]})
    git(checkout, "rm", "--quiet", "site.yml")
    git(checkout, "commit", "--quiet", "-m", "site.yml removed")
    assert api.post("projects/%s/update/" % created["id"])[0] == 202
    # the template's playbook is gone from the new scan: AWX re-validates it on every write
    assert api.patch("job_templates/%s/" % jt["id"], {"description": "d"}) == (
        400, {"playbook": ["Playbook not found for project."]})


def test_update_that_reads_nothing_fails_and_lists_no_playbooks(api, awx, tmp_path):
    """An update of a path that does not exist is failed, never successful, and every playbook is refused."""
    created = project(api, awx, "gone", "file://%s" % (tmp_path / "nowhere"))
    update = created["summary_fields"]["current_update"]
    assert update["status"] == "failed"
    status, body = api.get("project_updates/%s/" % update["id"])
    assert status == 200 and body["failed"] is True and "not a directory" in body["job_explanation"]
    assert api.get("projects/%s/playbooks/" % created["id"])[1] == []
    assert api.post("job_templates/", {"name": "x", "project": created["id"], "inventory": awx.inv["id"],
                                       "playbook": "site.yml"})[1] == {"playbook": ["Playbook not found for project."]}


def test_remote_url_is_scanned_from_the_checkout_given_to_the_emulator(api, awx):
    """The emulator fetches nothing: a remote URL's update scans --project-checkout."""
    created = project(api, awx, "remote", "https://git.example.invalid/gough.git")
    assert created["summary_fields"]["current_update"]["status"] == "successful"
    assert api.get("projects/%s/playbooks/" % created["id"])[1] == ["remote.yml"]


def test_remote_url_without_a_checkout_is_not_reported_successful(tmp_path):
    """Without --project-checkout a remote URL's update checked nothing: it fails and says why."""
    emulator = start_awx_emulator(tmp_path / "state")
    try:
        api = emulator.client()
        org = api.create("organizations/", {"name": "O"})
        created = api.create("projects/", {"name": "r", "organization": org["id"], "scm_type": "git",
                                           "scm_url": "https://git.example.invalid/gough.git"})
        update = api.get("project_updates/%s/" % created["summary_fields"]["current_update"]["id"])[1]
        assert update["status"] == "failed" and "--project-checkout" in update["job_explanation"]
        assert api.get("projects/%s/" % created["id"])[1]["status"] == "failed"
    finally:
        emulator.stop()


def test_allow_override_projects_skip_the_playbook_check(api, awx, checkout):
    """AWX does not check the playbook of a project that allows branch override (another branch may have it)."""
    created = api.create("projects/", {"name": "override", "organization": awx.org["id"], "scm_type": "git",
                                       "scm_url": "file://%s" % checkout, "allow_override": True})
    assert api.post("job_templates/", {"name": "other-branch", "project": created["id"], "inventory": awx.inv["id"],
                                       "playbook": "elsewhere.yml"})[0] == 201
    plain = project(api, awx, "no-override", "file://%s" % checkout)
    assert api.post("job_templates/", {"name": "branch", "project": plain["id"], "inventory": awx.inv["id"],
                                       "playbook": "site.yml", "scm_branch": "dev"}) == (
        400, {"scm_branch": ["Project does not allow overriding branch."]})


def test_manual_project_uses_a_directory_of_projects_root(tmp_path):
    """Manual projects: local_path must be an unused directory under PROJECTS_ROOT; playbooks are read live."""
    root = tmp_path / "projects"
    write(root, "ops/site.yml", PLAY)
    emulator = start_awx_emulator(tmp_path / "state", projects_root=root)
    try:
        api = emulator.client()
        org = api.create("organizations/", {"name": "O"})
        assert api.get("config/")[1]["project_local_paths"] == ["ops"]
        assert api.post("projects/", {"name": "m0", "organization": org["id"], "local_path": "/etc"}) == (
            400, {"local_path": ["This path is already being used by another manual project."]})
        manual = api.create("projects/", {"name": "m", "organization": org["id"], "local_path": "ops"})
        assert manual["status"] == "ok" and api.get("projects/%s/playbooks/" % manual["id"])[1] == ["site.yml"]
        assert api.get("config/")[1]["project_local_paths"] == []
        write(root, "ops/later.yml", PLAY)
        assert api.get("projects/%s/playbooks/" % manual["id"])[1] == ["later.yml", "site.yml"]
        write(root, "ops2/site.yml", PLAY)
        assert api.post("projects/", {"name": "m2", "organization": org["id"], "local_path": "ops",
                                      "description": "same path"}) == (
            400, {"local_path": ["This path is already being used by another manual project."]})
        assert api.post("projects/", {"name": "m2", "organization": org["id"], "local_path": "ops2",
                                      "scm_update_on_launch": True}) == (
            400, {"scm_update_on_launch": ["Update options must be set to false for manual projects."]})
    finally:
        emulator.stop()


def test_scm_inventory_source_needs_a_file_of_the_checkout(api, awx, checkout):
    """source_path must exist in the project's checkout (AWX would fail the sync); manual projects are refused."""
    created = project(api, awx, "inv-src", "file://%s" % checkout)
    base = {"name": "src", "inventory": awx.inv["id"], "source": "scm", "source_project": created["id"]}
    assert api.post("inventory_sources/", dict(base, source_path="inventory/none.yml"))[1] == {
        "source_path": ["File inventory/none.yml not found in project inv-src."]}
    assert api.post("inventory_sources/", dict(base, source_path="inventory/maas.yml"))[0] == 201


def test_held_project_updates_stay_pending_until_released(api, awx, checkout):
    """As when no AWX worker picks the update up: the update and the project stay pending (awx.awx's project
    module then polls without end); releasing runs the scan."""
    assert awx.hold_project_updates(True) == {"hold": True, "pending": []}
    try:
        created = project(api, awx, "stuck", "file://%s" % checkout)
        update_id = created["summary_fields"]["current_update"]["id"]
        assert api.get("project_updates/%s/" % update_id)[1]["status"] == "pending"
        again = api.get("projects/%s/" % created["id"])[1]
        assert again["status"] == "pending" and again["summary_fields"]["current_update"]["id"] == update_id
        assert api.get("projects/%s/playbooks/" % created["id"])[1] == []
    finally:
        assert awx.hold_project_updates(False) == {"hold": False, "pending": []}
    assert api.get("project_updates/%s/" % update_id)[1]["status"] == "successful"
    assert "site.yml" in api.get("projects/%s/playbooks/" % created["id"])[1]
