"""Helpers of the MAAS contract suite that are not fixtures: configuration from the environment, unique names, the
check for a MAAS without imported images, and bounded waits.

The suite runs against a real MAAS when ``MAAS_URL`` and ``MAAS_API_KEY`` are set, else against the lab's MAAS
emulator, which ``conftest.py`` starts and removes.
"""

import os
import secrets
import time

# Names of everything the suite creates start with this, followed by a random run id.
NAME_PREFIX = "gough-contract-"
# Architectures a test may pick when it needs one that MAAS has no images for (a fresh MAAS has none at all).
OTHER_ARCHITECTURES = ("ppc64el/generic", "s390x/generic", "riscv64/generic", "arm64/generic", "i386/generic")
# What MAAS says when an architecture has no imported boot resources (a real MAAS 3.5.13 region).
NOT_VALID_ARCHITECTURE = "is not a valid architecture"
# Statuses MAAS passes through on the way from a release to Ready.
RELEASING = ("Releasing", "Disk erasing")


class ContractConfig:
    """What the suite runs against, read once from the environment.

    ``url`` and ``api_key`` are None for the emulator. ``ca_path`` is ``MAAS_CA_PATH`` (a CA bundle for a MAAS
    served over HTTPS with a private CA). ``spare_tag`` is ``GOUGH_CONTRACT_USE_TAG``: Ready machines carrying it
    may be allocated and released. ``user_api_key`` is ``GOUGH_CONTRACT_USER_API_KEY``, a non-admin user's key
    for the 403 of an admin-only request. ``architecture`` is ``GOUGH_CONTRACT_ARCHITECTURE`` (default amd64/generic).
    ``release_timeout`` bounds the wait for a released machine to reach Ready.
    """

    def __init__(self, environ=None):
        env = os.environ if environ is None else environ
        self.url = env.get("MAAS_URL") or None
        self.api_key = env.get("MAAS_API_KEY") or None
        if bool(self.url) != bool(self.api_key):
            raise ValueError("MAAS_URL and MAAS_API_KEY go together: set both to test a real MAAS, or neither to "
                             "test the lab's MAAS emulator.")
        validate = (env.get("MAAS_VALIDATE_CERTS") or "true").strip().lower()
        if validate not in ("1", "true", "yes", "on"):
            # The suite checks what Gough does, and Gough verifies TLS; an unverified run would prove less.
            raise ValueError("MAAS_VALIDATE_CERTS=%s: the contract suite always verifies TLS. Give the CA bundle "
                             "that signed the MAAS certificate in MAAS_CA_PATH instead." % validate)
        self.ca_path = env.get("MAAS_CA_PATH") or None
        if self.ca_path and not os.path.isfile(self.ca_path):
            raise ValueError("MAAS_CA_PATH=%s is not a file." % self.ca_path)
        self.spare_tag = env.get("GOUGH_CONTRACT_USE_TAG") or None
        self.user_api_key = env.get("GOUGH_CONTRACT_USER_API_KEY") or None
        self.architecture = env.get("GOUGH_CONTRACT_ARCHITECTURE") or "amd64/generic"
        self.release_timeout = float(env.get("GOUGH_CONTRACT_RELEASE_TIMEOUT") or 120)

    @property
    def emulated(self):
        """True when the suite starts the lab's MAAS emulator itself."""
        return self.url is None


CONFIG = ContractConfig()


def run_id():
    """A short random id for this run's names."""
    return secrets.token_hex(3)


def random_mac():
    """A random locally administered unicast MAC address (first octet 02), lower case with colons."""
    return "02:" + ":".join("%02x" % b for b in secrets.token_bytes(5))


def architecture_refused(exc):
    """The MAAS message when ``exc`` (a ``MAASError``) is MAAS refusing the architecture because it has no images
    for it, else None. A fresh MAAS says ``architecture: 'amd64/generic' is not a valid architecture. It should be
    one of: ''.``"""
    errors = getattr(exc, "field_errors", None) or {}
    if getattr(exc, "status", None) != 400 or not isinstance(errors, dict):
        return None
    messages = errors.get("architecture") or []
    if not isinstance(messages, list):
        messages = [messages]
    for message in messages:
        if NOT_VALID_ARCHITECTURE in str(message):
            return str(message)
    return None


def wait_for(read, done, timeout, interval=0.5):
    """Call ``read()`` until ``done(value)`` holds or ``timeout`` seconds pass; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() >= deadline:
            return value
        time.sleep(interval)
