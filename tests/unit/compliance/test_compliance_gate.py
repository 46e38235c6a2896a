"""playbooks/compliance.yml (role gough.gough.compliance) against the MAAS and Fleet emulators: who is quarantined
and released, one update_nodes per direction, a few Fleet list requests, one notification, check mode without
writes, a rerun without changes, and a bounded wait that names the hosts that never answered."""

import json
import os
import re
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
LAB = os.path.join(ROOT, "lab")
if LAB not in sys.path:
    sys.path.insert(0, LAB)
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
PLAYBOOK = os.path.join(ROOT, "playbooks", "compliance.yml")

# pylint: disable=wrong-import-position
from gough_lab.fleet.testing import FakeOsqueryHost, start_fleet_emulator  # noqa: E402
from gough_lab.playbook_runner import run_playbook  # noqa: E402
from gough_lab.testing import start_maas_emulator  # noqa: E402
# pylint: disable-next=import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402

ROOT_LOGIN = "SELECT 1 FROM os_version WHERE name = 'root login off';"
WORLD_WRITABLE = "SELECT 1 FROM os_version WHERE name = 'nothing world-writable';"
JOURNAL = "SELECT 1 FROM os_version WHERE name = 'journal persistent';"
PASS, FAIL = [{"1": "1"}], []
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


class AlertmanagerAPI(ThreadingHTTPServer):
    """Alertmanager's POST /api/v2/alerts as far as the gate uses it: a list of alerts, each with non-empty string
    labels, string annotations and RFC 3339 start and end times; 400 otherwise, as Alertmanager answers."""

    def __init__(self):
        self.alerts = []
        super().__init__(("127.0.0.1", 0), self.Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        """The base URL."""
        return "http://127.0.0.1:%d" % self.server_address[1]

    class Handler(BaseHTTPRequestHandler):
        """Validates and records each posted alert."""

        def do_POST(self):  # noqa: N802 pylint: disable=invalid-name
            """POST /api/v2/alerts."""
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            ok = self.path == "/api/v2/alerts" and isinstance(body, list) and body and all(
                isinstance(a.get("labels"), dict) and a["labels"].get("alertname")
                and all(isinstance(v, str) for v in list(a["labels"].values()) + list(a["annotations"].values()))
                and RFC3339.match(a["startsAt"]) and RFC3339.match(a["endsAt"]) and a["endsAt"] > a["startsAt"]
                for a in body)
            if ok:
                self.server.alerts.extend(body)
            self.send_response(200 if ok else 400)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):  # pylint: disable=arguments-differ
            """Quiet."""


@pytest.fixture
def lab(tmp_path):
    """MAAS with five machines (h[0] to h[4]), Fleet with three global policies (two critical), Alertmanager's API.

    Fleet: h0 fails a critical policy, h1 fails only the non-critical one, h2 passes (and is quarantined from an
    earlier run), h3 has enrolled but not answered yet, laptop-9 fails a critical policy but MAAS does not know it.
    h4 is quarantined and not in Fleet at all.
    """
    maas = start_maas_emulator(tmp_path / "maas", machines=5, seed=11)
    fleet = start_fleet_emulator(tmp_path / "fleet")
    alertmanager = AlertmanagerAPI()
    try:
        # Fleet's osquery.policy_update_interval: here every check-in is asked the policies again.
        fleet.configure(policy_interval=0)
        client = MAASClient(maas.url, maas.api_key)
        machines = sorted(client.get("machines/"), key=lambda m: m["hostname"])
        names = [m["hostname"] for m in machines]
        client.post("tags/", data={"name": "gough-quarantine", "comment": "Servers failing a critical Fleet policy "
                                                                          "(Gough compliance gate)"})
        client.post("tags/gough-quarantine/", op="update_nodes",
                    data={"add": [machines[2]["system_id"], machines[4]["system_id"]]})
        for name, query, critical in (("SSH root login disabled", ROOT_LOGIN, True),
                                      ("No world-writable files in /etc", WORLD_WRITABLE, True),
                                      ("Journal persistent", JOURNAL, False)):
            fleet.request("POST", "/api/v1/fleet/global/policies", {"name": name, "query": query, "critical": critical})
        hosts = {
            names[0]: {ROOT_LOGIN: FAIL, WORLD_WRITABLE: PASS, JOURNAL: PASS},
            names[1]: {ROOT_LOGIN: PASS, WORLD_WRITABLE: PASS, JOURNAL: FAIL},
            names[2]: {ROOT_LOGIN: PASS, WORLD_WRITABLE: PASS, JOURNAL: PASS},
            "laptop-9": {ROOT_LOGIN: FAIL, WORLD_WRITABLE: PASS, JOURNAL: PASS},
        }
        fakes = dict((name, FakeOsqueryHost(fleet, name, answers=answers)) for name, answers in hosts.items())
        for fake in fakes.values():
            assert fake.checkin()
        assert FakeOsqueryHost(fleet, names[3]).enroll().status == 200
        maas.reset_stats()
        fleet.reset_stats()
        yield {"maas": maas, "fleet": fleet, "client": client, "names": names, "fakes": fakes,
               "alertmanager": alertmanager, "tmp": tmp_path}
    finally:
        alertmanager.shutdown()
        fleet.stop()
        maas.stop()


def gate(lab, *args, **variables):
    """playbooks/compliance.yml as a job (gough_lab.playbook_runner), MAAS and Fleet given as their credentials'
    environment; returns (PlaybookRun, changed count of localhost)."""
    run = run_playbook(PLAYBOOK, tempfile.mkdtemp(prefix="job-", dir=lab["tmp"]), *args,
                       extravars=dict(compliance_alertmanager_url=lab["alertmanager"].url, **variables),
                       envvars={"ANSIBLE_LOCALHOST_WARNING": "0", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
                                "MAAS_URL": lab["maas"].url, "MAAS_API_KEY": lab["maas"].api_key,
                                "FLEET_URL": lab["fleet"].url, "FLEET_API_TOKEN": lab["fleet"].api_token,
                                "FLEET_CA_CERT": lab["fleet"].ca_cert},
                       collections=COLLECTIONS, timeout=300)
    return run, run.changed().get("localhost")


def quarantined(lab):
    return sorted(m["hostname"] for m in lab["client"].get("tags/gough-quarantine/", op="machines"))


def update_nodes_calls(lab):
    return lab["maas"].stats()["by_op"].get("POST tags/{name}/ update_nodes", 0)


def test_check_mode_shows_who_would_change_and_writes_nothing(lab):
    names = lab["names"]
    process, _changed = gate(lab, "--check")
    assert process.rc == 0, process.stdout[-4000:]
    assert "quarantined %s: fails SSH root login disabled" % names[0] in process.stdout
    assert "released %s: passes every critical policy again" % names[2] in process.stdout
    assert lab["maas"].stats()["writes"] == 0 and lab["fleet"].stats()["writes"] == 0
    assert quarantined(lab) == sorted([names[2], names[4]])
    assert lab["alertmanager"].alerts == []


def test_gate_quarantines_failing_servers_releases_passing_ones_and_notifies_once(lab):
    names = lab["names"]
    process, changed = gate(lab)
    assert process.rc == 0, process.stdout[-4000:]
    assert changed == 1
    # h0 fails a critical policy; h2 passes again; h1 fails only a non-critical one; h3 has not answered; h4 is not
    # in Fleet; laptop-9 is not in MAAS.
    assert quarantined(lab) == sorted([names[0], names[4]])
    assert update_nodes_calls(lab) == 1  # both directions in one request
    assert lab["fleet"].stats()["requests_total"] <= 5
    assert "not quarantined, unknown to MAAS: laptop-9" in process.stdout
    assert "no critical policy results yet: %s" % names[3] in process.stdout
    [alert] = lab["alertmanager"].alerts
    assert alert["labels"]["alertname"] == "GoughComplianceGate" and alert["labels"]["severity"] == "warning"
    assert alert["annotations"]["description"].splitlines() == [
        "quarantined %s: fails SSH root login disabled" % names[0],
        "released %s: passes every critical policy again" % names[2]]
    assert "1 server(s) quarantined and 1 released" in alert["annotations"]["summary"]

    lab["maas"].reset_stats()
    again, changed = gate(lab)
    assert again.rc == 0 and changed == 0, again.stdout[-3000:]
    assert lab["maas"].stats()["writes"] == 0 and len(lab["alertmanager"].alerts) == 1

    # h0 is fixed: Fleet asks again at its next check-in, and the next gate run releases it.
    fixed = lab["fakes"][names[0]]
    fixed.answers[ROOT_LOGIN] = PASS
    assert fixed.checkin()
    released, changed = gate(lab)
    assert released.rc == 0 and changed == 1, released.stdout[-3000:]
    assert quarantined(lab) == [names[4]]
    assert lab["alertmanager"].alerts[-1]["annotations"]["description"] == (
        "released %s: passes every critical policy again" % names[0])


def test_waiting_for_hosts_that_never_answer_fails_naming_them(lab):
    names = lab["names"]
    process, _changed = gate(lab, "-e", json.dumps({"compliance_wait_hosts": [names[0], names[3]],
                                                    "compliance_wait_timeout": 2, "compliance_wait_interval": 1}))
    assert process.rc != 0
    assert "Fleet has no policy run from %s after 2 s" % names[3] in process.stdout
    assert lab["maas"].stats()["writes"] == 0
