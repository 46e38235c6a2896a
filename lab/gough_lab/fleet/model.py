"""Fleet's objects as the emulator keeps them, and how each is rendered as Fleet's JSON."""

import re
import time

LINUX_PLATFORMS = ("linux", "ubuntu", "debian", "rhel", "centos", "fedora", "amzn", "sles", "opensuse", "arch",
                   "manjaro", "gentoo", "pop", "linuxmint", "kali", "rocky", "almalinux")
ROLES = ("admin", "maintainer", "observer", "observer_plus", "gitops")
WRITE_ROLES = ("admin", "maintainer", "gitops")
# Builtin labels: name, query, platform and how membership follows from the host's platform.
BUILTIN_LABELS = (
    ("All Hosts", "SELECT 1;", "", lambda p: True),
    ("macOS", "SELECT 1 FROM os_version WHERE platform = 'darwin';", "darwin", lambda p: p == "darwin"),
    ("Ubuntu Linux", "SELECT 1 FROM os_version WHERE platform = 'ubuntu';", "ubuntu", lambda p: p == "ubuntu"),
    ("CentOS Linux", "SELECT 1 FROM os_version WHERE platform = 'centos' OR name LIKE '%centos%'", "centos",
     lambda p: p == "centos"),
    ("MS Windows", "SELECT 1 FROM os_version WHERE platform = 'windows';", "windows", lambda p: p == "windows"),
    ("Red Hat Linux", "SELECT 1 FROM os_version WHERE name LIKE '%red hat%'", "rhel", lambda p: p == "rhel"),
    ("All Linux", "SELECT 1 FROM osquery_info WHERE build_platform LIKE '%ubuntu%' OR build_distro LIKE '%centos%';",
     "", lambda p: p in LINUX_PLATFORMS),
)
POLICY_PLATFORMS = ("windows", "linux", "darwin", "chrome")
MIA_SECONDS = 30 * 86400
NEW_SECONDS = 86400


def iso(epoch):
    """RFC 3339 UTC timestamp like Fleet's, or None."""
    if epoch is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def platform_family(platform):
    """linux, darwin, windows or chrome for a host platform."""
    if platform in LINUX_PLATFORMS:
        return "linux"
    return platform or ""


def policy_applies(policy, host):
    """Whether a policy's platform list includes the host's platform ("" means every platform)."""
    wanted = [p for p in (policy.get("platform") or "").split(",") if p]
    return not wanted or platform_family(host.get("platform")) in wanted


def os_version_string(row):
    """Fleet's os_version: the os_version table's name and version, without the release's code name."""
    version = re.sub(r"\s*\(.*\)\s*$", "", str(row.get("version") or "")).strip()
    return ("%s %s" % (row.get("name") or "", version)).strip()


def new_host(host_id, now):
    """A host document with Fleet's fields, empty until osquery reports its details."""
    return {
        "id": host_id, "osquery_host_id": "", "node_key": "", "uuid": "", "hostname": "", "computer_name": "",
        "platform": "", "platform_like": "", "os_version": "", "code_name": "", "osquery_version": "",
        "hardware_serial": "", "hardware_vendor": "", "hardware_model": "", "hardware_version": "", "cpu_type": "",
        "cpu_brand": "", "cpu_physical_cores": 0, "cpu_logical_cores": 0, "memory": 0, "uptime": 0,
        "primary_ip": "", "primary_mac": "", "public_ip": "", "team_id": None, "seen_time": now, "created_at": now,
        "updated_at": now, "last_enrolled_at": now, "detail_updated_at": None, "label_updated_at": None,
        "policy_updated_at": None, "refetch_requested": False, "policy_results": {}, "label_results": {},
    }


def host_status(host, config, now):
    """online, offline or mia, from seen_time (see config.DEFAULTS for the interval)."""
    age = now - (host.get("seen_time") or 0)
    if age <= config.get("distributed_interval") + config.get("online_buffer_seconds"):
        return "online"
    if age > MIA_SECONDS:
        return "mia"
    return "offline"
