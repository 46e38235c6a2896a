# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Old home of the polling loop and the event reads; only names other modules still import from here remain.

The one polling loop (``wait_until``, ``WaitTimeout``) is in ``polling``; a machine's events (``latest_events``,
``latest_event_id``, ``describe_events``) are in ``maas_query``. ``gough.gough.maas_machine`` still imports them
from here; once it imports them from those modules, this file goes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.maas_query import (
    describe_events,
    latest_event_id,
    latest_events,
)
from ansible_collections.gough.gough.plugins.module_utils.polling import WaitTimeout, wait_until

__all__ = ["WaitTimeout", "describe_events", "latest_event_id", "latest_events", "wait_until"]
