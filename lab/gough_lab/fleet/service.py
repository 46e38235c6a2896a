"""The Fleet emulator's state and behaviour: users and sessions, enroll secrets, teams, hosts, labels, policies,
saved and live queries, and the osquery side (enroll, config, distributed read and write, logs).

Everything is kept in memory under one lock and written through to the sqlite Store on each change.
"""

import copy
import hashlib
import hmac
import re
import secrets
import string
import threading
import time
from collections import deque

from . import model
from .errors import (FleetError, OsqueryError, already_exists, auth_failed, bad_request, forbidden, not_found,
                     unauthenticated, validation)

VERSION = {"version": "4.62.0-gough-lab", "branch": "gough-lab", "revision": "0000000", "go_version": "go1.23-lab",
           "build_date": "2026-01-01T00:00:00Z", "build_user": "gough-lab"}
DEFAULT_AGENT_OPTIONS = {
    "config": {
        # distributed_interval, logger_tls_period and config_refresh come from the emulator's settings.
        "options": {"pack_delimiter": "/", "distributed_plugin": "tls", "disable_distributed": False,
                    "logger_tls_endpoint": "/api/osquery/log", "distributed_tls_max_attempts": 3},
        "decorators": {"load": ["SELECT uuid AS host_uuid FROM system_info;",
                                "SELECT hostname AS hostname FROM system_info;"]},
    },
    "overrides": {},
}
DETAIL_QUERIES = {
    "fleet_detail_query_os_version": "SELECT * FROM os_version LIMIT 1;",
    "fleet_detail_query_system_info": "SELECT * FROM system_info LIMIT 1;",
    "fleet_detail_query_osquery_info": "SELECT * FROM osquery_info LIMIT 1;",
    "fleet_detail_query_uptime": "SELECT * FROM uptime LIMIT 1;",
    # osquery's interface_addresses has no mac column: Fleet joins interface_details for it.
    "fleet_detail_query_network_interface_unix": ("SELECT ia.address, ia.mask, ia.interface, id.mac "
                                                  "FROM interface_addresses ia JOIN interface_details id "
                                                  "ON id.interface = ia.interface;"),
}
# Fleet's app config webhook_settings (server/fleet/app.go), as GET /config shows them by default.
DEFAULT_WEBHOOK_SETTINGS = {
    "interval": "24h0m0s",
    "failing_policies_webhook": {"enable_failing_policies_webhook": False, "destination_url": "", "policy_ids": [],
                                 "host_batch_size": 0},
    "host_status_webhook": {"enable_host_status_webhook": False, "destination_url": "", "host_percentage": 0,
                            "days_count": 0},
    "vulnerabilities_webhook": {"enable_vulnerabilities_webhook": False, "destination_url": "",
                                "host_batch_size": 0},
    "activities_webhook": {"enable_activities_webhook": False, "destination_url": ""},
}
DEFAULT_TEAM_WEBHOOK_SETTINGS = {
    "failing_policies_webhook": {"enable_failing_policies_webhook": False, "destination_url": "", "policy_ids": [],
                                 "host_batch_size": 0},
    "host_status_webhook": None,
}
# Fleet's answer to a policy whose query does ATTACH a database (server/fleet/policies.go verifyPolicyQuery).
ATTACH_RE = re.compile(r"(?i)attach[^\w]+.*[^\w]+as[^\w]+")
GO_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns))+$")
HOST_IDENTIFIER_MODES = ("provided", "instance", "uuid", "hostname")
# Team names Fleet refuses, compared case-insensitively. Fleet before the teams->fleets rename (the API this
# emulator speaks): "All teams" and "No team", the reason naming the reserved spelling (ee/server/service/teams.go
# NewTeam and ModifyTeam). Fleet after the rename also reserves "All fleets" and "Unassigned", the reason quoting
# the name as sent (server/fleet/teams.go IsReservedTeamName, server/service/teams.go verifyFleetName).
RESERVED_TEAM_NAMES = {"all teams": "All teams", "no team": "No team"}
RESERVED_FLEET_NAMES = ("all fleets", "unassigned")
NO_POLICIES_QUERY = "fleet_no_policies_wildcard"
SYMBOLS = set(string.punctuation)
LOG_KEEP = 200


def _hash_password(password, salt):
    return hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), 20000).hex()


def random_password():
    """A password that meets Fleet's rules (12+ characters, a digit and a symbol)."""
    return secrets.token_urlsafe(18) + "7!"


def check_password(password):
    """Fleet's password rules; raise a 422 naming ``password``."""
    if not isinstance(password, str) or not password:
        raise validation("password", "Password cannot be empty")
    if len(password) < 12 or not any(c.isdigit() for c in password) or not any(c in SYMBOLS for c in password):
        raise validation("password", "Password must be at least 12 characters long and include a number and a symbol")


class Session:  # pylint: disable=too-few-public-methods
    """The authenticated caller of one REST request."""

    def __init__(self, user, token):
        """``user`` is the user document, ``token`` the session token used."""
        self.user = user
        self.token = token


class Fleet:  # pylint: disable=too-many-public-methods,too-many-instance-attributes
    """All of the emulated Fleet server's state."""

    def __init__(self, store, config, host_identifier="provided"):
        """Load the state from ``store``; ``host_identifier`` is Fleet's osquery_host_identifier setting."""
        self.store = store
        self.config = config
        self.host_identifier = host_identifier
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.users = store.load("user")
        self.sessions = {doc["token"]: doc for doc in store.load("session").values()}
        self.teams = store.load("team")
        self.hosts = store.load("host")
        self.labels = store.load("label")
        self.policies = store.load("policy")
        self.queries = store.load("query")
        self.by_node_key = {h["node_key"]: h for h in self.hosts.values() if h.get("node_key")}
        self.campaigns = {}
        self.logs = {}
        self.next_ids = store.get_meta("next_ids", {})
        # Fleet's failing policies sets (Redis in Fleet): {policy id: {host id: {id, hostname, display_name}}}.
        self.failing_sets = store.get_meta("failing_policy_sets", {})
        if not self.labels:
            for name, query, platform, _member in model.BUILTIN_LABELS:
                now = time.time()
                label = {"id": self._next_id("label"), "name": name, "description": "", "query": query,
                         "platform": platform, "label_type": "builtin", "label_membership_type": "dynamic",
                         "host_ids": None, "created_at": now, "updated_at": now}
                self._save("label", label)

    # persistence ----------------------------------------------------------------------------------------------
    def _next_id(self, kind):
        with self.lock:
            value = self.next_ids.get(kind, 1)
            self.next_ids[kind] = value + 1
            self.store.set_meta("next_ids", self.next_ids)
            return value

    def _save(self, kind, obj):
        table = {"user": self.users, "team": self.teams, "host": self.hosts, "label": self.labels,
                 "policy": self.policies, "query": self.queries}[kind]
        table[obj["id"]] = obj
        self.store.save(kind, obj)

    def _delete(self, kind, obj_id):
        table = {"user": self.users, "team": self.teams, "host": self.hosts, "label": self.labels,
                 "policy": self.policies, "query": self.queries}[kind]
        table.pop(obj_id, None)
        self.store.delete(kind, obj_id)

    # bootstrap ------------------------------------------------------------------------------------------------
    def bootstrap(self):
        """On first start create the admin, an API-only admin with a token, and a global enroll secret.

        Returns {"admin_email", "admin_password", "api_token", "enroll_secret"} (stored in the 0600 database).
        """
        with self.lock:
            boot = self.store.get_meta("bootstrap")
            if boot is None:
                boot = {"admin_email": "admin@gough.lab", "admin_password": random_password()}
                self.create_user({"name": "Admin", "email": boot["admin_email"], "password": boot["admin_password"],
                                  "global_role": "admin"})
                api_user, token = self.create_user({"name": "Gough API", "email": "gough-api@gough.lab",
                                                    "password": random_password(), "global_role": "admin",
                                                    "api_only": True})
                boot["api_user_id"] = api_user["id"]
                boot["api_token"] = token
                boot["enroll_secret"] = secrets.token_urlsafe(24)
                self.store.set_meta("global_secrets", [{"secret": boot["enroll_secret"], "created_at": time.time()}])
                self.store.set_meta("agent_options", DEFAULT_AGENT_OPTIONS)
                self.store.set_meta("bootstrap", boot)
            return dict(boot)

    # users and sessions ---------------------------------------------------------------------------------------
    def _new_session(self, user_id):
        doc = {"id": self._next_id("session"), "token": secrets.token_urlsafe(32), "user_id": user_id,
               "created_at": time.time()}
        self.sessions[doc["token"]] = doc
        self.store.save("session", doc)
        return doc["token"]

    def authenticate(self, header):
        """The Session of a ``Authorization: Bearer <token>`` header; 401 otherwise."""
        if not header or not header.lower().startswith("bearer "):
            raise unauthenticated()
        token = header[7:].strip()
        with self.lock:
            session = self.sessions.get(token)
            user = self.users.get(session["user_id"]) if session else None
            if user is None or not user.get("enabled", True):
                raise unauthenticated()
            return Session(user, token)

    def login(self, email, password):
        """POST /login: a new session token for an email and password (API-only users cannot log in)."""
        with self.lock:
            for user in self.users.values():
                if user["email"].lower() == str(email or "").lower():
                    if hmac.compare_digest(user["password_hash"], _hash_password(str(password or ""), user["salt"])) \
                            and user.get("enabled", True) and not user.get("api_only"):
                        return user, self._new_session(user["id"])
                    break
            raise auth_failed()

    def logout(self, session):
        """POST /logout: end the session (an API-only user's token stays valid: it cannot log in again)."""
        with self.lock:
            if self.users[session.user["id"]].get("api_only"):
                return
            doc = self.sessions.pop(session.token, None)
            if doc:
                self.store.delete("session", doc["id"])

    def user_json(self, user):
        """A user as Fleet renders it."""
        teams = []
        for entry in user.get("teams") or []:
            team = self.teams.get(entry["id"])
            teams.append({"id": entry["id"], "name": team["name"] if team else "", "role": entry["role"]})
        return {"id": user["id"], "name": user["name"], "email": user["email"], "global_role": user.get("global_role"),
                "enabled": user.get("enabled", True), "force_password_reset": False, "gravatar_url": "",
                "sso_enabled": False, "mfa_enabled": False, "api_only": bool(user.get("api_only")), "teams": teams,
                "created_at": model.iso(user["created_at"]), "updated_at": model.iso(user["updated_at"])}

    def _validate_user_roles(self, body, user=None):
        global_role = body.get("global_role", user.get("global_role") if user else None)
        teams = body.get("teams", user.get("teams") if user else None) or []
        if "global_role" in body and "teams" in body and body["global_role"] and body["teams"]:
            raise validation("teams", "may not be specified with global_role")
        if global_role is not None and global_role not in model.ROLES:
            raise validation("global_role", "invalid global role: %s" % global_role)
        clean_teams = []
        if not isinstance(teams, list):
            raise validation("teams", "must be a list of {id, role}")
        for entry in teams:
            if not isinstance(entry, dict) or not isinstance(entry.get("id"), int):
                raise validation("teams", "each team needs an integer id and a role")
            if entry["id"] not in self.teams:
                raise not_found("Team", entry["id"])
            if entry.get("role") not in model.ROLES:
                raise validation("teams", "invalid team role: %s" % entry.get("role"))
            clean_teams.append({"id": entry["id"], "role": entry["role"]})
        if global_role is None and not clean_teams:
            raise validation("global_role", "either global_role or teams is required")
        if "global_role" in body and body["global_role"] and "teams" not in body:
            clean_teams = []
        if "teams" in body and clean_teams and "global_role" not in body:
            global_role = None
        return global_role, clean_teams

    def create_user(self, body):
        """POST /users/admin: returns (user, token-or-None); API-only users get a token that never expires."""
        with self.lock:
            name = body.get("name")
            email = body.get("email")
            if not isinstance(name, str) or not name.strip():
                raise validation("name", "cannot be empty")
            if not isinstance(email, str) or "@" not in email:
                raise validation("email", "must be a valid email address")
            check_password(body.get("password"))
            if any(u["email"].lower() == email.lower() for u in self.users.values()):
                raise already_exists("User %s already exists" % email)
            global_role, teams = self._validate_user_roles(body)
            salt = secrets.token_hex(16)
            now = time.time()
            user = {"id": self._next_id("user"), "name": name, "email": email, "salt": salt,
                    "password_hash": _hash_password(body["password"], salt), "global_role": global_role,
                    "teams": teams, "api_only": bool(body.get("api_only")), "enabled": True,
                    "created_at": now, "updated_at": now}
            self._save("user", user)
            token = self._new_session(user["id"]) if user["api_only"] else None
            return user, token

    def get_user(self, user_id):
        """One user or 404."""
        user = self.users.get(user_id)
        if user is None:
            raise not_found("User", user_id)
        return user

    def update_user(self, user_id, body):
        """PATCH /users/:id (name, email, password, global_role, teams, enabled)."""
        with self.lock:
            user = dict(self.get_user(user_id))
            if "name" in body:
                if not isinstance(body["name"], str) or not body["name"].strip():
                    raise validation("name", "cannot be empty")
                user["name"] = body["name"]
            if "email" in body:
                if not isinstance(body["email"], str) or "@" not in body["email"]:
                    raise validation("email", "must be a valid email address")
                if any(u["email"].lower() == body["email"].lower() and u["id"] != user_id for u in self.users.values()):
                    raise already_exists("User %s already exists" % body["email"])
                user["email"] = body["email"]
            if "password" in body:
                check_password(body["password"])
                user["password_hash"] = _hash_password(body["password"], user["salt"])
            if "global_role" in body or "teams" in body:
                user["global_role"], user["teams"] = self._validate_user_roles(body, user)
            if "enabled" in body:
                user["enabled"] = bool(body["enabled"])
            user["updated_at"] = time.time()
            self._save("user", user)
            return user

    def delete_user(self, user_id):
        """DELETE /users/:id and its sessions."""
        with self.lock:
            self.get_user(user_id)
            self._delete("user", user_id)
            for token, doc in list(self.sessions.items()):
                if doc["user_id"] == user_id:
                    del self.sessions[token]
                    self.store.delete("session", doc["id"])

    # permissions ----------------------------------------------------------------------------------------------
    @staticmethod
    def team_role(user, team_id):
        """The user's role on a team (a global role applies to every team)."""
        if user.get("global_role"):
            return user["global_role"]
        for entry in user.get("teams") or []:
            if entry["id"] == team_id:
                return entry["role"]
        return None

    def require_write(self, session, team_id=None, admin=False):
        """403 unless the user may change global (team_id None) or the team's objects."""
        role = session.user.get("global_role") if team_id is None else self.team_role(session.user, team_id)
        allowed = ("admin",) if admin else model.WRITE_ROLES
        if role not in allowed:
            raise forbidden("forbidden")

    def require_read(self, session, team_id=None):
        """403 unless the user has a role globally or on the team."""
        if session.user.get("global_role"):
            return
        if team_id is None or self.team_role(session.user, team_id) is None:
            raise forbidden("forbidden")

    def visible_team_ids(self, session):
        """None for global users (everything), else the ids of the user's teams."""
        if session.user.get("global_role"):
            return None
        return {entry["id"] for entry in session.user.get("teams") or []}

    # enroll secrets -------------------------------------------------------------------------------------------
    def global_secrets(self):
        """The global enroll secrets [{secret, created_at}]."""
        return [{"secret": s["secret"], "created_at": model.iso(s["created_at"])}
                for s in self.store.get_meta("global_secrets", [])]

    def _check_secrets(self, items, owner):
        if not isinstance(items, list):
            raise validation("secrets", "must be a list")
        values = []
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("secret"), str) or not item["secret"].strip():
                raise validation("secret", "enroll secret cannot be empty")
            if len(item["secret"]) > 255:
                raise validation("secret", "enroll secret is longer than 255 characters")
            values.append(item["secret"])
        if len(set(values)) != len(values):
            raise conflict_secret()
        taken = set()
        if owner != "global":
            taken.update(s["secret"] for s in self.store.get_meta("global_secrets", []))
        for team in self.teams.values():
            if team["id"] != owner:
                taken.update(s["secret"] for s in team.get("secrets") or [])
        if taken.intersection(values):
            raise conflict_secret()
        return values

    def replace_global_secrets(self, items, dry_run=False):
        """POST /spec/enroll_secret: replace every global secret (an empty list removes them all)."""
        with self.lock:
            values = self._check_secrets(items, "global")
            if dry_run:
                return
            old = {s["secret"]: s["created_at"] for s in self.store.get_meta("global_secrets", [])}
            now = time.time()
            self.store.set_meta("global_secrets", [{"secret": v, "created_at": old.get(v, now)} for v in values])

    def team_secrets(self, team):
        """A team's enroll secrets as Fleet renders them."""
        return [{"secret": s["secret"], "created_at": model.iso(s["created_at"]), "team_id": team["id"]}
                for s in team.get("secrets") or []]

    def replace_team_secrets(self, team_id, items):
        """PATCH /teams/:id/secrets: replace every secret of the team."""
        with self.lock:
            team = dict(self.get_team(team_id))
            values = self._check_secrets(items, team_id)
            old = {s["secret"]: s["created_at"] for s in team.get("secrets") or []}
            now = time.time()
            team["secrets"] = [{"secret": v, "created_at": old.get(v, now)} for v in values]
            self._save("team", team)
            return team

    def _secret_owner(self, secret):
        """("global", None) or ("team", team_id) for a known secret, else None."""
        for item in self.store.get_meta("global_secrets", []):
            if hmac.compare_digest(item["secret"], secret):
                return None, True
        for team in self.teams.values():
            for item in team.get("secrets") or []:
                if hmac.compare_digest(item["secret"], secret):
                    return team["id"], True
        return None, False

    # teams ----------------------------------------------------------------------------------------------------
    def get_team(self, team_id):
        """One team or 404."""
        team = self.teams.get(team_id)
        if team is None:
            raise not_found("Team", team_id)
        return team

    def team_json(self, team):
        """A team as Fleet renders it."""
        users = sum(1 for u in self.users.values() if any(t["id"] == team["id"] for t in u.get("teams") or []))
        hosts = sum(1 for h in self.hosts.values() if h.get("team_id") == team["id"])
        return {"id": team["id"], "name": team["name"], "description": team.get("description", ""),
                "created_at": model.iso(team["created_at"]), "user_count": users, "host_count": hosts,
                "agent_options": team.get("agent_options"), "secrets": self.team_secrets(team),
                "webhook_settings": self.team_webhook_settings(team), "integrations": team.get("integrations", {}),
                "mdm": team.get("mdm", {}),
                "host_expiry_settings": team.get("host_expiry_settings",
                                                 {"host_expiry_enabled": False, "host_expiry_window": 0})}

    def _check_team_name(self, name, team_id=None):
        if not isinstance(name, str) or not name.strip():
            raise validation("name", "may not be empty")
        lowered = name.strip().lower()
        if lowered in RESERVED_TEAM_NAMES:
            raise validation("name", "\"%s\" is a reserved team name" % RESERVED_TEAM_NAMES[lowered])
        if lowered in RESERVED_FLEET_NAMES:
            raise validation("name", "\"%s\" is a reserved name" % name)
        for team in self.teams.values():
            if team["name"].lower() == name.strip().lower() and team["id"] != team_id:
                raise already_exists("team %s already exists" % name)
        return name.strip()

    def create_team(self, body):
        """POST /teams: a new team with one generated enroll secret."""
        with self.lock:
            name = self._check_team_name(body.get("name"))
            description = body.get("description") or ""
            if not isinstance(description, str):
                raise validation("description", "must be a string")
            now = time.time()
            team = {"id": self._next_id("team"), "name": name, "description": description, "created_at": now,
                    "secrets": [{"secret": secrets.token_urlsafe(24), "created_at": now}], "agent_options": None}
            if isinstance(body.get("host_expiry_settings"), dict):
                team["host_expiry_settings"] = body["host_expiry_settings"]
            self._save("team", team)
            return team

    def update_team(self, team_id, body):
        """PATCH /teams/:id: name, description, host_ids (moves those hosts in), webhook and expiry settings."""
        with self.lock:
            team = dict(self.get_team(team_id))
            if "name" in body:
                team["name"] = self._check_team_name(body["name"], team_id)
            if "description" in body:
                if not isinstance(body["description"], str):
                    raise validation("description", "must be a string")
                team["description"] = body["description"]
            for key in ("webhook_settings", "integrations", "mdm", "host_expiry_settings"):
                if key in body:
                    if not isinstance(body[key], dict):
                        raise validation(key, "must be an object")
                    team[key] = body[key]
            if "webhook_settings" in body:
                merged = self.team_webhook_settings(self.get_team(team_id))
                for key, value in body["webhook_settings"].items():
                    if key != "failing_policies_webhook":
                        merged[key] = value
                        continue
                    if not isinstance(value, dict):
                        raise bad_request("invalid webhook_settings.failing_policies_webhook")
                    hook = dict(merged["failing_policies_webhook"], **value)
                    hook = self._check_failing_hook(hook, "webhook_settings.failing_policies_webhook")
                    merged["failing_policies_webhook"] = hook
                team["webhook_settings"] = merged
            host_ids = body.get("host_ids")
            if host_ids is not None:
                self._check_id_list(host_ids, "host_ids")
            self._save("team", team)
            if host_ids is not None:
                self.transfer_hosts(team_id, host_ids)
            return team

    def set_team_agent_options(self, team_id, options):
        """POST /teams/:id/agent_options: the team's raw agent options (config.options etc.)."""
        with self.lock:
            team = dict(self.get_team(team_id))
            if not isinstance(options, dict):
                raise validation("agent_options", "must be an object")
            team["agent_options"] = options
            self._save("team", team)
            return team

    def delete_team(self, team_id):
        """DELETE /teams/:id: its hosts move to "no team", its policies and queries go with it."""
        with self.lock:
            self.get_team(team_id)
            for host in list(self.hosts.values()):
                if host.get("team_id") == team_id:
                    host = dict(host, team_id=None)
                    self._put_host(host)
            for policy in list(self.policies.values()):
                if policy.get("team_id") == team_id:
                    self._delete("policy", policy["id"])
            for query in list(self.queries.values()):
                if query.get("team_id") == team_id:
                    self._delete("query", query["id"])
            for user in list(self.users.values()):
                if any(t["id"] == team_id for t in user.get("teams") or []):
                    self._save("user", dict(user, teams=[t for t in user["teams"] if t["id"] != team_id]))
            self._delete("team", team_id)

    # hosts ----------------------------------------------------------------------------------------------------
    def _put_host(self, host):
        old = self.hosts.get(host["id"])
        if old and old.get("node_key") and old["node_key"] != host.get("node_key"):
            self.by_node_key.pop(old["node_key"], None)
        if host.get("node_key"):
            self.by_node_key[host["node_key"]] = host
        self._save("host", host)

    def get_host(self, host_id):
        """One host or 404."""
        host = self.hosts.get(host_id)
        if host is None:
            raise not_found("Host", host_id)
        return host

    def host_by_identifier(self, identifier):
        """GET /hosts/identifier/:identifier: first host (lowest id) whose hostname, uuid, serial, osquery host
        id or node key equals the identifier."""
        with self.lock:
            for host in sorted(self.hosts.values(), key=lambda h: h["id"]):
                if identifier and identifier in (host.get("hostname"), host.get("uuid"), host.get("hardware_serial"),
                                                 host.get("osquery_host_id"), host.get("node_key")):
                    return host
            raise not_found("Host", identifier, key="identifier")

    def host_labels(self, host):
        """The labels a host belongs to."""
        found = []
        for label in sorted(self.labels.values(), key=lambda l: l["id"]):
            if self.in_label(label, host):
                found.append(label)
        return found

    def in_label(self, label, host):
        """Whether the host is a member of the label."""
        if label["label_type"] == "builtin":
            for name, _query, _platform, member in model.BUILTIN_LABELS:
                if name == label["name"]:
                    return member(host.get("platform") or "")
            return False
        if label["label_membership_type"] == "manual":
            return host["id"] in (label.get("host_ids") or [])
        result = (host.get("label_results") or {}).get(str(label["id"]))
        return bool(result and result.get("member"))

    def host_policies(self, host):
        """[{policy..., response}] for every policy that applies to the host."""
        found = []
        for policy in sorted(self.policies.values(), key=lambda p: p["id"]):
            if policy.get("team_id") not in (None, host.get("team_id")) or not model.policy_applies(policy, host):
                continue
            result = (host.get("policy_results") or {}).get(str(policy["id"])) or {}
            doc = self.policy_json(policy, counts=False)
            doc["response"] = result.get("response") or ""
            found.append(doc)
        return found

    def host_json(self, host, full=False):
        """A host as Fleet renders it; ``full`` adds labels, packs and policies (GET /hosts/:id)."""
        now = time.time()
        team = self.teams.get(host.get("team_id")) if host.get("team_id") is not None else None
        display = host.get("computer_name") or host.get("hostname") or ""
        policies = self.host_policies(host)
        failing = sum(1 for p in policies if p["response"] == "fail")
        config_options = self.effective_options(host)
        doc = {
            "id": host["id"], "osquery_host_id": host.get("osquery_host_id", ""), "uuid": host.get("uuid", ""),
            "hostname": host.get("hostname", ""), "computer_name": host.get("computer_name") or host.get("hostname", ""),
            "display_name": display, "display_text": host.get("hostname", ""), "platform": host.get("platform", ""),
            "platform_like": host.get("platform_like", ""), "os_version": host.get("os_version", ""),
            "code_name": host.get("code_name", ""), "build": "", "osquery_version": host.get("osquery_version", ""),
            "orbit_version": None, "fleet_desktop_version": None, "hardware_serial": host.get("hardware_serial", ""),
            "hardware_vendor": host.get("hardware_vendor", ""), "hardware_model": host.get("hardware_model", ""),
            "hardware_version": host.get("hardware_version", ""), "cpu_type": host.get("cpu_type", ""),
            "cpu_subtype": "", "cpu_brand": host.get("cpu_brand", ""),
            "cpu_physical_cores": host.get("cpu_physical_cores", 0), "cpu_logical_cores": host.get("cpu_logical_cores", 0),
            "memory": host.get("memory", 0), "uptime": host.get("uptime", 0), "primary_ip": host.get("primary_ip", ""),
            "primary_mac": host.get("primary_mac", ""), "public_ip": host.get("public_ip", ""),
            "team_id": host.get("team_id"), "team_name": team["name"] if team else None,
            "fleet_id": host.get("team_id"), "fleet_name": team["name"] if team else None,
            "status": model.host_status(host, self.config, now), "seen_time": model.iso(host.get("seen_time")),
            "created_at": model.iso(host["created_at"]), "updated_at": model.iso(host["updated_at"]),
            "last_enrolled_at": model.iso(host.get("last_enrolled_at")),
            "detail_updated_at": model.iso(host.get("detail_updated_at")),
            "label_updated_at": model.iso(host.get("label_updated_at")),
            "policy_updated_at": model.iso(host.get("policy_updated_at")),
            "refetch_requested": bool(host.get("refetch_requested")),
            "distributed_interval": config_options.get("distributed_interval", self.config.get("distributed_interval")),
            "config_tls_refresh": self.config.get("config_refresh"),
            "logger_tls_period": config_options.get("logger_tls_period", self.config.get("logger_tls_period")),
            "gigs_disk_space_available": 0, "percent_disk_space_available": 0,
            "issues": {"failing_policies_count": failing, "total_issues_count": failing},
            "mdm": {"enrollment_status": None, "server_url": None, "name": ""},
        }
        if full:
            doc["labels"] = [self.label_json(l, counts=False) for l in self.host_labels(host)]
            doc["packs"] = []
            doc["policies"] = policies
            doc["software"] = []
        return doc

    def filter_hosts(self, params, session):  # pylint: disable=too-many-branches
        """Hosts matching the list filters: status, query, team_id, label_id, policy_id+policy_response, os."""
        now = time.time()
        visible = self.visible_team_ids(session)
        hosts = [h for h in self.hosts.values() if visible is None or h.get("team_id") in visible]
        status = params.get("status")
        if status:
            if status not in ("new", "online", "offline", "mia", "missing"):
                raise bad_request("invalid status: %s" % status, name="status")
            if status == "new":
                hosts = [h for h in hosts if now - h["created_at"] <= model.NEW_SECONDS]
            else:
                wanted = "mia" if status == "missing" else status
                hosts = [h for h in hosts if model.host_status(h, self.config, now) == wanted]
        if "team_id" in params:
            team_id = params["team_id"]
            hosts = [h for h in hosts if (h.get("team_id") is None if team_id == 0 else h.get("team_id") == team_id)]
        query = (params.get("query") or "").strip().lower()
        if query:
            hosts = [h for h in hosts if any(query in str(h.get(k) or "").lower() for k in
                                             ("hostname", "computer_name", "hardware_serial", "uuid", "primary_ip"))]
        if params.get("label_id") is not None:
            label = self.get_label(params["label_id"])
            hosts = [h for h in hosts if self.in_label(label, h)]
        if params.get("policy_id") is not None:
            self.get_policy(params["policy_id"])
            response = params.get("policy_response")
            key = str(params["policy_id"])
            if response not in (None, "passing", "failing"):
                raise bad_request("invalid policy_response: %s" % response, name="policy_response")
            want = {"passing": "pass", "failing": "fail", None: None}[response]
            hosts = [h for h in hosts if ((h.get("policy_results") or {}).get(key) or {}).get("response")
                     and (want is None or h["policy_results"][key]["response"] == want)]
        elif params.get("policy_response"):
            raise bad_request("policy_response requires policy_id", name="policy_response")
        if params.get("os_name") or params.get("os_version"):
            name, version = params.get("os_name") or "", params.get("os_version") or ""
            hosts = [h for h in hosts if h.get("os_version", "").startswith(name)
                     and (not version or version in h.get("os_version", ""))]
        return hosts

    def delete_host(self, host_id):
        """DELETE /hosts/:id: forgets the host; its node key stops working (osquery re-enrolls)."""
        with self.lock:
            host = self.get_host(host_id)
            self.by_node_key.pop(host.get("node_key"), None)
            for label in list(self.labels.values()):
                if host_id in (label.get("host_ids") or []):
                    self._save("label", dict(label, host_ids=[i for i in label["host_ids"] if i != host_id]))
            self._delete("host", host_id)

    @staticmethod
    def _check_id_list(ids, name):
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise validation(name, "must be a list of integer ids")

    def transfer_hosts(self, team_id, host_ids):
        """POST /hosts/transfer: move hosts to a team (None = no team); unknown host ids are ignored."""
        with self.lock:
            if team_id is not None:
                self.get_team(team_id)
            self._check_id_list(host_ids, "hosts")
            for host_id in host_ids:
                host = self.hosts.get(host_id)
                if host is not None and host.get("team_id") != team_id:
                    # Fleet deletes the host's results of policies that no longer apply (the old team's).
                    results = dict((key, value) for key, value in (host.get("policy_results") or {}).items()
                                   if (self.policies.get(int(key)) or {}).get("team_id") in (None, team_id))
                    self._put_host(dict(host, team_id=team_id, policy_results=results, updated_at=time.time()))

    def refetch(self, host_id):
        """POST /hosts/:id/refetch: send the detail queries again at the host's next check-in."""
        with self.lock:
            host = self.get_host(host_id)
            self._put_host(dict(host, refetch_requested=True))

    # labels ---------------------------------------------------------------------------------------------------
    def get_label(self, label_id):
        """One label or 404."""
        label = self.labels.get(label_id)
        if label is None:
            raise not_found("Label", label_id)
        return label

    def label_json(self, label, counts=True):
        """A label as Fleet renders it."""
        doc = {"id": label["id"], "name": label["name"], "description": label.get("description", ""),
               "query": label.get("query", ""), "platform": label.get("platform", ""),
               "label_type": label["label_type"], "label_membership_type": label["label_membership_type"],
               "display_text": label["name"], "created_at": model.iso(label["created_at"]),
               "updated_at": model.iso(label["updated_at"])}
        if counts:
            members = [h["id"] for h in self.hosts.values() if self.in_label(label, h)]
            doc["count"] = len(members)
            doc["host_ids"] = sorted(members) if label["label_membership_type"] == "manual" else None
        return doc

    def _resolve_hosts(self, identifiers):
        ids = []
        for ident in identifiers:
            if isinstance(ident, int) and not isinstance(ident, bool):
                ids.append(self.get_host(ident)["id"])
            elif isinstance(ident, str):
                ids.append(self.host_by_identifier(ident)["id"])
            else:
                raise validation("hosts", "hosts are hostnames, uuids or serials")
        return sorted(set(ids))

    def create_label(self, body):
        """POST /labels: dynamic (query) or manual (hosts)."""
        with self.lock:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise validation("name", "cannot be empty")
            if any(l["name"].lower() == name.strip().lower() for l in self.labels.values()):
                raise already_exists("label %s already exists" % name)
            query, hosts = body.get("query"), body.get("hosts")
            if query and hosts is not None:
                raise validation("query", "a label has either a query (dynamic) or hosts (manual), not both")
            if hosts is not None and not isinstance(hosts, list):
                raise validation("hosts", "must be a list of host identifiers")
            if hosts is None and (not isinstance(query, str) or not query.strip()):
                raise validation("query", "cannot be empty")
            platform = body.get("platform") or ""
            if platform not in ("", "darwin", "windows", "linux", "ubuntu", "centos", "rhel", "debian", "chrome"):
                raise validation("platform", "invalid platform: %s" % platform)
            now = time.time()
            label = {"id": self._next_id("label"), "name": name.strip(), "description": body.get("description") or "",
                     "query": query or "", "platform": platform, "label_type": "regular",
                     "label_membership_type": "manual" if hosts is not None else "dynamic",
                     "host_ids": self._resolve_hosts(hosts) if hosts is not None else None,
                     "created_at": now, "updated_at": now}
            self._save("label", label)
            return label

    def update_label(self, label_id, body):
        """PATCH /labels/:id: name, description, hosts (manual).

        Fleet's PATCH payload (fleet.ModifyLabelPayload) has no query or platform field and its JSON decoder
        drops unknown keys, so a query or platform sent here is ignored: the label keeps the ones it was
        created with (Fleet's REST API docs: "Label queries and platforms are immutable").
        """
        with self.lock:
            label = dict(self.get_label(label_id))
            if label["label_type"] == "builtin":
                raise validation("label", "cannot modify or delete built-in label")
            if "name" in body:
                name = body["name"]
                if not isinstance(name, str) or not name.strip():
                    raise validation("name", "cannot be empty")
                if any(l["name"].lower() == name.strip().lower() and l["id"] != label_id for l in self.labels.values()):
                    raise already_exists("label %s already exists" % name)
                label["name"] = name.strip()
            if "description" in body:
                label["description"] = body["description"] or ""
            if "hosts" in body:
                if label["label_membership_type"] != "manual":
                    raise validation("hosts", "only manual labels have a host list")
                if not isinstance(body["hosts"], list):
                    raise validation("hosts", "must be a list of host identifiers")
                label["host_ids"] = self._resolve_hosts(body["hosts"])
            label["updated_at"] = time.time()
            self._save("label", label)
            return label

    def delete_label(self, label):
        """DELETE /labels/:name or /labels/id/:id."""
        with self.lock:
            if label["label_type"] == "builtin":
                raise validation("label", "cannot modify or delete built-in label")
            self._delete("label", label["id"])

    def label_by_name(self, name):
        """A label by name or 404."""
        for label in self.labels.values():
            if label["name"] == name:
                return label
        raise not_found("Label", name, key="name")

    # policies -------------------------------------------------------------------------------------------------
    def get_policy(self, policy_id, team_id="any"):
        """One policy or 404 (``team_id`` None = global only, an int = that team's only)."""
        policy = self.policies.get(policy_id)
        if policy is None or (team_id != "any" and policy.get("team_id") != team_id):
            raise not_found("Policy", policy_id)
        return policy

    def policy_json(self, policy, counts=True):
        """A policy as Fleet renders it."""
        author = self.users.get(policy.get("author_id")) or {}
        doc = {"id": policy["id"], "name": policy["name"], "query": policy["query"],
               "description": policy.get("description", ""), "critical": bool(policy.get("critical")),
               "author_id": policy.get("author_id"), "author_name": author.get("name", ""),
               "author_email": author.get("email", ""), "team_id": policy.get("team_id"),
               "fleet_id": policy.get("team_id"), "resolution": policy.get("resolution", ""),
               "platform": policy.get("platform", ""), "calendar_events_enabled": False,
               "created_at": model.iso(policy["created_at"]), "updated_at": model.iso(policy["updated_at"])}
        if counts:
            # Fleet counts a global policy over every host and a team policy over the team's hosts; an errored
            # run (status != 0) counts as neither (policy_membership.passes is NULL).
            passing = failing = 0
            for host in self.hosts.values():
                if policy.get("team_id") not in (None, host.get("team_id")):
                    continue
                response = ((host.get("policy_results") or {}).get(str(policy["id"])) or {}).get("response")
                passing += response == "pass"
                failing += response == "fail"
            doc.update(passing_host_count=passing, failing_host_count=failing,
                       host_count_updated_at=model.iso(time.time()))
        return doc

    def _check_policy_fields(self, body, team_id, policy_id=None):
        clean = {}
        if "name" in body or policy_id is None:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise validation("name", "policy name must not be empty")
            for other in self.policies.values():
                if other["id"] != policy_id and other.get("team_id") == team_id and other["name"] == name.strip():
                    raise already_exists("policy %s already exists" % name)
            clean["name"] = name.strip()
        if "query" in body or policy_id is None:
            query = body.get("query")
            if not isinstance(query, str) or not query.strip():
                raise validation("query", "policy query must not be empty")
            if ATTACH_RE.search(query):
                # Fleet checks no more of a policy's SQL than this (fleet.PolicyPayload.Verify).
                raise bad_request("policy payload verification: invalid policy query")
            clean["query"] = query
        for key in ("description", "resolution"):
            if key in body:
                if body[key] is not None and not isinstance(body[key], str):
                    raise validation(key, "must be a string")
                clean[key] = body[key] or ""
        if "platform" in body:
            platform = body["platform"] or ""
            if not isinstance(platform, str) or any(p not in model.POLICY_PLATFORMS for p in platform.split(",") if p):
                raise validation("platform", "platform must be a comma-separated list of %s or empty"
                                 % ", ".join(model.POLICY_PLATFORMS))
            clean["platform"] = platform
        if "critical" in body:
            if not isinstance(body["critical"], bool):
                raise validation("critical", "must be a boolean")
            clean["critical"] = body["critical"]
        if body.get("query_id") is not None:
            query = self.get_query(body["query_id"])
            clean.setdefault("query", query["query"])
        return clean

    def create_policy(self, body, team_id, author_id):
        """POST /global/policies or /teams/:id/policies."""
        with self.lock:
            if team_id is not None:
                self.get_team(team_id)
            clean = self._check_policy_fields(body, team_id)
            now = time.time()
            policy = {"id": self._next_id("policy"), "team_id": team_id, "author_id": author_id, "description": "",
                      "resolution": "", "platform": "", "critical": False, "created_at": now, "updated_at": now}
            policy.update(clean)
            self._save("policy", policy)
            return policy

    def update_policy(self, policy_id, team_id, body):
        """PATCH a policy; a changed query forgets the hosts' responses."""
        with self.lock:
            policy = dict(self.get_policy(policy_id, team_id))
            clean = self._check_policy_fields(body, team_id, policy_id)
            reset = ("query" in clean and clean["query"] != policy["query"]) or \
                    ("platform" in clean and clean["platform"] != policy["platform"])
            policy.update(clean)
            policy["updated_at"] = time.time()
            self._save("policy", policy)
            if reset:
                self._forget_policy_results(policy_id)
            return policy

    def _forget_policy_results(self, policy_id):
        for host in list(self.hosts.values()):
            if str(policy_id) in (host.get("policy_results") or {}):
                results = dict(host["policy_results"])
                results.pop(str(policy_id))
                self._put_host(dict(host, policy_results=results))

    def delete_policies(self, ids, team_id):
        """POST .../policies/delete {"ids"}: returns how many were deleted (404 for an unknown id)."""
        with self.lock:
            self._check_id_list(ids, "ids")
            for policy_id in ids:
                self.get_policy(policy_id, team_id)
            for policy_id in ids:
                self._delete("policy", policy_id)
                self._forget_policy_results(policy_id)
                self.failing_sets.pop(str(policy_id), None)
            self.store.set_meta("failing_policy_sets", self.failing_sets)
            # Fleet removes deleted policies from the failing policies webhook's policy_ids (global and team).
            settings = self.webhook_settings()
            hook = settings["failing_policies_webhook"]
            if any(i in ids for i in hook["policy_ids"]):
                hook["policy_ids"] = [i for i in hook["policy_ids"] if i not in ids]
                self.store.set_meta("webhook_settings", settings)
            for team in list(self.teams.values()):
                team_hook = (team.get("webhook_settings") or {}).get("failing_policies_webhook") or {}
                if any(i in ids for i in team_hook.get("policy_ids") or []):
                    team = copy.deepcopy(team)
                    team["webhook_settings"]["failing_policies_webhook"]["policy_ids"] = [
                        i for i in team_hook["policy_ids"] if i not in ids]
                    self._save("team", team)
            return len(ids)

    # saved queries --------------------------------------------------------------------------------------------
    def get_query(self, query_id):
        """One saved query or 404."""
        query = self.queries.get(query_id)
        if query is None:
            raise not_found("Query", query_id)
        return query

    def query_json(self, query):
        """A saved query as Fleet renders it."""
        author = self.users.get(query.get("author_id")) or {}
        keys = ("id", "name", "query", "description", "team_id", "interval", "platform", "min_osquery_version",
                "automations_enabled", "logging", "observer_can_run", "discard_data")
        doc = {k: query.get(k) for k in keys}
        doc.update(fleet_id=query.get("team_id"), saved=True, author_id=query.get("author_id"),
                   author_name=author.get("name", ""), author_email=author.get("email", ""), packs=[],
                   stats={}, created_at=model.iso(query["created_at"]), updated_at=model.iso(query["updated_at"]))
        return doc

    def _check_query_fields(self, body, team_id, query_id=None):
        clean = {}
        if "name" in body or query_id is None:
            name = body.get("name")
            if not isinstance(name, str) or not name.strip():
                raise validation("name", "query name must not be empty")
            for other in self.queries.values():
                if other["id"] != query_id and other.get("team_id") == team_id and other["name"] == name.strip():
                    raise already_exists("query %s already exists" % name)
            clean["name"] = name.strip()
        if "query" in body or query_id is None:
            sql = body.get("query")
            if not isinstance(sql, str) or not sql.strip():
                raise validation("query", "query must not be empty")
            clean["query"] = sql
        if "interval" in body:
            if isinstance(body["interval"], bool) or not isinstance(body["interval"], int) or body["interval"] < 0:
                raise validation("interval", "must be a non-negative integer")
            clean["interval"] = body["interval"]
        if "logging" in body:
            if body["logging"] not in ("snapshot", "differential", "differential_ignore_removals"):
                raise validation("logging", "invalid logging value, must be one of 'snapshot', 'differential', "
                                            "'differential_ignore_removals'")
            clean["logging"] = body["logging"]
        if "platform" in body:
            platform = body["platform"] or ""
            if not isinstance(platform, str) or any(p not in model.POLICY_PLATFORMS for p in platform.split(",") if p):
                raise validation("platform", "invalid platform: %s" % platform)
            clean["platform"] = platform
        for key in ("description", "min_osquery_version"):
            if key in body:
                clean[key] = body[key] or ""
        for key in ("automations_enabled", "observer_can_run", "discard_data"):
            if key in body:
                if not isinstance(body[key], bool):
                    raise validation(key, "must be a boolean")
                clean[key] = body[key]
        return clean

    def create_query(self, body, team_id, author_id):
        """POST /queries."""
        with self.lock:
            if team_id is not None:
                self.get_team(team_id)
            clean = self._check_query_fields(body, team_id)
            now = time.time()
            query = {"id": self._next_id("query"), "team_id": team_id, "author_id": author_id, "description": "",
                     "interval": 0, "platform": "", "min_osquery_version": "", "automations_enabled": False,
                     "logging": "snapshot", "observer_can_run": False, "discard_data": False,
                     "created_at": now, "updated_at": now}
            query.update(clean)
            self._save("query", query)
            return query

    def update_query(self, query_id, body):
        """PATCH /queries/:id."""
        with self.lock:
            query = dict(self.get_query(query_id))
            query.update(self._check_query_fields(body, query.get("team_id"), query_id))
            query["updated_at"] = time.time()
            self._save("query", query)
            return query

    def delete_query(self, query_id):
        """DELETE /queries/id/:id."""
        with self.lock:
            self.get_query(query_id)
            self._delete("query", query_id)

    # live queries ---------------------------------------------------------------------------------------------
    def live_query(self, sql, host_ids, timeout=None):
        """Send ``sql`` to the hosts at their next distributed/read and wait (bounded) for their answers.

        Returns (targeted host ids, {host_id: {"rows", "error"}}).
        """
        timeout = self.config.get("live_query_seconds") if timeout is None else timeout
        with self.lock:
            targets = sorted({h for h in host_ids if h in self.hosts})
            campaign_id = self._next_id("campaign")
            campaign = {"id": campaign_id, "sql": sql, "targets": set(targets), "results": {}}
            self.campaigns[campaign_id] = campaign
            deadline = time.monotonic() + timeout
            try:
                while not campaign["targets"] <= set(campaign["results"]):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self.changed.wait(left)
            finally:
                self.campaigns.pop(campaign_id, None)
            return targets, dict(campaign["results"])

    # the osquery side -----------------------------------------------------------------------------------------
    def enroll(self, body, remote_addr):
        """POST /api/osquery/enroll: check the secret, find or create the host by its identifier, new node key."""
        secret = body.get("enroll_secret")
        if not isinstance(secret, str) or not secret:
            raise OsqueryError("enroll failed: missing enroll secret", node_invalid=True)
        details = body.get("host_details") if isinstance(body.get("host_details"), dict) else {}
        with self.lock:
            team_id, known = self._secret_owner(secret)
            if not known:
                raise OsqueryError("enroll failed: no matching secret found", node_invalid=True)
            identifier = self._identifier(body, details)
            if not identifier:
                raise OsqueryError("enroll failed: missing host identifier", node_invalid=True)
            now = time.time()
            host = next((dict(h) for h in self.hosts.values() if h.get("osquery_host_id") == identifier), None)
            if host is None:
                host = model.new_host(self._next_id("host"), now)
                host["osquery_host_id"] = identifier
            # A team secret puts the host in that team; a global secret keeps a re-enrolling host's team.
            if team_id is not None or not host.get("team_id"):
                host["team_id"] = team_id
            host.update(node_key=secrets.token_urlsafe(24), seen_time=now, last_enrolled_at=now,
                        updated_at=now, detail_updated_at=None, public_ip=remote_addr or "")
            self._ingest(host, "os_version", details.get("os_version"))
            self._ingest(host, "system_info", details.get("system_info"))
            self._ingest(host, "osquery_info", details.get("osquery_info"))
            if not host.get("hostname"):
                host["hostname"] = str(body.get("host_identifier") or identifier)
            self._put_host(host)
            return host["node_key"]

    def _identifier(self, body, details):
        provided = str(body.get("host_identifier") or "")
        system = details.get("system_info") or {}
        info = details.get("osquery_info") or {}
        if self.host_identifier == "uuid":
            return str(system.get("uuid") or provided)
        if self.host_identifier == "hostname":
            return str(system.get("hostname") or provided)
        if self.host_identifier == "instance":
            return str(info.get("instance_id") or provided)
        return provided

    def node(self, body, remote_addr=None):
        """The host of a request's node_key (its check-in time updated); 401 node_invalid otherwise."""
        key = body.get("node_key") if isinstance(body, dict) else None
        with self.lock:
            host = self.by_node_key.get(key) if isinstance(key, str) else None
            if host is None or host["id"] not in self.hosts:
                raise OsqueryError("authentication error: invalid node key", node_invalid=True)
            host = dict(host, seen_time=time.time())
            if remote_addr:
                host["public_ip"] = remote_addr
            self._put_host(host)
            return host

    def effective_options(self, host):
        """The osquery options a host gets: the team's agent options when set, else the global ones."""
        agent = self.store.get_meta("agent_options", DEFAULT_AGENT_OPTIONS)
        team = self.teams.get(host.get("team_id")) if host.get("team_id") is not None else None
        if team and team.get("agent_options"):
            agent = team["agent_options"]
        return dict(((agent or {}).get("config") or {}).get("options") or {})

    def osquery_config(self, host):
        """POST /api/osquery/config: options, decorators and packs at the top level."""
        with self.lock:
            agent = self.store.get_meta("agent_options", DEFAULT_AGENT_OPTIONS)
            team = self.teams.get(host.get("team_id")) if host.get("team_id") is not None else None
            if team and team.get("agent_options"):
                agent = team["agent_options"]
            config = dict((agent or {}).get("config") or {})
            options = dict(config.get("options") or {})
            options.setdefault("distributed_interval", self.config.get("distributed_interval"))
            options.setdefault("logger_tls_period", self.config.get("logger_tls_period"))
            options.setdefault("config_refresh", self.config.get("config_refresh"))
            config["options"] = options
            packs = {}
            for query in sorted(self.queries.values(), key=lambda q: q["id"]):
                if not query.get("interval") or query.get("team_id") not in (None, host.get("team_id")):
                    continue
                pack = "Global" if query.get("team_id") is None else "team-%d" % query["team_id"]
                packs.setdefault(pack, {"queries": {}})["queries"][query["name"]] = {
                    "query": query["query"], "interval": query["interval"], "platform": query.get("platform", ""),
                    "version": query.get("min_osquery_version", ""), "removed": query.get("logging") == "differential",
                    "snapshot": query.get("logging") == "snapshot", "shard": None, "denylist": None}
            if packs:
                config["packs"] = packs
            return config

    def distributed_read(self, host):
        """POST /api/osquery/distributed/read: detail, label, policy and live queries due for the host."""
        now = time.time()
        queries = {}
        with self.lock:
            if host.get("refetch_requested") or host.get("detail_updated_at") is None or \
                    now - host["detail_updated_at"] >= self.config.get("detail_interval"):
                queries.update(DETAIL_QUERIES)
            for label in self.labels.values():
                if label["label_type"] == "builtin" or label["label_membership_type"] != "dynamic":
                    continue
                if label.get("platform") and label["platform"] not in (host.get("platform"),
                                                                       model.platform_family(host.get("platform"))):
                    continue
                result = (host.get("label_results") or {}).get(str(label["id"]))
                if not result or now - result["at"] >= self.config.get("label_interval"):
                    queries["fleet_label_query_%d" % label["id"]] = label["query"]
            # Fleet sends a host all its policies at once, when its policy_updated_at is older than the policy
            # update interval or a refetch was asked (policyQueriesForHost); none apply: the wildcard query.
            updated = host.get("policy_updated_at")
            if host.get("refetch_requested") or updated is None or now - updated >= self.config.get("policy_interval"):
                due = dict(("fleet_policy_query_%d" % p["id"], p["query"]) for p in self.policies.values()
                           if p.get("team_id") in (None, host.get("team_id")) and model.policy_applies(p, host))
                queries.update(due or {NO_POLICIES_QUERY: "SELECT 1"})
            for campaign in self.campaigns.values():
                if host["id"] in campaign["targets"] and host["id"] not in campaign["results"]:
                    queries["fleet_distributed_query_%d" % campaign["id"]] = campaign["sql"]
        return {"queries": queries, "discovery": {}}

    def distributed_write(self, host, body):  # pylint: disable=too-many-branches
        """POST /api/osquery/distributed/write: ingest details, label and policy results, live query answers."""
        results = body.get("queries") or {}
        statuses = body.get("statuses") or {}
        messages = body.get("messages") or {}
        if not isinstance(results, dict) or not isinstance(statuses, dict) or not isinstance(messages, dict):
            raise OsqueryError("queries, statuses and messages must be objects", status=400)
        now = time.time()
        with self.lock:
            host = dict(self.hosts.get(host["id"]) or host)
            policy_results = dict(host.get("policy_results") or {})
            label_results = dict(host.get("label_results") or {})
            detail_seen = policy_seen = label_seen = False
            for name, rows in results.items():
                rows = rows if isinstance(rows, list) else []
                try:
                    status = int(statuses.get(name, 0) or 0)
                except (TypeError, ValueError):
                    status = 1
                if name.startswith("fleet_detail_query_"):
                    detail_seen = True
                    if status == 0 and rows:
                        self._ingest(host, name[len("fleet_detail_query_"):], rows)
                elif name.startswith("fleet_label_query_"):
                    label_seen = True
                    if status == 0:
                        label_results[name[len("fleet_label_query_"):]] = {"member": bool(rows), "at": now}
                elif name.startswith("fleet_policy_query_"):
                    policy_seen = True
                    response = ("pass" if rows else "fail") if status == 0 else None
                    key = name[len("fleet_policy_query_"):]
                    previous = (policy_results.get(key) or {}).get("response")
                    self._record_flip(host, key, previous, response)
                    policy_results[key] = {"response": response, "at": now}
                elif name == NO_POLICIES_QUERY:
                    policy_seen = True
                elif name.startswith("fleet_distributed_query_"):
                    try:
                        campaign = self.campaigns.get(int(name[len("fleet_distributed_query_"):]))
                    except ValueError:
                        campaign = None
                    if campaign is not None and host["id"] in campaign["targets"]:
                        error = None if status == 0 else str(messages.get(name) or "query failed (status %d)" % status)
                        campaign["results"][host["id"]] = {"rows": rows if status == 0 else [], "error": error}
            if detail_seen:
                host.update(detail_updated_at=now, refetch_requested=False)
            if policy_seen:
                host.update(policy_results=policy_results, policy_updated_at=now)
                self.store.set_meta("failing_policy_sets", self.failing_sets)
            if label_seen:
                host.update(label_results=label_results, label_updated_at=now)
            host["updated_at"] = now
            self._put_host(host)
            self.changed.notify_all()

    def _ingest(self, host, table, data):  # pylint: disable=too-many-branches
        """Copy what a detail query (or enroll's host_details) says into the host."""
        if isinstance(data, list):
            rows = [r for r in data if isinstance(r, dict)]
            row = rows[0] if rows else {}
        else:
            rows, row = [], data if isinstance(data, dict) else {}
        if not row:
            return

        def as_int(value):
            try:
                return int(float(value))
            except (TypeError, ValueError):
                return 0
        if table == "os_version":
            host["os_version"] = model.os_version_string(row)
            host["platform"] = str(row.get("platform") or host.get("platform") or "")
            host["platform_like"] = str(row.get("platform_like") or "")
            host["code_name"] = str(row.get("codename") or "")
        elif table == "system_info":
            for src, dst in (("hostname", "hostname"), ("uuid", "uuid"), ("hardware_serial", "hardware_serial"),
                             ("hardware_vendor", "hardware_vendor"), ("hardware_model", "hardware_model"),
                             ("hardware_version", "hardware_version"), ("cpu_type", "cpu_type"),
                             ("cpu_brand", "cpu_brand"), ("computer_name", "computer_name")):
                if row.get(src) not in (None, ""):
                    host[dst] = str(row[src])
            for src, dst in (("cpu_physical_cores", "cpu_physical_cores"), ("cpu_logical_cores", "cpu_logical_cores"),
                             ("physical_memory", "memory")):
                if row.get(src) not in (None, ""):
                    host[dst] = as_int(row[src])
        elif table == "osquery_info":
            if row.get("version"):
                host["osquery_version"] = str(row["version"])
        elif table == "uptime":
            # Fleet reports uptime as a Go duration: nanoseconds.
            host["uptime"] = as_int(row.get("total_seconds")) * 1000000000
        elif table == "network_interface_unix":
            for item in rows:
                address = str(item.get("address") or "")
                if "." in address and not address.startswith("127."):
                    host["primary_ip"] = address
                    host["primary_mac"] = str(item.get("mac") or "")
                    break

    # failing policies automation -------------------------------------------------------------------------------
    def _record_flip(self, host, policy_key, previous, response):
        """Fleet's FlippingPoliciesForHost + registerFlippedPolicies for the webhook's policies: a host enters a
        policy's failing set when the policy newly fails on it (first run failing, or pass -> fail) and leaves it
        when the policy passes again; an errored run changes nothing."""
        policy = self.policies.get(int(policy_key)) if policy_key.isdigit() else None
        if policy is None or response is None or int(policy_key) not in self.automated_policy_ids(host):
            return
        members = self.failing_sets.setdefault(policy_key, {})
        if response == "fail" and previous != "fail":
            members[str(host["id"])] = {"id": host["id"], "hostname": host.get("hostname", ""),
                                        "display_name": host.get("computer_name") or host.get("hostname", "")}
        elif response == "pass" and previous == "fail":
            members.pop(str(host["id"]), None)

    def automated_policy_ids(self, host):
        """Policy ids whose failures Fleet tracks for ``host``: the global webhook's (when enabled) and those of the
        host's team webhook (when enabled)."""
        ids = set()
        hook = self.webhook_settings()["failing_policies_webhook"]
        if hook["enable_failing_policies_webhook"]:
            ids.update(hook["policy_ids"])
        team = self.teams.get(host.get("team_id")) if host.get("team_id") is not None else None
        team_hook = ((team or {}).get("webhook_settings") or {}).get("failing_policies_webhook") or {}
        if team_hook.get("enable_failing_policies_webhook"):
            ids.update(team_hook.get("policy_ids") or [])
        return ids

    def webhook_settings(self):
        """The app config's webhook_settings (a copy)."""
        settings = copy.deepcopy(DEFAULT_WEBHOOK_SETTINGS)
        stored = self.store.get_meta("webhook_settings", {})
        for key, value in stored.items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key].update(value)
            else:
                settings[key] = value
        return settings

    @staticmethod
    def _check_failing_hook(hook, where):
        """Fleet's rules for a failing_policies_webhook object; returns it cleaned."""
        clean = dict(hook)
        for key, kind in (("enable_failing_policies_webhook", bool), ("destination_url", str), ("policy_ids", list),
                          ("host_batch_size", int)):
            if key in clean and (not isinstance(clean[key], kind) or (kind is int and isinstance(clean[key], bool))):
                raise bad_request("invalid %s.%s" % (where, key), name="%s.%s" % (where, key))
        if any(not isinstance(i, int) or isinstance(i, bool) for i in clean.get("policy_ids") or []):
            raise bad_request("invalid %s.policy_ids" % where, name="%s.policy_ids" % where)
        if clean.get("host_batch_size", 0) < 0:
            raise validation("%s.host_batch_size" % where, "must be 0 (one request per policy) or more")
        if clean.get("enable_failing_policies_webhook") and not clean.get("destination_url"):
            # Fleet's documented rule: destination_url is required when the webhook is enabled.
            raise validation("%s.destination_url" % where, "destination_url is required to enable the webhook")
        return clean

    def update_app_config(self, body):
        """PATCH /config: what the emulator keeps of Fleet's app config (webhook_settings); nested objects are
        merged into the current ones like Fleet's JSON decoding into the existing config."""
        with self.lock:
            settings = self.webhook_settings()
            patch = body.get("webhook_settings")
            if patch is not None:
                if not isinstance(patch, dict):
                    raise bad_request("webhook_settings must be an object", name="webhook_settings")
                if "interval" in patch:
                    if not isinstance(patch["interval"], str) or not GO_DURATION_RE.match(patch["interval"]):
                        raise bad_request("invalid webhook_settings.interval %r: a duration such as 24h or 5m"
                                          % (patch["interval"],), name="webhook_settings.interval")
                    settings["interval"] = patch["interval"]
                for key, value in patch.items():
                    if key == "interval":
                        continue
                    if key not in settings or not isinstance(value, dict):
                        raise bad_request("unsupported key provided: \"%s\"" % key, name="webhook_settings")
                    merged = dict(settings[key], **value)
                    if key == "failing_policies_webhook":
                        merged = self._check_failing_hook(merged, "webhook_settings.failing_policies_webhook")
                    settings[key] = merged
                self.store.set_meta("webhook_settings", settings)
            return settings

    def team_webhook_settings(self, team):
        """A team's webhook_settings with Fleet's defaults filled in."""
        settings = copy.deepcopy(DEFAULT_TEAM_WEBHOOK_SETTINGS)
        for key, value in (team.get("webhook_settings") or {}).items():
            if isinstance(value, dict) and isinstance(settings.get(key), dict):
                settings[key].update(value)
            else:
                settings[key] = value
        return settings

    def failing_policy_batches(self):
        """What one run of Fleet's failing policies automation sends: [(url, policy JSON, [hosts])], the hosts of
        each batch in id order, ``host_batch_size`` per batch (0: all in one). Policies no longer configured lose
        their sets (Fleet's RemoveSet)."""
        with self.lock:
            global_hook = self.webhook_settings()["failing_policies_webhook"]
            work = []
            for key in sorted(self.failing_sets, key=int):
                policy = self.policies.get(int(key))
                if policy is None:
                    self.failing_sets.pop(key, None)
                    continue
                if policy.get("team_id") is None:
                    hook = global_hook
                else:
                    hook = self.team_webhook_settings(self.teams.get(policy["team_id"]) or {})["failing_policies_webhook"]
                if not hook.get("enable_failing_policies_webhook") or int(key) not in (hook.get("policy_ids") or []):
                    self.failing_sets.pop(key, None)
                    continue
                hosts = sorted(self.failing_sets[key].values(), key=lambda h: h["id"])
                if not hosts:
                    continue
                size = hook.get("host_batch_size") or len(hosts)
                doc = self.policy_json(policy)
                doc["failing_host_count"] = max(doc["failing_host_count"], len(hosts))
                for start in range(0, len(hosts), size):
                    work.append((hook["destination_url"], doc, int(key), hosts[start:start + size]))
            self.store.set_meta("failing_policy_sets", self.failing_sets)
            return work

    def failing_policy_sent(self, policy_id, hosts):
        """After a batch was delivered, Fleet removes its hosts from the policy's failing set."""
        with self.lock:
            members = self.failing_sets.get(str(policy_id)) or {}
            for host in hosts:
                members.pop(str(host["id"]), None)
            self.store.set_meta("failing_policy_sets", self.failing_sets)

    def add_logs(self, host, log_type, data):
        """POST /api/osquery/log: keep the latest status and result lines per host (see /_lab/logs)."""
        with self.lock:
            entry = self.logs.setdefault(host["id"], {"status": deque(maxlen=LOG_KEEP), "result": deque(maxlen=LOG_KEEP),
                                                      "received": {"status": 0, "result": 0}})
            entry["received"][log_type] += len(data)
            entry[log_type].extend(data)

    def logs_json(self):
        """Every host's kept log lines and counts."""
        with self.lock:
            return {str(host_id): {"status": list(e["status"]), "result": list(e["result"]), "received": dict(e["received"])}
                    for host_id, e in self.logs.items()}


def conflict_secret():
    """409 for an enroll secret that is used twice."""
    return FleetError(409, "Resource Already Exists", "enroll secret is already in use")
