# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cloud-init user-data core of gough.gough.cloudinit_template: parse, merge, assemble, validate, size and redact.

Controller-only code (it needs PyYAML and may call cloud-init's own validator), so it lives in ``plugin_utils``
rather than ``module_utils``. Template rendering itself needs Ansible's templar and stays in the action plugin.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import copy
import email.charset
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import yaml

CLOUD_CONFIG_HEADER = "#cloud-config"
DEFAULT_MAX_SIZE = 16384
VALIDATOR_ENV = "GOUGH_CLOUDINIT_VALIDATOR"
MERGE_MODES = ("replace", "append")
TEMPLATE_SUFFIX = ".yml.j2"
REDACTED = "<redacted>"
# Keys whose values are hidden in diffs: credentials, and file contents and scripts that commonly carry them.
SECRET_KEY_RE = re.compile(r"(pass|secret|token|private|credential|content|key$|keys$)", re.IGNORECASE)


class CloudInitError(Exception):
    """A problem with the user-data being built; the message names the offending template, part or key path."""


# ---------------------------------------------------------------------------------------------------------------
# The template library


def library_dir():
    """Directory holding the library templates shipped with the collection (``plugins/cloudinit/templates``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cloudinit", "templates")


def library_names(directory=None):
    """Sorted names of the templates in the library."""
    directory = directory or library_dir()
    return sorted(f[:-len(TEMPLATE_SUFFIX)] for f in os.listdir(directory) if f.endswith(TEMPLATE_SUFFIX))


def library_path(name, directory=None):
    """Path of library template ``name``; CloudInitError listing the known names when there is none."""
    known = library_names(directory)
    if name not in known:
        raise CloudInitError("name: unknown template %r; the library has: %s." % (name, ", ".join(known)))
    return os.path.join(directory or library_dir(), name + TEMPLATE_SUFFIX)


HEADER_FIELD_RE = re.compile(r"^\s*(extends|required):\s*(.*?)\s*$", re.MULTILINE)


def template_header(text):
    """``{'extends': [...], 'required': [...]}`` from the header comment (``{# ... #}``) of a library template."""
    fields = {"extends": [], "required": []}
    match = re.match(r"\s*\{#(.*?)#\}", text, re.DOTALL)
    if match:
        for key, value in HEADER_FIELD_RE.findall(match.group(1)):
            fields[key].extend(v for v in re.split(r"[\s,]+", value) if v)
    return fields


# ---------------------------------------------------------------------------------------------------------------
# Parsing


def to_plain(value):
    """A copy of ``value`` made of plain dict, list, str, int, float, bool and None (drops Ansible's wrappers)."""
    if isinstance(value, dict):
        return dict((str(k), to_plain(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def parse_cloud_config(text, where, require_header=True):
    """Parse cloud-config ``text`` into a dict; CloudInitError naming ``where`` (and line/column for bad YAML)."""
    text = str(text)
    if require_header and not text.lstrip("\ufeff").startswith(CLOUD_CONFIG_HEADER):
        first = text.strip().splitlines()[0] if text.strip() else "(empty)"
        raise CloudInitError("%s: cloud-config must start with the line %r; the first line is %r."
                             % (where, CLOUD_CONFIG_HEADER, first[:60]))
    try:
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        raise CloudInitError("%s: invalid YAML%s: %s" % (where, position, exc.problem or exc.context))
    except yaml.YAMLError as exc:
        raise CloudInitError("%s: invalid YAML: %s" % (where, exc))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise CloudInitError("%s: cloud-config must be a YAML mapping, not %s." % (where, type(data).__name__))
    return to_plain(data)


def classify_part(part, index):
    """One element of ``parts`` as ``('cloud-config', dict)`` or ``('script', text)``."""
    where = "parts[%d]" % index
    if isinstance(part, dict):
        return "cloud-config", to_plain(part)
    if isinstance(part, str):
        if part.startswith("#!"):
            return "script", str(part)
        return "cloud-config", parse_cloud_config(part, where, require_header=False)
    raise CloudInitError("%s: must be a cloud-config mapping, a YAML string or a script starting with '#!', not %s."
                         % (where, type(part).__name__))


# ---------------------------------------------------------------------------------------------------------------
# Merging


def merge_cloud_config(base, extra, how="replace"):
    """Merge cloud-config ``extra`` into a copy of ``base`` the way cloud-init merges two cloud-config parts.

    ``replace`` is cloud-init's default (``dict(replace)+list()+str()``): every top-level key of ``extra`` replaces
    the value ``base`` has for it, whole. ``append`` is cloud-init's ``dict(no_replace,recurse_list)+list(append)
    +str()``: mappings are merged key by key at every depth, lists are appended, and for any other value present in
    both the one from ``base`` is kept.
    """
    if how not in MERGE_MODES:
        raise CloudInitError("merge_how: %r is not one of %s." % (how, ", ".join(MERGE_MODES)))
    merged = copy.deepcopy(base)
    for key, value in extra.items():
        if how == "replace" or key not in merged:
            merged[key] = copy.deepcopy(value)
        else:
            merged[key] = _merge_append(merged[key], value)
    return merged


def _merge_append(old, new):
    if isinstance(old, dict) and isinstance(new, dict):
        merged = dict(old)
        for key, value in new.items():
            merged[key] = _merge_append(old[key], value) if key in old else copy.deepcopy(value)
        return merged
    if isinstance(old, list) and isinstance(new, list):
        return old + copy.deepcopy(new)
    return old


# ---------------------------------------------------------------------------------------------------------------
# Output


class _LiteralDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings (certificates, scripts, file contents) as literal blocks."""


def _represent_str(dumper, value):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _represent_str)


def dump_cloud_config(data):
    """``#cloud-config`` document text for ``data``, keys in their given order."""
    body = yaml.dump(data, Dumper=_LiteralDumper, default_flow_style=False, sort_keys=False, allow_unicode=True,
                     width=4096) if data else ""
    return "%s\n%s" % (CLOUD_CONFIG_HEADER, body)


def multipart(cloud_config_text, scripts):
    """MIME multipart user-data: the cloud-config, then each ``(filename, text)`` script, in order.

    The boundary is derived from the content, so the same input always gives the same bytes.
    """
    charset = email.charset.Charset("utf-8")
    charset.body_encoding = None  # keep the text readable by cloud-init and humans: no base64 inside the parts
    message = MIMEMultipart()
    digest = hashlib.sha256(cloud_config_text.encode("utf-8"))
    sections = [("cloud-config.yaml", "cloud-config", cloud_config_text)]
    sections.extend((filename, "x-shellscript", text) for filename, text in scripts)
    for filename, subtype, text in sections:
        digest.update(text.encode("utf-8"))
        part = MIMEText(text, subtype, charset)
        part.add_header("Content-Disposition", "attachment", filename=filename)
        message.attach(part)
    message.set_boundary("===============gough%s==" % digest.hexdigest()[:20])
    return message.as_string()


def encode_base64(text):
    """Base64 of ``text`` as UTF-8, as MAAS's ``user_data`` field takes it."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def check_size(text, max_size):
    """Size of ``text`` in bytes; CloudInitError when it is over ``max_size`` (0 turns the check off)."""
    size = len(text.encode("utf-8"))
    if max_size and size > max_size:
        raise CloudInitError("user-data is %d bytes, over max_size (%d bytes). Move large files out of the "
                             "user-data, or raise max_size if your datasource takes more." % (size, max_size))
    return size


# ---------------------------------------------------------------------------------------------------------------
# Schema validation


DOTTED_PATH_RE = re.compile(r"(?<![\w/.-])([A-Za-z_][\w-]*(?:\.[\w-]+)+)(?=:)")


def key_path(path):
    """A dotted path such as ``users.0.ssh_authorized_keys`` written as ``users[0].ssh_authorized_keys``."""
    if isinstance(path, (list, tuple)):
        parts = [str(p) for p in path]
    else:
        parts = str(path).split(".")
    out = ""
    for part in parts:
        if part.isdigit():
            out += "[%s]" % part
        else:
            out += ("." if out else "") + part
    return out


def normalise_messages(text):
    """Validator output with dotted key paths rewritten as ``a[0].b``, trimmed of blank lines."""
    lines = [line.rstrip() for line in str(text).splitlines() if line.strip()]
    return "\n".join(DOTTED_PATH_RE.sub(lambda m: key_path(m.group(1)), line) for line in lines)


def find_validator(command=None, environ=None):
    """How the schema can be checked here: ``('command', argv)``, ``('python', None)`` or ``(None, None)``.

    An explicit ``command`` (or the GOUGH_CLOUDINIT_VALIDATOR environment variable) wins; then cloud-init's Python
    package importable on the controller; then a ``cloud-init`` executable on PATH (``cloud-init schema
    --config-file``).
    """
    environ = os.environ if environ is None else environ
    command = command or environ.get(VALIDATOR_ENV)
    if command:
        argv = shlex.split(command) if isinstance(command, str) else [str(c) for c in command]
        if not shutil.which(argv[0]):
            raise CloudInitError("validator: %r is not an executable command." % argv[0])
        return "command", argv
    try:
        from cloudinit.config import schema  # noqa: F401 pylint: disable=unused-import
        return "python", None
    except ImportError:
        pass
    executable = shutil.which("cloud-init")
    if executable:
        return "command", [executable, "schema", "--config-file"]
    return None, None


def validate_schema(cloud_config_text, data, validator):
    """Check the cloud-config against cloud-init's schema with ``validator`` (from find_validator).

    Returns the validator's description; raises CloudInitError with the offending key paths when it fails.
    """
    kind, argv = validator
    if kind == "python":
        return _validate_in_python(data)
    handle, path = tempfile.mkstemp(prefix="gough-user-data-", suffix=".yaml")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(cloud_config_text)
        try:
            process = subprocess.run(argv + [path], capture_output=True, text=True, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as exc:
            raise CloudInitError("schema validation could not run %s: %s" % (argv[0], exc))
    finally:
        os.unlink(path)
    if process.returncode != 0:
        output = (process.stdout + "\n" + process.stderr).replace(path, "<user-data>")
        raise CloudInitError("cloud-init schema validation failed:\n%s" % normalise_messages(output))
    return " ".join(argv)


def _validate_in_python(data):
    from cloudinit.config.schema import SchemaValidationError, get_schema, validate_cloudconfig_schema
    try:
        validate_cloudconfig_schema(data, schema=get_schema(), strict=True)
    except SchemaValidationError as exc:
        errors = getattr(exc, "schema_errors", None) or []
        lines = ["%s: %s" % (key_path(getattr(e, "path", e[0])), getattr(e, "message", e[1])) for e in errors]
        raise CloudInitError("cloud-init schema validation failed:\n%s" % ("\n".join(lines) or str(exc)))
    return "cloudinit.config.schema"


# ---------------------------------------------------------------------------------------------------------------
# Redaction


def redact(data):
    """A copy of cloud-config ``data`` with the values of secret-looking keys replaced by ``<redacted>``."""
    if isinstance(data, dict):
        return dict((k, REDACTED if SECRET_KEY_RE.search(str(k)) and _has_content(v) else redact(v))
                    for k, v in data.items())
    if isinstance(data, list):
        return [redact(v) for v in data]
    return data


def _has_content(value):
    # Booleans (lock_passwd, ssh_pwauth) and empty values reveal nothing worth hiding.
    return not isinstance(value, bool) and value not in (None, "", [], {})
