"""The compliance loop on the lab (see conftest.py): site.yml deployed the last node non-compliant on purpose and
its gate quarantined it; a node broken later is caught by a gate run (check mode first, which writes nothing); a
node fixed is released. Nodes are left as site.yml made them (the last node quarantined)."""

import json
import os
import subprocess
import sys
import time

from e2e_helpers import (COLLECTIONS, NODES, controller, get, playbook, read_notifications, sink_path, table,
                         wait_for_alert)

sys.path.insert(0, COLLECTIONS)
# pylint: disable-next=wrong-import-position,import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402

ROOT_LOGIN = "SSH root login disabled"
BREAK = "/etc/ssh/sshd_config.d/05-e2e-break.conf"


def maas(lab):
    """A MAAS client for the stack's MAAS (through nginx, TLS verified with Gough's CA)."""
    connection = controller(lab)
    return MAASClient(connection["gough_maas_url"], connection["gough_maas_api_key"],
                      ca_path=connection["gough_ca_cert"])


def quarantined(lab):
    """Hostnames carrying the quarantine tag in MAAS."""
    with maas(lab) as client:
        return sorted(m["hostname"] for m in client.get("tags/gough-quarantine/", op="machines"))


def lab_stats(lab, service):
    """The emulator's own request counters (/_lab/stats, read inside its container)."""
    port = {"maas": 5240, "fleet": 8412}[service]
    script = ("import json, ssl, urllib.request; c = ssl.create_default_context(cafile='/tls/ca.crt'); "
              "c.check_hostname = False; print(urllib.request.urlopen('https://127.0.0.1:%d/_lab/stats', "
              "context=c).read().decode())" % port)
    container = "gough-e2e-%s-%s-1" % (lab["tag"], service)
    result = subprocess.run(["docker", "exec", container, "python3", "-c", script], capture_output=True, text=True,
                            check=True, timeout=60)
    return json.loads(result.stdout)


def fleet_api(lab, method, path):
    connection = controller(lab)
    if method == "GET":
        return get(connection["gough_fleet_url"] + "/api/v1/fleet/" + path, connection,
                   {"Authorization": "Bearer %s" % connection["gough_fleet_api_token"]})
    import ssl  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel
    context = ssl.create_default_context(cafile=connection["gough_ca_cert"])
    request = urllib.request.Request(connection["gough_fleet_url"] + "/api/v1/fleet/" + path, method=method,
                                     headers={"Authorization": "Bearer %s" % connection["gough_fleet_api_token"]})
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        return response.status


def wait_for_response(lab, hostname, policy, wanted, timeout=120):
    """Ask Fleet to refetch the host (it answers its policies at its next check-in) and wait for ``wanted``."""
    host = fleet_api(lab, "GET", "hosts/identifier/%s" % hostname)["host"]
    fleet_api(lab, "POST", "hosts/%d/refetch" % host["id"])
    deadline = time.monotonic() + timeout
    while True:
        host = fleet_api(lab, "GET", "hosts/%d" % host["id"])["host"]
        responses = dict((p["name"], p["response"]) for p in host.get("policies") or [])
        if responses.get(policy) == wanted:
            return
        assert time.monotonic() < deadline, \
            "%s: %s is %r after %ss" % (hostname, policy, responses.get(policy), timeout)
        time.sleep(2)


def ssh(lab, address, command):
    key = os.path.join(str(lab["dir"]), "ssh", "id_ed25519")
    result = subprocess.run(["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o",
                             "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=10", "ops@%s" % address,
                             "sudo sh -c %s" % json.dumps(command)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


def gate(lab, first_run, *args):
    rc, parsed, output = playbook("compliance.yml", "-i", first_run["inventory"], *args, *lab["extra"], env=lab["env"])
    assert rc == 0, output
    facts = [task["hosts"]["localhost"] for play in parsed.plays for task in play["tasks"]
             if task["task"]["name"].endswith("What the gate did (or, in check mode, would do)")]
    return facts[-1]["ansible_facts"]["compliance_result"], parsed


def test_site_quarantined_the_node_deployed_non_compliant(lab, first_run):
    rows = table(first_run["site"])
    assert quarantined(lab) == [rows[-1]["HOSTNAME"]]
    graph = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-inventory"), "-i",
                            first_run["inventory"], "--graph", "gough_quarantine"],
                           env=dict(os.environ, **lab["env"]),
                           capture_output=True, text=True, check=True, timeout=120).stdout
    assert rows[-1]["HOSTNAME"] in graph and rows[0]["HOSTNAME"] not in graph


def test_a_node_broken_later_is_quarantined_in_check_mode_only_then_released_when_fixed(lab, first_run):
    rows = table(first_run["site"])
    node, kept = rows[0], rows[-1]["HOSTNAME"]
    ssh(lab, node["IP"], "printf 'PermitRootLogin yes\\n' > %s" % BREAK)
    try:
        wait_for_response(lab, node["HOSTNAME"], ROOT_LOGIN, "fail")
        before = (lab_stats(lab, "maas")["writes"], lab_stats(lab, "fleet")["writes"])
        predicted, _parsed = gate(lab, first_run, "--check")
        assert predicted["quarantined"] == [{"hostname": node["HOSTNAME"], "failing": [ROOT_LOGIN]}]
        assert (lab_stats(lab, "maas")["writes"], lab_stats(lab, "fleet")["writes"]) == before
        assert quarantined(lab) == [kept]

        seen = len(read_notifications(sink_path(lab)))
        done, _parsed = gate(lab, first_run)
        assert done["quarantined"] == predicted["quarantined"]
        assert quarantined(lab) == sorted([node["HOSTNAME"], kept])
        # One notification, through Alertmanager to the receivers, names the server and the policy it fails.
        alert = wait_for_alert(sink_path(lab), seen, "GoughComplianceGate",
                               where=lambda a: node["HOSTNAME"] in a["annotations"]["description"])
        assert alert["annotations"]["summary"].startswith("1 server(s) quarantined and 0 released")
        assert alert["annotations"]["description"] == "quarantined %s: fails %s" % (node["HOSTNAME"], ROOT_LOGIN)
    finally:
        ssh(lab, node["IP"], "rm -f %s" % BREAK)
    wait_for_response(lab, node["HOSTNAME"], ROOT_LOGIN, "pass")
    released, _parsed = gate(lab, first_run)
    assert released["released"] == [node["HOSTNAME"]] and released["quarantined"] == []
    assert quarantined(lab) == [kept]
    again, parsed = gate(lab, first_run)
    assert again["lines"] == [] and parsed.stats["localhost"]["changed"] == 0
    assert len(rows) == NODES
