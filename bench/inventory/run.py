#!/usr/bin/env python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark the gough.gough.maas inventory plugin against the floor on a 10,000-machine emulator.

The floor is a bare Python script that fetches and parses the same machine list. The script prints
``ansible-inventory --list`` wall time over the floor (uncached) and a cached run over an uncached one, each the
best of a few rounds, all measured in one run.
"""

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
COLLECTIONS = os.path.join(ROOT, ".build", "pytest-collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gough", "gough")
BIN = os.path.dirname(sys.executable)

UNCACHED_TARGET = 3.0
CACHED_TARGET = 0.5

# The floor: the same signed request and json.loads, nothing else (run as a fresh interpreter, like the CLI).
FLOOR_SCRIPT = r"""
import json, os, secrets, sys, time, urllib.request
url, key = os.environ["MAAS_URL"], os.environ["MAAS_API_KEY"]
consumer, token, secret = key.split(":")
auth = ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
        'oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"'
        % (consumer, token, secret, secrets.token_hex(16), time.time()))
request = urllib.request.Request(url + "/api/2.0/machines/?status=deployed", headers={"Authorization": auth})
with urllib.request.urlopen(request) as response:
    machines = json.loads(response.read())
print(len(machines))
"""


def ensure_collection_link():
    """Make ansible_collections/gough/gough under .build/pytest-collections point at the working tree."""
    if not os.path.islink(LINK):
        os.makedirs(os.path.dirname(LINK), exist_ok=True)
        os.symlink(ROOT, LINK)


def deploy_all(emulator, workers):
    """Deploy every Ready machine at once (deploy_seconds 0) and wait until the list shows them Deployed."""
    sys.path.insert(0, COLLECTIONS)
    from ansible_collections.gough.gough.plugins.module_utils.maas import MAASClient  # pylint: disable=import-outside-toplevel

    emulator.configure(deploy_seconds=0)
    with MAASClient(emulator.url, emulator.api_key) as client:
        ready = [m["system_id"] for m in client.get("machines/", params={"status": "ready"})]
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda sid: client.post("machines/%s/" % sid, op="deploy"), ready))
        deadline = time.monotonic() + 120
        while client.get("machines/", params={"status": "deploying"}):
            if time.monotonic() > deadline:
                raise RuntimeError("machines still deploying after 120 s")
            time.sleep(0.5)
        return len(client.get("machines/", params={"status": "deployed"}))


def timed(command, env):
    """Wall seconds of one run of ``command``; fails loudly if it fails."""
    start = time.perf_counter()
    result = subprocess.run(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError("%s failed: %s" % (command[0], result.stderr.decode("utf-8", "replace")[-2000:]))
    return elapsed


def main():
    """Seed, deploy, measure, print the ratios; exit 1 if a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--machines", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each measurement; the best one counts")
    parser.add_argument("--workers", type=int, default=16, help="parallel deploy requests while seeding")
    args = parser.parse_args()

    sys.path.insert(0, os.path.join(ROOT, "lab"))
    from gough_lab import testing  # pylint: disable=import-outside-toplevel

    ensure_collection_link()
    work = tempfile.mkdtemp(prefix="gough-bench-inventory-")
    emulator = None
    try:
        started = time.perf_counter()
        emulator = testing.start_maas_emulator(os.path.join(work, "maas"), machines=args.machines, timeout=300)
        deployed = deploy_all(emulator, args.workers)
        print("seeded and deployed %d machines in %.1f s" % (deployed, time.perf_counter() - started))

        # Uncached: the plain plugin, no cache plugin involved. Cached: the same with a jsonfile cache, after one
        # run that filled it.
        plain = os.path.join(work, "plain.maas.yml")
        with open(plain, "w", encoding="utf-8") as handle:
            handle.write("plugin: gough.gough.maas\n")
        cached_config = os.path.join(work, "cached.maas.yml")
        with open(cached_config, "w", encoding="utf-8") as handle:
            handle.write("plugin: gough.gough.maas\ncache: true\ncache_plugin: ansible.builtin.jsonfile\n"
                         "cache_connection: %s\ncache_timeout: 3600\n" % os.path.join(work, "cache"))
        env = dict(os.environ, MAAS_URL=emulator.url, MAAS_API_KEY=emulator.api_key,
                   ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_INVENTORY_ENABLED="gough.gough.maas")
        command = os.path.join(BIN, "ansible-inventory")

        timed([command, "-i", cached_config, "--list", "--flush-cache"], env)  # fills the cache
        commands = {"floor": [sys.executable, "-c", FLOOR_SCRIPT], "uncached": [command, "-i", plain, "--list"],
                    "cached": [command, "-i", cached_config, "--list"],
                    # For reading the figures: the same uncached run without --list's dump of every variable.
                    "graph": [command, "-i", plain, "--graph"]}
        # Interleaved rounds, best of each: a busy spell on the machine then slows all three alike.
        times = dict((name, []) for name in commands)
        for _round in range(args.rounds):
            for name, argv in commands.items():
                times[name].append(timed(argv, env))
        floor, uncached, cached = min(times["floor"]), min(times["uncached"]), min(times["cached"])

        uncached_ratio = uncached / floor
        cached_ratio = cached / uncached
        print("floor (bare fetch + parse)       %7.2f s" % floor)
        print("ansible-inventory --list         %7.2f s" % uncached)
        print("ansible-inventory --list cached  %7.2f s" % cached)
        print("ansible-inventory --graph        %7.2f s  (uncached; no hostvars output)" % min(times["graph"]))
        print("uncached / floor    %5.2fx  (target <= %.1fx) %s"
              % (uncached_ratio, UNCACHED_TARGET, "ok" if uncached_ratio <= UNCACHED_TARGET else "MISSED"))
        print("cached / uncached   %5.2fx  (target <= %.1fx) %s"
              % (cached_ratio, CACHED_TARGET, "ok" if cached_ratio <= CACHED_TARGET else "MISSED"))
        return 0 if uncached_ratio <= UNCACHED_TARGET and cached_ratio <= CACHED_TARGET else 1
    finally:
        if emulator is not None:
            emulator.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
