# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The commissioning engine of ``gough.gough.maas_commission``: plan, then tag and commission New machines in one
batch and wait for them together.

``plan_commission`` turns the New machines and the tags MAAS has into an ordered list of steps;
``Commissioning`` reads, plans, carries the plan out (``maas_fanout``), and watches the machines with one list call
per poll (``maas_query.poll_until_settled``).

Runs inside modules, so it imports only the standard library and ``ansible_collections.gough``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import fnmatch
import time

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError, commission_form, status_name
from ansible_collections.gough.gough.plugins.module_utils.maas_fanout import fire_machine_op, map_concurrently
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import project
from ansible_collections.gough.gough.plugins.module_utils.maas_query import (
    describe_events,
    latest_events,
    list_machines,
    poll_until_settled,
)

NEW = "New"
READY = "Ready"
COMMISSIONING = ("Commissioning", "Testing")
# The machine's own fields in a per-machine record, under maas_machine_view's names.
RECORD_FIELDS = ("system_id", "hostname", "status", "status_message")


def matches(machine, patterns):
    """Whether the machine's hostname or system ID matches any of ``patterns`` (all machines when there are none)."""
    if not patterns:
        return True
    names = (machine.get("hostname") or "", machine.get("system_id") or "")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def plan_commission(machines, known_tags, tags):
    """The steps that commission ``machines`` (New machines, in order) with ``tags``, given the tag names MAAS
    already has: ``[("create_tag", name), ("tag", name, [sid, ...]), ("commission", [sid, ...])]``. No machine, no
    step: a tag is created only for a machine to carry it."""
    if not machines:
        return []
    plan = [("create_tag", tag) for tag in tags if tag not in known_tags]
    for tag in tags:
        untagged = [m["system_id"] for m in machines if tag not in (m.get("tag_names") or [])]
        if untagged:
            plan.append(("tag", tag, untagged))
    plan.append(("commission", [m["system_id"] for m in machines]))
    return plan


class Commissioning(object):
    """One run: read the New machines and the tags, plan, then (unless check mode) apply the plan and wait."""

    def __init__(self, client, params, check_mode, clock=time.monotonic):
        self.client = client
        self.params = params
        self.check_mode = check_mode
        self.clock = clock
        # When each commission op was sent and answered: when to expect the batch done (maas_query.poll_until_settled).
        self.op_times = {}
        self.started = clock()
        self.records = {}
        self.order = []
        self.plan = []
        self.polls = 0

    def read(self):
        """The New machines the patterns select (one list call) and the names of the tags MAAS has (one call)."""
        answer = list_machines(self.client, "status", ["new"])
        # The filter is MAAS's; the status check keeps a machine that moved on meanwhile out of the batch.
        machines = [m for m in answer if status_name(m) == NEW and matches(m, self.params["match"])]
        known = set(tag.get("name") for tag in self.client.get("tags/") or []) if self.params["tags"] else set()
        return machines, known

    def start(self):
        """Plan the run and, unless in check mode, carry the plan out; returns self."""
        machines, known = self.read()
        tags = self.params["tags"]
        self.plan = plan_commission(machines, known, tags)
        for machine in machines:
            sid = machine["system_id"]
            self.order.append(sid)
            record = project(machine, RECORD_FIELDS)
            record.update(status_before=record["status"], seconds=0.0, failed=False, msg="", events=[],
                          tags_added=[t for t in tags if t not in project(machine, ("tags",))["tags"]])
            self.records[sid] = record
        if self.check_mode:
            for record in self.records.values():
                record["status"] = READY if self.params["wait"] else COMMISSIONING[0]
            return self
        for step in self.plan:
            getattr(self, "_" + step[0])(*step[1:])
        return self

    def _create_tag(self, name):
        # confirm: a lost answer is checked by reading the tag before the create is sent again.
        self.client.post("tags/", data={"name": name, "comment": "Created by Gough's commissioning"},
                         confirm=lambda: self._tag_exists(name))

    def _tag_exists(self, name):
        return self.client.get_or_none("tags/%s/" % name)

    def _tag(self, name, system_ids):
        def carried():
            members = set(m["system_id"] for m in self.client.get("tags/%s/" % name, op="machines") or [])
            return {"done": True} if set(system_ids) <= members else None
        try:
            self.client.post("tags/%s/" % name, op="update_nodes", data={"add": system_ids}, confirm=carried)
        except MAASError as exc:
            raise MAASError("tags: MAAS refused to add tag %s to %s: %s" % (
                name, ", ".join(self.records[sid]["hostname"] or sid for sid in system_ids), exc),
                status=exc.status)

    def _commission(self, system_ids):
        outcomes = fire_machine_op(self.client, system_ids, "commission", data=commission_form(self.params),
                                   took_effect=lambda m: status_name(m) != NEW,
                                   concurrency=self.params["concurrency"], op_times=self.op_times, clock=self.clock)
        for sid in system_ids:
            machine, error = outcomes[sid]
            record = self.records[sid]
            if error is not None:
                self._fail(record, "MAAS refused to commission it: %s" % error)
            else:
                record["status"] = status_name(machine) or record["status"]

    def _fail(self, record, msg):
        record["failed"] = True
        record["msg"] = msg

    def wait(self):
        """Poll every started machine together until it settles or ``wait_timeout`` passes; returns self."""
        started = [sid for sid in self.order if not self.records[sid]["failed"]]
        if self.check_mode or not started:
            return self
        if not self.params["wait"]:
            return self
        interval = max(0.05, float(self.params["poll_interval"]))
        remaining = max(0.0, self.params["wait_timeout"] - (self.clock() - self.started))
        polled = poll_until_settled(self.client, started, lambda m: status_name(m) not in COMMISSIONING, remaining,
                                    interval=interval, backoff=1.5, max_interval=interval * 6, clock=self.clock,
                                    op_times=self.op_times)
        self.polls = polled.polls
        finished_before_wait = self.clock() - self.started - polled.elapsed
        for sid in started:
            record = self.records[sid]
            machine = polled.machines.get(sid)
            if machine is None:
                self._fail(record, "the machine disappeared from MAAS while commissioning")
                continue
            view = project(machine, ("status", "status_message", "error_description"))
            record.update(status=view["status"], status_message=view["status_message"] or view["error_description"])
            if sid in polled.settled_after:
                record["seconds"] = round(finished_before_wait + polled.settled_after[sid], 1)
            if sid in polled.unsettled:
                record["seconds"] = round(self.clock() - self.started, 1)
                self._fail(record, "still %s after wait_timeout=%ss" % (record["status"], self.params["wait_timeout"]))
            elif record["status"] != READY:
                self._fail(record, "commissioning ended in %s: %s" % (
                    record["status"], record["status_message"] or "no message from MAAS"))
        failed = [sid for sid in started if self.records[sid]["failed"] and sid not in polled.unsettled]
        events = map_concurrently(lambda sid: latest_events(self.client, sid, 5), failed, self.params["concurrency"])
        for sid in failed:
            found, error = events[sid]
            self.records[sid]["events"] = found or []
            if found:
                self.records[sid]["msg"] += ". Latest events: %s" % describe_events(found)
            elif error is not None:
                self.records[sid]["msg"] += " (events unavailable: %s)" % error
        return self

    def result(self):
        """The module result (see RETURN); ``failed`` and ``msg`` name every machine that failed."""
        keys = ("system_id", "hostname", "status_before", "status", "tags_added", "seconds", "failed", "msg", "events")
        machines = [dict((k, self.records[sid][k]) for k in keys) for sid in self.order]
        failed = [m for m in machines if m["failed"]]
        label = dict((m["system_id"], m["hostname"] or m["system_id"]) for m in machines)
        statuses = {}
        for machine in machines:
            statuses[machine["status"]] = statuses.get(machine["status"], 0) + 1
        tags = self.params["tags"]
        if machines:
            summary = "%d New machine%s %scommissioned (%s)%s: %s, %d failed" % (
                len(machines), "" if len(machines) == 1 else "s", "would be " if self.check_mode else "",
                ", ".join(label[m["system_id"]] for m in machines),
                ", tagged %s" % ", ".join(tags) if tags else "",
                ", ".join("%d %s" % (n, s) for s, n in sorted(statuses.items())), len(failed))
        else:
            summary = "No New machine %s; nothing changed." % (
                "matches %s" % ", ".join(self.params["match"]) if self.params["match"] else "to commission")
        result = {
            "changed": bool(self.plan),
            "machines": machines,
            "hostnames": [label[m["system_id"]] for m in machines],
            "failed_machines": [label[m["system_id"]] for m in failed],
            "tags_created": [step[1] for step in self.plan if step[0] == "create_tag"],
            "plan": [list(step) for step in self.plan],
            "polls": self.polls,
            "summary": summary,
            "diff": {"before": {"machines": dict((label[m["system_id"]], m["status_before"]) for m in machines)},
                     "after": {"machines": dict((label[m["system_id"]], m["status"]) for m in machines)}},
        }
        if failed:
            result["failed"] = True
            result["msg"] = "%d of %d machines were not commissioned: %s" % (
                len(failed), len(machines), "; ".join("%s (%s): %s" % (label[m["system_id"]], m["system_id"], m["msg"])
                                                      for m in failed))
        return result
