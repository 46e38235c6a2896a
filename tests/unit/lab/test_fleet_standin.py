"""The osqueryd stand-in (lab/images/node/osqueryd-lab) run on this machine against the Fleet emulator.

The lab node tests (tests/lab_nodes/test_osqueryd_standin.py) run it under systemd in a node; these check the
flagfile rules, the query engine and the protocol quickly (tests/unit/lab/test_osqueryd_engine.py has the
engine's table rules).
"""

import importlib.machinery
import importlib.util
import os
import stat
import subprocess
import sys
import time

import pytest

from gough_lab.fleet.testing import start_fleet_emulator

STANDIN = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "lab", "images", "node",
                                       "osqueryd-lab"))


def load_standin():
    loader = importlib.machinery.SourceFileLoader("osqueryd_lab", STANDIN)
    spec = importlib.util.spec_from_loader("osqueryd_lab", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def proc_uptime():
    """Seconds since boot, from /proc/uptime (the source of osquery's uptime table on Linux)."""
    with open("/proc/uptime", encoding="ascii") as handle:
        return float(handle.read().split()[0])


@pytest.fixture(scope="module")
def standin():
    return load_standin()


@pytest.fixture
def fleet(tmp_path):
    emulator = start_fleet_emulator(tmp_path / "fleet", distributed_interval=1)
    try:
        yield emulator
    finally:
        emulator.stop()


def flagfile(tmp_path, fleet, secret=None, ca=None, drop=(), extra=()):
    """A flagfile like the Fleet template, with ``drop`` flags left out and ``extra`` lines added."""
    secret_path = tmp_path / "secret"
    secret_path.write_text((secret or fleet.enroll_secret) + "\n")
    flags = {
        "tls_hostname": fleet.url[len("https://"):], "tls_server_certs": ca or fleet.ca_cert,
        "host_identifier": "instance", "enroll_secret_path": str(secret_path),
        "enroll_tls_endpoint": "/api/osquery/enroll", "config_plugin": "tls",
        "config_tls_endpoint": "/api/v1/osquery/config", "config_refresh": "10", "disable_distributed": "false",
        "distributed_plugin": "tls", "distributed_interval": "1", "distributed_tls_max_attempts": "3",
        "distributed_tls_read_endpoint": "/api/v1/osquery/distributed/read",
        "distributed_tls_write_endpoint": "/api/v1/osquery/distributed/write", "logger_plugin": "tls",
        "logger_tls_endpoint": "/api/v1/osquery/log", "logger_tls_period": "1",
    }
    lines = ["# written by a test", ""] + ["--%s=%s" % (k, v) for k, v in flags.items() if k not in drop]
    path = tmp_path / "osquery.flags"
    path.write_text("\n".join(lines + list(extra)) + "\n")
    return str(path)


def run_standin(path, tmp_path, *args, timeout=20):
    env = dict(os.environ, OSQUERYD_LAB_STATE_DIR=str(tmp_path / "state"))
    return subprocess.run([sys.executable, STANDIN, "--flagfile", path] + list(args), capture_output=True, text=True,
                          timeout=timeout, env=env, check=False)


def test_valid_flagfile_passes_config_check(tmp_path, fleet):
    result = run_standin(flagfile(tmp_path, fleet), tmp_path, "--config_check")
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("drop,extra,message", [
    (("tls_hostname",), (), "missing required flag --tls_hostname"),
    (("enroll_secret_path",), (), "--enroll_secret_path"),
    (("disable_distributed",), (), "--disable_distributed must be false"),
    (("distributed_tls_read_endpoint",), (), "--distributed_tls_read_endpoint"),
    ((), ("--config_plugin=filesystem",), "--config_plugin=filesystem: Fleet needs --config_plugin=tls"),
    ((), ("--tls_hostname=https://fleet.example:8080",), "without a scheme"),
    ((), ("--enroll_tls_endpoint=https://x/api/osquery/enroll",), "must be a path starting with /"),
    ((), ("--host_identifier=serial",), "--host_identifier=serial must be one of"),
    ((), ("--distributed_interval=ten",), "--distributed_interval=ten must be a whole number"),
    ((), ("--tls_server_certs=/nonexistent/ca.pem",), "--tls_server_certs=/nonexistent/ca.pem cannot be read"),
    ((), ("--tls_hostnme=x",), "unknown flag --tls_hostnme"),
    ((), ("tls_hostname=x",), "is not a flag"),
])
def test_bad_flagfiles_exit_78_naming_the_flag(tmp_path, fleet, drop, extra, message):
    result = run_standin(flagfile(tmp_path, fleet, drop=drop, extra=extra), tmp_path)
    assert result.returncode == 78
    assert message in result.stderr, result.stderr


def test_queries_run_in_sqlite_over_node_tables(standin):
    node = standin.Node.__new__(standin.Node)
    node._instance, node.started = "i-1", 0  # pylint: disable=protected-access
    assert standin.run_query(node, "SELECT 1") == ([{"1": "1"}], None)
    assert standin.run_query(node, "select 1 as ok, 'x' AS name;") == ([{"ok": "1", "name": "x"}], None)
    rows, error = standin.run_query(node, "SELECT version FROM osquery_info")
    assert error is None and rows == [{"version": standin.VERSION}]
    rows, _error = standin.run_query(node, "SELECT 1 FROM osquery_info WHERE version LIKE '%-lab'")
    assert rows == [{"1": "1"}]
    rows, _error = standin.run_query(node, "SELECT 1 FROM osquery_info WHERE version = 'nope'")
    assert rows == []
    assert standin.run_query(node, "SELECT * FROM rpm_packages")[1] == "no such table: rpm_packages"
    # osquery's uptime table is the system's uptime (/proc/uptime on Linux), whole seconds, also split into days,
    # hours, minutes and seconds: read /proc/uptime on either side of the query to bound it.
    before = proc_uptime()
    rows, error = standin.run_query(node, "SELECT * FROM uptime LIMIT 1")
    after = proc_uptime()
    assert error is None and len(rows) == 1
    total = int(rows[0]["total_seconds"])
    assert 0 < int(before) <= total <= int(after), (before, total, after)
    parts = [int(rows[0][name]) for name in ("days", "hours", "minutes", "seconds")]
    assert parts[1] < 24 and parts[2] < 60 and parts[3] < 60, rows[0]
    assert parts[0] * 86400 + parts[1] * 3600 + parts[2] * 60 + parts[3] == total, rows[0]
    # Fleet's detail query for the primary address joins two tables, as on real osquery.
    rows, error = standin.run_query(node, "SELECT ia.address, id.mac FROM interface_addresses ia "
                                          "JOIN interface_details id ON id.interface = ia.interface")
    assert error is None and any(r["address"] == "127.0.0.1" for r in rows)


def test_enrolls_checks_in_and_answers_policies(tmp_path, fleet):
    fleet.api("POST", "global/policies", {"name": "is lab osquery",
                                          "query": "SELECT 1 FROM osquery_info WHERE version LIKE '%-lab';"})
    env = dict(os.environ, OSQUERYD_LAB_STATE_DIR=str(tmp_path / "state"))
    process = subprocess.Popen([sys.executable, STANDIN, "--flagfile", flagfile(tmp_path, fleet)], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        host = None
        while time.monotonic() < deadline:
            hosts = fleet.api("GET", "hosts").json()["hosts"]
            if hosts and hosts[0]["detail_updated_at"] and hosts[0]["policy_updated_at"]:
                host = fleet.api("GET", "hosts/%d" % hosts[0]["id"]).json()["host"]
                break
            time.sleep(0.2)
        assert host is not None, fleet.tail_log()
        assert host["osquery_version"].endswith("-lab") and host["uptime"] > 0 and host["os_version"]
        assert host["policies"][0]["response"] == "pass"
        key = tmp_path / "state" / "osqueryd-lab.node_key"
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        # Deleting the host makes the stand-in enroll again (node_invalid) as a new host.
        fleet.api("DELETE", "hosts/%d" % host["id"])
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not fleet.api("GET", "hosts").json()["hosts"]:
            time.sleep(0.2)
        hosts = fleet.api("GET", "hosts").json()["hosts"]
        assert len(hosts) == 1 and hosts[0]["id"] != host["id"]
        # Live query through the stand-in.
        query = fleet.api("POST", "queries", {"name": "v", "query": "SELECT version FROM osquery_info"}).json()["query"]
        doc = fleet.api("POST", "queries/%d/run" % query["id"], {"host_ids": [hosts[0]["id"]]}).json()
        assert doc["results"][0]["rows"][0]["version"].endswith("-lab")
        # The first check-in sent the "enrolled" status log.
        assert "enrolled" in fleet.logs()[str(host["id"])]["status"][0]["message"]
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "enrolling again" in err


@pytest.mark.parametrize("case", ["secret", "ca", "unreachable"])
def test_wrong_secret_or_ca_is_logged_and_never_enrolls(tmp_path, fleet, case):
    if case == "secret":
        path = flagfile(tmp_path, fleet, secret="not-the-secret")
        wanted = "enrollment refused"
    elif case == "unreachable":
        other = start_fleet_emulator(tmp_path / "other")
        other.stop()
        path = flagfile(tmp_path, fleet, extra=["--tls_hostname=127.0.0.1:%d" % other.port])
        wanted = "cannot reach https://127.0.0.1:%d" % other.port
    else:
        other = start_fleet_emulator(tmp_path / "other")
        other.stop()
        path = flagfile(tmp_path, fleet, ca=other.ca_cert)
        wanted = "TLS verification of"
    env = dict(os.environ, OSQUERYD_LAB_STATE_DIR=str(tmp_path / "state"))
    process = subprocess.Popen([sys.executable, STANDIN, "--flagfile", path], env=env, stderr=subprocess.PIPE,
                               text=True)
    try:
        time.sleep(2.5)
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=10)
    assert wanted in err, err
    assert err.count(wanted) == 1  # the same error is logged once, not every retry
    assert fleet.api("GET", "hosts").json()["hosts"] == []
    status = (tmp_path / "state" / "osqueryd-lab.status").read_text()
    assert '"state": "error"' in status and wanted in status
