"""In-process osquery hosts for tests, driven by the lab's one osquery client: the node image's osqueryd-lab.

``lab/images/node/osqueryd-lab`` is what lab nodes run instead of osqueryd: it enrolls, fetches the config, reads
and writes distributed queries and sends status logs, and answers queries with osquery's SQL (SQLite) over
osquery's table columns. ``FakeOsqueryHost`` runs that same agent and query engine in the test process, against a
``FleetEmulator`` (or anything with its ``osquery(endpoint, body)`` and ``enroll_secret``), with the node's tables
described by attributes (hostname, uuid, serial, OS, address) instead of read from a machine, so tests without lab
nodes see hosts that speak the protocol exactly as the lab nodes do.
"""

import hashlib
import importlib.machinery
import importlib.util
import os
import threading
import uuid as uuidlib
from urllib.parse import urlsplit

from gough_lab.common.testing import LAB_ROOT, EmulatorError

STANDIN = os.path.join(LAB_ROOT, "images", "node", "osqueryd-lab")
OSQUERY_PREFIX = "/api/osquery/"
_MODULE = {}


def load_standin():
    """The osqueryd-lab script as a module (loaded once): its Agent, Node, Engine and run_query."""
    if "module" not in _MODULE:
        loader = importlib.machinery.SourceFileLoader("osqueryd_lab", STANDIN)
        spec = importlib.util.spec_from_loader("osqueryd_lab", loader)
        module = importlib.util.module_from_spec(spec)
        loader.exec_module(module)
        _MODULE["module"] = module
    return _MODULE["module"]


def _agent_class():
    """The Agent subclass the fake hosts use (built once the stand-in is loaded)."""
    if "agent" in _MODULE:
        return _MODULE["agent"]
    standin = load_standin()

    class HostNode(standin.Node):
        """The node tables of a FakeOsqueryHost: its attributes, not this machine."""

        def __init__(self, host):
            super().__init__()
            self.host = host

        def os_version(self, _constraints=None):
            """The host's os_version row."""
            return self.host.tables()["os_version"]

        def system_info(self, _constraints=None):
            """The host's system_info row."""
            return self.host.tables()["system_info"]

        def osquery_info(self, _constraints=None):
            """The host's osquery_info row (its instance id)."""
            return self.host.tables()["osquery_info"]

        def uptime(self, _constraints=None):  # pylint: disable=arguments-differ
            """The host's uptime row."""
            return self.host.tables()["uptime"]

        def interface_addresses(self, _constraints=None):
            """The host's addresses."""
            return self.host.tables()["interface_addresses"]

        def interface_details(self, _constraints=None):
            """The host's interfaces and their MACs."""
            return self.host.tables()["interface_details"]

    class HostEngine(standin.Engine):
        """osqueryd-lab's engine over the fake's tables only (any other table is unknown on a fake host)."""

        def rows(self, table, constraints):
            """The fake's rows of ``table``; TableError ("no such table") for any table it does not have."""
            rows = self.node.host.tables().get(table)
            if rows is None:
                raise standin.TableError("no such table: %s" % table)
            return rows

    class HostAgent(standin.Agent):
        """osqueryd-lab's agent, sending through the emulator helper and keeping its node key in memory."""

        def __init__(self, host):
            emulator = host.emulator
            endpoint = OSQUERY_PREFIX
            flags = {"tls_hostname": urlsplit(getattr(emulator, "url", "")).netloc or "fleet",
                     "tls_server_certs": getattr(emulator, "ca_cert", None), "host_identifier": "specified",
                     "enroll_tls_endpoint": endpoint + "enroll", "config_tls_endpoint": endpoint + "config",
                     "distributed_tls_read_endpoint": endpoint + "distributed/read",
                     "distributed_tls_write_endpoint": endpoint + "distributed/write",
                     "logger_tls_endpoint": endpoint + "log", "distributed_interval": "1"}
            super().__init__(flags, host.secret, node=HostNode(host), state_dir=None)
            self.host = host
            self.last_response = None

        def identifier(self):
            """The host's identifier (what --host_identifier=specified sends)."""
            return self.host.identifier

        def post(self, endpoint, body):
            """POST through the Fleet helper; the stand-in's Unauthorized/RemoteError on failures."""
            response = self.host.emulator.osquery(endpoint[len(OSQUERY_PREFIX):], body)
            self.last_response = response
            doc = response.json() or {}
            if response.status == 401 and doc.get("node_invalid"):
                raise standin.Unauthorized(doc.get("error") or "node_invalid")
            if response.status != 200:
                raise standin.RemoteError("%s answered HTTP %d: %s" % (endpoint, response.status, doc.get("error")))
            return doc

        def enroll(self):
            """Enroll with the host's current secret and count the enrollment."""
            self.secret = self.host.secret or self.host.emulator.enroll_secret
            super().enroll()
            self.host.enrollments += 1

        def answer(self, name, sql):
            """Note the query name and answer it as the host does."""
            self.host.answered.append(name)
            return self.host.answer(sql)

    _MODULE["agent"] = HostAgent
    _MODULE["engine"] = HostEngine
    return HostAgent


class FakeOsqueryHost:  # pylint: disable=too-many-instance-attributes
    """An osquery host for tests without lab nodes: osqueryd-lab's agent in this process.

    It enrolls, checks in (config, distributed read and write, a status log) and answers queries with osqueryd-lab's
    engine over its own tables, filled from its attributes: os_version, system_info, osquery_info, uptime,
    interface_addresses and interface_details. A query containing a key of ``answers`` gets that key's rows instead
    (a string value is an error message: the query fails). ``start(interval)`` checks in from a background thread
    until ``stop()``.
    """

    def __init__(self, emulator, hostname, *, identifier=None, uuid=None, serial="", secret=None,
                 os_name="Debian GNU/Linux", os_version="13 (trixie)", platform="debian", address="172.30.90.50",
                 answers=None):
        """Describe the host; nothing is sent until ``enroll`` or ``checkin``."""
        self.emulator = emulator
        self.hostname = hostname
        digest = hashlib.sha256(hostname.encode()).hexdigest()
        self.uuid = uuid or "%s-%s-4%s-8%s-%s" % (digest[:8], digest[8:12], digest[13:16], digest[17:20], digest[20:32])
        self.identifier = identifier or self.uuid
        self.instance_id = "instance-" + self.uuid
        self.serial = serial
        self.secret = secret
        self.os_row = {"name": os_name, "version": os_version, "platform": platform, "platform_like": "debian",
                       "major": os_version.split(".")[0].split()[0], "codename": ""}
        self.address = address
        self.answers = dict(answers or {})
        self.enrollments = 0
        self.answered = []
        self.agent = _agent_class()(self)
        self._thread = None
        self._stop = None

    @property
    def node_key(self):
        """The node key of the last enrollment (None before)."""
        return self.agent.node_key

    @node_key.setter
    def node_key(self, value):
        self.agent.node_key = value

    def tables(self):
        """Rows of the tables this host has."""
        return {
            "os_version": [self.os_row],
            "system_info": [{"hostname": self.hostname, "uuid": self.uuid, "hardware_serial": self.serial,
                             "hardware_vendor": "Gough lab", "hardware_model": "fake", "cpu_brand": "fake cpu",
                             "cpu_type": "x86_64", "cpu_physical_cores": "2", "cpu_logical_cores": "4",
                             "physical_memory": str(4 << 30), "computer_name": self.hostname}],
            "osquery_info": [{"version": "5.14.1-lab", "instance_id": self.instance_id, "uuid": self.uuid,
                              "build_platform": "debian"}],
            "uptime": [{"total_seconds": "1234", "days": "0", "hours": "0", "minutes": "20", "seconds": "34"}],
            "interface_addresses": [{"address": "127.0.0.1", "mask": "255.0.0.0", "interface": "lo"},
                                    {"address": self.address, "mask": "255.255.255.0", "interface": "eth0"}],
            # osquery's interface_addresses has no mac column: the MAC is in interface_details.
            "interface_details": [{"interface": "lo", "mac": "00:00:00:00:00:00", "type": 772},
                                  {"interface": "eth0", "mac": "02:42:ac:1e:5a:32", "type": 1}],
        }

    def answer(self, sql):
        """(rows, error) for one query: ``answers`` first, else osqueryd-lab's engine over ``tables()``."""
        for key, rows in self.answers.items():
            if key in sql:
                return (None, rows) if isinstance(rows, str) else (rows, None)
        _agent_class()
        return _MODULE["engine"](self.agent.node).run(sql)

    def enroll(self):
        """POST enroll; returns the emulator's Response (the node key is kept on success)."""
        standin = load_standin()
        try:
            self.agent.enroll()
        except standin.RemoteError:
            pass
        return self.agent.last_response

    def reinstall(self):
        """A fresh install on the same hardware: a new osquery instance id, then enroll."""
        self.instance_id = str(uuidlib.uuid4())
        return self.enroll()

    def read(self):
        """One distributed read with the current node key, nothing else (no re-enrollment); the Response."""
        return self.emulator.osquery("distributed/read", {"node_key": self.node_key})

    def checkin(self):
        """Config, distributed read, answers written back, one status log; re-enrolls on node_invalid."""
        standin = load_standin()
        try:
            self.agent.fetch_config()
            self.agent.distributed()
            self.agent.status_log("fake check-in")
            self.agent.flush_logs()
        except standin.RemoteError:
            return False
        return True

    def start(self, interval=0.2):
        """Check in every ``interval`` seconds from a background thread."""
        self._stop = threading.Event()

        def loop():
            while not self._stop.is_set():
                try:
                    self.checkin()
                except (OSError, ValueError, EmulatorError):
                    pass
                self._stop.wait(interval)
        self._thread = threading.Thread(target=loop, name="fake-osquery-%s" % self.hostname, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop the background check-ins."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join(10)
            self._thread = None
