# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The one framework every ``gough.gough`` module runs on.

A module states its own options and its work; ``GoughModule`` does the rest, the same way for MAAS and Fleet::

    def work(module):                      # module is the GoughModule
        entity = module.client.get(...)    # MAASClient or FleetClient, built from the connection options
        if bad:
            raise BadInput("name", "must not be empty.")
        return dict(changed=..., before=..., after=...)

    def main():
        GoughModule("maas", ARGUMENT_SPEC, supports_check_mode=True).run(work)

``GoughModule`` adds the API's connection options (the ``gough.gough.maas`` or ``gough.gough.fleet`` doc fragment)
to the module's argument spec, builds the ``AnsibleModule`` and, on first use, the client. ``run(work)`` maps every
failure to one ``fail_json``: ``BadInput`` (the one way to report bad input) names the field, a MAAS or Fleet error
carries its HTTP details, a wait that ran out of time its last state. It adds ``diff`` in diff mode only.

This module imports only ``ansible.module_utils`` and the leaf ``api_client`` at load time; the MAAS, Fleet and
polling modules are imported where they are used, so any of them may import ``BadInput`` from here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gough.gough.plugins.module_utils.api_client import ApiError

APIS = ("maas", "fleet")


class BadInput(ValueError):
    """Bad input for the option ``field``; ``str()`` is ``"<field>: <message>"``.

    The one way a module, or a check it calls, reports bad input; ``GoughModule.run`` turns it into
    ``fail_json(msg=str(exc), field=exc.field)``. Raise it before the first write.
    """

    def __init__(self, field, message):
        super(BadInput, self).__init__("%s: %s" % (field, message))
        self.field = field
        self.message = message


def _number(value):
    """``value`` as shown in a message: ``5`` rather than ``5.0``."""
    return "%g" % value if isinstance(value, float) else str(value)


def check_positive(params, name, zero=False):
    """Raise ``BadInput`` unless ``params[name]`` is a positive number of seconds (or 0 with ``zero``); None passes."""
    value = params.get(name)
    if value is None:
        return
    if zero and value < 0:
        raise BadInput(name, "must be 0 or more seconds, got %s." % _number(value))
    if not zero and value <= 0:
        raise BadInput(name, "must be a positive number of seconds, got %s." % _number(value))


def check_wait(params, timeout="wait_timeout", interval="poll_interval", zero_timeout=False):
    """Check a module's wait options with the same messages in every module; raise ``BadInput`` naming the option.

    ``params[timeout]`` must be a positive number of seconds (0 allowed with ``zero_timeout``: look once, do not
    wait), ``params[interval]`` a positive number of seconds no longer than the timeout (unless the timeout is 0).
    Options that are not set (None) are not checked.
    """
    check_positive(params, timeout, zero=zero_timeout)
    check_positive(params, interval)
    wait, every = params.get(timeout), params.get(interval)
    if wait and every is not None and every > wait:
        raise BadInput(interval, "must not be longer than %s (%s > %s seconds)."
                       % (timeout, _number(every), _number(wait)))


def require_text(params, name):
    """``params[name]`` without surrounding blanks; raise ``BadInput`` when it is set but blank (None stays None)."""
    value = params.get(name)
    if value is None:
        return None
    if not value.strip():
        raise BadInput(name, "must not be empty.")
    return value.strip()


def check_connection(params):
    """Check the connection options every module shares (``timeout``, ``retries``); raise ``BadInput``."""
    check_positive(params, "timeout")
    if params.get("retries") is not None and params["retries"] < 0:
        raise BadInput("retries", "must be 0 or more, got %d." % params["retries"])


def connection_argument_spec(api):
    """The connection options of ``api`` (``maas`` or ``fleet``), as documented in its doc fragment."""
    if api == "maas":
        from ansible_collections.gough.gough.plugins.module_utils.maas import maas_argument_spec
        return maas_argument_spec()
    if api == "fleet":
        from ansible_collections.gough.gough.plugins.module_utils.fleet import fleet_argument_spec
        return fleet_argument_spec()
    raise ValueError("api must be one of %s, not %r" % (", ".join(APIS), api))


def connect(api, params, **overrides):
    """A ``MAASClient`` or ``FleetClient`` from the connection options in ``params``; ``overrides`` go to the client.

    Bad options raise ``BadInput`` naming them (``url``, ``api_key``, ``api_token``, ``ca_path``, ``timeout``,
    ``retries``) and never showing a secret. Makes no request.
    """
    check_connection(params)
    if api == "maas":
        from ansible_collections.gough.gough.plugins.module_utils import maas
        try:
            maas.parse_api_key(params.get("api_key"))
        except maas.MAASKeyError as exc:
            raise BadInput("api_key", str(exc))
        try:
            maas.normalize_api_url(params.get("url"))
        except maas.MAASError as exc:
            raise BadInput("url", str(exc))
        return maas.client_from_params(params, **overrides)
    if api == "fleet":
        from ansible_collections.gough.gough.plugins.module_utils import fleet
        try:
            fleet.normalize_base_url(params.get("url"))
        except fleet.FleetError as exc:
            raise BadInput("url", str(exc))
        try:
            return fleet.client_from_params(params, **overrides)
        except fleet.FleetError as exc:
            text = str(exc)
            raise BadInput("api_token" if "token" in text else "ca_path" if "ca_path" in text else "url", text)
    raise ValueError("api must be one of %s, not %r" % (", ".join(APIS), api))


def _wait_timeout():
    """The ``WaitTimeout`` class of the polling helper (imported here: the helper may import ``BadInput``)."""
    from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout
    return WaitTimeout


def error_result(exc):
    """The ``fail_json`` keywords for ``exc``, one of the failures ``GoughModule.run`` maps.

    ``BadInput``: ``msg`` and ``field``. A MAAS or Fleet error: ``msg``, its HTTP details (``status``, ``method``,
    ``url``, MAAS ``field_errors`` or Fleet ``fleet_errors``) and, when Fleet named one, the rejected ``field``.
    A ``WaitTimeout``: ``msg``, ``waited`` (seconds) and ``last`` (the last state read, when there is one).
    """
    if isinstance(exc, BadInput):
        return dict(msg=str(exc), field=exc.field)
    if isinstance(exc, ApiError):
        result = dict(exc.details(), msg=str(exc))
        if getattr(exc, "field", None):
            result["field"] = exc.field
        return result
    result = dict(msg=str(exc), waited=round(exc.elapsed, 1))
    if exc.last is not None:
        result["last"] = exc.last
    return result


class GoughModule(object):
    """An ``AnsibleModule`` for one API, with its connection options, one client and one way to fail.

    ``GoughModule(api, argument_spec, **ansible_module_kwargs)``: ``api`` is ``"maas"`` or ``"fleet"``;
    ``argument_spec`` holds the module's own options, to which the API's connection options are added (a module
    option of the same name wins); the keyword arguments go to ``AnsibleModule`` (``supports_check_mode``,
    ``mutually_exclusive``, ``required_if``...).

    Attributes: ``ansible`` (the ``AnsibleModule``), ``params``, ``check_mode``, ``diff_mode``, ``api`` and
    ``client`` (the ``MAASClient`` or ``FleetClient``, built on first use; bad connection options raise
    ``BadInput``). Assigning ``client`` replaces it (for tests or a client built with other options).
    """

    def __init__(self, api, argument_spec, **ansible_module_kwargs):
        spec = connection_argument_spec(api)
        spec.update(argument_spec)
        self.api = api
        self.ansible = AnsibleModule(argument_spec=spec, **ansible_module_kwargs)
        self.params = self.ansible.params
        self.check_mode = self.ansible.check_mode
        self.diff_mode = bool(self.ansible._diff)
        self._client = None

    @property
    def client(self):
        """The API client, built from the connection options on first use."""
        if self._client is None:
            self._client = connect(self.api, self.params)
        return self._client

    @client.setter
    def client(self, value):
        self._client = value

    def warn(self, message):
        """Add a warning to the task result."""
        self.ansible.warn(message)

    def finish(self, result):
        """The result ``run`` exits with: ``changed`` defaults to False; ``diff`` only in diff mode.

        In diff mode a result with ``before`` and ``after`` and no ``diff`` gets ``diff: {before, after}``; out of
        diff mode any ``diff`` is left out.
        """
        result = dict(result)
        result.setdefault("changed", False)
        if not self.diff_mode:
            result.pop("diff", None)
        elif "diff" not in result and "before" in result and "after" in result:
            result["diff"] = {"before": result["before"], "after": result["after"]}
        return result

    def run(self, work):
        """Check the connection options, call ``work(self)`` and exit with the dict it returns.

        ``BadInput``, MAAS and Fleet errors and ``WaitTimeout`` end in one ``fail_json`` (see ``error_result``);
        other exceptions are bugs and propagate with their traceback. The client is closed either way. Bad
        connection options fail before ``work`` runs.
        """
        failure = result = None
        try:
            if self._client is None:
                self._client = connect(self.api, self.params)
            result = self.finish(work(self))
        except (BadInput, ApiError, _wait_timeout()) as exc:
            failure = error_result(exc)
        finally:
            if self._client is not None and hasattr(self._client, "close"):
                self._client.close()
        if failure is not None:
            self.ansible.fail_json(**failure)
        self.ansible.exit_json(**result)
