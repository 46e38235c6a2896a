#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark waiting for a whole play's hosts to enroll in Fleet: one run_once task vs one wait per host.

Both sides run ``ansible-playbook`` with N inventory hosts (default 500, ``connection: local``) against a fresh
Fleet emulator (same seed). While the wait runs, the bench enrolls N emulated osquery hosts through the emulator's
osquery API (``POST /api/osquery/enroll``), host i after a seeded delay between ``--min-delay`` and
``--max-delay`` seconds, so hosts come online at different times and the slowest one sets the floor:

- play: the fleet_enroll role's wait, one ``gough.gough.fleet_enroll`` task with ``hosts`` (every host of
  ``ansible_play_batch``) and ``run_once``, which looks at Fleet with one list request per poll for all of them;
- baseline: ``gough.gough.fleet_enroll`` per host with its ``hostname``, the way the role waited before, Ansible
  forks doing the parallelism: a search and an identifier lookup per host per poll.

The time measured is the wait's, from a stamp written just before the wait task (which also starts the clock of
the enrollments) to a task just after it. Prints REST requests per host (emulator's ``/_lab/stats``; the osquery
enrollments are not counted) and wall time / the slowest host's enrollment time, for both.
"""

import argparse
import json
import os
import random
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
REQUESTS_TARGET = 1.2
WALL_TARGET = 1.2

HEAD = """
- hosts: all
  connection: local
  gather_facts: false
  tasks:
    - name: Note the start (the enrollments start from this stamp)
      ansible.builtin.copy:
        content: "{{{{ now().timestamp() }}}}"
        dest: "{start}"
        mode: "0600"
      run_once: true
"""

PLAY_WAIT = """
    - name: Wait for every host of the play, as the fleet_enroll role does
      gough.gough.fleet_enroll:
        url: "{url}"
        api_token: "{token}"
        ca_path: "{ca}"
        hosts: "{{{{ ansible_play_batch | map('extract', hostvars) | map(attribute='bench_identity') | list }}}}"
        wait_timeout: 600
        poll_interval: {poll}
      run_once: true
      register: bench_batch
"""

BASELINE_WAIT = """
    - name: Wait for this host only
      gough.gough.fleet_enroll:
        url: "{url}"
        api_token: "{token}"
        ca_path: "{ca}"
        hostname: "{{{{ bench_identity.hostname }}}}"
        wait_timeout: 600
        poll_interval: {poll}
"""

TAIL = """
    - name: Note the end (templated when this task starts)
      ansible.builtin.copy:
        content: "{{{{ now().timestamp() }}}}"
        dest: "{end}"
        mode: "0600"
      run_once: true
"""


def delays(args):
    """Seeded enrollment delay of each host, in seconds after the start stamp."""
    rng = random.Random(args.seed)
    return [round(rng.uniform(args.min_delay, args.max_delay), 3) for _index in range(args.hosts)]


class Enroller(threading.Thread):
    """Enrolls host i at start + delay[i] once the start stamp exists; records when each enrollment finished."""

    def __init__(self, emulator, names, plan, stamp):
        super().__init__(daemon=True)
        self.emulator, self.names, self.plan, self.stamp = emulator, names, plan, stamp
        self.start_time = None
        self.finished = {}
        self.errors = []

    def enroll(self, index):
        name = self.names[index]
        body = {"enroll_secret": self.emulator.enroll_secret, "host_identifier": "bench-id-%04d" % index,
                "host_details": {"system_info": {"hostname": name, "uuid": "00000000-0000-4000-8000-%012d" % index,
                                                 "hardware_serial": "BENCH%06d" % index}}}
        response = self.emulator.osquery("enroll", body)
        if response.status != 200 or response.json().get("node_invalid"):
            self.errors.append("%s: %s %s" % (name, response.status, response.body[:200]))
        self.finished[name] = time.time()

    def run(self):
        while not os.path.exists(self.stamp) or not open(self.stamp, encoding="utf-8").read().strip():
            time.sleep(0.005)
        with open(self.stamp, encoding="utf-8") as handle:
            self.start_time = float(handle.read())
        order = sorted(range(len(self.names)), key=lambda i: self.plan[i])
        with ThreadPoolExecutor(max_workers=8) as pool:
            for index in order:
                pause = self.start_time + self.plan[index] - time.time()
                if pause > 0:
                    time.sleep(pause)
                pool.submit(self.enroll, index)


def measure(args, kind, hosts, work):
    """Fresh emulator, ``hosts`` enrolling on the seeded plan while one side waits; returns its figures."""
    from gough_lab.fleet.testing import start_fleet_emulator  # pylint: disable=import-outside-toplevel
    from gough_lab.common.testing import run_bench_playbook  # pylint: disable=import-outside-toplevel
    # Hosts stay online for the whole run without checking in again (Fleet: seen within interval + buffer).
    emulator = start_fleet_emulator(os.path.join(work, kind), seed=args.seed, online_buffer=3600)
    try:
        names = ["bench-%04d" % index for index in range(hosts)]
        plan = delays(args)[:hosts]
        directory = os.path.join(work, kind + "-play")
        os.makedirs(directory)
        start, end = os.path.join(directory, "start"), os.path.join(directory, "end")
        inventory = os.path.join(directory, "hosts.json")
        with open(inventory, "w", encoding="utf-8") as handle:
            json.dump({"all": {"hosts": dict((name, {"bench_identity": {"name": name, "hostname": name}})
                                             for name in names)}}, handle)
        fields = dict(url=emulator.url, token=emulator.api_token, ca=emulator.ca_cert, poll=args.poll, start=start,
                      end=end)
        play = HEAD.format(**fields) + (PLAY_WAIT if kind == "play" else BASELINE_WAIT).format(**fields) \
            + TAIL.format(**fields)
        enroller = Enroller(emulator, names, plan, start)
        enroller.start()
        emulator.reset_stats()
        run_bench_playbook(directory, play, inventory, 1 if kind == "play" else args.forks, COLLECTIONS)
        enroller.join(timeout=60)
        if enroller.errors or len(enroller.finished) != hosts:
            raise SystemExit("%s: enrollments failed: %s" % (kind, enroller.errors[:5]))
        stats = emulator.stats()
        with open(end, encoding="utf-8") as handle:
            wall = float(handle.read()) - enroller.start_time
        slowest = max(enroller.finished.values()) - enroller.start_time
        return {"hosts": hosts, "wall": round(wall, 2), "slowest": round(slowest, 2),
                "wall_over_slowest": round(wall / slowest, 2),
                "requests": stats["requests_total"], "requests_per_host": round(stats["requests_total"] / hosts, 2),
                "list_calls": stats["by_route"].get("GET hosts", 0)}
    finally:
        emulator.stop()


def show(label, figures):
    values = (label, figures["hosts"], figures["wall"], figures["slowest"], figures["wall_over_slowest"],
              figures["requests_per_host"], figures["requests"], figures["list_calls"])
    print("  %-34s %4d hosts  wall %6.1fs  slowest enrollment %5.1fs  wall/slowest %5.2f  requests/host %6.2f  "
          "(%d requests, %d host lists)" % values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--min-delay", type=float, default=2.0, help="earliest enrollment, seconds after the start")
    parser.add_argument("--max-delay", type=float, default=10.0, help="latest enrollment, seconds after the start")
    parser.add_argument("--poll", type=float, default=0.5, help="poll_interval for both sides")
    parser.add_argument("--forks", type=int, default=50, help="Ansible forks for the baseline")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline-hosts", type=int, default=None,
                        help="run the baseline on the first N hosts only (default: all; 0 skips it)")
    parser.add_argument("--no-gate", action="store_true", help="print the verdicts but exit 0 (CI)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from gough_lab.common.testing import link_collection  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, link_collection(ROOT, COLLECTIONS))
    work = tempfile.mkdtemp(prefix="gough-bench-fleet-")
    print("fleet_enroll: %d hosts enrolling %g-%gs after the start (seed %d), poll_interval %gs, baseline forks %d"
          % (args.hosts, args.min_delay, args.max_delay, args.seed, args.poll, args.forks))
    figures = {"play": measure(args, "play", args.hosts, work)}
    show("play: one run_once wait (hosts)", figures["play"])
    baseline_hosts = args.hosts if args.baseline_hosts is None else min(args.baseline_hosts, args.hosts)
    if baseline_hosts:
        figures["baseline"] = measure(args, "baseline", baseline_hosts, work)
        show("baseline: one wait per host", figures["baseline"])
        base, play = figures["baseline"], figures["play"]
        print("  baseline / play: %.1fx requests per host, %.1fx wall / slowest%s"
              % (base["requests_per_host"] / play["requests_per_host"],
                 base["wall_over_slowest"] / play["wall_over_slowest"],
                 "" if baseline_hosts == args.hosts else " (baseline on %d hosts)" % baseline_hosts))
    status = 0
    for name, value, target in (("requests per host", figures["play"]["requests_per_host"], REQUESTS_TARGET),
                                ("wall / slowest enrollment", figures["play"]["wall_over_slowest"], WALL_TARGET)):
        verdict = "met" if value <= target else "MISSED"
        print("  target play %s <= %.1f: %s (%.2f)" % (name, target, verdict, value))
        if verdict != "met" and not args.no_gate:
            status = 1
    if args.json:
        with open(args.json, "w", encoding="utf-8") as handle:
            json.dump(figures, handle, indent=2, sort_keys=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
