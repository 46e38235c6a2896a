# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet report's data: the join of MAAS, Fleet and Prometheus into one row per host, and the numbers of the
tiles and charts (gough.gough.html_report renders them, plugin_utils/report_html.py).

Every source arrives as the registered result of the task that read it (gough.gough.maas_machine_info,
gough.gough.fleet_host_info, ansible.builtin.uri on Prometheus's API). A source whose task failed becomes an
error string for its sections, with the secrets the caller names blanked out, instead of failing the report.
Pure functions of their arguments (``now`` is passed in), standard library only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# The host table's columns, in order; rows travel as lists in this order (smaller than dicts at 10,000 hosts).
COLUMNS = ("hostname", "system_id", "status", "ip", "zone", "pool", "tags", "agent", "fleet", "policies",
           "quarantine")
DAY = 86400
DEPLOY_ACTIONS = ("deploy", "replacement")
_USERINFO_RE = re.compile(r"(\w+://)[^/@\s]+@")
_BACKUP_RE = re.compile(r"^gough-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$")
REDACTED = "********"


def scrub(text, secrets=()):
    """``text`` with each of ``secrets`` blanked and any user:password@ in a URL removed."""
    text = _USERINFO_RE.sub(r"\1", str(text))
    for secret in sorted((s for s in secrets if s and len(str(s)) >= 4), key=len, reverse=True):
        text = text.replace(str(secret), REDACTED)
    return text


def source_error(result, secrets=(), name="source"):
    """Why a registered task result cannot be used (None when it can): skipped, failed, or not the JSON asked for."""
    if not isinstance(result, dict) or not result:
        return "%s was not read" % name
    if result.get("skipped"):
        return "%s was not read (%s)" % (name, scrub(result.get("skip_reason") or "skipped", secrets))
    if result.get("failed"):
        status = result.get("status")
        message = result.get("msg") or "the task failed"
        if status not in (None, -1) and str(status) not in message:
            message = "HTTP %s: %s" % (status, message)
        return scrub(message, secrets)
    return None


def prometheus_result(result, secrets=(), name="Prometheus"):
    """(samples, error) from ``uri``'s result of a Prometheus query: samples are ``data.result`` of a successful
    answer; the error says why there are none (unreachable, HTTP error, a query Prometheus refused)."""
    error = source_error(result, secrets, name)
    if error:
        return [], error
    body = result.get("json")
    if not isinstance(body, dict) or body.get("status") != "success":
        detail = body.get("error") if isinstance(body, dict) else "no JSON in the answer"
        return [], scrub("%s answered without a result: %s" % (name, detail), secrets)
    return list((body.get("data") or {}).get("result") or []), None


def short_name(name):
    """The host part of a hostname or FQDN, lower case (MAAS's hostname, Fleet's reported hostname)."""
    return str(name or "").split(".", maxsplit=1)[0].lower()


def agent_states(samples):
    """{instance: "up"|"down"} from the samples of ``up{job="gough-agent"}``."""
    states = {}
    for sample in samples:
        instance = short_name((sample.get("metric") or {}).get("instance", "").split(":", maxsplit=1)[0])
        value = (sample.get("value") or [0, "0"])[1]
        states[instance] = "up" if float(value) >= 1 else "down"
    return states


def join_hosts(machines, fleet_hosts, agents, quarantine_tag="gough-quarantine"):
    """One row per host (lists in COLUMNS order), sorted by hostname: every MAAS machine, joined with the Fleet host
    and the agent target of the same short hostname; Fleet hosts MAAS does not know come last with status
    "not in MAAS". ``fleet_hosts`` or ``agents`` None means that source is unavailable ("?" in its columns)."""
    fleet_by_name = {}
    for host in fleet_hosts or []:
        fleet_by_name.setdefault(short_name(host.get("hostname")), host)
    rows = []
    seen = set()
    for machine in sorted(machines, key=lambda m: short_name(m.get("hostname"))):
        name = short_name(machine.get("hostname"))
        seen.add(name)
        tags = list(machine.get("tags") or [])
        rows.append([machine.get("hostname") or name, machine.get("system_id") or "", machine.get("status") or "",
                     ", ".join(machine.get("ip_addresses") or []), machine.get("zone") or "",
                     machine.get("pool") or "", ", ".join(t for t in tags if t != quarantine_tag),
                     _agent(agents, name), _fleet(fleet_hosts, fleet_by_name.get(name)),
                     _policies(fleet_hosts, fleet_by_name.get(name)), "yes" if quarantine_tag in tags else "no"])
    for name in sorted(set(fleet_by_name) - seen):
        host = fleet_by_name[name]
        rows.append([host.get("hostname") or name, "", "not in MAAS", host.get("primary_ip") or "", "", "", "",
                     _agent(agents, name), _fleet(fleet_hosts, host), _policies(fleet_hosts, host), "no"])
    return rows


def _agent(agents, name):
    if agents is None:
        return "?"
    return agents.get(name, "-")


def _fleet(fleet_hosts, host):
    if fleet_hosts is None:
        return "?"
    return host.get("status") or "-" if host else "-"


def _policies(fleet_hosts, host):
    if fleet_hosts is None:
        return "?"
    if not host or host.get("policies_total") is None:
        return "-"
    return "%s/%s" % (host.get("policies_passing", 0), host.get("policies_total", 0))


def count_by(values):
    """{value: count}, in first-seen order."""
    counts = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def status_by_zone_pool(machines):
    """{"zone / pool": {status: count}} for the stacked chart, sorted by zone and pool."""
    groups = {}
    for machine in machines:
        key = "%s / %s" % (machine.get("zone") or "-", machine.get("pool") or "-")
        group = groups.setdefault(key, {})
        status = machine.get("status") or "-"
        group[status] = group.get(status, 0) + 1
    return dict(sorted(groups.items()))


def successful_deploys(records, now=None, window=None):
    """The successful deploys among ``maas_deploy``'s per-machine records (DEPLOY_ACTIONS, not failed, seconds > 0),
    optionally only those recorded within ``window`` seconds before ``now``."""
    found = []
    for record in records or []:
        if record.get("action") not in DEPLOY_ACTIONS or record.get("failed") or not record.get("seconds"):
            continue
        if window is not None and float(record.get("time") or 0) < now - window:
            continue
        found.append(record)
    return found


def deploy_durations(records):
    """Seconds of each successful deploy in ``records`` (see successful_deploys)."""
    return [float(record["seconds"]) for record in successful_deploys(records)]


def duration_buckets(durations, buckets=8):
    """[(label, count)] of ``durations`` (seconds) in at most ``buckets`` equal buckets of whole minutes."""
    if not durations:
        return []
    low = int(min(durations) // 60)
    high = int(max(durations) // 60) + 1
    width = max(1, -(-(high - low) // buckets))
    counts = {}
    for value in durations:
        start = low + (int(value // 60) - low) // width * width
        counts[start] = counts.get(start, 0) + 1
    return [("%d-%d min" % (start, start + width), counts.get(start, 0))
            for start in range(low, max(counts) + 1, width)]


def policy_pass_rates(fleet_hosts):
    """[(policy, passing, answered, critical)] over the hosts' policy results, sorted by name."""
    rates = {}
    for host in fleet_hosts or []:
        for policy in host.get("policies") or []:
            entry = rates.setdefault(policy.get("name") or "?", [0, 0, bool(policy.get("critical"))])
            if policy.get("response") in ("pass", "fail"):
                entry[1] += 1
                entry[0] += policy["response"] == "pass"
    return [(name, passing, answered, critical) for name, (passing, answered, critical) in sorted(rates.items())]


def range_series(samples):
    """[(unix time, value)] of the first series of a Prometheus range query (empty when there is none)."""
    if not samples:
        return []
    return [(float(point[0]), float(point[1])) for point in samples[0].get("values") or []]


def backup_time(name):
    """Unix time of a backup directory name gough-YYYYmmddTHHMMSSZ (None for another name)."""
    import calendar  # pylint: disable=import-outside-toplevel
    match = _BACKUP_RE.match(str(name))
    if not match:
        return None
    return calendar.timegm(tuple(int(part) for part in match.groups()) + (0, 0, 0))


def certificates(samples, now, days):
    """(expiring within ``days``, the earliest sample or None) from ``gough_tls_cert_not_after_seconds``."""
    values = [(float(s["value"][1]), s.get("metric") or {}) for s in samples if s.get("value")]
    expiring = sum(1 for value, _metric in values if value < now + days * DAY)
    earliest = min(values, key=lambda item: item[0]) if values else None
    return expiring, earliest


def summarize(machines, maas_error, fleet_hosts, fleet_error, agents, agents_error, deploys, backups,
              certificate_samples, certificate_error, now, certificate_days=21, quarantine_tag="gough-quarantine"):
    """The tiles' numbers as plain data (also the module's ``summary``); a number from an unavailable source is
    None and its error is under ``unavailable``."""
    backup_times = sorted(t for t in (backup_time(name) for name in backups or []) if t is not None)
    expiring, earliest = certificates(certificate_samples, now, certificate_days) if not certificate_error \
        else (None, None)
    failing = None
    if fleet_error is None:
        failing = sum(1 for host in fleet_hosts or [] if host.get("failing_critical_policies"))
    unavailable = dict((key, value) for key, value in (("maas", maas_error), ("fleet", fleet_error),
                                                       ("agents", agents_error), ("certificates", certificate_error))
                       if value)
    return {
        "machines": None if maas_error else len(machines),
        "machines_by_status": dict(sorted(count_by(m.get("status") or "-" for m in machines).items())),
        # Machines (by hostname) with a successful deploy recorded in the last 24 h.
        "deployed_last_24h": len(set(r.get("hostname") for r in successful_deploys(deploys, now, DAY))),
        "failing_critical_policies": failing,
        "agents_down": None if agents_error else sum(1 for state in agents.values() if state == "down"),
        "agents_up": None if agents_error else sum(1 for state in agents.values() if state == "up"),
        "quarantined": None if maas_error else sum(1 for m in machines if quarantine_tag in (m.get("tags") or [])),
        "certificates_expiring": expiring,
        "certificate_days": certificate_days,
        "earliest_certificate": None if earliest is None else {
            "not_after": earliest[0], "cert": earliest[1].get("cert", ""), "instance": earliest[1].get("instance", "")},
        "last_backup": backup_times[-1] if backup_times else None,
        "backups": len(backup_times),
        "unavailable": unavailable,
    }
