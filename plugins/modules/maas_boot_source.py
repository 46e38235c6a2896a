#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) Gough developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r"""
module: maas_boot_source
short_description: Choose which boot images MAAS imports, import them and wait until they are there
version_added: 0.1.0
description:
  - Makes the selections of a MAAS boot source (which operating system releases, architectures and
    subarchitectures MAAS imports images of) exactly O(selections), creating, changing and deleting selections as
    needed.
  - Then, unless O(import_images=false), starts an image import (C(POST boot-resources/?op=import)) when the
    selections changed or an image they ask for is missing, and waits until MAAS is no longer importing and has an
    image for every release and architecture selected, polling every O(poll_interval) seconds for at most
    O(wait_timeout) seconds.
  - "While it waits, a progress line is printed every O(progress_interval) seconds in C(ansible-playbook) and AWX job
    output. The module's action plugin does the waiting on the controller, which must therefore reach the MAAS API
    as well."
  - Every option is checked before anything is written. An unknown Ubuntu release or architecture, two selections
    of one release, or leaving out the release MAAS commissions with (MAAS refuses to delete its selection) fail
    naming the option and change nothing.
  - A release that the boot source's image server does not offer is refused by MAAS when the selection is created;
    creations come before any change or deletion, so such a refusal changes no existing selection (selections
    created before it in the same run stay).
  - Needs a MAAS administrator's API key.
author:
  - Gough developers (@gough)
extends_documentation_fragment:
  - gough.gough.maas
options:
  selections:
    description:
      - The images MAAS should import, one entry per operating system release. Selections of the boot source that
        are not listed are deleted.
    type: list
    elements: dict
    required: true
    suboptions:
      os:
        description: Operating system.
        type: str
        default: ubuntu
      release:
        description:
          - Release codename, for example V(noble). For Ubuntu the version (V(24.04)) is accepted too.
        type: str
        required: true
      arches:
        description: Architectures, for example V(amd64) and V(arm64); V(*) selects every one.
        type: list
        elements: str
        default: [amd64]
      subarches:
        description: Subarchitectures (kernels), for example V(generic) or V(hwe-24.04); V(*) selects every one.
        type: list
        elements: str
        default: ['*']
      labels:
        description: Stream labels, for example V(stable); V(*) selects every one.
        type: list
        elements: str
        default: ['*']
  source_url:
    description:
      - URL of the boot source whose selections to manage. The first boot source (MAAS's default one) when not set.
    type: str
  import_images:
    description:
      - Whether to start an import when the selections changed or an image they ask for is missing.
    type: bool
    default: true
    aliases: [import]
  wait:
    description:
      - Whether to wait until the import has finished and every selected image is there.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the import. When they run out the module fails with the last state it read.
    type: int
    default: 3600
  poll_interval:
    description:
      - Seconds between the first polls of C(boot-resources/?op=is_importing); the interval grows up to 60 seconds.
    type: float
    default: 10.0
  progress_interval:
    description:
      - "Seconds between progress lines printed while waiting, such as C(maas_boot_source: importing, 1/3 images,
        2m10s). V(0) prints none."
    type: float
    default: 30.0
attributes:
  check_mode:
    support: full
    description: Reads the selections and images and reports what would change and whether an import would start,
      but writes nothing.
  diff_mode:
    support: full
    description: Shows the boot source's selections before and after.
notes:
  - Idempotent. Once the selected images are imported a second run with the same options reports no change and
    starts no import.
seealso:
  - module: gough.gough.maas_boot_resources_info
  - module: gough.gough.maas_dns
"""

EXAMPLES = r"""
- name: Import Ubuntu 24.04 for amd64 and arm64, and Ubuntu 22.04 for amd64
  gough.gough.maas_boot_source:
    selections:
      - release: noble
        arches: [amd64, arm64]
      - release: jammy

- name: Change the selections now, import later
  gough.gough.maas_boot_source:
    selections: "{{ stack_maas_boot_images }}"
    import_images: false
"""

RETURN = r"""
source:
  description: The boot source whose selections the module managed.
  returned: success
  type: dict
  contains:
    id:
      description: Boot source id.
      returned: success
      type: int
      sample: 1
    url:
      description: Boot source URL.
      returned: success
      type: str
      sample: http://images.example.com/ephemeral-v3/stable/
selections:
  description: The source's selections after the module ran (as predicted in check mode), sorted by os and release.
  returned: success
  type: list
  elements: dict
  contains:
    os:
      description: Operating system.
      returned: success
      type: str
      sample: ubuntu
    release:
      description: Release codename.
      returned: success
      type: str
      sample: noble
    arches:
      description: Architectures, sorted.
      returned: success
      type: list
      elements: str
      sample: [amd64, arm64]
    subarches:
      description: Subarchitectures, sorted.
      returned: success
      type: list
      elements: str
      sample: ['*']
    labels:
      description: Labels, sorted.
      returned: success
      type: list
      elements: str
      sample: ['*']
selections_added:
  description: C(os/release) of the selections created (or that would be).
  returned: success
  type: list
  elements: str
  sample: [ubuntu/noble]
selections_updated:
  description: C(os/release) of the selections changed (or that would be).
  returned: success
  type: list
  elements: str
  sample: []
selections_removed:
  description: C(os/release) of the selections deleted (or that would be).
  returned: success
  type: list
  elements: str
  sample: [ubuntu/focal]
import_started:
  description: Whether the module started an image import (or would have, in check mode).
  returned: success
  type: bool
  sample: true
importing:
  description: Whether MAAS was still importing when the module finished (false after a completed wait).
  returned: success
  type: bool
  sample: false
missing_images:
  description: C(os/release/arch) selected but not imported when the module finished; empty after a completed wait.
  returned: success
  type: list
  elements: str
  sample: []
waited:
  description: Seconds spent waiting for the import.
  returned: success
  type: float
  sample: 42.5
"""

from ansible_collections.gough.gough.plugins.module_utils.gough_module import (
    BadInput, GoughModule, check_positive, check_wait,
)
from ansible_collections.gough.gough.plugins.module_utils.maas import MAASError
from ansible_collections.gough.gough.plugins.module_utils.maas_boot import (
    check_selections, find_source, get_config, image_state, key_of, plan_selections, public, read_selections,
    wait_for_images, write_error,
)


def apply(client, path, create, update, delete):
    """Create first (MAAS checks the release against its image server there), then change, then delete."""
    for selection in create:
        try:
            client.post(path, data=selection)
        except MAASError as exc:
            raise write_error(exc, selection)
    for current, selection in update:
        try:
            client.put("%s%d/" % (path, current["id"]), data=selection)
        except MAASError as exc:
            raise write_error(exc, selection)
    for current in delete:
        client.delete("%s%d/" % (path, current["id"]))


def work(module):
    """Make the source's selections the wanted ones, then import and wait as asked."""
    params, client = module.params, module.client
    check_wait(params)
    check_positive(params, "progress_interval", zero=True)
    wanted = sorted(check_selections(params["selections"]), key=key_of)
    source = find_source(client, params["source_url"])
    path = "boot-sources/%d/selections/" % source["id"]
    current = read_selections(client, source["id"])
    create, update, delete = plan_selections(current, wanted)
    commissioning = "%s/%s" % (get_config(client, "commissioning_osystem"),
                               get_config(client, "commissioning_distro_series"))
    if commissioning in [key_of(s) for s in delete]:
        raise BadInput("selections", "must keep %s: MAAS commissions and deploys its ephemeral environment with it "
                                     "(commissioning_distro_series) and refuses to delete its selection." % commissioning)
    state = image_state(client, wanted)
    importing, missing = state["importing"], state["missing"]
    selections_changed = bool(create or update or delete)
    start_import = params["import_images"] and (selections_changed or bool(missing and not importing))
    waited = 0.0
    if not module.check_mode:
        apply(client, path, create, update, delete)
        if start_import:
            client.post("boot-resources/", op="import")
        if params["wait"] and params["import_images"] and (start_import or importing):
            state, waited = wait_for_images(client, wanted, params["wait_timeout"], params["poll_interval"])
        else:
            state = image_state(client, wanted)
        importing, missing = state["importing"], state["missing"]
    # Unchanged selections are the wanted ones already; after writes, MAAS's own view is the result.
    after = wanted if module.check_mode or not selections_changed \
        else [public(s) for s in sorted(read_selections(client, source["id"]), key=key_of)]
    return dict(
        changed=selections_changed or start_import,
        source=dict(id=source["id"], url=source.get("url")), selections=after,
        selections_added=[key_of(s) for s in create], selections_updated=[key_of(s) for _c, s in update],
        selections_removed=[key_of(s) for s in delete], import_started=bool(start_import), importing=importing,
        missing_images=missing, waited=round(waited, 1),
        diff=dict(before=[public(s) for s in sorted(current, key=key_of)], after=after),
    )


def argument_spec():
    """The module's own options (the action plugin validates the task's arguments with them too)."""
    selection = dict(
        os=dict(type="str", default="ubuntu"),
        release=dict(type="str", required=True),
        arches=dict(type="list", elements="str", default=["amd64"]),
        subarches=dict(type="list", elements="str", default=["*"]),
        labels=dict(type="list", elements="str", default=["*"]),
    )
    return dict(
        selections=dict(type="list", elements="dict", required=True, options=selection),
        source_url=dict(type="str"),
        import_images=dict(type="bool", default=True, aliases=["import"]),
        wait=dict(type="bool", default=True),
        wait_timeout=dict(type="int", default=3600),
        poll_interval=dict(type="float", default=10.0),
        progress_interval=dict(type="float", default=30.0),
    )


def main():
    GoughModule("maas", argument_spec(), supports_check_mode=True).run(work)


if __name__ == "__main__":
    main()
