# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client for the MAAS REST API 2.0, shared by every ``gough.gough.maas_*`` module and plugin.

One ``MAASClient`` per MAAS; it is safe to share between threads. Every failure, HTTP or not, surfaces as
``MAASError`` with a message fit for ``fail_json`` and never any part of the API key. Reads are retried on
transient failures; a state change is resent only after a caller-supplied check shows it did not happen.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import secrets
import time
import uuid

from urllib.parse import quote, urlencode

from ansible_collections.gough.gough.plugins.module_utils.api_client import (  # noqa: F401 pylint: disable=unused-import
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    MAX_MESSAGE_CHARS,
    MIN_SCRUB_LENGTH,
    ApiClient,
    ApiError,
    clip as _clip,
    connection_argument_spec,
    connection_options,
    split_base_url,
)
from ansible_collections.gough.gough.plugins.module_utils.http_retry import Confirmed, Moved
from ansible_collections.gough.gough.plugins.module_utils.maas_machine_view import NODE_STATUS

API_PATH = "/api/2.0/"
USER_AGENT = "gough.gough-maas-client"


class MAASError(ApiError):
    """Any failure talking to MAAS.

    Attributes: ``status`` (HTTP status, or None when no response came back), ``method``, ``url`` (scheme,
    host, port, path and ``op`` only), ``maas_message`` (what MAAS said, flattened to text),
    ``field_errors`` (MAAS form errors as ``{field: [messages]}``, or None), ``attempts`` and ``reason`` (for
    connection failures). ``str()`` is the one-line message for the user. None of it ever contains the key.
    """

    def __init__(self, message, status=None, method=None, url=None, maas_message=None, field_errors=None,
                 attempts=1, reason=None):
        super(MAASError, self).__init__(message, status=status, method=method, url=url, attempts=attempts,
                                        reason=reason)
        self.maas_message = maas_message
        self.field_errors = field_errors

    def __repr__(self):
        return "MAASError(%r, status=%r)" % (self.message, self.status)

    def details(self):
        """Extra keys for ``fail_json``: the HTTP status, method, URL and form errors (nothing secret)."""
        result = super(MAASError, self).details()
        if self.field_errors:
            result["field_errors"] = self.field_errors
        return result


class MAASKeyError(MAASError):
    """A malformed API key. The message names the expected shape and never any of the key itself."""


def parse_api_key(api_key):
    """Split ``consumer_key:token_key:token_secret`` into its three parts, or raise ``MAASKeyError``."""
    expected = "expected the form consumer_key:token_key:token_secret, as printed by 'maas apikey'"
    if not isinstance(api_key, str):
        raise MAASKeyError("The MAAS API key is missing or not a string; %s." % expected)
    # Keys often come from files or environment variables with a trailing newline.
    api_key = api_key.strip()
    if not api_key:
        raise MAASKeyError("The MAAS API key is empty; %s." % expected)
    parts = api_key.split(":")
    if len(parts) != 3:
        raise MAASKeyError("The MAAS API key is malformed: it has %d colon-separated fields, %s."
                           % (len(parts), expected))
    if not all(parts):
        raise MAASKeyError("The MAAS API key is malformed: one of its three fields is empty; %s." % expected)
    for part in parts:
        for char in part:
            if not ("!" <= char <= "~"):
                raise MAASKeyError("The MAAS API key is malformed: it contains whitespace or characters outside "
                                   "printable ASCII; %s." % expected)
    return tuple(parts)


def normalize_api_url(url):
    """Return the API 2.0 base (ending ``/api/2.0/``) for ``http(s)://host[:port]/MAAS`` in any usual spelling.

    Accepts the MAAS root with or without a trailing slash, or the API base itself. Credentials, query strings
    and fragments are refused, as is the retired API 1.0.
    """
    scheme, netloc, path = split_base_url(
        url, MAASError, "MAAS", "expected something like http://maas.example.com:5240/MAAS", "api_key",
        "The MAAS URL must start with http:// or https:// and name a host, e.g. http://maas.example.com:5240/MAAS.")
    if path.endswith("/api/1.0"):
        raise MAASError("MAAS API 1.0 is retired; give the MAAS root URL, e.g. http://maas.example.com:5240/MAAS.")
    if path.endswith("/api/2.0"):
        path = path[:-len("/api/2.0")]
    elif path.endswith("/api"):
        path = path[:-len("/api")]
    return "%s://%s%s%s" % (scheme, netloc, path, API_PATH)


def _form_value(value):
    """Render one form or query value the way MAAS parses it: booleans as true/false, the rest as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return value
    return str(value)


def form_items(fields):
    """Flatten a dict (or list of pairs) into ``(name, value)`` pairs: lists repeat the name, None is skipped."""
    if not fields:
        return []
    pairs = fields.items() if isinstance(fields, dict) else fields
    items = []
    for name, value in pairs:
        if value is None:
            continue
        if isinstance(value, (list, tuple, set, frozenset)):
            values = sorted(value) if isinstance(value, (set, frozenset)) else value
            items.extend((name, _form_value(v)) for v in values if v is not None)
        else:
            items.append((name, _form_value(value)))
    return items


def encode_query(op=None, params=None):
    """Query string (without '?') with ``op`` first, then ``params``; lists become repeated keys."""
    items = [("op", op)] if op else []
    items.extend(form_items(params))
    return urlencode(items)


def encode_multipart(items, boundary=None):
    """Encode ``(name, value)`` pairs as multipart/form-data; return ``(body, content_type)``.

    Text values are sent as UTF-8, bytes as they are. MAAS 3.6 and later reject a multipart body with no parts, so an
    empty form is sent as an empty urlencoded body instead.
    """
    if not items:
        return b"", "application/x-www-form-urlencoded"
    boundary = boundary or "gough-" + uuid.uuid4().hex
    chunks = []
    for name, value in items:
        data = value if isinstance(value, bytes) else value.encode("utf-8")
        # A part that contains the boundary would split itself; pick another (vanishingly rare).
        if boundary.encode("ascii") in data:
            return encode_multipart(items, "gough-" + uuid.uuid4().hex)
        safe_name = name.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "").replace("\n", "")
        chunks.append(b"--" + boundary.encode("ascii") + b"\r\n")
        chunks.append(('Content-Disposition: form-data; name="%s"\r\n\r\n' % safe_name).encode("utf-8"))
        chunks.append(data + b"\r\n")
    chunks.append(b"--" + boundary.encode("ascii") + b"--\r\n")
    return b"".join(chunks), "multipart/form-data; boundary=%s" % boundary


def flatten_maas_errors(errors):
    """Turn MAAS form errors ``{"field": ["msg", ...]}`` into one line: ``field: msg; other: msg``.

    Form-level errors (``__all__``) come first and without a field name.
    """
    if not isinstance(errors, dict):
        return str(errors)
    lines = []
    keys = sorted(errors, key=lambda k: (k != "__all__", str(k)))
    for key in keys:
        messages = errors[key]
        if not isinstance(messages, (list, tuple)):
            messages = [messages]
        for message in messages:
            text = message if isinstance(message, str) else json.dumps(message, sort_keys=True)
            lines.append(text if key == "__all__" else "%s: %s" % (key, text))
    return "; ".join(lines)


def _decode_body(raw):
    """Parse a response body: JSON when MAAS says so (or it parses), text otherwise, None when empty."""
    if not raw.body:
        return None
    content_type = (raw.header("content-type") or "").lower()
    text = raw.body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class MAASClient(ApiClient):
    """Signed, retrying access to one MAAS region's API 2.0; share one instance between threads.

    ``url`` is the MAAS root (``http://host:5240/MAAS``) or API base; ``api_key`` is
    ``consumer_key:token_key:token_secret``. ``retries`` extra attempts are made on transient failures
    (connection errors and resets, 502/503/504, 429 with Retry-After), waiting a capped exponential backoff
    with jitter (``backoff_base``, ``backoff_cap``, ``jitter``: 1 is full jitter, 0.5 keeps half the delay fixed)
    or the server's Retry-After (capped at ``retry_after_cap``). ``timeout`` bounds every socket operation of a
    request, in seconds.
    """

    error_class = MAASError
    service = "MAAS"
    user_agent = USER_AGENT
    credential_name = "API key"
    forbidden_reason = "the user lacks permission or the machine is locked or owned by someone else"

    def __init__(self, url, api_key, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, backoff_base=0.5, backoff_cap=10.0, retry_after_cap=60.0, jitter=0.5,
                 sleep=time.sleep):
        self._consumer_key, self._token_key, self._token_secret = parse_api_key(api_key)
        self._connect(normalize_api_url(url), validate_certs, ca_path, timeout, retries, backoff_base, backoff_cap,
                      retry_after_cap, jitter, sleep)

    # -- building requests --------------------------------------------------------------------------------

    def authorization_header(self):
        """A fresh OAuth 1.0a PLAINTEXT ``Authorization`` value: new nonce and timestamp on every call."""
        values = [
            ("oauth_version", "1.0"),
            ("oauth_signature_method", "PLAINTEXT"),
            ("oauth_consumer_key", quote(self._consumer_key, safe="")),
            ("oauth_token", quote(self._token_key, safe="")),
            # PLAINTEXT signature is "<consumer secret>&<token secret>"; MAAS consumer secrets are empty.
            ("oauth_signature", "&" + quote(self._token_secret, safe="")),
            ("oauth_nonce", secrets.token_hex(16)),
            ("oauth_timestamp", str(int(time.time()))),
        ]
        return "OAuth " + ", ".join('%s="%s"' % pair for pair in values)

    def _path(self, path):
        """Absolute request path for ``path`` relative to the API base (or already absolute under it)."""
        path = path or ""
        if path.startswith(self._base_path):
            path = path[len(self._base_path):]
        path = path.lstrip("/")
        if path and not path.endswith("/"):
            # Every MAAS 2.0 endpoint ends in '/'; without it MAAS answers 404 or a redirect.
            path += "/"
        return self._under_base(path)

    def _display_url(self, path, op):
        """URL for messages: no credentials, no parameters other than ``op``."""
        return self._origin + path + ("?" + urlencode([("op", op)]) if op else "")

    def _secrets(self):
        return (self._token_secret, self._token_key, self._consumer_key)

    # -- the request loop ---------------------------------------------------------------------------------

    def request(self, method, path, op=None, params=None, data=None, confirm=None):
        """Send one API request and return the parsed body (JSON as Python data, text as str, or None).

        ``op`` goes in the query string. ``params`` go in the query string (lists as repeated keys); ``data``
        is the POST/PUT form, sent as multipart/form-data (lists as repeated fields, booleans ``true``/
        ``false``). GETs are retried on transient failures. A POST, PUT or DELETE whose attempt may have
        reached MAAS is resent only if ``confirm`` is given and, called after the backoff, returns a falsy
        value (the change did not happen); if it returns a truthy value, that value is returned instead of
        the response. Without ``confirm`` such a request is retried only when it provably never left.
        Raises ``MAASError``.
        """
        method = method.upper()
        full_path = self._path(path)
        query = encode_query(op, params)
        target = full_path + ("?" + query if query else "")
        display_url = self._display_url(full_path, op)
        body = None
        headers = self._headers()
        if method in ("POST", "PUT"):
            body, content_type = encode_multipart(form_items(data))
            headers["Content-Type"] = content_type
            headers["Content-Length"] = str(len(body))
        elif data:
            raise ValueError("%s requests carry no form body; pass params instead" % method)
        outcome = self._send(method, target, display_url, headers, body=body, confirm=confirm)
        if isinstance(outcome, Confirmed):
            return outcome.value
        return _decode_body(outcome)

    # -- what differs from the other services -------------------------------------------------------------

    def _confirm_error_kwargs(self, exc):
        return {"maas_message": exc.maas_message}

    def _transport_hint(self, exc):
        if "certificate verification failed" in exc.reason:
            return (". Set ca_path to the CA bundle that signed the MAAS certificate, or validate_certs=false "
                    "to skip verification (insecure)")
        if "WRONG_VERSION_NUMBER" in exc.reason:
            return ". Does the server speak HTTPS on this port?"
        return ""

    def _error_body(self, raw):
        parsed = _decode_body(raw)
        field_errors = None
        if isinstance(parsed, dict):
            field_errors = parsed
            maas_message = flatten_maas_errors(parsed)
        elif parsed is None or (isinstance(parsed, str) and not parsed.strip()):
            maas_message = ""
        else:
            maas_message = parsed if isinstance(parsed, str) else json.dumps(parsed, sort_keys=True)
        return maas_message, {"maas_message": self._scrub(_clip(maas_message)), "field_errors": field_errors}

    # -- conveniences -------------------------------------------------------------------------------------

    def get(self, path, op=None, params=None):
        """GET ``path`` (relative to the API base); always retried on transient failures."""
        return self.request("GET", path, op=op, params=params)

    def get_or_none(self, path, op=None, params=None):
        """GET ``path``; None when MAAS answers 404 (the object does not exist)."""
        try:
            return self.get(path, op=op, params=params)
        except MAASError as exc:
            if exc.status == 404:
                return None
            raise

    def post(self, path, op=None, data=None, confirm=None):
        """POST a form to ``path``; see ``request`` for how ``confirm`` makes a retry safe."""
        return self.request("POST", path, op=op, data=data, confirm=confirm)

    def put(self, path, data=None, confirm=None):
        """PUT a form to ``path``; see ``request`` for ``confirm``."""
        return self.request("PUT", path, data=data, confirm=confirm)

    def delete(self, path, confirm=None):
        """DELETE ``path``; see ``request`` for ``confirm`` (e.g. a re-read that returns True on 404)."""
        return self.request("DELETE", path, confirm=confirm)

    def version(self):
        """``GET version/``: ``{"version", "subversion", "capabilities"}``."""
        return self.get("version/")

    def whoami(self):
        """``GET users/?op=whoami``: the user the API key belongs to; a cheap credentials check."""
        return self.get("users/", op="whoami")

    def get_machine(self, system_id):
        """``GET machines/{system_id}/``: one machine as MAAS represents it."""
        return self.get("machines/%s/" % system_id)

    def machine_op(self, system_id, op, data=None, took_effect=None, before=None):
        """POST ``machines/{system_id}/?op=<op>`` and return the machine MAAS sends back.

        ``took_effect(machine)`` says, from a fresh ``GET`` of the machine, whether the op already happened
        (e.g. ``lambda m: m["status_name"] in ("Deploying", "Deployed", "Failed deployment")``). With it, an
        attempt lost to a reset or a 502/503/504 is checked and resent only if the machine shows no sign of
        it, so the op reaches MAAS at most once in effect; without it such failures raise ``MAASError``.
        When the check shows the op took effect, the re-read machine is returned.

        ``before`` is the machine as the caller last saw it. When the re-read shows it moved (another status or
        owner) without the op having taken effect, MAAS acted on part of the request (a deploy that allocated the
        machine, then failed to power it on): the op is not resent, and the ``MAASError`` carries the re-read
        machine as ``moved``.
        """
        confirm = None
        if took_effect is not None:
            def confirm():
                machine = self.get_machine(system_id)
                if took_effect(machine):
                    return machine
                if before is not None and machine_moved(before, machine):
                    return Moved(machine, "the state check shows MAAS acted on it: the machine went from %s to %s, so "
                                          "it was not sent again" % (describe_state(before), describe_state(machine)))
                return None
        return self.post("machines/%s/" % system_id, op=op, data=data, confirm=confirm)


def describe_state(machine):
    """``Allocated (owner admin)`` or ``Ready (no owner)``: a machine's status and owner, for messages."""
    owner = machine.get("owner") if isinstance(machine, dict) else None
    return "%s (%s)" % (status_name(machine) or "an unknown status", "owner %s" % owner if owner else "no owner")


def machine_moved(before, after):
    """Whether a machine's status or owner differs between two reads of it."""
    return status_name(before) != status_name(after) or (before or {}).get("owner") != (after or {}).get("owner")


def status_name(machine):
    """The machine's status label (``Deployed``), from ``status_name`` or the numeric ``status``; None if unknown."""
    if not isinstance(machine, dict):
        return None
    return machine.get("status_name") or NODE_STATUS.get(machine.get("status"))


def status_in(*names):
    """Predicate for ``machine_op``: the machine's ``status_name`` (or numeric ``status``) is one of ``names``."""
    wanted = frozenset(names)

    def predicate(machine):
        return status_name(machine) in wanted
    return predicate


def maas_argument_spec():
    """Connection options shared by every MAAS module (documented once in the ``gough.gough.maas`` fragment)."""
    return connection_argument_spec("api_key", "MAAS_URL", "MAAS_API_KEY", "MAAS_VALIDATE_CERTS", "MAAS_CA_PATH")


def commissioning_argument_spec():
    """The commission operation's options (documented once in the ``gough.gough.maas.commissioning`` fragment)."""
    return dict(
        enable_ssh=dict(type="bool", default=False),
        skip_networking=dict(type="bool", default=False),
        skip_storage=dict(type="bool", default=False),
        commissioning_scripts=dict(type="list", elements="str"),
        testing_scripts=dict(type="list", elements="str"),
    )


def commission_form(params):
    """MAAS's ``op=commission`` form from the commissioning options and ``comment``: script lists comma-joined, an
    empty testing list sent as ``none`` (no tests), an unset one left out (MAAS's default tests)."""
    form = {"enable_ssh": params["enable_ssh"], "skip_networking": params["skip_networking"],
            "skip_storage": params["skip_storage"]}
    if params.get("comment"):
        form["comment"] = params["comment"]
    if params["commissioning_scripts"]:
        form["commissioning_scripts"] = ",".join(params["commissioning_scripts"])
    if params["testing_scripts"] is not None:
        form["testing_scripts"] = ",".join(params["testing_scripts"]) or "none"
    return form


def client_from_module(module, **overrides):
    """Build a ``MAASClient`` from an ``AnsibleModule``'s connection options; bad options end in ``fail_json``.

    For modules not yet on ``GoughModule`` (which builds its client itself). A malformed key fails naming the field
    ``api_key`` (never showing it); a bad URL names ``url``.
    """
    from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput, connect
    try:
        return connect("maas", module.params, **overrides)
    except BadInput as exc:
        module.fail_json(msg=str(exc), field=exc.field)
    except MAASError as exc:
        module.fail_json(msg=str(exc), **exc.details())


def client_from_params(params, **overrides):
    """Build a ``MAASClient`` from validated connection options (``maas_argument_spec`` names), with defaults
    for the ones left unset; for controller-side code such as action plugins. Raises ``MAASError``."""
    return MAASClient(**connection_options(params, "api_key", overrides))
