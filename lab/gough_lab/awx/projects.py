"""What an AWX 24 project update finds in a checkout: ``playbook_files`` and ``inventory_files``, with AWX's rules
(awx/main/utils/ansible.py: skip_directory, could_be_playbook, could_be_inventory; Project.playbooks and
Project.inventories)."""

import os
import re
import subprocess
import unicodedata

VALID_PLAYBOOK = re.compile(r"^\s*?-?\s*?(?:hosts|(ansible\.builtin\.)?include|(ansible\.builtin\.)?import_playbook):\s*?.*?$")
VALID_INVENTORY = re.compile(r"^[a-zA-Z0-9_.=\[\]]")
MAX_INVENTORY_LISTING = 50


def skip_directory(relative):
    """AWX leaves out roles/, tasks/, group_vars/, host_vars/ and dot directories."""
    elements = [part for part in relative.split(os.sep) if part not in ("", ".")]
    if "roles" in elements or "tasks" in elements:
        return True
    if any(part.startswith(".") for part in elements):
        return True
    return "group_vars" in elements or "host_vars" in elements


def could_be_playbook(path):
    """A .yml/.yaml file with a line that starts a play (hosts, include, import_playbook) or a vault header."""
    if os.path.splitext(path)[-1] not in (".yml", ".yaml"):
        return False
    try:
        with open(path, encoding="utf-8", errors="ignore") as handle:
            for number, line in enumerate(handle):
                if VALID_PLAYBOOK.match(line):
                    return True
                if number == 0 and line.startswith("$ANSIBLE_VAULT;"):
                    return True
    except OSError:
        return False
    return False


def could_be_inventory(path):
    """Files named inventory/hosts, *.ini, executables, or extension-less files that look like INI inventories
    (AWX never lists .yml inventory files here)."""
    name = os.path.basename(path)
    extension = os.path.splitext(name)[-1]
    if name in ("inventory", "hosts"):
        return True
    if extension == ".ini" or os.access(path, os.X_OK):
        return True
    if "." in extension:
        return False
    try:
        with open(path, encoding="utf-8", errors="ignore") as handle:
            for number, line in enumerate(handle):
                if number > 10:
                    break
                if VALID_INVENTORY.match(line):
                    return True
    except OSError:
        return False
    return False


def scan(directory):
    """(playbook_files, inventory_files) of a checkout, sorted case-insensitively as AWX sorts them."""
    playbooks, inventories = [], []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        relative = os.path.relpath(root, directory)
        if skip_directory(relative):
            continue
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, directory)
            if could_be_playbook(path):
                playbooks.append(rel)
            if len(inventories) <= MAX_INVENTORY_LISTING and could_be_inventory(path):
                inventories.append(rel)
    return sorted(playbooks, key=str.lower), sorted(inventories, key=str.lower)


def local_path_choices(root, taken):
    """Directories under PROJECTS_ROOT a manual project may use (AWX: not hidden, not used by another project)."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return []
    return [name for name in names if os.path.isdir(os.path.join(root, name)) and not name.startswith(".")
            and not name.startswith("_") and name not in taken]


# --- git projects: what AWX's project update playbook (awx/playbooks/project_update.yml) does with ansible's git
# module: ``git ls-remote`` of the URL, ``git clone`` of it, an optional fetch of ``scm_refspec``, then a checkout of
# ``scm_branch`` (a branch, a tag or a commit; HEAD when empty). A failure of any step fails the update with the
# module's message: git's own error for a URL that is not a repository, ``Failed to checkout <version>`` for a
# version the repository does not have.

GIT_ENV = {"LC_ALL": "C", "LANG": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
GIT_TIMEOUT = 300


class GitFailure(Exception):
    """A failed step of the checkout: ``msg`` as ansible's git module reports it, and the command's result."""

    def __init__(self, msg, cmd, rc, stdout="", stderr=""):
        super().__init__(msg)
        self.msg, self.cmd, self.rc, self.stdout, self.stderr = msg, cmd, rc, stdout, stderr

    def result(self):
        """The task result ansible prints after ``fatal: [localhost]: FAILED! =>``."""
        return {"changed": False, "cmd": self.cmd, "msg": self.msg, "rc": self.rc, "stderr": self.stderr,
                "stderr_lines": self.stderr.splitlines(), "stdout": self.stdout,
                "stdout_lines": self.stdout.splitlines()}


def _git(args, cwd=None):
    """(rc, stdout, stderr, command line) of ``git args``."""
    command = ["git"] + list(args)
    line = " ".join(command)
    # Nothing of the caller's git context (GIT_DIR, GIT_WORK_TREE... of a hook or a test run) leaks in.
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    env.update(GIT_ENV)
    try:
        process = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=False,
                                 timeout=GIT_TIMEOUT)
    except FileNotFoundError:
        raise GitFailure("Failed to find required executable \"git\" in paths", line, 2) from None
    except subprocess.TimeoutExpired:
        raise GitFailure("git did not finish within %d seconds" % GIT_TIMEOUT, line, 1) from None
    return process.returncode, process.stdout, process.stderr, line


def _checked(args, cwd=None):
    """``git args``, failing as the git module's ``run_command(check_rc=True)`` does (msg: git's stderr)."""
    rc, out, err, line = _git(args, cwd)
    if rc != 0:
        raise GitFailure(err.rstrip() or out.rstrip(), line, rc, out, err)
    return out


def git_checkout(repo, version, dest, refspec=""):
    """Clone ``repo`` (a URL or a path git can clone) into ``dest`` (which must not exist) and check out
    ``version`` (empty: the repository's HEAD) detached. Returns the commit's hash; raises GitFailure."""
    version = version or "HEAD"
    # git reads an argument that starts with "-" as an option (--upload-pack=<command> runs a command) even after a
    # positional one: a URL, branch or refspec like that is refused before git runs, as git itself would refuse the
    # option if it were not one it knows.
    for name, value in (("scm_url", repo), ("scm_branch", version), ("scm_refspec", refspec)):
        if str(value).startswith("-"):
            raise GitFailure("%s %r starts with '-': git would read it as an option" % (name, value),
                             "git", 129, stderr="error: unknown option `%s'\n" % str(value).lstrip("-"))
    heads = _checked(["ls-remote", repo, "-h", "refs/heads/%s" % version])
    _checked(["clone", "--quiet", "--no-checkout", "--origin", "origin", repo, dest])
    if refspec:
        _checked(["fetch", "--quiet", "origin", refspec], cwd=dest)
    if heads.strip():
        candidate = "refs/remotes/origin/%s" % version
    else:
        candidate = version  # HEAD, a tag, a commit (also abbreviated), origin/<branch>
    revision = ""
    if not candidate.startswith("-"):
        rc, out, _err, _line = _git(["rev-parse", "--verify", "--quiet", "%s^{commit}" % candidate], cwd=dest)
        revision = out.strip() if rc == 0 else ""
    if not revision:
        line = "git checkout --force %s" % version
        if version == "HEAD":
            raise GitFailure("Failed to checkout branch HEAD", line, 1,
                             stderr="fatal: the repository has no commit to check out\n")
        raise GitFailure("Failed to checkout %s" % version, line, 1,
                         stderr="error: pathspec '%s' did not match any file(s) known to git\n" % version)
    _checked(["-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", revision], cwd=dest)
    return revision


def slug(name):
    """Django's slugify with AWX's ``-`` to ``_`` (Project.local_path is ``_<id>__<slug>``)."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text.lower())
    return re.sub(r"[-\s]+", "-", text).strip("-_").replace("-", "_")
