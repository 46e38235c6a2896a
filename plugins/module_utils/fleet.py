# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client for the Fleet (FleetDM) REST API v1, shared by every ``gough.gough.fleet_*`` module.

One ``FleetClient`` per Fleet server; safe to share between threads. It sends ``Authorization: Bearer <token>``
with JSON bodies, verifies TLS by default (``ca_path`` for a private CA), retries transient failures through
``http_retry`` (a state change is resent only after a caller-supplied check shows it did not happen), and turns
every failure into ``FleetError``: Fleet's error body (``{"message", "errors": [{"name", "reason"}]}``) is parsed
so the message names the field and the reason. The token never appears in any message.

Runs inside modules, so it imports only the standard library and ``ansible.module_utils``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import json
import re
import time

from urllib.parse import quote, urlencode

from ansible_collections.gough.gough.plugins.module_utils.api_client import (
    DEFAULT_RETRIES,
    DEFAULT_TIMEOUT,
    ApiClient,
    ApiError,
    clip as _clip,
    connection_argument_spec,
    connection_options,
    split_base_url,
)
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.http_retry import Confirmed

API_PATH = "/api/v1/fleet/"
DEFAULT_PER_PAGE = 100
# Host lists are what fleets are made of; bigger pages keep a large fleet to a few requests.
HOSTS_PER_PAGE = 500
# A runaway pagination loop (a server that always says has_next_results) must still end.
MAX_PAGES = 10000
USER_AGENT = "gough.gough-fleet-client"


# The host fields the modules return (documented in their RETURN); Fleet sends many more.
HOST_FIELDS = ("id", "hostname", "display_name", "uuid", "hardware_serial", "platform", "os_version",
               "osquery_version", "orbit_version", "status", "seen_time", "last_enrolled_at", "team_id", "team_name",
               "primary_ip")
_TIME_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


class FleetError(ApiError):
    """Any failure talking to Fleet.

    Attributes: ``status`` (HTTP status, or None when no response came back), ``method``, ``url`` (scheme, host,
    port and path only), ``fleet_message`` (Fleet's top-level ``message``), ``errors`` (Fleet's
    ``[{"name", "reason"}]`` list), ``field`` (the first error name that is not ``base``: the field Fleet
    rejected), ``attempts`` and ``reason`` (for connection failures). ``str()`` is the one-line message for the
    user. None of it ever contains the API token.
    """

    def __init__(self, message, status=None, method=None, url=None, fleet_message=None, errors=None, attempts=1,
                 reason=None):
        super(FleetError, self).__init__(message, status=status, method=method, url=url, attempts=attempts,
                                         reason=reason)
        self.fleet_message = fleet_message
        self.errors = errors or []

    @property
    def field(self):
        """Name of the first field Fleet complained about (``base`` errors are not about a field), or None."""
        for error in self.errors:
            name = error.get("name")
            if name and name != "base":
                return name
        return None

    def __repr__(self):
        return "FleetError(%r, status=%r)" % (self.message, self.status)

    def details(self):
        """Extra keys for ``fail_json``: HTTP status, method, URL and Fleet's field errors (nothing secret)."""
        result = super(FleetError, self).details()
        if self.errors:
            result["fleet_errors"] = self.errors
        return result


def normalize_base_url(url):
    """Return the API v1 base (ending ``/api/v1/fleet/``) for ``https://host[:port][/prefix]``.

    The Fleet root and the API base itself are both accepted. Credentials, query strings and fragments are refused.
    """
    example = "expected something like https://fleet.example.com:8080"
    scheme, netloc, path = split_base_url(
        url, FleetError, "Fleet", example, "api_token",
        "The Fleet URL must start with https:// (or http://) and name a host; %s." % example)
    for suffix in ("/api/v1/fleet", "/api/latest/fleet", "/api/v1", "/api"):
        if path.endswith(suffix):
            path = path[:-len(suffix)]
            break
    return "%s://%s%s%s" % (scheme, netloc, path, API_PATH)


def parse_time(value):
    """An aware ``datetime`` from Fleet's RFC 3339 times (``2026-01-05T10:01:12.123456789Z``) or epoch seconds.

    Returns None for empty values and Go's zero time (``0001-01-01T00:00:00Z``, "never"); raises ``ValueError``
    for anything else it cannot read. A time without a zone is taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    text = str(value).strip()
    if re.match(r"^\d+(\.\d+)?$", text):
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    match = _TIME_RE.match(text)
    if not match:
        raise ValueError("%r is not an ISO 8601 / RFC 3339 time such as 2026-01-05T10:01:12Z" % text)
    date, clock, fraction, zone = match.groups()
    # Go writes nanoseconds; datetime takes at most microseconds.
    micro = int(((fraction or ".0")[1:] + "000000")[:6])
    parsed = datetime.datetime.strptime("%s %s" % (date, clock), "%Y-%m-%d %H:%M:%S").replace(microsecond=micro)
    if parsed.year <= 1:
        return None
    if not zone or zone == "Z":
        offset = datetime.timedelta(0)
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return parsed.replace(tzinfo=datetime.timezone(offset))


def host_summary(host):
    """The documented subset of a Fleet host (``HOST_FIELDS``); ``{}`` for None."""
    if not host:
        return {}
    return dict((field, host.get(field)) for field in HOST_FIELDS)


def _query_items(params):
    items = []
    for name, value in sorted((params or {}).items()):
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        items.append((name, str(value)))
    return items


def _decode_body(raw):
    """Parse a response body: JSON when it parses, text otherwise, None when empty."""
    if not raw.body:
        return None
    text = raw.body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def describe_fleet_errors(body):
    """``(message, errors)`` from a Fleet error body; ``errors`` are rendered as ``name: reason``."""
    if not isinstance(body, dict):
        return (_clip(body) if isinstance(body, str) else ""), []
    errors = [e for e in body.get("errors") or [] if isinstance(e, dict)]
    message = body.get("message") or body.get("error") or ""
    return str(message), [{"name": str(e.get("name") or "base"), "reason": str(e.get("reason") or "")}
                          for e in errors]


class FleetClient(ApiClient):
    """Token-authenticated, retrying access to one Fleet server's REST API v1.

    ``url`` is the Fleet root (``https://fleet.example.com``) or the API base; ``api_token`` the token of an
    API-only user (``fleetctl user create --api-only``) or a session token. ``ca_path`` is a PEM bundle to trust
    instead of the system store; ``validate_certs=False`` skips verification (labs only). ``retries`` extra
    attempts are made on transient failures with capped exponential backoff and jitter. ``timeout`` bounds every
    socket operation of a request, in seconds.
    """

    error_class = FleetError
    service = "Fleet"
    user_agent = USER_AGENT
    credential_name = "API token"
    forbidden_reason = "the API user's role does not allow it"

    def __init__(self, url, api_token, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, backoff_base=0.5, backoff_cap=10.0, retry_after_cap=60.0, jitter=0.5,
                 sleep=time.sleep):
        if not isinstance(api_token, str) or not api_token.strip():
            raise FleetError("The Fleet API token is empty; set api_token or FLEET_API_TOKEN.")
        self._token = api_token.strip()
        if any(c.isspace() or ord(c) < 32 for c in self._token):
            raise FleetError("The Fleet API token contains whitespace or control characters.")
        api_url = normalize_base_url(url)
        self.ca_path = ca_path
        self._connect(api_url, validate_certs, ca_path, timeout, retries, backoff_base, backoff_cap, retry_after_cap,
                      jitter, sleep)

    # -- the request loop ---------------------------------------------------------------------------------

    def _path(self, path):
        path = (path or "").lstrip("/")
        if ("/" + path).startswith(self._base_path):
            path = ("/" + path)[len(self._base_path):]
        return self._under_base(path)

    def _secrets(self):
        return (self._token,)

    def authorization_header(self):
        """The ``Authorization`` value: the bearer token."""
        return "Bearer " + self._token

    def request(self, method, path, params=None, body=None, confirm=None):
        """Send one API request; return the parsed JSON body (``{}`` for an empty one). Raises ``FleetError``.

        ``path`` is relative to ``/api/v1/fleet/``; ``params`` go in the query string; ``body`` is sent as JSON.
        GETs are retried on transient failures. A POST, PATCH or DELETE whose attempt may have reached Fleet is
        resent only if ``confirm`` is given and, called after the backoff, returns a falsy value (the change did
        not happen); a truthy value is returned instead of the response.
        """
        method = method.upper()
        full_path = self._path(path)
        query = urlencode(_query_items(params))
        target = full_path + ("?" + query if query else "")
        display_url = self._origin + full_path
        headers = self._headers()
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
            headers["Content-Length"] = str(len(payload))
        elif method in ("POST", "PATCH", "PUT"):
            headers["Content-Length"] = "0"
        outcome = self._send(method, target, display_url, headers, body=payload, confirm=confirm)
        if isinstance(outcome, Confirmed):
            return outcome.value
        decoded = _decode_body(outcome)
        return {} if decoded is None else decoded

    # -- what differs from the other services -------------------------------------------------------------

    def _ca_error(self, ca_path, reason):
        return FleetError("Cannot load the CA certificate ca_path=%s: %s." % (ca_path, reason))

    def _transport_message(self, method, display_url, exc):
        reason = exc.reason
        if "certificate verification failed" in reason:
            detail = reason[reason.find("(") + 1:reason.rfind(")")] if "(" in reason else reason
            return ("Cannot connect to Fleet at %s: certificate verify failed (%s); check ca_path (%s): it must be "
                    "the CA certificate that signed Fleet's server certificate, for the host name in url"
                    % (self._origin, detail, self.ca_path or "not set, so the system trust store was used"))
        return super(FleetClient, self)._transport_message(method, display_url, exc)

    def _connect_failure_message(self, method, display_url, reason):
        message = "Cannot connect to Fleet at %s (%s %s): %s" % (self._origin, method, display_url, reason)
        if reason == "connection refused":
            message += "; is Fleet running and is url right?"
        elif "WRONG_VERSION_NUMBER" in reason:
            message += "; does the server speak HTTPS on this port?"
        return message

    def _unauthorized_message(self, display_url, said):
        return (super(FleetClient, self)._unauthorized_message(display_url, said)
                + "; check api_token (FLEET_API_TOKEN)")

    def _error_body(self, raw):
        fleet_message, errors = describe_fleet_errors(_decode_body(raw))
        said = "; ".join(("%s: %s" % (e["name"], e["reason"])) if e["name"] != "base" else e["reason"]
                         for e in errors if e["reason"])
        if fleet_message and fleet_message not in said:
            said = fleet_message + (" (%s)" % said if said else "")
        return said, {"fleet_message": self._scrub(fleet_message), "errors": errors}

    # -- conveniences -------------------------------------------------------------------------------------

    def get(self, path, params=None):
        """GET ``path``; always retried on transient failures."""
        return self.request("GET", path, params=params)

    def post(self, path, body=None, confirm=None):
        """POST JSON ``body`` to ``path``; see ``request`` for ``confirm``."""
        return self.request("POST", path, body=body, confirm=confirm)

    def patch(self, path, body=None, confirm=None):
        """PATCH ``path`` with JSON ``body``; see ``request`` for ``confirm``."""
        return self.request("PATCH", path, body=body, confirm=confirm)

    def delete(self, path, confirm=None):
        """DELETE ``path``; see ``request`` for ``confirm``."""
        return self.request("DELETE", path, confirm=confirm)

    def get_or_none(self, path, params=None):
        """GET ``path``; None when Fleet answers 404."""
        try:
            return self.get(path, params=params)
        except FleetError as exc:
            if exc.status == 404:
                return None
            raise

    def paginate(self, path, key, params=None, per_page=DEFAULT_PER_PAGE):
        """Every item of list ``key`` of a paginated endpoint, following ``page``/``per_page`` (0-based pages).

        Stops when ``meta.has_next_results`` is false or, without ``meta``, when a page is shorter than
        ``per_page``.
        """
        items = []
        query = dict(params or {})
        query["per_page"] = per_page
        for page in range(MAX_PAGES):
            query["page"] = page
            body = self.get(path, params=query) or {}
            chunk = body.get(key) or []
            items.extend(chunk)
            meta = body.get("meta")
            if isinstance(meta, dict) and "has_next_results" in meta:
                if not meta["has_next_results"]:
                    break
            elif len(chunk) < per_page:
                break
        return items

    # -- the endpoints the modules use --------------------------------------------------------------------

    def version(self):
        """``GET version``: Fleet's version and build."""
        return self.get("version")

    def me(self):
        """``GET me``: the user the token belongs to; a cheap credentials check."""
        return self.get("me").get("user") or {}

    def list_teams(self, query=None):
        """Every team (``GET teams``), optionally filtered by Fleet's name search."""
        return self.paginate("teams", "teams", params={"query": query})

    def find_team(self, name):
        """The team named exactly ``name`` or None."""
        for team in self.list_teams(query=name):
            if team.get("name") == name:
                return team
        return None

    def team_id(self, name):
        """ID of team ``name``; raises ``FleetError`` (field ``team``) when Fleet has no such team."""
        team = self.find_team(name)
        if team is None:
            raise FleetError("team: Fleet has no team named %r; create it first (gough.gough.fleet_team)." % name,
                             status=404, errors=[{"name": "team", "reason": "no team named %r" % name}])
        return team["id"]

    def list_hosts(self, **filters):
        """Every host matching Fleet's list filters (``query``, ``team_id``, ``status``, ``populate_policies``...).

        Pages of HOSTS_PER_PAGE: a fleet of a thousand hosts takes two or three requests.
        """
        return self.paginate("hosts", "hosts", params=filters, per_page=HOSTS_PER_PAGE)

    def get_host(self, host_id):
        """Host ``host_id`` or None."""
        body = self.get_or_none("hosts/%d" % int(host_id))
        return None if body is None else body.get("host")

    def get_host_by_identifier(self, identifier):
        """The host whose hostname, UUID or hardware serial is ``identifier`` (Fleet's first match), or None."""
        body = self.get_or_none("hosts/identifier/%s" % quote(str(identifier), safe=""))
        return None if body is None else body.get("host")

    def delete_host(self, host_id):
        """Delete host ``host_id``; a lost answer is confirmed by re-reading (gone means done)."""
        self.delete("hosts/%d" % int(host_id), confirm=lambda: self.get_host(host_id) is None)

    def transfer_hosts(self, team_id, host_ids):
        """Move hosts to team ``team_id`` (None: no team)."""
        wanted = set(int(h) for h in host_ids)

        def moved():
            return all((self.get_host(h) or {}).get("team_id") == team_id for h in wanted)
        self.post("hosts/transfer", body={"team_id": team_id, "hosts": sorted(wanted)}, confirm=moved)

    def enroll_secrets(self, team_id=None):
        """The enroll secrets of the global scope (``team_id`` None) or of a team: list of ``{secret, created_at}``."""
        if team_id is None:
            body = self.get("spec/enroll_secret")
            return ((body.get("spec") or {}).get("secrets")) or []
        return self.get("teams/%d/secrets" % int(team_id)).get("secrets") or []

    def set_enroll_secrets(self, secrets, team_id=None):
        """Replace every enroll secret of the scope with ``secrets`` (list of strings); an empty list removes all."""
        wanted = sorted(secrets)

        def took_effect():
            return sorted(s.get("secret") for s in self.enroll_secrets(team_id)) == wanted
        items = [{"secret": s} for s in secrets]
        if team_id is None:
            self.post("spec/enroll_secret", body={"spec": {"secrets": items}}, confirm=took_effect)
        else:
            self.patch("teams/%d/secrets" % int(team_id), body={"secrets": items}, confirm=took_effect)

    def policies_path(self, team_id=None):
        """Collection path of the global policies or of a team's."""
        return "global/policies" if team_id is None else "teams/%d/policies" % int(team_id)

    def list_policies(self, team_id=None):
        """The policies of the global scope or of a team (a team's own, not the inherited global ones)."""
        return self.get(self.policies_path(team_id)).get("policies") or []


def fleet_argument_spec():
    """Connection options shared by every Fleet module (documented once in the ``gough.gough.fleet`` fragment)."""
    return connection_argument_spec("api_token", "FLEET_URL", "FLEET_API_TOKEN", "FLEET_VALIDATE_CERTS",
                                    "FLEET_CA_CERT")


def client_from_params(params, **overrides):
    """Build a ``FleetClient`` from connection options (``fleet_argument_spec`` names). Raises ``FleetError``."""
    return FleetClient(**connection_options(params, "api_token", overrides))


def client_from_module(module, **overrides):
    """Build a ``FleetClient`` from an ``AnsibleModule``'s connection options; bad options end in ``fail_json`` naming
    them. For modules not yet on ``GoughModule`` (which builds its client itself)."""
    from ansible_collections.gough.gough.plugins.module_utils.gough_module import connect
    try:
        return connect("fleet", module.params, **overrides)
    except BadInput as exc:
        module.fail_json(msg=str(exc), field=exc.field)


def resolve_team(client, name):
    """``(team_id, team_name)`` for team ``name``; ``(None, None)`` for the global scope (``name`` None or empty).

    Raises ``BadInput`` naming the option ``team`` when Fleet has no such team.
    """
    if not name:
        return None, None
    team = client.find_team(name)
    if team is None:
        raise BadInput("team", "Fleet has no team named %r; create it first (gough.gough.fleet_team)." % name)
    return team["id"], name
