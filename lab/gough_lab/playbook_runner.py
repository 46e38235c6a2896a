"""The one way the tests run a playbook: ansible-runner with a private data directory, as AWX runs a job.

``run_playbook`` lays the private data directory out as AWX does (``inventory/``, ``env/extravars``,
``env/envvars``, ``env/cmdline``, ``env/ssh_key``), calls ``ansible_runner.run`` and returns a ``PlaybookRun``: the
return code and status, the job events, the job's stdout as AWX's job output shows it, and views the tests assert on
(the recap per host, the results of a task per host, the failed results' messages).

The job's environment is written by ansible-runner to ``artifacts/<ident>/command``, so secrets must reach a job as
files in the private data directory (what AWX's credential ``file`` injectors do) or as extra variables (the
``env/extravars`` file, outside the artifacts), never as environment variables or on the command line.
"""

import json
import os
import shlex
import shutil
import sys
import uuid

# The checkout: project directory of the jobs (playbooks/ and lab/playbooks/ are relative to it).
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.dirname(sys.executable)
# Jobs that run on the controller: localhost with this Python (the venv's, with the collection's dependencies).
LOCALHOST = {"all": {"hosts": {"localhost": {"ansible_connection": "local",
                                             "ansible_python_interpreter": sys.executable}}}}
RESULT_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


class PlaybookRun:
    """The outcome of one job: ``rc``, ``status`` (successful, failed, timeout...), ``events`` (ansible-runner's
    job events, in order), ``stdout`` (the job output), ``artifact_dir`` and ``private_data_dir``."""

    def __init__(self, runner, private_data_dir):
        self.rc = runner.rc
        self.status = runner.status
        self.events = list(runner.events)
        with runner.stdout as handle:
            self.stdout = handle.read()
        self.artifact_dir = runner.config.artifact_dir
        self.private_data_dir = private_data_dir

    @property
    def output(self):
        """The end of the job output, for assertion messages."""
        return self.stdout[-9000:]

    @property
    def stats(self):
        """{host: {ok, changed, failures, unreachable, skipped, rescued, ignored}} from the recap (every host the
        run processed, zeros included), as the JSON callback's ``stats``."""
        data = {}
        for event in self.events:
            if event.get("event") == "playbook_on_stats":
                data = event["event_data"]
        names = {"ok": "ok", "changed": "changed", "failures": "failures", "dark": "unreachable",
                 "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
        return {host: {name: (data.get(key) or {}).get(host, 0) for key, name in names.items()}
                for host in data.get("processed") or {}}

    def changed(self):
        """{host: number of changed tasks} of the recap."""
        return {host: counters["changed"] for host, counters in self.stats.items()}

    @property
    def plays(self):
        """The plays and their tasks' results per host, built from the job events in the shape of the
        ``ansible.posix.json`` callback's ``plays``: [{"play": {"name"}, "tasks": [{"task": {"name"}, "hosts":
        {host: result}}]}]."""
        plays, tasks = [], {}
        for event in self.events:
            data = event.get("event_data", {})
            if event.get("event") == "playbook_on_play_start":
                plays.append({"play": {"name": data.get("name", "")}, "tasks": []})
                tasks = {}
            elif event.get("event") == "playbook_on_task_start" and plays:
                task = {"task": {"name": data.get("name", "")}, "hosts": {}}
                tasks[data.get("uuid")] = task
                plays[-1]["tasks"].append(task)
            elif event.get("event") in RESULT_EVENTS and plays:
                task = tasks.get(data.get("task_uuid"))
                if task is None:
                    task = {"task": {"name": data.get("task", "")}, "hosts": {}}
                    tasks[data.get("task_uuid")] = task
                    plays[-1]["tasks"].append(task)
                result = dict(data.get("res") or {})
                # The event type says what the callback's result leaves out.
                if event["event"] == "runner_on_failed":
                    result.setdefault("failed", True)
                if event["event"] == "runner_on_skipped":
                    result.setdefault("skipped", True)
                if event["event"] == "runner_on_unreachable":
                    result.setdefault("unreachable", True)
                task["hosts"][data.get("host")] = result
        return plays

    def task_results(self, name):
        """{host: result} of the task called ``name`` (the last one that ran, when several have the name)."""
        found = {}
        for play in self.plays:
            for task in play["tasks"]:
                if task["task"]["name"] == name:
                    found = task["hosts"]
        return found

    def failures(self):
        """The messages of the failed tasks (and failed loop items), in one text."""
        found = []
        for play in self.plays:
            for task in play["tasks"]:
                for result in task["hosts"].values():
                    for item in [result] + list(result.get("results") or []):
                        if isinstance(item, dict) and item.get("failed"):
                            found.append(str(item.get("msg", "")))
        return "\n".join(found)

    def host_events(self, host, *names):
        """The events of ``host`` whose type is one of ``names`` (runner_on_ok, runner_on_failed...)."""
        return [event for event in self.events
                if event.get("event") in names and event.get("event_data", {}).get("host") == host]

    def artifact(self, name):
        """The text of ``artifacts/<ident>/<name>`` (status, rc, stdout...)."""
        with open(os.path.join(self.artifact_dir, name), encoding="utf-8") as handle:
            return handle.read()

    def artifacts_holding(self, secrets):
        """The artifact files (relative paths) holding any of ``secrets``; names the files, never the secrets."""
        found = []
        wanted = [secret.encode() for secret in secrets if secret]
        for folder, _dirs, files in os.walk(self.artifact_dir):
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.isfile(path):  # the ssh key's FIFO is gone after the run; skip any other special file
                    continue
                with open(path, "rb") as handle:
                    content = handle.read()
                if any(secret in content for secret in wanted):
                    found.append(os.path.relpath(path, self.artifact_dir))
        return sorted(found)


def split_options(args):
    """ansible-playbook options as a job's parts: (inventory paths, extra variables, other options). ``-e k=v`` and
    ``-e <JSON>`` become extra variables (env/extravars, later ones win as on the command line), ``-i`` inventory;
    ``-e @file`` and everything else stay options (env/cmdline)."""
    inventory, extravars, options = [], {}, []
    args = list(args)
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-e", "--extra-vars", "-i", "--inventory") and index + 1 < len(args):
            value = args[index + 1]
            index += 2
            if arg in ("-i", "--inventory"):
                inventory.append(value)
            elif value.startswith("@"):
                options += [arg, value]
            elif value.lstrip().startswith("{"):
                extravars.update(json.loads(value))
            else:
                for pair in shlex.split(value):
                    key, _sep, val = pair.partition("=")
                    extravars[key] = val
            continue
        options.append(arg)
        index += 1
    return inventory, extravars, options


def _copy_inventory(source, private_data_dir):
    """Copy an inventory file or directory into ``<private_data_dir>/inventory/``, keeping file modes."""
    target = os.path.join(private_data_dir, "inventory")
    if os.path.isdir(source):
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        os.makedirs(target, mode=0o700, exist_ok=True)
        shutil.copy2(source, os.path.join(target, os.path.basename(source)))


def run_playbook(playbook, private_data_dir, *args, inventory=None, extravars=None, envvars=None, limit=None,
                 ssh_key=None, collections=None, project_dir=ROOT, timeout=1800, ident=None, event_handler=None):
    """Run ``playbook`` (a path, or relative to ``project_dir``) through ``ansible_runner.run`` in
    ``private_data_dir`` (created 0700); returns a ``PlaybookRun``.

    ``args`` are ansible-playbook options, split as ``split_options`` says. ``inventory``: a dict (written as
    ``inventory/hosts.json``) or the path of an inventory file or directory (copied into ``inventory/``); ``-i``
    paths in ``args`` are copied the same way. ``extravars`` (env/extravars) and ``envvars`` (env/envvars) are
    dicts; ``collections`` sets ANSIBLE_COLLECTIONS_PATH; ``ssh_key`` is a private key ansible-runner loads into
    an ssh-agent; ``timeout`` is the job timeout in seconds (status "timeout" when hit)."""
    import ansible_runner  # pylint: disable=import-outside-toplevel  # only tests that run playbooks need it

    paths, more_vars, options = split_options(args)
    os.makedirs(private_data_dir, mode=0o700, exist_ok=True)
    if isinstance(inventory, str):
        paths.insert(0, inventory)
        inventory = None
    for path in paths:
        _copy_inventory(path, private_data_dir)
    variables = dict(extravars or {})
    variables.update(more_vars)
    environment = {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
                   "PATH": BIN + os.pathsep + os.environ.get("PATH", "")}
    if collections:
        environment["ANSIBLE_COLLECTIONS_PATH"] = collections
    environment.update(envvars or {})
    kwargs = {"private_data_dir": private_data_dir, "project_dir": project_dir,
              "playbook": os.path.join(project_dir, playbook), "ident": ident or uuid.uuid4().hex[:12],
              "extravars": variables, "envvars": environment, "quiet": True, "timeout": timeout}
    if inventory is not None:
        kwargs["inventory"] = inventory
    if options:
        kwargs["cmdline"] = " ".join(shlex.quote(option) for option in options)
    if limit:
        kwargs["limit"] = limit
    if ssh_key:
        kwargs["ssh_key"] = ssh_key
    if event_handler:
        kwargs["event_handler"] = event_handler
    runner = ansible_runner.run(**kwargs)
    return PlaybookRun(runner, private_data_dir)
