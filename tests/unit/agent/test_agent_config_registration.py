"""gough-agent configuration errors (exit 78, the field named) and the AWX provisioning callback (retries with
capped backoff against a local HTTPS server, then recorded once and never repeated)."""

import http.server
import json
import os
import ssl
import stat
import threading
import time
import urllib.parse

import pytest

from conftest import run_agent, write_config  # pylint: disable=import-error


@pytest.fixture
def tls_fields(pki):
    """The TLS part of a valid configuration."""
    return {"tls_cert": pki.server[0], "tls_key": pki.server[1], "tls_client_ca": pki.ca_cert}


@pytest.mark.parametrize("change,field", [
    ({"colour": "blue"}, "colour"),
    ({"port": "9555"}, "port"),
    ({"port": 70000}, "port"),
    ({"port": True}, "port"),
    ({"plain_http": "yes"}, "plain_http"),
    ({"tls_cert": ""}, "tls_cert"),
    ({"tls_key": "/nonexistent/agent.key"}, "tls_key"),
    ({"healthz_checks": ["cloud_init", "astrology"]}, "healthz_checks"),
    ({"healthz_checks": "cloud_init"}, "healthz_checks"),
    ({"cache_ttl": -1}, "cache_ttl"),
    ({"state_dir": "relative/dir"}, "state_dir"),
    ({"callback_url": "http://awx.example/api/v2/job_templates/1/callback/", "callback_host_config_key": "k"},
     "callback_url"),
    ({"callback_url": "https://awx.example/api/v2/job_templates/1/callback/"}, "callback_host_config_key"),
    ({"filesystem_max_used_percent": 0}, "filesystem_max_used_percent"),
    ({"scrapers": ["192.0.2.300"]}, "scrapers"),
    ({"scrapers": "192.0.2.10"}, "scrapers"),
    ({"scrapers": [10]}, "scrapers"),
    ({"max_connections_per_source": 0}, "max_connections_per_source"),
    ({"handshake_timeout": 0}, "handshake_timeout"),
    ({"idle_timeout": True}, "idle_timeout"),
])
def test_bad_configuration_exits_78_naming_the_field(tmp_path, tls_fields, change, field):
    config = dict(tls_fields, listen_address="127.0.0.1", port=0, state_dir=str(tmp_path / "state"))
    config.update(change)
    result = run_agent(write_config(str(tmp_path), config))
    assert result.returncode == 78
    assert result.stderr.startswith("<3>gough-agent: bad configuration in ")
    assert "field '%s'" % field in result.stderr or "fields '%s'" % field in result.stderr, result.stderr


def test_key_and_certificate_that_do_not_match_are_a_config_error(tmp_path, pki):
    config = {"tls_cert": pki.server[0], "tls_key": pki.client[1], "tls_client_ca": pki.ca_cert}
    result = run_agent(write_config(str(tmp_path), config))
    assert result.returncode == 78 and "fields 'tls_cert'/'tls_key'" in result.stderr


@pytest.mark.parametrize("content,message", [("{not json", "is not valid JSON"), ("[1, 2]", "must hold a JSON object")])
def test_unparsable_configuration_is_reported(tmp_path, content, message):
    path = tmp_path / "agent.json"
    path.write_text(content)
    result = run_agent(str(path))
    assert result.returncode == 78 and message in result.stderr


def test_missing_configuration_file_is_reported(tmp_path):
    result = run_agent(str(tmp_path / "absent.json"))
    assert result.returncode == 78 and "cannot read the configuration file" in result.stderr


def test_check_config_accepts_a_good_file_without_serving(tmp_path, tls_fields):
    path = write_config(str(tmp_path), dict(tls_fields, port=1))
    result = run_agent(path, "--check-config", timeout=10)
    assert result.returncode == 0 and "is valid" in result.stdout


class CallbackServer:
    """A local HTTPS AWX stand-in for one job template callback: answers ``codes`` in turn, then 201."""

    def __init__(self, pki, codes):
        self.codes = list(codes)
        self.calls = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802  pylint: disable=invalid-name
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                outer.calls.append({"path": self.path, "time": time.monotonic(), "form": urllib.parse.parse_qs(body),
                                    "content_type": self.headers.get("Content-Type")})
                code = outer.codes.pop(0) if outer.codes else 201
                payload = b"" if code == 201 else b'{"msg": "No matching host could be found!"}'
                self.send_response(code)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):  # pylint: disable=arguments-differ
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*pki.server)
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.url = "https://127.0.0.1:%d/api/v2/job_templates/42/callback/" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


def wait_for(predicate, timeout=15):
    """Poll until predicate() is true (bounded)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_callback_retries_with_backoff_then_records_once(agent_factory, pki, tmp_path):
    awx = CallbackServer(pki, [503, 400, 502])
    key = "cb-key-0d5e"
    settings = {"callback_url": awx.url, "callback_host_config_key": key, "callback_ca_file": pki.ca_cert,
                "callback_wait_cloud_init": False, "callback_backoff_initial": 0.2, "callback_backoff_max": 0.4,
                "callback_max_attempts": 6}
    try:
        agent = agent_factory(**settings)
        state_file = tmp_path / "state" / "registration.json"
        wait_for(state_file.exists)
        assert len(awx.calls) == 4
        assert all(call["form"] == {"host_config_key": [key]} for call in awx.calls)
        assert all(call["path"] == "/api/v2/job_templates/42/callback/" for call in awx.calls)
        assert awx.calls[0]["content_type"] == "application/x-www-form-urlencoded"
        gaps = [b["time"] - a["time"] for a, b in zip(awx.calls, awx.calls[1:])]
        # Full jitter over a doubling delay capped at 0.4 s: each wait is between half the delay and the delay.
        assert 0.1 <= gaps[0] <= 0.35 and 0.2 <= gaps[1] <= 0.55 and 0.2 <= gaps[2] <= 0.55, gaps
        recorded = json.loads(state_file.read_text())
        assert recorded["status"] == 201 and recorded["attempts"] == 4 and recorded["url"] == awx.url
        assert key not in state_file.read_text()
        assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
        context = pki.client_context(pki.client)
        assert 'gough_agent_registration_state{state="registered"} 1' in agent.request("/metrics", context=context)[2].decode()
        agent.stop()
        # Restarted, the agent knows it registered and never calls again.
        again = agent_factory(**settings)
        time.sleep(1.0)
        assert len(awx.calls) == 4
        assert 'gough_agent_registration_state{state="registered"} 1' in again.request("/metrics", context=context)[2].decode()
    finally:
        awx.close()


def test_callback_gives_up_after_max_attempts_without_recording(agent_factory, pki, tmp_path):
    awx = CallbackServer(pki, [500] * 10)
    try:
        agent = agent_factory(callback_url=awx.url, callback_host_config_key="k", callback_ca_file=pki.ca_cert,
                              callback_wait_cloud_init=False, callback_backoff_initial=0.05, callback_backoff_max=0.05,
                              callback_max_attempts=3, healthz_checks=["registration"])
        context = pki.client_context(pki.client)
        wait_for(lambda: 'gough_agent_registration_state{state="failed"} 1' in
                 agent.request("/metrics", context=context)[2].decode())
        time.sleep(0.3)
        assert len(awx.calls) == 3
        assert not (tmp_path / "state" / "registration.json").exists()
        status, _headers, body = agent.request("/healthz", context=context)
        assert status == 503 and json.loads(body)["checks"]["registration"]["detail"] == "callback failed"
    finally:
        awx.close()


def test_callback_refuses_a_server_it_cannot_verify(agent_factory, pki, tmp_path):
    awx = CallbackServer(pki, [])
    try:
        # No callback_ca_file: the system trust store does not know the test CA, so nothing is sent.
        agent = agent_factory(callback_url=awx.url, callback_host_config_key="k", callback_wait_cloud_init=False,
                              callback_backoff_initial=0.05, callback_backoff_max=0.05, callback_max_attempts=2)
        context = pki.client_context(pki.client)
        wait_for(lambda: 'gough_agent_registration_state{state="failed"} 1' in
                 agent.request("/metrics", context=context)[2].decode())
        assert awx.calls == []
        assert not (tmp_path / "state" / "registration.json").exists()
    finally:
        awx.close()
