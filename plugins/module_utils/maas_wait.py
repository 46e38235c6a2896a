# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Waiting for MAAS to finish something (commissioning, deploying, releasing), with a timeout and backoff.

``wait_until(read, settled, timeout, interval)`` calls ``read()`` until ``settled(value)`` is true, sleeping
between polls with a growing interval (``interval``, times ``backoff`` each poll, capped at ``max_interval``) and
never past the deadline. It returns the settled value or raises ``WaitTimeout`` carrying the last value read. It
knows nothing about machines, so one ``read`` may fetch one machine or a filtered list of many.

``latest_events(client, system_id, limit)`` returns a machine's newest events in a short, stable shape, for
failure messages; ``latest_event_id`` tells whether anything happened to a machine since an earlier call (a
``took_effect`` check for ops whose end status can equal their start status).

Runs inside modules, so it imports only the standard library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time


class WaitTimeout(Exception):
    """``wait_until`` ran out of time; ``last`` is the last value read, ``elapsed`` the seconds waited."""

    def __init__(self, message, last=None, elapsed=0.0):
        super(WaitTimeout, self).__init__(message)
        self.last = last
        self.elapsed = elapsed


def poll_intervals(interval, max_interval, backoff):
    """Yield the sleep before each poll: ``interval``, then times ``backoff`` each time, capped at ``max_interval``."""
    current = float(interval)
    while True:
        yield current
        current = min(current * backoff, max_interval)


def wait_until(read, settled, timeout, interval=5.0, max_interval=30.0, backoff=1.5, on_poll=None,
               sleep=time.sleep, clock=time.monotonic):
    """Call ``read()`` until ``settled(value)``; return that value.

    The first read happens at once. ``on_poll(value, elapsed)`` is called after every read that did not settle
    (for progress output). Sleeps never run past ``timeout`` seconds after the start; if the value has not settled
    by then, ``WaitTimeout`` is raised with the last value. Exceptions from ``read`` propagate.
    """
    start = clock()
    delays = poll_intervals(interval, max(interval, max_interval), max(backoff, 1.0))
    while True:
        value = read()
        elapsed = clock() - start
        if settled(value):
            return value
        if on_poll is not None:
            on_poll(value, elapsed)
        remaining = timeout - elapsed
        if remaining <= 0:
            raise WaitTimeout("still waiting after %.0f seconds" % elapsed, last=value, elapsed=elapsed)
        sleep(min(next(delays), remaining))


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
