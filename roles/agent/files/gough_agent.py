# Copyright: Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gough-agent: a small Prometheus exporter for servers Gough provisioned.

Standard library only (Python 3.10+). It serves two read-only endpoints over HTTPS with mutual TLS:

* ``/metrics``: host metrics (CPU, memory, load, filesystems, disks, network, uptime) under node_exporter's names,
  and Gough's own (cloud-init, osquery/fleetd, reboot required, failed systemd units, time sync, provisioning facts);
* ``/healthz``: JSON of named checks; HTTP 503 when a required check fails.

One event loop serves every connection (no thread per connection), with a deadline in every state and limits per
client address and in all that keep room for the configured scrapers: idle, slow or malformed clients cannot
starve the scrapes (docs/agent.md, "What the agent withstands").

No endpoint runs commands or changes anything. Optionally it calls an AWX provisioning callback once after first
boot (retries with capped backoff) and records that it did in its state directory.

SIGHUP reloads the TLS certificate, key and client CA from the configured files (``systemctl reload``): new
connections use them, connections already open finish on the old ones, and a certificate that does not load is
logged and the old one kept.

Usage: python3 -I -S gough_agent.py --config /etc/gough-agent/agent.json [--check-config]
A bad configuration exits with status 78 and a message naming the field.
"""

import base64
import calendar
import collections
import ipaddress
import json
import math
import os
import queue
import random
import resource
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

VERSION = "0.1.0"
EX_CONFIG = 78
DEFAULT_CONFIG = "/etc/gough-agent/agent.json"
CLOUD_INIT_STATES = ("not_run", "running", "done", "error", "disabled")
SYSTEM_STATES = ("initializing", "starting", "running", "degraded", "maintenance", "stopping", "offline", "unknown")
REGISTRATION_STATES = ("disabled", "pending", "registered", "failed")
CHECK_NAMES = ("cloud_init", "failed_units", "filesystems", "time_sync", "osquery", "registration", "collectors")
# Pseudo and virtual file systems never reported (they have no capacity worth watching).
PSEUDO_FS = frozenset((
    "autofs", "binfmt_misc", "bpf", "cgroup", "cgroup2", "configfs", "debugfs", "devpts", "devtmpfs", "efivarfs",
    "fusectl", "hugetlbfs", "mqueue", "nsfs", "proc", "pstore", "ramfs", "rpc_pipefs", "securityfs", "selinuxfs",
    "squashfs", "sysfs", "tracefs", "fuse.lxcfs", "fuse.gvfsd-fuse", "fuse.portal", "iso9660", "erofs",
))
NETWORK_FS = frozenset(("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.sshfs", "9p", "lustre"))
SKIP_MOUNT_PREFIXES = ("/dev/", "/proc/", "/sys/", "/run/credentials/", "/var/lib/docker/", "/var/lib/containers/",
                       "/var/lib/kubelet/", "/snap/", "/run/user/", "/run/docker/", "/run/containerd/")
# Reasons and phases of the connection metrics (every one is exported, 0 until it happens).
REFUSE_REASONS = ("per_source_limit", "connection_limit")
EVICT_REASONS = ("connection_limit", "handshake_limit")
TIMEOUT_PHASES = ("handshake", "request", "idle", "write")
HANDSHAKE_FAILURES = ("no_certificate", "bad_certificate", "protocol", "timeout", "closed")
CPU_MODES = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
NETDEV_FIELDS = ("receive_bytes", "receive_packets", "receive_errs", "receive_drop", "receive_fifo", "receive_frame",
                 "receive_compressed", "receive_multicast", "transmit_bytes", "transmit_packets", "transmit_errs",
                 "transmit_drop", "transmit_fifo", "transmit_colls", "transmit_carrier", "transmit_compressed")

# Every configuration field: (type(s), default). None as a default means "no default: optional and empty".
CONFIG_FIELDS = {
    "listen_address": (str, "0.0.0.0"),
    "port": (int, 9555),
    "plain_http": (bool, False),
    "tls_cert": (str, ""),
    "tls_key": (str, ""),
    "tls_client_ca": (str, ""),
    "state_dir": (str, "/var/lib/gough-agent"),
    "maas_system_id": (str, ""),
    "template": (str, ""),
    "cache_ttl": ((int, float), 30),
    "command_timeout": ((int, float), 5),
    "max_connections": (int, 4096),
    "max_connections_per_source": (int, 32),
    "max_handshakes": (int, 256),
    "scrapers": (list, []),
    "handshake_timeout": ((int, float), 5),
    "request_timeout": ((int, float), 5),
    "idle_timeout": ((int, float), 60),
    "healthz_checks": (list, ["cloud_init", "failed_units", "filesystems", "time_sync", "collectors"]),
    "filesystem_max_used_percent": ((int, float), 95),
    "osquery_processes": (list, ["osqueryd", "orbit", "osqueryd-lab"]),
    "osquery_node_key_paths": (list, ["/opt/orbit/secret-orbit-node-key.txt", "/var/osquery/osqueryd-lab.node_key"]),
    "callback_url": (str, ""),
    "callback_host_config_key": (str, ""),
    "callback_ca_file": (str, ""),
    "callback_validate_certs": (bool, True),
    "callback_max_attempts": (int, 20),
    "callback_backoff_initial": ((int, float), 5),
    "callback_backoff_max": ((int, float), 300),
    "callback_timeout": ((int, float), 30),
    "callback_wait_cloud_init": (bool, True),
}


class ConfigError(Exception):
    """The configuration is unusable; the message names the field."""


def log(priority, message):
    """One line to stderr with a syslog priority prefix, which journald turns into the entry's priority."""
    sys.stderr.write("<%d>gough-agent: %s\n" % (priority, message))
    sys.stderr.flush()


def _readable_file(config, field):
    path = config[field]
    if not path:
        raise ConfigError("field '%s': required unless plain_http is true" % field)
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise ConfigError("field '%s': cannot read %s: %s" % (field, path, exc.strerror or exc)) from exc


def load_config(path):
    """Read and validate the JSON configuration file; return a dict with every field (defaults filled in)."""
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as exc:
        raise ConfigError("cannot read the configuration file %s: %s" % (path, exc.strerror or exc)) from exc
    except ValueError as exc:
        raise ConfigError("the configuration file %s is not valid JSON: %s" % (path, exc)) from exc
    if not isinstance(raw, dict):
        raise ConfigError("the configuration file %s must hold a JSON object" % path)
    config = {}
    for field in raw:
        if field not in CONFIG_FIELDS:
            raise ConfigError("field '%s': unknown (known fields: %s)" % (field, ", ".join(sorted(CONFIG_FIELDS))))
    for field, (types, default) in CONFIG_FIELDS.items():
        value = raw.get(field, default)
        # bool is an int in Python; a number field must not accept true/false and the reverse.
        wrong_bool = isinstance(value, bool) and types is not bool
        if wrong_bool or not isinstance(value, types):
            names = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
            raise ConfigError("field '%s': must be %s, got %s" % (field, names.replace("str", "a string")
                                                                  .replace("float", "number").replace("int", "integer")
                                                                  .replace("bool", "true or false")
                                                                  .replace("list", "a list"),
                                                                  json.dumps(value)[:80]))
        config[field] = list(value) if isinstance(value, list) else value
    if not 0 <= config["port"] < 65536:  # 0 picks a free port (logged at start)
        raise ConfigError("field 'port': must be between 0 and 65535, got %d" % config["port"])
    for field in ("cache_ttl", "command_timeout", "callback_backoff_initial", "callback_backoff_max",
                  "callback_timeout"):
        if config[field] < 0:
            raise ConfigError("field '%s': must not be negative" % field)
    if config["command_timeout"] == 0 or config["callback_timeout"] == 0:
        raise ConfigError("field '%s': must be positive" % ("command_timeout" if config["command_timeout"] == 0
                                                            else "callback_timeout"))
    for field in ("max_connections", "max_connections_per_source", "max_handshakes"):
        if config[field] < 1:
            raise ConfigError("field '%s': must be at least 1" % field)
    for field in ("handshake_timeout", "request_timeout", "idle_timeout"):
        if not 0 < config[field] <= 3600:
            raise ConfigError("field '%s': must be above 0 and at most 3600 seconds" % field)
    networks = []
    for index, item in enumerate(config["scrapers"]):
        try:
            networks.append(ipaddress.ip_network(item, strict=False) if isinstance(item, str) else None)
        except ValueError:
            networks.append(None)
        if networks[-1] is None:
            raise ConfigError("field 'scrapers': item %d (%s) is not an IP address or network such as 192.0.2.10 or "
                              "2001:db8::/64" % (index, json.dumps(item)[:80]))
    if not 0 < config["filesystem_max_used_percent"] <= 100:
        raise ConfigError("field 'filesystem_max_used_percent': must be above 0 and at most 100")
    if config["callback_max_attempts"] < 1:
        raise ConfigError("field 'callback_max_attempts': must be at least 1")
    for field in ("healthz_checks", "osquery_processes", "osquery_node_key_paths"):
        if not all(isinstance(item, str) and item for item in config[field]):
            raise ConfigError("field '%s': must be a list of non-empty strings" % field)
    unknown = [name for name in config["healthz_checks"] if name not in CHECK_NAMES]
    if unknown:
        raise ConfigError("field 'healthz_checks': unknown check %s (known: %s)" % (unknown[0], ", ".join(CHECK_NAMES)))
    if not os.path.isabs(config["state_dir"]):
        raise ConfigError("field 'state_dir': must be an absolute path")
    if config["callback_url"]:
        if not config["callback_url"].startswith("https://"):
            raise ConfigError("field 'callback_url': must start with https:// (the host config key is a secret)")
        if not config["callback_host_config_key"]:
            raise ConfigError("field 'callback_host_config_key': required when callback_url is set")
        if config["callback_ca_file"]:
            _readable_file(config, "callback_ca_file")
    if not config["plain_http"]:
        for field in ("tls_cert", "tls_key", "tls_client_ca"):
            _readable_file(config, field)
    return config


def server_tls_context(config):
    """The server's TLS context: TLS 1.2 or newer, a client certificate signed by tls_client_ca required."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.verify_mode = ssl.CERT_REQUIRED
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        context.load_cert_chain(config["tls_cert"], config["tls_key"])
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError("fields 'tls_cert'/'tls_key': cannot load the certificate and key: %s" % exc) from exc
    try:
        context.load_verify_locations(cafile=config["tls_client_ca"])
    except (ssl.SSLError, OSError) as exc:
        raise ConfigError("field 'tls_client_ca': cannot load the CA certificate: %s" % exc) from exc
    return context


# --- Reading the system ------------------------------------------------------------------------------------------

def read_text(path):
    """The content of a small file (str)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.read()


class TTLCache:
    """Keeps the result of an expensive function for ``ttl`` seconds (thread-safe; one caller computes)."""

    def __init__(self, function, ttl):
        self.function = function
        self.ttl = ttl
        self.lock = threading.Lock()
        self.stamp = None
        self.value = None
        self.error = None

    def get(self):
        """The cached value (or re-raise the cached error); recompute when older than ttl."""
        with self.lock:
            now = time.monotonic()
            if self.stamp is None or now - self.stamp >= self.ttl:
                try:
                    self.value, self.error = self.function(), None
                except Exception as exc:  # pylint: disable=broad-except
                    self.value, self.error = None, exc
                self.stamp = now
            if self.error is not None:
                raise self.error
            return self.value


def run_command(argv, timeout):
    """stdout of a short read-only command; it runs with a timeout and a minimal environment, never a shell."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False,
                            stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout


def unescape_mount(text):
    """Undo the octal escapes of /proc/*/mounts (\\040 for a space, ...)."""
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 3 < len(text) and text[i + 1:i + 4].isdigit():
            out.append(chr(int(text[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def real_mounts():
    """[(device, mountpoint, fstype, readonly)] of the host's real file systems, one per mount point.

    The mount table comes from PID 1 when it is readable (the host's view; this service's own namespace has
    extra read-only bind mounts from its sandbox), else from this process.
    """
    for source in ("/proc/1/mounts", "/proc/self/mounts"):
        try:
            text = read_text(source)
            break
        except OSError:
            continue
    else:
        return []
    mounts = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        device, mountpoint, fstype = unescape_mount(fields[0]), unescape_mount(fields[1]), fields[2]
        if fstype in PSEUDO_FS or mountpoint in ("/dev", "/proc", "/sys") or \
                (mountpoint + "/").startswith(SKIP_MOUNT_PREFIXES):
            continue
        mounts[mountpoint] = (device, mountpoint, fstype, "ro" in fields[3].split(","))
    return list(mounts.values())


def _statvfs_bounded(path, timeout):
    """statvfs in a helper thread so a hung network mount cannot hang a scrape."""
    box = []
    worker = threading.Thread(target=lambda: box.append(os.statvfs(path)), daemon=True)
    worker.start()
    worker.join(timeout)
    if not box:
        raise TimeoutError("statvfs %s timed out" % path)
    return box[0]


def _der_element(data, offset):
    """(tag, start, end) of the DER element at ``offset``: its tag and where its content starts and ends."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag, length = data[offset], data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4 or offset + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[offset:offset + count], "big")
        offset += count
    if offset + length > len(data):
        raise ValueError("truncated DER")
    return tag, offset, offset + length


def certificate_not_after(der):
    """The notAfter of one DER X.509 certificate, in Unix seconds (RFC 5280 4.1: UTCTime or GeneralizedTime)."""
    tag, start, _end = _der_element(der, 0)  # Certificate
    if tag != 0x30:
        raise ValueError("not a certificate")
    tag, position, _end = _der_element(der, start)  # tbsCertificate
    if tag != 0x30:
        raise ValueError("not a certificate")
    if _der_element(der, position)[0] == 0xA0:  # [0] version, absent in v1 certificates
        position = _der_element(der, position)[2]
    for _field in ("serialNumber", "signature", "issuer"):
        position = _der_element(der, position)[2]
    tag, start, _end = _der_element(der, position)  # validity
    if tag != 0x30:
        raise ValueError("no validity in the certificate")
    tag, start, end = _der_element(der, _der_element(der, start)[2])  # notAfter, after notBefore
    text = der[start:end].decode("ascii")
    if tag == 0x17 and len(text) == 13 and text.endswith("Z"):  # UTCTime YYMMDDHHMMSSZ
        year = int(text[:2])
        text = ("19" if year >= 50 else "20") + text  # RFC 5280 4.1.2.5.1
    elif not (tag == 0x18 and len(text) == 15 and text.endswith("Z")):  # GeneralizedTime YYYYMMDDHHMMSSZ
        raise ValueError("unsupported notAfter encoding")
    return calendar.timegm((int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                            int(text[12:14]), 0, 0, 0))


def pem_certificates_not_after(text):
    """notAfter (Unix seconds) of every certificate in a PEM text; ValueError when there is none."""
    found = []
    for block in text.split("-----BEGIN CERTIFICATE-----")[1:]:
        body, sep, _rest = block.partition("-----END CERTIFICATE-----")
        if not sep:
            raise ValueError("unterminated PEM certificate")
        found.append(certificate_not_after(base64.b64decode("".join(body.split()), validate=True)))
    if not found:
        raise ValueError("no PEM certificate")
    return found


class Family:
    """One metric family: name, type, help text and its samples [(labels dict or None, value)]."""

    __slots__ = ("name", "kind", "help", "samples")

    def __init__(self, name, kind, help_text, samples=None):
        self.name = name
        self.kind = kind
        self.help = help_text
        self.samples = samples if samples is not None else []

    def add(self, value, labels=None):
        """Append one sample."""
        self.samples.append((labels, value))
        return self


def format_value(value):
    """A sample value in the text exposition format."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def escape_label(value):
    """A label value escaped for the text format (backslash, double quote, newline)."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text):
    """HELP text escaped for the text format (backslash, newline)."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def render(families):
    """The families in Prometheus text exposition format 0.0.4 (one HELP and TYPE per family)."""
    parts = []
    for family in families:
        if not family.samples:
            continue
        parts.append("# HELP %s %s\n# TYPE %s %s\n" % (family.name, escape_help(family.help), family.name, family.kind))
        for labels, value in family.samples:
            if labels:
                text = ",".join('%s="%s"' % (k, escape_label(v)) for k, v in labels.items())
                parts.append("%s{%s} %s\n" % (family.name, text, format_value(value)))
            else:
                parts.append("%s %s\n" % (family.name, format_value(value)))
    return "".join(parts)


class Collector:
    """Reads the system and turns it into metric families and health checks."""

    def __init__(self, config, registration):
        """``registration`` is the Registration object (its state is reported); expensive reads are cached."""
        self.config = config
        self.registration = registration
        self.clock_ticks = float(os.sysconf("SC_CLK_TCK"))
        self.start_time = time.time()
        ttl = config["cache_ttl"]
        self.systemd_cache = TTLCache(self._read_systemd, ttl)
        self.time_cache = TTLCache(self._read_time_sync, max(ttl, 60))
        self.osquery_cache = TTLCache(self._read_osquery, ttl)
        self.cloud_init_cache = TTLCache(self.read_cloud_init, min(ttl, 10))
        self.stuck_mounts = set()
        self.cert_cache = {}
        self.last_errors = {}
        self.stats_lock = threading.Lock()
        self.requests = {}
        # Connection counters, written by the server's event loop and read by scrapes (under stats_lock).
        self.connections_open = 0
        self.connections_max = 0
        self.connections_accepted = 0
        self.connections_refused = dict.fromkeys(REFUSE_REASONS, 0)
        self.connections_evicted = dict.fromkeys(EVICT_REASONS, 0)
        self.connection_timeouts = dict.fromkeys(TIMEOUT_PHASES, 0)
        self.handshake_failures = dict.fromkeys(HANDSHAKE_FAILURES, 0)

    # --- host metrics under node_exporter's names ------------------------------------------------------------
    def cpu(self):
        """node_cpu_seconds_total and friends from /proc/stat."""
        cpu = Family("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.")
        extra = []
        ticks = self.clock_ticks
        for line in read_text("/proc/stat").splitlines():
            name, _sep, rest = line.partition(" ")
            if name.startswith("cpu") and name != "cpu":
                values = rest.split()
                core = name[3:]
                for mode, value in zip(CPU_MODES, values):
                    cpu.add(int(value) / ticks, {"cpu": core, "mode": mode})
            elif name == "ctxt":
                extra.append(Family("node_context_switches_total", "counter", "Total number of context switches.")
                             .add(int(rest)))
            elif name == "btime":
                extra.append(Family("node_boot_time_seconds", "gauge", "Node boot time, in unixtime.").add(int(rest)))
            elif name == "processes":
                extra.append(Family("node_forks_total", "counter", "Total number of forks.").add(int(rest)))
            elif name == "procs_running":
                extra.append(Family("node_procs_running", "gauge", "Number of processes in runnable state.")
                             .add(int(rest)))
            elif name == "procs_blocked":
                extra.append(Family("node_procs_blocked", "gauge", "Number of processes blocked waiting for I/O.")
                             .add(int(rest)))
        return [cpu] + extra

    def memory(self):
        """node_memory_<Field>[_bytes] for every field of /proc/meminfo."""
        families = []
        for line in read_text("/proc/meminfo").splitlines():
            key, _sep, rest = line.partition(":")
            values = rest.split()
            if not values:
                continue
            key = key.replace("(", "_").replace(")", "")
            if len(values) > 1 and values[1] == "kB":
                families.append(Family("node_memory_%s_bytes" % key, "gauge", "Memory information field %s_bytes."
                                       % key).add(int(values[0]) * 1024))
            else:
                families.append(Family("node_memory_%s" % key, "gauge", "Memory information field %s." % key)
                                .add(int(values[0])))
        return families

    def load(self):
        """node_load1/5/15 from /proc/loadavg."""
        values = read_text("/proc/loadavg").split()
        return [Family("node_load%s" % span, "gauge", "%s-minute load average." % span).add(float(value))
                for span, value in zip(("1", "5", "15"), values[:3])]

    def uptime(self):
        """Uptime and the current time."""
        up = float(read_text("/proc/uptime").split()[0])
        return [Family("gough_uptime_seconds", "gauge", "Seconds since the node booted (/proc/uptime).").add(up),
                Family("node_time_seconds", "gauge", "System time in seconds since epoch (1970).").add(time.time())]

    def filesystems(self):
        """node_filesystem_* of real mounts (statvfs; network mounts bounded by command_timeout)."""
        names = ("size_bytes", "free_bytes", "avail_bytes", "files", "files_free", "readonly", "device_error")
        helps = ("Filesystem size in bytes.", "Filesystem free space in bytes.",
                 "Filesystem space available to non-root users in bytes.", "Filesystem total file nodes.",
                 "Filesystem total free file nodes.", "Filesystem read-only status.",
                 "Whether an error occurred while getting statistics for the given device.")
        families = [Family("node_filesystem_" + name, "gauge", text) for name, text in zip(names, helps)]
        size, free, avail, files, files_free, readonly, device_error = families
        for device, mountpoint, fstype, is_ro in real_mounts():
            labels = {"device": device, "fstype": fstype, "mountpoint": mountpoint}
            try:
                if fstype in NETWORK_FS or fstype.startswith("fuse."):
                    if mountpoint in self.stuck_mounts:
                        raise TimeoutError("still stuck")
                    try:
                        st = _statvfs_bounded(mountpoint, self.config["command_timeout"])
                    except TimeoutError:
                        self.stuck_mounts.add(mountpoint)
                        raise
                else:
                    st = os.statvfs(mountpoint)
            except OSError:
                device_error.add(1, labels)
                continue
            if st.f_blocks == 0:
                continue
            device_error.add(0, labels)
            size.add(st.f_blocks * st.f_frsize, labels)
            free.add(st.f_bfree * st.f_frsize, labels)
            avail.add(st.f_bavail * st.f_frsize, labels)
            files.add(st.f_files, labels)
            files_free.add(st.f_ffree, labels)
            readonly.add(1 if is_ro else 0, labels)
        return families

    def disks(self):
        """node_disk_* of whole disks from /proc/diskstats (no partitions, loop or ram devices)."""
        spec = (  # (field index after the name, family name, help, factor)
            (0, "reads_completed_total", "The total number of reads completed successfully.", 1),
            (1, "reads_merged_total", "The total number of reads merged.", 1),
            (2, "read_bytes_total", "The total number of bytes read successfully.", 512),
            (3, "read_time_seconds_total", "The total number of seconds spent by all reads.", 0.001),
            (4, "writes_completed_total", "The total number of writes completed successfully.", 1),
            (5, "writes_merged_total", "The number of writes merged.", 1),
            (6, "written_bytes_total", "The total number of bytes written successfully.", 512),
            (7, "write_time_seconds_total", "This is the total number of seconds spent by all writes.", 0.001),
            (8, "io_now", "The number of I/Os currently in progress.", 1),
            (9, "io_time_seconds_total", "Total seconds spent doing I/Os.", 0.001),
            (10, "io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.", 0.001),
        )
        families = [Family("node_disk_" + name, "gauge" if name == "io_now" else "counter", text)
                    for _index, name, text, _factor in spec]
        for line in read_text("/proc/diskstats").splitlines():
            fields = line.split()
            if len(fields) < 14 or not is_whole_disk(fields[2]):
                continue
            values = fields[3:]
            labels = {"device": fields[2]}
            for family, (index, _name, _text, factor) in zip(families, spec):
                raw = int(values[index])
                family.add(raw * factor if factor != 1 else raw, labels)
        return families

    def network(self):
        """node_network_{receive,transmit}_*_total per interface from /proc/net/dev."""
        families = [Family("node_network_%s_total" % name, "counter",
                           "Network device statistic %s." % name) for name in NETDEV_FIELDS]
        for line in read_text("/proc/net/dev").splitlines()[2:]:
            name, _sep, rest = line.partition(":")
            values = rest.split()
            if len(values) < 16:
                continue
            labels = {"device": name.strip()}
            for family, value in zip(families, values):
                family.add(int(value), labels)
        return families

    def process(self):
        """The agent's own footprint (process_* names, as every Prometheus client library exports them)."""
        times = os.times()
        with open("/proc/self/statm", encoding="ascii") as handle:
            resident_pages = int(handle.read().split()[1])
        return [
            Family("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.")
            .add(times.user + times.system),
            Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
            .add(resident_pages * os.sysconf("SC_PAGE_SIZE")),
            Family("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.")
            .add(self.start_time),
        ]

    def _not_after(self, path):
        """Earliest notAfter in the PEM file at ``path``, parsed again only when the file changed (stat per scrape)."""
        info = os.stat(path)
        key = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self.cert_cache.get(path)
        if cached is None or cached[0] != key:
            cached = (key, min(pem_certificates_not_after(read_text(path))))
            self.cert_cache[path] = cached
        return cached[1]

    def certificates(self):
        """gough_tls_cert_not_after_seconds of the agent's server certificate and of the CA it trusts for clients."""
        family = Family("gough_tls_cert_not_after_seconds", "gauge",
                        "notAfter of the agent's TLS certificates in Unix seconds (server: its own certificate; "
                        "client_ca: the CA that signs scraper certificates, the earliest when the file has several).")
        if not self.config["plain_http"]:
            for label, field in (("server", "tls_cert"), ("client_ca", "tls_client_ca")):
                family.add(self._not_after(self.config[field]), {"cert": label})
        return [family]

    # --- Gough's own metrics ---------------------------------------------------------------------------------
    @staticmethod
    def read_cloud_init(base="/run/cloud-init", lib="/var/lib/cloud"):
        """{state, errors, recoverable, datasource} from /run/cloud-init (files readable by any user)."""
        if os.path.exists(os.path.join(base, "disabled")) or (not os.path.isdir(base) and not os.path.isdir(lib)):
            return {"state": "disabled", "errors": 0, "recoverable": 0, "datasource": ""}
        result = status = None
        try:
            result = json.loads(read_text(os.path.join(base, "result.json"))).get("v1") or {}
        except (OSError, ValueError):
            pass
        try:
            status = json.loads(read_text(os.path.join(base, "status.json"))).get("v1") or {}
        except (OSError, ValueError):
            pass
        recoverable = 0
        for stage in (status or {}).values():
            if isinstance(stage, dict):
                for messages in (stage.get("recoverable_errors") or {}).values():
                    recoverable += len(messages) if isinstance(messages, list) else 1
        if result is not None:
            errors = len(result.get("errors") or [])
            return {"state": "error" if errors else "done", "errors": errors, "recoverable": recoverable,
                    "datasource": str(result.get("datasource") or "")}
        if status is not None:
            errors = sum(len((stage or {}).get("errors") or []) for stage in status.values() if isinstance(stage, dict))
            return {"state": "running", "errors": errors, "recoverable": recoverable,
                    "datasource": str(status.get("datasource") or "")}
        return {"state": "not_run", "errors": 0, "recoverable": 0, "datasource": ""}

    def cloud_init(self):
        """gough_cloud_init_* families."""
        info = self.cloud_init_cache.get()
        state = Family("gough_cloud_init_status", "gauge",
                       "cloud-init status of this boot: 1 for the current state (not_run, running, done, error, "
                       "disabled).")
        for name in CLOUD_INIT_STATES:
            state.add(1 if info["state"] == name else 0, {"status": name})
        return [state,
                Family("gough_cloud_init_errors", "gauge", "Errors cloud-init reported this boot.").add(info["errors"]),
                Family("gough_cloud_init_recoverable_errors", "gauge",
                       "Recoverable errors (warnings) cloud-init reported this boot.").add(info["recoverable"])]

    def _read_osquery(self):
        wanted = set(self.config["osquery_processes"])
        found = {name: 0 for name in wanted}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/comm" % entry, encoding="utf-8", errors="replace") as handle:
                    comm = handle.read().strip()
            except OSError:
                continue
            if comm in wanted:
                found[comm] += 1
        # 1 when a node key file exists; 0 when every path is known to be absent; None (cannot tell) when a path
        # could not be checked, for example inside osquery's root-only /var/osquery.
        enrolled = 0
        for path in self.config["osquery_node_key_paths"]:
            try:
                if os.stat(path).st_size > 0:
                    enrolled = 1
                    break
            except FileNotFoundError:
                continue
            except OSError:
                enrolled = None
        return {"processes": found, "enrolled": enrolled}

    def osquery(self):
        """gough_osquery_* families: processes running and node key present."""
        info = self.osquery_cache.get()
        processes = Family("gough_osquery_processes", "gauge", "Running processes of each osquery/fleetd program.")
        for name in sorted(info["processes"]):
            processes.add(info["processes"][name], {"name": name})
        families = [processes, Family("gough_osquery_running", "gauge",
                                      "1 when an osquery or fleetd process runs.")
                    .add(1 if any(info["processes"].values()) else 0)]
        if info["enrolled"] is not None:
            families.append(Family("gough_osquery_enrolled", "gauge",
                                   "1 when an osquery node key file exists (the node enrolled in Fleet).")
                            .add(info["enrolled"]))
        return families

    @staticmethod
    def reboot():
        """gough_reboot_required from /var/run/reboot-required (Debian and Ubuntu's marker)."""
        required = os.path.exists("/var/run/reboot-required")
        packages = 0
        if required:
            try:
                packages = len([line for line in read_text("/var/run/reboot-required.pkgs").splitlines() if line])
            except OSError:
                packages = 0
        return [Family("gough_reboot_required", "gauge", "1 when the system asks for a reboot.").add(int(required)),
                Family("gough_reboot_required_packages", "gauge", "Packages that asked for the reboot.")
                .add(packages)]

    def _read_systemd(self):
        timeout = self.config["command_timeout"]
        code, out = run_command(["systemctl", "show", "--property=SystemState", "--property=NFailedUnits"], timeout)
        if code != 0:
            raise RuntimeError("systemctl show failed (exit %d)" % code)
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        failed_count = int(props.get("NFailedUnits") or 0)
        failed = []
        if failed_count:
            code, out = run_command(["systemctl", "list-units", "--state=failed", "--plain", "--no-legend",
                                     "--no-pager", "--full"], timeout)
            failed = [line.split()[0] for line in out.splitlines() if line.strip()]
        return {"state": props.get("SystemState") or "unknown", "failed": failed[:100],
                "failed_count": max(failed_count, len(failed))}

    def systemd(self):
        """gough_systemd_* families (cached: systemctl costs a process)."""
        info = self.systemd_cache.get()
        state = Family("gough_systemd_system_state", "gauge", "systemd's system state: 1 for the current one.")
        for name in SYSTEM_STATES:
            state.add(1 if info["state"] == name else 0, {"state": name})
        unit = Family("gough_systemd_unit_failed", "gauge", "1 for each failed systemd unit (at most 100 listed).")
        for name in info["failed"]:
            unit.add(1, {"unit": name})
        return [state, Family("gough_systemd_failed_units", "gauge", "Number of failed systemd units.")
                .add(info["failed_count"]), unit]

    def _read_time_sync(self):
        code, out = run_command(["timedatectl", "show", "--property=NTPSynchronized", "--property=NTP"],
                                self.config["command_timeout"])
        if code != 0:
            raise RuntimeError("timedatectl show failed (exit %d)" % code)
        props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        return {"synchronized": props.get("NTPSynchronized") == "yes", "ntp": props.get("NTP") == "yes"}

    def time_sync(self):
        """gough_time_* families (timedatectl, cached)."""
        info = self.time_cache.get()
        return [Family("gough_time_synchronized", "gauge", "1 when the kernel clock is synchronised (NTP).")
                .add(int(info["synchronized"])),
                Family("gough_time_ntp_enabled", "gauge", "1 when a network time service is enabled.")
                .add(int(info["ntp"]))]

    def provisioning(self):
        """gough_provisioning_info and the registration state."""
        system_id = self.config["maas_system_id"]
        if not system_id:
            try:  # MAAS deploys with the machine's system_id as cloud-init's instance id.
                system_id = read_text("/var/lib/cloud/data/instance-id").strip()
            except OSError:
                system_id = ""
        state = Family("gough_agent_registration_state", "gauge",
                       "AWX provisioning callback: 1 for the current state (disabled, pending, registered, failed).")
        current = self.registration.state
        for name in REGISTRATION_STATES:
            state.add(1 if current == name else 0, {"state": name})
        return [Family("gough_provisioning_info", "gauge", "Provisioning facts of this node, as labels.")
                .add(1, {"maas_system_id": system_id, "template": self.config["template"]}),
                state]

    COLLECTORS = ("cpu", "memory", "load", "uptime", "filesystems", "disks", "network", "process", "cloud_init",
                  "osquery", "reboot", "systemd", "time_sync", "provisioning", "certificates")

    def collect(self):
        """Every family; a failing collector is reported in gough_agent_collector_success, not raised."""
        started = time.monotonic()
        families = [Family("gough_agent_build_info", "gauge", "Build information of the gough-agent; always 1.")
                    .add(1, {"version": VERSION, "python_version": "%d.%d.%d" % sys.version_info[:3]})]
        success = Family("gough_agent_collector_success", "gauge", "1 when the collector read its data.")
        for name in self.COLLECTORS:
            try:
                families.extend(getattr(self, name)())
                success.add(1, {"collector": name})
            except Exception as exc:  # pylint: disable=broad-except
                success.add(0, {"collector": name})
                message = str(exc)
                if self.last_errors.get(name) != message:  # once per distinct error, not once per scrape
                    self.last_errors[name] = message
                    log(4, "collector %s failed: %s" % (name, message))
        families.append(success)
        with self.stats_lock:
            requests = Family("gough_agent_http_requests_total", "counter", "HTTP requests served, by status code.")
            for code in sorted(self.requests):
                requests.add(self.requests[code], {"code": str(code)})
            families.append(requests)
            families.extend(self._connection_families())
        families.append(Family("gough_agent_scrape_duration_seconds", "gauge",
                               "Seconds this scrape spent collecting.").add(time.monotonic() - started))
        return families

    def count_request(self, code):
        """Count a served response."""
        with self.stats_lock:
            self.requests[code] = self.requests.get(code, 0) + 1

    def count_handshake_failure(self, reason):
        """Count a failed TLS handshake by reason (one of HANDSHAKE_FAILURES)."""
        with self.stats_lock:
            self.handshake_failures[reason] += 1

    def count_connection(self, kind, reason):
        """Count a connection event: kind refused, evicted or timeout (with its reason or phase)."""
        with self.stats_lock:
            table = {"refused": self.connections_refused, "evicted": self.connections_evicted,
                     "timeout": self.connection_timeouts}[kind]
            table[reason] += 1

    def set_connections(self, open_count, accepted, maximum):
        """Record the open connections, accepted ones so far and the limit (the server's event loop calls it)."""
        with self.stats_lock:
            self.connections_open, self.connections_accepted, self.connections_max = open_count, accepted, maximum

    def _connection_families(self):
        """The agent's own connection metrics (called with stats_lock held)."""
        families = [
            Family("gough_agent_connections_open", "gauge", "Client connections open now.")
            .add(self.connections_open),
            Family("gough_agent_connections_max", "gauge", "Most client connections open at once (max_connections).")
            .add(self.connections_max),
            Family("gough_agent_connections_accepted_total", "counter", "Client connections accepted.")
            .add(self.connections_accepted)]

        def by_label(name, help_text, label, values, counts):
            family = Family(name, "counter", help_text)
            for value in values:
                family.add(counts[value], {label: value})
            return family

        return families + [
            by_label("gough_agent_connections_refused_total",
                     "Connections closed at once on accept, by reason (per_source_limit, connection_limit).",
                     "reason", REFUSE_REASONS, self.connections_refused),
            by_label("gough_agent_connections_evicted_total",
                     "Connections closed to make room for a new one, by reason (connection_limit: the oldest idle "
                     "one; handshake_limit: the oldest unfinished TLS handshake).",
                     "reason", EVICT_REASONS, self.connections_evicted),
            by_label("gough_agent_connection_timeouts_total",
                     "Connections closed for silence, by phase (handshake, request, idle, write).",
                     "phase", TIMEOUT_PHASES, self.connection_timeouts),
            by_label("gough_agent_tls_handshake_failures_total",
                     "TLS handshakes that failed, by reason (no_certificate, bad_certificate, protocol, timeout, "
                     "closed).",
                     "reason", HANDSHAKE_FAILURES, self.handshake_failures)]

    # --- health --------------------------------------------------------------------------------------------
    def health(self):
        """(ok, {check: {ok, detail, required}}): every check; ok covers the configured healthz_checks only."""
        checks = {}

        def check(name, function):
            try:
                ok, detail = function()
            except Exception as exc:  # pylint: disable=broad-except
                ok, detail = False, "cannot tell: %s" % exc
            checks[name] = {"ok": bool(ok), "detail": detail, "required": name in self.config["healthz_checks"]}

        def cloud_init():
            info = self.cloud_init_cache.get()
            return info["state"] in ("done", "disabled"), "cloud-init %s, %d errors" % (info["state"], info["errors"])

        def failed_units():
            info = self.systemd_cache.get()
            if not info["failed_count"]:
                return True, "no failed units (system %s)" % info["state"]
            return False, "%d failed: %s" % (info["failed_count"], ", ".join(info["failed"][:10]))

        def filesystems():
            limit = self.config["filesystem_max_used_percent"]
            full = []
            for _device, mountpoint, _fstype, is_ro in real_mounts():
                if is_ro or mountpoint in self.stuck_mounts:
                    continue
                try:
                    st = os.statvfs(mountpoint)
                except OSError:
                    continue
                if st.f_blocks and (st.f_blocks - st.f_bavail) * 100.0 / st.f_blocks > limit:
                    full.append(mountpoint)
            if full:
                return False, "over %s%% used: %s" % (limit, ", ".join(full[:10]))
            return True, "every file system under %s%% used" % limit

        def time_sync():
            info = self.time_cache.get()
            return info["synchronized"], "synchronized" if info["synchronized"] else \
                "not synchronized (NTP %s)" % ("enabled" if info["ntp"] else "disabled")

        def osquery():
            info = self.osquery_cache.get()
            running = any(info["processes"].values())
            enrolled = info["enrolled"]
            return running and enrolled == 1, "running: %s, enrolled: %s" % (
                "yes" if running else "no", {1: "yes", 0: "no", None: "cannot tell"}[enrolled])

        def registration():
            state = self.registration.state
            return state in ("disabled", "registered"), "callback %s" % state

        def collectors():
            broken = []
            for name in ("cpu", "memory", "load", "filesystems", "disks", "network"):
                try:
                    getattr(self, name)()
                except Exception:  # pylint: disable=broad-except
                    broken.append(name)
            return not broken, "failing: %s" % ", ".join(broken) if broken else "host collectors read their data"

        for name, function in (("cloud_init", cloud_init), ("failed_units", failed_units),
                               ("filesystems", filesystems), ("time_sync", time_sync), ("osquery", osquery),
                               ("registration", registration), ("collectors", collectors)):
            check(name, function)
        ok = all(item["ok"] for item in checks.values() if item["required"])
        return ok, checks


def is_whole_disk(name):
    """True for a whole block device worth reporting (sda, vda, nvme0n1, mmcblk0, dm-0, md0), not its partitions."""
    if name.startswith(("loop", "ram", "zram", "fd", "sr")):
        return False
    if name.startswith(("nvme", "mmcblk")):
        # nvme0n1p2 and mmcblk0p1 are partitions: a "p" and digits after the device number.
        head, sep, tail = name.rpartition("p")
        return not (sep and tail.isdigit() and head[-1:].isdigit())
    if name[:2] in ("sd", "vd", "hd") or name.startswith("xvd"):
        return not name[-1].isdigit()
    return True


# --- AWX provisioning callback ---------------------------------------------------------------------------------

class Registration:
    """Calls the AWX provisioning callback once (retries with capped backoff) and records success."""

    def __init__(self, config, stop_event, cloud_init_state=None):
        """``cloud_init_state()`` returns cloud-init's state; the callback waits until cloud-init has finished."""
        self.config = config
        self.stop_event = stop_event
        self.cloud_init_state = cloud_init_state
        self.state_file = os.path.join(config["state_dir"], "registration.json")
        self.attempts = 0
        if not config["callback_url"]:
            self.state = "disabled"
        elif os.path.exists(self.state_file):
            self.state = "registered"
        else:
            self.state = "pending"

    def _post(self):
        import http.client  # pylint: disable=import-outside-toplevel  # only loaded while a callback is pending
        import urllib.parse  # pylint: disable=import-outside-toplevel
        url = urllib.parse.urlsplit(self.config["callback_url"])
        context = ssl.create_default_context(cafile=self.config["callback_ca_file"] or None)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if not self.config["callback_validate_certs"]:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        connection = http.client.HTTPSConnection(url.hostname, url.port or 443, timeout=self.config["callback_timeout"],
                                                 context=context)
        body = urllib.parse.urlencode({"host_config_key": self.config["callback_host_config_key"]})
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        try:
            connection.request("POST", path, body=body, headers={
                "Content-Type": "application/x-www-form-urlencoded", "User-Agent": "gough-agent/" + VERSION})
            response = connection.getresponse()
            text = response.read(2048).decode("utf-8", "replace")
            return response.status, text
        finally:
            connection.close()

    def _record(self, status):
        os.makedirs(self.config["state_dir"], mode=0o700, exist_ok=True)
        temporary = self.state_file + ".tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump({"registered_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "url": self.config["callback_url"], "status": status, "attempts": self.attempts}, handle)
            handle.write("\n")
        os.replace(temporary, self.state_file)

    def run(self):
        """Call back until it succeeds or callback_max_attempts is reached (never again once recorded)."""
        if self.state != "pending":
            return
        delay = self.config["callback_backoff_initial"]
        waited_for_cloud_init = 0.0
        while not self.stop_event.is_set():
            if self.config["callback_wait_cloud_init"] and self.cloud_init_state is not None and \
                    waited_for_cloud_init < 3600 and self.cloud_init_state() in ("running", "not_run"):
                # AWX runs its playbook against this host right away: let the first boot finish first.
                self.stop_event.wait(5)
                waited_for_cloud_init += 5
                continue
            self.attempts += 1
            try:
                status, text = self._post()
            except (OSError, ssl.SSLError, ValueError) as exc:
                status, text = None, str(exc)
            if status is not None and 200 <= status < 300:
                try:
                    self._record(status)
                except OSError as exc:
                    log(3, "callback succeeded but the state file %s cannot be written: %s" % (self.state_file, exc))
                self.state = "registered"
                log(6, "provisioning callback accepted (HTTP %d) after %d attempt(s)" % (status, self.attempts))
                return
            log(4, "provisioning callback attempt %d/%d failed: %s" % (
                self.attempts, self.config["callback_max_attempts"],
                ("HTTP %d %s" % (status, text.strip()[:200])) if status is not None else text))
            if self.attempts >= self.config["callback_max_attempts"]:
                self.state = "failed"
                log(3, "provisioning callback gave up after %d attempts; it retries when the agent restarts"
                    % self.attempts)
                return
            # Full jitter on a capped exponential delay: many servers booting together do not call in step.
            self.stop_event.wait(random.uniform(delay / 2.0, delay))
            delay = min(delay * 2, self.config["callback_backoff_max"])


# --- HTTP server -----------------------------------------------------------------------------------------------

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
           414: "URI Too Long", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}
MAX_LINE = 8192
MAX_HEADERS = 64
MAX_BODY_DRAINED = 65536
# Bytes of request head read before the parser must have answered (a request line and every header at their limit).
MAX_HEAD = MAX_LINE * (MAX_HEADERS + 2)
WORKERS = 2
MAX_QUEUED = 32
# Open files kept for everything but client connections (listener, wake-up pair, commands' pipes, /proc reads).
SPARE_FILES = 64
# Connection states: NEW (TCP only, waiting for the ClientHello), HANDSHAKE (TLS), WAIT (for a request's first byte),
# HEAD (reading the request head), BODY (dropping a small declared body), BUSY (a worker renders the answer),
# WRITE (sending the answer).
NEW, HANDSHAKE, WAIT, HEAD, BODY, BUSY, WRITE = range(7)
# A connection in one of these states has no request being answered: it may be evicted when the agent is full.
EVICTABLE = (NEW, HANDSHAKE, WAIT, HEAD, BODY)


def source_address(host):
    """The client's address as an ip_address; an IPv4 client of a dual-stack socket (::ffff:a.b.c.d) as IPv4."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if address.version == 6 and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def handshake_failure_reason(exc):
    """The reason label of gough_agent_tls_handshake_failures_total for an exception from do_handshake()."""
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) or not isinstance(exc, ssl.SSLError):
        return "closed"  # the client went away (a port scan, a TCP health check, a reset)
    reason = (getattr(exc, "reason", None) or "").upper()
    if "NO_CERTIFICATE" in reason or "DID_NOT_RETURN_A_CERTIFICATE" in reason:
        return "no_certificate"
    if isinstance(exc, ssl.SSLCertVerificationError) or "CERTIFICATE" in reason or "UNKNOWN_CA" in reason:
        return "bad_certificate"
    return "protocol"


def effective_max_connections(wanted):
    """max_connections, lowered when the open-files limit (RLIMIT_NOFILE) could not hold that many sockets."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - SPARE_FILES))


class Connection:  # pylint: disable=too-few-public-methods
    """One client connection of the event loop: its socket, its place in the request cycle and its deadline."""

    __slots__ = ("sock", "fd", "source", "scraper", "context", "state", "deadline", "inbuf", "outbuf", "close_after",
                 "served", "drain", "events")

    def __init__(self, sock, source, scraper, context, deadline):
        self.sock = sock
        self.fd = sock.fileno()
        self.source = source
        self.scraper = scraper
        self.context = context  # the TLS context current when it was accepted, whatever a reload does meanwhile
        self.state = NEW if context is not None else WAIT
        self.deadline = deadline
        self.inbuf = bytearray()
        self.outbuf = bytearray()
        self.close_after = False
        self.served = 0
        self.drain = 0
        self.events = 0


class Server:  # pylint: disable=too-many-instance-attributes
    """A minimal HTTP/1.1 server: GET and HEAD of /metrics and /healthz, keep-alive.

    One event loop (``selectors``, in the thread that calls serve_forever) owns every connection through the TLS
    handshake, reading the request head and writing the answer; WORKERS threads render /metrics and /healthz. An
    idle or slow connection costs a socket and a few hundred bytes, no thread, and has a deadline in every state.
    Connections are bounded in all (max_connections, lowered to fit RLIMIT_NOFILE) and per client address
    (max_connections_per_source); the scrapers' addresses are not limited per address and have capacity kept for
    them, and a new connection that finds the agent full evicts the oldest connection that is not a scraper's and
    has no request being answered.
    """

    def __init__(self, config, collector, context):
        """``context`` is the server TLS context, or None for plain HTTP."""
        self.config = config
        self.collector = collector
        self.context = context
        self.max_connections = effective_max_connections(config["max_connections"])
        self.scrapers = [ipaddress.ip_network(item, strict=False) for item in config["scrapers"]]
        # Kept for the scrapers: other clients may hold at most max_connections - reserved connections.
        self.reserved = min(64, max(1, self.max_connections // 8)) if self.scrapers and self.max_connections > 1 else 0
        self.stopping = threading.Event()
        address = config["listen_address"]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self.sock = socket.create_server((address, config["port"]), family=family, backlog=1024,
                                         dualstack_ipv6=(address == "::"))
        self.sock.setblocking(False)
        self.wake_r, self.wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        self.wake_w.setblocking(False)
        self.selector = selectors.DefaultSelector()
        self.conns = {}  # fd -> Connection, in the order they were accepted (the oldest first)
        self.handshaking = {}  # fd -> Connection in HANDSHAKE, the oldest first
        self.per_source = collections.Counter()
        self.scraper_conns = 0
        self.accepted = 0
        self.jobs = queue.Queue()
        self.done = collections.deque()
        self.pipelined = []  # connections with a further request already buffered, answered on the next turn
        self.next_sweep = 0.0
        self.next_report = time.monotonic() + 60
        self.reported = (0, 0)
        if self.max_connections < config["max_connections"]:
            log(4, "max_connections lowered to %d to fit the open-files limit (LimitNOFILE)" % self.max_connections)

    # --- the loop ------------------------------------------------------------------------------------------
    def serve_forever(self):
        """Serve until stop()."""
        workers = [threading.Thread(target=self._work, daemon=True) for _n in range(WORKERS)]
        for worker in workers:
            worker.start()
        self.selector.register(self.sock, selectors.EVENT_READ, self.sock)
        self.selector.register(self.wake_r, selectors.EVENT_READ, self.wake_r)
        self._publish()
        try:
            while not self.stopping.is_set():
                pipelined, self.pipelined = self.pipelined, []
                for conn in pipelined:  # one request each per turn: a client that pipelines many waits its turn
                    if conn.sock is not None and conn.state == WAIT:
                        self._advance(conn)
                for key, _mask in self.selector.select(0 if self.pipelined else 0.25):
                    if key.data is self.sock:
                        self._accept()
                    elif key.data is self.wake_r:
                        self._wake()
                    elif key.data.sock is not None:
                        self._ready(key.data)
                now = time.monotonic()
                if now >= self.next_sweep:
                    self.next_sweep = now + 0.25
                    self._sweep(now)
        finally:
            for conn in list(self.conns.values()):
                self._close(conn)
            for _worker in workers:
                self.jobs.put(None)
            self.selector.close()
            for sock in (self.sock, self.wake_r, self.wake_w):
                sock.close()

    def reload_tls(self):
        """Load the certificate, key and client CA again (SIGHUP); True when the new ones are in use.

        Each connection keeps the context current when it was accepted, so swapping the attribute changes only the
        connections accepted afterwards.
        """
        if self.context is None:
            return False
        try:
            context = server_tls_context(self.config)
        except ConfigError as exc:
            log(3, "SIGHUP: keeping the current certificate: %s" % exc)
            return False
        self.context = context
        log(5, "SIGHUP: reloaded the TLS certificate %s and the client CA %s" % (self.config["tls_cert"],
                                                                                 self.config["tls_client_ca"]))
        return True

    def stop(self):
        """Stop serving (safe in a signal handler): the loop closes every connection and returns."""
        self.stopping.set()
        try:
            self.wake_w.send(b"\0")
        except OSError:
            pass

    def _publish(self):
        self.collector.set_connections(len(self.conns), self.accepted, self.max_connections)

    def _watch(self, conn, events):
        """Make the selector watch ``conn`` for ``events`` (0: not at all)."""
        if events == conn.events:
            return
        if not conn.events:
            self.selector.register(conn.sock, events, conn)
        elif not events:
            self.selector.unregister(conn.sock)
        else:
            self.selector.modify(conn.sock, events, conn)
        conn.events = events

    def _close(self, conn):
        if conn.sock is None:
            return
        self._watch(conn, 0)
        del self.conns[conn.fd]
        self.handshaking.pop(conn.fd, None)
        self.per_source[conn.source] -= 1
        if not self.per_source[conn.source]:
            del self.per_source[conn.source]
        self.scraper_conns -= conn.scraper
        try:
            conn.sock.close()
        except OSError:
            pass
        conn.sock = None
        conn.inbuf = conn.outbuf = None

    # --- accepting -----------------------------------------------------------------------------------------
    def _accept(self):
        for _n in range(256):  # then back to the other connections' events
            try:
                sock, addr = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # EMFILE and the like: the next loop tries again
                log(4, "accept failed: %s" % (exc.strerror or exc))
                break
            self.accepted += 1
            source = source_address(addr[0])
            scraper = any(source in network for network in self.scrapers)
            if not self._admit(source, scraper):
                sock.close()
                continue
            sock.setblocking(False)
            now = time.monotonic()
            context = self.context
            timeout = self.config["handshake_timeout"] if context is not None else self.config["request_timeout"]
            conn = Connection(sock, source, scraper, context, now + timeout)
            self.conns[conn.fd] = conn
            self.per_source[source] += 1
            self.scraper_conns += scraper
            self._watch(conn, selectors.EVENT_READ)
        self._publish()

    def _admit(self, source, scraper):
        """True when a new connection from ``source`` may stay (evicting an idle one if need be)."""
        if not scraper:
            if self.per_source[source] >= self.config["max_connections_per_source"]:
                self.collector.count_connection("refused", "per_source_limit")
                return False
            others = len(self.conns) - self.scraper_conns
            if others < self.max_connections - self.reserved and len(self.conns) < self.max_connections:
                return True
        elif len(self.conns) < self.max_connections:
            return True
        if self._evict():
            return True
        self.collector.count_connection("refused", "connection_limit")
        return False

    def _evict(self):
        """Close the oldest connection that is not a scraper's and has no request being answered; True if one was."""
        for conn in self.conns.values():
            if not conn.scraper and conn.state in EVICTABLE:
                self.collector.count_connection("evicted", "connection_limit")
                self._close(conn)
                return True
        return False

    def _sweep(self, now):
        """Close the connections whose deadline passed; log refusals and evictions at most once a minute."""
        for conn in [conn for conn in self.conns.values() if conn.deadline <= now and conn.state != BUSY]:
            if conn.state in (NEW, HANDSHAKE):
                self.collector.count_handshake_failure("timeout")
                phase = "handshake"
            elif conn.state == WRITE:
                phase = "write"
            else:
                phase = "idle" if conn.state == WAIT and conn.served else "request"
            self.collector.count_connection("timeout", phase)
            self._close(conn)
        self._publish()
        if now >= self.next_report:
            self.next_report = now + 60
            with self.collector.stats_lock:
                counts = (sum(self.collector.connections_refused.values()),
                          sum(self.collector.connections_evicted.values()))
            if counts != self.reported:
                figures = (counts[0] - self.reported[0], counts[1] - self.reported[1], len(self.conns),
                           self.max_connections)
                log(4, "connections refused %d and evicted %d in the last minute (open %d of %d; "
                       "gough_agent_connections_* metrics)" % figures)
                self.reported = counts

    # --- one connection ------------------------------------------------------------------------------------
    def _ready(self, conn):
        if conn.state == NEW:
            self._start_tls(conn)
        elif conn.state == HANDSHAKE:
            self._handshake(conn)
        elif conn.state == WRITE:
            self._write(conn)
        elif conn.state != BUSY:
            self._read(conn)

    def _start_tls(self, conn):
        """The ClientHello is arriving: wrap the socket (only now, so a silent connection costs no TLS state)."""
        self._watch(conn, 0)
        context, conn.context = conn.context, None
        if not conn.scraper and len(self.handshaking) >= self.config["max_handshakes"]:
            # A handshake in progress holds about 40 KiB of TLS state: their number is bounded, the oldest
            # stranger's gives way (a real client finishes in milliseconds, a slow one is the attack).
            oldest = next((other for other in self.handshaking.values() if not other.scraper), None)
            if oldest is not None:
                self.collector.count_connection("evicted", "handshake_limit")
                self._close(oldest)
        try:
            conn.sock = context.wrap_socket(conn.sock, server_side=True, do_handshake_on_connect=False)
        except (ssl.SSLError, OSError) as exc:
            self.collector.count_handshake_failure(handshake_failure_reason(exc))
            self._close(conn)
            return
        conn.state = HANDSHAKE
        self.handshaking[conn.fd] = conn
        self._handshake(conn)

    def _handshake(self, conn):
        try:
            conn.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._watch(conn, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(conn, selectors.EVENT_WRITE)
            return
        except (ssl.SSLError, OSError) as exc:
            self.collector.count_handshake_failure(handshake_failure_reason(exc))
            self._close(conn)
            return
        del self.handshaking[conn.fd]
        conn.state = WAIT
        conn.deadline = time.monotonic() + self.config["request_timeout"]
        self._watch(conn, selectors.EVENT_READ)
        self._read(conn)  # the request may have come with the handshake's last flight

    def _read(self, conn):
        received = eof = False
        while len(conn.inbuf) <= MAX_HEAD:
            try:
                data = conn.sock.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                break
            except OSError:  # ssl.SSLError included: a broken connection has nothing left to answer
                self._close(conn)
                return
            if not data:
                eof = True
                break
            received = True
            conn.inbuf += data
        if received and conn.state == WAIT:
            # The whole head must arrive within request_timeout of its first byte, however slowly it trickles.
            conn.state = HEAD
            conn.deadline = time.monotonic() + self.config["request_timeout"]
        if received or eof:
            self._advance(conn, eof)

    def _advance(self, conn, eof=False):
        """Answer what the buffer holds, if it is enough."""
        if conn.state == BODY:
            if len(conn.inbuf) >= conn.drain or eof:
                self._respond(conn, 400, b"request bodies are not accepted\n")
            return
        if not conn.inbuf:
            if eof:
                self._close(conn)
            return
        if conn.state == WAIT:
            conn.state = HEAD
            conn.deadline = time.monotonic() + self.config["request_timeout"]
        self._parse(conn, eof)

    def _parse(self, conn, eof):  # pylint: disable=too-many-return-statements,too-many-branches
        """Parse the buffered request head and answer it, or return to wait for more of it."""
        buf = conn.inbuf
        end = buf.find(b"\n", 0, MAX_LINE)
        if end < 0:
            if len(buf) >= MAX_LINE:
                self._respond(conn, 414, b"request line too long\n")
                return
            if not eof:
                return
            line, pos = bytes(buf), len(buf)
        else:
            line, pos = bytes(buf[:end + 1]), end + 1
        parts = line.decode("latin-1").rstrip("\r\n").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self._respond(conn, 400, b"bad request line\n")
            return
        method, target, version = parts
        headers = {}
        for _count in range(MAX_HEADERS + 1):
            end = buf.find(b"\n", pos, pos + MAX_LINE)
            if end < 0:
                if len(buf) - pos >= MAX_LINE or eof:
                    self._respond(conn, 431, b"header too long\n")
                return
            header, pos = bytes(buf[pos:end + 1]), end + 1
            if header in (b"\r\n", b"\n"):
                break
            name, sep, value = header.decode("latin-1").partition(":")
            if not sep:
                self._respond(conn, 400, b"bad header\n")
                return
            headers[name.strip().lower()] = value.strip()
        else:
            self._respond(conn, 431, b"too many headers\n")
            return
        del buf[:pos]  # what follows is a body or the next (pipelined) request
        connection = headers.get("connection", "").lower()
        keep_alive = (version == "HTTP/1.1" and connection != "close") or connection == "keep-alive"
        length = headers.get("content-length", "0")
        if headers.get("transfer-encoding") or length not in ("", "0"):
            # No endpoint takes a body. A small declared body is read and dropped first, so closing the connection
            # does not reset it before the client reads the answer; anything else is refused unread.
            if length.isdigit() and int(length) <= MAX_BODY_DRAINED:
                conn.state, conn.drain = BODY, int(length)
                self._advance(conn, eof)
            else:
                self._respond(conn, 400, b"request bodies are not accepted\n")
            return
        path = target.split("?", 1)[0]
        if path not in ("/metrics", "/healthz"):
            self._respond(conn, 404, b"not found: the agent serves /metrics and /healthz only\n",
                          head=method == "HEAD", keep_alive=keep_alive)
        elif method not in ("GET", "HEAD"):
            self._respond(conn, 405, b"method not allowed\n", keep_alive=keep_alive, extra=("Allow: GET, HEAD",))
        elif self.jobs.qsize() >= MAX_QUEUED:
            self._respond(conn, 503, b"busy\n")
        else:
            conn.state = BUSY
            self._watch(conn, 0)
            self.jobs.put((conn, method == "HEAD", path, keep_alive))

    def _message(self, code, body, content_type, head=False, keep_alive=False, extra=()):
        self.collector.count_request(code)
        headers = ["HTTP/1.1 %d %s" % (code, REASONS.get(code, "")), "Content-Type: " + content_type,
                   "Content-Length: %d" % len(body), "Cache-Control: no-store", "X-Content-Type-Options: nosniff",
                   "Connection: " + ("keep-alive" if keep_alive else "close")]
        headers.extend(extra)
        data = ("\r\n".join(headers) + "\r\n\r\n").encode("ascii")
        return bytearray(data if head else data + body)

    def _respond(self, conn, code, body, content_type="text/plain; charset=utf-8", head=False, keep_alive=False,
                 extra=()):
        self._send(conn, self._message(code, body, content_type, head, keep_alive, extra), keep_alive)

    def _send(self, conn, message, keep_alive):
        conn.outbuf = message
        conn.close_after = not keep_alive
        conn.state = WRITE
        conn.deadline = time.monotonic() + self.config["idle_timeout"]
        self._write(conn)

    def _write(self, conn):
        while conn.outbuf:
            try:
                # On WantWrite nothing is dropped from outbuf: TLS needs the same bytes offered again.
                sent = conn.sock.send(conn.outbuf[:16384])
            except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                self._watch(conn, selectors.EVENT_WRITE)
                return
            except ssl.SSLWantReadError:
                self._watch(conn, selectors.EVENT_READ)
                return
            except OSError:
                self._close(conn)
                return
            del conn.outbuf[:sent]
        if conn.close_after:
            self._close(conn)
            return
        conn.served += 1
        conn.state = WAIT
        conn.deadline = time.monotonic() + self.config["idle_timeout"]
        self._watch(conn, selectors.EVENT_READ)
        if conn.inbuf:
            self.pipelined.append(conn)

    # --- the workers ---------------------------------------------------------------------------------------
    def _work(self):
        """Render the answers the loop hands over, and give them back to it."""
        while True:
            job = self.jobs.get()
            if job is None:
                return
            conn, head, path, keep_alive = job
            try:
                if path == "/metrics":
                    body = render(self.collector.collect()).encode("utf-8")
                    message = self._message(200, body, "text/plain; version=0.0.4; charset=utf-8", head, keep_alive)
                else:
                    ok, checks = self.collector.health()
                    body = (json.dumps({"ok": ok, "checks": checks}, sort_keys=True) + "\n").encode("utf-8")
                    message = self._message(200 if ok else 503, body, "application/json", head, keep_alive)
            except Exception as exc:  # pylint: disable=broad-except
                log(3, "answering %s failed: %s" % (path, exc))
                message, keep_alive = self._message(500, b"internal error\n", "text/plain; charset=utf-8"), False
            self.done.append((conn, message, keep_alive))
            try:
                self.wake_w.send(b"\0")
            except OSError:  # the pair is full: the loop is waking up anyway
                pass

    def _wake(self):
        try:
            while self.wake_r.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        while self.done:
            conn, message, keep_alive = self.done.popleft()
            if conn.sock is not None:
                self._send(conn, message, keep_alive)


# --- main ------------------------------------------------------------------------------------------------------

def parse_args(argv):
    """(config path, check only) from the command line."""
    path, check_only = DEFAULT_CONFIG, False
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--config" and args:
            path = args.pop(0)
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
        elif arg == "--check-config":
            check_only = True
        elif arg == "--version":
            print("gough-agent %s" % VERSION)
            sys.exit(0)
        else:
            print("usage: gough_agent.py [--config PATH] [--check-config] [--version]", file=sys.stderr)
            sys.exit(2)
    return path, check_only


def main(argv=None):
    """Load the configuration, start the callback thread and serve until SIGTERM or SIGINT; SIGHUP reloads TLS."""
    path, check_only = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        config = load_config(path)
        context = None if config["plain_http"] else server_tls_context(config)
    except ConfigError as exc:
        log(3, "bad configuration in %s: %s" % (path, exc))
        return EX_CONFIG
    if check_only:
        print("gough-agent: configuration %s is valid" % path)
        return 0
    threading.stack_size(512 * 1024)
    stop_event = threading.Event()
    registration = Registration(config, stop_event)
    collector = Collector(config, registration)
    registration.cloud_init_state = lambda: collector.cloud_init_cache.get()["state"]
    try:
        server = Server(config, collector, context)
    except OSError as exc:
        log(3, "cannot listen on %s port %d: %s" % (config["listen_address"], config["port"], exc.strerror or exc))
        return 1

    def shutdown(_signum, _frame):
        stop_event.set()
        server.stop()

    def reload(_signum, _frame):
        server.reload_tls()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGHUP, reload)
    if registration.state == "pending":
        threading.Thread(target=registration.run, daemon=True).start()
    log(6, "gough-agent %s listening on %s port %d (%s)" % (
        VERSION, config["listen_address"], server.sock.getsockname()[1],
        "plain HTTP" if context is None else "HTTPS, client certificates required"))
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
