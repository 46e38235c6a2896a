# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the service clients (``MAASClient``, ``FleetClient``) share: the base URL checks, the transport and TLS
set-up, the request loop over ``http_retry`` (retries, Retry-After, a ``confirm`` re-read before resending a state
change) and the shape of the error messages, with secrets scrubbed from every one of them.

A client subclasses ``ApiClient`` and fills in small hooks: ``error_class``, ``service`` (the name in messages),
``user_agent``, ``authorization_header()`` (called for every attempt, so signatures and nonces are fresh),
``_secrets()`` and ``_error_body()``, plus the few message parts that differ between services.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback

from ansible_collections.gough.gough.plugins.module_utils.http_retry import (
    Confirmed,
    HTTPTransport,
    RetryPolicy,
    TransportError,
    build_ssl_context,
    send_with_retries,
)

DEFAULT_TIMEOUT = 30
DEFAULT_RETRIES = 5
# Bodies of error responses can be whole HTML pages from a proxy; keep messages readable.
MAX_MESSAGE_CHARS = 500
# Short secrets are not scrubbed from messages: replacing "ab" everywhere would garble them.
MIN_SCRUB_LENGTH = 6
# Characters left as they are when quoting a request path.
PATH_SAFE = "/:@!$&'()*+,;=-._~"


def clip(text):
    """``text`` on one line, cut to ``MAX_MESSAGE_CHARS``."""
    text = " ".join(text.split())
    if len(text) > MAX_MESSAGE_CHARS:
        text = text[:MAX_MESSAGE_CHARS] + "..."
    return text


def split_base_url(url, error_class, service, example, secret_option, scheme_message):
    """Check a service URL; return ``(scheme, netloc, path)`` with the path's trailing slashes removed.

    Raises ``error_class``: the URL is empty or unreadable (the messages end with ``example``), not http(s) or
    without a host (``scheme_message``), carries credentials (pointing at ``secret_option``), a query or a fragment.
    """
    if not isinstance(url, str) or not url.strip():
        raise error_class("The %s URL is empty; %s." % (service, example))
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise error_class("The %s URL is invalid (%s); %s." % (service, exc, example))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise error_class(scheme_message)
    if parts.username is not None or parts.password is not None:
        # Do not echo the URL: the part before '@' may be a secret.
        raise error_class("The %s URL must not contain credentials (user:password@); use %s."
                          % (service, secret_option))
    if parts.query or parts.fragment:
        raise error_class("The %s URL must not contain a query string or fragment." % service)
    host = "[%s]" % parts.hostname if ":" in parts.hostname else parts.hostname
    netloc = host if port is None else "%s:%d" % (host, port)
    return parts.scheme, netloc, parts.path.rstrip("/")


class ApiError(Exception):
    """Base of the service errors: ``message`` (also ``str()``), ``status`` (HTTP status, or None when no response
    came back), ``method``, ``url`` (no credentials), ``attempts`` and ``reason`` (for connection failures).
    ``moved`` is the state a re-read saw when a failed state change had partly taken effect (then it was not
    resent), else None."""

    moved = None

    def __init__(self, message, status=None, method=None, url=None, attempts=1, reason=None):
        super(ApiError, self).__init__(message)
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.attempts = attempts
        self.reason = reason

    def __str__(self):
        return self.message

    def details(self):
        """Extra keys for ``fail_json``: the HTTP status, method and URL (nothing secret)."""
        return {"status": self.status, "method": self.method, "url": self.url}


class ApiClient(object):
    """Retrying access to one service's HTTP API; safe to share between threads.

    Subclasses call ``_connect(api_url, ...)`` from their constructor once ``api_url`` is normalised and their
    credentials are parsed, and ``_send(...)`` from their ``request``.
    """

    error_class = Exception
    service = "the service"
    user_agent = "gough.gough"
    credential_name = "credentials"
    # Why a 403 happened, in the message (``refused <method> <url> (HTTP 403, <reason>)``).
    forbidden_reason = "the user lacks permission"

    def _connect(self, api_url, validate_certs, ca_path, timeout, retries, backoff_base, backoff_cap,
                 retry_after_cap, jitter, sleep):
        self.api_url = api_url
        parts = urlsplit(api_url)
        self._base_path = parts.path
        scheme = parts.scheme
        port = parts.port or (443 if scheme == "https" else 80)
        context = None
        if scheme == "https":
            try:
                context = build_ssl_context(validate_certs, ca_path)
            except (OSError, ValueError) as exc:
                reason = getattr(exc, "strerror", None) or exc
                raise self._ca_error(ca_path, reason)
        self.validate_certs = validate_certs
        self.timeout = timeout
        self.policy = RetryPolicy(retries=retries, backoff_base=backoff_base, backoff_cap=backoff_cap,
                                  retry_after_cap=retry_after_cap, jitter=jitter)
        self._transport = HTTPTransport(scheme, parts.hostname, port, timeout=timeout, ssl_context=context)
        self._origin = self._transport.origin
        self._sleep = sleep if sleep is not None else time.sleep

    def __repr__(self):
        return "%s(%r)" % (type(self).__name__, self.api_url)

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Close the keep-alive connections of every thread (call when no request is in flight)."""
        self._transport.close()

    # -- hooks ----------------------------------------------------------------------------------------------

    def authorization_header(self):
        """The ``Authorization`` value for one attempt."""
        raise NotImplementedError

    def _secrets(self):
        """The credential strings that must never appear in a message."""
        return ()

    def _ca_error(self, ca_path, reason):
        return self.error_class("Cannot load the CA bundle ca_path=%s: %s" % (ca_path, reason))

    def _error_body(self, raw):
        """``(text, error_kwargs)`` from an error response: what the service said (before clipping and
        scrubbing) and the extra keyword arguments of ``error_class``."""
        raise NotImplementedError

    def _unauthorized_message(self, display_url, said):
        return "%s rejected the %s (HTTP 401) at %s: %s" % (self.service, self.credential_name, display_url, said)

    def _confirm_error_kwargs(self, exc):
        """Extra keyword arguments carried over from a failed state check's error."""
        return {}

    def _connect_failure_message(self, method, display_url, reason):
        """The message for a request that never reached the server."""
        return "Cannot connect to %s for %s %s: %s" % (self.service, method, display_url, reason)

    def _transport_message(self, method, display_url, exc):
        """The message for a request that got no response, before the attempts and the note are added."""
        if exc.reached:
            return "No response from %s to %s %s: %s" % (self.service, method, display_url, exc.reason)
        return self._connect_failure_message(method, display_url, exc.reason)

    def _transport_hint(self, exc):
        """Advice appended at the end of a no-response message (after the attempts and the note)."""
        return ""

    # -- the request loop -----------------------------------------------------------------------------------

    def _under_base(self, relative):
        """Absolute, quoted request path for ``relative`` (already stripped of the API base)."""
        return self._base_path + quote(relative, safe=PATH_SAFE)

    def _scrub(self, text):
        for secret in self._secrets():
            if len(secret) >= MIN_SCRUB_LENGTH and secret in text:
                text = text.replace(secret, "********")
        return text

    def _headers(self):
        """Headers every request carries (the caller adds the body's)."""
        return {"Accept": "application/json", "User-Agent": self.user_agent}

    def _send(self, method, target, display_url, headers, body=None, confirm=None):
        """Send a request through the retry loop; return the ``RawResponse`` of a success, or ``Confirmed``.

        ``method`` is upper case. Any failure raises ``error_class``; so does a failed ``confirm``.
        """
        def make_headers():
            fresh = dict(headers)
            fresh["Authorization"] = self.authorization_header()
            return fresh

        checked_confirm = None
        if confirm is not None:
            def checked_confirm():
                try:
                    return confirm()
                except self.error_class as exc:
                    raise self.error_class(
                        "%s %s failed and its outcome is unknown: re-reading state to check whether it took effect "
                        "failed too: %s" % (method, display_url, exc), status=exc.status, method=method,
                        url=display_url, **self._confirm_error_kwargs(exc))

        try:
            outcome, attempts, note = send_with_retries(self._transport, self.policy, method, target, make_headers,
                                                        body=body, confirm=checked_confirm, sleep=self._sleep)
        except TransportError as exc:
            raise self._transport_error(method, display_url, exc)
        if not isinstance(outcome, Confirmed) and outcome.status >= 400:
            raise self._http_error(method, display_url, outcome, attempts, note)
        return outcome

    def _transport_error(self, method, display_url, exc):
        attempts = getattr(exc, "attempts", 1)
        message = self._transport_message(method, display_url, exc)
        if attempts > 1:
            message += " (%d attempts)" % attempts
        if getattr(exc, "note", None):
            message += "; " + exc.note
        message = self._scrub(message + self._transport_hint(exc))
        error = self.error_class(message if message.endswith((".", "?")) else message + ".", status=None,
                                 method=method, url=display_url, attempts=attempts, reason=exc.reason)
        error.moved = exc.moved
        return error

    def _http_error(self, method, display_url, raw, attempts, note):
        text, error_kwargs = self._error_body(raw)
        said = self._scrub(clip(text)) or "(%s gave no message)" % self.service
        if raw.status == 401:
            message = self._unauthorized_message(display_url, said)
        elif raw.status == 403:
            message = "%s refused %s %s (HTTP 403, %s): %s" % (
                self.service, method, display_url, self.forbidden_reason, said)
        else:
            message = "%s returned HTTP %d for %s %s: %s" % (self.service, raw.status, method, display_url, said)
        if attempts > 1:
            message += " (%d attempts)" % attempts
        if note:
            message += " (%s)" % note
        error = self.error_class(message, status=raw.status, method=method, url=display_url, attempts=attempts,
                                 **error_kwargs)
        error.moved = raw.moved
        return error


def connection_argument_spec(secret_option, url_env, secret_env, validate_certs_env, ca_path_env):
    """Connection options of a service's modules: ``url``, the secret ``secret_option``, ``validate_certs``,
    ``ca_path``, ``timeout`` and ``retries``, with environment fallbacks for the first four."""
    spec = dict(url=dict(type="str", required=True, fallback=(env_fallback, [url_env])))
    spec[secret_option] = dict(type="str", required=True, no_log=True, fallback=(env_fallback, [secret_env]))
    spec.update(
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, [validate_certs_env])),
        ca_path=dict(type="path", fallback=(env_fallback, [ca_path_env])),
        timeout=dict(type="int", default=DEFAULT_TIMEOUT),
        retries=dict(type="int", default=DEFAULT_RETRIES),
    )
    return spec


def connection_options(params, secret_option, overrides):
    """Client constructor arguments from connection options (defaults for the ones left unset), then ``overrides``."""
    options = dict(
        url=params["url"], validate_certs=params.get("validate_certs", True), ca_path=params.get("ca_path"),
        timeout=params.get("timeout") or DEFAULT_TIMEOUT,
        retries=params.get("retries") if params.get("retries") is not None else DEFAULT_RETRIES,
    )
    options[secret_option] = params[secret_option]
    options.update(overrides)
    return options
