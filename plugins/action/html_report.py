# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller side of gough.gough.html_report: join the sources, render the page, write it to ``dest``.

Rendering needs pygal, which is a controller requirement, so this runs in the controller's Python like
ansible.builtin.template. The join and the page are pure functions (module_utils/report_data.py,
plugin_utils/report_html.py); this plugin validates the options, times the render and writes the file atomically.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile
import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.gough.gough.plugins.modules.html_report import argument_spec
from ansible_collections.gough.gough.plugins.plugin_utils import report_html

SOURCES = ("maas", "fleet", "agents", "agents_up_range", "agents_scraped_range", "certificates", "deploys",
           "backups")


class ActionModule(ActionBase):
    """Renders the fleet report on the controller and writes it to ``dest``."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        validated = ArgumentSpecValidator(argument_spec()).validate(dict(self._task.args))
        if validated.error_messages:
            result.update(failed=True, msg="; ".join(validated.error_messages))
            return result
        params = validated.validated_parameters
        dest = params["dest"]
        result["dest"] = dest
        if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
            result.update(failed=True, msg="dest: the directory of %s does not exist" % dest)
            return result
        started = time.monotonic()
        try:
            page, summary, hosts = report_html.render_report(
                dict((name, params[name]) for name in SOURCES), time.time(), title=params["title"],
                certificate_days=params["certificate_days"], quarantine_tag=params["quarantine_tag"],
                secrets=params["redact"])
        except report_html.ReportError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        encoded = page.encode("utf-8")
        result.update(changed=True, summary=summary, size=len(encoded), hosts=hosts,
                      seconds=round(time.monotonic() - started, 3))
        if not self._task.check_mode:
            write_atomically(dest, encoded)
        return result


def write_atomically(dest, content):
    """Write ``content`` to ``dest`` through a temporary file in the same directory (readers never see half a
    page), mode 0644: the report holds no secret and nginx serves it."""
    handle, temporary = tempfile.mkstemp(prefix=".report-", dir=os.path.dirname(os.path.abspath(dest)))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
        os.chmod(temporary, 0o644)
        os.replace(temporary, dest)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
