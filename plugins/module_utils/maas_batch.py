# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Batch operations on many MAAS machines: fire an op for all of them, then watch them all with one list call.

``fire_machine_op`` sends one op per machine with bounded concurrency, each made safe to retry by a
``took_effect`` predicate; ``poll_until_settled`` then watches every machine with one filtered
``GET machines/?id=...`` per poll interval (chunked only when the URL would get too long), with backoff and a
deadline. ``MachineDeployment`` is the deploy/release engine of ``gough.gough.maas_deploy`` built on them; the
module fires the operations and the module's action plugin watches them from the controller, printing progress.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import threading
import time

from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError, status_in, status_name
from ansible_collections.gough.gough.plugins.module_utils.maas_wait import latest_events, poll_intervals

DEFAULT_CONCURRENCY = 16
# Query strings above this are split over several list calls; proxies and MAAS's WSGI server accept 8 KiB URLs.
MAX_QUERY_CHARS = 7000
EVENTS_PER_FAILURE = 5

DEPLOYED = "Deployed"
DEPLOYING = "Deploying"
FAILED_DEPLOYMENT = "Failed deployment"
READY = "Ready"
NEW = "New"
ALLOCATED = "Allocated"
RELEASE_IN_PROGRESS = ("Releasing", "Disk erasing")
RELEASE_FAILED = ("Releasing failed", "Failed disk erasing")
# Where a finished release leaves a machine: MAAS's _finalize_release makes it Ready when it has passed
# commissioning results, and New when it has none (a machine enlisted with deployed=true, for one).
RELEASED = (READY, NEW)
NEEDS_COMMISSIONING = ("MAAS released it to New because it has no passed commissioning results; commission it "
                       "(gough.gough.maas_machine state=ready) before it can be allocated again")
# MAAS accepts release from these states (reference §3.4).
RELEASABLE = ("Allocated", "Reserved", "Broken", "Deploying", "Deployed", "Failed deployment", "Releasing failed",
              "Failed disk erasing")
# Machines of a count-deployed set: those still holding the set's agent_name while owned. Releasing machines keep
# the agent_name until they reach Ready, but are on their way out and are not counted.
SET_MEMBER_STATUSES = (ALLOCATED, DEPLOYING, DEPLOYED, FAILED_DEPLOYMENT)
# Constraint options of maas_deploy, which are both allocate constraints and GET machines/ filters of the same name.
CONSTRAINTS = ("tags", "not_tags", "zone", "pool", "arch", "cpu_count", "mem")
MAX_REPLACE_ROUNDS = 3


class BatchError(Exception):
    """A failure of the whole batch (bad input, not enough machines); nothing more is attempted."""


def map_concurrently(function, items, concurrency=DEFAULT_CONCURRENCY):
    """Call ``function(item)`` for every item on at most ``concurrency`` threads; return ``{item: (value, error)}``.

    ``error`` is the ``MAASError`` the call raised (``value`` is then None); other exceptions propagate.
    """
    items = list(dict.fromkeys(items))
    results = {}

    def call(item):
        try:
            return item, function(item), None
        except MAASError as exc:
            return item, None, exc

    if not items:
        return results
    workers = max(1, min(int(concurrency or 1), len(items)))
    if workers == 1:
        outcomes = [call(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(call, items))
    for item, value, error in outcomes:
        results[item] = (value, error)
    return results


def fire_machine_op(client, system_ids, op, data=None, took_effect=None, concurrency=DEFAULT_CONCURRENCY, before=None):
    """POST ``op`` to every machine in ``system_ids`` with at most ``concurrency`` requests in flight.

    ``data`` is the form (a dict, or a callable ``data(system_id)``). ``took_effect(machine)`` makes a lost
    response safe: the machine is re-read and the op resent only if it did not happen and the machine did not move
    from what ``before`` (``{system_id: machine}``) shows (see ``MAASClient.machine_op``). Returns
    ``{system_id: (machine or None, MAASError or None)}``; one machine's failure does not stop the others.
    """
    def one(system_id):
        form = data(system_id) if callable(data) else data
        return client.machine_op(system_id, op, data=form, took_effect=took_effect,
                                 before=(before or {}).get(system_id))
    return map_concurrently(one, system_ids, concurrency)


def chunk_values(name, values, max_query_chars=MAX_QUERY_CHARS):
    """Split ``values`` into lists whose ``name=v&name=w...`` query strings stay under ``max_query_chars``."""
    chunks, current, size = [], [], 0
    for value in values:
        length = len(urlencode([(name, value)])) + 1
        if current and size + length > max_query_chars:
            chunks.append(current)
            current, size = [], 0
        current.append(value)
        size += length
    if current:
        chunks.append(current)
    return chunks


def list_machines(client, name, values, params=None, max_query_chars=MAX_QUERY_CHARS):
    """``GET machines/`` filtered to ``name`` in ``values`` (plus ``params``): one call, more only for long URLs."""
    machines = []
    for chunk in chunk_values(name, list(values), max_query_chars):
        query = dict(params or {})
        query[name] = chunk
        answer = client.get("machines/", params=query)
        if not isinstance(answer, list):
            raise MAASError("MAAS answered GET machines/ with something other than a JSON list; is the URL the MAAS "
                            "root (e.g. http://maas.example.com:5240/MAAS)?")
        machines.extend(answer)
    return machines


def find_named_machines(client, names, max_query_chars=MAX_QUERY_CHARS):
    """``(machines, unknown)``: the machines ``names`` refer to, each a hostname or a system ID, sorted by MAAS's
    machine id, and the names that match no machine (in the order given).

    One filtered list call finds most names: by ``id`` when every name looks like a system ID (six lower-case
    letters and digits), else by ``hostname``; a second call looks up only the names the first did not find, the
    other way.
    """
    names = list(dict.fromkeys(names))
    if not names:
        return [], []
    looks_like_ids = all(len(n) == 6 and n.isalnum() and n.islower() for n in names)
    first, second = ("id", "hostname") if looks_like_ids else ("hostname", "id")
    found = list_machines(client, first, names, max_query_chars=max_query_chars)
    key = "system_id" if first == "id" else "hostname"
    matched = set(m.get(key) for m in found)
    left = [n for n in names if n not in matched]
    if left:
        other_key = "hostname" if key == "system_id" else "system_id"
        extra = list_machines(client, second, left, max_query_chars=max_query_chars)
        found.extend(extra)
        matched |= set(m.get(other_key) for m in extra)
    unique = dict((machine["system_id"], machine) for machine in found)
    return sorted(unique.values(), key=lambda m: m.get("id") or 0), [n for n in names if n not in matched]


def resolve_named_machines(client, names, max_query_chars=MAX_QUERY_CHARS):
    """The machines ``names`` refer to (see ``find_named_machines``); raises ``ValueError`` naming the option
    ``machines`` and every name that matches no machine."""
    machines, unknown = find_named_machines(client, names, max_query_chars=max_query_chars)
    if unknown:
        raise ValueError("machines: MAAS has no machine with hostname or system ID %s." % ", ".join(sorted(unknown)))
    return machines


class PollResult(object):
    """What ``poll_until_settled`` saw: ``machines`` (system_id -> last machine seen, None if it vanished),
    ``settled_after`` (system_id -> seconds from the start of the wait until it settled), ``unsettled``
    (system_ids still moving at the deadline), ``polls`` (list calls made) and ``elapsed`` seconds."""

    def __init__(self):
        self.machines = {}
        self.settled_after = {}
        self.unsettled = []
        self.polls = 0
        self.elapsed = 0.0


def poll_until_settled(client, system_ids, settled, timeout, interval=5.0, backoff=1.5, max_interval=30.0,
                       on_progress=None, known=None, sleep=time.sleep, clock=time.monotonic,
                       max_query_chars=MAX_QUERY_CHARS):
    """Wait until ``settled(machine)`` holds for every machine in ``system_ids``, or ``timeout`` seconds pass.

    Each poll is one ``GET machines/?id=...`` for the machines not yet settled (split only when the URL would
    exceed ``max_query_chars``). Polls start ``interval`` seconds apart and the gap grows by ``backoff`` up to
    ``max_interval``; the last sleep is cut short at the deadline. ``known`` seeds the last-seen machines (for
    example the answers of the ops that were just fired). After every poll ``on_progress(machines, elapsed)``
    gets the last-seen machine of every system_id. Returns a ``PollResult``.
    """
    result = PollResult()
    wanted = list(dict.fromkeys(system_ids))
    for system_id in wanted:
        result.machines[system_id] = (known or {}).get(system_id)
    start = clock()
    deadline = start + max(0.0, float(timeout))
    pending = [sid for sid in wanted if not (result.machines[sid] is not None and settled(result.machines[sid]))]
    for sid in wanted:
        if sid not in pending:
            result.settled_after[sid] = 0.0
    first = max(0.05, float(interval))
    delays = poll_intervals(first, max(float(max_interval), first), max(float(backoff), 1.0))
    while pending:
        now = clock()
        if now >= deadline:
            break
        sleep(min(next(delays), deadline - now))
        seen = dict((m.get("system_id"), m) for m in list_machines(client, "id", pending,
                                                                   max_query_chars=max_query_chars))
        result.polls += 1
        elapsed = clock() - start
        still = []
        for sid in pending:
            machine = seen.get(sid)
            result.machines[sid] = machine
            if machine is None or settled(machine):
                # A machine that vanished (deleted) will not settle any further.
                result.settled_after[sid] = elapsed
            else:
                still.append(sid)
        pending = still
        if on_progress is not None:
            on_progress(result.machines, elapsed)
    result.unsettled = pending
    result.elapsed = clock() - start
    return result


def format_duration(seconds):
    """``4m12s``, ``1h03m``, ``9s``: short elapsed times for progress lines."""
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, (seconds % 3600) // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def progress_line(machines, state, elapsed, label="maas_deploy"):
    """One line such as ``maas_deploy: 37/100 deployed, 61 deploying, 2 failed, 4m12s`` for the machines
    (system_id -> machine) of a ``state`` (``deployed`` or ``released``) run."""
    targets, moving = ((DEPLOYED,), "deploying") if state == "deployed" else (RELEASED, "releasing")
    done = failed = 0
    for machine in machines.values():
        name = status_name(machine)
        if name in targets:
            done += 1
        elif name is None or is_failure(name, state):
            failed += 1
    total = len(machines)
    return "%s: %d/%d %s, %d %s, %d failed, %s" % (
        label, done, total, state, total - done - failed, moving, failed, format_duration(elapsed))


def is_failure(name, state):
    """Whether status label ``name`` is a failure for a ``state`` run (it will not get there by waiting)."""
    if state == "deployed":
        return name not in (DEPLOYED, DEPLOYING, ALLOCATED, READY)
    return name not in RELEASED + RELEASE_IN_PROGRESS + RELEASABLE or name in RELEASE_FAILED


def settled_for(state):
    """Predicate: the machine is no longer in transit for a ``state`` run (done or failed)."""
    moving = (DEPLOYING,) if state == "deployed" else RELEASE_IN_PROGRESS

    def settled(machine):
        return status_name(machine) not in moving
    return settled


def normalize_series(series):
    """``ubuntu/jammy`` -> ``jammy``; other spellings are returned as given."""
    if series and "/" in series:
        return series.split("/", 1)[1]
    return series


class MachineDeployment(object):
    """Deploy or release a batch of MAAS machines for ``gough.gough.maas_deploy``.

    ``params`` are the module's options. ``start()`` works out what to do (resolving names in one filtered list
    call, or finding the set a ``count`` deploy made by its ``agent_name`` and allocating only the shortfall),
    and, unless ``check_mode``, fires every op; ``wait()`` polls until every machine settles, then handles
    failures as ``on_failure`` says and fetches the latest events of failed machines; ``result()`` shapes the
    module result. The action plugin runs ``start`` in the module and ``wait``/``result`` on the controller,
    using ``resume`` to pick up the module's answer.
    """

    def __init__(self, client, params, check_mode=False, clock=time.monotonic, sleep=time.sleep):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.state = params.get("state") or "deployed"
        self.concurrency = params.get("concurrency") or DEFAULT_CONCURRENCY
        self.clock = clock
        self.sleep = sleep
        self.started = clock()
        self.records = {}
        # The last machine document seen per system_id: what a failed op's state check compares with.
        self.seen = {}
        self.order = []
        self.pending = []
        self.changed = False
        self.lock = threading.Lock()
        self.would_allocate = 0
        self.replace_rounds = 0

    # -- records ----------------------------------------------------------------------------------------------

    def _record(self, machine, action="none"):
        """Track ``machine`` (a MAAS machine dict) in this run; returns its record."""
        sid = machine["system_id"]
        record = self.records.get(sid)
        if record is None:
            record = {"system_id": sid, "hostname": None, "fqdn": None, "status": None, "owner": None, "ip_addresses": [],
                      "seconds": 0.0, "changed": False, "action": action, "failed": False, "msg": "",
                      "status_message": "", "events": []}
            self.records[sid] = record
            self.order.append(sid)
            record["status_before"] = status_name(machine)
        self._update(record, machine)
        if action != "none":
            record["action"] = action
        return record

    def _update(self, record, machine):
        if not isinstance(machine, dict):
            return
        self.seen[record["system_id"]] = machine
        record["owner"] = machine.get("owner")
        record["hostname"] = machine.get("hostname") or record["hostname"]
        record["fqdn"] = machine.get("fqdn") or record["fqdn"]
        record["status"] = status_name(machine) or record["status"]
        record["ip_addresses"] = list(machine.get("ip_addresses") or [])
        record["status_message"] = machine.get("status_message") or ""
        record["distro_series"] = machine.get("distro_series") or ""

    def _fail(self, sid, message):
        record = self.records[sid]
        record["failed"] = True
        record["msg"] = message

    def _elapsed(self):
        return round(self.clock() - self.started, 1)

    # -- start: decide and fire -------------------------------------------------------------------------------

    def start(self):
        """Work out what to change and, unless in check mode, fire every op. Raises ``BatchError`` for input
        problems found before any write, ``MAASError`` when MAAS fails us before any machine op."""
        if self.state == "released":
            self._start_release()
        else:
            self._start_deploy()
        return self

    def _resolve_named(self):
        """The named machines (hostnames or system IDs), found with one filtered list call where possible."""
        try:
            return resolve_named_machines(self.client, self.params.get("machines") or [])
        except ValueError as exc:
            raise BatchError(str(exc))

    def _set_members(self):
        """Machines of the set a ``count`` deploy made: ``GET machines/?agent_name=<agent_name>``."""
        machines = self.client.get("machines/", params={"agent_name": self.params["agent_name"]}) or []
        return [m for m in machines if status_name(m) in SET_MEMBER_STATUSES]

    def _deploy_form(self, user_data=None):
        params = self.params
        user_data = params.get("user_data") if user_data is None else user_data
        form = {}
        if params.get("distro_series"):
            form["distro_series"] = params["distro_series"]
        for name in ("hwe_kernel", "comment", "agent_name"):
            if params.get(name):
                form[name] = params[name]
        for name in ("ephemeral_deploy", "enable_hw_sync"):
            if params.get(name) is not None:
                form[name] = params[name]
        if user_data is not None:
            form["user_data"] = base64.b64encode(user_data.encode("utf-8")).decode("ascii")
        return form

    def _machine_form(self):
        """The deploy form, or a function of the system ID when some machines have user data of their own."""
        own = self.params.get("machine_user_data") or {}
        if not own:
            return self._deploy_form()

        def form(sid):
            record = self.records[sid]
            return self._deploy_form(own.get(sid, own.get(record["hostname"])))
        return form

    def _series_ok(self, machine):
        wanted = normalize_series(self.params.get("distro_series"))
        return not wanted or normalize_series(machine.get("distro_series")) == wanted

    def _classify_for_deploy(self, machines):
        """Sort machines into to-deploy, in-progress and failed; record each. Returns the system_ids to deploy."""
        to_deploy = []
        for machine in machines:
            name = status_name(machine)
            sid = machine["system_id"]
            if name == DEPLOYED and self._series_ok(machine):
                self._record(machine, "none")
            elif name == DEPLOYED:
                self._record(machine, "none")
                self._fail(sid, "already Deployed with %s, not %s; release it first (state=released) to redeploy"
                           % (machine.get("distro_series") or "another series", self.params.get("distro_series")))
            elif name == DEPLOYING:
                self._record(machine, "none")
                self.pending.append(sid)
            elif name in (READY, ALLOCATED):
                self._record(machine, "deploy")
                to_deploy.append(sid)
            elif name == FAILED_DEPLOYMENT:
                self._record(machine, "none")
                self._fail(sid, "deployment failed: %s" % (machine.get("status_message") or FAILED_DEPLOYMENT))
            else:
                self._record(machine, "none")
                self._fail(sid, "cannot deploy a machine in state %s" % name)
        return to_deploy

    def _start_deploy(self):
        if self.params.get("count") is not None:
            members = self._set_members()
            to_deploy = self._classify_for_deploy(members)
            failed = [sid for sid in self.order if self.records[sid]["failed"]]
            healthy = len(members)
            if self.params.get("on_failure") in ("release", "replace") and failed:
                # Failed members of the set from an earlier run are handled now, like fresh failures.
                before = len(self.records)
                self._handle_failures(failed, replace=self.params.get("on_failure") == "replace")
                healthy += len(self.records) - before - len(failed)
            shortfall = self.params["count"] - healthy
            if shortfall > 0:
                self._check_available(shortfall, healthy)
                if self.check_mode:
                    self.would_allocate = shortfall
                    self.changed = True
                else:
                    to_deploy.extend(self._allocate(shortfall))
        else:
            to_deploy = self._classify_for_deploy(self._resolve_named())
            failed = [sid for sid in self.order if self.records[sid]["failed"]]
            if failed and self.params.get("on_failure") == "release":
                self._handle_failures([sid for sid in failed if self.records[sid]["status"] == FAILED_DEPLOYMENT],
                                      replace=False)
        if to_deploy:
            if self.check_mode:
                self.changed = True
            else:
                self._fire_deploys(to_deploy)
                self._handle_refused_deploys(to_deploy)

    def _handle_refused_deploys(self, sids):
        """Apply on_failure release or replace to machines whose deploy MAAS refused, leaving them Allocated."""
        refused = [sid for sid in sids if self.records[sid]["failed"] and self.records[sid]["status"] == ALLOCATED]
        how = self.params.get("on_failure")
        if refused and how in ("release", "replace"):
            self._handle_failures(refused, replace=how == "replace" and self.params.get("count") is not None)

    def _constraints(self):
        return dict((name, self.params.get(name)) for name in CONSTRAINTS if self.params.get(name) not in (None, []))

    def _describe_constraints(self):
        constraints = self._constraints()
        if not constraints:
            return "no constraints"
        return ", ".join("%s=%s" % (k, ",".join(str(x) for x in v) if isinstance(v, list) else v)
                         for k, v in sorted(constraints.items()))

    def _check_available(self, shortfall, healthy):
        """Count the Ready machines matching the constraints (one filtered list call) before allocating any."""
        query = self._constraints()
        query["status"] = "ready"
        try:
            matching = self.client.get("machines/", params=query) or []
        except MAASError as exc:
            if exc.status == 400 and exc.field_errors:
                raise BatchError("MAAS refused the constraints: %s" % exc.maas_message)
            raise
        available = len([m for m in matching if not m.get("owner") and not m.get("locked")])
        if available < shortfall:
            raise BatchError(
                "count: %d machines wanted, %d already in the set agent_name=%s, but only %d Ready machines match "
                "%s (%d more needed); nothing was allocated."
                % (self.params["count"], healthy, self.params["agent_name"], available,
                   self._describe_constraints(), shortfall))

    def _allocate(self, shortfall, exclude=()):
        """Allocate ``shortfall`` machines by the constraints with agent_name; all or nothing."""
        form = self._constraints()
        form["agent_name"] = self.params["agent_name"]
        if self.params.get("comment"):
            form["comment"] = self.params["comment"]
        before = set(self.records)
        # Every machine of the set this run already accounts for; an allocate whose answer was lost is confirmed
        # by a set member outside it.
        claimed = set(before) | set(exclude)

        def took_effect():
            for machine in self._set_members():
                if status_name(machine) == ALLOCATED and machine["system_id"] not in claimed:
                    return machine
            return None

        def one(_index):
            machine = self.client.post("machines/", op="allocate", data=form, confirm=took_effect)
            claimed.add(machine["system_id"])
            return machine

        # One allocate at a time: then an unclaimed set member can only be the lost call's machine, so a retry
        # never allocates twice. (Allocation is one quick request per machine; deploys still go out concurrently.)
        outcomes = map_concurrently(one, range(shortfall), 1)
        got = [machine for machine, error in outcomes.values() if machine]
        errors = [error for machine, error in outcomes.values() if error]
        self.changed = self.changed or bool(got)
        # Reconcile with MAAS: every set member is ours, whichever answer got lost.
        members = [m for m in self._set_members() if status_name(m) == ALLOCATED and m["system_id"] not in before]
        held = [m for m in members if m["system_id"] in exclude]
        fresh = [m for m in members if m["system_id"] not in exclude]
        extra = fresh[shortfall:] + held
        fresh = fresh[:shortfall]
        if len(fresh) < shortfall:
            # Another run won the race for some machines: give back what this run took, all or nothing.
            self._release_quietly([m["system_id"] for m in fresh + extra])
            reason = str(errors[0]) if errors else "no machine allocated"
            raise BatchError(
                "count: %d more machines needed but only %d could be allocated matching %s (%s); released the %d "
                "this run allocated." % (shortfall, len(fresh), self._describe_constraints(), reason,
                                         len(fresh) + len(extra)))
        if extra:
            self._release_quietly([m["system_id"] for m in extra])
        sids = []
        for machine in fresh:
            self._record(machine, "deploy")["changed"] = True
            sids.append(machine["system_id"])
        return sids

    def _release_quietly(self, sids):
        fire_machine_op(self.client, sids, "release", took_effect=status_in(NEW, READY, *RELEASE_IN_PROGRESS),
                        concurrency=self.concurrency)

    def _op_failed(self, sid, op, error):
        """Record a failed op; when MAAS acted on part of it (``error.moved``), record the state it left and count
        the change, since the machine did move on the server."""
        record = self.records[sid]
        moved = getattr(error, "moved", None)
        if moved is not None:
            self._update(record, moved)
            record["changed"] = True
            self.changed = True
        if record["failed"]:
            # Keep why the machine failed first (a deploy), and add why the clean-up failed too.
            record["msg"] += "; then %s failed: %s" % (op, error)
        else:
            self._fail(sid, "%s: %s" % (op, error))

    def _fire_deploys(self, sids):
        form = self._machine_form()
        outcomes = fire_machine_op(self.client, sids, "deploy", data=form,
                                   took_effect=status_in(DEPLOYING, DEPLOYED, FAILED_DEPLOYMENT),
                                   concurrency=self.concurrency, before=self.seen)
        for sid in sids:
            machine, error = outcomes[sid]
            record = self.records[sid]
            if error is not None:
                self._op_failed(sid, "deploy", error)
                continue
            record["changed"] = True
            self.changed = True
            self._update(record, machine)
            self.pending.append(sid)

    def _start_release(self):
        if self.params.get("machines"):
            machines = self._resolve_named()
        elif self.params.get("agent_name"):
            machines = self.client.get("machines/", params={"agent_name": self.params["agent_name"]}) or []
            machines = [m for m in machines if status_name(m) != READY]
        else:
            raise BatchError("state=released needs machines or agent_name.")
        to_release = []
        for machine in machines:
            name = status_name(machine)
            sid = machine["system_id"]
            if name == READY:
                self._record(machine, "none")
            elif name in RELEASE_IN_PROGRESS:
                self._record(machine, "none")
                self.pending.append(sid)
            elif name in RELEASABLE:
                self._record(machine, "release")
                to_release.append(sid)
            else:
                self._record(machine, "none")
                self._fail(sid, "cannot release a machine in state %s" % name)
        if to_release:
            if self.check_mode:
                self.changed = True
            else:
                self._fire_releases(to_release)

    def _release_form(self):
        form = {}
        for name in ("erase", "secure_erase", "quick_erase"):
            if self.params.get(name):
                form[name] = True
        if form.get("secure_erase") or form.get("quick_erase"):
            form["erase"] = True
        if self.params.get("comment"):
            form["comment"] = self.params["comment"]
        return form

    def _fire_releases(self, sids, track=True):
        # Release is only sent from a releasable state, so a machine found New or Ready was released by it.
        outcomes = fire_machine_op(self.client, sids, "release", data=self._release_form(),
                                   took_effect=status_in(NEW, READY, *(RELEASE_IN_PROGRESS + RELEASE_FAILED)),
                                   concurrency=self.concurrency, before=self.seen)
        for sid in sids:
            machine, error = outcomes[sid]
            record = self.records[sid]
            if error is not None:
                self._op_failed(sid, "release", error)
                continue
            record["changed"] = True
            self.changed = True
            self._update(record, machine)
            if track:
                self.pending.append(sid)

    # -- resume on the controller -----------------------------------------------------------------------------

    def resume(self, module_result):
        """Take over the machines a ``wait: false`` module run reported, to wait for them here."""
        self.changed = bool(module_result.get("changed"))
        for item in module_result.get("machines") or []:
            sid = item["system_id"]
            self.records[sid] = dict(item)
            self.order.append(sid)
            if item.get("status") in ((DEPLOYING,) if self.state == "deployed" else RELEASE_IN_PROGRESS) \
                    and not item.get("failed"):
                self.pending.append(sid)
        return self

    # -- wait -------------------------------------------------------------------------------------------------

    def wait(self, on_progress=None):
        """Poll until every fired op settles (or ``wait_timeout``), then apply ``on_failure`` and collect events."""
        if self.check_mode:
            return self
        deadline = self.started + float(self.params.get("wait_timeout") or 0)
        settled = settled_for(self.state)
        targets = (DEPLOYED,) if self.state == "deployed" else RELEASED
        while True:
            pending, self.pending = list(dict.fromkeys(self.pending)), []

            def progress(machines, _elapsed):
                if on_progress is not None:
                    on_progress(self._progress_view(machines), self.clock() - self.started)

            polled = poll_until_settled(
                self.client, pending, settled, max(0.0, deadline - self.clock()),
                interval=self.params.get("poll_interval") or 5.0, backoff=self.params.get("poll_backoff") or 1.0,
                max_interval=self.params.get("poll_interval_max") or 30.0, on_progress=progress,
                sleep=self.sleep, clock=self.clock)
            fresh_failures = []
            for sid in pending:
                record = self.records[sid]
                machine = polled.machines.get(sid)
                if sid in polled.settled_after or sid in polled.unsettled:
                    record["seconds"] = self._elapsed()
                if machine is None:
                    self._fail(sid, "the machine disappeared from MAAS while waiting")
                    continue
                self._update(record, machine)
                if sid in polled.unsettled:
                    self._fail(sid, "still %s after wait_timeout=%ss" % (record["status"],
                                                                         self.params.get("wait_timeout")))
                elif record["status"] not in targets:
                    said = record["status_message"] or "no message from MAAS"
                    self._fail(sid, said if said.startswith(record["status"]) else "%s: %s" % (record["status"], said))
                    fresh_failures.append(sid)
            if self.state == "deployed" and fresh_failures and self.params.get("on_failure") in ("release", "replace"):
                replace = (self.params.get("on_failure") == "replace" and self.replace_rounds < MAX_REPLACE_ROUNDS
                           and self.clock() < deadline)
                self._handle_failures(fresh_failures, replace=replace)
            if not self.pending or self.clock() >= deadline:
                break
        self._collect_events()
        return self

    def _progress_view(self, polled):
        view = {}
        for sid in self.order:
            record = self.records[sid]
            machine = polled.get(sid)
            if machine is not None:
                view[sid] = machine
            else:
                view[sid] = {"system_id": sid, "status_name": "Failed" if record["failed"] else record["status"]}
        return view

    def _handle_failures(self, sids, replace):
        """Release failed machines (on_failure release or replace) and, to replace, allocate and deploy as many."""
        # Failed deployment, or Allocated after a deploy MAAS refused (its power action failed, say).
        failed = [sid for sid in sids if self.records[sid]["status"] in (FAILED_DEPLOYMENT, ALLOCATED)]
        if not failed:
            return
        self._fetch_events(failed)
        if self.check_mode:
            # A release would be a change even when nothing else is deployed (a rerun that only cleans up).
            self.changed = True
            for sid in failed:
                self.records[sid]["action"] = "released"
            return
        self._fire_releases(failed, track=False)
        for sid in failed:
            if self.records[sid]["status"] in RELEASED + RELEASE_IN_PROGRESS:
                self.records[sid]["action"] = "released"
        failed = [sid for sid in failed if self.records[sid]["action"] == "released"]
        if replace and self.params.get("count") is not None:
            self.replace_rounds += 1
            try:
                new = self._allocate(len(failed), exclude=set(failed))
            except BatchError as exc:
                for sid in failed:
                    self.records[sid]["msg"] += "; no replacement: %s" % exc
                return
            for sid, new_sid in zip(failed, new):
                self.records[sid]["msg"] += "; replaced by %s" % (self.records[new_sid]["hostname"] or new_sid)
                self.records[new_sid]["action"] = "replacement"
            self._fire_deploys(new)

    def _fetch_events(self, sids):
        wanted = [sid for sid in sids if not self.records[sid]["events"]]
        outcomes = map_concurrently(lambda sid: latest_events(self.client, sid, EVENTS_PER_FAILURE), wanted, self.concurrency)
        for sid in wanted:
            events, error = outcomes[sid]
            self.records[sid]["events"] = events or []
            if error is not None:
                self.records[sid]["msg"] += " (events unavailable: %s)" % error

    def _collect_events(self):
        self._fetch_events([sid for sid in self.order if self.records[sid]["failed"]])

    # -- result -----------------------------------------------------------------------------------------------

    def machines(self):
        """Per-machine results in a stable, documented shape."""
        keys = ("system_id", "hostname", "fqdn", "status", "owner", "ip_addresses", "seconds", "changed", "action",
                "failed", "msg", "status_message", "events")
        return [dict((k, self.records[sid].get(k)) for k in keys) for sid in self.order]

    def result(self):
        """The module result: ``changed``, ``machines``, ``system_ids``, ``failed_machines``, and on failure
        ``failed`` with ``msg`` naming every failed machine."""
        machines = self.machines()
        # In a replace run, a failed machine that was replaced does not fail the task.
        replaced = set(sid for sid in self.order if "; replaced by " in (self.records[sid]["msg"] or ""))
        failed = [m for m in machines if m["failed"] and m["system_id"] not in replaced]
        left = self.left_allocated()
        result = {
            "changed": self.changed,
            "machines": machines,
            "system_ids": [m["system_id"] for m in machines if m["system_id"] not in replaced],
            "failed_machines": [m["hostname"] or m["system_id"] for m in failed],
            "left_allocated": left,
            "would_allocate": self.would_allocate,
        }
        if self.params.get("agent_name"):
            result["agent_name"] = self.params["agent_name"]
        new = [m["hostname"] or m["system_id"] for m in machines if m["status"] == NEW and m["action"] == "release"]
        if new:
            result["warnings"] = ["%s: %s." % (", ".join(new), NEEDS_COMMISSIONING)]
        if failed:
            result["failed"] = True
            result["msg"] = "%d of %d machines failed: %s" % (
                len(failed), len(machines),
                "; ".join("%s (%s)" % (m["hostname"] or m["system_id"], m["msg"]) for m in failed[:20])
                + (" and %d more" % (len(failed) - 20) if len(failed) > 20 else ""))
            if left:
                result["msg"] += ". %s" % self.release_hint(left)
        return result

    def left_allocated(self):
        """Hostnames (or system IDs) of failed machines this run leaves allocated to the caller: Allocated (a
        deploy MAAS refused after allocating) or Failed deployment, and not released by ``on_failure``."""
        return [record["hostname"] or sid for sid, record in ((sid, self.records[sid]) for sid in self.order)
                if record["failed"] and record["status"] in (ALLOCATED, FAILED_DEPLOYMENT)
                and record["action"] != "released"]

    def release_hint(self, names):
        """How to give back the machines ``names`` that a failed run left allocated."""
        how = "state=released agent_name=%s" % self.params["agent_name"] if self.params.get("count") is not None \
            else "state=released machines=[%s]" % ", ".join(names)
        return ("Left allocated to you (MAAS gives them to no one else until released): %s. Release them with "
                "gough.gough.maas_deploy %s, or rerun with on_failure=release." % (", ".join(names), how))

    def diff(self):
        """Before/after of every machine's status (after: what it is now, or will be when the ops finish)."""
        target = DEPLOYED if self.state == "deployed" else READY
        before, after = {}, {}
        for sid in self.order:
            record = self.records[sid]
            name = record["hostname"] or sid
            before[name] = record.get("status_before", record["status"])
            after[name] = target if record["action"] in ("deploy", "release", "replacement") else record["status"]
        for index in range(self.would_allocate):
            after["(new machine %d)" % (index + 1)] = target
        return {"before": {"machines": before}, "after": {"machines": after}}
