"""The lab image builder takes its Debian mirror from this machine's apt configuration.

debootstrap must fetch from the mirror apt already uses here (a proxy or local mirror, possibly the only one
reachable), so nothing names a mirror host in code. The rules follow apt's sources.list(5): one-line ``.list``
files, deb822 ``.sources`` stanzas with ``Enabled: no``, ``deb-src`` entries that carry no binaries.
"""

import os

import pytest

from gough_lab import images

MIRROR = "http://apt-mirror.lab.example/debian"
OTHER = "https://other-mirror.lab.example/debian"


def write(root, rel, text):
    path = os.path.join(str(root), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def test_deb822_sources_give_the_archive_not_security_or_third_party(tmp_path):
    write(tmp_path, "etc/apt/sources.list.d/a-vendor.sources",
          "Types: deb\nURIs: https://vendor.lab.example/apt\nSuites: nodistro\nComponents: main\n")
    write(tmp_path, "etc/apt/sources.list.d/debian.sources",
          "Types: deb\n# a comment inside the stanza\nURIs: %s-security\nSuites: bookworm-security\n"
          "Components: main\n\nTypes: deb deb-src\nURIs: %s/\nSuites: bookworm bookworm-updates\n"
          "Components: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n" % (MIRROR, MIRROR))
    assert images.host_debian_mirror(str(tmp_path)) == MIRROR


def test_one_line_sources_list_with_options_and_deb_src(tmp_path):
    write(tmp_path, "etc/apt/sources.list",
          "# deb %s trixie main\ndeb-src %s trixie main\n"
          "deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main contrib\n"
          % (OTHER, OTHER, MIRROR))
    assert images.host_debian_mirror(str(tmp_path)) == MIRROR


def test_sources_list_comes_before_sources_list_d_like_apt(tmp_path):
    write(tmp_path, "etc/apt/sources.list", "deb %s stable main\n" % MIRROR)
    write(tmp_path, "etc/apt/sources.list.d/debian.sources", "Types: deb\nURIs: %s\nSuites: trixie\n" % OTHER)
    assert images.host_debian_mirror(str(tmp_path)) == MIRROR


def test_disabled_stanzas_and_other_file_names_are_ignored(tmp_path):
    write(tmp_path, "etc/apt/sources.list.d/debian.sources",
          "Enabled: no\nTypes: deb\nURIs: %s\nSuites: trixie\n\nTypes: deb\nURIs: %s\nSuites: trixie\n"
          % (OTHER, MIRROR))
    write(tmp_path, "etc/apt/sources.list.d/0-old.list.disabled", "deb %s trixie main\n" % OTHER)
    assert images.host_debian_mirror(str(tmp_path)) == MIRROR


def test_no_debian_source_names_the_override(tmp_path):
    write(tmp_path, "etc/apt/sources.list.d/vendor.list", "deb https://vendor.lab.example/apt nodistro main\n")
    with pytest.raises(images.MirrorError, match="GOUGH_LAB_DEBIAN_MIRROR"):
        images.host_debian_mirror(str(tmp_path))


def test_environment_overrides_the_apt_configuration(tmp_path, monkeypatch):
    write(tmp_path, "etc/apt/sources.list", "deb %s trixie main\n" % MIRROR)
    monkeypatch.setenv(images.MIRROR_ENV, OTHER)
    assert images.default_mirror(str(tmp_path)) == OTHER
    monkeypatch.delenv(images.MIRROR_ENV)
    assert images.default_mirror(str(tmp_path)) == MIRROR


def test_the_mirror_is_part_of_the_base_cache_key():
    assert images.base_key("trixie", MIRROR) != images.base_key("trixie", OTHER)
