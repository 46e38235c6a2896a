"""Start the lab's AWX emulator from tests: ``start_awx_emulator(state_dir)`` returns a running AWXEmulator.

The emulator runs as a subprocess (``python -m gough_lab.cli awx serve --listen 127.0.0.1:0``); its state
directory keeps the objects, so ``restart()`` serves the same AWX again.
"""

import base64
import json
import os
import subprocess
import urllib.error
import urllib.request

from gough_lab.common.testing import LAB_ROOT, EmulatorError, SubprocessEmulator

from .store import read_state

__all__ = ["LAB_ROOT", "EmulatorError", "AWXClient", "AWXEmulator", "git_repository", "start_awx_emulator"]


class AWXClient:
    """A small JSON client of the emulator's API; ``auth`` is an Authorization header value or None."""

    def __init__(self, url, auth=None):
        """``url``: the emulator's base URL (no /api/)."""
        self.url = url
        self.auth = auth

    @classmethod
    def basic(cls, url, username, password):
        """A client that logs in with a username and password."""
        return cls(url, "Basic " + base64.b64encode(("%s:%s" % (username, password)).encode()).decode())

    def call(self, method, path, body=None, headers=None):
        """(status, JSON body or None) of one request; ``path`` is under /api/v2/ unless it starts with /."""
        full = self.url + (path if path.startswith("/") else "/api/v2/" + path)
        data = json.dumps(body).encode() if body is not None else None
        sent = {"Content-Type": "application/json"} if data is not None else {}
        if self.auth:
            sent["Authorization"] = self.auth
        sent.update(headers or {})
        request = urllib.request.Request(full, data=data, method=method, headers=sent)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                return response.status, (json.loads(payload) if payload else None)
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            return exc.code, (json.loads(payload) if payload else None)

    def get(self, path):
        """GET: (status, body)."""
        return self.call("GET", path)

    def post(self, path, body=None):
        """POST a JSON body ({} by default): (status, body)."""
        return self.call("POST", path, {} if body is None else body)

    def patch(self, path, body):
        """PATCH: (status, body)."""
        return self.call("PATCH", path, body)

    def delete(self, path):
        """DELETE: (status, body)."""
        return self.call("DELETE", path)

    def create(self, path, body):
        """POST that must answer 201; returns the body."""
        status, data = self.post(path, body)
        if status != 201:
            raise AssertionError("POST %s answered %s: %s" % (path, status, data))
        return data

    def one(self, collection, name):
        """The object of ``collection`` named ``name`` (exactly one must exist)."""
        status, data = self.get("%s/?name=%s" % (collection, urllib.request.quote(name)))
        if status != 200 or data["count"] != 1:
            raise AssertionError("%s named %r: %s %s" % (collection, name, status, data))
        return data["results"][0]


class AWXEmulator(SubprocessEmulator):
    """A running AWX emulator: .url (no /api/), .token, .username, .password, .stats(), .stop()."""

    SERVICE = "awx"
    LAB_ERRORS_AS_EMULATOR_ERROR = False

    def __init__(self, state_dir, env=None, timeout=30, project_checkout=None, projects_root=None,
                 remote_host_headers=(), listen="127.0.0.1:0"):
        """Start ``gough-lab awx serve`` on ``listen`` (a free 127.0.0.1 port by default) and wait for its url
        file."""
        self.token = self.username = self.password = None
        args = []
        for name in remote_host_headers:
            args += ["--remote-host-header", name]
        if project_checkout is not None:
            args += ["--project-checkout", str(project_checkout)]
        if projects_root is not None:
            args += ["--projects-root", str(projects_root)]
        super().__init__(state_dir, args, env, timeout, listen=listen)

    def _started(self):
        super()._started()
        self.token = self._read("token")
        admin = json.loads(self._read("admin.json"))
        self.username, self.password = admin["username"], admin["password"]

    def _tail(self):
        return self.tail_log()

    def client(self, username=None, password=None):
        """An AWXClient: the admin's bearer token by default, or Basic auth as ``username``."""
        if username is None:
            return AWXClient(self.url, "Bearer " + self.token)
        return AWXClient.basic(self.url, username, password)

    def hold_project_updates(self, hold=True):
        """While held, project updates stay pending, as when no AWX worker runs them; releasing runs them.
        Returns {"hold", "pending": [update ids still pending]}."""
        return self._lab("POST", "/_lab/project_updates", {"hold": hold})

    def callbacks(self):
        """Every provisioning callback received: template, remote_host, host (when one matched), status, answer,
        job (the job it created, or None), at."""
        return self._lab("GET", "/_lab/callbacks")

    def jobs(self):
        """Every job and workflow job launched (``table`` is "jobs" or "workflow_jobs"), oldest first."""
        return self._lab("GET", "/_lab/jobs")

    def set_job_status(self, job_id, status):
        """Move a recorded job to ``status`` (running, successful, failed...), as AWX's dispatcher would."""
        return self._lab("POST", "/_lab/jobs/%s" % job_id, {"status": status})

    def runner_args(self, job_id, private_data_dir):
        """What AWX hands ansible-runner for job ``job_id``, as keyword arguments of ``ansible_runner.run`` (the
        caller adds ``project_dir``). The emulator runs nothing; a test that runs the job itself uses this.

        Like AWX's RunJob: the inventory is the job's inventory with each host's variables, ``limit`` and
        ``playbook`` are the job's, extra variables are the job's (template and launch) plus what the credentials'
        ``extra_vars`` injectors give; ``env`` injectors become environment variables and ``file`` injectors files in
        the private data directory (mode 0600), whose paths ``tower.filename`` names; a Machine credential gives the
        SSH key (ansible-runner loads it into an ssh-agent) and ``-u`` its username."""
        # pylint: disable-next=import-outside-toplevel  # only tests that run jobs need Jinja2
        from jinja2 import StrictUndefined, sandbox

        state = read_state(self.state_dir)
        objects = state["objects"]
        job = state["jobs"][str(job_id)]
        extravars = _as_dict(job["extra_vars"])
        envvars, cmdline, ssh_key = {}, [], None
        environment = sandbox.SandboxedEnvironment(undefined=StrictUndefined)
        os.makedirs(private_data_dir, mode=0o700, exist_ok=True)
        for credential_id in job.get("credentials", []):
            credential = objects["credentials"][str(credential_id)]
            ctype = objects["credential_types"][str(credential["credential_type"])]
            inputs = dict(credential.get("inputs") or {})
            if ctype["kind"] == "ssh":
                ssh_key = inputs.get("ssh_key_data") or None
                if inputs.get("username"):
                    cmdline += ["-u", inputs["username"]]
                for field, option in (("become_method", "--become-method"), ("become_username", "--become-user")):
                    if inputs.get(field):
                        cmdline += [option, inputs[field]]
                continue
            for field in (ctype.get("inputs") or {}).get("fields", []):
                inputs.setdefault(field["id"], field.get("default", ""))
            injectors = ctype.get("injectors") or {}
            filenames = {}
            for name, template in (injectors.get("file") or {}).items():
                path = os.path.join(private_data_dir, "credential-%s-%s" % (credential_id, name.split(".", 1)[1]))
                with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", encoding="utf-8") as out:
                    out.write(environment.from_string(template).render(**inputs))
                filenames[name.split(".", 1)[1]] = path
            context = dict(inputs, tower={"filename": filenames}, awx={"filename": filenames})
            for name, template in (injectors.get("env") or {}).items():
                envvars[name] = environment.from_string(template).render(**context)
            for name, template in (injectors.get("extra_vars") or {}).items():
                extravars[name] = environment.from_string(template).render(**context)
        hosts = {}
        for host in objects["hosts"].values():
            if host["inventory"] == job["inventory"]:
                hosts[host["name"]] = _as_dict(host.get("variables"))
        return {"private_data_dir": private_data_dir, "playbook": job["playbook"], "limit": job["limit"] or None,
                "inventory": {"all": {"hosts": hosts}}, "extravars": extravars, "envvars": envvars,
                "ssh_key": ssh_key, "cmdline": " ".join(cmdline) or None}


def _as_dict(text):
    """A JSON or YAML mapping stored as text (extra_vars, host variables), or {}."""
    if isinstance(text, dict):
        return dict(text)
    if not text:
        return {}
    try:
        return json.loads(text)
    except ValueError:
        import yaml  # pylint: disable=import-outside-toplevel
        return yaml.safe_load(text) or {}


def start_awx_emulator(state_dir, *, env=None, timeout=30, project_checkout=None, projects_root=None,
                       remote_host_headers=(), listen="127.0.0.1:0"):
    """Start ``gough-lab awx serve`` with ``state_dir`` and return an AWXEmulator. ``project_checkout``: the git
    repository project updates check out for non-``file://`` SCM URLs (see git_repository); ``projects_root``:
    AWX's PROJECTS_ROOT for manual projects; ``remote_host_headers``: AWX's REMOTE_HOST_HEADERS (e.g. ["X-Forwarded-For", "REMOTE_ADDR"]); ``listen``:
    HOST:PORT (a lab network's gateway address, for callbacks from lab nodes)."""
    return AWXEmulator(state_dir, env=env, timeout=timeout, project_checkout=project_checkout,
                       projects_root=projects_root, remote_host_headers=remote_host_headers, listen=listen)


def git(directory, *args):
    """``git -C directory args`` with a fixed author and committer; returns its standard output."""
    command = ["git", "-c", "user.name=gough-lab", "-c", "user.email=gough-lab@example.invalid",
               "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false", "-c", "init.defaultBranch=main",
               "-C", str(directory)] + list(args)
    env = {name: value for name, value in os.environ.items() if not name.startswith("GIT_")}
    return subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=120).stdout


def git_repository(directory, branch="main", message="Project files"):
    """Make ``directory`` a git repository whose ``branch`` holds its files in one commit, so that an SCM
    project's update can check it out as AWX's does (a directory that is not a repository fails the update).
    Returns the commit's hash."""
    git(directory, "init", "--quiet", "--initial-branch", branch)
    git(directory, "add", "--all")
    git(directory, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(directory, "rev-parse", "HEAD").strip()
