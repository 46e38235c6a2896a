"""AWX's input rules that the emulator enforces: credential types, credential inputs, surveys, schedule rules.

Each checker returns nothing when the input is valid and raises Invalid with AWX's error body otherwise
(``{"field": ["message"]}``, or ``{"error": "message"}`` for surveys, as AWX answers).
"""

import datetime
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


class NotFound(Exception):
    """404."""


class Forbidden(Exception):
    """403 with a detail."""


class MethodNotAllowed(Exception):
    """405."""


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
# SchedulePreviewSerializer.validate_rrule (awx/api/serializers.py) collects these messages, then parses the rule as
# Schedule.rrulestr does with dateutil; a parse error is reported as "rrule parsing failed validation: <error>".

FREQS = {"YEARLY": 0, "MONTHLY": 1, "WEEKLY": 2, "DAILY": 3, "HOURLY": 4, "MINUTELY": 5, "SECONDLY": 6}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
INT_PARTS = ("INTERVAL", "COUNT")
INT_LIST_PARTS = ("BYSETPOS", "BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYEASTER", "BYWEEKNO", "BYHOUR", "BYMINUTE",
                  "BYSECOND")
# What Python's datetime says when dateutil builds an occurrence from an out-of-range part.
RANGES = {"BYHOUR": (0, 23, "hour"), "BYMINUTE": (0, 59, "minute"), "BYSECOND": (0, 59, "second"),
          "BYMONTH": (1, 12, "month")}
TZID_MSG = "A valid TZID must be provided (e.g., America/New_York)"


def now():
    """The current time in AWX's format."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _zone(name):
    """A tzinfo for an IANA name, or None (dateutil's tz.gettz answers None for an unknown zone)."""
    try:
        import zoneinfo  # pylint: disable=import-outside-toplevel
        return zoneinfo.ZoneInfo(name)
    except Exception:  # pylint: disable=broad-except  # ZoneInfoNotFoundError, ValueError for odd names
        return None


def _parse_datetime(text, what="Unknown string format: %s"):
    match = re.match(r"^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?(Z?)$", text)
    if not match:
        raise ValueError(what % text)
    parts = [int(x) for x in match.groups()[:6] if x is not None]
    try:
        value = datetime.datetime(*parts)
    except ValueError as exc:
        raise ValueError("%s: %s" % (exc, text)) from exc
    return value.replace(tzinfo=datetime.timezone.utc) if match.group(7) else value


def _dtstart(value, parms, tzid_names):
    """dateutil's _parse_date_value for DTSTART."""
    tzinfo = None
    value_found = False
    for parm in parms:
        if parm.startswith("TZID="):
            key = tzid_names.get(parm.split("TZID=")[-1])
            if key is None:
                continue
            tzinfo = _zone(key)
            continue
        if parm not in ("VALUE=DATE-TIME", "VALUE=DATE"):
            raise ValueError("unsupported parm: " + parm)
        if value_found:
            raise ValueError("Duplicate value parameter found in: " + parm)
        value_found = True
    dates = value.split(",")
    if len(dates) != 1:
        raise ValueError("Multiple DTSTART values specified:" + value)
    date = _parse_datetime(dates[0])
    if tzinfo is not None:
        if date.tzinfo is not None:
            raise ValueError("DTSTART/EXDATE specifies multiple timezone")
        date = date.replace(tzinfo=tzinfo)
    return date


def _rule_parts(value):
    """dateutil's _parse_rfc_rrule: the parts of one RRULE/EXRULE value, with its error texts."""
    parts = {}
    for pair in value.split(";"):
        name, part = pair.split("=")  # dateutil's own unpacking: "not enough values to unpack ..."
        try:
            if name in INT_PARTS:
                parts[name] = int(part)
            elif name in INT_LIST_PARTS:
                parts[name] = [int(x) for x in part.split(",")]
            elif name == "FREQ":
                parts[name] = FREQS[part]
            elif name == "UNTIL":
                parts[name] = _parse_datetime(part, "invalid until date")
            elif name == "WKST":
                parts[name] = WEEKDAYS.index(part)
            elif name in ("BYDAY", "BYWEEKDAY"):
                days = []
                for day in part.split(","):
                    if not day:
                        raise ValueError("Invalid (empty) BYDAY specification.")
                    match = re.match(r"^([+-]?\d*)([A-Z]*)$", day) or re.match(r"^([A-Z]*)\(([+-]?\d+)\)$", day)
                    if match is None or (match.group(2) not in WEEKDAYS and match.group(1) not in WEEKDAYS):
                        raise KeyError(day)
                    days.append(day)
                parts["BYDAY"] = days
            else:
                raise AttributeError(name)
        except AttributeError as exc:
            raise ValueError("unknown parameter '%s'" % name) from exc
        except (KeyError, ValueError) as exc:
            raise ValueError("invalid '%s': %s" % (name, part)) from exc
    if "FREQ" not in parts:
        raise TypeError("rrule.__init__() missing 1 required positional argument: 'freq'")
    for pos in parts.get("BYSETPOS", []):
        if pos == 0 or not -366 <= pos <= 366:
            raise ValueError("bysetpos must be between 1 and 366, or between -366 and -1")
    for name, (low, high, unit) in RANGES.items():
        for item in parts.get(name, []):
            if not low <= item <= high:
                raise ValueError("%s must be in %s..%s" % (unit, low, high))
    return parts


def coerce_naive_until(text):
    """Schedule.coerce_naive_until: an UNTIL without Z is read in DTSTART's time zone and stored in UTC."""
    start = re.sub(r"^.*(DTSTART[^\s]+)\s.*$", r"\1", text)
    match = re.match(r"^DTSTART(?:;TZID=([^:]+))?:(\d{8}T\d{6})(Z?)$", start)
    zone = None
    if match and match.group(3):
        zone = datetime.timezone.utc
    elif match and match.group(1):
        zone = _zone(match.group(1))
    rules = re.split(r"\s+", text)
    for index, rule in enumerate(rules):
        if "until=" not in rule.lower():
            continue
        found = re.match(r".*?(?P<until>UNTIL\=[0-9]+T[0-9]+)(?P<utcflag>Z?)", rule)
        if found is None or found.group("utcflag"):
            continue
        if zone is None:
            raise ValueError(TZID_MSG)
        local = datetime.datetime.strptime(found.group("until")[len("UNTIL="):], "%Y%m%dT%H%M%S").replace(tzinfo=zone)
        utc = local.astimezone(datetime.timezone.utc).strftime("UNTIL=%Y%m%dT%H%M%SZ")
        rules[index] = rule.replace(found.group("until"), utc)
    return " ".join(rules)


def _parse_ruleset(text):
    """Schedule.rrulestr: the coerced rule, DTSTART and the rules' parts, or ValueError/TypeError."""
    text = coerce_naive_until(text)
    tzid_names = {name.upper(): name for name in re.findall(r"TZID=(?P<name>[^:]+):", text)}
    upper = text.upper()
    if not upper.strip():
        raise ValueError("empty string")
    dtstart = None
    rules = []
    for line in upper.split():
        name, value = ("RRULE", line) if ":" not in line else line.split(":", 1)
        parms = name.split(";")
        name, parms = parms[0], parms[1:]
        if name in ("RRULE", "EXRULE"):
            for parm in parms:
                raise ValueError("unsupported %s parm: %s" % (name, parm))
            rules.append((name, value))
        elif name == "DTSTART":
            dtstart = _dtstart(value, parms, tzid_names)
        elif name in ("RDATE", "EXDATE"):
            continue  # refused before parsing
        else:
            raise ValueError("unsupported property: " + name)
    parsed = []
    for name, value in rules:
        parts = _rule_parts(value)
        until = parts.get("UNTIL")
        if dtstart is not None and until is not None and (dtstart.tzinfo is None) != (until.tzinfo is None):
            raise ValueError("RRULE UNTIL values must be specified in UTC when DTSTART is timezone-aware")
        parsed.append((name, parts))
    if dtstart is None or dtstart.tzinfo is None:
        raise ValueError(TZID_MSG)
    return text, dtstart, parsed


def rrule(text):
    """Check a schedule rule as AWX 24.6.1 does. Returns (rule to store, dtstart, timezone, until): the rule with
    naive UNTIL values coerced to UTC, the first start in UTC, the zone name and the local UNTIL."""
    if not isinstance(text, str) or not text.strip():
        raise field_error("rrule", "This field may not be blank.")
    lowered = text.lower()
    errors = []
    dtstarts = re.findall(r".*?(DTSTART(;[^:]+)?\:[0-9]+T[0-9]+Z?)", text)
    if not dtstarts:
        errors.append("Valid DTSTART required in rrule. Value should start with: DTSTART:YYYYMMDDTHHMMSSZ")
    if re.findall(r".*?(DTSTART:[0-9]+T[0-9]+) ", text):
        errors.append("DTSTART cannot be a naive datetime.  Specify ;TZINFO= or YYYYMMDDTHHMMSSZZ.")
    if len(dtstarts) > 1:
        errors.append("Multiple DTSTART is not supported.")
    if "rrule:" not in lowered:
        errors.append("One or more rule required in rrule.")
    if "exdate:" in lowered:
        raise Invalid({"rrule": ["EXDATE not allowed in rrule."]})
    if "rdate:" in lowered:
        raise Invalid({"rrule": ["RDATE not allowed in rrule."]})
    for rule in re.findall(r".*?(RULE\:[^\s]*)", text):
        if "interval" not in rule.lower():
            errors.append("INTERVAL required in rrule: %s" % rule)
        elif "secondly" in rule.lower():
            errors.append("SECONDLY is not supported: %s" % rule)
        if re.match(r".*?BYDAY[\:\=][0-9]+[a-zA-Z]{2}", rule):
            errors.append("BYDAY with numeric prefix not supported: %s" % rule)
        if "COUNT" in rule and "UNTIL" in rule:
            errors.append("RRULE may not contain both COUNT and UNTIL: %s" % rule)
        count = re.match(r".*?(COUNT\=[0-9]+)", rule)
        if count and int(count.group(1).split("=")[1]) > 999:
            errors.append("COUNT > 999 is unsupported: %s" % rule)
    stored = dtstart = None
    parsed = []
    try:
        stored, dtstart, parsed = _parse_ruleset(text)
    except (ValueError, TypeError) as exc:
        errors.append("rrule parsing failed validation: %s" % exc)
    if errors:
        raise Invalid({"rrule": errors})
    zone = "UTC" if dtstart.tzinfo is datetime.timezone.utc else str(dtstart.tzinfo)
    until = ""
    for _name, parts in parsed:
        if parts.get("UNTIL") is not None:
            until = parts["UNTIL"].astimezone(dtstart.tzinfo).replace(tzinfo=None).isoformat()
            break
    first = dtstart.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return stored, first, zone, until


# --- notification templates -----------------------------------------------------------------------------------
# init_parameters of each notification backend (awx/main/notifications/*_backend.py at 24.6.1): field -> (type,
# default or MISSING). AWX fills the defaults in, checks the types, and never refuses keys it does not know.

MISSING = object()
NOTIFICATION_PARAMETERS = {
    "awssns": {"aws_region": ("string", ""), "aws_access_key_id": ("string", ""),
               "aws_secret_access_key": ("password", ""), "aws_session_token": ("password", ""),
               "sns_topic_arn": ("string", "")},
    "email": {"host": ("string", MISSING), "port": ("int", MISSING), "username": ("string", MISSING),
              "password": ("password", MISSING), "use_tls": ("bool", MISSING), "use_ssl": ("bool", MISSING),
              "sender": ("string", MISSING), "recipients": ("list", MISSING), "timeout": ("int", 30)},
    "grafana": {"grafana_url": ("string", MISSING), "grafana_key": ("password", MISSING)},
    "irc": {"server": ("string", MISSING), "port": ("int", MISSING), "nickname": ("string", MISSING),
            "password": ("password", MISSING), "use_ssl": ("bool", MISSING), "targets": ("list", MISSING)},
    "mattermost": {"mattermost_url": ("string", MISSING), "mattermost_no_verify_ssl": ("bool", MISSING)},
    "pagerduty": {"subdomain": ("string", MISSING), "token": ("password", MISSING),
                  "service_key": ("string", MISSING), "client_name": ("string", MISSING)},
    "rocketchat": {"rocketchat_url": ("string", MISSING), "rocketchat_no_verify_ssl": ("bool", MISSING)},
    "slack": {"token": ("password", MISSING), "channels": ("list", MISSING)},
    "twilio": {"account_sid": ("string", MISSING), "account_token": ("password", MISSING),
               "from_number": ("string", MISSING), "to_numbers": ("list", MISSING)},
    "webhook": {"url": ("string", MISSING), "http_method": ("string", "POST"),
                "disable_ssl_verification": ("bool", False), "username": ("string", ""),
                "password": ("password", ""), "headers": ("object", MISSING)},
}
TYPE_MAP = {"string": (str,), "int": (int,), "bool": (bool,), "list": (list,), "password": (str,), "object": (dict,)}


def notification_secrets(kind):
    """The password-type configuration fields of a notification type."""
    return tuple(name for name, (ftype, _default) in NOTIFICATION_PARAMETERS.get(kind, {}).items()
                 if ftype == "password")


def notification_configuration(kind, config, old=None):
    """NotificationTemplateSerializer.validate: fill AWX's defaults, check types; returns what to store
    ($encrypted$ keeps the stored secret on an update). Errors are non-field errors, as AWX answers."""
    if not isinstance(config, dict):
        raise field_error("notification_configuration", "Must be an object.")
    stored = dict(config)
    missing, wrong, errors, forward = [], [], [], []
    for field, (ftype, default) in NOTIFICATION_PARAMETERS.get(kind, {}).items():
        if field not in stored:
            if default is MISSING:
                missing.append(field)
                continue
            stored[field] = default
        value = stored[field]
        if type(value) not in TYPE_MAP[ftype]:  # pylint: disable=unidiomatic-typecheck  # AWX: True is no int
            wrong.append((field, ftype))
            continue
        if ftype == "list" and len(value) < 1:
            errors.append("No values specified for field '%s'" % field)
            continue
        if ftype == "password" and value == ENCRYPTED and old is not None:
            forward.append(field)
        if field == "http_method" and value.lower() not in ("put", "post"):
            errors.append("HTTP method must be either 'POST' or 'PUT'.")
    if missing:
        errors.append("Missing required fields for Notification Configuration: %s." % missing)
    for field, ftype in wrong:
        errors.append("Configuration field '%s' incorrect type, expected %s." % (field, ftype))
    if errors:
        raise Invalid({"non_field_errors": errors})
    for field in forward:
        stored[field] = (old or {}).get(field, "")
    return stored
