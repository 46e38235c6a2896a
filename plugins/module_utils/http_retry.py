# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Keep-alive HTTP transport and a retry loop that never repeats a state change blindly.

Shared by the service clients (MAAS now, Fleet later). It knows nothing about any API: the caller supplies
the request headers (per attempt, so signatures and nonces are fresh) and decides what a response means.

Runs inside modules, so it imports only the standard library and stays Python 3.8 compatible.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import email.utils
import http.client
import random
import select
import socket
import ssl
import threading
import time

# Statuses worth another try: the server (or a proxy in front of it) said "not now", not "no".
TRANSIENT_STATUSES = frozenset([429, 502, 503, 504])
SAFE_METHODS = frozenset(["GET", "HEAD", "OPTIONS"])


class TransportError(Exception):
    """A request that got no HTTP response.

    ``reached`` is False only when the failure happened before a byte of the request was sent (the connection
    could not be opened), so the server provably never saw it. ``transient`` says whether trying again may
    help. ``reason`` is a short human description, ``target`` the URL (no credentials) it was aimed at.
    """

    moved = None

    def __init__(self, reason, target, reached, transient):
        super(TransportError, self).__init__(reason)
        self.reason = reason
        self.target = target
        self.reached = reached
        self.transient = transient

    def __repr__(self):
        return "TransportError(%r, target=%r, reached=%r, transient=%r)" % (
            self.reason, self.target, self.reached, self.transient)


class RawResponse(object):
    """Status, reason, headers (lower-cased names) and body bytes of one HTTP exchange; ``moved`` is what a state
    check saw when the request failed after partly taking effect (see ``Moved``)."""

    moved = None

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        """Return header ``name`` (case-insensitive) or ``default``."""
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        return "RawResponse(status=%r, reason=%r, %d bytes)" % (self.status, self.reason, len(self.body or b""))


class Confirmed(object):
    """What ``send_with_retries`` returns when the caller's check showed a failed attempt took effect."""

    def __init__(self, value):
        self.value = value


class Moved(object):
    """What a ``confirm`` check returns when a failed attempt changed the state, but not to the wanted end.

    The server acted, so the request must not be sent again; ``send_with_retries`` gives up with the failure it got,
    carrying ``value`` (the state the check saw) as the failure's ``moved`` attribute and ``note`` in its note.
    """

    def __init__(self, value, note):
        self.value = value
        self.note = note


class RetryPolicy(object):
    """Capped exponential backoff with jitter, and a cap on how long a server may ask us to wait.

    ``retries`` is the number of extra attempts after the first. The n-th retry waits a random time in
    ``[(1 - jitter) * d, d]`` with ``d = min(backoff_cap, backoff_base * 2 ** n)``: ``jitter=1`` is full jitter,
    ``0.5`` keeps half of the delay fixed so retries never bunch up near zero. A ``Retry-After`` header replaces
    the computed delay, capped at ``retry_after_cap``.
    """

    def __init__(self, retries=5, backoff_base=0.5, backoff_cap=10.0, retry_after_cap=60.0, jitter=0.5,
                 rng=None):
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        if backoff_base < 0 or backoff_cap < 0 or retry_after_cap < 0:
            raise ValueError("backoff_base, backoff_cap and retry_after_cap must be 0 or more")
        if not 0 <= jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        self.retries = int(retries)
        self.backoff_base = float(backoff_base)
        self.backoff_cap = float(backoff_cap)
        self.retry_after_cap = float(retry_after_cap)
        self.jitter = float(jitter)
        self._rng = rng or random.Random()

    def backoff(self, retry_number):
        """Seconds to wait before retry ``retry_number`` (0 for the first retry), jitter included."""
        # min() before the power would overflow for silly retry counts; cap the exponent instead.
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** min(retry_number, 62)))
        return ceiling - self._rng.uniform(0, ceiling * self.jitter)

    def delay(self, retry_number, retry_after=None):
        """Seconds to wait before retry ``retry_number``; a parsed ``Retry-After`` value wins, capped."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.retry_after_cap)
        return self.backoff(retry_number)


def parse_retry_after(value, now=None):
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(when.timestamp() - now, 0.0)


def build_ssl_context(validate_certs=True, ca_path=None):
    """SSL context for HTTPS: system trust (or ``ca_path``) with hostname checks, or no checks at all."""
    if not validate_certs:
        context = ssl.create_default_context()
        # Order matters: hostname checking must be off before verification can be.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ca_path)


def _socket_closed_by_peer(sock):
    """True if an idle keep-alive socket was closed by the server (or holds data nobody asked for)."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLERR | select.POLLHUP)
            readable = bool(poller.poll(0))
        else:
            readable = bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True
    if not readable:
        return False
    if isinstance(sock, ssl.SSLSocket):
        # Readable TLS may only be protocol records (a late TLS 1.3 session ticket): peek by reading.
        # The caller resets the timeout (and so blocking mode) before the next request.
        try:
            sock.setblocking(False)
            sock.recv(1)  # b"" is a close; anything else is a desynchronised connection
            return True
        except ssl.SSLWantReadError:
            return False
        except (OSError, ValueError):
            return True
    return True


def describe_os_error(exc, timeout=None):
    """Short lower-case description of a socket-level failure, without Python class names."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        detail = (exc.verify_message or exc.reason or "unknown reason").rstrip(".")
        return "TLS certificate verification failed (%s)" % detail
    if isinstance(exc, ssl.SSLError):
        return "TLS handshake failed (%s)" % (exc.reason or exc.strerror or "unknown reason")
    if isinstance(exc, socket.gaierror):
        return "cannot resolve the host name (%s)" % (exc.strerror or exc)
    if isinstance(exc, socket.timeout):
        return "timed out after %s seconds" % timeout if timeout else "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "the server closed the connection without sending a response"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, BrokenPipeError):
        return "the server closed the connection while the request was being sent"
    if isinstance(exc, http.client.HTTPException):
        return "invalid HTTP response (%s)" % (exc.__class__.__name__,)
    return exc.strerror or str(exc) or exc.__class__.__name__


class HTTPTransport(object):
    """Sends requests to one ``scheme://host:port`` over a keep-alive connection per thread.

    ``http.client`` connections are not thread-safe, so each thread gets its own; the transport itself can be
    shared by many threads. ``close()`` closes every connection it opened (call it when no request is in
    flight); a closed transport reconnects on the next request.
    """

    def __init__(self, scheme, host, port, timeout=30, ssl_context=None):
        if scheme not in ("http", "https"):
            raise ValueError("scheme must be http or https")
        self.scheme = scheme
        self.host = host
        self.port = port
        self.timeout = timeout
        self.ssl_context = ssl_context if scheme == "https" else None
        if self.scheme == "https" and self.ssl_context is None:
            self.ssl_context = build_ssl_context()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections = []

    @property
    def origin(self):
        """``scheme://host:port`` of the server (for messages)."""
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "%s://%s:%d" % (self.scheme, host, self.port)

    def _new_connection(self):
        if self.scheme == "https":
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        with self._lock:
            self._connections.append(conn)
        return conn

    def _connection(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._new_connection()
        elif conn.sock is not None and _socket_closed_by_peer(conn.sock):
            # The server dropped the idle connection; sending on it would fail after we count it as "sent".
            conn.close()
        return conn

    def send(self, method, target, headers=None, body=None):
        """Send one request; return a ``RawResponse`` for any HTTP status or raise ``TransportError``.

        ``target`` is the path plus query string. Connection failures raise with ``reached=False``; anything
        that goes wrong once the request is on the wire raises with ``reached=True``.
        """
        url = self.origin + target.split("?", 1)[0]
        conn = self._connection()
        if conn.sock is None:
            try:
                conn.connect()
            except ssl.SSLError as exc:
                conn.close()
                # A certificate problem does not go away by asking again.
                raise TransportError(describe_os_error(exc), url, reached=False, transient=False)
            except socket.gaierror as exc:
                conn.close()
                transient = exc.errno in (getattr(socket, "EAI_AGAIN", None),)
                raise TransportError(describe_os_error(exc), url, reached=False, transient=transient)
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise TransportError(describe_os_error(exc, self.timeout), url, reached=False, transient=True)
        else:
            conn.sock.settimeout(self.timeout)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise TransportError(describe_os_error(exc, self.timeout), url, reached=True, transient=True)
        if response.will_close:
            conn.close()
        header_map = {}
        for name, value in response.getheaders():
            header_map[name.lower()] = value
        return RawResponse(response.status, response.reason, header_map, data)

    def close(self):
        """Close every connection this transport opened, in any thread."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()


def send_with_retries(transport, policy, method, target, make_headers, body=None, confirm=None,
                      sleep=time.sleep):
    """Send a request, retrying transient failures without ever doing a state change twice.

    ``make_headers()`` is called for every attempt. Safe methods (GET, HEAD, OPTIONS) are retried on any
    transient failure. Any other method is resent only if the failed attempt provably never reached the
    server, or if ``confirm()`` (called after the backoff) re-reads state and returns a falsy value, meaning
    the change did not happen; a truthy value means it did, and is returned as ``Confirmed(value)``. A ``Moved``
    value means the state moved without reaching the wanted end (a partial effect): the request is not resent, and
    the failure is returned (or raised) with ``moved`` set to the state seen.

    Returns ``(response, attempts, note)``: ``response`` is a ``RawResponse`` (possibly an error status the
    caller must map) or ``Confirmed``; ``note`` explains why a transient failure was not retried, if so.
    Raises ``TransportError`` (with an ``attempts`` attribute and a ``note``) when no response was obtained.
    """
    method = method.upper()
    safe = method in SAFE_METHODS
    retry_number = 0
    while True:
        attempts = retry_number + 1
        retry_after = None
        try:
            response = transport.send(method, target, make_headers(), body)
        except TransportError as exc:
            exc.attempts = attempts
            exc.note = None
            if not exc.transient:
                raise
            failure, reached = exc, exc.reached
        else:
            if response.status not in TRANSIENT_STATUSES:
                return response, attempts, None
            failure, reached = response, True
            retry_after = parse_retry_after(response.header("retry-after"))
            if response.status == 429 and retry_after is None:
                # 429 without Retry-After is a hard limit, not a "come back later".
                return response, attempts, None

        needs_check = not safe and reached
        if needs_check and confirm is None:
            return _give_up(failure, attempts, "not retried: the %s request may have reached the server and "
                                               "taken effect, and no state check was supplied" % method)
        if retry_number >= policy.retries and not needs_check:
            return _give_up(failure, attempts, None)
        sleep(policy.delay(retry_number, retry_after))
        if needs_check:
            value = confirm()
            if isinstance(value, Moved):
                # The server acted: sending a non-idempotent request again could act twice.
                failure.moved = value.value
                return _give_up(failure, attempts, value.note)
            if value:
                return Confirmed(value), attempts, None
            if retry_number >= policy.retries:
                # Out of retries, but at least the caller learns the change did not happen.
                return _give_up(failure, attempts, "the state check shows the %s did not take effect" % method)
        retry_number += 1


def _give_up(failure, attempts, note):
    if isinstance(failure, TransportError):
        failure.attempts = attempts
        failure.note = note
        raise failure
    return failure, attempts, note
