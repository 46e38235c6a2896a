#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_boot_resources_info
short_description: List the boot images MAAS has imported, the releases they make deployable, and whether an import runs
version_added: 0.1.0
description:
  - Reads the imported boot resources (C(GET boot-resources/)) and whether an image import is running
    (C(GET boot-resources/?op=is_importing)).
  - RV(series) lists the releases MAAS can deploy, the same names C(gough.gough.maas_deploy) accepts, for example to
    offer only imported series in a survey.
  - Makes no changes.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  os:
    description:
      - Only resources of this operating system (for example V(ubuntu)). Every resource when not set.
    type: str
attributes:
  check_mode:
    support: full
    description: The module only reads, so it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is nothing to diff.
seealso:
  - module: gough.gough.maas_boot_source
"""

EXAMPLES = r"""
- name: Which Ubuntu releases can MAAS deploy?
  gough.gough.maas_boot_resources_info:
    os: ubuntu
  register: images

- name: Refuse a series MAAS has no images for
  ansible.builtin.assert:
    that: wanted_series in images.series
    fail_msg: "MAAS has no images for {{ wanted_series }}; it has {{ images.series | join(', ') }}."
"""

RETURN = r"""
resources:
  description: The imported boot resources, sorted by name and architecture.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: Boot resource id.
      returned: success
      type: int
      sample: 3
    name:
      description: C(os/release) of the image.
      returned: success
      type: str
      sample: ubuntu/noble
    type:
      description: How the image came to MAAS, V(Synced) (imported from a boot source), V(Uploaded) or V(Generated).
      returned: success
      type: str
      sample: Synced
    architecture:
      description: C(arch/subarch) of the image.
      returned: success
      type: str
      sample: amd64/ga-24.04
    subarches:
      description: Subarchitectures the image supports, comma-separated.
      returned: success
      type: str
      sample: generic,ga-24.04
    title:
      description: Human-readable title.
      returned: success
      type: str
      sample: Ubuntu 24.04 LTS
series:
  description: Releases with an imported image, sorted; Ubuntu as codenames, other systems as C(os/release).
  returned: success
  type: list
  elements: str
  sample: [jammy, noble]
importing:
  description: Whether MAAS is importing images now.
  returned: success
  type: bool
  sample: false
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import GoughModule
from ansible_collections.gough.gough.plugins.module_utils.maas_boot import is_importing, read_resources


def work(module):
    """The imported images (optionally of one OS), their releases, and whether an import runs."""
    client = module.client
    resources = read_resources(client)
    if module.params["os"]:
        resources = [r for r in resources if (r["name"] or "").partition("/")[0] == module.params["os"]]
    series = set()
    for resource in resources:
        osystem, _sep, release = (resource["name"] or "").partition("/")
        if release:
            series.add(release if osystem == "ubuntu" else resource["name"])
    return dict(changed=False, resources=resources, series=sorted(series), importing=is_importing(client))


def main():
    GoughModule("maas", dict(os=dict(type="str")), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
