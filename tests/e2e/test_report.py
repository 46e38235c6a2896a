"""The fleet report on the demo's lab (conftest.py: 2 nodes deployed by site.yml, the last one quarantined): a third
machine enlisted in MAAS and left New stands for a host in another state, playbooks/report.yml renders the report,
nginx serves it at /report/ of Prometheus's site, and headless Chromium (Debian's chromium) opens it. The test
asserts on the rendered DOM (the 3 hosts with their states, the tiles' numbers) and keeps the page and a screenshot
in .build/test-artifacts/e2e-report/ (GOUGH_TEST_ARTIFACTS moves them). The third machine is deleted at the end."""

import json
import os
import ssl
import sys
import urllib.request

from e2e_helpers import COLLECTIONS, ROOT, controller, playbook, table
from gough_lab.report_page import Page, chromium

sys.path.insert(0, COLLECTIONS)
# pylint: disable-next=wrong-import-position,import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402

ARTIFACTS = os.path.join(os.environ.get("GOUGH_TEST_ARTIFACTS") or os.path.join(ROOT, ".build", "test-artifacts"),
                         "e2e-report")


def test_report_shows_the_labs_hosts_and_tiles_in_chromium_and_nginx_serves_it(lab, first_run):
    connection = controller(lab)
    nodes = dict((row["HOSTNAME"], row) for row in table(first_run["site"]))
    enlisted = "e2e-%s-report" % lab["tag"]
    with MAASClient(connection["gough_maas_url"], connection["gough_maas_api_key"],
                    ca_path=connection["gough_ca_cert"]) as client:
        # Enlisted without commissioning: MAAS keeps it New, and no node boots for it.
        machine = client.post("machines/", data={"hostname": enlisted, "architecture": "amd64/generic",
                                                 "mac_addresses": "52:54:00:9a:ff:01", "power_type": "manual",
                                                 "commission": "false"})
        try:
            # Before the first report, nginx serves the stack role's placeholder, with the same policy.
            context = ssl.create_default_context(cafile=connection["gough_ca_cert"])
            with urllib.request.urlopen(connection["gough_prometheus_url"] + "/report/", context=context,
                                        timeout=30) as response:
                assert b"No fleet report yet" in response.read()
                assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            result_file = os.path.join(str(lab["dir"]), "report-result.json")
            rc, _run, output = playbook("report.yml", "-i", first_run["inventory"], *lab["extra"],
                                        "-e", "stack_profile=lab", "-e", "report_result_file=%s" % result_file,
                                        env=lab["env"])
            assert rc == 0, output
            with open(result_file, encoding="utf-8") as handle:
                result = json.load(handle)
            summary = result["summary"]
            assert summary["unavailable"] == {}, summary["unavailable"]

            # nginx serves the file report.yml wrote, TLS verified with Gough's CA, with a policy that loads nothing.
            with urllib.request.urlopen(connection["gough_prometheus_url"] + "/report/", context=context,
                                        timeout=30) as response:
                served = response.read()
                policy = response.headers["Content-Security-Policy"]
            with open(result["dest"], "rb") as handle:
                assert served == handle.read()
            assert "default-src 'none'" in policy

            os.makedirs(ARTIFACTS, exist_ok=True)
            page_path = os.path.join(ARTIFACTS, "report.html")
            with open(page_path, "wb") as handle:
                handle.write(served)
            dom = chromium("--dump-dom", "file://" + page_path)
            with open(os.path.join(ARTIFACTS, "report.dom.html"), "w", encoding="utf-8") as handle:
                handle.write(dom)
            chromium("--window-size=1400,1500", "--screenshot=%s" % os.path.join(ARTIFACTS, "report.png"),
                     "file://" + page_path)
            parsed = Page(dom)

            rows = dict((row[0], dict(zip(("hostname", "system_id", "status", "ip", "zone", "pool", "tags", "agent",
                                           "fleet", "policies", "quarantine"), row))) for row in parsed.rows)
            assert sorted(rows) == sorted(list(nodes) + [enlisted])
            quarantined = sorted(nodes)[-1]  # conftest: the last node is non-compliant on purpose
            for name, node in nodes.items():
                row = rows[name]
                assert (row["system_id"], row["status"], row["ip"]) == (node["SYSTEM_ID"], "Deployed", node["IP"])
                assert (row["agent"], row["fleet"]) == ("up", "online"), row
                assert row["quarantine"] == ("yes" if name == quarantined else "no"), row
            assert (rows[enlisted]["system_id"], rows[enlisted]["status"]) == (machine["system_id"], "New")
            assert (rows[enlisted]["agent"], rows[enlisted]["fleet"], rows[enlisted]["quarantine"]) == ("-", "-", "no")

            assert parsed.tiles["machines"] == "3"
            assert parsed.tiles["deployed-24h"] == "2"
            assert parsed.tiles["failing-critical"] == "1"
            assert parsed.tiles["agents-down"] == "0"
            assert parsed.tiles["quarantined"] == "1"
            assert parsed.tiles["certificates"] == str(summary["certificates_expiring"])
            assert all(parsed.figures[name]["svg"] for name in ("status", "deploys", "policies", "agents")), \
                parsed.figures
            assert parsed.info == "1-3 of 3 hosts, page 1 of 1"
        finally:
            client.delete("machines/%s/" % machine["system_id"])
