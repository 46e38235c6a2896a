"""AWX emulator access control as AWX 24.6.1 has it: team grants it refuses on both role APIs, the managed role
definitions and their assignments, and summary_fields.user_capabilities computed from the grants."""

import pytest

from gough_lab.awx.testing import AWXClient, git_repository, start_awx_emulator

ORG_PARTICIPATION = {"msg": "You cannot assign an Organization participation role as a child role for a Team."}
ORG_MEMBER_TO_TEAM = ["Assigning organization member permission to teams is not allowed"]


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    """One emulator with a project checkout, an organization, a project, an inventory and two templates."""
    checkout = tmp_path_factory.mktemp("checkout")
    (checkout / "site.yml").write_text("---\n- name: Site\n  hosts: all\n  tasks: []\n")
    git_repository(checkout)
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    api = emulator.client()
    emulator.org = api.create("organizations/", {"name": "Gough"})
    emulator.project = api.create("projects/", {"name": "P", "organization": emulator.org["id"], "scm_type": "git",
                                                "scm_url": "file://%s" % checkout})
    emulator.inventory = api.create("inventories/", {"name": "I", "organization": emulator.org["id"]})
    emulator.jt = api.create("job_templates/", {"name": "Provision", "project": emulator.project["id"],
                                                "inventory": emulator.inventory["id"], "playbook": "site.yml"})
    emulator.other_jt = api.create("job_templates/", {"name": "Other", "project": emulator.project["id"],
                                                      "inventory": emulator.inventory["id"], "playbook": "site.yml"})
    emulator.wf = api.create("workflow_job_templates/", {"name": "Flow", "organization": emulator.org["id"]})
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    return awx.client()


def org_role(api, awx, field):
    return awx.org["summary_fields"]["object_roles"][field]["id"]


def definition(api, name):
    status, found = api.get("role_definitions/?name=%s" % name.replace(" ", "%20"))
    assert status == 200 and found["count"] == 1, found
    return found["results"][0]


def new_team(api, awx, name):
    return api.create("teams/", {"name": name, "organization": awx.org["id"]})


@pytest.mark.parametrize("field", ["admin_role", "member_role"])
def test_team_grant_of_an_organization_participation_role_is_refused_on_the_role_endpoint(api, awx, field):
    """AWX RoleTeamsList.post: POST /roles/<org admin|member>/teams/ -> 400 with AWX's msg, nothing granted."""
    team = new_team(api, awx, "t-role-" + field)
    role = org_role(api, awx, field)
    assert api.post("roles/%s/teams/" % role, {"id": team["id"]}) == (400, ORG_PARTICIPATION)
    assert api.get("roles/%s/teams/" % role)[1]["count"] == 0


@pytest.mark.parametrize("field", ["admin_role", "member_role"])
def test_team_grant_of_an_organization_participation_role_is_refused_on_the_team_endpoint(api, awx, field):
    """AWX TeamRolesList.post: POST /teams/<id>/roles/ {id: org admin|member role} -> the same 400."""
    team = new_team(api, awx, "t-team-" + field)
    assert api.post("teams/%s/roles/" % team["id"], {"id": org_role(api, awx, field)}) == (400, ORG_PARTICIPATION)
    assert api.get("teams/%s/roles/" % team["id"])[1]["count"] == 0


@pytest.mark.parametrize("field", ["project_admin_role", "inventory_admin_role", "job_template_admin_role",
                                   "workflow_admin_role", "credential_admin_role", "notification_admin_role",
                                   "execution_environment_admin_role", "execute_role", "read_role", "auditor_role",
                                   "approval_role"])
def test_organization_level_object_roles_stay_grantable_to_teams(api, awx, field):
    """AWX refuses only the participation roles: the org-level admin roles per object type, execute, read,
    auditor and approval can be held by a team (through either endpoint)."""
    team = new_team(api, awx, "t-ok-" + field)
    role = org_role(api, awx, field)
    assert api.post("roles/%s/teams/" % role, {"id": team["id"]})[0] == 204
    granted = api.get("teams/%s/roles/" % team["id"])[1]["results"]
    assert [r["id"] for r in granted] == [role]
    assert api.post("teams/%s/roles/" % team["id"], {"id": role, "disassociate": True})[0] == 204
    assert api.post("teams/%s/roles/" % team["id"], {"id": role})[0] == 204


@pytest.mark.parametrize("name", ["Organization Admin", "Organization Member"])
def test_team_assignment_of_organization_admin_or_member_definition_is_refused(api, awx, name):
    """DAB validate_team_assignment_enabled (ANSIBLE_BASE_ALLOW_TEAM_ORG_MEMBER=False): both definitions hold
    member_organization -> 400 "Assigning organization member permission to teams is not allowed"."""
    team = new_team(api, awx, "t-dab-" + name.split()[-1])
    body = {"team": team["id"], "object_id": awx.org["id"], "role_definition": definition(api, name)["id"]}
    assert api.post("role_team_assignments/", body) == (400, ORG_MEMBER_TO_TEAM)
    assert api.get("role_team_assignments/?team=%s" % team["id"])[1]["count"] == 0


def test_user_assignment_of_organization_admin_is_allowed(api, awx):
    """Only teams are restricted: a user may be made Organization Admin through role_user_assignments."""
    user = api.create("users/", {"username": "orgadmin", "password": "pw-orgadmin-1"})
    body = {"user": user["id"], "object_id": awx.org["id"],
            "role_definition": definition(api, "Organization Admin")["id"]}
    status, assignment = api.post("role_user_assignments/", body)
    assert status == 201 and assignment["object_id"] == str(awx.org["id"]) and assignment["user"] == user["id"]
    roles = api.get("users/%s/roles/" % user["id"])[1]["results"]
    assert [(r["name"], r["summary_fields"]["resource_name"]) for r in roles] == [("Admin", "Gough")]


def test_managed_role_definitions_are_awx_24_names_and_permissions(api):
    """AWX 24.6.1 setup_managed_role_definitions: per-object Admin, per-action roles, Organization X Admin."""
    names = {d["name"] for d in api.get("role_definitions/?page_size=200")[1]["results"]}
    assert {"JobTemplate Execute", "Inventory Use", "Inventory Adhoc", "Project Use", "Credential Use",
            "WorkflowJobTemplate Approve", "Organization Member", "Team Member", "Organization Admin",
            "Organization Audit", "Organization Project Admin", "Organization JobTemplate Admin",
            "Organization WorkflowJobTemplate Admin"} <= names
    execute = definition(api, "JobTemplate Execute")
    assert execute["content_type"] == "awx.jobtemplate" and execute["managed"] is True
    assert set(execute["permissions"]) == {"awx.execute_jobtemplate", "awx.view_jobtemplate"}
    assert "shared.member_organization" in definition(api, "Organization Admin")["permissions"]


def test_team_assignments_and_old_role_grants_are_the_same_grants(api, awx):
    """A role_team_assignment shows as the old role grant and back; DELETE of the assignment revokes it."""
    team = new_team(api, awx, "t-both")
    execute = definition(api, "JobTemplate Execute")
    status, assignment = api.post("role_team_assignments/", {"team": team["id"], "object_id": awx.jt["id"],
                                                             "role_definition": execute["id"]})
    assert status == 201 and assignment["role_definition"] == execute["id"]
    roles = api.get("teams/%s/roles/" % team["id"])[1]["results"]
    assert [(r["name"], r["summary_fields"]["resource_name"]) for r in roles] == [("Execute", "Provision")]
    use = awx.inventory["summary_fields"]["object_roles"]["use_role"]["id"]
    assert api.post("roles/%s/teams/" % use, {"id": team["id"]})[0] == 204
    listed = api.get("role_team_assignments/?team=%s" % team["id"])[1]["results"]
    names = sorted(a["summary_fields"]["role_definition"]["name"] for a in listed)
    assert names == ["Inventory Use", "JobTemplate Execute"]
    assert api.delete("role_team_assignments/%s/" % assignment["id"])[0] == 204
    assert [r["name"] for r in api.get("teams/%s/roles/" % team["id"])[1]["results"]] == ["Use"]


def test_team_credential_assignment_outside_its_organization_is_refused(api, awx):
    """Credential.validate_role_assignment: a team of another organization gets AWX's detail message."""
    other = api.create("organizations/", {"name": "Elsewhere"})
    outsider = api.create("teams/", {"name": "outsider", "organization": other["id"]})
    machine = api.one("credential_types", "Machine")
    credential = api.create("credentials/", {"name": "ssh", "organization": awx.org["id"],
                                             "credential_type": machine["id"], "inputs": {"username": "u"}})
    body = {"team": outsider["id"], "object_id": credential["id"],
            "role_definition": definition(api, "Credential Use")["id"]}
    assert api.post("role_team_assignments/", body) == (
        400, {"detail": "You cannot grant credential access to a Team not in the credentials' organization"})


# --- user_capabilities -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def operator(api, awx):
    """User "olivia", member of team "ops" that holds Execute on "Provision" only."""
    team = new_team(api, awx, "ops")
    user = api.create("users/", {"username": "olivia", "password": "olivia-pw-1"})
    member = team["summary_fields"]["object_roles"]["member_role"]["id"]
    assert api.post("roles/%s/users/" % member, {"id": user["id"]})[0] == 204
    execute = awx.jt["summary_fields"]["object_roles"]["execute_role"]["id"]
    assert api.post("roles/%s/teams/" % execute, {"id": team["id"]})[0] == 204
    return AWXClient.basic(awx.url, "olivia", "olivia-pw-1")


def caps(client, path):
    status, body = client.get(path)
    assert status == 200, body
    return body["summary_fields"]["user_capabilities"]


def test_execute_through_a_team_gives_start_and_schedule_but_not_edit(operator, awx):
    """AWX: schedule follows start (execute), edit/delete follow admin, copy needs project and inventory use."""
    assert caps(operator, "job_templates/%s/" % awx.jt["id"]) == {"start": True, "schedule": True, "copy": False,
                                                                  "edit": False, "delete": False}
    assert caps(operator, "job_templates/%s/" % awx.other_jt["id"]) == {
        "start": False, "schedule": False, "copy": False, "edit": False, "delete": False}


def test_superuser_capabilities_and_the_user_itself(api, awx):
    """Superusers may do everything RBAC governs; nobody deletes themselves."""
    assert caps(api, "job_templates/%s/" % awx.jt["id"]) == {"start": True, "schedule": True, "copy": True,
                                                             "edit": True, "delete": True}
    me = api.get("me/")[1]["results"][0]
    assert me["summary_fields"]["user_capabilities"] == {"edit": True, "delete": False}


def test_organization_admin_roles_imply_the_object_roles(api, awx):
    """Old-RBAC implicit parents: an org's job_template_admin_role holds admin (so execute) on its templates;
    workflow_admin_role edits workflows; project_admin_role copies projects."""
    team = new_team(api, awx, "jt-admins")
    user = api.create("users/", {"username": "jta", "password": "jta-pw-1"})
    assert api.post("roles/%s/users/" % team["summary_fields"]["object_roles"]["member_role"]["id"],
                    {"id": user["id"]})[0] == 204
    for field in ("job_template_admin_role", "workflow_admin_role"):
        assert api.post("roles/%s/teams/" % org_role(api, awx, field), {"id": team["id"]})[0] == 204
    client = AWXClient.basic(awx.url, "jta", "jta-pw-1")
    jt = caps(client, "job_templates/%s/" % awx.other_jt["id"])
    assert jt["edit"] and jt["delete"] and jt["start"] and jt["schedule"] and not jt["copy"]
    wf = caps(client, "workflow_job_templates/%s/" % awx.wf["id"])
    assert wf == {"start": True, "schedule": True, "edit": True, "copy": True, "delete": True}
    assert caps(client, "projects/%s/" % awx.project["id"]) == {"start": False, "schedule": False, "edit": False,
                                                                "delete": False, "copy": False}


def test_capabilities_are_enforced_on_writes(operator, awx):
    """What user_capabilities denies, the API refuses with 403 (AWX's access checks)."""
    assert operator.patch("job_templates/%s/" % awx.jt["id"], {"description": "x"}) == (
        403, {"detail": "You do not have permission to perform this action."})
    assert operator.delete("job_templates/%s/" % awx.jt["id"])[0] == 403
    assert operator.post("job_templates/%s/launch/" % awx.other_jt["id"])[0] == 403
    status, job = operator.post("job_templates/%s/launch/" % awx.jt["id"])
    assert status == 201 and job["job"] == job["id"]


def test_executor_may_add_a_schedule_and_edit_only_its_own(operator, api, awx):
    """ScheduleAccess: execute on the template lets a user add schedules (AWX 24 reports this as
    ``schedule: true`` in the template's user_capabilities) and change the ones they created, not others'."""
    rule = "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1"
    status, mine = operator.post("schedules/", {"name": "mine", "unified_job_template": awx.jt["id"], "rrule": rule})
    assert status == 201 and mine["summary_fields"]["user_capabilities"] == {"edit": True, "delete": True}
    theirs = api.create("schedules/", {"name": "theirs", "unified_job_template": awx.jt["id"], "rrule": rule})
    assert caps(operator, "schedules/%s/" % theirs["id"]) == {"edit": False, "delete": False}
    assert operator.post("schedules/", {"name": "no", "unified_job_template": awx.other_jt["id"],
                                        "rrule": rule})[0] == 403


def test_read_token_has_no_capabilities(api, awx):
    """AWX: a token with scope read takes no action, so every capability is false and writes are refused."""
    status, token = AWXClient.basic(awx.url, awx.username, awx.password).post(
        "tokens/", {"description": "ro", "application": None, "scope": "read"})
    assert status == 201
    reader = AWXClient(awx.url, "Bearer " + token["token"])
    assert set(caps(reader, "job_templates/%s/" % awx.jt["id"]).values()) == {False}
    assert reader.patch("job_templates/%s/" % awx.jt["id"], {"description": "x"})[0] == 403


def test_types_without_capabilities_in_awx_show_none(api, awx):
    """AWX's workflow node and label serializers declare no show_capabilities: no user_capabilities key."""
    node = api.create("workflow_job_template_nodes/", {"workflow_job_template": awx.wf["id"], "identifier": "n",
                                                       "unified_job_template": awx.jt["id"]})
    assert "user_capabilities" not in node["summary_fields"]
