"""Fixtures of the MAAS contract suite: the MAAS under test (a real one from ``MAAS_URL`` and ``MAAS_API_KEY``, else
the lab's emulator, started here and removed afterwards), Gough's own ``MAASClient`` for it, and a record of every
machine, tag and allocation the run makes, undone at the end even when tests fail.

On a real MAAS the suite touches only machines it creates (hostnames ``gough-contract-<run id>-<n>``) and, when
``GOUGH_CONTRACT_USE_TAG`` names a tag, Ready machines carrying that tag, which it allocates and releases.
"""

import os
import shutil
import sys
import tempfile

import pytest

from contract_support import CONFIG, NAME_PREFIX, RELEASING, architecture_refused, random_mac, run_id, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
LAB = os.path.join(ROOT, "lab")


def _import_path():
    """Make ``ansible_collections.gough.gough`` importable: the installed collection this file is part of, or the
    working tree linked under .build/pytest-collections (as tests/unit does)."""
    parts = ROOT.split(os.sep)
    if parts[-3:-1] == ["ansible_collections", "gough"] and parts[-1] == "gough":
        collections = os.sep.join(parts[:-3]) or os.sep
    else:
        collections = os.path.join(ROOT, ".build", "pytest-collections")
        link = os.path.join(collections, "ansible_collections", "gough", "gough")
        if not os.path.islink(link):
            os.makedirs(os.path.dirname(link), exist_ok=True)
            try:
                os.symlink(ROOT, link)
            except FileExistsError:
                pass
    if collections not in sys.path:
        sys.path.insert(0, collections)


_import_path()

from ansible_collections.gough.gough.plugins.module_utils.maas import (  # noqa: E402 pylint: disable=wrong-import-position
    MAASClient,
    MAASError,
    status_name,
)

# Emulator timings short enough for a run well under 30 s; a real MAAS takes what it takes.
EMULATOR_ARGS = ("--commission-seconds", "0.5", "--deploy-seconds", "0.5", "--release-seconds", "0.3",
                 "--erase-seconds", "0.5")
# Ready machines the emulator is seeded with; the run tags them as its spare machines.
EMULATOR_SPARE_MACHINES = 2


def pytest_report_header(config):  # pylint: disable=unused-argument
    """Say which MAAS the run is against, before any test runs."""
    if CONFIG.emulated:
        return "MAAS contract: the lab's MAAS emulator (set MAAS_URL and MAAS_API_KEY to test a real MAAS)"
    lines = ["MAAS contract: %s (TLS verified%s)" % (CONFIG.url, ", CA %s" % CONFIG.ca_path if CONFIG.ca_path else "")]
    lines.append("spare machines: tag %s" % CONFIG.spare_tag if CONFIG.spare_tag
                 else "spare machines: none (set GOUGH_CONTRACT_USE_TAG to test allocate and release)")
    return lines


class Target:
    """The MAAS under test: ``url``, ``api_key``, ``ca_path``, ``spare_tag``, ``emulated`` and ``user_api_key`` (a
    non-admin user's key, or None)."""

    def __init__(self, url, api_key, ca_path, spare_tag, emulated, user_api_key=None):
        self.url = url
        self.user_api_key = user_api_key
        self.api_key = api_key
        self.ca_path = ca_path
        self.spare_tag = spare_tag
        self.emulated = emulated

    def client(self, api_key=None, retries=2):
        """Gough's client for this MAAS (another ``api_key`` for the tests of refused keys)."""
        return MAASClient(self.url, api_key or self.api_key, ca_path=self.ca_path, retries=retries, timeout=30)


@pytest.fixture(scope="session")
def target():
    """The MAAS under test. Without MAAS_URL, a seeded emulator in a private directory, removed afterwards."""
    if not CONFIG.emulated:
        yield Target(CONFIG.url, CONFIG.api_key, CONFIG.ca_path, CONFIG.spare_tag, False, CONFIG.user_api_key)
        return
    if LAB not in sys.path:
        sys.path.insert(0, LAB)
    from gough_lab.testing import start_maas_emulator  # pylint: disable=import-outside-toplevel
    state = tempfile.mkdtemp(prefix="gough-contract-maas-")
    emulator = None
    try:
        emulator = start_maas_emulator(os.path.join(state, "maas"), machines=EMULATOR_SPARE_MACHINES, seed=16,
                                       extra_args=EMULATOR_ARGS)
        # The emulator stands for a MAAS whose owner tagged spare machines for the suite (GOUGH_CONTRACT_USE_TAG).
        spare = "gough-contract-spare"
        with MAASClient(emulator.url, emulator.api_key, retries=0) as admin:
            admin.post("tags/", data={"name": spare, "comment": "spare machines for the contract suite"})
            seeded = [m["system_id"] for m in admin.get("machines/", params={"status": "ready"})]
            admin.post("tags/%s/" % spare, op="update_nodes", data={"add": seeded})
        yield Target(emulator.url, emulator.api_key, None, spare, True, emulator.user_api_key)
        # The run has cleaned up by now (``run`` ends first): on the emulator, prove that it left nothing behind.
        with MAASClient(emulator.url, emulator.api_key, retries=0) as admin:
            left = [m["hostname"] for m in admin.get("machines/") if m["hostname"].startswith(NAME_PREFIX)]
            left += ["tag " + t["name"] for t in admin.get("tags/") if t["name"].startswith(NAME_PREFIX)
                     and t["name"] != spare]
            left += ["allocated " + m["hostname"] for m in admin.get("machines/") if m.get("owner")]
        if left:
            pytest.fail("the contract run left these behind on the emulator: %s" % ", ".join(left))
    finally:
        if emulator is not None:
            emulator.stop()
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="session")
def client(target):
    """Gough's ``MAASClient`` for the MAAS under test, as the modules build it (TLS verified)."""
    with target.client() as maas:
        yield maas


@pytest.fixture(scope="session")
def me(client):
    """``users/?op=whoami``: the user the API key belongs to."""
    return client.whoami()


class ContractRun:
    """Everything one run creates on the MAAS, so that it can all be undone.

    ``hostnames`` holds every hostname the run asked MAAS for (even when the answer was lost), ``tags`` every tag it
    asked for, and ``agent_name`` marks its allocations.
    """

    def __init__(self, client):
        self.client = client
        self.id = run_id()
        self.prefix = "%s%s-" % (NAME_PREFIX, self.id)
        self.agent_name = "%s%s" % (NAME_PREFIX, self.id)
        self.hostnames = []
        self.tags = []
        self._count = 0

    def name(self, kind="m"):
        """A fresh name of this run: ``gough-contract-<run id>-<kind><n>``."""
        self._count += 1
        return "%s%s%d" % (self.prefix, kind, self._count)

    def find(self, hostname):
        """The machine called ``hostname`` (one filtered GET, as maas_machine does), or None."""
        found = self.client.get("machines/", params={"hostname": hostname})
        return found[0] if found else None

    def create_machine(self, architecture, **fields):
        """Create a machine from one fresh MAC with power type manual, the way ``maas_machine`` does."""
        hostname = fields.pop("hostname", None) or self.name()
        form = {"hostname": hostname, "architecture": architecture, "mac_addresses": [random_mac()],
                "power_type": "manual", "commission": False}
        form.update(fields)
        self.hostnames.append(hostname)
        return self.client.post("machines/", data=form, confirm=lambda: self.find(hostname))

    def delete_machine(self, hostname):
        """Delete the machine called ``hostname`` if it exists; True when MAAS no longer has it."""
        machine = self.find(hostname)
        if machine is None:
            return True
        self.client.delete("machines/%s/" % machine["system_id"], confirm=lambda: self.find(hostname) is None)
        return self.find(hostname) is None

    def create_tag(self, **fields):
        """Create a tag of this run (the name unless given), the way ``maas_tag`` does; returns the name."""
        name = fields.pop("name", None) or self.name("tag")
        self.tags.append(name)
        self.client.post("tags/", data=dict(fields, name=name), confirm=lambda: self.read_tag(name))
        return name

    def read_tag(self, name):
        """The tag ``name``, or None when MAAS answers 404."""
        try:
            return self.client.get("tags/%s/" % name)
        except MAASError as exc:
            if exc.status == 404:
                return None
            raise

    def delete_tag(self, name):
        """Delete the tag ``name`` if it exists."""
        if self.read_tag(name) is not None:
            self.client.delete("tags/%s/" % name, confirm=lambda: self.read_tag(name) is None)

    def allocated(self):
        """Machines holding this run's agent_name and not yet released."""
        machines = self.client.get("machines/", params={"agent_name": self.agent_name}) or []
        return [m for m in machines if status_name(m) not in ("Ready",) + RELEASING]

    def release_all(self, timeout):
        """Release every machine this run allocated; returns those not Ready within ``timeout``."""
        waiting = []
        for machine in self.allocated():
            self.client.machine_op(machine["system_id"], "release", took_effect=lambda m: status_name(m) != "Allocated")
            waiting.append(machine["system_id"])
        stuck = []
        for sid in waiting:
            final = wait_for(lambda sid=sid: self.client.get_machine(sid), lambda m: status_name(m) == "Ready", timeout)
            if status_name(final) != "Ready":
                stuck.append("%s (%s)" % (sid, status_name(final)))
        return stuck

    def cleanup(self, timeout):
        """Undo the run: release its allocations, delete its tags, then its machines. Returns what is left."""
        problems = []
        steps = [("release", lambda: problems.extend("allocated %s" % s for s in self.release_all(timeout)))]
        steps += [("tag %s" % name, lambda name=name: self.delete_tag(name)) for name in self.tags]
        for hostname in self.hostnames:
            def delete(hostname=hostname):
                if not self.delete_machine(hostname):
                    problems.append("machine %s" % hostname)
            steps.append(("machine %s" % hostname, delete))
        for what, step in steps:
            try:
                step()
            except MAASError as exc:
                problems.append("%s: %s" % (what, exc))
        return problems


@pytest.fixture(scope="session")
def run(client):
    """This run's record; at the end everything it made is released or deleted, and leftovers fail the run."""
    record = ContractRun(client)
    yield record
    problems = record.cleanup(CONFIG.release_timeout)
    if problems:
        pytest.fail("the contract run could not clean up after itself; remove by hand: %s" % "; ".join(problems))


@pytest.fixture(scope="session")
def architecture(client):
    """The architecture to create machines with; skips when MAAS has no boot resources (no images imported)."""
    resources = client.get("boot-resources/")
    if not resources:
        pytest.skip("MAAS has no boot resources: a fresh MAAS accepts no architecture until images are imported "
                    "(Images in the MAAS UI, or 'maas <profile> boot-resources import'); tests that create machines "
                    "need %s." % CONFIG.architecture)
    return CONFIG.architecture


def create_or_skip(run, architecture, **fields):
    """``run.create_machine``, but a test is skipped when MAAS refuses the architecture for want of images."""
    try:
        return run.create_machine(architecture, **fields)
    except MAASError as exc:
        refused = architecture_refused(exc)
        if refused:
            pytest.skip("MAAS refuses architecture %s (%s): import its images first, or set "
                        "GOUGH_CONTRACT_ARCHITECTURE to one it has." % (architecture, refused))
        raise


@pytest.fixture
def create_machine(run, architecture):
    """``create_machine(**fields)``: a machine of this run, deleted when the test ends. Skips when MAAS refuses the
    architecture because its images are not imported."""
    made = []

    def create(**fields):
        machine = create_or_skip(run, architecture, **fields)
        made.append(machine["hostname"])
        return machine

    yield create
    for hostname in made:
        run.delete_machine(hostname)


@pytest.fixture
def machine(create_machine):
    """A fresh machine of this run (New, power type manual, one MAC); deleted when the test ends."""
    return create_machine()


@pytest.fixture
def spare_tag(target):
    """The tag of Ready machines the suite may allocate and release; skips when there is none."""
    if not target.spare_tag:
        pytest.skip("allocate and release need spare Ready machines: set GOUGH_CONTRACT_USE_TAG to a tag carried only "
                    "by machines the suite may allocate and release")
    return target.spare_tag


@pytest.fixture
def user_client(target):
    """Gough's client with a non-admin user's key (``GOUGH_CONTRACT_USER_API_KEY``); skips when there is none."""
    if not target.user_api_key:
        pytest.skip("the 403 of an admin-only request needs a non-admin user's API key in GOUGH_CONTRACT_USER_API_KEY")
    with target.client(api_key=target.user_api_key) as maas:
        yield maas
