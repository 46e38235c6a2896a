# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The engine of ``gough.gough.fleet_enroll``: find hosts in Fleet, drop stale duplicates, wait until they are
online, move them into their teams; or delete them.

One ``Enrollment`` handles one host (the module's ``hostname``/``uuid``/``hardware_serial``) or a whole play's
hosts (the module's ``hosts`` list, which the role passes from a ``run_once`` task). Every look at Fleet is one
``lister`` call for all the targets: for one host, Fleet's ``query`` search plus the identifier lookup (two
requests, whatever the size of the fleet); for a batch, one unfiltered ``GET hosts`` (pages of
``fleet.HOSTS_PER_PAGE``), so a poll costs the same for 2 hosts as for 500. Each target keeps its own result and
its own error: one host that never enrolls fails alone.

Runs inside modules, so it imports only the standard library and ``ansible_collections.gough``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.gough.gough.plugins.module_utils.fleet import host_summary, parse_time
from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput

IDENTIFIERS = ("hostname", "uuid", "hardware_serial")
EPOCH = parse_time(0)


def enrolled_time(host):
    """When ``host`` last enrolled (its creation time when Fleet has no enrollment time), or the epoch."""
    for field in ("last_enrolled_at", "created_at"):
        try:
            value = parse_time(host.get(field))
        except ValueError:
            value = None
        if value is not None:
            return value
    return EPOCH


def newest_first(hosts):
    """``hosts`` ordered by enrollment time, the most recent first (ties: higher ID first)."""
    return sorted(hosts, key=lambda h: (enrolled_time(h), h.get("id") or 0), reverse=True)


def stale_hosts(candidates, enrolled_after):
    """The candidates that are stale duplicates (see the module's ``replace_stale`` option)."""
    stale = []
    for index, host in enumerate(newest_first(candidates)):
        if enrolled_after is not None and enrolled_time(host) < enrolled_after:
            stale.append(host)
        elif index > 0 and host.get("status") != "online":
            stale.append(host)
    return stale


def deleted_view(host):
    """The documented fields of a deleted host."""
    return dict((k, host.get(k)) for k in ("id", "hostname", "status", "last_enrolled_at"))


def parse_enrolled_after(value, option="enrolled_after"):
    """``value`` (ISO 8601 or epoch seconds) as an aware datetime, None when unset; ``BadInput`` naming ``option``."""
    if not value:
        return None
    try:
        return parse_time(value)
    except ValueError as exc:
        raise BadInput(option, "%s." % exc)


class Target(object):
    """One host to enroll or remove: how it is identified, its team and enrollment cut-off, and its outcome."""

    __slots__ = ("name", "field", "value", "team", "enrolled_after", "enroll_secret", "current", "deleted", "host",
                 "team_id", "before_team", "moved", "waited", "msg", "diff")

    def __init__(self, name, field, value, team=None, enrolled_after=None, enroll_secret=None):
        self.name, self.field, self.value = name, field, value
        self.team, self.enrolled_after, self.enroll_secret = team, enrolled_after, enroll_secret
        self.current, self.deleted, self.host, self.team_id, self.before_team = [], [], None, None, None
        self.moved, self.waited, self.msg, self.diff = False, 0.0, None, None

    @property
    def described(self):
        """``hostname=node-07``: how messages name the host."""
        return "%s=%s" % (self.field, self.value)

    def same(self, host):
        """Whether Fleet host ``host`` has this target's identifier (UUIDs in either case)."""
        found = host.get(self.field) or ""
        return found.lower() == self.value.lower() if self.field == "uuid" else found == self.value

    def matches(self, hosts):
        """This target's hosts among ``hosts`` (exact matches only; Fleet's search also matches parts)."""
        return list(dict((h["id"], h) for h in hosts if self.same(h)).values())

    @property
    def changed(self):
        """Whether anything was (or in check mode would be) deleted or moved for this host."""
        return bool(self.deleted) or self.moved

    def result(self):
        """This host's entry: ``host``, ``deleted_hosts``, ``waited``, ``changed``, ``failed`` and ``msg``."""
        return dict(host=host_summary(self.host), deleted_hosts=[deleted_view(h) for h in self.deleted],
                    waited=self.waited, changed=self.changed, failed=self.msg is not None, msg=self.msg or "")


def single_lister(client, target):
    """One look for one host: Fleet's ``query`` search, plus the identifier lookup search can miss."""
    def look():
        found = client.list_hosts(query=target.value)
        direct = client.get_host_by_identifier(target.value)
        return found + ([direct] if direct else [])
    return look


def batch_lister(client):
    """One look for any number of hosts: every Fleet host, in pages of ``HOSTS_PER_PAGE``."""
    return client.list_hosts


class Enrollment(object):
    """Enroll (``state=present``) or remove (``absent``) ``targets`` in Fleet; see the module for the options.

    ``run()`` fills each target's outcome; a target whose ``msg`` is set failed. ``BadInput`` and ``FleetError``
    that concern every target (a bad token, an unreachable Fleet) propagate, and so does a bad team or secret when
    not ``batch`` (one host given on its own)."""

    def __init__(self, client, params, targets, lister, check_mode=False, batch=False, clock=time.monotonic,
                 sleep=time.sleep):
        self.client, self.params, self.targets, self.look = client, params, targets, lister
        self.batch = batch
        self.check_mode, self.clock, self.sleep = check_mode, clock, sleep
        self.polls = 0
        self.last = []

    def _read(self):
        """One look at Fleet for every target (kept as the latest known state)."""
        self.last = self.look()
        return self.last

    def run(self):
        """Do the work for every target; returns the targets."""
        hosts = self._read()
        for target in self.targets:
            target.current = target.matches(hosts)
        if self.params["state"] == "absent":
            for target in self.targets:
                target.deleted = newest_first(target.current)
                self._delete(target.deleted)
                target.diff = ({"hosts": sorted(h["id"] for h in target.current)}, {"hosts": []})
            return self.targets
        self._check_settings()
        for target in self.targets:
            if target.msg is None and self.params["replace_stale"]:
                target.deleted = stale_hosts(target.current, target.enrolled_after)
                self._delete(target.deleted)
        for target in self.targets:
            if target.msg is None:
                target.host = self._newest(target, target.current)
        if self.params["wait"] and not self.check_mode:
            self._wait(hosts)
        for target in self.targets:
            if target.msg is None and target.host is None and not self.check_mode:
                target.msg = ("%s is not enrolled in Fleet (%s); enrollment is done by osquery or fleetd on the host "
                              "(role gough.gough.fleet_enroll), set wait=true to wait for it."
                              % (target.described, self.client.api_url))
        self._move()
        return self.targets

    def _delete(self, hosts):
        if not self.check_mode:
            for host in hosts:
                self.client.delete_host(host["id"])

    def _check_settings(self):
        """Check every distinct enroll secret and team once; a bad one fails the targets that use it."""
        secrets, teams = {}, {}
        for target in self.targets:
            try:
                if target.enroll_secret is not None:
                    if target.enroll_secret not in secrets:
                        secrets[target.enroll_secret] = self._secret_error(target.enroll_secret)
                    if secrets[target.enroll_secret]:
                        raise secrets[target.enroll_secret]
                if target.team:
                    if target.team not in teams:
                        teams[target.team] = self.client.find_team(target.team)
                    if teams[target.team] is None:
                        raise BadInput("team", "Fleet has no team named %r; create it first (gough.gough.fleet_team)."
                                       % target.team)
                    target.team_id = teams[target.team]["id"]
            except BadInput as exc:
                if not self.batch:
                    raise
                target.msg = str(exc)

    def _secret_error(self, secret):
        """None when ``secret`` is a global or team enroll secret, else the ``BadInput`` naming ``enroll_secret``."""
        if any(s.get("secret") == secret for s in self.client.enroll_secrets()):
            return None
        for team in self.client.list_teams():
            if any(s.get("secret") == secret for s in self.client.enroll_secrets(team["id"])):
                return None
        return BadInput("enroll_secret", "Fleet does not know this enroll secret (it is neither a global secret nor a "
                                         "team's), so osquery on the host cannot enroll with it; use a current secret "
                                         "(gough.gough.fleet_enroll_secret reads them).")

    def _newest(self, target, hosts):
        """The target's host to keep: the most recently enrolled match that is not stale."""
        gone = set(h["id"] for h in target.deleted)
        kept = [h for h in target.matches(hosts) if h["id"] not in gone]
        if self.params["replace_stale"] and target.enrolled_after is not None:
            kept = [h for h in kept if enrolled_time(h) >= target.enrolled_after]
        return (newest_first(kept) or [None])[0]

    def _wait(self, hosts):
        """Poll with one look per ``poll_interval`` until every target's host is online or ``wait_timeout``."""
        started = self.clock()
        timeout, interval = self.params["wait_timeout"], self.params["poll_interval"]
        pending = [t for t in self.targets if t.msg is None]
        first = True
        while pending:
            if not first:
                hosts = self._read()
                self.polls += 1
                for target in pending:
                    target.host = self._newest(target, hosts)
            first = False
            elapsed = self.clock() - started
            for target in pending:
                target.waited = round(elapsed, 1)
            pending = [t for t in pending if not (t.host is not None and t.host.get("status") == "online")]
            if pending and elapsed >= timeout:
                for target in pending:
                    target.msg = timeout_message(target.described, target.host, timeout, self.client.api_url)
                return
            if pending:
                self.sleep(min(interval, timeout - elapsed))

    def _move(self):
        """Move every host that is not in its team, one transfer per team; then read the moved hosts back."""
        groups = {}
        for target in self.targets:
            if target.msg is not None or target.host is None:
                continue
            target.before_team = target.host.get("team_id")
            target.moved = target.team is not None and target.before_team != target.team_id
            if target.moved:
                groups.setdefault(target.team_id, []).append(target)
        for team_id, members in sorted(groups.items(), key=lambda item: (item[0] is not None, item[0])):
            if self.check_mode:
                for target in members:
                    target.host = dict(target.host, team_id=team_id, team_name=target.team or None)
            else:
                self.client.transfer_hosts(team_id, [t.host["id"] for t in members])
        reread = any(t.changed for t in self.targets) and not self.check_mode
        if reread:
            self._read()
        for target in self.targets:
            if target.msg is None:
                self._after(target, reread)

    def _after(self, target, reread):
        """The target's diff; after a change, its host as Fleet now shows it."""
        before_ids = sorted(h["id"] for h in target.current)
        gone = set(h["id"] for h in target.deleted)
        if self.check_mode:
            after_ids = set(before_ids) - gone
        else:
            after_ids = set(h["id"] for h in target.matches(self.last)) - gone
        if target.host is not None:
            if reread:
                target.host = next((h for h in self.last if h["id"] == target.host["id"]), target.host)
            after_ids.add(target.host["id"])
        before, after = {"hosts": before_ids}, {"hosts": sorted(after_ids)}
        if target.host is not None:
            before["team_id"], after["team_id"] = target.before_team, target.host.get("team_id")
        target.diff = (before, after)


def timeout_message(described, host, timeout, api_url):
    """Why the wait ended: never enrolled, or enrolled but not online."""
    if host is None:
        return ("%s did not enroll in Fleet (%s) within %d seconds. Check on the host that osquery runs and can "
                "reach Fleet: the flagfile (tls_hostname, tls_server_certs, the endpoints), the CA certificate and "
                "the enroll secret; its log says why enrollment fails." % (described, api_url, timeout))
    return ("%s is enrolled in Fleet as host %s but not online within %d seconds (status %s, last seen %s). Check "
            "that osquery runs on the host and reaches Fleet." % (described, host.get("id"), timeout,
                                                                  host.get("status"), host.get("seen_time")))
