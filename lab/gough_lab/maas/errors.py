"""HTTP errors the emulator raises, carrying MAAS's status codes, bodies and content types."""

import json


class APIError(Exception):
    """An error response: status, body bytes and content type."""

    def __init__(self, status, body=b"", content_type="text/plain; charset=utf-8", headers=None):
        """Build an error with a text or bytes body."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        super().__init__("%d %s" % (status, body[:200].decode("utf-8", "replace")))
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = dict(headers or {})


def bad_request(message=""):
    """400 with a plain-text message (MAAS's MAASAPIBadRequest)."""
    return APIError(400, message)


def form_errors(errors):
    """400 with a JSON body ``{"field": ["message", ...]}`` like a failed MAAS form."""
    return APIError(400, json.dumps(errors), "application/json; charset=utf-8")


def forbidden(message=""):
    """403, empty body unless a message is given (MAAS's PermissionDenied)."""
    return APIError(403, message)


def admin_only():
    """403 for handler methods that only admins may call."""
    return APIError(403, "This method is reserved for admin users.")


def not_found(what="Machine"):
    """404 like Django's get_object_or_404."""
    return APIError(404, "No %s matches the given query." % what)


def conflict(message):
    """409 for state conflicts."""
    return APIError(409, message)


def unavailable(message):
    """503 for power and IP problems."""
    return APIError(503, message)
