# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Owner and group names on the target, as the modules that compare a file's owner take them."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import grp
import pwd


def id_of(what, name):
    """The uid (``what`` is ``"owner"``) or gid (``"group"``) of a name or number; None when there is no such user or
    group."""
    if str(name).isdigit():
        return int(name)
    try:
        return pwd.getpwnam(name).pw_uid if what == "owner" else grp.getgrnam(name).gr_gid
    except KeyError:
        return None
