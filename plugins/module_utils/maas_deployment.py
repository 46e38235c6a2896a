# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The deploy/release engine of ``gough.gough.maas_deploy``, and its typed per-machine record.

``MachineDeployment`` decides what to do with every machine (resolving names with one filtered list call, or
finding the set a ``count`` deploy made by its ``agent_name`` and allocating only the shortfall), fires every op
at once (``maas_fanout``), watches the machines with one list call per poll (``maas_query.poll_until_settled``)
and handles failures as ``on_failure`` says. The module runs ``start``; the module's action plugin runs ``wait``
on the controller after ``resume`` has read the module's answer back. Each machine is a ``MachineRecord``: its
``to_result()`` is the machine's entry in the module's RETURN, and ``MachineRecord.from_result`` reads it back.
``wait`` reports progress as ``Progress`` counts; the action plugin turns them into lines.

Runs inside modules, so it imports only the standard library and ``ansible_collections.gough``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import time

from collections import namedtuple

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError, status_in, status_name
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import project
from ansible_collections.gough.gough.plugins.module_utils.maas_fanout import (
    DEFAULT_CONCURRENCY,
    fire_machine_op,
    map_concurrently,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_query import (
    latest_events,
    poll_until_settled,
    resolve_named_machines,
)

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
# MAAS accepts release from these states; from any other (New, Commissioning, ...) it answers 409 "Machine cannot
# be released in its current state".
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


# The machine projection's fields a deployment record takes from MAAS (its other fields are the run's own).
PROJECTED = ("hostname", "fqdn", "status", "owner", "ip_addresses", "status_message", "distro_series")


class MachineRecord(object):
    """What a deployment run knows about one machine and what it did to it.

    ``to_result()`` gives the machine's entry in ``maas_deploy``'s ``machines`` RETURN (the keys in
    ``RESULT_KEYS``); ``from_result()`` reads such an entry back, which is how the action plugin takes over a run
    the module started. ``replaced_by`` is the system ID of the machine deployed in place of this one after it
    failed (``on_failure=replace``), None otherwise. ``status_before`` and ``distro_series`` are for this run only.
    """

    RESULT_KEYS = ("system_id", "hostname", "fqdn", "status", "owner", "ip_addresses", "seconds", "changed",
                   "action", "failed", "msg", "status_message", "events", "replaced_by")
    __slots__ = RESULT_KEYS + ("status_before", "distro_series")

    def __init__(self, system_id, action="none"):
        self.system_id = system_id
        self.hostname = self.fqdn = self.status = self.owner = self.replaced_by = self.status_before = None
        self.ip_addresses = []
        self.seconds = 0.0
        self.changed = self.failed = False
        self.action = action
        self.msg = self.status_message = self.distro_series = ""
        self.events = []

    @property
    def label(self):
        """The name messages use: the hostname, or the system ID before MAAS reported one."""
        return self.hostname or self.system_id

    def update(self, machine):
        """Take in what MAAS now says about the machine (a machine document; anything else is ignored)."""
        if not isinstance(machine, dict):
            return
        view = project(machine, PROJECTED)
        self.owner, self.ip_addresses = view["owner"], view["ip_addresses"]
        self.status_message, self.distro_series = view["status_message"], view["distro_series"]
        # A partial answer keeps what an earlier read said.
        self.hostname = view["hostname"] or self.hostname
        self.fqdn = view["fqdn"] or self.fqdn
        self.status = view["status"] or self.status

    def fail(self, message):
        """Mark the machine failed, saying why."""
        self.failed = True
        self.msg = message

    def to_result(self):
        """The machine's entry in the module result (see ``maas_deploy``'s RETURN)."""
        result = dict((key, getattr(self, key)) for key in self.RESULT_KEYS)
        result["ip_addresses"] = list(self.ip_addresses)
        result["events"] = list(self.events)
        return result

    @classmethod
    def from_result(cls, item):
        """The record an entry of ``to_result()`` describes (its status taken as the status before, too)."""
        record = cls(item["system_id"])
        for key in cls.RESULT_KEYS:
            if key in item:
                setattr(record, key, item[key])
        record.status_before = record.status
        return record


class Progress(namedtuple("Progress", "state done moving failed total")):
    """How far a ``state`` (``deployed`` or ``released``) run is: machines done, still moving, failed, in all."""

    __slots__ = ()


def progress_counts(machines, state):
    """The ``Progress`` of a ``state`` run over ``machines`` (system_id -> machine)."""
    targets = (DEPLOYED,) if state == "deployed" else RELEASED
    done = failed = 0
    for machine in machines.values():
        name = status_name(machine)
        if name in targets:
            done += 1
        elif name is None or is_failure(name, state):
            failed += 1
    return Progress(state, done, len(machines) - done - failed, failed, len(machines))


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
        # When each op was sent and answered (system_id -> (sent, answered)): when to expect the batch settled.
        self.op_times = {}
        self.order = []
        self.pending = []
        self.changed = False
        self.would_allocate = 0
        self.replace_rounds = 0

    # -- records ----------------------------------------------------------------------------------------------

    def _record(self, machine, action="none"):
        """Track ``machine`` (a MAAS machine dict) in this run; returns its ``MachineRecord``."""
        sid = machine["system_id"]
        record = self.records.get(sid)
        if record is None:
            record = self.records[sid] = MachineRecord(sid, action)
            self.order.append(sid)
            record.status_before = status_name(machine)
        self._update(record, machine)
        if action != "none":
            record.action = action
        return record

    def _update(self, record, machine):
        if isinstance(machine, dict):
            self.seen[record.system_id] = machine
        record.update(machine)

    def _fail(self, sid, message):
        self.records[sid].fail(message)

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
            return self._deploy_form(own.get(sid, own.get(record.hostname)))
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
            failed = [sid for sid in self.order if self.records[sid].failed]
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
            failed = [sid for sid in self.order if self.records[sid].failed]
            if failed and self.params.get("on_failure") == "release":
                self._handle_failures([sid for sid in failed if self.records[sid].status == FAILED_DEPLOYMENT],
                                      replace=False)
        if to_deploy:
            if self.check_mode:
                self.changed = True
            else:
                self._fire_deploys(to_deploy)
                self._handle_refused_deploys(to_deploy)

    def _handle_refused_deploys(self, sids):
        """Apply on_failure release or replace to machines whose deploy MAAS refused, leaving them Allocated."""
        refused = [sid for sid in sids if self.records[sid].failed and self.records[sid].status == ALLOCATED]
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
            self._record(machine, "deploy").changed = True
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
            record.changed = True
            self.changed = True
        if record.failed:
            # Keep why the machine failed first (a deploy), and add why the clean-up failed too.
            record.msg += "; then %s failed: %s" % (op, error)
        else:
            self._fail(sid, "%s: %s" % (op, error))

    def _fire_deploys(self, sids):
        form = self._machine_form()
        outcomes = fire_machine_op(self.client, sids, "deploy", data=form,
                                   took_effect=status_in(DEPLOYING, DEPLOYED, FAILED_DEPLOYMENT),
                                   concurrency=self.concurrency, before=self.seen, op_times=self.op_times,
                                   clock=self.clock)
        for sid in sids:
            machine, error = outcomes[sid]
            record = self.records[sid]
            if error is not None:
                self._op_failed(sid, "deploy", error)
                continue
            record.changed = True
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
                                   concurrency=self.concurrency, before=self.seen,
                                   op_times=self.op_times if track else None, clock=self.clock)
        for sid in sids:
            machine, error = outcomes[sid]
            record = self.records[sid]
            if error is not None:
                self._op_failed(sid, "release", error)
                continue
            record.changed = True
            self.changed = True
            self._update(record, machine)
            if track:
                self.pending.append(sid)

    # -- resume on the controller -----------------------------------------------------------------------------

    def resume(self, module_result):
        """Take over the machines a ``wait: false`` module run reported, to wait for them here."""
        self.changed = bool(module_result.get("changed"))
        moving = (DEPLOYING,) if self.state == "deployed" else RELEASE_IN_PROGRESS
        for item in module_result.get("machines") or []:
            record = MachineRecord.from_result(item)
            self.records[record.system_id] = record
            self.order.append(record.system_id)
            if record.status in moving and not record.failed:
                self.pending.append(record.system_id)
        return self

    # -- wait -------------------------------------------------------------------------------------------------

    def wait(self, on_progress=None):
        """Poll until every fired op settles (or ``wait_timeout``), then apply ``on_failure`` and collect events.

        After every poll ``on_progress(progress, elapsed)`` gets the run's ``Progress`` and the seconds since it
        started."""
        if self.check_mode:
            return self
        deadline = self.started + float(self.params.get("wait_timeout") or 0)
        settled = settled_for(self.state)
        targets = (DEPLOYED,) if self.state == "deployed" else RELEASED
        while True:
            pending, self.pending = list(dict.fromkeys(self.pending)), []

            def progress(machines, _elapsed):
                if on_progress is not None:
                    on_progress(progress_counts(self._progress_view(machines), self.state),
                                self.clock() - self.started)

            polled = poll_until_settled(
                self.client, pending, settled, max(0.0, deadline - self.clock()),
                interval=self.params.get("poll_interval") or 5.0, backoff=self.params.get("poll_backoff") or 1.0,
                max_interval=self.params.get("poll_interval_max") or 30.0, on_progress=progress,
                sleep=self.sleep, clock=self.clock, op_times=self.op_times)
            fresh_failures = []
            for sid in pending:
                record = self.records[sid]
                machine = polled.machines.get(sid)
                if sid in polled.settled_after or sid in polled.unsettled:
                    record.seconds = self._elapsed()
                if machine is None:
                    self._fail(sid, "the machine disappeared from MAAS while waiting")
                    continue
                self._update(record, machine)
                if sid in polled.unsettled:
                    self._fail(sid, "still %s after wait_timeout=%ss" % (record.status,
                                                                         self.params.get("wait_timeout")))
                elif record.status not in targets:
                    said = record.status_message or "no message from MAAS"
                    self._fail(sid, said if said.startswith(record.status) else "%s: %s" % (record.status, said))
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
                view[sid] = {"system_id": sid, "status_name": "Failed" if record.failed else record.status}
        return view

    def _handle_failures(self, sids, replace):
        """Release failed machines (on_failure release or replace) and, to replace, allocate and deploy as many."""
        # Failed deployment, or Allocated after a deploy MAAS refused (its power action failed, say).
        failed = [sid for sid in sids if self.records[sid].status in (FAILED_DEPLOYMENT, ALLOCATED)]
        if not failed:
            return
        self._fetch_events(failed)
        if self.check_mode:
            # A release would be a change even when nothing else is deployed (a rerun that only cleans up).
            self.changed = True
            for sid in failed:
                self.records[sid].action = "released"
            return
        self._fire_releases(failed, track=False)
        for sid in failed:
            if self.records[sid].status in RELEASED + RELEASE_IN_PROGRESS:
                self.records[sid].action = "released"
        failed = [sid for sid in failed if self.records[sid].action == "released"]
        if replace and self.params.get("count") is not None:
            self.replace_rounds += 1
            try:
                new = self._allocate(len(failed), exclude=set(failed))
            except BatchError as exc:
                for sid in failed:
                    self.records[sid].msg += "; no replacement: %s" % exc
                return
            for sid, new_sid in zip(failed, new):
                self.records[sid].replaced_by = new_sid
                self.records[sid].msg += "; replaced by %s" % self.records[new_sid].label
                self.records[new_sid].action = "replacement"
            self._fire_deploys(new)

    def _fetch_events(self, sids):
        wanted = [sid for sid in sids if not self.records[sid].events]
        outcomes = map_concurrently(lambda sid: latest_events(self.client, sid, EVENTS_PER_FAILURE), wanted,
                                    self.concurrency)
        for sid in wanted:
            events, error = outcomes[sid]
            self.records[sid].events = events or []
            if error is not None:
                self.records[sid].msg += " (events unavailable: %s)" % error

    def _collect_events(self):
        self._fetch_events([sid for sid in self.order if self.records[sid].failed])

    # -- result -----------------------------------------------------------------------------------------------

    def machines(self):
        """Per-machine results in a stable, documented shape (``MachineRecord.to_result``)."""
        return [self.records[sid].to_result() for sid in self.order]

    def result(self):
        """The module result: ``changed``, ``machines``, ``system_ids``, ``failed_machines``, and on failure
        ``failed`` with ``msg`` naming every failed machine."""
        machines = self.machines()
        # In a replace run, a failed machine that was replaced does not fail the task.
        replaced = set(sid for sid in self.order if self.records[sid].replaced_by)
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
        records = [self.records[sid] for sid in self.order]
        return [record.label for record in records
                if record.failed and record.status in (ALLOCATED, FAILED_DEPLOYMENT) and record.action != "released"]

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
            before[record.label] = record.status_before
            after[record.label] = target if record.action in ("deploy", "release", "replacement") else record.status
        for index in range(self.would_allocate):
            after["(new machine %d)" % (index + 1)] = target
        return {"before": {"machines": before}, "after": {"machines": after}}
