"""Lab nodes: systemd containers from ``gough-lab/node`` that boot real cloud-init from a NoCloud seed.

A node plays one MAAS machine: the container is named ``<prefix><system_id>``, its hostname is the machine's
hostname, and before its first start the driver copies ``user-data`` (the machine's user_data) and ``meta-data``
(``instance-id: <system_id>``, ``local-hostname: <hostname>``) into ``/var/lib/cloud/seed/nocloud/``. The driver
then reads the container's address on the lab network and polls ``cloud-init status --format json`` until
cloud-init is done or failed. Everything it creates carries the label ``gough-lab=1`` (``make lab-down``).

Standard library only; it drives the ``docker`` CLI.
"""

import ipaddress
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

IMAGE = "gough-lab/node:trixie"
NETWORK = "gough-lab"
# Inside 172.30.0.0/16, away from Docker's default pools' first picks (172.17-172.2x.0.0/16 are whole /16s, so a
# bridge Docker made itself would own all of 172.30.0.0/16 only when it got that far); override when it clashes.
SUBNET = os.environ.get("GOUGH_LAB_SUBNET", "172.30.90.0/24")
PREFIX = "gough-lab-"
LABEL = "gough-lab"
SEED_DIR = "/var/lib/cloud/seed/nocloud"
STAGES = ("init-local", "init", "modules-config", "modules-final")
_MODULE_RE = re.compile(r"^\(\s*'([^']+)'")
# What ``cloud-init status`` (25.1) says when it sees a failed cloud-init unit while result.json is not written yet.
# With the single-process boot (cloud-init-main.service), cloud-final.service can already be failed while the final
# stage is still writing its errors into status.json and result.json, so this answer comes first and carries none of
# the stage's detail; a second poll a moment later has them.
SYSTEMD_FALLBACK = "Failed due to systemd unit failure"


class DockerError(RuntimeError):
    """A docker command failed."""


def docker(*args, check=True, timeout=120, stdin=None):
    """Run ``docker ARGS`` and return its stdout; raise DockerError when it fails and ``check`` is true."""
    try:
        result = subprocess.run(("docker",) + tuple(args), capture_output=True, text=True, timeout=timeout,
                                check=False, input=stdin)
    except subprocess.TimeoutExpired as exc:
        raise DockerError("docker %s timed out after %ss" % (args[0], timeout)) from exc
    except FileNotFoundError as exc:
        raise DockerError("the docker command is not installed (make lab-engine)") from exc
    if check and result.returncode != 0:
        output = result.stderr.strip()[-2000:]
        raise DockerError("docker %s failed (exit %d): %s" % (" ".join(args[:2]), result.returncode, output))
    return result.stdout


def _cgroup_args():
    """How a systemd container sees cgroups here.

    On a cgroup v1 or hybrid host (this machine), systemd inside the container runs cleanly with the host's
    cgroup namespace and a read-only bind of /sys/fs/cgroup; a private namespace leaves it "degraded". On a pure
    cgroup v2 host, systemd needs its part of the tree writable (not exercised here: our hosts are hybrid).
    """
    try:
        unified = _fs_type("/sys/fs/cgroup") == "cgroup2"
    except OSError:
        unified = False
    if unified:
        return ["--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
    return ["--cgroupns", "host", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:ro"]


def _fs_type(path):
    with open("/proc/self/mounts", encoding="utf-8") as handle:
        best = ("", "")
        for line in handle:
            fields = line.split()
            if len(fields) > 2 and (path + "/").startswith(fields[1].rstrip("/") + "/") and len(fields[1]) >= len(best[0]):
                best = (fields[1], fields[2])
    return best[1]


class CloudInitResult:
    """How cloud-init ended on a node: ``status`` is done, error, timeout or stopped."""

    def __init__(self, status, errors=(), stage=None, module=None, elapsed=0.0, detail=None):
        """Keep the outcome; ``module`` is the first failing cloud-init module, ``stage`` its boot stage."""
        self.status = status
        self.errors = list(errors)
        self.stage = stage
        self.module = module
        self.elapsed = elapsed
        self.detail = detail or {}

    @property
    def systemd_fallback(self):
        """True when the error is only cloud-init's "systemd unit failure" answer, without any stage's errors."""
        return self.status == "error" and self.stage is None and \
            all(error.startswith(SYSTEMD_FALLBACK) for error in self.errors)

    @property
    def ok(self):
        """True when cloud-init finished without errors (recoverable warnings allowed, as in MAAS)."""
        return self.status == "done"

    def message(self):
        """A MAAS-style one-line reason for a failure."""
        if self.status == "timeout":
            return "Node installation failure - cloud-init did not finish within %.0f s" % self.elapsed
        if self.status == "stopped":
            return "Node installation failure - node stopped before cloud-init finished"
        if self.status != "error":
            return ""
        first = self.errors[0] if self.errors else "unknown error"
        reason = first
        match = re.match(r"^\(\s*'[^']+',\s*(.*)\)$", first, re.S)
        if match:
            reason = match.group(1)
        return "Node installation failure - 'cloudinit' '%s' failed: running '%s': %s" % (
            self.stage or "unknown", self.module or "unknown", reason)

    def as_dict(self):
        """The result as plain data."""
        return {"status": self.status, "errors": self.errors, "stage": self.stage, "module": self.module,
                "elapsed": round(self.elapsed, 2)}

    def __repr__(self):
        return "CloudInitResult(%r)" % self.as_dict()


def parse_status(status):
    """Turn ``cloud-init status --format json`` output (a dict) into a CloudInitResult (or None: still running)."""
    state = status.get("status")
    if state in ("not started", "running", None):
        return None
    if state == "done":
        return CloudInitResult("done", detail=status)
    if state == "disabled":
        return CloudInitResult("error", ["cloud-init is disabled on this node"], detail=status)
    errors = list(status.get("errors") or [])
    stage = module = None
    for name in STAGES:
        stage_errors = (status.get(name) or {}).get("errors") or []
        if stage_errors:
            stage = name
            match = _MODULE_RE.match(stage_errors[0])
            module = match.group(1) if match else None
            break
    if module is None and errors:
        match = _MODULE_RE.match(errors[0])
        module = match.group(1) if match else None
    return CloudInitResult("error", errors or ["cloud-init reported %r" % state], stage, module, detail=status)


def free_subnet(start=100, end=250, base="172.30"):
    """The first ``<base>.N.0/24`` no Docker network uses (for tests that want a network of their own)."""
    used = []
    for net_id in docker("network", "ls", "-q").split():
        out = docker("network", "inspect", "--format", "{{range .IPAM.Config}}{{.Subnet}} {{end}}", net_id,
                     check=False)
        for text in out.split():
            try:
                used.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                pass
    for third in range(start, end):
        candidate = ipaddress.ip_network("%s.%d.0/24" % (base, third))
        if not any(candidate.overlaps(net) for net in used):
            return str(candidate)
    raise DockerError("no free /24 in %s.%d-%d.0" % (base, start, end))


class NodeDriver:
    """Create, boot, watch, power and remove lab node containers."""

    def __init__(self, *, image=IMAGE, network=NETWORK, subnet=SUBNET, prefix=PREFIX, state_dir=None,
                 extra_labels=None):
        """Nodes run ``image`` on ``network`` (a bridge on ``subnet``); per-node files go under ``state_dir``/nodes."""
        self.image = image
        self.network = network
        self.subnet = subnet
        self.prefix = prefix
        self.state_dir = state_dir
        self.labels = dict({LABEL: "1"}, **(extra_labels or {}))

    def _label_args(self, extra=None):
        args = []
        for key, value in dict(self.labels, **(extra or {})).items():
            args += ["--label", "%s=%s" % (key, value)]
        return args

    def check_engine(self):
        """Raise DockerError unless the engine answers and the node image exists."""
        docker("version", "--format", "{{.Server.Version}}", timeout=20)
        if subprocess.run(["docker", "image", "inspect", self.image], capture_output=True,
                          check=False).returncode != 0:
            raise DockerError("image %s is missing: run make lab-images" % self.image)

    def ensure_network(self):
        """Create the lab bridge network unless it exists (another run may be creating it at the same time)."""
        if subprocess.run(["docker", "network", "inspect", self.network], capture_output=True, timeout=30,
                          check=False).returncode == 0:
            return False
        command = ["network", "create", "--driver", "bridge"] + self._label_args()
        if self.subnet:
            command += ["--subnet", self.subnet]
        try:
            docker(*(command + [self.network]), timeout=60)
        except DockerError as exc:
            if "already exists" not in str(exc):
                raise
            return False
        return True

    def remove_network(self):
        """Remove the lab network (fails while containers are attached)."""
        docker("network", "rm", self.network, check=False, timeout=60)

    def name(self, system_id):
        """The container name of a machine."""
        return self.prefix + system_id

    def node_dir(self, system_id):
        """The per-node directory (seed copy, logs); None without a state directory."""
        if not self.state_dir:
            return None
        return os.path.join(self.state_dir, "nodes", system_id)

    def _write_seed(self, directory, system_id, hostname, user_data):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        if user_data is None:
            user_data = b"#cloud-config\n{}\n"
        if isinstance(user_data, str):
            user_data = user_data.encode()
        # Root-only, as MAAS serves user-data to the machine alone: it carries secrets (a host config key...).
        path = os.path.join(directory, "user-data")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            handle.write(user_data)
        os.chmod(path, 0o600)
        with open(os.path.join(directory, "meta-data"), "w", encoding="utf-8") as handle:
            handle.write("instance-id: %s\nlocal-hostname: %s\n" % (system_id, hostname))

    def used_addresses(self):
        """The IPv4 addresses of every container on the lab network (this lab's and any other's)."""
        out = docker("network", "inspect", "--format", "{{range .Containers}}{{.IPv4Address}} {{end}}", self.network,
                     check=False, timeout=30)
        return {item.split("/")[0] for item in out.split() if item}

    def boot(self, system_id, hostname, user_data=None, address=None):
        """(Re)create the node of ``system_id`` with a fresh NoCloud seed and start it; return the container id.

        ``address``: the node's IPv4 address on the lab network (Docker picks one when None)."""
        name = self.name(system_id)
        self.remove(system_id)
        node_dir = self.node_dir(system_id)
        scratch = None
        if node_dir:
            seed = os.path.join(node_dir, "seed")
        else:
            scratch = tempfile.mkdtemp(prefix="gough-lab-seed-")
            seed = scratch
        try:
            self._write_seed(seed, system_id, hostname, user_data)
            command = ["create", "--name", name, "--hostname", hostname, "--network", self.network,
                       # NET_ADMIN acts only on the node's own network namespace: nftables can load its ruleset
                       # (the base template's firewall), as on a server. Never CAP_SYS_TIME: chrony runs with -x.
                       "--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
                       "--tmpfs", "/run", "--tmpfs", "/run/lock", "--stop-timeout", "10"]
            if address:
                command += ["--ip", address]
            command += _cgroup_args()
            command += self._label_args({"gough-lab.system-id": system_id, "gough-lab.hostname": hostname})
            container_id = docker(*(command + [self.image]), timeout=120).strip()
            docker("cp", seed + "/.", "%s:%s/" % (name, SEED_DIR), timeout=60)
            docker("start", name, timeout=120)
        finally:
            if scratch:
                shutil.rmtree(scratch, ignore_errors=True)
        return container_id

    def inspect(self, system_id):
        """``docker inspect`` of the node as a dict, or None when there is no such container."""
        out = docker("inspect", "--type", "container", self.name(system_id), check=False, timeout=30)
        try:
            return json.loads(out)[0]
        except (ValueError, IndexError):
            return None

    def exists(self, system_id):
        """True when the node's container exists (running or not)."""
        return self.inspect(system_id) is not None

    def is_running(self, system_id):
        """True when the node's container runs."""
        info = self.inspect(system_id)
        return bool(info and info["State"]["Running"])

    def address(self, system_id, timeout=15.0):
        """The node's IPv4 address on the lab network (waits for it up to ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.inspect(system_id)
            networks = ((info or {}).get("NetworkSettings") or {}).get("Networks") or {}
            address = (networks.get(self.network) or {}).get("IPAddress")
            if address:
                return address
            if time.monotonic() > deadline:
                raise DockerError("node %s has no address on %s" % (self.name(system_id), self.network))
            time.sleep(0.2)

    def cloud_init_status(self, system_id):
        """``cloud-init status --format json`` inside the node as a dict (None when it cannot be read yet)."""
        # Exit status 1 means error and 2 degraded/recoverable; the JSON is on stdout either way.
        out = docker("exec", self.name(system_id), "cloud-init", "status", "--format", "json", check=False,
                     timeout=60)
        try:
            return json.loads(out)
        except ValueError:
            return None

    def wait_cloud_init(self, system_id, timeout=600.0, interval=0.5, cancelled=None, settle=20.0):
        """Poll until cloud-init is done or failed, the node stops, ``timeout`` passes or ``cancelled()`` is true.

        An error that is only the systemd-unit fallback (see SYSTEMD_FALLBACK) is polled again for up to ``settle``
        seconds, until the stage's own errors are written; if they never come, that error is the result.
        """
        started = time.monotonic()
        fallback = None
        while True:
            status = self.cloud_init_status(system_id)
            result = parse_status(status) if status else None
            elapsed = time.monotonic() - started
            if result is not None and result.systemd_fallback:
                fallback = fallback or (result, elapsed)
                result = None
            if result is None and fallback is not None and elapsed - fallback[1] >= settle:
                result = fallback[0]
            if result is not None:
                result.elapsed = elapsed
                return result
            if cancelled is not None and cancelled():
                return CloudInitResult("cancelled", elapsed=elapsed)
            if status is None and not self.is_running(system_id):
                return CloudInitResult("stopped", ["node %s is not running" % self.name(system_id)], elapsed=elapsed)
            if elapsed > timeout:
                return CloudInitResult("timeout", ["cloud-init did not finish within %.0f s" % timeout],
                                       elapsed=elapsed)
            time.sleep(interval)

    def read_file(self, system_id, path):
        """The content of ``path`` inside the node (bytes), or None when it cannot be read."""
        result = subprocess.run(["docker", "exec", self.name(system_id), "cat", path], capture_output=True,
                                timeout=60, check=False)
        return result.stdout if result.returncode == 0 else None

    def power_off(self, system_id):
        """Stop the node (systemd shuts down on SIGRTMIN+3, the image's stop signal)."""
        docker("stop", self.name(system_id), check=False, timeout=60)

    def power_on(self, system_id):
        """Start a stopped node (cloud-init sees the same instance-id and does not run the per-instance steps again)."""
        docker("start", self.name(system_id), check=False, timeout=120)

    def remove(self, system_id, erase=False):
        """Remove the node's container; ``erase`` also deletes its per-node directory (the seed copy, logs)."""
        docker("rm", "-f", "-v", self.name(system_id), check=False, timeout=120)
        node_dir = self.node_dir(system_id)
        if erase and node_dir:
            shutil.rmtree(node_dir, ignore_errors=True)

    def list_nodes(self):
        """Names of the containers this driver's prefix owns."""
        out = docker("ps", "-a", "--filter", "label=%s=1" % LABEL, "--format", "{{.Names}}", timeout=30)
        return [name for name in out.split() if name.startswith(self.prefix)]


def remove_all(label=LABEL):
    """Remove every container and network labelled ``<label>=1`` (``make lab-down``); return how many."""
    containers = docker("ps", "-aq", "--filter", "label=%s=1" % label, timeout=30).split()
    if containers:
        docker("rm", "-f", "-v", *containers, check=False, timeout=300)
    networks = docker("network", "ls", "-q", "--filter", "label=%s=1" % label, timeout=30).split()
    for net in networks:
        docker("network", "rm", net, check=False, timeout=60)
    return len(containers), len(networks)


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["down"]:
        print("gough-lab nodes: removed %d containers and %d networks" % remove_all())
        sys.exit(0)
    print("usage: python -m gough_lab.nodes down", file=sys.stderr)
    sys.exit(2)
