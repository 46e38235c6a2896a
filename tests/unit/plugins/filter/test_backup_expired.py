# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""gough.gough.backup_expired: which backups a keep-N-daily, keep-M-weekly retention removes."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.gough.gough.plugins.filter.backup_expired import backup_expired


def nightly(days, start=datetime.datetime(2026, 3, 31, 2, 0)):
    """One backup a night for ``days`` nights, newest first."""
    return ["gough-%s" % (start - datetime.timedelta(days=n)).strftime("%Y%m%dT%H%M%SZ") for n in range(days)]


def test_keeps_the_newest_of_the_last_n_days_and_of_the_last_m_weeks():
    names = nightly(60)
    removed = backup_expired(names, 7, 4)
    kept = [n for n in names if n not in removed]
    # 2026-03-31 is a Tuesday: the last 7 nights (24-31 March, weeks 13 and 14), plus the newest backup of weeks
    # 12 and 11 (Sundays 22 and 15 March); weeks 14 and 13 keep a backup the daily slots already hold.
    assert kept == names[:7] + ["gough-20260322T020000Z", "gough-20260315T020000Z"]
    assert set(removed) | set(kept) == set(names) and not set(removed) & set(kept)


def test_several_backups_a_day_keep_only_the_newest_of_each_day():
    names = ["gough-20260331T230000Z", "gough-20260331T020000Z", "gough-20260330T020000Z"]
    assert backup_expired(names, 2, 0) == ["gough-20260331T020000Z"]


def test_the_newest_backup_is_always_kept_and_foreign_names_are_left_alone():
    names = ["gough-20260331T020000Z", "notes.txt", "gough-20260330T020000Z.partial", "gough-2026"]
    assert backup_expired(names, 1, 0) == []
    assert backup_expired(names + ["gough-20200101T000000Z"], 1, 0) == ["gough-20200101T000000Z"]


def test_bad_counts_are_refused():
    with pytest.raises(AnsibleFilterError, match="keep_daily must be at least 1"):
        backup_expired([], 0, 4)
    with pytest.raises(AnsibleFilterError, match="whole numbers"):
        backup_expired([], "x", 4)
