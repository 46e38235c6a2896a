# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What gough.gough.files does on the target: compare each entry with what is there, validate new content, then
write, chmod, chown, make or remove only what differs. Every entry is planned before the first change."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import stat
import tempfile

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.gough.gough.plugins.module_utils.owners import id_of


class FilesError(Exception):
    """A bad entry, with its path in the message."""


def _mode(value, path):
    try:
        mode = int(value, 8)
    except (TypeError, ValueError):
        raise FilesError("%s: mode must be an octal string such as \"0644\", got %r" % (path, value))
    if mode < 0 or mode > 0o7777:
        raise FilesError("%s: mode %s is out of range" % (path, value))
    return mode


def _wanted_ids(entry, path, check_mode):
    """Mode, uid and gid of an entry. In check mode a user or group that does not exist yet (an earlier task
    would have made it) is not an error: the file is reported as differing in its owner or group."""
    wanted = dict(mode=_mode(entry["mode"], path), unknown=[])
    for key, option, kind in (("uid", "owner", "user"), ("gid", "group", "group")):
        wanted[key] = None if entry[option] is None else id_of(option, entry[option])
        if entry[option] is not None and wanted[key] is None:
            if not check_mode:
                raise FilesError("%s: no %s named %s on the target" % (path, kind, entry[option]))
            wanted["unknown"].append(option)
    return wanted


def _chown(target, wanted, change=os.chown):
    """Give ``target`` (a path, or a file descriptor with ``change=os.fchown``) the wanted uid and gid, if any."""
    if wanted["uid"] is not None or wanted["gid"] is not None:
        change(target, -1 if wanted["uid"] is None else wanted["uid"], -1 if wanted["gid"] is None else wanted["gid"])


def _attribute_differs(current, wanted):
    differs = []
    if stat.S_IMODE(current.st_mode) != wanted["mode"]:
        differs.append("mode")
    if "owner" in wanted["unknown"] or (wanted["uid"] is not None and current.st_uid != wanted["uid"]):
        differs.append("owner")
    if "group" in wanted["unknown"] or (wanted["gid"] is not None and current.st_gid != wanted["gid"]):
        differs.append("group")
    return differs


def plan_entry(entry, made_dirs, check_mode=False):
    """Compare one entry with the target. Returns (differs, wanted, before) without changing anything.

    ``made_dirs`` holds the directories that earlier entries create; a file may be in one of them."""
    path = entry["path"]
    if not os.path.isabs(path):
        raise FilesError("%s: path must be absolute" % path)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        current = None
    state = entry["state"]
    if state == "directory":
        if current is not None and stat.S_ISLNK(current.st_mode) and os.path.isdir(path):
            # A link to a directory (a data directory on another disk) is followed, as ansible.builtin.file does:
            # the mode, owner and group are those of the directory it points to.
            current = os.stat(path)
        if current is not None and not stat.S_ISDIR(current.st_mode):
            raise FilesError("%s: exists and is not a directory; refusing to replace it" % path)
    elif current is not None and not (stat.S_ISREG(current.st_mode) or stat.S_ISLNK(current.st_mode)):
        raise FilesError("%s: is not a regular file (a directory or a special file); refusing to replace it" % path)
    if state == "absent":
        for option in ("content", "secret", "mode", "owner", "group", "validate"):
            if entry[option] is not None:
                raise FilesError("%s: %s is only for state=present" % (path, option))
        return (["exists"] if current is not None else []), None, None
    if state == "directory":
        for option in ("content", "secret", "validate"):
            if entry[option] is not None:
                raise FilesError("%s: %s is only for state=present" % (path, option))
    elif (entry["content"] is None) == (entry["secret"] is None):
        raise FilesError("%s: give one of content and secret when state=present" % path)
    if entry["mode"] is None:
        raise FilesError("%s: mode is required when state=%s" % (path, state))
    wanted = _wanted_ids(entry, path, check_mode)
    wanted["directory"] = state == "directory"
    if state == "directory":
        if current is None:
            # Its missing parents are made with it: a later file may be in any of them.
            made = os.path.normpath(path)
            while made not in made_dirs and not os.path.isdir(made):
                made_dirs.add(made)
                made = os.path.dirname(made)
            return ["exists"], wanted, None
        return _attribute_differs(current, wanted), wanted, None
    parent = os.path.dirname(os.path.normpath(path))
    if parent not in made_dirs and not os.path.isdir(parent):
        if not check_mode:
            raise FilesError("%s: its directory %s does not exist" % (path, parent))
        current = None
    text = entry["secret"] if entry["content"] is None else entry["content"]
    wanted["content"] = to_bytes(text, errors="surrogate_or_strict")
    if current is None:
        return ["exists"], wanted, None
    if stat.S_ISLNK(current.st_mode):
        return ["type"], wanted, None
    with open(path, "rb") as stream:
        before = stream.read()
    differs = ["content"] if before != wanted["content"] else []
    return differs + _attribute_differs(current, wanted), wanted, before


def write_file(path, wanted):
    """Write the content through a temporary file in the same directory, then rename it over ``path``."""
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(wanted["content"])
            stream.flush()
            os.fchmod(stream.fileno(), wanted["mode"])
            _chown(stream.fileno(), wanted, change=os.fchown)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def validate(run_command, entry, wanted):
    """Run the entry's validate command on a temporary copy of the new content; raise FilesError when it fails."""
    path, command = entry["path"], entry["validate"]
    if "%s" not in command:
        raise FilesError("%s: validate must contain %%s, where the temporary file goes: %s" % (path, command))
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(wanted["content"])
        os.chmod(temporary, wanted["mode"])
        rc, out, err = run_command(command % temporary)
    finally:
        os.unlink(temporary)
    if rc != 0:
        raise FilesError("%s: the new content failed validation (%s, exit %d): %s"
                         % (path, command, rc, (err or out).strip()[-2000:]))


def apply_entry(path, differs, wanted):
    if wanted is None:
        os.unlink(path)
    elif wanted["directory"] and "exists" in differs:
        # An earlier entry (a directory inside this one) may have made it already: it then gets its mode and owner.
        os.makedirs(path, exist_ok=True)
        os.chmod(path, wanted["mode"])
        _chown(path, wanted)
    elif set(differs) & {"content", "exists", "type"}:
        write_file(path, wanted)
    else:
        if "mode" in differs:
            os.chmod(path, wanted["mode"])
        if "owner" in differs or "group" in differs:
            _chown(path, wanted)


def converge(entries, check_mode, diff, run_command):
    """Plan every entry, validate new content, then apply (not in check mode); the module's result."""
    seen = set()
    for entry in entries:
        path = os.path.normpath(entry["path"])
        if path in seen:
            raise FilesError("%s: given more than once" % entry["path"])
        seen.add(path)
    made_dirs = set()
    plans = [plan_entry(entry, made_dirs, check_mode) for entry in entries]
    if not check_mode:
        for entry, (differs, wanted, before) in zip(entries, plans):
            if entry["validate"] and set(differs) & {"content", "exists", "type"}:
                validate(run_command, entry, wanted)
    results, diffs, changed_tags = [], [], []
    for entry, (differs, wanted, before) in zip(entries, plans):
        changed = bool(differs)
        results.append(dict(path=entry["path"], state=entry["state"], changed=changed, differs=differs,
                            tag=entry["tag"]))
        if changed and entry["tag"] and entry["tag"] not in changed_tags:
            changed_tags.append(entry["tag"])
        if changed and diff:
            diffs.append(_diff(entry, differs, wanted, before))
    if not check_mode:
        for entry, (differs, wanted, before) in zip(entries, plans):
            if differs:
                apply_entry(entry["path"], differs, wanted)
    changed = any(result["changed"] for result in results)
    output = dict(changed=changed, files=results, changed_tags=changed_tags)
    if diffs:
        output["diff"] = diffs
    return output


def _diff(entry, differs, wanted, before):
    path = entry["path"]
    if wanted is None:
        return dict(before_header=path, after_header=path, before="(present)\n", after="(absent)\n")
    if wanted["directory"]:
        return dict(before_header=path, after_header=path,
                    before="(absent)\n" if "exists" in differs else "(directory)\n",
                    after="(directory; %s changed)\n" % ", ".join(differs))
    if entry["secret"] is not None:
        return dict(before_header=path, after_header=path, before="(secret)\n",
                    after="(secret; %s changed)\n" % ", ".join(differs))
    return dict(before_header=path, after_header=path,
                before="" if before is None else to_text(before, errors="surrogate_or_replace"),
                after=to_text(wanted["content"], errors="surrogate_or_replace"))
