# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The retry loop and backoff policy, driven by a stub transport (no sockets)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email.utils
import random
import ssl

import pytest

from ansible_collections.gough.gough.plugins.module_utils.http_retry import (
    Confirmed,
    Moved,
    RawResponse,
    RetryPolicy,
    TransportError,
    build_ssl_context,
    parse_retry_after,
    send_with_retries,
)


class StubTransport(object):
    """Plays back a list of outcomes: a status int, a (status, headers) pair, or a TransportError."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.sent = []

    def send(self, method, target, headers=None, body=None):
        self.sent.append((method, target, headers, body))
        outcome = self.outcomes.pop(0) if self.outcomes else 200
        if isinstance(outcome, tuple):
            return RawResponse(outcome[0], "", outcome[1], b"")
        if isinstance(outcome, int):
            return RawResponse(outcome, "", {}, b"")
        raise TransportError(outcome.reason, outcome.target, reached=outcome.reached, transient=outcome.transient)


def refused():
    return TransportError("connection refused", "http://127.0.0.1:1/x/", reached=False, transient=True)


def reset():
    return TransportError("connection reset by the server", "http://127.0.0.1:1/x/", reached=True, transient=True)


def run(transport, method="GET", confirm=None, retries=5, sleeps=None, headers=None):
    policy = RetryPolicy(retries=retries, backoff_base=0.1, backoff_cap=1.0, rng=random.Random(7))
    sleeps = [] if sleeps is None else sleeps
    return send_with_retries(transport, policy, method, "/x/", headers or (lambda: {}), confirm=confirm,
                             sleep=sleeps.append)


def test_backoff_doubles_each_retry_until_the_cap():
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4.0, jitter=0)
    assert [policy.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_backoff_survives_huge_retry_numbers():
    assert RetryPolicy(backoff_base=1, backoff_cap=30, jitter=0).backoff(10000) == 30


def test_full_jitter_spreads_delays_between_zero_and_the_ceiling():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, jitter=1.0, rng=random.Random(1))
    delays = [policy.backoff(3) for dummy in range(500)]
    assert all(0 <= d <= 8.0 for d in delays)
    assert min(delays) < 1.0 and max(delays) > 7.0


def test_partial_jitter_keeps_half_of_the_delay():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=8.0, jitter=0.5, rng=random.Random(1))
    delays = [policy.backoff(3) for dummy in range(500)]
    assert all(4.0 <= d <= 8.0 for d in delays)


def test_retry_after_replaces_backoff_and_is_capped():
    policy = RetryPolicy(backoff_base=1.0, backoff_cap=2.0, retry_after_cap=10.0, jitter=0)
    assert policy.delay(0, retry_after=7) == 7
    assert policy.delay(0, retry_after=3600) == 10.0
    assert policy.delay(0, retry_after=None) == 1.0


def test_retry_after_accepts_seconds_and_http_dates():
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-5") == 0.0
    date = email.utils.formatdate(1000030, usegmt=True)
    assert parse_retry_after(date, now=1000000) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize("kwargs", [dict(retries=-1), dict(backoff_base=-1), dict(jitter=1.5)])
def test_policy_rejects_nonsense_settings(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_get_is_retried_through_5xx_and_resets_until_it_succeeds():
    transport = StubTransport(503, reset(), 502, 504, 200)
    response, attempts, note = run(transport)
    assert response.status == 200 and attempts == 5 and note is None
    assert len(transport.sent) == 5


def test_get_gives_up_after_the_configured_retries_and_returns_the_last_error():
    transport = StubTransport(*([503] * 10))
    sleeps = []
    response, attempts, dummy = run(transport, retries=2, sleeps=sleeps)
    assert response.status == 503 and attempts == 3
    assert len(transport.sent) == 3 and len(sleeps) == 2


def test_connection_failure_raises_with_the_attempt_count_when_retries_run_out():
    transport = StubTransport(refused(), refused(), refused())
    with pytest.raises(TransportError) as info:
        run(transport, retries=2)
    assert info.value.attempts == 3 and info.value.reached is False


def test_non_transient_transport_error_is_not_retried():
    tls = TransportError("TLS certificate verification failed", "https://h:1/", reached=False, transient=False)
    transport = StubTransport(tls, 200)
    with pytest.raises(TransportError):
        run(transport)
    assert len(transport.sent) == 1


def test_client_errors_are_returned_without_retry():
    transport = StubTransport(409, 200)
    response, attempts, dummy = run(transport, method="POST")
    assert response.status == 409 and attempts == 1 and len(transport.sent) == 1


def test_429_waits_for_retry_after():
    transport = StubTransport((429, {"retry-after": "3"}), 200)
    sleeps = []
    response = run(transport, sleeps=sleeps)[0]
    assert response.status == 200 and sleeps == [3.0]


def test_429_without_retry_after_is_final():
    transport = StubTransport(429, 200)
    response, attempts, dummy = run(transport)
    assert response.status == 429 and attempts == 1


def test_post_that_may_have_arrived_is_not_resent_without_a_check():
    transport = StubTransport(reset(), 200)
    with pytest.raises(TransportError) as info:
        run(transport, method="POST")
    assert len(transport.sent) == 1
    assert "may have reached the server" in info.value.note


def test_post_answered_503_is_not_resent_without_a_check():
    transport = StubTransport(503, 200)
    response, attempts, note = run(transport, method="POST")
    assert response.status == 503 and attempts == 1 and "not retried" in note
    assert len(transport.sent) == 1


def test_post_that_never_left_is_resent_without_a_check():
    transport = StubTransport(refused(), refused(), 200)
    response, attempts, dummy = run(transport, method="POST")
    assert response.status == 200 and attempts == 3


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_state_change_is_resent_only_when_the_check_says_it_did_not_happen(method):
    transport = StubTransport(reset(), 503, 200)
    checks = []

    def confirm():
        checks.append(len(transport.sent))
        return None

    response, attempts, dummy = run(transport, method=method, confirm=confirm)
    assert response.status == 200 and attempts == 3
    # The check ran after each failure and before the next send.
    assert checks == [1, 2]


def test_state_change_that_took_effect_is_not_resent():
    transport = StubTransport(reset(), 200)
    outcome, attempts, dummy = run(transport, method="POST", confirm=lambda: {"status_name": "Deploying"})
    assert isinstance(outcome, Confirmed) and outcome.value == {"status_name": "Deploying"}
    assert len(transport.sent) == 1 and attempts == 1


def test_last_attempt_lost_after_it_took_effect_still_counts_as_done():
    transport = StubTransport(reset(), reset())
    outcome, attempts, dummy = run(transport, method="POST", retries=1,
                                   confirm=lambda: None if len(transport.sent) < 2 else "done")
    assert isinstance(outcome, Confirmed) and outcome.value == "done"
    assert len(transport.sent) == 2 and attempts == 2


def test_state_change_gives_up_saying_it_did_not_take_effect():
    transport = StubTransport(503, 503, 503)
    checks = []
    response, attempts, note = run(transport, method="POST", retries=1, confirm=lambda: checks.append(1))
    assert response.status == 503 and attempts == 2 and len(transport.sent) == 2
    assert len(checks) == 2 and note == "the state check shows the POST did not take effect"


def test_state_change_that_moved_the_state_part_way_is_not_resent_and_carries_the_state_seen():
    """A 503 after the server acted in part (MAAS allocating before a failed power action): the check returns Moved,
    so the request is not sent again and the failure comes back with the state the check saw."""
    transport = StubTransport(503, 200)
    seen = {"status_name": "Allocated", "owner": "admin"}
    response, attempts, note = run(transport, method="POST", confirm=lambda: Moved(seen, "it moved"))
    assert response.status == 503 and response.moved == seen and note == "it moved"
    assert len(transport.sent) == 1 and attempts == 1


def test_state_change_lost_on_the_wire_after_a_partial_effect_raises_with_the_state_seen():
    transport = StubTransport(reset(), 200)
    with pytest.raises(TransportError) as caught:
        run(transport, method="POST", confirm=lambda: Moved("allocated", "it moved"))
    assert caught.value.moved == "allocated" and caught.value.note == "it moved" and len(transport.sent) == 1


def test_state_change_check_waits_for_the_backoff_first():
    events = []
    transport = StubTransport(reset(), 200)
    policy = RetryPolicy(retries=3, backoff_base=0.1, jitter=0)
    send_with_retries(transport, policy, "POST", "/x/", lambda: {}, confirm=lambda: events.append("check"),
                      sleep=lambda s: events.append("sleep %.1f" % s))
    assert events == ["sleep 0.1", "check"]


def test_headers_are_rebuilt_for_every_attempt():
    counter = iter(range(100))
    transport = StubTransport(503, 503, 200)
    run(transport, headers=lambda: {"X-Attempt": str(next(counter))})
    assert [sent[2]["X-Attempt"] for sent in transport.sent] == ["0", "1", "2"]


def test_ssl_context_verifies_by_default():
    context = build_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname is True


def test_ssl_context_without_validation_checks_neither_chain_nor_hostname():
    context = build_ssl_context(validate_certs=False)
    assert context.verify_mode == ssl.CERT_NONE and context.check_hostname is False
