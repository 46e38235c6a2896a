# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: backup_expired
short_description: The backups a keep-N-daily, keep-M-weekly retention removes
version_added: 0.1.0
author: Gough developers
description:
  - Takes the names of Gough's backups (C(gough-YYYYMMDDTHHMMSSZ), UTC) and returns those a retention of
    O(keep_daily) daily and O(keep_weekly) weekly backups does not keep.
  - Kept are the newest backup of each of the O(keep_daily) most recent days that have a backup, and the newest
    backup of each of the O(keep_weekly) most recent ISO weeks that have one. The newest backup is always kept when
    O(keep_daily) is at least 1.
  - Names that do not have that form are neither kept nor removed (they are not returned).
options:
  _input:
    description: Backup names (directory names, not paths).
    type: list
    elements: str
    required: true
  keep_daily:
    description: How many days keep their newest backup (at least 1).
    type: int
    required: true
  keep_weekly:
    description: How many ISO weeks keep their newest backup (0 or more).
    type: int
    required: true
"""

EXAMPLES = r"""
- name: Names of the backups to delete
  ansible.builtin.debug:
    msg: "{{ ['gough-20260105T020000Z', 'gough-20260104T020000Z', 'gough-20260104T010000Z']
             | gough.gough.backup_expired(1, 1) }}"
    # -> ['gough-20260104T020000Z', 'gough-20260104T010000Z'] (20260105 is a Monday, a new ISO week; the
    #    weekly slot goes to the newest backup, the same one as the daily slot)
"""

RETURN = r"""
_value:
  description: The names retention removes, newest first.
  type: list
  elements: str
"""

import datetime
import re

from ansible.errors import AnsibleFilterError

NAME = re.compile(r"^gough-(\d{8}T\d{6}Z)$")


def backup_expired(names, keep_daily, keep_weekly):
    """Names of the backups a keep-N-daily, keep-M-weekly retention removes (newest first)."""
    try:
        keep_daily, keep_weekly = int(keep_daily), int(keep_weekly)
    except (TypeError, ValueError):
        raise AnsibleFilterError("backup_expired: keep_daily and keep_weekly must be whole numbers")
    if keep_daily < 1 or keep_weekly < 0:
        raise AnsibleFilterError("backup_expired: keep_daily must be at least 1 and keep_weekly at least 0, got %d "
                                 "and %d" % (keep_daily, keep_weekly))
    dated = []
    for name in names:
        match = NAME.match(str(name))
        if match:
            try:
                dated.append((datetime.datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ"), str(name)))
            except ValueError:
                continue
    dated.sort(reverse=True)
    days, weeks, keep = [], [], set()
    for when, name in dated:
        day = when.date()
        week = when.isocalendar()[:2]
        if day not in days and len(days) < keep_daily:
            days.append(day)
            keep.add(name)
        if week not in weeks and len(weeks) < keep_weekly:
            weeks.append(week)
            keep.add(name)
    return [name for _when, name in dated if name not in keep]


class FilterModule(object):
    """Gough's filters."""

    def filters(self):
        return {"backup_expired": backup_expired}
