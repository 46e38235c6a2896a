# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Controller half of gough.gough.maas_deploy: run the module to send the ops, then wait here, printing progress.

A module cannot print while it runs, so when the task waits this plugin runs the whole batch on the controller,
with the module's own code (``maas_deploy.fire``: validate, resolve, allocate and fire every op) and the same
engine: it then polls MAAS (one filtered list call per interval), prints a progress line every
``progress_interval`` seconds with ``Display.display`` (which reaches ansible-playbook and AWX job output live),
applies ``on_failure`` and returns the per-machine results. Running the first half here too, instead of in a module
process, saves starting that process and sending 1,000 machine records back through it, and machines start
deploying that much earlier. Check mode, ``wait: false`` and arguments the spec rejects go straight to the module.

The engine reports progress as counts (``maas_deployment.Progress``); the lines are made here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput, connect, connection_argument_spec, error_result)
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.modules.maas_deploy import MODULE_KWARGS, argument_spec, fire

display = Display()

MODULE = "gough.gough.maas_deploy"
# What the machines of a run are doing while they are neither done nor failed, by the run's state.
MOVING = {"deployed": "deploying", "released": "releasing"}


def format_duration(seconds):
    """``4m12s``, ``1h03m``, ``9s``: short elapsed times for progress lines."""
    seconds = int(max(0, seconds))
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, (seconds % 3600) // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds


def progress_line(progress, elapsed, label="maas_deploy"):
    """One line such as ``maas_deploy: 37/100 deployed, 61 deploying, 2 failed, 4m12s`` for a ``Progress``."""
    return "%s: %d/%d %s, %d %s, %d failed, %s" % (
        label, progress.done, progress.total, progress.state, progress.moving, MOVING[progress.state],
        progress.failed, format_duration(elapsed))


class ProgressPrinter(object):
    """Prints a progress line at most every ``interval`` seconds, and the last one when asked."""

    def __init__(self, interval, host, clock=time.monotonic):
        self.interval = interval
        self.host = host
        self.clock = clock
        self.last_printed = None
        self.last_line = None
        self.printed_line = None

    def __call__(self, progress, elapsed):
        self.last_line = progress_line(progress, elapsed)
        now = self.clock()
        if self.interval > 0 and (self.last_printed is None or now - self.last_printed >= self.interval):
            self.show()

    def show(self):
        """Print the latest line now."""
        self.last_printed = self.clock()
        self.printed_line = self.last_line
        display.display("%s [%s]" % (self.last_line, self.host))

    def finish(self):
        """Print the final state if the last printed line is stale."""
        if self.interval > 0 and self.last_line and self.last_line != self.printed_line:
            self.show()


class ActionModule(ActionBase):
    """Runs maas_deploy with ``wait: false``, then waits for the machines on the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        started = time.monotonic()
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        spec = connection_argument_spec("maas")
        spec.update(argument_spec())
        validated = ArgumentSpecValidator(spec, mutually_exclusive=MODULE_KWARGS["mutually_exclusive"],
                                          required_by=MODULE_KWARGS["required_by"]).validate(args)
        params = validated.validated_parameters
        if validated.error_messages or not params.get("wait") or self._task.check_mode:
            # The module reports argument errors itself, and needs no controller-side wait here.
            result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
            return result

        # What the module would report as its invocation: the options, secrets masked.
        invocation = {"module_args": remove_values(params, validated._no_log_values)}
        try:
            client = connect("maas", params)
        except BadInput as exc:
            result.update(failed=True, invocation=invocation, **error_result(exc))
            return result
        try:
            run, failure = fire(client, params)
            if failure is not None:
                # Failed before or while firing (bad input, too few machines, MAAS unreachable): the module's answer.
                result.update(failure, invocation=invocation)
                return result
            run.started = started
            diff = run.diff() if self._task.diff else None
            printer = ProgressPrinter(params["progress_interval"] or 0,
                                      task_vars.get("inventory_hostname", "localhost") if task_vars else "localhost")
            try:
                run.wait(on_progress=printer)
            except MAASError as exc:
                result.update(failed=True, msg="Waiting for the machines failed: %s" % exc, machines=run.machines(),
                              changed=run.changed, invocation=invocation)
                return result
        finally:
            client.close()
        printer.finish()

        final = run.result()
        final["invocation"] = invocation
        if diff is not None:
            final["diff"] = diff
        result.update(final)
        if not final.get("failed"):
            result.pop("failed", None)
            result.pop("msg", None)
        return result
