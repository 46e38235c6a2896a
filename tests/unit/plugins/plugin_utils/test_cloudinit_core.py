# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The cloud-init core without Ansible: merge rules, key paths in validator messages, redaction, headers."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.gough.gough.plugins.plugin_utils import cloudinit


def test_replace_merge_replaces_whole_top_level_values_and_leaves_inputs_alone():
    base = {"apt": {"proxy": "http://p", "primary": [1]}, "packages": ["a"], "timezone": "UTC"}
    merged = cloudinit.merge_cloud_config(base, {"apt": {"primary": [2]}, "packages": ["b"]}, "replace")
    assert merged == {"apt": {"primary": [2]}, "packages": ["b"], "timezone": "UTC"}
    assert base["apt"] == {"proxy": "http://p", "primary": [1]}


def test_append_merge_recurses_appends_and_keeps_earlier_scalars():
    base = {"apt": {"proxy": "http://p", "sources": {"a": {"source": "x"}}}, "runcmd": [["a"]], "hostname": "h1"}
    extra = {"apt": {"proxy": "http://q", "sources": {"b": {"source": "y"}}}, "runcmd": [["b"]], "hostname": "h2"}
    merged = cloudinit.merge_cloud_config(base, extra, "append")
    assert merged == {"apt": {"proxy": "http://p", "sources": {"a": {"source": "x"}, "b": {"source": "y"}}},
                      "runcmd": [["a"], ["b"]], "hostname": "h1"}


def test_unknown_merge_mode_is_an_error():
    with pytest.raises(cloudinit.CloudInitError, match="merge_how"):
        cloudinit.merge_cloud_config({}, {}, "deep")


@pytest.mark.parametrize("given, expected", [
    ("users.0.ssh_authorized_keys", "users[0].ssh_authorized_keys"),
    (["write_files", 2, "content"], "write_files[2].content"),
    ("timezone", "timezone"),
])
def test_key_paths_use_brackets_for_list_indexes(given, expected):
    assert cloudinit.key_path(given) == expected


def test_validator_messages_get_bracketed_key_paths():
    text = "Error: Cloud config schema errors: users.0.groups: 1 is not of type 'string', ntp.servers.1: bad\n\n"
    assert cloudinit.normalise_messages(text) == (
        "Error: Cloud config schema errors: users[0].groups: 1 is not of type 'string', ntp.servers[1]: bad")


def test_redact_hides_secret_looking_values_and_keeps_structure():
    config = {"users": [{"name": "ops", "passwd": "$6$hash", "lock_passwd": True}],
              "write_files": [{"path": "/etc/x", "content": "token=1"}], "timezone": "UTC"}
    assert cloudinit.redact(config) == {
        "users": [{"name": "ops", "passwd": "<redacted>", "lock_passwd": True}],
        "write_files": [{"path": "/etc/x", "content": "<redacted>"}], "timezone": "UTC"}


def test_library_headers_declare_extends_and_required_variables():
    with open(cloudinit.library_path("docker-host"), encoding="utf-8") as stream:
        header = cloudinit.template_header(stream.read())
    assert header == {"extends": ["base"], "required": ["cloudinit_ssh_authorized_keys"]}


def test_multipart_is_deterministic_and_size_limit_counts_bytes():
    one = cloudinit.multipart("#cloud-config\n{}\n", [("a.sh", "#!/bin/sh\n")])
    assert one == cloudinit.multipart("#cloud-config\n{}\n", [("a.sh", "#!/bin/sh\n")])
    assert cloudinit.check_size("é" * 10, 20) == 20
    with pytest.raises(cloudinit.CloudInitError, match="21 bytes, over max_size"):
        cloudinit.check_size("é" * 10 + "x", 20)
    assert cloudinit.check_size("x" * 100, 0) == 100
