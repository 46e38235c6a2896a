# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures for the Fleet client and module tests: the lab Fleet emulator, and hosts that enroll in it.

Imported by the Fleet test files (``from fleet_lab import ...``; tests/unit/plugins is on sys.path through its
conftest). ``OsqueryHost`` is the lab's one osquery client (gough_lab.fleet.osquery_host, which runs the node image's
osqueryd-lab agent): it enrolls with a secret and host details, then checks in with distributed reads, so the
modules see hosts enrolled through the real protocol.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import ssl
import threading
import time
import urllib.request
import uuid

import pytest

from gough_lab.fleet.osquery_host import FakeOsqueryHost


class OsqueryError(Exception):
    """An osquery TLS API call answered with an error status."""

    def __init__(self, status, body):
        super(OsqueryError, self).__init__("%s %s" % (status, body))
        self.status = status
        self.body = body


class OsqueryHost(FakeOsqueryHost):
    """A lab osquery host (the node image's osqueryd-lab agent, in this process) identified by its osquery instance
    id, as osqueryd's ``--host_identifier=instance`` is: a reinstall on the same hardware is a new Fleet host."""

    def __init__(self, emulator, hostname, secret=None, host_uuid=None, serial=None):
        super(OsqueryHost, self).__init__(
            emulator, hostname, uuid=host_uuid or str(uuid.uuid4()).upper(),
            serial=serial or "SN-" + uuid.uuid4().hex[:10].upper(), secret=secret, os_name="Ubuntu",
            os_version="24.04.1 LTS (Noble Numbat)", platform="ubuntu")
        self.instance_id = self.identifier = str(uuid.uuid4())
        self._stop = None

    def enroll(self):
        """Enroll (a new instance_id makes it a new Fleet host, as a reinstalled server would be); raises
        OsqueryError when Fleet refuses."""
        response = super(OsqueryHost, self).enroll()
        if response.status != 200:
            raise OsqueryError(response.status, response.body.decode("utf-8", "replace"))
        return self

    def reinstall(self):
        """A fresh install on the same hardware: a new osquery instance ID, then enroll."""
        self.instance_id = self.identifier = str(uuid.uuid4())
        return self.enroll()

    def check_in(self):
        """One distributed read (what keeps a host online); raises OsqueryError when Fleet refuses."""
        response = self.read()
        if response.status != 200:
            raise OsqueryError(response.status, response.body.decode("utf-8", "replace"))
        return response.json()

    def keep_online(self, interval=0.5, delay=0.0, reinstall=False):
        """Check in every ``interval`` seconds from a thread until ``stop()``; after ``delay`` seconds, first
        (re)enroll when ``reinstall`` or not enrolled yet."""
        self._stop = threading.Event()

        def loop():
            if self._stop.wait(delay):
                return
            if reinstall:
                self.reinstall()
            elif self.node_key is None:
                self.enroll()
            while not self._stop.is_set():
                try:
                    self.check_in()
                except OsqueryError:
                    pass
                self._stop.wait(interval)
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()
        return self

    def stop(self):
        """Stop the check-in thread."""
        if self._stop is not None:
            self._stop.set()


def wait_offline(lab, hostname, timeout=15):
    """Wait until every Fleet host named ``hostname`` is offline."""
    deadline = time.monotonic() + timeout
    while any(h["status"] == "online" for h in lab.hosts() if h["hostname"] == hostname):
        if time.monotonic() > deadline:
            raise AssertionError("%s still online after %ss" % (hostname, timeout))
        time.sleep(0.2)


class FleetLab(object):
    """A running emulator with a few helpers for tests."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.url = emulator.url
        self.api_token = emulator.api_token
        self.ca_cert = emulator.ca_cert
        self.enroll_secret = emulator.enroll_secret
        self.started = []

    def args(self, **options):
        """Module arguments with the connection options filled in."""
        options.setdefault("url", self.url)
        options.setdefault("api_token", self.api_token)
        options.setdefault("ca_path", self.ca_cert)
        return options

    def api(self, method, path, body=None):
        """Call the REST API directly (for setting up and checking state)."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + "/api/v1/fleet/" + path, data=data, method=method,
                                         headers={"Authorization": "Bearer " + self.api_token,
                                                  "Content-Type": "application/json"})
        context = ssl.create_default_context(cafile=self.ca_cert)
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            payload = response.read()
        return json.loads(payload) if payload else {}

    def host(self, hostname, **kwargs):
        """An enrolled ``OsqueryHost``."""
        return OsqueryHost(self.emulator, hostname, **kwargs).enroll()

    def online_host(self, hostname, delay=0.0, **kwargs):
        """An ``OsqueryHost`` that enrolls after ``delay`` seconds and keeps checking in until the test ends."""
        host = OsqueryHost(self.emulator, hostname, **kwargs)
        if not delay:
            host.enroll()
        self.started.append(host.keep_online(delay=delay))
        return host

    def host_ids(self, hostname):
        return sorted(h["id"] for h in self.hosts() if h["hostname"] == hostname)

    def hosts(self):
        return self.api("GET", "hosts?per_page=1000")["hosts"]

    def writes(self):
        return self.emulator.stats()["writes"]

    def stats(self):
        return self.emulator.stats()


def start_lab(tmp_path, name="fleet", **options):
    from gough_lab.fleet.testing import start_fleet_emulator  # pylint: disable=import-outside-toplevel
    state = str(tmp_path / name)
    os.makedirs(state, exist_ok=True)
    return start_fleet_emulator(state, **options)


@pytest.fixture
def fleet_lab(tmp_path):
    """A Fleet emulator (hosts go offline 3 s after their last check-in) wrapped in ``FleetLab``."""
    emulator = start_lab(tmp_path, distributed_interval=1, online_buffer=2)
    lab = FleetLab(emulator)
    try:
        yield lab
    finally:
        for host in lab.started:
            host.stop()
        emulator.stop()
