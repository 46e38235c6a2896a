"""The Fleet REST API v1 (``/api/v1/fleet/...``, also ``/api/latest/fleet/...``): routes and handlers.

Newer Fleet names teams "fleets" and queries "reports": ``/fleets/...`` and ``/reports/...`` paths and the
``fleet_id`` parameter are accepted as aliases (sending both ``team_id`` and ``fleet_id`` is an error), and team
responses carry both keys (``team``/``fleet``, ``team_id``/``fleet_id``).
"""

import re
import time
from urllib.parse import unquote

from .errors import bad_request, FleetError, forbidden, not_found, validation
from .model import host_status
from .service import VERSION

PREFIXES = ("/api/v1/fleet/", "/api/latest/fleet/")
DEFAULT_PER_PAGE = 1000000
ROUTES = []


def route(method, pattern, auth=True, write=None):
    """Register a handler for ``method`` on the path ``pattern`` (a regex, relative to /api/v1/fleet/)."""
    def register(func):
        ROUTES.append((method, re.compile("^" + pattern + "$"), pattern, func, auth,
                       method != "GET" if write is None else write))
        return func
    return register


class Request:  # pylint: disable=too-few-public-methods,too-many-instance-attributes
    """One REST call as the handlers see it."""

    def __init__(self, fleet, method, params, body, session, groups, alias, base_url):
        """Keep what a handler needs."""
        self.fleet = fleet
        self.method = method
        self.params = params
        self.body = body
        self.session = session
        self.groups = groups
        self.alias = alias
        self.base_url = base_url

    def json(self, required=True):
        """The JSON object body (400 when a required body is missing or not an object)."""
        if self.body is None:
            if required:
                raise bad_request("Expected JSON Body")
            return {}
        if not isinstance(self.body, dict):
            raise bad_request("Expected JSON Body")
        return self.body

    def int_group(self, index=0):
        """A numeric path segment."""
        return int(self.groups[index])

    def int_param(self, name, default=None):
        """An integer query parameter (400 naming it when it is not one)."""
        value = self.params.get(name)
        if value in (None, ""):
            return default
        try:
            return int(value)
        except ValueError:
            raise bad_request("invalid %s: %s" % (name, value), name=name) from None

    def team_param(self, source=None):
        """(present, team id or None) of ``team_id`` / its alias ``fleet_id`` in the query or ``source``."""
        source = self.params if source is None else source
        if "team_id" in source and "fleet_id" in source:
            raise bad_request('cannot specify both "team_id" and "fleet_id"', name="fleet_id")
        key = "fleet_id" if "fleet_id" in source else "team_id"
        if key not in source:
            return False, None
        value = source[key]
        if value is None or (isinstance(value, int) and not isinstance(value, bool)):
            return True, value
        try:
            return True, int(value)
        except (TypeError, ValueError):
            raise bad_request("invalid %s: %s" % (key, value), name=key) from None


def paginate(request, items, default_key="id"):
    """Sort and page a list of JSON documents; returns (page, meta)."""
    page = request.int_param("page", 0)
    per_page = request.int_param("per_page", DEFAULT_PER_PAGE)
    if page < 0:
        raise bad_request("page must not be negative", name="page")
    if per_page <= 0:
        raise bad_request("per_page must be positive", name="per_page")
    key = request.params.get("order_key") or default_key
    direction = request.params.get("order_direction") or "asc"
    if direction not in ("asc", "desc"):
        raise bad_request("unknown order_direction: %s" % direction, name="order_direction")
    if items and key not in items[0]:
        raise bad_request("invalid order_key: %s" % key, name="order_key")

    def sort_key(doc):
        value = doc.get(key)
        return (value is None, value if isinstance(value, (int, float)) else str(value or "").lower(), doc.get("id", 0))
    items = sorted(items, key=sort_key, reverse=direction == "desc")
    after = request.params.get("after")
    if after not in (None, ""):
        # Keyset pagination: the items whose order_key value comes after ``after`` in the chosen direction.
        if not request.params.get("order_key"):
            raise bad_request("after requires order_key", name="after")

        def beyond(doc):
            value = doc.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                try:
                    mark = float(after)
                except ValueError:
                    raise bad_request("invalid after: %s" % after, name="after") from None
            else:
                value, mark = str(value or "").lower(), after.lower()
            return value > mark if direction == "asc" else value < mark
        items = [doc for doc in items if beyond(doc)]
    start = page * per_page
    chunk = items[start:start + per_page]
    return chunk, {"has_next_results": start + per_page < len(items), "has_previous_results": page > 0}


def dispatch(fleet, method, path, params, body, auth_header, base_url, info=None):
    """Run one REST call; returns (status, JSON document, route key, is_write).

    ``info`` (a dict) gets "route" and "write" as soon as the route is known, also when the call then fails.
    """
    info = {} if info is None else info
    relative = None
    for prefix in PREFIXES:
        if path.startswith(prefix):
            relative = path[len(prefix):].rstrip("/")
            break
    if relative is None:
        raise FleetError(404, "Resource Not Found", "no API endpoint at %s" % path)
    segments = relative.split("/")
    alias = False
    if segments and segments[0] in ("fleets", "reports"):
        segments[0] = {"fleets": "teams", "reports": "queries"}[segments[0]]
        alias = True
    relative = "/".join(segments)
    allowed = []
    for route_method, regex, pattern, func, auth, write in ROUTES:
        match = regex.match(relative)
        if not match:
            continue
        if route_method != method:
            allowed.append(route_method)
            continue
        info.update(route="%s %s" % (method, pattern), write=write)
        session = fleet.authenticate(auth_header) if auth else None
        request = Request(fleet, method, params, body, session, tuple(unquote(g) for g in match.groups()), alias,
                          base_url)
        # Handlers run under the state lock (a live query's wait releases it while it waits for the hosts).
        with fleet.lock:
            status, doc = func(request)
        if alias and isinstance(doc, dict):
            if "team" in doc:
                doc["fleet"] = doc["team"]
            if "teams" in doc:
                doc["fleets"] = doc["teams"]
        return status, doc, "%s %s" % (method, pattern), write
    if allowed:
        raise FleetError(405, "Method Not Allowed", "%s is not allowed here; use %s" % (method, ", ".join(sorted(set(allowed)))),
                         headers={"Allow": ", ".join(sorted(set(allowed)))})
    raise FleetError(404, "Resource Not Found", "no API endpoint at %s" % path)


# auth, users ------------------------------------------------------------------------------------------------------
@route("POST", "login", auth=False, write=False)
def login(req):
    """POST /login {email, password} -> {user, token}."""
    body = req.json()
    user, token = req.fleet.login(body.get("email"), body.get("password"))
    return 200, {"user": req.fleet.user_json(user), "available_teams": [], "token": token}


@route("POST", "logout", write=False)
def logout(req):
    """POST /logout ends the session."""
    req.fleet.logout(req.session)
    return 200, {}


@route("GET", "me")
def me(req):
    """GET /me -> {user}."""
    return 200, {"user": req.fleet.user_json(req.session.user), "available_teams": []}


@route("GET", "version")
def version(_req):
    """GET /version."""
    return 200, dict(VERSION)


@route("GET", "config")
def app_config(req):
    """GET /config: the parts of Fleet's app config a client reads."""
    return 200, {"org_info": {"org_name": "Gough lab", "org_logo_url": ""},
                 "server_settings": {"server_url": req.base_url, "live_query_disabled": False,
                                     "enable_analytics": False},
                 "agent_options": req.fleet.store.get_meta("agent_options"),
                 "features": {"enable_host_users": False, "enable_software_inventory": False},
                 "webhook_settings": req.fleet.webhook_settings(),
                 "license": {"tier": "premium"}}


@route("PATCH", "config")
def modify_app_config(req):
    """PATCH /config: a global admin changes the app config (here: webhook_settings); answers the new config."""
    req.fleet.require_write(req.session, admin=True)
    req.fleet.update_app_config(req.json())
    return app_config(req)


@route("POST", "users/admin")
def create_user(req):
    """POST /users/admin: create a user (API-only users get a token in the response)."""
    req.fleet.require_write(req.session, admin=True)
    user, token = req.fleet.create_user(req.json())
    doc = {"user": req.fleet.user_json(user)}
    if token:
        doc["token"] = token
    return 200, doc


@route("GET", "users")
def list_users(req):
    """GET /users."""
    req.fleet.require_read(req.session)
    users = [req.fleet.user_json(u) for u in req.fleet.users.values()]
    users, _meta = paginate(req, users)
    return 200, {"users": users}


@route("GET", r"users/(\d+)")
def get_user(req):
    """GET /users/:id."""
    user = req.fleet.get_user(req.int_group())
    if user["id"] != req.session.user["id"]:
        req.fleet.require_read(req.session)
    return 200, {"user": req.fleet.user_json(user), "available_teams": []}


@route("PATCH", r"users/(\d+)")
def update_user(req):
    """PATCH /users/:id."""
    req.fleet.require_write(req.session, admin=True)
    return 200, {"user": req.fleet.user_json(req.fleet.update_user(req.int_group(), req.json()))}


@route("DELETE", r"users/(\d+)")
def delete_user(req):
    """DELETE /users/:id."""
    req.fleet.require_write(req.session, admin=True)
    if req.int_group() == req.session.user["id"]:
        raise forbidden("cannot delete your own user")
    req.fleet.delete_user(req.int_group())
    return 200, {}


# enroll secrets ---------------------------------------------------------------------------------------------------
@route("GET", "spec/enroll_secret")
def get_secrets(req):
    """GET /spec/enroll_secret."""
    req.fleet.require_write(req.session)
    return 200, {"spec": {"secrets": req.fleet.global_secrets()}}


@route("POST", "spec/enroll_secret")
def apply_secrets(req):
    """POST /spec/enroll_secret {spec: {secrets: [...]}} replaces every global secret."""
    req.fleet.require_write(req.session)
    spec = req.json().get("spec")
    if not isinstance(spec, dict):
        raise validation("spec", "spec is required")
    items = spec.get("secrets")
    if items is None:
        items = []
    dry_run = str(req.params.get("dry_run", "")).lower() in ("1", "true")
    req.fleet.replace_global_secrets(items, dry_run=dry_run)
    return 200, {}


# teams ------------------------------------------------------------------------------------------------------------
def _visible_team(req, team_id):
    team = req.fleet.get_team(team_id)
    req.fleet.require_read(req.session, team_id)
    return team


@route("GET", "teams")
def list_teams(req):
    """GET /teams (query, pagination)."""
    visible = req.fleet.visible_team_ids(req.session)
    teams = [req.fleet.team_json(t) for t in req.fleet.teams.values() if visible is None or t["id"] in visible]
    query = (req.params.get("query") or "").lower()
    if query:
        teams = [t for t in teams if query in t["name"].lower()]
    teams, meta = paginate(req, teams, default_key="name")
    return 200, {"teams": teams, "meta": meta}


@route("POST", "teams")
def create_team(req):
    """POST /teams {name, description} -> {team}."""
    req.fleet.require_write(req.session, admin=True)
    return 200, {"team": req.fleet.team_json(req.fleet.create_team(req.json()))}


@route("GET", r"teams/(\d+)")
def get_team(req):
    """GET /teams/:id."""
    return 200, {"team": req.fleet.team_json(_visible_team(req, req.int_group()))}


@route("PATCH", r"teams/(\d+)")
def update_team(req):
    """PATCH /teams/:id."""
    team_id = req.int_group()
    req.fleet.get_team(team_id)
    req.fleet.require_write(req.session, team_id, admin=True)
    return 200, {"team": req.fleet.team_json(req.fleet.update_team(team_id, req.json()))}


@route("DELETE", r"teams/(\d+)")
def delete_team(req):
    """DELETE /teams/:id."""
    req.fleet.get_team(req.int_group())
    req.fleet.require_write(req.session, admin=True)
    req.fleet.delete_team(req.int_group())
    return 200, {}


@route("POST", r"teams/(\d+)/agent_options")
def team_agent_options(req):
    """POST /teams/:id/agent_options (raw agent options)."""
    team_id = req.int_group()
    req.fleet.get_team(team_id)
    req.fleet.require_write(req.session, team_id)
    if str(req.params.get("dry_run", "")).lower() in ("1", "true"):
        req.json()
        return 200, {"team": req.fleet.team_json(req.fleet.get_team(team_id))}
    return 200, {"team": req.fleet.team_json(req.fleet.set_team_agent_options(team_id, req.json()))}


@route("GET", r"teams/(\d+)/secrets")
def get_team_secrets(req):
    """GET /teams/:id/secrets."""
    team = req.fleet.get_team(req.int_group())
    req.fleet.require_write(req.session, team["id"])
    return 200, {"secrets": req.fleet.team_secrets(team)}


@route("PATCH", r"teams/(\d+)/secrets")
def set_team_secrets(req):
    """PATCH /teams/:id/secrets {secrets: [...]} replaces the team's secrets."""
    team_id = req.int_group()
    req.fleet.get_team(team_id)
    req.fleet.require_write(req.session, team_id)
    items = req.json().get("secrets")
    team = req.fleet.replace_team_secrets(team_id, [] if items is None else items)
    secrets = req.fleet.team_secrets(team)
    return 200, {"secrets": secrets or None}


# hosts ------------------------------------------------------------------------------------------------------------
def _host_filters(req):
    filters = dict(req.params)
    filters.pop("fleet_id", None)
    present, team_id = req.team_param()
    filters.pop("team_id", None)
    if present:
        filters["team_id"] = team_id
    for name in ("label_id", "policy_id"):
        filters[name] = req.int_param(name)
    return filters


def _readable_host(req, host):
    if host.get("team_id") is None:
        req.fleet.require_read(req.session)
    else:
        req.fleet.require_read(req.session, host["team_id"])
    return host


@route("GET", "hosts")
def list_hosts(req):
    """GET /hosts with status/query/team_id/policy filters and pagination."""
    with req.fleet.lock:
        hosts = req.fleet.filter_hosts(_host_filters(req), req.session)
        full = str(req.params.get("populate_policies", "")).lower() in ("1", "true")
        docs = []
        for host in hosts:
            doc = req.fleet.host_json(host)
            if full:
                doc["policies"] = req.fleet.host_policies(host)
            docs.append(doc)
    docs, meta = paginate(req, docs)
    return 200, {"hosts": docs, "meta": meta}


@route("GET", "hosts/count")
def count_hosts(req):
    """GET /hosts/count (same filters, plus label_id)."""
    with req.fleet.lock:
        return 200, {"count": len(req.fleet.filter_hosts(_host_filters(req), req.session))}


@route("GET", "host_summary")
def host_summary(req):
    """GET /host_summary (team_id)."""
    filters = _host_filters(req)
    with req.fleet.lock:
        hosts = req.fleet.filter_hosts({k: v for k, v in filters.items() if k == "team_id"}, req.session)
        docs = [req.fleet.host_json(h) for h in hosts]
        platforms = {}
        for doc in docs:
            platforms[doc["platform"]] = platforms.get(doc["platform"], 0) + 1
        labels = [{"id": l["id"], "name": l["name"], "description": l.get("description", ""),
                   "label_type": "builtin"} for l in req.fleet.labels.values() if l["label_type"] == "builtin"]
    counts = {s: sum(1 for d in docs if d["status"] == s) for s in ("online", "offline", "mia")}
    new_count = len(req.fleet.filter_hosts({"status": "new"}, req.session))
    return 200, {"team_id": filters.get("team_id"), "totals_hosts_count": len(docs),
                 "online_count": counts["online"], "offline_count": counts["offline"], "mia_count": counts["mia"],
                 "missing_30_days_count": counts["mia"], "new_count": new_count,
                 "all_linux_count": sum(n for p, n in platforms.items() if p in ("linux", "ubuntu", "debian", "rhel",
                                                                                 "centos", "fedora")),
                 "builtin_labels": labels,
                 "platforms": [{"platform": p, "hosts_count": n} for p, n in sorted(platforms.items())]}


@route("GET", r"hosts/(\d+)")
def get_host(req):
    """GET /hosts/:id -> {host} with labels, packs and policies."""
    with req.fleet.lock:
        host = _readable_host(req, req.fleet.get_host(req.int_group()))
        return 200, {"host": req.fleet.host_json(host, full=True)}


@route("GET", r"hosts/identifier/([^/]+)")
def get_host_by_identifier(req):
    """GET /hosts/identifier/:identifier (hostname, uuid, hardware serial, osquery host id or node key)."""
    with req.fleet.lock:
        host = _readable_host(req, req.fleet.host_by_identifier(req.groups[0]))
        return 200, {"host": req.fleet.host_json(host, full=True)}


@route("DELETE", r"hosts/(\d+)")
def delete_host(req):
    """DELETE /hosts/:id."""
    host = req.fleet.get_host(req.int_group())
    req.fleet.require_write(req.session, host.get("team_id"))
    req.fleet.delete_host(host["id"])
    return 200, {}


@route("POST", "hosts/delete")
def delete_hosts(req):
    """POST /hosts/delete {ids} or {filters}."""
    body = req.json()
    ids, filters = body.get("ids"), body.get("filters")
    if ids and filters:
        raise bad_request("Cannot specify a list of ids and filters at the same time")
    if not ids and not filters:
        raise bad_request("Must specify a list of ids or filters")
    with req.fleet.lock:
        if ids:
            req.fleet._check_id_list(ids, "ids")  # pylint: disable=protected-access
            hosts = [req.fleet.hosts[i] for i in ids if i in req.fleet.hosts]
        else:
            if not isinstance(filters, dict):
                raise validation("filters", "must be an object")
            clean = dict(filters)
            present, team_id = req.team_param(filters)
            clean.pop("fleet_id", None)
            clean.pop("team_id", None)
            if present:
                clean["team_id"] = team_id
            hosts = req.fleet.filter_hosts(clean, req.session)
        for host in hosts:
            req.fleet.require_write(req.session, host.get("team_id"))
        for host in hosts:
            req.fleet.delete_host(host["id"])
    return 200, {}


@route("POST", "hosts/transfer")
def transfer_hosts(req):
    """POST /hosts/transfer {team_id, hosts: [ids]} (team_id null = no team)."""
    body = req.json()
    _present, team_id = req.team_param(body)
    req.fleet.require_write(req.session, team_id)
    hosts = body.get("hosts")
    if hosts is None:
        raise validation("hosts", "hosts is required")
    req.fleet.transfer_hosts(team_id, hosts)
    return 200, {}


@route("POST", "hosts/transfer/filter")
def transfer_hosts_by_filter(req):
    """POST /hosts/transfer/filter {team_id, filters}."""
    body = req.json()
    _present, team_id = req.team_param(body)
    req.fleet.require_write(req.session, team_id)
    filters = body.get("filters")
    if not isinstance(filters, dict):
        raise validation("filters", "filters is required")
    clean = dict(filters)
    present, filter_team = req.team_param(filters)
    clean.pop("fleet_id", None)
    clean.pop("team_id", None)
    if present:
        clean["team_id"] = filter_team
    with req.fleet.lock:
        ids = [h["id"] for h in req.fleet.filter_hosts(clean, req.session)]
        req.fleet.transfer_hosts(team_id, ids)
    return 200, {}


@route("POST", r"hosts/(\d+)/refetch")
def refetch_host(req):
    """POST /hosts/:id/refetch."""
    _readable_host(req, req.fleet.get_host(req.int_group()))
    req.fleet.refetch(req.int_group())
    return 200, {}


def _host_query(req, host):
    body = req.json()
    sql = body.get("query")
    if not isinstance(sql, str) or not sql.strip():
        raise validation("query", "query cannot be empty")
    status = host_status(host, req.fleet.config, time.time())
    doc = {"host_id": host["id"], "query": sql, "status": status, "error": None, "rows": None}
    if status != "online":
        doc["error"] = "host is offline"
        return 200, doc
    _targets, results = req.fleet.live_query(sql, [host["id"]])
    result = results.get(host["id"])
    if result is None:
        doc["error"] = "timeout waiting for results"
    else:
        doc["rows"], doc["error"] = result["rows"], result["error"]
    return 200, doc


@route("POST", r"hosts/(\d+)/query", write=False)
def query_host(req):
    """POST /hosts/:id/query {query}: run SQL on one host, bounded wait."""
    return _host_query(req, _readable_host(req, req.fleet.get_host(req.int_group())))


@route("POST", r"hosts/identifier/([^/]+)/query", write=False)
def query_host_by_identifier(req):
    """POST /hosts/identifier/:identifier/query."""
    return _host_query(req, _readable_host(req, req.fleet.host_by_identifier(req.groups[0])))


# labels -----------------------------------------------------------------------------------------------------------
@route("GET", "labels")
def list_labels(req):
    """GET /labels."""
    req.fleet.require_read(req.session)
    with req.fleet.lock:
        labels = [req.fleet.label_json(l) for l in req.fleet.labels.values()]
    labels, _meta = paginate(req, labels)
    return 200, {"labels": labels}


@route("GET", "labels/summary")
def labels_summary(req):
    """GET /labels/summary."""
    req.fleet.require_read(req.session)
    labels = sorted(req.fleet.labels.values(), key=lambda l: l["id"])
    return 200, {"labels": [{"id": l["id"], "name": l["name"], "description": l.get("description", ""),
                             "label_type": l["label_type"]} for l in labels]}


@route("POST", "labels")
def create_label(req):
    """POST /labels {name, query | hosts, description, platform}."""
    req.fleet.require_write(req.session)
    with req.fleet.lock:
        return 200, {"label": req.fleet.label_json(req.fleet.create_label(req.json()))}


@route("GET", r"labels/(\d+)")
def get_label(req):
    """GET /labels/:id."""
    req.fleet.require_read(req.session)
    with req.fleet.lock:
        return 200, {"label": req.fleet.label_json(req.fleet.get_label(req.int_group()))}


@route("PATCH", r"labels/(\d+)")
def update_label(req):
    """PATCH /labels/:id."""
    req.fleet.require_write(req.session)
    with req.fleet.lock:
        return 200, {"label": req.fleet.label_json(req.fleet.update_label(req.int_group(), req.json()))}


@route("GET", r"labels/(\d+)/hosts")
def label_hosts(req):
    """GET /labels/:id/hosts (status/query filters, pagination)."""
    req.fleet.require_read(req.session)
    filters = _host_filters(req)
    filters["label_id"] = req.int_group()
    with req.fleet.lock:
        docs = [req.fleet.host_json(h) for h in req.fleet.filter_hosts(filters, req.session)]
    docs, meta = paginate(req, docs)
    return 200, {"hosts": docs, "meta": meta}


@route("DELETE", r"labels/id/(\d+)")
def delete_label_by_id(req):
    """DELETE /labels/id/:id."""
    req.fleet.require_write(req.session)
    req.fleet.delete_label(req.fleet.get_label(req.int_group()))
    return 200, {}


@route("DELETE", r"labels/([^/]+)")
def delete_label_by_name(req):
    """DELETE /labels/:name."""
    req.fleet.require_write(req.session)
    req.fleet.delete_label(req.fleet.label_by_name(req.groups[0]))
    return 200, {}


# policies ---------------------------------------------------------------------------------------------------------
def _policy_list(req, team_id, merge_inherited=False):
    with req.fleet.lock:
        own = [req.fleet.policy_json(p) for p in req.fleet.policies.values() if p.get("team_id") == team_id]
        inherited = [req.fleet.policy_json(p) for p in req.fleet.policies.values() if p.get("team_id") is None] \
            if team_id is not None else []
    query = (req.params.get("query") or "").lower()
    if query:
        own = [p for p in own if query in p["name"].lower()]
    if merge_inherited:
        own = own + inherited
    own, meta = paginate(req, own)
    doc = {"policies": own, "meta": meta}
    if team_id is not None and not merge_inherited:
        doc["inherited_policies"] = sorted(inherited, key=lambda p: p["id"])
    return 200, doc


@route("GET", "global/policies")
def list_global_policies(req):
    """GET /global/policies."""
    req.fleet.require_read(req.session)
    return _policy_list(req, None)


@route("POST", "global/policies")
def create_global_policy(req):
    """POST /global/policies."""
    req.fleet.require_write(req.session)
    with req.fleet.lock:
        return 200, {"policy": req.fleet.policy_json(req.fleet.create_policy(req.json(), None, req.session.user["id"]))}


@route("GET", r"global/policies/(\d+)")
def get_global_policy(req):
    """GET /global/policies/:id."""
    req.fleet.require_read(req.session)
    with req.fleet.lock:
        return 200, {"policy": req.fleet.policy_json(req.fleet.get_policy(req.int_group(), None))}


@route("PATCH", r"global/policies/(\d+)")
def update_global_policy(req):
    """PATCH /global/policies/:id."""
    req.fleet.require_write(req.session)
    with req.fleet.lock:
        return 200, {"policy": req.fleet.policy_json(req.fleet.update_policy(req.int_group(), None, req.json()))}


@route("POST", "global/policies/delete")
def delete_global_policies(req):
    """POST /global/policies/delete {ids} -> {deleted}."""
    req.fleet.require_write(req.session)
    ids = req.json().get("ids")
    return 200, {"deleted": req.fleet.delete_policies(ids, None)}


@route("GET", "policies/count")
def count_policies(req):
    """GET /policies/count (global policies)."""
    req.fleet.require_read(req.session)
    return 200, {"count": sum(1 for p in req.fleet.policies.values() if p.get("team_id") is None)}


@route("GET", r"teams/(\d+)/policies")
def list_team_policies(req):
    """GET /teams/:id/policies (merge_inherited)."""
    team = _visible_team(req, req.int_group())
    merge = str(req.params.get("merge_inherited", "")).lower() in ("1", "true")
    return _policy_list(req, team["id"], merge)


@route("GET", r"teams/(\d+)/policies/count")
def count_team_policies(req):
    """GET /teams/:id/policies/count."""
    team = _visible_team(req, req.int_group())
    return 200, {"count": sum(1 for p in req.fleet.policies.values() if p.get("team_id") == team["id"])}


@route("POST", r"teams/(\d+)/policies")
def create_team_policy(req):
    """POST /teams/:id/policies."""
    team = req.fleet.get_team(req.int_group())
    req.fleet.require_write(req.session, team["id"])
    with req.fleet.lock:
        policy = req.fleet.create_policy(req.json(), team["id"], req.session.user["id"])
        return 200, {"policy": req.fleet.policy_json(policy)}


@route("GET", r"teams/(\d+)/policies/(\d+)")
def get_team_policy(req):
    """GET /teams/:team_id/policies/:policy_id."""
    team = _visible_team(req, req.int_group())
    with req.fleet.lock:
        return 200, {"policy": req.fleet.policy_json(req.fleet.get_policy(req.int_group(1), team["id"]))}


@route("PATCH", r"teams/(\d+)/policies/(\d+)")
def update_team_policy(req):
    """PATCH /teams/:team_id/policies/:policy_id."""
    team = req.fleet.get_team(req.int_group())
    req.fleet.require_write(req.session, team["id"])
    with req.fleet.lock:
        return 200, {"policy": req.fleet.policy_json(req.fleet.update_policy(req.int_group(1), team["id"], req.json()))}


@route("POST", r"teams/(\d+)/policies/delete")
def delete_team_policies(req):
    """POST /teams/:team_id/policies/delete {ids}."""
    team = req.fleet.get_team(req.int_group())
    req.fleet.require_write(req.session, team["id"])
    return 200, {"deleted": req.fleet.delete_policies(req.json().get("ids"), team["id"])}


# saved queries and live queries -----------------------------------------------------------------------------------
@route("GET", "queries")
def list_queries(req):
    """GET /queries (team_id, query, platform, pagination) -> {queries, meta, count}."""
    present, team_id = req.team_param()
    if present and team_id is not None:
        req.fleet.require_read(req.session, team_id)
    else:
        req.fleet.require_read(req.session)
    with req.fleet.lock:
        docs = [req.fleet.query_json(q) for q in req.fleet.queries.values() if q.get("team_id") == team_id]
    query = (req.params.get("query") or "").lower()
    if query:
        docs = [d for d in docs if query in d["name"].lower() or query in d["query"].lower()]
    platform = req.params.get("platform")
    if platform:
        docs = [d for d in docs if not d["platform"] or platform in d["platform"].split(",")]
    count = len(docs)
    docs, meta = paginate(req, docs, default_key="name")
    return 200, {"queries": docs, "meta": meta, "count": count}


@route("POST", "queries")
def create_query(req):
    """POST /queries."""
    body = req.json()
    _present, team_id = req.team_param(body)
    req.fleet.require_write(req.session, team_id)
    with req.fleet.lock:
        return 200, {"query": req.fleet.query_json(req.fleet.create_query(body, team_id, req.session.user["id"]))}


@route("GET", r"queries/(\d+)")
def get_query(req):
    """GET /queries/:id."""
    query = req.fleet.get_query(req.int_group())
    req.fleet.require_read(req.session, query.get("team_id"))
    return 200, {"query": req.fleet.query_json(query)}


@route("PATCH", r"queries/(\d+)")
def update_query(req):
    """PATCH /queries/:id."""
    query = req.fleet.get_query(req.int_group())
    req.fleet.require_write(req.session, query.get("team_id"))
    return 200, {"query": req.fleet.query_json(req.fleet.update_query(query["id"], req.json()))}


@route("DELETE", r"queries/id/(\d+)")
def delete_query_by_id(req):
    """DELETE /queries/id/:id."""
    query = req.fleet.get_query(req.int_group())
    req.fleet.require_write(req.session, query.get("team_id"))
    req.fleet.delete_query(query["id"])
    return 200, {}


@route("POST", "queries/delete")
def delete_queries(req):
    """POST /queries/delete {ids} -> {deleted}."""
    ids = req.json().get("ids")
    req.fleet._check_id_list(ids, "ids")  # pylint: disable=protected-access
    with req.fleet.lock:
        queries = [req.fleet.get_query(i) for i in ids]
        for query in queries:
            req.fleet.require_write(req.session, query.get("team_id"))
        for query in queries:
            req.fleet.delete_query(query["id"])
    return 200, {"deleted": len(queries)}


@route("DELETE", r"queries/([^/]+)")
def delete_query_by_name(req):
    """DELETE /queries/:name (team_id selects the team's query)."""
    name = req.groups[0]
    _present, team_id = req.team_param()
    with req.fleet.lock:
        query = next((q for q in req.fleet.queries.values() if q["name"] == name and q.get("team_id") == team_id), None)
        if query is None:
            raise not_found("Query", name, key="name")
        req.fleet.require_write(req.session, team_id)
        req.fleet.delete_query(query["id"])
    return 200, {}


@route("POST", r"queries/(\d+)/run", write=False)
def run_query(req):
    """POST /queries/:id/run {host_ids}: a live query, answered by the hosts at their next check-in (bounded)."""
    query = req.fleet.get_query(req.int_group())
    req.fleet.require_read(req.session, query.get("team_id"))
    host_ids = req.json().get("host_ids")
    if not isinstance(host_ids, list) or not host_ids:
        raise validation("host_ids", "at least one host id is required")
    req.fleet._check_id_list(host_ids, "host_ids")  # pylint: disable=protected-access
    targets, results = req.fleet.live_query(query["query"], host_ids)
    return 200, {"query_id": query["id"], "targeted_host_count": len(targets), "responded_host_count": len(results),
                 "results": [{"host_id": host_id, "rows": results[host_id]["rows"], "error": results[host_id]["error"]}
                             for host_id in targets if host_id in results]}
