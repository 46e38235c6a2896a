# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""wait_until, the one polling loop: growing intervals, never sleeping past the deadline, the last value on timeout,
a value known at the start checked before the first read."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import itertools

import pytest

from ansible_collections.gough.gough.plugins.module_utils.maas_query import describe_events
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout, poll_intervals, wait_until


class FakeClock(object):
    """A monotonic clock that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


def test_intervals_grow_by_the_backoff_factor_up_to_the_cap():
    assert list(itertools.islice(poll_intervals(2, 5, 1.5), 5)) == [2.0, 3.0, 4.5, 5, 5]


def test_returns_the_first_settled_value_without_sleeping_when_already_settled():
    clock = FakeClock()
    assert wait_until(lambda: "Ready", lambda v: v == "Ready", 10, sleep=clock.sleep,
                      clock=clock.clock) == "Ready"
    assert clock.sleeps == []


def test_polls_with_backoff_until_settled_and_reports_progress():
    clock = FakeClock()
    values = iter(["Commissioning", "Commissioning", "Testing", "Ready"])
    seen = []
    result = wait_until(lambda: next(values), lambda v: v == "Ready", 100, interval=1, max_interval=2,
                        backoff=2, on_poll=lambda v, elapsed: seen.append((v, elapsed)),
                        sleep=clock.sleep, clock=clock.clock)
    assert result == "Ready"
    assert clock.sleeps == [1.0, 2, 2]
    assert seen == [("Commissioning", 0.0), ("Commissioning", 1.0), ("Testing", 3.0)]


def test_timeout_raises_with_the_last_value_and_never_sleeps_past_the_deadline():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        wait_until(lambda: "Commissioning", lambda v: False, 10, interval=4, max_interval=4,
                   sleep=clock.sleep, clock=clock.clock)
    assert caught.value.last == "Commissioning"
    assert caught.value.elapsed == 10
    assert clock.sleeps == [4.0, 4.0, 2.0]


def test_a_value_known_at_the_start_is_checked_first_and_the_first_read_waits_one_interval():
    clock = FakeClock()
    values = iter(["Deploying", "Deployed"])
    reads = []
    seen = []

    def read():
        reads.append(clock.now)
        return next(values)
    assert wait_until(read, lambda v: v == "Deployed", 10, interval=2, backoff=1.5, initial="Allocated",
                      on_poll=lambda v, elapsed: seen.append(v), sleep=clock.sleep, clock=clock.clock) == "Deployed"
    assert reads == [2.0, 5.0] and clock.sleeps == [2.0, 3.0]
    # on_poll reports what was read, not the value known at the start.
    assert seen == ["Deploying"]


def test_a_settled_value_known_at_the_start_needs_no_read():
    clock = FakeClock()
    assert wait_until(lambda: pytest.fail("read"), lambda v: v == "Ready", 10, initial="Ready",
                      sleep=clock.sleep, clock=clock.clock) == "Ready"
    assert clock.sleeps == []


def test_a_known_value_with_no_time_left_times_out_without_a_read():
    clock = FakeClock()
    with pytest.raises(WaitTimeout) as caught:
        wait_until(lambda: pytest.fail("read"), lambda v: False, 0, initial="Deploying", sleep=clock.sleep,
                   clock=clock.clock)
    assert caught.value.last == "Deploying" and clock.sleeps == []


def test_events_are_described_in_one_line():
    events = [{"type": "Failed commissioning", "description": "script failed"},
              {"type": "Commissioning", "description": ""}]
    assert describe_events(events) == "Failed commissioning: script failed; Commissioning"


def test_next_delay_may_shorten_a_sleep_but_never_lengthen_it_and_the_intervals_go_on():
    clock = FakeClock()
    values = iter(["Deploying"] * 4 + ["Deployed"])
    asked = []

    def next_delay(value, planned):
        asked.append(planned)
        return {0: 0.5, 1: 99.0, 2: -3.0}.get(len(asked) - 1, planned)
    assert wait_until(lambda: next(values), lambda v: v == "Deployed", 100, interval=2, backoff=2, max_interval=16,
                      next_delay=next_delay, sleep=clock.sleep, clock=clock.clock) == "Deployed"
    # Asked with the planned 2, 4, 8, 16: 0.5 is taken, 99 is cut to the plan, -3 to no sleep at all.
    assert asked == [2.0, 4.0, 8.0, 16] and clock.sleeps == [0.5, 4.0, 0.0, 16]
