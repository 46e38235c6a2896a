#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the fleet report (playbooks/report.yml, gough.gough.html_report) on 10,000 hosts.

The MAAS emulator holds 10,000 machines (its seeded statuses, zones and pools, a fifth of them deployed, 100 tagged
gough-quarantine); the Fleet emulator has the first 1,000 of them (--fleet-hosts) with answers to three policies
(two critical);
Prometheus is a stand-in on loopback that answers the report's four queries with 10,000 agent samples (40 down),
24 h of range points and a certificate per agent, as Prometheus's API would. 500 deploy records and 30 backups
complete the sources. report.yml runs end to end; the script prints the render time (html_report's own
``seconds``: join, charts and page), the file size, and the whole playbook's wall time. Targets: render <= 5 s and
file <= 10 MB.
"""

import argparse
import concurrent.futures
import http.server
import json
import logging
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "lab")
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
BIN = os.path.dirname(sys.executable)
sys.path.insert(0, LAB)
sys.path.insert(0, COLLECTIONS)
# pylint: disable-next=wrong-import-position
from gough_lab.common.testing import link_collection  # noqa: E402

link_collection(ROOT, COLLECTIONS)
# pylint: disable-next=wrong-import-position,import-error
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # noqa: E402

RENDER_TARGET = 5.0
SIZE_TARGET = 10 * 1000 * 1000
POLICIES = (("root login", "SELECT 1 FROM os_version WHERE name = 'root login off';", True),
            ("world-writable", "SELECT 1 FROM os_version WHERE name = 'nothing world-writable';", True),
            ("journal", "SELECT 1 FROM os_version WHERE name = 'journal persistent';", False))


def seed(maas, fleet, hosts, fleet_hosts, workers):
    """Deploy a fifth of the machines, tag 100 quarantined, enroll the first ``fleet_hosts`` in Fleet with answers;
    returns every machine's hostname."""
    from gough_lab.fleet.testing import FakeOsqueryHost  # pylint: disable=import-outside-toplevel

    fleet.configure(policy_interval=0)
    for name, query, critical in POLICIES:
        fleet.request("POST", "/api/v1/fleet/global/policies", {"name": name, "query": query, "critical": critical})
    maas.configure(deploy_seconds=0)
    with MAASClient(maas.url, maas.api_key) as client:
        machines = sorted(client.get("machines/"), key=lambda m: m["hostname"])
        ready = [m["system_id"] for m in machines if m["status_name"] == "Ready"][:hosts // 5]

        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda system_id: client.post("machines/%s/" % system_id, op="deploy"), ready))
        client.post("tags/", data={"name": "gough-quarantine", "comment": "bench"})
        client.post("tags/gough-quarantine/", op="update_nodes",
                    data={"add": [m["system_id"] for m in machines[:100]]})
    names = [m["hostname"] for m in machines[:hosts]]

    def enroll(index):
        answers = {POLICIES[0][1]: [] if index % 50 == 0 else [{"1": "1"}], POLICIES[1][1]: [{"1": "1"}],
                   POLICIES[2][1]: [] if index % 7 == 0 else [{"1": "1"}]}
        return FakeOsqueryHost(fleet, names[index], answers=answers).checkin()
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        assert all(pool.map(enroll, range(min(hosts, fleet_hosts)))), "a fake host failed to check in"
    return names


def prometheus_stand_in(names):
    """A loopback HTTP server answering /api/v1/query and /api/v1/query_range as Prometheus's API does."""
    now = time.time()
    agents = [{"metric": {"__name__": "up", "job": "gough-agent", "instance": name},
               "value": [now, "0" if index % 250 == 0 else "1"]} for index, name in enumerate(names)]
    certs = [{"metric": {"instance": name, "cert": "agent"}, "value": [now, str(now + 86400 * (5 + index % 90))]}
             for index, name in enumerate(names)]

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):  # noqa: N802 pylint: disable=invalid-name
            url = urllib.parse.urlsplit(self.path)
            query = urllib.parse.parse_qs(url.query)
            expr = query.get("query", [""])[0]
            if url.path == "/api/v1/query_range":
                start, end, step = (float(query[key][0]) for key in ("start", "end", "step"))
                value = str(len(names) - (40 if expr.startswith("sum") else 0))
                points = [[start + i * step, value] for i in range(int((end - start) // step) + 1)]
                data = {"resultType": "matrix", "result": [{"metric": {}, "values": points}]}
            else:
                data = {"resultType": "vector", "result": certs if "cert" in expr else agents}
            body = json.dumps({"status": "success", "data": data}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    """Seed, run report.yml, print the render time and size; exit 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=10000)
    # Enrolling a fake osquery host costs the emulator several requests: 1,000 keep the seeding to a minute or two;
    # --fleet-hosts 10000 enrolls every machine (the render time hardly changes, the seeding takes ~20 minutes).
    parser.add_argument("--fleet-hosts", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--keep", help="copy the rendered report to this path")
    parser.add_argument("--verbose", action="store_true", help="print report.yml's output (with ANSIBLE_CALLBACKS_ENABLED="
                                                               "ansible.posix.profile_tasks: where the time goes)")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the fake osquery hosts log each enrollment
    # pylint: disable=import-outside-toplevel
    from gough_lab.fleet.testing import start_fleet_emulator
    from gough_lab.testing import start_maas_emulator

    with tempfile.TemporaryDirectory(prefix="gough-bench-report-") as scratch:
        maas = start_maas_emulator(os.path.join(scratch, "maas"), machines=args.hosts, seed=7, timeout=300)
        fleet = start_fleet_emulator(os.path.join(scratch, "fleet"))
        server = None
        try:
            started = time.monotonic()
            names = seed(maas, fleet, args.hosts, args.fleet_hosts, args.workers)
            print("seeded %d MAAS machines, %d Fleet hosts, %d agents in Prometheus in %.1f s"
                  % (args.hosts, min(args.hosts, args.fleet_hosts), len(names), time.monotonic() - started))
            server = prometheus_stand_in(names)
            stack = os.path.join(scratch, "stack")
            os.makedirs(os.path.join(stack, "report"))
            for day in range(30):
                os.makedirs(os.path.join(stack, "backups", time.strftime(
                    "gough-%Y%m%dT%H%M%SZ", time.gmtime(time.time() - day * 86400))))
            rng = random.Random(7)
            with open(os.path.join(stack, "deploys.jsonl"), "w", encoding="utf-8") as handle:
                for index in range(500):
                    handle.write(json.dumps({"time": int(time.time()) - rng.randint(0, 3 * 86400),
                                             "hostname": names[index % len(names)], "system_id": "x", "action": "deploy",
                                             "seconds": rng.gauss(420, 90), "failed": False}) + "\n")
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                       ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                       MAAS_URL=maas.url, MAAS_API_KEY=maas.api_key, FLEET_URL=fleet.url,
                       FLEET_API_TOKEN=fleet.api_token, FLEET_CA_CERT=fleet.ca_cert,
                       PROMETHEUS_URL="http://127.0.0.1:%d" % server.server_address[1])
            result_file = os.path.join(scratch, "result.json")
            started = time.monotonic()
            process = subprocess.run(
                [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", "report.yml"),
                 "-e", "stack_profile=lab", "-e", "stack_base_dir=%s" % stack, "-e",
                 "report_result_file=%s" % result_file],
                env=env, capture_output=True, text=True, check=False, timeout=900)
            wall = time.monotonic() - started
            if process.returncode != 0:
                raise SystemExit("report.yml failed:\n%s\n%s" % (process.stdout[-4000:], process.stderr[-2000:]))
            if args.verbose:
                print(process.stdout)
            path = os.path.join(stack, "report", "index.html")
            size = os.path.getsize(path)
            with open(result_file, encoding="utf-8") as handle:
                result = json.load(handle)
            if args.keep:
                with open(path, "rb") as source, open(args.keep, "wb") as target:
                    target.write(source.read())
        finally:
            if server is not None:
                server.shutdown()
            fleet.stop()
            maas.stop()
    render = result["seconds"]
    print("report.yml end to end        %6.2f s  (%d hosts in the table)" % (wall, result["hosts"]))
    print("render (join, charts, page)  %6.2f s  (target <= %.0f s) %s"
          % (render, RENDER_TARGET, "ok" if render <= RENDER_TARGET else "MISSED"))
    print("report file                  %6.2f MB (target <= %.0f MB) %s"
          % (size / 1e6, SIZE_TARGET / 1e6, "ok" if size <= SIZE_TARGET else "MISSED"))
    print("tiles: %s" % json.dumps(dict((k, v) for k, v in result["summary"].items() if k != "unavailable")))
    if result["summary"]["unavailable"]:
        print("unavailable sources: %s" % result["summary"]["unavailable"])
        return 1
    return 0 if render <= RENDER_TARGET and size <= SIZE_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
