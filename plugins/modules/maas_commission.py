#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_commission
short_description: Commission, in one batch, the machines MAAS has discovered (status New), and tag them
version_added: 0.1.0
description:
  - Finds the machines in status V(New) with one filtered C(GET machines/?status=new), optionally narrowed by
    O(match), adds the tags in O(tags) to them, starts commissioning on all of them at once (at most O(concurrency)
    requests in flight), and waits for them together with one list call per poll, up to O(wait_timeout) seconds.
  - Machines in any other status (Ready, Commissioning, Deployed, Broken, ...) are neither tagged nor commissioned.
  - Every tag name is checked as MAAS checks it before the first request; a bad name fails naming it, and MAAS is
    left unchanged. Missing tags are created, each tag gets its machines in one C(update_nodes) request, and tags the
    machines already carry are kept.
  - A run that finds no New machine (for example a rerun) sends no state-changing request and reports no change.
  - One machine's refusal or failed commissioning does not stop the others; the module then fails naming every
    machine that did not reach V(Ready), with MAAS's message and its latest events.
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
  - gough.gough.maas.commissioning
options:
  match:
    description:
      - Shell-style patterns (V(*), V(?), V([...])); a New machine is commissioned when its hostname or its system ID
        matches any of them. Not set or empty, every New machine is.
    type: list
    elements: str
  tags:
    description:
      - Tags every commissioned machine gets, in addition to those it carries. Letters, digits, V(-) and V(_), at
        most 256 characters each (MAAS's rule).
      - Missing tags are created, only when there is a machine to carry them.
    type: list
    elements: str
    default: []
  comment:
    description:
      - Comment recorded with the commission operation.
    type: str
  wait:
    description:
      - Wait until every machine has finished commissioning (V(Ready) or failed). With V(false) the module returns
        once commissioning has started on all of them.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the whole batch. Machines still commissioning then fail the module, named.
    type: int
    default: 1800
  poll_interval:
    description:
      - Seconds before the first poll; the interval grows by half each poll up to six times this value.
    type: float
    default: 5
  concurrency:
    description:
      - How many commission requests may be in flight at once.
    type: int
    default: 16
attributes:
  check_mode:
    support: full
    description: Reads the New machines and the tags (two requests) and reports what would be tagged and
      commissioned; sends no request that changes MAAS.
  diff_mode:
    support: full
    description: Shows the status of every machine commissioned, before and after.
notes:
  - Idempotent in effect. Once commissioned a machine is no longer New, so a rerun leaves it alone.
seealso:
  - module: gough.gough.maas_machine
  - module: gough.gough.maas_tag
  - module: gough.gough.maas_deploy
"""

EXAMPLES = r"""
- name: Commission every machine MAAS has discovered, tag them, and wait until they are Ready
  gough.gough.maas_commission:
    tags: [discovered, rack-a]
  register: commissioned

- name: Only the new machines whose names start with rack-b-, without hardware tests, without waiting
  gough.gough.maas_commission:
    match: ["rack-b-*"]
    tags: [rack-b]
    testing_scripts: []
    wait: false
"""

RETURN = r"""
machines:
  description: Every New machine this run commissioned (or, in check mode, would commission), in MAAS's order.
  returned: success
  type: list
  elements: dict
  contains:
    system_id:
      description: System ID.
      returned: success
      type: str
      sample: 4y3h7n
    hostname:
      description: Short hostname.
      returned: success
      type: str
      sample: node-07
    status_before:
      description: Status when the run found it (always V(New)).
      returned: success
      type: str
      sample: New
    status:
      description: Status at the end of the run (predicted in check mode).
      returned: success
      type: str
      sample: Ready
    tags_added:
      description: Tags of O(tags) the machine did not carry before.
      returned: success
      type: list
      elements: str
      sample: [rack-a]
    seconds:
      description: Seconds from the start of the run until the machine settled (0 when the run did not wait).
      returned: success
      type: float
      sample: 312.4
    failed:
      description: Whether MAAS refused the machine, or (with O(wait=true)) it did not reach V(Ready) in time.
      returned: success
      type: bool
      sample: false
    msg:
      description: Why it failed; empty otherwise.
      returned: success
      type: str
      sample: ""
    events:
      description: The machine's newest events, newest first, for a machine that failed commissioning.
      returned: success
      type: list
      elements: dict
hostnames:
  description: Hostnames of the machines commissioned (or that would be), failed ones included.
  returned: success
  type: list
  elements: str
  sample: [node-07, node-08]
failed_machines:
  description: Hostnames of the machines MAAS refused or that did not reach V(Ready).
  returned: success
  type: list
  elements: str
  sample: []
tags_created:
  description: Tags of O(tags) MAAS did not have, created by this run (or that would be).
  returned: success
  type: list
  elements: str
  sample: [rack-a]
plan:
  description:
    - What the run did (or, in check mode, would do), in order; each step is a list whose first item is the action.
    - V([create_tag, NAME]), V([tag, NAME, [SYSTEM_ID, ...]]), V([commission, [SYSTEM_ID, ...]]).
  returned: success
  type: list
  elements: list
  sample: [[create_tag, rack-a], [tag, rack-a, [4y3h7n]], [commission, [4y3h7n]]]
polls:
  description: List calls made while waiting.
  returned: success
  type: int
  sample: 7
summary:
  description: One line saying what was commissioned, with which tags, and how it ended.
  returned: success
  type: str
  sample: "2 New machines commissioned (node-07, node-08), tagged rack-a: 2 Ready, 0 failed"
"""

import fnmatch
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gough.gough.plugins.module_utils.maas import (
    MAASError,
    client_from_module,
    commission_form,
    commissioning_argument_spec,
    maas_argument_spec,
    status_name,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_batch import (
    fire_machine_op,
    map_concurrently,
    poll_until_settled,
)
from ansible_collections.gough.gough.plugins.module_utils.maas_validate import MAASValidationError, validate_tag_name
from ansible_collections.gough.gough.plugins.module_utils.maas_wait import describe_events, latest_events

NEW = "New"
READY = "Ready"
COMMISSIONING = ("Commissioning", "Testing")


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
        self.started = clock()
        self.records = {}
        self.order = []
        self.plan = []
        self.polls = 0

    def read(self):
        """The New machines the patterns select (one list call) and the names of the tags MAAS has (one call)."""
        answer = self.client.get("machines/", params={"status": "new"})
        if not isinstance(answer, list):
            raise MAASError("MAAS answered GET machines/ with something other than a JSON list; is the URL the MAAS "
                            "root (e.g. http://maas.example.com:5240/MAAS)?")
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
            self.records[sid] = {
                "system_id": sid, "hostname": machine.get("hostname") or "", "status_before": NEW,
                "status": NEW, "tags_added": [t for t in tags if t not in (machine.get("tag_names") or [])],
                "seconds": 0.0, "failed": False, "msg": "", "events": [], "status_message": ""}
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
        try:
            return self.client.get("tags/%s/" % name)
        except MAASError as exc:
            if exc.status == 404:
                return None
            raise

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
                                   concurrency=self.params["concurrency"])
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
                                    interval=interval, backoff=1.5, max_interval=interval * 6, clock=self.clock)
        self.polls = polled.polls
        finished_before_wait = self.clock() - self.started - polled.elapsed
        for sid in started:
            record = self.records[sid]
            machine = polled.machines.get(sid)
            if machine is None:
                self._fail(record, "the machine disappeared from MAAS while commissioning")
                continue
            record["status"] = status_name(machine)
            record["status_message"] = machine.get("status_message") or machine.get("error_description") or ""
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


def main():
    argument_spec = maas_argument_spec()
    argument_spec.update(commissioning_argument_spec())
    argument_spec.update(
        match=dict(type="list", elements="str"),
        tags=dict(type="list", elements="str", default=[]),
        comment=dict(type="str"),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=1800),
        poll_interval=dict(type="float", default=5),
        concurrency=dict(type="int", default=16),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    params["match"] = [p for p in params["match"] or [] if p]
    # Every input check comes before the first request.
    try:
        params["tags"] = [validate_tag_name(tag, "tags") for tag in dict.fromkeys(params["tags"])]
        for name in ("wait_timeout", "concurrency"):
            if params[name] < 1:
                raise MAASValidationError(name, "must be at least 1, got %d." % params[name])
        if params["poll_interval"] <= 0:
            raise MAASValidationError("poll_interval", "must be more than 0, got %s." % params["poll_interval"])
    except MAASValidationError as exc:
        module.fail_json(msg=str(exc))
    client = client_from_module(module)
    try:
        run = Commissioning(client, params, module.check_mode).start().wait()
    except MAASError as exc:
        module.fail_json(msg=str(exc), **exc.details())
    finally:
        client.close()
    result = run.result()
    if result.get("failed"):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
