# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The present/absent lifecycle of an API entity (a MAAS tag, a Fleet team or policy, ...), written once.

A module reads the current entity (or None), states the fields it manages and how to create, update and delete
the entity, and calls ``ensure_entity``. Comparison, check mode (no write at all), the before/after diff and the
``changed`` flag are handled here, the same way for every module. ``pick`` and ``find_named`` are the small
projections modules build their reads from.

Runs inside modules, so it imports only the standard library.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy


class EntitySpec(object):
    """What a module says about its entity.

    ``fields`` maps each managed field to the value the server gives it when it is not set at creation (used to
    predict the entity in check mode). ``create(payload)`` receives the fields to set and returns the new entity;
    ``update(entity, changes)`` receives the current entity and only the changed fields and returns the updated
    entity; ``delete(entity)`` removes it. Only ``fields`` appear in the diff.
    """

    def __init__(self, fields, create, update, delete):
        self.fields = dict(fields)
        self.create = create
        self.update = update
        self.delete = delete


def pick(entity, fields):
    """``entity`` restricted to ``fields`` (missing ones as None); ``{}`` for no entity."""
    if not entity:
        return {}
    return dict((field, entity.get(field)) for field in fields)


def find_named(items, name):
    """The first item whose ``name`` is exactly ``name``, or None."""
    for item in items:
        if item.get("name") == name:
            return item
    return None


def _same(current, wanted):
    """Values compare equal; lists are compared as sets of items (order carries no meaning in MAAS or Fleet)."""
    if isinstance(current, (list, tuple)) and isinstance(wanted, (list, tuple)):
        return sorted(current) == sorted(wanted)
    return current == wanted


def entity_changes(current, desired):
    """Return ``{field: wanted}`` for every field of ``desired`` that is not None and differs from ``current``.

    ``current`` None means the entity does not exist, so every wanted field is a change.
    """
    current = current or {}
    return dict((field, wanted) for field, wanted in desired.items()
                if wanted is not None and (field not in current or not _same(current[field], wanted)))


def entity_diff(before, after, fields):
    """The ``diff`` Ansible shows: ``before`` and ``after`` restricted to ``fields``; ``{}`` for an absent side."""
    def view(entity):
        if entity is None:
            return {}
        return dict((field, entity.get(field)) for field in fields if field in entity)
    return {"before": view(before), "after": view(after)}


def ensure_entity(spec, current, desired, state, check_mode):
    """Bring the entity to ``state`` (``present`` or ``absent``) with the fields of ``desired``.

    ``desired`` holds the managed fields the user set (None means "leave as it is"). In check mode nothing is
    written and the entity is predicted from ``current``, ``desired`` and the creation defaults of ``spec``.
    Returns ``{"changed": bool, "entity": dict or None, "diff": {"before": ..., "after": ...}}``.
    """
    fields = list(spec.fields)
    if state == "absent":
        if current is None:
            return {"changed": False, "entity": None, "diff": entity_diff(None, None, fields)}
        if not check_mode:
            spec.delete(current)
        return {"changed": True, "entity": None, "diff": entity_diff(current, None, fields)}

    changes = entity_changes(current, desired)
    if current is None:
        predicted = dict(spec.fields)
        predicted.update(changes)
        entity = predicted if check_mode else spec.create(changes)
        return {"changed": True, "entity": entity, "diff": entity_diff(None, entity, fields)}
    if not changes:
        return {"changed": False, "entity": current, "diff": entity_diff(current, current, fields)}
    if check_mode:
        entity = copy.deepcopy(current)
        entity.update(changes)
    else:
        entity = spec.update(current, changes)
    return {"changed": True, "entity": entity, "diff": entity_diff(current, entity, fields)}
