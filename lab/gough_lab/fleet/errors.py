"""Fleet's error responses: ``{"message", "errors": [{"name", "reason"}], "uuid"}`` with its status codes.

The osquery TLS API answers errors differently: ``{"error": "...", "node_invalid": true}`` (see OsqueryError).
"""

import uuid


class FleetError(Exception):
    """An error response of the REST API."""

    def __init__(self, status, message, reason=None, name="base", headers=None):
        """``reason`` is the text of the single errors[] entry, ``name`` the field it is about."""
        super().__init__("%d %s: %s" % (status, message, reason or message))
        self.status = status
        self.message = message
        self.errors = [{"name": name, "reason": reason or message}]
        self.headers = dict(headers or {})

    def body(self):
        """The JSON document Fleet sends."""
        return {"message": self.message, "errors": self.errors, "uuid": str(uuid.uuid4())}


def unauthenticated():
    """401: no token, an unknown token, or a logged-out session."""
    return FleetError(401, "Authentication required", "Authentication required")


def auth_failed():
    """401 of a failed login."""
    return FleetError(401, "Authentication failed", "Authentication failed")


def forbidden(reason="forbidden"):
    """403 when the user's role does not allow the action."""
    return FleetError(403, "Permission Denied", reason)


def not_found(kind, value, key="id"):
    """404 naming the missing object, e.g. "Host with id=5 was not found in the datastore"."""
    return FleetError(404, "Resource Not Found", "%s with %s=%s was not found in the datastore" % (kind, key, value))


def validation(name, reason):
    """422 naming the bad field."""
    return FleetError(422, "Validation Failed", reason, name=name)


def already_exists(reason):
    """409 when a unique name or value is taken."""
    return FleetError(409, "Resource Already Exists", reason)


def conflict(reason):
    """409 for other conflicts."""
    return FleetError(409, "Conflict", reason)


def bad_request(reason, name="base"):
    """400 for malformed requests: bad JSON, bad query parameters, conflicting aliases."""
    return FleetError(400, "Bad request", reason, name=name)


class OsqueryError(Exception):
    """An error of the osquery TLS API: 401 with node_invalid for bad node keys and secrets, else 500."""

    def __init__(self, message, node_invalid=False, status=None):
        """``node_invalid`` tells osqueryd to (re-)enroll."""
        super().__init__(message)
        self.message = message
        self.node_invalid = node_invalid
        self.status = status or (401 if node_invalid else 500)

    def body(self):
        """The JSON document Fleet sends to osquery."""
        doc = {"error": self.message, "uuid": str(uuid.uuid4())}
        if self.node_invalid:
            doc["node_invalid"] = True
        return doc
