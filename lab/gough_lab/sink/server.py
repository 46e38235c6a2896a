"""The sink's HTTP server: every POST becomes one JSON line in the notifications file."""

import email
import email.policy
import json
import logging
import os
import socketserver
import threading
import time
from urllib.parse import urlsplit

from gough_lab.common.http import LabHTTPServer, LabRequestHandler, read_raw_body, write_file

LOG = logging.getLogger("gough_lab.sink")
# Headers whose values are credentials: recorded as "<scheme> <redacted>" (or "<redacted>"), never in clear.
SECRET_HEADERS = frozenset(("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
                            "x-auth-token", "x-gitlab-token", "x-hub-signature", "x-hub-signature-256"))
REDACTED = "<redacted>"
MAX_BODY = 4 * 1024 * 1024
MAX_LINE = 1000  # RFC 5321 section 4.5.3.1.6: a text line is at most 1000 octets with CRLF


def redact_headers(headers):
    """{name: value} of the request headers, credentials replaced by <redacted> (the auth scheme is kept)."""
    found = {}
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            scheme, sep, _rest = value.partition(" ")
            value = "%s %s" % (scheme, REDACTED) if sep and name.lower().endswith("authorization") else REDACTED
        found[name] = value
    return found


def utc_now():
    """The current time as RFC 3339 UTC with milliseconds."""
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (int(now * 1000) % 1000)


class NotificationLog:
    """The JSON-lines file: one record per notification, appended under a lock and flushed at once."""

    def __init__(self, path):
        """Create ``path`` (mode 0644: it holds no credentials) when missing."""
        self.path = os.path.abspath(path)
        self.lock = threading.Lock()
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        if not os.path.exists(self.path):
            write_file(self.path, "", mode=0o644)
        self.count = 0

    def append(self, record):
        """Write one record as a line."""
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        with self.lock:
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
            self.count += 1

    def read(self):
        """The file's bytes."""
        with self.lock, open(self.path, "rb") as handle:
            return handle.read()


class Sink:
    """The sink: an HTTP server thread and its notification log."""

    def __init__(self, file, listen=("127.0.0.1", 0), state_dir=None, tls_cert=None, tls_key=None, smtp_listen=None):
        """Serve HTTP on ``listen`` (and SMTP on ``smtp_listen``); ``state_dir`` gets a ``url`` file once serving
        (what the test launcher waits for) and, with SMTP, an ``smtp`` file with HOST:PORT."""
        self.log = NotificationLog(file)
        self.smtp = SMTPServer(smtp_listen, self.log) if smtp_listen else None
        self.state_dir = os.path.abspath(state_dir) if state_dir else None
        self.server = LabHTTPServer(listen, Handler, self)
        self.scheme = "http"
        if tls_cert:
            self.server.wrap_tls(tls_cert, tls_key)
            self.scheme = "https"
        self.thread = None

    @property
    def url(self):
        """Base URL of the sink."""
        host, port = self.server.server_address[:2]
        return "%s://%s:%d" % (self.scheme, "127.0.0.1" if host == "0.0.0.0" else host, port)

    def start(self):
        """Serve in a background thread, then publish the ``url`` file."""
        self.thread = threading.Thread(target=self.server.serve_forever, name="sink", daemon=True)
        self.thread.start()
        if self.smtp is not None:
            threading.Thread(target=self.smtp.serve_forever, name="sink-smtp", daemon=True).start()
            LOG.info("sink SMTP listening on %s:%d", *self.smtp.server_address[:2])
        if self.state_dir:
            os.makedirs(self.state_dir, exist_ok=True)
            if self.smtp is not None:
                write_file(os.path.join(self.state_dir, "smtp"), "%s:%d\n" % self.smtp.server_address[:2], mode=0o644)
            write_file(os.path.join(self.state_dir, "url"), self.url + "\n", mode=0o644)
        LOG.info("sink listening on %s, recording to %s", self.url, self.log.path)

    def stop(self):
        """Stop serving and withdraw the ``url`` file."""
        if self.state_dir:
            try:
                os.unlink(os.path.join(self.state_dir, "url"))
            except FileNotFoundError:
                pass
        self.server.shutdown()
        self.server.server_close()
        if self.smtp is not None:
            self.smtp.shutdown()
            self.smtp.server_close()


class Handler(LabRequestHandler):
    """POST (or PUT) anywhere: record and answer 200 "ok"; GET /healthz and /notifications.jsonl."""

    logger = LOG
    server_version = "gough-lab-sink"

    def _send(self, status, body, content_type="application/json", headers=None):
        self._send_bytes(status, body if isinstance(body, bytes) else json.dumps(body).encode(), content_type,
                         headers)

    def _handle(self):
        sink = self.server.emulator
        parts = urlsplit(self.path)
        if self.command == "GET":
            if parts.path == "/healthz":
                return self._send(200, {"ok": True, "notifications": sink.log.count})
            if parts.path in ("/notifications", "/notifications.jsonl"):
                return self._send(200, sink.log.read(), "application/x-ndjson")
            return self._send(404, {"error": "GET serves /healthz and /notifications.jsonl; POST records"})
        if self.command not in ("POST", "PUT"):
            self.close_connection = True
            return self._send(405, {"error": "method not allowed"}, headers={"Allow": "GET, POST, PUT"})
        declared = self.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY:
            self.close_connection = True
            return self._send(413, {"error": "body larger than %d bytes" % MAX_BODY})
        raw = read_raw_body(self)
        record = {"time": utc_now(), "method": self.command, "path": parts.path, "query": parts.query,
                  "remote": self.client_address[0], "headers": redact_headers(self.headers)}
        text = raw.decode("utf-8", "replace")
        try:
            record["body"] = json.loads(text) if text else None
        except ValueError:
            record["body_text"] = text
        sink.log.append(record)
        LOG.info("%s %s recorded (%d bytes)", self.command, parts.path, len(raw))
        # Slack's and Mattermost's incoming webhooks answer "ok" as text, and Alertmanager's Slack notifier takes
        # anything else as an error; webhook receivers look at the status only.
        return self._send(200, b"ok", "text/plain; charset=utf-8")


# --- SMTP: Alertmanager's email receiver delivers here in the lab -------------------------------------------------

class SMTPServer(socketserver.ThreadingTCPServer):
    """A minimal SMTP server (RFC 5321 subset: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, log):
        """Record every message into ``log`` (a NotificationLog)."""
        self.log = log
        super().__init__(address, SMTPHandler)


class SMTPHandler(socketserver.StreamRequestHandler):
    """One SMTP session; every accepted message becomes one record with path ``smtp``."""

    timeout = 60

    def _reply(self, text):
        self.wfile.write(text.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def _data(self):
        lines = []
        size = 0
        while True:
            line = self.rfile.readline(MAX_LINE + 2)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            size += len(line)
            if size > MAX_BODY:
                return False
            line = line[1:] if line.startswith(b"..") else line  # undo dot-stuffing
            lines.append(line[:-2] + b"\n" if line.endswith(b"\r\n") else line)  # CRLF becomes a newline

    def handle(self):
        """Talk SMTP until QUIT or the client goes away."""
        self._reply("220 gough-lab-sink ESMTP")
        sender, recipients, greeted = None, [], False
        while True:
            line = self.rfile.readline(MAX_LINE + 2)
            if not line:
                return
            command, _sep, argument = line.decode("utf-8", "replace").strip().partition(" ")
            verb = command.upper()
            if verb == "EHLO":
                greeted = True
                self._reply("250-gough-lab-sink\r\n250-8BITMIME\r\n250 SIZE %d" % MAX_BODY)
            elif verb == "HELO":
                greeted = True
                self._reply("250 gough-lab-sink")
            elif verb == "MAIL" and argument.upper().startswith("FROM:"):
                if not greeted:
                    self._reply("503 5.5.1 EHLO or HELO first")
                    continue
                sender, recipients = _address(argument[5:]), []
                self._reply("250 2.1.0 OK")
            elif verb == "RCPT" and argument.upper().startswith("TO:"):
                if sender is None:
                    self._reply("503 5.5.1 MAIL first")
                    continue
                recipients.append(_address(argument[3:]))
                self._reply("250 2.1.5 OK")
            elif verb == "DATA":
                if sender is None or not recipients:
                    self._reply("503 5.5.1 MAIL and RCPT first")
                    continue
                self._reply("354 End data with <CR><LF>.<CR><LF>")
                data = self._data()
                if data is None:
                    return
                if data is False:
                    self._reply("552 5.3.4 message larger than %d bytes" % MAX_BODY)
                else:
                    self.server.log.append(_mail_record(sender, recipients, data, self.client_address[0]))
                    LOG.info("SMTP message from %s to %s recorded", sender, ", ".join(recipients))
                    self._reply("250 2.0.0 OK: recorded")
                sender, recipients = None, []
            elif verb == "RSET":
                sender, recipients = None, []
                self._reply("250 2.0.0 OK")
            elif verb == "NOOP":
                self._reply("250 2.0.0 OK")
            elif verb == "QUIT":
                self._reply("221 2.0.0 Bye")
                return
            else:
                self._reply("502 5.5.2 command not implemented")


def _address(text):
    text = text.strip()
    return text[1:text.index(">")] if text.startswith("<") and ">" in text else text.split()[0] if text else ""


def _mail_record(sender, recipients, data, remote):
    message = email.message_from_bytes(data, policy=email.policy.default)
    part = message.get_body(preferencelist=("plain", "html"))
    try:
        text = part.get_content() if part is not None else ""
    except (LookupError, ValueError):
        text = ""
    headers = redact_headers({name: str(value) for name, value in message.items()})
    return {"time": utc_now(), "method": "SMTP", "path": "smtp", "query": "", "remote": remote,
            "smtp": {"mail_from": sender, "rcpt_to": recipients}, "headers": headers,
            "body_text": text if len(text) <= 65536 else text[:65536]}
