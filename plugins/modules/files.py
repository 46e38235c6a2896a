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
            (with its missing parents, which get the default mode and owner) and never emptied. A symbolic link to an
            existing directory is followed, and the mode, owner and group are those of the directory it points to;
            a link to anything else is refused. Paths are compared as given, without resolving links.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.gough.gough.plugins.module_utils.file_set import FilesError, converge


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


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    try:
        result = converge(module.params["files"], module.check_mode, module._diff, module.run_command)
    except FilesError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="%s: %s" % (getattr(exc, "filename", None) or "files", exc.strerror or exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
