#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark gough.gough.maas_deploy on 1,000 emulated machines against one blocking deploy per machine.

Both sides run ``ansible-playbook`` against a fresh MAAS emulator (same seed, so the same machines) whose deploys
take T seconds:

- batch: one ``maas_deploy`` task for all N machines (by hostname);
- baseline: one host per machine in the inventory, each running ``maas_deploy`` for its own machine only, with
  Ansible forks doing the parallelism, the way a single-machine module is used. Same poll settings.

And, to read the batch figure against, a floor on a third emulator: a bare script (a fresh interpreter, no Ansible,
no gough code) maps the names with one list call and sends the N deploys over keep-alive connections with the same
concurrency. A machine is done T after MAAS answers its deploy, so the script's last answer + T is when a client as
quick as it could be done: a reference from one run, not a strict bound.

Prints wall time / T for each, requests per machine from the emulator's counters, baseline / batch and batch / floor.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
TARGET = 1.15

BATCH_PLAY = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Note the start
      ansible.builtin.set_fact:
        bench_start: "{{{{ now().timestamp() }}}}"
      run_once: true
    - name: Deploy every machine in one task
      gough.gough.maas_deploy:
        url: "{url}"
        api_key: "{api_key}"
        machines: "{{{{ lookup('ansible.builtin.file', '{names}') | split(',') }}}}"
        poll_interval: {poll}
        poll_backoff: 1
        concurrency: {concurrency}
        progress_interval: {progress}
        wait_timeout: 3600
    - name: Note the time the deploy task took (templated when this task starts)
      ansible.builtin.copy:
        content: "{{{{ now().timestamp() - hostvars[ansible_play_hosts_all[0]].bench_start | float }}}}"
        dest: "{stamp}"
        mode: "0600"
      run_once: true
"""

BASELINE_PLAY = """
- hosts: all
  connection: local
  gather_facts: false
  tasks:
    - name: Note the start
      ansible.builtin.set_fact:
        bench_start: "{{{{ now().timestamp() }}}}"
      run_once: true
    - name: Deploy this host's machine
      gough.gough.maas_deploy:
        url: "{url}"
        api_key: "{api_key}"
        machines: ["{{{{ inventory_hostname }}}}"]
        poll_interval: {poll}
        poll_backoff: 1
        progress_interval: 0
        wait_timeout: 3600
    - name: Note the time the deploy task took (templated when this task starts)
      ansible.builtin.copy:
        content: "{{{{ now().timestamp() - hostvars[ansible_play_hosts_all[0]].bench_start | float }}}}"
        dest: "{stamp}"
        mode: "0600"
      run_once: true
"""


# The floor: what any client must do on this emulator (resolve the names, send every deploy), written with the
# standard library only. Prints {"sent": seconds until every deploy was answered, "wall": seconds until none was
# deploying (polled, to check the deploys took)}, both from after the interpreter started.
FLOOR_SCRIPT = r"""
import http.client, json, os, secrets, sys, threading, time, urllib.parse
from concurrent.futures import ThreadPoolExecutor
url = urllib.parse.urlsplit(os.environ["MAAS_URL"])
consumer, token, secret = os.environ["MAAS_API_KEY"].split(":")
with open(sys.argv[1], encoding="utf-8") as handle:
    names = handle.read().split(",")
concurrency, poll = int(sys.argv[2]), float(sys.argv[3])
local = threading.local()

def call(method, path):
    if getattr(local, "connection", None) is None:
        local.connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    headers = {"Authorization": 'OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", '
               'oauth_consumer_key="%s", oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", '
               'oauth_timestamp="%d"' % (consumer, token, secret, secrets.token_hex(16), time.time())}
    body = None
    if method == "POST":
        body, headers["Content-Type"] = b"", "application/x-www-form-urlencoded"
    local.connection.request(method, url.path.rstrip("/") + "/api/2.0/" + path, body=body, headers=headers)
    response = local.connection.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit("%s %s: %d %r" % (method, path, response.status, data[:300]))
    return json.loads(data)

start = time.monotonic()
ids = [m["system_id"] for m in call("GET", "machines/?" + urllib.parse.urlencode([("hostname", n) for n in names]))]
with ThreadPoolExecutor(concurrency) as pool:
    list(pool.map(lambda system_id: call("POST", "machines/%s/?op=deploy" % system_id), ids))
sent = time.monotonic() - start
while True:
    time.sleep(poll)
    if not call("GET", "machines/?status=deploying"):
        break
print(json.dumps({"sent": sent, "wall": time.monotonic() - start}))
"""


def machine_names(emulator):
    """Hostnames of the emulator's machines, from one list call."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # pylint: disable=import-outside-toplevel
    with MAASClient(emulator.url, emulator.api_key) as client:
        return [m["hostname"] for m in client.get("machines/")]


def measure(args, kind, work, machines=None):
    """Start a fresh emulator, run one side (``batch``, ``baseline`` or ``floor``), and return (its wall seconds: the
    deploy task's, or the floor script's, stats, stdout)."""
    from gough_lab.testing import start_maas_emulator  # pylint: disable=import-outside-toplevel
    from gough_lab.common.testing import run_bench_playbook  # pylint: disable=import-outside-toplevel
    state = os.path.join(work, kind)
    machines = machines or args.machines
    emulator = start_maas_emulator(state, machines=machines, seed=args.seed,
                                   extra_args=("--deploy-seconds", str(args.deploy_seconds)))
    try:
        names = machine_names(emulator)
        directory = os.path.join(work, kind + "-play")
        os.makedirs(directory)
        stamp = os.path.join(directory, "stamp")
        names_file = os.path.join(directory, "names")
        with open(names_file, "w", encoding="utf-8") as handle:
            handle.write(",".join(names))
        if kind == "floor":
            env = dict(os.environ, MAAS_URL=emulator.url, MAAS_API_KEY=emulator.api_key)
            emulator.reset_stats()
            process = subprocess.run([sys.executable, "-c", FLOOR_SCRIPT, names_file, str(args.concurrency),
                                      str(args.poll)], env=env, capture_output=True, text=True, check=False,
                                     timeout=300 + 3 * args.deploy_seconds)
            if process.returncode != 0:
                raise SystemExit("the floor script failed: %s" % process.stderr[-3000:])
            stats = emulator.stats()
            stats.update(json.loads(process.stdout))
            wall, stdout = stats["wall"], process.stdout
        else:
            if kind == "batch":
                play = BATCH_PLAY.format(url=emulator.url, api_key=emulator.api_key, names=names_file,
                                         poll=args.poll, concurrency=args.concurrency, progress=args.progress,
                                         stamp=stamp)
                inventory, forks = "localhost,", 1
            else:
                inventory = os.path.join(directory, "hosts")
                with open(inventory, "w", encoding="utf-8") as handle:
                    handle.write("\n".join(names) + "\n")
                play = BASELINE_PLAY.format(url=emulator.url, api_key=emulator.api_key, poll=args.poll, stamp=stamp)
                forks = args.forks
            emulator.reset_stats()
            stats = {}
            stats["playbook_wall"], stdout = run_bench_playbook(directory, play, inventory, forks, COLLECTIONS)
            stats.update(emulator.stats())
            with open(stamp, encoding="utf-8") as handle:
                wall = stats["task_wall"] = float(handle.read())
        deployed = [m for m in machine_names_by_status(emulator) if m == "Deployed"]
        if len(deployed) != machines:
            raise SystemExit("%s: only %d of %d machines Deployed" % (kind, len(deployed), machines))
        return wall, stats, stdout
    finally:
        emulator.stop()


def machine_names_by_status(emulator):
    """Status label of every machine."""
    from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # pylint: disable=import-outside-toplevel
    with MAASClient(emulator.url, emulator.api_key) as client:
        return [m["status_name"] for m in client.get("machines/")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=1000)
    parser.add_argument("--deploy-seconds", type=float, default=10.0, help="simulated deploy time T")
    parser.add_argument("--poll", type=float, default=0.5, help="poll_interval for both sides")
    parser.add_argument("--concurrency", type=int, default=32, help="maas_deploy concurrency (batch side)")
    parser.add_argument("--forks", type=int, default=50, help="Ansible forks for the baseline")
    parser.add_argument("--progress", type=float, default=2.0, help="progress_interval of the batch side")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-baseline", action="store_true", help="measure the batch side only")
    parser.add_argument("--skip-floor", action="store_true", help="do not measure the bare-script floor")
    parser.add_argument("--baseline-machines", type=int, default=None,
                        help="run the baseline on N machines only (default: --machines); for a quick CI run")
    parser.add_argument("--no-gate", action="store_true", help="print the verdict but exit 0 (CI)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from gough_lab.common.testing import link_collection  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, link_collection(ROOT, COLLECTIONS))
    work = tempfile.mkdtemp(prefix="gough-bench-deploy-")
    t = args.deploy_seconds
    n = args.machines

    print("deploy_batch: %d machines, T=%gs deploy, poll_interval %gs, batch concurrency %d, baseline forks %d"
          % (n, t, args.poll, args.concurrency, args.forks))
    batch_wall, batch_stats, batch_out = measure(args, "batch", work)
    progress = [line for line in batch_out.splitlines() if line.startswith("maas_deploy:")]
    figures = {"machines": n, "deploy_seconds": t, "batch_wall": round(batch_wall, 2),
               "batch_wall_over_t": round(batch_wall / t, 2),
               "batch_requests_per_machine": round(batch_stats["requests_total"] / float(n), 2),
               "batch_list_calls": batch_stats["by_op"].get("GET machines/ read", 0)}
    print("  progress lines seen: %d (last: %s)" % (len(progress), progress[-1] if progress else "none"))
    print("  maas_deploy, one task:      wall %7.1fs = %5.2f x T   %5.2f requests/machine   (%d list calls)"
          % (batch_wall, batch_wall / t, figures["batch_requests_per_machine"], figures["batch_list_calls"]))
    if not args.skip_floor:
        # Right after the batch run, before the baseline loads the machine. A machine is done T after its deploy is
        # answered, so the bare script's last answer + T is when a client as quick as it could be done: a reference
        # from one run on another emulator instance, not a strict bound (its sending varies from run to run).
        _wall, floor_stats, _out = measure(args, "floor", work)
        floor = floor_stats["sent"] + t
        figures.update(floor_sent=round(floor_stats["sent"], 2), floor=round(floor, 2),
                       floor_over_t=round(floor / t, 3), batch_over_floor=round(batch_wall / floor, 3))
        print("  floor, a bare script:       every deploy answered after %.2fs; + T = %.2fs = %.3f x T (a reference: "
              "one run)" % (floor_stats["sent"], floor, floor / t))
        print("  maas_deploy / floor: %.3fx wall time, %+.2fs" % (batch_wall / floor, batch_wall - floor))
    status = 0
    base_n = min(args.baseline_machines or n, n)
    if not args.skip_baseline and base_n > 0:
        base_wall, base_stats, _out = measure(args, "baseline", work, base_n)
        figures.update(baseline_machines=base_n, baseline_wall=round(base_wall, 2),
                       baseline_wall_over_t=round(base_wall / t, 2),
                       baseline_requests_per_machine=round(base_stats["requests_total"] / float(base_n), 2),
                       baseline_over_batch=round(base_wall / batch_wall, 1))
        print("  baseline, a host per machine: wall %7.1fs = %5.2f x T   %5.2f requests/machine   (forks %d%s)"
              % (base_wall, base_wall / t, figures["baseline_requests_per_machine"], args.forks,
                 "" if base_n == n else ", %d machines only" % base_n))
        print("  baseline / maas_deploy: %.1fx wall time, %.2fx requests"
              % (base_wall / batch_wall, figures["baseline_requests_per_machine"]
                 / figures["batch_requests_per_machine"]))
    verdict = "met" if figures["batch_wall_over_t"] <= TARGET else "MISSED"
    print("  target maas_deploy wall / T <= %.2f: %s (%.2f)" % (TARGET, verdict, figures["batch_wall_over_t"]))
    if verdict != "met" and not args.no_gate:
        status = 1
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2, sort_keys=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
