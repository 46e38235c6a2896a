# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one polling loop of the collection: read until settled, with a timeout and a growing interval.

``wait_until(read, settled, timeout, interval)`` calls ``read()`` until ``settled(value)`` is true, sleeping
between reads with a growing interval (``interval``, times ``backoff`` each poll, capped at ``max_interval``) and
never past the deadline. It returns the settled value or raises ``WaitTimeout`` carrying the last value read. It
knows nothing about MAAS or Fleet: one ``read`` may fetch one machine, a filtered list of many machines
(``maas_query.poll_until_settled``) or a Fleet host (``gough.gough.fleet_enroll``).

Runs inside modules, so it imports only the standard library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

# Marks "no value known yet" for ``wait_until(initial=...)``, where None is a value like any other.
_NOTHING = object()


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
               sleep=time.sleep, clock=time.monotonic, initial=_NOTHING, next_delay=None):
    """Call ``read()`` until ``settled(value)``; return that value.

    The first read happens at once, unless ``initial`` gives a value already known at the start (say, the answers
    of the operations just sent): that value is checked first and the first read waits one interval.
    ``on_poll(value, elapsed)`` is called after every read that did not settle (for progress output). Sleeps never
    run past ``timeout`` seconds after the start; if the value has not settled by then, ``WaitTimeout`` is raised
    with the last value. ``next_delay(value, planned)`` may shorten the next sleep (a read when the value is expected
    to settle); what it returns is kept between 0 and ``planned``, and the growing intervals go on as planned.
    Exceptions from ``read`` propagate.
    """
    start = clock()
    delays = poll_intervals(interval, max(interval, max_interval), max(backoff, 1.0))
    value, was_read = (read(), True) if initial is _NOTHING else (initial, False)
    while True:
        elapsed = clock() - start
        if settled(value):
            return value
        if was_read and on_poll is not None:
            on_poll(value, elapsed)
        remaining = timeout - elapsed
        if remaining <= 0:
            raise WaitTimeout("still waiting after %.0f seconds" % elapsed, last=value, elapsed=elapsed)
        delay = next(delays)
        if next_delay is not None:
            delay = max(0.0, min(delay, next_delay(value, delay)))
        sleep(min(delay, remaining))
        value, was_read = read(), True
