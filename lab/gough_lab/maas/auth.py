"""OAuth 1.0a PLAINTEXT request authentication, as MAAS's piston-based API checks it."""

import threading
import time
from urllib.parse import unquote

from .errors import APIError

OAUTH_PARAMS = ("oauth_consumer_key", "oauth_token", "oauth_signature_method", "oauth_signature", "oauth_timestamp",
                "oauth_nonce")
TIMESTAMP_THRESHOLD = 300


def parse_authorization(header):
    """Parse an ``Authorization: OAuth ...`` header into a dict of unquoted values, or None if it is not OAuth.

    Accepts quoted or bare values, an optional leading ``realm``, and separators with or without spaces.
    """
    if not header:
        return None
    scheme, _space, rest = header.strip().partition(" ")
    if scheme.lower() != "oauth":
        return None
    params = {}
    for item in rest.split(","):
        item = item.strip()
        if not item or "=" not in item:
            continue
        key, _equals, value = item.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        params[key.strip()] = unquote(value)
    return params


def unauthorized(message):
    """401 with MAAS's text body and the OAuth challenge."""
    return APIError(401, "Authorization Error: %s" % message, headers={"WWW-Authenticate": 'OAuth realm="OAuth"'})


class Authenticator:
    """Validates signed requests against the region's tokens; remembers nonces per consumer and token."""

    def __init__(self, region, clock=time.time):
        """Check requests against ``region.tokens`` and ``region.users``."""
        self.region = region
        self.clock = clock
        self._nonces = {}
        self._lock = threading.Lock()

    def authenticate(self, header):
        """Return the username a request is signed for, None if it carries no complete OAuth header.

        Raises 401/403 APIErrors for every rejection MAAS makes.
        """
        params = parse_authorization(header)
        if params is None or not all(name in params for name in OAUTH_PARAMS):
            return None
        version = params.get("oauth_version")
        if version is not None and version != "1.0":
            raise unauthorized(repr("OAuth version %s not supported." % version))
        consumer_key = params["oauth_consumer_key"]
        token_key = params["oauth_token"]
        with self.region.lock:
            consumer_known = any(t["consumer_key"] == consumer_key for t in self.region.tokens.values())
            token = self.region.tokens.get(token_key)
        if not consumer_known:
            raise unauthorized("Invalid API key.")
        if token is None or token["consumer_key"] != consumer_key:
            raise unauthorized(repr("Invalid access token: %s" % token_key))
        now = self.clock()
        try:
            timestamp = int(params["oauth_timestamp"])
        except ValueError:
            raise unauthorized(repr("Invalid timestamp: %s" % params["oauth_timestamp"])) from None
        if abs(now - timestamp) > TIMESTAMP_THRESHOLD:
            raise unauthorized(repr(
                "Expired timestamp: given %d and now %d has a greater difference than threshold %d"
                % (timestamp, now, TIMESTAMP_THRESHOLD)))
        method = params["oauth_signature_method"]
        if method not in ("PLAINTEXT", "HMAC-SHA1"):
            raise unauthorized(repr("Signature method %s not supported try one of the following: HMAC-SHA1,PLAINTEXT"
                                    % method))
        if method == "HMAC-SHA1" or params["oauth_signature"] != "&" + token["token_secret"]:
            # HMAC-SHA1 would need the exact request URL the client signed; the lab's clients all use PLAINTEXT.
            raise unauthorized(repr("Invalid signature. Expected signature base string: %s" % method))
        nonce = params["oauth_nonce"]
        self._check_nonce(consumer_key, token_key, nonce, now)
        user = self.region.users.get(token["username"])
        if user is None or not user.get("is_active", True):
            raise APIError(403, "Authorization Error: User is not active")
        return token["username"]

    def _check_nonce(self, consumer_key, token_key, nonce, now):
        with self._lock:
            seen = self._nonces.setdefault((consumer_key, token_key), {})
            if nonce in seen and now - seen[nonce] <= TIMESTAMP_THRESHOLD * 2:
                raise unauthorized(repr("Nonce already used: %s" % nonce))
            seen[nonce] = now
            if len(seen) > 50000:
                # Forget nonces older than any timestamp we would still accept.
                for old in [n for n, t in seen.items() if now - t > TIMESTAMP_THRESHOLD * 2]:
                    del seen[old]
