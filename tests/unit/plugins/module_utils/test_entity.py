# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared entity lifecycle: what changes, what is written, what check mode predicts, what the diff shows."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.module_utils.entity import (
    EntitySpec,
    ensure_entity,
    entity_changes,
    entity_diff,
    find_named,
    pick,
)

FIELDS = {"name": "", "comment": "", "members": []}


class RecordingStore(object):
    """An in-memory entity store that records every write the lifecycle makes."""

    def __init__(self, entity=None):
        self.entity = entity
        self.writes = []

    def spec(self):
        return EntitySpec(FIELDS, self.create, self.update, self.delete)

    def create(self, payload):
        self.writes.append(("create", payload))
        self.entity = dict(FIELDS, **payload)
        return dict(self.entity)

    def update(self, entity, changes):
        self.writes.append(("update", changes))
        self.entity = dict(entity, **changes)
        return dict(self.entity)

    def delete(self, entity):
        self.writes.append(("delete", entity["name"]))
        self.entity = None


def test_pick_keeps_only_the_named_fields_and_gives_none_for_missing_ones():
    assert pick({"id": 1, "name": "web", "secret": "x"}, ("id", "name", "description")) == \
        {"id": 1, "name": "web", "description": None}
    assert pick(None, ("id",)) == {} and pick({}, ("id",)) == {}


def test_find_named_matches_the_exact_name_only():
    items = [{"name": "web-1"}, {"name": "web"}, {"name": "web"}]
    assert find_named(items, "web") is items[1]
    assert find_named(items, "WEB") is None and find_named([], "web") is None


def test_changes_ignore_unset_fields_and_list_order():
    current = {"name": "a", "comment": "x", "members": ["b", "a"]}
    assert entity_changes(current, {"name": "a", "comment": None, "members": ["a", "b"]}) == {}
    assert entity_changes(current, {"comment": ""}) == {"comment": ""}
    assert entity_changes(None, {"name": "a", "comment": None}) == {"name": "a"}


def test_diff_shows_only_managed_fields_and_empty_for_an_absent_side():
    diff = entity_diff({"name": "a", "id": 3}, None, ["name", "comment"])
    assert diff == {"before": {"name": "a"}, "after": {}}


@pytest.mark.parametrize("check_mode", [False, True])
def test_missing_entity_is_created_with_the_wanted_fields(check_mode):
    store = RecordingStore()
    result = ensure_entity(store.spec(), None, {"name": "a", "comment": "hi", "members": None}, "present",
                           check_mode)
    assert result["changed"] is True
    assert result["entity"] == {"name": "a", "comment": "hi", "members": []}
    assert result["diff"] == {"before": {}, "after": {"name": "a", "comment": "hi", "members": []}}
    assert store.writes == ([] if check_mode else [("create", {"name": "a", "comment": "hi"})])


@pytest.mark.parametrize("check_mode", [False, True])
def test_existing_entity_gets_only_the_changed_fields(check_mode):
    current = {"name": "a", "comment": "old", "members": ["m1"]}
    store = RecordingStore(dict(current))
    result = ensure_entity(store.spec(), current, {"name": "a", "comment": "new", "members": ["m1"]}, "present",
                           check_mode)
    assert result["changed"] is True
    assert result["entity"]["comment"] == "new"
    assert result["diff"]["before"]["comment"] == "old" and result["diff"]["after"]["comment"] == "new"
    assert store.writes == ([] if check_mode else [("update", {"comment": "new"})])
    assert current["comment"] == "old"  # check mode must not mutate the caller's entity


def test_entity_already_as_wanted_is_not_written():
    current = {"name": "a", "comment": "same", "members": []}
    store = RecordingStore(dict(current))
    result = ensure_entity(store.spec(), current, {"name": "a", "comment": "same"}, "present", False)
    assert result == {"changed": False, "entity": current, "diff": {"before": current, "after": current}}
    assert store.writes == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_deletes_an_existing_entity(check_mode):
    current = {"name": "a", "comment": "", "members": []}
    store = RecordingStore(dict(current))
    result = ensure_entity(store.spec(), current, {"name": "a"}, "absent", check_mode)
    assert result["changed"] is True and result["entity"] is None
    assert result["diff"] == {"before": current, "after": {}}
    assert store.writes == ([] if check_mode else [("delete", "a")])


def test_absent_entity_stays_absent_without_writes():
    store = RecordingStore()
    result = ensure_entity(store.spec(), None, {"name": "a"}, "absent", False)
    assert result == {"changed": False, "entity": None, "diff": {"before": {}, "after": {}}}
    assert store.writes == []
