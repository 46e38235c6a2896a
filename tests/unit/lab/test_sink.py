"""The lab's webhook sink (gough-lab sink serve/show): what it records, what it redacts, and its SMTP side."""

import json
import os
import smtplib
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from email.message import EmailMessage

import pytest

from gough_lab.common.testing import LAB_ROOT
from gough_lab.sink.testing import read_notifications, start_sink

ALERTMANAGER_PAYLOAD = {
    "version": "4", "status": "firing", "receiver": "gough-critical", "groupKey": "{}:{alertname=\"GoughAgentDown\"}",
    "truncatedAlerts": 0, "groupLabels": {"alertname": "GoughAgentDown", "instance": "node-01"},
    "commonLabels": {"alertname": "GoughAgentDown", "instance": "node-01", "severity": "critical"},
    "commonAnnotations": {"summary": "gough-agent on node-01 cannot be scraped"}, "externalURL": "https://am/",
    "alerts": [{"status": "firing", "labels": {"alertname": "GoughAgentDown", "instance": "node-01",
                                               "severity": "critical"},
                "annotations": {"summary": "gough-agent on node-01 cannot be scraped"},
                "startsAt": "2025-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "https://prometheus/graph", "fingerprint": "0123456789abcdef"}],
}


@pytest.fixture
def sink(tmp_path):
    """A sink with SMTP on a free port."""
    process = start_sink(tmp_path / "sink", smtp_listen="127.0.0.1:0")
    try:
        yield process
    finally:
        process.stop()


def test_every_post_is_one_json_line_with_time_path_and_body(sink):
    """Each POST is appended as one record: time, method, path, query, headers and the JSON body as sent. The answer
    is Slack's and Mattermost's incoming-webhook answer, "ok" as text (Alertmanager's Slack notifier checks it)."""
    assert sink.post("/webhook?source=test", ALERTMANAGER_PAYLOAD, {"User-Agent": "Alertmanager/0.28.1"}) == (200, "ok")
    assert sink.post("/chat", {"text": "hello"}) == (200, "ok")
    first, second = sink.notifications()
    assert first["method"] == "POST" and first["path"] == "/webhook" and first["query"] == "source=test"
    assert first["body"] == ALERTMANAGER_PAYLOAD
    assert first["headers"]["User-Agent"] == "Alertmanager/0.28.1"
    assert first["time"].endswith("Z") and first["time"][:2] == "20"
    assert second["path"] == "/chat" and second["body"] == {"text": "hello"}
    assert oct(os.stat(sink.file).st_mode & 0o777) == "0o644"


def test_credentials_in_headers_are_redacted_but_the_scheme_is_kept(sink):
    """An AWX launch request carries its token as a Bearer header: the record shows that a Bearer token came,
    never the token; cookies and API-key headers are redacted the same way."""
    token = "awx-token-4f9c2d71e0b3a6"
    sink.post("/awx/api/v2/job_templates/7/launch/", ALERTMANAGER_PAYLOAD,
              {"Authorization": "Bearer " + token, "Cookie": "sessionid=" + token, "X-Api-Key": token})
    record = sink.notifications()[0]
    assert record["headers"]["Authorization"] == "Bearer <redacted>"
    assert record["headers"]["Cookie"] == "<redacted>" and record["headers"]["X-Api-Key"] == "<redacted>"
    with open(sink.file, encoding="utf-8") as handle:
        assert token not in handle.read()
    assert token not in sink.tail_log()


def test_a_body_that_is_not_json_is_kept_as_text(sink):
    sink.post("/webhook", None, {"Content-Type": "text/plain"}, raw=b"plain words")
    record = sink.notifications()[0]
    assert record["body_text"] == "plain words" and "body" not in record


def test_get_serves_the_file_and_health(sink):
    """GET /notifications.jsonl returns the file as recorded; /healthz counts the notifications."""
    sink.post("/webhook", ALERTMANAGER_PAYLOAD)
    with urllib.request.urlopen(sink.url + "/notifications.jsonl", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/x-ndjson"
        lines = response.read().decode().splitlines()
    assert [json.loads(line)["body"] for line in lines] == [ALERTMANAGER_PAYLOAD]
    with urllib.request.urlopen(sink.url + "/healthz", timeout=10) as response:
        assert json.loads(response.read()) == {"ok": True, "notifications": 1}


def test_oversized_bodies_and_other_methods_are_refused(sink):
    """413 for a body over 4 MiB (announced by Content-Length), 405 with Allow for DELETE; nothing recorded."""
    host, port = sink.url.split("//")[1].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        # The answer comes before the body is sent (the sink does not read what it refuses).
        conn.sendall(b"POST /webhook HTTP/1.1\r\nHost: sink\r\nContent-Length: %d\r\n\r\n" % (4 * 1024 * 1024 + 1))
        assert conn.recv(100).startswith(b"HTTP/1.1 413 ")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(sink.url + "/webhook", method="DELETE"), timeout=10)  # pylint: disable=consider-using-with
    assert caught.value.code == 405 and caught.value.headers["Allow"] == "GET, POST, PUT"
    assert sink.notifications() == []


def test_concurrent_notifications_each_make_one_whole_line(sink):
    """Alertmanager sends to several receivers at once: 40 parallel POSTs give 40 intact records."""
    threads = [threading.Thread(target=sink.post, args=("/webhook/%d" % number, dict(ALERTMANAGER_PAYLOAD, n=number)))
               for number in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    records = read_notifications(sink.file)
    assert sorted(record["body"]["n"] for record in records) == list(range(40))


def test_records_survive_a_restart(sink):
    """The file is appended to, never truncated, when the sink starts again."""
    sink.post("/webhook", {"n": 1})
    sink.restart()
    sink.post("/webhook", {"n": 2})
    assert [record["body"]["n"] for record in sink.notifications()] == [1, 2]


def test_mail_over_smtp_is_recorded(sink):
    """Alertmanager's email receiver speaks SMTP: envelope, headers and the text body are recorded; a line that
    starts with a dot arrives as sent (dot-stuffing undone, RFC 5321 4.5.2)."""
    message = EmailMessage()
    message["From"] = "gough@example.invalid"
    message["To"] = "ops@example.invalid"
    message["Subject"] = "[FIRING:1] GoughAgentDown node-01"
    message.set_content("gough-agent on node-01 cannot be scraped\n.hidden line\n")
    with smtplib.SMTP(*sink.smtp, timeout=10) as client:
        client.send_message(message, to_addrs=["ops@example.invalid", "oncall@example.invalid"])
    record = sink.notifications()[0]
    assert record["method"] == "SMTP" and record["path"] == "smtp"
    assert record["smtp"] == {"mail_from": "gough@example.invalid",
                              "rcpt_to": ["ops@example.invalid", "oncall@example.invalid"]}
    assert record["headers"]["Subject"] == "[FIRING:1] GoughAgentDown node-01"
    assert record["body_text"] == "gough-agent on node-01 cannot be scraped\n.hidden line\n"


def test_smtp_refuses_commands_out_of_order(sink):
    """RCPT before MAIL and DATA before RCPT answer 503 (bad sequence of commands), as RFC 5321 4.3.2 says."""
    with smtplib.SMTP(*sink.smtp, timeout=10) as client:
        client.ehlo()
        assert client.rcpt("ops@example.invalid")[0] == 503
        assert client.mail("gough@example.invalid")[0] == 250
        assert client.docmd("DATA")[0] == 503
    assert sink.notifications() == []


def _show(*args):
    env = dict(os.environ, PYTHONPATH=LAB_ROOT)
    return subprocess.run([sys.executable, "-m", "gough_lab.cli", "sink", "show"] + list(args), env=env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_show_prints_one_line_per_notification(sink):
    """gough-lab sink show: Alertmanager payloads as status, receiver and each alert's name and instance;
    --path filters; --json prints the records as stored."""
    sink.post("/webhook", ALERTMANAGER_PAYLOAD)
    sink.post("/awx/api/v2/job_templates/7/launch/", ALERTMANAGER_PAYLOAD, {"Authorization": "Bearer secret"})
    result = _show(sink.file)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("POST /webhook firing [gough-critical] "
                             "GoughAgentDown{instance=node-01, severity=critical}")
    result = _show(sink.file, "--path", "/awx", "--json")
    assert [json.loads(line)["path"] for line in result.stdout.splitlines()] == ["/awx/api/v2/job_templates/7/launch/"]
    missing = _show(str(sink.file) + ".missing")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
