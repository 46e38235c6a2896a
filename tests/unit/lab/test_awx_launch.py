"""AWX emulator launches and provisioning callbacks: surveys checked as AWX 24.6.1 checks them
(variables_needed_to_start, types, min/max, choices), prompts applied or ignored, a job recorded and its id
returned; callbacks need the host config key and exactly one matching host of the template's inventory."""

import json
import shutil

import pytest

from gough_lab.awx.testing import AWXClient, git_repository, start_awx_emulator

SURVEY = {"name": "Provision", "description": "", "spec": [
    {"question_name": "Count", "variable": "count", "type": "integer", "min": 1, "max": 10, "default": 2,
     "required": True},
    {"question_name": "Set", "variable": "set_name", "type": "text", "min": 3, "max": 8, "default": "gough",
     "required": True},
    {"question_name": "Series", "variable": "series", "type": "multiplechoice", "choices": ["noble", "jammy"],
     "default": "noble", "required": True},
    {"question_name": "Tags", "variable": "tags", "type": "multiselect", "choices": ["a", "b"], "required": False},
    {"question_name": "Ratio", "variable": "ratio", "type": "float", "min": 0.5, "max": 1.5, "required": False},
    {"question_name": "Zone", "variable": "zone", "type": "text", "default": "", "required": False},
    {"question_name": "Secret", "variable": "secret", "type": "password", "default": "hunter2",
     "required": False}]}
ANSWERS = {"count": 3, "set_name": "batch", "series": "jammy"}


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    checkout = tmp_path_factory.mktemp("checkout")
    (checkout / "site.yml").write_text("---\n- name: Site\n  hosts: all\n  tasks: []\n")
    git_repository(checkout)
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    api = emulator.client()
    org = api.create("organizations/", {"name": "Lab"})
    emulator.org = org
    emulator.project = api.create("projects/", {"name": "P", "organization": org["id"], "scm_type": "git",
                                                "scm_url": "file://%s" % checkout})
    emulator.inv = api.create("inventories/", {"name": "MAAS", "organization": org["id"]})
    emulator.other_inv = api.create("inventories/", {"name": "Other", "organization": org["id"]})
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    return awx.client()


def template(api, awx, name, survey=None, **fields):
    body = dict({"name": name, "project": awx.project["id"], "inventory": awx.inv["id"], "playbook": "site.yml",
                 "extra_vars": json.dumps({"base": 1})}, **fields)
    if survey is not None:
        body["survey_enabled"] = True
    jt = api.create("job_templates/", body)
    if survey is not None:
        assert api.post("job_templates/%s/survey_spec/" % jt["id"], survey)[0] == 200
    return jt


@pytest.fixture(scope="module")
def surveyed(api, awx):
    return template(api, awx, "Provision", SURVEY, ask_limit_on_launch=True)


def launch(api, jt, body=None):
    return api.post("job_templates/%s/launch/" % jt["id"], body or {})


def test_required_questions_are_needed_at_launch_even_with_defaults(api, surveyed):
    """SurveyJobTemplateMixin: a required question must be answered at launch, default or not."""
    status, error = launch(api, surveyed)
    assert status == 400 and error == {"variables_needed_to_start": [
        "'count' value missing", "'set_name' value missing", "'series' value missing"]}


def test_launch_get_shows_what_is_needed(api, surveyed):
    """GET /launch/: variables_needed_to_start lists the required questions; prompts and defaults are shown."""
    status, info = api.get("job_templates/%s/launch/" % surveyed["id"])
    assert status == 200
    assert info["variables_needed_to_start"] == ["count", "set_name", "series"]
    assert info["can_start_without_user_input"] is False and info["survey_enabled"] is True
    assert info["ask_limit_on_launch"] is True and info["ask_inventory_on_launch"] is False
    assert info["defaults"]["inventory"] == {"name": "MAAS", "id": surveyed["inventory"]}
    assert info["job_template_data"]["name"] == "Provision" and info["inventory_needed_to_start"] is False


@pytest.mark.parametrize("answers, message", [
    ({"count": "3"}, "Value 3 for 'count' expected to be an integer."),
    ({"count": True}, "Value True for 'count' expected to be an integer."),
    ({"count": 0}, "'count' value 0 is too small (must be at least 1)."),
    ({"count": 11}, "'count' value 11 is too large (must be no more than 10)."),
    ({"set_name": "ab"}, "'set_name' value ab is too small (length is 2 must be at least 3)."),
    ({"set_name": "abcdefghi"}, "'set_name' value abcdefghi is too large (must be no more than 8)."),
    ({"set_name": 5}, "Value 5 for 'set_name' expected to be a string."),
    ({"series": "focal"}, "Value focal for 'series' expected to be one of ['noble', 'jammy']."),
    ({"tags": "a"}, "'tags' value is expected to be a list."),
    ({"tags": ["a", "c"]}, "Value c for 'tags' expected to be one of ['a', 'b']."),
    ({"ratio": "x"}, "Value x for 'ratio' expected to be a numeric type."),
    ({"ratio": 2}, "'ratio' value 2 is too large (must be no more than 1.5)."),
])
def test_survey_answers_are_checked_with_awx_messages(api, surveyed, answers, message):
    """_survey_element_validation: types, min/max (length for text), choices; the launch is refused."""
    status, error = launch(api, surveyed, {"extra_vars": dict(ANSWERS, **answers)})
    assert status == 400 and error == {"variables_needed_to_start": [message]}


def test_launch_returns_the_job_and_applies_survey_defaults_and_answers(awx, api, surveyed):
    """201 with job and id; extra_vars = template vars, then valid survey defaults, then answers; survey
    passwords show as $encrypted$; unprompted fields and variables are ignored, not refused (manual launch)."""
    status, job = launch(api, surveyed, {"extra_vars": dict(ANSWERS, undeclared=1), "limit": "node1",
                                         "job_tags": "only"})
    assert status == 201 and job["job"] == job["id"] and job["type"] == "job" and job["status"] == "pending"
    assert job["ignored_fields"] == {"job_tags": "only", "extra_vars": {"undeclared": 1}}
    assert json.loads(job["extra_vars"]) == {"base": 1, "count": 3, "set_name": "batch", "series": "jammy",
                                             "zone": "", "secret": "$encrypted$"}
    assert job["limit"] == "node1" and job["job_template"] == surveyed["id"] and job["launch_type"] == "manual"
    assert api.get("jobs/%s/" % job["id"])[1]["url"] == "/api/v2/jobs/%s/" % job["id"]
    recorded = [j for j in awx.jobs() if j["id"] == job["id"]]
    assert recorded and recorded[0]["limit"] == "node1"


def test_prompts_are_applied_only_when_the_template_asks(api, awx):
    """ask_*_on_launch: asked fields reach the job; the same value as the template's counts as neither."""
    jt = template(api, awx, "Prompts", ask_inventory_on_launch=True, ask_variables_on_launch=True,
                  ask_verbosity_on_launch=True)
    status, job = launch(api, jt, {"inventory": awx.other_inv["id"], "verbosity": 3, "extra_vars": {"x": 1},
                                   "diff_mode": True, "limit": ""})
    assert status == 201 and job["inventory"] == awx.other_inv["id"] and job["verbosity"] == 3
    assert json.loads(job["extra_vars"]) == {"base": 1, "x": 1}
    assert job["ignored_fields"] == {"diff_mode": True}
    assert launch(api, jt, {"inventory": 999999})[1] == {"inventory": ['Invalid pk "999999" - object does not exist.']}
    assert launch(api, jt, {"verbosity": 9})[1] == {"verbosity": ['"9" is not a valid choice.']}


def test_template_without_inventory_needs_one_at_launch(api, awx):
    """resources_needed_to_start: a prompted inventory must be given."""
    jt = api.create("job_templates/", {"name": "No inventory", "project": awx.project["id"], "playbook": "site.yml",
                                       "ask_inventory_on_launch": True})
    assert launch(api, jt) == (400, {"resources_needed_to_start": ["Job Template inventory is missing or undefined."]})
    assert launch(api, jt, {"inventory": awx.inv["id"]})[0] == 201


def test_workflow_launch_refuses_what_it_does_not_ask(api, awx):
    """WorkflowJobLaunchSerializer: unprompted fields and variables are errors, survey rules as for jobs."""
    wf = api.create("workflow_job_templates/", {"name": "Flow", "organization": awx.org["id"],
                                                "survey_enabled": True, "ask_limit_on_launch": True})
    assert api.post("workflow_job_templates/%s/survey_spec/" % wf["id"], SURVEY)[0] == 200
    path = "workflow_job_templates/%s/launch/" % wf["id"]
    status, error = api.post(path, {"extra_vars": dict(ANSWERS, extra=1), "inventory": awx.inv["id"]})
    assert status == 400 and error == {
        "extra_vars": ["Variables extra are not allowed on launch. Check the Prompt on Launch setting on the "
                       "Workflow Job Template to include Extra Variables."],
        "inventory": "Field is not configured to prompt on launch."}
    assert api.post(path, {})[1] == {"variables_needed_to_start": [
        "'count' value missing", "'set_name' value missing", "'series' value missing"]}
    status, job = api.post(path, {"extra_vars": ANSWERS, "limit": "node2"})
    assert status == 201 and job["workflow_job"] == job["id"] and job["type"] == "workflow_job"
    assert job["limit"] == "node2" and api.get("workflow_jobs/%s/" % job["id"])[0] == 200
    assert api.get(path)[1]["variables_needed_to_start"] == ["count", "set_name", "series"]


def test_failed_project_blocks_the_launch(api, awx, tmp_path):
    """JobLaunchSerializer: a project whose last update failed has no revision to run."""
    good = tmp_path / "repo"
    good.mkdir()
    (good / "site.yml").write_text("- hosts: all\n")
    git_repository(good)
    project = api.create("projects/", {"name": "flaky", "organization": awx.org["id"], "scm_type": "git",
                                       "scm_url": "file://%s" % good})
    jt = api.create("job_templates/", {"name": "On flaky", "project": project["id"], "inventory": awx.inv["id"],
                                       "playbook": "site.yml"})
    shutil.rmtree(good)
    assert api.post("projects/%s/update/" % project["id"])[1]["status"] == "failed"
    assert launch(api, jt) == (400, {"playbook": "Missing a revision to run due to failed project update."})


# --- provisioning callback -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def callback_jt(api, awx):
    api.create("hosts/", {"name": "node-1", "inventory": awx.inv["id"],
                          "variables": json.dumps({"ansible_host": "127.0.0.1"})})
    api.create("hosts/", {"name": "node-2", "inventory": awx.inv["id"],
                          "variables": json.dumps({"ansible_host": "10.9.9.9"})})
    return template(api, awx, "Agent", host_config_key="callback-key-1")


def test_callback_with_the_right_key_runs_the_template_for_the_calling_host(awx, callback_jt):
    """JobTemplateCallback: no login, the key, the caller's address matches one host -> 201 and a job limited
    to that host; the callback is recorded."""
    anonymous = AWXClient(awx.url)
    status, body = anonymous.post("job_templates/%s/callback/" % callback_jt["id"],
                                  {"host_config_key": "callback-key-1"})
    assert status == 201 and body is None
    record = awx.callbacks()[-1]
    assert record["host"] == "node-1" and record["status"] == 201 and record["remote_host"] == "127.0.0.1"
    job = [j for j in awx.jobs() if j["id"] == record["job"]][0]
    assert job["limit"] == "node-1" and job["launch_type"] == "callback" and job["template"] == callback_jt["id"]
    # one pending job per host
    assert anonymous.post("job_templates/%s/callback/" % callback_jt["id"], {"host_config_key": "callback-key-1"}) \
        == (400, {"msg": "Host callback job already pending."})
    assert awx.set_job_status(record["job"], "successful")["status"] == "successful"
    assert anonymous.post("job_templates/%s/callback/" % callback_jt["id"],
                          {"host_config_key": "callback-key-1"})[0] == 201


def test_callback_accepts_a_form_body_as_curl_sends_it(awx, callback_jt):
    """JobTemplateCallback parses forms too (curl --data host_config_key=...): a wrong key in a form is 403, the
    right one gets past the key check."""
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    def post_form(data):
        request = urllib.request.Request(awx.url + "/api/v2/job_templates/%s/callback/" % callback_jt["id"],
                                         data=data.encode(), method="POST",
                                         headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    for job in awx.jobs():
        if job["status"] == "pending":
            awx.set_job_status(job["id"], "successful")
    assert post_form("host_config_key=nope") == 403
    assert post_form("host_config_key=callback-key-1") == 201
    assert awx.callbacks()[-1]["host"] == "node-1" and awx.callbacks()[-1]["job"] is not None


def test_callback_with_a_wrong_or_missing_key_is_refused_and_runs_nothing(awx, callback_jt):
    """JobTemplateCallbackPermission: a wrong or missing key is 403; no job is created."""
    anonymous = AWXClient(awx.url)
    jobs = len(awx.jobs())
    for body in ({"host_config_key": "wrong"}, {}):
        assert anonymous.post("job_templates/%s/callback/" % callback_jt["id"], body) == (
            403, {"detail": "You do not have permission to perform this action."})
    assert len(awx.jobs()) == jobs and awx.callbacks()[-1]["job"] is None


def test_callback_from_a_host_not_in_the_inventory_is_refused(api, awx):
    """No host of the inventory has the caller's address: AWX's "No matching host could be found!"."""
    inventory = api.create("inventories/", {"name": "Elsewhere", "organization": awx.org["id"]})
    api.create("hosts/", {"name": "far", "inventory": inventory["id"], "variables": "ansible_host: 10.1.1.1"})
    jt = api.create("job_templates/", {"name": "Far", "project": awx.project["id"], "inventory": inventory["id"],
                                       "playbook": "site.yml", "host_config_key": "k-far"})
    jobs = len(awx.jobs())
    assert AWXClient(awx.url).post("job_templates/%s/callback/" % jt["id"], {"host_config_key": "k-far"}) == (
        400, {"msg": "No matching host could be found!"})
    assert len(awx.jobs()) == jobs


def test_callback_get_shows_matching_hosts_to_logged_in_users(api, awx, callback_jt):
    """GET /callback/ (authenticated): the key and the hosts matching the caller."""
    assert api.get("job_templates/%s/callback/" % callback_jt["id"]) == (
        200, {"host_config_key": "callback-key-1", "matching_hosts": ["node-1"]})
    assert AWXClient(awx.url).get("job_templates/%s/callback/" % callback_jt["id"])[0] == 401


def test_callback_of_a_template_that_needs_answers_is_refused(api, awx, callback_jt):
    """can_start_without_user_input: required survey answers must come with the callback."""
    jt = template(api, awx, "Agent with survey", {"name": "s", "description": "", "spec": [
        {"question_name": "Q", "variable": "q", "type": "text", "required": True, "default": "x"}]},
        host_config_key="k-survey")
    anonymous = AWXClient(awx.url)
    assert anonymous.post("job_templates/%s/callback/" % jt["id"], {"host_config_key": "k-survey"}) == (
        400, {"msg": "Cannot start automatically, user input required!"})
    answered = {"host_config_key": "k-survey", "extra_vars": {"q": "y"}}
    assert anonymous.post("job_templates/%s/callback/" % jt["id"], answered)[0] == 201


def test_callback_of_a_template_that_prompts_on_launch_needs_extra_vars_in_json(api, awx, callback_jt):
    """JobTemplateCallback reads extra_vars from a JSON body only; without them (a form, or JSON without the key)
    can_start_without_user_input counts every ask_*_on_launch flag as input needed. JSON with extra_vars (even {})
    skips that check."""
    import urllib.error  # pylint: disable=import-outside-toplevel
    import urllib.request  # pylint: disable=import-outside-toplevel

    jt = template(api, awx, "Agent prompting", host_config_key="k-prompt", ask_limit_on_launch=True)
    url = awx.url + "/api/v2/job_templates/%s/callback/" % jt["id"]
    refused = (400, {"msg": "Cannot start automatically, user input required!"})
    jobs = len(awx.jobs())
    request = urllib.request.Request(url, data=b"host_config_key=k-prompt", method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    with pytest.raises(urllib.error.HTTPError) as form:
        urllib.request.urlopen(request, timeout=30)  # pylint: disable=consider-using-with
    assert (form.value.code, json.loads(form.value.read())) == refused
    anonymous = AWXClient(awx.url)
    assert anonymous.post("job_templates/%s/callback/" % jt["id"], {"host_config_key": "k-prompt"}) == refused
    assert len(awx.jobs()) == jobs
    assert anonymous.post("job_templates/%s/callback/" % jt["id"],
                          {"host_config_key": "k-prompt", "extra_vars": {}})[0] == 201
    assert awx.jobs()[-1]["limit"] == "node-1"


def test_prompted_inventory_must_be_one_the_user_may_use(api, awx):
    """JobLaunchConfigAccess: executing a template is not enough to point it at an inventory one cannot use."""
    jt = template(api, awx, "Prompted inventory", ask_inventory_on_launch=True)
    user = api.create("users/", {"username": "runner", "password": "runner-pw-1"})
    execute = jt["summary_fields"]["object_roles"]["execute_role"]["id"]
    assert api.post("roles/%s/users/" % execute, {"id": user["id"]})[0] == 204
    runner = AWXClient.basic(awx.url, "runner", "runner-pw-1")
    assert launch(runner, jt, {"inventory": awx.other_inv["id"]}) == (
        403, {"detail": "You do not have permission to perform this action."})
    use = awx.other_inv["summary_fields"]["object_roles"]["use_role"]["id"]
    assert api.post("roles/%s/users/" % use, {"id": user["id"]})[0] == 204
    assert launch(runner, jt, {"inventory": awx.other_inv["id"]})[0] == 201


def test_callback_behind_a_proxy_reads_the_address_from_remote_host_headers(tmp_path):
    """AWX's REMOTE_HOST_HEADERS: with X-Forwarded-For listed, a proxied callback matches the forwarded address;
    with the default (REMOTE_ADDR only) the same request matches the proxy, that is no host."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "site.yml").write_text("- hosts: all\n")
    git_repository(checkout)
    for headers, expected in ((["X-Forwarded-For", "REMOTE_ADDR"], 201), ([], 400)):
        emulator = start_awx_emulator(tmp_path / ("state-%d" % expected), remote_host_headers=headers)
        try:
            api = emulator.client()
            org = api.create("organizations/", {"name": "O"})
            inventory = api.create("inventories/", {"name": "I", "organization": org["id"]})
            api.create("hosts/", {"name": "10.20.30.40", "inventory": inventory["id"]})
            project = api.create("projects/", {"name": "P", "organization": org["id"], "scm_type": "git",
                                               "scm_url": "file://%s" % checkout})
            jt = api.create("job_templates/", {"name": "T", "project": project["id"], "inventory": inventory["id"],
                                               "playbook": "site.yml", "host_config_key": "k"})
            status, _body = AWXClient(emulator.url).call("POST", "job_templates/%s/callback/" % jt["id"],
                                                         {"host_config_key": "k"},
                                                         headers={"X-Forwarded-For": "10.20.30.40"})
            assert status == expected, headers
            record = emulator.callbacks()[-1]
            assert record["remote_hosts"] == (["10.20.30.40", "127.0.0.1"] if headers else ["127.0.0.1"])
        finally:
            emulator.stop()


def test_runner_args_inject_credentials_as_awx_runs_a_callback_job(api, awx, callback_jt, tmp_path):
    """RunJob: the job's playbook and limit, the inventory's hosts with their variables, the credentials' file
    injectors written as 0600 files named by tower.filename, env and extra_vars injectors rendered with the inputs,
    a Machine credential's key and user."""
    import os  # pylint: disable=import-outside-toplevel

    ctype = api.create("credential_types/", {"name": "Runner CA", "kind": "cloud", "inputs": {"fields": [
        {"id": "ca", "label": "CA", "type": "string", "secret": True}, {"id": "url", "label": "URL", "type": "string"}]},
        "injectors": {"file": {"template.ca": "{{ ca }}"}, "env": {"RUNNER_URL": "{{ url }}"},
                      "extra_vars": {"runner_ca": "{{ tower.filename.ca }}"}}})
    ca = api.create("credentials/", {"name": "runner-ca", "organization": awx.org["id"], "credential_type": ctype["id"],
                                     "inputs": {"ca": "PEM-TEXT", "url": "https://x.example"}})
    machine_type = api.one("credential_types", "Machine")
    ssh = api.create("credentials/", {"name": "runner-ssh", "organization": awx.org["id"],
                                      "credential_type": machine_type["id"],
                                      "inputs": {"username": "ops", "ssh_key_data": "KEY-TEXT"}})
    jt = template(api, awx, "Runner", host_config_key="k-runner")
    for credential in (ca, ssh):
        assert api.post("job_templates/%s/credentials/" % jt["id"], {"id": credential["id"]})[0] == 204
    for job in awx.jobs():
        if job["status"] == "pending":
            awx.set_job_status(job["id"], "successful")
    assert AWXClient(awx.url).post("job_templates/%s/callback/" % jt["id"], {"host_config_key": "k-runner"})[0] == 201
    args = awx.runner_args(awx.callbacks()[-1]["job"], str(tmp_path / "job"))
    assert (args["playbook"], args["limit"]) == ("site.yml", "node-1")
    assert args["inventory"]["all"]["hosts"]["node-1"] == {"ansible_host": "127.0.0.1"}
    assert args["ssh_key"] == "KEY-TEXT" and args["cmdline"] == "-u ops"
    assert args["envvars"] == {"RUNNER_URL": "https://x.example"}
    path = args["extravars"]["runner_ca"]
    assert args["extravars"]["base"] == 1 and path.startswith(str(tmp_path / "job"))
    assert open(path, encoding="utf-8").read() == "PEM-TEXT" and oct(os.stat(path).st_mode & 0o777) == "0o600"
