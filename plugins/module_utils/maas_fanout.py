# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Sending one request per machine for many machines at once, with bounded concurrency.

``map_concurrently`` calls a function for many items on a few threads and keeps each item's ``MAASError``
apart, so one machine's failure does not stop the others; ``fire_machine_op`` sends one machine op (deploy,
release, commission, ...) to many machines that way, each made safe to retry by a ``took_effect`` predicate.

Runs inside modules, so it imports only the standard library and ``ansible_collections.gough``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.gough.gough.plugins.module_utils.gough_module import BadInput
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError

DEFAULT_CONCURRENCY = 16


def check_concurrency(params, name="concurrency"):
    """Raise ``BadInput`` unless ``params[name]`` (the most requests in flight) is 1 or more; None passes."""
    if params.get(name) is not None and params[name] < 1:
        raise BadInput(name, "must be 1 or more, got %d." % params[name])


def map_concurrently(function, items, concurrency=DEFAULT_CONCURRENCY):
    """Call ``function(item)`` for every item on at most ``concurrency`` threads; return ``{item: (value, error)}``.

    ``error`` is the ``MAASError`` the call raised (``value`` is then None); other exceptions propagate.
    """
    items = list(dict.fromkeys(items))
    results = {}

    def call(item):
        try:
            return item, function(item), None
        except MAASError as exc:
            return item, None, exc

    if not items:
        return results
    workers = max(1, min(int(concurrency or 1), len(items)))
    if workers == 1:
        outcomes = [call(item) for item in items]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            outcomes = list(pool.map(call, items))
    for item, value, error in outcomes:
        results[item] = (value, error)
    return results


def fire_machine_op(client, system_ids, op, data=None, took_effect=None, concurrency=DEFAULT_CONCURRENCY, before=None,
                    op_times=None, clock=time.monotonic):
    """POST ``op`` to every machine in ``system_ids`` with at most ``concurrency`` requests in flight.

    ``data`` is the form (a dict, or a callable ``data(system_id)``). ``took_effect(machine)`` makes a lost
    response safe: the machine is re-read and the op resent only if it did not happen and the machine did not move
    from what ``before`` (``{system_id: machine}``) shows (see ``MAASClient.machine_op``). Returns
    ``{system_id: (machine or None, MAASError or None)}``; one machine's failure does not stop the others.
    ``op_times``, a dict, gets ``system_id: (sent, answered)`` (times of ``clock``) for every op MAAS answered.
    """
    def one(system_id):
        form = data(system_id) if callable(data) else data
        sent = clock() if op_times is not None else None
        machine = client.machine_op(system_id, op, data=form, took_effect=took_effect,
                                    before=(before or {}).get(system_id))
        if op_times is not None:
            op_times[system_id] = (sent, clock())
        return machine
    return map_concurrently(one, system_ids, concurrency)
