"""Base of the test helpers that run an emulator as a subprocess (``python -m gough_lab.cli SERVICE serve``).

Tests can stop it, ``kill -9`` it and restart it on the same state directory; the emulator writes its ``url``
file last, so the helper waits for that file.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Set by tools/test_lanes.sh (make test), which sets up the engine, the images and the tools first: what a test
# needs from the lab is then a failure when missing, not a skip that would leave a CI run green with nothing run.
REQUIRE_LAB = "GOUGH_TEST_REQUIRE_LAB"


def lab_missing(reason):
    """Skip the calling test because the lab lacks something (``reason`` says what, and how to get it), or fail it
    when ``GOUGH_TEST_REQUIRE_LAB`` is set, as ``make test`` sets it."""
    import pytest  # pylint: disable=import-outside-toplevel
    if os.environ.get(REQUIRE_LAB):
        pytest.fail("%s (%s is set: make test provides this)" % (reason, REQUIRE_LAB), pytrace=False)
    pytest.skip(reason)


def link_collection(root, collections):
    """Make ``<collections>/ansible_collections/gough/gough`` a link to the working tree ``root`` (once; safe when
    another process makes it at the same time) and return ``collections``, for ANSIBLE_COLLECTIONS_PATH."""
    link = os.path.join(str(collections), "ansible_collections", "gough", "gough")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(str(root), link)
        except FileExistsError:
            pass
    return str(collections)


def run_bench_playbook(directory, play, inventory, forks, collections):
    """Write ``play`` to ``<directory>/play.yml`` and run it with this interpreter's ansible-playbook, quietly (no
    colour, host key checks or warnings) and with ``collections`` as ANSIBLE_COLLECTIONS_PATH. Returns (wall
    seconds, stdout); raises SystemExit with the end of its output if the play fails. For the benches."""
    path = os.path.join(directory, "play.yml")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(play)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1",
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
               ANSIBLE_DEPRECATION_WARNINGS="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    command = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory, "--forks",
               str(forks), path]
    began = time.monotonic()
    process = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - began
    if process.returncode != 0:
        raise SystemExit("ansible-playbook failed (%d):\n%s\n%s"
                         % (process.returncode, process.stdout[-5000:], process.stderr[-3000:]))
    return wall, process.stdout


class EmulatorError(RuntimeError):
    """The emulator did not start, or a lab endpoint failed."""


class SubprocessEmulator:
    """A running emulator subprocess; subclasses set SERVICE and read their files in ``_started``."""

    SERVICE = None
    # True: an HTTP error from a /_lab endpoint raises EmulatorError; False: urllib's HTTPError as is.
    LAB_ERRORS_AS_EMULATOR_ERROR = True

    def __init__(self, state_dir, args=(), env=None, timeout=30, listen="127.0.0.1:0"):
        """Start the emulator with ``args`` (extra CLI arguments) and wait for its url file."""
        self.state_dir = str(state_dir)
        self._args = list(args)
        self._env = env
        self._timeout = timeout
        self._listen = listen
        self._log = None
        self.process = None
        self.url = None
        self._start()

    def _read(self, name):
        with open(os.path.join(self.state_dir, name), encoding="utf-8") as handle:
            return handle.read().strip()

    def _started(self):
        """Read what the emulator published (the url file exists)."""
        self.url = self._read("url")

    def _start(self):
        url_file = os.path.join(self.state_dir, "url")
        if os.path.exists(url_file):
            os.unlink(url_file)
        env = dict(os.environ if self._env is None else self._env)
        env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        os.makedirs(self.state_dir, mode=0o700, exist_ok=True)
        log_fd = os.open(os.path.join(self.state_dir, "emulator.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._log = os.fdopen(log_fd, "ab")
        command = [sys.executable, "-m", "gough_lab.cli", self.SERVICE, "serve", "--listen", self._listen,
                   "--state", self.state_dir] + self._args
        self.process = subprocess.Popen(command, env=env, stdout=self._log, stderr=self._log)  # pylint: disable=consider-using-with
        deadline = time.monotonic() + self._timeout
        while not os.path.exists(url_file):
            if self.process.poll() is not None:
                raise EmulatorError("emulator exited with %s; log: %s" % (self.process.returncode, self.tail_log()))
            if time.monotonic() > deadline:
                self.kill()
                raise EmulatorError("emulator did not write %s within %ss; log: %s"
                                    % (url_file, self._timeout, self.tail_log()))
            time.sleep(0.02)
        self._started()

    def tail_log(self):
        """The end of the emulator's log."""
        try:
            with open(os.path.join(self.state_dir, "emulator.log"), "rb") as handle:
                return handle.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def _lab_base(self):
        """The URL the /_lab endpoints hang off."""
        return self.url

    def _ssl_context(self):
        """The SSLContext for /_lab requests (None: plain HTTP)."""
        return None

    def _lab(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self._lab_base() + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(request, timeout=30, context=self._ssl_context()) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            if not self.LAB_ERRORS_AS_EMULATOR_ERROR:
                raise
            raise EmulatorError("%s %s: %s %s" % (method, path, exc.code, exc.read()[:300])) from exc
        return json.loads(payload) if payload else None

    def stats(self):
        """The emulator's request counters (GET /_lab/stats)."""
        return self._lab("GET", "/_lab/stats")

    def reset_stats(self):
        """Zero the counters (DELETE /_lab/stats)."""
        self._lab("DELETE", "/_lab/stats")

    def _close_log(self):
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self):
        """SIGTERM the emulator and wait for it to exit."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._close_log()

    def kill(self):
        """SIGKILL the emulator (simulates a crash) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._close_log()

    def restart(self):
        """Start the emulator again on the same state directory (stopping it first if it runs)."""
        self.stop()
        self._start()
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop()


class ConfigurableEmulator(SubprocessEmulator):
    """An emulator with runtime settings at /_lab/config."""

    def configure(self, **changes):
        """Change timings, intervals or fault rates at runtime (PUT /_lab/config); returns the whole config."""
        return self._lab("PUT", "/_lab/config", changes)

    def config(self):
        """The current settings (GET /_lab/config)."""
        return self._lab("GET", "/_lab/config")
