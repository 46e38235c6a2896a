# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The maas_deploy action plugin turns the engine's progress counts into the progress lines the docs show."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.action.maas_deploy import format_duration, progress_line
from ansible_collections.gough.gough.plugins.module_utils.maas_deployment import Progress


@pytest.mark.parametrize("progress, elapsed, line", [
    (Progress("deployed", 37, 61, 2, 100), 252, "maas_deploy: 37/100 deployed, 61 deploying, 2 failed, 4m12s"),
    (Progress("deployed", 2, 0, 0, 2), 9.7, "maas_deploy: 2/2 deployed, 0 deploying, 0 failed, 9s"),
    (Progress("released", 1, 3, 0, 4), 3780, "maas_deploy: 1/4 released, 3 releasing, 0 failed, 1h03m"),
])
def test_progress_line_has_the_documented_format(progress, elapsed, line):
    assert progress_line(progress, elapsed) == line


def test_durations_are_short():
    assert [format_duration(s) for s in (-1, 0, 59, 60, 3599, 3600)] == ["0s", "0s", "59s", "1m00s", "59m59s", "1h00m"]
