"""AWX emulator schedules and notification templates: rrule refusals with AWX 24.6.1's texts (SchedulePreview-
Serializer.validate_rrule and Schedule.rrulestr), UNTIL coercion, and the configuration defaults AWX stores."""

import pytest

from gough_lab.awx.testing import git_repository, start_awx_emulator

GOOD = "DTSTART:20300101T023000Z RRULE:FREQ=DAILY;INTERVAL=1"


@pytest.fixture(scope="module")
def awx(tmp_path_factory):
    checkout = tmp_path_factory.mktemp("checkout")
    (checkout / "site.yml").write_text("- hosts: all\n")
    git_repository(checkout)
    emulator = start_awx_emulator(tmp_path_factory.mktemp("awx") / "state")
    api = emulator.client()
    emulator.org = api.create("organizations/", {"name": "Lab"})
    project = api.create("projects/", {"name": "P", "organization": emulator.org["id"], "scm_type": "git",
                                       "scm_url": "file://%s" % checkout})
    inventory = api.create("inventories/", {"name": "I", "organization": emulator.org["id"]})
    emulator.jt = api.create("job_templates/", {"name": "T", "project": project["id"], "inventory": inventory["id"],
                                                "playbook": "site.yml"})
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture(scope="module")
def api(awx):
    return awx.client()


def schedule(api, awx, rule, name="s"):
    return api.post("schedules/", {"name": name, "unified_job_template": awx.jt["id"], "rrule": rule})


@pytest.mark.parametrize("rule, messages", [
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=5;UNTIL=20300201T000000Z",
     ["RRULE may not contain both COUNT and UNTIL: RULE:FREQ=DAILY;INTERVAL=1;COUNT=5;UNTIL=20300201T000000Z"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;COUNT=5",
     ["INTERVAL required in rrule: RULE:FREQ=DAILY;COUNT=5"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=SECONDLY;INTERVAL=1",
     ["SECONDLY is not supported: RULE:FREQ=SECONDLY;INTERVAL=1"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=2MO",
     ["BYDAY with numeric prefix not supported: RULE:FREQ=MONTHLY;INTERVAL=1;BYDAY=2MO"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=1000",
     ["COUNT > 999 is unsupported: RULE:FREQ=DAILY;INTERVAL=1;COUNT=1000"]),
    ("RRULE:FREQ=DAILY;INTERVAL=1",
     ["Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ",
      "rrule parsing failed validation: A valid TZID must be provided (e.g., America/New_York)"]),
    ("DTSTART:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1",
     ["DTSTART cannot be a naive datetime.  Specify ;TZINFO= or YYYYMMDDTHHMMSSZZ.",
      "rrule parsing failed validation: A valid TZID must be provided (e.g., America/New_York)"]),
    ("DTSTART;TZID=Mars/Olympus:20300101T000000 RRULE:FREQ=DAILY;INTERVAL=1",
     ["rrule parsing failed validation: A valid TZID must be provided (e.g., America/New_York)"]),
    ("DTSTART:20300101T000000Z DTSTART:20300102T000000Z RRULE:FREQ=DAILY;INTERVAL=1",
     ["Multiple DTSTART is not supported."]),
    ("DTSTART:20300101T000000Z", ["One or more rule required in rrule."]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=FORTNIGHTLY;INTERVAL=1",
     ["rrule parsing failed validation: invalid 'FREQ': FORTNIGHTLY"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;BYDAY=XX",
     ["rrule parsing failed validation: invalid 'BYDAY': XX"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COLOUR=RED",
     ["rrule parsing failed validation: unknown parameter 'COLOUR'"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;BYHOUR=24",
     ["rrule parsing failed validation: hour must be in 0..23"]),
    ("DTSTART:20300101T000000Z RRULE:INTERVAL=1", ["rrule parsing failed validation: rrule.__init__() missing 1 "
                                                   "required positional argument: 'freq'"]),
    ("DTSTART;TZID=Europe/Berlin:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1",
     ["rrule parsing failed validation: DTSTART/EXDATE specifies multiple timezone"]),
    ("DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1 EXDATE:20300105T000000Z",
     ["EXDATE not allowed in rrule."]),
])
def test_rrules_awx_refuses_are_refused_with_its_texts(api, awx, rule, messages):
    """Every message AWX collects for the rule, in its order, under rrule (errors end with ': RULE:...')."""
    assert schedule(api, awx, rule) == (400, {"rrule": messages})


def test_naive_until_is_read_in_the_start_zone_and_stored_in_utc(api, awx):
    """Schedule.coerce_naive_until: AWX accepts UNTIL without Z and rewrites it in UTC; until shows local time."""
    status, created = schedule(api, awx, "DTSTART;TZID=America/New_York:20300601T120000 "
                                         "RRULE:FREQ=HOURLY;INTERVAL=1;UNTIL=20300601T170000", name="coerced")
    assert status == 201
    assert created["rrule"] == ("DTSTART;TZID=America/New_York:20300601T120000 "
                                "RRULE:FREQ=HOURLY;INTERVAL=1;UNTIL=20300601T210000Z")
    assert created["until"] == "2030-06-01T17:00:00" and created["timezone"] == "America/New_York"
    assert created["dtstart"] == "2030-06-01T16:00:00Z"


def test_valid_rules_are_accepted(api, awx):
    """Rules AWX takes: UTC or TZID starts, BYDAY lists, EXRULE, COUNT alone, UNTIL alone."""
    for number, rule in enumerate((GOOD, "DTSTART;TZID=Europe/Berlin:20300101T023000 RRULE:FREQ=WEEKLY;INTERVAL=1;"
                                         "BYDAY=MO,FR", "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1;COUNT=3",
                                   "DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1 "
                                   "EXRULE:FREQ=WEEKLY;INTERVAL=1;BYDAY=SU")):
        assert schedule(api, awx, rule, name="ok-%d" % number)[0] == 201, rule


# --- notification templates -------------------------------------------------------------------------------------

def notification(api, awx, name, kind, config):
    body = {"name": name, "organization": awx.org["id"], "notification_type": kind,
            "notification_configuration": config}
    return api.post("notification_templates/", body)


def test_webhook_configuration_gets_awx_defaults(api, awx):
    """WebhookBackend.init_parameters: AWX stores http_method POST, disable_ssl_verification false, username ""
    and password "" when they are not given (what makes awx.awx patch a config that leaves them out)."""
    status, hook = notification(api, awx, "hook", "webhook", {"url": "https://hooks.example.invalid/x",
                                                              "headers": {"X-Team": "ops"}})
    assert status == 201
    assert hook["notification_configuration"] == {"url": "https://hooks.example.invalid/x",
                                                  "headers": {"X-Team": "ops"}, "http_method": "POST",
                                                  "disable_ssl_verification": False, "username": "", "password": ""}


def test_webhook_password_reads_back_encrypted_and_is_kept_on_update(api, awx):
    """Password fields show as $encrypted$ when set; sending $encrypted$ back keeps the stored value."""
    status, hook = notification(api, awx, "secret hook", "webhook", {"url": "https://h.invalid", "headers": {},
                                                                     "username": "u", "password": "s3cret"})
    assert status == 201 and hook["notification_configuration"]["password"] == "$encrypted$"
    status, patched = api.patch("notification_templates/%s/" % hook["id"], {"notification_configuration": dict(
        hook["notification_configuration"], url="https://h2.invalid")})
    assert status == 200 and patched["notification_configuration"]["password"] == "$encrypted$"
    assert patched["notification_configuration"]["url"] == "https://h2.invalid"


@pytest.mark.parametrize("kind, config, errors", [
    ("webhook", {"url": "https://h.invalid"}, ["Missing required fields for Notification Configuration: "
                                               "['headers']."]),
    ("webhook", {"url": "https://h.invalid", "headers": {}, "http_method": "GET"},
     ["HTTP method must be either 'POST' or 'PUT'."]),
    ("webhook", {"url": "https://h.invalid", "headers": [], "disable_ssl_verification": "no"},
     ["Configuration field 'disable_ssl_verification' incorrect type, expected bool.",
      "Configuration field 'headers' incorrect type, expected object."]),
    ("slack", {"token": "t", "channels": []}, ["No values specified for field 'channels'"]),
    ("email", {"host": "smtp", "port": "25"}, [
        "Missing required fields for Notification Configuration: ['username', 'password', 'use_tls', 'use_ssl', "
        "'sender', 'recipients'].", "Configuration field 'port' incorrect type, expected int."]),
])
def test_notification_configurations_awx_refuses(api, awx, kind, config, errors):
    """NotificationTemplateSerializer.validate: missing fields, wrong types and methods as non-field errors."""
    assert notification(api, awx, "bad", kind, config) == (400, {"non_field_errors": errors})


def test_email_configuration_gets_the_timeout_default(api, awx):
    """EmailBackend: timeout defaults to 30; unknown keys are kept, as AWX keeps them."""
    status, mail = notification(api, awx, "mail", "email", {
        "host": "smtp.invalid", "port": 25, "username": "", "password": "", "use_tls": True, "use_ssl": False,
        "sender": "gough@example.invalid", "recipients": ["ops@example.invalid"], "extra": 1})
    assert status == 201 and mail["notification_configuration"]["timeout"] == 30
    assert mail["notification_configuration"]["extra"] == 1
