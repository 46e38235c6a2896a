# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Old home of the batch code, split by concern; only names other modules still import from here remain.

Querying is in ``maas_query``, sending one op to many machines in ``maas_fanout``, the deployment engine in
``maas_deployment`` and the polling loop in ``polling``. ``gough.gough.maas_tag`` still imports
``find_named_machines`` from here; once it imports it from ``maas_query``, this file goes.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.maas_query import find_named_machines

__all__ = ["find_named_machines"]
