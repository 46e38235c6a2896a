"""Request parameters: query strings and bodies (multipart with base64 parts, or urlencoded), as MAAS reads them."""

import email.parser
import email.utils
import email.policy
from urllib.parse import parse_qs

from .errors import APIError, form_errors

TRUE_WORDS = ("true", "1", "on", "yes")
FALSE_WORDS = ("false", "0", "off", "no", "")


class Params:
    """An ordered multi-dict of request fields: every name maps to the list of values sent for it."""

    def __init__(self, pairs=()):
        """Build from ``(name, value)`` pairs, keeping repeated names in order."""
        self._values = {}
        for name, value in pairs:
            self._values.setdefault(name, []).append(value)

    def merge(self, other):
        """Add another Params' fields after this one's."""
        for name, values in other.items():
            self._values.setdefault(name, []).extend(values)

    def items(self):
        """``(name, [values])`` in first-seen order."""
        return list(self._values.items())

    def names(self):
        """Every field name sent."""
        return list(self._values)

    def __contains__(self, name):
        return name in self._values

    def get(self, name, default=None):
        """The last value sent for ``name`` (Django's QueryDict semantics), or ``default``."""
        values = self._values.get(name)
        return values[-1] if values else default

    def getlist(self, name):
        """Every value sent for ``name``."""
        return list(self._values.get(name, ()))

    def pop(self, name):
        """Remove ``name`` and return its values."""
        return self._values.pop(name, [])

    def bool(self, name, default=False):
        """A boolean field: true/false/1/0/on (and yes/no); a bad value is a 400 naming the field."""
        value = self.get(name)
        if value is None:
            return default
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise form_errors({name: ["'%s' value must be either True or False." % value]})

    def int(self, name, default=None):
        """An integer field; a bad value is a 400 naming the field."""
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return int(value)
        except ValueError:
            raise form_errors({name: ["Enter a whole number."]}) from None

    def float(self, name, default=None):
        """A number field; a bad value is a 400 naming the field."""
        value = self.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except ValueError:
            raise form_errors({name: ["Enter a number."]}) from None


def parse_query(query):
    """Parse a query string into Params (blank values kept, since MAAS treats ``key=`` as a value)."""
    pairs = []
    for name, values in parse_qs(query, keep_blank_values=True).items():
        for value in values:
            pairs.append((name, value))
    # parse_qs groups by name; restore original order for the error messages that echo it.
    order = []
    for chunk in query.split("&"):
        name = chunk.split("=", 1)[0]
        if name and name not in order:
            order.append(name)
    pairs.sort(key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order))
    return Params(pairs)


def parse_body(content_type, body):
    """Parse a request body into Params: multipart/form-data (base64 parts decoded) or urlencoded.

    A multipart body with no parts is rejected with 400 and an empty body, as MAAS 3.6 does.
    """
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        return _parse_multipart(content_type, body)
    if ctype == "application/x-www-form-urlencoded":
        return parse_query(body.decode("utf-8", "replace"))
    # MAAS ignores other bodies (JSON is not supported).
    return Params()


def _parse_multipart(content_type, body):
    head = ("Content-Type: %s\r\nMIME-Version: 1.0\r\n\r\n" % content_type).encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(head + body)
    if not message.is_multipart():
        raise APIError(400, b"")
    parts = message.get_payload()
    if not parts:
        raise APIError(400, b"")
    pairs = []
    for part in parts:
        name = part.get_param("name", header="content-disposition")
        if name is None:
            continue
        if isinstance(name, tuple):
            name = email.utils.collapse_rfc2231_value(name)
        payload = part.get_payload(decode=True) or b""
        if part.get_param("filename", header="content-disposition") is not None:
            pairs.append((name, payload))
            continue
        charset = part.get_content_charset() or "utf-8"
        pairs.append((name, payload.decode(charset, "replace")))
    if not pairs:
        # An empty form (python-libmaas sends one for calls without fields) counts as zero parts.
        raise APIError(400, b"")
    return Params(pairs)
