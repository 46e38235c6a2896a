"""gough-agent /metrics and /healthz: valid Prometheus text, the metrics the issue lists, health codes, HTTP rules.

The exposition check is strict on purpose (a stricter reader than Prometheus itself): every family has HELP then
TYPE before its samples, names and label names are valid, label values use only the three escapes, values parse,
no family is split or repeated and no series appears twice.
"""

import importlib.util
import json
import math
import os
import re
import socket
import subprocess
import types

import pytest

from conftest import AGENT  # pylint: disable=import-error

NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


def _parse_labels(text, line):
    """Parse ``a="x",b="y"`` (the inside of braces) strictly; return a tuple of (name, value) pairs."""
    labels, i = [], 0
    while i < len(text):
        match = re.match(r"([^=]+)=\"", text[i:])
        assert match, "bad label syntax in %r" % line
        name = match.group(1)
        assert LABEL_NAME.match(name) and not name.startswith("__"), "bad label name %r in %r" % (name, line)
        i += match.end()
        value = []
        while True:
            assert i < len(text), "unterminated label value in %r" % line
            char = text[i]
            if char == "\\":
                escaped = text[i + 1:i + 2]
                assert escaped in ("\\", '"', "n"), "bad escape \\%s in %r" % (escaped, line)
                value.append({"\\": "\\", '"': '"', "n": "\n"}[escaped])
                i += 2
            elif char == '"':
                i += 1
                break
            else:
                assert char != "\n"
                value.append(char)
                i += 1
        labels.append((name, "".join(value)))
        if i < len(text):
            assert text[i] == ",", "expected , between labels in %r" % line
            i += 1
    names = [label[0] for label in labels]
    assert len(names) == len(set(names)), "repeated label name in %r" % line
    return tuple(sorted(labels))


def parse_exposition(text):
    """Strictly parse Prometheus text format 0.0.4; return {family: {"type", "help", "samples": {labels: value}}}."""
    assert text.endswith("\n"), "the exposition must end with a newline"
    families, current, closed = {}, None, set()
    pending_help = None
    for line in text.split("\n")[:-1]:
        assert line == line.strip() and line, "blank line or stray whitespace: %r" % line
        if line.startswith("# HELP "):
            name, _sep, help_text = line[7:].partition(" ")
            assert NAME.match(name), "bad metric name %r" % name
            assert name not in families and name not in closed, "family %s appears twice" % name
            assert re.fullmatch(r"(?:[^\\]|\\\\|\\n)*", help_text), "bad escape in HELP of %s" % name
            pending_help = (name, help_text)
            continue
        if line.startswith("# TYPE "):
            name, _sep, kind = line[7:].partition(" ")
            assert pending_help and pending_help[0] == name, "TYPE %s without its HELP just before" % name
            assert kind in TYPES, "bad type %r" % kind
            if current:
                closed.add(current)
            current = name
            families[name] = {"type": kind, "help": pending_help[1], "samples": {}}
            pending_help = None
            continue
        assert not line.startswith("#"), "unexpected comment %r" % line
        assert pending_help is None, "HELP without TYPE before %r" % line
        match = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$", line)
        assert match, "bad sample line %r" % line
        name, labels = match.group(1), _parse_labels(match.group(3) or "", line)
        assert name == current, "sample %s outside its family (current %s)" % (name, current)
        raw = match.group(4)
        specials = {"NaN": math.nan, "+Inf": math.inf, "-Inf": -math.inf}
        value = specials[raw] if raw in specials else float(raw)
        samples = families[name]["samples"]
        assert labels not in samples, "duplicate series %s%s" % (name, dict(labels))
        samples[labels] = value
    assert pending_help is None
    for name, family in families.items():
        assert family["samples"], "family %s has no samples" % name
        if family["type"] == "counter":
            assert name.endswith("_total") or name.endswith("_seconds_total"), "counter %s must end in _total" % name
    return families


def series(families, family, **labels):
    """The value of one series (labels given as keyword arguments must all match; exactly one series)."""
    found = [value for key, value in families[family]["samples"].items()
             if all(dict(key).get(k) == v for k, v in labels.items())]
    assert len(found) == 1, "%s%s: %d series" % (family, labels, len(found))
    return found[0]


def load_module():
    """The agent's file imported as a module (for its pure functions)."""
    spec = importlib.util.spec_from_file_location("gough_agent_under_test", AGENT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def agent(agent_factory):
    """An mTLS agent with default collectors."""
    return agent_factory()


def test_metrics_are_strictly_valid_exposition_with_every_listed_metric(agent, pki):
    status, headers, body = agent.request("/metrics", context=pki.client_context(pki.client))
    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = parse_exposition(body.decode("utf-8"))
    # Host metrics under node_exporter's names.
    for name in ("node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes",
                 "node_load1", "node_load5", "node_load15", "node_filesystem_size_bytes",
                 "node_filesystem_avail_bytes", "node_network_receive_bytes_total", "node_network_transmit_bytes_total",
                 "node_boot_time_seconds", "gough_uptime_seconds", "node_context_switches_total"):
        assert name in families, name
    assert series(families, "node_cpu_seconds_total", cpu="0", mode="idle") > 0
    assert families["node_cpu_seconds_total"]["type"] == "counter"
    with open("/proc/meminfo", encoding="ascii") as handle:
        mem_total_kb = int(handle.readline().split()[1])
    assert series(families, "node_memory_MemTotal_bytes") == mem_total_kb * 1024
    assert series(families, "gough_uptime_seconds") > 0
    assert any(dict(key)["device"] == "lo" for key in families["node_network_receive_bytes_total"]["samples"])
    mountpoints = {dict(key)["mountpoint"] for key in families["node_filesystem_size_bytes"]["samples"]}
    assert "/" in mountpoints
    assert not [m for m in mountpoints if m.startswith(("/proc", "/sys", "/dev/"))]
    # Gough's own.
    assert series(families, "gough_agent_build_info", version="0.1.0") == 1
    states = {dict(key)["status"]: value for key, value in families["gough_cloud_init_status"]["samples"].items()}
    assert sorted(states) == sorted(["not_run", "running", "done", "error", "disabled"]) and sum(states.values()) == 1
    assert series(families, "gough_reboot_required") == (1 if os.path.exists("/var/run/reboot-required") else 0)
    assert series(families, "gough_provisioning_info", maas_system_id="abc123", template="base") == 1
    assert series(families, "gough_agent_registration_state", state="disabled") == 1
    assert "gough_osquery_running" in families
    assert series(families, "gough_agent_collector_success", collector="cpu") == 1
    assert series(families, "process_resident_memory_bytes") > 1_000_000


# The read-only commands behind the systemd and time_sync collectors, as the agent runs them.
SYSTEMD_SHOW = ["systemctl", "show", "--property=SystemState", "--property=NFailedUnits"]
SYSTEMD_FAILED = ["systemctl", "list-units", "--state=failed", "--plain", "--no-legend", "--no-pager", "--full"]
TIMEDATECTL_SHOW = ["timedatectl", "show", "--property=NTPSynchronized", "--property=NTP"]
COMMAND_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}


def command_succeeds_here(argv):
    """Whether ``argv`` exits 0 on this host when run the way the agent runs it (False when it is not installed)."""
    try:
        return subprocess.run(argv, capture_output=True, timeout=10, env=COMMAND_ENV, stdin=subprocess.DEVNULL,
                              check=False).returncode == 0
    except OSError:
        return False


def test_systemd_and_time_sync_collectors_succeed_exactly_when_their_commands_work_here(agent, pki):
    """On this host, whatever it is: the collector says 1 and exports its families when ``systemctl show`` /
    ``timedatectl show`` exit 0 here, else 0 and no family (a container without systemd as PID 1 is the second
    case; a CI runner booted with systemd the first). The success path with known output is in the next tests."""
    body = agent.request("/metrics", context=pki.client_context(pki.client))[2].decode()
    families = parse_exposition(body)
    for collector, family, argv in (("systemd", "gough_systemd_failed_units", SYSTEMD_SHOW),
                                    ("time_sync", "gough_time_synchronized", TIMEDATECTL_SHOW)):
        works = command_succeeds_here(argv)
        assert series(families, "gough_agent_collector_success", collector=collector) == int(works), collector
        assert (family in families) is works, collector


def collector_with_commands(monkeypatch, outputs):
    """The agent's Collector (default configuration) whose commands answer from ``outputs``: {argv tuple: (exit
    code, stdout) or an exception to raise}; any other command fails the test."""
    module = load_module()
    calls = []

    def fake_run_command(argv, timeout):
        calls.append(tuple(argv))
        assert timeout == module.CONFIG_FIELDS["command_timeout"][1]
        answer = outputs[tuple(argv)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(module, "run_command", fake_run_command)
    config = {field: default for field, (_types, default) in module.CONFIG_FIELDS.items()}
    collector = module.Collector(config, types.SimpleNamespace(state="disabled"))
    return module, collector, calls


def test_systemd_and_time_sync_export_what_the_commands_report(monkeypatch):
    """systemd reports ``SystemState`` and ``NFailedUnits`` through ``systemctl show`` (key=value lines, in its
    own order) and names the failed units in ``systemctl list-units --state=failed --plain --no-legend`` (unit
    first); ``timedatectl show`` gives ``NTP`` and ``NTPSynchronized`` as yes/no. The agent turns them into
    gough_systemd_* and gough_time_* families, says the collectors succeeded, and its health checks use them."""
    module, collector, calls = collector_with_commands(monkeypatch, {
        tuple(SYSTEMD_SHOW): (0, "NFailedUnits=2\nSystemState=degraded\n"),
        tuple(SYSTEMD_FAILED): (0, "apt-daily.service loaded failed failed Daily apt download activities\n"
                                   "gough-late.service loaded failed failed Gough late step\n"),
        tuple(TIMEDATECTL_SHOW): (0, "NTP=yes\nNTPSynchronized=no\n"),
    })
    families = parse_exposition(module.render(collector.collect()))
    assert series(families, "gough_agent_collector_success", collector="systemd") == 1
    assert series(families, "gough_agent_collector_success", collector="time_sync") == 1
    states = {dict(key)["state"]: value for key, value in families["gough_systemd_system_state"]["samples"].items()}
    assert set(states) == set(module.SYSTEM_STATES) and states["degraded"] == 1 and sum(states.values()) == 1
    assert series(families, "gough_systemd_failed_units") == 2
    failed = {dict(key)["unit"]: value for key, value in families["gough_systemd_unit_failed"]["samples"].items()}
    assert failed == {"apt-daily.service": 1, "gough-late.service": 1}
    assert series(families, "gough_time_synchronized") == 0 and series(families, "gough_time_ntp_enabled") == 1
    assert calls.count(tuple(SYSTEMD_SHOW)) == 1 and calls.count(tuple(TIMEDATECTL_SHOW)) == 1
    _ok, checks = collector.health()
    assert checks["failed_units"]["ok"] is False
    assert checks["failed_units"]["detail"] == "2 failed: apt-daily.service, gough-late.service"
    assert checks["time_sync"] == {"ok": False, "detail": "not synchronized (NTP enabled)", "required": True}


def test_a_healthy_system_lists_no_failed_units(monkeypatch):
    """``NFailedUnits=0``: the agent does not run ``list-units`` and reports a running, synchronized system."""
    module, collector, calls = collector_with_commands(monkeypatch, {
        tuple(SYSTEMD_SHOW): (0, "SystemState=running\nNFailedUnits=0\n"),
        tuple(TIMEDATECTL_SHOW): (0, "NTPSynchronized=yes\nNTP=yes\n"),
    })
    families = parse_exposition(module.render(collector.collect()))
    assert series(families, "gough_systemd_system_state", state="running") == 1
    assert series(families, "gough_systemd_failed_units") == 0 and "gough_systemd_unit_failed" not in families
    assert series(families, "gough_time_synchronized") == 1
    assert tuple(SYSTEMD_FAILED) not in calls
    _ok, checks = collector.health()
    assert checks["failed_units"]["ok"] is True and checks["time_sync"]["ok"] is True


@pytest.mark.parametrize("systemctl,timedatectl", [
    # Without systemd as PID 1 both exit 1 ("System has not been booted with systemd as init system").
    ((1, ""), (1, "")),
    # Not installed at all.
    (FileNotFoundError(2, "No such file or directory", "systemctl"),
     FileNotFoundError(2, "No such file or directory", "timedatectl")),
])
def test_collectors_whose_command_fails_say_0_and_export_nothing(monkeypatch, systemctl, timedatectl):
    """A failing command makes its collector report 0 and leave its families out; the other collectors go on."""
    module, collector, _calls = collector_with_commands(monkeypatch, {
        tuple(SYSTEMD_SHOW): systemctl, tuple(TIMEDATECTL_SHOW): timedatectl})
    families = parse_exposition(module.render(collector.collect()))
    assert series(families, "gough_agent_collector_success", collector="systemd") == 0
    assert series(families, "gough_agent_collector_success", collector="time_sync") == 0
    assert not [name for name in families if name.startswith(("gough_systemd_", "gough_time_"))]
    assert series(families, "gough_agent_collector_success", collector="provisioning") == 1
    _ok, checks = collector.health()
    assert checks["failed_units"]["ok"] is False and checks["failed_units"]["detail"].startswith("cannot tell: ")


def test_healthz_is_200_when_required_checks_pass_and_503_when_one_fails(agent_factory, pki, tmp_path):
    context = pki.client_context(pki.client)
    good = agent_factory(healthz_checks=["collectors", "registration"], directory=tmp_path / "a")
    status, headers, body = good.request("/healthz", context=context)
    assert status == 200 and headers["Content-Type"] == "application/json"
    report = json.loads(body)
    assert report["ok"] is True
    assert set(report["checks"]) == {"cloud_init", "failed_units", "filesystems", "time_sync", "osquery",
                                     "registration", "collectors"}
    assert report["checks"]["collectors"] == {"ok": True, "required": True,
                                              "detail": "host collectors read their data"}
    # No osquery runs here: requiring it fails the health, and so does a file system "fuller" than 0.0001 %.
    bad = agent_factory(healthz_checks=["osquery", "filesystems"], filesystem_max_used_percent=0.0001,
                        directory=tmp_path / "b")
    status, _headers, body = bad.request("/healthz", context=context)
    report = json.loads(body)
    assert status == 503 and report["ok"] is False
    assert report["checks"]["osquery"]["ok"] is False and report["checks"]["osquery"]["required"] is True
    assert report["checks"]["filesystems"]["ok"] is False
    assert "over 0.0001% used" in report["checks"]["filesystems"]["detail"]


def test_unknown_paths_are_404_and_no_method_but_get_and_head(agent, pki):
    context = pki.client_context(pki.client)
    for path in ("/", "/run", "/exec", "/cmd", "/api/v1/command", "/metrics/../run", "/healthz/x", "/debug/pprof"):
        status, _headers, body = agent.request(path, context=context)
        assert status == 404, path
        assert b"/metrics and /healthz only" in body
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        status, headers, _body = agent.request("/metrics", method=method, context=context)
        assert status == 405 and headers["Allow"] == "GET, HEAD", method
    # Nothing takes a body: a command-shaped POST is refused before any routing.
    status, _headers, _body = agent.request("/exec", method="POST", context=context, body=b'{"cmd": "id"}',
                                            headers={"Content-Type": "application/json"})
    assert status == 400
    status, headers, body = agent.request("/metrics", method="HEAD", context=context)
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 1000


def test_keep_alive_serves_several_requests_on_one_connection(agent, pki):
    context = pki.client_context(pki.client)
    import http.client  # pylint: disable=import-outside-toplevel
    connection = http.client.HTTPSConnection("127.0.0.1", agent.port, timeout=10, context=context)
    try:
        for path in ("/metrics", "/healthz", "/metrics"):
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 200
            response.read()
        families = parse_exposition(agent.request("/metrics", context=context)[2].decode())
        assert series(families, "gough_agent_http_requests_total", code="200") >= 3
    finally:
        connection.close()


def test_plain_http_only_when_configured(agent_factory, agent, pki, tmp_path):  # pylint: disable=unused-argument
    # The mTLS agent does not answer plain HTTP.
    with socket.create_connection(("127.0.0.1", agent.port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        try:
            answer = sock.recv(100)
        except ConnectionResetError:
            answer = b""
    assert not answer.startswith(b"HTTP/")
    plain = agent_factory(tls=False, directory=tmp_path / "plain")
    status, _headers, body = plain.request("/metrics")
    assert status == 200 and b"gough_agent_build_info" in body


def test_osquery_running_and_enrolled_follow_processes_and_key_files(agent_factory, pki, tmp_path):
    with open("/proc/self/comm", encoding="utf-8") as handle:
        me = handle.read().strip()  # this test's own process stands in for osqueryd
    key = tmp_path / "node_key"
    key.write_text("k")
    context = pki.client_context(pki.client)
    key_paths = [str(tmp_path / "absent"), str(key)]
    agent = agent_factory(osquery_processes=[me, "no-such-daemon"], osquery_node_key_paths=key_paths,
                          healthz_checks=["osquery"], directory=tmp_path / "a")
    families = parse_exposition(agent.request("/metrics", context=context)[2].decode())
    assert series(families, "gough_osquery_running") == 1 and series(families, "gough_osquery_enrolled") == 1
    assert series(families, "gough_osquery_processes", name=me) >= 1
    assert series(families, "gough_osquery_processes", name="no-such-daemon") == 0
    assert agent.request("/healthz", context=context)[0] == 200
    key.unlink()
    agent = agent_factory(osquery_processes=["no-such-daemon"], osquery_node_key_paths=[str(key)],
                          directory=tmp_path / "b")
    families = parse_exposition(agent.request("/metrics", context=context)[2].decode())
    assert series(families, "gough_osquery_running") == 0 and series(families, "gough_osquery_enrolled") == 0


def test_label_values_and_help_are_escaped(tmp_path):
    module = load_module()
    family = module.Family("x_info", "gauge", "line one\nback\\slash").add(1, {"v": 'a"b\\c\nd'})
    text = module.render([family])
    assert text == '# HELP x_info line one\\nback\\\\slash\n# TYPE x_info gauge\nx_info{v="a\\"b\\\\c\\nd"} 1\n'
    parsed = parse_exposition(text)
    assert list(parsed["x_info"]["samples"]) == [(("v", 'a"b\\c\nd'),)]
    assert module.format_value(float("nan")) == "NaN" and module.format_value(float("inf")) == "+Inf"


def test_provisioning_labels_from_config_are_escaped(agent_factory, pki):
    agent = agent_factory(maas_system_id='x"y', template="web\nserver")
    families = parse_exposition(agent.request("/metrics", context=pki.client_context(pki.client))[2].decode())
    assert series(families, "gough_provisioning_info", maas_system_id='x"y', template="web\nserver") == 1


@pytest.mark.parametrize("name,whole", [("sda", True), ("sda1", False), ("vdb", True), ("vdb12", False),
                                        ("nvme0n1", True), ("nvme0n1p2", False), ("mmcblk0", True),
                                        ("mmcblk0p1", False), ("dm-0", True), ("md0", True), ("loop3", False),
                                        ("ram0", False), ("zram0", False), ("sr0", False), ("xvda", True)])
def test_disk_filter_keeps_whole_disks_only(name, whole):
    assert load_module().is_whole_disk(name) is whole


def test_mount_escapes_are_undone():
    module = load_module()
    assert module.unescape_mount("/mnt/with\\040space") == "/mnt/with space"
    assert module.unescape_mount("/plain") == "/plain"


@pytest.mark.parametrize("files,state,errors", [
    ({}, "not_run", 0),
    ({"status.json": {"v1": {"stage": "init", "init": {"errors": []}}}}, "running", 0),
    ({"status.json": {"v1": {"stage": None}}, "result.json": {"v1": {"errors": []}}}, "done", 0),
    ({"status.json": {"v1": {"modules-final": {"errors": ["boom"], "recoverable_errors": {"WARNING": ["w"]}}}},
      "result.json": {"v1": {"errors": ["boom"]}}}, "error", 1),
    ({"disabled": ""}, "disabled", 0),
])
def test_cloud_init_state_from_its_run_files(tmp_path, files, state, errors):
    base = tmp_path / "run"
    base.mkdir()
    for name, content in files.items():
        (base / name).write_text(content if isinstance(content, str) else json.dumps(content))
    info = load_module().Collector.read_cloud_init(str(base), str(tmp_path / "lib"))
    assert info["state"] == state and info["errors"] == errors
    if state == "error":
        assert info["recoverable"] == 1
