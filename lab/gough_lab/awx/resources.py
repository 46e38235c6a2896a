"""The AWX object types the emulator serves: fields and defaults, references, uniqueness, roles and sub-lists."""

NOTIFY = ("notification_templates_started", "notification_templates_success", "notification_templates_error")

ROLE_NAMES = {
    "admin_role": ("Admin", "Can manage all aspects of the %s"),
    "execute_role": ("Execute", "May run the %s"),
    "use_role": ("Use", "Can use the %s in a job template"),
    "update_role": ("Update", "May update the %s"),
    "adhoc_role": ("Ad Hoc", "May run ad hoc commands on the %s"),
    "read_role": ("Read", "May view settings for the %s"),
    "member_role": ("Member", "User is a member of the %s"),
    "auditor_role": ("Auditor", "Can view all aspects of the %s"),
    "approval_role": ("Approve", "Can approve or deny a workflow approval node"),
    "project_admin_role": ("Project Admin", "Can manage all projects of the %s"),
    "inventory_admin_role": ("Inventory Admin", "Can manage all inventories of the %s"),
    "credential_admin_role": ("Credential Admin", "Can manage all credentials of the %s"),
    "workflow_admin_role": ("Workflow Admin", "Can manage all workflows of the %s"),
    "notification_admin_role": ("Notification Admin", "Can manage all notifications of the %s"),
    "job_template_admin_role": ("Job Template Admin", "Can manage all job templates of the %s"),
    "execution_environment_admin_role": ("Execution Environment Admin",
                                         "Can manage all execution environments of the %s"),
}

ASK_JT = ("ask_scm_branch_on_launch", "ask_diff_mode_on_launch", "ask_variables_on_launch", "ask_limit_on_launch",
          "ask_tags_on_launch", "ask_skip_tags_on_launch", "ask_job_type_on_launch", "ask_verbosity_on_launch",
          "ask_inventory_on_launch", "ask_credential_on_launch", "ask_execution_environment_on_launch",
          "ask_forks_on_launch", "ask_instance_groups_on_launch", "ask_job_slice_count_on_launch",
          "ask_labels_on_launch", "ask_timeout_on_launch")
ASK_WFJT = ("ask_inventory_on_launch", "ask_scm_branch_on_launch", "ask_limit_on_launch", "ask_variables_on_launch",
            "ask_labels_on_launch", "ask_tags_on_launch", "ask_skip_tags_on_launch")
PROMPTS = {"extra_data": {}, "inventory": None, "scm_branch": None, "job_type": None, "job_tags": None,
           "skip_tags": None, "limit": None, "diff_mode": None, "verbosity": None, "forks": None,
           "job_slice_count": None, "timeout": None, "execution_environment": None}
UJT_TYPES = ("projects", "inventory_sources", "job_templates", "workflow_job_templates")


class Kind:
    """One AWX object type: ``fields`` (name -> default), ``refs`` (field -> collection), ``required``,
    ``unique`` (tuples of fields), ``roles`` (role fields), ``lists`` (sub-list -> collection), ``choices``."""

    def __init__(self, collection, type_name, fields, *, refs=None, required=(), unique=(), roles=(), lists=None,
                 choices=None, write_only=(), read_only=(), related=()):
        self.collection = collection
        self.type = type_name
        self.fields = fields
        self.refs = refs or {}
        self.required = required
        self.unique = unique
        self.roles = roles
        self.lists = lists or {}
        self.choices = choices or {}
        self.write_only = write_only
        self.read_only = read_only
        self.related = related


KINDS = {}


def _kind(*args, **kwargs):
    kind = Kind(*args, **kwargs)
    KINDS[kind.collection] = kind
    return kind


_kind("organizations", "organization",
      {"name": None, "description": "", "max_hosts": 0, "custom_virtualenv": None, "default_environment": None},
      refs={"default_environment": "execution_environments"}, required=("name",), unique=(("name",),),
      roles=("admin_role", "execute_role", "project_admin_role", "inventory_admin_role", "credential_admin_role",
             "workflow_admin_role", "notification_admin_role", "job_template_admin_role",
             "execution_environment_admin_role", "auditor_role", "member_role", "read_role", "approval_role"),
      lists=dict({"instance_groups": "instance_groups", "galaxy_credentials": "credentials",
                  "notification_templates_approvals": "notification_templates"},
                 **{name: "notification_templates" for name in NOTIFY}))
_kind("teams", "team", {"name": None, "description": "", "organization": None},
      refs={"organization": "organizations"}, required=("name", "organization"), unique=(("name", "organization"),),
      roles=("admin_role", "member_role", "read_role"))
_kind("users", "user", {"username": None, "first_name": "", "last_name": "", "email": "", "is_superuser": False,
                        "is_system_auditor": False, "password": ""},
      required=("username",), unique=(("username",),), write_only=("password",))
_kind("credential_types", "credential_type",
      {"name": None, "description": "", "kind": "cloud", "namespace": None, "managed": False, "inputs": {},
       "injectors": {}}, required=("name", "kind"), unique=(("name", "kind"),),
      choices={"kind": ("ssh", "vault", "net", "scm", "cloud", "registry", "token", "insights", "external",
                        "kubernetes", "galaxy", "cryptography")})
_kind("credentials", "credential",
      {"name": None, "description": "", "organization": None, "credential_type": None, "inputs": {},
       "managed": False, "kind": "", "cloud": False},
      refs={"organization": "organizations", "credential_type": "credential_types"},
      required=("name", "credential_type"), unique=(("name", "organization", "credential_type"),),
      roles=("admin_role", "use_role", "read_role"), read_only=("kind", "cloud", "managed"))
_kind("execution_environments", "execution_environment",
      {"name": None, "description": "", "organization": None, "image": None, "managed": False, "credential": None,
       "pull": ""}, refs={"organization": "organizations", "credential": "credentials"},
      required=("name", "image"), choices={"pull": ("", "always", "missing", "never")}, read_only=("managed",))
_kind("projects", "project",
      {"name": None, "description": "", "organization": None, "local_path": "", "scm_type": "", "scm_url": "",
       "scm_branch": "", "scm_refspec": "", "scm_clean": False, "scm_track_submodules": False,
       "scm_delete_on_update": False, "credential": None, "timeout": 0, "scm_revision": "",
       "scm_update_on_launch": False, "scm_update_cache_timeout": 0, "allow_override": False,
       "custom_virtualenv": None, "default_environment": None, "signature_validation_credential": None,
       "status": "never updated", "last_job_run": None, "last_job_failed": False},
      refs={"organization": "organizations", "credential": "credentials",
            "default_environment": "execution_environments", "signature_validation_credential": "credentials"},
      required=("name", "organization"), unique=(("name", "organization"),),
      roles=("admin_role", "use_role", "update_role", "read_role"),
      choices={"scm_type": ("", "git", "svn", "insights", "archive")},
      lists={name: "notification_templates" for name in NOTIFY},
      read_only=("scm_revision", "status", "last_job_run", "last_job_failed"))
_kind("inventories", "inventory",
      {"name": None, "description": "", "organization": None, "kind": "", "host_filter": None, "variables": "",
       "has_active_failures": False, "total_hosts": 0, "has_inventory_sources": False,
       "total_inventory_sources": 0, "prevent_instance_group_fallback": False},
      refs={"organization": "organizations"}, required=("name", "organization"),
      unique=(("name", "organization"),), roles=("admin_role", "update_role", "adhoc_role", "use_role", "read_role"),
      choices={"kind": ("", "smart", "constructed")}, lists={"instance_groups": "instance_groups"},
      read_only=("has_active_failures", "total_hosts", "has_inventory_sources", "total_inventory_sources"))
_kind("hosts", "host",
      {"name": None, "description": "", "inventory": None, "enabled": True, "instance_id": "", "variables": ""},
      refs={"inventory": "inventories"}, required=("name", "inventory"), unique=(("name", "inventory"),))
_kind("inventory_sources", "inventory_source",
      {"name": None, "description": "", "inventory": None, "source": None, "source_path": "", "source_vars": "",
       "source_project": None, "credential": None, "execution_environment": None, "scm_branch": "",
       "enabled_var": "", "enabled_value": "", "host_filter": "", "overwrite": False, "overwrite_vars": False,
       "custom_virtualenv": None, "timeout": 0, "verbosity": 1, "limit": "", "update_on_launch": False,
       "update_cache_timeout": 0, "status": "never updated"},
      refs={"inventory": "inventories", "source_project": "projects", "credential": "credentials",
            "execution_environment": "execution_environments"},
      required=("name", "inventory", "source"), unique=(("name", "inventory"),),
      choices={"source": ("file", "constructed", "scm", "ec2", "gce", "azure_rm", "vmware", "satellite6",
                          "openstack", "rhv", "controller", "insights", "terraform", "openshift_virtualization"),
               "verbosity": (0, 1, 2)},
      lists={name: "notification_templates" for name in NOTIFY}, read_only=("status",))
_kind("job_templates", "job_template",
      dict({"name": None, "description": "", "job_type": "run", "inventory": None, "project": None, "playbook": "",
            "scm_branch": "", "forks": 0, "limit": "", "verbosity": 0, "extra_vars": "", "job_tags": "",
            "force_handlers": False, "skip_tags": "", "start_at_task": "", "timeout": 0, "use_fact_cache": False,
            "organization": None, "host_config_key": "", "survey_enabled": False, "become_enabled": False,
            "diff_mode": False, "allow_simultaneous": False, "custom_virtualenv": None, "job_slice_count": 1,
            "webhook_service": "", "webhook_credential": None, "execution_environment": None,
            "prevent_instance_group_fallback": False, "status": "never updated"},
           **{name: False for name in ASK_JT}),
      refs={"inventory": "inventories", "project": "projects", "webhook_credential": "credentials",
            "execution_environment": "execution_environments", "organization": "organizations"},
      required=("name",), unique=(("name", "organization"),), roles=("admin_role", "execute_role", "read_role"),
      choices={"job_type": ("run", "check"), "verbosity": (0, 1, 2, 3, 4, 5),
               "webhook_service": ("", "github", "gitlab", "bitbucket_dc")},
      lists=dict({"credentials": "credentials", "labels": "labels", "instance_groups": "instance_groups"},
                 **{name: "notification_templates" for name in NOTIFY}),
      read_only=("organization", "status"))
_kind("workflow_job_templates", "workflow_job_template",
      dict({"name": None, "description": "", "organization": None, "extra_vars": "", "inventory": None,
            "limit": None, "scm_branch": None, "job_tags": None, "skip_tags": None, "survey_enabled": False,
            "allow_simultaneous": False, "webhook_service": "", "webhook_credential": None,
            "status": "never updated"}, **{name: False for name in ASK_WFJT}),
      refs={"organization": "organizations", "inventory": "inventories", "webhook_credential": "credentials"},
      required=("name",), unique=(("name", "organization"),),
      roles=("admin_role", "execute_role", "read_role", "approval_role"),
      choices={"webhook_service": ("", "github", "gitlab", "bitbucket_dc")},
      lists=dict({"labels": "labels", "notification_templates_approvals": "notification_templates"},
                 **{name: "notification_templates" for name in NOTIFY}), read_only=("status",))
_kind("workflow_job_template_nodes", "workflow_job_template_node",
      dict({"workflow_job_template": None, "unified_job_template": None, "identifier": None,
            "all_parents_must_converge": False}, **PROMPTS),
      refs={"workflow_job_template": "workflow_job_templates", "unified_job_template": "unified_job_templates",
            "inventory": "inventories", "execution_environment": "execution_environments"},
      required=("workflow_job_template",), unique=(("identifier", "workflow_job_template"),),
      lists={"success_nodes": "workflow_job_template_nodes", "failure_nodes": "workflow_job_template_nodes",
             "always_nodes": "workflow_job_template_nodes", "credentials": "credentials", "labels": "labels",
             "instance_groups": "instance_groups"})
_kind("schedules", "schedule",
      dict({"name": None, "description": "", "unified_job_template": None, "rrule": None, "enabled": True,
            "dtstart": None, "dtend": None, "next_run": None, "timezone": "", "until": ""}, **PROMPTS),
      refs={"unified_job_template": "unified_job_templates", "inventory": "inventories",
            "execution_environment": "execution_environments"},
      required=("name", "unified_job_template", "rrule"), unique=(("name", "unified_job_template"),),
      lists={"credentials": "credentials", "labels": "labels", "instance_groups": "instance_groups"},
      read_only=("dtstart", "dtend", "next_run", "timezone", "until"))
_kind("notification_templates", "notification_template",
      {"name": None, "description": "", "organization": None, "notification_type": None,
       "notification_configuration": {}, "messages": None},
      refs={"organization": "organizations"}, required=("name", "organization", "notification_type"),
      unique=(("name", "organization"),),
      choices={"notification_type": ("awssns", "email", "grafana", "irc", "mattermost", "pagerduty", "rocketchat",
                                     "slack", "twilio", "webhook")})
_kind("labels", "label", {"name": None, "organization": None}, refs={"organization": "organizations"},
      required=("name", "organization"), unique=(("name", "organization"),))
_kind("instance_groups", "instance_group",
      {"name": None, "is_container_group": False, "max_forks": 0, "max_concurrent_jobs": 0},
      required=("name",), unique=(("name",),),
      roles=("admin_role", "use_role", "read_role"))
