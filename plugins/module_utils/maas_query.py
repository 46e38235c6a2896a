# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Reading many MAAS machines at once: resolve names, filtered lists split by URL length, and watching them.

``list_machines`` is one filtered ``GET machines/`` (split over several calls only when the query string would
get too long, see ``chunk_values``); ``find_named_machines``/``resolve_named_machines`` turn hostnames or system
IDs into machines with one such call; ``poll_until_settled`` watches many machines with one list call per poll,
through the collection's one polling loop (``polling.wait_until``). ``latest_events`` reads a machine's newest
events for failure messages, and ``latest_event_id`` tells whether anything happened to a machine since an earlier
call (a ``took_effect`` check for ops whose end status can equal their start status).

Runs inside modules, so it imports only the standard library and ``ansible_collections.gough``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from urllib.parse import urlencode

from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout, wait_until

# Query strings above this are split over several list calls; proxies and MAAS's WSGI server accept 8 KiB URLs.
MAX_QUERY_CHARS = 7000


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
                       max_query_chars=MAX_QUERY_CHARS, op_times=None):
    """Wait until ``settled(machine)`` holds for every machine in ``system_ids``, or ``timeout`` seconds pass.

    Each poll is one ``GET machines/?id=...`` for the machines not yet settled (split only when the URL would
    exceed ``max_query_chars``). Polls start ``interval`` seconds apart and the gap grows by ``backoff`` up to
    ``max_interval``; the last sleep is cut short at the deadline. ``known`` seeds the last-seen machines (for
    example the answers of the ops that were just fired), so the first poll comes one interval after the start.
    After every poll ``on_progress(machines, elapsed)`` gets the last-seen machine of every system_id. Returns a
    ``PollResult``; running out of time is not an error here, the machines still moving are in ``unsettled``.

    ``op_times`` (``{system_id: (sent, answered)}``, times of ``clock``) says when the op that set each machine
    moving was sent and answered. Once a poll sees machines settle, the shortest time any of them took (from its op
    sent to that poll's answer, so never shorter than it really took) predicts when the last op answered will
    settle, and the next poll comes then if that is sooner than the interval: a batch that moves together is seen
    done when it is, not up to one interval later. A prediction lies ahead of the clock at most once, so this adds
    at most one poll to a wait.
    """
    result = PollResult()
    wanted = list(dict.fromkeys(system_ids))
    for system_id in wanted:
        result.machines[system_id] = (known or {}).get(system_id)
    start = clock()

    def unsettled(system_ids, elapsed):
        """The system_ids still moving; records when each of the others settled."""
        still = []
        for sid in system_ids:
            machine = result.machines[sid]
            if (machine is None and result.polls) or (machine is not None and settled(machine)):
                # A machine that vanished (deleted) will not settle any further.
                result.settled_after[sid] = elapsed
            else:
                still.append(sid)
        return still

    op_times = op_times or {}
    # The shortest time from an op sent to a poll that saw its machine settled: an upper bound of how long one takes.
    took = []

    def read():
        # The machines still moving are kept in ``result.unsettled``; what is left there at the end did not settle.
        seen = dict((m.get("system_id"), m) for m in list_machines(client, "id", result.unsettled,
                                                                   max_query_chars=max_query_chars))
        answered = clock()
        result.polls += 1
        for sid in result.unsettled:
            result.machines[sid] = seen.get(sid)
        elapsed = answered - start
        before, result.unsettled = result.unsettled, unsettled(result.unsettled, elapsed)
        took.extend(answered - op_times[sid][0] for sid in set(before) - set(result.unsettled)
                    if sid in op_times and result.machines.get(sid) is not None)
        if on_progress is not None:
            # After every poll, the last one too: it shows the batch done.
            on_progress(result.machines, elapsed)
        return result.unsettled

    def next_delay(still, planned):
        """Sooner than ``planned`` when every machine still moving is predicted to have settled by then."""
        if not took or not still or any(sid not in op_times for sid in still):
            return planned
        expected = max(op_times[sid][1] for sid in still) + min(took) - clock()
        return expected if 0 < expected < planned else planned

    result.unsettled = unsettled(wanted, 0.0)
    first = max(0.05, float(interval))
    try:
        wait_until(read, lambda still: not still, max(0.0, float(timeout)), interval=first,
                   max_interval=max(float(max_interval), first), backoff=backoff, sleep=sleep, clock=clock,
                   initial=result.unsettled, next_delay=next_delay)
    except WaitTimeout:
        pass  # Not an error here: the caller reports the machines left in result.unsettled.
    result.elapsed = clock() - start
    return result


def latest_events(client, system_id, limit=5):
    """The newest ``limit`` events of machine ``system_id`` (``GET events/?op=query``), newest first.

    Each event is ``{"created", "type", "description", "level"}``.
    """
    answer = client.get("events/", op="query", params={"id": system_id, "limit": limit}) or {}
    return [dict((key, event.get(key) or "") for key in ("created", "type", "description", "level"))
            for event in answer.get("events", [])]


def latest_event_id(client, system_id):
    """ID of machine ``system_id``'s newest event (any level), or None; a change shows something happened to it."""
    answer = client.get("events/", op="query", params={"id": system_id, "limit": 1, "level": "DEBUG"}) or {}
    events = answer.get("events") or []
    return events[0].get("id") if events else None


def describe_events(events):
    """One line for a failure message: ``type: description; type: description`` (newest first)."""
    return "; ".join("%s: %s" % (e["type"], e["description"]) if e.get("description") else e["type"]
                     for e in events)
