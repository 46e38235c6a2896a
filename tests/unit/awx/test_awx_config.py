"""playbooks/awx.yml against the AWX emulator: the objects and their fields, the team grants, surveys, schedules,
the rerun, check mode and bad input."""

import json
import os
import re
import urllib.error
import urllib.request

import pytest
import yaml

from awx_play import Client, get_as, inputs, launch_examples, run_module, run_playbook  # pylint: disable=import-error
from gough_lab.awx.testing import start_awx_emulator

SECRETS = ("maas-secret-value", "fleet-secret-value", "ssh-secret-value", "alice-secret-value", "ca-key-secret-value",
           "enroll-secret-value", "callback-key-0123456789", "AGEIDENTITYSECRETVALUE", "bob-secret-value")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
# (template, credential) pairs where the template needs only the credential's environment (FLEET_URL, ...).
ENVIRONMENT_ONLY = {("Gough compliance gate", "Fleet")}
OPERATOR_TEMPLATES = ("Gough provision", "Gough agent", "Gough Fleet enrollment", "Gough decommission",
                      "Gough compliance gate", "Gough journal upload", "Gough backup", "Gough certificate renewal",
                      "Gough commission new machines")


@pytest.fixture(scope="module")
def first_run(awx, project_dir, tmp_path_factory):
    """The first run against an empty AWX."""
    return run_playbook(awx, tmp_path_factory.mktemp("run1"), inputs(project_dir))


def test_first_run_configures_an_empty_awx_without_printing_secrets(first_run):
    process, recap = first_run
    assert recap["failed"] == 0 and recap["changed"] >= 14, process.stdout
    for secret in SECRETS:
        assert secret not in process.stdout
    # Nor in the job's events and other artifacts (what AWX keeps of a job).
    assert process.artifacts_holding(SECRETS) == []


def test_organization_teams_and_execution_environment(api, first_run):
    org = api.one("organizations", name="Gough")
    teams = api.all("teams/?organization=%s" % org["id"])
    assert sorted(t["name"] for t in teams) == ["admins", "auditors", "operators"]
    ee = api.one("execution_environments", name="Gough EE")
    assert ee["image"] == "localhost/gough-ee:latest" and ee["pull"] == "missing" and ee["organization"] == org["id"]


def test_credential_types_mark_secrets_and_inject_environment(api, first_run):
    maas = api.one("credential_types", name="MAAS API")
    fields = {f["id"]: f for f in maas["inputs"]["fields"]}
    assert maas["kind"] == "cloud" and maas["managed"] is False
    assert fields["maas_api_key"]["secret"] is True and fields["maas_ca_cert"]["secret"] is True
    assert not fields["maas_url"].get("secret")
    assert maas["inputs"]["required"] == ["maas_url", "maas_api_key"]
    env = maas["injectors"]["env"]
    assert env["MAAS_URL"] == "{{ maas_url }}" and env["MAAS_API_KEY"] == "{{ maas_api_key }}"
    assert "tower.filename.maas_ca" in env["MAAS_CA_PATH"] and maas["injectors"]["file"]["template.maas_ca"]
    assert "extra_vars" not in maas["injectors"]  # extra_vars injectors do not reach inventory updates
    fleet = api.one("credential_types", name="Fleet API")
    assert set(fleet["injectors"]["env"]) == {"FLEET_URL", "FLEET_API_TOKEN", "FLEET_CA_CERT"}
    secret_fields = {f["id"] for f in fleet["inputs"]["fields"] if f.get("secret")}
    assert secret_fields == {"fleet_api_token", "fleet_ca_cert", "enroll_secret"}
    # The nodes' side of enrollment goes to role gough.gough.fleet_enroll's variables.
    assert fleet["injectors"]["extra_vars"] == {"fleet_enroll_secret": "{{ enroll_secret }}",
                                                "fleet_enroll_node_address": "{{ node_address }}"}
    assert fleet["inputs"]["required"] == ["fleet_url", "fleet_api_token"]


def test_credentials_hold_the_inputs_with_secrets_encrypted(api, first_run):
    maas = api.one("credentials", name="MAAS")
    assert maas["inputs"]["maas_url"] == "http://127.0.0.1:5240/MAAS"
    assert maas["inputs"]["maas_api_key"] == "$encrypted$" and maas["inputs"]["maas_ca_cert"] == "$encrypted$"
    assert maas["summary_fields"]["credential_type"]["name"] == "MAAS API"
    fleet = api.one("credentials", name="Fleet")
    # No Fleet CA given: an empty secret stays empty (AWX only encrypts values).
    assert fleet["inputs"] == {"fleet_url": "https://127.0.0.1:8412", "fleet_api_token": "$encrypted$",
                               "fleet_ca_cert": "", "enroll_secret": "$encrypted$",
                               "node_address": "fleet.example.invalid:8412"}
    ssh = api.one("credentials", name="Gough servers SSH")
    assert ssh["kind"] == "ssh" and ssh["inputs"] == {"username": "ubuntu", "ssh_key_data": "$encrypted$"}


def test_project_and_maas_inventory_source(api, first_run, project_dir):
    project = api.one("projects", name="Gough")
    assert project["scm_type"] == "git" and project["scm_url"] == "file://%s" % project_dir
    assert project["status"] == "successful" and project["scm_update_on_launch"] is True
    # The sync found the templates' playbooks (AWX refuses a template whose playbook its project's sync did not list).
    assert {"playbooks/provision.yml", "playbooks/agent.yml"} <= set(api.get("projects/%s/playbooks/" % project["id"]))
    inventory = api.one("inventories", name="MAAS")
    source = api.one("inventory_sources", name="MAAS machines")
    assert source["inventory"] == inventory["id"] and source["source"] == "scm"
    assert source["source_project"] == project["id"] and source["source_path"] == "inventory/maas.yml"
    assert source["credential"] == api.one("credentials", name="MAAS")["id"]
    assert source["update_on_launch"] is True and source["overwrite"] is True
    assert source["execution_environment"] == api.one("execution_environments", name="Gough EE")["id"]
    errors = api.all("inventory_sources/%s/notification_templates_error/" % source["id"])
    assert [n["name"] for n in errors] == ["Gough failures"]


def test_job_templates_playbooks_credentials_prompts_and_callback(api, first_run):
    expected = {"Gough stack": ("playbooks/stack.yml", {"Gough servers SSH"}),
                "Gough provision": ("playbooks/provision.yml", {"MAAS"}),
                "Gough agent": ("playbooks/agent.yml", {"Gough servers SSH", "Gough CA"}),
                "Gough first boot": ("playbooks/first_boot.yml", {"Gough servers SSH", "Gough CA", "Fleet"}),
                "Gough Fleet enrollment": ("playbooks/fleet.yml", {"Gough servers SSH", "Fleet"}),
                "Gough decommission": ("playbooks/decommission.yml", {"MAAS", "Fleet", "Gough servers SSH"}),
                "Gough compliance gate": ("playbooks/compliance.yml", {"MAAS", "Fleet"}),
                "Gough journal upload": ("playbooks/journal.yml", {"Gough servers SSH", "Gough CA"}),
                "Gough backup": ("playbooks/backup.yml", {"Gough servers SSH"}),
                "Gough restore": ("playbooks/restore.yml", {"Gough servers SSH", "Gough backup key"}),
                "Gough certificate renewal": ("playbooks/renew.yml", {"Gough servers SSH", "Gough CA"}),
                "Gough commission new machines": ("playbooks/commission.yml", {"MAAS"})}
    inventory = api.one("inventories", name="MAAS")
    for name, (playbook, credentials) in expected.items():
        template = api.one("job_templates", name=name)
        assert template["playbook"] == playbook and template["inventory"] == inventory["id"], name
        assert {c["name"] for c in api.all("job_templates/%s/credentials/" % template["id"])} == credentials, name
        assert [n["name"] for n in api.all("job_templates/%s/notification_templates_error/" % template["id"])] == [
            "Gough failures"], name
        assert template["execution_environment"] == api.one("execution_environments", name="Gough EE")["id"]
    agent = api.one("job_templates", name="Gough agent")
    assert agent["ask_limit_on_launch"] is True
    # The provisioning callback is on "Gough first boot" alone, which prompts for nothing: AWX refuses a callback
    # without extra_vars from a template with any ask_*_on_launch ("Cannot start automatically").
    first_boot = api.one("job_templates", name="Gough first boot")
    assert first_boot["host_config_key"] == "callback-key-0123456789" and "callback" in first_boot["related"]
    assert not [flag for flag, value in first_boot.items() if flag.startswith("ask_") and value]
    assert not first_boot["survey_enabled"]
    assert not any(api.one("job_templates", name=n)["host_config_key"] for n in expected if n != "Gough first boot")
    # The agent writes its Prometheus target, and decommissioning removes it, on the file_sd host over SSH.
    file_sd = {"agent_prometheus_file_sd_dir": "/srv/gough/prometheus/file_sd",
               "agent_prometheus_file_sd_host": "stack.example.invalid"}
    assert yaml.safe_load(agent["extra_vars"]) == file_sd
    assert yaml.safe_load(first_boot["extra_vars"]) == file_sd
    assert yaml.safe_load(api.one("job_templates", name="Gough decommission")["extra_vars"]) == file_sd
    journal = api.one("job_templates", name="Gough journal upload")
    assert yaml.safe_load(journal["extra_vars"]) == {"journal_upload_url": "https://stack.example.invalid:19532"}
    assert journal["ask_limit_on_launch"] is True
    gate = api.one("job_templates", name="Gough compliance gate")
    assert yaml.safe_load(gate["extra_vars"]) == {"compliance_alertmanager_url": "https://stack.example.invalid:9093"}
    provision = api.one("job_templates", name="Gough provision")
    assert provision["ask_variables_on_launch"] is True and provision["ask_inventory_on_launch"] is False
    assert api.one("job_templates", name="Gough stack")["ask_inventory_on_launch"] is True


def test_surveys_ask_what_provisioning_needs(api, first_run):
    provision = api.one("job_templates", name="Gough provision")
    assert provision["survey_enabled"] is True
    spec = api.get("job_templates/%s/survey_spec/" % provision["id"])
    questions = {q["variable"]: q for q in spec["spec"]}
    assert set(questions) == {"provision_count", "provision_agent_name", "provision_tags", "provision_zone",
                              "provision_pool", "provision_distro_series", "provision_cloudinit_template"}
    assert questions["provision_count"]["type"] == "integer" and questions["provision_count"]["min"] == 1
    # The releases the stack role makes MAAS import (gough_maas_boot_images, here its default): nothing else.
    assert questions["provision_distro_series"]["choices"] == ["noble", "jammy"]
    assert questions["provision_distro_series"]["default"] == "noble"
    assert "base" in questions["provision_cloudinit_template"]["choices"]
    assert questions["provision_zone"]["required"] is False and questions["provision_zone"]["default"] == ""
    # AWX requires every required question at launch, defaults or not: only the count has no default that fits.
    assert [v for v, q in questions.items() if q["required"]] == ["provision_count"]
    assert all("default" in q for v, q in questions.items() if not q["required"]), questions
    decommission = api.one("job_templates", name="Gough decommission")
    erase = api.get("job_templates/%s/survey_spec/" % decommission["id"])["spec"]
    assert [q["variable"] for q in erase] == ["decommission_erase_mode"]
    assert erase[0]["choices"] == ["none", "full", "quick", "secure"]
    assert erase[0]["required"] is False and erase[0]["default"] == "quick"
    workflow = api.one("workflow_job_templates", name="Provision servers")
    assert workflow["survey_enabled"] is True
    wf_spec = api.get("workflow_job_templates/%s/survey_spec/" % workflow["id"])
    assert {q["variable"] for q in wf_spec["spec"]} == set(questions) | {"decommission_erase_mode"}


def test_provision_servers_workflow_graph(api, first_run):
    workflow = api.one("workflow_job_templates", name="Provision servers")
    nodes = {n["identifier"]: n for n in api.all("workflow_job_templates/%s/workflow_nodes/" % workflow["id"])}
    assert set(nodes) == {"provision", "agent", "journal", "fleet", "release"}
    templates = {key: node["summary_fields"]["unified_job_template"]["name"] for key, node in nodes.items()}
    assert templates == {"provision": "Gough provision", "agent": "Gough agent", "journal": "Gough journal upload",
                         "fleet": "Gough Fleet enrollment", "release": "Gough decommission"}

    def edges(identifier, relation):
        path = "workflow_job_template_nodes/%s/%s/" % (nodes[identifier]["id"], relation)
        return sorted(n["identifier"] for n in api.all(path))

    assert edges("provision", "success_nodes") == ["agent"]
    assert edges("agent", "success_nodes") == ["journal"]
    assert edges("journal", "success_nodes") == ["fleet"]
    for step in ("provision", "agent", "journal", "fleet"):
        assert edges(step, "failure_nodes") == ["release"]
    assert edges("release", "success_nodes") == [] and edges("fleet", "success_nodes") == []
    assert nodes["release"]["extra_data"] == {"decommission_failed_only": True}
    errors = api.all("workflow_job_templates/%s/notification_templates_error/" % workflow["id"])
    assert [n["name"] for n in errors] == ["Gough failures"]


def test_schedules_have_valid_rules(api, first_run):
    sync = api.one("schedules", name="MAAS inventory sync")
    assert sync["unified_job_template"] == api.one("inventory_sources", name="MAAS machines")["id"]
    assert sync["rrule"].startswith("DTSTART:") and "FREQ=HOURLY;INTERVAL=1" in sync["rrule"]
    assert sync["timezone"] == "UTC" and sync["enabled"] is True
    nightly = api.one("schedules", name="Nightly compliance gate")
    assert nightly["unified_job_template"] == api.one("job_templates", name="Gough compliance gate")["id"]
    assert "FREQ=DAILY;INTERVAL=1" in nightly["rrule"] and nightly["timezone"] == "Etc/UTC"


def test_day2_schedules_back_up_nightly_and_renew_weekly(api, first_run):
    backup = api.one("schedules", name="Nightly backup")
    assert backup["unified_job_template"] == api.one("job_templates", name="Gough backup")["id"]
    assert "FREQ=DAILY;INTERVAL=1" in backup["rrule"] and backup["enabled"] is True
    renew = api.one("schedules", name="Weekly certificate renewal")
    assert renew["unified_job_template"] == api.one("job_templates", name="Gough certificate renewal")["id"]
    assert "FREQ=WEEKLY;INTERVAL=1;BYDAY=SU" in renew["rrule"] and renew["enabled"] is True


def test_commission_template_asks_for_tags_with_the_configured_default_and_runs_hourly(api, first_run):
    template = api.one("job_templates", name="Gough commission new machines")
    assert template["survey_enabled"] is True and template["ask_variables_on_launch"] is True
    questions = {q["variable"]: q for q in api.get("job_templates/%s/survey_spec/" % template["id"])["spec"]}
    assert set(questions) == {"commission_tags", "commission_match"}
    # awx_config_commission_tags, joined as the text the playbook splits again; optional, so the schedule uses it.
    assert questions["commission_tags"]["default"] == "discovered,rack-a"
    assert questions["commission_tags"]["type"] == "text" and questions["commission_tags"]["required"] is False
    assert questions["commission_match"]["default"] == "" and questions["commission_match"]["required"] is False
    schedule = api.one("schedules", name="Commission new machines")
    assert schedule["unified_job_template"] == template["id"] and schedule["enabled"] is True
    assert "FREQ=HOURLY;INTERVAL=1" in schedule["rrule"] and schedule["timezone"] == "UTC"


def test_restore_template_asks_which_backup_and_may_only_verify(api, first_run):
    restore = api.one("job_templates", name="Gough restore")
    # A "check" job is restore.yml --check: it verifies the backup and writes nothing.
    assert restore["ask_job_type_on_launch"] is True and restore["survey_enabled"] is True
    questions = {q["variable"]: q for q in api.get("job_templates/%s/survey_spec/" % restore["id"])["spec"]}
    assert set(questions) == {"stack_restore_backup", "stack_restore_replace_ca"}
    assert questions["stack_restore_backup"]["type"] == "text" and questions["stack_restore_backup"]["required"] is True
    assert questions["stack_restore_replace_ca"]["choices"] == ["no", "yes"]
    assert questions["stack_restore_replace_ca"]["default"] == "no"
    assert questions["stack_restore_replace_ca"]["required"] is False
    assert yaml.safe_load(restore["extra_vars"]) == {"stack_backup_dir": "/srv/gough-backups"}
    backup = api.one("job_templates", name="Gough backup")
    assert yaml.safe_load(backup["extra_vars"]) == {
        "stack_backup_recipients": ["age1mz5ym2yqxv5ph70xgwr70xdlyqzrvyjgg50sga3ptlr5qdfxya4q87jttz"],
        "stack_backup_dir": "/srv/gough-backups"}
    renew = api.one("job_templates", name="Gough certificate renewal")
    (question,) = api.get("job_templates/%s/survey_spec/" % renew["id"])["spec"]
    assert question["variable"] == "renew_before_days" and question["min"] == 1 and question["default"] == 30


def test_backup_key_credential_writes_the_identity_file_for_the_restore_only(api, first_run):
    ctype = api.one("credential_types", name="Gough backup key")
    (field,) = ctype["inputs"]["fields"]
    assert field["id"] == "identity" and field["secret"] is True
    assert ctype["injectors"]["extra_vars"] == {"stack_backup_identity_file": "{{ tower.filename.identity }}"}
    assert api.one("credentials", name="Gough backup key")["inputs"] == {"identity": "$encrypted$"}
    users = [t["name"] for t in api.all("job_templates/") if "Gough backup key" in
             {c["name"] for c in api.all("job_templates/%s/credentials/" % t["id"])}]
    assert users == ["Gough restore"]


def test_webhook_notification_on_failures(api, first_run):
    hook = api.one("notification_templates", name="Gough failures")
    assert hook["notification_type"] == "webhook"
    # The whole configuration as AWX stores it, the defaults it fills in (username, password) included: the role
    # sends them, so awx.awx finds nothing to PATCH on a rerun.
    assert hook["notification_configuration"] == {"url": "https://hooks.example.invalid/gough", "http_method": "POST",
                                                  "headers": {"Content-Type": "application/json"},
                                                  "disable_ssl_verification": False,
                                                  "username": "", "password": ""}


def grants(api, team_name):
    """{(resource type, resource name, role)} granted to a team of Gough."""
    team = api.one("teams", name=team_name)
    return {(r["summary_fields"]["resource_type"], r["summary_fields"]["resource_name"], r["name"])
            for r in api.all("teams/%s/roles/" % team["id"])}


# The organization-level roles AWX lets a team hold (it refuses the organization's Admin and Member to teams).
ADMINS_ORGANIZATION_ROLES = ("Project Admin", "Inventory Admin", "Credential Admin", "Workflow Admin",
                             "Job Template Admin", "Notification Admin", "Execution Environment Admin", "Execute",
                             "Approve", "Auditor")


def test_team_grants_are_exactly_least_privilege(api, first_run):
    # admins: every organization-level role a team may hold, never the organization's Admin or Member.
    assert grants(api, "admins") == {("organization", "Gough", name) for name in ADMINS_ORGANIZATION_ROLES}
    assert grants(api, "auditors") == {("organization", "Gough", "Auditor")}
    expected = {("job_template", name, "Execute") for name in OPERATOR_TEMPLATES}
    expected |= {("workflow_job_template", "Provision servers", "Execute"),
                 ("inventory", "MAAS", "Use"), ("inventory", "MAAS", "Update"),
                 ("credential", "MAAS", "Use"), ("credential", "Fleet", "Use"),
                 ("credential", "Gough servers SSH", "Use")}
    assert grants(api, "operators") == expected


def changed_tasks(output):
    """Names of the role's tasks that reported a change."""
    found = set()
    for block in re.split(r"^TASK ", output, flags=re.M)[1:]:
        match = re.match(r"\[gough\.gough\.awx_config : ([^\]]+)\]", block)
        if match and re.search(r"^changed: ", block, re.M):
            found.add(match.group(1))
    return found


def test_operator_user_is_a_member_of_operators_only(api, first_run):
    alice = api.one("users", username="alice")
    assert alice["email"] == "alice@example.invalid" and alice["password"] == "$encrypted$"
    roles = api.all("users/%s/roles/" % alice["id"])
    assert [(r["summary_fields"]["resource_name"], r["name"]) for r in roles] == [("operators", "Member")]


def test_rerun_changes_only_the_secret_bearing_objects(awx, api, project_dir, first_run, tmp_path):
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir), auth="password")
    assert recap["failed"] == 0 and recap["changed"] == 2, process.stdout
    assert changed_tasks(process.stdout) == {"Users", "Credentials"}
    writes = awx.stats()["writes_by_path"]
    expected = {"PATCH /api/v2/credentials/%s/" % c["id"]: 1 for c in _credentials(awx)}
    for username in ("alice", "bob"):
        expected["PATCH /api/v2/users/%s/" % api.one("users", username=username)["id"]] = 1
    assert writes == expected
    for secret in SECRETS + (awx.password,):
        assert secret not in process.stdout


def _credentials(awx):
    return [c for c in Client(awx).all("credentials/")
            if c["name"] in ("MAAS", "Fleet", "Gough servers SSH", "Gough CA", "Gough backup key")]


def test_rerun_without_secret_updates_changes_nothing(awx, project_dir, first_run, tmp_path):
    awx.reset_stats()
    # -vvv prints every task's arguments and results, except no_log ones: still no secret (the callback key).
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir, awx_config_update_secrets=False), "-vvv")
    assert recap["failed"] == 0 and recap["changed"] == 0, process.stdout
    assert awx.stats()["writes"] == 0
    # Nor the API token the role's own requests (the project sync wait) carry.
    for secret in SECRETS + (awx.token,):
        assert secret not in process.stdout
    assert "Gough agent" in process.stdout and '"playbook": "playbooks/stack.yml"' in process.stdout


def test_check_mode_reports_drift_and_writes_nothing(awx, api, project_dir, first_run, tmp_path):
    """Two drifts in one check-mode run: a new EE image, and awx_config_commission_schedule_enabled=false, which
    disables the hourly commission schedule; only they show as changed and nothing is written."""
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir, awx_config_ee_image="localhost/gough-ee:2",
                                                        awx_config_commission_schedule_enabled=False,
                                                        awx_config_update_secrets=False), "--check")
    # Only the drift shows: everything else, the webhook with the defaults AWX stores included, reports no change.
    assert recap["failed"] == 0 and recap["changed"] == 2, process.stdout
    assert changed_tasks(process.stdout) == {"Execution environments", "Schedules"}
    assert re.search(r"^changed: \[localhost\] => \(item=Commission new machines\)", process.stdout, re.M), \
        process.stdout
    assert awx.stats()["writes"] == 0
    assert api.one("execution_environments", name="Gough EE")["image"] == "localhost/gough-ee:latest"
    assert api.one("schedules", name="Commission new machines")["enabled"] is True


def test_schedule_rule_with_count_and_until_fails_clearly(awx, api, project_dir, first_run, tmp_path):
    bad = "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5;UNTIL=20300201T000000Z"
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir, awx_config_compliance_rrule=bad,
                                                        awx_config_update_secrets=False), expect_rc=2)
    assert recap["failed"] == 1
    assert "RRULE may not contain both COUNT and UNTIL" in process.stdout
    assert "Nightly compliance gate" in process.stdout
    assert "COUNT" not in api.one("schedules", name="Nightly compliance gate")["rrule"]


def test_check_mode_on_an_empty_awx_writes_nothing(project_dir, tmp_path):
    empty = start_awx_emulator(tmp_path / "empty")
    try:
        process, recap = run_playbook(empty, tmp_path, inputs(project_dir), "--check")
        assert recap["failed"] == 0 and recap["changed"] == 1, process.stdout
        assert "do not exist yet" in process.stdout
        assert empty.stats()["writes"] == 0
    finally:
        empty.stop()


def test_missing_required_input_fails_before_any_change(awx, project_dir, first_run, tmp_path):
    variables = inputs(project_dir)
    del variables["awx_config_maas_api_key"]
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, variables, expect_rc=2)
    assert recap["failed"] == 1 and "awx_config_maas_api_key" in process.stdout
    assert awx.stats()["requests"] == 0


def test_team_grant_of_the_organization_admin_role_fails_before_any_change(awx, project_dir, first_run, tmp_path):
    """AWX refuses a team the organization's Admin and Member roles: the role says so before it changes anything."""
    awx.reset_stats()
    refused = [{"team": "operators", "organization": "Gough", "role": "admin"},
               {"team": "auditors", "organization": "Gough", "roles": ["auditor", "member"]}]
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir, awx_config_extra_roles=refused), expect_rc=2)
    assert recap["failed"] == 1
    assert "operators admin on Gough, auditors member on Gough" in process.stdout
    assert "participation role" in process.stdout
    assert awx.stats()["requests"] == 0


def test_file_sd_directory_without_its_host_fails_before_any_change(awx, project_dir, first_run, tmp_path):
    awx.reset_stats()
    process, recap = run_playbook(awx, tmp_path, inputs(project_dir, awx_config_prometheus_file_sd_host=""),
                                  expect_rc=2)
    assert recap["failed"] == 1 and "awx_config_prometheus_file_sd_host" in process.stdout
    assert awx.stats()["requests"] == 0


# --- Surveys ask exactly what the playbooks read ---------------------------------------------------------------

def role_options(role):
    """Options of a gough.gough role's main entry point (its meta/argument_specs.yml)."""
    name = role.split(".")[-1]
    with open(os.path.join(ROOT, "roles", name, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return set(yaml.safe_load(handle)["argument_specs"]["main"]["options"])


def _tasks(items):
    for task in items or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _tasks(task.get(key))


def role_entry_options(role, entry_point):
    """Options of a role's entry point (tasks_from), or of its main entry point when it has no spec of its own."""
    name = role.split(".")[-1]
    with open(os.path.join(ROOT, "roles", name, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    return set((specs.get(entry_point) or specs["main"])["options"])


def playbook_variables(playbook):
    """Variables a playbook accepts: its plays' documented vars and the argument specs of the roles it runs (of the
    entry point a task names with tasks_from), following import_playbook."""
    with open(os.path.join(ROOT, playbook), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    names = set()
    for play in plays:
        if "ansible.builtin.import_playbook" in play:
            imported = os.path.join(os.path.dirname(playbook), play["ansible.builtin.import_playbook"])
            names |= playbook_variables(os.path.normpath(imported))
            continue
        names |= set(play.get("vars") or {})
        for role in play.get("roles") or []:
            names |= role_options(role["role"] if isinstance(role, dict) else role)
        for task in _tasks((play.get("pre_tasks") or []) + (play.get("tasks") or []) + (play.get("post_tasks") or [])):
            for action in ("ansible.builtin.include_role", "ansible.builtin.import_role"):
                if action in task and task[action]["name"].startswith("gough.gough."):
                    names |= role_entry_options(task[action]["name"], task[action].get("tasks_from", "main"))
    return names


def test_the_variable_cross_check_sees_a_drift():
    provision = playbook_variables("playbooks/provision.yml")
    assert {"provision_count", "provision_machines", "provision_cloudinit_template"} <= provision
    assert "site_cloudinit_template" not in provision and "decommission_erase_mode" not in provision
    assert {"decommission_erase_mode", "decommission_failed_only"} <= playbook_variables("playbooks/decommission.yml")
    # An imported playbook's variables count: the first boot runs the agent and Fleet enrollment.
    first_boot = playbook_variables("playbooks/first_boot.yml")
    assert {"agent_ca_cert", "agent_prometheus_file_sd_dir", "fleet_enroll_secret", "fleet_enroll_node_address"} \
        <= first_boot and "provision_count" not in first_boot


def test_every_survey_variable_is_one_the_template_playbook_reads(api, first_run):
    templates = {t["id"]: t for t in api.all("job_templates/")}
    surveyed = injected_total = 0
    for template in templates.values():
        accepted = playbook_variables(template["playbook"])
        if template["survey_enabled"]:
            spec = api.get("job_templates/%s/survey_spec/" % template["id"])["spec"]
            unknown = {q["variable"] for q in spec} - accepted
            assert not unknown, (template["name"], unknown)
            surveyed += 1
        extra = yaml.safe_load(template["extra_vars"] or "{}") or {}
        assert not set(extra) - accepted, (template["name"], set(extra) - accepted)
        # Extra variables the template's credentials inject (Fleet enrollment, Gough CA) reach its playbook too,
        # except where a template uses the credential only for its environment variables (the gate reads Fleet).
        for credential in api.all("job_templates/%s/credentials/" % template["id"]):
            if (template["name"], credential["name"]) in ENVIRONMENT_ONLY:
                continue
            ctype = api.get("credential_types/%s/" % credential["credential_type"])
            injected = set((ctype["injectors"] or {}).get("extra_vars") or {})
            assert not injected - accepted, (template["name"], credential["name"], injected - accepted)
            injected_total += len(injected)
    assert surveyed == 5  # provision, decommission, restore, certificate renewal, commission new machines
    # Gough CA on the agent, first boot and journal upload; Fleet API on enrollment, first boot and decommission.
    assert injected_total >= 12

    workflow = api.one("workflow_job_templates", name="Provision servers")
    nodes = api.all("workflow_job_templates/%s/workflow_nodes/" % workflow["id"])
    node_playbooks = {}
    for node in nodes:
        template = templates[node["unified_job_template"]]
        accepted = playbook_variables(template["playbook"])
        node_playbooks[template["playbook"]] = accepted
        # Variables a node passes itself (the failure path's decommission_failed_only) reach that playbook.
        assert not set(node["extra_data"] or {}) - accepted, (node["identifier"], node["extra_data"])
    # AWX gives the workflow's survey answers to every node: each must be read by at least one of them.
    for question in api.get("workflow_job_templates/%s/survey_spec/" % workflow["id"])["spec"]:
        readers = [playbook for playbook, accepted in node_playbooks.items() if question["variable"] in accepted]
        assert readers, question["variable"]


def test_survey_choices_are_values_the_playbooks_accept(api, first_run):
    provision = api.one("job_templates", name="Gough provision")
    questions = {q["variable"]: q for q in api.get("job_templates/%s/survey_spec/" % provision["id"])["spec"]}
    library = {name.split(".")[0] for name in os.listdir(os.path.join(ROOT, "plugins", "cloudinit", "templates"))}
    assert set(questions["provision_cloudinit_template"]["choices"]) <= library
    with open(os.path.join(ROOT, "playbooks", "decommission.yml"), encoding="utf-8") as handle:
        text = handle.read()
    decommission = api.one("job_templates", name="Gough decommission")
    (erase,) = api.get("job_templates/%s/survey_spec/" % decommission["id"])["spec"]
    assert "in ['none', 'quick', 'full', 'secure']" in text
    assert set(erase["choices"]) == {"none", "quick", "full", "secure"}


def test_provision_template_stores_the_extra_variables(api, first_run):
    provision = api.one("job_templates", name="Gough provision")
    stored = yaml.safe_load(provision["extra_vars"])["provision_cloudinit_vars"]
    assert stored["cloudinit_ssh_authorized_keys"] == ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGough ops@example"]
    # The callback key, templated from awx_config_host_config_key (its output is hidden: see the first test).
    assert stored["gough_awx_host_config_key"] == "callback-key-0123456789"


# --- Gough CA credential for the agent template --------------------------------------------------------------

def test_gough_ca_credential_type_writes_files_and_passes_their_paths(api, first_run):
    ctype = api.one("credential_types", name="Gough CA")
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    assert fields["ca_key"]["secret"] is True and not fields["ca_cert"].get("secret")
    assert ctype["inputs"]["required"] == ["ca_cert", "ca_key"]
    assert ctype["injectors"]["file"] == {"template.ca_cert": "{{ ca_cert }}", "template.ca_key": "{{ ca_key }}"}
    assert ctype["injectors"]["extra_vars"] == {"agent_ca_cert": "{{ tower.filename.ca_cert }}",
                                                "agent_ca_key": "{{ tower.filename.ca_key }}"}
    credential = api.one("credentials", name="Gough CA")
    assert credential["inputs"]["ca_key"] == "$encrypted$" and "MIIC-gough-ca" in credential["inputs"]["ca_cert"]
    agent = api.one("job_templates", name="Gough agent")
    assert "Gough CA" in {c["name"] for c in api.all("job_templates/%s/credentials/" % agent["id"])}
    # Signing agent certificates is for the template, not for operators to reuse elsewhere.
    assert ("credential", "Gough CA", "Use") not in grants(api, "operators")
    # The agent role reads the two variables the injector sets.
    assert {"agent_ca_cert", "agent_ca_key"} <= role_options("gough.gough.agent")


def test_journal_upload_template_signs_client_certificates_with_the_gough_ca_credential(api, first_run):
    journal = api.one("job_templates", name="Gough journal upload")
    assert "Gough CA" in {c["name"] for c in api.all("job_templates/%s/credentials/" % journal["id"])}
    # The credential's paths (agent_ca_cert, agent_ca_key) reach the journal_upload role through the play's vars.
    with open(os.path.join(ROOT, "playbooks", "journal.yml"), encoding="utf-8") as handle:
        play = yaml.safe_load(handle)[0]
    assert play["vars"]["journal_upload_ca_cert"] == "{{ agent_ca_cert }}"
    assert play["vars"]["journal_upload_ca_key"] == "{{ agent_ca_key }}"
    assert {"journal_upload_ca_cert", "journal_upload_ca_key", "journal_upload_url"} <= role_options(
        "gough.gough.journal_upload")


@pytest.mark.parametrize("injectors, message", [
    ({"file": {"template.ca_cert": "{{ ca_cert }}"}, "extra_vars": {"agent_ca_key": "{{ tower.filename.ca_key }}"}},
     "undefined field"),
    ({"file": {"template": "{{ ca_cert }}", "template.ca_key": "{{ ca_key }}"}}, "multi-file syntax"),
    ({"file": {"template.ca_cert": "{{ ca_cert }}"}, "extra_vars": {"agent_ca_cert": "{{ tower.filename }}"}},
     "undefined field"),
    ({"file": {"template.ca-cert": "{{ ca_cert }}"}}, "file injector keys"),
    ({"env": {"ANSIBLE_CONFIG": "{{ tower.filename.ca_cert }}"}, "file": {"template.ca_cert": "{{ ca_cert }}"}},
     "may affect Ansible configuration"),
])
def test_emulator_rejects_file_injectors_awx_rejects(awx, first_run, injectors, message):
    body = {"name": "Broken CA", "kind": "cloud",
            "inputs": {"fields": [{"id": "ca_cert", "label": "cert", "type": "string"},
                                  {"id": "ca_key", "label": "key", "type": "string", "secret": True}]},
            "injectors": injectors}
    request = urllib.request.Request(awx.url + "/api/v2/credential_types/", data=json.dumps(body).encode(),
                                     method="POST", headers={"Authorization": "Bearer " + awx.token,
                                                             "Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=30)  # pylint: disable=consider-using-with
    assert caught.value.code == 400
    assert message in json.loads(caught.value.read())["injectors"][0]


# --- Who may do what (user_capabilities, as AWX computes them from the grants) --------------------------------

OPERATOR = ("alice", "alice-secret-value")
ADMIN = ("bob", "bob-secret-value")


def capabilities(awx, user, collection, name):
    """summary_fields.user_capabilities of the object ``name`` as ``user`` sees it (None: the user cannot see it)."""
    status, page = get_as(awx, "%s/?name=%s" % (collection, name.replace(" ", "+")), *user)
    assert status == 200, page
    if not page["results"]:
        return None
    return page["results"][0]["summary_fields"]["user_capabilities"]


def test_operators_may_schedule_what_they_may_run_but_change_nothing(awx, first_run):
    """AWX ties schedules to the right to launch (ScheduleAccess.can_add asks for Execute on the template) and reports
    it as schedule: true; docs/awx.md says so. Operators edit no template and none of Gough's schedules."""
    provision = capabilities(awx, OPERATOR, "job_templates", "Gough provision")
    assert provision["start"] is True and provision["schedule"] is True
    assert provision["edit"] is False and provision["delete"] is False and provision["copy"] is False
    workflow = capabilities(awx, OPERATOR, "workflow_job_templates", "Provision servers")
    assert workflow["start"] is True and workflow["schedule"] is True and workflow["edit"] is False
    gate = capabilities(awx, OPERATOR, "schedules", "Nightly compliance gate")
    assert gate["edit"] is False and gate["delete"] is False
    # The control stack and the restore stay with admins: operators can do nothing with them (AWX does not even list
    # them to operators, who hold no role that reads them).
    for name in ("Gough stack", "Gough restore"):
        caps = capabilities(awx, OPERATOR, "job_templates", name)
        assert caps is None or not any(caps.values()), (name, caps)


def test_admins_administer_the_contents_but_not_the_organization(awx, first_run):
    """Without the organization's Admin role (AWX refuses it to teams), admins change and run every template but
    cannot change the organization or its teams."""
    for name in ("Gough stack", "Gough restore", "Gough provision"):
        template = capabilities(awx, ADMIN, "job_templates", name)
        assert template["edit"] is True and template["start"] is True and template["schedule"] is True, name
    assert capabilities(awx, ADMIN, "workflow_job_templates", "Provision servers")["edit"] is True
    assert capabilities(awx, ADMIN, "schedules", "Nightly backup")["edit"] is True
    assert capabilities(awx, ADMIN, "organizations", "Gough")["edit"] is False
    assert capabilities(awx, ADMIN, "teams", "operators")["edit"] is False


# --- The launch examples of docs/awx.md -------------------------------------------------------------------------

DOCS = os.path.join(ROOT, "docs", "awx.md")


def _template(api, module, name):
    collection = "workflow_job_templates" if module == "awx.awx.workflow_launch" else "job_templates"
    return collection, api.one(collection, name=name)


def test_docs_launch_examples_are_found_and_wait_a_bounded_time():
    examples = launch_examples(DOCS)
    assert {(module, args["name"]) for module, args in examples} == {
        ("awx.awx.workflow_launch", "Provision servers"), ("awx.awx.job_launch", "Gough decommission"),
        ("awx.awx.job_launch", "Gough journal upload"), ("awx.awx.job_launch", "Gough commission new machines")}
    for _module, args in examples:
        assert args.get("wait") is not True or args.get("timeout", 0) > 0, args


def test_docs_launch_examples_answer_every_required_question(api, first_run):
    """AWX refuses a launch that leaves out a required survey question, default or not (variables_needed_to_start),
    extra variables a template neither surveys nor prompts for, and prompts it does not ask for."""
    for module, args in launch_examples(DOCS):
        collection, template = _template(api, module, args["name"])
        extra = args.get("extra_vars") or {}
        spec = (api.get("%s/%s/survey_spec/" % (collection, template["id"]))["spec"]
                if template["survey_enabled"] else [])
        missing = [q["variable"] for q in spec if q["required"] and q["variable"] not in extra]
        assert not missing, (args["name"], missing)
        if not template["ask_variables_on_launch"]:
            assert set(extra) <= {q["variable"] for q in spec}, args
        for prompt in ("limit", "inventory"):
            assert prompt not in args or template["ask_%s_on_launch" % prompt], (args["name"], prompt)


def _launch_endpoint(api):
    """GET the workflow's launch endpoint (AWX answers it with, among others, variables_needed_to_start)."""
    workflow = api.one("workflow_job_templates", name="Provision servers")
    info = api.get("workflow_job_templates/%s/launch/" % workflow["id"])
    assert "variables_needed_to_start" in info, info
    return info


def test_docs_launch_examples_are_accepted_by_awx_for_an_operator(awx, api, first_run):
    """Each command docs/awx.md shows, run as it is by a member of operators (the emulator runs no job, so the
    examples' wait is turned off)."""
    info = _launch_endpoint(api)
    assert info["variables_needed_to_start"] == ["provision_count"]
    for module, args in launch_examples(DOCS):
        process = run_module(awx, module, dict(args, wait=False), *OPERATOR)
        assert process.returncode == 0, process.stdout + process.stderr
        assert re.search(r'"id": \d+', process.stdout), process.stdout


def test_launch_without_the_required_answer_is_refused_with_awx_message(awx, api, first_run):
    _launch_endpoint(api)
    process = run_module(awx, "awx.awx.workflow_launch",
                         {"name": "Provision servers", "extra_vars": {"provision_zone": "rack-a"}, "wait": False},
                         *OPERATOR)
    assert process.returncode != 0
    assert "'provision_count' value missing" in process.stdout


def test_first_boot_callback_starts_the_first_boot_job_for_the_calling_server_alone(awx, api, first_run):
    """What gough-bootstrap's gough-awx-callback sends (a form with host_config_key, no extra_vars) is accepted by
    AWX's JobTemplateCallback for "Gough first boot" once the MAAS inventory lists the caller, and starts a job
    limited to that host; a wrong key is refused (403) and no job is created."""
    import urllib.parse  # pylint: disable=import-outside-toplevel

    first_boot = api.one("job_templates", name="Gough first boot")
    inventory = api.one("inventories", name="MAAS")
    url = awx.url + "/api/v2/job_templates/%s/callback/" % first_boot["id"]

    def post_form(key):
        request = urllib.request.Request(url, data=urllib.parse.urlencode({"host_config_key": key}).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, None
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    jobs = len(awx.jobs())
    assert post_form("callback-key-0123456789") == (400, {"msg": "No matching host could be found!"})
    # What the MAAS source's sync would add: the deployed machine, its address as ansible_host.
    status, _host = awx.client().post("hosts/", {"name": "node-07", "inventory": inventory["id"],
                                                 "variables": json.dumps({"ansible_host": "127.0.0.1"})})
    assert status == 201
    assert post_form("not-the-key") == (403, {"detail": "You do not have permission to perform this action."})
    assert len(awx.jobs()) == jobs
    assert post_form("callback-key-0123456789") == (201, None)
    job = awx.jobs()[-1]
    assert (job["template"], job["limit"], job["launch_type"]) == (first_boot["id"], "node-07", "callback")
