"""Fixtures for the lab node tests: they need a Docker engine and the node image (``make lab-test`` has both).

Everything a test creates gets a per-run network and container prefix and the ``gough-lab=1`` label, and is
removed by the fixtures' finalizers (``make lab-down`` removes anything a killed run left behind).
"""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import uuid

import pytest

LAB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "lab"))
if LAB not in sys.path:
    sys.path.insert(0, LAB)

from gough_lab import nodes  # noqa: E402  pylint: disable=wrong-import-position
from gough_lab.testing import start_maas_emulator  # noqa: E402  pylint: disable=wrong-import-position
from gough_lab.common.testing import lab_missing  # noqa: E402  pylint: disable=wrong-import-position

IMAGE = os.environ.get("GOUGH_LAB_NODE_IMAGE", nodes.IMAGE)


@pytest.fixture(scope="session")
def engine():
    """Skip the module's tests when no engine answers or the image is missing (run ``make lab-test``)."""
    try:
        nodes.NodeDriver(image=IMAGE).check_engine()
    except nodes.DockerError as exc:
        lab_missing("lab nodes need Docker and %s (make lab-test): %s" % (IMAGE, exc))
    return IMAGE


@pytest.fixture(scope="session")
def lab_net(engine, tmp_path_factory):  # pylint: disable=redefined-outer-name
    """A NodeDriver on a network of this run's own; removes its containers and the network at the end."""
    tag = "t%d-%s" % (os.getpid(), uuid.uuid4().hex[:4])
    driver = nodes.NodeDriver(image=engine, network="gough-lab-%s" % tag, subnet=nodes.free_subnet(),
                              prefix="gough-lab-%s-" % tag, state_dir=str(tmp_path_factory.mktemp("nodes")))
    driver.ensure_network()
    yield driver
    for name in driver.list_nodes():
        nodes.docker("rm", "-f", "-v", name, check=False)
    driver.remove_network()


def run_in_image(image, *args, files=None):
    """``docker run --rm`` a command in the image, with ``files`` ({container path: host path}) mounted read-only."""
    command = ["docker", "run", "--rm", "--label", "gough-lab=1"]
    for target, source in (files or {}).items():
        command += ["-v", "%s:%s:ro" % (source, target)]
    return subprocess.run(command + [image] + list(args), capture_output=True, text=True, timeout=120, check=False)


class MAAS:
    """A minimal signed client for the emulator's API (form-encoded posts)."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.base = emulator.api_url
        self.key = emulator.api_key

    def _auth(self):
        consumer, token, secret = self.key.split(":")
        return ('OAuth oauth_version="1.0", oauth_signature_method="PLAINTEXT", oauth_consumer_key="%s", '
                'oauth_token="%s", oauth_signature="&%s", oauth_nonce="%s", oauth_timestamp="%d"'
                % (consumer, token, secret, uuid.uuid4().hex, int(time.time())))

    def request(self, method, path, params=None):
        """Call the API and return the decoded JSON."""
        data = None
        url = self.base + path
        headers = {"Authorization": self._auth()}
        if method == "GET" and params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        elif params is not None:
            data = urllib.parse.urlencode(params, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            body = response.read()
        return json.loads(body) if body else None

    def machines(self):
        """Every machine."""
        return self.request("GET", "machines/")

    def machine(self, system_id):
        """One machine."""
        return self.request("GET", "machines/%s/" % system_id)

    def deploy(self, system_id, user_data):
        """Allocate and deploy with ``user_data`` (bytes)."""
        return self.request("POST", "machines/%s/?op=deploy" % system_id,
                            {"user_data": base64.b64encode(user_data).decode()})

    def release(self, system_id, **extra):
        """Release (``erase=true`` also erases)."""
        return self.request("POST", "machines/%s/?op=release" % system_id, extra)

    def wait_status(self, system_id, wanted, timeout=180):
        """Poll until the machine's status_name is one of ``wanted``; return the machine."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.machine(system_id)
            if m["status_name"] in wanted:
                return m
            if time.monotonic() > deadline:
                raise AssertionError("%s still %s after %ss: %s" % (system_id, m["status_name"], timeout,
                                                                    m.get("status_message")))
            time.sleep(0.5)


@pytest.fixture
def maas_docker(lab_net, tmp_path):  # pylint: disable=redefined-outer-name
    """An emulator with 2 Ready machines deploying into lab nodes on this run's network."""
    emulator = start_maas_emulator(
        tmp_path / "maas", machines=2,
        extra_args=["--node-backend", "docker", "--node-image", lab_net.image, "--node-network", lab_net.network,
                    "--node-prefix", lab_net.prefix, "--node-timeout", "120", "--release-seconds", "0.2"])
    try:
        yield MAAS(emulator)
    finally:
        emulator.stop()
        for name in lab_net.list_nodes():
            nodes.docker("rm", "-f", "-v", name, check=False)


@pytest.fixture
def maas_docker_subnet(lab_net, tmp_path):  # pylint: disable=redefined-outer-name
    """As maas_docker, and the emulator knows the network's subnet (``--node-subnet``), as the stack's lab MAAS
    does."""
    emulator = start_maas_emulator(
        tmp_path / "maas", machines=2,
        extra_args=["--node-backend", "docker", "--node-image", lab_net.image, "--node-network", lab_net.network,
                    "--node-subnet", lab_net.subnet, "--node-prefix", lab_net.prefix, "--node-timeout", "120",
                    "--release-seconds", "0.2"])
    try:
        yield MAAS(emulator)
    finally:
        emulator.stop()
        for name in lab_net.list_nodes():
            nodes.docker("rm", "-f", "-v", name, check=False)
