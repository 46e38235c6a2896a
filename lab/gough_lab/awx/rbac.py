"""AWX 24's access control as the emulator enforces it: the old role graph, the DAB role definitions and
assignments (``/role_definitions/``, ``/role_team_assignments/``, ``/role_user_assignments/``), the team-grant
refusals and ``summary_fields.user_capabilities``.

One source of truth: grants are the ``users``/``teams`` lists of the old-style roles (the store's ``roles`` section);
assignments of the new API are those grants seen through the managed role definition that names the same role.
"""

from .resources import KINDS
from .validate import Forbidden, Invalid, MethodNotAllowed, NotFound

SYSADMIN = "singleton:system_administrator"
SYSAUDITOR = "singleton:system_auditor"

# ImplicitRoleField parent_role of each role field (awx/main/models/*.py at 24.6.1): who holds the parent holds
# the role. "organization.x_role" is the x_role of the object's organization.
IMPLICIT_PARENTS = {
    "organizations": dict({
        "admin_role": [SYSADMIN], "auditor_role": [SYSAUDITOR], "member_role": ["admin_role"],
        "read_role": ["member_role", "auditor_role", "execute_role", "project_admin_role", "inventory_admin_role",
                      "workflow_admin_role", "notification_admin_role", "credential_admin_role",
                      "job_template_admin_role", "approval_role", "execution_environment_admin_role"]},
        **{field: ["admin_role"] for field in ("execute_role", "project_admin_role", "inventory_admin_role",
                                               "credential_admin_role", "workflow_admin_role",
                                               "notification_admin_role", "job_template_admin_role",
                                               "execution_environment_admin_role", "approval_role")}),
    "teams": {"admin_role": ["organization.admin_role"], "member_role": ["admin_role"],
              "read_role": ["organization.auditor_role", "member_role"]},
    "projects": {"admin_role": ["organization.project_admin_role", SYSADMIN], "use_role": ["admin_role"],
                 "update_role": ["admin_role"],
                 "read_role": ["organization.auditor_role", SYSAUDITOR, "use_role", "update_role"]},
    "inventories": {"admin_role": ["organization.inventory_admin_role"], "update_role": ["admin_role"],
                    "adhoc_role": ["admin_role"], "use_role": ["adhoc_role"],
                    "read_role": ["organization.auditor_role", "update_role", "use_role", "admin_role"]},
    "credentials": {"admin_role": [SYSADMIN, "organization.credential_admin_role"], "use_role": ["admin_role"],
                    "read_role": [SYSAUDITOR, "organization.auditor_role", "use_role", "admin_role"]},
    "job_templates": {"admin_role": ["organization.job_template_admin_role"],
                      "execute_role": ["admin_role", "organization.execute_role"],
                      "read_role": ["organization.auditor_role", "inventory.organization.auditor_role",
                                    "execute_role", "admin_role"]},
    "workflow_job_templates": {"admin_role": [SYSADMIN, "organization.workflow_admin_role"],
                               "execute_role": ["admin_role", "organization.execute_role"],
                               "read_role": [SYSAUDITOR, "organization.auditor_role", "execute_role", "admin_role",
                                             "approval_role"],
                               "approval_role": ["organization.approval_role", "admin_role"]},
    "instance_groups": {"admin_role": [SYSADMIN], "use_role": ["admin_role"],
                        "read_role": [SYSAUDITOR, "use_role", "admin_role"]},
}

# DAB content types: model name, resource prefix, emulator collection.
CONTENT_TYPES = {"organization": ("shared", "organizations"), "team": ("shared", "teams"),
                 "project": ("awx", "projects"), "inventory": ("awx", "inventories"),
                 "jobtemplate": ("awx", "job_templates"), "workflowjobtemplate": ("awx", "workflow_job_templates"),
                 "credential": ("awx", "credentials"), "notificationtemplate": ("awx", "notification_templates"),
                 "executionenvironment": ("awx", "execution_environments"),
                 "instancegroup": ("awx", "instance_groups")}
MODEL_CLASS = {"organization": "Organization", "team": "Team", "project": "Project", "inventory": "Inventory",
               "jobtemplate": "JobTemplate", "workflowjobtemplate": "WorkflowJobTemplate", "credential": "Credential",
               "notificationtemplate": "NotificationTemplate", "executionenvironment": "ExecutionEnvironment",
               "instancegroup": "InstanceGroup"}
VERBOSE_PLURAL = {"project": "projects", "inventory": "inventories", "jobtemplate": "job templates",
                  "workflowjobtemplate": "workflow job templates", "credential": "credentials",
                  "notificationtemplate": "notification templates",
                  "executionenvironment": "execution environments"}
# Django permission codenames of each registered model (Meta.permissions + default_permissions at 24.6.1).
MODEL_PERMISSIONS = {
    "project": ("update_project", "use_project", "add_project", "change_project", "delete_project", "view_project"),
    "team": ("member_team", "add_team", "change_team", "delete_team", "view_team"),
    "workflowjobtemplate": ("execute_workflowjobtemplate", "approve_workflowjobtemplate", "add_workflowjobtemplate",
                            "change_workflowjobtemplate", "delete_workflowjobtemplate", "view_workflowjobtemplate"),
    "jobtemplate": ("execute_jobtemplate", "change_jobtemplate", "delete_jobtemplate", "view_jobtemplate"),
    "inventory": ("use_inventory", "adhoc_inventory", "update_inventory", "add_inventory", "change_inventory",
                  "delete_inventory", "view_inventory"),
    "organization": ("member_organization", "audit_organization", "change_organization", "delete_organization",
                     "view_organization"),
    "credential": ("use_credential", "add_credential", "change_credential", "delete_credential", "view_credential"),
    "notificationtemplate": ("add_notificationtemplate", "change_notificationtemplate",
                             "delete_notificationtemplate", "view_notificationtemplate"),
    "executionenvironment": ("add_executionenvironment", "change_executionenvironment",
                             "delete_executionenvironment"),
    "instancegroup": ("use_instancegroup", "change_instancegroup", "delete_instancegroup", "view_instancegroup"),
}
# Organization-level admin roles of the old API, by the child model they manage.
ORG_CHILD_ROLE = {"project": "project_admin_role", "inventory": "inventory_admin_role",
                  "credential": "credential_admin_role", "jobtemplate": "job_template_admin_role",
                  "workflowjobtemplate": "workflow_admin_role", "notificationtemplate": "notification_admin_role",
                  "executionenvironment": "execution_environment_admin_role"}
SPECIAL_ROLE = {"update": "update_role", "use": "use_role", "member": "member_role", "execute": "execute_role",
                "approve": "approval_role", "adhoc": "adhoc_role"}
ORG_PARTICIPATION = ("member_role", "admin_role")
# Messages AWX 24.6.1 answers with (awx/api/views/__init__.py, ansible_base/rbac/validators.py at 2024.7.1).
ORG_PARTICIPATION_MSG = "You cannot assign an Organization participation role as a child role for a Team."
TEAM_ORG_MEMBER_MSG = "Assigning organization member permission to teams is not allowed"
TEAM_ORG_TEAMS_MSG = "Assigning organization permissions that manage other teams is not allowed"
TEAM_CREDENTIAL_MSG = ("You cannot grant credential access to a team when the Organization field isn't set, or "
                       "belongs to a different organization")
USER_CREDENTIAL_MSG = "You cannot grant credential access to a user not in the credentials' organization"


def _perm(codename):
    model = codename.split("_", 1)[1]
    return "%s.%s" % (CONTENT_TYPES[model][0], codename)


def managed_role_definitions():
    """AWX 24.6.1's managed role definitions (setup_managed_role_definitions): [(name, model, description,
    codenames, old role field or None)], in creation order."""
    out = []
    org_perms = []
    for model in ("project", "team", "workflowjobtemplate", "jobtemplate", "inventory", "organization",
                  "credential", "notificationtemplate", "executionenvironment", "instancegroup"):
        perms = MODEL_PERMISSIONS[model]
        if model != "instancegroup":
            org_perms.extend(perms)
        cls = MODEL_CLASS[model]
        if model != "organization":
            out.append(("%s Admin" % cls, model, "Has all permissions to a single %s" % _verbose(model),
                        tuple(p for p in perms if not p.startswith("add_")), "admin_role"))
        if model not in ("organization", "instancegroup", "team"):
            out.append(("Organization %s Admin" % cls, "organization",
                        "Has all permissions to %s within an organization" % VERBOSE_PLURAL[model],
                        perms + ("view_organization",), ORG_CHILD_ROLE[model]))
        for perm in perms:
            action = perm.split("_")[0]
            if action in ("add", "change", "delete", "view", "audit"):
                continue
            view = [p for p in perms if p.startswith("view_")][:1]
            out.append(("%s %s" % (cls, action.title()), model,
                        "Has %s permissions to a single %s" % (action, _verbose(model)), (perm,) + tuple(view),
                        SPECIAL_ROLE[action]))
    out.append(("Organization Admin", "organization",
                "Has all permissions to a single organization and all objects inside of it", tuple(org_perms),
                "admin_role"))
    out.append(("Organization Audit", "organization",
                "Has permission to view all objects inside of a single organization",
                tuple(p for p in org_perms if p.startswith("view_")) + ("audit_organization",), "auditor_role"))
    return out


def _verbose(model):
    return {"jobtemplate": "job template", "workflowjobtemplate": "workflow job template",
            "notificationtemplate": "notification template", "executionenvironment": "execution environment",
            "instancegroup": "instance group"}.get(model, model)


class RBAC:  # pylint: disable=too-few-public-methods
    """Mixin of the API: who holds which role, grants and their refusals, assignments, user_capabilities."""

    # --- the role graph -------------------------------------------------------------------------------------

    def _role_parents(self, role):
        """Role ids whose holders hold ``role`` (implicit parents; singletons are left out: superusers and system
        auditors are handled as flags)."""
        collection = role["collection"]
        obj = self.store.get(collection, role["object_id"])
        if obj is None:
            return []
        parents = []
        for spec in IMPLICIT_PARENTS.get(collection, {}).get(role["role_field"], ()):
            if spec.startswith("singleton:"):
                continue
            path = spec.split(".")
            target, target_collection = obj, collection
            for step in path[:-1]:
                ref = KINDS[target_collection].refs.get(step)
                if ref is None or target.get(step) is None:
                    target = None
                    break
                target_collection = ref
                target = self.store.get(ref, target[step])
                if target is None:
                    break
            if target is not None and path[-1] in target.get("roles", {}):
                parents.append(target["roles"][path[-1]])
        return parents

    def held_roles(self, user):
        """Ids of every role ``user`` holds: granted directly, through a team, or implied by a parent role."""
        cache = self.__dict__.setdefault("_held_cache", {})
        if user["id"] in cache:
            return cache[user["id"]]
        roles = self.store.data["roles"]
        children = {}
        team_grants = {}
        for role in roles.values():
            for parent in self._role_parents(role):
                children.setdefault(parent, []).append(role["id"])
            for team_id in role["teams"]:
                team_grants.setdefault(team_id, []).append(role["id"])
        todo = [role["id"] for role in roles.values() if user["id"] in role["users"]]
        held = set()
        while todo:
            role_id = todo.pop()
            if role_id in held:
                continue
            held.add(role_id)
            todo.extend(children.get(role_id, ()))
            role = roles.get(str(role_id))
            if role and role["collection"] == "teams" and role["role_field"] == "member_role":
                todo.extend(team_grants.get(role["object_id"], ()))
        cache[user["id"]] = held
        return held

    def forget_grants(self):
        """Drop what held_roles computed (called when a request starts and after every grant change)."""
        self.__dict__["_held_cache"] = {}

    def has_role(self, user, collection, obj, field):
        """Whether ``user`` holds ``field`` of ``obj`` (superusers hold every role)."""
        if user.get("is_superuser"):
            return True
        if obj is None or field not in obj.get("roles", {}):
            return False
        return obj["roles"][field] in self.held_roles(user)

    # --- grants through the old role endpoints --------------------------------------------------------------

    def grant_checks(self, role, member_collection, member, disassociate, requester):
        """AWX's refusals of POST /roles/N/teams|users/ and /teams|users/N/roles/ (raise Invalid)."""
        target = self.store.get(role["collection"], role["object_id"]) or {}
        if member_collection == "teams":
            if role["collection"] == "organizations" and role["role_field"] in ORG_PARTICIPATION:
                raise Invalid({"msg": ORG_PARTICIPATION_MSG})
            if role["collection"] == "credentials" and (
                    target.get("organization") is None or target["organization"] != member["organization"]):
                raise Invalid({"msg": TEAM_CREDENTIAL_MSG})
        elif role["collection"] == "credentials" and not disassociate:
            org = self.store.get("organizations", target["organization"]) if target.get("organization") else None
            if org is not None and not self.has_role(member, "organizations", org, "member_role"):
                raise Invalid({"msg": USER_CREDENTIAL_MSG})
            if org is None and not requester.get("is_superuser"):
                raise Invalid({"msg": "You cannot grant private credential access to another user"})

    def set_grant(self, role, member_collection, member_id, present):
        """Add or remove a grant; keeps the assignment id of the new API stable. Returns whether it changed."""
        members = role[member_collection]
        ids = self.store.data.setdefault("assignment_ids", {})
        key = "%s:%s:%s" % (member_collection, member_id, role["id"])
        if present == (member_id in members):
            return False
        if present:
            members.append(member_id)
            ids[key] = self.store.next_id()
        else:
            members.remove(member_id)
            ids.pop(key, None)
        self.forget_grants()
        return True

    # --- role definitions and assignments (DAB RBAC) --------------------------------------------------------

    def role_definitions(self):
        """{id: definition}: the managed definitions, ids allocated once and kept in the state."""
        stored = self.store.data.setdefault("role_definitions", {})
        if not stored:
            for name, model, description, perms, field in managed_role_definitions():
                definition_id = self.store.next_id()
                stored[str(definition_id)] = {"id": definition_id, "name": name, "model": model,
                                              "description": description, "permissions": list(perms),
                                              "role_field": field}
            self.store.save()
        return stored

    def render_role_definition(self, definition):
        """A role definition as /api/v2/role_definitions/ shows it."""
        url = "/api/v2/role_definitions/%s/" % definition["id"]
        return {"id": definition["id"], "url": url,
                "related": {"team_assignments": url + "team_assignments/", "user_assignments": url + "user_assignments/"},
                "summary_fields": {}, "permissions": [_perm(p) for p in definition["permissions"]],
                "content_type": "%s.%s" % (CONTENT_TYPES[definition["model"]][0], definition["model"]),
                "created": None, "created_by": None, "modified": None, "modified_by": None,
                "name": definition["name"], "description": definition["description"], "managed": True}

    def _definition_for(self, role):
        """The managed definition that stands for an old-style role, or None."""
        for definition in self.role_definitions().values():
            if CONTENT_TYPES[definition["model"]][1] == role["collection"] and \
                    definition["role_field"] == role["role_field"]:
                return definition
        return None

    def assignments(self, actor_collection):
        """Every grant of ``actor_collection`` (users/teams) as the new API lists its assignments."""
        ids = self.store.data.setdefault("assignment_ids", {})
        out = []
        allocated = False
        for role in self.store.data["roles"].values():
            definition = self._definition_for(role)
            if definition is None:
                continue
            for member_id in role[actor_collection]:
                key = "%s:%s:%s" % (actor_collection, member_id, role["id"])
                if key not in ids:  # a grant from an older state file: give it an id once
                    ids[key] = self.store.next_id()
                    allocated = True
                out.append(self._render_assignment(ids[key], actor_collection, member_id, role, definition))
        if allocated:
            self.store.save()
        return sorted(out, key=lambda item: item["id"])

    def _render_assignment(self, assignment_id, actor_collection, member_id, role, definition):
        kind = "team" if actor_collection == "teams" else "user"
        url = "/api/v2/role_%s_assignments/%s/" % (kind, assignment_id)
        target = self.store.get(role["collection"], role["object_id"]) or {}
        return {"id": assignment_id, "url": url,
                "related": {"role_definition": "/api/v2/role_definitions/%s/" % definition["id"],
                            kind: "/api/v2/%ss/%s/" % (kind, member_id),
                            "content_object": self.url(role["collection"], role["object_id"])},
                "summary_fields": {"role_definition": {"id": definition["id"], "name": definition["name"],
                                                       "description": definition["description"],
                                                       "managed": True},
                                   "content_object": {"id": role["object_id"], "name": target.get("name")}},
                "created": None, "created_by": None,
                "content_type": "%s.%s" % (CONTENT_TYPES[definition["model"]][0], definition["model"]),
                "object_id": str(role["object_id"]), "object_ansible_id": None,
                "role_definition": definition["id"], kind: member_id, "%s_ansible_id" % kind: None}

    def dab(self, method, parts, query, body, path, user):
        """/role_definitions/, /role_team_assignments/ and /role_user_assignments/."""
        head = parts[0]
        if head == "role_definitions":
            definitions = self.role_definitions()
            if len(parts) == 1:
                if method == "POST":
                    raise Invalid({"detail": "gough-lab's AWX emulator serves the managed role definitions only"})
                items = [self.render_role_definition(d) for d in definitions.values()]
                return 200, self.page(self.filter(items, query), query, path)
            definition = definitions.get(parts[1])
            if definition is None:
                raise NotFound()
            return 200, self.render_role_definition(definition)
        actor_collection = "teams" if head == "role_team_assignments" else "users"
        if len(parts) == 1 and method == "GET":
            return 200, self.page(self.filter(self.assignments(actor_collection), query), query, path)
        if len(parts) == 1 and method == "POST":
            return 201, self.assign(actor_collection, body or {}, user)
        found = [a for a in self.assignments(actor_collection) if str(a["id"]) == parts[1]] if len(parts) == 2 else []
        if not found:
            raise NotFound()
        if method == "GET":
            return 200, found[0]
        if method == "DELETE":
            role = self._role_of(found[0])
            self.set_grant(role, actor_collection, found[0]["team" if actor_collection == "teams" else "user"],
                           False)
            self.store.save()
            return 204, None
        raise MethodNotAllowed()

    def _role_of(self, assignment):
        definition = self.role_definitions()[str(assignment["role_definition"])]
        target = self.store.get(CONTENT_TYPES[definition["model"]][1], int(assignment["object_id"]))
        return self.store.data["roles"][str(target["roles"][definition["role_field"]])]

    def assign(self, actor_collection, body, requester):
        """POST /role_team_assignments/ or /role_user_assignments/ with DAB's checks and AWX's settings."""
        kind = "team" if actor_collection == "teams" else "user"
        errors = {}
        definition = None
        if body.get("role_definition") in (None, ""):
            errors["role_definition"] = ["This field is required."]
        else:
            definition = self.role_definitions().get(str(body["role_definition"]))
            if definition is None:
                errors["role_definition"] = ['Invalid pk "%s" - object does not exist.' % body["role_definition"]]
        actor = None
        if body.get(kind) not in (None, ""):
            actor = self.store.get(actor_collection, body[kind]) if str(body[kind]).isdigit() else None
            if actor is None:
                errors[kind] = ['Invalid pk "%s" - object does not exist.' % body[kind]]
        if errors:
            raise Invalid(errors)
        if actor is None:
            message = "Provide exactly one of %s or %s_ansible_id" % (kind, kind)
            raise Invalid({kind: message, "%s_ansible_id" % kind: message})
        collection = CONTENT_TYPES[definition["model"]][1]
        target = self.store.get(collection, body["object_id"]) if str(body.get("object_id", "")).isdigit() else None
        if body.get("object_id") in (None, ""):
            raise Invalid({"object_id": "Object must be specified for this role assignment"})
        if target is None:
            raise Invalid({"object_id": ['Invalid pk "%s" - object does not exist.' % body["object_id"]]})
        if collection == "credentials":
            if (kind == "team" and actor["organization"] != target.get("organization")) or (
                    kind == "user" and not actor["is_superuser"] and not (
                        target.get("organization") and self.has_role(
                            actor, "organizations", self.store.get("organizations", target["organization"]),
                            "admin_role"))):
                raise Invalid({"detail": "You cannot grant credential access to a %s not in the credentials' "
                                         "organization" % kind.title()})
        if not self.has_role(requester, collection, target, "admin_role"):
            raise Forbidden("You do not have permission to perform this action.")
        if kind == "team" and definition["model"] == "organization":
            # ANSIBLE_BASE_ALLOW_TEAM_ORG_MEMBER is False (DAB default) and AWX sets ALLOW_TEAM_ORG_ADMIN False.
            if "member_organization" in definition["permissions"]:
                raise Invalid([TEAM_ORG_MEMBER_MSG])
            if "member_team" in definition["permissions"]:
                raise Invalid([TEAM_ORG_TEAMS_MSG])
        if definition["role_field"] not in target.get("roles", {}):
            raise Invalid({"detail": "gough-lab's AWX emulator does not model %s assignments" % definition["name"]})
        role = self.store.data["roles"][str(target["roles"][definition["role_field"]])]
        self.set_grant(role, actor_collection, actor["id"], True)
        self.store.save()
        key = "%s:%s:%s" % (actor_collection, actor["id"], role["id"])
        return self._render_assignment(self.store.data["assignment_ids"][key], actor_collection, actor["id"], role,
                                       definition)

    # --- summary_fields.user_capabilities -------------------------------------------------------------------

    def user_capabilities(self, collection, obj, user, scope="write"):
        """What ``user`` may do with ``obj`` as AWX 24.6.1 computes it (BaseAccess.get_user_capabilities with the
        serializers' show_capabilities and capabilities_prefetch), or None for types AWX shows none for."""
        show = SHOW_CAPABILITIES.get(collection)
        if show is None:
            return None
        result = {}
        for method in ("edit", "delete", "start", "schedule", "copy", "adhoc"):
            if method not in show:
                continue
            if scope != "write":
                result[method] = False  # read tokens take no action
                continue
            result[method] = self._capability(collection, obj, user, method, result)
        return result

    def _capability(self, collection, obj, user, method, done):  # pylint: disable=too-many-return-statements
        superuser = user.get("is_superuser")
        org = self.store.get("organizations", obj["organization"]) if obj.get("organization") else None

        def has(target_collection, target, field):
            return self.has_role(user, target_collection, target, field)

        if collection == "job_templates" and method in ("copy", "start", "schedule") and (
                obj.get("project") is None or (obj.get("inventory") is None and not obj["ask_inventory_on_launch"])):
            return False  # validation_errors
        if collection == "workflow_job_templates" and method == "copy" and org is None:
            return bool(superuser)
        if collection == "projects" and method in ("copy", "start", "schedule") and not obj["scm_type"]:
            return False  # manual projects cannot be updated or copied
        if method == "schedule":
            return done["start"]
        if method == "delete" and collection not in ("users", "execution_environments", "instance_groups"):
            return done["edit"]
        if collection == "users":
            return self._user_capability(obj, user, method)
        if collection == "execution_environments":
            if method == "delete" and obj.get("managed"):
                return False
            return bool(superuser or (org is not None and has("organizations", org,
                                                              "execution_environment_admin_role")))
        if collection == "instance_groups":
            if method == "delete":
                return bool(superuser) and obj["name"] not in ("default", "controlplane")
            return has(collection, obj, "admin_role")
        if superuser:
            return True
        if collection in ("organizations", "teams", "credentials", "projects", "inventories", "job_templates",
                          "workflow_job_templates") and method == "edit":
            return has(collection, obj, "admin_role")
        if collection == "credential_types":
            return False
        if collection == "projects":
            return has(collection, obj, "update_role") if method == "start" else (
                org is not None and has("organizations", org, "project_admin_role"))
        if collection == "inventories":
            return has(collection, obj, "adhoc_role") if method == "adhoc" else (
                org is not None and has("organizations", org, "inventory_admin_role"))
        if collection == "hosts":
            return has("inventories", self.store.get("inventories", obj["inventory"]), "admin_role")
        if collection == "inventory_sources":
            inventory = self.store.get("inventories", obj["inventory"])
            return has("inventories", inventory, "admin_role" if method == "edit" else "update_role")
        if collection == "job_templates":
            if method == "start":
                return has(collection, obj, "execute_role")
            # copy: use of the project and of the inventory (a missing one does not count, as in AWX's prefetch)
            return all(obj.get(field) is None or has(target, self.store.get(target, obj[field]), "use_role")
                       for field, target in (("project", "projects"), ("inventory", "inventories")))
        if collection == "workflow_job_templates":
            if method == "start":
                return has(collection, obj, "execute_role")
            return has("organizations", org, "workflow_admin_role")
        if collection == "notification_templates":
            return org is not None and has("organizations", org, "notification_admin_role")
        if collection == "credentials":
            return False  # CredentialAccess.can_copy needs an owner field in the data; only superusers pass
        if collection == "schedules":
            ujt_collection, ujt = self.find_ujt(obj["unified_job_template"])
            if ujt_collection == "inventory_sources":
                return has("inventories", self.store.get("inventories", ujt["inventory"]), "admin_role")
            if ujt is not None and has(ujt_collection, ujt, "admin_role"):
                return True
            # users with execute can change the schedules they created
            return ujt is not None and obj.get("created_by") == user["id"] and has(ujt_collection, ujt,
                                                                                   "execute_role")
        return False

    def _user_capability(self, obj, user, method):
        """UserAccess: users change themselves; superusers and admins of all of a user's organizations change
        others; nobody deletes themselves or the last superuser."""
        if method == "delete":
            if obj["id"] == user["id"]:
                return False
            superusers = [u for u in self.store.objects("users").values() if u["is_superuser"]]
            if obj["is_superuser"] and len(superusers) == 1:
                return False
            return self._can_admin_user(obj, user, allow_orphans=True)
        return obj["id"] == user["id"] or self._can_admin_user(obj, user, allow_orphans=False)

    def _can_admin_user(self, obj, user, allow_orphans):
        if user.get("is_superuser"):
            return True
        if obj["is_superuser"] or obj["is_system_auditor"]:
            return False
        held = self.held_roles(obj)
        orgs = [org for org in self.store.objects("organizations").values()
                if org["roles"]["member_role"] in held]
        if not orgs:
            return False if not allow_orphans else not (held - self.held_roles(user))
        return all(self.has_role(user, "organizations", org, "admin_role") for org in orgs)


# Serializer.show_capabilities of the types the emulator serves (awx/api/serializers.py at 24.6.1).
SHOW_CAPABILITIES = {"users": ("edit", "delete"), "organizations": ("edit", "delete"),
                     "execution_environments": ("edit", "delete", "copy"),
                     "projects": ("start", "schedule", "edit", "delete", "copy"),
                     "inventories": ("edit", "delete", "adhoc", "copy"),
                     "inventory_sources": ("start", "schedule", "edit", "delete"), "teams": ("edit", "delete"),
                     "credential_types": ("edit", "delete"), "credentials": ("edit", "delete", "copy"),
                     "job_templates": ("start", "schedule", "copy", "edit", "delete"),
                     "workflow_job_templates": ("start", "schedule", "edit", "copy", "delete"),
                     "notification_templates": ("edit", "delete", "copy"), "schedules": ("edit", "delete"),
                     "instance_groups": ("edit", "delete"), "hosts": ("edit", "delete")}
