"""Request parameters: query strings and bodies (multipart with base64 parts, or urlencoded), as MAAS reads them."""

import base64
import binascii
import re
from urllib.parse import parse_qs, unquote

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


def parse_body(content_type, body, reject_empty_multipart=True):
    """Parse a request body into Params: multipart/form-data (base64 parts decoded) or urlencoded.

    A multipart body with no parts is rejected with 400 and an empty body, as MAAS 3.6 does
    (``reject_empty_multipart``; MAAS 3.5 reads it as an empty form).
    """
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype == "multipart/form-data":
        return _parse_multipart(content_type, body, reject_empty_multipart)
    if ctype == "application/x-www-form-urlencoded":
        return parse_query(body.decode("utf-8", "replace"))
    # MAAS ignores other bodies (JSON is not supported).
    return Params()


# One header parameter: name=value or name="quoted value" (RFC 7578 / RFC 2183 form-data dispositions).
HEADER_PARAM_RE = re.compile(r'\s*([\w*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def _header_params(value):
    """Parameters of a header such as ``form-data; name="x"; filename="y"``, keys lower-cased.

    RFC 2231 extended values (``name*=utf-8''caf%C3%A9``) are decoded and win over plain ones.
    """
    params = {}
    extended = {}
    for match in HEADER_PARAM_RE.finditer(value.partition(";")[2]):
        key, raw = match.group(1).lower(), match.group(2).strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if key.endswith("*"):
            charset, _quote, encoded = raw.partition("''")
            extended[key[:-1]] = unquote(encoded, encoding=charset or "utf-8", errors="replace")
        else:
            params[key] = raw
    params.update(extended)
    return params


def _split_part(section):
    """Split one multipart section (without its delimiter line) into (headers dict, payload bytes)."""
    head, sep, payload = section.partition(b"\r\n\r\n")
    if not sep:
        head, sep, payload = section.partition(b"\n\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return headers, payload


def _parse_multipart(content_type, body, reject_empty=True):
    """multipart/form-data into Params, decoding base64 parts, as MAAS's Django request parsing reads it.

    Parsed directly rather than with the ``email`` package, whose parser compiles a regular expression for every
    body's random boundary and dominated the emulator's cost per write.
    """
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise APIError(400, b"")
    sections = body.split(b"--" + boundary.encode("latin-1"))
    pairs = []
    # sections[0] is the preamble; the closing delimiter leaves a section starting with "--".
    for section in sections[1:]:
        if section.startswith(b"--"):
            break
        section = section[2:] if section.startswith(b"\r\n") else section[1:] if section.startswith(b"\n") else section
        section = section[:-2] if section.endswith(b"\r\n") else section[:-1] if section.endswith(b"\n") else section
        headers, payload = _split_part(section)
        disposition = _header_params(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            continue
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            try:
                payload = base64.b64decode(b"".join(payload.split()), validate=True)
            except (binascii.Error, ValueError):
                raise APIError(400, b"") from None
        if "filename" in disposition:
            pairs.append((name, payload))
            continue
        charset = _header_params(headers.get("content-type", "")).get("charset") or "utf-8"
        pairs.append((name, payload.decode(charset, "replace")))
    if not pairs and reject_empty:
        # An empty form (python-libmaas sends one for calls without fields) counts as zero parts.
        raise APIError(400, b"")
    return Params(pairs)
