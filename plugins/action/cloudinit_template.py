# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of gough.gough.cloudinit_template: render, merge, validate and return cloud-init user-data.

Everything happens here, on the controller, like ansible.builtin.template: the play's variables are only
available to the templar here, and nothing is written anywhere, so check mode needs no special path. The result
carries the user-data, which usually holds secrets, so it is returned with ``_ansible_no_log`` set: callbacks
(the console at any verbosity, AWX job output) show only a censored result, while a registered variable keeps
every key. ``show_user_data: true`` turns that off.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

from ansible.errors import AnsibleError, AnsibleUndefinedVariable
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.gough.gough.plugins.modules.cloudinit_template import MODULE_KWARGS, argument_spec
from ansible_collections.gough.gough.plugins.plugin_utils import cloudinit

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core before 2.19 trusts every template
    def trust_as_template(text):
        return text

UNDEFINED_NAME_RE = re.compile(r"'([^']+)' is undefined")


class ActionModule(ActionBase):
    """Renders Gough's library templates or the user's, merges parts, validates, and returns the user-data."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        validated = ArgumentSpecValidator(argument_spec(), **MODULE_KWARGS).validate(dict(self._task.args))
        if validated.error_messages:
            result.update(failed=True, msg="; ".join(validated.error_messages))
            return result
        params = validated.validated_parameters
        try:
            built = self.build(params, task_vars)
        except cloudinit.CloudInitError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        warnings = built.pop("warnings")
        if warnings:
            result["warnings"] = result.get("warnings", []) + warnings
        result.update(built)
        result["changed"] = False
        if not params["show_user_data"]:
            # Censors what callbacks see; register still gets the whole result.
            result["_ansible_no_log"] = True
        return result

    def build(self, params, task_vars):
        """The result keys for ``params``; CloudInitError on the first problem, before anything is returned."""
        warnings = []
        sources = self.template_sources(params)
        template_vars = dict(task_vars)
        template_vars.update(params["vars"] or {})
        self.check_required(sources, template_vars)

        documents = []
        part_info = []
        for label, path, text in sources:
            rendered = self.render(label, path, text, template_vars)
            documents.append(cloudinit.parse_cloud_config(rendered.lstrip(), label))
        config = {}
        for document in documents:
            # Library templates are built to compose: each adds packages, files and commands to the one before.
            config = cloudinit.merge_cloud_config(config, document, "append")
        if sources:
            part_info.append(dict(source=", ".join(label for label, _path, _text in sources), type="cloud-config"))

        scripts = []
        for index, part in enumerate(params["parts"] or []):
            kind, value = cloudinit.classify_part(part, index)
            if kind == "script":
                filename = "part-%03d.sh" % index
                scripts.append((filename, value))
                part_info.append(dict(source="parts[%d]" % index, type="script", filename=filename,
                                      size=len(value.encode("utf-8"))))
            else:
                config = cloudinit.merge_cloud_config(config, value, params["merge_how"])
                part_info.append(dict(source="parts[%d]" % index, type="cloud-config"))

        output = params["output"]
        if output == "auto":
            output = "multipart" if scripts else "cloud-config"
        if output == "cloud-config" and scripts:
            raise cloudinit.CloudInitError(
                "output: parts %s are scripts, which a single #cloud-config document cannot hold; use "
                "output: multipart (or auto)." % ", ".join(p["source"] for p in part_info if p["type"] == "script"))

        cloud_config_text = cloudinit.dump_cloud_config(config)
        # Round trip: what we return must parse back to exactly what we merged.
        if cloudinit.parse_cloud_config(cloud_config_text, "merged user-data") != config:
            raise cloudinit.CloudInitError("merged user-data does not survive a YAML round trip.")

        schema_validated, validator_name = self.check_schema(params, cloud_config_text, config, warnings)

        user_data = cloudinit.multipart(cloud_config_text, scripts) if output == "multipart" else cloud_config_text
        size = cloudinit.check_size(user_data, params["max_size"])
        built = dict(
            user_data=user_data,
            user_data_base64=cloudinit.encode_base64(user_data),
            size=size,
            output=output,
            parts=part_info,
            schema_validated=schema_validated,
            validator=validator_name,
            templates=[label for label, _path, _text in sources],
            warnings=warnings,
        )
        if self._task.diff:
            built["diff"] = dict(before="", after=self.redacted_view(config, scripts),
                                 before_header="(nothing)", after_header="user-data (secrets redacted)")
        return built

    def template_sources(self, params):
        """``[(label, path, text)]`` for every template to render, library bases first."""
        if params["src"]:
            try:
                path = self._find_needle("templates", params["src"])
            except AnsibleError as exc:
                raise cloudinit.CloudInitError("src: %s" % exc)
            return [("src %s" % params["src"], path, self.read(path))]
        sources = []
        for name in params["name"] or []:
            self.add_library_template(name, sources, [])
        return sources

    def add_library_template(self, name, sources, chain):
        """Append library template ``name`` to ``sources`` after the templates it extends (each once)."""
        if name in chain:
            raise cloudinit.CloudInitError("name: template %r extends itself through %s." % (name, " -> ".join(chain)))
        path = cloudinit.library_path(name)
        text = self.read(path)
        for base in cloudinit.template_header(text)["extends"]:
            self.add_library_template(base, sources, chain + [name])
        label = "template %s" % name
        if label not in [s[0] for s in sources]:
            sources.append((label, path, text))

    @staticmethod
    def read(path):
        with open(path, encoding="utf-8") as stream:
            return stream.read()

    @staticmethod
    def check_required(sources, template_vars):
        """Fail naming the first variable a library template declares required and the play does not define."""
        for label, _path, text in sources:
            for variable in cloudinit.template_header(text)["required"]:
                if variable not in template_vars:
                    raise cloudinit.CloudInitError(
                        "%s: required variable %r is not defined; set it in the play or in vars."
                        % (label, variable))

    def render(self, label, path, text, template_vars):
        """Render one template with Ansible's templar (undefined variables are errors)."""
        templar = self._templar.copy_with_new_env(searchpath=[os.path.dirname(path)],
                                                  available_variables=template_vars)
        try:
            rendered = templar.template(trust_as_template(text), escape_backslashes=False)
        except AnsibleUndefinedVariable as exc:
            match = UNDEFINED_NAME_RE.search(str(exc))
            name = match.group(1) if match else None
            if name:
                raise cloudinit.CloudInitError("%s: required variable %r is not defined (%s)."
                                               % (label, name, exc.message))
            raise cloudinit.CloudInitError("%s: %s" % (label, exc.message))
        except AnsibleError as exc:
            raise cloudinit.CloudInitError("%s: rendering failed: %s" % (label, exc.message))
        return str(rendered or "")

    def check_schema(self, params, text, config, warnings):
        """``(validated, validator name)``; raise on a schema violation; warn when no validator exists."""
        if params["schema_validation"] == "never":
            return False, None
        validator = cloudinit.find_validator(params["validator"])
        if validator[0] is None:
            message = ("cloud-init's schema validator is not available on this controller (no cloud-init Python "
                       "package, no cloud-init command, no validator option or %s), so the user-data was checked "
                       "for YAML and its #cloud-config header only." % cloudinit.VALIDATOR_ENV)
            if params["schema_validation"] == "required":
                raise cloudinit.CloudInitError("schema_validation=required: " + message)
            warnings.append(message)
            return False, None
        return True, cloudinit.validate_schema(text, config, validator)

    @staticmethod
    def redacted_view(config, scripts):
        """The cloud-config with secret-looking values redacted, and one comment line per script."""
        text = cloudinit.dump_cloud_config(cloudinit.redact(config))
        for filename, script in scripts:
            text += "# script %s: %d bytes (content redacted)\n" % (filename, len(script.encode("utf-8")))
        return text
