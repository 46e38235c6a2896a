"""What users install: the collection tarball holds the collection and nothing of the repository's tooling.

``make install-check`` runs this on the tarball it installs (``GOUGH_TARBALL``); under ``make units`` the test
builds one from the working tree the way ``make build`` does (tools/lay_tree.py, then ansible-galaxy).
"""

import json
import os
import re
import subprocess
import sys
import tarfile

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# Top-level entries a collection tarball may hold (Ansible's collection structure plus Gough's guides and the
# example inventory plugin configurations).
ALLOWED_TOP = {"MANIFEST.json", "FILES.json", "README.md", "requirements.yml", "meta", "plugins", "roles",
               "playbooks", "docs", "changelogs", "inventory"}
# Repository tooling that must never reach users, at any depth.
FORBIDDEN_DIRS = {"lab", "tests", "bench", "tools", "molecule", ".ci", ".git", ".venv", ".build", "__pycache__",
                  ".pytest_cache", "fragments", "build"}
FORBIDDEN_FILES = {"Makefile", "constraints.txt", "requirements.txt", ".gitignore", ".ansible-lint",
                   "galaxy.yml"}


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    """The tarball under test: $GOUGH_TARBALL, or one built now from the working tree."""
    given = os.environ.get("GOUGH_TARBALL")
    if given:
        return given
    work = tmp_path_factory.mktemp("build")
    tree = work / "ansible_collections" / "gough" / "gough"
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "lay_tree.py"), str(tree)], cwd=ROOT, check=True,
                   capture_output=True)
    galaxy = os.path.join(os.path.dirname(sys.executable), "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--output-path", str(work / "dist"), str(tree)], check=True,
                   capture_output=True)
    (built,) = (work / "dist").iterdir()
    return str(built)


@pytest.fixture(scope="module")
def members(tarball):  # pylint: disable=redefined-outer-name
    """Name -> TarInfo of every member."""
    with tarfile.open(tarball, "r:gz") as tar:
        return {member.name.rstrip("/"): member for member in tar.getmembers()}


@pytest.fixture(scope="module")
def contents(tarball):  # pylint: disable=redefined-outer-name
    """Name -> bytes of every regular file (read in one pass: a gzip tarball has no random access)."""
    with tarfile.open(tarball, "r:gz") as tar:
        return {member.name: tar.extractfile(member).read() for member in tar if member.isfile()}


def _galaxy():
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_top_level_holds_only_collection_content(members):  # pylint: disable=redefined-outer-name
    top = {name.split("/", 1)[0] for name in members}
    assert top <= ALLOWED_TOP, "not collection content: %s" % sorted(top - ALLOWED_TOP)
    assert {"MANIFEST.json", "FILES.json", "meta", "plugins", "roles", "playbooks"} <= top


def test_no_lab_tests_benchmarks_or_developer_files_at_any_depth(members):  # pylint: disable=redefined-outer-name
    leaked = sorted(name for name in members
                    if set(name.split("/")[:-1]) & FORBIDDEN_DIRS
                    or (members[name].isdir() and os.path.basename(name) in FORBIDDEN_DIRS)
                    or os.path.basename(name) in FORBIDDEN_FILES or name.endswith((".pyc", ".tar.gz")))
    assert not leaked, leaked


def test_every_role_and_playbook_of_the_repository_is_shipped_but_not_the_lab_role(members):  # pylint: disable=redefined-outer-name
    roles = sorted(os.listdir(os.path.join(ROOT, "roles")))
    assert [r for r in roles if "roles/%s/meta/argument_specs.yml" % r not in members] == []
    playbooks = sorted(p for p in os.listdir(os.path.join(ROOT, "playbooks")) if p.endswith(".yml"))
    assert [p for p in playbooks if "playbooks/" + p not in members] == []
    assert "roles/lab" not in members and "playbooks/lab.yml" not in members


def test_files_json_lists_exactly_the_members(contents, members):  # pylint: disable=redefined-outer-name
    listed = {entry["name"] for entry in json.loads(contents["FILES.json"])["files"]} - {"."}
    assert listed == set(members) - {"MANIFEST.json", "FILES.json"}


def test_manifest_declares_the_dependencies_of_galaxy_yml_and_the_roles_use_no_others(contents):  # pylint: disable=redefined-outer-name
    info = json.loads(contents["MANIFEST.json"])["collection_info"]
    declared = _galaxy()["dependencies"]
    assert info["dependencies"] == declared
    assert set(declared) == {"ansible.utils", "awx.awx", "community.crypto", "community.docker"}
    used = set()
    for name, data in contents.items():
        if name.startswith(("roles/", "playbooks/")) and name.endswith((".yml", ".j2")):
            text = data.decode("utf-8", "replace")
            for fqcn in declared:
                if fqcn + "." in text:
                    used.add(fqcn)
    assert used == set(declared), "declared but unused: %s" % sorted(set(declared) - used)


# A task's action key (`community.docker.docker_network:`) or a filter/test/lookup call (`| ansible.utils.ipv4`).
FQCN_USE = re.compile(r"^\s*(?:- )?([a-z_]+\.[a-z_0-9]+)\.[a-z_0-9]+:\s|\|\s*([a-z_]+\.[a-z_0-9]+)\.[a-z_0-9]+\b"
                      r"|lookup\(\s*'([a-z_]+\.[a-z_0-9]+)\.[a-z_0-9]+'", re.MULTILINE)
OWN = {"ansible.builtin", "ansible.legacy", "gough.gough"}


def test_every_collection_the_roles_and_playbooks_call_is_declared(contents):  # pylint: disable=redefined-outer-name
    declared = set(_galaxy()["dependencies"])
    called = {}
    for name, data in contents.items():
        if name.startswith(("roles/", "playbooks/")) and name.endswith((".yml", ".j2")):
            for match in FQCN_USE.finditer(data.decode("utf-8", "replace")):
                fqcn = next(group for group in match.groups() if group)
                if fqcn not in OWN:
                    called.setdefault(fqcn, name)
    assert "community.docker" in called and "ansible.utils" in called  # the scan sees both kinds of use
    assert {fqcn: where for fqcn, where in called.items() if fqcn not in declared} == {}


def test_shipped_files_do_not_reach_outside_the_collection(contents):  # pylint: disable=redefined-outer-name
    """Nothing installed refers to the repository's lab package or tooling (a user's copy has neither)."""
    offenders = []
    for name, data in contents.items():
        if name.startswith(("roles/", "playbooks/", "plugins/", "meta/")):
            text = data.decode("utf-8", "replace")
            if "gough_lab.images" in text or "/../../lab" in text or "role_path }}/../../tools" in text:
                offenders.append(name)
    assert not offenders, offenders


def test_requirements_yml_and_the_execution_environment_ask_for_the_declared_ranges():
    """Users' requirements.yml and the EE definition install what galaxy.yml declares, with the same ranges."""
    declared = _galaxy()["dependencies"]
    with open(os.path.join(ROOT, "requirements.yml"), encoding="utf-8") as handle:
        requirements = {c["name"]: c["version"] for c in yaml.safe_load(handle)["collections"]}
    assert requirements == declared
    with open(os.path.join(ROOT, "meta", "execution-environment.yml"), encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)["dependencies"]["galaxy"]["collections"]
    assert {c["name"]: c["version"] for c in ee if c.get("type") != "file"} == declared
