# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Old name of ``entity`` (the lifecycle is not MAAS-specific); kept so imports hold until every module uses ``entity``.

Runs inside modules, so it imports only the standard library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.gough.gough.plugins.module_utils.entity import (  # noqa: F401 pylint: disable=unused-import
    EntitySpec,
    entity_changes,
    entity_diff,
    ensure_entity,
)
