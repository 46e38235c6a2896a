"""The AWX emulator's git projects: a project update is a git checkout of scm_url at scm_branch, as AWX 24.6.1's
(awx/playbooks/project_update.yml runs ansible's git module: ``git ls-remote`` of the URL, ``git clone``, then a
checkout of the version, HEAD when scm_branch is empty). A URL that is not a git repository, or a branch it does
not have, fails the update (status "failed", the git task's failure in /project_updates/N/stdout/); playbooks are
listed from what the checked-out commit holds."""

import pytest

from gough_lab.awx.testing import git, git_repository, start_awx_emulator

PLAY = "---\n- name: {0}\n  hosts: all\n  tasks: []\n"
REMOTE_URL = "https://git.example.invalid/ops/gough.git"


def write(root, relative, name=None):
    """A one-play playbook at ``root/relative``."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(PLAY.format(name or relative))


def commit(root, message):
    git(root, "add", "--all")
    git(root, "commit", "--quiet", "-m", message)
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    """A repository: main holds site.yml and inventory/hosts (tag v1), then later.yml; branch feature adds
    playbooks/feature.yml and inventory/feature.ini to v1. The working tree also has a file that was never
    committed (draft.yml), which no checkout holds."""
    root = tmp_path_factory.mktemp("repo")
    write(root, "site.yml")
    (root / "inventory").mkdir()
    (root / "inventory" / "hosts").write_text("[all]\nnode1\n")
    shas = {"v1": git_repository(root, branch="main", message="site")}
    git(root, "tag", "v1")
    git(root, "checkout", "--quiet", "-b", "feature")
    write(root, "playbooks/feature.yml")
    (root / "inventory" / "feature.ini").write_text("[feature]\nnode2\n")
    shas["feature"] = commit(root, "feature")
    git(root, "checkout", "--quiet", "main")
    write(root, "later.yml")
    shas["main"] = commit(root, "later")
    write(root, "draft.yml")
    return root, shas


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """A directory with a playbook that is not a git repository."""
    root = tmp_path_factory.mktemp("plain")
    write(root, "site.yml")
    return root


@pytest.fixture(scope="module")
def awx(tmp_path_factory, repo):
    """An emulator whose --project-checkout (the stand-in for URLs it cannot reach) is ``repo``."""
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state", project_checkout=repo[0])
    try:
        api = emulator.client()
        emulator.org = api.create("organizations/", {"name": "Git"})
        emulator.inv = api.create("inventories/", {"name": "Inv", "organization": emulator.org["id"]})
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    return awx.client()


def project(api, awx, name, url, branch=""):
    """A git project; returns (project, its first update)."""
    created = api.create("projects/", {"name": name, "organization": awx.org["id"], "scm_type": "git",
                                       "scm_url": url, "scm_branch": branch})
    return created, last_update(api, created)


def last_update(api, created):
    status, body = api.get("projects/%s/" % created["id"])
    assert status == 200, body
    status, update = api.get("project_updates/%s/" % body["summary_fields"]["last_update"]["id"])
    assert status == 200, update
    return update


def stdout(api, update):
    status, body = api.get("project_updates/%s/stdout/?format=json" % update["id"])
    assert status == 200, body
    return body["content"]


def playbooks(api, created):
    return api.get("projects/%s/playbooks/" % created["id"])[1]


def test_git_project_whose_url_is_a_plain_directory_fails_its_update(api, awx, plain):
    """AWX clones scm_url with ansible's git module, whose first step (git ls-remote) fails for a directory that
    is not a repository: "fatal: '<path>' does not appear to be a git repository". The update and the project are
    "failed", no playbook is listed, and a job template cannot use one."""
    url = "file://%s" % plain
    created, update = project(api, awx, "plain", url, "main")
    assert update["status"] == "failed" and update["failed"] is True
    assert url in update["job_explanation"] and "does not appear to be a git repository" in update["job_explanation"]
    assert update["related"]["stdout"] == "/api/v2/project_updates/%s/stdout/" % update["id"]
    output = stdout(api, update)
    assert "TASK [update project using git]" in output and "fatal: [localhost]: FAILED!" in output
    assert "git ls-remote %s -h refs/heads/main" % url in output
    assert "fatal: '%s' does not appear to be a git repository" % plain in output
    assert api.get("projects/%s/" % created["id"])[1]["status"] == "failed"
    assert playbooks(api, created) == []
    assert api.post("job_templates/", {"name": "plain-jt", "project": created["id"], "inventory": awx.inv["id"],
                                       "playbook": "site.yml"}) == (400, {"playbook": ["Playbook not found for project."]})


def test_git_project_url_inside_a_repository_is_not_a_repository(api, awx, repo):
    """git clones a repository's top directory (or a bare repository), never a subdirectory of one: a URL naming
    a directory inside a work tree fails as a plain directory does."""
    root = repo[0]
    _created, update = project(api, awx, "subdir", "file://%s" % (root / "inventory"))
    assert update["status"] == "failed"
    assert "does not appear to be a git repository" in update["job_explanation"]


def test_missing_scm_branch_fails_the_update_naming_url_and_branch(api, awx, repo):
    """The git module checks out scm_branch after the clone; a version the repository lacks (no branch, tag or
    commit of that name) fails the task with "Failed to checkout <version>", and the update with it."""
    url = "file://%s" % repo[0]
    created, update = project(api, awx, "no-branch", url, "release-9")
    assert update["status"] == "failed"
    assert update["job_explanation"].startswith("Failed to checkout release-9: ")
    assert url in update["job_explanation"] and "(scm_branch)" in update["job_explanation"]
    output = stdout(api, update)
    assert '"msg": "Failed to checkout release-9"' in output
    assert "error: pathspec 'release-9' did not match any file(s) known to git" in output
    assert playbooks(api, created) == []

    # Fixed in AWX (the branch set to one that exists): the write starts a new update, which syncs.
    status, body = api.patch("projects/%s/" % created["id"], {"scm_branch": "main"})
    assert status == 200, body
    update = last_update(api, created)
    assert update["status"] == "successful" and update["job_explanation"] == ""
    assert api.get("projects/%s/" % created["id"])[1]["status"] == "successful"


@pytest.mark.parametrize("branch, expected, sha", [
    ("main", ["later.yml", "site.yml"], "main"),
    ("", ["later.yml", "site.yml"], "main"),  # empty: HEAD, the repository's default branch
    ("feature", ["playbooks/feature.yml", "site.yml"], "feature"),
    ("v1", ["site.yml"], "v1"),  # a tag
    ("commit", ["playbooks/feature.yml", "site.yml"], "feature"),  # a commit hash, abbreviated
])
def test_branch_tag_or_commit_syncs_and_lists_only_its_playbooks(api, awx, repo, branch, expected, sha):
    """scm_branch is a branch, a tag or a commit (the git module's ``version``); the update checks that commit out
    and AWX lists the playbooks it holds (never those of other branches, nor files that were never committed), and
    scm_revision is the commit's hash."""
    root, shas = repo
    version = shas["feature"][:10] if branch == "commit" else branch
    created, update = project(api, awx, "at-%s" % (branch or "head"), "file://%s" % root, version)
    assert update["status"] == "successful", update
    assert playbooks(api, created) == expected
    assert update["scm_revision"] == shas[sha]
    assert api.get("projects/%s/" % created["id"])[1]["scm_revision"] == shas[sha]
    assert "Repository Version %s" % shas[sha] in stdout(api, update)


def test_job_template_may_use_only_playbooks_of_the_projects_branch(api, awx, repo):
    """JobOptionsSerializer.validate checks the playbook against the project's playbook_files, which come from the
    checked-out branch: a playbook on another branch is "Playbook not found for project."."""
    created, update = project(api, awx, "main-only", "file://%s" % repo[0], "main")
    assert update["status"] == "successful"
    base = {"project": created["id"], "inventory": awx.inv["id"]}
    assert api.post("job_templates/", dict(base, name="feature-jt", playbook="playbooks/feature.yml")) == (
        400, {"playbook": ["Playbook not found for project."]})
    assert api.post("job_templates/", dict(base, name="draft-jt", playbook="draft.yml")) == (
        400, {"playbook": ["Playbook not found for project."]})
    assert api.post("job_templates/", dict(base, name="later-jt", playbook="later.yml"))[0] == 201


def test_scm_inventory_source_reads_the_branchs_checkout(api, awx, repo):
    """An SCM inventory source's source_path is a file of the project's checkout (AWX runs ansible-inventory on
    it there), so a file on another branch is not found."""
    main, _update = project(api, awx, "inv-main", "file://%s" % repo[0], "main")
    feature, _update = project(api, awx, "inv-feature", "file://%s" % repo[0], "feature")
    source = {"name": "src", "inventory": awx.inv["id"], "source": "scm", "source_path": "inventory/feature.ini"}
    assert api.post("inventory_sources/", dict(source, source_project=main["id"])) == (
        400, {"source_path": ["File inventory/feature.ini not found in project inv-main."]})
    assert api.post("inventory_sources/", dict(source, source_project=feature["id"]))[0] == 201


def test_project_checkout_stands_in_for_a_remote_url_with_its_branches(api, awx, repo):
    """--project-checkout stands in for URLs the emulator cannot reach; AWX would clone the URL at scm_branch, so
    the stand-in is cloned the same way: its branches sync, a branch it lacks fails naming the URL and the
    stand-in."""
    root, shas = repo
    created, update = project(api, awx, "remote-feature", REMOTE_URL, "feature")
    assert update["status"] == "successful" and update["scm_revision"] == shas["feature"]
    assert playbooks(api, created) == ["playbooks/feature.yml", "site.yml"]
    _created, update = project(api, awx, "remote-missing", REMOTE_URL, "nope")
    assert update["status"] == "failed"
    assert update["job_explanation"].startswith("Failed to checkout nope: ")
    assert REMOTE_URL in update["job_explanation"] and str(root) in update["job_explanation"]


def test_project_checkout_that_is_not_a_repository_fails_remote_updates(plain, tmp_path):
    """A stand-in directory that is not a git repository fails the update as the URL would if it were not a
    repository; the explanation names the URL and the stand-in."""
    emulator = start_awx_emulator(tmp_path / "state", project_checkout=plain)
    try:
        client = emulator.client()
        org = client.create("organizations/", {"name": "O"})
        created = client.create("projects/", {"name": "r", "organization": org["id"], "scm_type": "git",
                                              "scm_url": REMOTE_URL, "scm_branch": "main"})
        update = last_update(client, created)
        assert update["status"] == "failed"
        assert REMOTE_URL in update["job_explanation"] and "--project-checkout %s" % plain in update["job_explanation"]
        assert "does not appear to be a git repository" in update["job_explanation"]
        assert playbooks(client, created) == []
    finally:
        emulator.stop()


def test_new_commit_is_read_by_the_next_update(api, awx, tmp_path):
    """Each update checks the branch out again (AWX's update clones or fetches the URL): a commit made since the
    last update is what the next one lists; an uncommitted file is not."""
    root = tmp_path / "moving"
    write(root, "site.yml")
    first = git_repository(root)
    created, update = project(api, awx, "moving", "file://%s" % root, "main")
    assert update["scm_revision"] == first and playbooks(api, created) == ["site.yml"]
    write(root, "second.yml")
    assert api.post("projects/%s/update/" % created["id"])[0] == 202
    assert playbooks(api, created) == ["site.yml"]
    second = commit(root, "second")
    status, body = api.post("projects/%s/update/" % created["id"])
    assert status == 202 and body["status"] == "successful" and body["scm_revision"] == second
    assert playbooks(api, created) == ["second.yml", "site.yml"]


def test_manual_project_is_still_read_from_its_local_path(tmp_path):
    """Manual projects (scm_type "") are not git: AWX lists the playbooks of PROJECTS_ROOT/local_path as they are,
    with no checkout and no update."""
    root = tmp_path / "projects"
    write(root / "ops", "site.yml")
    emulator = start_awx_emulator(tmp_path / "state", projects_root=root)
    try:
        client = emulator.client()
        org = client.create("organizations/", {"name": "O"})
        manual = client.create("projects/", {"name": "m", "organization": org["id"], "local_path": "ops"})
        assert manual["status"] == "ok"
        assert playbooks(client, manual) == ["site.yml"]
    finally:
        emulator.stop()


def test_stdout_is_served_as_json_only(api, awx, repo):
    """/project_updates/N/stdout/ answers ?format=json with range and content, as AWX does; the emulator has no
    text or HTML renderer and says so (406) rather than answer in another format."""
    _created, update = project(api, awx, "stdout", "file://%s" % repo[0], "main")
    status, body = api.get("project_updates/%s/stdout/" % update["id"])
    assert status == 200 and set(body) == {"range", "content"}
    assert body["range"]["start"] == 0 and body["range"]["end"] == len(body["content"].splitlines())
    status, body = api.get("project_updates/%s/stdout/?format=txt" % update["id"])
    assert status == 406 and "format=json" in body["detail"]


@pytest.mark.parametrize("field", ["scm_refspec", "scm_branch"])
def test_an_option_in_place_of_a_branch_or_refspec_runs_nothing(api, awx, repo, tmp_path, field):
    """git reads an argument that starts with "-" as an option even after a positional one, and --upload-pack names
    a command to run. The emulator runs git for project updates on the lab host, so such a value fails the update
    before git runs; nothing is executed. (Such a URL is refused on create, as AWX's URL check does.)"""
    marker = tmp_path / ("ran-%s" % field)
    fields = {"name": "option-%s" % field, "organization": awx.org["id"], "scm_type": "git",
              "scm_url": "file://%s" % repo[0], "scm_branch": "main"}
    fields[field] = "--upload-pack=touch %s" % marker
    update = last_update(api, api.create("projects/", fields))
    assert update["status"] == "failed", update
    assert "unknown option" in update["job_explanation"], update
    assert not marker.exists()
    status, body = api.post("projects/", dict(fields, name="option-url", scm_url="file://--upload-pack=touch %s"
                                              % marker, **{field: "main" if field == "scm_branch" else ""}))
    assert status == 400 and "Invalid URL for git" in body["scm_url"][0], body
    assert not marker.exists()
