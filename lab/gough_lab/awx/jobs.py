"""Launching in the AWX emulator: ``/job_templates/N/launch/``, ``/workflow_job_templates/N/launch/`` and the
provisioning callback ``/job_templates/N/callback/``, with AWX 24.6.1's checks (JobLaunchSerializer,
WorkflowJobLaunchSerializer, SurveyJobTemplateMixin, JobTemplateCallback). Jobs are recorded, never run: they stay
``pending`` unless a test moves them on through ``/_lab/jobs/N``.
"""

import json

from . import validate
from .validate import ENCRYPTED, Forbidden, Invalid, MethodNotAllowed, NotFound

# get_ask_mapping(): launch field -> the template's ask_*_on_launch flag.
JT_ASK = {"extra_vars": "ask_variables_on_launch", "inventory": "ask_inventory_on_launch",
          "limit": "ask_limit_on_launch", "scm_branch": "ask_scm_branch_on_launch",
          "job_tags": "ask_tags_on_launch", "skip_tags": "ask_skip_tags_on_launch",
          "job_type": "ask_job_type_on_launch", "verbosity": "ask_verbosity_on_launch",
          "diff_mode": "ask_diff_mode_on_launch", "credentials": "ask_credential_on_launch",
          "execution_environment": "ask_execution_environment_on_launch", "labels": "ask_labels_on_launch",
          "forks": "ask_forks_on_launch", "job_slice_count": "ask_job_slice_count_on_launch",
          "timeout": "ask_timeout_on_launch", "instance_groups": "ask_instance_groups_on_launch"}
WFJT_ASK = {"extra_vars": "ask_variables_on_launch", "inventory": "ask_inventory_on_launch",
            "limit": "ask_limit_on_launch", "scm_branch": "ask_scm_branch_on_launch",
            "labels": "ask_labels_on_launch", "job_tags": "ask_tags_on_launch",
            "skip_tags": "ask_skip_tags_on_launch"}
REFERENCES = {"inventory": "inventories", "execution_environment": "execution_environments"}
LISTS = {"credentials": "credentials", "labels": "labels", "instance_groups": "instance_groups"}
STRINGS = ("limit", "scm_branch", "job_tags", "skip_tags")
LAUNCHABLE_KINDS = ("ssh", "vault", "cloud", "net", "kubernetes")
JOB_STATES = ("pending", "waiting", "running", "successful", "failed", "error", "canceled")


def survey_element_errors(element, data):
    """SurveyJobTemplateMixin._survey_element_validation: AWX's messages for one question."""
    variable = element["variable"]
    kind = element["type"]
    errors = []
    if kind == "password" and data.get(variable) == ENCRYPTED:
        if element.get("default") is None and element["required"]:
            errors.append("'%s' value missing" % variable)
        return errors
    if variable not in data and element["required"]:
        errors.append("'%s' value missing" % variable)
        return errors
    if variable not in data:
        return errors
    value = data[variable]
    low, high = element.get("min"), element.get("max")
    if kind in ("textarea", "text", "password"):
        if not isinstance(value, str):
            return ["Value %s for '%s' expected to be a string." % (value, variable)]
        if low not in ("", None) and len(value) < int(low):
            errors.append("'%s' value %s is too small (length is %s must be at least %s)."
                          % (variable, value, len(value), low))
        if high not in ("", None) and len(value) > int(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "integer":
        if type(value) is not int:  # pylint: disable=unidiomatic-typecheck  # AWX refuses booleans too
            return ["Value %s for '%s' expected to be an integer." % (value, variable)]
        if low not in ("", None) and value < int(low):
            errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, low))
        if high not in ("", None) and value > int(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "float":
        if type(value) not in (float, int):  # pylint: disable=unidiomatic-typecheck
            return ["Value %s for '%s' expected to be a numeric type." % (value, variable)]
        if low not in ("", None) and value < float(low):
            errors.append("'%s' value %s is too small (must be at least %s)." % (variable, value, low))
        if high not in ("", None) and value > float(high):
            errors.append("'%s' value %s is too large (must be no more than %s)." % (variable, value, high))
    elif kind == "multiselect":
        if not isinstance(value, list):
            errors.append("'%s' value is expected to be a list." % variable)
        else:
            choices = _choices(element)
            for item in value:
                if item not in choices:
                    errors.append("Value %s for '%s' expected to be one of %s." % (item, variable, choices))
    elif kind == "multiplechoice":
        choices = _choices(element)
        if value not in choices:
            errors.append("Value %s for '%s' expected to be one of %s." % (value, variable, choices))
    return errors


def _choices(element):
    choices = element.get("choices") or []
    if isinstance(choices, str):
        choices = [line for line in choices.splitlines() if line.strip() != ""]
    return list(choices)


class Launch:
    """Mixin of the API: launch endpoints, job records, provisioning callbacks."""

    # --- what a template needs --------------------------------------------------------------------------------

    def survey_of(self, obj):
        """The template's survey spec when it is enabled (AWX: survey_enabled and a spec), else None."""
        spec = self.store.data["surveys"].get(str(obj["id"])) or {}
        return spec if obj.get("survey_enabled") and spec else None

    def variables_needed_to_start(self, obj):
        """Variables of required survey questions, defaults or not (SurveyJobTemplateMixin)."""
        spec = self.survey_of(obj)
        if not spec or "spec" not in spec:
            return []
        return [item["variable"] for item in spec["spec"] if item.get("required")]

    def _ask(self, collection):
        return JT_ASK if collection == "job_templates" else WFJT_ASK

    def launch_info(self, collection, obj):
        """GET /launch/: what the template needs and asks for."""
        ask = self._ask(collection)
        defaults = {}
        for field in ask:
            if field == "inventory":
                inventory = self.store.get("inventories", obj["inventory"]) if obj.get("inventory") else None
                defaults[field] = {"name": inventory and inventory["name"], "id": inventory and inventory["id"]}
            elif field in ("credentials", "labels"):
                for member_id in obj["lists"].get(field, []):
                    member = self.store.get(field, member_id)
                    if member is None:
                        continue
                    entry = {"id": member["id"], "name": member["name"]}
                    if field == "credentials":
                        entry.update(credential_type=member["credential_type"], passwords_needed=[])
                    defaults.setdefault(field, []).append(entry)
            elif field == "execution_environment":
                ee = self.store.get("execution_environments", obj["execution_environment"]) \
                    if obj.get("execution_environment") else None
                defaults[field] = {"id": ee["id"], "name": ee["name"]} if ee else {}
            elif field == "instance_groups":
                defaults[field] = []
            else:
                defaults[field] = obj.get(field)
        spec = self.survey_of(obj)
        info = {"can_start_without_user_input": self._can_start_without_input(collection, obj),
                "variables_needed_to_start": self.variables_needed_to_start(obj),
                "survey_enabled": bool(spec and "spec" in spec), "defaults": defaults}
        info.update({flag: obj[flag] for flag in ask.values()})
        if collection == "job_templates":
            info.update(passwords_needed_to_start=[], credential_needed_to_start=False,
                        inventory_needed_to_start=obj.get("inventory") is None,
                        job_template_data={"name": obj["name"], "id": obj["id"],
                                           "description": obj["description"]})
        else:
            info.update(node_templates_missing=[n["id"] for n in self._nodes(obj)
                                                if n.get("unified_job_template") is None],
                        node_prompts_rejected=[],
                        workflow_job_template_data={"name": obj["name"], "id": obj["id"],
                                                    "description": obj["description"]})
        return info

    def _nodes(self, workflow):
        return [n for n in self.store.objects("workflow_job_template_nodes").values()
                if n["workflow_job_template"] == workflow["id"]]

    def _can_start_without_input(self, collection, obj, callback_vars=None):
        """JobTemplate.can_start_without_user_input: ``callback_vars`` are a callback's extra_vars (None when the
        request had none, as for a launch's GET): then any ask_*_on_launch flag means user input is needed."""
        needed = self.variables_needed_to_start(obj)
        if collection == "workflow_job_templates":
            return not needed
        if callback_vars:
            variables_needed = any(var not in callback_vars for var in needed)
        else:
            variables_needed = bool(needed)
        prompting = callback_vars is None and any(obj[flag] for flag in JT_ASK.values())
        return not prompting and not variables_needed

    # --- launch ---------------------------------------------------------------------------------------------

    def launch(self, method, collection, obj, body, user):
        """GET or POST /job_templates/N/launch/ and /workflow_job_templates/N/launch/."""
        if not self.has_role(user, collection, obj, "execute_role"):
            raise Forbidden("You do not have permission to perform this action.")
        if method == "GET":
            return 200, self.launch_info(collection, obj)
        if method != "POST":
            raise MethodNotAllowed()
        body = dict(body or {})
        if "inventory" not in body and "inventory_id" in body:
            body["inventory"] = body["inventory_id"]
        attrs = self._launch_fields(collection, body)
        if collection == "job_templates":
            accepted, ignored = self._accept_job(obj, attrs)
            self._check_prompt_access(accepted, user)
            job = self._new_job("jobs", obj, accepted, user, "manual")
            return 201, dict({"job": job["id"], "ignored_fields": ignored}, **self.render_job(job))
        accepted, ignored = self._accept_workflow(obj, attrs)
        self._check_prompt_access(accepted, user)
        job = self._new_job("workflow_jobs", obj, accepted, user, "manual")
        return 201, dict({"workflow_job": job["id"], "ignored_fields": ignored}, **self.render_job(job))

    def _check_prompt_access(self, accepted, user):
        """JobLaunchConfigAccess.can_add: a prompted inventory or credential must be one the user may use."""
        used = [("inventories", accepted["inventory"])] if accepted.get("inventory") else []
        used += [("credentials", credential) for credential in accepted.get("credentials", [])]
        for collection, object_id in used:
            if not self.has_role(user, collection, self.store.get(collection, object_id), "use_role"):
                raise Forbidden("You do not have permission to perform this action.")

    def _launch_fields(self, collection, body):
        """Field-level checks of the launch serializer: types, choices and references."""
        allowed = set(self._ask(collection))
        attrs, errors = {}, {}
        for field, value in body.items():
            if field not in allowed:
                continue  # AWX ignores what its serializer does not declare
            if field == "extra_vars":
                try:
                    attrs[field] = self.parse_vars(value, field)
                except Invalid as exc:
                    errors.update(exc.body)
                continue
            if field in REFERENCES:
                if value is None:
                    continue
                if isinstance(value, bool) or not str(value).isdigit() or \
                        self.store.get(REFERENCES[field], value) is None:
                    errors[field] = ['Invalid pk "%s" - object does not exist.' % (value,)]
                    continue
                attrs[field] = int(value)
            elif field in LISTS:
                if not isinstance(value, list):
                    errors[field] = ['Expected a list of items but got type "%s".' % type(value).__name__]
                    continue
                bad = [v for v in value if isinstance(v, bool) or not str(v).isdigit()
                       or self.store.get(LISTS[field], v) is None]
                if bad:
                    errors[field] = ['Invalid pk "%s" - object does not exist.' % (bad[0],)]
                    continue
                attrs[field] = [int(v) for v in value]
            elif field in STRINGS:
                if value is not None and not isinstance(value, (str, int, float)):
                    errors[field] = ["Not a valid string."]
                    continue
                attrs[field] = value if value is None else str(value)
            elif field == "diff_mode":
                if not isinstance(value, bool):
                    errors[field] = ["Must be a valid boolean."]
                    continue
                attrs[field] = value
            elif field == "job_type":
                if value not in ("run", "check"):
                    errors[field] = ['"%s" is not a valid choice.' % (value,)]
                    continue
                attrs[field] = value
            elif field == "verbosity":
                if value not in (0, 1, 2, 3, 4, 5, "0", "1", "2", "3", "4", "5"):
                    errors[field] = ['"%s" is not a valid choice.' % (value,)]
                    continue
                attrs[field] = int(value)
            else:  # forks, job_slice_count, timeout
                if isinstance(value, bool) or not isinstance(value, int):
                    errors[field] = ["A valid integer is required."]
                    continue
                if field != "timeout" and value < 0:
                    errors[field] = ["Ensure this value is greater than or equal to 0."]
                    continue
                attrs[field] = value
        if errors:
            raise Invalid(errors)
        return attrs

    def _accept_variables(self, obj, data, errors, prompts_block):
        """SurveyJobTemplateMixin._accept_or_ignore_variables: (accepted, rejected)."""
        extra = dict(data)
        accepted, rejected = {}, {}
        spec = self.survey_of(obj)
        if spec:
            survey_errors = []
            for element in spec.get("spec", []):
                key = element.get("variable")
                element_errors = survey_element_errors(element, data)
                if element_errors:
                    survey_errors += element_errors
                    if key in extra:
                        rejected[key] = extra.pop(key)
                elif key in extra:
                    accepted[key] = extra.pop(key)
            if survey_errors:
                errors["variables_needed_to_start"] = survey_errors
        if obj["ask_variables_on_launch"]:
            accepted.update(extra)
            extra = {}
        if extra:
            template_vars = self.parse_vars(obj.get("extra_vars"), "extra_vars")
            for key in list(extra):
                if key in template_vars and template_vars[key] == extra[key]:
                    extra.pop(key)
        if extra:
            rejected.update(extra)
            if prompts_block:
                model = "Job Template" if "playbook" in obj else "Workflow Job Template"
                errors["extra_vars"] = ["Variables %s are not allowed on launch. Check the Prompt on Launch setting on "
                                        "the %s to include Extra Variables." % (", ".join(extra), model)]
        return accepted, rejected

    def _accept_prompts(self, obj, attrs, ask, errors, prompts_block):
        """The simple prompting rule: same as the template's -> neither; asked -> accepted; else ignored."""
        accepted, rejected = {}, {}
        for field, flag in ask.items():
            if field == "extra_vars" or field not in attrs or attrs[field] is None:
                continue
            new = attrs[field]
            if field in LISTS:
                old = obj["lists"].get(field, [])
                if field == "credentials":
                    new = sorted(set(new) - set(old))
                    if not new:
                        continue
                elif sorted(new) == sorted(old):
                    continue
            elif new == obj.get(field):
                continue
            if field == "scm_branch" and obj.get(field) in ("", None) and obj.get("project"):
                project = self.store.get("projects", obj["project"])
                if project and new == project["scm_branch"]:
                    continue
            if obj.get(flag):
                if field == "scm_branch" and "playbook" in obj:
                    project = self.store.get("projects", obj["project"]) if obj.get("project") else None
                    if project is None:
                        rejected[field], errors[field] = new, "Project is missing."
                        continue
                    if new != project["scm_branch"] and not project["allow_override"]:
                        rejected[field], errors[field] = new, "Project does not allow override of branch."
                        continue
                accepted[field] = attrs[field] if field != "credentials" else new
            else:
                rejected[field] = new
                if prompts_block:
                    errors[field] = "Field is not configured to prompt on launch."
        return accepted, rejected

    def _accept_prompts_and_variables(self, obj, attrs, ask, errors, prompts_block):
        """The prompts, then the launch variables (survey checked); ``(accepted, rejected)`` as AWX's launch
        serializers keep them, ``errors`` filled in place."""
        accepted, rejected = self._accept_prompts(obj, attrs, ask, errors, prompts_block=prompts_block)
        variables, ignored_vars = self._accept_variables(obj, attrs.get("extra_vars") or {}, errors,
                                                         prompts_block=prompts_block)
        if variables:
            accepted["extra_vars"] = variables
        if ignored_vars:
            rejected["extra_vars"] = ignored_vars
        return accepted, rejected

    def _accept_job(self, obj, attrs):
        """JobLaunchSerializer.validate: unprompted fields are ignored, survey and resource errors block."""
        errors = {}
        accepted, rejected = self._accept_prompts_and_variables(obj, attrs, JT_ASK, errors, prompts_block=False)
        needed = [field for field in ("project", "inventory") if obj.get(field) is None]
        needed_errors = ["Job Template %s is missing or undefined." % field for field in needed
                         if field not in accepted]
        if needed_errors:
            errors["resources_needed_to_start"] = needed_errors
        project = self.store.get("projects", obj["project"]) if obj.get("project") is not None else None
        if project is None:
            errors["project"] = "A project is required to run a job."
        elif project["status"] in ("error", "failed") and not project["scm_update_on_launch"]:
            errors["playbook"] = "Missing a revision to run due to failed project update."
        seen = []
        for credential_id in accepted.get("credentials", []):
            credential = self.store.get("credentials", credential_id)
            if credential["credential_type"] in seen:
                ctype = self.store.get("credential_types", credential["credential_type"])
                errors.setdefault("credentials", []).append("Cannot assign multiple %s credentials." % ctype["name"])
            if credential["kind"] not in LAUNCHABLE_KINDS:
                errors.setdefault("credentials", []).append("Cannot assign a Credential of kind `%s`"
                                                            % credential["kind"])
            seen.append(credential["credential_type"])
        if errors:
            raise Invalid(errors)
        return accepted, rejected

    def _accept_workflow(self, obj, attrs):
        """WorkflowJobLaunchSerializer.validate: unprompted fields and variables are errors."""
        errors = {}
        accepted, rejected = self._accept_prompts_and_variables(obj, attrs, WFJT_ASK, errors, prompts_block=True)
        if errors:
            raise Invalid(errors)
        return accepted, rejected

    # --- job records ----------------------------------------------------------------------------------------

    def _job_vars(self, obj, runtime):
        """Template variables, then valid survey defaults, then launch variables (AWX's precedence); survey
        passwords are kept as $encrypted$, as AWX shows them."""
        result = self.parse_vars(obj.get("extra_vars"), "extra_vars")
        spec = self.survey_of(obj)
        passwords = set()
        for element in (spec or {}).get("spec", []):
            if element.get("type") == "password":
                passwords.add(element["variable"])
            default = element.get("default")
            if default is not None and not survey_element_errors(element, {element["variable"]: default}):
                result[element["variable"]] = default
        result.update(runtime or {})
        for name in passwords:
            if name in result:
                result[name] = ENCRYPTED
        return result

    def _new_job(self, table, obj, accepted, user, launch_type):
        job_id = self.store.next_id()
        stamp = validate.now()
        job = {"id": job_id, "table": table, "template": obj["id"], "name": obj["name"], "status": "pending",
               "launch_type": launch_type, "created": stamp, "modified": stamp, "launched_by": user["id"] if user
               else None, "extra_vars": json.dumps(self._job_vars(obj, accepted.get("extra_vars")))}
        fields = ("inventory", "limit", "scm_branch", "job_tags", "skip_tags")
        if table == "jobs":
            fields += ("job_type", "verbosity", "diff_mode", "forks", "job_slice_count", "timeout",
                       "execution_environment", "project", "playbook")
        for field in fields:
            job[field] = accepted.get(field, obj.get(field))
        if table == "jobs":
            job["credentials"] = sorted(set(obj["lists"].get("credentials", [])) | set(accepted.get("credentials", [])))
        self.store.data.setdefault("jobs", {})[str(job_id)] = job
        self.store.save()
        return job

    def render_job(self, job):
        """A job (or workflow job) as /api/v2/jobs/N/ (/workflow_jobs/N/) shows its main fields."""
        workflow = job["table"] == "workflow_jobs"
        template_collection = "workflow_job_templates" if workflow else "job_templates"
        url = "/api/v2/%s/%s/" % (job["table"], job["id"])
        template = self.store.get(template_collection, job["template"])
        out = {"id": job["id"], "type": "workflow_job" if workflow else "job", "url": url,
               "created": job["created"], "modified": job["modified"], "name": job["name"],
               "launch_type": job["launch_type"], "status": job["status"],
               "failed": job["status"] in ("failed", "error", "canceled"),
               "started": job.get("started"), "finished": job.get("finished"), "elapsed": job.get("elapsed", 0.0),
               "extra_vars": job["extra_vars"], ("workflow_job_template" if workflow else "job_template"):
                   job["template"], "unified_job_template": job["template"]}
        for field in ("inventory", "limit", "scm_branch", "job_tags", "skip_tags", "job_type", "verbosity",
                      "diff_mode", "forks", "job_slice_count", "timeout", "execution_environment", "project",
                      "playbook"):
            if field in job:
                out[field] = job[field]
        related = {template_collection[:-1]: self.url(template_collection, job["template"])}
        summary = {template_collection[:-1]: ({"id": template["id"], "name": template["name"],
                                               "description": template["description"]} if template else None)}
        if not workflow:
            related["credentials"] = url + "credentials/"
            summary["credentials"] = [self.summary("credentials", self.store.get("credentials", c))
                                      for c in job.get("credentials", []) if self.store.get("credentials", c)]
        if job.get("inventory"):
            related["inventory"] = self.url("inventories", job["inventory"])
            summary["inventory"] = self.summary("inventories", self.store.get("inventories", job["inventory"]))
        launcher = self.store.get("users", job["launched_by"]) if job.get("launched_by") else None
        if launcher:
            summary["created_by"] = {"id": launcher["id"], "username": launcher["username"],
                                     "first_name": launcher["first_name"], "last_name": launcher["last_name"]}
        out["related"], out["summary_fields"] = related, summary
        return out

    def jobs(self, method, parts, query, path):
        """GET /jobs/, /jobs/N/, /workflow_jobs/, /workflow_jobs/N/."""
        if method != "GET":
            raise MethodNotAllowed()
        table = parts[0]
        records = [j for j in self.store.data.get("jobs", {}).values() if j["table"] == table]
        if len(parts) == 1:
            return 200, self.page(self.filter([self.render_job(j) for j in records], query), query, path)
        found = [j for j in records if str(j["id"]) == parts[1]]
        if len(parts) != 2 or not found:
            raise NotFound()
        return 200, self.render_job(found[0])

    # --- provisioning callback ------------------------------------------------------------------------------

    def callback(self, method, obj, body, remote_hosts):
        """GET/POST /job_templates/N/callback/ (JobTemplateCallback): the host config key, a single matching
        host in the template's inventory, no pending callback job for it; every attempt is recorded."""
        matches = self._matching_hosts(obj, remote_hosts)
        if method == "GET":
            return 200, {"host_config_key": obj.get("host_config_key"), "matching_hosts": [h["name"] for h in matches]}
        if method != "POST":
            raise MethodNotAllowed()
        body = body or {}
        record = {"template": obj["id"], "remote_host": remote_hosts[0] if remote_hosts else None,
                  "remote_hosts": remote_hosts, "at": validate.now(), "job": None}
        status, answer = self._callback_answer(obj, body, matches, record)
        record.update(status=status, answer=answer)
        self.store.data.setdefault("callbacks", []).append(record)
        self.store.save()
        return status, answer

    def _callback_answer(self, obj, body, matches, record):
        key = body.get("host_config_key")
        if not obj.get("host_config_key") or not isinstance(key, str) or key != obj["host_config_key"]:
            # JobTemplateCallbackPermission: a wrong or missing key is a permission failure
            return 403, {"detail": "You do not have permission to perform this action."}
        if obj.get("inventory") is None:
            return 400, {"msg": "Cannot start automatically, an inventory is required."}
        if not matches:
            return 400, {"msg": "No matching host could be found!"}
        if len(matches) > 1:
            return 400, {"msg": "Multiple hosts matched the request!"}
        host = matches[0]
        record["host"] = host["name"]
        # AWX reads extra_vars from a JSON body only; without them (a form, or JSON without the key) it is None,
        # and can_start_without_user_input then also refuses a template that prompts for anything on launch.
        extra_vars = body.get("extra_vars")
        if isinstance(extra_vars, str):
            extra_vars = self.parse_vars(extra_vars, "extra_vars")
        if not self._can_start_without_input("job_templates", obj, extra_vars):
            return 400, {"msg": "Cannot start automatically, user input required!"}
        for job in self.store.data.get("jobs", {}).values():
            if job["table"] == "jobs" and job["template"] == obj["id"] and job["limit"] == host["name"] and \
                    job["status"] in ("pending", "waiting", "running"):
                return 400, {"msg": "Host callback job already pending."}
        accepted = {"limit": host["name"]}
        if extra_vars and obj["ask_variables_on_launch"]:
            accepted["extra_vars"] = {k: v for k, v in extra_vars.items() if not str(k).startswith("ansible_")}
        job = self._new_job("jobs", obj, accepted, None, "callback")
        record["job"] = job["id"]
        return 201, None

    def _matching_hosts(self, obj, remote_hosts):
        """Hosts of the template's inventory whose effective name (ansible_host, ansible_ssh_host or the name,
        Host.get_effective_host_name) is one of the caller's addresses. AWX also tries reverse and forward DNS; the
        emulator resolves nothing, so only direct matches count."""
        if obj.get("inventory") is None:
            return []
        found = []
        for host in self.store.objects("hosts").values():
            if host["inventory"] != obj["inventory"]:
                continue
            variables = self.parse_vars(host.get("variables"), "variables")
            effective = variables.get("ansible_host", variables.get("ansible_ssh_host", host["name"]))
            if effective in remote_hosts:
                found.append(host)
        return found

    def set_job_status(self, job_id, status):
        """/_lab/jobs/N: move a recorded job on (what a dispatcher would do), returns the job or None."""
        job = self.store.data.get("jobs", {}).get(str(job_id))
        if job is None or status not in JOB_STATES:
            return None
        job["status"] = status
        job["modified"] = validate.now()
        if status in ("successful", "failed", "error", "canceled"):
            job["finished"] = job["modified"]
        elif status == "running":
            job["started"] = job["modified"]
        self.store.save()
        return job
