"""The MAAS 2.0 API surface: handlers, their actions, URL routing and the ``describe/`` document.

Each handler is declared once with MAAS's class name, URL template and parameter placeholders; the same table
drives dispatch and ``describe/``, so python-libmaas sees exactly what the emulator serves.
"""

import hashlib
import json
import re

from .errors import APIError, bad_request

JSON_TYPE = "application/json; charset=utf-8"
API_PREFIX = "/MAAS/api/2.0/"
RESTFUL = {"GET": "read", "POST": "create", "PUT": "update", "DELETE": "delete"}


class Reply:
    """A response: status, body bytes, content type and extra headers."""

    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status=200, body=b"", content_type=JSON_TYPE, headers=None):
        """Build a reply; ``body`` may be str or bytes."""
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.content_type = content_type
        self.headers = headers or {}


def json_reply(data, status=200):
    """A JSON reply."""
    return Reply(status, json.dumps(data).encode())


class Call:  # pylint: disable=too-many-instance-attributes
    """One API request as a handler sees it."""

    def __init__(self, region, user, method, op, params, args, base_url):
        """Bundle what a handler needs: who calls, what, with which fields and URL arguments."""
        self.region = region
        self.user = user
        self.method = method
        self.op = op
        self.params = params
        self.args = args
        self.base_url = base_url
        self.touched = []

    def touch(self, system_id, op):
        """Note that this request acted on a machine (for /_lab/stats machine_ops)."""
        self.touched.append((system_id, op))

    @property
    def is_admin(self):
        """Whether the caller is a superuser."""
        return self.user is not None and self.region.is_admin(self.user)


class Action:
    """One callable action of a handler."""

    __slots__ = ("name", "method", "op", "func", "doc")

    def __init__(self, method, op, func, doc):
        """An action is a (method, op) pair bound to a function."""
        self.method = method
        self.op = op
        self.func = func
        self.doc = doc
        self.name = op if op is not None else RESTFUL[method]

    @property
    def restful(self):
        """CRUD actions have no op."""
        return self.op is None


class Handler:
    """A MAAS API handler: a class name, a URL template with placeholders, and its actions."""

    def __init__(self, name, path, params, doc):
        """``path`` is relative to /MAAS/api/2.0/, e.g. ``machines/{system_id}/``."""
        self.name = name
        self.path = path
        self.params = params
        self.doc = doc
        self.actions = {}

    def add(self, method, op, func, doc=""):
        """Register ``func`` for ``method`` and ``op`` (None for CRUD)."""
        self.actions[(method, op)] = Action(method, op, func, doc or (func.__doc__ or "").strip().split("\n")[0])
        return self

    def describe(self, base_url):
        """The handler as ``describe/`` shows it."""
        return {
            "name": self.name,
            "doc": self.doc,
            "params": list(self.params),
            "path": API_PREFIX + self.path,
            "uri": base_url + API_PREFIX + self.path,
            "actions": [
                {"name": a.name, "method": a.method, "op": a.op, "restful": a.restful, "doc": a.doc}
                for a in self.actions.values()
            ],
        }


class Resource:
    """A URL with an authenticated handler, an anonymous one, or both."""

    def __init__(self, auth=None, anon=None):
        """Pair the two handlers that serve one URL template."""
        self.auth = auth
        self.anon = anon
        template = (auth or anon).path
        self.template = template
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
        self.regex = re.compile("^" + pattern + "$")

    @property
    def name(self):
        """The resource's name in ``describe/``: its authenticated handler's, else the anonymous one's."""
        return (self.auth or self.anon).name


class API:
    """The routing table and the ``describe/`` document built from it."""

    def __init__(self, resources):
        """Route over ``resources`` (first match wins)."""
        self.resources = resources
        self._hash = None

    def route(self, path):
        """Match a path relative to /MAAS/api/2.0/; return (resource, args, op_from_path) or (None, None, None).

        MAAS 3.3+ also accepts the op as a final ``op-<name>`` path segment.
        """
        op_from_path = None
        match = re.match(r"^(.*/)?op-([\w-]+)/?$", path)
        if match:
            path, op_from_path = match.group(1) or "", match.group(2)
        for resource in self.resources:
            found = resource.regex.match(path)
            if found:
                return resource, found.groupdict(), op_from_path
        return None, None, None

    def describe(self, base_url):
        """The ``describe/`` document for clients reaching us at ``base_url``."""
        resources = []
        handlers = []
        for resource in self.resources:
            auth = resource.auth.describe(base_url) if resource.auth else None
            anon = resource.anon.describe(base_url) if resource.anon else None
            resources.append({"name": resource.name, "anon": anon, "auth": auth})
            handlers.extend(h for h in (anon, auth) if h is not None)
        return {"doc": "MAAS API", "hash": self.api_hash(), "resources": resources, "handlers": handlers}

    def api_hash(self):
        """A stable hash of the API's shape, sent as X-MAAS-API-Hash."""
        if self._hash is None:
            shape = [(r.name, sorted((a.method, a.op or "") for h in (r.auth, r.anon) if h for a in h.actions.values()))
                     for r in self.resources]
            self._hash = hashlib.sha1(json.dumps(shape).encode()).hexdigest()
        return self._hash


def dispatch(resource, call):
    """Pick the handler (authenticated or anonymous) and action for a call and run it.

    Raises 401 ``Forbidden`` when only an authenticated handler exists and the call is anonymous, and
    400 ``Unrecognised signature`` when the handler has no such method/op pair.
    """
    handler = resource.auth if call.user is not None and resource.auth else resource.anon
    if handler is None:
        if call.user is None:
            raise APIError(401, "Forbidden")
        handler = resource.auth
    action = handler.actions.get((call.method, call.op))
    if action is None:
        raise bad_request("Unrecognised signature: method=%s op=%s" % (call.method, call.op))
    return action, action.func(call)
