"""The AWX emulator's API: auth, lists and filters, references, validation, roles, workflows, persistence."""

import base64
import json
import os
import stat
import urllib.error
import urllib.request

import pytest

from gough_lab.awx.testing import git_repository, start_awx_emulator

INJECTORS = {"env": {"MAAS_URL": "{{ maas_url }}", "MAAS_API_KEY": "{{ maas_api_key }}",
                     "MAAS_CA_PATH": "{% if ca %}{{ tower.filename.ca }}{% endif %}"},
             "file": {"template.ca": "{{ ca }}"}}
INPUTS = {"fields": [{"id": "maas_url", "label": "URL", "type": "string"},
                     {"id": "maas_api_key", "label": "Key", "type": "string", "secret": True},
                     {"id": "ca", "label": "CA", "type": "string", "secret": True, "multiline": True}],
          "required": ["maas_url", "maas_api_key"]}


class Client:
    """JSON client for the emulator; ``auth`` is a header value or None."""

    def __init__(self, url, auth):
        self.url = url
        self.auth = auth

    def call(self, method, path, body=None):
        """(status, json or None, headers) of one request; path relative to /api/v2/ unless it starts with /."""
        full = self.url + (path if path.startswith("/") else "/api/v2/" + path)
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data else {}
        if self.auth:
            headers["Authorization"] = self.auth
        request = urllib.request.Request(full, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                payload = response.read()
                return response.status, (json.loads(payload) if payload else None), response.headers
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            return exc.code, (json.loads(payload) if payload else None), exc.headers

    def get(self, path):
        return self.call("GET", path)[:2]

    def post(self, path, body=None):
        return self.call("POST", path, body if body is not None else {})[:2]

    def patch(self, path, body):
        return self.call("PATCH", path, body)[:2]

    def create(self, path, body):
        status, data = self.post(path, body)
        assert status == 201, (status, data)
        return data


@pytest.fixture(scope="module")
def emulator(tmp_path_factory):
    awx = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    try:
        yield awx
    finally:
        awx.stop()


@pytest.fixture(scope="module")
def api(emulator):
    return Client(emulator.url, "Bearer " + emulator.token)


@pytest.fixture(scope="module")
def org(api):
    return api.create("organizations/", {"name": "Lab", "description": "test org"})


@pytest.fixture(scope="module")
def maas_type(api):
    return api.create("credential_types/", {"name": "MAAS API", "kind": "cloud", "inputs": INPUTS,
                                            "injectors": INJECTORS})


@pytest.fixture(scope="module")
def project_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("project")
    (root / "playbooks").mkdir()
    (root / "inventory").mkdir()
    (root / "playbooks" / "provision.yml").write_text("---\n- name: Provision\n  hosts: localhost\n  tasks: []\n")
    (root / "inventory" / "maas.yml").write_text("---\nplugin: gough.gough.maas\n")
    git_repository(root)  # AWX's project update is a git checkout of the URL
    return root


@pytest.fixture(scope="module")
def project(api, org, project_dir):
    return api.create("projects/", {"name": "Gough", "organization": org["id"], "scm_type": "git",
                                    "scm_url": "file://%s" % project_dir})


@pytest.fixture(scope="module")
def inventory(api, org):
    return api.create("inventories/", {"name": "MAAS", "organization": org["id"]})


def test_anonymous_endpoints_and_auth(emulator, api):
    anon = Client(emulator.url, None)
    status, root, headers = anon.call("GET", "/api/")
    assert status == 200 and root["current_version"] == "/api/v2/"
    assert headers["X-API-Product-Name"] == "AWX" and headers["X-API-Product-Version"].startswith("24.")
    assert anon.get("ping/")[0] == 200
    assert anon.get("me/") == (401, {"detail": "Authentication credentials were not provided."})
    assert Client(emulator.url, "Bearer nope").get("me/")[0] == 401
    status, me = api.get("me/")
    assert status == 200 and me["count"] == 1 and me["results"][0]["username"] == "admin"
    assert me["results"][0]["password"] == "$encrypted$"
    basic = Client(emulator.url, "Basic " + base64.b64encode(
        ("%s:%s" % (emulator.username, emulator.password)).encode()).decode())
    assert basic.get("config/")[0] == 200
    wrong = Client(emulator.url, "Basic " + base64.b64encode(b"admin:wrong").decode())
    assert wrong.get("config/")[0] == 401


def test_token_issue_use_and_revoke_are_not_counted_as_writes(emulator):
    basic = Client(emulator.url, "Basic " + base64.b64encode(
        ("%s:%s" % (emulator.username, emulator.password)).encode()).decode())
    emulator.reset_stats()
    status, token = basic.post("tokens/", {"description": "t", "application": None, "scope": "write"})
    assert status == 201 and token["token"] and token["id"]
    bearer = Client(emulator.url, "Bearer " + token["token"])
    assert bearer.get("me/")[0] == 200
    assert basic.call("DELETE", "tokens/%s/" % token["id"])[0] == 204
    assert bearer.get("me/")[0] == 401
    assert emulator.stats()["writes"] == 0


def test_state_files_are_private_and_survive_a_restart(tmp_path):
    awx = start_awx_emulator(tmp_path / "state")
    try:
        client = Client(awx.url, "Bearer " + awx.token)
        client.create("organizations/", {"name": "Kept"})
        for name in ("awx.sqlite3", "admin.json", "token"):
            assert stat.S_IMODE(os.stat(tmp_path / "state" / name).st_mode) == 0o600, name
        awx.restart()
        client = Client(awx.url, "Bearer " + awx.token)
        status, found = client.get("organizations/?name=Kept")
        assert status == 200 and found["count"] == 1
    finally:
        awx.stop()


def test_lists_filters_and_pagination(api, org):
    for name in ("alpha", "beta", "gamma"):
        api.create("teams/", {"name": name, "organization": org["id"]})
    status, found = api.get("teams/?name=beta&organization=%s" % org["id"])
    assert status == 200 and found["count"] == 1 and found["results"][0]["name"] == "beta"
    team = found["results"][0]
    assert team["type"] == "team" and team["url"] == "/api/v2/teams/%s/" % team["id"]
    assert team["related"]["organization"] == "/api/v2/organizations/%s/" % org["id"]
    assert team["summary_fields"]["organization"]["name"] == "Lab"
    assert set(team["summary_fields"]["object_roles"]) == {"admin_role", "member_role", "read_role"}
    either = api.get("teams/?or__id=%s&or__name=gamma" % team["id"])[1]
    assert sorted(t["name"] for t in either["results"]) == ["beta", "gamma"]
    page = api.get("teams/?page_size=1&name__icontains=A")[1]
    assert page["count"] == 3 and len(page["results"]) == 1 and page["previous"] is None
    second = api.get(page["next"])[1]
    assert second["results"][0]["name"] == "beta" and second["previous"]
    assert api.get("teams/?colour=red")[0] == 400
    assert api.get("teams/99999/")[0] == 404
    assert api.get("teams/%s/" % team["id"])[1]["name"] == "beta"


def test_references_to_missing_objects_are_refused_with_the_field_named(api, org, maas_type):
    assert api.post("teams/", {"name": "x", "organization": 99999}) == (
        400, {"organization": ['Invalid pk "99999" - object does not exist.']})
    status, body = api.post("credentials/", {"name": "c", "organization": org["id"], "credential_type": 99999})
    assert status == 400 and "credential_type" in body
    status, body = api.post("teams/", {"name": "no-org"})
    assert status == 400 and body == {"organization": ["This field is required."]}
    status, body = api.post("teams/", {"name": "alpha2", "organization": org["id"]})
    assert status == 201
    status, body = api.post("teams/", {"name": "alpha2", "organization": org["id"]})
    assert status == 400 and "already exists" in body["__all__"][0]


@pytest.mark.parametrize("change, field, text", [
    ({"kind": "ssh"}, "kind", "Must be 'cloud' or 'net'"),
    ({"injectors": {"env": {"MAAS_URL": "{{ nope }}"}}}, "injectors", "undefined field (nope)"),
    ({"injectors": {"env": {"PATH": "{{ maas_url }}"}}}, "injectors", "PATH"),
    ({"injectors": {"env": {"X": "{{ tower.filename.missing }}"}}}, "injectors", "tower.filename.missing"),
    ({"injectors": {"extra_vars": {"a": "{{ maas_url"}}}, "injectors", "syntax"),
    ({"injectors": {"bogus": {}}}, "injectors", "bogus"),
    ({"inputs": {"fields": [{"id": "a", "label": "A"}, {"id": "a", "label": "B"}]}}, "inputs", "unique"),
    ({"inputs": {"fields": [{"id": "a", "label": "A"}], "required": ["b"]}}, "inputs", "'b'"),
    ({"inputs": {"fields": [{"id": "a", "label": "A", "type": "list"}]}}, "inputs", "type must be"),
    ({"inputs": {"fields": [{"id": "a"}]}}, "inputs", "'label' is required"),
])
def test_credential_type_inputs_and_injectors_are_validated(api, change, field, text):
    body = dict({"name": "bad type", "kind": "cloud", "inputs": INPUTS, "injectors": INJECTORS}, **change)
    status, error = api.post("credential_types/", body)
    assert status == 400, error
    assert list(error) == [field] and text in error[field][0], error


def test_credential_inputs_are_checked_against_the_type_and_secrets_masked(api, org, maas_type):
    status, error = api.post("credentials/", {"name": "m", "organization": org["id"], "credential_type": maas_type["id"],
                                              "inputs": {"maas_url": "http://m", "other": "x"}})
    assert status == 400 and set(error["inputs"]) == {"other", "maas_api_key"}
    credential = api.create("credentials/", {"name": "m", "organization": org["id"], "credential_type": maas_type["id"],
                                             "inputs": {"maas_url": "http://m", "maas_api_key": "a:b:c"}})
    assert credential["inputs"] == {"maas_url": "http://m", "maas_api_key": "$encrypted$"}
    assert credential["kind"] == "cloud" and credential["summary_fields"]["credential_type"]["name"] == "MAAS API"
    status, kept = api.patch("credentials/%s/" % credential["id"],
                             {"inputs": {"maas_url": "http://n", "maas_api_key": "$encrypted$"}})
    assert status == 200 and kept["inputs"] == {"maas_url": "http://n", "maas_api_key": "$encrypted$"}
    status, error = api.patch("credential_types/%s/" % maas_type["id"], {"inputs": {"fields": []}})
    assert status == 400 and "in use" in error["inputs"][0]


SURVEY = {"name": "s", "description": "d", "spec": [
    {"question_name": "Count", "variable": "count", "type": "integer", "min": 1, "max": 10, "default": 2,
     "required": True},
    {"question_name": "Series", "variable": "series", "type": "multiplechoice", "choices": ["noble", "jammy"],
     "default": "noble", "required": True},
    {"question_name": "Secret", "variable": "secret", "type": "password", "default": "hunter2", "required": False}]}


@pytest.fixture(scope="module")
def template(api, project, inventory):
    return api.create("job_templates/", {"name": "Provision", "project": project["id"], "inventory": inventory["id"],
                                         "playbook": "playbooks/provision.yml", "survey_enabled": True})


@pytest.mark.parametrize("mutate, text", [
    (lambda s: s.pop("name"), "'name' missing"),
    (lambda s: s["spec"].append(dict(s["spec"][0])), "duplicated"),
    (lambda s: s["spec"][1].update(default="focal"), "must be one of its choices"),
    (lambda s: s["spec"][0].update(default=50), "above max"),
    (lambda s: s["spec"][0].update(type="number"), "allowed question types"),
    (lambda s: s["spec"][0].pop("variable"), "'variable' missing"),
])
def test_survey_specs_are_validated(api, template, mutate, text):
    spec = json.loads(json.dumps(SURVEY))
    mutate(spec)
    status, error = api.post("job_templates/%s/survey_spec/" % template["id"], spec)
    assert status == 400 and text in error["error"], error


def test_survey_spec_round_trip_hides_password_defaults(api, template):
    assert api.post("job_templates/%s/survey_spec/" % template["id"], SURVEY)[0] == 200
    status, stored = api.get("job_templates/%s/survey_spec/" % template["id"])
    assert status == 200 and stored["spec"][:2] == SURVEY["spec"][:2]
    assert stored["spec"][2]["default"] == "$encrypted$"


def test_job_template_rules(api, project, inventory, maas_type, org):
    status, error = api.post("job_templates/", {"name": "x", "project": project["id"], "inventory": inventory["id"],
                                                "playbook": "playbooks/missing.yml"})
    assert status == 400 and error == {"playbook": ["Playbook not found for project."]}
    status, error = api.post("job_templates/", {"name": "x", "project": project["id"],
                                                "playbook": "playbooks/provision.yml"})
    assert status == 400 and "inventory" in error
    jt = api.create("job_templates/", {"name": "callback", "project": project["id"], "inventory": inventory["id"],
                                       "playbook": "playbooks/provision.yml", "host_config_key": "k3y"})
    assert jt["organization"] == org["id"] and jt["related"]["callback"].endswith("/callback/")
    first = api.create("credentials/", {"name": "c1", "organization": org["id"], "credential_type": maas_type["id"],
                                        "inputs": {"maas_url": "http://a", "maas_api_key": "k"}})
    second = api.create("credentials/", {"name": "c2", "organization": org["id"], "credential_type": maas_type["id"],
                                         "inputs": {"maas_url": "http://b", "maas_api_key": "k"}})
    assert api.post("job_templates/%s/credentials/" % jt["id"], {"id": first["id"]})[0] == 204
    status, error = api.post("job_templates/%s/credentials/" % jt["id"], {"id": second["id"]})
    assert status == 400 and "multiple MAAS API" in error["error"]
    listed = api.get("job_templates/%s/credentials/" % jt["id"])[1]
    assert [c["name"] for c in listed["results"]] == ["c1"]
    assert api.post("job_templates/%s/credentials/" % jt["id"], {"id": first["id"], "disassociate": True})[0] == 204
    assert api.get("job_templates/%s/credentials/" % jt["id"])[1]["count"] == 0


def test_inventory_source_from_the_project(api, project, inventory, maas_type, org):
    credential = api.create("credentials/", {"name": "inv", "organization": org["id"], "credential_type": maas_type["id"],
                                             "inputs": {"maas_url": "http://a", "maas_api_key": "k"}})
    base = {"name": "src", "inventory": inventory["id"], "source": "scm", "credential": credential["id"]}
    assert api.post("inventory_sources/", base)[1] == {"source_project": ["Project required for scm type sources."]}
    status, error = api.post("inventory_sources/", dict(base, source_project=project["id"], source_path="nope.yml"))
    assert status == 400 and "not found" in error["source_path"][0]
    source = api.create("inventory_sources/", dict(base, source_project=project["id"],
                                                   source_path="inventory/maas.yml", update_on_launch=True))
    assert source["summary_fields"]["source_project"]["name"] == "Gough"
    # AWX lists only INI-like and executable files as inventory files, never .yml ones
    assert api.get("projects/%s/inventories/" % project["id"])[1] == []
    assert api.get("inventories/%s/" % inventory["id"])[1]["has_inventory_sources"] is True
    ujt = api.get("unified_job_templates/?name=src&organization=%s" % org["id"])[1]
    assert ujt["count"] == 1 and ujt["results"][0]["type"] == "inventory_source"


@pytest.mark.parametrize("rule, text", [
    ("RRULE:FREQ=DAILY;INTERVAL=1", "DTSTART required"),
    ("DTSTART:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1", "naive datetime"),
    ("DTSTART;TZID=Mars/Olympus:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1", "TZID"),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY", "INTERVAL required"),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=3;UNTIL=20310101T000000Z", "COUNT and UNTIL"),
    ("DTSTART:20300101T000000Z RRULE:FREQ=SECONDLY;INTERVAL=1", "SECONDLY"),
    ("DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=1MO", "numeric prefix"),
    ("DTSTART:20300101T000000Z DTSTART:20300102T000000Z RRULE:FREQ=DAILY;INTERVAL=1", "Multiple DTSTART"),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=1000", "COUNT > 999"),
])
def test_schedule_rules_are_validated(api, template, rule, text):
    """AWX's SchedulePreviewSerializer.validate_rrule refusals (texts checked in detail in test_awx_schedules)."""
    status, error = api.post("schedules/", {"name": "s", "unified_job_template": template["id"], "rrule": rule})
    assert status == 400 and list(error) == ["rrule"] and text in error["rrule"][0], error


def test_valid_schedule_and_prompt_checks(api, template):
    schedule = api.create("schedules/", {"name": "nightly", "unified_job_template": template["id"],
                                         "rrule": "DTSTART;TZID=Europe/Berlin:20300101T023000 "
                                                  "RRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,FR"})
    # AWX's dtstart is the first run in UTC
    assert schedule["timezone"] == "Europe/Berlin" and schedule["dtstart"] == "2030-01-01T01:30:00Z"
    assert schedule["summary_fields"]["unified_job_template"]["unified_job_type"] == "job"
    status, error = api.post("schedules/", {"name": "vars", "unified_job_template": template["id"],
                                            "rrule": "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1",
                                            "extra_data": {"undeclared": 1}})
    assert status == 400 and "undeclared" in error["extra_data"][0]
    allowed = {"name": "survey vars", "unified_job_template": template["id"],
               "rrule": "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1", "extra_data": {"count": 3}}
    assert api.post("schedules/", allowed)[0] == 201


def test_role_grants_to_teams(api, org, template):
    team = api.create("teams/", {"name": "operators", "organization": org["id"]})
    roles = template["summary_fields"]["object_roles"]
    assert set(roles) == {"admin_role", "execute_role", "read_role"}
    execute = roles["execute_role"]["id"]
    assert api.post("roles/%s/teams/" % execute, {"id": team["id"]})[0] == 204
    assert api.post("roles/%s/teams/" % execute, {"id": team["id"]})[0] == 204
    members = api.get("roles/%s/teams/" % execute)[1]
    assert [t["name"] for t in members["results"]] == ["operators"]
    granted = api.get("teams/%s/roles/" % team["id"])[1]["results"]
    assert [(r["name"], r["summary_fields"]["resource_name"]) for r in granted] == [("Execute", "Provision")]
    assert api.post("roles/%s/teams/" % execute, {"id": 99999})[0] == 400
    other_org = api.create("organizations/", {"name": "Other"})
    outsider = api.create("teams/", {"name": "outsiders", "organization": other_org["id"]})
    credential = api.get("credentials/?name=m")[1]["results"][0]
    use = credential["summary_fields"]["object_roles"]["use_role"]["id"]
    status, error = api.post("roles/%s/teams/" % use, {"id": outsider["id"]})
    assert status == 400 and error == {"msg": "You cannot grant credential access to a team when the Organization "
                                              "field isn't set, or belongs to a different organization"}
    assert api.post("roles/%s/teams/" % execute, {"id": team["id"], "disassociate": True})[0] == 204
    assert api.get("teams/%s/roles/" % team["id"])[1]["count"] == 0


def test_workflow_nodes_edges_and_cycles(api, org, template):
    workflow = api.create("workflow_job_templates/", {"name": "wf", "organization": org["id"]})
    other = api.create("workflow_job_templates/", {"name": "wf2", "organization": org["id"]})
    nodes = {name: api.create("workflow_job_template_nodes/", {"workflow_job_template": workflow["id"],
                                                               "identifier": name,
                                                               "unified_job_template": template["id"]})
             for name in ("a", "b", "c")}
    stranger = api.create("workflow_job_template_nodes/", {"workflow_job_template": other["id"], "identifier": "a",
                                                           "unified_job_template": template["id"]})
    assert api.post("workflow_job_template_nodes/", {"workflow_job_template": workflow["id"], "identifier": "a"})[0] == 400
    url = "workflow_job_template_nodes/%s/%s/"
    assert api.post(url % (nodes["a"]["id"], "success_nodes"), {"id": nodes["b"]["id"]})[0] == 204
    assert api.post(url % (nodes["b"]["id"], "failure_nodes"), {"id": nodes["c"]["id"]})[0] == 204
    assert api.post(url % (nodes["c"]["id"], "always_nodes"), {"id": nodes["a"]["id"]}) == (400, {"Error": "Cycle detected."})
    assert api.post(url % (nodes["a"]["id"], "success_nodes"), {"id": stranger["id"]})[0] == 400
    assert api.post(url % (nodes["a"]["id"], "failure_nodes"), {"id": nodes["b"]["id"]})[0] == 400
    listed = api.get("workflow_job_templates/%s/workflow_nodes/" % workflow["id"])[1]
    assert sorted(n["identifier"] for n in listed["results"]) == ["a", "b", "c"]
    found = api.get("workflow_job_template_nodes/?identifier=a&workflow_job_template=%s" % workflow["id"])[1]
    assert found["count"] == 1 and found["results"][0]["id"] == nodes["a"]["id"]


def test_webhook_notification_configuration(api, org):
    base = {"name": "hook", "organization": org["id"], "notification_type": "webhook"}
    status, error = api.post("notification_templates/", dict(base, notification_configuration={"url": "http://x"}))
    assert status == 400 and error == {
        "non_field_errors": ["Missing required fields for Notification Configuration: ['headers']."]}
    hook = api.create("notification_templates/", dict(base, notification_configuration={
        "url": "https://hooks.example/x", "http_method": "POST", "headers": {}, "password": "s3cret"}))
    assert hook["notification_configuration"]["password"] == "$encrypted$"


def test_writes_are_counted(emulator, api, org):
    emulator.reset_stats()
    api.get("organizations/")
    api.patch("organizations/%s/" % org["id"], {"description": "changed"})
    stats = emulator.stats()
    assert stats["writes"] == 1 and stats["writes_by_path"] == {"PATCH /api/v2/organizations/%s/" % org["id"]: 1}


def test_gough_lab_command_line_registers_awx_serve():
    from gough_lab.cli import build_parser  # pylint: disable=import-outside-toplevel

    args = build_parser().parse_args(["awx", "serve", "--listen", "127.0.0.1:0", "--state", "/tmp/x"])
    assert (args.service, args.command, args.listen, args.state) == ("awx", "serve", ("127.0.0.1", 0), "/tmp/x")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["awx", "serve", "--listen", "nope", "--state", "/tmp/x"])


def test_delete_cascades_to_nodes_schedules_and_grants(api, org, project, inventory):
    template = api.create("job_templates/", {"name": "doomed", "project": project["id"], "inventory": inventory["id"],
                                             "playbook": "playbooks/provision.yml"})
    workflow = api.create("workflow_job_templates/", {"name": "doomed wf", "organization": org["id"]})
    node = api.create("workflow_job_template_nodes/", {"workflow_job_template": workflow["id"], "identifier": "x",
                                                       "unified_job_template": template["id"]})
    schedule = api.create("schedules/", {"name": "doomed", "unified_job_template": template["id"],
                                         "rrule": "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1"})
    team = api.create("teams/", {"name": "doomed team", "organization": org["id"]})
    execute = template["summary_fields"]["object_roles"]["execute_role"]["id"]
    assert api.post("roles/%s/teams/" % execute, {"id": team["id"]})[0] == 204
    assert api.call("DELETE", "job_templates/%s/" % template["id"])[0] == 204
    assert api.get("schedules/%s/" % schedule["id"])[0] == 404
    assert api.get("roles/%s/" % execute)[0] == 404
    assert api.get("workflow_job_template_nodes/%s/" % node["id"])[1]["unified_job_template"] is None
    assert api.call("DELETE", "workflow_job_templates/%s/" % workflow["id"])[0] == 204
    assert api.get("workflow_job_template_nodes/%s/" % node["id"])[0] == 404
    assert api.get("teams/%s/roles/" % team["id"])[1]["count"] == 0
    assert api.call("DELETE", "teams/%s/" % team["id"])[0] == 204
