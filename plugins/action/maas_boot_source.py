# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller half of gough.gough.maas_boot_source: run the module to set the selections and start the import, then
wait here, printing progress.

A module cannot print while it runs, so (as for maas_deploy) the module is called with ``wait: false``: it checks
the options, writes the selections and starts the import. This plugin then polls MAAS from the controller with the
same helper the module waits with (``maas_boot.wait_for_images``) and prints a line such as
``maas_boot_source: importing, 1/3 images, 2m10s`` every ``progress_interval`` seconds. Check mode, ``wait: false``
and ``import_images: false`` go straight to the module.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.gough.gough.plugins.action.maas_deploy import format_duration
from ansible_collections.gough.gough.plugins.module_utils.gough_module import connection_argument_spec, error_result
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError, client_from_params
from ansible_collections.gough.gough.plugins.module_utils.maas_boot import wait_for_images
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout
from ansible_collections.gough.gough.plugins.modules.maas_boot_source import argument_spec

display = Display()

MODULE = "gough.gough.maas_boot_source"


def image_count(selections):
    """How many ``os/release/arch`` images the selections ask for ("*" arches are not counted)."""
    return sum(1 for s in selections for arch in s["arches"] if arch != "*")


def progress_line(state, total, elapsed):
    """``maas_boot_source: importing, 1/3 images, 2m10s`` for a state of ``wait_for_images``."""
    return "maas_boot_source: %s, %d/%d images, %s" % (
        "importing" if state["importing"] else "not importing", total - len(state["missing"]), total,
        format_duration(elapsed))


class ActionModule(ActionBase):
    """Runs maas_boot_source with ``wait: false``, then waits for the import on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        spec = connection_argument_spec("maas")
        spec.update(argument_spec())
        validated = ArgumentSpecValidator(spec).validate(args)
        params = validated.validated_parameters
        if validated.error_messages or not params.get("wait") or not params.get("import_images") \
                or self._task.check_mode:
            # The module reports argument errors itself and needs no controller-side wait here.
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result
        fired = self._execute_module(module_name=MODULE, module_args=dict(args, wait=False), task_vars=task_vars)
        result.update(fired)
        if fired.get("failed") or not (fired.get("importing") or fired.get("missing_images")):
            return result
        host = task_vars.get("inventory_hostname", "localhost") if task_vars else "localhost"
        total = image_count(fired["selections"])
        every = params["progress_interval"] or 0
        printed = {"at": None}

        def show(state, elapsed):
            now = time.monotonic()
            if every > 0 and (printed["at"] is None or now - printed["at"] >= every):
                printed["at"] = now
                display.display("%s [%s]" % (progress_line(state, total, elapsed), host))

        client = client_from_params(params)
        try:
            state, waited = wait_for_images(client, fired["selections"], params["wait_timeout"],
                                            params["poll_interval"], on_poll=show)
        except WaitTimeout as exc:
            result.update(error_result(exc), failed=True)
            return result
        except MAASError as exc:
            result.update(failed=True, msg="Waiting for the import failed: %s" % exc)
            return result
        finally:
            client.close()
        if every > 0 and printed["at"] is not None:
            display.display("%s [%s]" % (progress_line(state, total, waited), host))
        result.update(importing=state["importing"], missing_images=state["missing"], waited=round(waited, 1))
        return result
