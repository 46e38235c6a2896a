"""AWX's input rules that the emulator enforces: credential types, credential inputs, surveys, schedule rules.

Each checker returns nothing when the input is valid and raises Invalid with AWX's error body otherwise
(``{"field": ["message"]}``, or ``{"error": "message"}`` for surveys, as AWX answers).
"""

import re

ENCRYPTED = "$encrypted$"
FIELD_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Environment variables a credential type may not set (AWX's job environment relies on them).
ENV_BLOCKED = {"PATH", "PYTHONPATH", "VIRTUAL_ENV", "HOME", "JOB_ID", "INVENTORY_ID", "INVENTORY_SOURCE_ID",
               "INVENTORY_UPDATE_ID", "AWX_HOST", "PROJECT_REVISION", "SUPERVISOR_CONFIG_PATH",
               "ANSIBLE_INVENTORY", "ANSIBLE_CONFIG", "ANSIBLE_LIBRARY", "ANSIBLE_COLLECTIONS_PATHS",
               "ANSIBLE_CALLBACK_PLUGINS", "ANSIBLE_STDOUT_CALLBACK"}
INPUT_TYPES = ("string", "boolean")
INPUT_KEYS = {"id", "label", "type", "secret", "multiline", "format", "choices", "default", "help_text", "ask_at_runtime"}
FORMATS = ("ssh_private_key", "url")
SURVEY_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")
WEBHOOK_KEYS = {"url": str, "http_method": str, "headers": dict, "username": str, "password": str,
                "disable_ssl_verification": bool}
WEBHOOK_REQUIRED = ("url", "http_method", "headers")
NOTIFICATION_SECRETS = {"webhook": ("password",), "slack": ("token",), "email": ("password",),
                        "mattermost": (), "pagerduty": ("token",), "twilio": ("account_token",)}


class Invalid(Exception):
    """Validation failed; ``body`` is the JSON error body and ``status`` the HTTP status (400)."""

    def __init__(self, body, status=400):
        super().__init__(body)
        self.body = body
        self.status = status


def field_error(field, message):
    """An Invalid for one field."""
    return Invalid({field: [message]})


# --- credential types ---------------------------------------------------------------------------------------

def _template_names(text):
    """Variable paths a Jinja template references (``x``, ``tower.filename``, ``tower.filename.NAME``)."""
    try:
        import jinja2  # pylint: disable=import-outside-toplevel
        from jinja2 import nodes  # pylint: disable=import-outside-toplevel
    except ImportError:  # pragma: no cover - jinja2 ships with ansible-core
        return set(re.findall(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)", text))
    env = jinja2.Environment()
    try:
        tree = env.parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError("invalid template syntax: %s" % exc.message) from exc
    found = set()
    for node in tree.find_all((nodes.Name, nodes.Getattr)):
        parts = []
        current = node
        while isinstance(current, nodes.Getattr):
            parts.insert(0, current.attr)
            current = current.node
        if isinstance(current, nodes.Name) and current.ctx == "load":
            found.add(".".join([current.name] + parts))
    # Drop the prefixes of longer paths (tower and tower.filename inside tower.filename.x)
    return {name for name in found if not any(other.startswith(name + ".") for other in found)}


def credential_type(data):
    """Check a credential type's kind, inputs and injectors the way AWX does for custom types."""
    if data.get("kind") not in ("cloud", "net"):
        raise field_error("kind", "Must be 'cloud' or 'net', not %s" % data.get("kind"))
    inputs = data.get("inputs") or {}
    if not isinstance(inputs, dict):
        raise field_error("inputs", "Must be an object with 'fields' and 'required'.")
    unknown = set(inputs) - {"fields", "required"}
    if unknown:
        raise field_error("inputs", "Additional properties are not allowed (%s)." % ", ".join(sorted(unknown)))
    fields = inputs.get("fields", [])
    if not isinstance(fields, list):
        raise field_error("inputs", "'fields' must be a list.")
    ids = []
    for index, field in enumerate(fields):
        where = "inputs.fields[%d]" % index
        if not isinstance(field, dict):
            raise field_error("inputs", "%s must be an object." % where)
        for key in ("id", "label"):
            if not field.get(key):
                raise field_error("inputs", "%s: '%s' is required." % (where, key))
        extra = set(field) - INPUT_KEYS
        if extra:
            raise field_error("inputs", "%s: unknown keys %s." % (where, ", ".join(sorted(extra))))
        if not FIELD_ID.match(str(field["id"])):
            raise field_error("inputs", "%s: id %r is not a valid identifier." % (where, field["id"]))
        if field["id"] in ids:
            raise field_error("inputs", "field IDs must be unique (%s)" % field["id"])
        ids.append(field["id"])
        kind = field.get("type", "string")
        if kind not in INPUT_TYPES:
            raise field_error("inputs", "%s: type must be one of %s, not %r." % (where, ", ".join(INPUT_TYPES), kind))
        if kind == "boolean" and (field.get("secret") or field.get("multiline") or field.get("format")):
            raise field_error("inputs", "%s: a boolean field cannot be secret, multiline or formatted." % where)
        if field.get("format") and field["format"] not in FORMATS:
            raise field_error("inputs", "%s: format must be one of %s." % (where, ", ".join(FORMATS)))
        for flag in ("secret", "multiline", "ask_at_runtime"):
            if flag in field and not isinstance(field[flag], bool):
                raise field_error("inputs", "%s: %s must be a boolean." % (where, flag))
        if "choices" in field and not isinstance(field["choices"], list):
            raise field_error("inputs", "%s: choices must be a list." % where)
    required = inputs.get("required", [])
    if not isinstance(required, list):
        raise field_error("inputs", "'required' must be a list of field IDs.")
    for name in required:
        if name not in ids:
            raise field_error("inputs", "required field %r is not one of the input fields." % name)
    _injectors(data.get("injectors") or {}, ids)


def _injectors(injectors, ids):
    if not isinstance(injectors, dict):
        raise field_error("injectors", "Must be an object.")
    unknown = set(injectors) - {"env", "extra_vars", "file"}
    if unknown:
        raise field_error("injectors", "Additional properties are not allowed (%s)." % ", ".join(sorted(unknown)))
    files = set()
    for key in (injectors.get("file") or {}):
        if key == "template":
            files.add("tower.filename")
        elif key.startswith("template.") and FIELD_ID.match(key[len("template."):]):
            files.add("tower.filename." + key[len("template."):])
        else:
            raise field_error("injectors", "file injector keys are 'template' or 'template.NAME', not %r." % key)
    if "tower.filename" in files and len(files) > 1:
        raise field_error("injectors", "Must use multi-file syntax when injecting multiple files")
    allowed = set(ids) | files
    templates = []
    for section in ("env", "extra_vars", "file"):
        value = injectors.get(section)
        if value is None:
            continue
        if not isinstance(value, dict):
            raise field_error("injectors", "%s must be an object." % section)
        for key, template in _flatten(value, section):
            if section == "env":
                if not ENV_NAME.match(key):
                    raise field_error("injectors", "%r is not a valid environment variable name." % key)
                if key in ENV_BLOCKED:
                    raise field_error("injectors", "Environment variable %s may affect Ansible configuration so its "
                                                   "use is not allowed in credentials." % key)
            templates.append(("%s.%s" % (section, key), template))
    for where, template in templates:
        if not isinstance(template, str):
            raise field_error("injectors", "%s must be a string." % where)
        try:
            names = _template_names(template)
        except ValueError as exc:
            raise field_error("injectors", "%s: %s" % (where, exc)) from exc
        for name in names:
            if name not in allowed:
                raise field_error("injectors", "%s: %s uses an undefined field (%s)" % (where, template, name))


def _flatten(value, prefix):
    for key, item in value.items():
        if prefix == "extra_vars" and isinstance(item, dict):
            for sub, leaf in _flatten(item, prefix):
                yield "%s.%s" % (key, sub), leaf
        else:
            yield key, item


def secret_fields(ctype):
    """IDs of a credential type's secret input fields."""
    return {field["id"] for field in (ctype.get("inputs") or {}).get("fields", []) if field.get("secret")}


def credential_inputs(ctype, inputs, old_inputs=None):
    """Check ``inputs`` against the credential type; returns the inputs to store (``$encrypted$`` keeps the old)."""
    if not isinstance(inputs, dict):
        raise field_error("inputs", "Must be an object.")
    fields = {field["id"]: field for field in (ctype.get("inputs") or {}).get("fields", [])}
    errors = {}
    stored = {}
    for key, value in inputs.items():
        if key not in fields:
            errors[key] = ["Additional properties are not allowed (%r was unexpected)" % key]
            continue
        field = fields[key]
        if value == ENCRYPTED and field.get("secret"):
            if old_inputs is None or key not in old_inputs:
                errors[key] = ["$encrypted$ given for %s but no value is stored" % key]
                continue
            value = old_inputs[key]
        if field.get("type", "string") == "boolean":
            if not isinstance(value, bool):
                errors[key] = ["%r is not of type 'boolean'" % (value,)]
                continue
        elif not isinstance(value, str):
            errors[key] = ["%r is not of type 'string'" % (value,)]
            continue
        if field.get("choices") and value not in field["choices"]:
            errors[key] = ["%r is not one of %s" % (value, field["choices"])]
            continue
        if field.get("format") == "url" and value and not re.match(r"^https?://[^\s/]+", value):
            errors[key] = ["%r is not a valid URL" % value]
            continue
        stored[key] = value
    for key in (ctype.get("inputs") or {}).get("required", []):
        if key not in stored and key not in errors and "default" not in fields.get(key, {}):
            errors[key] = ["required for %s" % ctype.get("name")]
    if errors:
        raise Invalid({"inputs": errors})
    return stored


# --- surveys ------------------------------------------------------------------------------------------------

def survey_spec(spec):
    """Check a survey spec; raise Invalid({"error": ...}) like AWX's survey_spec endpoint."""
    def fail(message):
        raise Invalid({"error": message})

    if not isinstance(spec, dict):
        fail("Survey spec must be an object.")
    if spec == {}:
        return
    for key in ("name", "description"):
        if key not in spec:
            fail("'%s' missing from survey spec." % key)
    if not isinstance(spec.get("spec"), list):
        fail("'spec' must be a list of items.")
    if not spec["spec"]:
        fail("'spec' doesn't contain any items.")
    variables = set()
    for index, item in enumerate(spec["spec"]):
        where = "question %d" % (index + 1)
        if not isinstance(item, dict):
            fail("Survey question %d is not a json object." % index)
        for key in ("type", "question_name", "variable", "required"):
            if key not in item:
                fail("'%s' missing from survey %s." % (key, where))
        if not isinstance(item["required"], bool):
            fail("'required' of survey %s must be a boolean." % where)
        variable = item["variable"]
        if not isinstance(variable, str) or not FIELD_ID.match(variable):
            fail("'variable' %r of survey %s is not a valid variable name." % (variable, where))
        if variable in variables:
            fail("'variable' '%s' duplicated in survey %s." % (variable, where))
        variables.add(variable)
        kind = item["type"]
        if kind not in SURVEY_TYPES:
            fail("'%s' in survey %s is not one of '%s' allowed question types." % (kind, where, "', '".join(SURVEY_TYPES)))
        default = item.get("default")
        if kind in ("integer", "float"):
            number = int if kind == "integer" else (int, float)
            for bound in ("min", "max"):
                if item.get(bound) not in (None, "") and not isinstance(item[bound], number):
                    fail("'%s' of survey %s must be a number." % (bound, where))
            if default not in (None, ""):
                if not isinstance(default, number) or isinstance(default, bool):
                    fail("Default value %r in survey %s expected to be %s." % (default, where, kind))
                if item.get("min") not in (None, "") and default < item["min"]:
                    fail("Default value %r in survey %s is below min %s." % (default, where, item["min"]))
                if item.get("max") not in (None, "") and default > item["max"]:
                    fail("Default value %r in survey %s is above max %s." % (default, where, item["max"]))
        if kind in ("multiplechoice", "multiselect"):
            choices = item.get("choices")
            if isinstance(choices, str):
                choices = [line for line in choices.split("\n") if line]
            if not isinstance(choices, list) or not choices:
                fail("Survey %s of type %s needs 'choices' (a list or newline separated string)." % (where, kind))
            if len(set(choices)) != len(choices):
                fail("Survey %s has duplicate choices." % where)
            if default not in (None, ""):
                defaults = default if isinstance(default, list) else (
                    default.split("\n") if kind == "multiselect" else [default])
                for value in defaults:
                    if value not in choices:
                        fail("Default choice %r of survey %s must be one of its choices." % (value, where))
        if kind in ("text", "textarea", "password") and default not in (None, "") and not isinstance(default, str):
            fail("Default value %r in survey %s expected to be string." % (default, where))


# --- schedules ----------------------------------------------------------------------------------------------

DTSTART = re.compile(r"^DTSTART(;TZID=(?P<tz>[A-Za-z0-9_+\-/]+))?:(?P<when>\d{8}T\d{6})(?P<z>Z?)$")
RRULE_KEYS = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYHOUR", "BYMINUTE",
              "BYSECOND", "BYSETPOS", "BYWEEKNO", "BYYEARDAY", "WKST"}
FREQS = ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


def _timezone_known(name):
    try:
        import zoneinfo  # pylint: disable=import-outside-toplevel
        zoneinfo.ZoneInfo(name)
        return True
    except (ImportError, ValueError, OSError, KeyError):
        return False
    except Exception:  # pylint: disable=broad-except  # zoneinfo raises ZoneInfoNotFoundError (a KeyError) or others
        return False


def rrule(text):
    """Check a schedule rule as AWX does; returns (dtstart, timezone, until) for the schedule's read-only fields."""
    def fail(message):
        raise field_error("rrule", message)

    if not isinstance(text, str) or not text.strip():
        fail("This field may not be blank.")
    lines = [line for line in re.split(r"[\s]+", text.strip()) if line]
    starts = [line for line in lines if line.startswith("DTSTART")]
    if not starts:
        fail("Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ")
    if len(starts) > 1:
        fail("Multiple DTSTART is not supported.")
    match = DTSTART.match(starts[0])
    if not match:
        fail("Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ")
    zone = match.group("tz")
    if not zone and not match.group("z"):
        fail("A valid TZID must be provided (e.g., America/New_York)")
    if zone and match.group("z"):
        fail("DTSTART with TZID must be a local time (no trailing Z).")
    if zone and not _timezone_known(zone):
        fail("A valid TZID must be provided (e.g., America/New_York)")
    rules = [line for line in lines if not line.startswith("DTSTART")]
    if not rules:
        fail("Multiple RRULE or EXRULE lines are required: at least one RRULE.")
    until_value = None
    saw_rrule = False
    for line in rules:
        head, sep, body = line.partition(":")
        if not sep or head not in ("RRULE", "EXRULE"):
            fail("Unsupported line %r: only DTSTART, RRULE and EXRULE lines are allowed." % line)
        saw_rrule = saw_rrule or head == "RRULE"
        parts = {}
        for item in body.split(";"):
            key, eq, value = item.partition("=")
            if not eq or key not in RRULE_KEYS:
                fail("Unsupported rule part %r in %s." % (item, head))
            if key in parts:
                fail("Rule part %s given twice in %s." % (key, head))
            parts[key] = value
        if "FREQ" not in parts:
            fail("FREQ is required in %s." % head)
        if parts["FREQ"] == "SECONDLY":
            fail("SECONDLY is not supported.")
        if parts["FREQ"] not in FREQS:
            fail("FREQ must be one of %s." % ", ".join(FREQS))
        if "INTERVAL" not in parts:
            fail("INTERVAL required in rrule: %s" % line)
        if not parts["INTERVAL"].isdigit() or int(parts["INTERVAL"]) < 1:
            fail("INTERVAL must be a positive integer.")
        if "COUNT" in parts and "UNTIL" in parts:
            fail("RRULE may not contain both COUNT and UNTIL")
        if "COUNT" in parts and (not parts["COUNT"].isdigit() or not 1 <= int(parts["COUNT"]) <= 999):
            fail("COUNT > 999 is unsupported.")
        if "UNTIL" in parts:
            if not re.match(r"^\d{8}T\d{6}Z$", parts["UNTIL"]):
                fail("UNTIL must be a UTC date-time (YYYYMMDDTHHMMSSZ).")
            until_value = parts["UNTIL"]
        if "BYDAY" in parts:
            for day in parts["BYDAY"].split(","):
                if day not in DAYS:
                    if re.match(r"^[+-]?\d+[A-Z]{2}$", day):
                        fail("BYDAY with numeric prefix not supported")
                    fail("BYDAY value %r is not a weekday." % day)
        for key in ("BYHOUR", "BYMINUTE", "BYMONTH", "BYMONTHDAY"):
            if key in parts:
                limits = {"BYHOUR": (0, 23), "BYMINUTE": (0, 59), "BYMONTH": (1, 12), "BYMONTHDAY": (-31, 31)}[key]
                for value in parts[key].split(","):
                    if not re.match(r"^-?\d+$", value) or not limits[0] <= int(value) <= limits[1] or value == "0" and key == "BYMONTHDAY":
                        fail("%s value %r is out of range." % (key, value))
    if not saw_rrule:
        fail("At least one RRULE is required.")
    when = match.group("when")
    dtstart = "%s-%s-%sT%s:%s:%s%s" % (when[0:4], when[4:6], when[6:8], when[9:11], when[11:13], when[13:15],
                                       "Z" if match.group("z") else "")
    return dtstart, zone or "UTC", until_value or ""


# --- notification templates -----------------------------------------------------------------------------------

def notification_configuration(kind, config, old=None):
    """Check a notification configuration; returns what to store (``$encrypted$`` keeps the old secret)."""
    if not isinstance(config, dict):
        raise field_error("notification_configuration", "Must be an object.")
    stored = dict(config)
    for key in NOTIFICATION_SECRETS.get(kind, ()):
        if stored.get(key) == ENCRYPTED:
            stored[key] = (old or {}).get(key, "")
    if kind != "webhook":
        return stored
    missing = [key for key in WEBHOOK_REQUIRED if key not in config]
    if missing:
        raise field_error("notification_configuration",
                          "Missing required fields for Notification Configuration: %s." % ", ".join(missing))
    for key, value in config.items():
        if key not in WEBHOOK_KEYS:
            raise field_error("notification_configuration", "Configuration field %r is not used by webhook." % key)
        if not isinstance(value, WEBHOOK_KEYS[key]):
            raise field_error("notification_configuration", "Configuration field %r incorrect, expected %s."
                              % (key, WEBHOOK_KEYS[key].__name__))
    if config["http_method"].upper() not in ("POST", "PUT"):
        raise field_error("notification_configuration", "HTTP method must be either 'POST' or 'PUT'.")
    if not re.match(r"^https?://\S+$", config["url"]):
        raise field_error("notification_configuration", "Configuration field 'url' must be an http(s) URL.")
    return stored
