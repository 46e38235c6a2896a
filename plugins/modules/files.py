#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: files
short_description: Keep many small files on a host in one module run, writing only those that differ
version_added: 0.1.0
description:
  - Compares each file of O(files) on the target with the content, mode, owner and group it should have, and puts
    right only what differs. A file whose content differs is written whole, through a temporary file in the same
    directory that is then renamed over it, so readers never see half a file. A file that differs only in its mode,
    owner or group keeps its content and gets the mode, owner or group.
  - Every entry is checked before the first change; a bad entry (a missing directory, a directory where a file
    should be, an unknown user) fails the task naming the entry's path, and nothing is written. In check mode a
    directory, user or group that does not exist yet is not an error (an earlier task of the run would make it);
    the entry is reported as differing (V(exists), V(owner) or V(group)).
  - One module run replaces one C(ansible.builtin.template) or C(ansible.builtin.copy) task per file. The content
    is rendered on the controller as for any module option, for example with the C(ansible.builtin.template) or
    C(ansible.builtin.file) lookup.
  - The roles of this collection keep their configuration files with it, and restart a service only when one of
    its files changed (RV(changed_tags)).
author:
  - Gough developers (@gough)
options:
  files:
    description: The files to keep, each given once.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file on the target. Its directory must exist.
        type: path
        required: true
      state:
        description:
          - V(present) keeps the file with O(files[].content); V(absent) removes it when it is there; V(directory)
            keeps a directory with O(files[].mode), O(files[].owner) and O(files[].group), made when missing
            (with its missing parents, which get the default mode and owner) and never emptied.
          - For V(present) and V(absent), a directory or any other file that is not a regular file or a symbolic
            link is refused. A symbolic link is replaced by the file (V(present)) or removed (V(absent)); what it
            pointed to is left alone. For V(directory), anything there that is not a directory is refused.
          - A file may be in a directory that an earlier entry makes.
        type: str
        choices: [present, absent, directory]
        default: present
      content:
        description:
          - The whole content, as text (written in UTF-8). For V(present), give O(files[].content) or
            O(files[].secret).
          - A final newline is kept as given; the C(ansible.builtin.file) lookup drops it unless C(rstrip=false).
        type: str
      secret:
        description:
          - The whole content of a file that holds a secret, in place of O(files[].content). It never appears in the
            result, in a diff, or in the arguments the module logs on the target.
          - Set C(no_log) on the task as well, so that the file names and what changed stay out of the output too.
        type: str
      mode:
        description:
          - Permissions as an octal string, for example V("0644"). Required unless O(files[].state=absent).
        type: str
      owner:
        description: Owner, a name or a numeric uid. When not set, a new file is the module user's and an existing
          file keeps its owner.
        type: str
      group:
        description: Group, a name or a numeric gid. When not set, a new file gets the module user's group and an
          existing file keeps its group.
        type: str
      validate:
        description:
          - A command that checks the new content before it replaces the file, with V(%s) where the path of a
            temporary file holding it goes, for example V(/usr/sbin/nft -c -f %s). It runs without a shell.
          - It runs only when the content is to be written, and for every such entry before the first file is
            written; when it fails, the task fails naming the entry's path and writes nothing.
          - Not run in check mode, as for C(ansible.builtin.template).
        type: str
      tag:
        description: A name for the file's purpose, returned in RV(changed_tags) when the file changed, for example the
          service that must reload it.
        type: str
attributes:
  check_mode:
    support: full
    description: Reports what would change, writing nothing.
  diff_mode:
    support: full
    description: Shows the content before and after of each file that changes, except secrets.
notes:
  - SELinux contexts and other file attributes are not managed.
  - Content is compared byte for byte; the file is read whole, so the module is meant for configuration files, not
    for large data.
"""

EXAMPLES = r"""
- name: The service's configuration and its secret, in one module run
  gough.gough.files:
    files:
      - path: /srv/app/app.conf
        content: "{{ lookup('ansible.builtin.template', 'app.conf.j2') }}"
        mode: "0644"
        tag: app
      - path: /srv/app/logo.txt
        content: "{{ lookup('ansible.builtin.file', 'logo.txt', rstrip=false) }}"
        mode: "0644"
      - path: /srv/app/secrets/token
        secret: "{{ app_token }}"
        mode: "0600"
        owner: "1000"
        tag: app
      - path: /srv/app/old.conf
        state: absent
  register: app_files
  no_log: true

- name: Restart the service only when one of its files changed
  ansible.builtin.service:
    name: app
    state: restarted
  when: "'app' in app_files.changed_tags"
"""

RETURN = r"""
files:
  description: One entry per file of O(files), in order.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file's path.
      type: str
    state:
      description: V(present), V(absent) or V(directory), as asked.
      type: str
    changed:
      description: Whether the file was (or in check mode would be) changed.
      type: bool
    differs:
      description: What differed, among V(content), V(mode), V(owner), V(group), V(type) (a link replaced) and
        V(exists) (created or removed).
      type: list
      elements: str
    tag:
      description: The entry's O(files[].tag).
      type: str
  sample:
    - {path: /srv/app/app.conf, state: present, changed: true, differs: [content], tag: app}
changed_tags:
  description: The tags of the files that changed, each once, in the order of O(files).
  returned: always
  type: list
  elements: str
  sample: [app]
"""

import grp
import os
import pwd
import stat
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text


def argument_spec():
    return dict(
        files=dict(type="list", elements="dict", required=True, options=dict(
            path=dict(type="path", required=True),
            state=dict(type="str", choices=["present", "absent", "directory"], default="present"),
            content=dict(type="str"),
            mode=dict(type="str"),
            owner=dict(type="str"),
            group=dict(type="str"),
            secret=dict(type="str", no_log=True),
            validate=dict(type="str"),
            tag=dict(type="str"),
        )),
    )


class FilesError(Exception):
    """A bad entry, with its path in the message."""


def _id(value, lookup, kind, path):
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        return lookup(value)
    except KeyError:
        raise FilesError("%s: no %s named %s on the target" % (path, kind, value))


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
    for key, option, lookup, kind in (("uid", "owner", lambda name: pwd.getpwnam(name).pw_uid, "user"),
                                      ("gid", "group", lambda name: grp.getgrnam(name).gr_gid, "group")):
        try:
            wanted[key] = _id(entry[option], lookup, kind, path)
        except FilesError:
            if not check_mode:
                raise
            wanted[key] = None
            wanted["unknown"].append(option)
    return wanted


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
            made_dirs.add(os.path.normpath(path))
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
            if wanted["uid"] is not None or wanted["gid"] is not None:
                os.fchown(stream.fileno(), -1 if wanted["uid"] is None else wanted["uid"],
                          -1 if wanted["gid"] is None else wanted["gid"])
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        if os.path.lexists(temporary):
            os.unlink(temporary)
        raise


def validate(module, entry, wanted):
    """Run the entry's validate command on a temporary copy of the new content; raise FilesError when it fails."""
    path, command = entry["path"], entry["validate"]
    if "%s" not in command:
        raise FilesError("%s: validate must contain %%s, where the temporary file goes: %s" % (path, command))
    handle, temporary = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=os.path.dirname(path))
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(wanted["content"])
        os.chmod(temporary, wanted["mode"])
        rc, out, err = module.run_command(command % temporary)
    finally:
        os.unlink(temporary)
    if rc != 0:
        raise FilesError("%s: the new content failed validation (%s, exit %d): %s"
                         % (path, command, rc, (err or out).strip()[-2000:]))


def apply_entry(path, differs, wanted):
    if wanted is None:
        os.unlink(path)
    elif wanted["directory"] and "exists" in differs:
        os.makedirs(path)
        os.chmod(path, wanted["mode"])
        if wanted["uid"] is not None or wanted["gid"] is not None:
            os.chown(path, -1 if wanted["uid"] is None else wanted["uid"],
                     -1 if wanted["gid"] is None else wanted["gid"])
    elif set(differs) & {"content", "exists", "type"}:
        write_file(path, wanted)
    else:
        if "mode" in differs:
            os.chmod(path, wanted["mode"])
        if "owner" in differs or "group" in differs:
            os.chown(path, -1 if wanted["uid"] is None else wanted["uid"],
                     -1 if wanted["gid"] is None else wanted["gid"])


def run(module):
    entries = module.params["files"]
    seen = set()
    for entry in entries:
        path = os.path.normpath(entry["path"])
        if path in seen:
            raise FilesError("%s: given more than once" % entry["path"])
        seen.add(path)
    made_dirs = set()
    plans = [plan_entry(entry, made_dirs, module.check_mode) for entry in entries]
    if not module.check_mode:
        for entry, (differs, wanted, before) in zip(entries, plans):
            if entry["validate"] and set(differs) & {"content", "exists", "type"}:
                validate(module, entry, wanted)
    results, diffs, changed_tags = [], [], []
    for entry, (differs, wanted, before) in zip(entries, plans):
        changed = bool(differs)
        results.append(dict(path=entry["path"], state=entry["state"], changed=changed, differs=differs,
                            tag=entry["tag"]))
        if changed and entry["tag"] and entry["tag"] not in changed_tags:
            changed_tags.append(entry["tag"])
        if changed and module._diff:
            diffs.append(_diff(entry, differs, wanted, before))
    if not module.check_mode:
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


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = run(module)
    except FilesError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "files", exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
