# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
name: sink_record_count
short_description: How many whole records the lab sink's JSON-lines file holds
version_added: 0.1.0
author: Gough developers
description:
  - Takes the text of the lab webhook sink's file and returns the number of whole records in it (lines that end
    with a newline); a last line still being written is not counted.
  - Give the result to P(gough.gough.sink_alerts#filter) as its C(skip) argument to look only at the notifications
    received after that point.
  - Counts in Python, not with a template's C(split); the records' JSON holds escaped newlines (chat messages and
    mail have multi-line text), which a template's string splitting can take for line ends.
options:
  _input:
    description: The file's text.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Read the sink's file before the drill
  ansible.builtin.slurp:
    src: "{{ lab_dir }}/stack/sink/notifications.jsonl"
  register: sink_before

- name: Remember where the drill starts
  ansible.builtin.set_fact:
    drill_skip: "{{ sink_before.content | b64decode | gough.gough.sink_record_count }}"
"""

RETURN = r"""
_value:
  description: The number of whole records.
  type: int
"""


def sink_record_count(text):
    """The number of newline-terminated records in ``text``."""
    return str(text or "").count("\n")


class FilterModule(object):
    """Filters for the lab's webhook sink."""

    def filters(self):
        return {"sink_record_count": sink_record_count}
