"""Start the lab's webhook sink from tests: ``start_sink(state_dir)`` returns a running SinkProcess."""

import json
import os
import urllib.request

from gough_lab.common.testing import SubprocessEmulator

__all__ = ["SinkProcess", "start_sink", "read_notifications"]


def read_notifications(path):
    """The records of a sink's JSON-lines file (a partly written last line is left out)."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]


class SinkProcess(SubprocessEmulator):
    """A running ``gough-lab sink serve``: .url, .file, .smtp (host, port) or None, .notifications(), .post()."""

    SERVICE = "sink"

    def __init__(self, state_dir, args, env, timeout, listen):
        """Start the sink recording to ``<state_dir>/notifications.jsonl``."""
        self.file = os.path.join(str(state_dir), "notifications.jsonl")
        self.smtp = None
        super().__init__(state_dir, list(args) + ["--file", self.file], env, timeout, listen)

    def _started(self):
        super()._started()
        smtp = os.path.join(self.state_dir, "smtp")
        self.smtp = tuple(self._read("smtp").rsplit(":", 1)) if os.path.exists(smtp) else None
        if self.smtp:
            self.smtp = (self.smtp[0], int(self.smtp[1]))

    def notifications(self):
        """Every record so far."""
        return read_notifications(self.file)

    def post(self, path, body, headers=None, raw=None):
        """POST ``body`` (JSON) or ``raw`` bytes to the sink; returns (status, answer text)."""
        data = raw if raw is not None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method="POST",
                                         headers=dict({"Content-Type": "application/json"}, **(headers or {})))
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8")


def start_sink(state_dir, *, listen="127.0.0.1:0", smtp_listen=None, env=None, timeout=30, extra_args=()):
    """Start ``gough-lab sink serve`` with ``state_dir`` (and SMTP on ``smtp_listen``) and return a SinkProcess."""
    os.makedirs(str(state_dir), exist_ok=True)
    args = list(extra_args) + (["--smtp-listen", smtp_listen] if smtp_listen else [])
    return SinkProcess(state_dir, args, env, timeout, listen)
