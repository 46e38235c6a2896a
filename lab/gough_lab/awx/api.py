"""The AWX v2 API the emulator serves: objects, lists and filters, associations, roles, surveys, schedules,
project updates, launches and callbacks (jobs are recorded, not run).

State is one document kept in the state directory's sqlite database (``awx.sqlite3``, mode 0600; see store.py),
written through after every change, so a restarted emulator serves the same objects.
"""

import hashlib
import json
import os
import re
import secrets
import shutil
import tempfile
import uuid

from . import projects, validate
from .jobs import Launch
from .rbac import RBAC
from .resources import KINDS, ROLE_NAMES, UJT_TYPES
from .validate import ENCRYPTED, Forbidden, Invalid, MethodNotAllowed, NotFound, now

VERSION = "24.6.1"
PREFIX = "/api/v2/"
PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
LOOKUPS = ("icontains", "contains", "iexact", "exact", "in", "isnull", "startswith", "istartswith")
# The credential types AWX manages that the emulator has from the start: (name, kind, inputs).
MANAGED_CREDENTIAL_TYPES = (
    ("Machine", "ssh", {"fields": [{"id": "username", "label": "Username", "type": "string"},
                                   {"id": "password", "label": "Password", "type": "string", "secret": True},
                                   {"id": "ssh_key_data", "label": "SSH Private Key", "type": "string",
                                    "format": "ssh_private_key", "secret": True, "multiline": True}]}),
    ("Source Control", "scm", {"fields": [{"id": "username", "label": "Username", "type": "string"},
                                          {"id": "password", "label": "Password", "type": "string", "secret": True},
                                          {"id": "ssh_key_data", "label": "SCM Private Key", "type": "string",
                                           "format": "ssh_private_key", "secret": True, "multiline": True}]}),
    ("Container Registry", "registry", {
        "fields": [{"id": "host", "label": "Authentication URL", "type": "string"},
                   {"id": "username", "label": "Username", "type": "string"},
                   {"id": "password", "label": "Password or Token", "type": "string", "secret": True},
                   {"id": "verify_ssl", "label": "Verify SSL", "type": "boolean", "default": True}],
        "required": ["host"]}),
)


def _hash(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _hash_password(password, salt=None):
    salt = salt or secrets.token_hex(8)
    return "sha256$%s$%s" % (salt, _hash(salt + password))


def _kind_change_refused():
    """InventoryDetail.update: the kind of an inventory never changes (405, not a field error)."""
    return Invalid({"error": 'You cannot turn a regular inventory into a "smart" or "constructed" inventory.'},
                   status=405)


def render_update(update):
    """A project or inventory update as the API shows it (without the emulator's stored output)."""
    rendered = {key: value for key, value in update.items() if not key.startswith("_")}
    rendered.setdefault("result_traceback", "")
    if update.get("type") == "project_update":
        rendered["related"] = {"project": "%sprojects/%s/" % (PREFIX, update["project"]),
                               "stdout": "%sstdout/" % update["url"]}
    return rendered


def _update_stdout(failure, revision="", scm_type="git"):
    """The output of AWX's project update playbook (project_update.yml) for its update task: ``failure`` (a
    projects.GitFailure) fails it as ansible prints a failed task, otherwise it reports the revision."""
    rule = "*" * 40
    lines = ["PLAY [Update source tree if necessary] %s" % rule, "",
             "TASK [update project using %s] %s" % (scm_type, rule)]
    if failure is not None:
        lines += ["fatal: [localhost]: FAILED! => %s" % json.dumps(failure.result(), sort_keys=True), "",
                  "PLAY RECAP %s" % rule,
                  "localhost                  : ok=0    changed=0    unreachable=0    failed=1    skipped=0    "
                  "rescued=0    ignored=0"]
    else:
        lines += ["changed: [localhost]", "", "TASK [Repository Version] %s" % rule,
                  'ok: [localhost] => {\n    "msg": "Repository Version %s"\n}' % revision, "",
                  "PLAY RECAP %s" % rule,
                  "localhost                  : ok=2    changed=1    unreachable=0    failed=0    skipped=0    "
                  "rescued=0    ignored=0"]
    return "\n".join(lines) + "\n"


def check_password(stored, password):
    """Whether ``password`` matches a stored ``sha256$salt$hash``."""
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "sha256":
        return False
    return secrets.compare_digest(_hash(salt + password), digest)


def _parse_vars(text, field):
    """AWX accepts JSON or YAML dicts in extra_vars/variables/source_vars strings."""
    if text in (None, ""):
        return {}
    if isinstance(text, dict):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        try:
            import yaml  # pylint: disable=import-outside-toplevel
            value = yaml.safe_load(text)
        except Exception as exc:  # pylint: disable=broad-except
            raise validate.field_error(field, "Cannot parse as JSON or YAML: %s" % exc) from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise validate.field_error(field, "Must be a JSON or YAML dictionary.")
    return value


class API(RBAC, Launch):  # pylint: disable=too-many-public-methods
    """Request handling over a Store. ``handle`` is called with the store lock held by the server.

    ``project_checkout``: the git repository a project update checks out when the project's URL is not a local
    ``file://`` path (the emulator fetches nothing). ``projects_root``: AWX's PROJECTS_ROOT, where manual projects'
    ``local_path`` directories live, and git projects' checkouts (``_<id>__<name>``, as AWX's local_path).
    """

    def __init__(self, store, stats, project_checkout=None, projects_root=None):
        self.store = store
        self.stats = stats
        self.project_checkout = os.path.abspath(project_checkout) if project_checkout else None
        self.projects_root = os.path.abspath(projects_root) if projects_root else None
        self.user = None
        self.scope = "write"
        self.remote_hosts = []

    @staticmethod
    def parse_vars(text, field):
        """A JSON or YAML dictionary given as a string or a dict (extra_vars, variables, source_vars)."""
        return _parse_vars(text, field)

    # --- helpers --------------------------------------------------------------------------------------------

    def url(self, collection, object_id):
        """The API URL of an object."""
        return "%s%s/%s/" % (PREFIX, collection, object_id)

    def find_ujt(self, object_id):
        """(collection, object) of a unified job template id, or (None, None)."""
        for collection in UJT_TYPES:
            obj = self.store.get(collection, object_id)
            if obj is not None:
                return collection, obj
        return None, None

    def lookup(self, collection, object_id):
        """An object of ``collection`` (unified_job_templates searches the four template tables)."""
        if collection == "unified_job_templates":
            return self.find_ujt(object_id)[1]
        return self.store.get(collection, object_id)

    def summary(self, collection, obj):
        """The short form of an object in another object's summary_fields."""
        if obj is None:
            return None
        out = {"id": obj["id"]}
        kind = KINDS[collection]
        if "name" in obj:
            out["name"] = obj["name"]
        if "username" in obj:
            out["username"] = obj["username"]
        if "description" in obj:
            out["description"] = obj["description"]
        if collection == "credentials":
            out.update(kind=obj.get("kind"), cloud=obj.get("cloud"), credential_type_id=obj.get("credential_type"))
        if collection in UJT_TYPES:
            out["unified_job_type"] = {"projects": "project_update", "inventory_sources": "inventory_update",
                                       "job_templates": "job", "workflow_job_templates": "workflow_job"}[collection]
        if collection == "execution_environments":
            out["image"] = obj.get("image")
        if kind.type == "inventory":
            out["kind"] = obj.get("kind")
        return out

    def render(self, collection, obj, extra_summary=None):
        """An object as AWX returns it: fields plus id, type, url, related and summary_fields."""
        kind = KINDS[collection]
        url = self.url(collection, obj["id"])
        out = {"id": obj["id"], "type": kind.type, "url": url, "created": obj["created"],
               "modified": obj["modified"]}
        related = {}
        summary = {}
        for field in kind.fields:
            if field in kind.write_only:
                continue
            value = obj.get(field)
            if field in kind.refs and value is not None:
                target_collection = kind.refs[field]
                target = self.lookup(target_collection, value)
                if target_collection == "unified_job_templates":
                    target_collection = self.find_ujt(value)[0] or target_collection
                if target is not None and target_collection in KINDS:
                    related[field] = self.url(target_collection, value)
                    summary[field] = self.summary(target_collection, target)
            out[field] = value
        if collection == "credentials":
            ctype = self.store.get("credential_types", obj["credential_type"]) or {}
            hidden = validate.secret_fields(ctype)
            out["inputs"] = {key: (ENCRYPTED if key in hidden and value != "" else value)
                             for key, value in obj["inputs"].items()}
        if collection == "users":
            out["password"] = ENCRYPTED  # write-only: AWX shows a placeholder, never the password
        if collection == "notification_templates":
            hidden = validate.notification_secrets(obj.get("notification_type"))
            out["notification_configuration"] = {
                key: (ENCRYPTED if key in hidden and value else value)
                for key, value in (obj.get("notification_configuration") or {}).items()}
        for name in kind.lists:
            related[name] = url + name + "/"
        if kind.roles:
            related["object_roles"] = url + "object_roles/"
            summary["object_roles"] = {}
            for field in kind.roles:
                role_id = obj["roles"][field]
                label, description = ROLE_NAMES[field]
                summary["object_roles"][field] = {"id": role_id, "name": label,
                                                  "description": description.replace("%s", kind.type)}
        if collection in ("job_templates", "workflow_job_templates"):
            related["survey_spec"] = url + "survey_spec/"
            related["launch"] = url + "launch/"
        if collection == "job_templates" and obj.get("host_config_key"):
            related["callback"] = url + "callback/"
        if collection == "workflow_job_templates":
            related["workflow_nodes"] = url + "workflow_nodes/"
        if collection in UJT_TYPES:
            related["schedules"] = url + "schedules/"
        if collection in ("projects", "inventory_sources"):
            related["update"] = url + "update/"
            last = obj.get("last_update")
            if last:
                summary["last_update"] = {"id": last, "status": self.store.data["updates"][str(last)]["status"]}
                if summary["last_update"]["status"] in ("pending", "waiting", "running"):
                    summary["current_update"] = dict(summary["last_update"], name=obj["name"])
                related["last_update"] = "%s%s/%s/" % (
                    PREFIX, "project_updates" if collection == "projects" else "inventory_updates", last)
        if collection == "projects":
            related["playbooks"] = url + "playbooks/"
            related["inventories"] = url + "inventories/"
        if collection == "teams":
            related["roles"] = url + "roles/"
        if collection == "users":
            related["roles"] = url + "roles/"
        if collection == "inventories":
            related["hosts"] = url + "hosts/"
        creator = self.store.get("users", obj["created_by"]) if obj.get("created_by") else None
        if creator is not None:
            related["created_by"] = self.url("users", creator["id"])
            summary["created_by"] = {key: creator[key] for key in ("id", "username", "first_name", "last_name")}
        if self.user is not None:
            capabilities = self.user_capabilities(collection, obj, self.user, self.scope)
            if capabilities is not None:
                summary["user_capabilities"] = capabilities
        if extra_summary:
            summary.update(extra_summary)
        out["related"] = related
        out["summary_fields"] = summary
        return out

    def render_role(self, role):
        """A role object."""
        label, description = ROLE_NAMES[role["role_field"]]
        collection = role["collection"]
        target = self.store.get(collection, role["object_id"]) or {}
        url = "%sroles/%s/" % (PREFIX, role["id"])
        return {"id": role["id"], "type": "role", "url": url, "name": label,
                "description": description.replace("%s", KINDS[collection].type),
                "related": {"users": url + "users/", "teams": url + "teams/",
                            KINDS[collection].type: self.url(collection, role["object_id"])},
                "summary_fields": {"resource_name": target.get("name"), "resource_type": KINDS[collection].type,
                                   "resource_id": role["object_id"],
                                   "resource_type_display_name": KINDS[collection].type.replace("_", " ").title()}}

    def page(self, items, query, path):
        """A paginated list body: count, next, previous, results."""
        try:
            size = min(int(query.get("page_size", [PAGE_SIZE])[0]), MAX_PAGE_SIZE)
            number = int(query.get("page", ["1"])[0])
        except ValueError as exc:
            raise Invalid({"detail": "Invalid page or page_size."}) from exc
        if size < 1 or number < 1:
            raise NotFound()
        count = len(items)
        start = (number - 1) * size
        if start and start >= count:
            raise NotFound()

        def link(page_number):
            params = [(k, v) for k, values in query.items() if k != "page" for v in values] + [("page", page_number)]
            from urllib.parse import urlencode  # pylint: disable=import-outside-toplevel
            return "%s?%s" % (path, urlencode(params))

        return {"count": count, "next": link(number + 1) if start + size < count else None,
                "previous": link(number - 1) if number > 1 else None, "results": items[start:start + size]}

    @staticmethod
    def _value_matches(value, text, lookup):
        if lookup == "isnull":
            return (value is None) == (text.lower() in ("true", "1"))
        if lookup == "in":
            return any(API._value_matches(value, part, "exact") for part in text.split(","))
        if value is None:
            return lookup in ("exact", "iexact") and text in ("None", "null", "")
        if isinstance(value, bool):
            return value == (text.lower() in ("true", "1"))
        value = str(value)
        if lookup == "exact":
            return value == text
        if lookup == "iexact":
            return value.lower() == text.lower()
        if lookup == "contains":
            return text in value
        if lookup == "icontains":
            return text.lower() in value.lower()
        if lookup == "startswith":
            return value.startswith(text)
        return value.lower().startswith(text.lower())

    def filter(self, items, query):
        """Apply AWX's field lookups (``name=``, ``or__id=``, ``x__icontains=`` ...) to rendered objects."""
        plain, either = [], []
        for key, values in query.items():
            if key in ("page", "page_size", "order_by", "search", "format"):
                continue
            target = plain
            name = key
            if name.startswith("or__"):
                name, target = name[4:], either
            elif name.startswith("not__"):
                raise Invalid({"detail": "not__ lookups are not supported by the emulator"})
            field, lookup = name, "exact"
            if "__" in name and name.rsplit("__", 1)[1] in LOOKUPS:
                field, lookup = name.rsplit("__", 1)
            for value in values:
                target.append((field, lookup, value))
        known = set()
        for item in items:
            known.update(item)
        for entry in plain + either:
            if items and entry[0] not in known:
                raise Invalid({"detail": "Invalid field: %s" % entry[0]})
        result = []
        for item in items:
            if not all(self._value_matches(item.get(f), v, lk) for f, lk, v in plain):
                continue
            if either and not any(self._value_matches(item.get(f), v, lk) for f, lk, v in either):
                continue
            result.append(item)
        order = query.get("order_by", ["id"])[0]
        reverse = order.startswith("-")
        order = order.lstrip("-")
        result.sort(key=lambda item: (item.get(order) is None, str(item.get(order)) if not isinstance(
            item.get(order), int) else item.get(order)), reverse=reverse)
        return result

    # --- dispatch -------------------------------------------------------------------------------------------

    def handle(self, method, path, query, body, user, scope="write", remote_hosts=()):
        """Serve one request under /api/v2/ for ``user`` (None only for a provisioning callback), whose token has
        ``scope``, from ``remote_hosts`` (the caller's addresses per REMOTE_HOST_HEADERS); returns (status, json
        body or None)."""
        self.user, self.scope, self.remote_hosts = user, scope, list(remote_hosts)
        self.forget_grants()
        try:
            return self._dispatch(method, path, query, body, user)
        finally:
            self.forget_grants()

    @staticmethod
    def is_callback(method, path):
        """Whether a request is a provisioning callback, which needs no authentication (only the host key)."""
        return method == "POST" and bool(re.match(r"^%sjob_templates/[^/]+/callback/$" % re.escape(PREFIX), path))

    def _dispatch(self, method, path, query, body, user):  # pylint: disable=too-many-return-statements
        parts = [part for part in path[len(PREFIX):].split("/") if part]
        if not parts:
            if method != "GET":
                raise MethodNotAllowed()
            names = sorted(list(KINDS) + ["ping", "config", "me", "tokens", "roles", "unified_job_templates",
                                          "project_updates", "inventory_updates", "jobs", "workflow_jobs",
                                          "role_definitions", "role_team_assignments", "role_user_assignments"])
            return 200, {name: PREFIX + name + "/" for name in names}
        head = parts[0]
        if user is None and not self.is_callback(method, path):
            raise Forbidden("Authentication credentials were not provided.")
        if head == "ping":
            return 200, self.ping()
        if head == "config":
            return 200, {"version": VERSION, "ansible_version": "2.19", "time_zone": "UTC", "license_info": {},
                         "analytics_status": "off", "project_base_dir": self.projects_root or "/var/lib/awx/projects",
                         "project_local_paths": self._local_path_choices(None), "custom_virtualenvs": []}
        if head in ("role_definitions", "role_team_assignments", "role_user_assignments"):
            return self.dab(method, parts, query, body, path, user)
        if head in ("jobs", "workflow_jobs"):
            return self.jobs(method, parts, query, path)
        if head == "me":
            rendered = [self.render("users", user)]
            return 200, self.page(rendered, query, path)
        if head == "tokens":
            return self.tokens(method, parts, body, user)
        if head == "roles":
            return self.roles(method, parts, query, body, path, user)
        if head == "unified_job_templates":
            if method != "GET" or len(parts) != 1:
                raise MethodNotAllowed()
            items = []
            for collection in UJT_TYPES:
                for obj in self.store.objects(collection).values():
                    item = self.render(collection, obj)
                    if collection == "inventory_sources":
                        inventory = self.store.get("inventories", obj["inventory"]) or {}
                        item["organization"] = inventory.get("organization")
                    items.append(item)
            return 200, self.page(self.filter(items, query), query, path)
        if head in ("project_updates", "inventory_updates"):
            if len(parts) not in (2, 3) or method != "GET":
                raise MethodNotAllowed()
            update = self.store.data["updates"].get(parts[1])
            if update is None or update["type"] != head[:-1]:
                raise NotFound()
            if len(parts) == 3:
                if parts[2] != "stdout":
                    raise NotFound()
                return self.update_stdout(update, query)
            return 200, render_update(update)
        if head not in KINDS:
            raise NotFound()
        collection = head
        if len(parts) == 1:
            if method == "GET":
                items = [self.render(collection, obj) for obj in self.store.objects(collection).values()]
                return 200, self.page(self.filter(items, query), query, path)
            if method == "POST":
                self.check_create(collection, body, user)
                return 201, self.create(collection, body)
            raise MethodNotAllowed()
        obj = self.resolve(collection, parts[1])
        if len(parts) == 2:
            if method == "GET":
                return 200, self.render(collection, obj)
            if method in ("PATCH", "PUT"):
                self.check_capability(collection, obj, user, "edit")
                return 200, self.update(collection, obj, body, partial=(method == "PATCH"))
            if method == "DELETE":
                self.check_capability(collection, obj, user, "delete")
                self.delete(collection, obj)
                return 204, None
            raise MethodNotAllowed()
        if len(parts) == 3:
            return self.sub(method, collection, obj, parts[2], query, body, path)
        raise NotFound()

    def check_capability(self, collection, obj, user, method):
        """403 when user_capabilities says ``user`` may not ``method`` the object (superusers always may, except
        where AWX refuses everyone, which the write itself answers)."""
        if user.get("is_superuser"):
            return
        capabilities = self.user_capabilities(collection, obj, user, self.scope) or {}
        if not capabilities.get(method):
            raise Forbidden("You do not have permission to perform this action.")

    def check_create(self, collection, body, user):
        """Who may create: superusers; for a schedule, who may start its template (ScheduleAccess.can_add); for
        objects of an organization, its admins (the emulator does not model the finer org-level admin roles
        for creation)."""
        if user.get("is_superuser"):
            return
        body = body if isinstance(body, dict) else {}
        if collection == "schedules":
            ujt_collection, ujt = self.find_ujt(body.get("unified_job_template"))
            field = "update_role" if ujt_collection in ("projects",) else "execute_role"
            if ujt_collection == "inventory_sources":
                ujt_collection, ujt, field = "inventories", self.store.get("inventories", ujt["inventory"]), \
                    "update_role"
            if ujt is not None and self.has_role(user, ujt_collection, ujt, field):
                return
        elif "organization" in KINDS[collection].fields and body.get("organization") is not None:
            org = self.store.get("organizations", body["organization"])
            if org is not None and self.has_role(user, "organizations", org, "admin_role"):
                return
        raise Forbidden("You do not have permission to perform this action.")

    def resolve(self, collection, key):
        """An object by id or by named URL (``name`` or ``name++organization``)."""
        if key.isdigit():
            obj = self.store.get(collection, key)
            if obj is None:
                raise NotFound()
            return obj
        from urllib.parse import unquote  # pylint: disable=import-outside-toplevel
        name, org = (unquote(key).split("++", 1) + [""])[:2]
        for obj in self.store.objects(collection).values():
            if obj.get("name", obj.get("username")) != name:
                continue
            if org:
                owner = self.store.get("organizations", obj.get("organization")) if obj.get("organization") else None
                if (owner or {}).get("name") != org:
                    continue
            return obj
        raise NotFound()

    def ping(self):
        """The /api/v2/ping/ body."""
        return {"version": VERSION, "active_node": "gough-lab-awx", "ha": False, "install_uuid": "gough-lab",
                "instances": [{"node": "gough-lab-awx", "node_type": "hybrid", "heartbeat": now(), "capacity": 100,
                               "version": VERSION}],
                "instance_groups": [{"name": "default", "capacity": 100, "instances": ["gough-lab-awx"]}]}

    # --- tokens ---------------------------------------------------------------------------------------------

    def tokens(self, method, parts, body, user):
        """POST /tokens/ issues a bearer token for the caller; DELETE /tokens/N/ revokes it."""
        tokens = self.store.data["tokens"]
        if len(parts) == 1 and method == "POST":
            token = secrets.token_urlsafe(24)
            token_id = self.store.next_id()
            scope = (body or {}).get("scope", "write")
            if scope not in ("read", "write"):
                raise validate.field_error("scope", "Must be 'read' or 'write'.")
            tokens[str(token_id)] = {"id": token_id, "user": user["id"], "hash": _hash(token), "scope": scope,
                                     "description": (body or {}).get("description", ""), "created": now()}
            self.store.save()
            return 201, {"id": token_id, "type": "o_auth2_access_token", "url": "%stokens/%s/" % (PREFIX, token_id),
                         "token": token, "refresh_token": None, "scope": scope, "application": None,
                         "description": tokens[str(token_id)]["description"], "user": user["id"],
                         "created": tokens[str(token_id)]["created"]}
        if len(parts) == 1 and method == "GET":
            items = [{"id": t["id"], "type": "o_auth2_access_token", "scope": t["scope"], "user": t["user"],
                      "description": t["description"], "token": "************"} for t in tokens.values()
                     if t["user"] == user["id"]]
            return 200, {"count": len(items), "next": None, "previous": None, "results": items}
        if len(parts) == 2 and method == "DELETE":
            token = tokens.get(parts[1])
            if token is None or (token["user"] != user["id"] and not user["is_superuser"]):
                raise NotFound()
            del tokens[parts[1]]
            self.store.save()
            return 204, None
        raise MethodNotAllowed()

    def user_for_token(self, token):
        """The user a bearer token belongs to, or None."""
        digest = _hash(token)
        for entry in self.store.data["tokens"].values():
            if secrets.compare_digest(entry["hash"], digest):
                return self.store.get("users", entry["user"])
        return None

    def token_scope(self, token):
        """The scope ("read" or "write") of a bearer token; "write" when unknown."""
        digest = _hash(token)
        for entry in self.store.data["tokens"].values():
            if secrets.compare_digest(entry["hash"], digest):
                return entry.get("scope", "write")
        return "write"

    def user_for_password(self, username, password):
        """The user for Basic auth, or None."""
        for user in self.store.objects("users").values():
            if user["username"] == username and check_password(user.get("password_hash", ""), password):
                return user
        return None

    # --- first start ----------------------------------------------------------------------------------------

    def seed(self, username):
        """First start of a state directory: the superuser ``username`` with a password and an API token, the
        managed credential types and the instance groups a fresh AWX has. Returns (password, token), or None
        when the state already has users."""
        store = self.store
        if store.objects("users"):
            return None
        password = secrets.token_urlsafe(18)
        token = secrets.token_urlsafe(30)
        user_id = store.next_id()
        stamp = now()
        store.objects("users")[str(user_id)] = {
            "id": user_id, "username": username, "first_name": "", "last_name": "", "email": "",
            "is_superuser": True, "is_system_auditor": False, "password": "", "created": stamp,
            "modified": stamp, "password_hash": _hash_password(password), "lists": {}}
        token_id = store.next_id()
        store.data["tokens"][str(token_id)] = {"id": token_id, "user": user_id, "hash": _hash(token),
                                               "scope": "write", "description": "gough-lab admin token",
                                               "created": stamp}
        for name, kind, inputs in MANAGED_CREDENTIAL_TYPES:
            type_id = store.next_id()
            store.objects("credential_types")[str(type_id)] = {
                "id": type_id, "name": name, "description": "", "kind": kind, "namespace": name.lower(),
                "managed": True, "inputs": inputs, "injectors": {}, "created": stamp, "modified": stamp,
                "lists": {}}
        for name in ("controlplane", "default"):
            group = {"id": store.next_id(), "name": name, "is_container_group": False, "max_forks": 0,
                     "max_concurrent_jobs": 0, "created": stamp, "modified": stamp, "lists": {}}
            self._new_roles("instance_groups", group)
            store.objects("instance_groups")[str(group["id"])] = group
        store.save()
        return password, token

    # --- roles ----------------------------------------------------------------------------------------------

    def _new_roles(self, collection, obj):
        obj["roles"] = {}
        for field in KINDS[collection].roles:
            role_id = self.store.next_id()
            self.store.data["roles"][str(role_id)] = {"id": role_id, "role_field": field, "collection": collection,
                                                      "object_id": obj["id"], "users": [], "teams": []}
            obj["roles"][field] = role_id

    def roles(self, method, parts, query, body, path, user):
        """/roles/, /roles/N/, /roles/N/users/ and /roles/N/teams/ (GET, and POST {id[, disassociate]})."""
        roles = self.store.data["roles"]
        if len(parts) == 1:
            if method != "GET":
                raise MethodNotAllowed()
            items = [self.render_role(role) for role in roles.values()]
            return 200, self.page(self.filter(items, query), query, path)
        role = roles.get(parts[1])
        if role is None:
            raise NotFound()
        if len(parts) == 2:
            if method != "GET":
                raise MethodNotAllowed()
            return 200, self.render_role(role)
        if len(parts) != 3 or parts[2] not in ("users", "teams"):
            raise NotFound()
        member_collection = parts[2]
        if method == "GET":
            items = [self.render(member_collection, self.store.get(member_collection, member_id))
                     for member_id in role[member_collection]]
            return 200, self.page(self.filter(items, query), query, path)
        if method != "POST":
            raise MethodNotAllowed()
        body = body or {}
        member_id = body.get("id")
        if not isinstance(member_id, int) or isinstance(member_id, bool):
            raise Invalid({"detail": "'id' (an integer) is required to associate or disassociate."})
        member = self.store.get(member_collection, member_id)
        if member is None:
            raise Invalid({"detail": "%s %s does not exist." % (KINDS[member_collection].type, member_id)})
        return self.grant(role, member_collection, member, bool(body.get("disassociate")), user)

    def grant(self, role, member_collection, member, disassociate, user):
        """Grant or revoke a role for a user or team, with AWX's refusals (RoleTeamsList, TeamRolesList,
        RoleUsersList, UserRolesList) and RoleAccess: the requester must administer the role's object."""
        self.grant_checks(role, member_collection, member, disassociate, user)
        if member_collection == "teams" and role["collection"] == "teams" and role["object_id"] == member["id"]:
            raise Invalid({"detail": "A team cannot be granted a role on itself."})
        target = self.store.get(role["collection"], role["object_id"])
        if not self.has_role(user, role["collection"], target, "admin_role"):
            raise Forbidden("You do not have permission to perform this action.")
        if self.set_grant(role, member_collection, member["id"], not disassociate):
            self.store.save()
        return 204, None

    def member_roles(self, method, collection, obj, query, body, path):
        """/teams/N/roles/ and /users/N/roles/: the roles granted directly; POST {id[, disassociate]} grants."""
        if method == "POST":
            body = body or {}
            role = self.store.data["roles"].get(str(body.get("id")))
            if role is None:
                raise Invalid({"detail": "Not found."})
            return self.grant(role, collection, obj, bool(body.get("disassociate")), self.user)
        if method != "GET":
            raise MethodNotAllowed()
        items = [self.render_role(role) for role in self.store.data["roles"].values()
                 if obj["id"] in role[collection]]
        return 200, self.page(self.filter(items, query), query, path)

    # --- create, update, delete -----------------------------------------------------------------------------

    def _apply(self, collection, data, body, old):
        """Copy writable fields of ``body`` into ``data``; returns a dict of field errors."""
        kind = KINDS[collection]
        errors = {}
        if not isinstance(body, dict):
            raise Invalid({"detail": "JSON parse error - expected an object"})
        for field, value in body.items():
            if field not in kind.fields or field in kind.read_only:
                continue
            if field in kind.refs:
                if value in (None, ""):
                    data[field] = None
                    continue
                if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str)
                                                                              and value.isdigit())):
                    errors[field] = ["Incorrect type. Expected pk value, received %s." % type(value).__name__]
                    continue
                if self.lookup(kind.refs[field], int(value)) is None:
                    errors[field] = ['Invalid pk "%s" - object does not exist.' % value]
                    continue
                data[field] = int(value)
                continue
            if field in kind.choices and value not in kind.choices[field]:
                errors[field] = ['"%s" is not a valid choice.' % (value,)]
                continue
            default = kind.fields[field]
            if isinstance(default, bool) and not isinstance(value, bool):
                errors[field] = ["Must be a valid boolean."]
                continue
            if isinstance(default, int) and not isinstance(default, bool) and value is not None:
                if isinstance(value, bool) or not isinstance(value, int):
                    if isinstance(value, str) and re.match(r"^-?\d+$", value):
                        value = int(value)
                    else:
                        errors[field] = ["A valid integer is required."]
                        continue
            if field == "name" and isinstance(value, str) and len(value) > 512:
                errors[field] = ["Ensure this field has no more than 512 characters."]
                continue
            data[field] = value
        for field in kind.required:
            if data.get(field) in (None, "") and field not in errors:
                errors[field] = ["This field is required." if old is None or field in body
                                 else "This field may not be null."]
        return errors

    def _check_unique(self, collection, data, object_id):
        for fields in KINDS[collection].unique:
            for other in self.store.objects(collection).values():
                if other["id"] == object_id:
                    continue
                if all(other.get(field) == data.get(field) for field in fields):
                    label = " and ".join(field.replace("_", " ").title() for field in fields)
                    raise Invalid({"__all__": ["%s with this %s already exists."
                                               % (KINDS[collection].type.replace("_", " ").title(), label)]})

    def create(self, collection, body):
        """POST to a list: validate, store, create roles; returns the rendered object."""
        kind = KINDS[collection]
        if collection in ("labels",) and body is None:
            raise Invalid({"detail": "body required"})
        data = json.loads(json.dumps(kind.fields))
        body = body or {}
        errors = self._apply(collection, data, body, None)
        if errors:
            raise Invalid(errors)
        extra = self._validate(collection, data, body, None)
        self._check_unique(collection, data, None)
        data["id"] = self.store.next_id()
        data["created"] = data["modified"] = now()
        data["created_by"] = self.user["id"] if self.user else None
        if kind.roles:
            self._new_roles(collection, data)
        for name in kind.lists:
            data.setdefault("lists", {})[name] = []
        self.store.objects(collection)[str(data["id"])] = data
        extra_summary = self._after_write(collection, data, body, None, extra)
        self.store.save()
        return self.render(collection, data, extra_summary)

    def update(self, collection, obj, body, partial=True):
        """PATCH/PUT an object; returns the rendered object."""
        kind = KINDS[collection]
        if kind.type == "credential_type" and obj.get("managed"):
            raise Forbidden("Modifications not allowed for managed credential types")
        if collection == "inventories" and (body or {}).get("kind") not in (None, obj["kind"]):
            raise _kind_change_refused()  # InventoryDetail.update checks it before the serializer
        data = json.loads(json.dumps(obj))
        if not partial:
            for field, default in kind.fields.items():
                if field not in body and field not in kind.read_only and field not in kind.required:
                    data[field] = json.loads(json.dumps(default))
        errors = self._apply(collection, data, body or {}, obj)
        if errors:
            raise Invalid(errors)
        extra = self._validate(collection, data, body or {}, obj)
        self._check_unique(collection, data, obj["id"])
        changed = any(data.get(field) != obj.get(field) for field in kind.fields) or \
            data.get("inputs") != obj.get("inputs")
        if changed:
            data["modified"] = now()
        self.store.objects(collection)[str(obj["id"])] = data
        extra_summary = self._after_write(collection, data, body or {}, obj, extra)
        self.store.save()
        return self.render(collection, data, extra_summary)

    def delete(self, collection, obj):
        """DELETE an object, its roles, and what hangs off it (nodes, schedules, surveys, sources)."""
        object_id = obj["id"]
        if str(object_id) not in self.store.objects(collection):
            return  # already removed by a cascade
        if collection == "credential_types":
            if obj.get("managed"):
                raise Forbidden("Deletion not allowed for managed credential types")
            if any(c["credential_type"] == object_id for c in self.store.objects("credentials").values()):
                raise Invalid({"error": "Credential types that are in use cannot be deleted"}, status=403)
        del self.store.objects(collection)[str(object_id)]
        if collection == "projects" and obj.get("checkout") and os.path.basename(obj["checkout"]).startswith(
                "_%d__" % object_id):
            shutil.rmtree(obj["checkout"], ignore_errors=True)  # a git project's checkout (AWX removes it too)
        for role_id in (obj.get("roles") or {}).values():
            self.store.data["roles"].pop(str(role_id), None)
        for role in self.store.data["roles"].values():
            if collection in ("users", "teams") and object_id in role[collection]:
                role[collection].remove(object_id)
        self.store.data["surveys"].pop(str(object_id), None)
        for other_collection, kind in KINDS.items():
            for other in list(self.store.objects(other_collection).values()):
                for name, target in kind.lists.items():
                    if target == collection and object_id in other["lists"].get(name, []):
                        other["lists"][name].remove(object_id)
                for field, target in kind.refs.items():
                    if other.get(field) == object_id and (target == collection or (
                            target == "unified_job_templates" and collection in UJT_TYPES)):
                        owned = ("workflow_job_template_nodes", "schedules", "inventory_sources", "teams", "hosts")
                        if other_collection in owned and field in ("workflow_job_template", "unified_job_template",
                                                                   "inventory", "organization"):
                            if other_collection == "workflow_job_template_nodes" and field == "unified_job_template":
                                other[field] = None
                            else:
                                self.delete(other_collection, other)
                        else:
                            other[field] = None
        if collection == "hosts":
            self._count_hosts(obj["inventory"])
        self.forget_grants()
        self.store.save()

    def _count_hosts(self, inventory_id):
        inventory = self.store.get("inventories", inventory_id)
        if inventory is not None:
            inventory["total_hosts"] = sum(1 for h in self.store.objects("hosts").values()
                                           if h["inventory"] == inventory_id)

    # --- per-type rules -------------------------------------------------------------------------------------

    def _validate(self, collection, data, body, old):  # pylint: disable=too-many-branches,too-many-statements
        """Type-specific validation; may normalise ``data``. Returns extra information for _after_write."""
        store = self.store
        if collection == "credential_types":
            if "managed" in body and body["managed"]:
                raise validate.field_error("managed", "Only AWX itself manages credential types.")
            if old is not None and (data["inputs"] != old["inputs"]) and any(
                    c["credential_type"] == old["id"] for c in store.objects("credentials").values()):
                raise validate.field_error("inputs", "Modifications to inputs are not allowed for credential types "
                                                     "that are in use")
            validate.credential_type(data)
        elif collection == "credentials":
            ctype = store.get("credential_types", data["credential_type"])
            if old is not None and old["credential_type"] != data["credential_type"]:
                raise validate.field_error("credential_type", "You cannot change the credential type of the "
                                                              "credential, as it may break the functionality of "
                                                              "the resources using it.")
            if "inputs" in body or old is None:
                data["inputs"] = validate.credential_inputs(ctype, body.get("inputs") or {},
                                                            old["inputs"] if old else None)
            data["kind"] = ctype["kind"]
            data["cloud"] = ctype["kind"] == "cloud"
            if old is None:
                team = user = None
                if body.get("team") is not None:
                    team = store.get("teams", body["team"]) if str(body["team"]).isdigit() else None
                    if team is None:
                        raise validate.field_error("team", 'Invalid pk "%s" - object does not exist.' % body["team"])
                    data["organization"] = team["organization"]
                if body.get("user") is not None:
                    user = store.get("users", body["user"]) if str(body["user"]).isdigit() else None
                    if user is None:
                        raise validate.field_error("user", 'Invalid pk "%s" - object does not exist.' % body["user"])
                if team is None and user is None and data.get("organization") is None:
                    raise Invalid({"detail": "Missing 'user', 'team', or 'organization'."})
                return {"team": team, "user": user}
        elif collection == "users":
            if body.get("password") and body["password"] != ENCRYPTED:
                if not isinstance(body["password"], str):
                    raise validate.field_error("password", "Not a valid string.")
                data["password_hash"] = _hash_password(body["password"])
            data["password"] = ""
            if not re.match(r"^[\w.@+\-]{1,150}$", data["username"]):
                raise validate.field_error("username", "Enter a valid username.")
        elif collection == "execution_environments":
            if not isinstance(data["image"], str) or re.search(r"\s", data["image"]) or not re.match(
                    r"^[a-z0-9][a-z0-9._/:@\-]*$", data["image"]):
                raise validate.field_error("image", "Invalid image name %r" % data["image"])
            if data.get("credential") is not None:
                credential = store.get("credentials", data["credential"])
                if credential["kind"] != "registry":
                    raise validate.field_error("credential", "Execution environment credentials must be of type "
                                                             "Container Registry.")
        elif collection == "projects":
            self._validate_project(data, body, old)
            if data["scm_type"] and not data["scm_url"]:
                raise validate.field_error("scm_url", "SCM URL is required.")
            if data["scm_type"] == "git" and data["scm_url"] and not re.match(
                    r"^(https?|ssh|git|file)://\S+$|^[\w.\-]+@[\w.\-]+:\S+$", data["scm_url"]):
                raise validate.field_error("scm_url", "Invalid URL for git: %s" % data["scm_url"])
            if not data["scm_type"] and data["scm_url"]:
                raise validate.field_error("scm_url", "Manual projects take no SCM URL.")
            if data.get("credential") is not None and store.get("credentials", data["credential"])["kind"] != "scm":
                raise validate.field_error("credential", "Credential kind must be 'scm'.")
        elif collection == "inventories":
            if old is not None and old["kind"] != data["kind"]:
                raise _kind_change_refused()
            if data["kind"] == "smart" and not data.get("host_filter"):
                raise validate.field_error("host_filter", "Smart inventories must specify host_filter")
            # Stricter than AWX, which stores a host_filter on a regular inventory and never uses it.
            if data["kind"] != "smart" and data.get("host_filter"):
                raise validate.field_error("host_filter", "host_filter is only valid for smart inventories.")
            _parse_vars(data["variables"], "variables")
        elif collection == "inventory_sources":
            self._validate_inventory_source(data)
        elif collection == "job_templates":
            self._validate_job_template(data)
        elif collection == "workflow_job_templates":
            _parse_vars(data["extra_vars"], "extra_vars")
        elif collection == "workflow_job_template_nodes":
            if data.get("identifier") in (None, ""):
                data["identifier"] = str(uuid.uuid4())
            # Stricter than AWX, which accepts the node and fails the spawned workflow job when it runs ("... could
            # not start because it would result in recursion"): the emulator runs nothing, so it refuses the node.
            if data.get("unified_job_template") == data["workflow_job_template"]:
                raise validate.field_error("unified_job_template", "A workflow cannot run itself.")
            # Stricter than AWX, whose workflow_job_template is read-only once a node exists (a new one is ignored).
            if old is not None and old["workflow_job_template"] != data["workflow_job_template"]:
                raise validate.field_error("workflow_job_template", "A node cannot move to another workflow.")
            if not isinstance(data.get("extra_data") or {}, dict):
                raise validate.field_error("extra_data", "Must be a dictionary.")
        elif collection == "schedules":
            self._validate_schedule(data)
        elif collection == "hosts":
            inventory = store.get("inventories", data["inventory"])
            if inventory["kind"] in ("smart", "constructed"):
                # HostSerializer.validate_inventory raises a dict, which DRF keeps under the field.
                raise Invalid({"inventory": {"detail": "Cannot create Host for Smart or Constructed Inventories"}})
            _parse_vars(data["variables"], "variables")
        elif collection == "notification_templates" and "notification_configuration" in body:
            data["notification_configuration"] = validate.notification_configuration(
                data["notification_type"], body["notification_configuration"],
                old.get("notification_configuration") if old else None)
            if data.get("messages") is not None and not isinstance(data["messages"], dict):
                raise validate.field_error("messages", "Expected a dictionary of messages.")
        return None

    def _validate_project(self, data, body, old):
        """ProjectOptionsSerializer/ProjectSerializer.validate: local_path rules and manual-project options."""
        errors = {}
        if old is not None and data["scm_type"] and "local_path" in body and body["local_path"] != old["local_path"]:
            errors["local_path"] = ["Cannot change local_path for %s-based projects" % data["scm_type"]]
        if data["scm_type"]:
            data["local_path"] = old["local_path"] if old else ""
        elif "local_path" in body and body["local_path"] not in self._local_path_choices(old):
            errors["local_path"] = ["This path is already being used by another manual project."]
        if data.get("scm_refspec") and data["scm_type"] != "git":
            errors["scm_refspec"] = ["SCM refspec can only be used with git projects."]
        if data.get("scm_track_submodules") and data["scm_type"] != "git":
            errors["scm_track_submodules"] = ["SCM track_submodules can only be used with git projects."]
        if data.get("scm_branch") and data["scm_type"] == "archive":
            errors["scm_branch"] = ["SCM branch cannot be used with archive projects."]
        if errors:
            raise Invalid(errors)
        if not data["scm_type"]:
            for field in ("scm_update_on_launch", "scm_delete_on_update", "scm_track_submodules", "scm_clean"):
                if data.get(field):
                    raise validate.field_error(field, "Update options must be set to false for manual projects.")

    def _validate_inventory_source(self, data):
        store = self.store
        inventory = store.get("inventories", data["inventory"])
        if inventory["kind"] in ("smart", "constructed") and data["source"] != "constructed":
            raise validate.field_error("inventory", "Cannot create Inventory Source for Smart Inventory")
        if data["source"] == "scm":
            if data.get("source_project") is None:
                raise validate.field_error("source_project", "Project required for scm type sources.")
            project = store.get("projects", data["source_project"])
            if not project["scm_type"]:
                raise validate.field_error("source_project", "Cannot use manual project for SCM-based inventory.")
            # Stricter than AWX, which only fails when the source syncs: the file must be in the checkout the
            # project's last successful update read.
            if not data.get("source_path"):
                raise validate.field_error("source_path", "source_path is required for scm sources (a file in "
                                                          "the project).")
            checkout = project.get("checkout")
            if checkout is None or not os.path.isfile(os.path.join(checkout, data["source_path"])):
                raise validate.field_error("source_path", "File %s not found in project %s."
                                           % (data["source_path"], project["name"]))
        elif data.get("source_project") is not None:
            raise validate.field_error("source_project", "Cannot set source_project if not SCM type.")
        if data.get("credential") is not None:
            credential = store.get("credentials", data["credential"])
            if credential["kind"] not in ("cloud", "net", "kubernetes", "insights", "scm"):
                raise validate.field_error("credential", "Cloud-based inventory sources (such as %s) require "
                                                         "credentials for the matching cloud service."
                                           % data["source"])
        _parse_vars(data["source_vars"], "source_vars")

    def _validate_job_template(self, data):
        """JobTemplateSerializer.validate, then JobOptionsSerializer.validate (every write re-checks the playbook
        against the project's current list, as AWX does)."""
        store = self.store
        if data.get("host_config_key") and data.get("inventory") is None:
            raise validate.field_error("host_config_key", "Cannot enable provisioning callback without an "
                                                          "inventory set.")
        if data.get("project") is None:
            raise validate.field_error("project", "Job Templates must have a project assigned.")
        if data.get("inventory") is None and not data["ask_inventory_on_launch"]:
            raise validate.field_error("inventory", "You must either set a default value or ask to prompt on launch.")
        project = store.get("projects", data["project"])
        data["organization"] = project.get("organization")
        playbook = data.get("playbook") or ""
        if project["scm_type"]:
            not_found = not project["allow_override"] and playbook and playbook not in (
                project.get("playbook_files") or [])
        else:
            not_found = bool(playbook) and playbook not in self.project_playbooks(project)
        if not_found:
            raise validate.field_error("playbook", "Playbook not found for project.")
        if not playbook:
            raise validate.field_error("playbook", "Must select playbook for project.")
        if data.get("scm_branch") and not project["allow_override"]:
            raise validate.field_error("scm_branch", "Project does not allow overriding branch.")
        if data.get("ask_scm_branch_on_launch") and not project["allow_override"]:
            raise validate.field_error("ask_scm_branch_on_launch", "Project does not allow overriding branch.")
        _parse_vars(data["extra_vars"], "extra_vars")
        if data["forks"] < 0 or data["timeout"] < 0:
            raise validate.field_error("forks" if data["forks"] < 0 else "timeout", "Must not be negative.")
        if data["job_slice_count"] < 1:
            raise validate.field_error("job_slice_count", "Ensure this value is greater than or equal to 1.")
        if data.get("host_config_key") and (not isinstance(data["host_config_key"], str)
                                            or len(data["host_config_key"]) > 1024):
            raise validate.field_error("host_config_key", "Must be a string of at most 1024 characters.")

    def _validate_schedule(self, data):
        data["rrule"], data["dtstart"], data["timezone"], data["until"] = validate.rrule(data["rrule"])
        collection, ujt = self.find_ujt(data["unified_job_template"])
        extra = data.get("extra_data") or {}
        if not isinstance(extra, dict):
            raise validate.field_error("extra_data", "Must be a dictionary.")
        if extra and collection in ("job_templates", "workflow_job_templates") and not ujt["ask_variables_on_launch"]:
            survey = self.store.data["surveys"].get(str(ujt["id"])) or {}
            allowed = {item["variable"] for item in survey.get("spec", [])} if ujt["survey_enabled"] else set()
            refused = sorted(set(extra) - allowed)
            if refused:
                raise validate.field_error("extra_data", "Variables %s provided, but this template cannot accept "
                                                         "variables." % ", ".join(refused))
        if extra and collection in ("projects", "inventory_sources"):
            raise validate.field_error("extra_data", "Updates do not accept variables.")
        if data.get("inventory") is not None and (collection not in ("job_templates", "workflow_job_templates")
                                                  or not ujt.get("ask_inventory_on_launch")):
            raise validate.field_error("inventory", "Field is not configured to prompt on launch.")
        for field, ask in (("limit", "ask_limit_on_launch"), ("job_tags", "ask_tags_on_launch"),
                           ("skip_tags", "ask_skip_tags_on_launch"), ("job_type", "ask_job_type_on_launch"),
                           ("verbosity", "ask_verbosity_on_launch"), ("diff_mode", "ask_diff_mode_on_launch")):
            if data.get(field) not in (None, "") and not (ujt or {}).get(ask):
                raise validate.field_error(field, "Field is not configured to prompt on launch.")

    def _after_write(self, collection, data, body, old, extra):
        """Side effects of a write: grants for new credentials, project updates, inventory counters."""
        if collection == "credentials" and old is None and extra:
            admin = self.store.data["roles"][str(data["roles"]["admin_role"])]
            if extra.get("team"):
                self.set_grant(admin, "teams", extra["team"]["id"], True)
            if extra.get("user"):
                self.set_grant(admin, "users", extra["user"]["id"], True)
        if collection == "projects":
            scm_changed = old is None or any(data.get(f) != old.get(f) for f in ("scm_type", "scm_url", "scm_branch",
                                                                                 "scm_refspec"))
            if not data["scm_type"]:
                data["status"] = "ok" if self._manual_path(data) else "missing"
            elif scm_changed:
                update = self.project_update(data)
                return {"current_update": {"id": update["id"], "name": data["name"], "status": update["status"]}}
        if collection == "hosts":
            self._count_hosts(data["inventory"])
        if collection == "inventory_sources":
            inventory = self.store.get("inventories", data["inventory"])
            count = sum(1 for s in self.store.objects("inventory_sources").values()
                        if s["inventory"] == inventory["id"])
            inventory["total_inventory_sources"] = count
            inventory["has_inventory_sources"] = count > 0
        return None

    def _manual_path(self, project):
        """The directory of a manual project (PROJECTS_ROOT/local_path), or None when it does not exist."""
        if not self.projects_root or not project.get("local_path"):
            return None
        path = os.path.join(self.projects_root, project["local_path"])
        return path if os.path.isdir(path) else None

    def _local_path_choices(self, project):
        """Project.get_local_path_choices: unused directories under PROJECTS_ROOT (plus the project's own)."""
        taken = {p["local_path"] for p in self.store.objects("projects").values()
                 if not p["scm_type"] and p.get("local_path") and (project is None or p["id"] != project["id"])}
        return projects.local_path_choices(self.projects_root, taken) if self.projects_root else []

    def project_playbooks(self, project):
        """/projects/N/playbooks/: playbook_files of the last successful update, or a live scan of a manual
        project's directory (ProjectPlaybooksSerializer)."""
        if project["scm_type"]:
            return project.get("playbook_files") or []
        path = self._manual_path(project)
        return projects.scan(path)[0] if path else []

    def _checkout(self, project):
        """(what the update reads, why not): a file:// URL names a local repository or directory; other URLs use
        the emulator's project checkout, which stands in for them."""
        url = project.get("scm_url") or ""
        if url.startswith("file://"):
            return url[len("file://"):], None
        if self.project_checkout:
            return self.project_checkout, None
        return None, ("gough-lab's AWX emulator fetches no repositories and was given no project checkout "
                      "(gough-lab awx serve --project-checkout DIR) for %s, so nothing was checked" % url)

    def _project_path(self, project):
        """Where a git project's checkout lives: PROJECTS_ROOT/_<id>__<slug of the name>, as AWX's local_path (set
        on the first update; a rename keeps it)."""
        current = project.get("checkout")
        if current and os.path.basename(current).startswith("_%d__" % project["id"]):
            return current
        if not self.projects_root:
            # An API made without a PROJECTS_ROOT (the server always gives one) gets a directory of its own: a
            # shared one would let two emulators' project _<id>__<name> replace each other's checkout.
            self.projects_root = tempfile.mkdtemp(prefix="gough-lab-awx-projects-")
        root = self.projects_root
        os.makedirs(root, mode=0o700, exist_ok=True)
        return os.path.join(root, "_%d__%s" % (project["id"], projects.slug(project["name"])))

    def _git_update(self, project, directory):
        """Check the git project's scm_branch out of its repository as AWX's project update does (ansible's git
        module: ls-remote, clone, refspec fetch, checkout). Returns (checkout directory, revision, None) or
        (None, "", (explanation, stdout))."""
        url = project.get("scm_url") or ""
        stand_in = not url.startswith("file://")
        # git is given what AWX gives it: the URL; for other URLs the checkout that stands in for them.
        repo = directory if stand_in else url
        version = project.get("scm_branch") or "HEAD"
        final = self._project_path(project)
        staging = tempfile.mkdtemp(prefix=".update-", dir=os.path.dirname(final))
        os.rmdir(staging)  # git clone makes it
        try:
            revision = projects.git_checkout(repo, project.get("scm_branch") or "", staging,
                                             project.get("scm_refspec") or "")
        except projects.GitFailure as failure:
            shutil.rmtree(staging, ignore_errors=True)
            source = ("%s (scm_url; the emulator's --project-checkout %s stands in for it)" % (url, directory)
                      if stand_in else "%s (scm_url)" % url)
            if failure.msg.startswith("Failed to checkout"):
                why = ("%s: the repository at %s has no branch, tag or commit %s (scm_branch)"
                       % (failure.msg, source, version))
            else:
                said = (failure.stderr.strip() or failure.msg).splitlines() or ["git failed (exit %d)" % failure.rc]
                why = "git could not read the repository at %s: %s" % (source, said[0])
            return None, "", (why, _update_stdout(failure))
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staging, final)
        return final, revision, None

    @staticmethod
    def update_stdout(update, query):
        """/project_updates/N/stdout/ (UnifiedJobStdout) as ``?format=json`` gives it: ``range`` and ``content``,
        the project update playbook's output (where AWX says why a sync failed). The emulator serves JSON only."""
        output_format = (query.get("format") or ["json"])[-1]
        if output_format != "json":
            raise Invalid({"detail": "gough-lab's AWX emulator serves the output as ?format=json only."}, status=406)
        content = update.get("_stdout") or ""
        lines = len(content.splitlines())
        return 200, {"range": {"start": 0, "end": lines, "absolute_end": lines}, "content": content}

    def hold_project_updates(self, hold):
        """/_lab/project_updates: while held, new project updates stay pending (as when no AWX worker picks them
        up); releasing runs the pending ones. Returns the pending update ids."""
        self.store.data.setdefault("lab", {})["hold_project_updates"] = bool(hold)
        pending = [u for u in self.store.data["updates"].values()
                   if u["type"] == "project_update" and u["status"] == "pending"]
        if not hold:
            for update in pending:
                project = self.store.get("projects", update["project"])
                if project is not None:
                    self._run_project_update(project, update)
        self.store.save()
        return [u["id"] for u in pending if u["status"] == "pending"]

    def project_update(self, project):
        """A project update: scan the checkout for playbook_files and inventory_files as AWX does after a sync.
        An update that cannot read a checkout fails (and keeps the lists of the last successful update)."""
        update_id = self.store.next_id()
        stamp = now()
        update = {"id": update_id, "type": "project_update", "url": "%sproject_updates/%s/" % (PREFIX, update_id),
                  "name": project["name"], "project": project["id"], "status": "pending", "failed": False,
                  "started": None, "finished": None, "elapsed": 0.0, "scm_revision": "", "job_explanation": "",
                  "event_processing_finished": False, "launch_type": "manual", "created": stamp}
        self.store.data["updates"][str(update_id)] = update
        project["last_update"] = update_id
        project["status"] = "pending"
        if not self.store.data.get("lab", {}).get("hold_project_updates"):
            self._run_project_update(project, update)
        return update

    def _run_project_update(self, project, update):
        directory, explanation = self._checkout(project)
        status, revision, stdout = "failed", "", ""
        if directory is not None and not os.path.isdir(directory):
            explanation = "%s is not a directory (the project's checkout)" % directory
        elif directory is not None and project["scm_type"] == "git":
            checkout, revision, failure = self._git_update(project, directory)
            if failure is None:
                project["playbook_files"], project["inventory_files"] = projects.scan(checkout)
                project["checkout"] = checkout
                status, explanation = "successful", ""
            else:
                explanation, stdout = failure
        elif directory is not None:
            project["playbook_files"], project["inventory_files"] = projects.scan(directory)
            project["checkout"] = directory
            revision = _hash(json.dumps([project["playbook_files"], project["inventory_files"]]))[:40]
            status, explanation = "successful", ""
        if not stdout:
            stdout = (_update_stdout(None, revision, project["scm_type"]) if status == "successful"
                      else explanation + "\n")
        project.setdefault("playbook_files", [])
        project.setdefault("inventory_files", [])
        stamp = now()
        update.update(status=status, failed=status != "successful", started=stamp, finished=stamp,
                      scm_revision=revision, job_explanation=explanation, event_processing_finished=True,
                      _stdout=stdout)
        project["status"] = status
        if revision:
            project["scm_revision"] = revision
        project["last_job_failed"] = status != "successful"
        project["last_job_run"] = stamp
        return update

    # --- sub-resources --------------------------------------------------------------------------------------

    def sub(self, method, collection, obj, name, query, body, path):  # pylint: disable=too-many-return-statements
        """Sub-resources: association lists, object_roles, survey_spec, roles, update, playbooks, schedules."""
        kind = KINDS[collection]
        if name in kind.lists:
            return self.association(method, collection, obj, name, query, body, path)
        if name == "object_roles" and kind.roles:
            if method != "GET":
                raise MethodNotAllowed()
            items = [self.render_role(self.store.data["roles"][str(role_id)]) for role_id in obj["roles"].values()]
            return 200, self.page(self.filter(items, query), query, path)
        if name == "roles" and collection in ("teams", "users"):
            return self.member_roles(method, collection, obj, query, body, path)
        if name == "survey_spec" and collection in ("job_templates", "workflow_job_templates"):
            return self.survey(method, obj, body)
        if name == "schedules" and collection in UJT_TYPES:
            if method != "GET":
                raise MethodNotAllowed()
            items = [self.render("schedules", s) for s in self.store.objects("schedules").values()
                     if s["unified_job_template"] == obj["id"]]
            return 200, self.page(self.filter(items, query), query, path)
        if name == "workflow_nodes" and collection == "workflow_job_templates":
            if method != "GET":
                raise MethodNotAllowed()
            items = [self.render("workflow_job_template_nodes", n)
                     for n in self.store.objects("workflow_job_template_nodes").values()
                     if n["workflow_job_template"] == obj["id"]]
            return 200, self.page(self.filter(items, query), query, path)
        if name in ("playbooks", "inventories") and collection == "projects":
            if method != "GET":
                raise MethodNotAllowed()
            if name == "playbooks":
                return 200, self.project_playbooks(obj)
            return 200, obj.get("inventory_files") or []
        if name == "hosts" and collection == "inventories":
            if method != "GET":
                raise MethodNotAllowed()
            items = [self.render("hosts", h) for h in self.store.objects("hosts").values()
                     if h["inventory"] == obj["id"]]
            return 200, self.page(self.filter(items, query), query, path)
        if name == "update" and collection == "projects":
            if method == "GET":
                return 200, {"can_update": bool(obj["scm_type"])}
            if method != "POST":
                raise MethodNotAllowed()
            if not obj["scm_type"]:
                raise MethodNotAllowed()
            if not self.has_role(self.user, "projects", obj, "update_role"):
                raise Forbidden("You do not have permission to perform this action.")
            update = self.project_update(obj)
            self.store.save()
            return 202, dict(render_update(update), project_update=update["id"])
        if name == "launch" and collection in ("job_templates", "workflow_job_templates"):
            return self.launch(method, collection, obj, body, self.user)
        if name == "callback" and collection == "job_templates":
            if method == "GET" and not self.has_role(self.user, collection, obj, "read_role"):
                raise Forbidden("You do not have permission to perform this action.")
            return self.callback(method, obj, body, self.remote_hosts)
        if name == "update" and collection == "inventory_sources":
            if method == "GET":
                return 200, {"can_update": True}
            raise MethodNotAllowed()
        raise NotFound()

    def association(self, method, collection, obj, name, query, body, path):
        """GET the associated objects, or POST {id} (associate) / {id, disassociate: true}."""
        target_collection = KINDS[collection].lists[name]
        members = obj["lists"].setdefault(name, [])
        if method == "GET":
            items = [self.render(target_collection, self.store.get(target_collection, member_id))
                     for member_id in members if self.store.get(target_collection, member_id)]
            return 200, self.page(self.filter(items, query), query, path)
        if method != "POST":
            raise MethodNotAllowed()
        body = body or {}
        member_id = body.get("id")
        if not isinstance(member_id, int) or isinstance(member_id, bool):
            raise Invalid({"msg": "'id' (an integer) is required to associate or disassociate."})
        target = self.store.get(target_collection, member_id)
        if target is None:
            raise Invalid({"msg": "%s %s does not exist." % (KINDS[target_collection].type, member_id)})
        if body.get("disassociate"):
            if member_id in members:
                members.remove(member_id)
                self.store.save()
            return 204, None
        if member_id in members:
            return 204, None
        if collection == "job_templates" and name == "credentials":
            if target["kind"] not in ("ssh", "vault", "net", "cloud", "kubernetes", "insights"):
                raise Invalid({"error": "Cannot assign a Credential of kind `%s`." % target["kind"]})
            for other_id in members:
                other = self.store.get("credentials", other_id)
                if other and other["credential_type"] == target["credential_type"]:
                    ctype = self.store.get("credential_types", target["credential_type"])
                    raise Invalid({"error": "Cannot assign multiple %s credentials." % ctype["name"]})
        if collection == "workflow_job_template_nodes" and name.endswith("_nodes"):
            if target["workflow_job_template"] != obj["workflow_job_template"]:
                raise Invalid({"Error": "Cannot associate nodes of different workflows."})
            if target["id"] == obj["id"] or self._reaches(target["id"], obj["id"]):
                raise Invalid({"Error": "Cycle detected."})
            for relation in ("success_nodes", "failure_nodes", "always_nodes"):
                if relation != name and member_id in obj["lists"].get(relation, []):
                    raise Invalid({"Error": "Multiple edges from one parent to the same child are not allowed."})
        members.append(member_id)
        self.store.save()
        return 204, None

    def _reaches(self, start, goal):
        """Whether node ``goal`` is reachable from node ``start`` along success/failure/always edges."""
        seen, todo = set(), [start]
        while todo:
            node_id = todo.pop()
            if node_id == goal:
                return True
            if node_id in seen:
                continue
            seen.add(node_id)
            node = self.store.get("workflow_job_template_nodes", node_id) or {"lists": {}}
            for relation in ("success_nodes", "failure_nodes", "always_nodes"):
                todo.extend(node["lists"].get(relation, []))
        return False

    def survey(self, method, obj, body):
        """GET/POST/DELETE a template's survey spec (password defaults read back as $encrypted$)."""
        surveys = self.store.data["surveys"]
        key = str(obj["id"])
        if method == "GET":
            spec = json.loads(json.dumps(surveys.get(key, {})))
            for item in spec.get("spec", []):
                if item.get("type") == "password" and item.get("default"):
                    item["default"] = ENCRYPTED
            return 200, spec
        if method == "DELETE":
            surveys.pop(key, None)
            self.store.save()
            return 200, None
        if method != "POST":
            raise MethodNotAllowed()
        validate.survey_spec(body)
        old = surveys.get(key, {})
        spec = json.loads(json.dumps(body))
        old_defaults = {item["variable"]: item.get("default") for item in old.get("spec", [])}
        for item in spec.get("spec", []):
            if item["type"] == "password" and item.get("default") == ENCRYPTED:
                item["default"] = old_defaults.get(item["variable"], "")
        surveys[key] = spec
        self.store.save()
        return 200, None
